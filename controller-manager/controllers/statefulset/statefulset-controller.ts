// The StatefulSet controller (Kubernetes' pkg/controller/statefulset). Contract:
//   - pods `<set>-<ordinal>` for ordinals [start, start+replicas), each with its claims `<template>-<set>-<ordinal>`
//     (created before the pod, never deleted by a restart; retention policy Retain by default);
//   - OrderedReady: create in ordinal order, each only once its predecessors are Running and Ready; scale down from
//     the highest ordinal, one at a time, only when all others are healthy. Parallel: no waiting either way;
//   - a failed or succeeded pod is deleted and made again under the same name;
//   - ControllerRevisions (history/): status.updateRevision is the current template's, status.currentRevision the
//     one the set rolled out last; new pods below the partition get the current revision, the others the update
//     revision; RollingUpdate deletes pods of other revisions from the highest ordinal down to the partition, one at
//     a time, waiting for each replacement to be healthy (with the MaxUnavailableStatefulSet gate: up to
//     rollingUpdate.maxUnavailable at a time); OnDelete never deletes for an update;
//   - status (replicas, readyReplicas, availableReplicas, currentReplicas, updatedReplicas, revisions,
//     observedGeneration, collisionCount) written only when changed; events as Kubernetes'.
import { errorMessage, isAlreadyExists, isNotFound, retryOnConflict } from "../../../api/errors.js";
import { isEmptySelector, selectorFromLabelSelector, type Selector } from "../../../api/labels.js";
import { objectKey } from "../../../api/meta.js";
import { availableInMs } from "../../../api/pod.js";
import { findResource } from "../../../api/resources.js";
import type { ControllerRevision } from "../../../api/types/admissionregistration.js";
import type { StatefulSet, StatefulSetStatus } from "../../../api/types/apps.js";
import type { PersistentVolumeClaim } from "../../../api/types/core-claims.js";
import type { Pod } from "../../../api/types/core.js";
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
  controllerRefOf,
  ensureControllerUidIndex,
  newControllerRef,
  orphanIndexValue,
  recheckOwner,
  releasePatch,
  semanticEqual,
} from "../controller-utils.js";
import { CONTROLLER_REVISIONS, ControllerHistory, REVISION_HASH_LABEL } from "../history/history.js";
import { scaledValue } from "../deployment/deployment-util.js";
import type { Controller, ControllerContext } from "../types.js";
import {
  claimsFor,
  isFinished,
  isRunningAndAvailable,
  isRunningAndReady,
  isTerminating,
  newStatefulPod,
  ordinalOf,
  podRevision,
  statefulCounts,
} from "./stateful-pods.js";

const PODS = findResource("", "v1", "pods")!;
const PVCS = findResource("", "v1", "persistentvolumeclaims")!;
export const STATEFULSETS = findResource("apps", "v1", "statefulsets")!;

export const NAME = "statefulset";
const COMPONENT = "statefulset-controller";
const REVISION_KIND = { apiVersion: "apps/v1", kind: "StatefulSet", hashLabel: REVISION_HASH_LABEL, hashOf: "data" } as const;

export type StatefulSetClient = Pick<RestClient, "get" | "create" | "update" | "patch" | "delete" | "updateStatus">;

export interface StatefulSetControllerOptions {
  client: StatefulSetClient;
  informer: Informer<StatefulSet>;
  podInformer: Informer<Pod>;
  claimInformer: Informer<PersistentVolumeClaim>;
  revisionInformer: Informer<ControllerRevision>;
  recorder: EventRecorder;
  clock?: Clock;
  logger?: Logger;
  metrics?: Registry;
  /** --concurrent-statefulset-syncs; default 5. */
  workers?: number;
  /**
   * The MaxUnavailableStatefulSet gate (alpha, off by default in Kubernetes 1.32): RollingUpdate then replaces up to
   * spec.updateStrategy.rollingUpdate.maxUnavailable pods at once instead of one.
   */
  maxUnavailableStatefulSet?: boolean;
}

export class StatefulSetController implements Controller {
  readonly name = NAME;
  readonly queue: RateLimitingQueue;
  private readonly client: StatefulSetClient;
  private readonly informer: Informer<StatefulSet>;
  private readonly podInformer: Informer<Pod>;
  private readonly claimInformer: Informer<PersistentVolumeClaim>;
  private readonly revisionInformer: Informer<ControllerRevision>;
  private readonly history: ControllerHistory;
  private readonly recorder: EventRecorder;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly workers: number;
  private readonly maxUnavailableStatefulSet: boolean;

  constructor(opts: StatefulSetControllerOptions) {
    this.client = opts.client;
    this.informer = opts.informer;
    this.podInformer = opts.podInformer;
    this.claimInformer = opts.claimInformer;
    this.revisionInformer = opts.revisionInformer;
    this.recorder = opts.recorder;
    this.clock = opts.clock ?? realClock;
    this.logger = opts.logger ?? silentLogger();
    this.workers = opts.workers ?? 5;
    this.maxUnavailableStatefulSet = opts.maxUnavailableStatefulSet ?? false;
    if (!Number.isInteger(this.workers) || this.workers < 1) throw new Error(`${NAME}: workers must be a positive integer, got ${this.workers}`);
    this.queue = newControllerQueue("statefulset", { clock: this.clock, metrics: opts.metrics });
    this.history = new ControllerHistory({ client: this.client, informer: this.revisionInformer, kind: REVISION_KIND, ownerResource: STATEFULSETS });
    ensureControllerUidIndex(this.podInformer);
    this.informer.addEventHandler({
      onAdd: (set) => { this.queue.add(objectKey(set.metadata)); },
      onUpdate: (_old, set) => { this.queue.add(objectKey(set.metadata)); },
      onDelete: (obj) => { this.queue.add(objectKey(unwrapTombstone(obj).metadata)); },
    });
    this.podInformer.addEventHandler({
      onAdd: (pod) => { this.podChanged(pod); },
      onUpdate: (oldPod, pod) => {
        if (oldPod.metadata.resourceVersion === pod.metadata.resourceVersion) return;
        const oldOwner = this.ownerOf(oldPod);
        if (oldOwner && oldOwner !== this.ownerOf(pod)) this.queue.add(objectKey(oldOwner.metadata));
        this.podChanged(pod);
      },
      onDelete: (obj: Readonly<Pod> | DeletedFinalStateUnknown<Pod>) => {
        const owner = this.ownerOf(unwrapTombstone(obj));
        if (owner) this.queue.add(objectKey(owner.metadata));
      },
    });
  }

  run(signal: AbortSignal): Promise<void> {
    return runWorkers({
      queue: this.queue,
      workers: this.workers,
      sync: (key) => this.sync(key),
      informers: [this.informer, this.podInformer, this.claimInformer, this.revisionInformer],
      logger: this.logger,
      signal,
    });
  }

  private podChanged(pod: Readonly<Pod>): void {
    const owner = this.ownerOf(pod);
    if (owner) {
      const key = objectKey(owner.metadata);
      this.queue.add(key);
      const minReady = owner.spec?.minReadySeconds ?? 0;
      if (minReady > 0) this.queue.addAfter(key, minReady * 1000 + 1000);
      return;
    }
    if (controllerRefOf(pod) || !pod.metadata.labels) return;
    for (const set of this.informer.lister.listNamespace(pod.metadata.namespace ?? "")) {
      if (selectorOf(set)?.matches(pod.metadata.labels) === true) this.queue.add(objectKey(set.metadata));
    }
  }

  private ownerOf(pod: Readonly<Pod>): Readonly<StatefulSet> | undefined {
    const ref = controllerRefOf(pod);
    if (ref?.kind !== "StatefulSet") return undefined;
    const set = this.informer.lister.getByName(pod.metadata.namespace, ref.name);
    return set?.metadata.uid === ref.uid ? set : undefined;
  }

  /** Reconciles the StatefulSet `key`: revisions, claims, pods in order, rolling update, then status. */
  async sync(key: string): Promise<void> {
    const set = this.informer.lister.get(key);
    if (!set) return;
    const selector = selectorOf(set);
    if (!selector) {
      this.logger.warn({ key }, "StatefulSet has an empty or invalid selector; ignoring it");
      return;
    }
    if (set.metadata.deletionTimestamp) return;
    const pods = await this.claimPods(set, selector);
    const revisions = await this.history.claim(set, selector);
    const state = await this.history.sync(set, set.spec?.template, revisions, set.status?.collisionCount ?? 0);
    const update = state.update;
    const current = state.revisions.find((r) => r.metadata.name === set.status?.currentRevision) ?? update;
    const now = this.clock.now();
    let syncError: unknown;
    try {
      await this.updatePods(set, pods, current, update, now);
    } catch (err) {
      syncError = err;
    }
    const minReady = set.spec?.minReadySeconds ?? 0;
    const counts = statefulCounts(pods, current.metadata.name ?? "", update.metadata.name ?? "", minReady, now);
    const status: StatefulSetStatus = { ...counts, currentRevision: current.metadata.name ?? "", updateRevision: update.metadata.name ?? "" };
    // The rollout is complete once every pod is of the update revision and ready.
    const rolling = (set.spec?.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate";
    if (rolling && counts.updatedReplicas === counts.replicas && counts.readyReplicas === counts.replicas) {
      status.currentRevision = update.metadata.name ?? "";
      status.currentReplicas = counts.updatedReplicas ?? 0;
    }
    if (state.collisionCount > 0) status.collisionCount = state.collisionCount;
    if (set.metadata.generation !== undefined) status.observedGeneration = set.metadata.generation;
    if (set.status?.conditions?.length) status.conditions = structuredClone(set.status.conditions);
    await this.writeStatus(set, status);
    const live = new Set<string>([status.currentRevision ?? "", status.updateRevision ?? ""]);
    for (const pod of pods) {
      const rev = podRevision(pod);
      if (rev) live.add(rev);
    }
    await this.history.truncate(state.revisions, live, set.spec?.revisionHistoryLimit ?? 10);
    if (syncError !== undefined) throw syncError instanceof Error ? syncError : new Error(errorMessage(syncError));
    if (minReady > 0) {
      const waits = pods.map((p) => availableInMs(p, minReady, now)).filter((ms): ms is number => ms !== undefined && ms > 0);
      if (waits.length > 0) this.queue.addAfter(key, Math.min(...waits));
    }
  }

  private async claimPods(set: Readonly<StatefulSet>, selector: Selector): Promise<Readonly<Pod>[]> {
    const lister = this.podInformer.lister;
    const owned = set.metadata.uid ? lister.byIndex(CONTROLLER_UID_INDEX, set.metadata.uid) : [];
    // Only pods named like members of this set may be adopted (isMemberOf).
    const orphans = lister.byIndex(CONTROLLER_UID_INDEX, orphanIndexValue(set.metadata.namespace)).filter((p) => ordinalOf(set, p) !== undefined);
    const namespace = set.metadata.namespace;
    const ref = newControllerRef(set, "apps/v1", "StatefulSet");
    const claimed = await claimObjects([...owned, ...orphans], {
      owner: set,
      selector,
      canAdopt: recheckOwner(set, () => this.client.get(STATEFULSETS, namespace, set.metadata.name ?? "")),
      adopt: async (pod) => {
        await this.client.patch(PODS, namespace, pod.metadata.name ?? "", "strategic", adoptPatch(ref, pod.metadata.uid));
      },
      release: async (pod) => {
        await this.client.patch(PODS, namespace, pod.metadata.name ?? "", "strategic", releasePatch(set.metadata.uid ?? "", pod.metadata.uid));
      },
    });
    return claimed.filter((p) => ordinalOf(set, p) !== undefined);
  }

  /** One step of updateStatefulSet: returns early whenever OrderedReady must wait. */
  private async updatePods(set: Readonly<StatefulSet>, pods: readonly Readonly<Pod>[], current: Readonly<ControllerRevision>, update: Readonly<ControllerRevision>, now: number): Promise<void> {
    const replicaCount = Math.max(0, set.spec?.replicas ?? 1);
    const start = Math.max(0, set.spec?.ordinals?.start ?? 0);
    const end = start + replicaCount;
    const monotonic = (set.spec?.podManagementPolicy ?? "OrderedReady") !== "Parallel";
    const rolling = (set.spec?.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate";
    const partition = rolling ? Math.max(0, set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0) : 0;
    const replicas = new Map<number, Readonly<Pod>>();
    const condemned: Readonly<Pod>[] = [];
    for (const pod of pods) {
      const ord = ordinalOf(set, pod)!;
      if (ord >= start && ord < end) replicas.set(ord, pod);
      else condemned.push(pod);
    }
    condemned.sort((a, b) => ordinalOf(set, b)! - ordinalOf(set, a)!);
    const healthy = (p: Readonly<Pod>): boolean => isRunningAndReady(p) && !isTerminating(p);
    const unhealthy = [...replicas.values(), ...condemned].filter((p) => !healthy(p));

    for (let ord = start; ord < end; ord++) {
      const pod = replicas.get(ord);
      if (pod && isFinished(pod) && !isTerminating(pod)) {
        this.recorder.event(set, "Warning", "RecreatingFailedPod", `StatefulSet ${objectKey(set.metadata)} is recreating ${pod.status?.phase === "Failed" ? "failed" : "terminated"} Pod ${pod.metadata.name ?? ""}`);
        await this.deletePod(set, pod);
        if (monotonic) return;
        continue;
      }
      if (!pod) {
        // New pods below the partition are of the current revision (a partitioned update keeps them old).
        const revision = rolling && ord < partition ? current : update;
        await this.createClaims(set, ord);
        await this.createPod(set, newStatefulPod(set, revision, ord));
        if (monotonic) return;
        continue;
      }
      if (isTerminating(pod)) {
        if (monotonic) return;
        continue;
      }
      // A claim deleted by hand under a live pod is made again (Kubernetes' storage identity).
      await this.createClaims(set, ord);
      if (!healthy(pod) && monotonic) return;
    }

    for (const pod of condemned) {
      if (isTerminating(pod)) {
        if (monotonic) return;
        continue;
      }
      // OrderedReady scales down only when every other pod is healthy.
      if (monotonic && unhealthy.some((p) => p !== pod)) return;
      await this.retainOrReleaseClaims(set, pod);
      await this.deletePod(set, pod);
      if (monotonic) return;
    }

    if (!rolling) return;
    const floor = Math.max(start, start + partition);
    if (this.maxUnavailableStatefulSet) {
      await this.rollMaxUnavailable(set, replicas, { start, floor, end }, update, (p) => healthy(p) && isRunningAndAvailable(p, set.spec?.minReadySeconds ?? 0, now));
      return;
    }
    for (let ord = end - 1; ord >= floor; ord--) {
      const pod = replicas.get(ord);
      if (!pod) return;
      if (podRevision(pod) !== update.metadata.name && !isTerminating(pod)) {
        this.logger.debug({ set: objectKey(set.metadata), pod: pod.metadata.name }, "Terminating pod for update");
        await this.deletePod(set, pod);
        return;
      }
      if (!healthy(pod)) return;
    }
  }

  /**
   * RollingUpdate with MaxUnavailableStatefulSet (updateStatefulSetAfterInvariantEstablished): at most
   * maxUnavailable pods (an int or a percentage of replicas, rounded down, at least 1) are unavailable; outdated pods
   * from the partition up are deleted from the highest ordinal down while room remains. OrderedReady still recreates
   * them one at a time in ordinal order (the loop above waits), Parallel all at once. As in Kubernetes, every
   * replica counts, below the partition too, and a pod is available only once it has been Ready for
   * spec.minReadySeconds (isUnavailable): a replacement fresh from Ready still holds its place in the budget, and
   * sync's requeue after the shortest remaining wait brings the next wave.
   */
  private async rollMaxUnavailable(
    set: Readonly<StatefulSet>,
    replicas: ReadonlyMap<number, Readonly<Pod>>,
    range: { start: number; floor: number; end: number },
    update: Readonly<ControllerRevision>,
    available: (p: Readonly<Pod>) => boolean,
  ): Promise<void> {
    const { start, floor, end } = range;
    const replicaCount = Math.max(0, set.spec?.replicas ?? 1);
    let maxUnavailable = 1;
    try {
      maxUnavailable = scaledValue(set.spec?.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1, replicaCount, false);
    } catch {
      maxUnavailable = 1; // validation refuses a malformed value; an old object keeps the one-at-a-time default
    }
    maxUnavailable = Math.max(1, maxUnavailable);
    let unavailable = 0;
    for (let ord = start; ord < end; ord++) {
      const pod = replicas.get(ord);
      if (!pod || !available(pod)) unavailable++;
    }
    if (unavailable >= maxUnavailable) return;
    const victims: Readonly<Pod>[] = [];
    for (let ord = end - 1; ord >= floor && victims.length < maxUnavailable - unavailable; ord--) {
      const pod = replicas.get(ord);
      if (pod && podRevision(pod) !== update.metadata.name && !isTerminating(pod)) victims.push(pod);
    }
    for (const pod of victims) {
      this.logger.debug({ set: objectKey(set.metadata), pod: pod.metadata.name }, "Terminating pod for update");
      await this.deletePod(set, pod);
    }
  }

  private async createClaims(set: Readonly<StatefulSet>, ordinal: number): Promise<void> {
    for (const claim of claimsFor(set, ordinal)) {
      const name = claim.metadata.name ?? "";
      if (this.claimInformer.lister.getByName(set.metadata.namespace, name)) continue;
      try {
        await this.client.create<PersistentVolumeClaim>(PVCS, set.metadata.namespace, claim);
        this.recorder.event(set, "Normal", "SuccessfulCreate", `create Claim ${name} Pod ${set.metadata.name ?? ""}-${ordinal} in StatefulSet ${set.metadata.name ?? ""} success`);
      } catch (err) {
        if (isAlreadyExists(err)) continue;
        this.recorder.event(set, "Warning", "FailedCreate", `create Claim ${name} for Pod ${set.metadata.name ?? ""}-${ordinal} in StatefulSet ${set.metadata.name ?? ""} failed error: ${errorMessage(err)}`);
        throw err;
      }
    }
  }

  /** whenScaled: Delete makes the condemned pod the claims' owner, so they go with it; Retain keeps them. */
  private async retainOrReleaseClaims(set: Readonly<StatefulSet>, pod: Readonly<Pod>): Promise<void> {
    if (set.spec?.persistentVolumeClaimRetentionPolicy?.whenScaled !== "Delete") return;
    const ordinal = ordinalOf(set, pod)!;
    for (const claim of claimsFor(set, ordinal)) {
      const ref = { apiVersion: "v1", kind: "Pod", name: pod.metadata.name ?? "", uid: pod.metadata.uid ?? "" };
      // An update, not a patch: the statefulset-controller's bootstrap role may update claims but not patch them.
      // A stale copy gets a conflict and the set is synced again.
      const current = this.claimInformer.lister.getByName(set.metadata.namespace, claim.metadata.name ?? "");
      if (!current || (current.metadata.ownerReferences ?? []).some((r) => r.uid === ref.uid)) continue;
      const updated: PersistentVolumeClaim = { ...current, metadata: { ...current.metadata, ownerReferences: [...(current.metadata.ownerReferences ?? []), ref] } };
      try {
        await this.client.update<PersistentVolumeClaim>(PVCS, set.metadata.namespace, updated);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  private async createPod(set: Readonly<StatefulSet>, pod: Pod): Promise<void> {
    const name = pod.metadata.name ?? "";
    try {
      await this.client.create<Pod>(PODS, set.metadata.namespace, pod);
      this.recorder.event(set, "Normal", "SuccessfulCreate", `create Pod ${name} in StatefulSet ${set.metadata.name ?? ""} successful`);
    } catch (err) {
      // The cache has not shown our pod (or its predecessor's deletion) yet: the next event brings us back.
      if (isAlreadyExists(err)) return;
      this.recorder.event(set, "Warning", "FailedCreate", `create Pod ${name} in StatefulSet ${set.metadata.name ?? ""} failed error: ${errorMessage(err)}`);
      throw err;
    }
  }

  private async deletePod(set: Readonly<StatefulSet>, pod: Readonly<Pod>): Promise<void> {
    const name = pod.metadata.name ?? "";
    try {
      await this.client.delete(PODS, pod.metadata.namespace, name, { preconditions: { uid: pod.metadata.uid ?? "" } });
      this.recorder.event(set, "Normal", "SuccessfulDelete", `delete Pod ${name} in StatefulSet ${set.metadata.name ?? ""} successful`);
    } catch (err) {
      if (isNotFound(err)) return;
      this.recorder.event(set, "Warning", "FailedDelete", `delete Pod ${name} in StatefulSet ${set.metadata.name ?? ""} failed error: ${errorMessage(err)}`);
      throw err;
    }
  }

  private async writeStatus(set: Readonly<StatefulSet>, status: StatefulSetStatus): Promise<void> {
    const wire = statusToWire(status);
    if (semanticEqual(statusToWire(set.status ?? {}), wire)) return;
    await retryOnConflict(async (previous) => {
      const base = previous === undefined ? (structuredClone(set) as StatefulSet) : await this.client.get<StatefulSet>(STATEFULSETS, set.metadata.namespace, set.metadata.name ?? "");
      if (base.metadata.uid !== set.metadata.uid) return;
      base.status = wire;
      await this.client.updateStatus<StatefulSet>(STATEFULSETS, set.metadata.namespace, base);
    }, { attempts: 2 });
  }
}

function selectorOf(set: Readonly<StatefulSet>): Selector | undefined {
  const sel = set.spec?.selector;
  if (isEmptySelector(sel)) return undefined;
  try {
    return selectorFromLabelSelector(sel);
  } catch {
    return undefined;
  }
}

/** As Kubernetes serializes it: replicas and availableReplicas always, the other counters and strings when set. */
export function statusToWire(s: Readonly<StatefulSetStatus>): StatefulSetStatus {
  const wire: StatefulSetStatus = { replicas: s.replicas ?? 0, availableReplicas: s.availableReplicas ?? 0 };
  if (s.observedGeneration) wire.observedGeneration = s.observedGeneration;
  if (s.readyReplicas) wire.readyReplicas = s.readyReplicas;
  if (s.currentReplicas) wire.currentReplicas = s.currentReplicas;
  if (s.updatedReplicas) wire.updatedReplicas = s.updatedReplicas;
  if (s.currentRevision) wire.currentRevision = s.currentRevision;
  if (s.updateRevision) wire.updateRevision = s.updateRevision;
  if (s.collisionCount) wire.collisionCount = s.collisionCount;
  if (s.conditions?.length) wire.conditions = structuredClone(s.conditions);
  return wire;
}

export function createStatefulSetController(ctx: ControllerContext): Controller {
  return new StatefulSetController({
    client: ctx.client,
    informer: ctx.informers.forResource<StatefulSet>(STATEFULSETS),
    podInformer: ctx.informers.forResource<Pod>(PODS),
    claimInformer: ctx.informers.forResource<PersistentVolumeClaim>(PVCS),
    revisionInformer: ctx.informers.forResource<ControllerRevision>(CONTROLLER_REVISIONS),
    recorder: ctx.recorder(COMPONENT),
    clock: ctx.clock,
    logger: ctx.logger.child({ controller: NAME }),
    metrics: ctx.metrics,
    workers: ctx.config.concurrentStatefulsetSyncs ?? 5,
    maxUnavailableStatefulSet: ctx.config.featureGates?.MaxUnavailableStatefulSet === true,
  });
}
