// ClusterIP and NodePort allocators. The source of truth is one reservation key per value in etcd
// (/registry/ranges/serviceips/<ip>, /registry/ranges/servicenodeports/<port>, value "namespace/name" of the owner)
// created with create-if-absent, so a value is never handed out twice, also across apiserver restarts and between
// several apiservers. The in-memory set of used values is only a hint that saves etcd round trips.
//
// Like Kubernetes (ServiceIPStaticSubrange / ServiceNodePortStaticSubrange), dynamic allocation picks randomly from
// the upper part of the range first, leaving the lower band to values users ask for explicitly (10.96.0.10 for DNS);
// the first address of the service range is kept for the `kubernetes` service and never handed out dynamically.
//
// Failures are the registry's AllocationError (allocation.ts), which it turns into 422 field errors such as
// `spec.clusterIPs: Invalid value: ["10.96.0.5"]: failed to allocate IP 10.96.0.5: provided IP is already allocated`.
import { AllocationError, type ValueAllocator } from "./allocation.js";
import type { Storage } from "../../storage/interfaces.js";

export { AllocationError };

/** The storage calls the allocators need (EtcdStorage provides them). */
export interface ReservationStore extends Pick<Storage, "createRaw" | "deleteRaw"> {
  getRaw(key: string): Promise<string | undefined>;
  deleteRawIf(key: string, expectedValue: string): Promise<boolean>;
  listRaw(prefix: string): Promise<{ entries: { key: string; value: Buffer; createRevision: number }[]; revision: number }>;
}

export interface RepairOptions {
  /**
   * The revision at which `liveOwners` was observed (the services cache's revision). Reservations created after it
   * are left alone: their Service may simply not have been in the snapshot yet.
   */
  revision?: number;
}

export interface RepairResult {
  /** Reservations deleted because no live Service uses the value (leaks from crashed or failed creates). */
  released: string[];
  /** Values live Services use that had no reservation; recreated so nobody else gets them. */
  restored: string[];
  /** Values live Services use whose reservation names another owner, or that are outside the range: reported only. */
  conflicts: string[];
}

interface RangeCodec<V> {
  /** "IP" or "port", for messages. */
  noun: string;
  /** Kubernetes' "not in range" message for a value. */
  notInRange(text: string): string;
  keyPrefix: string;
  /** The range as users see it: "10.96.0.0/12", "30000-32767". */
  text: string;
  /** Number of allocatable values; offsets run 0..size-1. */
  size: number;
  /** Offsets below this form the static band that dynamic allocation uses last. */
  staticBand: number;
  /** Offsets dynamic allocation never returns (they can still be requested explicitly). */
  reserved: ReadonlySet<number>;
  /** undefined: not a well-formed value; -1: well-formed but outside the allocatable range. */
  toOffset(value: V): number | undefined;
  fromOffset(offset: number): V;
  format(value: V): string;
  parse(text: string): V | undefined;
}

export interface AllocatorOptions {
  storage: ReservationStore;
  /** The etcd key prefix ("/registry"); reservations live under <prefix>/ranges/. */
  prefix?: string;
  /** Own allocations younger than this are never released by repair (default 60 s). */
  repairGraceMs?: number;
  /** Milliseconds since the epoch (default Date.now); only used for the repair grace period. */
  now?: () => number;
}

/** Random-then-scan allocation over reservation keys. */
abstract class RangeAllocator<V> implements ValueAllocator<V> {
  private readonly storage: ReservationStore;
  private readonly codec: RangeCodec<V>;
  private readonly repairGraceMs: number;
  private readonly now: () => number;
  /** Offsets believed taken (reserved in etcd, or being reserved right now by this process). */
  private readonly used = new Set<number>();
  /** When this instance reserved an offset: repair spares fresh reservations whose Service is still being created. */
  private readonly recent = new Map<number, number>();
  private synced: Promise<void> | undefined;
  private lastResult: RepairResult | undefined;

  protected constructor(codec: RangeCodec<V>, options: AllocatorOptions) {
    this.codec = codec;
    this.storage = options.storage;
    this.repairGraceMs = options.repairGraceMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /** The range as users see it ("10.96.0.0/12", "30000-32767"). */
  get range(): string {
    return this.codec.text;
  }

  /** Number of values this allocator can hand out. */
  get size(): number {
    return this.codec.size;
  }

  /** The etcd key prefix of this allocator's reservations ("/registry/ranges/serviceips/"). */
  get keyPrefix(): string {
    return this.codec.keyPrefix;
  }

  /** What the last repair did, value by value. */
  get lastRepair(): RepairResult | undefined {
    return this.lastResult;
  }

  /** Loads the hint from etcd; called lazily by the first allocation, and by repair. */
  sync(): Promise<void> {
    this.synced ??= this.reload().catch((err: unknown) => {
      this.synced = undefined;
      throw err;
    });
    return this.synced;
  }

  /** Reserves a free value for `owner` ("namespace/name"). Throws AllocationError Full, or StorageError. */
  async allocate(owner: string): Promise<V> {
    await this.sync();
    const found = await this.tryAllocate(owner);
    if (found !== undefined) return found;
    // The hint may be stale (values released by another apiserver): reload once before giving up.
    await this.reload();
    const retried = await this.tryAllocate(owner);
    if (retried !== undefined) return retried;
    throw new AllocationError("Full", "range is full");
  }

  /**
   * Reserves `value` for `owner`. Succeeds again for the same owner (a retried request), resolving false then, so
   * that the caller does not release on failure what it held before; throws AllocationError AlreadyAllocated when
   * someone else holds it, OutOfRange for values outside the range (or malformed).
   */
  async allocateSpecific(value: V, owner: string): Promise<boolean> {
    const offset = this.checkedOffset(value);
    const key = this.codec.keyPrefix + this.codec.format(value);
    this.used.add(offset);
    let created: boolean;
    try {
      created = await this.storage.createRaw(key, owner);
    } catch (err) {
      this.used.delete(offset);
      throw err;
    }
    if (created) {
      this.recent.set(offset, this.now());
      return true;
    }
    if ((await this.storage.getRaw(key)) === owner) return false;
    throw new AllocationError("AlreadyAllocated", `provided ${this.codec.noun} is already allocated`);
  }

  /**
   * Gives `value` back. With `owner`, only that owner's reservation is removed, so a stale release cannot free a
   * value that has since gone to someone else. Values outside the range are ignored.
   */
  async release(value: V, owner?: string): Promise<void> {
    const offset = this.codec.toOffset(value);
    if (offset === undefined || offset < 0) return;
    const key = this.codec.keyPrefix + this.codec.format(value);
    if (owner === undefined) await this.storage.deleteRaw(key);
    else if (!(await this.storage.deleteRawIf(key, owner))) return;
    this.used.delete(offset);
    this.recent.delete(offset);
  }

  /** Whether `value` is reserved in etcd right now, and by whom. */
  async ownerOf(value: V): Promise<string | undefined> {
    return this.storage.getRaw(this.codec.keyPrefix + this.codec.format(value));
  }

  /**
   * Reconciles reservations with the Services that exist (`liveOwners`: value → "namespace/name"), like Kubernetes'
   * repair controllers: deletes reservations no live Service uses, recreates missing ones for live Services, and
   * rebuilds the in-memory hint. Run after the services cache has synced, and periodically. Returns how many
   * reservations were released; `lastRepair` has the details.
   */
  async repair(liveOwners: ReadonlyMap<V, string>, options: RepairOptions = {}): Promise<number> {
    const result: RepairResult = { released: [], restored: [], conflicts: [] };
    const live = new Map<string, string>();
    for (const [value, owner] of liveOwners) live.set(this.codec.format(value), owner);
    const { entries } = await this.storage.listRaw(this.codec.keyPrefix);
    const reserved = new Set<string>();
    const now = this.now();
    for (const entry of entries) {
      const text = entry.key.slice(this.codec.keyPrefix.length);
      reserved.add(text);
      const liveOwner = live.get(text);
      if (liveOwner !== undefined) {
        if (liveOwner !== entry.value.toString()) result.conflicts.push(text);
        continue;
      }
      if (options.revision !== undefined && entry.createRevision > options.revision) continue;
      const parsed = this.codec.parse(text);
      const offset = parsed === undefined ? undefined : this.codec.toOffset(parsed);
      const reservedAt = offset === undefined ? undefined : this.recent.get(offset);
      if (reservedAt !== undefined && now - reservedAt < this.repairGraceMs) continue;
      // Only delete what we looked at: if the key changed hands meanwhile, it is someone's fresh reservation.
      if (await this.storage.deleteRawIf(entry.key, entry.value.toString())) result.released.push(text);
    }
    for (const [text, owner] of live) {
      if (reserved.has(text)) continue;
      const parsed = this.codec.parse(text);
      const offset = parsed === undefined ? undefined : this.codec.toOffset(parsed);
      if (offset === undefined || offset < 0) {
        result.conflicts.push(text);
        continue;
      }
      if (await this.storage.createRaw(this.codec.keyPrefix + text, owner)) result.restored.push(text);
      else result.conflicts.push(text);
    }
    await this.reload();
    this.lastResult = result;
    return result.released.length;
  }

  private checkedOffset(value: V): number {
    const offset = this.codec.toOffset(value);
    if (offset === undefined || offset < 0) throw new AllocationError("OutOfRange", this.codec.notInRange(this.codec.format(value)));
    return offset;
  }

  private async reload(): Promise<void> {
    const { entries } = await this.storage.listRaw(this.codec.keyPrefix);
    this.used.clear();
    for (const entry of entries) {
      const parsed = this.codec.parse(entry.key.slice(this.codec.keyPrefix.length));
      const offset = parsed === undefined ? undefined : this.codec.toOffset(parsed);
      if (offset !== undefined && offset >= 0) this.used.add(offset);
    }
  }

  /** A few random picks in the dynamic band, then a scan of it, then of the static band. */
  private async tryAllocate(owner: string): Promise<V | undefined> {
    const { size, staticBand } = this.codec;
    const dynamicSize = size - staticBand;
    for (let i = 0; i < Math.min(16, dynamicSize); i++) {
      const offset = staticBand + Math.floor(Math.random() * dynamicSize);
      const got = await this.claim(offset, owner);
      if (got !== undefined) return got;
    }
    const scanned = (await this.scan(staticBand, dynamicSize, owner)) ?? (await this.scan(0, staticBand, owner));
    return scanned;
  }

  private async scan(from: number, count: number, owner: string): Promise<V | undefined> {
    if (count <= 0) return undefined;
    const start = Math.floor(Math.random() * count);
    for (let i = 0; i < count; i++) {
      const got = await this.claim(from + ((start + i) % count), owner);
      if (got !== undefined) return got;
    }
    return undefined;
  }

  /** Tries to reserve one offset; the hint is updated before the etcd call so concurrent allocations skip it. */
  private async claim(offset: number, owner: string): Promise<V | undefined> {
    if (this.used.has(offset) || this.codec.reserved.has(offset)) return undefined;
    this.used.add(offset);
    const value = this.codec.fromOffset(offset);
    let created: boolean;
    try {
      created = await this.storage.createRaw(this.codec.keyPrefix + this.codec.format(value), owner);
    } catch (err) {
      this.used.delete(offset);
      throw err;
    }
    if (!created) return undefined; // someone else (another apiserver) holds it; the hint now knows
    this.recent.set(offset, this.now());
    return value;
  }
}

/** Allocates Service cluster IPs from an IPv4 CIDR; network and broadcast addresses are never allocatable. */
export class ClusterIPAllocator extends RangeAllocator<string> {
  private readonly firstUsable: string;

  /** `cidr` like "10.96.0.0/12" (prefix length at most 30). */
  constructor(options: AllocatorOptions & { cidr: string }) {
    const net = parseIPv4CIDR(options.cidr);
    const size = net.size - 2;
    const text = `${formatIPv4(net.base)}/${net.prefixLength}`;
    const codec: RangeCodec<string> = {
      noun: "IP",
      notInRange: (ip) => `the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${text}`,
      keyPrefix: `${rangesPrefix(options.prefix)}serviceips/`,
      text,
      size,
      staticBand: staticBandSize(size, 16, 256, 16),
      reserved: new Set([0]), // network + 1: the `kubernetes` service
      toOffset: (ip) => {
        const n = parseIPv4(ip);
        if (n === undefined) return undefined;
        const offset = n - net.base - 1;
        return offset >= 0 && offset < size ? offset : -1;
      },
      fromOffset: (offset) => formatIPv4(net.base + 1 + offset),
      format: (ip) => ip,
      parse: (text) => (parseIPv4(text) === undefined ? undefined : text),
    };
    super(codec, options);
    this.firstUsable = formatIPv4(net.base + 1);
  }

  /** The address reserved for the `kubernetes` service (the first usable IP of the range). */
  get firstIP(): string {
    return this.firstUsable;
  }
}

/** Allocates NodePorts from a "30000-32767" style range (both ends included). */
export class NodePortAllocator extends RangeAllocator<number> {
  constructor(options: AllocatorOptions & { range: string }) {
    const { base, size } = parsePortRange(options.range);
    const text = `${base}-${base + size - 1}`;
    const codec: RangeCodec<number> = {
      noun: "port",
      notInRange: () => `provided port is not in the valid range. The range of valid ports is ${text}`,
      keyPrefix: `${rangesPrefix(options.prefix)}servicenodeports/`,
      text,
      size,
      staticBand: staticBandSize(size, 16, 128, 32),
      reserved: new Set(),
      toOffset: (port) => {
        if (!Number.isInteger(port) || port < 0 || port > 65535) return undefined;
        const offset = port - base;
        return offset >= 0 && offset < size ? offset : -1;
      },
      fromOffset: (offset) => base + offset,
      format: (port) => String(port),
      parse: (text) => (/^\d{1,5}$/.test(text) ? Number(text) : undefined),
    };
    super(codec, options);
  }
}

/** "/registry" → "/registry/ranges/". */
function rangesPrefix(prefix = "/registry"): string {
  return `${prefix.replace(/\/+$/, "")}/ranges/`;
}

/** Kubernetes' static subrange: size/step clamped to [min, max], none for tiny ranges. */
function staticBandSize(size: number, min: number, max: number, step: number): number {
  if (size < min) return 0;
  return Math.min(max, Math.max(min, Math.floor(size / step)));
}

/** Dotted-quad IPv4 to a number; undefined unless it is exactly four decimal octets without leading zeros. */
export function parseIPv4(text: string): number | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!match) return undefined;
  let n = 0;
  for (const part of match.slice(1)) {
    if (part.length > 1 && part.startsWith("0")) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    n = n * 256 + octet;
  }
  return n;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** "10.96.0.0/12" → network base, prefix length and address count (host bits in the address are masked off). */
export function parseIPv4CIDR(cidr: string): { base: number; prefixLength: number; size: number } {
  const [address = "", bits = ""] = cidr.split("/");
  const ip = parseIPv4(address);
  const prefixLength = /^\d{1,2}$/.test(bits) ? Number(bits) : NaN;
  if (ip === undefined || !(prefixLength >= 0 && prefixLength <= 32)) throw new Error(`invalid IPv4 CIDR ${JSON.stringify(cidr)}`);
  if (prefixLength > 30) throw new Error(`CIDR ${cidr} is too small for services: it needs at least two usable addresses`);
  const size = 2 ** (32 - prefixLength);
  return { base: ip - (ip % size), prefixLength, size };
}

/** "30000-32767" → first port and number of ports. */
export function parsePortRange(range: string): { base: number; size: number } {
  const match = /^(\d{1,5})-(\d{1,5})$/.exec(range.trim());
  const low = match ? Number(match[1]) : NaN;
  const high = match ? Number(match[2]) : NaN;
  if (!(low >= 1 && high <= 65535 && low <= high)) throw new Error(`invalid port range ${JSON.stringify(range)}`);
  return { base: low, size: high - low + 1 };
}
