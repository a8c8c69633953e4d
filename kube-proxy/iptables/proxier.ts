// The iptables proxier (Kubernetes' pkg/proxy/iptables Proxier): each sync applies the pending changes to the
// service and endpoint maps, reads what is on the node (iptables-save on the first sync and after a failure; the
// built-in chains alone on the periodic full syncs; nothing on partial ones), renders the whole ruleset (rules.ts) and
// loads it in one `iptables-restore --noflush`, then clears stale UDP conntrack entries and records the metrics.
import { clearConntrack, staleUDPEntries, type ConntrackDeletion } from "../conntrack.js";
import { ChangeTrackingProxier, type ProxierOptions } from "../proxier.js";
import { isUserspaceChain, renderCleanup } from "./cleanup.js";
import type { Table } from "./chains.js";
import { isLargeCluster, JUMP_RULES, jumpRulesFor, jumpRuleSpec, renderRules, type JumpRule } from "./rules.js";
import { parseIptablesSave, type SavedTables } from "./save.js";

export interface IptablesProxierOptions extends ProxierOptions {
  clusterCIDR?: string | undefined;
  masqueradeAll: boolean;
  nodePortAddresses: readonly string[];
  /** This node's name: endpoints on it are the Local traffic policies' endpoints. */
  nodeName?: string;
  /** --iptables-localhost-nodeports: NodePorts answer on 127.0.0.1 too (route_localnet), when the addresses allow. */
  localhostNodePorts?: boolean;
}

/** Kubernetes' ContainsIPv4Loopback: whether NodePorts on these addresses (empty: all of them) include 127.0.0.1. */
export function nodePortAddressesIncludeLoopback(cidrs: readonly string[]): boolean {
  if (cidrs.length === 0) return true;
  return cidrs.some((c) => {
    const [ip = "", bits = "32"] = c.split("/");
    const prefix = Number(bits);
    const mask = prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0;
    const value = ip.split(".").reduce((n, part) => n * 256 + Number(part), 0);
    return ((value & mask) >>> 0) === ((0x7f000001 & mask) >>> 0);
  });
}

/** The sysctl that lets packets to 127.0.0.0/8 be routed off the node (after a NodePort's DNAT). */
export const ROUTE_LOCALNET_SYSCTL = "net.ipv4.conf.all.route_localnet";

export class IptablesProxier extends ChangeTrackingProxier {
  /** Carried over from failed syncs until one succeeds. */
  private pendingConntrack: ConntrackDeletion[] = [];
  private pendingTriggerTimes: number[] = [];
  /** Services ("namespace/name") changed since the last successful sync. */
  private pendingServices = new Set<string>();
  /** kube-proxy's chains on the node after the last successful restore; undefined: a full sync is due. */
  private written: Record<Table, Set<string>> | undefined;
  private lastFullSync = Number.NEGATIVE_INFINITY;
  /** The mode of the rules on the node (rules.ts, RenderInput.largeClusterMode). */
  private largeClusterMode = false;
  private readonly localhostNodePorts: boolean;
  private routeLocalnetSet = false;

  constructor(private readonly opts: IptablesProxierOptions) {
    super(opts);
    this.localhostNodePorts = (opts.localhostNodePorts ?? true) && nodePortAddressesIncludeLoopback(opts.nodePortAddresses);
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
    for (const svc of [...services.updatedServices, ...endpoints.updatedServices]) this.pendingServices.add(svc);

    // A full sync (the first, after a failure, and every sync period) reads the node and rewrites every chain; a
    // partial one trusts what the last restore wrote and rewrites only the changed services' chains.
    // Entering or leaving large cluster mode changes every endpoint rule: a partial sync would leave a mix.
    const largeClusterMode = isLargeCluster(this.serviceMap, this.endpointsMap);
    const full = this.written === undefined || start - this.lastFullSync >= this.opts.syncPeriodMs || largeClusterMode !== this.largeClusterMode;
    // A periodic full sync after a successful one: our chains are known (this process wrote them), so only the
    // built-in chains are read, to put back jumps someone removed: `iptables -S <chain>` lists one chain (ms),
    // where iptables-save lists every rule on the node (seconds at 1,000 Services). Every chain of ours is still
    // declared, so flushed and refilled. The first sync and any after a failure read the whole node.
    let existing: SavedTables | undefined;
    if (!full) existing = writtenTables(this.written!, jumpRulesFor(this.localhostNodePorts));
    else if (this.written !== undefined) existing = await this.readBuiltinChains(this.written);
    if (this.localhostNodePorts && !this.routeLocalnetSet) await this.setRouteLocalnet();
    if (existing === undefined) {
      const saved = await this.exec(["iptables-save"]);
      if (saved.code !== 0) {
        this.fail("Failed to execute iptables-save", saved.stderr);
        return false;
      }
      existing = parseIptablesSave(saved.stdout);
      // Switching from the userspace mode: its portals would catch Service traffic before these rules.
      const leftovers = renderCleanup(existing, isUserspaceChain);
      if (leftovers !== "") {
        const cleaned = await this.exec(["iptables-restore", "--noflush"], leftovers);
        if (cleaned.code !== 0) logger.warn({ stderr: cleaned.stderr.trim() }, "Failed to remove the userspace mode's rules");
      }
    }
    const rendered = renderRules({
      services: this.serviceMap,
      endpoints: this.endpointsMap,
      clusterCIDR: this.opts.clusterCIDR,
      masqueradeAll: this.opts.masqueradeAll,
      nodePortAddresses: this.opts.nodePortAddresses,
      nodeName: this.opts.nodeName ?? "",
      localhostNodePorts: this.localhostNodePorts,
      existing,
      changedServicePorts: full ? undefined : this.servicePortsOf(this.pendingServices),
      largeClusterMode,
    });
    const restored = await this.exec(["iptables-restore", "--noflush"], rendered.text);
    if (restored.code !== 0) {
      metrics.iptablesRestoreFailures.inc();
      this.fail("Failed to execute iptables-restore", restored.stderr, logger.isLevelEnabled("debug") ? rendered.text : undefined);
      return false;
    }
    const done = clock.now();
    this.written = rendered.chains;
    this.largeClusterMode = largeClusterMode;
    this.pendingServices.clear();
    if (full) this.lastFullSync = start;
    (full ? metrics.syncFullProxyRulesLatency : metrics.syncPartialProxyRulesLatency).observe((done - start) / 1000);
    this.opts.health.updated();
    metrics.syncProxyRulesLatency.observe((done - start) / 1000);
    metrics.syncProxyRulesLastTimestamp.set(done / 1000);
    metrics.iptablesRulesTotal.set({ table: "filter" }, rendered.ruleCounts.filter);
    metrics.iptablesRulesTotal.set({ table: "nat" }, rendered.ruleCounts.nat);
    const networkProgrammingMs = this.pendingTriggerTimes.map((t) => Math.max(0, done - t));
    for (const ms of networkProgrammingMs) metrics.networkProgrammingLatency.observe(ms / 1000);
    this.pendingTriggerTimes = [];
    logger.debug(
      {
        ms: done - start,
        full,
        services: this.serviceMap.size,
        updatedServices: services.updatedServices.size + endpoints.updatedServices.size,
        deletedChains: rendered.deletedChains,
        rules: rendered.ruleCounts,
        // What the histogram got, unbucketed (the proxy bench reads its percentiles from here).
        ...(networkProgrammingMs.length > 0 ? { networkProgrammingMs } : {}),
      },
      "Synced iptables rules",
    );

    const deletions = this.pendingConntrack;
    this.pendingConntrack = [];
    const failures = await clearConntrack(runner, deletions);
    if (failures.length > 0) logger.warn({ failures }, "Failed to clear stale UDP conntrack entries");
    return true;
  }

  /**
   * route_localnet=1, as kube-proxy sets it at start for localhost NodePorts; a failure is logged and tried again
   * on the next sync (the rest of the Services work without it).
   */
  private async setRouteLocalnet(): Promise<void> {
    const set = await this.exec(["sysctl", "-w", `${ROUTE_LOCALNET_SYSCTL}=1`]);
    if (set.code === 0) {
      this.routeLocalnetSet = true;
      this.opts.logger.info(`Set ${ROUTE_LOCALNET_SYSCTL}=1 to allow NodePorts on localhost; to change this, disable --iptables-localhost-nodeports or set --nodeport-addresses without loopback`);
    } else {
      this.opts.logger.warn({ stderr: set.stderr.trim() }, `Failed to set ${ROUTE_LOCALNET_SYSCTL}=1; NodePorts will not answer on localhost`);
    }
  }

  /** A failed sync: the next one is full, since what is on the node is unknown. */
  private fail(message: string, stderr: string, rules?: string): void {
    this.written = undefined;
    this.opts.metrics.syncProxyRulesFailures.inc();
    this.opts.logger.error({ stderr: stderr.trim(), rules }, message);
  }

  /**
   * What the node holds: our chains as written, and the built-in chains' rules as they are now (for the jumps);
   * undefined when one could not be listed (then a full iptables-save is due).
   */
  private async readBuiltinChains(written: Record<Table, Set<string>>): Promise<SavedTables | undefined> {
    const builtins = [...new Set(JUMP_RULES.map((j) => `${j.table} ${j.chain}`))].map((tc) => tc.split(" ") as [Table, string]);
    const listed = await Promise.all(builtins.map(([table, chain]) => this.exec(["iptables", "-w", "-t", table, "-S", chain])));
    if (listed.some((r) => r.code !== 0)) {
      this.opts.logger.warn({ stderr: listed.map((r) => r.stderr.trim()).filter((e) => e !== "") }, "Failed to list the built-in chains; reading the whole node");
      return undefined;
    }
    const tables: SavedTables = new Map();
    for (const table of ["filter", "nat"] as const) tables.set(table, { chains: new Map([...written[table]].map((c) => [c, "-"])), rules: [] });
    builtins.forEach(([table], i) => {
      for (const line of listed[i]!.stdout.split("\n")) if (line.startsWith("-A ")) tables.get(table)!.rules.push(line.trimEnd());
    });
    return tables;
  }

  /** The service port names of the given Services. */
  private servicePortsOf(services: ReadonlySet<string>): Set<string> {
    const out = new Set<string>();
    for (const [name, info] of this.serviceMap) if (services.has(`${info.name.namespace}/${info.name.name}`)) out.add(name);
    return out;
  }
}

/** What the node holds after a restore that wrote `chains` and ensured the jumps: a partial sync's starting point. */
function writtenTables(chains: Record<Table, Set<string>>, jumps: readonly JumpRule[]): SavedTables {
  const tables: SavedTables = new Map();
  for (const table of ["filter", "nat"] as const) {
    tables.set(table, {
      chains: new Map([...chains[table]].map((c) => [c, "-"])),
      rules: jumps.filter((j) => j.table === table).map((j) => `-A ${j.chain} ${jumpRuleSpec(j)}`),
    });
  }
  return tables;
}
