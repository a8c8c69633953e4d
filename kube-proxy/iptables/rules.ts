// The iptables mode's whole ruleset as one pure function of the proxier's state: services and endpoints in,
// `iptables-restore --noflush` text for the filter and nat tables out. Every sync renders everything, so what is
// on the node after a restore is exactly what the state says, whatever was there before (a restarted kube-proxy
// needs no memory of what it wrote). The restore only touches kube-proxy's own chains: declaring a chain flushes
// it, stale per-service chains are deleted (-X), and the jumps from the built-in chains are inserted only when
// missing, so rules owned by others on the node are never changed. A partial sync (changedServicePorts) still
// renders everything but leaves the unchanged services' chains out of the restore: iptables-restore's time grows
// with what it is given, and one changed Service should not cost a rewrite of thousands of rules.
//
// Chains and rules are Kubernetes' (pkg/proxy/iptables), traffic policy Cluster:
//   nat    PREROUTING, OUTPUT → KUBE-SERVICES: per service port "-d clusterIP --dport port -j KUBE-SVC-x",
//          externalIPs → KUBE-EXT-x, last "addrtype LOCAL (or the --nodeport-addresses) → KUBE-NODEPORTS"
//          KUBE-NODEPORTS: "--dport nodePort -j KUBE-EXT-x"; KUBE-EXT-x: mark for masquerade, then KUBE-SVC-x
//          KUBE-SVC-x: mark off-cluster sources for masquerade, sticky (recent) checks, then one rule per endpoint
//          with probability 1/n, 1/(n-1), …, 1 (an even spread); KUBE-SEP-y: mark hairpin traffic, DNAT
//          POSTROUTING → KUBE-POSTROUTING: MASQUERADE what KUBE-MARK-MASQ marked
//   filter KUBE-SERVICES / KUBE-EXTERNAL-SERVICES: REJECT service ports with no usable endpoint (a connect fails at
//          once instead of hanging); KUBE-FORWARD accepts marked and established service traffic
import type { EndpointInfo } from "../endpoints.js";
import { endpointString, usableEndpoints } from "../endpoints.js";
import { servicePortNameString, type ServicePortInfo } from "../service-port.js";
import {
  FIXED_CHAINS,
  isOwnChain,
  KUBE_EXTERNAL_SERVICES,
  KUBE_FORWARD,
  KUBE_MARK_MASQ,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_SERVICES,
  MASQ_MARK,
  serviceExternalChainName,
  servicePortChainName,
  servicePortEndpointChainName,
  type Table,
} from "./chains.js";
import { ruleChain, ruleTarget, type SavedTables } from "./save.js";

export interface RenderInput {
  services: ReadonlyMap<string, ServicePortInfo>;
  endpoints: ReadonlyMap<string, readonly EndpointInfo[]>;
  /** --cluster-cidr: traffic to a ClusterIP from outside it is masqueraded. */
  clusterCIDR?: string | undefined;
  /** --masquerade-all: all ClusterIP traffic is masqueraded. */
  masqueradeAll: boolean;
  /** --nodeport-addresses: CIDRs whose addresses serve NodePorts; empty means every local address. */
  nodePortAddresses: readonly string[];
  /** What iptables-save shows now: stale chains are deleted, missing jumps inserted. */
  existing: SavedTables;
  /**
   * A partial sync: only these service ports' own chains (KUBE-SVC/EXT/SEP) are written; the others' are on the
   * node already and left alone. The shared chains (KUBE-SERVICES, KUBE-NODEPORTS, …) are always written whole.
   * Undefined: a full sync, every chain written.
   */
  changedServicePorts?: ReadonlySet<string> | undefined;
  /**
   * Kubernetes' large cluster mode (isLargeCluster): the per-endpoint rules (KUBE-SVC → KUBE-SEP jumps, KUBE-SEP
   * rules) go without their comments, which are most of the ruleset's bytes and of iptables-restore's and
   * iptables-save's time. The per-service rules keep theirs.
   */
  largeClusterMode?: boolean;
}

/** Kubernetes' largeClusterEndpointsThreshold: above this many endpoints, large cluster mode. */
export const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;

/** Whether `endpoints` (all of them, as Kubernetes counts) call for large cluster mode. */
export function isLargeCluster(services: ReadonlyMap<string, unknown>, endpoints: ReadonlyMap<string, readonly unknown[]>): boolean {
  let total = 0;
  for (const name of services.keys()) total += endpoints.get(name)?.length ?? 0;
  return total > LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
}

export interface RenderedRules {
  /** The iptables-restore --noflush input (both tables). */
  text: string;
  /** Rules kube-proxy owns per table after the restore (kubeproxy_sync_proxy_rules_iptables_total). */
  ruleCounts: Record<Table, number>;
  /** Chains deleted as stale. */
  deletedChains: Record<Table, string[]>;
  /** kube-proxy's chains on the node after the restore (what the next partial sync starts from). */
  chains: Record<Table, Set<string>>;
}

export interface JumpRule {
  table: Table;
  /** The built-in chain. */
  chain: string;
  target: string;
  comment: string;
  extra?: string;
}

/** The jumps from the built-in chains into kube-proxy's, Kubernetes' list. */
export const JUMP_RULES: readonly JumpRule[] = [
  { table: "filter", chain: "INPUT", target: KUBE_EXTERNAL_SERVICES, comment: "kubernetes externally-visible service portals", extra: "-m conntrack --ctstate NEW" },
  { table: "filter", chain: "FORWARD", target: KUBE_EXTERNAL_SERVICES, comment: "kubernetes externally-visible service portals", extra: "-m conntrack --ctstate NEW" },
  { table: "filter", chain: "INPUT", target: KUBE_NODEPORTS, comment: "kubernetes health check service ports" },
  { table: "filter", chain: "FORWARD", target: KUBE_SERVICES, comment: "kubernetes service portals", extra: "-m conntrack --ctstate NEW" },
  { table: "filter", chain: "OUTPUT", target: KUBE_SERVICES, comment: "kubernetes service portals", extra: "-m conntrack --ctstate NEW" },
  { table: "filter", chain: "FORWARD", target: KUBE_FORWARD, comment: "kubernetes forwarding rules" },
  { table: "nat", chain: "OUTPUT", target: KUBE_SERVICES, comment: "kubernetes service portals" },
  { table: "nat", chain: "PREROUTING", target: KUBE_SERVICES, comment: "kubernetes service portals" },
  { table: "nat", chain: "POSTROUTING", target: KUBE_POSTROUTING, comment: "kubernetes postrouting rules" },
];

export function jumpRuleSpec(j: JumpRule): string {
  return [j.extra, comment(j.comment), `-j ${j.target}`].filter((s) => s !== undefined).join(" ");
}

function comment(text: string): string {
  return `-m comment --comment "${text}"`;
}

function protoMatch(protocol: string): string {
  const p = protocol.toLowerCase();
  return `-m ${p} -p ${p}`;
}

/** Kubernetes' "%0.10f" of 1/(n-i): the probability of taking endpoint i of n when the ones before were not taken. */
export function probability(remaining: number): string {
  return (1 / remaining).toFixed(10);
}

class TableWriter {
  /** Chains written (declared, so flushed, and filled) by this restore. */
  readonly chains = new Set<string>();
  /** Chains left as they are on the node (a partial sync's unchanged services): counted, not written. */
  readonly kept = new Set<string>();
  /** Rules by chain, in order within each chain. */
  readonly rules = new Map<string, string[]>();
  readonly tail: string[] = [];
  count = 0;

  chain(name: string, write = true): void {
    (write ? this.chains : this.kept).add(name);
  }

  add(chain: string, ...parts: (string | undefined)[]): void {
    this.count++;
    if (this.kept.has(chain)) return;
    let list = this.rules.get(chain);
    if (!list) this.rules.set(chain, (list = []));
    list.push(`-A ${chain} ${parts.filter((p) => p !== undefined && p !== "").join(" ")}`);
  }

  render(name: string): string {
    // Sorted by chain, as iptables-save writes it: iptables-restore (nf_tables) loads that shape several times
    // faster than rules interleaved across thousands of chains.
    const chains = [...this.chains].sort();
    return [`*${name}`, ...chains.map((c) => `:${c} - [0:0]`), ...chains.flatMap((c) => this.rules.get(c) ?? []), ...this.tail, "COMMIT", ""].join("\n");
  }
}

export function renderRules(input: RenderInput): RenderedRules {
  const filter = new TableWriter();
  const nat = new TableWriter();
  for (const c of FIXED_CHAINS.filter) filter.chain(c);
  for (const c of FIXED_CHAINS.nat) nat.chain(c);

  // Jumps from the built-in chains: inserted at the top, only when absent (others' rules stay where they are).
  for (const j of JUMP_RULES) {
    const saved = input.existing.get(j.table);
    const present = saved?.rules.some((r) => ruleChain(r) === j.chain && ruleTarget(r) === j.target) ?? false;
    if (!present) (j.table === "filter" ? filter : nat).tail.push(`-I ${j.chain} 1 ${jumpRuleSpec(j)}`);
  }

  nat.add(KUBE_POSTROUTING, `-m mark ! --mark ${MASQ_MARK}/${MASQ_MARK}`, "-j RETURN");
  // Clear the mark so a packet re-traversing the stack is not masqueraded twice.
  nat.add(KUBE_POSTROUTING, `-j MARK --xor-mark ${MASQ_MARK}`);
  nat.add(KUBE_POSTROUTING, comment("kubernetes service traffic requiring SNAT"), "-j MASQUERADE --random-fully");
  nat.add(KUBE_MARK_MASQ, `-j MARK --or-mark ${MASQ_MARK}`);

  filter.add(KUBE_FORWARD, "-m conntrack --ctstate INVALID", "-j DROP");
  filter.add(KUBE_FORWARD, comment("kubernetes forwarding rules"), `-m mark --mark ${MASQ_MARK}/${MASQ_MARK}`, "-j ACCEPT");
  filter.add(KUBE_FORWARD, comment("kubernetes forwarding conntrack rule"), "-m conntrack --ctstate RELATED,ESTABLISHED", "-j ACCEPT");

  const names = [...input.services.keys()].sort();
  for (const name of names) {
    const svc = input.services.get(name)!;
    renderServicePort(svc, usableEndpoints(input.endpoints.get(name) ?? []), input, nat, filter);
  }

  // Must stay last: NodePorts match any destination port, so ClusterIPs that happen to be local addresses go first.
  const nodePortsComment = comment("kubernetes service nodeports; NOTE: this must be the last rule in this chain");
  const cidrs = input.nodePortAddresses.filter((c) => c !== "0.0.0.0/0");
  if (cidrs.length === 0 || cidrs.length < input.nodePortAddresses.length) nat.add(KUBE_SERVICES, nodePortsComment, "-m addrtype --dst-type LOCAL", `-j ${KUBE_NODEPORTS}`);
  else for (const cidr of cidrs) nat.add(KUBE_SERVICES, nodePortsComment, `-d ${cidr}`, `-j ${KUBE_NODEPORTS}`);

  const chains: Record<Table, Set<string>> = { filter: new Set([...filter.chains, ...filter.kept]), nat: new Set([...nat.chains, ...nat.kept]) };
  // Stale per-service chains: flushed (declared) first, so nothing still jumps to them when they are deleted.
  const deletedChains: Record<Table, string[]> = { filter: [], nat: [] };
  for (const [table, writer] of [["filter", filter], ["nat", nat]] as const) {
    const saved = input.existing.get(table);
    for (const chain of saved?.chains.keys() ?? []) {
      if (!isOwnChain(table, chain) || chains[table].has(chain)) continue;
      writer.chain(chain);
      writer.tail.push(`-X ${chain}`);
      deletedChains[table].push(chain);
    }
  }

  return {
    text: filter.render("filter") + nat.render("nat"),
    ruleCounts: { filter: filter.count, nat: nat.count },
    deletedChains,
    chains,
  };
}

function renderServicePort(svc: ServicePortInfo, endpoints: readonly EndpointInfo[], input: RenderInput, nat: TableWriter, filter: TableWriter): void {
  const name = servicePortNameString(svc.name);
  const proto = protoMatch(svc.protocol);
  const clusterIPComment = comment(`${name} cluster IP`);
  const hasExternal = svc.nodePort > 0 || svc.externalIPs.length > 0;
  const nodePortDestinations = nodePortMatches(input.nodePortAddresses);

  if (endpoints.length === 0) {
    const noEndpoints = comment(`${name} has no endpoints`);
    filter.add(KUBE_SERVICES, noEndpoints, proto, `-d ${svc.clusterIP}/32`, `--dport ${svc.port}`, "-j REJECT");
    for (const ip of svc.externalIPs) filter.add(KUBE_EXTERNAL_SERVICES, noEndpoints, proto, `-d ${ip}/32`, `--dport ${svc.port}`, "-j REJECT");
    if (svc.nodePort > 0) for (const dst of nodePortDestinations) filter.add(KUBE_EXTERNAL_SERVICES, noEndpoints, dst, proto, `--dport ${svc.nodePort}`, "-j REJECT");
    return;
  }

  const write = input.changedServicePorts?.has(name) ?? true;
  const svcChain = servicePortChainName(name, svc.protocol);
  const extChain = serviceExternalChainName(name, svc.protocol);
  nat.chain(svcChain, write);
  nat.add(KUBE_SERVICES, clusterIPComment, proto, `-d ${svc.clusterIP}/32`, `--dport ${svc.port}`, `-j ${svcChain}`);

  if (hasExternal) {
    nat.chain(extChain, write);
    for (const ip of svc.externalIPs) nat.add(KUBE_SERVICES, comment(`${name} external IP`), proto, `-d ${ip}/32`, `--dport ${svc.port}`, `-j ${extChain}`);
    if (svc.nodePort > 0) nat.add(KUBE_NODEPORTS, comment(name), proto, `--dport ${svc.nodePort}`, `-j ${extChain}`);
    // Traffic from outside is masqueraded so replies come back through this node and get un-DNATed.
    nat.add(extChain, comment(`masquerade traffic for ${name} external destinations`), `-j ${KUBE_MARK_MASQ}`);
    nat.add(extChain, `-j ${svcChain}`);
  }

  const sepChains = endpoints.map((ep) => servicePortEndpointChainName(name, svc.protocol, endpointString(ep)));
  if (!write) {
    // Kept chains (a partial sync's unchanged service): on the node already; only declared as kept and counted,
    // without building the strings of rules that would not be written (most of a partial sync's render time).
    for (const sep of sepChains) nat.chain(sep, false);
    const masq = input.masqueradeAll || input.clusterCIDR ? 1 : 0;
    const perEndpoint = (svc.stickyMaxAgeSeconds !== undefined ? 2 : 1) + 2;
    nat.count += masq + endpoints.length * perEndpoint;
    return;
  }

  if (input.masqueradeAll) nat.add(svcChain, clusterIPComment, proto, `-d ${svc.clusterIP}/32`, `--dport ${svc.port}`, `-j ${KUBE_MARK_MASQ}`);
  else if (input.clusterCIDR) nat.add(svcChain, clusterIPComment, proto, `-d ${svc.clusterIP}/32`, `--dport ${svc.port}`, `! -s ${input.clusterCIDR}`, `-j ${KUBE_MARK_MASQ}`);

  const large = input.largeClusterMode === true;
  const endpointComment = (ep: EndpointInfo): string | undefined => (large ? undefined : comment(`${name} -> ${endpointString(ep)}`));
  const sepComment = large ? undefined : comment(name);
  if (svc.stickyMaxAgeSeconds !== undefined) {
    // A client seen recently goes back to the endpoint it was sent to (each SEP chain records its clients).
    endpoints.forEach((ep, i) => {
      nat.add(svcChain, endpointComment(ep), `-m recent --name ${sepChains[i]} --rcheck --seconds ${svc.stickyMaxAgeSeconds} --reap`, `-j ${sepChains[i]}`);
    });
  }
  endpoints.forEach((ep, i) => {
    const remaining = endpoints.length - i;
    nat.add(svcChain, endpointComment(ep), remaining > 1 ? `-m statistic --mode random --probability ${probability(remaining)}` : undefined, `-j ${sepChains[i]}`);
  });

  endpoints.forEach((ep, i) => {
    const sep = sepChains[i]!;
    nat.chain(sep, write);
    // Hairpin: a pod reaching itself through the Service must see the node as the source, or it answers itself.
    nat.add(sep, sepComment, `-s ${ep.ip}/32`, `-j ${KUBE_MARK_MASQ}`);
    nat.add(sep, sepComment, svc.stickyMaxAgeSeconds !== undefined ? `-m recent --name ${sep} --set` : undefined, proto, `-j DNAT --to-destination ${endpointString(ep)}`);
  });
}

/** The destination matches of NodePort rules: every local address, or the --nodeport-addresses CIDRs. */
function nodePortMatches(cidrs: readonly string[]): string[] {
  const specific = cidrs.filter((c) => c !== "0.0.0.0/0");
  if (specific.length === 0 || specific.length < cidrs.length) return ["-m addrtype --dst-type LOCAL"];
  return specific.map((c) => `-d ${c}`);
}
