import { describe, expect, it } from "vitest";
import type { KubeObject, OwnerReference } from "../../../api/meta.js";
import { newDeployment, newPod, newReplicaSet } from "../../../api/testing/builders.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import { drainQueue } from "../../../client/testing/drain-queue.js";
import { FakeClient, resourceOf } from "../../../client/testing/fake-client.js";
import { createGarbageCollectorController, createGarbagecollectorController, GarbageCollector, MONITORED_RESOURCES } from "./garbagecollector-controller.js";

const DEPLOYMENTS = resourceOf("apps", "deployments");
const REPLICASETS = resourceOf("apps", "replicasets");
const PODS = resourceOf("", "pods");

function ownerRef(owner: KubeObject, block = true): OwnerReference {
  return { apiVersion: owner.apiVersion ?? "", kind: owner.kind ?? "", name: owner.metadata.name ?? "", uid: owner.metadata.uid ?? "", controller: true, blockOwnerDeletion: block };
}

/** A Deployment → ReplicaSet → 2 pods chain, as the deployment and replicaset controllers build it. */
function setup(): { fake: FakeClient; gc: GarbageCollector; drain: () => Promise<string[]> } {
  const fake = new FakeClient({ clock: new FakeClock() });
  const deploy = fake.seed(newDeployment("web"));
  const rs = fake.seed({ ...newReplicaSet("web-abc"), metadata: { ...newReplicaSet("web-abc").metadata, ownerReferences: [ownerRef(deploy)] } });
  fake.seed({ ...newPod("web-abc-1"), metadata: { ...newPod("web-abc-1").metadata, ownerReferences: [ownerRef(rs)] } });
  fake.seed({ ...newPod("web-abc-2"), metadata: { ...newPod("web-abc-2").metadata, ownerReferences: [ownerRef(rs)] } });
  const gc = new GarbageCollector({ client: fake, informers: MONITORED_RESOURCES.map((info) => fake.informer(info)) });
  const drain = (): Promise<string[]> => drainQueue(gc.queue, (key) => gc.sync(key));
  return { fake, gc, drain };
}

const names = (fake: FakeClient, info = PODS): string[] => fake.objects(info, "default").map((o) => o.metadata.name ?? "");

describe("GarbageCollector", () => {
  it("watches only resources it can list, watch and delete, so computed kinds never keep its caches from syncing", () => {
    const names = MONITORED_RESOURCES.map((r) => `${r.group}/${r.resource}`);
    expect(names).toContain("apps/replicasets");
    expect(names).not.toContain("/componentstatuses");
    expect(names).not.toContain("authorization.k8s.io/selfsubjectaccessreviews");
    expect(names).not.toContain("/events");
  });

  it("exports the factory under both names the registry may use", () => {
    expect(createGarbagecollectorController).toBe(createGarbageCollectorController);
  });

  it("starts with nothing to do when every owner exists", async () => {
    const { fake, drain } = setup();
    expect(await drain()).toEqual([]);
    expect(fake.writes()).toEqual([]);
  });

  it("deletes dependents in the background after their owner is gone, confirming with a live GET", async () => {
    const { fake, drain } = setup();
    await fake.delete(DEPLOYMENTS, "default", "web", { propagationPolicy: "Background" });
    fake.clearActions();
    await drain();
    expect(names(fake, REPLICASETS)).toEqual([]);
    expect(names(fake)).toEqual([]);
    expect(fake.actions.filter((a) => a.verb === "get").map((a) => `${a.resource}.${a.group}/${a.name}`)).toEqual(["deployments.apps/web", "replicasets.apps/web-abc"]);
    expect(fake.actionsFor("delete").map((a) => [a.name, a.deleteOptions?.propagationPolicy])).toEqual([
      ["web-abc", "Background"],
      ["web-abc-1", "Background"],
      ["web-abc-2", "Background"],
    ]);
  });

  it("finds dependents left behind while it was not running", async () => {
    const fake = new FakeClient({ clock: new FakeClock() });
    fake.seed({ ...newPod("orphan"), metadata: { ...newPod("orphan").metadata, ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "gone", uid: "u-gone", controller: true }] } });
    const gc = new GarbageCollector({ client: fake, informers: MONITORED_RESOURCES.map((info) => fake.informer(info)) });
    await drainQueue(gc.queue, (key) => gc.sync(key));
    expect(names(fake)).toEqual([]);
  });

  it("deletes a dependent whose owner was replaced by a same-named object with another uid", async () => {
    const { fake, drain } = setup();
    const rs = fake.object(REPLICASETS, "default", "web-abc")!;
    fake.remove(REPLICASETS, "default", "web-abc");
    fake.seed({ ...rs, metadata: { ...rs.metadata, uid: "another" } });
    await drain();
    expect(names(fake)).toEqual([]);
    expect(names(fake, REPLICASETS)).toEqual(["web-abc"]);
  });

  it("keeps an object that still has a live owner, dropping only the reference to the dead one", async () => {
    const fake = new FakeClient({ clock: new FakeClock() });
    const live = fake.seed(newReplicaSet("live"));
    const dead: OwnerReference = { apiVersion: "apps/v1", kind: "ReplicaSet", name: "dead", uid: "u-dead" };
    fake.seed({ ...newPod("shared"), metadata: { ...newPod("shared").metadata, ownerReferences: [dead, ownerRef(live, false)] } });
    const gc = new GarbageCollector({ client: fake, informers: MONITORED_RESOURCES.map((info) => fake.informer(info)) });
    await drainQueue(gc.queue, (key) => gc.sync(key));
    expect(fake.object(PODS, "default", "shared")!.metadata.ownerReferences!.map((r) => r.name)).toEqual(["live"]);
  });

  it("never deletes on an owner the apiserver still has, even when the cache lags", async () => {
    const fake = new FakeClient({ clock: new FakeClock() });
    const rsInformer = fake.informer(REPLICASETS);
    rsInformer.hold();
    const rs = fake.seed(newReplicaSet("new"));
    fake.seed({ ...newPod("p"), metadata: { ...newPod("p").metadata, ownerReferences: [ownerRef(rs)] } });
    const gc = new GarbageCollector({ client: fake, informers: MONITORED_RESOURCES.map((info) => fake.informer(info)) });
    expect(gc.queue.len()).toBe(1);
    await drainQueue(gc.queue, (key) => gc.sync(key));
    expect(names(fake)).toEqual(["p"]);
  });

  it("leaves objects owned by kinds it does not know", async () => {
    const fake = new FakeClient({ clock: new FakeClock() });
    fake.seed({ ...newPod("p"), metadata: { ...newPod("p").metadata, ownerReferences: [{ apiVersion: "example.com/v1", kind: "Widget", name: "w", uid: "u-w" }] } });
    const gc = new GarbageCollector({ client: fake, informers: MONITORED_RESOURCES.map((info) => fake.informer(info)) });
    await drainQueue(gc.queue, (key) => gc.sync(key));
    expect(fake.writes()).toEqual([]);
  });

  it("deletes in the foreground: pods, then the ReplicaSet, then the Deployment", async () => {
    const { fake, drain } = setup();
    await fake.delete(DEPLOYMENTS, "default", "web", { propagationPolicy: "Foreground" });
    expect(fake.object(DEPLOYMENTS, "default", "web")!.metadata.finalizers).toEqual(["foregroundDeletion"]);
    fake.clearActions();
    await drain();
    expect(names(fake, DEPLOYMENTS)).toEqual([]);
    expect(names(fake, REPLICASETS)).toEqual([]);
    expect(names(fake)).toEqual([]);
    const steps = fake.writes().map((a) => `${a.verb} ${a.name ?? ""}${a.deleteOptions?.propagationPolicy ? ` ${a.deleteOptions.propagationPolicy}` : ""}`);
    expect(steps).toEqual(["delete web-abc Foreground", "delete web-abc-1 Background", "delete web-abc-2 Background", "patch web-abc", "patch web"]);
    expect(fake.actionsFor("patch").map((a) => a.patch)).toEqual([
      { metadata: { resourceVersion: expect.any(String) as string, finalizers: null } },
      { metadata: { resourceVersion: expect.any(String) as string, finalizers: null } },
    ]);
  });

  it("holds a foreground owner while a blocking dependent remains", async () => {
    const { fake, drain } = setup();
    const pod = fake.object(PODS, "default", "web-abc-1")!;
    fake.seed({ ...pod, spec: { ...(pod.spec as object), nodeName: "n1" } });
    await fake.delete(REPLICASETS, "default", "web-abc", { propagationPolicy: "Foreground" });
    await drain();
    // The bound pod is terminating gracefully (its kubelet finishes it): the ReplicaSet waits for it.
    expect(fake.object(PODS, "default", "web-abc-1")!.metadata.deletionTimestamp).toBeDefined();
    expect(names(fake, REPLICASETS)).toEqual(["web-abc"]);
    fake.remove(PODS, "default", "web-abc-1");
    await drain();
    expect(names(fake, REPLICASETS)).toEqual([]);
  });

  it("orphans: removes the owner reference from every dependent, then the finalizer", async () => {
    const { fake, drain } = setup();
    await fake.delete(REPLICASETS, "default", "web-abc", { propagationPolicy: "Orphan" });
    await drain();
    expect(names(fake, REPLICASETS)).toEqual([]);
    expect(fake.objects(PODS, "default").map((p) => [p.metadata.name, p.metadata.ownerReferences])).toEqual([
      ["web-abc-1", undefined],
      ["web-abc-2", undefined],
    ]);
    expect(names(fake, DEPLOYMENTS)).toEqual(["web"]);
  });

  it("is not blocked by a cycle of owners: a foreground delete of one removes all three (Kubernetes' conformance test)", async () => {
    const fake = new FakeClient({ clock: new FakeClock() });
    const [pod1, pod2, pod3] = ["pod1", "pod2", "pod3"].map((name) => fake.seed(newPod(name)));
    const owned = (pod: KubeObject, owner: KubeObject): KubeObject => fake.seed({ ...pod, metadata: { ...pod.metadata, ownerReferences: [ownerRef(owner)] } });
    owned(pod1!, pod3!);
    owned(pod2!, pod1!);
    owned(pod3!, pod2!);
    const gc = new GarbageCollector({ client: fake, informers: MONITORED_RESOURCES.map((info) => fake.informer(info)) });
    await fake.delete(PODS, "default", "pod1", { propagationPolicy: "Foreground" });
    // Owners deleting their dependents are not queued again by each other (that went round the cycle for ever).
    await drainQueue(gc.queue, (key) => gc.sync(key), 200);
    expect(names(fake)).toEqual([]);
    // As Kubernetes breaks the cycle: the object whose dependent already waits drops its blocking references first.
    expect(fake.actionsFor("patch").some((a) => JSON.stringify(a.patch).includes('"blockOwnerDeletion":false'))).toBe(true);
  });

  it("retries when a delete fails", async () => {
    const { fake, gc } = setup();
    fake.remove(DEPLOYMENTS, "default", "web");
    fake.failNext("delete", "replicasets", new Error("apiserver unavailable"));
    await expect(gc.sync("replicasets.apps|default/web-abc")).rejects.toThrow("apiserver unavailable");
    await gc.sync("replicasets.apps|default/web-abc");
    expect(names(fake, REPLICASETS)).toEqual([]);
  });
});
