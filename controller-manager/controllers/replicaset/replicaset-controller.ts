// The ReplicaSet controller and, parameterised by kind, the ReplicationController manager (Kubernetes runs the same
// code for both: pkg/controller/replicaset and pkg/controller/replication). Contract:
//   - keep exactly spec.replicas active pods (not Succeeded/Failed, no deletionTimestamp) that match the selector;
//   - adopt matching orphans (controller ownerReference, blockOwnerDeletion) once a fresh read confirms the owner is
//     not being deleted; release owned pods that stopped matching; ignore pods another controller owns;
//   - create missing pods from the template in slow-start batches (1, 2, 4, ...; at most 500 per sync) and delete
//     extras, preferring unscheduled, pending, not ready, lower deletion cost, doubled-up, recently ready, most
//     restarted, newest;
//   - expectations: after issuing creates/deletes, the pod count is not recomputed until the informer has shown
//     every one of them (or 5 minutes passed), so a slow watch never causes double creates or deletes;
//   - status (replicas, fullyLabeledReplicas, readyReplicas, availableReplicas, observedGeneration, the
//     ReplicaFailure condition) is written last and only when it changed; the key is requeued for the moment a
//     ready pod becomes available (minReadySeconds).
import { errorMessage, isNotFound, retryOnConflict, toError } from "../../../api/errors.js";
import { isEmptySelector, selectorFromLabelSelector, selectorFromSet, type Selector } from "../../../api/labels.js";
import { objectKey, type KubeObject, type ObjectMeta } from "../../../api/meta.js";
import { availableInMs, isPodActive, isPodReady, podKey, podReadyCondition } from "../../../api/pod.js";
import { findResource, type ResourceInfo } from "../../../api/resources.js";
import { formatTime, parseTime } from "../../../api/time.js";
import type { ReplicaSet } from "../../../api/types/apps.js";
import type { Pod, ReplicationController } from "../../../api/types/core.js";
import { newControllerQueue, runWorkers } from "../../../client/controller-loop.js";
import type { EventRecorder } from "../../../client/event-recorder.js";
import { unwrapTombstone, type DeletedFinalStateUnknown, type Informer } from "../../../client/informer.js";
import type { RestClient } from "../../../client/rest.js";
import type { RateLimitingQueue } from "../../../client/workqueue.js";
import { realClock, type Clock } from "../../../component-base/clock.js";
import { silentLogger, type Logger } from "../../../component-base/logging.js";
import type { Registry } from "../../../component-base/metrics.js";
import {
  adoptPatch,
  claimObjects,
  CONTROLLER_UID_INDEX,
  ControllerExpectations,
  controllerRefOf,
  ensureControllerUidIndex,
  newControllerRef,
  orphanIndexValue,
  recheckOwner,
  releasePatch,
  semanticEqual,
} from "../controller-utils.js";
import type { Controller, ControllerContext } from "../types.js";

const PODS = findResource("", "v1", "pods")!;
const REPLICASETS = findResource("apps", "v1", "replicasets")!;
const REPLICATIONCONTROLLERS = findResource("", "v1", "replicationcontrollers")!;

/** At most this many creates or deletes per sync (Kubernetes' BurstReplicas). */
export const BURST_REPLICAS = 500;
/** The first slow-start batch; each later batch doubles (Kubernetes' SlowStartInitialBatchSize). */
export const SLOW_START_INITIAL_BATCH_SIZE = 1;
/** Pods with a lower value of this annotation are deleted first when scaling down. */
export const POD_DELETION_COST_ANNOTATION = "controller.kubernetes.io/pod-deletion-cost";

/** A ReplicaSet or a ReplicationController: the shapes differ only in the selector. */
export type Replicated = ReplicaSet | ReplicationController;

/** The status both kinds share. */
export interface ReplicaStatus {
  replicas: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  conditions?: ReplicaCondition[];
}

export interface ReplicaCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

/** What tells a ReplicaSet controller from a ReplicationController manager. */
export interface ReplicaKind {
  /** The --controllers name. */
  name: "replicaset" | "replicationcontroller";
  kind: "ReplicaSet" | "ReplicationController";
  apiVersion: string;
  resource: ResourceInfo;
  /** The workqueue (metrics) name, Kubernetes' own. */
  queueName: string;
  /** Events' source component. */
  component: string;
  /** The selector of `owner`; undefined when empty or invalid, which selects nothing. */
  selector(owner: Readonly<Replicated>): Selector | undefined;
}

export const REPLICA_SET_KIND: ReplicaKind = {
  name: "replicaset",
  kind: "ReplicaSet",
  apiVersion: "apps/v1",
  resource: REPLICASETS,
  queueName: "replicaset",
  component: "replicaset-controller",
  selector: (owner) => {
    const sel = (owner as ReplicaSet).spec?.selector;
    if (isEmptySelector(sel)) return undefined;
    try {
      return selectorFromLabelSelector(sel);
    } catch {
      return undefined;
    }
  },
};

export const REPLICATION_CONTROLLER_KIND: ReplicaKind = {
  name: "replicationcontroller",
  kind: "ReplicationController",
  apiVersion: "v1",
  resource: REPLICATIONCONTROLLERS,
  queueName: "replicationmanager",
  component: "replication-controller",
  selector: (owner) => {
    const sel = (owner as ReplicationController).spec?.selector;
    if (!sel || Object.keys(sel).length === 0) return undefined;
    try {
      return selectorFromSet(sel);
    } catch {
      return undefined;
    }
  },
};

/** The calls the controller makes; RestClient (and the testing FakeClient) provide them. */
export type ReplicaSetClient = Pick<RestClient, "get" | "create" | "patch" | "delete" | "updateStatus">;

export interface ReplicaSetControllerOptions {
  kind: ReplicaKind;
  client: ReplicaSetClient;
  /** The informer of kind.resource. */
  informer: Informer<Replicated>;
  podInformer: Informer<Pod>;
  recorder: EventRecorder;
  clock?: Clock;
  logger?: Logger;
  /** For workqueue_* metrics. */
  metrics?: Registry;
  /** Worker loops (--concurrent-replicaset-syncs / --concurrent-rc-syncs); default 5. */
  workers?: number;
  /** Creates or deletes per sync; default BURST_REPLICAS. */
  burstReplicas?: number;
}

export class ReplicaSetController implements Controller {
  readonly name: string;
  readonly queue: RateLimitingQueue;
  readonly expectations: ControllerExpectations;
  private readonly kind: ReplicaKind;
  private readonly client: ReplicaSetClient;
  private readonly informer: Informer<Replicated>;
  private readonly podInformer: Informer<Pod>;
  private readonly recorder: EventRecorder;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly workers: number;
  private readonly burstReplicas: number;

  constructor(opts: ReplicaSetControllerOptions) {
    this.kind = opts.kind;
    this.name = opts.kind.name;
    this.client = opts.client;
    this.informer = opts.informer;
    this.podInformer = opts.podInformer;
    this.recorder = opts.recorder;
    this.clock = opts.clock ?? realClock;
    this.logger = opts.logger ?? silentLogger();
    this.workers = opts.workers ?? 5;
    this.burstReplicas = opts.burstReplicas ?? BURST_REPLICAS;
    if (!Number.isInteger(this.workers) || this.workers < 1) throw new Error(`${this.name}: workers must be a positive integer, got ${this.workers}`);
    if (!Number.isInteger(this.burstReplicas) || this.burstReplicas < 1) throw new Error(`${this.name}: burstReplicas must be a positive integer, got ${this.burstReplicas}`);
    if (opts.informer.resource.resource !== opts.kind.resource.resource) throw new Error(`${this.name}: informer is for ${opts.informer.resource.resource}, want ${opts.kind.resource.resource}`);
    this.queue = newControllerQueue(opts.kind.queueName, { clock: this.clock, metrics: opts.metrics });
    this.expectations = new ControllerExpectations(this.clock);
    ensureControllerUidIndex(this.podInformer);
    this.informer.addEventHandler({
      onAdd: (owner) => {
        this.queue.add(objectKey(owner.metadata));
      },
      onUpdate: (oldOwner, owner) => {
        this.updateOwner(oldOwner, owner);
      },
      onDelete: (obj) => {
        this.deleteOwner(obj);
      },
    });
    this.podInformer.addEventHandler({
      onAdd: (pod) => {
        this.addPod(pod);
      },
      onUpdate: (oldPod, pod) => {
        this.updatePod(oldPod, pod);
      },
      onDelete: (obj) => {
        this.deletePod(obj);
      },
    });
  }

  run(signal: AbortSignal): Promise<void> {
    return runWorkers({
      queue: this.queue,
      workers: this.workers,
      sync: (key) => this.sync(key),
      informers: [this.informer, this.podInformer],
      logger: this.logger,
      signal,
    });
  }

  // ---- handlers: compute keys, note observed expectations, enqueue -----------------------------------------

  private updateOwner(oldOwner: Readonly<Replicated>, owner: Readonly<Replicated>): void {
    // Deleted and recreated under the same name: the old one's expectations are void.
    if (oldOwner.metadata.uid !== owner.metadata.uid) this.deleteOwner(oldOwner);
    this.queue.add(objectKey(owner.metadata));
  }

  private deleteOwner(obj: Readonly<Replicated> | DeletedFinalStateUnknown<Replicated>): void {
    const owner = unwrapTombstone(obj);
    const key = objectKey(owner.metadata);
    this.expectations.delete(key);
    this.queue.add(key);
  }

  private addPod(pod: Readonly<Pod>): void {
    // After a restart a pod may show up already being deleted: that counts as a deletion.
    if (pod.metadata.deletionTimestamp) {
      this.deletePod(pod);
      return;
    }
    const ref = controllerRefOf(pod);
    if (ref) {
      const owner = this.resolveControllerRef(pod.metadata.namespace, ref);
      if (!owner) return;
      const key = objectKey(owner.metadata);
      this.expectations.creationObserved(key);
      this.queue.add(key);
      return;
    }
    // An orphan: every owner that selects it may want to adopt it.
    for (const owner of this.ownersSelecting(pod)) this.queue.add(objectKey(owner.metadata));
  }

  private updatePod(oldPod: Readonly<Pod>, pod: Readonly<Pod>): void {
    if (oldPod.metadata.resourceVersion === pod.metadata.resourceVersion) return; // a resync: nothing changed
    const labelsChanged = !semanticEqual(oldPod.metadata.labels, pod.metadata.labels);
    if (pod.metadata.deletionTimestamp) {
      // Graceful deletion started: count the deletion now rather than when the pod finally goes.
      this.deletePod(pod);
      if (labelsChanged) this.deletePod(oldPod);
      return;
    }
    const ref = controllerRefOf(pod);
    const oldRef = controllerRefOf(oldPod);
    const refChanged = ref?.uid !== oldRef?.uid;
    if (refChanged && oldRef) {
      const oldOwner = this.resolveControllerRef(oldPod.metadata.namespace, oldRef);
      if (oldOwner) this.queue.add(objectKey(oldOwner.metadata));
    }
    if (ref) {
      const owner = this.resolveControllerRef(pod.metadata.namespace, ref);
      if (!owner) return;
      const key = objectKey(owner.metadata);
      this.queue.add(key);
      const minReady = owner.spec?.minReadySeconds ?? 0;
      // Look again once the pod has been ready long enough to count as available.
      if (minReady > 0 && !isPodReady(oldPod) && isPodReady(pod)) this.queue.addAfter(key, minReady * 1000 + 1000);
      return;
    }
    if (labelsChanged || refChanged) for (const owner of this.ownersSelecting(pod)) this.queue.add(objectKey(owner.metadata));
  }

  private deletePod(obj: Readonly<Pod> | DeletedFinalStateUnknown<Pod>): void {
    const pod = unwrapTombstone(obj);
    const ref = controllerRefOf(pod);
    if (!ref) return; // orphans being deleted concern nobody
    const owner = this.resolveControllerRef(pod.metadata.namespace, ref);
    if (!owner) return;
    const key = objectKey(owner.metadata);
    this.expectations.deletionObserved(key, podKey(pod));
    this.queue.add(key);
  }

  /** The cached owner a controller reference points at, if it is of our kind and still the same object (uid). */
  private resolveControllerRef(namespace: string | undefined, ref: Readonly<{ kind: string; name: string; uid: string }>): Readonly<Replicated> | undefined {
    if (ref.kind !== this.kind.kind) return undefined;
    const owner = this.informer.lister.getByName(namespace, ref.name);
    return owner?.metadata.uid === ref.uid ? owner : undefined;
  }

  private ownersSelecting(pod: Readonly<Pod>): Readonly<Replicated>[] {
    const labels = pod.metadata.labels;
    if (!labels || Object.keys(labels).length === 0) return [];
    return this.informer.lister.listNamespace(pod.metadata.namespace ?? "").filter((owner) => this.kind.selector(owner)?.matches(labels) === true);
  }

  // ---- sync ----------------------------------------------------------------------------------------------------

  /** Level-based and idempotent: reconcile the owner `key` ("namespace/name") with its pods, then write status. */
  async sync(key: string): Promise<void> {
    const owner = this.informer.lister.get(key);
    if (!owner) {
      this.expectations.delete(key);
      return;
    }
    const selector = this.kind.selector(owner);
    if (!selector) {
      this.logger.warn({ key }, `${this.kind.kind} has an empty or invalid selector; ignoring it`);
      return;
    }
    const needsSync = this.expectations.satisfied(key);
    const pods = await this.claimPods(owner, selector, this.candidatePods(owner).filter(isPodActive));
    let manageError: unknown;
    if (needsSync && !owner.metadata.deletionTimestamp) {
      try {
        await this.manageReplicas(key, owner, pods);
      } catch (err) {
        manageError = err;
      }
    }
    const now = this.clock.now();
    const status = calculateStatus(owner, pods, manageError, now);
    await this.writeStatus(owner, status);
    if (manageError !== undefined) throw toError(manageError);
    // Come back when the next ready pod has been ready for minReadySeconds.
    const minReady = owner.spec?.minReadySeconds ?? 0;
    if (minReady > 0) {
      const waits = pods.map((p) => availableInMs(p, minReady, now)).filter((ms): ms is number => ms !== undefined && ms > 0);
      if (waits.length > 0) this.queue.addAfter(key, Math.min(...waits));
    }
  }

  /** Pods this owner controls plus the namespace's orphans (the only ones it could adopt). */
  private candidatePods(owner: Readonly<Replicated>): Readonly<Pod>[] {
    const lister = this.podInformer.lister;
    const owned = owner.metadata.uid ? lister.byIndex(CONTROLLER_UID_INDEX, owner.metadata.uid) : [];
    return [...owned, ...lister.byIndex(CONTROLLER_UID_INDEX, orphanIndexValue(owner.metadata.namespace))];
  }

  private claimPods(owner: Readonly<Replicated>, selector: Selector, pods: readonly Readonly<Pod>[]): Promise<Readonly<Pod>[]> {
    const namespace = owner.metadata.namespace;
    const ownerUid = owner.metadata.uid ?? "";
    const ref = newControllerRef(owner, this.kind.apiVersion, this.kind.kind);
    return claimObjects(pods, {
      owner,
      selector,
      canAdopt: recheckOwner(owner, () => this.client.get(this.kind.resource, namespace, owner.metadata.name ?? "")),
      adopt: async (pod) => {
        await this.client.patch(PODS, namespace, pod.metadata.name ?? "", "strategic", adoptPatch(ref, pod.metadata.uid));
        this.logger.debug({ pod: podKey(pod), owner: objectKey(owner.metadata) }, "Adopted pod");
      },
      release: async (pod) => {
        await this.client.patch(PODS, namespace, pod.metadata.name ?? "", "strategic", releasePatch(ownerUid, pod.metadata.uid));
        this.logger.debug({ pod: podKey(pod), owner: objectKey(owner.metadata) }, "Released pod");
      },
    });
  }

  private async manageReplicas(key: string, owner: Readonly<Replicated>, pods: readonly Readonly<Pod>[]): Promise<void> {
    const replicas = owner.spec?.replicas ?? 1;
    const diff = pods.length - replicas;
    if (diff < 0) {
      const count = Math.min(-diff, this.burstReplicas);
      this.expectations.expectCreations(key, count);
      this.logger.debug({ key, need: replicas, have: pods.length, creating: count }, "Too few replicas");
      const { successes, error } = await slowStartBatch(count, SLOW_START_INITIAL_BATCH_SIZE, () => this.createPod(owner));
      // Creations that failed or were never tried will never be observed.
      for (let i = successes; i < count; i++) this.expectations.creationObserved(key);
      if (error !== undefined) throw toError(error);
    } else if (diff > 0) {
      const count = Math.min(diff, this.burstReplicas);
      const victims = podsToDelete(pods, count);
      this.expectations.expectDeletions(key, victims.map(podKey));
      this.logger.debug({ key, need: replicas, have: pods.length, deleting: count }, "Too many replicas");
      const results = await Promise.allSettled(victims.map((pod) => this.deletePodOf(owner, pod)));
      let firstError: unknown;
      results.forEach((result, i) => {
        if (result.status === "fulfilled") return;
        const pod = victims[i]!;
        // The deletion will never be observed (or already happened, for NotFound).
        this.expectations.deletionObserved(key, podKey(pod));
        if (!isNotFound(result.reason)) firstError ??= result.reason;
      });
      if (firstError !== undefined) throw toError(firstError);
    }
  }

  private async createPod(owner: Readonly<Replicated>): Promise<void> {
    try {
      const created = await this.client.create<Pod>(PODS, owner.metadata.namespace, newPodFor(owner, this.kind));
      this.recorder.event(owner, "Normal", "SuccessfulCreate", `Created pod: ${created.metadata.name ?? ""}`);
    } catch (err) {
      this.recorder.event(owner, "Warning", "FailedCreate", `Error creating: ${errorMessage(err)}`);
      throw err;
    }
  }

  private async deletePodOf(owner: Readonly<Replicated>, pod: Readonly<Pod>): Promise<void> {
    const name = pod.metadata.name ?? "";
    try {
      await this.client.delete(PODS, pod.metadata.namespace, name, { preconditions: { uid: pod.metadata.uid ?? "" } });
      this.recorder.event(owner, "Normal", "SuccessfulDelete", `Deleted pod: ${name}`);
    } catch (err) {
      if (!isNotFound(err)) this.recorder.event(owner, "Warning", "FailedDelete", `Error deleting: ${errorMessage(err)}`);
      throw err;
    }
  }

  /** Writes `status` unless it equals what is stored; one retry on a fresh read after a conflict (Kubernetes'). */
  private async writeStatus(owner: Readonly<Replicated>, status: ReplicaStatus): Promise<void> {
    const generation = owner.metadata.generation;
    const wanted: ReplicaStatus = { ...status };
    if (generation !== undefined) wanted.observedGeneration = generation;
    const wire = statusToWire(wanted);
    if (semanticEqual(statusToWire(owner.status ?? { replicas: 0 }), wire)) return;
    const info = this.kind.resource;
    const next = structuredClone(owner) as Replicated;
    next.status = wire;
    await retryOnConflict(async (previous) => {
      if (previous === undefined) {
        await this.client.updateStatus<Replicated>(info, owner.metadata.namespace, next);
        return;
      }
      const fresh = await this.client.get<Replicated>(info, owner.metadata.namespace, owner.metadata.name ?? "");
      if (fresh.metadata.uid !== owner.metadata.uid) return;
      fresh.status = wire;
      await this.client.updateStatus<Replicated>(info, owner.metadata.namespace, fresh);
    }, { attempts: 2 });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Factories (registered in controllers/registry.ts)

export function createReplicaSetController(ctx: ControllerContext): Controller {
  return newForKind(ctx, REPLICA_SET_KIND, ctx.config.concurrentReplicasetSyncs);
}

export function createReplicationControllerController(ctx: ControllerContext): Controller {
  return newForKind(ctx, REPLICATION_CONTROLLER_KIND, ctx.config.concurrentRcSyncs);
}

function newForKind(ctx: ControllerContext, kind: ReplicaKind, workers: number): ReplicaSetController {
  return new ReplicaSetController({
    kind,
    client: ctx.client,
    informer: ctx.informers.forResource<Replicated>(kind.resource),
    podInformer: ctx.informers.forResource<Pod>(PODS),
    recorder: ctx.recorder(kind.component),
    clock: ctx.clock,
    logger: ctx.logger.child({ controller: kind.name }),
    metrics: ctx.metrics,
    workers,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Pure helpers and builders (tests reuse them)

/**
 * Runs `fn` count times in batches of 1, 2, 4, ... (all calls of a batch concurrently), stopping after the first
 * batch with a failure, so a quota or admission problem costs one failed call, not hundreds.
 */
export async function slowStartBatch(count: number, initialBatchSize: number, fn: () => Promise<void>): Promise<{ successes: number; error?: unknown }> {
  let remaining = count;
  let successes = 0;
  for (let batch = Math.min(remaining, initialBatchSize); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn()));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    successes += batch - failed.length;
    if (failed.length > 0) return { successes, error: failed[0]!.reason };
    remaining -= batch;
  }
  return { successes };
}

const PHASE_ORDER: Readonly<Record<string, number>> = { Pending: 0, Unknown: 1, Running: 2 };

function deletionCost(pod: Readonly<Pod>): number {
  const raw = pod.metadata.annotations?.[POD_DELETION_COST_ANNOTATION];
  const n = raw === undefined ? 0 : Number(raw);
  return Number.isInteger(n) ? n : 0;
}

function maxRestarts(pod: Readonly<Pod>): number {
  return Math.max(0, ...(pod.status?.containerStatuses ?? []).map((c) => c.restartCount));
}

function readySince(pod: Readonly<Pod>): number | undefined {
  return parseTime(podReadyCondition(pod)?.lastTransitionTime);
}

/** Later first, and an unknown time before any known one (Kubernetes' afterOrZero). */
function laterFirst(a: number | undefined, b: number | undefined): number {
  if (a === undefined || b === undefined) return a === undefined ? (b === undefined ? 0 : -1) : 1;
  return b - a;
}

/**
 * Kubernetes' ActivePodsWithRanks order: negative when `a` should be deleted before `b`. `rank` counts the
 * controller's pods on the same node (doubled-up pods go first).
 */
export function compareForDeletion(a: Readonly<Pod>, b: Readonly<Pod>, rankA = 0, rankB = 0): number {
  const nodeA = a.spec?.nodeName ?? "";
  const nodeB = b.spec?.nodeName ?? "";
  if (nodeA !== nodeB && (nodeA === "" || nodeB === "")) return nodeA === "" ? -1 : 1;
  const phaseA = PHASE_ORDER[a.status?.phase ?? ""] ?? 0;
  const phaseB = PHASE_ORDER[b.status?.phase ?? ""] ?? 0;
  if (phaseA !== phaseB) return phaseA - phaseB;
  const readyA = isPodReady(a);
  const readyB = isPodReady(b);
  if (readyA !== readyB) return readyA ? 1 : -1;
  const costA = deletionCost(a);
  const costB = deletionCost(b);
  if (costA !== costB) return costA - costB;
  if (rankA !== rankB) return rankB - rankA;
  if (readyA && readyB) {
    const since = laterFirst(readySince(a), readySince(b));
    if (since !== 0) return since;
  }
  const restarts = maxRestarts(b) - maxRestarts(a);
  if (restarts !== 0) return restarts;
  return laterFirst(parseTime(a.metadata.creationTimestamp), parseTime(b.metadata.creationTimestamp));
}

/** The `count` pods to delete first (all of them when count covers the list). */
export function podsToDelete(pods: readonly Readonly<Pod>[], count: number): Readonly<Pod>[] {
  if (count >= pods.length) return [...pods];
  const perNode = new Map<string, number>();
  for (const p of pods) {
    const node = p.spec?.nodeName;
    if (node) perNode.set(node, (perNode.get(node) ?? 0) + 1);
  }
  const rank = (p: Readonly<Pod>): number => (p.spec?.nodeName ? (perNode.get(p.spec.nodeName) ?? 0) : 0);
  return [...pods].sort((a, b) => compareForDeletion(a, b, rank(a), rank(b))).slice(0, count);
}

/** Kubernetes' calculateStatus: counts over the owner's active pods, plus the ReplicaFailure condition. */
export function calculateStatus(owner: Readonly<Replicated>, pods: readonly Readonly<Pod>[], manageError: unknown, now: number): ReplicaStatus {
  const templateLabels = selectorFromSet(owner.spec?.template?.metadata?.labels);
  const minReady = owner.spec?.minReadySeconds ?? 0;
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const pod of pods) {
    if (templateLabels.matches(pod.metadata.labels)) fullyLabeled++;
    if (isPodReady(pod)) {
      ready++;
      if (availableInMs(pod, minReady, now) === 0) available++;
    }
  }
  const conditions: ReplicaCondition[] = structuredClone((owner.status?.conditions ?? []) as ReplicaCondition[]);
  const failureAt = conditions.findIndex((c) => c.type === "ReplicaFailure");
  if (manageError !== undefined && failureAt < 0) {
    const diff = pods.length - (owner.spec?.replicas ?? 1);
    const reason = diff < 0 ? "FailedCreate" : diff > 0 ? "FailedDelete" : "";
    conditions.push({ type: "ReplicaFailure", status: "True", lastTransitionTime: formatTime(now), reason, message: errorMessage(manageError) });
  } else if (manageError === undefined && failureAt >= 0) {
    conditions.splice(failureAt, 1);
  }
  const status: ReplicaStatus = { replicas: pods.length, fullyLabeledReplicas: fullyLabeled, readyReplicas: ready, availableReplicas: available };
  const observed = owner.status?.observedGeneration;
  if (observed !== undefined) status.observedGeneration = observed;
  if (conditions.length > 0) status.conditions = conditions;
  return status;
}

/** The status as Kubernetes serializes it: `replicas` always, other counters only when non-zero (omitempty). */
export function statusToWire(status: Readonly<Partial<ReplicaStatus>>): ReplicaStatus {
  const wire: ReplicaStatus = { replicas: status.replicas ?? 0 };
  if (status.fullyLabeledReplicas) wire.fullyLabeledReplicas = status.fullyLabeledReplicas;
  if (status.readyReplicas) wire.readyReplicas = status.readyReplicas;
  if (status.availableReplicas) wire.availableReplicas = status.availableReplicas;
  if (status.observedGeneration) wire.observedGeneration = status.observedGeneration;
  if (status.conditions?.length) wire.conditions = structuredClone<ReplicaCondition[]>(status.conditions);
  return wire;
}

/** The pod an owner creates: the template's labels, annotations, finalizers and spec, generateName "<owner>-". */
export function newPodFor(owner: Readonly<Replicated>, kind: Pick<ReplicaKind, "apiVersion" | "kind">): Pod {
  const template = owner.spec?.template;
  const meta: ObjectMeta = {
    generateName: `${owner.metadata.name ?? ""}-`,
    ownerReferences: [newControllerRef(owner, kind.apiVersion, kind.kind)],
  };
  if (owner.metadata.namespace !== undefined) meta.namespace = owner.metadata.namespace;
  const tmeta = template?.metadata;
  if (tmeta?.labels) meta.labels = { ...tmeta.labels };
  if (tmeta?.annotations) meta.annotations = { ...tmeta.annotations };
  if (tmeta?.finalizers) meta.finalizers = [...tmeta.finalizers];
  return { apiVersion: "v1", kind: "Pod", metadata: meta, spec: structuredClone(template?.spec ?? { containers: [] }) };
}

/** For callers that need to know an object's kind at a glance (logs, tests). */
export function isReplicationController(obj: Readonly<KubeObject>): obj is ReplicationController {
  return obj.kind === "ReplicationController";
}
