import { describe, expect, it } from "vitest";
import { RESOURCES } from "../../../api/resources.js";
import { newDeployment, newPod } from "../../../api/testing/builders.js";
import type { AppsCondition, Deployment, DeploymentStatus, ReplicaSet } from "../../../api/types/apps.js";
import type { IntOrString, Pod } from "../../../api/types/core.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import { formatTime } from "../../../api/time.js";
import { FakeClient } from "../../../client/testing/fake-client.js";
import { FakeInformer } from "../../../client/testing/fake-informer.js";
import { FakeRecorder } from "../../../client/testing/fake-recorder.js";
import { DeploymentController, newReplicaSetFor } from "./deployment-controller.js";
import {
  CHANGE_CAUSE_ANNOTATION,
  computeHash,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  POD_TEMPLATE_HASH_LABEL,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
} from "./deployment-util.js";

const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;
const REPLICASETS = RESOURCES.find((r) => r.group === "apps" && r.resource === "replicasets")!;
const DEPLOYMENTS = RESOURCES.find((r) => r.group === "apps" && r.resource === "deployments")!;
const T0 = Date.UTC(2024, 0, 1);
const KEY = "default/web";

interface DeploymentOptions {
  replicas: number;
  image?: string;
  surge?: IntOrString;
  unavailable?: IntOrString;
  recreate?: boolean;
  paused?: boolean;
  progressDeadlineSeconds?: number;
  revisionHistoryLimit?: number;
  annotations?: Record<string, string>;
  status?: DeploymentStatus;
}

function deployment(o: DeploymentOptions): Deployment {
  const d = newDeployment("web", { replicas: o.replicas, image: o.image ?? "nginx:2", containerName: "nginx", meta: { uid: "d-uid", generation: 1, creationTimestamp: formatTime(T0) } });
  d.spec!.strategy = o.recreate ? { type: "Recreate" } : { type: "RollingUpdate", rollingUpdate: { maxSurge: o.surge ?? "25%", maxUnavailable: o.unavailable ?? "25%" } };
  d.spec!.revisionHistoryLimit = o.revisionHistoryLimit ?? 10;
  d.spec!.progressDeadlineSeconds = o.progressDeadlineSeconds ?? 600;
  if (o.paused) d.spec!.paused = true;
  if (o.annotations) d.metadata.annotations = { ...o.annotations };
  if (o.status) d.status = o.status;
  return d;
}

interface RSOptions {
  image: string;
  replicas: number;
  /** status.availableReplicas (and ready); defaults to replicas. */
  available?: number;
  revision?: number;
  /** Seconds after T0. */
  createdAt?: number;
  /** desired-replicas and max-replicas annotations. */
  scaledFor?: [number, number];
  owned?: boolean;
}

/** A ReplicaSet the Deployment `d` would have made for the same template with `image`. */
function replicaSet(d: Deployment, o: RSOptions): ReplicaSet {
  const variant = structuredClone(d);
  variant.spec!.template!.spec!.containers[0]!.image = o.image;
  const rs = newReplicaSetFor(variant, computeHash(variant.spec!.template));
  rs.metadata.uid = `rs-${o.image}`;
  rs.metadata.generation = 1;
  rs.metadata.creationTimestamp = formatTime(T0 + (o.createdAt ?? 0) * 1000);
  if (o.owned === false) delete rs.metadata.ownerReferences;
  const annotations: Record<string, string> = {};
  if (o.revision !== undefined) annotations[REVISION_ANNOTATION] = String(o.revision);
  if (o.scaledFor) {
    annotations[DESIRED_REPLICAS_ANNOTATION] = String(o.scaledFor[0]);
    annotations[MAX_REPLICAS_ANNOTATION] = String(o.scaledFor[1]);
  }
  rs.metadata.annotations = annotations;
  rs.spec!.replicas = o.replicas;
  const available = o.available ?? o.replicas;
  rs.status = { replicas: o.replicas, readyReplicas: available, availableReplicas: available, observedGeneration: 1 };
  return rs;
}

class Harness {
  readonly clock = new FakeClock(T0);
  readonly client = new FakeClient({ clock: this.clock });
  readonly deployments = new FakeInformer<Deployment>(DEPLOYMENTS);
  readonly replicaSets = new FakeInformer<ReplicaSet>(REPLICASETS);
  readonly pods = new FakeInformer<Pod>(PODS);
  readonly recorder = new FakeRecorder();
  readonly controller: DeploymentController;

  constructor(d: Deployment, rss: ReplicaSet[] = [], pods: Pod[] = []) {
    this.controller = new DeploymentController({
      client: this.client,
      deploymentInformer: this.deployments,
      replicaSetInformer: this.replicaSets,
      podInformer: this.pods,
      recorder: this.recorder,
      clock: this.clock,
    });
    this.deployments.set(this.client.seed(d));
    for (const rs of rss) this.replicaSets.set(this.client.seed(rs));
    for (const p of pods) this.pods.set(this.client.seed(p));
  }

  sync(): Promise<void> {
    return this.controller.sync(KEY);
  }

  /**
   * Lets the world catch up with the controller's writes: the caches show the tracker, and (unless `pods` is false)
   * every ReplicaSet has as many replicas, all available, as its spec asks, as if pods started instantly.
   */
  settle(pods = true): void {
    const live = new Set<string>();
    for (const rs of this.client.objects<ReplicaSet>(REPLICASETS)) {
      live.add(rs.metadata.name ?? "");
      if (pods) {
        const n = rs.spec?.replicas ?? 0;
        rs.status = { replicas: n, readyReplicas: n, availableReplicas: n, observedGeneration: rs.metadata.generation ?? 1 };
        this.replicaSets.update(this.client.seed(rs));
      } else {
        this.replicaSets.update(rs);
      }
    }
    for (const rs of this.replicaSets.lister.list()) if (!live.has(rs.metadata.name ?? "")) this.replicaSets.unset(rs);
    this.deployments.update(this.deployment());
  }

  /** Empties the workqueue (events from settle() enqueue the Deployment). */
  async drain(): Promise<void> {
    while (this.controller.queue.len() > 0) {
      const next = await this.controller.queue.get();
      if (!next.shutdown) this.controller.queue.done(next.item);
    }
  }

  deployment(): Deployment {
    return this.client.object<Deployment>(DEPLOYMENTS, "default", "web")!;
  }

  replicaSetsByImage(): Map<string, ReplicaSet> {
    return new Map(this.client.objects<ReplicaSet>(REPLICASETS).map((rs) => [rs.spec?.template?.spec?.containers[0]?.image ?? "", rs]));
  }

  replicasOf(image: string): number {
    return this.replicaSetsByImage().get(image)?.spec?.replicas ?? 0;
  }

  status(): DeploymentStatus {
    return this.deployment().status ?? {};
  }

  condition(type: string): AppsCondition | undefined {
    return this.status().conditions?.find((c) => c.type === type);
  }
}

describe("DeploymentController: the new ReplicaSet", () => {
  it("creates <deployment>-<hash> with the template verbatim plus the hash label", async () => {
    const d = deployment({ replicas: 3, annotations: { [CHANGE_CAUSE_ANNOTATION]: "kubectl create deployment web" } });
    const h = new Harness(d);
    await h.sync();
    const hash = computeHash(d.spec!.template);
    const [rs] = h.client.created<ReplicaSet>("replicasets");
    expect(rs?.metadata.name).toBe(`web-${hash}`);
    expect(rs?.metadata.labels).toEqual({ app: "web", [POD_TEMPLATE_HASH_LABEL]: hash });
    expect(rs?.spec?.selector).toEqual({ matchLabels: { app: "web", [POD_TEMPLATE_HASH_LABEL]: hash } });
    const expectedTemplate = structuredClone(d.spec!.template!);
    expectedTemplate.metadata!.labels![POD_TEMPLATE_HASH_LABEL] = hash;
    expect(rs?.spec?.template).toEqual(expectedTemplate);
    expect(rs?.spec?.replicas).toBe(3);
    expect(rs?.metadata.ownerReferences).toEqual([{ apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: "d-uid", controller: true, blockOwnerDeletion: true }]);
    expect(rs?.metadata.annotations).toEqual({
      [REVISION_ANNOTATION]: "1",
      [DESIRED_REPLICAS_ANNOTATION]: "3",
      [MAX_REPLICAS_ANNOTATION]: "4",
      [CHANGE_CAUSE_ANNOTATION]: "kubectl create deployment web",
    });
    expect(h.recorder.messages()).toEqual([`Normal ScalingReplicaSet Scaled up replica set web-${hash} from 0 to 3`]);
    expect(h.deployment().metadata.annotations?.[REVISION_ANNOTATION]).toBe("1");
    expect(h.condition("Progressing")).toMatchObject({ status: "True", reason: "NewReplicaSetCreated", message: `Created new replica set "web-${hash}"` });
  });

  it("gives a new template the next revision", async () => {
    const d = deployment({ replicas: 2, image: "nginx:3" });
    const h = new Harness(d, [replicaSet(d, { image: "nginx:1", replicas: 0, revision: 1 }), replicaSet(d, { image: "nginx:2", replicas: 2, revision: 2, createdAt: 10 })]);
    await h.sync();
    expect(h.replicaSetsByImage().get("nginx:3")?.metadata.annotations?.[REVISION_ANNOTATION]).toBe("3");
    expect(h.deployment().metadata.annotations?.[REVISION_ANNOTATION]).toBe("3");
  });

  it("reuses the old ReplicaSet on a rollback, with the next revision and its history", async () => {
    const d = deployment({ replicas: 2, image: "nginx:1", annotations: { [REVISION_ANNOTATION]: "2" } });
    const h = new Harness(d, [replicaSet(d, { image: "nginx:1", replicas: 0, revision: 1 }), replicaSet(d, { image: "nginx:2", replicas: 2, revision: 2, createdAt: 10 })]);
    await h.sync();
    expect(h.client.created("replicasets")).toEqual([]);
    const reused = h.replicaSetsByImage().get("nginx:1");
    expect(reused?.metadata.annotations?.[REVISION_ANNOTATION]).toBe("3");
    expect(reused?.metadata.annotations?.[REVISION_HISTORY_ANNOTATION]).toBe("1");
    expect(h.deployment().metadata.annotations?.[REVISION_ANNOTATION]).toBe("3");
    // And the rollout back to it starts.
    expect(reused?.spec?.replicas).toBe(1);
  });

  it("adopts a matching ReplicaSet that has no controller", async () => {
    const d = deployment({ replicas: 1 });
    const orphan = replicaSet(d, { image: "nginx:2", replicas: 1, revision: 1, owned: false });
    const h = new Harness(d, [orphan]);
    await h.sync();
    const [patch] = h.client.actionsFor("patch", "replicasets");
    expect(patch?.patch).toEqual({ metadata: { ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: "web", uid: "d-uid", controller: true, blockOwnerDeletion: true }], uid: orphan.metadata.uid } });
    expect(h.client.created("replicasets")).toEqual([]);
  });

  it("bumps collisionCount when another object holds the hashed name", async () => {
    const d = deployment({ replicas: 1 });
    const squatter = replicaSet(d, { image: "nginx:2", replicas: 1, owned: false });
    squatter.spec!.template!.spec!.containers[0]!.image = "something-else";
    squatter.metadata.labels = { unrelated: "yes" };
    const h = new Harness(d);
    h.client.seed(squatter); // not in the cache either, as if created a moment ago
    await expect(h.sync()).rejects.toThrow("already exists");
    expect(h.status().collisionCount).toBe(1);
  });

  it("warns and does nothing else for a selector that selects everything", async () => {
    const d = deployment({ replicas: 1 });
    d.spec!.selector = {};
    const h = new Harness(d);
    await h.sync();
    expect(h.recorder.messages()).toEqual(["Warning SelectingAll This deployment is selecting all pods. A non-empty selector is required."]);
    expect(h.client.created("replicasets")).toEqual([]);
    expect(h.status().observedGeneration).toBe(1);
  });
});

describe("DeploymentController: rolling updates", () => {
  it.each([
    [4, "25%", "25%", [[4, 0], [3, 1], [3, 2], [1, 2], [1, 4], [0, 4]]],
    [3, 0, 1, [[3, 0], [2, 0], [2, 1], [1, 1], [1, 2], [0, 2], [0, 3]]],
    [2, "50%", 0, [[2, 0], [2, 1], [1, 1], [1, 2], [0, 2]]],
    [10, "25%", "25%", [[10, 0], [8, 3], [8, 5], [3, 5], [3, 10], [0, 10]]],
  ])("rolls %i replicas with maxSurge %j and maxUnavailable %j through (old, new) %j", async (replicas, surge, unavailable, expected) => {
    const d = deployment({ replicas, surge, unavailable, annotations: { [REVISION_ANNOTATION]: "1" } });
    const h = new Harness(d, [replicaSet(d, { image: "nginx:1", replicas, revision: 1, scaledFor: [replicas, replicas] })]);
    const maxTotal = replicas + (typeof surge === "number" ? surge : Math.ceil((parseInt(surge) * replicas) / 100));
    const minAvailable = replicas - (typeof unavailable === "number" ? unavailable : Math.floor((parseInt(unavailable) * replicas) / 100));
    const steps: number[][] = [[replicas, 0]];
    for (let i = 0; i < 20; i++) {
      h.client.clearActions();
      await h.sync();
      const scaled = h.client.writes().some((a) => a.resource === "replicasets");
      h.settle();
      if (!scaled) break;
      const step = [h.replicasOf("nginx:1"), h.replicasOf("nginx:2")];
      steps.push(step);
      expect(step[0]! + step[1]!).toBeLessThanOrEqual(maxTotal);
      expect(step[0]! + step[1]!).toBeGreaterThanOrEqual(minAvailable);
    }
    expect(steps).toEqual(expected);
    expect(h.status()).toMatchObject({ replicas, updatedReplicas: replicas, availableReplicas: replicas, observedGeneration: 1 });
    expect(h.condition("Available")).toMatchObject({ status: "True", reason: "MinimumReplicasAvailable" });
    expect(h.condition("Progressing")).toMatchObject({ status: "True", reason: "NewReplicaSetAvailable" });
  });

  it("never scales old ReplicaSets below availability while new pods are not available", async () => {
    const d = deployment({ replicas: 4, surge: 1, unavailable: 0, annotations: { [REVISION_ANNOTATION]: "1" } });
    const h = new Harness(d, [replicaSet(d, { image: "nginx:1", replicas: 4, revision: 1 })]);
    for (let i = 0; i < 5; i++) {
      await h.sync();
      h.settle(false); // the new pods never become available
    }
    expect(h.replicasOf("nginx:1")).toBe(4);
    expect(h.replicasOf("nginx:2")).toBe(1);
  });

  it("never scales an old ReplicaSet up while its status still counts pods it is shedding", async () => {
    const d = deployment({ replicas: 4, surge: 1, unavailable: 1, annotations: { [REVISION_ANNOTATION]: "2" } });
    const old = replicaSet(d, { image: "nginx:1", replicas: 3, available: 4, revision: 1, scaledFor: [4, 5] });
    old.status!.replicas = 4; // scaled from 4 to 3 a moment ago; the pod is still being deleted
    const h = new Harness(d, [old, replicaSet(d, { image: "nginx:2", replicas: 2, available: 1, revision: 2, createdAt: 10, scaledFor: [4, 5] })]);
    await h.sync();
    // Counting at most 3 available old pods: 3 + 1 = 4 available, one above the minimum of 3.
    expect(h.recorder.messages()).toEqual([`Normal ScalingReplicaSet Scaled down replica set ${old.metadata.name ?? ""} from 3 to 2`]);
  });

  it("records ScalingReplicaSet events in Kubernetes' wording", async () => {
    const d = deployment({ replicas: 2, surge: 1, unavailable: 0, annotations: { [REVISION_ANNOTATION]: "1" } });
    const old = replicaSet(d, { image: "nginx:1", replicas: 2, revision: 1 });
    const h = new Harness(d, [old]);
    for (let i = 0; i < 6; i++) {
      await h.sync();
      h.settle();
    }
    const newName = h.replicaSetsByImage().get("nginx:2")?.metadata.name ?? "";
    expect(h.recorder.messages()).toEqual([
      `Normal ScalingReplicaSet Scaled up replica set ${newName} from 0 to 1`,
      `Normal ScalingReplicaSet Scaled down replica set ${old.metadata.name ?? ""} from 2 to 1`,
      `Normal ScalingReplicaSet Scaled up replica set ${newName} from 1 to 2`,
      `Normal ScalingReplicaSet Scaled down replica set ${old.metadata.name ?? ""} from 1 to 0`,
    ]);
  });
});

describe("DeploymentController: Recreate", () => {
  function oldPods(rs: ReplicaSet, n: number): Pod[] {
    return Array.from({ length: n }, (_, i) =>
      newPod(`old-${i}`, {
        labels: rs.spec?.template?.metadata?.labels ?? {},
        phase: "Running",
        meta: { uid: `pod-${i}`, ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: rs.metadata.name ?? "", uid: rs.metadata.uid ?? "", controller: true }] },
      }),
    );
  }

  it("scales the old ReplicaSets to 0, waits for their pods to go, then scales the new one up", async () => {
    const d = deployment({ replicas: 3, recreate: true, annotations: { [REVISION_ANNOTATION]: "1" } });
    const old = replicaSet(d, { image: "nginx:1", replicas: 3, revision: 1 });
    const pods = oldPods(old, 3);
    const h = new Harness(d, [old], pods);
    await h.sync();
    expect(h.replicasOf("nginx:1")).toBe(0);
    expect(h.client.created("replicasets")).toEqual([]);
    h.settle(false); // spec 0, but status still shows 3 and the pods are there
    await h.sync();
    await h.sync();
    expect(h.client.created("replicasets")).toEqual([]);
    // The pods go; the last one wakes the Deployment up.
    const oldRS = h.replicaSetsByImage().get("nginx:1")!;
    oldRS.status = { replicas: 0, observedGeneration: 2 };
    h.replicaSets.update(h.client.seed(oldRS));
    await h.drain();
    for (const p of pods.slice(0, 2)) h.pods.delete(p);
    expect(h.controller.queue.len()).toBe(0);
    h.pods.delete(pods[2]!);
    expect(h.controller.queue.len()).toBe(1);
    await h.sync();
    const created = h.client.created<ReplicaSet>("replicasets");
    expect(created.map((rs) => rs.spec?.replicas)).toEqual([3]);
    expect(h.recorder.messages()).toEqual([
      `Normal ScalingReplicaSet Scaled down replica set ${old.metadata.name ?? ""} from 3 to 0`,
      `Normal ScalingReplicaSet Scaled up replica set ${created[0]?.metadata.name ?? ""} from 0 to 3`,
    ]);
  });
});

describe("DeploymentController: scaling", () => {
  it("scales a settled Deployment's only ReplicaSet", async () => {
    const d = deployment({ replicas: 5, annotations: { [REVISION_ANNOTATION]: "1" } });
    const h = new Harness(d, [replicaSet(d, { image: "nginx:2", replicas: 3, revision: 1, scaledFor: [3, 4] })]);
    await h.sync();
    expect(h.replicasOf("nginx:2")).toBe(5);
    expect(h.replicaSetsByImage().get("nginx:2")?.metadata.annotations).toMatchObject({ [DESIRED_REPLICAS_ANNOTATION]: "5", [MAX_REPLICAS_ANNOTATION]: "7" });
  });

  it.each([
    [15, 11, 7, "up"],
    [5, 5, 3, "down"],
  ])("scales a stuck rollout to %i proportionally: old %i, new %i", async (replicas, wantOld, wantNew, direction) => {
    // Kubernetes' documented example: 10 replicas, maxSurge 3, maxUnavailable 2, stuck at 8 old + 5 new.
    const d = deployment({ replicas, surge: 3, unavailable: 2, annotations: { [REVISION_ANNOTATION]: "2" } });
    const h = new Harness(d, [
      replicaSet(d, { image: "nginx:1", replicas: 8, revision: 1, scaledFor: [10, 13] }),
      replicaSet(d, { image: "nginx:2", replicas: 5, available: 0, revision: 2, createdAt: 10, scaledFor: [10, 13] }),
    ]);
    await h.sync();
    expect([h.replicasOf("nginx:1"), h.replicasOf("nginx:2")]).toEqual([wantOld, wantNew]);
    expect(h.recorder.messages().every((m) => m.includes(`Scaled ${direction} replica set`))).toBe(true);
    for (const rs of h.replicaSetsByImage().values()) expect(rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION]).toBe(String(replicas));
  });

  it("still scales, proportionally, but does not roll out while paused", async () => {
    const d = deployment({ replicas: 6, image: "nginx:3", paused: true, annotations: { [REVISION_ANNOTATION]: "1" } });
    const h = new Harness(d, [replicaSet(d, { image: "nginx:1", replicas: 3, revision: 1, scaledFor: [3, 4] })]);
    await h.sync();
    expect(h.client.created("replicasets")).toEqual([]);
    expect(h.replicasOf("nginx:1")).toBe(6);
    expect(h.condition("Progressing")).toMatchObject({ status: "Unknown", reason: "DeploymentPaused", message: "Deployment is paused" });
  });

  it("notes a resumed Deployment and rolls out", async () => {
    const status: DeploymentStatus = { conditions: [{ type: "Progressing", status: "Unknown", reason: "DeploymentPaused", message: "Deployment is paused" }] };
    const d = deployment({ replicas: 1, image: "nginx:3", annotations: { [REVISION_ANNOTATION]: "1" }, status });
    const h = new Harness(d, [replicaSet(d, { image: "nginx:1", replicas: 1, revision: 1, scaledFor: [1, 2] })]);
    await h.sync();
    expect(h.client.created("replicasets")).toHaveLength(1);
    expect(h.client.actionsFor("update", "deployments", "status")[0]?.object?.status).toMatchObject({ conditions: [{ reason: "DeploymentResumed" }] });
  });
});

describe("DeploymentController: history and progress", () => {
  it("deletes the oldest scaled-down ReplicaSets beyond revisionHistoryLimit", async () => {
    const d = deployment({
      replicas: 2,
      image: "nginx:5",
      revisionHistoryLimit: 2,
      annotations: { [REVISION_ANNOTATION]: "5" },
      status: { observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 },
    });
    const stillRunning = replicaSet(d, { image: "nginx:0", replicas: 0, revision: 1 });
    stillRunning.status = { replicas: 1, observedGeneration: 1 };
    const h = new Harness(d, [
      stillRunning,
      ...[1, 2, 3, 4].map((n) => replicaSet(d, { image: `nginx:${n}`, replicas: 0, revision: n + 1, createdAt: n })),
      replicaSet(d, { image: "nginx:5", replicas: 2, revision: 6, createdAt: 5, scaledFor: [2, 3] }),
    ]);
    const names = h.replicaSetsByImage();
    await h.sync();
    // 5 old ones, limit 2: the 3 lowest revisions go, except the one that still has a pod.
    expect(h.client.deleted("replicasets").sort()).toEqual([names.get("nginx:1")?.metadata.name, names.get("nginx:2")?.metadata.name].sort());
  });

  it("marks a rollout without progress past its deadline ProgressDeadlineExceeded, and requeues until then", async () => {
    const t = formatTime(T0);
    const stuck: DeploymentStatus = {
      observedGeneration: 1,
      replicas: 2,
      updatedReplicas: 2,
      unavailableReplicas: 2,
      conditions: [
        { type: "Available", status: "False", reason: "MinimumReplicasUnavailable", message: "Deployment does not have minimum availability.", lastUpdateTime: t, lastTransitionTime: t },
        { type: "Progressing", status: "True", reason: "ReplicaSetUpdated", message: "ReplicaSet is progressing.", lastUpdateTime: t, lastTransitionTime: t },
      ],
    };
    const d = deployment({ replicas: 2, progressDeadlineSeconds: 60, annotations: { [REVISION_ANNOTATION]: "1" }, status: stuck });
    const h = new Harness(d, [replicaSet(d, { image: "nginx:2", replicas: 2, available: 0, revision: 1, scaledFor: [2, 3] })]);
    h.clock.step(30_000);
    await h.sync();
    expect(h.client.writes()).toEqual([]);
    h.clock.step(30_999);
    expect(h.controller.queue.len()).toBe(0);
    h.clock.step(1);
    expect(h.controller.queue.len()).toBe(1);
    await h.sync();
    const rsName = h.replicaSetsByImage().get("nginx:2")?.metadata.name ?? "";
    expect(h.condition("Progressing")).toMatchObject({ status: "False", reason: "ProgressDeadlineExceeded", message: `ReplicaSet "${rsName}" has timed out progressing.` });
  });

  it("copies the ReplicaFailure condition of its new ReplicaSet", async () => {
    const d = deployment({ replicas: 1, annotations: { [REVISION_ANNOTATION]: "1" } });
    const rs = replicaSet(d, { image: "nginx:2", replicas: 1, available: 0, revision: 1, scaledFor: [1, 2] });
    rs.status!.conditions = [{ type: "ReplicaFailure", status: "True", reason: "FailedCreate", message: "quota", lastTransitionTime: formatTime(T0) }];
    const h = new Harness(d, [rs]);
    await h.sync();
    expect(h.condition("ReplicaFailure")).toMatchObject({ status: "True", reason: "FailedCreate", message: "quota" });
  });
});
