// Pod IPs for simulated nodes, like CNI host-local IPAM on a real node: addresses come from the node's podCIDR
// (spec.podCIDR, written by the controller-manager's node IPAM), the network address and the first host
// (the node's bridge/gateway) are skipped, and allocation moves round-robin through the range so a freed address
// is not handed out again at once. These are labels in pod status; nothing routes them.
//
// IPv4 only: kubelab's pod network is 10.244.0.0/16 with a /24 per node. A node whose podCIDR is not IPv4 (or has
// none yet) gets a pseudo /24 from the fallback range (see fallbackCIDR).

export interface CIDR {
  /** The network address as an unsigned 32-bit number. */
  readonly base: number;
  readonly prefixLength: number;
  /** The canonical text, e.g. "10.244.3.0/24". */
  readonly text: string;
}

/** Parses an IPv4 CIDR ("10.244.3.0/24"); host bits are cleared. Undefined for anything else (IPv6 included). */
export function parseCIDR(text: string): CIDR | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text.trim());
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefixLength = Number(m[5]);
  if (octets.some((o) => o > 255) || prefixLength > 32) return undefined;
  const ip = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - prefixLength);
  const base = Math.floor(ip / size) * size;
  return { base, prefixLength, text: `${formatIPv4(base)}/${prefixLength}` };
}

export function formatIPv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

export function parseIPv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  return octets.reduce((acc, o) => acc * 256 + o, 0);
}

function contains(cidr: CIDR, ip: number): boolean {
  return ip >= cidr.base && ip < cidr.base + 2 ** (32 - cidr.prefixLength);
}

/** The addresses pods may get: network+2 .. broadcast-1 (network+1 is the node's gateway). Empty below /30. */
function hostRange(cidr: CIDR): { first: number; last: number } {
  const size = 2 ** (32 - cidr.prefixLength);
  return { first: cidr.base + 2, last: cidr.base + size - 2 };
}

/** FNV-1a, 32 bits: a stable, well-spread hash of a node name. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * The pseudo /24 a node without a podCIDR uses: one of `range`'s /24s picked by a hash of the node name, e.g.
 * 10.244.<hash>.0/24 in 10.244.0.0/16. Different nodes may collide (and may overlap a podCIDR that node IPAM later
 * gives another node); acceptable for addresses that only appear in pod status.
 */
export function fallbackCIDR(nodeName: string, range: CIDR): CIDR {
  const subnets = 2 ** (24 - range.prefixLength);
  const base = range.base + (fnv1a(nodeName) % subnets) * 256;
  return { base, prefixLength: 24, text: `${formatIPv4(base)}/24` };
}

/** No free address is left in a node's range. */
export class PodIPsExhaustedError extends Error {
  constructor(
    readonly node: string,
    readonly cidr: string,
  ) {
    super(`no free pod IP in ${cidr} on node ${node}`);
    this.name = "PodIPsExhaustedError";
  }
}

interface NodeIPs {
  /** ip → pod key */
  readonly used: Map<number, string>;
  /** Where the next round-robin search starts. */
  cursor: number;
}

/** Pod IPs for all simulated nodes, keyed by pod ("namespace/name"). */
export class PodIPAllocator {
  private readonly nodes = new Map<string, NodeIPs>();
  private readonly byPod = new Map<string, { node: string; ip: number }>();

  /** The IP this pod holds, if any. */
  get(podKey: string): string | undefined {
    const held = this.byPod.get(podKey);
    return held ? formatIPv4(held.ip) : undefined;
  }

  /**
   * Records an address a pod already has (its status after a restart), so it is never handed to another pod.
   * Ignores text that is not an IPv4 address.
   */
  reserve(node: string, podKey: string, ipText: string): void {
    const ip = parseIPv4(ipText);
    if (ip === undefined) return;
    const held = this.byPod.get(podKey);
    if (held?.ip === ip && held.node === node) return;
    this.release(podKey);
    this.nodeIPs(node).used.set(ip, podKey);
    this.byPod.set(podKey, { node, ip });
  }

  /** The pod's address, allocating the next free one in `cidr` when it has none. */
  allocate(node: string, podKey: string, cidr: CIDR): string {
    const held = this.byPod.get(podKey);
    if (held) return formatIPv4(held.ip);
    const ips = this.nodeIPs(node);
    const { first, last } = hostRange(cidr);
    const count = last - first + 1;
    if (count <= 0) throw new PodIPsExhaustedError(node, cidr.text);
    const start = contains(cidr, ips.cursor) && ips.cursor >= first && ips.cursor <= last ? ips.cursor : first;
    for (let i = 0; i < count; i++) {
      const ip = first + ((start - first + i) % count);
      if (ips.used.has(ip)) continue;
      ips.used.set(ip, podKey);
      ips.cursor = ip === last ? first : ip + 1;
      this.byPod.set(podKey, { node, ip });
      return formatIPv4(ip);
    }
    throw new PodIPsExhaustedError(node, cidr.text);
  }

  /** Frees the pod's address (pod deleted or terminated). */
  release(podKey: string): void {
    const held = this.byPod.get(podKey);
    if (!held) return;
    this.byPod.delete(podKey);
    const ips = this.nodes.get(held.node);
    if (ips?.used.get(held.ip) === podKey) ips.used.delete(held.ip);
  }

  /** Addresses in use on a node. */
  usedOn(node: string): number {
    return this.nodes.get(node)?.used.size ?? 0;
  }

  private nodeIPs(node: string): NodeIPs {
    let ips = this.nodes.get(node);
    if (!ips) {
      ips = { used: new Map(), cursor: 0 };
      this.nodes.set(node, ips);
    }
    return ips;
  }
}
