// The cluster DNS add-on manifest (addons/dns/kube-dns.yaml.base): rendered with a lab's values, every object is
// valid as the apiserver validates it, and the Service is the one pods' resolv.conf and kubectl expect.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../api/meta.js";
import { applyCreateDefaults, applyDefaults } from "../../api/defaults.js";
import { RESOURCES } from "../../api/resources.js";
import type { Deployment, Service } from "../../api/types/index.js";
import { validateObject } from "../../api/validation/index.js";
import { REPO_ROOT } from "../../lab/components/entries.js";

const VALUES: Record<string, string> = {
  __DNS__SERVER__: "10.96.0.10",
  __DNS__DOMAIN__: "cluster.local",
  __DNS__IMAGE__: "kubelab/dns:0.1.0",
  __DNS__REPLICAS__: "2",
  __DNS__MEMORY__LIMIT__: "170Mi",
  __KUBE_MASTER__: "http://172.30.0.1:6443",
};

function render(): KubeObject[] {
  let text = readFileSync(join(REPO_ROOT, "addons", "dns", "kube-dns.yaml.base"), "utf8");
  for (const [placeholder, value] of Object.entries(VALUES)) text = text.replaceAll(placeholder, value);
  expect(text).not.toMatch(/__[A-Z_]+__/);
  return parseAllDocuments(text).map((doc) => doc.toJS() as KubeObject);
}

describe("the kube-dns add-on", () => {
  it("renders to a valid Service and Deployment in kube-system", () => {
    const objects = render();
    expect(objects.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`)).toEqual(["Service/kube-system/kube-dns", "Deployment/kube-system/kube-dns"]);
    for (const obj of objects) {
      const info = RESOURCES.find((r) => r.kind === obj.kind && `${r.group ? `${r.group}/` : ""}${r.version}` === obj.apiVersion)!;
      applyDefaults(info, obj);
      applyCreateDefaults(info, obj);
      expect(validateObject(info, obj), obj.kind).toEqual([]);
    }
  });

  it("is the kube-dns Service at the kubelet's --cluster-dns address, selecting the Deployment's pods", () => {
    const [svc, deployment] = render() as [Service, Deployment];
    expect(svc.metadata.labels).toMatchObject({ "k8s-app": "kube-dns" });
    expect(svc.spec?.clusterIP).toBe("10.96.0.10");
    expect(svc.spec?.ports?.map((p) => `${p.name} ${p.port}/${p.protocol}`)).toEqual(["dns 53/UDP", "dns-tcp 53/TCP", "metrics 9153/TCP"]);
    expect(deployment.spec?.template?.metadata?.labels).toEqual(svc.spec?.selector);
    const container = deployment.spec!.template!.spec!.containers[0]!;
    expect(container.image).toBe("kubelab/dns:0.1.0");
    expect(container.args).toEqual(["--master=http://172.30.0.1:6443", "--domain=cluster.local"]);
    expect(container.livenessProbe?.httpGet).toMatchObject({ path: "/health", port: 8080 });
    expect(container.readinessProbe?.httpGet).toMatchObject({ path: "/ready", port: 8181 });
    expect(deployment.spec?.template?.spec?.dnsPolicy).toBe("Default");
  });
});
