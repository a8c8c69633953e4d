// A recording, in-memory stand-in for the apiserver used by the unit tests of the endpoints, endpointslice,
// nodelifecycle, garbagecollector, namespace and nodeipam controllers (it lives here because those tests may only
// add files inside their own folders; the sibling folders import it from here).
//
// - FakeCluster holds objects per resource and records every client call in `actions`, so tests assert on what a
//   controller actually did (HOUSE-STYLE habit 9).
// - Its client satisfies the RestClient methods the controllers use. Writes behave like kubelab's apiserver where
//   the controllers depend on it: resourceVersion preconditions (PUT, and a metadata.resourceVersion in a patch) →
//   409, generateName, Foreground/Orphan deletes add their finalizer, finalizers keep an object with a
//   deletionTimestamp, removing the last finalizer of such an object removes it, a namespace's first DELETE only
//   marks it Terminating and `namespaces/<n>/finalize` writes spec.finalizers (without removing the namespace),
//   pods bound to a node are deleted gracefully unless gracePeriodSeconds is 0.
// - informer(resource) returns a FakeInformer that reflects every write synchronously, frozen like the real cache;
//   `hold()` stops that for a test of stale caches.
// - failNext(verb, resource, err) makes the next matching call throw.
import { randomUUID } from "node:crypto";
import { alreadyExists, conflict, notFound, StatusError } from "../../../../api/errors.js";
import { parseLabelSelector } from "../../../../api/labels.js";
import { isRecord, objectKey, type KubeList, type KubeObject, type Status } from "../../../../api/meta.js";
import { applyPatch } from "../../../../api/patch/apply.js";
import { apiVersionOf, qualifiedResource, RESOURCES, type ResourceInfo } from "../../../../api/resources.js";
import type { EventRecorder, EventType, ObjectReference } from "../../../../client/event-recorder.js";
import {
  deepFreeze,
  DeletedFinalStateUnknown,
  Indexer,
  type EventHandler,
  type HandlerRegistration,
  type IndexFunc,
  type Informer,
  type Lister,
} from "../../../../client/informer.js";
import {
  formatLabelSelector,
  type DeleteCollectionOptions,
  type DeleteOptions,
  type ListOptions,
  type PatchOptions,
  type PatchType,
  type RawResponse,
  type RequestOptions,
  type RestClient,
  type WriteOptions,
} from "../../../../client/rest.js";
import type { Clock } from "../../../../component-base/clock.js";

export type Verb = "get" | "list" | "create" | "update" | "updateStatus" | "patch" | "delete" | "deleteCollection" | "raw";

export interface RecordedAction {
  verb: Verb;
  /** qualifiedResource: "pods", "replicasets.apps"; for raw, the request path. */
  resource: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  /** The object written, the patch document, or the raw body. */
  body?: unknown;
  patchType?: PatchType;
  deleteOptions?: DeleteOptions;
}

/** The RestClient methods controllers use; FakeCluster.client implements exactly these. */
export type ControllerClient = Pick<RestClient, "get" | "list" | "create" | "update" | "updateStatus" | "patch" | "delete" | "deleteCollection" | "raw">;

const MEDIA: Readonly<Record<PatchType, string>> = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
  apply: "application/apply-patch+yaml",
};

export function resourceOf(group: string, resource: string): ResourceInfo {
  const info = RESOURCES.find((r) => r.group === group && r.resource === resource);
  if (!info) throw new Error(`unknown resource ${resource}.${group}`);
  return info;
}

export class FakeCluster {
  readonly actions: RecordedAction[] = [];
  readonly client: ControllerClient;
  private readonly stores = new Map<string, Map<string, KubeObject>>();
  private readonly informers = new Map<string, FakeInformer<KubeObject>>();
  private readonly faults: { verb: Verb; resource: string; err: unknown }[] = [];
  private rv = 100;
  private seq = 0;

  constructor(private readonly clock: Clock) {
    this.client = this.makeClient();
  }

  /** Stores objects as if created earlier (uid, resourceVersion, creationTimestamp filled); records nothing. */
  seed(...objects: KubeObject[]): KubeObject[] {
    return objects.map((obj) => {
      const info = this.infoOf(obj);
      const copy = structuredClone(obj);
      copy.apiVersion = apiVersionOf(info);
      copy.kind = info.kind;
      copy.metadata.uid ??= randomUUID();
      copy.metadata.creationTimestamp ??= new Date(this.clock.now()).toISOString().replace(/\.\d{3}Z$/, "Z");
      copy.metadata.resourceVersion = String(++this.rv);
      this.put(info, copy);
      return structuredClone(copy);
    });
  }

  /** Replaces a stored object directly (another component's write); records nothing. */
  set(obj: KubeObject): KubeObject {
    const info = this.infoOf(obj);
    const copy = structuredClone(obj);
    copy.metadata.resourceVersion = String(++this.rv);
    this.put(info, copy);
    return structuredClone(copy);
  }

  /** Removes a stored object directly (another component's delete); records nothing. */
  remove(info: ResourceInfo, namespace: string | undefined, name: string): void {
    const key = keyOf(info, namespace, name);
    const old = this.store(info).get(key);
    if (!old) return;
    this.store(info).delete(key);
    this.informers.get(qualifiedResource(info))?.emitDelete(key, old);
  }

  get(info: ResourceInfo, namespace: string | undefined, name: string): KubeObject | undefined {
    const obj = this.store(info).get(keyOf(info, namespace, name));
    return obj ? structuredClone(obj) : undefined;
  }

  /** The stored objects of a resource (optionally one namespace), sorted by key. */
  all<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace?: string): T[] {
    return [...this.store(info).entries()]
      .filter(([, o]) => namespace === undefined || (o.metadata.namespace ?? "") === namespace)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => structuredClone(o) as T);
  }

  informer<T extends KubeObject = KubeObject>(info: ResourceInfo): FakeInformer<T> {
    const q = qualifiedResource(info);
    let informer = this.informers.get(q);
    if (!informer) {
      informer = new FakeInformer<KubeObject>(info);
      for (const [key, obj] of this.store(info)) informer.emitUpsert(key, obj);
      this.informers.set(q, informer);
    }
    return informer as unknown as FakeInformer<T>;
  }

  /** Makes the next `verb` on `resource` (qualified, e.g. "pods") throw `err`. */
  failNext(verb: Verb, resource: string, err: unknown): void {
    this.faults.push({ verb, resource, err });
  }

  /** Recorded actions, optionally filtered by verb and qualified resource; reads (get/list) excluded unless asked. */
  writes(verb?: Verb, resource?: string): RecordedAction[] {
    return this.actions.filter((a) => (verb ? a.verb === verb : a.verb !== "get" && a.verb !== "list") && (resource === undefined || a.resource === resource));
  }

  clearActions(): void {
    this.actions.length = 0;
  }

  private infoOf(obj: KubeObject): ResourceInfo {
    const info = RESOURCES.find((r) => r.kind === obj.kind && (obj.apiVersion === undefined || apiVersionOf(r) === obj.apiVersion) && r.group !== "events.k8s.io");
    if (!info) throw new Error(`unknown kind ${String(obj.apiVersion)}/${String(obj.kind)}`);
    return info;
  }

  private store(info: ResourceInfo): Map<string, KubeObject> {
    const q = qualifiedResource(info);
    let s = this.stores.get(q);
    if (!s) {
      s = new Map();
      this.stores.set(q, s);
    }
    return s;
  }

  private put(info: ResourceInfo, obj: KubeObject): void {
    const key = keyOf(info, obj.metadata.namespace, obj.metadata.name ?? "");
    this.store(info).set(key, obj);
    this.informers.get(qualifiedResource(info))?.emitUpsert(key, obj);
  }

  private record(action: RecordedAction): void {
    this.actions.push(structuredClone(action));
    const i = this.faults.findIndex((f) => f.verb === action.verb && f.resource === action.resource);
    if (i >= 0) {
      const [fault] = this.faults.splice(i, 1);
      throw fault!.err;
    }
  }

  /** RFC 3339 of now (+ offsetMs): a graceful deletion's deletionTimestamp is when its grace period ends. */
  private stamp(offsetMs = 0): string {
    return new Date(this.clock.now() + offsetMs).toISOString().replace(/\.\d{3}Z$/, "Z");
  }

  private current(info: ResourceInfo, namespace: string | undefined, name: string): KubeObject {
    const obj = this.store(info).get(keyOf(info, namespace, name));
    if (!obj) throw notFound(qualifiedResource(info), name);
    return obj;
  }

  /** Stores `next` as an update of `prev`: a deleted object whose last finalizer went away is removed. */
  private write(info: ResourceInfo, prev: KubeObject, next: KubeObject): KubeObject {
    const meta = next.metadata;
    meta.uid = prev.metadata.uid ?? "";
    meta.creationTimestamp = prev.metadata.creationTimestamp ?? "";
    if (prev.metadata.deletionTimestamp !== undefined) meta.deletionTimestamp = prev.metadata.deletionTimestamp;
    if (prev.metadata.deletionGracePeriodSeconds !== undefined) meta.deletionGracePeriodSeconds = prev.metadata.deletionGracePeriodSeconds;
    next.apiVersion = apiVersionOf(info);
    next.kind = info.kind;
    const nsFinalizers = info.resource === "namespaces" ? specFinalizers(next) : [];
    if (meta.deletionTimestamp !== undefined && (meta.finalizers ?? []).length === 0 && nsFinalizers.length === 0 && (prev.metadata.finalizers ?? []).length > 0 && !(meta.deletionGracePeriodSeconds ?? 0)) {
      this.remove(info, prev.metadata.namespace, prev.metadata.name ?? "");
      return structuredClone(next);
    }
    meta.resourceVersion = String(++this.rv);
    this.put(info, next);
    return structuredClone(next);
  }

  private doDelete(info: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions): KubeObject | Status {
    const cur = this.current(info, namespace, name);
    if (opts.preconditions?.uid !== undefined && opts.preconditions.uid !== cur.metadata.uid) throw conflict(qualifiedResource(info), name, "Precondition failed: UID in precondition does not match");
    const finalizers = [...(cur.metadata.finalizers ?? [])];
    if (opts.propagationPolicy === "Foreground" && !finalizers.includes("foregroundDeletion")) finalizers.push("foregroundDeletion");
    if (opts.propagationPolicy === "Orphan" && !finalizers.includes("orphan")) finalizers.push("orphan");
    const isNamespace = info.resource === "namespaces";
    const nodeName = (cur.spec as { nodeName?: string } | undefined)?.nodeName;
    const graceful = info.resource === "pods" && nodeName !== undefined && opts.gracePeriodSeconds !== 0;
    const success: Status = { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 200, details: { name, kind: info.resource, ...(cur.metadata.uid ? { uid: cur.metadata.uid } : {}) } };
    if (cur.metadata.deletionTimestamp !== undefined) {
      if (isNamespace && specFinalizers(cur).length === 0 && finalizers.length === 0) {
        this.remove(info, namespace, name);
        return success;
      }
      if (info.resource === "pods" && opts.gracePeriodSeconds === 0 && finalizers.length === 0) {
        this.remove(info, namespace, name);
        return success;
      }
      return structuredClone(cur);
    }
    if (finalizers.length > 0 || isNamespace || graceful) {
      const next = structuredClone(cur);
      const grace = graceful ? (opts.gracePeriodSeconds ?? 30) : 0;
      next.metadata.deletionTimestamp = this.stamp(grace * 1000);
      next.metadata.deletionGracePeriodSeconds = grace;
      if (finalizers.length > 0) next.metadata.finalizers = finalizers;
      if (isNamespace) next.status = { ...(isRecord(cur.status) ? cur.status : {}), phase: "Terminating" };
      next.metadata.resourceVersion = String(++this.rv);
      this.put(info, next);
      return structuredClone(next);
    }
    this.remove(info, namespace, name);
    return success;
  }

  /** The cluster's state and helpers, bound, for the client's methods (which are not methods of this class). */
  private internals(): {
    record: (action: RecordedAction) => void;
    current: (info: ResourceInfo, namespace: string | undefined, name: string) => KubeObject;
    all: <T extends KubeObject = KubeObject>(info: ResourceInfo, namespace?: string) => T[];
    store: (info: ResourceInfo) => Map<string, KubeObject>;
    put: (info: ResourceInfo, obj: KubeObject) => void;
    write: (info: ResourceInfo, prev: KubeObject, next: KubeObject) => KubeObject;
    doDelete: (info: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions) => KubeObject | Status;
    stamp: (offsetMs?: number) => string;
    nextName: () => string;
    nextRV: () => string;
  } {
    return {
      record: (a) => { this.record(a); },
      current: (info, ns, name) => this.current(info, ns, name),
      all: <T extends KubeObject = KubeObject>(info: ResourceInfo, ns?: string): T[] => this.all<T>(info, ns),
      store: (info) => this.store(info),
      put: (info, obj) => { this.put(info, obj); },
      write: (info, prev, next) => this.write(info, prev, next),
      doDelete: (info, ns, name, opts) => this.doDelete(info, ns, name, opts),
      stamp: (offsetMs) => this.stamp(offsetMs),
      nextName: () => (this.seq++).toString(36).padStart(5, "x"),
      nextRV: () => String(++this.rv),
    };
  }

  private makeClient(): ControllerClient {
    const self = this.internals();
    const client: ControllerClient = {
      get<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, name: string, opts: RequestOptions & { resourceVersion?: string; subresource?: string } = {}): Promise<T> {
        return attempt(() => {
          self.record({ verb: "get", resource: qualifiedResource(info), ...nsOf(info, namespace), name, ...(opts.subresource ? { subresource: opts.subresource } : {}) });
          return structuredClone(self.current(info, namespace, name)) as T;
        });
      },
      list<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, opts: ListOptions = {}): Promise<KubeList<T>> {
        return attempt(() => {
          self.record({ verb: "list", resource: qualifiedResource(info), ...nsOf(info, namespace) });
          const selector = opts.labelSelector === undefined ? undefined : parseLabelSelector(formatLabelSelector(opts.labelSelector));
          const items = self.all<T>(info, info.namespaced ? namespace : undefined).filter((o) => !selector || selector.matches(o.metadata.labels));
          return { apiVersion: apiVersionOf(info), kind: info.listKind, metadata: { resourceVersion: self.nextRV() }, items };
        });
      },
      create<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, obj: T, _opts: WriteOptions = {}): Promise<T> {
        return attempt(() => {
          const ns = info.namespaced ? (namespace ?? obj.metadata.namespace) : undefined;
          self.record({ verb: "create", resource: qualifiedResource(info), ...nsOf(info, ns), ...(obj.metadata.name ? { name: obj.metadata.name } : {}), body: obj });
          const next = structuredClone(obj) as KubeObject;
          const meta = next.metadata;
          if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${self.nextName()}`;
          const name = meta.name ?? "";
          if (ns !== undefined) meta.namespace = ns;
          if (self.store(info).has(keyOf(info, ns, name))) throw alreadyExists(qualifiedResource(info), name);
          meta.uid = randomUUID();
          meta.creationTimestamp = self.stamp();
          meta.resourceVersion = self.nextRV();
          next.apiVersion = apiVersionOf(info);
          next.kind = info.kind;
          self.put(info, next);
          return structuredClone(next) as T;
        });
      },
      update<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, obj: T, _opts: WriteOptions = {}): Promise<T> {
        return attempt(() => {
          const name = obj.metadata.name ?? "";
          self.record({ verb: "update", resource: qualifiedResource(info), ...nsOf(info, namespace ?? obj.metadata.namespace), name, body: obj });
          const cur = self.current(info, namespace ?? obj.metadata.namespace, name);
          if (obj.metadata.resourceVersion !== undefined && obj.metadata.resourceVersion !== cur.metadata.resourceVersion) throw conflict(qualifiedResource(info), name);
          const next = structuredClone(obj) as KubeObject;
          if (cur.status !== undefined && info.subresources.some((s) => s.name === "status")) next.status = structuredClone(cur.status);
          return self.write(info, cur, next) as T;
        });
      },
      updateStatus<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, obj: T, _opts: WriteOptions = {}): Promise<T> {
        return attempt(() => {
          const name = obj.metadata.name ?? "";
          self.record({ verb: "updateStatus", resource: qualifiedResource(info), ...nsOf(info, namespace ?? obj.metadata.namespace), name, subresource: "status", body: obj });
          const cur = self.current(info, namespace ?? obj.metadata.namespace, name);
          if (obj.metadata.resourceVersion !== undefined && obj.metadata.resourceVersion !== cur.metadata.resourceVersion) throw conflict(qualifiedResource(info), name);
          const next = structuredClone(cur);
          next.status = structuredClone(obj.status);
          return self.write(info, cur, next) as T;
        });
      },
      patch<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, name: string, patchType: PatchType, body: unknown, opts: PatchOptions = {}): Promise<T> {
        return attempt(() => {
          self.record({ verb: "patch", resource: qualifiedResource(info), ...nsOf(info, namespace), name, ...(opts.subresource ? { subresource: opts.subresource } : {}), body, patchType });
          const cur = self.current(info, namespace, name);
          const rv = isRecord(body) && isRecord(body.metadata) ? body.metadata.resourceVersion : undefined;
          if (typeof rv === "string" && rv !== cur.metadata.resourceVersion) throw conflict(qualifiedResource(info), name);
          const patched = dropNulls(applyPatch(MEDIA[patchType], cur, body)) as KubeObject;
          let next: KubeObject;
          if (opts.subresource === "status") {
            next = structuredClone(cur);
            next.status = patched.status;
          } else {
            next = patched;
            if (info.subresources.some((s) => s.name === "status")) {
              if (cur.status === undefined) delete next.status;
              else next.status = structuredClone(cur.status);
            }
          }
          return self.write(info, cur, next) as T;
        });
      },
      delete<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<T | Status> {
        return attempt(() => {
          self.record({ verb: "delete", resource: qualifiedResource(info), ...nsOf(info, namespace), name, deleteOptions: stripSignal(opts) });
          return self.doDelete(info, namespace, name, opts) as T | Status;
        });
      },
      deleteCollection<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, opts: DeleteCollectionOptions = {}): Promise<KubeList<T> | Status> {
        return attempt(() => {
          self.record({ verb: "deleteCollection", resource: qualifiedResource(info), ...nsOf(info, namespace), deleteOptions: stripSignal(opts) });
          const items: T[] = [];
          for (const obj of self.all(info, info.namespaced ? namespace : undefined)) {
            const result = self.doDelete(info, obj.metadata.namespace, obj.metadata.name ?? "", opts);
            items.push((result.kind === "Status" ? obj : result) as T);
          }
          return { metadata: {}, items };
        });
      },
      raw(method: string, path: string, body?: unknown): Promise<RawResponse> {
        return attempt(() => {
          self.record({ verb: "raw", resource: `${method.toUpperCase()} ${path}`, body });
          const match = /^\/api\/v1\/namespaces\/([^/]+)\/finalize$/.exec(path);
          if (method.toUpperCase() !== "PUT" || !match) throw new StatusError(404, "NotFound", `the fake has no route for ${method} ${path}`);
          const info = resourceOf("", "namespaces");
          const cur = self.current(info, undefined, decodeURIComponent(match[1]!));
          const next = structuredClone(cur);
          const spec = isRecord(body) && isRecord(body.spec) ? body.spec : {};
          next.spec = { ...(isRecord(cur.spec) ? cur.spec : {}), finalizers: Array.isArray(spec.finalizers) ? (spec.finalizers as unknown[]) : [] };
          return { code: 200, headers: {}, body: self.write(info, cur, next) };
        });
      },
    };
    return client;
  }
}

/** A recorded event. */
export interface RecordedEvent {
  object: ObjectReference;
  type: EventType;
  reason: string;
  message: string;
}

/** An EventRecorder that remembers events instead of writing them. */
export class FakeRecorder implements EventRecorder {
  readonly events: RecordedEvent[] = [];

  event(object: KubeObject | ObjectReference, type: EventType, reason: string, message: string): void {
    const ref: ObjectReference =
      "metadata" in object
        ? { name: object.metadata.name ?? "", ...(object.kind ? { kind: object.kind } : {}), ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}), ...(object.metadata.uid ? { uid: object.metadata.uid } : {}) }
        : { ...object };
    this.events.push({ object: ref, type, reason, message });
  }

  reasons(): string[] {
    return this.events.map((e) => e.reason);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }
}

/** An Informer over FakeCluster's objects: always synced, updated synchronously by the cluster's writes. */
export class FakeInformer<T extends KubeObject> implements Informer<T> {
  private readonly store = new Indexer<T>();
  private readonly handlers: EventHandler<T>[] = [];
  private held = false;
  private readonly pending: (() => void)[] = [];

  constructor(readonly resource: ResourceInfo) {}

  get lister(): Lister<T> {
    return this.store;
  }

  addEventHandler(handler: EventHandler<T>): HandlerRegistration {
    this.handlers.push(handler);
    for (const obj of this.store.list()) handler.onAdd?.(obj, true);
    return {
      remove: () => {
        const i = this.handlers.indexOf(handler);
        if (i >= 0) this.handlers.splice(i, 1);
      },
      hasSynced: () => true,
    };
  }

  addIndexers(fns: Readonly<Record<string, IndexFunc<T>>>): void {
    this.store.addIndexers(fns);
  }

  run(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", () => { resolve(); }, { once: true });
    });
  }

  hasSynced(): boolean {
    return true;
  }

  waitForSync(): Promise<boolean> {
    return Promise.resolve(true);
  }

  lastSyncResourceVersion(): string {
    return "";
  }

  /** Stops applying the cluster's writes (a lagging watch) until release(). */
  hold(): void {
    this.held = true;
  }

  /** Applies the writes held back, in order. */
  release(): void {
    this.held = false;
    for (const apply of this.pending.splice(0)) apply();
  }

  emitUpsert(key: string, raw: KubeObject): void {
    const obj = deepFreeze(structuredClone(raw)) as Readonly<T>;
    this.apply(() => {
      const old = this.store.upsert(key, obj);
      for (const h of [...this.handlers]) {
        if (old) h.onUpdate?.(old, obj);
        else h.onAdd?.(obj, false);
      }
    });
  }

  emitDelete(key: string, raw: KubeObject, tombstone = false): void {
    this.apply(() => {
      const old = this.store.delete(key);
      const obj = deepFreeze(structuredClone(old ?? raw)) as Readonly<T>;
      for (const h of [...this.handlers]) h.onDelete?.(tombstone ? new DeletedFinalStateUnknown<T>(key, obj) : obj);
    });
  }

  private apply(fn: () => void): void {
    if (this.held) this.pending.push(fn);
    else fn();
  }
}

function keyOf(info: ResourceInfo, namespace: string | undefined, name: string): string {
  return objectKey({ name, ...(info.namespaced && namespace ? { namespace } : {}) });
}

function nsOf(info: ResourceInfo, namespace: string | undefined): { namespace?: string } {
  return info.namespaced && namespace !== undefined ? { namespace } : {};
}

function specFinalizers(obj: KubeObject): unknown[] {
  const spec = obj.spec;
  return isRecord(spec) && Array.isArray(spec.finalizers) ? spec.finalizers : [];
}

function stripSignal<O extends RequestOptions>(opts: O): O {
  const { signal: _signal, ...rest } = opts;
  return rest as O;
}

/** Null members removed, as the apiserver stores patched objects. */
function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = dropNulls(v);
  return out;
}

/** Runs `fn` as an async call, so a thrown StatusError becomes a rejection as with the real client. */
function attempt<R>(fn: () => R): Promise<R> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
}

/** Processes what a controller's queue holds (and what processing adds) until it is empty; for sync-loop tests. */
export async function drainQueue(queue: { len(): number; get(): Promise<{ shutdown: false; item: string } | { shutdown: true }>; done(item: string): void }, sync: (key: string) => Promise<unknown>, maxItems = 1000): Promise<string[]> {
  const processed: string[] = [];
  while (queue.len() > 0) {
    if (processed.length >= maxItems) throw new Error(`queue did not drain after ${maxItems} items`);
    const next = await queue.get();
    if (next.shutdown) break;
    processed.push(next.item);
    try {
      await sync(next.item);
    } finally {
      queue.done(next.item);
    }
  }
  return processed;
}
