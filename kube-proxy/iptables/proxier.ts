// The iptables proxier (Kubernetes' pkg/proxy/iptables Proxier): informer events feed the change trackers and ask
// the BoundedFrequencyRunner for a sync; syncProxyRules applies the pending changes to the service and endpoint
// maps, reads what is on the node (iptables-save), renders the whole ruleset (rules.ts) and loads it in one
// `iptables-restore --noflush`, then clears stale UDP conntrack entries and records the metrics.
import type { Service } from "../../api/types/core.js";
import type { EndpointSlice } from "../../api/types/discovery.js";
import type { EventHandler } from "../../client/informer.js";
import { unwrapTombstone } from "../../client/informer.js";
import type { Clock } from "../../component-base/clock.js";
import type { Logger } from "../../component-base/logging.js";
import { BoundedFrequencyRunner } from "../bounded-frequency-runner.js";
import { EndpointsChangeTracker, ServiceChangeTracker } from "../change-tracker.js";
import { clearConntrack, staleUDPEntries, type ConntrackDeletion } from "../conntrack.js";
import type { EndpointsMap } from "../endpoints.js";
import type { CommandRunner } from "../exec.js";
import type { ProxierHealth } from "../healthz.js";
import type { ProxyMetrics } from "../metrics.js";
import type { ServicePortMap } from "../service-port.js";
import { renderRules } from "./rules.js";
import { parseIptablesSave } from "./save.js";

export interface IptablesProxierOptions {
  runner: CommandRunner;
  clock: Clock;
  logger: Logger;
  metrics: ProxyMetrics;
  health: ProxierHealth;
  clusterCIDR?: string | undefined;
  masqueradeAll: boolean;
  nodePortAddresses: readonly string[];
  syncPeriodMs: number;
  minSyncPeriodMs: number;
}

export class IptablesProxier {
  readonly serviceMap: ServicePortMap = new Map();
  readonly endpointsMap: EndpointsMap = new Map();
  private readonly serviceChanges = new ServiceChangeTracker();
  private readonly endpointChanges = new EndpointsChangeTracker();
  private readonly runner: BoundedFrequencyRunner;
  /** Carried over from failed syncs until one succeeds. */
  private pendingConntrack: ConntrackDeletion[] = [];
  private pendingTriggerTimes: number[] = [];
  private initialized = false;

  constructor(private readonly opts: IptablesProxierOptions) {
    this.runner = new BoundedFrequencyRunner({ fn: () => this.syncProxyRules(), minIntervalMs: opts.minSyncPeriodMs, maxIntervalMs: opts.syncPeriodMs, clock: opts.clock });
  }

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

  /** Starts syncing (call once the Service and EndpointSlice caches synced): the first sync runs at once. */
  start(): void {
    this.initialized = true;
    this.opts.health.queued();
    this.runner.start();
  }

  stop(): Promise<void> {
    return this.runner.stop();
  }

  private onServiceChange(previous: Readonly<Service> | undefined, current: Readonly<Service> | undefined): void {
    const pending = this.serviceChanges.update(previous, current);
    this.opts.metrics.serviceChangesTotal.inc();
    this.opts.metrics.serviceChangesPending.set(this.serviceChanges.pending);
    if (pending) this.queueSync();
  }

  private onSliceChange(slice: Readonly<EndpointSlice>, removed: boolean): void {
    const pending = this.endpointChanges.sliceUpdate(slice, removed);
    this.opts.metrics.endpointChangesTotal.inc();
    this.opts.metrics.endpointChangesPending.set(this.endpointChanges.pending);
    if (pending) this.queueSync();
  }

  private queueSync(): void {
    if (!this.initialized) return;
    this.opts.health.queued();
    this.opts.metrics.syncProxyRulesLastQueuedTimestamp.set(this.opts.clock.now() / 1000);
    this.runner.run();
  }

  /** One sync; resolves whether the rules on the node now match the state. */
  async syncProxyRules(): Promise<boolean> {
    const { clock, logger, metrics, runner } = this.opts;
    const start = clock.now();
    const services = this.serviceChanges.apply(this.serviceMap);
    const endpoints = this.endpointChanges.apply(this.endpointsMap);
    metrics.serviceChangesPending.set(0);
    metrics.endpointChangesPending.set(0);
    this.pendingConntrack.push(...staleUDPEntries(this.serviceMap, endpoints.changedPorts, services.deletedPorts));
    this.pendingTriggerTimes.push(...endpoints.lastChangeTriggerTimes);

    const saved = await runner.run(["iptables-save"]).catch((err: unknown) => ({ code: -1, stdout: "", stderr: String(err) }));
    if (saved.code !== 0) {
      metrics.syncProxyRulesFailures.inc();
      logger.error({ stderr: saved.stderr.trim() }, "Failed to execute iptables-save");
      return false;
    }
    const rendered = renderRules({
      services: this.serviceMap,
      endpoints: this.endpointsMap,
      clusterCIDR: this.opts.clusterCIDR,
      masqueradeAll: this.opts.masqueradeAll,
      nodePortAddresses: this.opts.nodePortAddresses,
      existing: parseIptablesSave(saved.stdout),
    });
    const restored = await runner.run(["iptables-restore", "--noflush"], rendered.text).catch((err: unknown) => ({ code: -1, stdout: "", stderr: String(err) }));
    if (restored.code !== 0) {
      metrics.iptablesRestoreFailures.inc();
      metrics.syncProxyRulesFailures.inc();
      logger.error({ stderr: restored.stderr.trim(), rules: logger.isLevelEnabled("debug") ? rendered.text : undefined }, "Failed to execute iptables-restore");
      return false;
    }
    const done = clock.now();
    this.opts.health.updated();
    metrics.syncProxyRulesLatency.observe((done - start) / 1000);
    metrics.syncProxyRulesLastTimestamp.set(done / 1000);
    metrics.iptablesRulesTotal.set({ table: "filter" }, rendered.ruleCounts.filter);
    metrics.iptablesRulesTotal.set({ table: "nat" }, rendered.ruleCounts.nat);
    for (const t of this.pendingTriggerTimes) metrics.networkProgrammingLatency.observe(Math.max(0, done - t) / 1000);
    this.pendingTriggerTimes = [];
    logger.debug(
      { ms: done - start, services: this.serviceMap.size, updatedServices: services.updatedServices.size + endpoints.updatedServices.size, deletedChains: rendered.deletedChains, rules: rendered.ruleCounts },
      "Synced iptables rules",
    );

    const deletions = this.pendingConntrack;
    this.pendingConntrack = [];
    const failures = await clearConntrack(runner, deletions);
    if (failures.length > 0) logger.warn({ failures }, "Failed to clear stale UDP conntrack entries");
    return true;
  }
}
