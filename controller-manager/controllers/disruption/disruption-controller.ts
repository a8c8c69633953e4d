// The disruption controller (Kubernetes' pkg/controller/disruption): keeps every PodDisruptionBudget's status
// true to the pods it selects, so that pods/eviction (apiserver/registry/policy/eviction.ts) can decide.
//
// Contract:
//   - expectedPods: with an integer minAvailable, the number of selected pods; with a percentage minAvailable or
//     any maxUnavailable, the desired replicas of the pods' controllers (ReplicaSets, ReplicationControllers,
//     StatefulSets; a ReplicaSet owned by a Deployment counts as the Deployment), each counted once. A selected
//     pod without a known controller makes the budget fail to sync (SyncFailed, no disruptions allowed).
//   - desiredHealthy: minAvailable (a percentage rounds up), or expectedPods - maxUnavailable (rounding the
//     percentage up), never below 0.
//   - currentHealthy: selected pods that are Ready and not being deleted, minus those an eviction recorded in
//     status.disruptedPods less than two minutes ago; entries whose pod is gone, terminating or too old are
//     dropped, and the budget is looked at again when the oldest entry times out.
//   - disruptionsAllowed = max(0, currentHealthy - desiredHealthy), the DisruptionAllowed condition, and
//     observedGeneration; status is written only when it changes.
//   - Level-based: PDB and pod events only enqueue budget keys; sync(key) recomputes from the caches.
import { errorMessage } from "../../../api/errors.js";
import { selectorFromLabelSelector } from "../../../api/labels.js";
import type { KubeObject } from "../../../api/meta.js";
import { isPodReady } from "../../../api/pod.js";
import { findResource } from "../../../api/resources.js";
import { formatTime, parseTime } from "../../../api/time.js";
import type { Deployment, IntOrString, Pod, PodDisruptionBudget, PodDisruptionBudgetCondition, PodDisruptionBudgetStatus, ReplicaSet, ReplicationController, StatefulSet } from "../../../api/types/index.js";
import { newControllerQueue, runWorkers } from "../../../client/controller-loop.js";
import { unwrapTombstone, type Informer } from "../../../client/informer.js";
import type { RestClient } from "../../../client/rest.js";
import type { RateLimitingQueue } from "../../../client/workqueue.js";
import { realClock, type Clock } from "../../../component-base/clock.js";
import { silentLogger, type Logger } from "../../../component-base/logging.js";
import type { Registry } from "../../../component-base/metrics.js";
import { controllerRefOf } from "../controller-utils.js";
import type { Controller, ControllerFactory } from "../types.js";

export const NAME = "disruption";
/** How long an eviction's entry in disruptedPods keeps its pod out of currentHealthy (Kubernetes' DeletionTimeout). */
export const DELETION_TIMEOUT_MS = 2 * 60 * 1000;

export const PDBS = findResource("policy", "v1", "poddisruptionbudgets")!;
export const PODS = findResource("", "v1", "pods")!;
export const REPLICASETS = findResource("apps", "v1", "replicasets")!;
export const DEPLOYMENTS = findResource("apps", "v1", "deployments")!;
export const STATEFULSETS = findResource("apps", "v1", "statefulsets")!;
export const REPLICATIONCONTROLLERS = findResource("", "v1", "replicationcontrollers")!;

export type DisruptionClient = Pick<RestClient, "updateStatus">;

export interface DisruptionControllerOptions {
  client: DisruptionClient;
  pdbs: Informer<PodDisruptionBudget>;
  pods: Informer<Pod>;
  replicaSets: Informer<ReplicaSet>;
  deployments: Informer<Deployment>;
  statefulSets: Informer<StatefulSet>;
  replicationControllers: Informer<ReplicationController>;
  clock?: Clock;
  logger?: Logger;
  metrics?: Registry;
}

/** What the budget's pods and their controllers say, before it is written into a status. */
export interface BudgetCounts {
  expectedPods: number;
  desiredHealthy: number;
  currentHealthy: number;
  disruptedPods: Record<string, string>;
  /** When the oldest kept disruptedPods entry times out (ms since the epoch); undefined when there is none. */
  recheckAt: number | undefined;
}

export class DisruptionController implements Controller {
  readonly name = NAME;
  /** PDB keys ("namespace/name"); exposed for tests that drain it. */
  readonly queue: RateLimitingQueue;
  private readonly opts: DisruptionControllerOptions;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(opts: DisruptionControllerOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
    this.logger = opts.logger ?? silentLogger();
    this.queue = newControllerQueue(NAME, { clock: this.clock, metrics: opts.metrics });
    opts.pdbs.addEventHandler({
      onAdd: (pdb) => { this.queue.add(keyOf(pdb)); },
      onUpdate: (_old, pdb) => { this.queue.add(keyOf(pdb)); },
      onDelete: (obj) => { this.queue.add(keyOf(unwrapTombstone(obj))); },
    });
    opts.pods.addEventHandler({
      onAdd: (pod) => { this.enqueueBudgetsOf(pod); },
      onUpdate: (oldPod, pod) => {
        this.enqueueBudgetsOf(pod);
        if (JSON.stringify(oldPod.metadata.labels ?? {}) !== JSON.stringify(pod.metadata.labels ?? {})) this.enqueueBudgetsOf(oldPod);
      },
      onDelete: (obj) => { this.enqueueBudgetsOf(unwrapTombstone(obj)); },
    });
  }

  run(signal: AbortSignal): Promise<void> {
    const o = this.opts;
    return runWorkers({
      queue: this.queue,
      workers: 1,
      sync: (key) => this.sync(key),
      informers: [o.pdbs, o.pods, o.replicaSets, o.deployments, o.statefulSets, o.replicationControllers],
      logger: this.logger,
      signal,
      onStart: () => { this.logger.info("Starting disruption controller"); },
      logFailure: (key, err) => {
        this.logger.warn({ key, err: errorMessage(err), retries: this.queue.numRequeues(key) }, "Syncing the disruption budget failed; retrying");
      },
    });
  }

  /** Brings the status of the budget `key` up to date with its pods; NotFound (gone from the cache) means nothing to do. */
  async sync(key: string): Promise<void> {
    const pdb = this.opts.pdbs.lister.get(key);
    if (!pdb) return;
    const now = this.clock.now();
    const namespace = pdb.metadata.namespace ?? "";
    const pods = this.opts.pods.lister.list().filter((p) => p.metadata.namespace === namespace && selects(pdb, p));
    let status: PodDisruptionBudgetStatus;
    try {
      const counts = countBudget(pdb, pods, (pod) => this.controllerScale(pod), now);
      status = budgetStatus(pdb, counts, now);
      if (counts.recheckAt !== undefined) this.queue.addAfter(key, Math.max(0, counts.recheckAt - now));
    } catch (err) {
      this.logger.info({ key, err: errorMessage(err) }, "Failed to compute the disruption budget");
      status = failedStatus(pdb, errorMessage(err), now);
    }
    if (sameStatus(pdb.status, status)) return;
    const next = structuredClone(pdb) as PodDisruptionBudget;
    next.status = status;
    await this.opts.client.updateStatus(PDBS, namespace, next);
  }

  /** The controller owning `pod` and its desired replicas, or undefined when it has none kubelab can scale. */
  private controllerScale(pod: Readonly<Pod>): { uid: string; replicas: number } | undefined {
    const ref = controllerRefOf(pod);
    if (!ref) return undefined;
    const ns = pod.metadata.namespace ?? "";
    const key = `${ns}/${ref.name}`;
    switch (ref.kind) {
      case "ReplicaSet": {
        const rs = this.opts.replicaSets.lister.get(key);
        if (!sameObject(rs, ref.uid)) return undefined;
        const owner = controllerRefOf(rs);
        const deployment = owner?.kind === "Deployment" ? this.opts.deployments.lister.get(`${ns}/${owner.name}`) : undefined;
        if (owner && sameObject(deployment, owner.uid)) return { uid: owner.uid, replicas: deployment.spec?.replicas ?? 1 };
        return { uid: ref.uid, replicas: rs.spec?.replicas ?? 1 };
      }
      case "ReplicationController": {
        const rc = this.opts.replicationControllers.lister.get(key);
        return sameObject(rc, ref.uid) ? { uid: ref.uid, replicas: rc.spec?.replicas ?? 1 } : undefined;
      }
      case "StatefulSet": {
        const sts = this.opts.statefulSets.lister.get(key);
        return sameObject(sts, ref.uid) ? { uid: ref.uid, replicas: sts.spec?.replicas ?? 1 } : undefined;
      }
      default:
        return undefined;
    }
  }

  private enqueueBudgetsOf(pod: Readonly<Pod>): void {
    for (const pdb of this.opts.pdbs.lister.list()) {
      if (pdb.metadata.namespace === pod.metadata.namespace && selects(pdb, pod)) this.queue.add(keyOf(pdb));
    }
  }
}

/** The cached object is the one an owner reference names (not a namesake created since). */
function sameObject<T extends KubeObject>(obj: Readonly<T> | undefined, uid: string): obj is Readonly<T> {
  return obj?.metadata.uid === uid;
}

export const createDisruptionController: ControllerFactory = (ctx) =>
  new DisruptionController({
    client: ctx.client,
    pdbs: ctx.informers.forResource<PodDisruptionBudget>(PDBS),
    pods: ctx.informers.forResource<Pod>(PODS),
    replicaSets: ctx.informers.forResource<ReplicaSet>(REPLICASETS),
    deployments: ctx.informers.forResource<Deployment>(DEPLOYMENTS),
    statefulSets: ctx.informers.forResource<StatefulSet>(STATEFULSETS),
    replicationControllers: ctx.informers.forResource<ReplicationController>(REPLICATIONCONTROLLERS),
    clock: ctx.clock,
    logger: ctx.logger.child({ controller: NAME }),
    metrics: ctx.metrics,
  });

// ---------------------------------------------------------------------------------------------------------------
// Builders (pure; tests reuse them)

function keyOf(obj: Readonly<KubeObject>): string {
  return `${obj.metadata.namespace ?? ""}/${obj.metadata.name ?? ""}`;
}

/** Whether the budget selects the pod; an empty selector selects every pod of the namespace (policy/v1). */
export function selects(pdb: Readonly<PodDisruptionBudget>, pod: Readonly<Pod>): boolean {
  try {
    return selectorFromLabelSelector(pdb.spec?.selector ?? {}).matches(pod.metadata.labels);
  } catch {
    return false;
  }
}

/** The counts of the file comment, from the selected pods; throws when a controller the budget needs is unknown. */
export function countBudget(
  pdb: Readonly<PodDisruptionBudget>,
  pods: readonly Readonly<Pod>[],
  scaleOf: (pod: Readonly<Pod>) => { uid: string; replicas: number } | undefined,
  now: number,
): BudgetCounts {
  const spec = pdb.spec ?? {};
  let expectedPods: number;
  let desiredHealthy: number;
  const minAvailable = spec.minAvailable;
  if (spec.maxUnavailable === undefined && (minAvailable === undefined || typeof minAvailable === "number")) {
    expectedPods = pods.length;
    desiredHealthy = typeof minAvailable === "number" ? minAvailable : 0;
  } else {
    const controllers = new Map<string, number>();
    for (const pod of pods) {
      const scale = scaleOf(pod);
      if (!scale) throw new Error(`found no controllers for pod "${pod.metadata.name ?? ""}"`);
      controllers.set(scale.uid, scale.replicas);
    }
    expectedPods = [...controllers.values()].reduce((a, b) => a + b, 0);
    desiredHealthy = spec.maxUnavailable !== undefined ? Math.max(0, expectedPods - scaled(spec.maxUnavailable, expectedPods)) : scaled(minAvailable ?? 0, expectedPods);
  }
  // Evictions the apiserver admitted whose pods are not yet seen going: they no longer count as healthy.
  const disruptedPods: Record<string, string> = {};
  let recheckAt: number | undefined;
  const byName = new Map(pods.map((p) => [p.metadata.name ?? "", p]));
  for (const [name, at] of Object.entries(pdb.status?.disruptedPods ?? {})) {
    const pod = byName.get(name);
    const since = parseTime(at);
    if (!pod || pod.metadata.deletionTimestamp !== undefined || since === undefined) continue;
    const expires = since + DELETION_TIMEOUT_MS;
    if (expires <= now) continue;
    disruptedPods[name] = at;
    recheckAt = recheckAt === undefined ? expires : Math.min(recheckAt, expires);
  }
  const currentHealthy = pods.filter((p) => p.metadata.deletionTimestamp === undefined && isPodReady(p) && !((p.metadata.name ?? "") in disruptedPods)).length;
  return { expectedPods, desiredHealthy, currentHealthy, disruptedPods, recheckAt };
}

/** An integer, or a percentage of `total` rounded up (intstr.GetScaledValueFromIntOrPercent with roundUp). */
export function scaled(value: IntOrString, total: number): number {
  if (typeof value === "number") return value;
  const percent = Number(value.replace(/%$/, ""));
  return Number.isFinite(percent) ? Math.ceil((percent * total) / 100) : 0;
}

/** The status for `counts`, keeping the DisruptionAllowed condition's transition time when its status holds. */
export function budgetStatus(pdb: Readonly<PodDisruptionBudget>, counts: BudgetCounts, now: number): PodDisruptionBudgetStatus {
  const disruptionsAllowed = Math.max(0, counts.currentHealthy - counts.desiredHealthy);
  const generation = pdb.metadata.generation ?? 0;
  const status: PodDisruptionBudgetStatus = {
    observedGeneration: generation,
    disruptionsAllowed,
    currentHealthy: counts.currentHealthy,
    desiredHealthy: counts.desiredHealthy,
    expectedPods: counts.expectedPods,
    conditions: [allowedCondition(pdb, disruptionsAllowed > 0 ? "True" : "False", disruptionsAllowed > 0 ? "SufficientPods" : "InsufficientPods", "", now)],
  };
  if (Object.keys(counts.disruptedPods).length > 0) status.disruptedPods = counts.disruptedPods;
  return status;
}

function failedStatus(pdb: Readonly<PodDisruptionBudget>, message: string, now: number): PodDisruptionBudgetStatus {
  const status: PodDisruptionBudgetStatus = { ...structuredClone(pdb.status ?? {}), disruptionsAllowed: 0, observedGeneration: pdb.metadata.generation ?? 0 };
  status.conditions = [allowedCondition(pdb, "False", "SyncFailed", message, now)];
  return status;
}

function allowedCondition(pdb: Readonly<PodDisruptionBudget>, status: "True" | "False", reason: string, message: string, now: number): PodDisruptionBudgetCondition {
  const previous = pdb.status?.conditions?.find((c) => c.type === "DisruptionAllowed");
  const lastTransitionTime = previous?.status === status && previous.lastTransitionTime ? previous.lastTransitionTime : formatTime(now);
  return { type: "DisruptionAllowed", status, observedGeneration: pdb.metadata.generation ?? 0, lastTransitionTime, reason, message };
}

function sameStatus(a: PodDisruptionBudgetStatus | undefined, b: PodDisruptionBudgetStatus): boolean {
  return JSON.stringify(normalized(a ?? {})) === JSON.stringify(normalized(b));
}

function normalized(status: PodDisruptionBudgetStatus): unknown {
  return {
    observedGeneration: status.observedGeneration ?? 0,
    disruptionsAllowed: status.disruptionsAllowed ?? 0,
    currentHealthy: status.currentHealthy ?? 0,
    desiredHealthy: status.desiredHealthy ?? 0,
    expectedPods: status.expectedPods ?? 0,
    disruptedPods: Object.entries(status.disruptedPods ?? {}).sort(),
    conditions: (status.conditions ?? []).map((c) => [c.type, c.status, c.reason ?? "", c.message ?? "", c.lastTransitionTime ?? "", c.observedGeneration ?? 0]),
  };
}
