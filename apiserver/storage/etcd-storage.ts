// The apiserver's only door to etcd: CRUD as etcd transactions, paginated range reads, TTL leases, raw reservation
// keys for the allocators, and the prefix watch streams that feed the watch caches (watch-cache.ts).
//
// Contract (interfaces.ts): values are JSON without metadata.resourceVersion; every object handed out carries
// resourceVersion = String(etcd mod revision) (for writes: the revision of the write's transaction). Every failure is
// a StorageError; no raw etcd/gRPC error escapes, and no connection error can crash the process (all gRPC streams get
// 'error' listeners). The gRPC client and the wire format are hand-written (etcd-client.ts, etcd-wire.ts): the etcd3
// package cost ~0.15 s of start-up and ~15 MB to load, and a third of the CPU of each call.
import { errorMessage } from "../../api/errors.js";
import { EtcdCallError, EtcdClient, status, type EtcdClientOptions, type EtcdStream } from "./etcd-client.js";
import type { EtcdTls } from "./etcd-tls.js";
import { decodeTxnOutcome, encodeCreateTxn } from "./etcd-fast-txn.js";
import { encodeCreated, rememberCreatedJson, type CreatedJson } from "./created-json.js";
import { PendingWrites, type PendingWrite } from "./pending-writes.js";
import { surelyDifferentStored } from "./stored-difference.js";
import {
  decodeDeleteRangeResponse,
  decodeLeaseGrantResponse,
  decodeRangeResponse,
  decodeTxnResponse,
  decodeWatchResponse,
  encodeDeleteRangeRequest,
  encodeLeaseGrantRequest,
  encodeRangeRequest,
  encodeTxnRequest,
  encodeWatchCreate,
  type Compare,
  type KeyValue,
  type RangeRequest,
  type RangeResponse,
  type TxnRequest,
  type TxnResponse,
  type WatchEvent,
  type WatchResponse,
} from "./etcd-wire.js";
import { isKubeObject, type KubeObject } from "../../api/meta.js";
import {
  StorageError,
  isStorageError,
  type CreateOptions,
  type ListOptions,
  type ListPage,
  type Storage,
  type TryUpdate,
} from "./interfaces.js";

export interface EtcdStorageOptions {
  endpoints: string[];
  /** The key prefix objects live under ("/registry"); only used to name the resource type in metrics. */
  prefix?: string;
  /** How long a watch stream may take to be acknowledged by etcd before it counts as broken. Default 5000. */
  dialTimeoutMs?: number;
  /** Deadline of every unary etcd request, so calls fail instead of hanging while etcd is down. Default 5000. */
  requestTimeoutMs?: number;
  /** Feeds etcd_request_duration_seconds: operation ("get", "list", "create", ...), resource type, duration. */
  observe?: (operation: string, type: string, seconds: number) => void;
  /** Keys per etcd range request when paging (default 500); pages also shrink to stay under `pageBytes`. */
  pageSize?: number;
  /** Target size of one etcd range response (default 2 MiB), well under gRPC's 4 MiB default message limit. */
  pageBytes?: number;
  /** TLS to https:// endpoints (--etcd-cafile, --etcd-certfile, --etcd-keyfile), for every connection this storage opens. */
  tls?: EtcdTls;
}

/** A key/value as read from etcd, for the raw helpers and the watch cache. */
export interface RawEntry {
  key: string;
  value: Buffer;
  createRevision: number;
  modRevision: number;
}

/** One change from a prefix watch, in etcd revision order. `revision` is the change's own revision. */
export interface RawWatchEvent {
  type: "put" | "delete";
  key: string;
  revision: number;
  /** The new value (put only). */
  value?: Buffer;
  /** The previous value when etcd still had it (prev_kv). */
  prevValue?: Buffer;
  /**
   * A put of a value this process wrote from an object (a create or an update): that object stamped with the
   * revision, equal to what decodeLenient(value, revision) gives (pending-writes.ts). Read-only: the write's reply
   * shares its members.
   */
  object?: KubeObject;
}

export interface PrefixWatchHandlers {
  /** etcd acknowledged the watch: the stream is up. */
  onCreated?(): void;
  /** A batch of events (one etcd response, fragments joined). Throwing breaks the stream (onBroken follows). */
  onEvents(events: RawWatchEvent[]): void;
  /** The start revision was compacted; the stream is closed. `compactRevision` is etcd's oldest revision. */
  onCompacted(compactRevision: number): void;
  /** The stream ended or failed (etcd down, restarted, canceled); it is closed. Called at most once, never after cancel(). */
  onBroken(error: StorageError): void;
}

export interface PrefixWatch {
  cancel(): void;
}

export interface ChangeCheck {
  /** True when no key under the prefix changed after `sinceRevision` and the key count equals the expected count. */
  unchanged: boolean;
  /** etcd's revision when the check ran. */
  revision: number;
}

type WatchStream = EtcdStream<WatchResponse>;

const RANGE = "/etcdserverpb.KV/Range";
const TXN = "/etcdserverpb.KV/Txn";
const DELETE_RANGE = "/etcdserverpb.KV/DeleteRange";
const LEASE_GRANT = "/etcdserverpb.Lease/LeaseGrant";
const WATCH = "/etcdserverpb.Watch/Watch";

const DEFAULT_TIMEOUT_MS = 5000;
const HEALTH_TIMEOUT_MS = 1000;
const GUARANTEED_UPDATE_ATTEMPTS = 16;
const CONFLICT_MESSAGE = "the object has been modified; please apply your changes to the latest version and try again";
const CONTINUE_TOO_OLD =
  "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.";

/** Watch streams stay silent for long periods; keepalive pings notice a dead peer (etcd allows pings every 5 s). */
const WATCH_CLIENT_OPTIONS: EtcdClientOptions = { keepaliveMs: 15_000, keepaliveTimeoutMs: 5_000 };

export class EtcdStorage implements Storage {
  private readonly client: EtcdClient;
  private watchClientInstance: EtcdClient | undefined;
  private readonly endpoints: string[];
  private readonly tls: EtcdTls | undefined;
  private readonly prefix: string;
  private readonly dialTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly observeFn: ((operation: string, type: string, seconds: number) => void) | undefined;
  private readonly pageSize: number;
  private readonly pageBytes: number;
  private readonly leases: LeaseManager;
  private readonly openWatches = new Set<PrefixWatch>();
  /** The prefixes of the open watch streams, with how many streams watch each. */
  private readonly watchedPrefixes = new Map<string, number>();
  /** Writes on their way to a watch stream, for the stream to take the object rather than parse its value. */
  private readonly pendingWrites = new PendingWrites();
  /** prefetchList's readings not taken yet, by prefix. */
  private readonly prefetched = new Map<string, Promise<{ entries: RawEntry[]; revision: number }>>();
  private closed = false;
  private streamsOpened = 0;

  constructor(options: EtcdStorageOptions) {
    if (options.endpoints.length === 0) throw new Error("EtcdStorage needs at least one endpoint");
    this.endpoints = [...options.endpoints];
    this.prefix = `${(options.prefix ?? "/registry").replace(/\/+$/, "")}/`;
    this.dialTimeoutMs = options.dialTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.observeFn = options.observe;
    this.pageSize = Math.max(1, options.pageSize ?? 500);
    this.pageBytes = Math.max(1024, options.pageBytes ?? 2 * 1024 * 1024);
    this.tls = options.tls;
    this.client = new EtcdClient(this.endpoints, this.tls ? { tls: this.tls } : {});
    this.leases = new LeaseManager(async (ttl, type) => {
      const res = await this.rpc("grant_lease", type, "", (deadline) => this.client.unary(LEASE_GRANT, encodeLeaseGrantRequest(ttl), decodeLeaseGrantResponse, deadline));
      if (res.error !== "") throw new EtcdCallError(status.UNKNOWN, res.error);
      return res.id;
    });
  }

  /** How many etcd watch streams this storage has opened (one per watch cache, plus one per reconnect). */
  get watchStreamsOpened(): number {
    return this.streamsOpened;
  }

  async get(key: string): Promise<KubeObject | undefined> {
    const kv = await this.getKv("get", key);
    return kv ? decodeStrict(kv.value, kv.modRevision, key) : undefined;
  }

  async list(prefix: string, options: ListOptions = {}): Promise<ListPage> {
    requirePrefix(prefix);
    const type = this.typeOf(prefix);
    let start = prefix;
    let revision = 0;
    if (options.continue !== undefined && options.continue !== "") {
      const token = decodeContinue(options.continue, prefix);
      start = prefix + token.start;
      revision = token.rv;
    }
    const limit = options.limit !== undefined && options.limit > 0 ? Math.floor(options.limit) : undefined;
    const items: KubeObject[] = [];
    let result: ScanResult;
    try {
      result = await this.scan("list", type, Buffer.from(start), prefixEnd(prefix), revision, limit, false, (kv) => {
        items.push(decodeStrict(kv.value, kv.modRevision, kv.key.toString()));
      });
    } catch (err) {
      if (revision > 0 && isStorageError(err, "Compacted")) {
        throw new StorageError("Compacted", prefix, CONTINUE_TOO_OLD, { cause: err });
      }
      throw err;
    }
    const page: ListPage = { items, revision: result.revision };
    if (result.nextKey !== undefined) {
      page.continue = encodeContinue(result.revision, result.nextKey.toString().slice(prefix.length));
      page.remainingItemCount = result.remaining ?? 0;
    }
    return page;
  }

  async create(key: string, object: KubeObject, options: CreateOptions = {}): Promise<KubeObject> {
    const type = this.typeOf(key);
    // A create's object normally has no resourceVersion (the registry removed it): then one serialization serves
    // etcd and the reply (created-json.ts). With one, the plain encoding, and the reply is serialized when sent.
    const created = "resourceVersion" in object.metadata ? undefined : encodeCreated(object);
    const value = created?.value ?? encode(object);
    const ttl = options.ttlSeconds !== undefined && options.ttlSeconds > 0 ? Math.ceil(options.ttlSeconds) : undefined;
    const pending = created === undefined ? undefined : this.recordPending(key, value, object);
    try {
      return await this.createOnce(key, type, object, value, created, ttl);
    } catch (err) {
      if (pending !== undefined) this.pendingWrites.forget(pending);
      throw err;
    }
  }

  private async createOnce(key: string, type: string, object: KubeObject, value: Buffer, created: CreatedJson | undefined, ttl: number | undefined): Promise<KubeObject> {
    for (let attempt = 0; ; attempt++) {
      const lease = ttl === undefined ? undefined : await this.leases.leaseFor(ttl, type);
      try {
        // Lease IDs are 64-bit: a leased create goes through the general codec, which writes them exactly.
        const request =
          lease === undefined
            ? encodeCreateTxn(Buffer.from(key), value)
            : encodeTxnRequest({ compare: [absent(key)], success: [{ put: { key: Buffer.from(key), value, lease } }], failure: [] });
        const res = await this.rpc("create", type, key, (deadline) => this.client.unary(TXN, request, decodeTxnOutcome, deadline));
        if (!res.succeeded) throw new StorageError("KeyExists", key, `key ${key} already exists`);
        // The stored value came from this object: hand back a copy of its top level stamped with the revision
        // rather than parse the value again, with its JSON for the reply.
        const stored = stamped(object, res.revision);
        if (created !== undefined) rememberCreatedJson(stored, created.replyJson(String(res.revision)));
        return stored;
      } catch (err) {
        // A lease can vanish under us (revoked, expired early after a long etcd outage): take a fresh one, once.
        if (ttl !== undefined && attempt === 0 && isLeaseNotFound(err)) {
          this.leases.forget(ttl);
          continue;
        }
        throw err;
      }
    }
  }

  async update(key: string, object: KubeObject, expectedRevision?: number): Promise<KubeObject> {
    // The reply is serialized when sent. Handing the stored bytes along with the returned object, for a reply spliced
    // from them as a create's is, was tried: in alternating A/B runs it made the bindings that follow status writes
    // cost 10-30 % more apiserver CPU (through a WeakMap or a symbol-keyed member alike; the cause was not found).
    const value = encode(object);
    const pending = this.recordPending(key, value, object);
    try {
      return stamped(object, await this.put("update", key, value, expectedRevision));
    } catch (err) {
      if (pending !== undefined) this.pendingWrites.forget(pending);
      throw err;
    }
  }

  /**
   * Read-modify-write, retried on conflicts. `guess` (the watch cache's copy of the object, maybe stale) spares the
   * first read, as Kubernetes' cacher hands its cached object to GuaranteedUpdate: the write is conditional on the
   * guess's revision and a failed compare brings back the current value for the next try; an error from
   * `tryUpdate`, or "nothing to change", computed from a guess is only believed after a try on a fresh read.
   * `tryUpdate` must not change the object it is given.
   */
  async guaranteedUpdate(key: string, tryUpdate: TryUpdate, guess?: KubeObject): Promise<KubeObject> {
    let state = guess === undefined ? undefined : guessedState(guess);
    for (let attempt = 1; ; attempt++) {
      state ??= await this.currentState(key);
      let next: KubeObject | undefined;
      try {
        next = await tryUpdate(state.object);
      } catch (err) {
        if (state.fresh) throw err;
        state = undefined;
        continue;
      }
      // Like Kubernetes: an update that changes nothing is not written, so it bumps no revision and wakes no watcher.
      const value = next === undefined ? undefined : encode(next);
      if (next === undefined || value === undefined || storesSame(value, next, state)) {
        if (!state.fresh) {
          state = undefined;
          continue;
        }
        return decodeStrict((state.value ??= encode(state.object)), state.revision, key);
      }
      // The state's object is the watch cache's (plain JSON, parsed or checked) or parsed from etcd.
      const pending = this.recordPending(key, value, next, state.object);
      let res: TxnResponse;
      try {
        res = await this.txn("update", this.typeOf(key), key, {
          compare: [modRevisionIs(key, state.revision)],
          success: [{ put: { key: Buffer.from(key), value, ignoreLease: true } }],
          failure: [{ range: { key: Buffer.from(key) } }],
        });
      } catch (err) {
        if (pending !== undefined) this.pendingWrites.forget(pending);
        throw err;
      }
      if (res.succeeded) return stamped(next, res.revision);
      if (pending !== undefined) this.pendingWrites.forget(pending);
      const current = res.responses[0]?.range?.kvs[0];
      if (!current) throw new StorageError("KeyNotFound", key, `key ${key} not found`);
      if (attempt >= GUARANTEED_UPDATE_ATTEMPTS) throw new StorageError("Conflict", key, CONFLICT_MESSAGE);
      state = { object: decodeStrict(current.value, current.modRevision, key), value: current.value, revision: current.modRevision, fresh: true };
    }
  }

  /** The key's value as etcd holds it now, decoded; KeyNotFound when absent. */
  private async currentState(key: string): Promise<UpdateState> {
    const kv = await this.getKv("get", key);
    if (!kv) throw new StorageError("KeyNotFound", key, `key ${key} not found`);
    return { object: decodeStrict(kv.value, kv.modRevision, key), value: kv.value, revision: kv.modRevision, fresh: true };
  }

  async delete(key: string, expectedRevision?: number): Promise<KubeObject> {
    const type = this.typeOf(key);
    const res = await this.txn("delete", type, key, {
      compare: [expectedRevision !== undefined && expectedRevision > 0 ? modRevisionIs(key, expectedRevision) : present(key)],
      success: [{ deleteRange: { key: Buffer.from(key), prevKv: true } }],
      failure: [{ range: { key: Buffer.from(key) } }],
    });
    if (!res.succeeded) throw this.compareFailure(key, res);
    const revision = res.revision;
    const prev = res.responses[0]?.deleteRange?.prevKvs[0];
    // The returned object is the last stored state, carrying the deletion's revision like the DELETED watch event.
    const decoded = prev ? decodeLenient(prev.value, revision) : undefined;
    return decoded ?? { metadata: { resourceVersion: String(revision) } };
  }

  async currentRevision(): Promise<number> {
    const res = await this.range("get", "-", { key: Buffer.from("health"), countOnly: true });
    return res.revision;
  }

  async createRaw(key: string, value: string): Promise<boolean> {
    const request = encodeCreateTxn(Buffer.from(key), Buffer.from(value));
    const res = await this.rpc("create", this.typeOf(key), key, (deadline) => this.client.unary(TXN, request, decodeTxnOutcome, deadline));
    return res.succeeded;
  }

  async getRaw(key: string): Promise<string | undefined> {
    const kv = await this.getKv("get", key);
    return kv?.value.toString();
  }

  async deleteRaw(key: string): Promise<void> {
    const request = encodeDeleteRangeRequest({ key: Buffer.from(key) });
    await this.rpc("delete", this.typeOf(key), key, (deadline) => this.client.unary(DELETE_RANGE, request, decodeDeleteRangeResponse, deadline));
  }

  /** Deletes `key` only while it still holds `expectedValue` (an allocator releasing only its own reservation). */
  async deleteRawIf(key: string, expectedValue: string): Promise<boolean> {
    const res = await this.txn("delete", this.typeOf(key), key, {
      compare: [{ key: Buffer.from(key), target: "Value", result: "Equal", value: Buffer.from(expectedValue) }],
      success: [{ deleteRange: { key: Buffer.from(key) } }],
      failure: [],
    });
    return res.succeeded;
  }

  async listRawKeys(prefix: string): Promise<string[]> {
    requirePrefix(prefix);
    const keys: string[] = [];
    await this.scan("list", this.typeOf(prefix), Buffer.from(prefix), prefixEnd(prefix), 0, undefined, true, (kv) => {
      keys.push(kv.key.toString());
    });
    return keys;
  }

  /**
   * Starts reading `prefix` now, for the next listRaw of it (that one only). The apiserver prefetches the prefixes
   * whose caches hold the workload (10k pods: 20 pages, etcd's work) before it loads the rest of its modules, so that
   * etcd reads while this process compiles. The result is a snapshot at its revision, like any list: a cache that
   * watches from there misses nothing, however long the snapshot waited. A failed prefetch is read again.
   */
  prefetchList(prefix: string): void {
    requirePrefix(prefix);
    if (this.prefetched.has(prefix)) return;
    const listing = this.readAll(prefix);
    // Whoever takes it sees the failure (and reads again); until then it must not count as unhandled.
    listing.catch(() => undefined);
    this.prefetched.set(prefix, listing);
  }

  /** Every key/value under `prefix` with its revisions, read page by page at one revision (or prefetched). */
  async listRaw(prefix: string): Promise<{ entries: RawEntry[]; revision: number }> {
    const early = this.prefetched.get(prefix);
    if (early !== undefined) {
      this.prefetched.delete(prefix);
      try {
        return await early;
      } catch {
        // Read again below: the caller's retry policy applies to its own attempt, not to one it never made.
      }
    }
    return this.readAll(prefix);
  }

  private async readAll(prefix: string): Promise<{ entries: RawEntry[]; revision: number }> {
    requirePrefix(prefix);
    const entries: RawEntry[] = [];
    const result = await this.scan("list", this.typeOf(prefix), Buffer.from(prefix), prefixEnd(prefix), 0, undefined, false, (kv) => {
      entries.push({
        key: kv.key.toString(),
        value: kv.value,
        createRevision: kv.createRevision,
        modRevision: kv.modRevision,
      });
    });
    return { entries, revision: result.revision };
  }

  async healthy(): Promise<boolean> {
    if (this.closed) return false;
    try {
      const request = encodeRangeRequest({ key: Buffer.from("health"), countOnly: true });
      await this.client.unary(RANGE, request, decodeRangeResponse, Date.now() + Math.min(HEALTH_TIMEOUT_MS, this.requestTimeoutMs));
      return true;
    } catch {
      return false;
    }
  }

  /**
   * For the watch cache: did anything under `prefix` change after `sinceRevision`? One transaction reads, at etcd's
   * current revision, whether any live key has a newer mod revision and how many keys exist; together they exclude
   * puts (newer mod revision) and deletes (fewer keys) since `sinceRevision`. This is how a cache that saw no events
   * learns that it is current (etcd 3.4's progress notifications may overtake pending events, so they are not used).
   */
  async checkUnchangedSince(prefix: string, sinceRevision: number, expectedCount: number): Promise<ChangeCheck> {
    requirePrefix(prefix);
    const key = Buffer.from(prefix);
    const end = prefixEnd(prefix);
    const res = await this.txn("list", this.typeOf(prefix), prefix, {
      compare: [],
      success: [
        { range: { key, rangeEnd: end, keysOnly: true, limit: 1, minModRevision: sinceRevision + 1 } },
        { range: { key, rangeEnd: end, countOnly: true } },
      ],
      failure: [],
    });
    const changedKeys = res.responses[0]?.range?.kvs.length ?? 1;
    const count = res.responses[1]?.range?.count ?? -1;
    return { unchanged: changedKeys === 0 && count === expectedCount, revision: res.revision };
  }

  /**
   * Opens one etcd watch stream on `prefix` from `startRevision` (inclusive) with prev_kv. The stream is never
   * resumed here: when it breaks, `onBroken` tells the owner, which decides where to resume (watch-cache.ts).
   */
  watchPrefix(prefix: string, startRevision: number, handlers: PrefixWatchHandlers): PrefixWatch {
    requirePrefix(prefix);
    if (this.closed) throw new StorageError("Unavailable", prefix, "etcd storage is closed");
    this.streamsOpened++;
    let done = false;
    let pending: WatchEvent[] = [];
    const opened: { stream?: WatchStream } = {};
    const watch: PrefixWatch = {
      cancel: () => {
        finish(undefined);
      },
    };
    const finish = (then: (() => void) | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(ackTimer);
      this.openWatches.delete(watch);
      this.unwatchPrefix(prefix);
      if (opened.stream) {
        try {
          opened.stream.cancel();
        } catch {
          // already torn down
        }
      }
      then?.();
    };
    const fail = (err: unknown): void => {
      finish(() => {
        handlers.onBroken(toStorageError(err, prefix));
      });
    };
    // Until etcd acknowledges the watch, silence means trouble (a connection that never came up, a lost stream).
    const ackTimer = setTimeout(() => {
      fail(new EtcdCallError(status.DEADLINE_EXCEEDED, `watch on ${prefix} not acknowledged within ${this.dialTimeoutMs} ms`));
    }, this.dialTimeoutMs);
    ackTimer.unref();

    const onData = (res: WatchResponse): void => {
      if (done) return;
      if (res.created) {
        clearTimeout(ackTimer);
        if (!res.canceled) handlers.onCreated?.();
      }
      if (res.canceled) {
        const compactRevision = res.compactRevision;
        if (compactRevision > 0) {
          finish(() => {
            handlers.onCompacted(compactRevision);
          });
        } else {
          fail(new EtcdCallError(status.UNAVAILABLE, `etcd canceled the watch on ${prefix}: ${res.cancelReason || "no reason given"}`));
        }
        return;
      }
      if (res.events.length === 0 && !res.fragment) return; // creation ack or progress notification
      pending.push(...res.events);
      if (res.fragment) return; // a large revision split over several responses: wait for the last part
      const batch = pending;
      pending = [];
      handlers.onEvents(batch.map((event) => this.toRawEvent(event)));
    };

    this.openWatches.add(watch);
    this.watchedPrefixes.set(prefix, (this.watchedPrefixes.get(prefix) ?? 0) + 1);
    let s: WatchStream;
    try {
      s = this.watchClient().stream(WATCH, decodeWatchResponse);
    } catch (err) {
      // Never from inside this call: the owner has not got the handle yet.
      queueMicrotask(() => {
        fail(err);
      });
      return watch;
    }
    opened.stream = s;
    s.on("error", fail);
    s.on("end", () => {
      fail(new EtcdCallError(status.UNAVAILABLE, `etcd closed the watch stream on ${prefix}`));
    });
    s.on("data", (res: WatchResponse) => {
      try {
        onData(res);
      } catch (err) {
        fail(err);
      }
    });
    s.write(encodeWatchCreate({ key: Buffer.from(prefix), rangeEnd: prefixEnd(prefix), startRevision, prevKv: true, fragment: true }));
    return watch;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const watch of [...this.openWatches]) watch.cancel();
    this.client.close();
    this.watchClientInstance?.close();
    await Promise.resolve();
  }

  private unwatchPrefix(prefix: string): void {
    const count = (this.watchedPrefixes.get(prefix) ?? 0) - 1;
    if (count > 0) this.watchedPrefixes.set(prefix, count);
    else this.watchedPrefixes.delete(prefix);
  }

  /**
   * Records a write of `value`, serialized from `object` (built from `plainBase`, plain JSON, when given), for the
   * watch event to take the object (pending-writes.ts); undefined when no watch stream covers the key. Recorded
   * before the write is sent (the event may come before the reply); the caller forgets the entry when the write fails.
   */
  private recordPending(key: string, value: Buffer, object: KubeObject, plainBase?: KubeObject): PendingWrite | undefined {
    return this.isWatched(key) ? this.pendingWrites.record(key, value, object, plainBase) : undefined;
  }

  /** Whether an open watch stream covers `key` (its prefix is one of the key's "/"-ended leading parts). */
  private isWatched(key: string): boolean {
    if (this.watchedPrefixes.size === 0) return false;
    for (let slash = key.indexOf("/"); slash >= 0; slash = key.indexOf("/", slash + 1)) {
      if (this.watchedPrefixes.has(key.slice(0, slash + 1))) return true;
    }
    return false;
  }

  private toRawEvent(event: WatchEvent): RawWatchEvent {
    // prev_kv is absent when etcd no longer has the previous value.
    const prev = event.prevKv;
    const raw: RawWatchEvent = {
      type: event.type === "Delete" ? "delete" : "put",
      key: event.kv.key.toString(),
      revision: event.kv.modRevision,
    };
    if (event.type !== "Delete") {
      raw.value = event.kv.value;
      if (this.pendingWrites.size > 0) {
        const object = this.pendingWrites.take(raw.key, raw.value, raw.revision);
        if (object !== undefined) raw.object = object;
      }
    }
    if (prev) raw.prevValue = prev.value;
    return raw;
  }

  /** Watches get their own channels, with keepalive pings, apart from the unary calls'. */
  private watchClient(): EtcdClient {
    this.watchClientInstance ??= new EtcdClient(this.endpoints, { ...WATCH_CLIENT_OPTIONS, ...(this.tls ? { tls: this.tls } : {}) });
    return this.watchClientInstance;
  }

  private async getKv(operation: string, key: string): Promise<KeyValue | undefined> {
    const res = await this.range(operation, key, { key: Buffer.from(key) });
    return res.kvs[0];
  }

  private range(operation: string, key: string, request: RangeRequest): Promise<RangeResponse> {
    const encoded = encodeRangeRequest(request);
    return this.rpc(operation, this.typeOf(key), key, (deadline) => this.client.unary(RANGE, encoded, decodeRangeResponse, deadline));
  }

  private txn(operation: string, type: string, key: string, request: TxnRequest): Promise<TxnResponse> {
    const encoded = encodeTxnRequest(request);
    return this.rpc(operation, type, key, (deadline) => this.client.unary(TXN, encoded, decodeTxnResponse, deadline));
  }

  /** Compare-and-put keeping the key's lease (an Event keeps its TTL across updates). */
  /** Writes `value` at `key` (which must exist, at `expectedRevision` when given); returns the new revision. */
  private async put(operation: string, key: string, value: Buffer, expectedRevision: number | undefined): Promise<number> {
    const res = await this.txn(operation, this.typeOf(key), key, {
      compare: [expectedRevision !== undefined && expectedRevision > 0 ? modRevisionIs(key, expectedRevision) : present(key)],
      success: [{ put: { key: Buffer.from(key), value, ignoreLease: true } }],
      failure: [{ range: { key: Buffer.from(key), keysOnly: true } }],
    });
    if (!res.succeeded) throw this.compareFailure(key, res);
    return res.revision;
  }

  /** A failed compare: the failure branch read the key, telling "gone" from "changed". */
  private compareFailure(key: string, res: TxnResponse): StorageError {
    const current = res.responses[0]?.range?.kvs[0];
    if (!current) return new StorageError("KeyNotFound", key, `key ${key} not found`);
    return new StorageError("Conflict", key, CONFLICT_MESSAGE);
  }

  /**
   * Reads [start, end) in etcd-sized pages at one revision (0: the current one, fixed by the first page), calling
   * `visit` per key. Pages hold at most `pageSize` keys and shrink to keep a response near `pageBytes`; a response
   * that still exceeds the gRPC limit is retried with half the keys. With `maxItems`, stops after that many keys and
   * reports where to continue.
   */
  private async scan(
    operation: string,
    type: string,
    start: Buffer,
    end: Buffer,
    revision: number,
    maxItems: number | undefined,
    keysOnly: boolean,
    visit: (kv: KeyValue) => void,
  ): Promise<ScanResult> {
    let key = start;
    let rev = revision;
    let taken = 0;
    let pageSize = this.pageSize;
    for (;;) {
      const limit = maxItems === undefined ? pageSize : Math.min(pageSize, maxItems - taken);
      let res: RangeResponse;
      const request = encodeRangeRequest({ key, rangeEnd: end, limit, revision: rev, keysOnly });
      try {
        res = await this.rpc(operation, type, key.toString(), (deadline) => this.client.unary(RANGE, request, decodeRangeResponse, deadline));
      } catch (err) {
        if (limit > 1 && isStorageError(err) && isMessageTooLarge(err.cause)) {
          pageSize = Math.max(1, Math.floor(limit / 2));
          continue;
        }
        throw err;
      }
      if (rev === 0) rev = res.revision;
      let bytes = 0;
      for (const kv of res.kvs) {
        visit(kv);
        bytes += kv.key.length + kv.value.length + 64;
      }
      taken += res.kvs.length;
      if (res.kvs.length > 0) {
        pageSize = Math.max(1, Math.min(this.pageSize, Math.floor(this.pageBytes / (bytes / res.kvs.length))));
      }
      const last = res.kvs[res.kvs.length - 1];
      if (!res.more || !last) return { revision: rev };
      const next = Buffer.concat([last.key, Buffer.from([0])]);
      if (maxItems !== undefined && taken >= maxItems) {
        return { revision: rev, nextKey: next, remaining: Math.max(0, res.count - res.kvs.length) };
      }
      key = next;
    }
  }

  /** Runs one etcd request with the request deadline, records its duration, and maps any failure to StorageError. */
  private async rpc<T>(operation: string, type: string, key: string, call: (deadline: number) => Promise<T>): Promise<T> {
    if (this.closed) throw new StorageError("Unavailable", key, "etcd storage is closed");
    const started = performance.now();
    try {
      return await call(Date.now() + this.requestTimeoutMs);
    } catch (err) {
      throw toStorageError(err, key);
    } finally {
      this.observeFn?.(operation, type, (performance.now() - started) / 1000);
    }
  }

  /** "/registry/pods/default/web" → "pods": the resource segment, for metrics. */
  private typeOf(key: string): string {
    const rest = key.startsWith(this.prefix) ? key.slice(this.prefix.length) : key.replace(/^\/+/, "");
    const segment = rest.split("/")[0];
    return segment === undefined || segment === "" ? "-" : segment;
  }
}

interface ScanResult {
  revision: number;
  nextKey?: Buffer;
  remaining?: number;
}

/**
 * One lease per TTL, shared by every key created with that TTL for a while, like Kubernetes' lease manager: the lease
 * is granted for ttl + reuse seconds and handed out while it still has at least ttl seconds left, so each key lives
 * between ttl and ttl + reuse seconds. reuse is 5% of the TTL, at least 1 s and at most 60 s; a lease also stops
 * being reused after 1000 keys, keeping the cost of its eventual expiry bounded.
 */
class LeaseManager {
  private readonly buckets = new Map<number, Promise<LeaseBucket>>();

  constructor(private readonly grant: (ttlSeconds: number, type: string) => Promise<string>) {}

  async leaseFor(ttlSeconds: number, type: string): Promise<string> {
    const cached = this.buckets.get(ttlSeconds);
    if (cached) {
      const bucket = await cached.catch(() => undefined);
      if (bucket && Date.now() < bucket.reuseUntil && bucket.attached < 1000) {
        bucket.attached++;
        return bucket.id;
      }
      // Another caller may already have replaced the stale bucket while we waited.
      if (this.buckets.get(ttlSeconds) !== cached) return this.leaseFor(ttlSeconds, type);
    }
    const reuseSeconds = Math.min(60, Math.max(1, Math.ceil(ttlSeconds * 0.05)));
    const grantedAt = Date.now();
    const next = this.grant(ttlSeconds + reuseSeconds, type).then((id) => ({
      id,
      reuseUntil: grantedAt + reuseSeconds * 1000,
      attached: 0,
    }));
    this.buckets.set(ttlSeconds, next);
    try {
      const bucket = await next;
      bucket.attached++;
      return bucket.id;
    } catch (err) {
      if (this.buckets.get(ttlSeconds) === next) this.buckets.delete(ttlSeconds);
      throw err;
    }
  }

  forget(ttlSeconds: number): void {
    this.buckets.delete(ttlSeconds);
  }
}

interface LeaseBucket {
  id: string;
  reuseUntil: number;
  attached: number;
}

function requirePrefix(prefix: string): void {
  if (!prefix.endsWith("/")) throw new StorageError("Invalid", prefix, `key prefix ${JSON.stringify(prefix)} must end with "/"`);
}

/** The first key after every key that starts with `prefix` (range_end of a prefix range). */
function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    const byte = end[i]!;
    if (byte < 0xff) {
      end[i] = byte + 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

function absent(key: string): Compare {
  return { key: Buffer.from(key), target: "Create", result: "Equal", createRevision: 0 };
}

function present(key: string): Compare {
  return { key: Buffer.from(key), target: "Create", result: "Greater", createRevision: 0 };
}

function modRevisionIs(key: string, revision: number): Compare {
  return { key: Buffer.from(key), target: "Mod", result: "Equal", modRevision: revision };
}

/** The stored form: the object's JSON without metadata.resourceVersion, which etcd's revision replaces on read. */
export function encode(object: KubeObject): Buffer {
  if (!("resourceVersion" in object.metadata)) return Buffer.from(JSON.stringify(object));
  const metadata = { ...object.metadata };
  delete metadata.resourceVersion;
  return Buffer.from(JSON.stringify({ ...object, metadata }));
}

/** Parses a stored value and stamps resourceVersion; undefined when the value is not a JSON object with metadata. */
export function decodeLenient(value: Buffer, revision: number): KubeObject | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString("utf8"));
  } catch {
    return undefined;
  }
  if (!isKubeObject(parsed)) return undefined;
  parsed.metadata.resourceVersion = String(revision);
  return parsed;
}

/**
 * What a write stored, as its caller gets it back: the written object's top level stamped with the new revision,
 * rather than the value parsed again (the value was encoded from this very object).
 */
function stamped(object: KubeObject, revision: number): KubeObject {
  return { ...object, metadata: { ...object.metadata, resourceVersion: String(revision) } };
}

/** One try of guaranteedUpdate: the object it starts from, its stored bytes (when known) and revision. */
interface UpdateState {
  object: KubeObject;
  value: Buffer | undefined;
  revision: number;
  /** Read from etcd by this update (not a cached guess). */
  fresh: boolean;
}

/**
 * Whether `value`, serialized from `next`, is byte for byte the state's stored value: "nothing changed". A guess comes
 * without its stored bytes; they are made (the guess serialized again) only when a walk of the two objects cannot
 * show that their stored forms differ (it shows it at once for a binding, which adds spec.nodeName).
 */
function storesSame(value: Buffer, next: KubeObject, state: UpdateState): boolean {
  if (state.value === undefined && surelyDifferentStored(next, state.object)) return false;
  state.value ??= encode(state.object);
  return value.equals(state.value);
}

/** A cached object as the first try's state; undefined when it carries no usable revision. */
function guessedState(guess: KubeObject): UpdateState | undefined {
  const revision = Number(guess.metadata.resourceVersion);
  return Number.isSafeInteger(revision) && revision > 0 ? { object: guess, value: undefined, revision, fresh: false } : undefined;
}

function decodeStrict(value: Buffer, revision: number, key: string): KubeObject {
  const object = decodeLenient(value, revision);
  if (!object) throw new StorageError("Invalid", key, `the value stored at ${key} is not a valid object`);
  return object;
}

interface ContinueToken {
  rv: number;
  start: string;
}

/** Kubernetes' shape: base64url of {"v":"meta.k8s.io/v1","rv":<revision>,"start":<key after the prefix>}. */
function encodeContinue(revision: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv: revision, start })).toString("base64url");
}

function decodeContinue(token: string, prefix: string): ContinueToken {
  const invalid = (why: string): StorageError => new StorageError("Invalid", prefix, `continue key is not valid: ${why}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw invalid("not base64-encoded JSON");
  }
  if (typeof parsed !== "object" || parsed === null) throw invalid("not an object");
  const fields = parsed as { v?: unknown; rv?: unknown; start?: unknown };
  if (fields.v !== "meta.k8s.io/v1") throw invalid("server does not recognize this encoded key");
  const { rv, start } = fields;
  if (typeof rv !== "number" || !Number.isSafeInteger(rv) || rv <= 0) throw invalid("incorrect encoded start resourceVersion");
  if (typeof start !== "string" || start === "") throw invalid("encoded start key is empty");
  return { rv, start };
}

function grpcCode(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null || !("code" in err)) return undefined;
  return typeof err.code === "number" ? err.code : undefined;
}

function isMessageTooLarge(err: unknown): boolean {
  if (grpcCode(err) === status.RESOURCE_EXHAUSTED) return true;
  return err instanceof Error && /larger than max|message too large/i.test(err.message);
}

function isLeaseNotFound(err: unknown): boolean {
  return isStorageError(err) && err.cause instanceof Error && err.cause.message.includes("requested lease not found");
}

/** Every etcd/gRPC failure becomes one of the storage codes; anything unrecognised means etcd is not serving us. */
export function toStorageError(err: unknown, key: string): StorageError {
  if (err instanceof StorageError) return err;
  const message = errorMessage(err);
  const options = { cause: err };
  if (message.includes("required revision has been compacted")) {
    return new StorageError("Compacted", key, `the requested revision has been compacted (${message})`, options);
  }
  if (message.includes("required revision is a future revision")) {
    return new StorageError("Timeout", key, `Too large resource version (${message})`, options);
  }
  const code = grpcCode(err);
  if (code === status.DEADLINE_EXCEEDED || /request timed out|deadline exceeded/i.test(message)) {
    return new StorageError("Timeout", key, `etcd request timed out: ${message}`, options);
  }
  if (isMessageTooLarge(err) || message.includes("request is too large")) {
    return new StorageError("Invalid", key, `etcd request or response too large: ${message}`, options);
  }
  return new StorageError("Unavailable", key, `etcd is unavailable: ${message}`, options);
}
