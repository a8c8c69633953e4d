// The contract between the apiserver's registry (REST semantics) and its storage (etcd + watch cache).
// Keys are full etcd keys ("/registry/pods/default/web"); objects carry metadata.resourceVersion = etcd mod revision.
import type { KubeObject, WatchEventType } from "../../api/meta.js";

/** Storage failures, typed so the registry can map them to Status errors with the right resource name. */
export type StorageErrorCode = "KeyExists" | "KeyNotFound" | "Conflict" | "Unavailable" | "Timeout" | "Compacted" | "Invalid";

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  readonly key: string;
  constructor(code: StorageErrorCode, key: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StorageError";
    this.code = code;
    this.key = key;
  }
}

export function isStorageError(err: unknown, code?: StorageErrorCode): err is StorageError {
  return err instanceof StorageError && (code === undefined || err.code === code);
}

export interface ListPage {
  items: KubeObject[];
  /** The etcd revision the page was read at (the list's resourceVersion). */
  revision: number;
  /** Opaque continue token when more items remain. */
  continue?: string;
  remainingItemCount?: number;
}

export interface ListOptions {
  limit?: number;
  continue?: string;
}

export interface CreateOptions {
  /** Attach the key to an etcd lease with this TTL (events). */
  ttlSeconds?: number;
}

/**
 * Called with the current object (undefined when absent) and returns the object to store, or throws to abort.
 * Return `undefined` to leave the object unchanged.
 */
export type TryUpdate = (current: KubeObject) => KubeObject | undefined | Promise<KubeObject | undefined>;

/** Direct etcd access: the only code that opens etcd. */
export interface Storage {
  get(key: string): Promise<KubeObject | undefined>;
  /** Range read of everything under `prefix` (which ends with "/"), paginated against etcd so no response is huge. */
  list(prefix: string, options?: ListOptions): Promise<ListPage>;
  /** Create-if-absent transaction; throws StorageError KeyExists. */
  create(key: string, object: KubeObject, options?: CreateOptions): Promise<KubeObject>;
  /**
   * Compare-and-swap on the mod revision; `expectedRevision` undefined means "whatever is there now" (but the key must exist).
   * Throws KeyNotFound or Conflict. Preserves the key's lease (events keep their TTL).
   */
  update(key: string, object: KubeObject, expectedRevision?: number): Promise<KubeObject>;
  /**
   * Read-modify-write with retries on Conflict; throws KeyNotFound when the key is absent. `guess`, a cached and
   * maybe stale copy of the object, is tried first instead of a read (it is never changed); it is plain JSON, as
   * the watch cache holds objects (parsed, or checked as JSON.parse would give them back).
   */
  guaranteedUpdate(key: string, tryUpdate: TryUpdate, guess?: KubeObject): Promise<KubeObject>;
  /** Deletes the key, optionally only at `expectedRevision`; returns the last stored state. */
  delete(key: string, expectedRevision?: number): Promise<KubeObject>;
  /** The current etcd revision (a cheap header read). */
  currentRevision(): Promise<number>;
  /** Raw key helpers for allocators' reservation keys (values are small strings). */
  createRaw(key: string, value: string): Promise<boolean>;
  deleteRaw(key: string): Promise<void>;
  listRawKeys(prefix: string): Promise<string[]>;
  /** True when a simple etcd request succeeds within a short deadline (readyz). */
  healthy(): Promise<boolean>;
  close(): Promise<void>;
}

export interface CacheEvent {
  type: Exclude<WatchEventType, "ERROR">;
  object: KubeObject;
  /** The object before this change, for MODIFIED and DELETED; lets a filtered watch turn transitions into ADDED/DELETED. */
  prevObject?: KubeObject;
  revision: number;
}

export interface CacheWatchOptions {
  /** Deliver changes after this revision; 0 or undefined: first synthetic ADDED events for the current state. */
  fromRevision?: number;
  /** Only objects under this key prefix (a namespace) and for which `filter` is true are delivered. */
  prefix?: string;
  filter?: (object: KubeObject) => boolean;
  /** Send BOOKMARK events carrying the cache's revision. */
  bookmarks?: boolean;
}

export interface CacheWatcher {
  stop(): void;
}

/**
 * One per resource: one etcd watch feeding an in-memory store and a ring of recent events.
 * Every list with resourceVersion=0 and every watch is served from here.
 */
export interface WatchCache {
  /** Lists the prefix from memory; waits until the cache has caught up to `minRevision` if given. */
  list(options: { prefix?: string; filter?: (object: KubeObject) => boolean; minRevision?: number }): Promise<{ items: KubeObject[]; revision: number }>;
  get(key: string): KubeObject | undefined;
  /**
   * Starts a watch. `sink` receives events in revision order; `onClose` is called once when the watch ends from the
   * cache's side (etcd relist, shutdown). Throws StorageError Compacted when `fromRevision` is older than the ring holds.
   * A sink that returns a promise is congested until it settles (e.g. a socket waiting for 'drain'): events queue for
   * that watcher only, and a watcher whose queue overflows is closed with onClose("overflow").
   */
  watch(options: CacheWatchOptions, sink: (event: CacheEvent) => void | PromiseLike<void>, onClose: (reason: string) => void): CacheWatcher;
  /** The latest revision the cache has applied. */
  readonly revision: number;
  readonly watcherCount: number;
  /** How many objects the cache holds (apiserver_storage_objects). */
  readonly objectCount: number;
  /** Resolves once the cache has applied `revision` (or rejects after a timeout). */
  waitForRevision(revision: number, timeoutMs?: number): Promise<void>;
  readonly ready: boolean;
  stop(): void;
}
