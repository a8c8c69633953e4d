import { beforeEach, describe, expect, it } from "vitest";
import { newPod } from "../../../api/testing/builders.js";
import type { Pod } from "../../../api/types/index.js";
import { memoryRegistry, type MemoryRegistry } from "../testing/memory-storage.js";
import { rejection } from "../testing/rejection.js";
import type { ResourceStore } from "../store.js";
import { bindPod } from "./pods.js";

function binding(name: string, node: string): unknown {
  return { apiVersion: "v1", kind: "Binding", metadata: { name }, target: { apiVersion: "v1", kind: "Node", name: node } };
}

let m: MemoryRegistry;
let pods: ResourceStore;

beforeEach(async () => {
  m = await memoryRegistry();
  pods = m.registry.core("pods");
});

describe("bindPod", () => {
  it("sets spec.nodeName and a PodScheduled=True condition", async () => {
    await pods.create("default", newPod("web"));
    const status = await bindPod(pods, "default", "web", binding("web", "n1"));
    expect(status).toMatchObject({ kind: "Status", status: "Success", code: 201 });
    const pod = (await pods.get("default", "web")) as Pod;
    expect(pod.spec?.nodeName).toBe("n1");
    expect(pod.status?.phase).toBe("Pending");
    expect(pod.status?.conditions).toEqual([{ type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: expect.any(String) as string }]);
  });

  it("shows the pod to a watch on spec.nodeName=n1 as ADDED once it is bound", async () => {
    await pods.create("default", newPod("web"));
    const events: [string, string | undefined][] = [];
    const watcher = pods.watch(undefined, { fieldSelector: "spec.nodeName=n1" }, (type, object) => { events.push([type, object.metadata.name]); }, () => undefined);
    await bindPod(pods, "default", "web", binding("web", "n1"));
    watcher.stop();
    expect(events).toEqual([["ADDED", "web"]]);
  });

  it("answers 409 for a second binding and keeps the first node", async () => {
    await pods.create("default", newPod("web"));
    await bindPod(pods, "default", "web", binding("web", "n1"));
    const err = await rejection(bindPod(pods, "default", "web", binding("web", "n2")));
    expect(err.code).toBe(409);
    expect(err.reason).toBe("Conflict");
    expect(err.message).toBe('Operation cannot be fulfilled on pods/binding "web": pod web is already assigned to node "n1"');
    expect(err.details).toEqual({ name: "web", kind: "pods/binding" });
    expect(((await pods.get("default", "web")) as Pod).spec?.nodeName).toBe("n1");
  });

  it("answers 409 for a binding of a pod being deleted", async () => {
    await pods.create("default", newPod("web", { meta: { finalizers: ["example.com/hold"] } }));
    await pods.delete("default", "web");
    const err = await rejection(bindPod(pods, "default", "web", binding("web", "n1")));
    expect(err.code).toBe(409);
    expect(err.message).toBe('Operation cannot be fulfilled on pods/binding "web": pod web is being deleted, cannot be assigned to a host');
    expect(err.details).toEqual({ name: "web", kind: "pods/binding" });
  });

  it.each([
    ["no target", { metadata: { name: "web" } }, 422],
    ["an empty target name", binding("web", ""), 422],
    ["another pod's name", binding("other", "n1"), 400],
    ["a target that is not a Node", { metadata: { name: "web" }, target: { kind: "Pod", name: "n1" } }, 422],
    ["an annotation that is not a string", { metadata: { name: "web", annotations: { a: 1 } }, target: { name: "n1" } }, 400],
  ])("refuses a binding with %s", async (_what, body, code) => {
    await pods.create("default", newPod("web"));
    const err = await rejection(bindPod(pods, "default", "web", body));
    expect(err.code).toBe(code);
    expect(((await pods.get("default", "web")) as Pod).spec?.nodeName).toBeUndefined();
  });

  it("merges the binding's annotations into the pod's, a target without kind meaning a Node", async () => {
    const pod = newPod("web");
    pod.metadata.annotations = { keep: "1", replace: "old" };
    await pods.create("default", pod);
    await bindPod(pods, "default", "web", { metadata: { name: "web", annotations: { replace: "new", added: "2" } }, target: { name: "n1" } });
    const bound = (await pods.get("default", "web")) as Pod;
    expect(bound.spec?.nodeName).toBe("n1");
    expect(bound.metadata.annotations).toEqual({ keep: "1", replace: "new", added: "2" });
  });

  it("answers 404 for a binding of a missing pod", async () => {
    const err = await rejection(bindPod(pods, "default", "ghost", binding("ghost", "n1")));
    expect(err.code).toBe(404);
    expect(err.message).toBe('pods "ghost" not found');
  });
});
