// The namespace controller (Kubernetes' pkg/controller/namespace): empties a namespace being deleted, then
// releases it by removing the "kubernetes" finalizer.
//
// Contract:
//   - Only namespaces with a deletionTimestamp whose spec.finalizers still holds "kubernetes" are worked on.
//   - Every namespaced resource the apiserver serves (api/resources.ts; events.k8s.io events are the core events
//     again, so they are skipped) is emptied with a DELETE of the collection, propagation Background (a 405 falls
//     back to per-object deletes), then listed to see what is left: pods bound to nodes terminate gracefully and
//     objects with finalizers wait for them, so the namespace is requeued (after half the longest remaining pod
//     grace period, plus 1 s) until nothing remains. Status conditions say what is left, as Kubernetes' do.
//   - The namespaced custom resources of every Established CRD (the CRD informer's view at sync time, as the
//     garbage collector follows them) are emptied the same way.
//   - Then PUT namespaces/<n>/finalize without "kubernetes". kubelab's apiserver keeps a namespace whose
//     finalizers were all removed through /finalize (its "last finalizer removed" rule looks at
//     metadata.finalizers only), so when the namespace is still there with no finalizer left, the controller DELETEs
//     it again, which removes it.
import { crdResource, establishedNamespacedResources } from "../../../api/custom-resources.js";
import { errorMessage, isNotFound, isStatusError } from "../../../api/errors.js";
import type { KubeObject } from "../../../api/meta.js";
import { findResource, qualifiedResource, RESOURCES, type ResourceInfo } from "../../../api/resources.js";
import { formatTime, parseTime } from "../../../api/time.js";
import type { Namespace, NamespaceCondition } from "../../../api/types/index.js";
import { newControllerQueue, runWorkers } from "../../../client/controller-loop.js";
import type { Informer } from "../../../client/informer.js";
import type { RestClient } from "../../../client/rest.js";
import type { RateLimitingQueue } from "../../../client/workqueue.js";
import { realClock, type Clock } from "../../../component-base/clock.js";
import { silentLogger, type Logger } from "../../../component-base/logging.js";
import type { Registry } from "../../../component-base/metrics.js";
import type { Controller, ControllerFactory } from "../types.js";

export const NAME = "namespace";
export const COMPONENT = "namespace-controller";
export const FINALIZER_KUBERNETES = "kubernetes";

export const NAMESPACES = findResource("", "v1", "namespaces")!;
/** What a namespace can contain: every namespaced resource once (views such as events.k8s.io events and autoscaling/v1 HPAs are stored elsewhere). */
export const NAMESPACED_RESOURCES: readonly ResourceInfo[] = RESOURCES.filter(
  // Only what is stored and can be emptied (a LocalSubjectAccessReview is namespaced but computed, create-only).
  (r) => r.namespaced && r.storageResource === undefined && r.verbs.includes("deletecollection"),
);

export type NamespaceClient = Pick<RestClient, "list" | "delete" | "deleteCollection" | "updateStatus" | "raw">;

export interface NamespaceControllerOptions {
  client: NamespaceClient;
  namespaces: Informer<Namespace>;
  /** --concurrent-namespace-syncs; default 10. */
  workers?: number;
  /** What to empty; default NAMESPACED_RESOURCES. */
  resources?: readonly ResourceInfo[];
  /** The CRD informer: the namespaced custom resources of the Established ones are emptied too. */
  crds?: Informer<KubeObject>;
  clock?: Clock;
  logger?: Logger;
  /** Where the queue's workqueue_* metrics go. */
  metrics?: Registry;
}

/** What one sync achieved: the namespace is done, or content remains and it should be looked at again later. */
export type NamespaceSyncOutcome = { done: true } | { done: false; requeueAfterMs: number; remaining: string[] };

interface Remaining {
  resource: ResourceInfo;
  count: number;
  /** finalizer → objects still carrying it. */
  finalizers: Map<string, number>;
  /** Longest grace period (s) left among terminating pods. */
  graceSeconds: number;
}

export class NamespaceController implements Controller {
  readonly name = NAME;
  readonly queue: RateLimitingQueue;
  private readonly client: NamespaceClient;
  private readonly namespaces: Informer<Namespace>;
  private readonly resources: readonly ResourceInfo[];
  private readonly crds: Informer<KubeObject> | undefined;
  private readonly workers: number;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(opts: NamespaceControllerOptions) {
    this.workers = opts.workers ?? 10;
    if (!Number.isInteger(this.workers) || this.workers < 1) throw new Error(`namespace controller: workers must be a positive integer, got ${this.workers}`);
    this.client = opts.client;
    this.namespaces = opts.namespaces;
    this.resources = opts.resources ?? NAMESPACED_RESOURCES;
    this.crds = opts.crds;
    this.clock = opts.clock ?? realClock;
    this.logger = opts.logger ?? silentLogger();
    this.queue = newControllerQueue(NAME, { clock: this.clock, metrics: opts.metrics });
    const consider = (ns: Readonly<Namespace>): void => {
      if (ns.metadata.deletionTimestamp !== undefined) this.queue.add(ns.metadata.name ?? "");
    };
    this.namespaces.addEventHandler({ onAdd: consider, onUpdate: (_old, ns) => { consider(ns); } });
  }

  run(signal: AbortSignal): Promise<void> {
    return runWorkers({
      queue: this.queue,
      workers: this.workers,
      sync: async (key) => {
        const outcome = await this.sync(key);
        if (!outcome.done) {
          this.logger.debug({ namespace: key, remaining: outcome.remaining }, "Namespace content remains; checking again later");
          this.queue.addAfter(key, outcome.requeueAfterMs);
        }
      },
      informers: this.crds ? [this.namespaces, this.crds] : [this.namespaces],
      logger: this.logger,
      signal,
      onStart: () => {
        this.logger.info({ workers: this.workers }, "Starting namespace controller");
      },
      logFailure: (key, err) => {
        this.logger.warn({ namespace: key, err: errorMessage(err) }, "Namespace deletion failed; retrying");
      },
    });
  }

  async sync(name: string): Promise<NamespaceSyncOutcome> {
    const ns = this.namespaces.lister.get(name);
    if (ns?.metadata.deletionTimestamp === undefined) return { done: true };
    const specFinalizers = ns.spec?.finalizers ?? [];
    if (!specFinalizers.includes(FINALIZER_KUBERNETES)) {
      if (specFinalizers.length === 0 && (ns.metadata.finalizers ?? []).length === 0) await this.deleteFinalized(name);
      return { done: true };
    }

    const remaining: Remaining[] = [];
    const failures: string[] = [];
    const custom = establishedNamespacedResources(this.crds?.lister.list() ?? []);
    for (const info of [...this.resources, ...custom]) {
      try {
        await this.deleteContent(info, name);
        const left = await this.client.list(info, name);
        if (left.items.length > 0) remaining.push(summarize(info, left.items, this.clock.now()));
      } catch (err) {
        if (isNotFound(err)) continue; // not served here
        failures.push(`${qualifiedResource(info)}: ${errorMessage(err)}`);
      }
    }
    await this.writeConditions(ns, remaining, failures);
    if (failures.length > 0) throw new Error(`deleting the content of namespace ${name} failed for ${failures.length} resource types: ${failures.join("; ")}`);
    if (remaining.length > 0) {
      const grace = Math.max(0, ...remaining.map((r) => r.graceSeconds));
      return { done: false, requeueAfterMs: (Math.floor(grace / 2) + 1) * 1000, remaining: remaining.map((r) => `${qualifiedResource(r.resource)}=${r.count}`) };
    }

    const body: Namespace = { apiVersion: "v1", kind: "Namespace", metadata: { name }, spec: { finalizers: specFinalizers.filter((f) => f !== FINALIZER_KUBERNETES) } };
    const reply = await this.client.raw("PUT", `/api/v1/namespaces/${encodeURIComponent(name)}/finalize`, body);
    this.logger.info({ namespace: name }, "Namespace content deleted; finalized");
    const after = reply.body as Partial<Namespace> | undefined;
    if ((after?.spec?.finalizers ?? []).length === 0 && (after?.metadata?.finalizers ?? []).length === 0) await this.deleteFinalized(name);
    return { done: true };
  }

  /** DELETE of a namespace that has a deletionTimestamp and no finalizers: the apiserver removes it now. */
  private async deleteFinalized(name: string): Promise<void> {
    try {
      await this.client.delete(NAMESPACES, undefined, name);
      this.logger.info({ namespace: name }, "Removed finalized namespace");
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private async deleteContent(info: ResourceInfo, namespace: string): Promise<void> {
    try {
      await this.client.deleteCollection(info, namespace, { propagationPolicy: "Background" });
      return;
    } catch (err) {
      if (!(isStatusError(err) && err.code === 405)) throw err;
    }
    const { items } = await this.client.list(info, namespace);
    for (const item of items) {
      if (item.metadata.deletionTimestamp !== undefined) continue;
      try {
        await this.client.delete(info, namespace, item.metadata.name ?? "", { propagationPolicy: "Background" });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  private async writeConditions(ns: Readonly<Namespace>, remaining: readonly Remaining[], failures: readonly string[]): Promise<void> {
    const conditions = deletionConditions(ns.status?.conditions ?? [], remaining, failures, formatTime(this.clock.now()));
    const key = (cs: readonly NamespaceCondition[]): string => JSON.stringify(cs.map((c) => [c.type, c.status, c.reason ?? "", c.message ?? "", c.lastTransitionTime ?? ""]));
    if (key(conditions) === key(ns.status?.conditions ?? [])) return;
    const next = structuredClone(ns) as Namespace;
    next.status = { ...(next.status ?? {}), phase: "Terminating", conditions };
    try {
      await this.client.updateStatus(NAMESPACES, undefined, next);
    } catch (err) {
      // Conditions are informational; the next pass writes them again.
      this.logger.debug({ namespace: ns.metadata.name, err: errorMessage(err) }, "Could not update namespace conditions");
    }
  }
}

export const createNamespaceController: ControllerFactory = (ctx) =>
  new NamespaceController({
    client: ctx.client,
    namespaces: ctx.informers.forResource<Namespace>(NAMESPACES),
    crds: ctx.informers.forResource(crdResource()),
    workers: ctx.config.concurrentNamespaceSyncs,
    clock: ctx.clock,
    logger: ctx.logger.child({ controller: NAME }),
    // One provider per registry, so the scrape-time gauges see every controller's queue.
    metrics: ctx.metrics,
  });

// ---------------------------------------------------------------------------------------------------------------
// Builders (pure; tests reuse them)

function summarize(info: ResourceInfo, items: readonly KubeObject[], now: number): Remaining {
  const finalizers = new Map<string, number>();
  let graceSeconds = 0;
  for (const item of items) {
    for (const f of item.metadata.finalizers ?? []) finalizers.set(f, (finalizers.get(f) ?? 0) + 1);
    const deadline = parseTime(item.metadata.deletionTimestamp);
    if (deadline !== undefined) graceSeconds = Math.max(graceSeconds, Math.ceil((deadline - now) / 1000));
  }
  return { resource: info, count: items.length, finalizers, graceSeconds };
}

/** Kubernetes' namespace deletion conditions, keeping lastTransitionTime of those whose status did not change. */
export function deletionConditions(current: readonly NamespaceCondition[], remaining: readonly Remaining[], failures: readonly string[], now: string): NamespaceCondition[] {
  const finalizerCounts = new Map<string, number>();
  for (const r of remaining) for (const [f, n] of r.finalizers) finalizerCounts.set(f, (finalizerCounts.get(f) ?? 0) + n);
  const wanted: Omit<NamespaceCondition, "lastTransitionTime">[] = [
    { type: "NamespaceDeletionDiscoveryFailure", status: "False", reason: "ResourcesDiscovered", message: "All resources successfully discovered" },
    { type: "NamespaceDeletionGroupVersionParsingFailure", status: "False", reason: "ParsedGroupVersions", message: "All legacy kube types successfully parsed" },
    failures.length > 0
      ? { type: "NamespaceDeletionContentFailure", status: "True", reason: "ContentDeletionFailed", message: `Failed to delete all resource types, ${failures.length} remaining: ${failures.join(", ")}` }
      : { type: "NamespaceDeletionContentFailure", status: "False", reason: "ContentDeleted", message: "All content successfully deleted, may be waiting on finalization" },
    remaining.length > 0
      ? { type: "NamespaceContentRemaining", status: "True", reason: "SomeResourcesRemain", message: `Some resources are remaining: ${remaining.map((r) => `${r.resource.resource}.${r.resource.group} has ${r.count} resource instances`).sort().join(", ")}` }
      : { type: "NamespaceContentRemaining", status: "False", reason: "ContentRemoved", message: "All content successfully removed" },
    finalizerCounts.size > 0
      ? { type: "NamespaceFinalizersRemaining", status: "True", reason: "SomeFinalizersRemain", message: `Some content in the namespace has finalizers remaining: ${[...finalizerCounts].map(([f, n]) => `${f} in ${n} resource instances`).sort().join(", ")}` }
      : { type: "NamespaceFinalizersRemaining", status: "False", reason: "ContentHasNoFinalizers", message: "All content-preserving finalizers finished" },
  ];
  return wanted.map((w) => {
    const old = current.find((c) => c.type === w.type);
    // A condition's transition time moves only when its status does.
    const since = old?.status === w.status && old.lastTransitionTime ? old.lastTransitionTime : now;
    return { type: w.type, status: w.status, lastTransitionTime: since, ...(w.reason ? { reason: w.reason } : {}), ...(w.message ? { message: w.message } : {}) };
  });
}
