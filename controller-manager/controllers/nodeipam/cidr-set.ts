// Kubernetes' pkg/controller/nodeipam/ipam/cidrset for IPv4: the cluster CIDR cut into equal blocks of
// /nodeCidrMaskSize, one bit per block, handed out round-robin (so a freed block is not reused at once).

export class InvalidCidrError extends Error {
  constructor(readonly field: string, readonly value: string, why: string) {
    super(`${field}: invalid value ${JSON.stringify(value)}: ${why}`);
    this.name = "InvalidCidrError";
  }
}

export interface ParsedCidr {
  /** The network address as an unsigned 32-bit number. */
  base: number;
  prefix: number;
}

/** Parses "a.b.c.d/p" (IPv4 only); host bits must be zero. Throws InvalidCidrError naming `field`. */
export function parseCidr(text: string, field = "cidr"): ParsedCidr {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text.trim());
  if (!match) throw new InvalidCidrError(field, text, "must be an IPv4 CIDR such as 10.244.0.0/16 (IPv6 is not supported)");
  const octets = match.slice(1, 5).map(Number);
  const prefix = Number(match[5]);
  if (octets.some((o) => o > 255) || prefix > 32) throw new InvalidCidrError(field, text, "octets must be 0-255 and the prefix 0-32");
  const base = octets.reduce((n, o) => n * 256 + o, 0);
  if (base % blockSize(prefix) !== 0) throw new InvalidCidrError(field, text, `host bits are set (did you mean ${formatCidr(base - (base % blockSize(prefix)), prefix)}?)`);
  return { base, prefix };
}

export function formatCidr(base: number, prefix: number): string {
  return `${[24, 16, 8, 0].map((shift) => Math.floor(base / 2 ** shift) % 256).join(".")}/${prefix}`;
}

function blockSize(prefix: number): number {
  return 2 ** (32 - prefix);
}

export class CidrSet {
  readonly cluster: ParsedCidr;
  readonly maskSize: number;
  /** Number of blocks. */
  readonly size: number;
  private readonly used: Uint8Array;
  private usedCount = 0;
  private next = 0;

  constructor(clusterCidr: string, nodeCidrMaskSize: number) {
    this.cluster = parseCidr(clusterCidr, "--cluster-cidr");
    if (!Number.isInteger(nodeCidrMaskSize) || nodeCidrMaskSize < this.cluster.prefix || nodeCidrMaskSize > 32) {
      throw new InvalidCidrError("--node-cidr-mask-size", String(nodeCidrMaskSize), `must be an integer between the cluster prefix (${this.cluster.prefix}) and 32`);
    }
    // Kubernetes' limit: at most 2^16 node blocks.
    if (nodeCidrMaskSize - this.cluster.prefix > 16) {
      throw new InvalidCidrError("--node-cidr-mask-size", String(nodeCidrMaskSize), `the difference between the cluster mask (${this.cluster.prefix}) and the node mask must be no more than 16`);
    }
    this.maskSize = nodeCidrMaskSize;
    this.size = 2 ** (nodeCidrMaskSize - this.cluster.prefix);
    this.used = new Uint8Array(this.size);
  }

  /** The next free block, round-robin from the last one handed out; undefined when all are used. */
  allocateNext(): string | undefined {
    if (this.usedCount >= this.size) return undefined;
    for (let i = 0; i < this.size; i++) {
      const candidate = (this.next + i) % this.size;
      if (this.used[candidate]) continue;
      this.used[candidate] = 1;
      this.usedCount++;
      this.next = (candidate + 1) % this.size;
      return this.blockCidr(candidate);
    }
    return undefined;
  }

  /** Marks every block `cidr` overlaps as used (a node may carry a CIDR of another size); false if outside. */
  occupy(cidr: string): boolean {
    const range = this.blocksOf(cidr);
    if (!range) return false;
    for (let i = range.first; i <= range.last; i++) {
      if (!this.used[i]) this.usedCount++;
      this.used[i] = 1;
    }
    return true;
  }

  release(cidr: string): void {
    const range = this.blocksOf(cidr);
    if (!range) return;
    for (let i = range.first; i <= range.last; i++) {
      if (this.used[i]) this.usedCount--;
      this.used[i] = 0;
    }
  }

  isUsed(cidr: string): boolean {
    const range = this.blocksOf(cidr);
    if (!range) return false;
    for (let i = range.first; i <= range.last; i++) if (!this.used[i]) return false;
    return true;
  }

  get free(): number {
    return this.size - this.usedCount;
  }

  private blockCidr(index: number): string {
    return formatCidr(this.cluster.base + index * blockSize(this.maskSize), this.maskSize);
  }

  /** The block indexes `cidr` overlaps within the cluster CIDR, or undefined if it is unparseable or outside. */
  private blocksOf(cidr: string): { first: number; last: number } | undefined {
    let parsed: ParsedCidr;
    try {
      parsed = parseCidr(cidr);
    } catch {
      return undefined;
    }
    const clusterEnd = this.cluster.base + blockSize(this.cluster.prefix) - 1;
    const start = Math.max(parsed.base, this.cluster.base);
    const end = Math.min(parsed.base + blockSize(parsed.prefix) - 1, clusterEnd);
    if (start > end) return undefined;
    const unit = blockSize(this.maskSize);
    return { first: Math.floor((start - this.cluster.base) / unit), last: Math.floor((end - this.cluster.base) / unit) };
  }
}
