import { describe, expect, it } from "vitest";
import type { KubeObject, OwnerReference } from "../../../api/meta.js";
import { newDeployment, newPod, newReplicaSet } from "../../../api/testing/builders.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import { drainQueue, FakeCluster, resourceOf } from "../endpoints/testing/fake-cluster.js";
import { createGarbageCollectorController, createGarbagecollectorController, GarbageCollector, MONITORED_RESOURCES } from "./garbagecollector-controller.js";

const DEPLOYMENTS = resourceOf("apps", "deployments");
const REPLICASETS = resourceOf("apps", "replicasets");
const PODS = resourceOf("", "pods");

function ownerRef(owner: KubeObject, block = true): OwnerReference {
  return { apiVersion: owner.apiVersion ?? "", kind: owner.kind ?? "", name: owner.metadata.name ?? "", uid: owner.metadata.uid ?? "", controller: true, blockOwnerDeletion: block };
}

/** A Deployment → ReplicaSet → 2 pods chain, as the deployment and replicaset controllers build it. */
function setup(): { cluster: FakeCluster; gc: GarbageCollector; drain: () => Promise<string[]> } {
  const cluster = new FakeCluster(new FakeClock());
  const [deploy] = cluster.seed(newDeployment("web"));
  const [rs] = cluster.seed({ ...newReplicaSet("web-abc"), metadata: { ...newReplicaSet("web-abc").metadata, ownerReferences: [ownerRef(deploy!)] } });
  cluster.seed(
    { ...newPod("web-abc-1"), metadata: { ...newPod("web-abc-1").metadata, ownerReferences: [ownerRef(rs!)] } },
    { ...newPod("web-abc-2"), metadata: { ...newPod("web-abc-2").metadata, ownerReferences: [ownerRef(rs!)] } },
  );
  const gc = new GarbageCollector({ client: cluster.client, informers: MONITORED_RESOURCES.map((info) => cluster.informer(info)) });
  const drain = (): Promise<string[]> => drainQueue(gc.queue, (key) => gc.sync(key));
  return { cluster, gc, drain };
}

const names = (cluster: FakeCluster, info = PODS): string[] => cluster.all(info, "default").map((o) => o.metadata.name ?? "");

describe("GarbageCollector", () => {
  it("exports the factory under both names the registry may use", () => {
    expect(createGarbagecollectorController).toBe(createGarbageCollectorController);
  });

  it("starts with nothing to do when every owner exists", async () => {
    const { cluster, drain } = setup();
    expect(await drain()).toEqual([]);
    expect(cluster.writes()).toEqual([]);
  });

  it("deletes dependents in the background after their owner is gone, confirming with a live GET", async () => {
    const { cluster, drain } = setup();
    await cluster.client.delete(DEPLOYMENTS, "default", "web", { propagationPolicy: "Background" });
    cluster.clearActions();
    await drain();
    expect(names(cluster, REPLICASETS)).toEqual([]);
    expect(names(cluster)).toEqual([]);
    expect(cluster.actions.filter((a) => a.verb === "get").map((a) => `${a.resource}/${a.name}`)).toEqual(["deployments.apps/web", "replicasets.apps/web-abc"]);
    expect(cluster.writes("delete").map((a) => [a.name, a.deleteOptions?.propagationPolicy])).toEqual([
      ["web-abc", "Background"],
      ["web-abc-1", "Background"],
      ["web-abc-2", "Background"],
    ]);
  });

  it("finds dependents left behind while it was not running", async () => {
    const cluster = new FakeCluster(new FakeClock());
    cluster.seed({ ...newPod("orphan"), metadata: { ...newPod("orphan").metadata, ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "gone", uid: "u-gone", controller: true }] } });
    const gc = new GarbageCollector({ client: cluster.client, informers: MONITORED_RESOURCES.map((info) => cluster.informer(info)) });
    await drainQueue(gc.queue, (key) => gc.sync(key));
    expect(names(cluster)).toEqual([]);
  });

  it("deletes a dependent whose owner was replaced by a same-named object with another uid", async () => {
    const { cluster, drain } = setup();
    const rs = cluster.get(REPLICASETS, "default", "web-abc")!;
    cluster.remove(REPLICASETS, "default", "web-abc");
    cluster.seed({ ...rs, metadata: { ...rs.metadata, uid: "another" } });
    await drain();
    expect(names(cluster)).toEqual([]);
    expect(names(cluster, REPLICASETS)).toEqual(["web-abc"]);
  });

  it("keeps an object that still has a live owner, dropping only the reference to the dead one", async () => {
    const cluster = new FakeCluster(new FakeClock());
    const [live] = cluster.seed(newReplicaSet("live"));
    const dead: OwnerReference = { apiVersion: "apps/v1", kind: "ReplicaSet", name: "dead", uid: "u-dead" };
    cluster.seed({ ...newPod("shared"), metadata: { ...newPod("shared").metadata, ownerReferences: [dead, ownerRef(live!, false)] } });
    const gc = new GarbageCollector({ client: cluster.client, informers: MONITORED_RESOURCES.map((info) => cluster.informer(info)) });
    await drainQueue(gc.queue, (key) => gc.sync(key));
    expect(cluster.get(PODS, "default", "shared")!.metadata.ownerReferences!.map((r) => r.name)).toEqual(["live"]);
  });

  it("never deletes on an owner the apiserver still has, even when the cache lags", async () => {
    const cluster = new FakeCluster(new FakeClock());
    const rsInformer = cluster.informer(REPLICASETS);
    rsInformer.hold();
    const [rs] = cluster.seed(newReplicaSet("new"));
    cluster.seed({ ...newPod("p"), metadata: { ...newPod("p").metadata, ownerReferences: [ownerRef(rs!)] } });
    const gc = new GarbageCollector({ client: cluster.client, informers: MONITORED_RESOURCES.map((info) => cluster.informer(info)) });
    expect(gc.queue.len()).toBe(1);
    await drainQueue(gc.queue, (key) => gc.sync(key));
    expect(names(cluster)).toEqual(["p"]);
  });

  it("leaves objects owned by kinds it does not know", async () => {
    const cluster = new FakeCluster(new FakeClock());
    cluster.seed({ ...newPod("p"), metadata: { ...newPod("p").metadata, ownerReferences: [{ apiVersion: "example.com/v1", kind: "Widget", name: "w", uid: "u-w" }] } });
    const gc = new GarbageCollector({ client: cluster.client, informers: MONITORED_RESOURCES.map((info) => cluster.informer(info)) });
    await drainQueue(gc.queue, (key) => gc.sync(key));
    expect(cluster.writes()).toEqual([]);
  });

  it("deletes in the foreground: pods, then the ReplicaSet, then the Deployment", async () => {
    const { cluster, drain } = setup();
    await cluster.client.delete(DEPLOYMENTS, "default", "web", { propagationPolicy: "Foreground" });
    expect(cluster.get(DEPLOYMENTS, "default", "web")!.metadata.finalizers).toEqual(["foregroundDeletion"]);
    cluster.clearActions();
    await drain();
    expect(names(cluster, DEPLOYMENTS)).toEqual([]);
    expect(names(cluster, REPLICASETS)).toEqual([]);
    expect(names(cluster)).toEqual([]);
    const steps = cluster.writes().map((a) => `${a.verb} ${a.name ?? ""}${a.deleteOptions?.propagationPolicy ? ` ${a.deleteOptions.propagationPolicy}` : ""}`);
    expect(steps).toEqual(["delete web-abc Foreground", "delete web-abc-1 Background", "delete web-abc-2 Background", "patch web-abc", "patch web"]);
    expect(cluster.writes("patch").map((a) => a.body)).toEqual([
      { metadata: { resourceVersion: expect.any(String) as string, finalizers: null } },
      { metadata: { resourceVersion: expect.any(String) as string, finalizers: null } },
    ]);
  });

  it("holds a foreground owner while a blocking dependent remains", async () => {
    const { cluster, drain } = setup();
    const pod = cluster.get(PODS, "default", "web-abc-1")!;
    cluster.set({ ...pod, spec: { ...(pod.spec as object), nodeName: "n1" } });
    await cluster.client.delete(REPLICASETS, "default", "web-abc", { propagationPolicy: "Foreground" });
    await drain();
    // The bound pod is terminating gracefully (its kubelet finishes it): the ReplicaSet waits for it.
    expect(cluster.get(PODS, "default", "web-abc-1")!.metadata.deletionTimestamp).toBeDefined();
    expect(names(cluster, REPLICASETS)).toEqual(["web-abc"]);
    cluster.remove(PODS, "default", "web-abc-1");
    await drain();
    expect(names(cluster, REPLICASETS)).toEqual([]);
  });

  it("orphans: removes the owner reference from every dependent, then the finalizer", async () => {
    const { cluster, drain } = setup();
    await cluster.client.delete(REPLICASETS, "default", "web-abc", { propagationPolicy: "Orphan" });
    await drain();
    expect(names(cluster, REPLICASETS)).toEqual([]);
    expect(cluster.all(PODS, "default").map((p) => [p.metadata.name, p.metadata.ownerReferences])).toEqual([
      ["web-abc-1", undefined],
      ["web-abc-2", undefined],
    ]);
    expect(names(cluster, DEPLOYMENTS)).toEqual(["web"]);
  });

  it("retries when a delete fails", async () => {
    const { cluster, gc } = setup();
    cluster.remove(DEPLOYMENTS, "default", "web");
    cluster.failNext("delete", "replicasets.apps", new Error("apiserver unavailable"));
    await expect(gc.sync("replicasets.apps|default/web-abc")).rejects.toThrow("apiserver unavailable");
    await gc.sync("replicasets.apps|default/web-abc");
    expect(names(cluster, REPLICASETS)).toEqual([]);
  });
});
