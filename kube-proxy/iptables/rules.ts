// The iptables mode's whole ruleset as one pure function of the proxier's state: services and endpoints in,
// `iptables-restore --noflush` text for the filter and nat tables out. Every sync renders everything, so what is
// on the node after a restore is exactly what the state says, whatever was there before (a restarted kube-proxy
// needs no memory of what it wrote). The restore only touches kube-proxy's own chains: declaring a chain flushes
// it, stale per-service chains are deleted (-X), and the jumps from the built-in chains are inserted only when
// missing, so rules owned by others on the node are never changed. A partial sync (changedServicePorts) still
// renders everything but leaves the unchanged services' chains out of the restore: iptables-restore's time grows
// with what it is given, and one changed Service should not cost a rewrite of thousands of rules.
//
// Chains and rules are Kubernetes' (pkg/proxy/iptables):
//   nat    PREROUTING, OUTPUT → KUBE-SERVICES: per service port "-d clusterIP --dport port -j KUBE-SVC-x" (KUBE-SVL-x
//          with internalTrafficPolicy Local), externalIPs and LB IPs → KUBE-EXT-x, last "addrtype LOCAL (or the
//          --nodeport-addresses) → KUBE-NODEPORTS"; KUBE-NODEPORTS: "--dport nodePort -j KUBE-EXT-x" (KUBE-FW-x when
//          loadBalancerSourceRanges guard it: allowed sources on to KUBE-EXT-x, the rest dropped by the filter
//          table's KUBE-PROXY-FIREWALL). KUBE-EXT-x: Cluster policy: mark for masquerade, then KUBE-SVC-x; Local
//          policy: pods and the node itself to KUBE-SVC-x, everyone else to KUBE-SVL-x unmasqueraded (source IP kept).
//          KUBE-SVC-x (every usable endpoint) / KUBE-SVL-x (this node's): mark off-cluster sources for masquerade,
//          sticky (recent) checks, then one rule per endpoint with probability 1/n, 1/(n-1), …, 1 (an even
//          spread); KUBE-SEP-y: mark hairpin traffic, DNAT. POSTROUTING → KUBE-POSTROUTING: MASQUERADE the marked.
//   filter KUBE-SERVICES / KUBE-EXTERNAL-SERVICES: REJECT service ports with no usable endpoint (a connect fails at
//          once instead of hanging), DROP those whose Local policy finds none on this node; KUBE-FORWARD accepts
//          marked and established service traffic; KUBE-FIREWALL guards loopback when NodePorts answer there.
import type { EndpointInfo } from "../endpoints.js";
import { categorizeEndpoints, endpointString } from "../endpoints.js";
import { externallyAccessible, servicePortNameString, type ServicePortInfo } from "../service-port.js";
import {
  FIXED_CHAINS,
  isOwnChain,
  KUBE_EXTERNAL_SERVICES,
  KUBE_FIREWALL,
  KUBE_FORWARD,
  KUBE_MARK_MASQ,
  KUBE_NODEPORTS,
  KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL,
  KUBE_SERVICES,
  MASQ_MARK,
  serviceExternalChainName,
  serviceFirewallChainName,
  serviceLocalChainName,
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
  /** This node's name (--hostname-override): endpoints whose nodeName it is are local, for the Local policies. */
  nodeName?: string;
  /**
   * --iptables-localhost-nodeports, in effect (NodePorts on every local address, loopback included): writes the
   * KUBE-FIREWALL guard that makes route_localnet safe, and its jumps.
   */
  localhostNodePorts?: boolean;
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
  /** Absent for KUBE-FIREWALL's jumps, which the kubelet writes too, without one. */
  comment?: string;
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
  { table: "filter", chain: "INPUT", target: KUBE_PROXY_FIREWALL, comment: "kubernetes load balancer firewall", extra: "-m conntrack --ctstate NEW" },
  { table: "filter", chain: "OUTPUT", target: KUBE_PROXY_FIREWALL, comment: "kubernetes load balancer firewall", extra: "-m conntrack --ctstate NEW" },
  { table: "filter", chain: "FORWARD", target: KUBE_PROXY_FIREWALL, comment: "kubernetes load balancer firewall", extra: "-m conntrack --ctstate NEW" },
  { table: "nat", chain: "OUTPUT", target: KUBE_SERVICES, comment: "kubernetes service portals" },
  { table: "nat", chain: "PREROUTING", target: KUBE_SERVICES, comment: "kubernetes service portals" },
  { table: "nat", chain: "POSTROUTING", target: KUBE_POSTROUTING, comment: "kubernetes postrouting rules" },
];

/** With localhost NodePorts: the jumps to KUBE-FIREWALL (Kubernetes' iptablesKubeletJumpChains). */
export const LOCALHOST_NODEPORTS_JUMP_RULES: readonly JumpRule[] = [
  { table: "filter", chain: "INPUT", target: KUBE_FIREWALL },
  { table: "filter", chain: "OUTPUT", target: KUBE_FIREWALL },
];

/** The jumps a ruleset with these settings needs. */
export function jumpRulesFor(localhostNodePorts: boolean): readonly JumpRule[] {
  return localhostNodePorts ? [...JUMP_RULES, ...LOCALHOST_NODEPORTS_JUMP_RULES] : JUMP_RULES;
}

export function jumpRuleSpec(j: JumpRule): string {
  return [j.extra, j.comment !== undefined ? comment(j.comment) : undefined, `-j ${j.target}`].filter((s) => s !== undefined).join(" ");
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
  const localhostNodePorts = input.localhostNodePorts === true;
  for (const j of jumpRulesFor(localhostNodePorts)) {
    const saved = input.existing.get(j.table);
    const present = saved?.rules.some((r) => ruleChain(r) === j.chain && ruleTarget(r) === j.target) ?? false;
    if (!present) (j.table === "filter" ? filter : nat).tail.push(`-I ${j.chain} 1 ${jumpRuleSpec(j)}`);
  }

  nat.add(KUBE_POSTROUTING, `-m mark ! --mark ${MASQ_MARK}/${MASQ_MARK}`, "-j RETURN");
  // Clear the mark so a packet re-traversing the stack is not masqueraded twice.
  nat.add(KUBE_POSTROUTING, `-j MARK --xor-mark ${MASQ_MARK}`);
  nat.add(KUBE_POSTROUTING, comment("kubernetes service traffic requiring SNAT"), "-j MASQUERADE --random-fully");
  nat.add(KUBE_MARK_MASQ, `-j MARK --or-mark ${MASQ_MARK}`);

  if (localhostNodePorts) {
    // route_localnet lets packets to 127.0.0.1 be DNATed off the node (NodePorts on loopback); this keeps anything
    // else from reaching the node's loopback-bound services from outside (https://issue.k8s.io/90259).
    filter.chain(KUBE_FIREWALL);
    filter.add(KUBE_FIREWALL, comment("block incoming localnet connections"), "-d 127.0.0.0/8", "! -s 127.0.0.0/8", "-m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT", "-j DROP");
  }
  filter.add(KUBE_FORWARD, "-m conntrack --ctstate INVALID", "-j DROP");
  filter.add(KUBE_FORWARD, comment("kubernetes forwarding rules"), `-m mark --mark ${MASQ_MARK}/${MASQ_MARK}`, "-j ACCEPT");
  filter.add(KUBE_FORWARD, comment("kubernetes forwarding conntrack rule"), "-m conntrack --ctstate RELATED,ESTABLISHED", "-j ACCEPT");

  const names = [...input.services.keys()].sort();
  for (const name of names) {
    const svc = input.services.get(name)!;
    renderServicePort(svc, input.endpoints.get(name) ?? [], input, nat, filter);
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

function renderServicePort(svc: ServicePortInfo, allEndpoints: readonly EndpointInfo[], input: RenderInput, nat: TableWriter, filter: TableWriter): void {
  const name = servicePortNameString(svc.name);
  const proto = protoMatch(svc.protocol);
  const external = externallyAccessible(svc);
  const internalLocal = svc.internalPolicyLocal === true;
  const externalLocal = svc.externalPolicyLocal === true;
  const { cluster, local, reachable, hasAnyEndpoints } = categorizeEndpoints(
    allEndpoints,
    { usesCluster: !internalLocal || external, usesLocal: internalLocal || externalLocal },
    input.nodeName ?? "",
  );
  // Any usable endpoint in the cluster, even one no rule here reaches: a Local policy with none on this node DROPs.
  const hasEndpoints = hasAnyEndpoints;
  const hasInternalEndpoints = hasEndpoints && (!internalLocal || local.length > 0);
  const hasExternalEndpoints = hasEndpoints && (!externalLocal || local.length > 0);
  const nodePortDestinations = nodePortMatches(input.nodePortAddresses);

  const svcChain = servicePortChainName(name, svc.protocol);
  const svlChain = serviceLocalChainName(name, svc.protocol);
  const extChain = serviceExternalChainName(name, svc.protocol);
  const fwChain = serviceFirewallChainName(name, svc.protocol);
  const internalChain = internalLocal ? svlChain : svcChain;
  const externalPolicyChain = externalLocal ? svlChain : svcChain;
  const sourceRanges = svc.loadBalancerSourceRanges ?? [];
  const vips = svc.loadBalancerVIPs ?? [];
  // The source ranges guard the load-balancer IPs and, with no cloud load balancer in front, the node ports.
  const usesFirewall = hasEndpoints && sourceRanges.length > 0 && (vips.length > 0 || svc.nodePort > 0);
  const loadBalancerChain = usesFirewall ? fwChain : extChain;

  // What the filter table does with traffic no nat rule takes: no endpoints at all → REJECT (the client fails at
  // once); a Local policy with no endpoint on this node → DROP (as Kubernetes: the client's retry or its load
  // balancer's health check moves on).
  const noEndpoints = !hasEndpoints;
  const filterTarget = noEndpoints ? "-j REJECT" : "-j DROP";
  const filterComment = comment(noEndpoints ? `${name} has no endpoints` : `${name} has no local endpoints`);

  if (hasInternalEndpoints) {
    const clusterIPComment = comment(`${name} cluster IP`);
    nat.add(KUBE_SERVICES, clusterIPComment, proto, `-d ${svc.clusterIP}/32`, `--dport ${svc.port}`, `-j ${internalChain}`);
  } else {
    filter.add(KUBE_SERVICES, filterComment, proto, `-d ${svc.clusterIP}/32`, `--dport ${svc.port}`, filterTarget);
  }
  for (const ip of svc.externalIPs) {
    if (hasEndpoints) nat.add(KUBE_SERVICES, comment(`${name} external IP`), proto, `-d ${ip}/32`, `--dport ${svc.port}`, `-j ${extChain}`);
    if (!hasExternalEndpoints) filter.add(KUBE_EXTERNAL_SERVICES, filterComment, proto, `-d ${ip}/32`, `--dport ${svc.port}`, filterTarget);
  }
  for (const ip of vips) {
    if (hasEndpoints) nat.add(KUBE_SERVICES, comment(`${name} loadbalancer IP`), proto, `-d ${ip}/32`, `--dport ${svc.port}`, `-j ${loadBalancerChain}`);
    if (usesFirewall) filter.add(KUBE_PROXY_FIREWALL, comment(`${name} traffic not accepted by ${fwChain}`), proto, `-d ${ip}/32`, `--dport ${svc.port}`, "-j DROP");
    if (!hasExternalEndpoints) filter.add(KUBE_EXTERNAL_SERVICES, filterComment, proto, `-d ${ip}/32`, `--dport ${svc.port}`, filterTarget);
  }
  if (svc.nodePort > 0) {
    if (hasEndpoints) nat.add(KUBE_NODEPORTS, comment(name), proto, `--dport ${svc.nodePort}`, `-j ${loadBalancerChain}`);
    if (usesFirewall) for (const dst of nodePortDestinations) filter.add(KUBE_PROXY_FIREWALL, comment(`${name} traffic not accepted by ${fwChain}`), dst, proto, `--dport ${svc.nodePort}`, "-j DROP");
    if (!hasExternalEndpoints) for (const dst of nodePortDestinations) filter.add(KUBE_EXTERNAL_SERVICES, filterComment, dst, proto, `--dport ${svc.nodePort}`, filterTarget);
  }
  if (!hasEndpoints) return;

  const write = input.changedServicePorts?.has(name) ?? true;
  if (usesFirewall) {
    nat.chain(fwChain, write);
    for (const cidr of sourceRanges) nat.add(fwChain, comment(`${name} loadbalancer IP`), `-s ${cidr}`, `-j ${extChain}`);
    // A packet that falls off this chain is not DNATed, so KUBE-PROXY-FIREWALL's rule for its port drops it.
    nat.add(fwChain, comment(`other traffic to ${name} will be dropped by KUBE-PROXY-FIREWALL`));
  }
  if (external) {
    nat.chain(extChain, write);
    if (!externalLocal) {
      // Traffic from outside is masqueraded so replies come back through this node and get un-DNATed.
      nat.add(extChain, comment(`masquerade traffic for ${name} external destinations`), `-j ${KUBE_MARK_MASQ}`);
    } else {
      // Only this node's endpoints: no hop to another node, so the client's source IP is kept. Pods and the node
      // itself are not "outside": they go to any endpoint, as if out to a load balancer and back in.
      if (input.clusterCIDR) nat.add(extChain, comment(`pod traffic for ${name} external destinations`), `-s ${input.clusterCIDR}`, `-j ${svcChain}`);
      nat.add(extChain, comment(`masquerade LOCAL traffic for ${name} external destinations`), "-m addrtype --src-type LOCAL", `-j ${KUBE_MARK_MASQ}`);
      nat.add(extChain, comment(`route LOCAL traffic for ${name} external destinations`), "-m addrtype --src-type LOCAL", `-j ${svcChain}`);
    }
    if (hasExternalEndpoints) nat.add(extChain, `-j ${externalPolicyChain}`);
  }

  const policyChains: [string, readonly EndpointInfo[]][] = [];
  if (cluster.length > 0) policyChains.push([svcChain, cluster]);
  if (local.length > 0) policyChains.push([svlChain, local]);
  for (const [chain] of policyChains) nat.chain(chain, write);
  if (hasInternalEndpoints) {
    const clusterIPMatch = [comment(`${name} cluster IP`), proto, `-d ${svc.clusterIP}/32`, `--dport ${svc.port}`];
    if (input.masqueradeAll) nat.add(internalChain, ...clusterIPMatch, `-j ${KUBE_MARK_MASQ}`);
    else if (input.clusterCIDR) nat.add(internalChain, ...clusterIPMatch, `! -s ${input.clusterCIDR}`, `-j ${KUBE_MARK_MASQ}`);
  }

  const sepChain = (ep: EndpointInfo): string => servicePortEndpointChainName(name, svc.protocol, endpointString(ep));
  if (!write) {
    // Kept chains (a partial sync's unchanged service): on the node already; only declared as kept and counted,
    // without building the strings of rules that would not be written (most of a partial sync's render time).
    for (const ep of reachable) nat.chain(sepChain(ep), false);
    const perEndpoint = svc.stickyMaxAgeSeconds !== undefined ? 2 : 1;
    for (const [, eps] of policyChains) nat.count += eps.length * perEndpoint;
    nat.count += reachable.length * 2;
    return;
  }

  const large = input.largeClusterMode === true;
  const endpointComment = (ep: EndpointInfo): string | undefined => (large ? undefined : comment(`${name} -> ${endpointString(ep)}`));
  for (const [chain, eps] of policyChains) {
    if (svc.stickyMaxAgeSeconds !== undefined) {
      // A client seen recently goes back to the endpoint it was sent to (each SEP chain records its clients).
      for (const ep of eps) nat.add(chain, endpointComment(ep), `-m recent --name ${sepChain(ep)} --rcheck --seconds ${svc.stickyMaxAgeSeconds} --reap`, `-j ${sepChain(ep)}`);
    }
    eps.forEach((ep, i) => {
      const remaining = eps.length - i;
      nat.add(chain, endpointComment(ep), remaining > 1 ? `-m statistic --mode random --probability ${probability(remaining)}` : undefined, `-j ${sepChain(ep)}`);
    });
  }

  const sepComment = large ? undefined : comment(name);
  for (const ep of reachable) {
    const sep = sepChain(ep);
    nat.chain(sep, write);
    // Hairpin: a pod reaching itself through the Service must see the node as the source, or it answers itself.
    nat.add(sep, sepComment, `-s ${ep.ip}/32`, `-j ${KUBE_MARK_MASQ}`);
    nat.add(sep, sepComment, svc.stickyMaxAgeSeconds !== undefined ? `-m recent --name ${sep} --set` : undefined, proto, `-j DNAT --to-destination ${endpointString(ep)}`);
  }
}

/** The destination matches of NodePort rules: every local address, or the --nodeport-addresses CIDRs. */
function nodePortMatches(cidrs: readonly string[]): string[] {
  const specific = cidrs.filter((c) => c !== "0.0.0.0/0");
  if (specific.length === 0 || specific.length < cidrs.length) return ["-m addrtype --dst-type LOCAL"];
  return specific.map((c) => `-d ${c}`);
}
