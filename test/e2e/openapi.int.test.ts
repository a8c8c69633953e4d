// The OpenAPI documents against the real kubectl: explain (v3, kubectl 1.32), client-side validation and apply
// patches from /openapi/v2 (Debian's kubectl 1.20, protobuf), server-side field validation, and the errors a user
// sees for a kind that is not served and for a field that does not exist. Real apiserver process, real etcd.
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchAs, startTestCluster, type KubectlResult, type TestCluster } from "../support/apiserver.js";

/**
 * Debian's kubectl 1.20 (bullseye's kubernetes-client): KUBELAB_KUBECTL_120, or the copy inside the lab's Debian
 * image layers when present. Undefined when neither is on this machine.
 */
function findKubectl120(): string | undefined {
  const candidates: string[] = [];
  if (process.env.KUBELAB_KUBECTL_120) candidates.push(process.env.KUBELAB_KUBECTL_120);
  const layers = "/var/lib/kubelab-docker/overlay2";
  if (existsSync(layers)) {
    try {
      for (const layer of readdirSync(layers)) candidates.push(join(layers, layer, "diff/usr/bin/kubectl"));
    } catch {
      // Not readable: no candidates from there.
    }
  }
  return candidates.find((path) => {
    if (!existsSync(path)) return false;
    try {
      return execFileSync(path, ["version", "--client", "--short"], { encoding: "utf8", timeout: 10_000 }).includes("v1.20.");
    } catch {
      return false;
    }
  });
}

const KUBECTL_120 = findKubectl120();

const OBJECTS = `
apiVersion: v1
kind: Pod
metadata: {name: openapi-pod}
spec:
  containers:
  - name: web
    image: nginx:1.24
    ports: [{containerPort: 80}]
    resources: {limits: {cpu: 1, memory: 64Mi}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: openapi-web}
spec:
  replicas: 2
  selector: {matchLabels: {app: openapi-web}}
  template:
    metadata: {labels: {app: openapi-web}}
    spec:
      containers: [{name: nginx, image: "nginx:1.24", ports: [{containerPort: 80}]}]
---
apiVersion: batch/v1
kind: Job
metadata: {name: openapi-job}
spec:
  backoffLimit: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox, command: [sh, -c, "true"]}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: openapi-data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: openapi-reader}
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list]
`;

const UNKNOWN_KIND = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n";

function podWithPort(name: string, port: Record<string, unknown>): string {
  return JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name }, spec: { containers: [{ name: "c", image: "nginx", ports: [port] }] } });
}

let cluster: TestCluster;

function run(binary: string, args: string[], stdin?: string): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(binary, ["--kubeconfig", cluster.kubeconfig, "--cache-dir", join(cluster.workDir, "cache-120"), ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr });
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

beforeAll(async () => {
  cluster = await startTestCluster();
}, 60_000);

afterAll(async () => {
  await cluster?.destroy();
});

describe("kubectl 1.32 (OpenAPI v3)", () => {
  it("explains pod.spec.containers with its fields, types and required marks", async () => {
    const out = (await cluster.kubectl(["explain", "pod.spec.containers"])).stdout;
    expect(out).toContain("FIELD: containers <[]Container>");
    expect(out).toMatch(/^ {2}name\t<string> -required-$/m);
    expect(out).toMatch(/^ {2}ports\t<\[\]ContainerPort>$/m);
    expect(out).toMatch(/^ {2}resources\t<ResourceRequirements>$/m);
    expect(out).toMatch(/^ {2}restartPolicy\t<string>\n {4}Only on init containers/m);
  });

  it("explains deployment --recursive down to the pod template's containers", async () => {
    const out = (await cluster.kubectl(["explain", "deployment", "--recursive"])).stdout;
    expect(out).toContain("KIND:       Deployment");
    expect(out).toMatch(/^ {2}spec\t<DeploymentSpec>$/m);
    expect(out).toMatch(/^ {4}replicas\t<integer>$/m);
    expect(out).toMatch(/^ {6}spec\t<PodSpec>$/m);
    expect(out).toMatch(/^ {8}containers\t<\[\]Container> -required-$/m);
    expect(out).toMatch(/^ {10}image\t<string>$/m);
  });

  it("explains a batch/v1 Job field and an enum", async () => {
    expect((await cluster.kubectl(["explain", "job.spec.backoffLimit"])).stdout).toContain("FIELD: backoffLimit <integer>");
    const mode = (await cluster.kubectl(["explain", "job.spec.completionMode"])).stdout;
    expect(mode).toMatch(/ENUM:\n\s+NonIndexed\n\s+Indexed/);
  });

  it("creates a pod, deployment, job, pvc and role with validation on", async () => {
    const out = (await cluster.kubectl(["create", "--validate=strict", "-f", "-", "-n", "default"], { stdin: OBJECTS })).stdout;
    expect(out.trim().split("\n")).toEqual([
      "pod/openapi-pod created",
      "deployment.apps/openapi-web created",
      "job.batch/openapi-job created",
      "persistentvolumeclaim/openapi-data created",
      "role.rbac.authorization.k8s.io/openapi-reader created",
    ]);
  });

  it("creates a TokenReview with validation on (no PATCH in v3: kubectl validates it against /openapi/v2)", async () => {
    const r = await cluster.kubectl(["create", "-f", "-", "-o", "jsonpath={.kind}"], { stdin: JSON.stringify({ apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token: "x" } }) });
    expect(r.stdout).toBe("TokenReview");
    expect(r.stderr).not.toContain("openapi");
  });

  it("says exactly which kind is not served", async () => {
    const r = await cluster.kubectl(["apply", "-f", "-"], { stdin: UNKNOWN_KIND, allowFailure: true });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe('error: resource mapping not found for name: "w" namespace: "" from "STDIN": no matches for kind "Widget" in version "example.com/v1"\nensure CRDs are installed first\n');
  });

  it("says exactly which field does not exist (server-side strict field validation)", async () => {
    const r = await cluster.kubectl(["create", "--validate=strict", "-f", "-"], { stdin: podWithPort("openapi-bad", { containerPort: 80, bogus: 1 }), allowFailure: true });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe('Error from server (BadRequest): error when creating "STDIN": Pod in version "v1" cannot be handled as a Pod: strict decoding error: unknown field "spec.containers[0].ports[0].bogus"\n');
  });

  it("merges containers by name on apply, as the schemas' patch merge keys say", async () => {
    const deployment = (image: string): string => JSON.stringify({
      apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "openapi-merge" },
      spec: { selector: { matchLabels: { app: "m" } }, template: { metadata: { labels: { app: "m" } }, spec: { containers: [{ name: "main", image }] } } },
    });
    await cluster.kubectl(["apply", "-f", "-"], { stdin: deployment("nginx:1.24") });
    await cluster.kubectl(["patch", "deployment", "openapi-merge", "-p", '{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox"}]}}}}']);
    await cluster.kubectl(["apply", "-f", "-"], { stdin: deployment("nginx:1.25") });
    const images = (await cluster.kubectl(["get", "deployment", "openapi-merge", "-o", "jsonpath={range .spec.template.spec.containers[*]}{.name}={.image} {end}"])).stdout;
    expect(images.trim().split(" ").sort()).toEqual(["main=nginx:1.25", "side=busybox"]);
  });
});

describe.skipIf(KUBECTL_120 === undefined)("Debian's kubectl 1.20 (OpenAPI v2 protobuf)", () => {
  const kubectl = KUBECTL_120!;

  it("validates and creates a pod, deployment, job, pvc and role", async () => {
    await cluster.kubectl(["create", "namespace", "openapi-120"]);
    const r = await run(kubectl, ["create", "-n", "openapi-120", "-f", "-"], OBJECTS);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim().split("\n")).toHaveLength(5);
  });

  it("accepts numbers where quantities and int-or-strings belong", async () => {
    const objects = [
      { apiVersion: "v1", kind: "Pod", metadata: { name: "openapi-numbers" }, spec: { containers: [{ name: "c", image: "i", resources: { requests: { cpu: 0.5, memory: 1e6 } } }] } },
      { apiVersion: "v1", kind: "Service", metadata: { name: "openapi-numbers" }, spec: { selector: { app: "a" }, ports: [{ name: "a", port: 80, targetPort: 8080 }, { name: "b", port: 81, targetPort: "http" }] } },
      { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: "openapi-numbers" }, spec: { minAvailable: 1, selector: { matchLabels: { app: "a" } } } },
    ];
    const r = await run(kubectl, ["create", "-f", "-"], objects.map((o) => JSON.stringify(o)).join("\n"));
    expect(r.stderr).toBe("");
    expect(r.stdout.trim().split("\n")).toHaveLength(3);
  });

  it("rejects a bad field and a bad type on the client, naming the definition", async () => {
    const r = await run(kubectl, ["create", "-f", "-"], podWithPort("openapi-bad-120", { containerPort: "80", bogus: 1 }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe(
      'error: error validating "STDIN": error validating data: [ValidationError(Pod.spec.containers[0].ports[0]): unknown field "bogus" in io.k8s.api.core.v1.ContainerPort, ' +
      'ValidationError(Pod.spec.containers[0].ports[0].containerPort): invalid type for io.k8s.api.core.v1.ContainerPort.containerPort: got "string", expected "integer"]; ' +
      "if you choose to ignore these errors, turn validation off with --validate=false\n",
    );
  });

  it("reports a missing required field", async () => {
    const r = await run(kubectl, ["create", "-f", "-"], JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name: "x" }, spec: { containers: [{ image: "nginx" }] } }));
    expect(r.stderr).toContain('missing required field "name" in io.k8s.api.core.v1.Container');
  });

  it("says which kind is not served, not that the OpenAPI download failed", async () => {
    const r = await run(kubectl, ["apply", "-f", "-"], UNKNOWN_KIND);
    expect(r.stderr).toBe('error: unable to recognize "STDIN": no matches for kind "Widget" in version "example.com/v1"\n');
  });

  it("applies with container merge from the v2 patch merge keys", async () => {
    const deployment = (image: string): string => JSON.stringify({
      apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "openapi-merge-120" },
      spec: { selector: { matchLabels: { app: "m120" } }, template: { metadata: { labels: { app: "m120" } }, spec: { containers: [{ name: "main", image }] } } },
    });
    expect((await run(kubectl, ["apply", "-f", "-"], deployment("nginx:1.24"))).code).toBe(0);
    await cluster.kubectl(["patch", "deployment", "openapi-merge-120", "-p", '{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox"}]}}}}']);
    expect((await run(kubectl, ["apply", "-f", "-"], deployment("nginx:1.25"))).code).toBe(0);
    const images = (await cluster.kubectl(["get", "deployment", "openapi-merge-120", "-o", "jsonpath={range .spec.template.spec.containers[*]}{.name}={.image} {end}"])).stdout;
    expect(images.trim().split(" ").sort()).toEqual(["main=nginx:1.25", "side=busybox"]);
  });
});

describe("/openapi over HTTP", () => {
  it("answers a v3 document's ETag with 304", async () => {
    const index = (await (await fetchAs(cluster.api, `/openapi/v3`)).json()) as { paths: Record<string, { serverRelativeURL: string }> };
    const url = index.paths["apis/batch/v1"]!.serverRelativeURL;
    const first = await fetchAs(cluster.api, url);
    const doc = (await first.json()) as { components: { schemas: Record<string, { "x-kubernetes-group-version-kind"?: unknown }> } };
    expect(doc.components.schemas["io.k8s.api.batch.v1.Job"]!["x-kubernetes-group-version-kind"]).toEqual([{ group: "batch", version: "v1", kind: "Job" }]);
    const again = await fetchAs(cluster.api, url, { headers: { "If-None-Match": first.headers.get("etag")! } });
    expect(again.status).toBe(304);
  });

  const PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

  it("serves JSON and protobuf, each with its ETag and a 304 for a matching If-None-Match", async () => {
    const json = await fetchAs(cluster.api, `/openapi/v2`, { headers: { Accept: "application/json" } });
    expect(json.status).toBe(200);
    expect(json.headers.get("content-type")).toBe("application/json");
    const doc = (await json.json()) as { swagger: string; definitions: Record<string, unknown> };
    expect(doc.swagger).toBe("2.0");
    expect(doc.definitions["io.k8s.api.batch.v1.Job"]).toBeDefined();

    const proto = await fetchAs(cluster.api, `/openapi/v2`, { headers: { Accept: PROTOBUF } });
    expect(proto.status).toBe(200);
    expect(proto.headers.get("content-type")).toBe("application/octet-stream");
    const bytes = Buffer.from(await proto.arrayBuffer());
    expect(bytes.subarray(0, 5)).toEqual(Buffer.from([0x0a, 0x03, 0x32, 0x2e, 0x30])); // field 1 "2.0"
    const etag = proto.headers.get("etag")!;
    expect(etag).not.toBe(json.headers.get("etag"));

    const again = await fetchAs(cluster.api, `/openapi/v2`, { headers: { Accept: PROTOBUF, "If-None-Match": etag } });
    expect(again.status).toBe(304);
    const stale = await fetchAs(cluster.api, `/openapi/v2`, { headers: { Accept: PROTOBUF, "If-None-Match": '"stale"' } });
    expect(stale.status).toBe(200);
    await stale.arrayBuffer();
  });
});
