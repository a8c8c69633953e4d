// The resourcequota controller (Kubernetes' pkg/controller/resourcequota): keeps every ResourceQuota's status true —
// status.hard is spec.hard, status.used the sum, over the objects of its namespace that the quota's scopes match,
// of what each uses (api/quota.ts, the same counting the apiserver's ResourceQuota admission charges with).
//
// Contract:
//   - Keys are "namespace/name" of quotas. A quota is recounted when it is added, when its spec.hard differs from
//     status.hard, when an object it counts is deleted (or a pod finishes: it holds nothing any more), and every
//     --resource-quota-sync-period for all quotas.
//   - Objects are read from informers: one per resource a quota names, started when the first quota needs it (the
//     QuotaMonitor's replenishment), so `count/deployments.apps` gives units back when a Deployment goes.
//   - The status is written with the cached resourceVersion: a conflict (admission charged meanwhile) requeues.
import { isNotFound } from "../../../api/errors.js";
import type { KubeObject } from "../../../api/meta.js";
import { isPodTerminal } from "../../../api/pod.js";
import { addUsage, quotaMatches, resourceForQuotaName, toResourceList, usageOf, type Usage } from "../../../api/quota.js";
import { parseQuantity } from "../../../api/quantity.js";
import { findResource, type ResourceInfo } from "../../../api/resources.js";
import type { ResourceQuota } from "../../../api/types/index.js";
import { newControllerQueue, runWorkers } from "../../../client/controller-loop.js";
import { unwrapTombstone, type Informer } from "../../../client/informer.js";
import type { RestClient } from "../../../client/rest.js";
import type { RateLimitingQueue } from "../../../client/workqueue.js";
import { realClock, type Clock } from "../../../component-base/clock.js";
import { silentLogger, type Logger } from "../../../component-base/logging.js";
import type { Registry } from "../../../component-base/metrics.js";
import type { Controller, ControllerFactory } from "../types.js";

export const NAME = "resourcequota";
export const RESOURCE_QUOTAS = findResource("", "v1", "resourcequotas")!;

export interface ResourceQuotaControllerOptions {
  client: Pick<RestClient, "updateStatus">;
  quotas: Informer<ResourceQuota>;
  /** The shared informer of a resource quotas count (started on first use). */
  monitorFor: (resource: ResourceInfo) => Informer<KubeObject>;
  workers?: number;
  syncPeriodMs?: number;
  clock?: Clock;
  logger?: Logger;
  metrics?: Registry;
}

export class ResourceQuotaController implements Controller {
  readonly name = NAME;
  readonly queue: RateLimitingQueue;
  private readonly opts: ResourceQuotaControllerOptions;
  private readonly clock: Clock;
  private readonly logger: Logger;
  /** Resources with a replenishment handler, by group/resource. */
  private readonly monitored = new Map<string, Informer<KubeObject>>();
  private signal: AbortSignal | undefined;

  constructor(opts: ResourceQuotaControllerOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
    this.logger = opts.logger ?? silentLogger();
    this.queue = newControllerQueue(NAME, { clock: this.clock, metrics: opts.metrics });
    opts.quotas.addEventHandler({
      onAdd: (q) => { this.enqueue(q); },
      onUpdate: (_old, q) => {
        if (JSON.stringify(q.spec?.hard ?? {}) !== JSON.stringify(q.status?.hard ?? {}) || q.status?.used === undefined) this.enqueue(q);
      },
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    this.signal = signal;
    const resync = async (): Promise<void> => {
      while (await this.clock.sleep(this.opts.syncPeriodMs ?? 300_000, signal)) {
        for (const q of this.opts.quotas.lister.list()) this.enqueue(q);
      }
    };
    void resync();
    await runWorkers({ queue: this.queue, workers: this.opts.workers ?? 5, sync: (key) => this.sync(key), informers: [this.opts.quotas], logger: this.logger, signal });
  }

  async sync(key: string): Promise<void> {
    const quota = this.opts.quotas.lister.get(key);
    if (!quota) return;
    const namespace = quota.metadata.namespace ?? "";
    const hard = quota.spec?.hard ?? {};
    const names = Object.keys(hard);
    // Every resource the quota names, once.
    const resources = new Map<string, ResourceInfo>();
    for (const name of names) {
      const info = resourceForQuotaName(name);
      if (info) resources.set(`${info.group}/${info.resource}`, info);
    }
    let total: Usage = new Map();
    for (const info of resources.values()) {
      const informer = this.monitor(info);
      if (!(await informer.waitForSync(this.signal))) return;
      for (const object of informer.lister.listNamespace(namespace)) {
        if (!quotaMatches(quota, info.group, info.resource, object)) continue;
        total = addUsage(total, usageOf(info.group, info.resource, object));
      }
    }
    const used: Usage = new Map(names.map((n) => [n, total.get(n) ?? parseQuantity(0)]));
    const status = { hard: { ...hard }, used: toResourceList(used) };
    if (JSON.stringify(status.hard) === JSON.stringify(quota.status?.hard ?? {}) && JSON.stringify(status.used) === JSON.stringify(sorted(quota.status?.used ?? {}))) return;
    const next = structuredClone(quota) as ResourceQuota;
    next.status = status;
    try {
      await this.opts.client.updateStatus(RESOURCE_QUOTAS, namespace, next);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }

  private enqueue(quota: Readonly<ResourceQuota>): void {
    this.queue.add(`${quota.metadata.namespace ?? ""}/${quota.metadata.name ?? ""}`);
  }

  private enqueueNamespace(namespace: string): void {
    for (const q of this.opts.quotas.lister.listNamespace(namespace)) this.enqueue(q);
  }

  /** The informer of `info`, with the handler that recounts a namespace's quotas when something is given back. */
  private monitor(info: ResourceInfo): Informer<KubeObject> {
    const key = `${info.group}/${info.resource}`;
    let informer = this.monitored.get(key);
    if (informer) return informer;
    informer = this.opts.monitorFor(info);
    const isPods = info.group === "" && info.resource === "pods";
    informer.addEventHandler({
      onDelete: (obj) => { this.enqueueNamespace(unwrapTombstone(obj).metadata.namespace ?? ""); },
      onUpdate: (old, obj) => {
        if (isPods && !isPodTerminal(old) && isPodTerminal(obj)) this.enqueueNamespace(obj.metadata.namespace ?? "");
      },
    });
    this.monitored.set(key, informer);
    return informer;
  }
}

function sorted(list: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(list).sort(([a], [b]) => a.localeCompare(b)));
}

export const createResourceQuotaController: ControllerFactory = (ctx) => {
  let started: AbortSignal | undefined;
  const controller = new ResourceQuotaController({
    client: ctx.client,
    quotas: ctx.informers.forResource<ResourceQuota>(RESOURCE_QUOTAS),
    monitorFor: (info) => {
      const informer = ctx.informers.forResource(info);
      // Informers added after the factory started are started here (a no-op for those already running).
      if (started) ctx.informers.start(started);
      return informer;
    },
    workers: ctx.config.concurrentResourceQuotaSyncs,
    syncPeriodMs: ctx.config.resourceQuotaSyncPeriodMs,
    clock: ctx.clock,
    logger: ctx.logger.child({ controller: NAME }),
    metrics: ctx.metrics,
  });
  return {
    name: NAME,
    run: (signal) => {
      started = signal;
      return controller.run(signal);
    },
  };
};
