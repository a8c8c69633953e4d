// Reflector + indexer + shared informer (client-go tools/cache): one list-and-watch per resource feeding an indexed
// in-memory store, and event handlers told about every change.
//
// Reflector contract:
//   - list (resourceVersion "0" first, so a watch cache can answer; pages of `pageSize`), then watch from the
//     list's resourceVersion with allowWatchBookmarks and a random timeoutSeconds in [min, 2·min);
//   - a watch that ends cleanly is resumed from the last resourceVersion seen (events and bookmarks advance it);
//   - 410 Expired/Gone: list again (a consistent read, resourceVersion "") and deliver only the differences:
//     adds, updates, and deletes as DeletedFinalStateUnknown for objects that vanished meanwhile;
//   - connection errors: back off (exponential, jittered, capped) and resume the watch; other errors: back off and
//     list again; forever, until the signal aborts.
//   - Per object, events are delivered at most once and in order: an event whose resourceVersion is not newer
//     than the stored object's is dropped.
//
// Cached objects are shared by every handler and lister reader: they are typed Readonly and, unless
// freezeObjects is false, deep-frozen (default: on unless NODE_ENV=production), so a mutation throws in tests
// instead of silently corrupting the cache; managedFields' field sets (fieldsV1) are frozen at their top only (see
// freezeFieldSets). Consumers structuredClone() before editing.
//
// Handlers run synchronously, in registration order, after the store is updated; a throwing handler is logged and
// does not affect the others. Handlers should only enqueue keys (see workqueue.ts).
import { isExpired, isStatusError } from "../api/errors.js";
import { isRecord, objectKey, type KubeList, type KubeObject, type LabelSelector, type WatchEvent } from "../api/meta.js";
import { apiVersionOf, qualifiedResource, type ResourceInfo } from "../api/resources.js";
import { realClock, type Clock, type Timer } from "../component-base/clock.js";
import { silentLogger, type Logger } from "../component-base/logging.js";
import { Backoff, type BackoffOptions } from "./backoff.js";
import { isConnectionError } from "./errors.js";
import type { ListOptions, WatchOptions } from "./rest.js";

/** The final state of an object deleted while the watch was down: its last cached version, maybe stale. */
export class DeletedFinalStateUnknown<T> {
  constructor(
    readonly key: string,
    readonly obj: Readonly<T>,
  ) {}
}

/** The object of a delete notification, whether delivered directly or as a tombstone. */
export function unwrapTombstone<T>(obj: Readonly<T> | DeletedFinalStateUnknown<T>): Readonly<T> {
  return obj instanceof DeletedFinalStateUnknown ? obj.obj : obj;
}

export interface EventHandler<T> {
  /** `isInInitialList`: the object came from the first list (or was replayed to a late handler). */
  onAdd?(obj: Readonly<T>, isInInitialList: boolean): void;
  /** Also called with old === new on resync. */
  onUpdate?(oldObj: Readonly<T>, newObj: Readonly<T>): void;
  onDelete?(obj: Readonly<T> | DeletedFinalStateUnknown<T>): void;
}

export interface HandlerRegistration {
  remove(): void;
  /** True once the informer synced (existing objects are replayed to a handler synchronously when it is added). */
  hasSynced(): boolean;
}

/** Index values for an object, e.g. (pod) => [pod.spec.nodeName]. */
export type IndexFunc<T> = (obj: Readonly<T>) => readonly string[];

/** The name of the default index: objects by metadata.namespace ("" for cluster-scoped ones). */
export const NAMESPACE_INDEX = "namespace";

/** Read access to an informer's cache. Everything returned is shared and frozen: clone before editing. */
export interface Lister<T> {
  /** By "namespace/name" (or "name" for cluster-scoped objects). */
  get(key: string): Readonly<T> | undefined;
  /** By namespace and name; namespace is ignored ("") for cluster-scoped objects. */
  getByName(namespace: string | undefined, name: string): Readonly<T> | undefined;
  list(): Readonly<T>[];
  listKeys(): string[];
  /** Objects whose index function returned `value`. Throws if no such index exists. */
  byIndex(indexName: string, value: string): Readonly<T>[];
  /** byIndex(NAMESPACE_INDEX, namespace). */
  listNamespace(namespace: string): Readonly<T>[];
}

/** A thread-unsafe (single-threaded JS) indexed store: client-go's cache.Indexer. */
export class Indexer<T extends KubeObject> implements Lister<T> {
  private readonly items = new Map<string, Readonly<T>>();
  /** Per index name: its function and, under each value, the objects by key (byIndex reads no other map). */
  private readonly indices = new Map<string, { fn: IndexFunc<T>; byValue: Map<string, Map<string, Readonly<T>>> }>();

  constructor(indexers: Readonly<Record<string, IndexFunc<T>>> = {}) {
    this.addIndexers({ [NAMESPACE_INDEX]: (obj) => [obj.metadata.namespace ?? ""], ...indexers });
  }

  /** Adds indexes, indexing objects already stored. Redefining an index name throws. */
  addIndexers(fns: Readonly<Record<string, IndexFunc<T>>>): void {
    for (const [name, fn] of Object.entries(fns)) {
      if (this.indices.has(name)) throw new Error(`indexer "${name}" already exists`);
      const byValue = new Map<string, Map<string, Readonly<T>>>();
      this.indices.set(name, { fn, byValue });
      for (const [key, obj] of this.items) addToIndex(byValue, fn(obj), key, obj);
    }
  }

  get(key: string): Readonly<T> | undefined {
    return this.items.get(key);
  }

  getByName(namespace: string | undefined, name: string): Readonly<T> | undefined {
    return this.items.get(namespace ? `${namespace}/${name}` : name) ?? (namespace ? undefined : this.items.get(name));
  }

  list(): Readonly<T>[] {
    return [...this.items.values()];
  }

  listKeys(): string[] {
    return [...this.items.keys()];
  }

  byIndex(indexName: string, value: string): Readonly<T>[] {
    const index = this.indices.get(indexName);
    if (!index) throw new Error(`index "${indexName}" does not exist`);
    const objects = index.byValue.get(value);
    return objects ? [...objects.values()] : [];
  }

  listNamespace(namespace: string): Readonly<T>[] {
    return this.byIndex(NAMESPACE_INDEX, namespace);
  }

  get size(): number {
    return this.items.size;
  }

  /** Stores `obj` under `key`, re-indexing it; returns the previous object. */
  upsert(key: string, obj: Readonly<T>): Readonly<T> | undefined {
    const previous = this.items.get(key);
    this.items.set(key, obj);
    for (const { fn, byValue } of this.indices.values()) {
      const values = fn(obj);
      if (previous) {
        const oldValues = fn(previous);
        // Most updates leave an object's index values alone (its namespace, its node): it stays where it is.
        if (!sameValues(oldValues, values)) removeFromIndex(byValue, oldValues, key);
      }
      addToIndex(byValue, values, key, obj);
    }
    return previous;
  }

  delete(key: string): Readonly<T> | undefined {
    const previous = this.items.get(key);
    if (!previous) return undefined;
    for (const { fn, byValue } of this.indices.values()) removeFromIndex(byValue, fn(previous), key);
    this.items.delete(key);
    return previous;
  }
}

/** Files `obj` under each of `values` (replacing an older version of it in place: Map.set keeps the order). */
function addToIndex<T>(byValue: Map<string, Map<string, T>>, values: readonly string[], key: string, obj: T): void {
  for (const value of values) {
    let objects = byValue.get(value);
    if (!objects) {
      objects = new Map();
      byValue.set(value, objects);
    }
    objects.set(key, obj);
  }
}

function removeFromIndex<T>(byValue: Map<string, Map<string, T>>, values: readonly string[], key: string): void {
  for (const value of values) {
    const objects = byValue.get(value);
    if (!objects) continue;
    objects.delete(key);
    if (objects.size === 0) byValue.delete(value);
  }
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Freezes an object graph in place (cache entries are shared by every reader): every object reachable through own
 * enumerable properties and array elements; an object already frozen is taken as frozen throughout.
 */
export function deepFreeze<T>(value: T): Readonly<T> {
  if (isUnfrozenObject(value)) freezeTree(value);
  return value;
}

function isUnfrozenObject(value: unknown): value is object {
  return typeof value === "object" && value !== null && !Object.isFrozen(value);
}

// Hot: every object an informer caches goes through here (a pod is ~100 nested objects). for...in is about 3x
// faster in V8 than Object.values() or Object.keys() here; the type test is inlined and Object.hasOwn is asked only
// of an unfrozen object child (decoded JSON has no inherited enumerable properties, so it is almost never false).
function freezeTree(obj: object): void {
  Object.freeze(obj);
  if (Array.isArray(obj)) {
    const array: readonly unknown[] = obj;
    // eslint-disable-next-line @typescript-eslint/prefer-for-of -- for...of over a just-frozen array is 2x slower in V8
    for (let i = 0; i < array.length; i++) {
      const child = array[i];
      if (typeof child === "object" && child !== null && !Object.isFrozen(child)) freezeTree(child);
    }
    return;
  }
  const record = obj as Record<string, unknown>;
  for (const key in record) {
    const child = record[key];
    if (typeof child === "object" && child !== null && !Object.isFrozen(child) && Object.hasOwn(record, key)) freezeTree(child);
  }
}

/**
 * Freezes each metadata.managedFields[].fieldsV1 at its top only, so deepFreeze takes it as frozen throughout. A field
 * set is about half the objects of a pod and walking it cost as much as freezing all the rest (8 of 16 µs per pod
 * event); no client reads into it, and replacing or adding a key at its top still throws.
 */
function freezeFieldSets(obj: KubeObject): void {
  const entries = obj.metadata.managedFields;
  if (!Array.isArray(entries)) return;
  for (const entry of entries as readonly unknown[]) {
    if (!isRecord(entry)) continue;
    const set = entry.fieldsV1;
    if (typeof set === "object" && set !== null) Object.freeze(set);
  }
}

/** Compares resourceVersions as integers (etcd revisions); unknown formats compare as "different, so newer". */
export function isNewerResourceVersion(candidate: string | undefined, current: string | undefined): boolean {
  if (candidate === undefined || current === undefined || candidate === "" || current === "") return true;
  if (!/^\d+$/.test(candidate) || !/^\d+$/.test(current)) return candidate !== current;
  return compareDecimal(candidate, current) > 0;
}

function compareResourceVersions(a: string, b: string): number {
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return compareDecimal(a, b);
  return a === b ? 0 : 1;
}

/** Compares two strings of decimal digits as integers: as Numbers while exact (15 digits), else as BigInts. */
function compareDecimal(a: string, b: string): number {
  if (a.length <= 15 && b.length <= 15) return Math.sign(Number(a) - Number(b));
  const x = BigInt(a);
  const y = BigInt(b);
  return x === y ? 0 : x > y ? 1 : -1;
}

/** An open watch as the informer uses it; RestClient's WatchStream is one. */
export interface WatchSource<T extends KubeObject> extends AsyncIterable<WatchEvent<T>> {
  stop(): void;
}

/** What an informer needs of a client; RestClient satisfies it and tests may pass a fake. */
export interface ListWatchClient {
  list<T extends KubeObject>(info: ResourceInfo, namespace: string | undefined, opts: ListOptions): Promise<KubeList<T>>;
  watch<T extends KubeObject>(info: ResourceInfo, namespace: string | undefined, opts: WatchOptions): Promise<WatchSource<T>>;
}

export interface InformerOptions<T extends KubeObject> {
  client: ListWatchClient;
  resource: ResourceInfo;
  /** Restrict to one namespace (default: all). */
  namespace?: string;
  labelSelector?: string | LabelSelector;
  fieldSelector?: string;
  /** Every this often, handlers get onUpdate(obj, obj) for every cached object; 0 or absent disables. */
  resyncPeriodMs?: number;
  logger?: Logger;
  clock?: Clock;
  /** Watches last a random timeoutSeconds in [min, 2·min); default 300 (client-go's 5–10 minutes). */
  minWatchTimeoutSeconds?: number;
  /** Backoff after errors; default 800 ms doubling to 30 s with jitter. */
  backoff?: Omit<BackoffOptions, "clock">;
  /** Page size for lists (default 500; 0 lists in one request). */
  pageSize?: number;
  /** Deep-freeze cached objects (default: true unless NODE_ENV is "production"). */
  freezeObjects?: boolean;
  indexers?: Readonly<Record<string, IndexFunc<T>>>;
}

export interface Informer<T extends KubeObject> {
  readonly resource: ResourceInfo;
  readonly lister: Lister<T>;
  addEventHandler(handler: EventHandler<T>): HandlerRegistration;
  /** Adds indexes (also allowed after start; existing objects are indexed). */
  addIndexers(fns: Readonly<Record<string, IndexFunc<T>>>): void;
  /** Lists and watches until `signal` aborts; resolves then. Call once. */
  run(signal: AbortSignal): Promise<void>;
  /** True once the first list has been stored and delivered to handlers. */
  hasSynced(): boolean;
  /** Resolves true once synced, or false if `signal` aborts first. */
  waitForSync(signal?: AbortSignal): Promise<boolean>;
  /** The resourceVersion the store reflects (last list, event or bookmark). */
  lastSyncResourceVersion(): string;
}

export function createInformer<T extends KubeObject = KubeObject>(opts: InformerOptions<T>): Informer<T> {
  return new SharedInformer<T>(opts);
}

interface Registration<T> {
  handler: EventHandler<T>;
}

class SharedInformer<T extends KubeObject> implements Informer<T> {
  readonly resource: ResourceInfo;
  private readonly store: Indexer<T>;
  /** Replaced, never mutated, on add and remove: notify iterates the array current when it starts. */
  private handlers: readonly Registration<T>[] = [];
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly freeze: boolean;
  private synced = false;
  private syncWaiters: (() => void)[] = [];
  private started = false;
  private lastRV = "";
  /** After a 410 the last resourceVersion cannot be listed from: list consistently ("") instead. */
  private rvUnavailable = false;
  private resyncTimer: Timer | undefined;

  constructor(private readonly opts: InformerOptions<T>) {
    this.resource = opts.resource;
    this.store = new Indexer<T>(opts.indexers);
    this.clock = opts.clock ?? realClock;
    this.logger = (opts.logger ?? silentLogger()).child({ informer: qualifiedResource(opts.resource), ...(opts.namespace ? { namespace: opts.namespace } : {}) });
    this.freeze = opts.freezeObjects ?? process.env.NODE_ENV !== "production";
  }

  get lister(): Lister<T> {
    return this.store;
  }

  addIndexers(fns: Readonly<Record<string, IndexFunc<T>>>): void {
    this.store.addIndexers(fns);
  }

  addEventHandler(handler: EventHandler<T>): HandlerRegistration {
    const reg: Registration<T> = { handler };
    this.handlers = [...this.handlers, reg];
    // A late handler first hears about everything already cached, as client-go's AddEventHandler does.
    for (const obj of this.store.list()) this.call(reg, "add", () => handler.onAdd?.(obj, true));
    return {
      remove: () => {
        this.handlers = this.handlers.filter((r) => r !== reg);
      },
      hasSynced: () => this.synced,
    };
  }

  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = (): void => {
        resolve(false);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.syncWaiters.push(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve(true);
      });
    });
  }

  lastSyncResourceVersion(): string {
    return this.lastRV;
  }

  async run(signal: AbortSignal): Promise<void> {
    if (this.started) throw new Error(`informer for ${qualifiedResource(this.resource)} already started`);
    this.started = true;
    const backoff = new Backoff({ ...this.opts.backoff, clock: this.clock });
    this.scheduleResync(signal);
    let needList = true;
    try {
      while (!signal.aborted) {
        if (needList) {
          try {
            await this.listAndReplace(signal);
            needList = false;
            backoff.reset();
          } catch (err) {
            if (signal.aborted) break;
            if (isExpired(err) && !this.rvUnavailable) {
              this.rvUnavailable = true;
              continue;
            }
            this.logger.warn({ err }, "List failed; retrying");
            await backoff.wait(signal);
            continue;
          }
        }
        const outcome = await this.watchOnce(signal);
        if (signal.aborted) break;
        switch (outcome.kind) {
          case "ended":
            // Resume at once after a watch that did something; back off if watches end immediately and empty,
            // so a misbehaving server cannot make us spin.
            if (outcome.events > 0 || outcome.ms >= 1000) backoff.reset();
            else await backoff.wait(signal);
            break;
          case "expired":
            this.logger.info({ resourceVersion: this.lastRV, err: outcome.err }, "Watch expired; relisting");
            this.rvUnavailable = true;
            needList = true;
            break;
          case "disconnected":
            this.logger.info({ err: outcome.err }, "Watch connection lost; resuming after backoff");
            await backoff.wait(signal);
            break;
          case "failed":
            this.logger.warn({ err: outcome.err }, "Watch failed; relisting after backoff");
            needList = true;
            await backoff.wait(signal);
            break;
        }
      }
    } finally {
      this.resyncTimer?.cancel();
    }
  }

  /** The list's resourceVersion: "0" first (watch cache), the last seen one later, "" after a 410. */
  private listResourceVersion(): string {
    if (this.rvUnavailable) return "";
    return this.lastRV === "" ? "0" : this.lastRV;
  }

  private async listAndReplace(signal: AbortSignal): Promise<void> {
    const { client, resource, namespace } = this.opts;
    const pageSize = this.opts.pageSize ?? 500;
    const base: ListOptions = { signal };
    if (this.opts.labelSelector !== undefined) base.labelSelector = this.opts.labelSelector;
    if (this.opts.fieldSelector !== undefined) base.fieldSelector = this.opts.fieldSelector;
    const rv = this.listResourceVersion();
    const items: T[] = [];
    let listRV: string;
    try {
      const first = await client.list<T>(resource, namespace, { ...base, resourceVersion: rv, ...(pageSize > 0 ? { limit: pageSize } : {}) });
      items.push(...first.items);
      listRV = first.metadata.resourceVersion ?? "";
      let token = first.metadata.continue;
      while (token) {
        const page = await client.list<T>(resource, namespace, { ...base, limit: pageSize, continue: token });
        items.push(...page.items);
        token = page.metadata.continue;
      }
    } catch (err) {
      if (!isExpired(err) || signal.aborted) throw err;
      // The continue token expired mid-way (client-go falls back the same way): one consistent, unpaged list.
      this.logger.info("List continuation expired; listing without pagination");
      items.length = 0;
      const full = await client.list<T>(resource, namespace, { ...base, resourceVersion: "" });
      items.push(...full.items);
      listRV = full.metadata.resourceVersion ?? "";
    }
    if (signal.aborted) return;
    this.replace(items, listRV);
    this.rvUnavailable = false;
  }

  /** Stores a fresh list, delivering only what changed against the cache. */
  private replace(items: T[], listRV: string): void {
    const initial = !this.synced;
    const seen = new Set<string>();
    for (const raw of items) {
      const obj = this.prepare(raw);
      const key = objectKey(obj.metadata);
      seen.add(key);
      const old = this.store.get(key);
      if (!old) {
        this.store.upsert(key, obj);
        this.notify("add", (h) => h.onAdd?.(obj, initial));
      } else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion && isNewerResourceVersion(obj.metadata.resourceVersion, old.metadata.resourceVersion)) {
        this.store.upsert(key, obj);
        this.notify("update", (h) => h.onUpdate?.(old, obj));
      }
    }
    for (const key of this.store.listKeys()) {
      if (seen.has(key)) continue;
      const old = this.store.delete(key)!;
      const tombstone = new DeletedFinalStateUnknown<T>(key, old);
      this.notify("delete", (h) => h.onDelete?.(tombstone));
    }
    this.setRV(listRV);
    if (initial) {
      this.synced = true;
      this.logger.debug({ items: items.length, resourceVersion: listRV }, "Informer synced");
      for (const resolve of this.syncWaiters.splice(0)) resolve();
    }
  }

  private async watchOnce(signal: AbortSignal): Promise<{ kind: "ended"; events: number; ms: number } | { kind: "expired" | "disconnected" | "failed"; err: unknown }> {
    const min = this.opts.minWatchTimeoutSeconds ?? 300;
    const watchOpts: WatchOptions = {
      signal,
      resourceVersion: this.lastRV,
      allowWatchBookmarks: true,
      timeoutSeconds: Math.max(1, Math.floor(min * (1 + Math.random()))),
    };
    if (this.opts.labelSelector !== undefined) watchOpts.labelSelector = this.opts.labelSelector;
    if (this.opts.fieldSelector !== undefined) watchOpts.fieldSelector = this.opts.fieldSelector;
    const started = this.clock.now();
    let events = 0;
    let stream: WatchSource<T> | undefined;
    // Stop the stream on abort ourselves rather than trust every client to end iteration on its own.
    const onAbort = (): void => stream?.stop();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      stream = await this.opts.client.watch<T>(this.opts.resource, this.opts.namespace, watchOpts);
      if (signal.aborted) stream.stop();
      for await (const event of stream) {
        if (signal.aborted) break;
        events++;
        this.handleEvent(event);
      }
      return { kind: "ended", events, ms: this.clock.now() - started };
    } catch (err) {
      if (isExpired(err)) return { kind: "expired", err };
      // Unreachable or throttled (429): resume the watch later; the cache is still good (client-go does the same).
      if (isConnectionError(err) || (isStatusError(err) && err.code === 429)) return { kind: "disconnected", err };
      return { kind: "failed", err };
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  private handleEvent(event: WatchEvent<T>): void {
    const rv = event.object.metadata.resourceVersion;
    if (event.type === "BOOKMARK") {
      if (rv) this.setRV(rv);
      return;
    }
    if (event.type === "ERROR") return; // the stream throws these; never yielded
    const obj = this.prepare(event.object);
    const key = objectKey(obj.metadata);
    const old = this.store.get(key);
    if (event.type === "DELETED") {
      // A DELETED event carries the deletion's resourceVersion, so only a strictly older one is stale.
      if (old && !(rv && old.metadata.resourceVersion && compareResourceVersions(rv, old.metadata.resourceVersion) < 0)) {
        this.store.delete(key);
        this.notify("delete", (h) => h.onDelete?.(obj));
      }
    } else if (!old) {
      this.store.upsert(key, obj);
      this.notify("add", (h) => h.onAdd?.(obj, false));
    } else if (isNewerResourceVersion(rv, old.metadata.resourceVersion)) {
      this.store.upsert(key, obj);
      this.notify("update", (h) => h.onUpdate?.(old, obj));
    } else {
      this.logger.trace({ key, resourceVersion: rv, cached: old.metadata.resourceVersion }, "Dropping stale watch event");
    }
    if (rv) this.setRV(rv);
  }

  /** Only ever moves forward. */
  private setRV(rv: string): void {
    if (rv === "") return;
    if (this.lastRV === "" || compareResourceVersions(rv, this.lastRV) > 0) this.lastRV = rv;
  }

  /** Fills kind/apiVersion (list items lack them) and freezes; objects from the client are fresh and unshared. */
  private prepare(raw: T): Readonly<T> {
    let obj = raw;
    if (obj.apiVersion === undefined || obj.kind === undefined) {
      if (Object.isFrozen(obj)) obj = structuredClone(obj);
      obj.apiVersion ??= apiVersionOf(this.resource);
      obj.kind ??= this.resource.kind;
    }
    if (!this.freeze) return obj;
    freezeFieldSets(obj);
    return deepFreeze(obj);
  }

  private scheduleResync(signal: AbortSignal): void {
    const period = this.opts.resyncPeriodMs ?? 0;
    if (period <= 0 || signal.aborted) return;
    this.resyncTimer = this.clock.setTimeout(() => {
      if (signal.aborted) return;
      if (this.synced) for (const obj of this.store.list()) this.notify("update", (h) => h.onUpdate?.(obj, obj));
      this.scheduleResync(signal);
    }, period);
  }

  private notify(kind: string, fn: (h: EventHandler<T>) => void): void {
    // Hot (every event): no copy of the array (see handlers) and no closure per handler.
    for (const reg of this.handlers) {
      try {
        fn(reg.handler);
      } catch (err) {
        this.logger.error({ err, handler: kind }, "Event handler threw");
      }
    }
  }

  private call(reg: Registration<T>, kind: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.logger.error({ err, handler: kind }, "Event handler threw");
    }
  }
}

/** Resolves true once every informer synced, false if `signal` aborts first. */
export async function waitForCacheSync(signal: AbortSignal, ...informers: readonly Pick<Informer<KubeObject>, "waitForSync">[]): Promise<boolean> {
  const results = await Promise.all(informers.map((i) => i.waitForSync(signal)));
  return results.every(Boolean);
}

export interface InformerFactoryOptions {
  client: ListWatchClient;
  resyncPeriodMs?: number;
  logger?: Logger;
  clock?: Clock;
  /** Defaults applied to every informer the factory makes. */
  minWatchTimeoutSeconds?: number;
  backoff?: Omit<BackoffOptions, "clock">;
  freezeObjects?: boolean;
}

export interface InformerScope {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/**
 * client-go's SharedInformerFactory: one informer per (resource, namespace, selectors), shared by every controller
 * in the process, so N controllers watching pods cost one list-and-watch.
 */
export class InformerFactory {
  private readonly informers = new Map<string, Informer<KubeObject>>();
  private readonly running = new Map<string, Promise<void>>();

  constructor(private readonly opts: InformerFactoryOptions) {}

  /**
   * The shared informer for `resource`. T is the caller's view of the objects; all callers of one resource must
   * agree on it (the cache holds whatever the server sent).
   */
  forResource<T extends KubeObject = KubeObject>(resource: ResourceInfo, scope: InformerScope = {}): Informer<T> {
    const key = JSON.stringify([resource.group, resource.version, resource.resource, scope.namespace ?? "", scope.labelSelector ?? "", scope.fieldSelector ?? ""]);
    let informer = this.informers.get(key);
    if (!informer) {
      const o = this.opts;
      informer = createInformer({
        client: o.client,
        resource,
        ...scope,
        ...(o.resyncPeriodMs !== undefined ? { resyncPeriodMs: o.resyncPeriodMs } : {}),
        ...(o.logger !== undefined ? { logger: o.logger } : {}),
        ...(o.clock !== undefined ? { clock: o.clock } : {}),
        ...(o.minWatchTimeoutSeconds !== undefined ? { minWatchTimeoutSeconds: o.minWatchTimeoutSeconds } : {}),
        ...(o.backoff !== undefined ? { backoff: o.backoff } : {}),
        ...(o.freezeObjects !== undefined ? { freezeObjects: o.freezeObjects } : {}),
      });
      this.informers.set(key, informer);
    }
    // The informer is built for KubeObject; T only narrows what callers see (see the doc comment).
    return informer as unknown as Informer<T>;
  }

  /** Starts every informer not yet running; call again after adding informers. */
  start(signal: AbortSignal): void {
    for (const [key, informer] of this.informers) {
      if (this.running.has(key)) continue;
      this.running.set(key, informer.run(signal));
    }
  }

  waitForCacheSync(signal: AbortSignal): Promise<boolean> {
    return waitForCacheSync(signal, ...this.informers.values());
  }

  /** Resolves when every started informer has stopped (after the start signal aborts). */
  async shutdown(): Promise<void> {
    await Promise.all(this.running.values());
  }
}
