// The iptables proxier (Kubernetes' pkg/proxy/iptables Proxier): each sync applies the pending changes to the
// service and endpoint maps, reads what is on the node (iptables-save), renders the whole ruleset (rules.ts) and
// loads it in one `iptables-restore --noflush`, then clears stale UDP conntrack entries and records the metrics.
import { clearConntrack, staleUDPEntries, type ConntrackDeletion } from "../conntrack.js";
import { ChangeTrackingProxier, type ProxierOptions } from "../proxier.js";
import { isUserspaceChain, renderCleanup } from "./cleanup.js";
import { renderRules } from "./rules.js";
import { parseIptablesSave } from "./save.js";

export interface IptablesProxierOptions extends ProxierOptions {
  clusterCIDR?: string | undefined;
  masqueradeAll: boolean;
  nodePortAddresses: readonly string[];
}

export class IptablesProxier extends ChangeTrackingProxier {
  /** Carried over from failed syncs until one succeeds. */
  private pendingConntrack: ConntrackDeletion[] = [];
  private pendingTriggerTimes: number[] = [];

  constructor(private readonly opts: IptablesProxierOptions) {
    super(opts);
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

    const saved = await this.exec(["iptables-save"]);
    if (saved.code !== 0) {
      metrics.syncProxyRulesFailures.inc();
      logger.error({ stderr: saved.stderr.trim() }, "Failed to execute iptables-save");
      return false;
    }
    const existing = parseIptablesSave(saved.stdout);
    // Switching from the userspace mode: its portals would catch Service traffic before these rules.
    const leftovers = renderCleanup(existing, isUserspaceChain);
    if (leftovers !== "") {
      const cleaned = await this.exec(["iptables-restore", "--noflush"], leftovers);
      if (cleaned.code !== 0) logger.warn({ stderr: cleaned.stderr.trim() }, "Failed to remove the userspace mode's rules");
    }
    const rendered = renderRules({
      services: this.serviceMap,
      endpoints: this.endpointsMap,
      clusterCIDR: this.opts.clusterCIDR,
      masqueradeAll: this.opts.masqueradeAll,
      nodePortAddresses: this.opts.nodePortAddresses,
      existing,
    });
    const restored = await this.exec(["iptables-restore", "--noflush"], rendered.text);
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
