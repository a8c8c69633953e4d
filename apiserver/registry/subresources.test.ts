import { beforeEach, describe, expect, it } from "vitest";
import { StatusError } from "../../api/errors.js";
import type { KubeObject } from "../../api/meta.js";
import { newDeployment, newPod } from "../../api/testing/builders.js";
import type { Deployment, Pod, ReplicationController } from "../../api/types/index.js";
import { memoryRegistry, type MemoryRegistry } from "./testing/memory-storage.js";
import type { ResourceStore } from "./store.js";
import { bindPod, evictPod, getScale, scaleOf, updateScale } from "./subresources.js";

async function rejection(promise: Promise<unknown>): Promise<StatusError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof StatusError) return err;
    throw err;
  }
  throw new Error("expected a StatusError");
}

function binding(name: string, node: string): unknown {
  return { apiVersion: "v1", kind: "Binding", metadata: { name }, target: { apiVersion: "v1", kind: "Node", name: node } };
}

let m: MemoryRegistry;
let pods: ResourceStore;
let deployments: ResourceStore;

beforeEach(async () => {
  m = await memoryRegistry();
  pods = m.registry.core("pods");
  deployments = m.registry.store("apps", "v1", "deployments")!;
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
    const watcher = pods.watch(undefined, { fieldSelector: "spec.nodeName=n1" }, (type, object) => events.push([type, object.metadata.name]), () => undefined);
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
    expect(err.message).toBe('Operation cannot be fulfilled on pods "web": pod web is already assigned to node "n1"');
    expect(((await pods.get("default", "web")) as Pod).spec?.nodeName).toBe("n1");
  });

  it("answers 409 for a binding of a pod being deleted", async () => {
    await pods.create("default", newPod("web", { meta: { finalizers: ["example.com/hold"] } }));
    await pods.delete("default", "web");
    const err = await rejection(bindPod(pods, "default", "web", binding("web", "n1")));
    expect(err.code).toBe(409);
  });

  it.each([
    ["no target", { metadata: { name: "web" } }, 422],
    ["an empty target name", binding("web", ""), 422],
    ["another pod's name", binding("other", "n1"), 400],
  ])("refuses a binding with %s", async (_what, body, code) => {
    await pods.create("default", newPod("web"));
    const err = await rejection(bindPod(pods, "default", "web", body));
    expect(err.code).toBe(code);
    expect(((await pods.get("default", "web")) as Pod).spec?.nodeName).toBeUndefined();
  });

  it("answers 404 for a binding of a missing pod", async () => {
    const err = await rejection(bindPod(pods, "default", "ghost", binding("ghost", "n1")));
    expect(err.code).toBe(404);
    expect(err.message).toBe('pods "ghost" not found');
  });
});

describe("evictPod", () => {
  it("deletes the pod gracefully with the eviction's delete options", async () => {
    await pods.create("default", newPod("web", { nodeName: "n1" }));
    const status = await evictPod(pods, "default", "web", { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: "web" }, deleteOptions: { gracePeriodSeconds: 7 } });
    expect(status).toMatchObject({ status: "Success", code: 201 });
    expect((await pods.get("default", "web")).metadata.deletionGracePeriodSeconds).toBe(7);
  });
});

describe("scale", () => {
  beforeEach(async () => {
    const created = await deployments.create("default", newDeployment("web", { replicas: 2 }));
    await deployments.update("default", "web", { ...created, status: { replicas: 2, readyReplicas: 2 } }, { subresource: "status" });
  });

  it("reads a Scale with spec and status replicas and the selector as a string", async () => {
    const scale = await getScale(deployments, "default", "web");
    const stored = await deployments.get("default", "web");
    expect(scale).toEqual({
      apiVersion: "autoscaling/v1",
      kind: "Scale",
      metadata: { name: "web", namespace: "default", uid: stored.metadata.uid, resourceVersion: stored.metadata.resourceVersion, creationTimestamp: stored.metadata.creationTimestamp },
      spec: { replicas: 2 },
      status: { replicas: 2, selector: "app=web" },
    });
  });

  it("renders a matchExpressions selector in label-selector syntax", () => {
    const d = newDeployment("web");
    d.spec!.selector = { matchLabels: { app: "web" }, matchExpressions: [{ key: "tier", operator: "In", values: ["a", "b"] }] };
    expect(scaleOf(d).status.selector).toBe("app=web,tier in (a,b)");
  });

  it("renders a ReplicationController's plain selector map", async () => {
    const rcs = m.registry.core("replicationcontrollers");
    const rc: ReplicationController = {
      apiVersion: "v1",
      kind: "ReplicationController",
      metadata: { name: "web", namespace: "default" },
      spec: { replicas: 1, selector: { app: "web" }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "app", image: "nginx" }] } } },
    };
    await rcs.create("default", rc);
    expect((await getScale(rcs, "default", "web")).status.selector).toBe("app=web");
  });

  it("writes spec.replicas from a Scale update and bumps the generation", async () => {
    const scale = await updateScale(deployments, "default", "web", { body: { apiVersion: "autoscaling/v1", kind: "Scale", metadata: { name: "web" }, spec: { replicas: 5 } } }, false);
    expect(scale.spec.replicas).toBe(5);
    const stored = (await deployments.get("default", "web")) as Deployment;
    expect(stored.spec?.replicas).toBe(5);
    expect(stored.metadata.generation).toBe(2);
    expect(stored.status).toEqual({ replicas: 2, readyReplicas: 2 });
    expect(scale.metadata.resourceVersion).toBe(stored.metadata.resourceVersion);
  });

  it.each([
    ["merge", "application/merge-patch+json", { spec: { replicas: 4 } }],
    ["strategic", "application/strategic-merge-patch+json", { spec: { replicas: 4 } }],
    ["json", "application/json-patch+json", [{ op: "replace", path: "/spec/replicas", value: 4 }]],
  ])("writes spec.replicas from a %s patch of the Scale", async (_what, contentType, patch) => {
    const scale = await updateScale(deployments, "default", "web", { patch, contentType }, false);
    expect(scale.spec.replicas).toBe(4);
    expect(((await deployments.get("default", "web")) as Deployment).spec?.replicas).toBe(4);
  });

  it("answers 409 for a Scale update with a stale resourceVersion", async () => {
    const err = await rejection(updateScale(deployments, "default", "web", { body: { metadata: { name: "web", resourceVersion: "1" }, spec: { replicas: 5 } } }, false));
    expect(err.code).toBe(409);
    expect(((await deployments.get("default", "web")) as Deployment).spec?.replicas).toBe(2);
  });

  it.each([
    ["an update", { body: { metadata: { name: "web" }, spec: { replicas: -1 } } }],
    ["a patch", { patch: { spec: { replicas: -1 } }, contentType: "application/merge-patch+json" }],
  ])("answers 422 for negative replicas in %s", async (_what, change) => {
    const err = await rejection(updateScale(deployments, "default", "web", change, false));
    expect(err.code).toBe(422);
    expect(err.details?.causes).toEqual([expect.objectContaining({ field: "spec.replicas", reason: "FieldValueInvalid" })]);
    expect(((await deployments.get("default", "web")) as Deployment).spec?.replicas).toBe(2);
  });

  it("changes nothing on a dryRun Scale update but answers with the new replicas", async () => {
    const before: KubeObject = await deployments.get("default", "web");
    const scale = await updateScale(deployments, "default", "web", { body: { spec: { replicas: 9 } } }, true);
    expect(scale.spec.replicas).toBe(9);
    expect(await deployments.get("default", "web")).toEqual(before);
  });

  it("answers 404 for the Scale of a missing deployment", async () => {
    const err = await rejection(getScale(deployments, "default", "ghost"));
    expect(err.message).toBe('deployments.apps "ghost" not found');
  });
});
