// What both proxy modes share (Kubernetes' proxier skeleton): informer handlers that only record changes in the
// trackers and ask the BoundedFrequencyRunner for a sync; the mode's syncProxyRules applies the pending changes to
// the service and endpoint maps and makes the node match them. Nothing syncs before start() (called once the
// Service and EndpointSlice caches synced), so the first sync sees the whole cluster, never a partial list.
import type { Service } from "../api/types/core.js";
import type { EndpointSlice } from "../api/types/discovery.js";
import type { EventHandler } from "../client/informer.js";
import { unwrapTombstone } from "../client/informer.js";
import type { Clock } from "../component-base/clock.js";
import type { Logger } from "../component-base/logging.js";
import { BoundedFrequencyRunner } from "./bounded-frequency-runner.js";
import { EndpointsChangeTracker, ServiceChangeTracker } from "./change-tracker.js";
import type { EndpointsMap } from "./endpoints.js";
import type { CommandRunner } from "./exec.js";
import type { ProxierHealth } from "./healthz.js";
import type { ProxyMetrics } from "./metrics.js";
import type { ServicePortMap } from "./service-port.js";

export interface Proxier {
  serviceHandler(): EventHandler<Service>;
  endpointSliceHandler(): EventHandler<EndpointSlice>;
  start(): void;
  stop(): Promise<void>;
}

export interface ProxierOptions {
  runner: CommandRunner;
  clock: Clock;
  logger: Logger;
  metrics: ProxyMetrics;
  health: ProxierHealth;
  syncPeriodMs: number;
  minSyncPeriodMs: number;
}

export abstract class ChangeTrackingProxier implements Proxier {
  readonly serviceMap: ServicePortMap = new Map();
  readonly endpointsMap: EndpointsMap = new Map();
  protected readonly serviceChanges = new ServiceChangeTracker();
  protected readonly endpointChanges: EndpointsChangeTracker;
  private readonly syncRunner: BoundedFrequencyRunner;
  private initialized = false;

  constructor(protected readonly base: ProxierOptions) {
    this.endpointChanges = new EndpointsChangeTracker(base.clock.now());
    this.syncRunner = new BoundedFrequencyRunner({ fn: () => this.syncProxyRules(), minIntervalMs: base.minSyncPeriodMs, maxIntervalMs: base.syncPeriodMs, clock: base.clock });
  }

  /** One sync; resolves whether the node now matches the state. */
  abstract syncProxyRules(): Promise<boolean>;

  serviceHandler(): EventHandler<Service> {
    return {
      onAdd: (svc) => {
        this.onServiceChange(undefined, svc);
      },
      onUpdate: (old, svc) => {
        this.onServiceChange(old, svc);
      },
      onDelete: (obj) => {
        this.onServiceChange(unwrapTombstone(obj), undefined);
      },
    };
  }

  endpointSliceHandler(): EventHandler<EndpointSlice> {
    return {
      onAdd: (slice) => {
        this.onSliceChange(slice, false);
      },
      onUpdate: (_old, slice) => {
        this.onSliceChange(slice, false);
      },
      onDelete: (obj) => {
        this.onSliceChange(unwrapTombstone(obj), true);
      },
    };
  }

  start(): void {
    this.initialized = true;
    this.base.health.queued();
    this.syncRunner.start();
  }

  async stop(): Promise<void> {
    await this.syncRunner.stop();
  }

  private onServiceChange(previous: Readonly<Service> | undefined, current: Readonly<Service> | undefined): void {
    const pending = this.serviceChanges.update(previous, current);
    this.base.metrics.serviceChangesTotal.inc();
    this.base.metrics.serviceChangesPending.set(this.serviceChanges.pending);
    if (pending) this.queueSync();
  }

  private onSliceChange(slice: Readonly<EndpointSlice>, removed: boolean): void {
    const pending = this.endpointChanges.sliceUpdate(slice, removed);
    this.base.metrics.endpointChangesTotal.inc();
    this.base.metrics.endpointChangesPending.set(this.endpointChanges.pending);
    if (pending) this.queueSync();
  }

  private queueSync(): void {
    if (!this.initialized) return;
    this.base.health.queued();
    this.base.metrics.syncProxyRulesLastQueuedTimestamp.set(this.base.clock.now() / 1000);
    this.syncRunner.run();
  }

  /** The outcome of a command run through the runner, with spawn failures as a non-zero code. */
  protected async exec(argv: readonly string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return this.base.runner.run(argv, stdin).catch((err: unknown) => ({ code: -1, stdout: "", stderr: err instanceof Error ? err.message : String(err) }));
  }
}
