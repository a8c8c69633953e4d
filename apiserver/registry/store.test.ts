import { beforeEach, describe, expect, it } from "vitest";
import type { KubeObject, Status } from "../../api/meta.js";
import { newConfigMap, newDeployment, newNamespace, newPod, newReplicaSet } from "../../api/testing/builders.js";
import type { ConfigMap, Deployment, Pod } from "../../api/types/index.js";
import type { CacheEvent } from "../storage/interfaces.js";
import { memoryRegistry, type MemoryRegistry } from "./testing/memory-storage.js";
import { rejection } from "./testing/rejection.js";
import type { ResourceStore } from "./store.js";

function asPod(object: KubeObject | Status): Pod {
  return objectOf(object);
}

/** A delete's answer as the object it returned (kinds that return a Status fail the test). */
function objectOf(result: KubeObject | Status): KubeObject {
  if (result.kind === "Status") throw new Error(`expected an object, got ${JSON.stringify(result)}`);
  return result as KubeObject;
}

let m: MemoryRegistry;
let pods: ResourceStore;
let deployments: ResourceStore;
let configmaps: ResourceStore;
let namespaces: ResourceStore;

beforeEach(async () => {
  m = await memoryRegistry();
  pods = m.registry.core("pods");
  configmaps = m.registry.core("configmaps");
  namespaces = m.registry.core("namespaces");
  deployments = m.registry.store("apps", "v1", "deployments")!;
});

describe("create", () => {
  it("sets uid, creationTimestamp and resourceVersion on a new object", async () => {
    const before = Date.now();
    const created = await configmaps.create("default", newConfigMap("cfg", { data: { a: "1" } }));
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(created.metadata.creationTimestamp!)).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(created.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(created).toMatchObject({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg", namespace: "default" }, data: { a: "1" } });
    expect(await configmaps.get("default", "cfg")).toEqual(created);
  });

  it("ignores server-owned metadata the client sent", async () => {
    const created = await configmaps.create(
      "default",
      newConfigMap("cfg", { meta: { uid: "mine", resourceVersion: "42", deletionTimestamp: "2020-01-01T00:00:00Z", creationTimestamp: "2020-01-01T00:00:00Z" } }),
    );
    expect(created.metadata.uid).not.toBe("mine");
    expect(created.metadata.resourceVersion).not.toBe("42");
    expect(created.metadata.deletionTimestamp).toBeUndefined();
    expect(created.metadata.creationTimestamp).not.toBe("2020-01-01T00:00:00Z");
  });

  it.each([
    ["deployments", 1],
    ["replicasets", 1],
    ["pods", undefined],
    ["configmaps", undefined],
  ])("gives new %s generation %j", async (resource, generation) => {
    const bodies: Record<string, KubeObject> = {
      deployments: newDeployment("x"),
      replicasets: newReplicaSet("x"),
      pods: newPod("x"),
      configmaps: newConfigMap("x"),
    };
    const store = resource === "deployments" || resource === "replicasets" ? m.registry.store("apps", "v1", resource)! : m.registry.core(resource);
    const created = await store.create("default", { ...bodies[resource]!, metadata: { name: "x", generation: 7 } });
    expect(created.metadata.generation).toBe(generation);
  });

  it("starts a pod Pending with the default not-ready and unreachable NoExecute tolerations", async () => {
    const created = asPod(await pods.create("default", newPod("web", { status: { phase: "Running" } })));
    expect(created.status?.phase).toBe("Pending");
    expect(created.spec?.tolerations).toEqual([
      { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
      { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
    ]);
  });

  it("takes the default toleration seconds from the registry options", async () => {
    const custom = await memoryRegistry({ defaultNotReadyTolerationSeconds: 60, defaultUnreachableTolerationSeconds: 90 });
    const created = asPod(await custom.registry.core("pods").create("default", newPod("web")));
    expect(created.spec?.tolerations?.map((t) => [t.key, t.tolerationSeconds])).toEqual([
      ["node.kubernetes.io/not-ready", 60],
      ["node.kubernetes.io/unreachable", 90],
    ]);
  });

  it("keeps a pod's own not-ready toleration instead of adding the default one", async () => {
    const own = { key: "node.kubernetes.io/not-ready", operator: "Exists" as const, effect: "NoExecute" as const, tolerationSeconds: 5 };
    const created = asPod(await pods.create("default", newPod("web", { tolerations: [own] })));
    expect(created.spec?.tolerations).toEqual([own, { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 }]);
  });

  it("drops the creationTimestamp: null kubectl sends in a pod template", async () => {
    const withNull = newDeployment("web");
    (withNull.metadata as Record<string, unknown>).creationTimestamp = null;
    (withNull.spec!.template!.metadata as Record<string, unknown>).creationTimestamp = null;
    const created = (await deployments.create("default", withNull)) as Deployment;
    expect(created.spec?.template?.metadata).not.toHaveProperty("creationTimestamp");
    expect(created.metadata.creationTimestamp).toEqual(expect.any(String));
    expect(JSON.stringify(await deployments.get("default", "web"))).not.toContain("null");
  });

  it("keeps a ControllerRevision's data as sent, nulls included (a RawExtension the real controllers compare byte for byte)", async () => {
    const revisions = m.registry.store("apps", "v1", "controllerrevisions")!;
    const data = { spec: { template: { $patch: "replace", metadata: { creationTimestamp: null, labels: { app: "w" } }, spec: { containers: [{ name: "c", image: "nginx:1", resources: {} }] } } } };
    const body: KubeObject = { apiVersion: "apps/v1", kind: "ControllerRevision", metadata: { name: "w-1" }, data, revision: 1 };
    await revisions.create("default", body);
    const stored = objectOf(await revisions.get("default", "w-1"));
    expect(JSON.stringify(stored.data)).toBe(JSON.stringify(data));
    expect(stored.metadata.creationTimestamp).toEqual(expect.any(String));
    const updated = objectOf((await revisions.update("default", "w-1", { ...stored, metadata: { ...stored.metadata, labels: { a: "b" } } })).object);
    expect(JSON.stringify(updated.data)).toBe(JSON.stringify(data));
  });

  it("gives a new namespace phase Active, the kubernetes finalizer and its name label", async () => {
    const created = await namespaces.create(undefined, newNamespace("team"));
    expect(created).toMatchObject({
      metadata: { labels: { "kubernetes.io/metadata.name": "team" } },
      spec: { finalizers: ["kubernetes"] },
      status: { phase: "Active" },
    });
  });

  it("names an object from generateName with a 5-character suffix", async () => {
    const body = newPod("", { meta: { generateName: "web-" } });
    delete body.metadata.name;
    const first = await pods.create("default", body);
    const second = await pods.create("default", body);
    expect(first.metadata.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(second.metadata.name).not.toBe(first.metadata.name);
    expect(first.metadata.generateName).toBe("web-");
  });

  it("answers 409 AlreadyExists for a second object with the same name", async () => {
    await pods.create("default", newPod("x"));
    const err = await rejection(pods.create("default", newPod("x")));
    expect(err.code).toBe(409);
    expect(err.reason).toBe("AlreadyExists");
    expect(err.message).toBe('pods "x" already exists');
  });

  it.each([
    ["kind", { kind: "Service" }],
    ["apiVersion", { apiVersion: "apps/v1" }],
  ])("answers 400 when the body's %s does not match the resource", async (_field, override) => {
    const err = await rejection(pods.create("default", { ...newPod("x"), ...override }));
    expect(err.code).toBe(400);
    expect(err.reason).toBe("BadRequest");
  });

  it("answers 400 when the body's namespace differs from the request's", async () => {
    const err = await rejection(pods.create("default", newPod("x", { namespace: "other" })));
    expect(err.code).toBe(400);
    expect(err.message).toContain("namespace");
  });

  it("fills the namespace from the request when the body has none", async () => {
    const body = newPod("x");
    delete body.metadata.namespace;
    expect((await pods.create("default", body)).metadata.namespace).toBe("default");
  });

  it("answers 404 for a create into a namespace that does not exist", async () => {
    const err = await rejection(pods.create("nope", newPod("x", { namespace: "nope" })));
    expect(err.code).toBe(404);
    expect(err.message).toBe('namespaces "nope" not found');
  });

  it("answers 403 for a create into a terminating namespace", async () => {
    await namespaces.create(undefined, { ...newNamespace("ending"), spec: { finalizers: ["kubernetes"] } });
    await namespaces.delete(undefined, "ending");
    const err = await rejection(pods.create("ending", newPod("x", { namespace: "ending" })));
    expect(err.code).toBe(403);
    expect(err.reason).toBe("Forbidden");
    expect(err.message).toBe('pods "x" is forbidden: unable to create new content in namespace ending because it is being terminated');
  });

  it("answers 422 Invalid with a cause per invalid field", async () => {
    const body = newPod("Bad_Name", { containers: [{ name: "app" }] });
    const err = await rejection(pods.create("default", body));
    expect(err.code).toBe(422);
    expect(err.reason).toBe("Invalid");
    expect(err.message).toMatch(/^Pod "Bad_Name" is invalid: /);
    const fields = err.details?.causes?.map((c) => c.field);
    expect(fields).toContain("metadata.name");
    expect(fields).toContain("spec.containers[0].image");
    expect(await rejection(pods.get("default", "Bad_Name"))).toMatchObject({ code: 404 });
  });

  it("refuses a dryRun create of a name that is taken with AlreadyExists, as the real create would", async () => {
    await configmaps.create("default", newConfigMap("cfg"));
    expect(await rejection(configmaps.create("default", newConfigMap("cfg"), { dryRun: true }))).toMatchObject({ code: 409, reason: "AlreadyExists" });
  });

  it("stores nothing on a dryRun create but answers with the object as it would be", async () => {
    const revision = await m.storage.currentRevision();
    const created = asPod(await pods.create("default", newPod("web"), { dryRun: true }));
    expect(created.metadata.uid).toEqual(expect.any(String));
    expect(created.status?.phase).toBe("Pending");
    expect(await m.storage.currentRevision()).toBe(revision);
    expect(await rejection(pods.get("default", "web"))).toMatchObject({ code: 404 });
  });

  it("answers 503 while etcd is unavailable", async () => {
    m.storage.unavailable = true;
    const err = await rejection(configmaps.get("default", "x"));
    expect(err.code).toBe(503);
    expect(err.reason).toBe("ServiceUnavailable");
  });
});

describe("get", () => {
  it.each([
    ["", "pods", 'pods "x" not found'],
    ["apps", "deployments", 'deployments.apps "x" not found'],
    ["apps", "replicasets", 'replicasets.apps "x" not found'],
  ])("answers 404 NotFound for a missing object of group %j resource %s", async (group, resource, message) => {
    const err = await rejection(m.registry.store(group, "v1", resource)!.get("default", "x"));
    expect(err.code).toBe(404);
    expect(err.reason).toBe("NotFound");
    expect(err.message).toBe(message);
  });
});

describe("update", () => {
  it("answers 409 Conflict for a stale resourceVersion", async () => {
    const created = await configmaps.create("default", newConfigMap("cfg", { data: { a: "1" } }));
    await configmaps.update("default", "cfg", { ...created, data: { a: "2" } });
    const err = await rejection(configmaps.update("default", "cfg", { ...created, data: { a: "3" } }));
    expect(err.code).toBe(409);
    expect(err.reason).toBe("Conflict");
    expect(err.message).toBe('Operation cannot be fulfilled on configmaps "cfg": the object has been modified; please apply your changes to the latest version and try again');
    expect(((await configmaps.get("default", "cfg")) as ConfigMap).data).toEqual({ a: "2" });
  });

  it("applies an update that carries no resourceVersion to whatever is stored", async () => {
    await configmaps.create("default", newConfigMap("cfg", { data: { a: "1" } }));
    const { object } = await configmaps.update("default", "cfg", newConfigMap("cfg", { data: { a: "2" } }));
    expect((object as ConfigMap).data).toEqual({ a: "2" });
  });

  it("answers 404 for an update of a missing object", async () => {
    const err = await rejection(configmaps.update("default", "cfg", newConfigMap("cfg")));
    expect(err.code).toBe(404);
    expect(err.message).toBe('configmaps "cfg" not found');
  });

  it("creates a missing Endpoints object on update, as kinds that allow create-on-update do", async () => {
    const endpoints = m.registry.core("endpoints");
    const { object, created } = await endpoints.update("default", "web", { apiVersion: "v1", kind: "Endpoints", metadata: { name: "web" } });
    expect(created).toBe(true);
    expect(object.metadata.uid).toEqual(expect.any(String));
  });

  it("answers 400 when the name in the body differs from the URL", async () => {
    await configmaps.create("default", newConfigMap("cfg"));
    const err = await rejection(configmaps.update("default", "cfg", newConfigMap("other")));
    expect(err.code).toBe(400);
    expect(err.message).toBe("the name of the object (other) does not match the name on the URL (cfg)");
  });

  it("keeps the stored status on a main-resource update", async () => {
    const created = await deployments.create("default", newDeployment("web"));
    await deployments.update("default", "web", { ...created, status: { replicas: 1, observedGeneration: 1 } }, { subresource: "status" });
    const current = (await deployments.get("default", "web")) as Deployment;
    const { object } = await deployments.update("default", "web", { ...current, spec: { ...current.spec!, replicas: 3 }, status: { replicas: 99 } });
    expect((object as Deployment).status).toEqual({ replicas: 1, observedGeneration: 1 });
    expect((object as Deployment).spec?.replicas).toBe(3);
  });

  it("keeps the stored spec and labels on a status update", async () => {
    const created = await deployments.create("default", newDeployment("web", { replicas: 2 }));
    const { object } = await deployments.update(
      "default",
      "web",
      { ...created, metadata: { ...created.metadata, labels: { changed: "yes" } }, spec: { ...(created as Deployment).spec!, replicas: 9 }, status: { replicas: 2 } },
      { subresource: "status" },
    );
    const stored = object as Deployment;
    expect(stored.status).toEqual({ replicas: 2 });
    expect(stored.spec?.replicas).toBe(2);
    expect(stored.metadata.labels).toEqual({ app: "web" });
    expect(stored.metadata.generation).toBe(1);
  });

  it.each([
    [2, "a spec change", (d: Deployment): Deployment => ({ ...d, spec: { ...d.spec!, replicas: 5 } }), undefined],
    [1, "a label change", (d: Deployment): Deployment => ({ ...d, metadata: { ...d.metadata, labels: { app: "web", tier: "front" } } }), undefined],
    [1, "an annotation change", (d: Deployment): Deployment => ({ ...d, metadata: { ...d.metadata, annotations: { note: "x" } } }), undefined],
    [1, "a status change", (d: Deployment): Deployment => ({ ...d, status: { replicas: 4 } }), "status" as const],
    [1, "an identical write", (d: Deployment): Deployment => d, undefined],
  ])("has metadata.generation %i after %s", async (generation, _what, change, subresource) => {
    const created = (await deployments.create("default", newDeployment("web"))) as Deployment;
    const options = subresource ? { subresource } : {};
    const { object } = await deployments.update("default", "web", change(structuredClone(created)), options);
    expect(object.metadata.generation).toBe(generation);
  });

  it("does not bump the resourceVersion for an update that changes nothing", async () => {
    const created = await configmaps.create("default", newConfigMap("cfg", { data: { a: "1" } }));
    const { object } = await configmaps.update("default", "cfg", created);
    expect(object.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
  });

  it("changes nothing on a dryRun update but answers with the updated object", async () => {
    const created = await configmaps.create("default", newConfigMap("cfg", { data: { a: "1" } }));
    const { object } = await configmaps.update("default", "cfg", { ...created, data: { a: "2" } }, { dryRun: true });
    expect((object as ConfigMap).data).toEqual({ a: "2" });
    expect(await configmaps.get("default", "cfg")).toEqual(created);
  });

  it("answers 422 when an update breaks validation", async () => {
    const created = (await deployments.create("default", newDeployment("web"))) as Deployment;
    const err = await rejection(deployments.update("default", "web", { ...created, spec: { ...created.spec!, replicas: -1 } }));
    expect(err.code).toBe(422);
    expect(err.details?.causes).toEqual([expect.objectContaining({ field: "spec.replicas" })]);
  });
});

describe("patch", () => {
  async function twoContainerPod(): Promise<void> {
    await pods.create(
      "default",
      newPod("web", {
        containers: [
          { name: "a", image: "nginx:1" },
          { name: "b", image: "redis:1" },
        ],
      }),
    );
  }

  it("merges a merge patch into the stored object", async () => {
    await configmaps.create("default", newConfigMap("cfg", { labels: { keep: "1", drop: "1" }, data: { a: "1" } }));
    const { object, created } = await configmaps.patch("default", "cfg", "application/merge-patch+json", { metadata: { labels: { drop: null, add: "1" } }, data: { b: "2" } });
    expect(created).toBe(false);
    expect(object.metadata.labels).toEqual({ keep: "1", add: "1" });
    expect((object as ConfigMap).data).toEqual({ a: "1", b: "2" });
  });

  it("changes one container's image with a strategic merge patch and keeps the other containers", async () => {
    await twoContainerPod();
    const { object } = await pods.patch("default", "web", "application/strategic-merge-patch+json", { spec: { containers: [{ name: "b", image: "redis:2" }] } });
    expect(asPod(object).spec?.containers.map((c) => [c.name, c.image])).toEqual([
      ["a", "nginx:1"],
      ["b", "redis:2"],
    ]);
  });

  it("applies a JSON patch and bumps the generation of a workload", async () => {
    await deployments.create("default", newDeployment("web"));
    const { object } = await deployments.patch("default", "web", "application/json-patch+json", [{ op: "replace", path: "/spec/replicas", value: 3 }]);
    expect((object as Deployment).spec?.replicas).toBe(3);
    expect(object.metadata.generation).toBe(2);
  });

  it("creates a missing object with an apply patch and updates it with the next one, dropping what it no longer applies", async () => {
    const first = await configmaps.patch("default", "cfg", "application/apply-patch+yaml", newConfigMap("cfg", { data: { a: "1" } }), { fieldManager: "me" });
    expect(first.created).toBe(true);
    expect(first.object.metadata.uid).toEqual(expect.any(String));
    expect(first.object.metadata.managedFields).toEqual([expect.objectContaining({ manager: "me", operation: "Apply", fieldsV1: { "f:data": { "f:a": {} } } })]);
    const second = await configmaps.patch("default", "cfg", "application/apply-patch+yaml", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg" }, data: { b: "2" } }, { fieldManager: "me" });
    expect(second.created).toBe(false);
    expect((second.object as ConfigMap).data).toEqual({ b: "2" });
    expect(second.object.metadata.uid).toBe(first.object.metadata.uid);
  });

  it("answers an apply that changes another manager's field with 409, and takes it with force", async () => {
    await configmaps.create("default", newConfigMap("cfg", { data: { a: "1" } }), { fieldManager: "kubectl-create" });
    const apply = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cfg" }, data: { a: "2" } };
    const err = await rejection(configmaps.patch("default", "cfg", "application/apply-patch+yaml", apply, { fieldManager: "me" }));
    expect(err.code).toBe(409);
    expect(err.message).toBe('Apply failed with 1 conflict: conflict with "kubectl-create" using v1: .data.a');
    const forced = await configmaps.patch("default", "cfg", "application/apply-patch+yaml", apply, { fieldManager: "me", force: true });
    expect((forced.object as ConfigMap).data).toEqual({ a: "2" });
    // The creator keeps the data map itself (".") and loses the field.
    expect(forced.object.metadata.managedFields?.map((m) => [m.manager, m.operation, m.fieldsV1])).toEqual([["me", "Apply", { "f:data": { "f:a": {} } }], ["kubectl-create", "Update", { "f:data": {} }]]);
  });

  it("records an Update entry for every write with a field manager, and none for server-internal ones", async () => {
    const created = await configmaps.create("default", newConfigMap("cfg", { data: { a: "1" } }), { fieldManager: "kubectl-create" });
    expect(created.metadata.managedFields).toEqual([{ manager: "kubectl-create", operation: "Update", apiVersion: "v1", time: expect.any(String) as unknown, fieldsType: "FieldsV1", fieldsV1: { "f:data": { ".": {}, "f:a": {} } } }]);
    const patched = await configmaps.patch("default", "cfg", "application/merge-patch+json", { data: { b: "2" } }, { fieldManager: "kubectl-patch" });
    expect(patched.object.metadata.managedFields?.map((m) => m.manager)).toEqual(["kubectl-create", "kubectl-patch"]);
    const internal = await configmaps.patch("default", "cfg", "application/merge-patch+json", { data: { c: "3" } });
    expect(internal.object.metadata.managedFields).toEqual(patched.object.metadata.managedFields);
  });

  it("refuses an apply without a field manager (422) or of another kind (400)", async () => {
    expect((await rejection(configmaps.patch("default", "cfg", "application/apply-patch+yaml", newConfigMap("cfg")))).code).toBe(422);
    const err = await rejection(configmaps.patch("default", "cfg", "application/apply-patch+yaml", { metadata: { name: "cfg" } }, { fieldManager: "me" }));
    expect(err.code).toBe(400);
    expect(err.message).toBe("Incorrect version specified in apply patch. Specified patch version: , expected: v1");
  });

  it("answers 409 for a PUT whose uid is not the object's", async () => {
    const created = await configmaps.create("default", newConfigMap("cfg"));
    const err = await rejection(configmaps.update("default", "cfg", { ...created, metadata: { ...created.metadata, uid: "other" } }));
    expect(err.code).toBe(409);
    expect(err.message).toContain("AdditionalErrorMsg: Precondition failed: UID in precondition: other, UID in object meta: ");
  });

  it("answers 400 for a patch that moves the object to another namespace", async () => {
    await configmaps.create("default", newConfigMap("cfg"));
    const err = await rejection(configmaps.patch("default", "cfg", "application/json-patch+json", [{ op: "replace", path: "/metadata/namespace", value: "kube-system" }]));
    expect(err.code).toBe(400);
    expect(err.message).toBe("the namespace of the provided object does not match the namespace sent on the request");
  });

  it.each(["application/merge-patch+json", "application/strategic-merge-patch+json", "application/json-patch+json"])("answers 404 for a %s of a missing object", async (contentType) => {
    const patch = contentType === "application/json-patch+json" ? [] : { data: { a: "1" } };
    const err = await rejection(configmaps.patch("default", "cfg", contentType, patch));
    expect(err.code).toBe(404);
  });

  it("answers 409 for a patch that carries a stale resourceVersion", async () => {
    await configmaps.create("default", newConfigMap("cfg"));
    const err = await rejection(configmaps.patch("default", "cfg", "application/merge-patch+json", { metadata: { resourceVersion: "1" }, data: { a: "1" } }));
    expect(err.code).toBe(409);
  });

  it("answers 400 for a patch that renames the object", async () => {
    await configmaps.create("default", newConfigMap("cfg"));
    const err = await rejection(configmaps.patch("default", "cfg", "application/merge-patch+json", { metadata: { name: "other" } }));
    expect(err.code).toBe(400);
  });

  it("patches only status through the status subresource", async () => {
    await twoContainerPod();
    const { object } = await pods.patch("default", "web", "application/merge-patch+json", { status: { phase: "Running" }, spec: { nodeName: "n1" } }, { subresource: "status" });
    expect(asPod(object).status?.phase).toBe("Running");
    expect(asPod(object).spec?.nodeName).toBeUndefined();
  });

  it("takes a status write's labels and annotations, as Kubernetes' status strategies do (a Deployment keeps its labels)", async () => {
    await twoContainerPod();
    const { object } = await pods.patch("default", "web", "application/merge-patch+json", { metadata: { annotations: { patchedstatus: "true" }, labels: { l: "1" } }, status: { phase: "Running" } }, { subresource: "status" });
    expect(object.metadata?.annotations).toEqual({ patchedstatus: "true" });
    expect(object.metadata?.labels).toMatchObject({ l: "1" });
    await deployments.create("default", newDeployment("web"));
    const patched = await deployments.patch("default", "web", "application/merge-patch+json", { metadata: { annotations: { a: "b" }, labels: { added: "x" } }, status: { replicas: 0 } }, { subresource: "status" });
    expect(patched.object.metadata?.annotations).toEqual({ a: "b" });
    expect(patched.object.metadata?.labels?.added).toBeUndefined();
  });
});

describe("delete", () => {
  it("removes an unbound pod at once and answers with the pod", async () => {
    await pods.create("default", newPod("web"));
    const result = await pods.delete("default", "web");
    expect(result).toMatchObject({ kind: "Pod", apiVersion: "v1", metadata: { name: "web" } });
    expect(result.metadata).not.toHaveProperty("deletionTimestamp");
    expect(await rejection(pods.get("default", "web"))).toMatchObject({ code: 404 });
  });

  it("answers a Status without a code for a kind that does not return the deleted object", async () => {
    const created = await configmaps.create("default", newConfigMap("cfg"));
    expect(await configmaps.delete("default", "cfg")).toStrictEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: { name: "cfg", kind: "configmaps", uid: created.metadata.uid },
    });
  });

  it.each([
    ["no grace period", {}, undefined, 30],
    ["gracePeriodSeconds 10", { gracePeriodSeconds: 10 }, undefined, 10],
    ["the pod's terminationGracePeriodSeconds", {}, 45, 45],
  ])("marks a pod bound to a node as terminating with %s", async (_what, options, termination, grace) => {
    const body = newPod("web", { nodeName: "n1" });
    if (termination !== undefined) body.spec!.terminationGracePeriodSeconds = termination;
    await pods.create("default", body);
    const before = Date.now();
    const result = asPod(await pods.delete("default", "web", options));
    expect(result.metadata.deletionGracePeriodSeconds).toBe(grace);
    const deadline = Date.parse(result.metadata.deletionTimestamp!);
    expect(deadline).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + grace * 1000);
    expect(deadline).toBeLessThanOrEqual(Date.now() + grace * 1000);
    expect((await pods.get("default", "web")).metadata.deletionTimestamp).toBe(result.metadata.deletionTimestamp);
  });

  it("removes a bound pod at once with gracePeriodSeconds 0", async () => {
    await pods.create("default", newPod("web", { nodeName: "n1" }));
    await pods.delete("default", "web", { gracePeriodSeconds: 0 });
    expect(await rejection(pods.get("default", "web"))).toMatchObject({ code: 404 });
  });

  it("removes a terminating pod when its kubelet deletes it with gracePeriodSeconds 0", async () => {
    await pods.create("default", newPod("web", { nodeName: "n1" }));
    expect((await pods.deleteWithOutcome("default", "web")).removed).toBe(false);
    expect((await pods.deleteWithOutcome("default", "web", { gracePeriodSeconds: 0 })).removed).toBe(true);
    expect(await rejection(pods.get("default", "web"))).toMatchObject({ code: 404 });
  });

  it("shortens the grace period of a terminating pod when a shorter one is requested", async () => {
    await pods.create("default", newPod("web", { nodeName: "n1" }));
    const first = objectOf(await pods.delete("default", "web"));
    const second = objectOf(await pods.delete("default", "web", { gracePeriodSeconds: 5 }));
    expect(second.metadata.deletionGracePeriodSeconds).toBe(5);
    expect(Date.parse(second.metadata.deletionTimestamp!)).toBe(Date.parse(first.metadata.deletionTimestamp!) - 25_000);
  });

  it("keeps an object with finalizers until an update removes the last one", async () => {
    await configmaps.create("default", newConfigMap("cfg", { meta: { finalizers: ["example.com/a", "example.com/b"] } }));
    const pending = objectOf(await configmaps.delete("default", "cfg"));
    expect(pending.metadata.deletionTimestamp).toEqual(expect.any(String));
    const stored = await configmaps.get("default", "cfg");
    expect(stored.metadata.deletionTimestamp).toBe(pending.metadata.deletionTimestamp);

    await configmaps.update("default", "cfg", { ...stored, metadata: { ...stored.metadata, finalizers: ["example.com/b"] } });
    const remaining = await configmaps.get("default", "cfg");
    expect(remaining.metadata.finalizers).toEqual(["example.com/b"]);

    await configmaps.patch("default", "cfg", "application/merge-patch+json", { metadata: { finalizers: null } });
    expect(await rejection(configmaps.get("default", "cfg"))).toMatchObject({ code: 404 });
  });

  it("removes a bound pod whose grace period was cut to 0 once its last finalizer goes", async () => {
    await pods.create("default", newPod("web", { nodeName: "n1", meta: { finalizers: ["example.com/hold"] } }));
    await pods.delete("default", "web");
    const forced = objectOf(await pods.delete("default", "web", { gracePeriodSeconds: 0 }));
    expect(forced.metadata.deletionGracePeriodSeconds).toBe(0);
    await pods.patch("default", "web", "application/merge-patch+json", { metadata: { finalizers: null } });
    expect(await rejection(pods.get("default", "web"))).toMatchObject({ code: 404 });
  });

  it("refuses new finalizers on an object being deleted", async () => {
    await configmaps.create("default", newConfigMap("cfg", { meta: { finalizers: ["example.com/a"] } }));
    await configmaps.delete("default", "cfg");
    const err = await rejection(configmaps.patch("default", "cfg", "application/merge-patch+json", { metadata: { finalizers: ["example.com/a", "example.com/new"] } }));
    expect(err.code).toBe(422);
  });

  it.each([
    ["Foreground", "foregroundDeletion"],
    ["Orphan", "orphan"],
  ] as const)("adds the %s propagation finalizer and keeps the object", async (propagationPolicy, finalizer) => {
    await deployments.create("default", newDeployment("web"));
    const result = objectOf(await deployments.delete("default", "web", { propagationPolicy }));
    expect(result.metadata.finalizers).toEqual([finalizer]);
    expect(result.metadata.deletionTimestamp).toEqual(expect.any(String));
    expect(result.metadata.generation).toBe(2);
    expect((await deployments.get("default", "web")).metadata.finalizers).toEqual([finalizer]);
  });

  it("removes the object at once with the Background propagation policy", async () => {
    await deployments.create("default", newDeployment("web"));
    await deployments.delete("default", "web", { propagationPolicy: "Background" });
    expect(await rejection(deployments.get("default", "web"))).toMatchObject({ code: 404 });
  });

  it("moves a namespace to phase Terminating and keeps it", async () => {
    await namespaces.create(undefined, newNamespace("team"));
    const result = objectOf(await namespaces.delete(undefined, "team"));
    expect(result).toMatchObject({ kind: "Namespace", status: { phase: "Terminating" } });
    expect(result.metadata.deletionTimestamp).toEqual(expect.any(String));
    expect(await namespaces.get(undefined, "team")).toMatchObject({ status: { phase: "Terminating" } });
  });

  it("moves a namespace with the kubernetes finalizer to phase Terminating", async () => {
    await namespaces.create(undefined, { ...newNamespace("team"), spec: { finalizers: ["kubernetes"] } });
    await namespaces.delete(undefined, "team");
    expect(await namespaces.get(undefined, "team")).toMatchObject({ status: { phase: "Terminating" }, spec: { finalizers: ["kubernetes"] } });
  });

  it("removes a terminating namespace once its last spec finalizer is gone, as /finalize does", async () => {
    await namespaces.create(undefined, newNamespace("team"));
    await namespaces.delete(undefined, "team");
    const terminating = await namespaces.get(undefined, "team");
    // A plain update keeps spec.finalizers; only the finalize subresource changes them.
    await namespaces.update(undefined, "team", { ...terminating, spec: { finalizers: [] } });
    expect((await namespaces.get(undefined, "team")).spec).toEqual({ finalizers: ["kubernetes"] });
    await namespaces.update(undefined, "team", { ...terminating, spec: { finalizers: [] } }, { subresource: "finalize" });
    await expect(namespaces.get(undefined, "team")).rejects.toMatchObject({ code: 404 });
  });

  it("deletes only the objects a label selector matches in deleteCollection", async () => {
    await configmaps.create("default", newConfigMap("a", { labels: { app: "web" } }));
    await configmaps.create("default", newConfigMap("b", { labels: { app: "web" } }));
    await configmaps.create("default", newConfigMap("c", { labels: { app: "db" } }));
    const deleted = await configmaps.deleteCollection("default", { labelSelector: "app=web" }, {});
    expect(deleted.items.map((o) => o.metadata.name)).toEqual(["a", "b"]);
    expect(deleted.resourceVersion).toMatch(/^\d+$/);
    const { items } = await configmaps.list("default", {});
    expect(items.map((o) => o.metadata.name)).toEqual(["c"]);
  });

  it.each([
    ["an unbound pod", undefined],
    ["a bound pod", "n1"],
  ])("changes nothing on a dryRun delete of %s", async (_what, nodeName) => {
    const created = await pods.create("default", newPod("web", nodeName ? { nodeName } : {}));
    await pods.delete("default", "web", { dryRun: true });
    expect(await pods.get("default", "web")).toEqual(created);
  });

  it.each([
    ["uid", { uid: "not-the-uid" }, 'Operation cannot be fulfilled on ConfigMap "cfg": the UID in the precondition (not-the-uid) does not match the UID in record'],
    ["resourceVersion", { resourceVersion: "1" }, 'Operation cannot be fulfilled on ConfigMap "cfg": the ResourceVersion in the precondition (1) does not match the ResourceVersion in record'],
  ])("answers 409 when the %s precondition does not hold", async (_what, preconditions, message) => {
    await configmaps.create("default", newConfigMap("cfg"));
    const err = await rejection(configmaps.delete("default", "cfg", { preconditions }));
    expect(err.code).toBe(409);
    expect(err.message).toContain(message);
    expect(err.details).toMatchObject({ kind: "ConfigMap", name: "cfg" });
    expect(await configmaps.get("default", "cfg")).toBeDefined();
  });

  it.each([
    ["only a uid precondition: deleted after the retry", "uid", undefined],
    ["a resourceVersion precondition: 409, the precondition checked again", "resourceVersion", "the ResourceVersion in the precondition"],
  ])("retries a delete whose write lost a race, with %s", async (_what, precondition, failure) => {
    const created = await configmaps.create("default", newConfigMap("cfg"));
    // Another writer changes the object between the delete's read and its write.
    const get = m.storage.get.bind(m.storage);
    let raced = false;
    m.storage.get = async (key: string) => {
      const current = await get(key);
      if (!raced && current !== undefined) {
        raced = true;
        await m.storage.update(key, { ...current, data: { changed: "yes" } }, Number(current.metadata.resourceVersion));
      }
      return current;
    };
    const preconditions = precondition === "uid" ? { uid: created.metadata.uid! } : { resourceVersion: created.metadata.resourceVersion! };
    const outcome = configmaps.delete("default", "cfg", { preconditions });
    if (failure === undefined) {
      await outcome;
      expect(await rejection(configmaps.get("default", "cfg"))).toMatchObject({ code: 404 });
    } else {
      const err = await rejection(outcome);
      expect(err.code).toBe(409);
      expect(err.message).toContain(failure);
    }
    expect(raced).toBe(true);
  });

  it("deletes when the uid precondition holds", async () => {
    const created = await configmaps.create("default", newConfigMap("cfg"));
    await configmaps.delete("default", "cfg", { preconditions: { uid: created.metadata.uid! } });
    expect(await rejection(configmaps.get("default", "cfg"))).toMatchObject({ code: 404 });
  });

  it("answers 404 for a delete of a missing object", async () => {
    const err = await rejection(pods.delete("default", "ghost"));
    expect(err.code).toBe(404);
    expect(err.message).toBe('pods "ghost" not found');
  });
});

describe("list", () => {
  beforeEach(async () => {
    await pods.create("default", newPod("a", { labels: { app: "web" }, nodeName: "n1" }));
    await pods.create("default", newPod("b", { labels: { app: "web" } }));
    await pods.create("default", newPod("c", { labels: { app: "db" }, nodeName: "n1" }));
    const c = await pods.get("default", "c");
    await pods.update("default", "c", { ...c, status: { phase: "Running" } }, { subresource: "status" });
  });

  it.each([
    ["app=web", ["a", "b"]],
    ["app!=web", ["c"]],
    ["app in (db,cache)", ["c"]],
    ["!app", []],
  ])("filters by the label selector %j", async (labelSelector, names) => {
    const { items } = await pods.list("default", { labelSelector });
    expect(items.map((p) => p.metadata.name)).toEqual(names);
  });

  it.each([
    ["spec.nodeName=", ["b"]],
    ["spec.nodeName=n1", ["a", "c"]],
    ["status.phase!=Running", ["a", "b"]],
    ["metadata.name=b", ["b"]],
    ["spec.nodeName=n1,status.phase=Running", ["c"]],
  ])("filters by the field selector %j", async (fieldSelector, names) => {
    const { items } = await pods.list("default", { fieldSelector });
    expect(items.map((p) => p.metadata.name)).toEqual(names);
  });

  it("answers 400 for a field selector on an unsupported field", async () => {
    const err = await rejection(pods.list("default", { fieldSelector: "spec.foo=bar" }));
    expect(err.code).toBe(400);
    expect(err.message).toBe("field label not supported: spec.foo");
  });

  it("lists across namespaces when no namespace is given and within one otherwise", async () => {
    await namespaces.create(undefined, newNamespace("other"));
    await pods.create("other", newPod("d", { namespace: "other" }));
    expect((await pods.list("other", {})).items.map((p) => p.metadata.name)).toEqual(["d"]);
    expect((await pods.list(undefined, {})).items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`)).toEqual(["default/a", "default/b", "default/c", "other/d"]);
  });

  it("answers with the current resourceVersion and kind-stamped items", async () => {
    const { items, resourceVersion } = await pods.list("default", {});
    expect(resourceVersion).toBe(String(await m.storage.currentRevision()));
    expect(items.every((p) => p.kind === "Pod" && p.apiVersion === "v1")).toBe(true);
  });

  it("pages with limit and continue", async () => {
    const first = await pods.list("default", { limit: 2 });
    expect(first.items.map((p) => p.metadata.name)).toEqual(["a", "b"]);
    expect(first.continue).toEqual(expect.any(String));
    expect(first.remainingItemCount).toBe(1);
    const second = await pods.list("default", { limit: 2, continue: first.continue! });
    expect(second.items.map((p) => p.metadata.name)).toEqual(["c"]);
    expect(second.continue).toBeUndefined();
    expect(second.resourceVersion).toBe(first.resourceVersion);
  });
});

describe("watch", () => {
  function record(store: ResourceStore, namespace: string | undefined, params: Parameters<ResourceStore["watch"]>[1]): { events: [CacheEvent["type"], KubeObject][]; stop(): void } {
    const events: [CacheEvent["type"], KubeObject][] = [];
    const watcher = store.watch(namespace, params, (type, object) => { events.push([type, object]); }, () => undefined);
    return {
      events,
      stop: () => {
        watcher.stop();
      },
    };
  }

  it("delivers ADDED, MODIFIED and DELETED with kind and apiVersion set", async () => {
    const w = record(deployments, "default", { resourceVersion: String(await m.storage.currentRevision()) });
    const created = await deployments.create("default", newDeployment("web"));
    await deployments.patch("default", "web", "application/merge-patch+json", { spec: { replicas: 2 } });
    await deployments.delete("default", "web");
    expect(w.events.map(([type, o]) => [type, o.kind, o.apiVersion, o.metadata.name])).toEqual([
      ["ADDED", "Deployment", "apps/v1", "web"],
      ["MODIFIED", "Deployment", "apps/v1", "web"],
      ["DELETED", "Deployment", "apps/v1", "web"],
    ]);
    expect(w.events[0]![1].metadata.uid).toBe(created.metadata.uid);
    w.stop();
  });

  it("starts with synthetic ADDED events for existing objects when no resourceVersion is given", async () => {
    await configmaps.create("default", newConfigMap("a"));
    await configmaps.create("default", newConfigMap("b"));
    const w = record(configmaps, "default", {});
    expect(w.events.map(([type, o]) => [type, o.metadata.name])).toEqual([
      ["ADDED", "a"],
      ["ADDED", "b"],
    ]);
  });

  it("replays only the changes after the given resourceVersion", async () => {
    await configmaps.create("default", newConfigMap("a"));
    const { resourceVersion } = await configmaps.list("default", {});
    await configmaps.create("default", newConfigMap("b"));
    const w = record(configmaps, "default", { resourceVersion });
    expect(w.events.map(([type, o]) => [type, o.metadata.name])).toEqual([["ADDED", "b"]]);
  });

  it("turns objects leaving or entering a label selector into DELETED and ADDED", async () => {
    await configmaps.create("default", newConfigMap("a", { labels: { app: "web" } }));
    const w = record(configmaps, "default", { labelSelector: "app=web" });
    await configmaps.patch("default", "a", "application/merge-patch+json", { metadata: { labels: { app: "db" } } });
    await configmaps.patch("default", "a", "application/merge-patch+json", { metadata: { labels: { app: "web" } } });
    expect(w.events.map(([type]) => type)).toEqual(["ADDED", "DELETED", "ADDED"]);
  });

  it("delivers only the requested namespace's objects", async () => {
    await namespaces.create(undefined, newNamespace("other"));
    const w = record(configmaps, "other", {});
    await configmaps.create("default", newConfigMap("a"));
    await configmaps.create("other", newConfigMap("b", { namespace: "other" }));
    expect(w.events.map(([, o]) => o.metadata.name)).toEqual(["b"]);
  });
});
