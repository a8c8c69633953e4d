// A recording fake of the REST client for controller unit tests (client-go's fake clientset with its object
// tracker): every call is recorded as an action, writes go to an in-memory tracker (names from generateName, uids,
// resourceVersions, 404/409 like the apiserver), reactors can answer or fail any call, and `listWatch` serves list and
// watch from the tracker so a real InformerFactory can run against it.
//
// It is a RestClient (a subclass whose every request method is overridden), so it fits ControllerContext.client.
// It is not the apiserver: no validation, defaulting, finalizers, graceful deletion, field selectors (label
// selectors only) or generation rules beyond "workloads' metadata.generation starts at 1 and grows when spec changes".
import { StatusError, alreadyExists, conflict, notFound } from "../../../api/errors.js";
import { parseLabelSelector, selectorFromLabelSelector, type Selector } from "../../../api/labels.js";
import { objectKey, type KubeList, type KubeObject, type LabelSelector, type Status, type WatchEvent } from "../../../api/meta.js";
import { applyPatch } from "../../../api/patch/apply.js";
import { apiVersionOf, qualifiedResource, RESOURCES, type ResourceInfo } from "../../../api/resources.js";
import type { ListWatchClient, WatchSource } from "../../../client/informer.js";
import {
  RestClient,
  type DeleteCollectionOptions,
  type ListOptions,
  type PatchOptions,
  type PatchType,
  type RawResponse,
  type RequestOptions,
  type Scale,
  type WatchOptions,
  type WatchStream,
} from "../../../client/rest.js";
import { realClock, type Clock } from "../../../component-base/clock.js";

export type FakeVerb = "get" | "list" | "create" | "update" | "patch" | "delete" | "deletecollection" | "watch";

/** One recorded call. `object` is a copy of what was sent (create/update); `patch` the patch body. */
export interface FakeAction {
  verb: FakeVerb;
  /** The plural resource, e.g. "pods", "replicasets". */
  resource: string;
  group: string;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
  object?: KubeObject;
  patchType?: PatchType;
  patch?: unknown;
}

/** What a reactor decides: answer with an object, fail with an error, or (undefined) let the tracker handle it. */
export type ReactorResult = { object: KubeObject } | { error: unknown };
export type Reactor = (action: FakeAction) => ReactorResult | undefined;

export interface FakeClientOptions {
  /** Objects in the tracker from the start (not recorded as actions). */
  objects?: readonly KubeObject[];
  /** Stamps creationTimestamp; default the real clock. */
  clock?: Clock;
}

const PATCH_CONTENT_TYPES: Readonly<Record<PatchType, string>> = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
  apply: "application/apply-patch+yaml",
};

const NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

interface StoredEvent {
  rv: number;
  store: string;
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: KubeObject;
}

interface Subscriber {
  store: string;
  namespace: string | undefined;
  selector: Selector | undefined;
  push: (event: WatchEvent) => void;
}

function storeKey(info: Pick<ResourceInfo, "group" | "resource">): string {
  return `${info.group}/${info.resource}`;
}

function toSelector(sel: string | LabelSelector | undefined): Selector | undefined {
  if (sel === undefined) return undefined;
  return typeof sel === "string" ? parseLabelSelector(sel) : selectorFromLabelSelector(sel);
}

function hasSpecChange(next: KubeObject, prev: KubeObject): boolean {
  return JSON.stringify(next.spec ?? null) !== JSON.stringify(prev.spec ?? null);
}

export class FakeClient extends RestClient {
  readonly actions: FakeAction[] = [];
  private readonly stores = new Map<string, Map<string, KubeObject>>();
  private readonly infos = new Map<string, ResourceInfo>();
  private readonly reactors: { verb: FakeVerb | "*"; resource: string; fn: Reactor }[] = [];
  private readonly history: StoredEvent[] = [];
  private readonly subscribers = new Set<Subscriber>();
  private readonly now: Clock;
  private rv = 1;
  private nameSeq = 0;
  private uidSeq = 0;

  constructor(opts: FakeClientOptions = {}) {
    super({ server: "http://fake-client.invalid", namespace: "default" }, { qps: 0 });
    this.now = opts.clock ?? realClock;
    for (const obj of opts.objects ?? []) this.seed(obj);
  }

  // ---- test hooks -------------------------------------------------------------------------------------------

  /**
   * Puts (or replaces) `obj` in the tracker without recording an action (uid and creationTimestamp are assigned when
   * absent, resourceVersion always). The resource is found from apiVersion/kind, so objects need both (the
   * api/testing builders set them).
   */
  seed(obj: KubeObject, info?: ResourceInfo): KubeObject {
    const resource = info ?? this.infoFor(obj);
    const store = this.storeOf(resource);
    const existed = store.has(objectKey(obj.metadata));
    const stored = this.stamp(resource, structuredClone(obj), undefined);
    store.set(objectKey(stored.metadata), stored);
    this.emit(resource, existed ? "MODIFIED" : "ADDED", stored);
    return structuredClone(stored);
  }

  /**
   * Handles calls matching verb and resource ("*" for any) before the tracker; the newest reactor runs first. Return
   * undefined to pass the call on.
   */
  prependReactor(verb: FakeVerb | "*", resource: string, fn: Reactor): void {
    this.reactors.unshift({ verb, resource, fn });
  }

  /** Makes the next `times` calls matching verb/resource fail with `error`. */
  failNext(verb: FakeVerb | "*", resource: string, error: unknown, times = 1): void {
    let left = times;
    this.prependReactor(verb, resource, () => {
      if (left <= 0) return undefined;
      left--;
      return { error };
    });
  }

  /** Actions that change state (create, update, patch, delete, deletecollection). */
  writes(): FakeAction[] {
    return this.actions.filter((a) => a.verb !== "get" && a.verb !== "list" && a.verb !== "watch");
  }

  /** Recorded actions with this verb (and resource, and subresource when given; "" means the main resource). */
  actionsFor(verb: FakeVerb, resource?: string, subresource?: string): FakeAction[] {
    return this.actions.filter(
      (a) => a.verb === verb && (resource === undefined || a.resource === resource) && (subresource === undefined || (a.subresource ?? "") === subresource),
    );
  }

  /** The objects sent by create actions for `resource`, in order. */
  created<T extends KubeObject = KubeObject>(resource: string): T[] {
    return this.actionsFor("create", resource).map((a) => a.object as T);
  }

  /** Names of objects deleted through `resource`, in order. */
  deleted(resource: string): string[] {
    return this.actionsFor("delete", resource).map((a) => a.name ?? "");
  }

  clearActions(): void {
    this.actions.length = 0;
  }

  /** The tracker's copy of an object, or undefined. */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the kind it expects
  object<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, name: string): T | undefined {
    const obj = this.storeOf(info).get(namespace && info.namespaced ? `${namespace}/${name}` : name);
    return obj ? (structuredClone(obj) as T) : undefined;
  }

  /** Every tracked object of `info` (in `namespace` when given). */
  objects<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace?: string): T[] {
    return [...this.storeOf(info).values()].filter((o) => namespace === undefined || o.metadata.namespace === namespace).map((o) => structuredClone(o) as T);
  }

  /** List and watch served from the tracker, for informers (watches replay tracker events after resourceVersion). */
  readonly listWatch: ListWatchClient = {
    list: <T extends KubeObject>(info: ResourceInfo, namespace: string | undefined, opts: ListOptions) => this.list<T>(info, namespace, opts),
    watch: <T extends KubeObject>(info: ResourceInfo, namespace: string | undefined, opts: WatchOptions) => Promise.resolve(this.openWatch<T>(info, namespace, opts)),
  };

  // ---- RestClient -----------------------------------------------------------------------------------------

  override get<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, name: string, opts: RequestOptions & { resourceVersion?: string; subresource?: string } = {}): Promise<T> {
    return this.run({ verb: "get", info, namespace, name, subresource: opts.subresource }, () => {
      const obj = this.find(info, namespace, name);
      return structuredClone(obj) as T;
    });
  }

  override list<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, opts: ListOptions = {}): Promise<KubeList<T>> {
    const action = this.record({ verb: "list", info, namespace, name: undefined, subresource: undefined });
    const reacted = this.react(action);
    if (reacted && "error" in reacted) return Promise.reject(asError(reacted.error));
    const selector = toSelector(opts.labelSelector);
    const items = [...this.storeOf(info).values()]
      .filter((o) => !info.namespaced || namespace === undefined || o.metadata.namespace === namespace)
      .filter((o) => !selector || selector.matches(o.metadata.labels))
      .map((o) => structuredClone(o) as T);
    return Promise.resolve({ apiVersion: apiVersionOf(info), kind: info.listKind, metadata: { resourceVersion: String(this.rv) }, items });
  }

  override listAll<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, opts: ListOptions = {}): Promise<KubeList<T>> {
    return this.list<T>(info, namespace, opts);
  }

  override create<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, obj: T): Promise<T> {
    const ns = info.namespaced ? (namespace ?? obj.metadata.namespace) : undefined;
    const body = structuredClone(obj);
    if (ns !== undefined) body.metadata.namespace = ns;
    return this.run({ verb: "create", info, namespace: ns, name: obj.metadata.name, subresource: undefined, object: body }, () => {
      const next = structuredClone(body) as KubeObject;
      if (!next.metadata.name) {
        if (!next.metadata.generateName) throw new StatusError(422, "Invalid", "name or generateName is required");
        next.metadata.name = next.metadata.generateName + this.nextSuffix();
      }
      const store = this.storeOf(info);
      const key = objectKey(next.metadata);
      if (store.has(key)) throw alreadyExists(qualifiedResource(info), next.metadata.name);
      const stored = this.stamp(info, next, undefined);
      store.set(key, stored);
      this.emit(info, "ADDED", stored);
      return structuredClone(stored) as T;
    });
  }

  override update<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, obj: T): Promise<T> {
    return this.putObject(info, namespace, obj, undefined);
  }

  override updateStatus<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, obj: T): Promise<T> {
    return this.putObject(info, namespace, obj, "status");
  }

  override patch<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, name: string, patchType: PatchType, body: unknown, opts: PatchOptions = {}): Promise<T> {
    return this.run({ verb: "patch", info, namespace, name, subresource: opts.subresource, patchType, patch: structuredClone(body) }, () => {
      const current = this.find(info, namespace, name);
      const patched = applyPatch(PATCH_CONTENT_TYPES[patchType], structuredClone(current), body) as KubeObject;
      let next: KubeObject;
      if (opts.subresource === "status") {
        next = structuredClone(current);
        next.status = patched.status;
      } else {
        next = patched;
        next.metadata.uid = current.metadata.uid ?? "";
      }
      return this.replace(info, next, current) as T;
    });
  }

  override delete<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, name: string): Promise<T | Status> {
    return this.run({ verb: "delete", info, namespace, name, subresource: undefined }, () => {
      const current = this.find(info, namespace, name);
      this.remove(info, current);
      return successStatus(info, current);
    });
  }

  override deleteCollection<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, opts: DeleteCollectionOptions = {}): Promise<KubeList<T> | Status> {
    return this.run({ verb: "deletecollection", info, namespace, name: undefined, subresource: undefined }, () => {
      const selector = toSelector(opts.labelSelector);
      const items: T[] = [];
      for (const obj of [...this.storeOf(info).values()]) {
        if (info.namespaced && namespace !== undefined && obj.metadata.namespace !== namespace) continue;
        if (selector && !selector.matches(obj.metadata.labels)) continue;
        this.remove(info, obj);
        items.push(structuredClone(obj) as T);
      }
      return { apiVersion: apiVersionOf(info), kind: info.listKind, metadata: {}, items };
    });
  }

  override bind(namespace: string, podName: string, nodeName: string): Promise<void> {
    const pods = [...this.infos.values()].find((i) => i.group === "" && i.resource === "pods");
    return this.run({ verb: "create", info: pods ?? podsInfo(), namespace, name: podName, subresource: "binding" }, () => {
      const info = pods ?? podsInfo();
      const current = this.find(info, namespace, podName);
      const next = structuredClone(current);
      next.spec = { ...(next.spec as Record<string, unknown> | undefined), nodeName };
      this.replace(info, next, current);
    });
  }

  override getScale(info: ResourceInfo, namespace: string | undefined, name: string): Promise<Scale> {
    return this.run({ verb: "get", info, namespace, name, subresource: "scale" }, () => scaleOf(this.find(info, namespace, name)));
  }

  override updateScale(info: ResourceInfo, namespace: string | undefined, name: string, scale: Scale): Promise<Scale> {
    return this.run({ verb: "update", info, namespace, name, subresource: "scale", object: structuredClone(scale) }, () => {
      const current = this.find(info, namespace, name);
      const next = structuredClone(current);
      next.spec = { ...(next.spec as Record<string, unknown> | undefined), replicas: scale.spec?.replicas ?? 0 };
      return scaleOf(this.replace(info, next, current));
    });
  }

  /** Not served: informers use `listWatch`, which returns a plain WatchSource. */
  override watch<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined): Promise<WatchStream<T>> {
    this.record({ verb: "watch", info, namespace, name: undefined, subresource: undefined });
    return Promise.reject(new Error("FakeClient.watch is not supported; give informers fakeClient.listWatch"));
  }

  override raw(method: string, path: string): Promise<RawResponse> {
    return Promise.reject(new Error(`FakeClient.raw(${method} ${path}) is not supported`));
  }

  // ---- internals --------------------------------------------------------------------------------------------

  private putObject<T extends KubeObject>(info: ResourceInfo, namespace: string | undefined, obj: T, subresource: "status" | undefined): Promise<T> {
    const name = obj.metadata.name ?? "";
    const body = structuredClone(obj);
    return this.run({ verb: "update", info, namespace: namespace ?? obj.metadata.namespace, name, subresource, object: body }, () => {
      const current = this.find(info, namespace ?? obj.metadata.namespace, name);
      const sent = structuredClone(body) as KubeObject;
      if (sent.metadata.resourceVersion && sent.metadata.resourceVersion !== current.metadata.resourceVersion) throw conflict(qualifiedResource(info), name);
      let next: KubeObject;
      if (subresource === "status") {
        next = structuredClone(current);
        next.status = sent.status;
      } else {
        next = sent;
        next.status = current.status;
        next.metadata.uid = current.metadata.uid ?? "";
        next.metadata.creationTimestamp = current.metadata.creationTimestamp ?? "";
      }
      return this.replace(info, next, current) as T;
    });
  }

  private replace(info: ResourceInfo, next: KubeObject, current: KubeObject): KubeObject {
    if (current.metadata.generation !== undefined) {
      next.metadata.generation = hasSpecChange(next, current) ? current.metadata.generation + 1 : current.metadata.generation;
    }
    const stored = this.stamp(info, next, current);
    this.storeOf(info).set(objectKey(stored.metadata), stored);
    this.emit(info, "MODIFIED", stored);
    return structuredClone(stored);
  }

  private remove(info: ResourceInfo, current: KubeObject): void {
    this.storeOf(info).delete(objectKey(current.metadata));
    const gone = structuredClone(current);
    gone.metadata.resourceVersion = String(++this.rv);
    this.emit(info, "DELETED", gone);
  }

  private stamp(info: ResourceInfo, obj: KubeObject, previous: KubeObject | undefined): KubeObject {
    obj.apiVersion ??= apiVersionOf(info);
    obj.kind ??= info.kind;
    const meta = obj.metadata;
    if (!previous) {
      meta.uid ??= `uid-${++this.uidSeq}`;
      meta.creationTimestamp ??= new Date(this.now.now()).toISOString().replace(/\.\d{3}Z$/, "Z");
      if (meta.generation === undefined && (info.group === "apps" || info.resource === "replicationcontrollers")) meta.generation = 1;
    }
    meta.resourceVersion = String(++this.rv);
    return obj;
  }

  private find(info: ResourceInfo, namespace: string | undefined, name: string): KubeObject {
    const key = info.namespaced && namespace ? `${namespace}/${name}` : name;
    const obj = this.storeOf(info).get(key);
    if (!obj) throw notFound(qualifiedResource(info), name);
    return obj;
  }

  private storeOf(info: ResourceInfo): Map<string, KubeObject> {
    const key = storeKey(info);
    this.infos.set(key, info);
    let store = this.stores.get(key);
    if (!store) {
      store = new Map();
      this.stores.set(key, store);
    }
    return store;
  }

  private infoFor(obj: KubeObject): ResourceInfo {
    const found = findInfo(obj.apiVersion ?? "", obj.kind ?? "");
    if (!found) throw new Error(`FakeClient.seed: unknown apiVersion/kind ${obj.apiVersion ?? "?"}/${obj.kind ?? "?"}; pass the ResourceInfo`);
    return found;
  }

  private nextSuffix(): string {
    let n = this.nameSeq++;
    let out = "";
    for (let i = 0; i < 5; i++) {
      out = NAME_ALPHABET[n % NAME_ALPHABET.length]! + out;
      n = Math.floor(n / NAME_ALPHABET.length);
    }
    return out;
  }

  private record(a: { verb: FakeVerb; info: ResourceInfo; namespace: string | undefined; name: string | undefined; subresource: string | undefined; object?: KubeObject; patchType?: PatchType; patch?: unknown }): FakeAction {
    const action: FakeAction = { verb: a.verb, resource: a.info.resource, group: a.info.group, namespace: a.namespace, name: a.name, subresource: a.subresource };
    if (a.object !== undefined) action.object = a.object;
    if (a.patchType !== undefined) action.patchType = a.patchType;
    if (a.patch !== undefined) action.patch = a.patch;
    this.actions.push(action);
    return action;
  }

  private react(action: FakeAction): ReactorResult | undefined {
    for (const r of this.reactors) {
      if (r.verb !== "*" && r.verb !== action.verb) continue;
      if (r.resource !== "*" && r.resource !== action.resource) continue;
      const result = r.fn(action);
      if (result) return result;
    }
    return undefined;
  }

  /** Records, consults reactors, then runs the tracker's handler; errors become rejections. */
  private run<R>(a: Parameters<FakeClient["record"]>[0], handle: () => R): Promise<R> {
    const action = this.record(a);
    try {
      const reacted = this.react(action);
      if (reacted) {
        if ("error" in reacted) throw reacted.error;
        return Promise.resolve(structuredClone(reacted.object) as R);
      }
      return Promise.resolve(handle());
    } catch (err) {
      return Promise.reject(asError(err));
    }
  }

  private emit(info: ResourceInfo, type: StoredEvent["type"], object: KubeObject): void {
    const event: StoredEvent = { rv: Number(object.metadata.resourceVersion), store: storeKey(info), type, object: structuredClone(object) };
    this.history.push(event);
    for (const s of this.subscribers) this.deliver(s, event);
  }

  private deliver(s: Subscriber, ev: StoredEvent): void {
    if (s.store !== ev.store) return;
    if (s.namespace !== undefined && ev.object.metadata.namespace !== s.namespace) return;
    if (s.selector && !s.selector.matches(ev.object.metadata.labels)) return;
    s.push({ type: ev.type, object: structuredClone(ev.object) });
  }

  private openWatch<T extends KubeObject>(info: ResourceInfo, namespace: string | undefined, opts: WatchOptions): WatchSource<T> {
    this.record({ verb: "watch", info, namespace, name: undefined, subresource: undefined });
    const queue: WatchEvent[] = [];
    let wake: (() => void) | undefined;
    let stopped = false;
    const subscriber: Subscriber = {
      store: storeKey(info),
      namespace: info.namespaced ? namespace : undefined,
      selector: toSelector(opts.labelSelector),
      push: (event) => {
        queue.push(event);
        wake?.();
      },
    };
    const from = Number(opts.resourceVersion ?? "0") || 0;
    for (const ev of this.history) if (ev.rv > from) this.deliver(subscriber, ev);
    this.subscribers.add(subscriber);
    const stop = (): void => {
      stopped = true;
      this.subscribers.delete(subscriber);
      wake?.();
    };
    opts.signal?.addEventListener("abort", stop, { once: true });
    return {
      stop,
      async *[Symbol.asyncIterator]() {
        try {
          for (;;) {
            while (queue.length > 0 && !stopped) yield queue.shift() as WatchEvent<T>;
            if (stopped) return;
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
            wake = undefined;
          }
        } finally {
          stop();
        }
      },
    };
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function successStatus(info: ResourceInfo, obj: KubeObject): Status {
  const details: NonNullable<Status["details"]> = { name: obj.metadata.name ?? "", kind: info.resource };
  if (info.group) details.group = info.group;
  if (obj.metadata.uid) details.uid = obj.metadata.uid;
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details, code: 200 };
}

function scaleOf(obj: KubeObject): Scale {
  const spec = obj.spec as { replicas?: number } | undefined;
  const status = obj.status as { replicas?: number } | undefined;
  return {
    apiVersion: "autoscaling/v1",
    kind: "Scale",
    metadata: { name: obj.metadata.name ?? "", ...(obj.metadata.namespace ? { namespace: obj.metadata.namespace } : {}) },
    spec: { replicas: spec?.replicas ?? 0 },
    status: { replicas: status?.replicas ?? 0 },
  };
}

function findInfo(apiVersion: string, kind: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind && !r.storageResource);
}

function podsInfo(): ResourceInfo {
  return RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;
}
