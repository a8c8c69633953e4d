// The real kubectl (v1.32 on these machines) against a real apiserver process on a real etcd: the object-level
// parts of the scenarios in ../shared/scenarios. No scheduler, controllers or nodes here.
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestCluster, waitFor, type TestCluster } from "../support/apiserver.js";

const MANIFEST = `
apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: petclinic-config
  namespace: shop
data:
  SPRING_PROFILES_ACTIVE: mysql
  LOG_LEVEL: info
---
apiVersion: v1
kind: Pod
metadata:
  name: petclinic-v1
  namespace: shop
  labels: {app: petclinic, version: v1.0.0}
spec:
  containers:
  - name: web
    image: spring2go/spring-petclinic:1.0.0.RELEASE
    ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata:
  name: petclinic
  namespace: shop
spec:
  type: NodePort
  selector: {app: petclinic, version: v1.0.1}
  ports: [{port: 8080, targetPort: 8080, nodePort: 31080}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: nginx, image: "nginx:1.24", ports: [{containerPort: 80}]}]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: petclinic
  namespace: shop
spec:
  replicas: 3
  selector: {matchLabels: {app: petclinic-rs}}
  template:
    metadata: {labels: {app: petclinic-rs}}
    spec:
      containers: [{name: petclinic, image: "spring2go/spring-petclinic:1.0.0.RELEASE"}]
---
apiVersion: v1
kind: ReplicationController
metadata:
  name: lianjiatest.com
  namespace: shop
spec:
  replicas: 5
  selector: {name: liutest}
  template:
    metadata: {labels: {name: liutest}}
    spec:
      containers: [{name: apache, image: "fedora/apache", ports: [{containerPort: 80}]}]
`;

describe("the real kubectl against kubelab's apiserver", () => {
  let cluster: TestCluster;
  const k = (...args: string[]) => cluster.kubectl(args);
  const kFail = (...args: string[]) => cluster.kubectl(args, { allowFailure: true });

  beforeAll(async () => {
    cluster = await startTestCluster();
    writeFileSync(join(cluster.workDir, "all.yaml"), MANIFEST);
  });
  afterAll(async () => {
    await cluster.destroy();
  });

  it("prints client and server versions and the control plane address", async () => {
    const version = await k("version");
    expect(version.stdout).toMatch(/Client Version: v1\.\d+/);
    expect(version.stdout).toMatch(/Server Version: v1\.32\./);
    const info = await k("cluster-info");
    expect(info.stdout).toContain(`Kubernetes control plane`);
    expect(info.stdout).toContain(cluster.apiserver.url);
  });

  it("lists the API resources with short names, and the system namespaces and kubernetes service exist", async () => {
    const resources = await k("api-resources");
    expect(resources.stdout).toMatch(/^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
    expect(resources.stdout).toMatch(/^pods\s+po\s+v1\s+true\s+Pod$/m);
    const ns = await k("get", "ns");
    for (const name of ["default", "kube-system", "kube-public", "kube-node-lease"]) expect(ns.stdout).toMatch(new RegExp(`^${name}\\s+Active\\s+`, "m"));
    const svc = await k("get", "svc");
    expect(svc.stdout).toMatch(/^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/m);
    expect(svc.stdout).toMatch(/^kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443\/TCP\s+/m);
  });

  it("creates every object of a multi-document file, and refuses a second create with AlreadyExists", async () => {
    const created = await k("create", "-f", join(cluster.workDir, "all.yaml"));
    expect(created.stdout).toContain("namespace/shop created");
    expect(created.stdout).toContain("configmap/petclinic-config created");
    expect(created.stdout).toContain("pod/petclinic-v1 created");
    expect(created.stdout).toContain("service/petclinic created");
    expect(created.stdout).toContain("deployment.apps/web created");
    expect(created.stdout).toContain("replicaset.apps/petclinic created");
    expect(created.stdout).toContain("replicationcontroller/lianjiatest.com created");
    const again = await kFail("create", "-f", join(cluster.workDir, "all.yaml"));
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain(`Error from server (AlreadyExists): error when creating`);
    expect(again.stderr).toContain(`namespaces "shop" already exists`);
  });

  it("prints the columns kubectl users know for every kind", async () => {
    const pods = await k("get", "pods", "-n", "shop");
    expect(pods.stdout).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/m);
    expect(pods.stdout).toMatch(/^petclinic-v1\s+0\/1\s+Pending\s+0\s+\d+s$/m);
    const wide = await k("get", "pods", "-n", "shop", "-o", "wide");
    expect(wide.stdout).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/m);
    const deploy = await k("get", "deploy", "-n", "shop", "-o", "wide");
    expect(deploy.stdout).toMatch(/^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR$/m);
    expect(deploy.stdout).toMatch(/^web\s+0\/3\s+0\s+0\s+\d+s\s+nginx\s+nginx:1\.24\s+app=web$/m);
    const rs = await k("get", "rs", "-n", "shop");
    expect(rs.stdout).toMatch(/^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE$/m);
    expect(rs.stdout).toMatch(/^petclinic\s+3\s+0\s+0\s+/m);
    const rc = await k("get", "rc", "-n", "shop");
    expect(rc.stdout).toMatch(/^lianjiatest\.com\s+5\s+0\s+0\s+/m);
    const svc = await k("get", "svc", "-n", "shop");
    expect(svc.stdout).toMatch(/^petclinic\s+NodePort\s+10\.\d+\.\d+\.\d+\s+<none>\s+8080:31080\/TCP\s+/m);
    const cm = await k("get", "cm", "-n", "shop");
    expect(cm.stdout).toMatch(/^petclinic-config\s+2\s+/m);
    const all = await k("get", "all", "-n", "shop");
    expect(all.stdout).toContain("pod/petclinic-v1");
    expect(all.stdout).toContain("service/petclinic");
    expect(all.stdout).toContain("deployment.apps/web");
    expect(all.stdout).toContain("replicaset.apps/petclinic");
    expect(all.stdout).toContain("replicationcontroller/lianjiatest.com");
  });

  it("prints objects as YAML and JSON with server-side defaults", async () => {
    const yaml = await k("get", "pod", "petclinic-v1", "-n", "shop", "-o", "yaml");
    expect(yaml.stdout).toContain("restartPolicy: Always");
    expect(yaml.stdout).toContain("dnsPolicy: ClusterFirst");
    expect(yaml.stdout).toContain("imagePullPolicy: IfNotPresent");
    expect(yaml.stdout).toContain("protocol: TCP");
    expect(yaml.stdout).toContain("phase: Pending");
    expect(yaml.stdout).toMatch(/uid: [0-9a-f-]{36}/);
    const json = JSON.parse((await k("get", "deploy", "web", "-n", "shop", "-o", "json")).stdout) as {
      metadata: { generation: number; resourceVersion: string };
      spec: { strategy: { type: string; rollingUpdate: { maxSurge: string; maxUnavailable: string } }; revisionHistoryLimit: number; progressDeadlineSeconds: number };
    };
    expect(json.metadata.generation).toBe(1);
    expect(Number(json.metadata.resourceVersion)).toBeGreaterThan(0);
    expect(json.spec.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } });
    expect(json.spec.revisionHistoryLimit).toBe(10);
    expect(json.spec.progressDeadlineSeconds).toBe(600);
  });

  it("selects by label and shows labels", async () => {
    const sel = await k("get", "pods", "-n", "shop", "-l", "app=petclinic,version in (v1.0.0)", "--show-labels");
    expect(sel.stdout).toMatch(/^petclinic-v1\s+.*app=petclinic,version=v1\.0\.0$/m);
    const none = await kFail("get", "pods", "-n", "shop", "-l", "app=nothing");
    expect(none.stderr).toContain("No resources found in shop namespace.");
    const allNs = await k("get", "svc", "-A");
    expect(allNs.stdout).toMatch(/^default\s+kubernetes\s+ClusterIP/m);
    expect(allNs.stdout).toMatch(/^shop\s+petclinic\s+NodePort/m);
    const sorted = await k("get", "pods", "-n", "shop", "--sort-by=.metadata.name");
    expect(sorted.stdout).toContain("petclinic-v1");
  });

  it("labels a pod, and a label selector then finds it", async () => {
    await k("label", "pods", "petclinic-v1", "-n", "shop", "tier=frontend");
    const found = await k("get", "pods", "-n", "shop", "-l", "tier=frontend", "-o", "name");
    expect(found.stdout.trim()).toBe("pod/petclinic-v1");
    const refused = await kFail("label", "pods", "petclinic-v1", "-n", "shop", "tier=backend");
    expect(refused.code).not.toBe(0);
    await k("label", "pods", "petclinic-v1", "-n", "shop", "tier-");
    const gone = await kFail("get", "pods", "-n", "shop", "-l", "tier", "-o", "name");
    expect(gone.stdout.trim()).toBe("");
  });

  it("scales a deployment and a replication controller through their scale subresource", async () => {
    expect((await k("scale", "deployments/web", "-n", "shop", "--replicas=4")).stdout).toContain("deployment.apps/web scaled");
    expect((await k("get", "deploy", "web", "-n", "shop", "-o", "jsonpath={.spec.replicas} {.metadata.generation}")).stdout).toBe("4 2");
    await k("scale", "rc", "lianjiatest.com", "-n", "shop", "--replicas=6");
    expect((await k("get", "rc", "lianjiatest.com", "-n", "shop", "-o", "jsonpath={.spec.replicas}")).stdout).toBe("6");
    await k("scale", "deployments/web", "-n", "shop", "--current-replicas=4", "--replicas=2");
    expect((await k("get", "deploy", "web", "-n", "shop", "-o", "jsonpath={.spec.replicas}")).stdout).toBe("2");
  });

  it("sets a new image with a strategic merge patch that keeps the other containers' fields", async () => {
    const out = await k("set", "image", "deployments/web", "-n", "shop", "nginx=nginx:1.27");
    expect(out.stdout).toContain("deployment.apps/web image updated");
    const spec = JSON.parse((await k("get", "deploy", "web", "-n", "shop", "-o", "json")).stdout) as { spec: { template: { spec: { containers: { image: string; ports: { containerPort: number }[] }[] } } } };
    expect(spec.spec.template.spec.containers[0]!.image).toBe("nginx:1.27");
    expect(spec.spec.template.spec.containers[0]!.ports[0]!.containerPort).toBe(80);
  });

  it("applies a file twice: created, then unchanged; a change is configured", async () => {
    const file = join(cluster.workDir, "apply.yaml");
    const doc = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: hello, namespace: default}
spec:
  replicas: 2
  selector: {matchLabels: {app: hello}}
  template:
    metadata: {labels: {app: hello}}
    spec:
      containers: [{name: hello, image: "${image}", env: [{name: A, value: "1"}]}]
`;
    writeFileSync(file, doc("nginx:1.24"));
    expect((await k("apply", "-f", file)).stdout).toContain("deployment.apps/hello created");
    expect((await k("apply", "-f", file)).stdout).toContain("deployment.apps/hello unchanged");
    writeFileSync(file, doc("nginx:1.27"));
    expect((await k("apply", "-f", file)).stdout).toContain("deployment.apps/hello configured");
    expect((await k("get", "deploy", "hello", "-o", "jsonpath={.spec.template.spec.containers[0].image}")).stdout).toBe("nginx:1.27");
    const serverSide = await k("apply", "--server-side", "-f", file);
    expect(serverSide.stdout).toContain("deployment.apps/hello serverside-applied");
  });

  it("edits an object through an editor, which kubectl sends as a patch", async () => {
    const editor = join(cluster.workDir, "editor.sh");
    writeFileSync(editor, `#!/bin/sh\nsed -i 's/replicas: 2/replicas: 7/' "$1"\n`, { mode: 0o755 });
    const out = await cluster.kubectl(["edit", "deploy", "hello"], { env: { KUBE_EDITOR: editor } });
    expect(out.stdout).toContain("deployment.apps/hello edited");
    expect((await k("get", "deploy", "hello", "-o", "jsonpath={.spec.replicas}")).stdout).toBe("7");
  });

  it("rejects invalid objects with 422 naming each field at fault, and unknown fields under strict validation", async () => {
    const bad = join(cluster.workDir, "bad.yaml");
    writeFileSync(bad, `apiVersion: v1
kind: Pod
metadata: {name: Bad_Name}
spec:
  containers: [{name: a, image: ""}, {name: a, image: x, ports: [{containerPort: 70000}]}]
`);
    const res = await kFail("create", "-f", bad);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain(`The Pod "Bad_Name" is invalid`);
    expect(res.stderr).toContain("metadata.name: Invalid value");
    expect(res.stderr).toContain("spec.containers[0].image: Required value");
    expect(res.stderr).toContain(`spec.containers[1].name: Duplicate value: "a"`);
    expect(res.stderr).toContain("spec.containers[1].ports[0].containerPort: Invalid value: 70000");
    const unknown = join(cluster.workDir, "unknown.yaml");
    writeFileSync(unknown, `apiVersion: v1
kind: ConfigMap
metadata: {name: strict}
data: {a: b}
bogus: true
`);
    const strict = await kFail("create", "-f", unknown);
    expect(strict.code).not.toBe(0);
    expect(strict.stderr).toContain(`unknown field "bogus"`);
    expect((await kFail("get", "cm", "strict")).code).not.toBe(0);
  });

  it("creates objects from kubectl's generators, which send protobuf", async () => {
    expect((await k("create", "deployment", "kubernetes-bootcamp", "--image=jocatalin/kubernetes-bootcamp:v1")).stdout).toContain("deployment.apps/kubernetes-bootcamp created");
    const deploy = JSON.parse((await k("get", "deploy", "kubernetes-bootcamp", "-o", "json")).stdout) as { spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { spec: { containers: { name: string; image: string }[] } } } };
    expect(deploy.spec.replicas).toBe(1);
    expect(deploy.spec.selector.matchLabels).toEqual({ app: "kubernetes-bootcamp" });
    expect(deploy.spec.template.spec.containers[0]).toMatchObject({ name: "kubernetes-bootcamp", image: "jocatalin/kubernetes-bootcamp:v1" });
    await k("create", "configmap", "literal", "--from-literal=greeting=hello");
    expect((await k("get", "cm", "literal", "-o", "jsonpath={.data.greeting}")).stdout).toBe("hello");
    await k("create", "secret", "generic", "creds", "--from-literal=password=s3cret");
    expect(Buffer.from((await k("get", "secret", "creds", "-o", "jsonpath={.data.password}")).stdout, "base64").toString()).toBe("s3cret");
    await k("create", "namespace", "made-by-generator");
    await k("create", "service", "clusterip", "made-svc", "--tcp=80:8080");
    expect((await k("get", "svc", "made-svc", "-o", "jsonpath={.spec.ports[0].targetPort}")).stdout).toBe("8080");
  });

  it("exposes a deployment as a NodePort service with an allocated port", async () => {
    const out = await k("expose", "deployment/kubernetes-bootcamp", "--type=NodePort", "--port", "8080");
    expect(out.stdout).toContain("service/kubernetes-bootcamp exposed");
    const svc = JSON.parse((await k("get", "svc", "kubernetes-bootcamp", "-o", "json")).stdout) as { spec: { clusterIP: string; ports: { nodePort: number }[]; selector: Record<string, string> } };
    expect(svc.spec.clusterIP).toMatch(/^10\.(9[6-9]|1[01][0-9])\./);
    expect(svc.spec.ports[0]!.nodePort).toBeGreaterThanOrEqual(30000);
    expect(svc.spec.ports[0]!.nodePort).toBeLessThanOrEqual(32767);
    expect(svc.spec.selector).toEqual({ app: "kubernetes-bootcamp" });
  });

  it("describes pods, deployments, services and namespaces", async () => {
    const pod = await k("describe", "pod", "petclinic-v1", "-n", "shop");
    expect(pod.stdout).toMatch(/^Name:\s+petclinic-v1$/m);
    expect(pod.stdout).toMatch(/^Status:\s+Pending$/m);
    expect(pod.stdout).toMatch(/Port:\s+8080\/TCP/);
    expect(pod.stdout).toContain("node.kubernetes.io/not-ready:NoExecute op=Exists for 300s");
    const deploy = await k("describe", "deploy", "web", "-n", "shop");
    expect(deploy.stdout).toMatch(/^StrategyType:\s+RollingUpdate$/m);
    expect(deploy.stdout).toMatch(/RollingUpdateStrategy:\s+25% max unavailable, 25% max surge/);
    const svc = await k("describe", "svc", "petclinic", "-n", "shop");
    expect(svc.stdout).toMatch(/^Selector:\s+app=petclinic,version=v1\.0\.1$/m);
    expect(svc.stdout).toMatch(/^NodePort:\s+<unset>\s+31080\/TCP$/m);
    const ns = await k("describe", "ns", "shop");
    expect(ns.stdout).toMatch(/^Status:\s+Active$/m);
  });

  it("watches: get --watch sees another client's change", async () => {
    const child = spawn("kubectl", ["--kubeconfig", cluster.kubeconfig, "--cache-dir", join(cluster.workDir, "watch-cache"), "get", "cm", "-w", "--output-watch-events"], { stdio: ["ignore", "pipe", "pipe"] });
    let seen = "";
    child.stdout.on("data", (c: Buffer) => {
      seen += c.toString();
    });
    try {
      await waitFor("the initial listing", () => seen.includes("literal") || undefined);
      await k("create", "configmap", "watched", "--from-literal=x=y");
      await waitFor("the ADDED event", () => /ADDED\s+watched/.test(seen) || undefined);
      await k("label", "cm", "watched", "seen=yes");
      await waitFor("the MODIFIED event", () => /MODIFIED\s+watched/.test(seen) || undefined);
    } finally {
      child.kill();
    }
  });

  it("deletes by label and with --all, and the kubernetes service comes back by itself", async () => {
    await k("label", "svc", "made-svc", "app=doomed", "--overwrite");
    const out = await k("delete", "svc", "-l", "app=doomed");
    expect(out.stdout).toContain(`service "made-svc" deleted`);
    const del = await k("delete", "svc", "--all");
    expect(del.stdout).toContain(`service "kubernetes" deleted`);
    await waitFor("the kubernetes service to return", async () => {
      const res = await kFail("get", "svc", "kubernetes", "-o", "jsonpath={.spec.clusterIP}");
      return res.code === 0 && res.stdout === "10.96.0.1" ? true : undefined;
    });
    const pods = await k("delete", "pods", "--all", "-n", "shop");
    expect(pods.stdout).toContain(`pod "petclinic-v1" deleted`);
    expect((await kFail("get", "pods", "-n", "shop")).stderr).toContain("No resources found");
  });

  it("answers NotFound for missing objects and refuses creates into a missing namespace", async () => {
    const missing = await kFail("get", "deploy", "nope");
    expect(missing.stderr).toContain(`Error from server (NotFound): deployments.apps "nope" not found`);
    const noNs = await kFail("create", "configmap", "x", "-n", "no-such-namespace", "--from-literal=a=b");
    expect(noNs.stderr).toContain(`namespaces "no-such-namespace" not found`);
  });
});
