// The garbage collector (Kubernetes' pkg/controller/garbagecollector): deletes objects whose owners are gone and
// carries out foreground and orphan deletion, from metadata.ownerReferences.
//
// Shape: one informer per monitored resource (every served resource but events), each indexed by the uids its
// objects name as owners, so "the dependents of X" is an index look-up across informers; that index is the
// owner → dependents graph. Events only enqueue object keys ("<resource.group>|<namespace>/<name>"); sync(key)
// looks at one object and does one of three things:
//   - An object with a deletionTimestamp and the `orphan` finalizer: remove the ownerReference to it from every
//     dependent, then remove the finalizer (the apiserver then deletes it).
//   - An object with a deletionTimestamp and the `foregroundDeletion` finalizer ("deleting dependents"): enqueue its
//     dependents (blocking ones first) so each is deleted; once no dependent with blockOwnerDeletion remains, remove
//     the finalizer.
//   - Any other object with ownerReferences: classify each owner as solid (exists), dangling (gone: absent from its
//     cache AND confirmed by a live GET answering 404 or another uid) or waiting (being deleted in the foreground).
//     With a solid owner, references to dangling/waiting owners are removed; with none, the object is deleted:
//     Foreground when it waits on an owner and has dependents of its own (so the cascade stays in order), else
//     with the propagation its own finalizers ask for (Background by default).
// Owners of kinds nobody serves here are treated as solid: we never delete on a guess. Deletes carry a uid
// precondition so a same-named successor is never hit; patches carry the resourceVersion they were computed from.
import { errorMessage, isNotFound } from "../../../api/errors.js";
import { objectKey, type KubeObject, type OwnerReference } from "../../../api/meta.js";
import { crdResource, establishedStorageResource } from "../../../api/custom-resources.js";
import { findResourceByKind, qualifiedResource, RESOURCES, type ResourceInfo } from "../../../api/resources.js";
import { newControllerQueue, runWorkers } from "../../../client/controller-loop.js";
import { createInformer, unwrapTombstone, type Informer } from "../../../client/informer.js";
import type { RestClient } from "../../../client/rest.js";
import type { RateLimitingQueue } from "../../../client/workqueue.js";
import { realClock, type Clock } from "../../../component-base/clock.js";
import { silentLogger, type Logger } from "../../../component-base/logging.js";
import type { Registry } from "../../../component-base/metrics.js";
import {
  ensureIndex,
} from "../controller-utils.js";
import type { Controller, ControllerFactory } from "../types.js";

export const NAME = "garbagecollector";
export const COMPONENT = "garbage-collector-controller";
export const FINALIZER_ORPHAN = "orphan";
export const FINALIZER_FOREGROUND = "foregroundDeletion";
const OWNER_INDEX = "garbagecollector/ownerUID";

/** What the collector watches: every resource except events, as Kubernetes ignores them, each stored resource once (not its views). */
export const MONITORED_RESOURCES: readonly ResourceInfo[] = RESOURCES.filter(
  // As Kubernetes' GC: only resources it can list, watch and delete (not the reviews or ComponentStatuses, which are computed).
  (r) => r.resource !== "events" && r.storageResource === undefined && ["list", "watch", "delete"].every((verb) => r.verbs.includes(verb)),
);

export type GarbageCollectorClient = Pick<RestClient, "get" | "patch" | "delete">;

export interface GarbageCollectorOptions {
  client: GarbageCollectorClient;
  /** One informer per monitored resource. */
  informers: readonly Informer<KubeObject>[];
  /** --concurrent-gc-syncs; default 20. */
  workers?: number;
  /** Owner uids confirmed absent that are remembered (LRU) to spare live GETs; default 1000. */
  absentOwnerCacheSize?: number;
  clock?: Clock;
  logger?: Logger;
  /** Where the queue's workqueue_* metrics go. */
  metrics?: Registry;
  /** Custom resources: the CRD informer, and how to make an informer for a resource a CRD defines (crd helper). */
  customResources?: { crds: Informer<KubeObject>; informerFor: (info: ResourceInfo) => Informer<KubeObject> };
}

type OwnerState =
  | { kind: "solid" }
  | { kind: "dangling" }
  /** Being deleted with foregroundDeletion: it waits for its dependents. */
  | { kind: "waiting" };

interface Located {
  info: ResourceInfo;
  informer: Informer<KubeObject>;
  namespace: string | undefined;
  name: string;
}

export class GarbageCollector implements Controller {
  readonly name = NAME;
  readonly queue: RateLimitingQueue;
  private readonly client: GarbageCollectorClient;
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private readonly workers: number;
  private readonly logger: Logger;
  private readonly absent = new Map<string, true>();
  private readonly absentMax: number;

  constructor(opts: GarbageCollectorOptions) {
    this.workers = opts.workers ?? 20;
    this.absentMax = opts.absentOwnerCacheSize ?? 1000;
    if (!Number.isInteger(this.workers) || this.workers < 1) throw new Error(`garbage collector: workers must be a positive integer, got ${this.workers}`);
    this.client = opts.client;
    this.logger = opts.logger ?? silentLogger();
    this.queue = newControllerQueue("garbage_collector_attempt_to_delete", { clock: opts.clock ?? realClock, metrics: opts.metrics });
    // Every informer is known before any handler runs: a handler may replay its cache at once and look up owners.
    for (const informer of opts.informers) this.informers.set(qualifiedResource(informer.resource), informer);
    for (const informer of opts.informers) this.monitor(informer);
    this.customResources = opts.customResources;
    opts.customResources?.crds.addEventHandler({
      onAdd: (crd) => { this.followCRD(crd); },
      onUpdate: (_old, crd) => { this.followCRD(crd); },
      onDelete: (crd) => { this.unfollowCRD(unwrapTombstone(crd)); },
    });
  }

  private monitor(informer: Informer<KubeObject>): void {
    this.informers.set(qualifiedResource(informer.resource), informer);
    ensureIndex(informer, OWNER_INDEX, (obj) => (obj.metadata.ownerReferences ?? []).map((r) => r.uid));
    informer.addEventHandler({
      onAdd: (obj) => { this.observe(informer.resource, undefined, obj); },
      onUpdate: (old, obj) => { this.observe(informer.resource, old, obj); },
      onDelete: (obj) => { this.observeDeleted(unwrapTombstone(obj)); },
    });
  }

  // ---- custom resources (crd helper): monitored while their CRD is Established, each with its own informer ----

  private readonly customResources: GarbageCollectorOptions["customResources"];
  /** The monitored custom resources by CRD name, with what stops their informer. */
  private readonly customMonitors = new Map<string, { info: ResourceInfo; stop: AbortController }>();
  private signal: AbortSignal | undefined;

  private followCRD(crd: Readonly<KubeObject>): void {
    const name = crd.metadata.name ?? "";
    const info = establishedStorageResource(crd);
    const current = this.customMonitors.get(name);
    if (current && info && qualifiedResource(current.info) === qualifiedResource(info) && current.info.version === info.version) return;
    if (current) this.unfollowCRD(crd);
    if (!info || !this.customResources || !this.signal || this.signal.aborted) return;
    const informer = this.customResources.informerFor(info);
    const stop = new AbortController();
    this.signal.addEventListener("abort", () => { stop.abort(); }, { once: true });
    this.customMonitors.set(name, { info, stop });
    this.monitor(informer);
    void informer.run(stop.signal);
    // Owners of this kind deleted before its informer ran sent no event: once it has synced, every object naming
    // one is looked at again (a live GET settles whether the owner is there).
    void informer.waitForSync(stop.signal).then((synced) => {
      if (synced) this.enqueueDependentsOfKind(info);
    });
  }

  private enqueueDependentsOfKind(info: ResourceInfo): void {
    for (const informer of this.informers.values()) {
      for (const obj of informer.lister.list()) {
        const refs = obj.metadata.ownerReferences ?? [];
        if (refs.some((r) => r.kind === info.kind && r.apiVersion.split("/")[0] === info.group)) this.queue.add(refKey(informer.resource, obj));
      }
    }
  }

  private unfollowCRD(crd: Readonly<KubeObject>): void {
    const name = crd.metadata.name ?? "";
    const current = this.customMonitors.get(name);
    if (!current) return;
    current.stop.abort();
    this.customMonitors.delete(name);
    this.informers.delete(qualifiedResource(current.info));
  }

  /** The monitored resource of an owner reference's kind: a built-in one, or a custom resource being followed. */
  private resourceOf(apiVersion: string, kind: string): ResourceInfo | undefined {
    const builtIn = findResourceByKind(apiVersion, kind);
    if (builtIn) return builtIn;
    for (const { info } of this.customMonitors.values()) if (`${info.group}/${info.version}` === apiVersion && info.kind === kind) return info;
    // A reference may name another served version of the CRD: the same objects.
    const group = apiVersion.split("/")[0];
    for (const { info } of this.customMonitors.values()) if (info.group === group && info.kind === kind && apiVersion.includes("/")) return info;
    return undefined;
  }

  // ---- end custom resources ----

  run(signal: AbortSignal): Promise<void> {
    this.signal = signal;
    for (const crd of this.customResources?.crds.lister.list() ?? []) this.followCRD(crd);
    return runWorkers({
      queue: this.queue,
      workers: this.workers,
      sync: (key) => this.sync(key),
      informers: [...this.informers.values()],
      logger: this.logger,
      signal,
      onStart: () => {
        this.logger.info({ workers: this.workers, resources: this.informers.size }, "Starting garbage collector");
      },
      logFailure: (key, err) => {
        this.logger.warn({ object: key, err: errorMessage(err), retries: this.queue.numRequeues(key) }, "Garbage collection failed; retrying");
      },
    });
  }

  /** Processes one object; see the file comment. Throws to be retried. */
  async sync(key: string): Promise<void> {
    const located = this.locate(key);
    if (!located) return;
    const obj = located.informer.lister.getByName(located.namespace, located.name);
    if (!obj) return;
    if (obj.metadata.deletionTimestamp !== undefined) {
      const finalizers = obj.metadata.finalizers ?? [];
      if (finalizers.includes(FINALIZER_ORPHAN)) await this.orphanDependents(located.info, obj);
      else if (finalizers.includes(FINALIZER_FOREGROUND)) await this.processDeletingDependents(located.info, obj);
      return;
    }
    const refs = obj.metadata.ownerReferences ?? [];
    if (refs.length === 0) return;

    const solid: OwnerReference[] = [];
    const gone: OwnerReference[] = [];
    let waiting = false;
    for (const ref of refs) {
      const state = await this.ownerState(ref, obj.metadata.namespace);
      if (state.kind === "solid") solid.push(ref);
      else gone.push(ref);
      if (state.kind === "waiting") waiting = true;
    }
    if (gone.length === 0) return;
    if (solid.length > 0) {
      // Another owner keeps it alive: just drop the references to owners that are gone or going.
      const goneUids = new Set(gone.map((r) => r.uid));
      await this.client.patch(located.info, located.namespace, located.name, "merge", {
        metadata: { resourceVersion: obj.metadata.resourceVersion, ownerReferences: refs.filter((r) => !goneUids.has(r.uid)) },
      });
      this.logger.debug({ object: key, removed: [...goneUids] }, "Removed references to deleted owners");
      return;
    }
    const finalizers = obj.metadata.finalizers ?? [];
    const dependents = waiting ? this.dependentsOf(obj) : [];
    if (dependents.some(({ obj: dep }) => isDeletingDependents(dep))) {
      // Its owner waits for it and a dependent of its own waits too: the owners may form a cycle. As Kubernetes, it
      // stops blocking its owners before it is deleted in the foreground, so that the cycle can unwind.
      await this.client.patch(located.info, located.namespace, located.name, "merge", {
        metadata: { resourceVersion: obj.metadata.resourceVersion, ownerReferences: refs.map((r) => (r.blockOwnerDeletion === true ? { ...r, blockOwnerDeletion: false } : r)) },
      });
    }
    const policy = dependents.length > 0 ? "Foreground" : finalizers.includes(FINALIZER_ORPHAN) ? "Orphan" : finalizers.includes(FINALIZER_FOREGROUND) ? "Foreground" : "Background";
    try {
      await this.client.delete(located.info, located.namespace, located.name, { propagationPolicy: policy, preconditions: { uid: obj.metadata.uid ?? "" } });
      this.logger.info({ object: key, owners: refs.map((r) => `${r.kind}/${r.name}`), propagationPolicy: policy }, "Deleted object whose owners are gone");
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** The objects (in any monitored resource) that name `owner` in their ownerReferences. */
  dependentsOf(owner: Readonly<KubeObject>): { info: ResourceInfo; obj: Readonly<KubeObject> }[] {
    const uid = owner.metadata.uid;
    if (!uid) return [];
    const out: { info: ResourceInfo; obj: Readonly<KubeObject> }[] = [];
    for (const informer of this.informers.values()) {
      for (const obj of informer.lister.byIndex(OWNER_INDEX, uid)) out.push({ info: informer.resource, obj });
    }
    return out;
  }

  private async orphanDependents(info: ResourceInfo, owner: Readonly<KubeObject>): Promise<void> {
    const uid = owner.metadata.uid ?? "";
    for (const { info: depInfo, obj } of this.dependentsOf(owner)) {
      const refs = (obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
      try {
        await this.client.patch(depInfo, obj.metadata.namespace, obj.metadata.name ?? "", "merge", {
          metadata: { resourceVersion: obj.metadata.resourceVersion, ownerReferences: refs.length > 0 ? refs : null },
        });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    this.logger.info({ object: refKey(info, owner) }, "Orphaned dependents");
    await this.removeFinalizer(info, owner, FINALIZER_ORPHAN);
  }

  private async processDeletingDependents(info: ResourceInfo, owner: Readonly<KubeObject>): Promise<void> {
    const uid = owner.metadata.uid ?? "";
    const dependents = this.dependentsOf(owner);
    const blocks = (obj: Readonly<KubeObject>): boolean => (obj.metadata.ownerReferences ?? []).some((r) => r.uid === uid && r.blockOwnerDeletion === true);
    if (!dependents.some(({ obj }) => blocks(obj))) {
      await this.removeFinalizer(info, owner, FINALIZER_FOREGROUND);
      this.logger.info({ object: refKey(info, owner) }, "Dependents gone; finishing foreground deletion");
      return;
    }
    // Each dependent sees this owner waiting and deletes itself (or drops the reference if another owner keeps it).
    // One deleting its own dependents is not queued: it comes back when they are gone, and owners in a cycle would
    // otherwise queue each other for ever.
    const ordered = [...dependents.filter(({ obj }) => blocks(obj)), ...dependents.filter(({ obj }) => !blocks(obj))];
    for (const { info: depInfo, obj } of ordered) {
      if (isDeletingDependents(obj)) continue;
      if (obj.metadata.deletionTimestamp === undefined || (obj.metadata.finalizers ?? []).length > 0) this.queue.add(refKey(depInfo, obj));
    }
  }

  private async removeFinalizer(info: ResourceInfo, obj: Readonly<KubeObject>, finalizer: string): Promise<void> {
    const remaining = (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer);
    try {
      await this.client.patch(info, obj.metadata.namespace, obj.metadata.name ?? "", "merge", {
        metadata: { resourceVersion: obj.metadata.resourceVersion, finalizers: remaining.length > 0 ? remaining : null },
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Solid, dangling or waiting: the cache first; an owner the cache lacks is confirmed with a live GET. */
  private async ownerState(ref: Readonly<OwnerReference>, dependentNamespace: string | undefined): Promise<OwnerState> {
    const info = this.resourceOf(ref.apiVersion, ref.kind);
    const informer = info ? this.informers.get(qualifiedResource(info)) : undefined;
    if (!info || !informer) return { kind: "solid" };
    const namespace = info.namespaced ? dependentNamespace : undefined;
    if (info.namespaced && !namespace) return { kind: "dangling" }; // a cluster-scoped object cannot have a namespaced owner
    const cached = informer.lister.getByName(namespace, ref.name);
    if (cached?.metadata.uid === ref.uid) return stateOf(cached);
    if (this.absent.has(ref.uid)) return { kind: "dangling" };
    let live: KubeObject;
    try {
      live = await this.client.get(info, namespace, ref.name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.rememberAbsent(ref.uid);
      return { kind: "dangling" };
    }
    if (live.metadata.uid !== ref.uid) {
      this.rememberAbsent(ref.uid);
      return { kind: "dangling" };
    }
    return stateOf(live);
  }

  private rememberAbsent(uid: string): void {
    this.absent.delete(uid);
    this.absent.set(uid, true);
    while (this.absent.size > this.absentMax) {
      const oldest = this.absent.keys().next().value;
      if (oldest === undefined) break;
      this.absent.delete(oldest);
    }
  }

  /** An object appeared or changed: does it need a look now? (Every pod event comes here: no work when none.) */
  private observe(info: ResourceInfo, old: Readonly<KubeObject> | undefined, obj: Readonly<KubeObject>): void {
    const finalizers = obj.metadata.finalizers;
    if (obj.metadata.deletionTimestamp !== undefined && finalizers !== undefined && (finalizers.includes(FINALIZER_ORPHAN) || finalizers.includes(FINALIZER_FOREGROUND))) {
      this.queue.add(refKey(info, obj));
      return;
    }
    const refs = obj.metadata.ownerReferences ?? [];
    for (const ref of refs) {
      const owner = this.cachedOwner(ref, obj.metadata.namespace);
      if (owner === "unknown") continue;
      if (!owner || isDeletingDependents(owner)) {
        this.queue.add(refKey(info, obj));
        break;
      }
    }
    // A reference dropped from a dependent, or one that stopped blocking, may be what an owner in foreground deletion
    // was waiting for.
    for (const ref of old?.metadata.ownerReferences ?? []) {
      const kept = refs.some((r) => r.uid === ref.uid);
      const stillBlocks = refs.some((r) => r.uid === ref.uid && r.blockOwnerDeletion === true);
      if (!kept || (ref.blockOwnerDeletion === true && !stillBlocks)) this.enqueueOwnerIfWaiting(ref, obj.metadata.namespace);
    }
  }

  /** An object is gone: its dependents may now be garbage, and an owner may have been waiting for it. */
  private observeDeleted(obj: Readonly<KubeObject>): void {
    for (const { info, obj: dep } of this.dependentsOf(obj)) this.queue.add(refKey(info, dep));
    for (const ref of obj.metadata.ownerReferences ?? []) this.enqueueOwnerIfWaiting(ref, obj.metadata.namespace);
  }

  private enqueueOwnerIfWaiting(ref: Readonly<OwnerReference>, dependentNamespace: string | undefined): void {
    const owner = this.cachedOwner(ref, dependentNamespace);
    if (owner && owner !== "unknown" && isDeletingDependents(owner)) this.queue.add(refKey(this.informerOf(ref)!.resource, owner));
  }

  /** The owner from its cache (undefined if absent or another uid); "unknown" for kinds not monitored here. */
  private cachedOwner(ref: Readonly<OwnerReference>, dependentNamespace: string | undefined): Readonly<KubeObject> | undefined | "unknown" {
    const informer = this.informerOf(ref);
    if (!informer) return "unknown";
    const owner = informer.lister.getByName(informer.resource.namespaced ? dependentNamespace : undefined, ref.name);
    return owner?.metadata.uid === ref.uid ? owner : undefined;
  }

  private informerOf(ref: Readonly<OwnerReference>): Informer<KubeObject> | undefined {
    const info = this.resourceOf(ref.apiVersion, ref.kind);
    return info ? this.informers.get(qualifiedResource(info)) : undefined;
  }

  private locate(key: string): Located | undefined {
    const bar = key.indexOf("|");
    const informer = this.informers.get(key.slice(0, bar));
    if (bar < 0 || !informer) return undefined;
    const objKey = key.slice(bar + 1);
    const slash = objKey.indexOf("/");
    return slash < 0
      ? { info: informer.resource, informer, namespace: undefined, name: objKey }
      : { info: informer.resource, informer, namespace: objKey.slice(0, slash), name: objKey.slice(slash + 1) };
  }
}

export const createGarbageCollectorController: ControllerFactory = (ctx) =>
  new GarbageCollector({
    client: ctx.client,
    informers: MONITORED_RESOURCES.map((info) => ctx.informers.forResource(info)),
    customResources: { crds: ctx.informers.forResource(crdResource()), informerFor: (info) => createInformer({ client: ctx.client, resource: info, logger: ctx.logger }) },
    workers: ctx.config.concurrentGcSyncs,
    clock: ctx.clock,
    logger: ctx.logger.child({ controller: NAME }),
    // One provider per registry, so the scrape-time gauges see every controller's queue.
    metrics: ctx.metrics,
  });

/** The name registry.ts imports (the --controllers name is "garbagecollector"). */
export const createGarbagecollectorController: ControllerFactory = createGarbageCollectorController;

/** The queue key of an object: "<resource.group>|<namespace>/<name>" ("nodes|n1" for cluster-scoped ones). */
export function refKey(info: ResourceInfo, obj: Readonly<KubeObject>): string {
  return `${qualifiedResource(info)}|${objectKey({ name: obj.metadata.name ?? "", ...(info.namespaced && obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}) })}`;
}

function isDeletingDependents(obj: Readonly<KubeObject>): boolean {
  return obj.metadata.deletionTimestamp !== undefined && (obj.metadata.finalizers ?? []).includes(FINALIZER_FOREGROUND);
}

function stateOf(owner: Readonly<KubeObject>): OwnerState {
  return isDeletingDependents(owner) ? { kind: "waiting" } : { kind: "solid" };
}
