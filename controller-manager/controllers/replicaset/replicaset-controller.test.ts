import { describe, expect, it } from "vitest";
import { StatusError } from "../../../api/errors.js";
import type { OwnerReference } from "../../../api/meta.js";
import { RESOURCES } from "../../../api/resources.js";
import { newPod, newReplicaSet } from "../../../api/testing/builders.js";
import type { ReplicaSet } from "../../../api/types/apps.js";
import type { Pod, ReplicationController } from "../../../api/types/core.js";
import { FakeClock, flushPromises } from "../../../component-base/testing/fake-clock.js";
import { formatTime } from "../../../api/time.js";
import { EXPECTATIONS_TIMEOUT_MS } from "../controller-utils.js";
import { FakeClient } from "../../../client/testing/fake-client.js";
import { FakeInformer } from "../../../client/testing/fake-informer.js";
import { FakeRecorder } from "../../../client/testing/fake-recorder.js";
import {
  podsToDelete,
  REPLICA_SET_KIND,
  REPLICATION_CONTROLLER_KIND,
  ReplicaSetController,
  slowStartBatch,
  type ReplicaKind,
  type ReplicaStatus,
  type Replicated,
} from "./replicaset-controller.js";

const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;
const T0 = Date.UTC(2024, 0, 1);
const KEY = "default/web";

function rs(replicas: number, extra: Partial<ReplicaSet["metadata"]> = {}): ReplicaSet {
  return newReplicaSet("web", { replicas, meta: { uid: "rs-uid", generation: 1, creationTimestamp: formatTime(T0), ...extra } });
}

function ownerRef(uid = "rs-uid", kind = "ReplicaSet", name = "web"): OwnerReference {
  return { apiVersion: kind === "ReplicaSet" ? "apps/v1" : "v1", kind, name, uid, controller: true, blockOwnerDeletion: true };
}

interface PodSpecOptions {
  owner?: OwnerReference | null;
  labels?: Record<string, string>;
  nodeName?: string;
  phase?: "Pending" | "Running";
  ready?: boolean;
  /** Seconds after T0 the Ready condition turned true. */
  readyAt?: number;
  restarts?: number;
  /** Seconds after T0 the pod was created. */
  createdAt?: number;
}

function pod(name: string, o: PodSpecOptions = {}): Pod {
  const p = newPod(name, {
    labels: o.labels ?? { app: "web" },
    ...(o.nodeName !== undefined ? { nodeName: o.nodeName } : {}),
    ...(o.ready ? { ready: true } : o.phase ? { phase: o.phase } : {}),
    meta: {
      uid: `uid-${name}`,
      creationTimestamp: formatTime(T0 + (o.createdAt ?? 0) * 1000),
      ...(o.owner === null ? {} : { ownerReferences: [o.owner ?? ownerRef()] }),
    },
  });
  if (o.readyAt !== undefined) p.status!.conditions = [{ type: "Ready", status: "True", lastTransitionTime: formatTime(T0 + o.readyAt * 1000) }];
  if (o.restarts !== undefined) for (const c of p.status?.containerStatuses ?? []) c.restartCount = o.restarts;
  return p;
}

function setup(owners: Replicated[], pods: Pod[] = [], kind: ReplicaKind = REPLICA_SET_KIND, clock = new FakeClock(T0)) {
  const client = new FakeClient({ clock });
  const informer = new FakeInformer<Replicated>(kind.resource);
  const podInformer = new FakeInformer<Pod>(PODS);
  const recorder = new FakeRecorder();
  const controller = new ReplicaSetController({ kind, client, informer, podInformer, recorder, clock });
  // Preloaded after construction, so the queue starts empty: tests call sync() themselves.
  // The cache holds the tracker's copies, resourceVersions included, as a real informer would.
  for (const o of owners) informer.set(client.seed(o));
  for (const p of pods) podInformer.set(client.seed(p));
  return { client, informer, podInformer, recorder, controller, clock };
}

function lastStatus(client: FakeClient): ReplicaStatus | undefined {
  const updates = client.actionsFor("update", undefined, "status");
  return updates.at(-1)?.object?.status as ReplicaStatus | undefined;
}

describe("ReplicaSetController.sync", () => {
  it("creates missing pods when a ReplicaSet scales up", async () => {
    const { client, controller, recorder } = setup([rs(3)]);
    await controller.sync(KEY);
    const created = client.created<Pod>("pods");
    expect(created).toHaveLength(3);
    for (const p of created) {
      expect(p.metadata.generateName).toBe("web-");
      expect(p.metadata.labels).toEqual({ app: "web" });
      expect(p.metadata.ownerReferences).toEqual([ownerRef()]);
      expect(p.spec?.containers[0]?.name).toBe("app");
    }
    const names = client.objects<Pod>(PODS).map((p) => p.metadata.name);
    expect(recorder.messages()).toEqual(names.map((n) => `Normal SuccessfulCreate Created pod: ${n ?? ""}`));
    expect(controller.expectations.get(KEY)).toEqual({ add: 3, del: 0 });
    expect(lastStatus(client)).toEqual({ replicas: 0, observedGeneration: 1 });
  });

  it("creates a ReplicationController's pods with a v1 controller reference", async () => {
    const rc: ReplicationController = {
      apiVersion: "v1",
      kind: "ReplicationController",
      metadata: { name: "web", namespace: "default", uid: "rc-uid", generation: 1 },
      spec: { replicas: 2, selector: { app: "web" }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "nginx" }] } } },
    };
    const { client, controller } = setup([rc], [], REPLICATION_CONTROLLER_KIND);
    await controller.sync(KEY);
    const created = client.created<Pod>("pods");
    expect(created).toHaveLength(2);
    expect(created[0]?.metadata.ownerReferences).toEqual([ownerRef("rc-uid", "ReplicationController")]);
    expect(client.actionsFor("update", "replicationcontrollers", "status")).toHaveLength(1);
  });

  it("creates in slow-start batches and stops at the first failing batch", async () => {
    const { client, controller, recorder } = setup([rs(10)]);
    let creates = 0;
    client.prependReactor("create", "pods", () => (++creates === 4 ? { error: new StatusError(403, "Forbidden", "exceeded quota") } : undefined));
    await expect(controller.sync(KEY)).rejects.toThrow("exceeded quota");
    // Batches of 1 and 2 succeed; the batch of 4 has one failure; no batch of 8 follows.
    expect(client.actionsFor("create", "pods")).toHaveLength(7);
    expect(recorder.withReason("FailedCreate").map((e) => e.message)).toEqual(["Error creating: exceeded quota"]);
    // Six creations will be observed; the four never made are not waited for.
    expect(controller.expectations.get(KEY)).toEqual({ add: 6, del: 0 });
    const condition = lastStatus(client)?.conditions?.[0];
    expect(condition).toMatchObject({ type: "ReplicaFailure", status: "True", reason: "FailedCreate", message: "exceeded quota" });
  });

  it("does not create pods again while its creations have not been observed", async () => {
    const { client, controller, podInformer } = setup([rs(3)]);
    await controller.sync(KEY);
    await controller.sync(KEY); // the informer has not shown the pods yet
    expect(client.actionsFor("create", "pods")).toHaveLength(3);
    for (const p of client.objects<Pod>(PODS)) podInformer.add(p);
    expect(controller.expectations.satisfied(KEY)).toBe(true);
    await controller.sync(KEY);
    expect(client.actionsFor("create", "pods")).toHaveLength(3);
    expect(lastStatus(client)?.replicas).toBe(3);
  });

  it("recounts after unfulfilled expectations expire", async () => {
    const { client, controller, clock } = setup([rs(2)]);
    await controller.sync(KEY);
    clock.step(EXPECTATIONS_TIMEOUT_MS + 1);
    await controller.sync(KEY);
    expect(client.actionsFor("create", "pods")).toHaveLength(4);
  });

  it("deletes extras preferring unscheduled, pending, not ready, most restarted, then newest pods", async () => {
    const pods = [
      pod("oldest", { nodeName: "n1", ready: true, readyAt: 0, createdAt: 0 }),
      pod("newest", { nodeName: "n1", ready: true, readyAt: 0, createdAt: 50 }),
      pod("restarted", { nodeName: "n1", ready: true, readyAt: 0, createdAt: 10, restarts: 5 }),
      pod("not-ready", { nodeName: "n1", phase: "Running", createdAt: 1 }),
      pod("pending", { nodeName: "n1", phase: "Pending", createdAt: 2 }),
      pod("unscheduled", { phase: "Pending", createdAt: 3 }),
    ];
    const { client, controller, recorder } = setup([rs(1)], pods);
    await controller.sync(KEY);
    expect(client.deleted("pods")).toEqual(["unscheduled", "pending", "not-ready", "restarted", "newest"]);
    expect(recorder.withReason("SuccessfulDelete").map((e) => e.message)).toContain("Deleted pod: newest");
    expect(controller.expectations.get(KEY)).toEqual({ add: 0, del: 5 });
    // Pods bound to a node stay, terminating, for their grace period; only "oldest" is not being deleted.
    expect(client.objects<Pod>(PODS).filter((p) => p.metadata.deletionTimestamp === undefined).map((p) => p.metadata.name)).toEqual(["oldest"]);
  });

  it.each([
    [1, ["unscheduled"]],
    [2, ["unscheduled", "pending"]],
    [3, ["unscheduled", "pending", "not-ready"]],
  ])("picks the %i pod(s) to delete in preference order", (count, expected) => {
    const pods = [
      pod("ready", { nodeName: "n1", ready: true, readyAt: 0 }),
      pod("not-ready", { nodeName: "n1", phase: "Running" }),
      pod("pending", { nodeName: "n1", phase: "Pending" }),
      pod("unscheduled", { phase: "Pending" }),
    ];
    expect(podsToDelete(pods, count).map((p) => p.metadata.name)).toEqual(expected);
  });

  it("deletes doubled-up pods before pods alone on their node", () => {
    const pods = [pod("alone", { nodeName: "n2", ready: true, readyAt: 0 }), pod("a", { nodeName: "n1", ready: true, readyAt: 0 }), pod("b", { nodeName: "n1", ready: true, readyAt: 0 })];
    expect(podsToDelete(pods, 1)[0]?.metadata.name).not.toBe("alone");
  });

  it("counts a failed deletion as observed so the next sync can retry", async () => {
    const { client, controller } = setup([rs(0)], [pod("a")]);
    client.failNext("delete", "pods", new StatusError(500, "InternalError", "boom"));
    await expect(controller.sync(KEY)).rejects.toThrow("boom");
    expect(controller.expectations.satisfied(KEY)).toBe(true);
  });

  it("adopts orphans that match its selector", async () => {
    const { client, controller } = setup([rs(1)], [pod("orphan", { owner: null })]);
    await controller.sync(KEY);
    expect(client.actionsFor("get", "replicasets")).toHaveLength(1); // the fresh read before adopting
    const [patch] = client.actionsFor("patch", "pods");
    expect(patch?.patchType).toBe("strategic");
    expect(patch?.patch).toEqual({ metadata: { ownerReferences: [ownerRef()], uid: "uid-orphan" } });
    expect(client.object<Pod>(PODS, "default", "orphan")?.metadata.ownerReferences).toEqual([ownerRef()]);
    expect(client.actionsFor("create", "pods")).toHaveLength(0);
    expect(lastStatus(client)?.replicas).toBe(1);
  });

  it("leaves pods another controller owns alone", async () => {
    const { client, controller } = setup([rs(1)], [pod("theirs", { owner: ownerRef("other-uid", "ReplicaSet", "other") })]);
    await controller.sync(KEY);
    expect(client.actionsFor("patch", "pods")).toHaveLength(0);
    expect(client.actionsFor("create", "pods")).toHaveLength(1);
  });

  it("refuses to adopt when a fresh read shows the owner being deleted", async () => {
    const owner = rs(1);
    const { client, controller } = setup([owner], [pod("orphan", { owner: null })]);
    client.seed({ ...owner, metadata: { ...owner.metadata, deletionTimestamp: formatTime(T0) } });
    await expect(controller.sync(KEY)).rejects.toThrow("has just been deleted");
    expect(client.actionsFor("patch", "pods")).toHaveLength(0);
  });

  it("releases owned pods whose labels stopped matching and replaces them", async () => {
    const { client, controller } = setup([rs(1)], [pod("relabelled", { labels: { app: "debug" } })]);
    await controller.sync(KEY);
    const [patch] = client.actionsFor("patch", "pods");
    expect(patch?.patch).toEqual({ metadata: { ownerReferences: [{ $patch: "delete", uid: "rs-uid" }], uid: "uid-relabelled" } });
    expect(client.object<Pod>(PODS, "default", "relabelled")?.metadata.ownerReferences ?? []).toEqual([]);
    expect(client.actionsFor("create", "pods")).toHaveLength(1);
  });

  it("ignores terminal and deleting pods when counting", async () => {
    const done = pod("done");
    done.status = { phase: "Succeeded" };
    const deleting = pod("deleting");
    deleting.metadata.deletionTimestamp = formatTime(T0);
    const { client, controller } = setup([rs(1)], [done, deleting]);
    await controller.sync(KEY);
    expect(client.actionsFor("create", "pods")).toHaveLength(1);
  });

  it("writes replicas, fully labeled, ready and available counts and requeues for minReadySeconds", async () => {
    const owner = rs(3);
    owner.spec!.minReadySeconds = 5;
    owner.spec!.template!.metadata!.labels = { app: "web", tier: "fe" };
    const full = { app: "web", tier: "fe" };
    const pods = [pod("long-ready", { labels: full, ready: true, readyAt: -10 }), pod("just-ready", { labels: full, ready: true, readyAt: -2 }), pod("starting", { phase: "Running" })];
    const { client, controller, clock } = setup([owner], pods);
    await controller.sync(KEY);
    expect(lastStatus(client)).toEqual({ replicas: 3, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 1, observedGeneration: 1 });
    expect(controller.queue.len()).toBe(0);
    clock.step(2999);
    expect(controller.queue.len()).toBe(0);
    clock.step(1);
    expect(controller.queue.len()).toBe(1);
  });

  it("does not write a status that did not change", async () => {
    const owner = rs(1);
    owner.status = { replicas: 1, fullyLabeledReplicas: 1, readyReplicas: 1, availableReplicas: 1, observedGeneration: 1 };
    const { client, controller } = setup([owner], [pod("a", { ready: true, readyAt: 0 })]);
    await controller.sync(KEY);
    expect(client.writes()).toEqual([]);
  });

  it("clears its expectations when the owner is gone", async () => {
    const { controller, informer } = setup([rs(2)]);
    await controller.sync(KEY);
    informer.unset(rs(2));
    await controller.sync(KEY);
    expect(controller.expectations.get(KEY)).toBeUndefined();
  });
});

describe("ReplicaSetController handlers", () => {
  it("observes created pods and enqueues their owner", async () => {
    const { client, controller, podInformer } = setup([rs(2)]);
    await controller.sync(KEY);
    const [first] = client.objects<Pod>(PODS);
    podInformer.add(first!);
    expect(controller.expectations.get(KEY)).toEqual({ add: 1, del: 0 });
    expect(controller.queue.len()).toBe(1);
  });

  it("observes a deletion once whether it is seen as a deletionTimestamp, a delete or a tombstone", async () => {
    const pods = [pod("a"), pod("b"), pod("c")];
    const { controller, podInformer } = setup([rs(1)], pods);
    await controller.sync(KEY);
    expect(controller.expectations.get(KEY)).toEqual({ add: 0, del: 2 });
    const victim = structuredClone(pods.find((p) => p.metadata.name === "a") ?? pods[0]!);
    victim.metadata.deletionTimestamp = formatTime(T0);
    podInformer.update(victim);
    podInformer.delete(victim);
    expect(controller.expectations.get(KEY)).toEqual({ add: 0, del: 1 });
    podInformer.delete(pods[1]!, { tombstone: true });
    podInformer.delete(pods[2]!, { tombstone: true });
    expect(controller.expectations.satisfied(KEY)).toBe(true);
  });

  it("enqueues every owner whose selector matches a new orphan", () => {
    const { controller, podInformer } = setup([rs(1)]);
    podInformer.add(pod("orphan", { owner: null }));
    podInformer.add(pod("stranger", { owner: null, labels: { app: "db" } }));
    expect(controller.queue.len()).toBe(1);
  });

  it("requeues the owner after minReadySeconds when a pod turns ready", async () => {
    const owner = rs(1);
    owner.spec!.minReadySeconds = 10;
    const starting = pod("a", { phase: "Running" });
    const { controller, podInformer, clock } = setup([owner], [starting]);
    const ready = pod("a", { ready: true, readyAt: 0 });
    podInformer.update(ready);
    const first = await controller.queue.get();
    if (!first.shutdown) controller.queue.done(first.item);
    expect(controller.queue.len()).toBe(0);
    clock.step(11_000);
    expect(controller.queue.len()).toBe(1);
  });
});

describe("ReplicaSetController.run", () => {
  it("syncs owners once its informers are synced and stops on abort", async () => {
    const { client, controller, informer } = setup([]);
    const abort = new AbortController();
    const running = controller.run(abort.signal);
    informer.add(rs(2));
    await flushPromises();
    expect(client.actionsFor("create", "pods")).toHaveLength(2);
    abort.abort();
    await running;
    expect(controller.queue.shuttingDown()).toBe(true);
  });
});

describe("slowStartBatch", () => {
  it("runs batches of 1, 2, 4, ... up to the count", async () => {
    const batches: number[] = [];
    let inFlight = 0;
    const { successes } = await slowStartBatch(20, 1, async () => {
      inFlight++;
      await Promise.resolve();
      if (inFlight > 0) batches.push(inFlight);
      inFlight = 0;
    });
    expect(successes).toBe(20);
    expect(batches).toEqual([1, 2, 4, 8, 5]);
  });
});
