// The userspace mode's iptables rules (0.18's "portals"), rendered whole like the iptables mode's: every service
// port's ClusterIP:port (and external IPs) is sent to the port kube-proxy itself listens on for it — REDIRECT for
// traffic arriving from pods (PREROUTING → KUBE-PORTALS-CONTAINER), DNAT to the node's address for traffic from
// the node itself (OUTPUT → KUBE-PORTALS-HOST); NodePorts likewise through KUBE-NODEPORT-CONTAINER / -HOST.
// Loaded with `iptables-restore --noflush`; only these chains and their jumps are kube-proxy's.
import type { Protocol } from "../../api/types/core.js";
import { ruleChain, ruleTarget, type SavedTables } from "../iptables/save.js";

export const KUBE_PORTALS_CONTAINER = "KUBE-PORTALS-CONTAINER";
export const KUBE_PORTALS_HOST = "KUBE-PORTALS-HOST";
export const KUBE_NODEPORT_CONTAINER = "KUBE-NODEPORT-CONTAINER";
export const KUBE_NODEPORT_HOST = "KUBE-NODEPORT-HOST";

export interface Portal {
  /** "namespace/name:port", the rules' comment. */
  servicePort: string;
  protocol: Protocol;
  clusterIP: string;
  port: number;
  externalIPs: readonly string[];
  nodePort: number;
  /** The port kube-proxy listens on for this service port. */
  proxyPort: number;
}

interface Jump {
  chain: string;
  target: string;
  spec: string;
  /** Prepend (ClusterIPs must be matched before NodePorts) or append (NodePorts last). */
  position: "first" | "last";
}

const JUMPS: readonly Jump[] = [
  { chain: "PREROUTING", target: KUBE_PORTALS_CONTAINER, spec: '-m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules"', position: "first" },
  { chain: "OUTPUT", target: KUBE_PORTALS_HOST, spec: '-m comment --comment "handle ClusterIPs; NOTE: this must be before the NodePort rules"', position: "first" },
  { chain: "PREROUTING", target: KUBE_NODEPORT_CONTAINER, spec: '-m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain"', position: "last" },
  { chain: "OUTPUT", target: KUBE_NODEPORT_HOST, spec: '-m addrtype --dst-type LOCAL -m comment --comment "handle service NodePorts; NOTE: this must be the last rule in the chain"', position: "last" },
];

/**
 * The nat table's restore text for `portals`; `nodeIP` is where the node's own traffic is sent. `listenIP`: the
 * relays listen on that address only, so pods' traffic is DNATed there too instead of REDIRECTed.
 */
export function renderPortalRules(portals: readonly Portal[], nodeIP: string, existing: SavedTables, listenIP?: string): { text: string; rules: number } {
  const toProxy = (port: number): string => (listenIP === undefined ? `-j REDIRECT --to-ports ${port}` : `-j DNAT --to-destination ${listenIP}:${port}`);
  const lines = [`*nat`, ...[KUBE_PORTALS_CONTAINER, KUBE_PORTALS_HOST, KUBE_NODEPORT_CONTAINER, KUBE_NODEPORT_HOST].map((c) => `:${c} - [0:0]`)];
  const saved = existing.get("nat");
  for (const j of JUMPS) {
    if (saved?.rules.some((r) => ruleChain(r) === j.chain && ruleTarget(r) === j.target)) continue;
    lines.push(j.position === "first" ? `-I ${j.chain} 1 ${j.spec} -j ${j.target}` : `-A ${j.chain} ${j.spec} -j ${j.target}`);
  }
  let rules = 0;
  const add = (line: string): void => {
    lines.push(line);
    rules++;
  };
  for (const p of [...portals].sort((a, b) => a.servicePort.localeCompare(b.servicePort) || a.protocol.localeCompare(b.protocol))) {
    const proto = p.protocol.toLowerCase();
    const match = `-m comment --comment "${p.servicePort}" -m ${proto} -p ${proto}`;
    for (const ip of [p.clusterIP, ...p.externalIPs]) {
      add(`-A ${KUBE_PORTALS_CONTAINER} ${match} -d ${ip}/32 --dport ${p.port} ${toProxy(p.proxyPort)}`);
      add(`-A ${KUBE_PORTALS_HOST} ${match} -d ${ip}/32 --dport ${p.port} -j DNAT --to-destination ${nodeIP}:${p.proxyPort}`);
    }
    if (p.nodePort > 0) {
      add(`-A ${KUBE_NODEPORT_CONTAINER} ${match} --dport ${p.nodePort} ${toProxy(p.proxyPort)}`);
      add(`-A ${KUBE_NODEPORT_HOST} ${match} --dport ${p.nodePort} -j DNAT --to-destination ${nodeIP}:${p.proxyPort}`);
    }
  }
  lines.push("COMMIT", "");
  return { text: lines.join("\n"), rules };
}
