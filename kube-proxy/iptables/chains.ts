// Kubernetes' iptables chain names. The per-service and per-endpoint chains are named by a hash so that names stay
// within iptables' 28 characters and are the same on every node and across restarts: base32 (RFC 4648, standard
// alphabet) of the SHA-256 of the service port name + lower-case protocol (+ "ip:port" for an endpoint), first 16
// characters. E.g. "default/kubernetes:https" + "tcp" → KUBE-SVC-NPX46M4PTMTKRN6Y, as on any Kubernetes node.
import { createHash } from "node:crypto";

export const KUBE_SERVICES = "KUBE-SERVICES";
export const KUBE_EXTERNAL_SERVICES = "KUBE-EXTERNAL-SERVICES";
export const KUBE_NODEPORTS = "KUBE-NODEPORTS";
export const KUBE_POSTROUTING = "KUBE-POSTROUTING";
export const KUBE_MARK_MASQ = "KUBE-MARK-MASQ";
export const KUBE_FORWARD = "KUBE-FORWARD";
/** filter: drops what a KUBE-FW- chain did not let through (traffic to a firewalled port that was not DNATed). */
export const KUBE_PROXY_FIREWALL = "KUBE-PROXY-FIREWALL";
/**
 * filter: the guard for route_localnet (Kubernetes' kubeletFirewallChain, which the kubelet writes too): packets
 * to 127.0.0.0/8 from elsewhere are dropped unless they were DNATed, so only NodePorts answer on loopback.
 */
export const KUBE_FIREWALL = "KUBE-FIREWALL";

/** The fwmark bit KUBE-MARK-MASQ sets and KUBE-POSTROUTING masquerades (--iptables-masquerade-bit 14). */
export const MASQ_MARK = "0x4000";

/** Prefixes of the chains kube-proxy creates per service port and endpoint (and deletes when stale). */
export const SERVICE_CHAIN_PREFIXES = ["KUBE-SVC-", "KUBE-SEP-", "KUBE-EXT-", "KUBE-FW-", "KUBE-SVL-", "KUBE-XLB-"] as const;

/** The fixed chains per table. Anything else named KUBE-* (but not per-service) is somebody else's. */
export const FIXED_CHAINS = {
  filter: [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_NODEPORTS, KUBE_FORWARD, KUBE_PROXY_FIREWALL],
  nat: [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ],
} as const;

export type Table = keyof typeof FIXED_CHAINS;

/** A chain kube-proxy owns in `table`: a fixed one or a per-service one. */
export function isOwnChain(table: Table, chain: string): boolean {
  return (FIXED_CHAINS[table] as readonly string[]).includes(chain) || (table === "nat" && SERVICE_CHAIN_PREFIXES.some((p) => chain.startsWith(p)));
}

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/** RFC 4648 base32 (standard alphabet), unpadded. */
export function base32(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += BASE32.charAt((value >>> (bits - 5)) & 31);
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32.charAt((value << (5 - bits)) & 31);
  return out;
}

const hashes = new Map<string, string>();

/** Memoized: every sync names every chain again. */
function hash16(text: string): string {
  let h = hashes.get(text);
  if (h === undefined) {
    if (hashes.size >= 200_000) hashes.clear();
    h = base32(createHash("sha256").update(text).digest()).slice(0, 16);
    hashes.set(text, h);
  }
  return h;
}

/** KUBE-SVC-<hash>: the chain that load-balances a service port's traffic over its endpoints. */
export function servicePortChainName(servicePortName: string, protocol: string): string {
  return `KUBE-SVC-${hash16(servicePortName + protocol.toLowerCase())}`;
}

/** KUBE-EXT-<hash>: traffic that reached a service port from outside (NodePort, external IP): masquerade, then SVC. */
export function serviceExternalChainName(servicePortName: string, protocol: string): string {
  return `KUBE-EXT-${hash16(servicePortName + protocol.toLowerCase())}`;
}

/** KUBE-SVL-<hash>: like KUBE-SVC but over this node's endpoints only (a Local traffic policy). */
export function serviceLocalChainName(servicePortName: string, protocol: string): string {
  return `KUBE-SVL-${hash16(servicePortName + protocol.toLowerCase())}`;
}

/** KUBE-FW-<hash>: lets a LoadBalancer Service's loadBalancerSourceRanges through to KUBE-EXT, and nothing else. */
export function serviceFirewallChainName(servicePortName: string, protocol: string): string {
  return `KUBE-FW-${hash16(servicePortName + protocol.toLowerCase())}`;
}

/** KUBE-SEP-<hash>: the chain that DNATs to one endpoint ("ip:port") of a service port. */
export function servicePortEndpointChainName(servicePortName: string, protocol: string, endpoint: string): string {
  return `KUBE-SEP-${hash16(servicePortName + protocol.toLowerCase() + endpoint)}`;
}
