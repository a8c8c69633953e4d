// The watch cache: one per resource prefix ("/registry/pods/"). One etcd watch feeds an in-memory store and a ring
// of recent events; every watch and every resourceVersion=0 list is served from here, so a thousand watchers cost
// one etcd watch, like Kubernetes' cacher.
//
// Guarantees:
// - Events reach each watcher in revision order; a watcher resuming from revision R gets exactly the changes after
//   R, or StorageError Compacted when the ring no longer reaches back to R.
// - The store is never wrong: when the etcd watch breaks the cache resumes right after the last revision it applied;
//   if etcd compacted that revision and the prefix really changed meanwhile, it re-lists, replaces the store and
//   closes every watcher ("relist") because their view can no longer be continued.
// - A slow watcher cannot hold up the others or grow memory without bound: a sink may return a promise to say "I'm
//   congested"; events then queue for that watcher only, up to `watcherBufferSize`, beyond which it is closed
//   ("overflow") and its client re-watches, as Kubernetes does with watchers that stop draining.
// Objects handed out are shared by the store, the ring and every watcher: treat them as read-only. The object of a
// create made by this process is the one the create wrote (below its top level and metadata, shared with the
// create's reply), not a parse of the stored value (pending-writes.ts).
//
// A list's values stay raw bytes until first asked for (by key, or all at once by a list or a watch from the
// current state): start-up then costs the listing, not the decoding of every object (10k pods: ~0.2 s of CPU and
// as much again in garbage collection), which moves to the first request that needs the objects. Keys and
// revisions are known at once; an undecodable value is found (and hidden, and warned about) when first decoded.
import type { KubeObject } from "../../api/meta.js";
import { realClock, type Clock, type Timer } from "../../component-base/clock.js";
import type { Logger } from "../../component-base/logging.js";
import { StorageError, isStorageError, type CacheEvent, type CacheWatchOptions, type CacheWatcher, type WatchCache } from "./interfaces.js";
import { decodeLenient, type EtcdStorage, type RawWatchEvent } from "./etcd-storage.js";

/** Why a watch ended from the cache's side (the `onClose` argument). */
export type CacheCloseReason =
  | "relist" // etcd compacted past the cache's revision: the client must list again
  | "overflow" // the watcher's buffer filled up: it was not draining
  | "stopped" // the cache was stopped (apiserver shutdown)
  | "error" // the sink threw, or the promise it returned rejected
  | "tooLargeResourceVersion"; // fromRevision is newer than etcd's revision (the client's RV is not from this etcd)

/** The part of EtcdStorage the cache uses; a narrow seam for fakes. */
export type WatchCacheSource = Pick<EtcdStorage, "listRaw" | "watchPrefix" | "checkUnchangedSince" | "currentRevision">;

export interface WatchCacheOptions {
  /** Events kept for resumption (default 10000). Watches from before the oldest retained event get 410. */
  capacity?: number;
  /** How often watchers that asked for bookmarks get one (default 5000 ms). */
  bookmarkIntervalMs?: number;
  /** Events that may queue for one congested watcher before it is closed with "overflow" (default 1000). */
  watcherBufferSize?: number;
  /** Default timeout of waitForRevision and of list({minRevision}) (default 3000 ms, Kubernetes' value). */
  waitTimeoutMs?: number;
  /** Delay before re-opening a broken etcd watch, doubled per failure up to `max` (default 100 → 2000 ms). */
  reconnectBackoffMs?: { initial: number; max: number };
  clock?: Clock;
  /** Called for every event applied from etcd (apiserver_watch_events_total). */
  onEvent?: (type: CacheEvent["type"]) => void;
  /** Where the cache reports what it handled itself: the etcd watch broke, an undecodable value, a re-list. */
  logger?: Logger;
}

/** Builds and starts a watch cache for `prefix`; `start()` (already called) resolves once the first list is in. */
export function createWatchCache(storage: WatchCacheSource, prefix: string, options: WatchCacheOptions = {}): EtcdWatchCache {
  const cache = new EtcdWatchCache(storage, prefix, options);
  void cache.start().catch(() => undefined);
  return cache;
}

/** An event in the ring, with its key (for namespace-prefix matching). */
interface StoredEvent {
  key: string;
  event: CacheEvent;
}

/** What a sink may return: a promise means "congested until it settles". */
type Sink = (event: CacheEvent) => unknown;

export class EtcdWatchCache implements WatchCache {
  private readonly storage: WatchCacheSource;
  private readonly prefix: string;
  private readonly capacity: number;
  private readonly bookmarkIntervalMs: number;
  private readonly watcherBufferSize: number;
  private readonly waitTimeoutMs: number;
  private readonly backoff: { initial: number; max: number };
  private readonly clock: Clock;
  private readonly onEvent: ((type: CacheEvent["type"]) => void) | undefined;
  private readonly logger: Logger | undefined;

  private readonly store = new Map<string, KubeObject>();
  /** Listed values not decoded yet, keyed like `store`; a key is in one of store, pending and undecodable. */
  private readonly pending = new Map<string, { value: Buffer; modRevision: number }>();
  /** Keys present in etcd whose value is not a valid object: invisible to clients, but counted when checking etcd. */
  private readonly undecodable = new Set<string>();
  private sortedKeys: string[] | undefined;
  private readonly ring: Ring;
  /** The cache knows every change after this revision (its list revision, or the revision of the last evicted event). */
  private historyFrom = 0;
  private currentRevision = 0;
  /**
   * The last revision the etcd watch stream has delivered (or the list or resume point it follows). catchUp may move
   * currentRevision beyond it: its check cannot see a key created and deleted again since, so the stream's events
   * after streamRevision are still applied (and sent) when they arrive, and a new stream resumes from here.
   */
  private streamRevision = 0;
  private isReady = false;
  private stopped = false;
  private startPromise: Promise<void> | undefined;

  private readonly watchers = new Set<Watcher>();
  private waiters: Waiter[] = [];
  private etcdWatch: { cancel(): void } | undefined;
  private reconnectDelay: number;
  private cancelReconnect: Timer | undefined;
  private cancelBookmarks: Timer | undefined;
  private catchingUp = false;
  private streamsOpened = 0;
  private nextWatcherId = 1;

  constructor(storage: WatchCacheSource, prefix: string, options: WatchCacheOptions = {}) {
    if (!prefix.endsWith("/")) throw new Error(`watch cache prefix ${JSON.stringify(prefix)} must end with "/"`);
    this.storage = storage;
    this.prefix = prefix;
    this.capacity = Math.max(1, options.capacity ?? 10_000);
    this.bookmarkIntervalMs = Math.max(1, options.bookmarkIntervalMs ?? 5000);
    this.watcherBufferSize = Math.max(1, options.watcherBufferSize ?? 1000);
    this.waitTimeoutMs = options.waitTimeoutMs ?? 3000;
    this.backoff = options.reconnectBackoffMs ?? { initial: 100, max: 2000 };
    this.reconnectDelay = this.backoff.initial;
    this.clock = options.clock ?? realClock;
    this.onEvent = options.onEvent;
    this.logger = options.logger;
    this.ring = new Ring(this.capacity);
  }

  get revision(): number {
    return this.currentRevision;
  }

  get ready(): boolean {
    return this.isReady;
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** Objects in the store, counting listed values not decoded yet (an undecodable one among them counts until decoded). */
  get objectCount(): number {
    return this.store.size + this.pending.size;
  }

  /** How many etcd watch streams this cache has opened: 1 in steady state, +1 per reconnect. */
  get etcdWatchesOpened(): number {
    return this.streamsOpened;
  }

  /** The oldest revision a watch may resume from (older ones get StorageError Compacted). */
  get oldestResumableRevision(): number {
    return this.historyFrom;
  }

  /**
   * Lists the prefix (retrying while etcd is unreachable), then follows it with one etcd watch. Resolves once the
   * cache is ready; rejects only if the cache is stopped first. Idempotent.
   */
  start(): Promise<void> {
    this.startPromise ??= this.initialSync();
    return this.startPromise;
  }

  list(options: { prefix?: string; filter?: (object: KubeObject) => boolean; minRevision?: number }): Promise<{ items: KubeObject[]; revision: number }> {
    const snapshot = (): { items: KubeObject[]; revision: number } => {
      const scope = options.prefix ?? this.prefix;
      const items: KubeObject[] = [];
      for (const key of this.keysInOrder()) {
        if (!key.startsWith(scope)) continue;
        const object = this.store.get(key)!;
        if (options.filter === undefined || options.filter(object)) items.push(object);
      }
      return { items, revision: this.currentRevision };
    };
    const minRevision = options.minRevision ?? 0;
    if (this.isReady && minRevision <= this.currentRevision) return Promise.resolve(snapshot());
    return this.waitUntil(Math.max(minRevision, 1), this.waitTimeoutMs).then(snapshot);
  }

  get(key: string): KubeObject | undefined {
    return this.lookup(key);
  }

  watch(options: CacheWatchOptions, sink: (event: CacheEvent) => void | PromiseLike<void>, onClose: (reason: string) => void): CacheWatcher {
    if (this.stopped) throw new StorageError("Unavailable", this.prefix, "the watch cache is stopped");
    if (!this.isReady) throw new StorageError("Unavailable", this.prefix, "storage is (re)initializing");
    const scope = options.prefix ?? this.prefix;
    const watcher = new Watcher(this.nextWatcherId++, scope, options.filter, options.bookmarks === true, sink, onClose, this.watcherBufferSize, (w) => {
      this.watchers.delete(w);
    });
    const from = options.fromRevision ?? 0;
    if (from <= 0) {
      // Synthetic ADDED for the current state, stamped with the snapshot revision so that a consumer tracking
      // "last revision seen" resumes correctly after them.
      const initial: CacheEvent[] = [];
      for (const key of this.keysInOrder()) {
        if (!key.startsWith(scope)) continue;
        const object = this.store.get(key)!;
        if (watcher.matches(object)) initial.push({ type: "ADDED", object, revision: this.currentRevision });
      }
      watcher.begin(initial, this.currentRevision);
    } else if (from < this.historyFrom) {
      throw new StorageError("Compacted", this.prefix, `too old resource version: ${from} (${this.historyFrom})`);
    } else if (from <= this.currentRevision) {
      const initial: CacheEvent[] = [];
      for (const stored of this.ring.after(from)) {
        const event = watcher.transform(stored);
        if (event) initial.push(event);
      }
      watcher.begin(initial, from);
    } else {
      // A revision the cache has not reached (e.g. a list read straight from etcd): deliver only what comes after it.
      watcher.begin([], from);
      this.checkFutureRevision(watcher, from);
    }
    this.watchers.add(watcher);
    return watcher;
  }

  waitForRevision(revision: number, timeoutMs?: number): Promise<void> {
    return this.waitUntil(revision, timeoutMs ?? this.waitTimeoutMs);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.etcdWatch?.cancel();
    this.etcdWatch = undefined;
    this.cancelReconnect?.cancel();
    this.cancelBookmarks?.cancel();
    for (const watcher of [...this.watchers]) watcher.close("stopped");
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.fail(new StorageError("Unavailable", this.prefix, "the watch cache was stopped"));
  }

  private async initialSync(): Promise<void> {
    for (let delay = this.backoff.initial; ; delay = Math.min(delay * 2, this.backoff.max)) {
      if (this.stopped) throw new StorageError("Unavailable", this.prefix, "the watch cache was stopped");
      try {
        const { entries, revision } = await this.storage.listRaw(this.prefix);
        if (this.stopped) throw new StorageError("Unavailable", this.prefix, "the watch cache was stopped");
        this.replaceStore(entries, revision);
        this.isReady = true;
        this.openEtcdWatch(revision + 1);
        this.scheduleBookmarks();
        this.settleWaiters();
        return;
      } catch (err) {
        if (this.stopped) throw err;
        this.warn("initial list failed, retrying", err);
        await this.clock.sleep(delay);
      }
    }
  }

  private replaceStore(entries: { key: string; value: Buffer; modRevision: number }[], revision: number): void {
    this.store.clear();
    this.pending.clear();
    this.undecodable.clear();
    this.sortedKeys = undefined;
    for (const entry of entries) this.pending.set(entry.key, { value: entry.value, modRevision: entry.modRevision });
    this.ring.clear();
    this.historyFrom = revision;
    this.currentRevision = revision;
    this.streamRevision = revision;
  }

  private openEtcdWatch(fromRevision: number): void {
    if (this.stopped) return;
    let watch: { cancel(): void } | undefined;
    try {
      watch = this.openWatchStream(fromRevision);
    } catch (err) {
      this.warn("could not open the etcd watch, retrying", err);
      this.scheduleReconnect(() => void this.resume());
      return;
    }
    this.etcdWatch = watch;
  }

  private openWatchStream(fromRevision: number): { cancel(): void } {
    const watch = this.storage.watchPrefix(this.prefix, fromRevision, {
      onCreated: () => {
        if (this.etcdWatch === watch) this.reconnectDelay = this.backoff.initial;
      },
      onEvents: (events) => {
        if (this.etcdWatch !== watch) return;
        this.applyEvents(events);
      },
      onCompacted: (compactRevision) => {
        if (this.etcdWatch !== watch) return;
        this.etcdWatch = undefined;
        this.warn(`etcd compacted the revision to resume from (${this.streamRevision + 1}); etcd keeps ${compactRevision}+`);
        void this.recoverFromCompaction();
      },
      onBroken: (err) => {
        if (this.etcdWatch !== watch) return;
        this.etcdWatch = undefined;
        this.warn(`etcd watch broke, resuming after revision ${this.streamRevision}`, err);
        this.scheduleReconnect(() => void this.resume());
      },
    });
    this.streamsOpened++;
    return watch;
  }

  /**
   * Re-opens the etcd watch right after the last applied revision, once etcd answers. An etcd whose revision is
   * behind ours is not the one we were watching (restored or wiped): resuming there would skip changes, so re-list.
   */
  private async resume(): Promise<void> {
    if (this.stopped) return;
    try {
      const etcdRevision = await this.storage.currentRevision();
      if (this.stopped) return;
      if (etcdRevision < this.currentRevision) {
        this.warn(`etcd's revision ${etcdRevision} is behind the cache's ${this.currentRevision}; re-listing`);
        await this.relist();
        return;
      }
      this.openEtcdWatch(this.streamRevision + 1);
    } catch (err) {
      this.logger?.debug({ err, prefix: this.prefix }, "watch cache: etcd still unreachable");
      this.scheduleReconnect(() => void this.resume());
    }
  }

  private scheduleReconnect(action: () => void): void {
    if (this.stopped) return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, this.backoff.max);
    this.cancelReconnect?.cancel();
    this.cancelReconnect = this.clock.setTimeout(() => {
      this.cancelReconnect = undefined;
      action();
    }, delay);
  }

  /**
   * etcd no longer has the history after our revision. If nothing under the prefix changed since then, the cache is
   * still exact: resume from etcd's current revision and keep every watcher. Otherwise re-list and close watchers.
   */
  private async recoverFromCompaction(): Promise<void> {
    if (this.stopped) return;
    try {
      const base = this.currentRevision;
      const check = await this.storage.checkUnchangedSince(this.prefix, base, this.store.size + this.pending.size + this.undecodable.size);
      if (this.stopped) return;
      if (check.unchanged && this.currentRevision === base) {
        this.advanceTo(check.revision);
        this.streamRevision = check.revision;
        this.openEtcdWatch(check.revision + 1);
        return;
      }
      await this.relist();
    } catch (err) {
      this.warn("recovering from compaction failed, retrying", err);
      this.scheduleReconnect(() => void this.recoverFromCompaction());
    }
  }

  /** Replaces the store with a fresh list; every watcher's view is broken, so all are closed ("relist"). */
  private async relist(): Promise<void> {
    const { entries, revision } = await this.storage.listRaw(this.prefix);
    if (this.stopped) return;
    this.warn(`re-listed at revision ${revision}; closing ${this.watchers.size} watchers`);
    this.replaceStore(entries, revision);
    for (const watcher of [...this.watchers]) watcher.close("relist");
    this.openEtcdWatch(revision + 1);
    this.settleWaiters();
  }

  private applyEvents(events: RawWatchEvent[]): void {
    for (const raw of events) {
      // Several events may share a revision (one transaction, or a lease expiring takes all its keys at once), so
      // only strictly older ones are already known. Older than currentRevision is not enough: catchUp may have
      // advanced it past a key created and deleted meanwhile, whose events must still reach the watchers.
      if (raw.revision < this.streamRevision) continue;
      const stored = this.applyOne(raw);
      this.streamRevision = raw.revision;
      if (raw.revision > this.currentRevision) this.currentRevision = raw.revision;
      if (!stored) continue;
      const evicted = this.ring.push(stored);
      if (evicted) this.historyFrom = evicted.event.revision;
      try {
        this.onEvent?.(stored.event.type);
      } catch {
        // a metrics hook must not cost watchers their events
      }
      for (const watcher of this.watchers) watcher.offer(stored);
    }
    this.settleWaiters();
  }

  /** Updates the store and returns the event clients see, or undefined when the change is invisible to them. */
  private applyOne(raw: RawWatchEvent): StoredEvent | undefined {
    const previous = this.lookup(raw.key);
    if (raw.type === "put") {
      // A create of this process comes with the object it wrote (equal to what decoding its value gives).
      const object = raw.object ?? (raw.value === undefined ? undefined : decodeLenient(raw.value, raw.revision));
      if (object) {
        this.undecodable.delete(raw.key);
        if (!previous) this.sortedKeys = undefined;
        this.store.set(raw.key, object);
        const event: CacheEvent = previous
          ? { type: "MODIFIED", object, prevObject: previous, revision: raw.revision }
          : { type: "ADDED", object, revision: raw.revision };
        return { key: raw.key, event };
      }
      // An undecodable value hides the object from clients: to them it was deleted.
      this.warn(`ignoring undecodable value at ${raw.key} (revision ${raw.revision})`);
      this.undecodable.add(raw.key);
      if (!previous) return undefined;
      this.store.delete(raw.key);
      this.sortedKeys = undefined;
      return { key: raw.key, event: deletedEvent(previous, raw.revision) };
    }
    this.undecodable.delete(raw.key);
    const last = previous ?? (raw.prevValue === undefined ? undefined : decodeLenient(raw.prevValue, raw.revision));
    if (!previous || !last) return undefined;
    this.store.delete(raw.key);
    this.sortedKeys = undefined;
    return { key: raw.key, event: deletedEvent(last, raw.revision) };
  }

  /** Moves the revision forward without events (the cache learned that nothing changed up to `revision`). */
  private advanceTo(revision: number): void {
    if (revision <= this.currentRevision) return;
    this.currentRevision = revision;
    this.settleWaiters();
  }

  private waitUntil(revision: number, timeoutMs: number): Promise<void> {
    if (this.stopped) return Promise.reject(new StorageError("Unavailable", this.prefix, "the watch cache is stopped"));
    if (this.isReady && revision <= this.currentRevision) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        revision,
        done: () => {
          timer.cancel();
          resolve();
        },
        fail: (err) => {
          timer.cancel();
          reject(err);
        },
      };
      const timer = this.clock.setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const message = this.isReady
          ? `Too large resource version: ${revision}, current: ${this.currentRevision}`
          : `storage is (re)initializing: the watch cache for ${this.prefix} has not synced yet`;
        reject(new StorageError("Timeout", this.prefix, message));
      }, timeoutMs);
      this.waiters.push(waiter);
      this.catchUp();
    });
  }

  private settleWaiters(): void {
    if (this.waiters.length === 0 || !this.isReady) return;
    const remaining: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (waiter.revision <= this.currentRevision) waiter.done();
      else remaining.push(waiter);
    }
    this.waiters = remaining;
  }

  /**
   * Brings the revision up to what waiters need when etcd's revision moved on through writes to other prefixes
   * (a consistent list asks for etcd's current revision). Asks etcd whether the prefix changed since our revision
   * (EtcdStorage.checkUnchangedSince); if it did, the events are on their way, so wait a little and ask again.
   * One loop at a time, while anyone waits; while the etcd watch is down, waiters simply time out.
   */
  private catchUp(): void {
    if (this.catchingUp) return;
    this.catchingUp = true;
    const loop = async (): Promise<void> => {
      for (let delay = 10; !this.stopped && this.waiters.length > 0; delay = Math.min(delay * 2, 200)) {
        if (this.isReady && this.etcdWatch !== undefined) {
          const base = this.currentRevision;
          const count = this.store.size + this.pending.size + this.undecodable.size;
          try {
            const check = await this.storage.checkUnchangedSince(this.prefix, base, count);
            if (check.unchanged && this.currentRevision === base) this.advanceTo(check.revision);
          } catch (err) {
            this.logger?.debug({ err, prefix: this.prefix }, "watch cache progress check failed");
          }
          if (this.waiters.length === 0) return;
        }
        await this.clock.sleep(delay);
      }
    };
    void loop().finally(() => {
      this.catchingUp = false;
    });
  }

  /** A watch from beyond the cache's revision is fine unless it is beyond etcd's too (an RV from another etcd). */
  private checkFutureRevision(watcher: Watcher, revision: number): void {
    this.waitUntil(revision, this.waitTimeoutMs).catch((err: unknown) => {
      if (!isStorageError(err, "Timeout")) return;
      this.storage.currentRevision().then(
        (etcdRevision) => {
          if (revision > etcdRevision) watcher.close("tooLargeResourceVersion");
        },
        () => undefined,
      );
    });
  }

  private scheduleBookmarks(): void {
    if (this.stopped) return;
    this.cancelBookmarks = this.clock.setTimeout(() => {
      for (const watcher of this.watchers) watcher.bookmark(this.currentRevision);
      this.scheduleBookmarks();
    }, this.bookmarkIntervalMs);
  }

  private warn(message: string, err?: unknown): void {
    this.logger?.warn(err === undefined ? { prefix: this.prefix } : { prefix: this.prefix, err }, `watch cache: ${message}`);
  }

  /** Every key of the store in order, with every pending value decoded (callers read `store` for each key). */
  private keysInOrder(): string[] {
    if (this.pending.size > 0) {
      for (const key of [...this.pending.keys()]) this.lookup(key);
    }
    this.sortedKeys ??= [...this.store.keys()].sort();
    return this.sortedKeys;
  }

  /** The object at `key`, decoding a pending value first (an undecodable one becomes invisible, with a warning). */
  private lookup(key: string): KubeObject | undefined {
    const found = this.store.get(key);
    if (found !== undefined) return found;
    const entry = this.pending.get(key);
    if (entry === undefined) return undefined;
    this.pending.delete(key);
    const object = decodeLenient(entry.value, entry.modRevision);
    if (object) {
      this.store.set(key, object);
      return object;
    }
    this.undecodable.add(key);
    this.sortedKeys = undefined;
    this.warn(`ignoring undecodable value at ${key}`);
    return undefined;
  }
}

function deletedEvent(last: KubeObject, revision: number): CacheEvent {
  // The DELETED object is the last state, carrying the deletion's revision (as Kubernetes sends it).
  const object: KubeObject = { ...last, metadata: { ...last.metadata, resourceVersion: String(revision) } };
  return { type: "DELETED", object, prevObject: last, revision };
}

interface Waiter {
  revision: number;
  done(): void;
  fail(err: Error): void;
}

/**
 * One client watch. Events are delivered synchronously while the sink keeps up; after the sink returns a promise the
 * watcher is congested and live events queue (bounded) until the promise settles.
 */
class Watcher implements CacheWatcher {
  private initial: CacheEvent[] = [];
  private initialIndex = 0;
  private queue: CacheEvent[] = [];
  private queueHead = 0;
  /** Events with revisions up to here are already part of what the client has (its list or its replay). */
  private startRevision = 0;
  private started = false;
  private congested = false;
  private closed = false;

  constructor(
    readonly id: number,
    private readonly scope: string,
    private readonly filter: ((object: KubeObject) => boolean) | undefined,
    private readonly wantsBookmarks: boolean,
    private readonly sink: Sink,
    private readonly onClose: (reason: string) => void,
    private readonly bufferSize: number,
    private readonly detach: (watcher: Watcher) => void,
  ) {}

  matches(object: KubeObject): boolean {
    return this.filter === undefined || this.filter(object);
  }

  /**
   * What this watcher sees of a change. With a filter, prevObject decides transitions as in Kubernetes' cacher:
   * an object that stops matching is DELETED (carrying the new object), one that starts matching is ADDED.
   */
  transform(stored: StoredEvent): CacheEvent | undefined {
    if (!stored.key.startsWith(this.scope)) return undefined;
    const { event } = stored;
    if (this.filter === undefined) return event;
    switch (event.type) {
      case "ADDED":
        return this.filter(event.object) ? event : undefined;
      case "DELETED":
        return this.filter(event.prevObject ?? event.object) ? event : undefined;
      case "MODIFIED": {
        const now = this.filter(event.object);
        const before = event.prevObject !== undefined && this.filter(event.prevObject);
        if (now && before) return event;
        if (now) return { ...event, type: "ADDED" };
        if (before) return { ...event, type: "DELETED" };
        return undefined;
      }
      case "BOOKMARK":
        return event;
    }
  }

  /** Starts delivery on the next microtask, so the caller holds the watcher before its first event. */
  begin(initial: CacheEvent[], startRevision: number): void {
    this.initial = initial;
    this.startRevision = startRevision;
    queueMicrotask(() => {
      this.started = true;
      this.pump();
    });
  }

  offer(stored: StoredEvent): void {
    if (this.closed || stored.event.revision <= this.startRevision) return;
    let event: CacheEvent | undefined;
    try {
      event = this.transform(stored);
    } catch {
      this.close("error"); // a filter that throws ends this watch only
      return;
    }
    if (event) this.enqueue(event);
  }

  bookmark(cacheRevision: number): void {
    if (!this.wantsBookmarks || this.closed) return;
    // Never announce less than the client already has; a watcher ahead of the cache waits for it to catch up.
    if (cacheRevision < this.startRevision) return;
    const event: CacheEvent = { type: "BOOKMARK", object: { metadata: { resourceVersion: String(cacheRevision) } }, revision: cacheRevision };
    // A congested watcher needs one bookmark at most: replace a queued one instead of piling them up.
    const last = this.queue[this.queue.length - 1];
    if (this.queue.length > this.queueHead && last?.type === "BOOKMARK") {
      this.queue[this.queue.length - 1] = event;
      return;
    }
    this.enqueue(event);
  }

  stop(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
  }

  close(reason: CacheCloseReason): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
    try {
      this.onClose(reason);
    } catch {
      // the consumer's problem; the cache carries on
    }
  }

  private release(): void {
    this.initial = [];
    this.queue = [];
    this.queueHead = 0;
    this.detach(this);
  }

  private enqueue(event: CacheEvent): void {
    if (this.started && !this.congested && this.initialIndex >= this.initial.length && this.queueHead >= this.queue.length) {
      this.deliver(event);
      return;
    }
    this.queue.push(event);
    if (this.queue.length - this.queueHead > this.bufferSize) this.close("overflow");
  }

  private pump(): void {
    while (!this.closed && !this.congested) {
      let event: CacheEvent | undefined;
      if (this.initialIndex < this.initial.length) {
        event = this.initial[this.initialIndex++];
        if (this.initialIndex === this.initial.length) {
          this.initial = [];
          this.initialIndex = 0;
        }
      } else if (this.queueHead < this.queue.length) {
        event = this.queue[this.queueHead++];
        if (this.queueHead === this.queue.length) {
          this.queue = [];
          this.queueHead = 0;
        }
      } else {
        return;
      }
      if (event) this.deliver(event);
    }
  }

  private deliver(event: CacheEvent): void {
    let result: unknown;
    try {
      result = this.sink(event);
    } catch {
      this.close("error");
      return;
    }
    if (isThenable(result)) {
      this.congested = true;
      result.then(
        () => {
          this.congested = false;
          this.pump();
        },
        () => {
          this.close("error");
        },
      );
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

/** A fixed-size ring of events in revision order. */
class Ring {
  private readonly items: (StoredEvent | undefined)[];
  private start = 0;
  private length = 0;

  constructor(private readonly capacity: number) {
    this.items = new Array<StoredEvent | undefined>(capacity);
  }

  /** Appends; returns the evicted oldest event when full. */
  push(item: StoredEvent): StoredEvent | undefined {
    if (this.length < this.capacity) {
      this.items[(this.start + this.length) % this.capacity] = item;
      this.length++;
      return undefined;
    }
    const evicted = this.items[this.start];
    this.items[this.start] = item;
    this.start = (this.start + 1) % this.capacity;
    return evicted;
  }

  /** Events with revision > `revision`, oldest first (binary search: revisions never decrease along the ring). */
  after(revision: number): StoredEvent[] {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at(mid).event.revision <= revision) lo = mid + 1;
      else hi = mid;
    }
    const out: StoredEvent[] = [];
    for (let i = lo; i < this.length; i++) out.push(this.at(i));
    return out;
  }

  clear(): void {
    this.items.fill(undefined);
    this.start = 0;
    this.length = 0;
  }

  private at(index: number): StoredEvent {
    return this.items[(this.start + index) % this.capacity]!;
  }
}
