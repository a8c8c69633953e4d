// Server-side apply and managedFields with the real kubectl 1.32 against a real apiserver process on a real etcd:
// conflicts between field managers, --force-conflicts, the managers kubectl's commands record, the move from
// client-side to server-side apply; and the write options the apiserver refuses as Kubernetes does.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeObject, ManagedFieldsEntry } from "../../api/meta.js";
import { startTestCluster, type TestCluster } from "../support/apiserver.js";
import { call, type Reply, type RequestOptions, type StatusBody } from "../support/http.js";

let cluster: TestCluster | undefined;

function c(): TestCluster {
  if (!cluster) throw new Error("the test cluster did not start");
  return cluster;
}

function api<T = KubeObject>(method: string, path: string, body?: unknown, options?: RequestOptions): Promise<Reply<T>> {
  return call<T>(c().api, method, path, body, options);
}

function manifest(name: string, body: string): string {
  const file = join(c().workDir, name);
  writeFileSync(file, body);
  return file;
}

function deploymentYaml(replicas: number, image = "nginx:1.27"): string {
  return [
    "apiVersion: apps/v1",
    "kind: Deployment",
    "metadata: {name: ssa-web, namespace: default}",
    "spec:",
    `  replicas: ${replicas}`,
    "  selector: {matchLabels: {app: ssa-web}}",
    "  template:",
    "    metadata: {labels: {app: ssa-web}}",
    `    spec: {containers: [{name: nginx, image: "${image}"}]}`,
    "",
  ].join("\n");
}

async function managedFieldsOf(resource: string, name: string): Promise<ManagedFieldsEntry[]> {
  const out = await c().kubectl(["get", resource, name, "-o", "yaml", "--show-managed-fields"]);
  const object = parseYaml(out.stdout) as KubeObject;
  return object.metadata.managedFields ?? [];
}

function ownersOf(entries: readonly ManagedFieldsEntry[], ...path: string[]): string[] {
  return entries
    .filter((e) => {
      let node: unknown = e.fieldsV1;
      for (const element of path) {
        if (typeof node !== "object" || node === null || !Object.hasOwn(node, element)) return false;
        node = (node as Record<string, unknown>)[element];
      }
      return true;
    })
    .map((e) => `${e.manager}/${e.operation}${e.subresource ? `/${e.subresource}` : ""}`);
}

beforeAll(async () => {
  cluster = await startTestCluster();
}, 60_000);

afterAll(async () => {
  await cluster?.destroy();
});

describe("server-side apply through kubectl", () => {
  it("refuses a second manager's change to an applied field with Kubernetes' conflict message; --force-conflicts takes it", async () => {
    const first = manifest("first.yaml", deploymentYaml(2));
    await c().kubectl(["apply", "--server-side", "--field-manager", "ssa-alpha", "-f", first]);
    const second = manifest("second.yaml", deploymentYaml(5));
    const refused = await c().kubectl(["apply", "--server-side", "--field-manager", "ssa-beta", "-f", second], { allowFailure: true });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('Apply failed with 1 conflict: conflict with "ssa-alpha": .spec.replicas');
    expect(refused.stderr).toContain("Please review the fields above--they currently have other managers.");
    const replicas = await c().kubectl(["get", "deployment", "ssa-web", "-o", "jsonpath={.spec.replicas}"]);
    expect(replicas.stdout).toBe("2");

    await c().kubectl(["apply", "--server-side", "--field-manager", "ssa-beta", "--force-conflicts", "-f", second]);
    expect((await c().kubectl(["get", "deployment", "ssa-web", "-o", "jsonpath={.spec.replicas}"])).stdout).toBe("5");
    const entries = await managedFieldsOf("deployment", "ssa-web");
    expect(ownersOf(entries, "f:spec", "f:replicas")).toEqual(["ssa-beta/Apply"]);
    // Both applied the same image: they share it.
    expect(ownersOf(entries, "f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"nginx"}', "f:image").sort()).toEqual(["ssa-alpha/Apply", "ssa-beta/Apply"]);
    // Plain -o yaml hides them (kubectl strips them client-side); the server sent them.
    expect((await c().kubectl(["get", "deployment", "ssa-web", "-o", "yaml"])).stdout).not.toContain("managedFields");
    await c().kubectl(["delete", "deployment", "ssa-web"]);
  });

  it("records kubectl create and kubectl scale as Update managers with their fields", async () => {
    await c().kubectl(["create", "deployment", "ssa-made", "--image=nginx:1.27"]);
    await c().kubectl(["scale", "deployment", "ssa-made", "--replicas=4"]);
    const entries = await managedFieldsOf("deployment", "ssa-made");
    const byManager = entries.map((e) => [e.manager, e.operation, e.apiVersion, e.subresource ?? ""]);
    expect(byManager).toContainEqual(["kubectl-create", "Update", "apps/v1", ""]);
    const scaler = entries.find((e) => e.subresource === "scale");
    expect(scaler).toMatchObject({ operation: "Update", apiVersion: "apps/v1", fieldsType: "FieldsV1", fieldsV1: { "f:spec": { "f:replicas": {} } } });
    expect(scaler?.manager).toMatch(/^kubectl/);
    expect(ownersOf(entries, "f:spec", "f:replicas")).toEqual([`${scaler?.manager ?? ""}/Update/scale`]);
    expect(ownersOf(entries, "f:metadata", "f:labels", "f:app")).toEqual(["kubectl-create/Update"]);
    for (const e of entries) expect(e.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);

    // An apply of another replica count now conflicts with the scaler, naming the subresource.
    const file = manifest("made.yaml", deploymentYaml(1).replaceAll("ssa-web", "ssa-made").replace("nginx:1.27", "nginx:1.27"));
    const refused = await c().kubectl(["apply", "--server-side", "-f", file], { allowFailure: true });
    expect(refused.stderr).toContain(`conflict with "${scaler?.manager ?? ""}" with subresource "scale" using apps/v1: .spec.replicas`);
  });

  it("moves client-side apply ownership to server-side apply, and a later apply drops a field no longer applied", async () => {
    const cm = (data: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa-migrate, namespace: default}\ndata: {${data}}\n`;
    await c().kubectl(["apply", "-f", manifest("csa.yaml", cm("a: '1', b: '2'"))]);
    expect(ownersOf(await managedFieldsOf("configmap", "ssa-migrate"), "f:data", "f:a")).toEqual(["kubectl-client-side-apply/Update"]);
    // Same fields, another value: no conflict, since kubectl first hands the client-side fields to its apply manager.
    await c().kubectl(["apply", "--server-side", "-f", manifest("ssa.yaml", cm("a: '10', b: '2'"))]);
    let entries = await managedFieldsOf("configmap", "ssa-migrate");
    expect(ownersOf(entries, "f:data", "f:a")).toEqual(["kubectl/Apply"]);
    expect(entries.map((e) => e.manager)).not.toContain("kubectl-client-side-apply");
    await c().kubectl(["apply", "--server-side", "-f", manifest("ssa2.yaml", cm("a: '10'"))]);
    const data = await c().kubectl(["get", "configmap", "ssa-migrate", "-o", "jsonpath={.data}"]);
    expect(JSON.parse(data.stdout)).toEqual({ a: "10" });
    entries = await managedFieldsOf("configmap", "ssa-migrate");
    expect(ownersOf(entries, "f:data", "f:b")).toEqual([]);
  });

  it("lets an Update take an applied field without a conflict", async () => {
    const cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa-take, namespace: default}\ndata: {k: v}\n";
    await c().kubectl(["apply", "--server-side", "--field-manager", "ssa-owner", "-f", manifest("take.yaml", cm)]);
    await c().kubectl(["patch", "configmap", "ssa-take", "--type=merge", "-p", '{"data":{"k":"w"}}']);
    const entries = await managedFieldsOf("configmap", "ssa-take");
    expect(ownersOf(entries, "f:data", "f:k")).toEqual(["kubectl-patch/Update"]);
  });
});

describe("write options refused as Kubernetes refuses them", () => {
  const cmPath = "/api/v1/namespaces/default/configmaps";
  const cmBody = (name: string): KubeObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { a: "1" } });
  const apply = { contentType: "application/apply-patch+yaml" };

  it("answers an apply without fieldManager 422, without apiVersion/kind 400, force on a merge patch 422", async () => {
    const noManager = await api<StatusBody>("PATCH", `${cmPath}/ssa-opt`, cmBody("ssa-opt"), apply);
    expect([noManager.status, noManager.body.reason, noManager.body.message]).toEqual([422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch']);
    const noKind = await api<StatusBody>("PATCH", `${cmPath}/ssa-opt?fieldManager=me`, { metadata: { name: "ssa-opt" }, data: { a: "1" } }, apply);
    expect([noKind.status, noKind.body.reason, noKind.body.message]).toEqual([400, "BadRequest", "Incorrect version specified in apply patch. Specified patch version: , expected: v1"]);
    const withManagedFields = await api<StatusBody>("PATCH", `${cmPath}/ssa-opt?fieldManager=me`, { ...cmBody("ssa-opt"), metadata: { name: "ssa-opt", managedFields: [{ manager: "x" }] } }, apply);
    expect([withManagedFields.status, withManagedFields.body.message]).toEqual([400, "metadata.managedFields must be nil"]);
    await api("POST", cmPath, cmBody("ssa-opt"));
    const force = await api<StatusBody>("PATCH", `${cmPath}/ssa-opt?force=true`, { data: { a: "2" } }, { contentType: "application/merge-patch+json" });
    expect([force.status, force.body.message]).toEqual([422, 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch']);
    const long = await api<StatusBody>("PATCH", `${cmPath}/ssa-opt?fieldManager=${"x".repeat(129)}`, { data: { a: "2" } }, { contentType: "application/merge-patch+json" });
    expect([long.status, long.body.message]).toEqual([422, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Too long: may not be more than 128 bytes']);
  });

  it("answers an unsupported body type 415 before a bad dryRun", async () => {
    const reply = await api<StatusBody>("POST", `${cmPath}?dryRun=bad`, "{}", { contentType: "application/bogus" });
    expect(reply.status).toBe(415);
    const patch = await api<StatusBody>("PATCH", `${cmPath}/x?dryRun=bad`, "{}", { contentType: "application/bogus" });
    expect(patch.status).toBe(415);
  });

  it("answers dryRun=<garbage> 422 and stores nothing", async () => {
    const reply = await api<StatusBody>("POST", `${cmPath}?dryRun=garbage`, cmBody("ssa-dry"));
    expect([reply.status, reply.body.message]).toEqual([422, 'CreateOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: []string{"garbage"}: supported values: "All"']);
    expect((await api("GET", `${cmPath}/ssa-dry`)).status).toBe(404);
  });

  it("answers a POST to an object's own URL 405", async () => {
    const reply = await api<StatusBody>("POST", `${cmPath}/ssa-post`, cmBody("ssa-post"));
    expect([reply.status, reply.body.reason]).toEqual([405, "MethodNotAllowed"]);
    expect((await api("GET", `${cmPath}/ssa-post`)).status).toBe(404);
  });

  it("answers a PUT with another uid 409", async () => {
    const created = (await api("POST", cmPath, cmBody("ssa-uid"))).body;
    const reply = await api<StatusBody>("PUT", `${cmPath}/ssa-uid`, { ...created, metadata: { ...created.metadata, uid: "6b0d4ba1-0000-4000-8000-000000000000" } });
    expect([reply.status, reply.body.reason]).toEqual([409, "Conflict"]);
    expect(reply.body.message).toBe(
      `Operation cannot be fulfilled on configmaps "ssa-uid": StorageError: invalid object, Code: 4, Key: /registry/configmaps/default/ssa-uid, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: 6b0d4ba1-0000-4000-8000-000000000000, UID in object meta: ${created.metadata.uid ?? ""}`,
    );
  });

  it("answers orphanDependents with propagationPolicy 422", async () => {
    await api("POST", cmPath, cmBody("ssa-del"));
    const reply = await api<StatusBody>("DELETE", `${cmPath}/ssa-del`, { kind: "DeleteOptions", apiVersion: "v1", orphanDependents: true, propagationPolicy: "Background" });
    expect([reply.status, reply.body.message]).toEqual([422, 'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Invalid value: "Background": orphanDependents and deletionPropagation cannot be both set']);
    expect((await api("GET", `${cmPath}/ssa-del`)).status).toBe(200);
  });

  it("keeps a namespace's spec.finalizers on a plain PUT", async () => {
    const ns = (await api("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: "ssa-ns" } })).body;
    const put = await api("PUT", "/api/v1/namespaces/ssa-ns", { ...ns, spec: { finalizers: [] } });
    expect(put.status).toBe(200);
    expect(put.body.spec).toEqual({ finalizers: ["kubernetes"] });
  });

  it("answers a JSON patch that moves the object to another namespace 400", async () => {
    await api("POST", cmPath, cmBody("ssa-move"));
    const reply = await api<StatusBody>("PATCH", `${cmPath}/ssa-move`, [{ op: "replace", path: "/metadata/namespace", value: "kube-system" }], { contentType: "application/json-patch+json" });
    expect([reply.status, reply.body.message]).toEqual([400, "the namespace of the provided object does not match the namespace sent on the request"]);
  });

  it("applies Strict field validation to JSON patches", async () => {
    await api("POST", cmPath, cmBody("ssa-strict"));
    const ops = [{ op: "add", path: "/spec", value: { bogus: 1 } }];
    const strict = await api<StatusBody>("PATCH", `${cmPath}/ssa-strict?fieldValidation=Strict`, ops, { contentType: "application/json-patch+json" });
    expect([strict.status, strict.body.reason, strict.body.details?.causes?.[0]?.field]).toEqual([422, "Invalid", "patch"]);
    expect(strict.body.message).toMatch(/^ "" is invalid: patch: Invalid value: "\{\\"apiVersion\\":\\"v1\\",\\"data\\".*\\"spec\\":\{\\"bogus\\":1\}\}": strict decoding error: unknown field "spec"$/);
    // Without Strict the patch goes through.
    expect((await api("PATCH", `${cmPath}/ssa-strict`, [{ op: "add", path: "/data/b", value: "2" }], { contentType: "application/json-patch+json" })).status).toBe(200);
  });
});
