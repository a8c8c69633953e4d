// Test fakes for the storage contract: an in-memory etcd (MemoryStorage), a watch cache fed synchronously by its
// writes (MemoryWatchCache), in-memory ClusterIP/NodePort allocators, and memoryRegistry() wiring them into a Registry.
// Small on purpose: a fake must be obviously correct, so it models etcd's revisions and nothing of its performance.
import type { AdmissionChain } from "../../admission/admission.js";
import type { Authorizer } from "../../auth/authorizer.js";
import type { ServiceAccountTokens } from "../../auth/service-account-tokens.js";
import { retryOnConflict, toError } from "../../../api/errors.js";
import type { KubeObject } from "../../../api/meta.js";
import { Registry } from "../registry.js";
import { AllocationError, type ValueAllocator } from "../services/allocation.js";
import { formatIPv4, parseIPv4 } from "../services/allocators.js";
import {
  isStorageError,
  StorageError,
  type CacheEvent,
  type CacheWatchOptions,
  type CacheWatcher,
  type CreateOptions,
  type ListOptions,
  type ListPage,
  type Storage,
  type TryUpdate,
  type WatchCache,
} from "../../storage/interfaces.js";

interface Entry {
  value: string;
  modRevision: number;
}

/** One write as the storage reports it to its caches. `object` is absent for raw (allocator) keys. */
export interface StorageWrite {
  type: "ADDED" | "MODIFIED" | "DELETED";
  key: string;
  revision: number;
  object?: KubeObject;
  prevObject?: KubeObject;
}

interface ContinueToken {
  start: string;
  revision: number;
}

const GUARANTEED_UPDATE_ATTEMPTS = 10;

/**
 * etcd as a Map of key → JSON with one revision counter bumped by every write. Reads return fresh copies with
 * metadata.resourceVersion = String(modRevision). Set `unavailable` to make every call fail as etcd being down does.
 */
export class MemoryStorage implements Storage {
  /** When true, every call throws StorageError Unavailable (and healthy() answers false). */
  unavailable = false;
  /** The TTL each key was created with (events). */
  readonly ttls = new Map<string, number>();
  private readonly data = new Map<string, Entry>();
  private readonly raw = new Map<string, string>();
  private revision = 1;
  private readonly listeners = new Set<(write: StorageWrite) => void>();

  /** Every write is reported synchronously, in revision order; returns an unsubscribe function. */
  subscribe(listener: (write: StorageWrite) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** The current revision without the async wrapper, for caches starting up. */
  get currentRevisionSync(): number {
    return this.revision;
  }

  /** Every object under `prefix` with its key, for caches starting up. */
  snapshot(prefix: string): { key: string; object: KubeObject }[] {
    return [...this.data.keys()]
      .filter((k) => k.startsWith(prefix))
      .sort()
      .map((key) => ({ key, object: this.read(key)! }));
  }

  get(key: string): Promise<KubeObject | undefined> {
    return this.run(key, () => this.read(key));
  }

  list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    return this.run(prefix, () => {
      let start = prefix;
      let revision = this.revision;
      if (options.continue !== undefined) {
        const token = decodeContinue(prefix, options.continue);
        start = token.start;
        // A fake has no history: later pages read the current state but report the first page's revision.
        revision = token.revision;
      }
      const keys = [...this.data.keys()].filter((k) => k.startsWith(prefix) && k >= start).sort();
      const limit = options.limit !== undefined && options.limit > 0 ? options.limit : keys.length;
      const pageKeys = keys.slice(0, limit);
      const page: ListPage = { items: pageKeys.map((k) => this.read(k)!), revision };
      const next = keys[limit];
      if (next !== undefined) {
        page.continue = Buffer.from(JSON.stringify({ start: next, revision } satisfies ContinueToken)).toString("base64");
        page.remainingItemCount = keys.length - limit;
      }
      return page;
    });
  }

  create(key: string, object: KubeObject, options: CreateOptions = {}): Promise<KubeObject> {
    return this.run(key, () => {
      if (this.data.has(key)) throw new StorageError("KeyExists", key, `key exists: ${key}`);
      if (options.ttlSeconds !== undefined) this.ttls.set(key, options.ttlSeconds);
      return this.write(key, object, "ADDED", undefined);
    });
  }

  update(key: string, object: KubeObject, expectedRevision?: number): Promise<KubeObject> {
    return this.run(key, () => this.updateNow(key, object, expectedRevision));
  }

  async guaranteedUpdate(key: string, tryUpdate: TryUpdate): Promise<KubeObject> {
    return retryOnConflict(async () => {
      const current = await this.get(key);
      if (!current) throw new StorageError("KeyNotFound", key, `key not found: ${key}`);
      const next = await tryUpdate(structuredClone(current));
      if (next === undefined) return current;
      return this.update(key, next, Number(current.metadata.resourceVersion));
    }, { attempts: GUARANTEED_UPDATE_ATTEMPTS, retriable: (err) => isStorageError(err, "Conflict") });
  }

  delete(key: string, expectedRevision?: number): Promise<KubeObject> {
    return this.run(key, () => {
      const prev = this.existing(key, expectedRevision);
      this.data.delete(key);
      this.ttls.delete(key);
      this.revision++;
      const object = structuredClone(prev);
      object.metadata.resourceVersion = String(this.revision);
      this.emit({ type: "DELETED", key, revision: this.revision, object, prevObject: prev });
      return prev;
    });
  }

  currentRevision(): Promise<number> {
    return this.run("", () => this.revision);
  }

  createRaw(key: string, value: string): Promise<boolean> {
    return this.run(key, () => {
      if (this.raw.has(key)) return false;
      this.raw.set(key, value);
      this.revision++;
      this.emit({ type: "ADDED", key, revision: this.revision });
      return true;
    });
  }

  deleteRaw(key: string): Promise<void> {
    return this.run(key, () => {
      if (!this.raw.delete(key)) return;
      this.revision++;
      this.emit({ type: "DELETED", key, revision: this.revision });
    });
  }

  listRawKeys(prefix: string): Promise<string[]> {
    return this.run(prefix, () => [...this.raw.keys()].filter((k) => k.startsWith(prefix)).sort());
  }

  healthy(): Promise<boolean> {
    return Promise.resolve(!this.unavailable);
  }

  close(): Promise<void> {
    this.listeners.clear();
    return Promise.resolve();
  }

  private updateNow(key: string, object: KubeObject, expectedRevision: number | undefined): KubeObject {
    const prev = this.existing(key, expectedRevision);
    return this.write(key, object, "MODIFIED", prev);
  }

  /** The stored object at `key`, checking `expectedRevision`; throws KeyNotFound or Conflict. */
  private existing(key: string, expectedRevision: number | undefined): KubeObject {
    const entry = this.data.get(key);
    if (!entry) throw new StorageError("KeyNotFound", key, `key not found: ${key}`);
    if (expectedRevision !== undefined && expectedRevision !== entry.modRevision) {
      throw new StorageError("Conflict", key, `revision ${entry.modRevision} is not the expected ${expectedRevision}`);
    }
    return this.read(key)!;
  }

  private write(key: string, object: KubeObject, type: "ADDED" | "MODIFIED", prevObject: KubeObject | undefined): KubeObject {
    const stored = structuredClone(object);
    delete stored.metadata.resourceVersion;
    this.revision++;
    this.data.set(key, { value: JSON.stringify(stored), modRevision: this.revision });
    const event: StorageWrite = { type, key, revision: this.revision, object: this.read(key)! };
    if (prevObject) event.prevObject = prevObject;
    this.emit(event);
    return this.read(key)!;
  }

  private read(key: string): KubeObject | undefined {
    const entry = this.data.get(key);
    if (!entry) return undefined;
    const object = JSON.parse(entry.value) as KubeObject;
    object.metadata.resourceVersion = String(entry.modRevision);
    return object;
  }

  private emit(write: StorageWrite): void {
    for (const listener of this.listeners) listener(write);
  }

  /** Runs `call` as one etcd request: rejected with Unavailable while the fake is down. */
  private run<T>(key: string, call: () => T): Promise<T> {
    if (this.unavailable) return Promise.reject(new StorageError("Unavailable", key, "etcdserver: request timed out (memory storage is down)"));
    try {
      return Promise.resolve(call());
    } catch (err) {
      return Promise.reject(toError(err));
    }
  }
}

function decodeContinue(prefix: string, token: string): ContinueToken {
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64").toString("utf8")) as Partial<ContinueToken>;
    if (typeof parsed.start === "string" && parsed.start.startsWith(prefix) && typeof parsed.revision === "number") {
      return { start: parsed.start, revision: parsed.revision };
    }
  } catch {
    // fall through
  }
  throw new StorageError("Invalid", prefix, "continue key is not valid");
}

// ---------------------------------------------------------------------------------------------------------------
// Watch cache

interface RingEvent extends CacheEvent {
  key: string;
}

interface Watcher {
  options: CacheWatchOptions;
  sink: (event: CacheEvent) => void;
  onClose: (reason: string) => void;
}

export interface MemoryWatchCacheOptions {
  /** How many events the ring keeps; older fromRevisions are Compacted. Default 1000. */
  capacity?: number;
}

/**
 * The watch cache for one key prefix, applied synchronously from MemoryStorage's writes. Its revision follows the
 * storage's (writes elsewhere advance it too, as etcd progress notifications do), so lists at a minRevision never wait.
 */
export class MemoryWatchCache implements WatchCache {
  readonly ready = true;
  private readonly state = new Map<string, KubeObject>();
  private readonly ring: RingEvent[] = [];
  private readonly capacity: number;
  /** The oldest fromRevision the ring can still serve. */
  private oldest: number;
  private currentRevision: number;
  private readonly watchers = new Set<Watcher>();
  private readonly waiters: { revision: number; resolve: () => void }[] = [];
  private readonly unsubscribe: () => void;

  constructor(
    storage: MemoryStorage,
    readonly prefix: string,
    options: MemoryWatchCacheOptions = {},
  ) {
    this.capacity = options.capacity ?? 1000;
    for (const { key, object } of storage.snapshot(prefix)) this.state.set(key, object);
    this.currentRevision = storage.currentRevisionSync;
    this.oldest = this.currentRevision;
    this.unsubscribe = storage.subscribe((write) => {
      this.apply(write);
    });
  }

  get revision(): number {
    return this.currentRevision;
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  get objectCount(): number {
    return this.state.size;
  }

  async list(options: { prefix?: string; filter?: (object: KubeObject) => boolean; minRevision?: number }): Promise<{ items: KubeObject[]; revision: number }> {
    if (options.minRevision !== undefined) await this.waitForRevision(options.minRevision);
    const prefix = options.prefix ?? this.prefix;
    const filter = options.filter ?? (() => true);
    const items = [...this.state.entries()]
      .filter(([key, object]) => key.startsWith(prefix) && filter(object))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, object]) => object);
    return { items, revision: this.currentRevision };
  }

  get(key: string): KubeObject | undefined {
    return this.state.get(key);
  }

  watch(options: CacheWatchOptions, sink: (event: CacheEvent) => void, onClose: (reason: string) => void): CacheWatcher {
    const from = options.fromRevision ?? 0;
    const watcher: Watcher = { options, sink, onClose };
    if (from === 0) {
      const prefix = options.prefix ?? this.prefix;
      for (const [key, object] of [...this.state.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (key.startsWith(prefix) && (options.filter?.(object) ?? true)) sink({ type: "ADDED", object, revision: this.currentRevision });
      }
    } else {
      if (from < this.oldest) throw new StorageError("Compacted", this.prefix, `revision ${from} is older than the oldest cached ${this.oldest}`);
      for (const event of this.ring) if (event.revision > from) deliver(watcher, event);
    }
    this.watchers.add(watcher);
    return {
      stop: () => {
        this.watchers.delete(watcher);
      },
    };
  }

  waitForRevision(revision: number, timeoutMs = 1000): Promise<void> {
    if (this.currentRevision >= revision) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new StorageError("Timeout", this.prefix, `cache did not reach revision ${revision} in ${timeoutMs}ms`));
      }, timeoutMs);
      this.waiters.push({
        revision,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** Ends every watch (onClose "cache stopped") and stops following the storage. */
  stop(): void {
    this.unsubscribe();
    for (const watcher of [...this.watchers]) {
      this.watchers.delete(watcher);
      watcher.onClose("cache stopped");
    }
  }

  private apply(write: StorageWrite): void {
    this.currentRevision = write.revision;
    if (write.object && write.key.startsWith(this.prefix)) {
      const event: RingEvent = { type: write.type, key: write.key, object: write.object, revision: write.revision };
      if (write.prevObject) event.prevObject = write.prevObject;
      if (write.type === "DELETED") this.state.delete(write.key);
      else this.state.set(write.key, write.object);
      this.ring.push(event);
      if (this.ring.length > this.capacity) this.oldest = this.ring.shift()!.revision;
      for (const watcher of [...this.watchers]) deliver(watcher, event);
    }
    for (const waiter of this.waiters.filter((w) => w.revision <= this.currentRevision)) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }
}

/** Sends `event` to `watcher` as its prefix and filter see it: leaving the filter is DELETED, entering it ADDED. */
function deliver(watcher: Watcher, event: RingEvent): void {
  const { prefix, filter = () => true } = watcher.options;
  if (prefix !== undefined && !event.key.startsWith(prefix)) return;
  const now = event.type !== "DELETED" && filter(event.object);
  const before = event.prevObject !== undefined && filter(event.prevObject);
  const out = (type: CacheEvent["type"], object: KubeObject): void => {
    const sent: CacheEvent = { type, object, revision: event.revision };
    if (event.prevObject) sent.prevObject = event.prevObject;
    watcher.sink(sent);
  };
  if (event.type === "ADDED") {
    if (now) out("ADDED", event.object);
  } else if (event.type === "DELETED") {
    if (before) out("DELETED", event.object);
  } else if (now) {
    out(before ? "MODIFIED" : "ADDED", event.object);
  } else if (before && event.prevObject) {
    // Kubernetes sends the previous state, stamped with this event's revision.
    out("DELETED", { ...event.prevObject, metadata: { ...event.prevObject.metadata, resourceVersion: String(event.revision) } });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Allocators

/** An in-memory ValueAllocator: `candidates` is the order allocate() hands values out in. */
export class MemoryAllocator<T extends string | number> implements ValueAllocator<T> {
  /** value → owner of everything currently held. */
  readonly allocated = new Map<T, string>();
  /** Every value ever released, in order. */
  readonly released: T[] = [];

  constructor(
    private readonly what: "IP" | "port",
    private readonly rangeText: string,
    private readonly inRange: (value: T) => boolean,
    private readonly candidates: () => Iterable<T>,
  ) {}

  allocate(owner: string): Promise<T> {
    for (const value of this.candidates()) {
      if (!this.allocated.has(value)) {
        this.allocated.set(value, owner);
        return Promise.resolve(value);
      }
    }
    return Promise.reject(new AllocationError("Full", "range is full"));
  }

  allocateSpecific(value: T, owner: string): Promise<boolean> {
    if (!this.inRange(value)) {
      return Promise.reject(new AllocationError("OutOfRange", `the provided ${this.what} (${value}) is not in the valid range. The range of valid ${this.what}s is ${this.rangeText}`));
    }
    // As the etcd allocator: the owner asking again (a retried request) succeeds without a new reservation.
    if (this.allocated.get(value) === owner) return Promise.resolve(false);
    if (this.allocated.has(value)) return Promise.reject(new AllocationError("AlreadyAllocated", `provided ${this.what} is already allocated`));
    this.allocated.set(value, owner);
    return Promise.resolve(true);
  }

  release(value: T): Promise<void> {
    if (this.allocated.delete(value)) this.released.push(value);
    return Promise.resolve();
  }

  has(value: T): boolean {
    return this.allocated.has(value);
  }
}

export const SERVICE_RANGE = "10.96.0.0/12";
export const NODE_PORT_RANGE = { min: 30000, max: 32767 } as const;

/** ClusterIPs from 10.96.0.0/12 without the network and broadcast addresses; 10.96.0.1 (the kubernetes service) only on request. */
export function memoryClusterIPAllocator(): MemoryAllocator<string> {
  const first = parseIPv4("10.96.0.0")!;
  const last = first + 2 ** 20 - 1;
  const inRange = (ip: string): boolean => {
    const n = parseIPv4(ip);
    return n !== undefined && n > first && n < last;
  };
  function* candidates(): Iterable<string> {
    for (let n = first + 2; n < last; n++) yield formatIPv4(n);
  }
  return new MemoryAllocator<string>("IP", SERVICE_RANGE, inRange, candidates);
}

export function memoryNodePortAllocator(): MemoryAllocator<number> {
  const { min, max } = NODE_PORT_RANGE;
  function* candidates(): Iterable<number> {
    for (let p = min; p <= max; p++) yield p;
  }
  return new MemoryAllocator<number>("port", `${min}-${max}`, (p) => Number.isInteger(p) && p >= min && p <= max, candidates);
}

// ---------------------------------------------------------------------------------------------------------------
// Registry

export interface MemoryRegistryOptions {
  storage?: MemoryStorage;
  /** Namespaces created up front (Active). Default ["default"]. */
  namespaces?: string[];
  eventTtlSeconds?: number;
  defaultNotReadyTolerationSeconds?: number;
  defaultUnreachableTolerationSeconds?: number;
  serviceAccountTokens?: ServiceAccountTokens;
  /** Admission plugins around the stores (none by default). */
  admission?: AdmissionChain;
  /** The authorizer the access reviews ask, made once the registry exists (AlwaysAllow's answers by default). */
  authorizer?: (registry: Registry) => Authorizer;
}

export interface MemoryRegistry {
  registry: Registry;
  storage: MemoryStorage;
  clusterIPs: MemoryAllocator<string>;
  nodePorts: MemoryAllocator<number>;
}

/** A Registry over MemoryStorage with in-memory allocators, its namespaces already created. */
export async function memoryRegistry(options: MemoryRegistryOptions = {}): Promise<MemoryRegistry> {
  const storage = options.storage ?? new MemoryStorage();
  const clusterIPs = memoryClusterIPAllocator();
  const nodePorts = memoryNodePortAllocator();
  const tokens = options.serviceAccountTokens;
  const authorization: { authorizer?: Authorizer } = {};
  const registry = new Registry({
    authorizer: () => authorization.authorizer,
    storage,
    prefix: "/registry",
    createCache: (prefix) => new MemoryWatchCache(storage, prefix),
    allocators: { clusterIPs, nodePorts, serviceRange: SERVICE_RANGE },
    eventTtlSeconds: options.eventTtlSeconds ?? 3600,
    defaultNotReadyTolerationSeconds: options.defaultNotReadyTolerationSeconds ?? 300,
    defaultUnreachableTolerationSeconds: options.defaultUnreachableTolerationSeconds ?? 300,
    ...(tokens ? { serviceAccountTokens: () => Promise.resolve(tokens) } : {}),
    ...(options.admission ? { admission: options.admission } : {}),
  });
  if (options.authorizer) authorization.authorizer = options.authorizer(registry);
  const namespaces = registry.core("namespaces");
  for (const name of options.namespaces ?? ["default"]) {
    await namespaces.create(undefined, { apiVersion: "v1", kind: "Namespace", metadata: { name } });
  }
  return { registry, storage, clusterIPs, nodePorts };
}
