#!/usr/bin/env python3
"""Writes a `go build -overlay` file that lets test/e2e of Kubernetes v1.26.1 build with -tags providerless.

The e2e binary imports the GCE/Azure test providers, which -tags providerless removes (and the snapshot lacks the
generated google.golang.org/api/compute and aws-sdk-go ec2 sources). The overlay drops the cloud-provider imports and empties the
files that need them; none of those files holds a [Conformance] test except network/ingress.go, whose "Ingress API"
test is kept. The source tree itself is left untouched.

usage: e2e-overlay.py SRC OUTDIR  (prints the overlay JSON's path)
"""
import json, os, re, sys

src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
replace = {}

def put(rel, text):
    path = os.path.join(out, rel.replace("/", "_"))
    with open(path, "w") as f:
        f.write(text)
    replace[os.path.join(src, rel)] = path

def read(rel):
    with open(os.path.join(src, rel)) as f:
        return f.read()

# The providers' registrations: only the built-in "skeleton" provider remains.
e2e = read("test/e2e/e2e.go")
e2e = re.sub(r'\n\t_ "k8s.io/kubernetes/test/e2e/framework/providers/[a-z]+"', "", e2e)
put("test/e2e/e2e.go", e2e)

# Files that need a cloud provider: emptied to their package clause.
for rel in [
    "test/e2e/network/network_tiers.go",
    "test/e2e/network/loadbalancer.go",
    "test/e2e/network/firewall.go",
    "test/e2e/network/ingress_scale.go",
    "test/e2e/storage/persistent_volumes-gce.go",
    "test/e2e/cloud/gcp/recreate_node.go",
    "test/e2e/storage/utils/ebs.go",
]:
    pkg = re.search(r"^package (\w+)", read(rel), re.M).group(1)
    put(rel, f"package {pkg}\n")

# storage/pd.go: only the constant another file of its package shares.
put("test/e2e/storage/pd.go", "package storage\n\nconst minNodes = 2\n")

# storage/volume_provisioning.go: its helpers serve other files; the AWS and GCE disk checks answer an error.
vp = read("test/e2e/storage/volume_provisioning.go")
for line in ['\t"github.com/aws/aws-sdk-go/aws"\n', '\t"github.com/aws/aws-sdk-go/aws/session"\n', '\t"github.com/aws/aws-sdk-go/service/ec2"\n', '\t"k8s.io/kubernetes/test/e2e/framework/providers/gce"\n']:
    assert line in vp, line
    vp = vp.replace(line, "")
start, end = vp.index("// checkAWSEBS checks"), vp.index('var _ = utils.SIGDescribe("Dynamic Provisioning"')
vp = vp[:start] + """func checkAWSEBS(volume *v1.PersistentVolume, volumeType string, encrypted bool) error {
\treturn fmt.Errorf("checking EBS volume %s (%s, encrypted %v) needs a cloud provider", volume.Name, volumeType, encrypted)
}

func checkGCEPD(volume *v1.PersistentVolume, volumeType string) error {
\treturn fmt.Errorf("checking GCE PD %s (%s) needs a cloud provider", volume.Name, volumeType)
}

var _ = strings.HasSuffix

""" + vp[end:]
put("test/e2e/storage/volume_provisioning.go", vp)

# scheduling/nvidia-gpus.go: its helpers serve other packages; only node re-creation needs the GCE provider.
gpu = read("test/e2e/scheduling/nvidia-gpus.go")
gpu = gpu.replace('\t"k8s.io/kubernetes/test/e2e/framework/providers/gce"\n', "")
gpu = gpu.replace("err = gce.RecreateNodes(f.ClientSet, nodes)", 'framework.Failf("re-creating nodes %v needs a cloud provider", nodes)')
assert "gce." not in gpu
put("test/e2e/scheduling/nvidia-gpus.go", gpu)

# network/ingress.go: only its provider-free "Ingress API" [Conformance] test.
ing = read("test/e2e/network/ingress.go")
body = ing[ing.index('var _ = common.SIGDescribe("Ingress API"'):]
imports = [
    '"context"', '"encoding/json"', '"fmt"', '"time"',
    'networkingv1 "k8s.io/api/networking/v1"',
    'apierrors "k8s.io/apimachinery/pkg/api/errors"',
    'metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"',
    '"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"',
    '"k8s.io/apimachinery/pkg/runtime/schema"',
    'types "k8s.io/apimachinery/pkg/types"',
    '"k8s.io/apimachinery/pkg/util/wait"',
    '"k8s.io/apimachinery/pkg/watch"',
    '"k8s.io/client-go/util/retry"',
    '"k8s.io/kubernetes/test/e2e/framework"',
    '"k8s.io/kubernetes/test/e2e/network/common"',
    'admissionapi "k8s.io/pod-security-admission/api"',
    '"github.com/onsi/ginkgo/v2"',
]
put("test/e2e/network/ingress.go", "package network\n\nimport (\n" + "".join(f"\t{i}\n" for i in imports) + ")\n\n" + body)

overlay = os.path.join(out, "overlay.json")
with open(overlay, "w") as f:
    json.dump({"Replace": replace}, f, indent=1)
print(overlay)
