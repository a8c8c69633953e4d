// The DaemonSet controller (Kubernetes' pkg/controller/daemon). Contract:
//   - one daemon pod on every node that should run it (daemon-pods.ts decides which), none elsewhere; pods are
//     created unbound with a required node affinity on the node's name and placed by the scheduler;
//   - adopt matching orphans, release owned pods that stopped matching (as every workload controller);
//   - a ControllerRevision per template (history/), pods labelled with its hash, so `kubectl rollout history|undo`
//     work; RollingUpdate replaces old pods within maxUnavailable/maxSurge, OnDelete only replaces deleted pods;
//   - expectations: no recount until the informer showed the creates/deletes this controller issued;
//   - status counters and observedGeneration are written last, only when changed; events as Kubernetes' (SuccessfulCreate,
//     SuccessfulDelete, FailedCreate, FailedDaemonPod).
import { errorMessage, isNotFound, retryOnConflict, toError } from "../../../api/errors.js";
import { isEmptySelector, selectorFromLabelSelector, type Selector } from "../../../api/labels.js";
import { objectKey } from "../../../api/meta.js";
import { availableInMs, podKey } from "../../../api/pod.js";
import { findResource } from "../../../api/resources.js";
import type { ControllerRevision } from "../../../api/types/admissionregistration.js";
import type { DaemonSet, DaemonSetStatus } from "../../../api/types/apps.js";
import type { Node, Pod } from "../../../api/types/core.js";
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
import { CONTROLLER_REVISIONS, CONTROLLER_REVISION_HASH_LABEL, ControllerHistory, revisionHash } from "../history/history.js";
import { slowStartBatch } from "../replicaset/replicaset-controller.js";
import type { Controller, ControllerContext } from "../types.js";
import { daemonStatus, newDaemonPod, planDaemonPods } from "./daemon-pods.js";

const PODS = findResource("", "v1", "pods")!;
const NODES = findResource("", "v1", "nodes")!;
export const DAEMONSETS = findResource("apps", "v1", "daemonsets")!;

export const NAME = "daemonset";
const COMPONENT = "daemonset-controller";
const REVISION_KIND = { apiVersion: "apps/v1", kind: "DaemonSet", hashLabel: CONTROLLER_REVISION_HASH_LABEL, hashOf: "template" } as const;
/** Creates or deletes per sync (Kubernetes' BurstReplicas for daemons). */
export const DAEMON_BURST_REPLICAS = 250;

export type DaemonSetClient = Pick<RestClient, "get" | "create" | "patch" | "delete" | "updateStatus">;

export interface DaemonSetControllerOptions {
  client: DaemonSetClient;
  informer: Informer<DaemonSet>;
  podInformer: Informer<Pod>;
  nodeInformer: Informer<Node>;
  revisionInformer: Informer<ControllerRevision>;
  recorder: EventRecorder;
  clock?: Clock;
  logger?: Logger;
  metrics?: Registry;
  /** --concurrent-daemonset-syncs; default 2. */
  workers?: number;
}

export class DaemonSetController implements Controller {
  readonly name = NAME;
  readonly queue: RateLimitingQueue;
  readonly expectations: ControllerExpectations;
  private readonly client: DaemonSetClient;
  private readonly informer: Informer<DaemonSet>;
  private readonly podInformer: Informer<Pod>;
  private readonly nodeInformer: Informer<Node>;
  private readonly revisionInformer: Informer<ControllerRevision>;
  private readonly history: ControllerHistory;
  private readonly recorder: EventRecorder;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly workers: number;

  constructor(opts: DaemonSetControllerOptions) {
    this.client = opts.client;
    this.informer = opts.informer;
    this.podInformer = opts.podInformer;
    this.nodeInformer = opts.nodeInformer;
    this.revisionInformer = opts.revisionInformer;
    this.recorder = opts.recorder;
    this.clock = opts.clock ?? realClock;
    this.logger = opts.logger ?? silentLogger();
    this.workers = opts.workers ?? 2;
    if (!Number.isInteger(this.workers) || this.workers < 1) throw new Error(`${NAME}: workers must be a positive integer, got ${this.workers}`);
    this.queue = newControllerQueue("daemonset", { clock: this.clock, metrics: opts.metrics });
    this.expectations = new ControllerExpectations(this.clock);
    this.history = new ControllerHistory({ client: this.client, informer: this.revisionInformer, kind: REVISION_KIND, ownerResource: DAEMONSETS });
    ensureControllerUidIndex(this.podInformer);
    this.informer.addEventHandler({
      onAdd: (ds) => { this.queue.add(objectKey(ds.metadata)); },
      onUpdate: (oldDs, ds) => {
        if (oldDs.metadata.uid !== ds.metadata.uid) this.expectations.delete(objectKey(oldDs.metadata));
        this.queue.add(objectKey(ds.metadata));
      },
      onDelete: (obj) => {
        const ds = unwrapTombstone(obj);
        this.expectations.delete(objectKey(ds.metadata));
        this.queue.add(objectKey(ds.metadata));
      },
    });
    this.podInformer.addEventHandler({
      onAdd: (pod) => {
        if (pod.metadata.deletionTimestamp) {
          this.deletePod(pod);
          return;
        }
        const owner = this.ownerOf(pod);
        if (owner) {
          this.expectations.creationObserved(objectKey(owner.metadata));
          this.queue.add(objectKey(owner.metadata));
        } else if (!controllerRefOf(pod)) {
          for (const ds of this.selecting(pod)) this.queue.add(objectKey(ds.metadata));
        }
      },
      onUpdate: (oldPod, pod) => {
        if (oldPod.metadata.resourceVersion === pod.metadata.resourceVersion) return;
        if (pod.metadata.deletionTimestamp && !oldPod.metadata.deletionTimestamp) {
          this.deletePod(pod);
          return;
        }
        const oldOwner = this.ownerOf(oldPod);
        const owner = this.ownerOf(pod);
        if (oldOwner && oldOwner !== owner) this.queue.add(objectKey(oldOwner.metadata));
        if (owner) {
          const key = objectKey(owner.metadata);
          this.queue.add(key);
          const minReady = owner.spec?.minReadySeconds ?? 0;
          if (minReady > 0) this.queue.addAfter(key, minReady * 1000 + 1000);
        } else if (!controllerRefOf(pod)) {
          for (const ds of this.selecting(pod)) this.queue.add(objectKey(ds.metadata));
        }
      },
      onDelete: (obj) => { this.deletePod(obj); },
    });
    // Any node change may change where daemons belong (labels, taints, a node coming or going).
    const allDaemonSets = (): void => {
      for (const ds of this.informer.lister.list()) this.queue.add(objectKey(ds.metadata));
    };
    this.nodeInformer.addEventHandler({
      onAdd: allDaemonSets,
      onUpdate: (oldNode, node) => {
        if (semanticEqual(oldNode.metadata.labels, node.metadata.labels) && semanticEqual(oldNode.spec, node.spec)) return;
        allDaemonSets();
      },
      onDelete: allDaemonSets,
    });
  }

  run(signal: AbortSignal): Promise<void> {
    return runWorkers({
      queue: this.queue,
      workers: this.workers,
      sync: (key) => this.sync(key),
      informers: [this.informer, this.podInformer, this.nodeInformer, this.revisionInformer],
      logger: this.logger,
      signal,
    });
  }

  private deletePod(obj: Readonly<Pod> | DeletedFinalStateUnknown<Pod>): void {
    const pod = unwrapTombstone(obj);
    const owner = this.ownerOf(pod);
    if (!owner) return;
    const key = objectKey(owner.metadata);
    this.expectations.deletionObserved(key, podKey(pod));
    this.queue.add(key);
  }

  private ownerOf(pod: Readonly<Pod>): Readonly<DaemonSet> | undefined {
    const ref = controllerRefOf(pod);
    if (ref?.kind !== "DaemonSet") return undefined;
    const ds = this.informer.lister.getByName(pod.metadata.namespace, ref.name);
    return ds?.metadata.uid === ref.uid ? ds : undefined;
  }

  private selecting(pod: Readonly<Pod>): Readonly<DaemonSet>[] {
    const labels = pod.metadata.labels;
    if (!labels) return [];
    return this.informer.lister.listNamespace(pod.metadata.namespace ?? "").filter((ds) => selectorOf(ds)?.matches(labels) === true);
  }

  /** Reconciles the DaemonSet `key` with the nodes and its pods, then writes its status. */
  async sync(key: string): Promise<void> {
    const ds = this.informer.lister.get(key);
    if (!ds) {
      this.expectations.delete(key);
      return;
    }
    const selector = selectorOf(ds);
    if (!selector) {
      this.logger.warn({ key }, "DaemonSet has an empty or invalid selector; ignoring it");
      return;
    }
    // Being deleted: the garbage collector removes its pods and revisions.
    if (ds.metadata.deletionTimestamp) return;
    const nodes = this.nodeInformer.lister.list();
    const pods = await this.claimPods(ds, selector);
    const revisions = await this.history.claim(ds, selector);
    const state = await this.history.sync(ds, ds.spec?.template, revisions, ds.status?.collisionCount ?? 0);
    const hash = revisionHash(state.update, REVISION_KIND);
    const now = this.clock.now();
    let manageError: unknown;
    if (this.expectations.satisfied(key)) {
      try {
        await this.manage(key, ds, nodes, pods, hash, now);
      } catch (err) {
        manageError = err;
      }
    }
    // Revisions beyond the limit that no pod uses any more.
    const live = new Set<string>([state.update.metadata.name ?? ""]);
    for (const cr of state.revisions) {
      const h = revisionHash(cr, REVISION_KIND);
      if (pods.some((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL] === h)) live.add(cr.metadata.name ?? "");
    }
    await this.history.truncate(state.revisions, live, ds.spec?.revisionHistoryLimit ?? 10);
    const status = daemonStatus(ds, nodes, pods, hash, now);
    await this.writeStatus(ds, status, state.collisionCount);
    if (manageError !== undefined) throw toError(manageError);
    const minReady = ds.spec?.minReadySeconds ?? 0;
    if (minReady > 0) {
      const waits = pods.map((p) => availableInMs(p, minReady, now)).filter((ms): ms is number => ms !== undefined && ms > 0);
      if (waits.length > 0) this.queue.addAfter(key, Math.min(...waits));
    }
  }

  private async claimPods(ds: Readonly<DaemonSet>, selector: Selector): Promise<Readonly<Pod>[]> {
    const lister = this.podInformer.lister;
    const owned = ds.metadata.uid ? lister.byIndex(CONTROLLER_UID_INDEX, ds.metadata.uid) : [];
    const candidates = [...owned, ...lister.byIndex(CONTROLLER_UID_INDEX, orphanIndexValue(ds.metadata.namespace))];
    const namespace = ds.metadata.namespace;
    const ref = newControllerRef(ds, "apps/v1", "DaemonSet");
    return claimObjects(candidates, {
      owner: ds,
      selector,
      canAdopt: recheckOwner(ds, () => this.client.get(DAEMONSETS, namespace, ds.metadata.name ?? "")),
      adopt: async (pod) => {
        await this.client.patch(PODS, namespace, pod.metadata.name ?? "", "strategic", adoptPatch(ref, pod.metadata.uid));
      },
      release: async (pod) => {
        await this.client.patch(PODS, namespace, pod.metadata.name ?? "", "strategic", releasePatch(ds.metadata.uid ?? "", pod.metadata.uid));
      },
    });
  }

  private async manage(key: string, ds: Readonly<DaemonSet>, nodes: readonly Readonly<Node>[], pods: readonly Readonly<Pod>[], hash: string, now: number): Promise<void> {
    const plan = planDaemonPods(ds, nodes, pods, hash, now);
    for (const pod of plan.failed) {
      this.recorder.event(ds, "Warning", "FailedDaemonPod", `Found failed daemon pod ${podKey(pod)} on node ${pod.spec?.nodeName ?? ""}, will try to kill it`);
    }
    // Creations first; deletions in the sync after the informer showed them (one expectation record at a time).
    const creates = plan.create.slice(0, DAEMON_BURST_REPLICAS);
    const deletes = creates.length > 0 ? [] : plan.delete.slice(0, DAEMON_BURST_REPLICAS);
    if (creates.length > 0) {
      this.logger.debug({ key, creates: creates.length }, "Creating daemon pods");
      this.expectations.expectCreations(key, creates.length);
      let index = 0;
      const { successes, error } = await slowStartBatch(creates.length, 1, async () => {
        const node = creates[index++]!;
        try {
          const created = await this.client.create<Pod>(PODS, ds.metadata.namespace, newDaemonPod(ds, node, hash));
          this.recorder.event(ds, "Normal", "SuccessfulCreate", `Created pod: ${created.metadata.name ?? ""}`);
        } catch (err) {
          this.recorder.event(ds, "Warning", "FailedCreate", `Error creating: ${errorMessage(err)}`);
          throw err;
        }
      });
      // Creations that failed or were never tried will never be observed.
      for (let i = successes; i < creates.length; i++) this.expectations.creationObserved(key);
      if (error !== undefined) throw toError(error);
      // Deletions are still due: come back once the creations are observed.
      if (plan.delete.length > 0) this.queue.add(key);
      return;
    }
    if (deletes.length === 0) return;
    this.logger.debug({ key, deletes: deletes.length }, "Deleting daemon pods");
    this.expectations.expectDeletions(key, deletes.map(podKey));
    const results = await Promise.allSettled(
      deletes.map(async (pod) => {
        await this.client.delete(PODS, pod.metadata.namespace, pod.metadata.name ?? "", { preconditions: { uid: pod.metadata.uid ?? "" } });
        this.recorder.event(ds, "Normal", "SuccessfulDelete", `Deleted pod: ${pod.metadata.name ?? ""}`);
      }),
    );
    let firstError: unknown;
    results.forEach((r, i) => {
      if (r.status === "fulfilled") return;
      this.expectations.deletionObserved(key, podKey(deletes[i]!));
      if (!isNotFound(r.reason)) {
        this.recorder.event(ds, "Warning", "FailedDelete", `Error deleting: ${errorMessage(r.reason)}`);
        firstError ??= r.reason;
      }
    });
    if (firstError !== undefined) throw toError(firstError);
  }

  private async writeStatus(ds: Readonly<DaemonSet>, counters: DaemonSetStatus, collisionCount: number): Promise<void> {
    const wanted: DaemonSetStatus = { ...counters };
    if (ds.metadata.generation !== undefined) wanted.observedGeneration = ds.metadata.generation;
    if (collisionCount > 0) wanted.collisionCount = collisionCount;
    if (ds.status?.conditions?.length) wanted.conditions = structuredClone(ds.status.conditions);
    const wire = statusToWire(wanted);
    if (semanticEqual(statusToWire(ds.status ?? {}), wire)) return;
    await retryOnConflict(async (previous) => {
      const base = previous === undefined ? structuredClone(ds) as DaemonSet : await this.client.get<DaemonSet>(DAEMONSETS, ds.metadata.namespace, ds.metadata.name ?? "");
      if (base.metadata.uid !== ds.metadata.uid) return;
      base.status = wire;
      await this.client.updateStatus<DaemonSet>(DAEMONSETS, ds.metadata.namespace, base);
    }, { attempts: 2 });
  }
}

function selectorOf(ds: Readonly<DaemonSet>): Selector | undefined {
  const sel = ds.spec?.selector;
  if (isEmptySelector(sel)) return undefined;
  try {
    return selectorFromLabelSelector(sel);
  } catch {
    return undefined;
  }
}

/** The status as Kubernetes serializes it: the four required counters always, the rest only when non-zero. */
export function statusToWire(s: Readonly<DaemonSetStatus>): DaemonSetStatus {
  const wire: DaemonSetStatus = {
    currentNumberScheduled: s.currentNumberScheduled ?? 0,
    numberMisscheduled: s.numberMisscheduled ?? 0,
    desiredNumberScheduled: s.desiredNumberScheduled ?? 0,
    numberReady: s.numberReady ?? 0,
  };
  if (s.observedGeneration) wire.observedGeneration = s.observedGeneration;
  if (s.updatedNumberScheduled) wire.updatedNumberScheduled = s.updatedNumberScheduled;
  if (s.numberAvailable) wire.numberAvailable = s.numberAvailable;
  if (s.numberUnavailable) wire.numberUnavailable = s.numberUnavailable;
  if (s.collisionCount) wire.collisionCount = s.collisionCount;
  if (s.conditions?.length) wire.conditions = structuredClone(s.conditions);
  return wire;
}

export function createDaemonSetController(ctx: ControllerContext): Controller {
  return new DaemonSetController({
    client: ctx.client,
    informer: ctx.informers.forResource<DaemonSet>(DAEMONSETS),
    podInformer: ctx.informers.forResource<Pod>(PODS),
    nodeInformer: ctx.informers.forResource<Node>(NODES),
    revisionInformer: ctx.informers.forResource<ControllerRevision>(CONTROLLER_REVISIONS),
    recorder: ctx.recorder(COMPONENT),
    clock: ctx.clock,
    logger: ctx.logger.child({ controller: NAME }),
    metrics: ctx.metrics,
    workers: ctx.config.concurrentDaemonsetSyncs ?? 2,
  });
}
