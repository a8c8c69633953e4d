// The Deployment controller (Kubernetes' pkg/controller/deployment: deployment_controller.go, sync.go, rolling.go,
// recreate.go, progress.go). A Deployment owns ReplicaSets named <deployment>-<pod-template-hash>; the one whose
// template equals the Deployment's (ignoring the hash label) is the new one, the rest are old. Contract:
//   - the new ReplicaSet's template is the Deployment's verbatim plus the hash label (also in its selector and
//     labels), so kubectl's rollout history/undo (which match ReplicaSets to revisions by template) recognise it; reusing an old template (a rollback)
//     reuses its ReplicaSet;
//   - revisions: the new ReplicaSet gets max(old revisions)+1 in deployment.kubernetes.io/revision (the numbers a
//     reused one had go to revision-history) and the Deployment the same annotation, so it always has annotations;
//     the Deployment's own annotations (change-cause) are copied to the new ReplicaSet; desired-replicas and
//     max-replicas record the size each ReplicaSet was scaled for (the basis of proportional scaling);
//   - RollingUpdate keeps at most replicas+maxSurge pods and at least replicas-maxUnavailable available ones;
//     Recreate scales the old ReplicaSets to 0, waits for their pods to be gone, then scales the new one up;
//   - paused: no rollout, but a replicas change still scales proportionally; revisionHistoryLimit old ReplicaSets
//     with no replicas are kept, older ones deleted;
//   - status (observedGeneration, replicas, updated/ready/available/unavailable, conditions Available and
//     Progressing, collisionCount) is written last and only when it changed; a rollout without progress for
//     progressDeadlineSeconds gets Progressing=False ProgressDeadlineExceeded.
import { errorMessage, isAlreadyExists, isNotFound } from "../../../api/errors.js";
import { isEmptySelector, selectorFromLabelSelector, type Selector } from "../../../api/labels.js";
import { objectKey, type OwnerReference } from "../../../api/meta.js";
import { isPodTerminal } from "../../../api/pod.js";
import { findResource } from "../../../api/resources.js";
import type { AppsCondition, Deployment, DeploymentStatus, ReplicaSet } from "../../../api/types/apps.js";
import { parseTime } from "../../../api/time.js";
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
  recheckOwner,
  releasePatch,
  semanticEqual,
} from "../controller-utils.js";
import type { Controller, ControllerContext } from "../types.js";
import {
  byCreationTimestamp,
  byRevision,
  bySizeNewer,
  bySizeOlder,
  calculateStatus,
  computeHash,
  CONDITION_PROGRESSING,
  CONDITION_REPLICA_FAILURE,
  deploymentComplete,
  deploymentProgressing,
  deploymentStatusToWire,
  deploymentTimedOut,
  desiredReplicasAnnotation,
  equalIgnoreHash,
  filterActive,
  findActiveOrLatest,
  findNewReplicaSet,
  findOldReplicaSets,
  getCondition,
  hasProgressDeadline,
  hasRevisionHistoryLimit,
  isRecreate,
  isRollingUpdate,
  isSaturated,
  maxRevision,
  maxSurge,
  maxUnavailable,
  newCondition,
  newRSNewReplicas,
  POD_TEMPLATE_HASH_LABEL,
  REASON_FAILED_RS_CREATE,
  REASON_FOUND_NEW_RS,
  REASON_NEW_REPLICA_SET,
  REASON_NEW_RS_AVAILABLE,
  REASON_PAUSED,
  REASON_REPLICA_SET_UPDATED,
  REASON_RESUMED,
  REASON_TIMED_OUT,
  removeCondition,
  replicasAnnotationsNeedUpdate,
  replicasOf,
  replicaSetProportion,
  REVISION_ANNOTATION,
  selectorWithLabel,
  setCondition,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
  sumSpecReplicas,
  sumStatusReplicas,
} from "./deployment-util.js";

const PODS = findResource("", "v1", "pods")!;
const REPLICASETS = findResource("apps", "v1", "replicasets")!;
const DEPLOYMENTS = findResource("apps", "v1", "deployments")!;

type RS = Readonly<ReplicaSet>;

/** The calls the controller makes; RestClient (and the testing FakeClient) provide them. */
export type DeploymentClient = Pick<RestClient, "get" | "create" | "update" | "updateStatus" | "patch" | "delete">;

export interface DeploymentControllerOptions {
  client: DeploymentClient;
  deploymentInformer: Informer<Deployment>;
  replicaSetInformer: Informer<ReplicaSet>;
  podInformer: Informer<Pod>;
  recorder: EventRecorder;
  clock?: Clock;
  logger?: Logger;
  metrics?: Registry;
  /** --concurrent-deployment-syncs; default 5. */
  workers?: number;
}

export class DeploymentController implements Controller {
  readonly name = "deployment";
  readonly queue: RateLimitingQueue;
  private readonly client: DeploymentClient;
  private readonly deployments: Informer<Deployment>;
  private readonly replicaSets: Informer<ReplicaSet>;
  private readonly pods: Informer<Pod>;
  private readonly recorder: EventRecorder;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly workers: number;

  constructor(opts: DeploymentControllerOptions) {
    this.client = opts.client;
    this.deployments = opts.deploymentInformer;
    this.replicaSets = opts.replicaSetInformer;
    this.pods = opts.podInformer;
    this.recorder = opts.recorder;
    this.clock = opts.clock ?? realClock;
    this.logger = opts.logger ?? silentLogger();
    this.workers = opts.workers ?? 5;
    if (!Number.isInteger(this.workers) || this.workers < 1) throw new Error(`deployment: workers must be a positive integer, got ${this.workers}`);
    this.queue = newControllerQueue("deployment", { clock: this.clock, metrics: opts.metrics });
    ensureControllerUidIndex(this.replicaSets);
    ensureControllerUidIndex(this.pods);
    this.deployments.addEventHandler({
      onAdd: (d) => {
        this.enqueue(d);
      },
      onUpdate: (_old, d) => {
        this.enqueue(d);
      },
      onDelete: (obj) => {
        this.enqueue(unwrapTombstone(obj));
      },
    });
    this.replicaSets.addEventHandler({
      onAdd: (rs) => {
        this.addReplicaSet(rs);
      },
      onUpdate: (oldRS, rs) => {
        this.updateReplicaSet(oldRS, rs);
      },
      onDelete: (obj) => {
        this.deleteReplicaSet(obj);
      },
    });
    this.pods.addEventHandler({
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
      informers: [this.deployments, this.replicaSets, this.pods],
      logger: this.logger,
      signal,
    });
  }

  // ---- handlers --------------------------------------------------------------------------------------------

  private enqueue(d: Readonly<Deployment>): void {
    this.queue.add(objectKey(d.metadata));
  }

  private addReplicaSet(rs: RS): void {
    if (rs.metadata.deletionTimestamp) {
      this.deleteReplicaSet(rs);
      return;
    }
    const ref = controllerRefOf(rs);
    if (ref) {
      const d = this.resolveControllerRef(rs.metadata.namespace, ref);
      if (d) this.enqueue(d);
      return;
    }
    for (const d of this.deploymentsSelecting(rs)) this.enqueue(d);
  }

  private updateReplicaSet(oldRS: RS, rs: RS): void {
    if (oldRS.metadata.resourceVersion === rs.metadata.resourceVersion) return;
    const ref = controllerRefOf(rs);
    const oldRef = controllerRefOf(oldRS);
    const refChanged = ref?.uid !== oldRef?.uid;
    if (refChanged && oldRef) {
      const d = this.resolveControllerRef(oldRS.metadata.namespace, oldRef);
      if (d) this.enqueue(d);
    }
    if (ref) {
      const d = this.resolveControllerRef(rs.metadata.namespace, ref);
      if (d) this.enqueue(d);
      return;
    }
    const labelsChanged = !semanticEqual(oldRS.metadata.labels, rs.metadata.labels);
    if (labelsChanged || refChanged) for (const d of this.deploymentsSelecting(rs)) this.enqueue(d);
  }

  private deleteReplicaSet(obj: RS | DeletedFinalStateUnknown<ReplicaSet>): void {
    const rs = unwrapTombstone(obj);
    const ref = controllerRefOf(rs);
    if (!ref) return;
    const d = this.resolveControllerRef(rs.metadata.namespace, ref);
    if (d) this.enqueue(d);
  }

  /** Recreate waits for the old pods to be gone: look again when the last pod of a Recreate Deployment goes. */
  private deletePod(obj: Readonly<Pod> | DeletedFinalStateUnknown<Pod>): void {
    const pod = unwrapTombstone(obj);
    const podRef = controllerRefOf(pod);
    if (podRef?.kind !== "ReplicaSet") return;
    const rs = this.replicaSets.lister.getByName(pod.metadata.namespace, podRef.name);
    if (rs?.metadata.uid !== podRef.uid) return;
    const rsRef = controllerRefOf(rs);
    if (!rsRef) return;
    const d = this.resolveControllerRef(rs.metadata.namespace, rsRef);
    if (!d || !isRecreate(d)) return;
    const owned = this.replicaSets.lister.byIndex(CONTROLLER_UID_INDEX, d.metadata.uid ?? "");
    const remaining = owned.reduce((n, r) => n + this.pods.lister.byIndex(CONTROLLER_UID_INDEX, r.metadata.uid ?? "").length, 0);
    if (remaining === 0) this.enqueue(d);
  }

  private resolveControllerRef(namespace: string | undefined, ref: Readonly<OwnerReference>): Readonly<Deployment> | undefined {
    if (ref.kind !== "Deployment") return undefined;
    const d = this.deployments.lister.getByName(namespace, ref.name);
    return d?.metadata.uid === ref.uid ? d : undefined;
  }

  private deploymentsSelecting(rs: RS): Readonly<Deployment>[] {
    const labels = rs.metadata.labels;
    if (!labels || Object.keys(labels).length === 0) return [];
    return this.deployments.lister.listNamespace(rs.metadata.namespace ?? "").filter((d) => {
      if (isEmptySelector(d.spec?.selector)) return false;
      try {
        return selectorFromLabelSelector(d.spec?.selector).matches(labels);
      } catch {
        return false;
      }
    });
  }

  // ---- sync ----------------------------------------------------------------------------------------------------

  /** Level-based and idempotent: reconcile the Deployment `key` ("namespace/name") with its ReplicaSets. */
  async sync(key: string): Promise<void> {
    const cached = this.deployments.lister.get(key);
    if (!cached) return;
    // A working copy: annotations, status and resourceVersion follow our own writes during this sync.
    const d = structuredClone(cached) as Deployment;
    if (isEmptySelector(d.spec?.selector)) {
      this.recorder.event(d, "Warning", "SelectingAll", "This deployment is selecting all pods. A non-empty selector is required.");
      if ((d.status?.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) {
        d.status = { ...d.status, observedGeneration: d.metadata.generation ?? 0 };
        await this.writeStatus(d);
      }
      return;
    }
    const selector = selectorFromLabelSelector(d.spec?.selector);
    const rsList = await this.claimReplicaSets(d, selector);
    if (d.metadata.deletionTimestamp) {
      await this.syncStatusOnly(d, rsList);
      return;
    }
    await this.checkPausedConditions(d);
    if (d.spec?.paused || (await this.isScalingEvent(d, rsList))) {
      this.logger.debug({ deployment: key, paused: d.spec?.paused === true }, "Scaling without a rollout");
      await this.syncScaling(d, rsList);
      return;
    }
    if (isRecreate(d)) await this.rolloutRecreate(d, rsList, this.podMap(selector, rsList));
    else await this.rolloutRolling(d, rsList);
  }

  /** The Deployment's ReplicaSets after adopting matching orphans and releasing ones that stopped matching. */
  private async claimReplicaSets(d: Deployment, selector: Selector): Promise<RS[]> {
    const namespace = d.metadata.namespace;
    const ref = newControllerRef(d, "apps/v1", "Deployment");
    const ownerUid = d.metadata.uid ?? "";
    return claimObjects(this.replicaSets.lister.listNamespace(namespace ?? ""), {
      owner: d,
      selector,
      canAdopt: recheckOwner(d, () => this.client.get(DEPLOYMENTS, namespace, d.metadata.name ?? "")),
      adopt: async (rs) => {
        await this.client.patch(REPLICASETS, namespace, rs.metadata.name ?? "", "strategic", adoptPatch(ref, rs.metadata.uid));
      },
      release: async (rs) => {
        await this.client.patch(REPLICASETS, namespace, rs.metadata.name ?? "", "strategic", releasePatch(ownerUid, rs.metadata.uid));
      },
    });
  }

  /** Pods of each ReplicaSet (by uid) that the Deployment selects. */
  private podMap(selector: Selector, rsList: readonly RS[]): Map<string, Readonly<Pod>[]> {
    const map = new Map<string, Readonly<Pod>[]>();
    for (const rs of rsList) {
      const uid = rs.metadata.uid ?? "";
      map.set(uid, this.pods.lister.byIndex(CONTROLLER_UID_INDEX, uid).filter((p) => selector.matches(p.metadata.labels)));
    }
    return map;
  }

  private async syncStatusOnly(d: Deployment, rsList: RS[]): Promise<void> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, false);
    await this.syncDeploymentStatus([...oldRSs, newRS], newRS, d);
  }

  /** Paused or resized: scale proportionally, no rollout (Kubernetes' sync()). */
  private async syncScaling(d: Deployment, rsList: RS[]): Promise<void> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, false);
    await this.scale(d, newRS, oldRSs);
    if (d.spec?.paused) await this.cleanupDeployment(oldRSs, d);
    await this.syncDeploymentStatus([...oldRSs, newRS], newRS, d);
  }

  /** Progressing=Unknown DeploymentPaused / DeploymentResumed as the Deployment is paused or resumed. */
  private async checkPausedConditions(d: Deployment): Promise<void> {
    if (!hasProgressDeadline(d)) return;
    const cond = getCondition(d.status, CONDITION_PROGRESSING);
    if (cond?.reason === REASON_TIMED_OUT) return; // do not overwrite a timeout
    const pausedNoted = cond?.reason === REASON_PAUSED;
    const now = this.clock.now();
    const status = (d.status ??= {});
    if (d.spec?.paused && !pausedNoted) {
      setCondition(status, newCondition(CONDITION_PROGRESSING, "Unknown", REASON_PAUSED, "Deployment is paused", now));
    } else if (!d.spec?.paused && pausedNoted) {
      setCondition(status, newCondition(CONDITION_PROGRESSING, "Unknown", REASON_RESUMED, "Deployment is resumed", now));
    } else {
      return;
    }
    await this.writeStatus(d);
  }

  /** A replicas change not yet applied to the active ReplicaSets (their desired-replicas annotation differs). */
  private async isScalingEvent(d: Deployment, rsList: RS[]): Promise<boolean> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, false);
    return filterActive([...oldRSs, newRS]).some((rs) => {
      const desired = desiredReplicasAnnotation(rs);
      return desired !== undefined && desired !== replicasOf(d);
    });
  }

  // ---- the new ReplicaSet and revisions ----------------------------------------------------------------------

  /**
   * The new ReplicaSet (created when `create` and missing) and the old ones; brings the new one's annotations and
   * the Deployment's revision up to date. Updated ReplicaSets replace their entries in `rsList`.
   */
  private async getAllReplicaSetsAndSyncRevision(d: Deployment, rsList: RS[], create: boolean): Promise<{ newRS: RS | undefined; oldRSs: RS[] }> {
    const existing = findNewReplicaSet(d, rsList);
    const oldRSs = findOldReplicaSets(rsList, existing);
    const newRS = await this.getNewReplicaSet(d, rsList, oldRSs, existing, create);
    return { newRS, oldRSs };
  }

  private async getNewReplicaSet(d: Deployment, rsList: RS[], oldRSs: readonly RS[], existing: RS | undefined, create: boolean): Promise<RS | undefined> {
    const namespace = d.metadata.namespace;
    const newRevision = maxRevision(oldRSs) + 1n;
    const now = this.clock.now();
    if (existing) {
      const copy = structuredClone(existing) as ReplicaSet;
      const annotationsChanged = setNewReplicaSetAnnotations(d, copy, newRevision, true);
      const minReady = d.spec?.minReadySeconds ?? 0;
      const minReadyChanged = (copy.spec?.minReadySeconds ?? 0) !== minReady;
      if (annotationsChanged || minReadyChanged) {
        copy.spec = { ...copy.spec, minReadySeconds: minReady };
        const updated = await this.client.update<ReplicaSet>(REPLICASETS, namespace, copy);
        replaceIn(rsList, updated);
        // The Deployment's revision follows on the sync this update triggers (as in Kubernetes).
        return updated;
      }
      const revision = copy.metadata.annotations?.[REVISION_ANNOTATION];
      if (revision !== undefined) await this.setDeploymentRevision(d, revision);
      if (hasProgressDeadline(d) && !getCondition(d.status, CONDITION_PROGRESSING)) {
        setCondition((d.status ??= {}), newCondition(CONDITION_PROGRESSING, "True", REASON_FOUND_NEW_RS, `Found new replica set "${copy.metadata.name ?? ""}"`, now));
        await this.writeStatus(d);
      }
      return existing;
    }
    if (!create) return undefined;

    const template = d.spec?.template ?? {};
    const hash = computeHash(template, d.status?.collisionCount);
    const rs = newReplicaSetFor(d, hash);
    rs.spec!.replicas = newRSNewReplicas(d, [...oldRSs, rs], rs);
    setNewReplicaSetAnnotations(d, rs, newRevision, false);
    const name = rs.metadata.name ?? "";
    let created: RS;
    let alreadyExisted = false;
    try {
      created = await this.client.create<ReplicaSet>(REPLICASETS, namespace, rs);
    } catch (err) {
      if (isAlreadyExists(err)) {
        const found = this.replicaSets.lister.getByName(namespace, name) ?? (await this.client.get<ReplicaSet>(REPLICASETS, namespace, name));
        // Ours and the same template: the cache simply had not shown it yet.
        if (controllerRefOf(found)?.uid === d.metadata.uid && equalIgnoreHash(template, found.spec?.template)) {
          created = found;
          alreadyExisted = true;
        } else {
          // A hash collision: bump collisionCount, which changes the hash on the next sync.
          d.status = { ...d.status, collisionCount: (d.status?.collisionCount ?? 0) + 1 };
          try {
            await this.writeStatus(d);
            this.logger.info({ deployment: objectKey(d.metadata), replicaSet: name, collisionCount: d.status.collisionCount }, "Hash collision; bumped collisionCount");
          } catch (statusErr) {
            this.logger.debug({ err: statusErr }, "Could not record collisionCount");
          }
          throw err;
        }
      } else {
        const msg = `Failed to create new replica set "${name}": ${errorMessage(err)}`;
        if (hasProgressDeadline(d)) {
          setCondition((d.status ??= {}), newCondition(CONDITION_PROGRESSING, "False", REASON_FAILED_RS_CREATE, msg, now));
          try {
            await this.writeStatus(d);
          } catch {
            // the create failure is the error to report
          }
        }
        this.recorder.event(d, "Warning", REASON_FAILED_RS_CREATE, msg);
        throw err;
      }
    }
    rsList.push(created);
    const count = replicasOf(rs);
    if (!alreadyExisted && count > 0) this.recorder.event(d, "Normal", "ScalingReplicaSet", `Scaled up replica set ${created.metadata.name ?? ""} from 0 to ${count}`);
    await this.setDeploymentRevision(d, String(newRevision));
    if (!alreadyExisted && hasProgressDeadline(d)) {
      setCondition((d.status ??= {}), newCondition(CONDITION_PROGRESSING, "True", REASON_NEW_REPLICA_SET, `Created new replica set "${created.metadata.name ?? ""}"`, now));
      await this.writeStatus(d);
    }
    return created;
  }

  /**
   * Sets the Deployment's revision annotation with an update of the Deployment (kubelab's status subresource ignores
   * metadata); an update, not a patch, because that is what system:controller:deployment-controller allows. A stale
   * resourceVersion is a conflict, and the Deployment is synced again.
   */
  private async setDeploymentRevision(d: Deployment, revision: string): Promise<void> {
    if (d.metadata.annotations?.[REVISION_ANNOTATION] === revision) return;
    const { status: _status, ...withoutStatus } = d;
    const updated = await this.client.update<Deployment>(DEPLOYMENTS, d.metadata.namespace, { ...withoutStatus, metadata: { ...d.metadata, annotations: { ...d.metadata.annotations, [REVISION_ANNOTATION]: revision } } });
    d.metadata.annotations = { ...d.metadata.annotations, [REVISION_ANNOTATION]: revision };
    if (updated.metadata.resourceVersion !== undefined) d.metadata.resourceVersion = updated.metadata.resourceVersion;
  }

  // ---- scaling -----------------------------------------------------------------------------------------------

  /** Proportional scaling when replicas changed (Kubernetes' scale()). */
  private async scale(d: Deployment, newRS: RS | undefined, oldRSs: RS[]): Promise<void> {
    const replicas = replicasOf(d);
    const only = findActiveOrLatest(newRS, oldRSs);
    if (only) {
      if (replicasOf(only) !== replicas) await this.scaleReplicaSetAndRecordEvent(only, replicas, d);
      return;
    }
    // The new ReplicaSet already has everything: the old ones go (adoption during a saturated rollout).
    if (isSaturated(d, newRS)) {
      for (const old of filterActive(oldRSs)) await this.scaleReplicaSetAndRecordEvent(old, 0, d);
      return;
    }
    if (!isRollingUpdate(d)) return;
    const active = filterActive([...oldRSs, newRS]);
    const allowed = replicas > 0 ? replicas + maxSurge(d) : 0;
    const toAdd = allowed - sumSpecReplicas(active);
    let operation = "";
    if (toAdd > 0) {
      active.sort(bySizeNewer);
      operation = "up";
    } else if (toAdd < 0) {
      active.sort(bySizeOlder);
      operation = "down";
    }
    // Each ReplicaSet's share, the leftovers (rounding) to the largest.
    let added = 0;
    const sizes = active.map((rs) => {
      if (toAdd === 0) return replicasOf(rs);
      const share = replicaSetProportion(rs, d, toAdd, added);
      added += share;
      return replicasOf(rs) + share;
    });
    if (toAdd !== 0 && sizes.length > 0) sizes[0] = Math.max(0, sizes[0]! + (toAdd - added));
    for (const [i, rs] of active.entries()) await this.scaleReplicaSet(rs, sizes[i]!, d, operation);
  }

  private scaleReplicaSetAndRecordEvent(rs: RS, newScale: number, d: Deployment): Promise<{ scaled: boolean; rs: RS }> {
    if (replicasOf(rs) === newScale) return Promise.resolve({ scaled: false, rs });
    return this.scaleReplicaSet(rs, newScale, d, replicasOf(rs) < newScale ? "up" : "down");
  }

  /** Sets spec.replicas (and desired/max-replicas); a ScalingReplicaSet event when the size changed. */
  private async scaleReplicaSet(rs: RS, newScale: number, d: Deployment, operation: string): Promise<{ scaled: boolean; rs: RS }> {
    const desired = replicasOf(d);
    const max = desired + maxSurge(d);
    const sizeChanged = replicasOf(rs) !== newScale;
    if (!sizeChanged && !replicasAnnotationsNeedUpdate(rs, desired, max)) return { scaled: false, rs };
    const oldScale = replicasOf(rs);
    const copy = structuredClone(rs) as ReplicaSet;
    copy.spec = { ...copy.spec, replicas: newScale };
    setReplicasAnnotations(copy, desired, max);
    const updated = await this.client.update<ReplicaSet>(REPLICASETS, rs.metadata.namespace, copy);
    this.logger.debug({ deployment: objectKey(d.metadata), replicaSet: rs.metadata.name, from: oldScale, to: newScale, resourceVersion: rs.metadata.resourceVersion }, "Scaled replica set");
    if (sizeChanged) {
      this.recorder.event(d, "Normal", "ScalingReplicaSet", `Scaled ${operation} replica set ${rs.metadata.name ?? ""} from ${oldScale} to ${newScale}`);
    }
    return { scaled: sizeChanged, rs: updated };
  }

  // ---- rolling update ------------------------------------------------------------------------------------------

  private async rolloutRolling(d: Deployment, rsList: RS[]): Promise<void> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, true);
    if (!newRS) throw new Error(`deployment ${objectKey(d.metadata)}: no new replica set`);
    const allRSs = [...oldRSs, newRS];
    if (await this.reconcileNewReplicaSet(allRSs, newRS, d)) {
      await this.syncRolloutStatus(allRSs, newRS, d);
      return;
    }
    if (await this.reconcileOldReplicaSets(allRSs, filterActive(oldRSs), newRS, d)) {
      await this.syncRolloutStatus(allRSs, newRS, d);
      return;
    }
    if (deploymentComplete(d, d.status ?? {})) await this.cleanupDeployment(oldRSs, d);
    await this.syncRolloutStatus(allRSs, newRS, d);
  }

  /** Scales the new ReplicaSet up as far as maxSurge allows (or down to replicas). */
  private async reconcileNewReplicaSet(allRSs: readonly RS[], newRS: RS, d: Deployment): Promise<boolean> {
    const replicas = replicasOf(d);
    if (replicasOf(newRS) === replicas) return false;
    if (replicasOf(newRS) > replicas) return (await this.scaleReplicaSetAndRecordEvent(newRS, replicas, d)).scaled;
    return (await this.scaleReplicaSetAndRecordEvent(newRS, newRSNewReplicas(d, allRSs, newRS), d)).scaled;
  }

  /** Scales old ReplicaSets down as far as maxUnavailable allows, unhealthy replicas first. */
  private async reconcileOldReplicaSets(allRSs: readonly RS[], oldRSs: RS[], newRS: RS, d: Deployment): Promise<boolean> {
    const oldPods = sumSpecReplicas(oldRSs);
    if (oldPods === 0) return false;
    const allPods = sumSpecReplicas(allRSs);
    const minAvailable = replicasOf(d) - maxUnavailable(d);
    const newUnavailable = replicasOf(newRS) - (newRS.status?.availableReplicas ?? 0);
    const maxScaledDown = allPods - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;
    const { oldRSs: cleaned, count: cleanedUp } = await this.cleanupUnhealthyReplicas(oldRSs, d, maxScaledDown);
    const scaledDown = await this.scaleDownOldReplicaSetsForRollingUpdate([...cleaned, newRS], cleaned, d);
    return cleanedUp + scaledDown > 0;
  }

  /** Removes old replicas that are not available (they cost no availability), oldest ReplicaSets first. */
  private async cleanupUnhealthyReplicas(oldRSs: RS[], d: Deployment, maxCleanup: number): Promise<{ oldRSs: RS[]; count: number }> {
    const sorted = [...oldRSs].sort(byCreationTimestamp);
    let total = 0;
    for (const [i, rs] of sorted.entries()) {
      if (total >= maxCleanup) break;
      const replicas = replicasOf(rs);
      const available = rs.status?.availableReplicas ?? 0;
      // available > replicas: the status still counts pods of an earlier, larger size; nothing unhealthy to remove.
      if (replicas === 0 || available >= replicas) continue;
      const count = Math.min(maxCleanup - total, replicas - available);
      const { rs: updated } = await this.scaleReplicaSetAndRecordEvent(rs, replicas - count, d);
      total += count;
      sorted[i] = updated;
    }
    return { oldRSs: sorted, count: total };
  }

  /**
   * Scales old ReplicaSets down by what availability above replicas-maxUnavailable allows, oldest first. A
   * ReplicaSet counts at most its spec.replicas available pods: a status that still shows pods of an earlier, larger
   * size is about to lose them (Kubernetes counts them, which can briefly dip availability below the minimum).
   */
  private async scaleDownOldReplicaSetsForRollingUpdate(allRSs: readonly RS[], oldRSs: readonly RS[], d: Deployment): Promise<number> {
    const minAvailable = replicasOf(d) - maxUnavailable(d);
    const available = allRSs.reduce((n, rs) => n + Math.min(rs.status?.availableReplicas ?? 0, replicasOf(rs)), 0);
    if (available <= minAvailable) return 0;
    const toScaleDown = available - minAvailable;
    let total = 0;
    for (const rs of [...oldRSs].sort(byCreationTimestamp)) {
      if (total >= toScaleDown) break;
      const replicas = replicasOf(rs);
      if (replicas === 0) continue;
      const count = Math.min(replicas, toScaleDown - total);
      await this.scaleReplicaSetAndRecordEvent(rs, replicas - count, d);
      total += count;
    }
    return total;
  }

  // ---- recreate ------------------------------------------------------------------------------------------------

  private async rolloutRecreate(d: Deployment, rsList: RS[], podMap: ReadonlyMap<string, readonly Readonly<Pod>[]>): Promise<void> {
    // No new ReplicaSet yet: creating it now would scale up before the old pods are gone.
    let { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, false);
    let allRSs = [...oldRSs, newRS];
    let scaledDown = false;
    for (const rs of filterActive(oldRSs)) {
      if ((await this.scaleReplicaSetAndRecordEvent(rs, 0, d)).scaled) scaledDown = true;
    }
    if (scaledDown || oldPodsRunning(newRS, oldRSs, podMap)) {
      await this.syncRolloutStatus(allRSs, newRS, d);
      return;
    }
    if (!newRS) {
      ({ newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, true));
      allRSs = [...oldRSs, newRS];
    }
    if (newRS) await this.scaleReplicaSetAndRecordEvent(newRS, replicasOf(d), d);
    if (deploymentComplete(d, d.status ?? {})) await this.cleanupDeployment(oldRSs, d);
    await this.syncRolloutStatus(allRSs, newRS, d);
  }

  // ---- history clean-up --------------------------------------------------------------------------------------

  /** Deletes the oldest old ReplicaSets beyond revisionHistoryLimit, only those fully scaled down and observed. */
  private async cleanupDeployment(oldRSs: readonly RS[], d: Deployment): Promise<void> {
    if (!hasRevisionHistoryLimit(d)) return;
    const alive = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp);
    const diff = alive.length - (d.spec?.revisionHistoryLimit ?? 0);
    if (diff <= 0) return;
    const sorted = [...alive].sort(byRevision);
    for (const rs of sorted.slice(0, diff)) {
      if ((rs.status?.replicas ?? 0) !== 0 || replicasOf(rs) !== 0) continue;
      if ((rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
      try {
        await this.client.delete(REPLICASETS, rs.metadata.namespace, rs.metadata.name ?? "");
        this.logger.debug({ deployment: objectKey(d.metadata), replicaSet: rs.metadata.name }, "Deleted old replica set beyond the history limit");
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  // ---- status ----------------------------------------------------------------------------------------------

  private async syncDeploymentStatus(allRSs: readonly (RS | undefined)[], newRS: RS | undefined, d: Deployment): Promise<void> {
    const status = calculateStatus(allRSs, newRS, d, this.clock.now());
    if (semanticEqual(deploymentStatusToWire(d.status ?? {}), deploymentStatusToWire(status))) return;
    d.status = status;
    await this.writeStatus(d);
  }

  /** Status plus the Progressing condition's verdict (progressing, complete, timed out) and ReplicaFailure. */
  private async syncRolloutStatus(allRSs: readonly (RS | undefined)[], newRS: RS | undefined, d: Deployment): Promise<void> {
    const now = this.clock.now();
    const status = calculateStatus(allRSs, newRS, d, now);
    if (!hasProgressDeadline(d)) removeCondition(status, CONDITION_PROGRESSING);
    const current = getCondition(d.status, CONDITION_PROGRESSING);
    const complete = (status.replicas ?? 0) === (status.updatedReplicas ?? 0) && current?.reason === REASON_NEW_RS_AVAILABLE;
    if (hasProgressDeadline(d) && !complete) {
      const rsName = newRS?.metadata.name;
      if (deploymentComplete(d, status)) {
        const msg = rsName ? `ReplicaSet "${rsName}" has successfully progressed.` : `Deployment "${d.metadata.name ?? ""}" has successfully progressed.`;
        setCondition(status, newCondition(CONDITION_PROGRESSING, "True", REASON_NEW_RS_AVAILABLE, msg, now));
      } else if (deploymentProgressing(d, status)) {
        const msg = rsName ? `ReplicaSet "${rsName}" is progressing.` : `Deployment "${d.metadata.name ?? ""}" is progressing.`;
        const condition = newCondition(CONDITION_PROGRESSING, "True", REASON_REPLICA_SET_UPDATED, msg, now);
        // Progress refreshes lastUpdateTime even when the reason stays the same.
        if (current) {
          if (current.status === "True" && current.lastTransitionTime !== undefined) condition.lastTransitionTime = current.lastTransitionTime;
          removeCondition(status, CONDITION_PROGRESSING);
        }
        setCondition(status, condition);
      } else if (deploymentTimedOut(d, status, now)) {
        const msg = rsName ? `ReplicaSet "${rsName}" has timed out progressing.` : `Deployment "${d.metadata.name ?? ""}" has timed out progressing.`;
        setCondition(status, newCondition(CONDITION_PROGRESSING, "False", REASON_TIMED_OUT, msg, now));
      }
    }
    const failure = replicaFailure(allRSs, newRS);
    if (failure) setCondition(status, failure);
    else removeCondition(status, CONDITION_REPLICA_FAILURE);
    if (semanticEqual(deploymentStatusToWire(d.status ?? {}), deploymentStatusToWire(status))) {
      this.requeueStuckDeployment(d, status, now);
      return;
    }
    d.status = status;
    await this.writeStatus(d);
  }

  /** Without progress, look again when the progress deadline would pass (Kubernetes' requeueStuckDeployment). */
  private requeueStuckDeployment(d: Deployment, status: DeploymentStatus, now: number): void {
    const current = getCondition(d.status, CONDITION_PROGRESSING);
    if (!hasProgressDeadline(d) || !current) return;
    if (deploymentComplete(d, status) || current.reason === REASON_TIMED_OUT) return;
    const after = (parseTime(current.lastUpdateTime) ?? now) + (d.spec?.progressDeadlineSeconds ?? 0) * 1000 - now;
    const key = objectKey(d.metadata);
    if (after < 1000) this.queue.addRateLimited(key);
    else this.queue.addAfter(key, after + 1000);
  }

  /** UpdateStatus with the working copy's resourceVersion, which then follows the write. */
  private async writeStatus(d: Deployment): Promise<void> {
    const body: Deployment = { ...structuredClone(d), status: deploymentStatusToWire(d.status ?? {}) };
    const updated = await this.client.updateStatus<Deployment>(DEPLOYMENTS, d.metadata.namespace, body);
    if (updated.metadata.resourceVersion !== undefined) d.metadata.resourceVersion = updated.metadata.resourceVersion;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Factory (registered in controllers/registry.ts)

export function createDeploymentController(ctx: ControllerContext): Controller {
  return new DeploymentController({
    client: ctx.client,
    deploymentInformer: ctx.informers.forResource<Deployment>(DEPLOYMENTS),
    replicaSetInformer: ctx.informers.forResource<ReplicaSet>(REPLICASETS),
    podInformer: ctx.informers.forResource<Pod>(PODS),
    recorder: ctx.recorder("deployment-controller"),
    clock: ctx.clock,
    logger: ctx.logger.child({ controller: "deployment" }),
    metrics: ctx.metrics,
    workers: ctx.config.concurrentDeploymentSyncs,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Pure helpers and builders (tests reuse them)

/**
 * The ReplicaSet for the Deployment's current template: named <deployment>-<hash>, the template verbatim plus the
 * hash label (also added to its labels and selector), controlled by the Deployment, 0 replicas.
 */
export function newReplicaSetFor(d: Readonly<Deployment>, hash: string): ReplicaSet {
  const template = structuredClone(d.spec?.template ?? {});
  template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [POD_TEMPLATE_HASH_LABEL]: hash } };
  const rs: ReplicaSet = {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `${d.metadata.name ?? ""}-${hash}`,
      ownerReferences: [newControllerRef(d, "apps/v1", "Deployment")],
      labels: { ...template.metadata.labels },
    },
    spec: {
      replicas: 0,
      minReadySeconds: d.spec?.minReadySeconds ?? 0,
      selector: selectorWithLabel(d.spec?.selector, POD_TEMPLATE_HASH_LABEL, hash),
      template,
    },
  };
  if (d.metadata.namespace !== undefined) rs.metadata.namespace = d.metadata.namespace;
  return rs;
}

/** Old ReplicaSets still have (or think they have) pods that are not terminal. */
export function oldPodsRunning(newRS: RS | undefined, oldRSs: readonly RS[], podMap: ReadonlyMap<string, readonly Readonly<Pod>[]>): boolean {
  if (sumStatusReplicas(oldRSs) > 0) return true;
  for (const [uid, pods] of podMap) {
    if (newRS?.metadata.uid === uid) continue;
    if (pods.some((p) => !isPodTerminal(p))) return true;
  }
  return false;
}

/** The new ReplicaSet's ReplicaFailure condition, else the first old one's, as a Deployment condition. */
function replicaFailure(allRSs: readonly (RS | undefined)[], newRS: RS | undefined): AppsCondition | undefined {
  const find = (rs: RS | undefined): AppsCondition | undefined => {
    const c = rs?.status?.conditions?.find((x) => x.type === CONDITION_REPLICA_FAILURE);
    if (!c) return undefined;
    const out: AppsCondition = { type: c.type, status: c.status };
    if (c.lastTransitionTime !== undefined) {
      out.lastTransitionTime = c.lastTransitionTime;
      out.lastUpdateTime = c.lastTransitionTime;
    }
    if (c.reason !== undefined) out.reason = c.reason;
    if (c.message !== undefined) out.message = c.message;
    return out;
  };
  return find(newRS) ?? allRSs.map(find).find((c) => c !== undefined);
}

function replaceIn(rsList: RS[], rs: RS): void {
  const i = rsList.findIndex((x) => x.metadata.uid === rs.metadata.uid);
  if (i >= 0) rsList[i] = rs;
}
