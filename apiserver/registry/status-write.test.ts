// The shortcuts of the write paths the kubelet and the scheduler drive, and where they step aside: a pod status
// write validates what it can change (Kubernetes' ValidatePodStatusUpdate), not the stored spec again unless the
// spec it stores differs from the stored one; its copy of the stored object leaves out what it replaces; a binding
// builds the bound pod without changing the stored one.
import { beforeEach, describe, expect, it } from "vitest";
import type { KubeObject } from "../../api/meta.js";
import { newPod } from "../../api/testing/builders.js";
import type { Pod } from "../../api/types/index.js";
import { bindPod } from "./pods/pods.js";
import { copyForStatusWrite, type ResourceStore } from "./store.js";
import { memoryRegistry, type MemoryRegistry } from "./testing/memory-storage.js";
import { rejection } from "./testing/rejection.js";

let m: MemoryRegistry;
let pods: ResourceStore;

beforeEach(async () => {
  m = await memoryRegistry();
  pods = m.registry.core("pods");
});

/** Stores `change(pod)` straight into storage, past validation, as an older or foreign writer could have left it. */
async function storeRaw(name: string, change: (pod: Pod) => void): Promise<Pod> {
  const pod: Pod = structuredClone(await pods.get("default", name));
  change(pod);
  const stored: Pod = await m.storage.update(pods.keyFor("default", name), pod, Number(pod.metadata.resourceVersion));
  return stored;
}

function withStatus(pod: Pod, phase: string): Pod {
  return { ...structuredClone(pod), status: { phase } } as Pod;
}

describe("a pod status write's validation", () => {
  it("does not validate the stored spec again, as Kubernetes' ValidatePodStatusUpdate does not", async () => {
    await pods.create("default", newPod("web"));
    const stored = await storeRaw("web", (pod) => {
      pod.spec!.containers[0]!.name = "Not_A_DNS_Label";
    });
    const { object } = await pods.update("default", "web", withStatus(stored, "Running"), { subresource: "status", fieldManager: "kubelet" });
    expect((object as Pod).status?.phase).toBe("Running");
    // The main resource validates the whole pod, as before.
    const current = object as Pod;
    expect(await rejection(pods.update("default", "web", { ...current, metadata: { ...current.metadata, labels: { a: "b" } } }))).toMatchObject({ code: 422 });
  });

  it("validates the whole pod when the spec it stores differs from the stored one (defaults filled in)", async () => {
    await pods.create("default", newPod("web"));
    const stored = await storeRaw("web", (pod) => {
      pod.spec!.containers[0]!.name = "Not_A_DNS_Label";
      delete pod.spec!.dnsPolicy; // defaulting puts it back: the stored spec changes
    });
    const err = await rejection(pods.update("default", "web", withStatus(stored, "Running"), { subresource: "status" }));
    expect(err).toMatchObject({ code: 422, reason: "Invalid" });
    expect(err.details?.causes?.map((c) => c.field)).toContain("spec.containers[0].name");
  });

  it("refuses bad labels and annotations, and changes of immutable metadata, as before", async () => {
    const created = (await pods.create("default", newPod("web"))) as Pod;
    const badLabel = withStatus(created, "Running");
    badLabel.metadata.labels = { "bad key!": "x" };
    const err = await rejection(pods.update("default", "web", badLabel, { subresource: "status" }));
    expect(err).toMatchObject({ code: 422 });
    expect(err.details?.causes?.[0]?.field).toBe("metadata.labels");
    const badAnnotation = withStatus(created, "Running");
    badAnnotation.metadata.annotations = { "/x": "y" };
    expect(await rejection(pods.update("default", "web", badAnnotation, { subresource: "status" }))).toMatchObject({ code: 422 });
  });
});

describe("copyForStatusWrite", () => {
  const stored: KubeObject = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web", labels: { a: "1" }, managedFields: [{ manager: "m", operation: "Update", apiVersion: "v1", fieldsType: "FieldsV1", fieldsV1: { "f:spec": {} } }], resourceVersion: "3" },
    spec: { containers: [{ name: "c", image: "nginx" }] },
    status: { phase: "Pending" },
    extra: { x: [1, 2] },
  };

  it("is a deep copy of the stored object but for its status (left for the write to set) and shared managedFields", () => {
    const copy = copyForStatusWrite(stored);
    expect(Object.keys(copy)).toEqual(Object.keys(stored));
    expect(Object.keys(copy.metadata)).toEqual(Object.keys(stored.metadata));
    expect(copy.status).toBeUndefined();
    expect({ ...copy, status: stored.status }).toEqual(stored);
    expect(copy.metadata.managedFields).toBe(stored.metadata.managedFields);
    expect(copy.spec).not.toBe(stored.spec);
    expect(copy.metadata.labels).not.toBe(stored.metadata.labels);
    expect(copy.extra).not.toBe(stored.extra);
  });

  it("adds no status or managedFields the stored object does not have", () => {
    const bare: KubeObject = { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: {} };
    const copy = copyForStatusWrite(bare);
    expect(Object.keys(copy)).toEqual(["apiVersion", "kind", "metadata", "spec"]);
    expect(Object.keys(copy.metadata)).toEqual(["name"]);
  });
});

describe("pods/binding", () => {
  it("leaves the stored pod the watch cache holds unchanged, and writes what changing a deep copy would", async () => {
    await pods.create("default", newPod("web", { annotations: { keep: "1" } }));
    const cached = pods.cache.get(pods.keyFor("default", "web"));
    expect(cached).toBeDefined();
    const before = JSON.stringify(cached);
    // The pod as the former implementation built it: a deep copy changed in place.
    const expected = structuredClone(cached!) as Pod;
    expected.spec!.nodeName = "n1";
    expected.metadata.annotations = { ...expected.metadata.annotations, extra: "2" };
    expected.status = { ...expected.status, conditions: [...(expected.status?.conditions ?? []).filter((c) => c.type !== "PodScheduled"), { type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: "" }] };

    await bindPod(pods, "default", "web", { metadata: { name: "web", annotations: { extra: "2" } }, target: { kind: "Node", name: "n1" } });
    expect(JSON.stringify(cached)).toBe(before);
    const bound = structuredClone((await pods.get("default", "web")) as Pod);
    const scheduled = bound.status?.conditions?.find((c) => c.type === "PodScheduled");
    expect(scheduled?.lastTransitionTime).toMatch(/^\d{4}-/);
    scheduled!.lastTransitionTime = "";
    delete bound.metadata.resourceVersion;
    delete expected.metadata.resourceVersion;
    expect(JSON.stringify(bound)).toBe(JSON.stringify(expected));
  });
});
