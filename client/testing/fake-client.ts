// The recording fake of the REST client for unit tests (client-go's fake clientset): every call is recorded as an
// action (verb, resource, namespace, name, subresource, the object or patch sent), reactors added with
// prependReactor or failNext can answer or fail any call first, and the rest is served by an ObjectTracker. Its list
// and watch serve the tracker, so the real InformerFactory runs over it; informer(resource) instead returns an
// always-synced FakeInformer that sees every write of the tracker synchronously, for tests that call a controller's
// sync(key) directly.
//
// It is a RestClient (a subclass whose every request method is overridden), so it fits wherever production code
// takes one.
import type { KubeList, KubeObject, Status, WatchEvent } from "../../api/meta.js";
import { apiVersionOf, qualifiedResource, RESOURCES, type ResourceInfo } from "../../api/resources.js";
import { notFound, StatusError, toError } from "../../api/errors.js";
import type { Clock } from "../../component-base/clock.js";
import type { WatchSource } from "../informer.js";
import {
  RestClient,
  type DeleteCollectionOptions,
  type DeleteOptions,
  type ListOptions,
  type PatchOptions,
  type PatchType,
  type RawResponse,
  type RequestOptions,
  type Scale,
  type WatchOptions,
  type WatchStream,
  type WriteOptions,
} from "../rest.js";
import { FakeInformer } from "./fake-informer.js";
import { deletedStatus, ObjectTracker, parseResourcePath } from "./object-tracker.js";

export type FakeVerb = "get" | "list" | "watch" | "create" | "update" | "patch" | "delete" | "deletecollection";

/** One recorded call. `object` is a copy of what was sent (create/update), `patch` the patch body. */
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
  deleteOptions?: DeleteOptions;
}

/** What a reactor decides: answer with an object, fail with an error, or (undefined) let the tracker handle it. */
export type ReactorResult = { object: KubeObject } | { error: unknown };
export type Reactor = (action: FakeAction) => ReactorResult | undefined;

export interface FakeClientOptions {
  /** Objects in the tracker from the start (not recorded as actions). */
  objects?: readonly KubeObject[];
  /** Stamps creation and deletion timestamps; default the real clock. */
  clock?: Clock;
}

type ActionInput = Omit<FakeAction, "resource" | "group"> & { info: ResourceInfo };

const READS: ReadonlySet<FakeVerb> = new Set(["get", "list", "watch"]);

export class FakeClient extends RestClient {
  readonly actions: FakeAction[] = [];
  readonly tracker: ObjectTracker;
  private readonly reactors: { verb: FakeVerb | "*"; resource: string; fn: Reactor }[] = [];
  private readonly informers = new Map<string, FakeInformer<KubeObject>>();

  constructor(opts: FakeClientOptions = {}) {
    super({ server: "http://fake-client.invalid", namespace: "default" }, { qps: 0 });
    this.tracker = new ObjectTracker(opts.clock ? { clock: opts.clock } : {});
    for (const obj of opts.objects ?? []) this.tracker.add(obj);
  }

  // ---- test hooks -------------------------------------------------------------------------------------------

  /**
   * Puts (or replaces) an object in the tracker as another party would, without recording an action; returns the
   * stored copy. The resource is found from apiVersion/kind (the api/testing builders set both).
   */
  seed<T extends KubeObject>(obj: T): T {
    return this.tracker.add(obj) as T;
  }

  /** Deletes from the tracker as another party would (no finalizers), without recording an action. */
  remove(info: ResourceInfo, namespace: string | undefined, name: string): boolean {
    return this.tracker.remove(info, namespace, name);
  }

  /** The tracker's copy of an object, or undefined. */
  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the kind it expects
  object<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, name: string): T | undefined {
    return this.tracker.get(info, namespace, name) as T | undefined;
  }

  /** Every tracked object of `info` (in `namespace` when given), sorted by namespace/name. */
  objects<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace?: string): T[] {
    return this.tracker.list(info, namespace) as T[];
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

  /** Actions that change state (all but get, list and watch). */
  writes(): FakeAction[] {
    return this.actions.filter((a) => !READS.has(a.verb));
  }

  /** Recorded actions with this verb (and resource, and subresource when given; "" means the main resource). */
  actionsFor(verb: FakeVerb, resource?: string, subresource?: string): FakeAction[] {
    return this.actions.filter(
      (a) => a.verb === verb && (resource === undefined || a.resource === resource) && (subresource === undefined || (a.subresource ?? "") === subresource),
    );
  }

  /** The objects sent by create actions for `resource`, in order. */
  created<T extends KubeObject = KubeObject>(resource: string): T[] {
    return this.actionsFor("create", resource, "").map((a) => a.object as T);
  }

  /** Names of objects deleted through `resource`, in order. */
  deleted(resource: string): string[] {
    return this.actionsFor("delete", resource).map((a) => a.name ?? "");
  }

  clearActions(): void {
    this.actions.length = 0;
  }

  /** An always-synced informer over the tracker's objects of `info`, updated synchronously by every write. */
  informer<T extends KubeObject = KubeObject>(info: ResourceInfo): FakeInformer<T> {
    const key = qualifiedResource(info);
    let informer = this.informers.get(key);
    if (!informer) {
      const created = new FakeInformer<KubeObject>(info, this.tracker.list(info));
      this.tracker.subscribe((ev) => {
        if (qualifiedResource(ev.info) === key) created.observe(ev.type, ev.object);
      });
      this.informers.set(key, created);
      informer = created;
    }
    return informer as unknown as FakeInformer<T>;
  }

  // ---- RestClient -----------------------------------------------------------------------------------------

  override get<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, name: string, opts: RequestOptions & { resourceVersion?: string; subresource?: string } = {}): Promise<T> {
    return this.run({ verb: "get", info, namespace, name, subresource: opts.subresource }, () => {
      if (opts.subresource === "scale") return this.tracker.getScale(info, namespace, name) as T;
      const obj = this.tracker.get(info, namespace, name);
      if (!obj) throw notFound(qualifiedResource(info), name);
      return obj as T;
    });
  }

  override list<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, opts: ListOptions = {}): Promise<KubeList<T>> {
    return this.run({ verb: "list", info, namespace, name: undefined, subresource: undefined }, () => ({
      apiVersion: apiVersionOf(info),
      kind: info.listKind,
      metadata: { resourceVersion: this.tracker.resourceVersion() },
      items: this.tracker.list(info, namespace, opts) as T[],
    }));
  }

  override listAll<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, opts: ListOptions = {}): Promise<KubeList<T>> {
    return this.list<T>(info, namespace, opts);
  }

  override create<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, obj: T, _opts: WriteOptions = {}): Promise<T> {
    const ns = info.namespaced ? (namespace ?? obj.metadata.namespace) : undefined;
    const sent = structuredClone(obj);
    if (ns !== undefined) sent.metadata.namespace = ns;
    return this.run({ verb: "create", info, namespace: ns, name: obj.metadata.name, subresource: undefined, object: sent }, () => this.tracker.create(info, ns, sent) as T);
  }

  override update<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, obj: T, _opts: WriteOptions = {}): Promise<T> {
    return this.putObject(info, namespace, obj, undefined);
  }

  override updateStatus<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, obj: T, _opts: WriteOptions = {}): Promise<T> {
    return this.putObject(info, namespace, obj, "status");
  }

  override patch<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, name: string, patchType: PatchType, body: unknown, opts: PatchOptions = {}): Promise<T> {
    return this.run({ verb: "patch", info, namespace, name, subresource: opts.subresource, patchType, patch: structuredClone(body) }, () => this.tracker.patch(info, namespace, name, patchType, body, opts.subresource) as T);
  }

  override delete<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<T | Status> {
    return this.run({ verb: "delete", info, namespace, name, subresource: undefined, deleteOptions: withoutSignal(opts) }, () => {
      const result = this.tracker.delete(info, namespace, name, opts);
      return result.removed ? deletedStatus(info, result.object) : (result.object as T);
    });
  }

  override deleteCollection<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, opts: DeleteCollectionOptions = {}): Promise<KubeList<T> | Status> {
    return this.run({ verb: "deletecollection", info, namespace, name: undefined, subresource: undefined, deleteOptions: withoutSignal(opts) }, () => ({
      metadata: {},
      items: this.tracker.deleteCollection(info, namespace, opts).map((r) => r.object as T),
    }));
  }

  override bind(namespace: string, podName: string, nodeName: string, opts: RequestOptions & { uid?: string } = {}): Promise<void> {
    const binding: KubeObject = {
      apiVersion: "v1",
      kind: "Binding",
      metadata: { name: podName, namespace, ...(opts.uid !== undefined ? { uid: opts.uid } : {}) },
      target: { apiVersion: "v1", kind: "Node", name: nodeName },
    };
    return this.run({ verb: "create", info: PODS, namespace, name: podName, subresource: "binding", object: binding }, () => {
      this.tracker.bind(PODS, namespace, podName, nodeName);
    });
  }

  override getScale(info: ResourceInfo, namespace: string | undefined, name: string, opts: RequestOptions = {}): Promise<Scale> {
    return this.get<Scale>(info, namespace, name, { ...opts, subresource: "scale" });
  }

  override updateScale(info: ResourceInfo, namespace: string | undefined, name: string, scale: Scale, _opts: WriteOptions = {}): Promise<Scale> {
    return this.run({ verb: "update", info, namespace, name, subresource: "scale", object: structuredClone(scale) }, () => this.tracker.updateScale(info, namespace, name, scale) as Scale);
  }

  /** A watch of the tracker from opts.resourceVersion, with its selectors; ends on stop() or opts.signal. */
  override watch<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, opts: WatchOptions = {}): Promise<WatchStream<T>> {
    // The fake stream has WatchStream's whole public surface (iteration, stop, stopped) without its HTTP response.
    return this.run({ verb: "watch", info, namespace, name: undefined, subresource: undefined }, () => this.openWatch<T>(info, namespace, opts) as unknown as WatchStream<T>);
  }

  /** A request by path, recorded as the resource action it names; GET and PUT of objects and their subresources are served. */
  override raw(method: string, path: string, body?: unknown): Promise<RawResponse> {
    const route = parseResourcePath(new URL(path, "http://fake-client.invalid").pathname);
    const upper = method.toUpperCase();
    if (route?.name === undefined || (upper !== "GET" && upper !== "PUT")) return Promise.reject(new StatusError(404, "NotFound", `the fake has no route for ${method} ${path}`));
    const { info, namespace, name, subresource } = route;
    if (upper === "GET") return this.get(info, namespace, name, subresource !== undefined ? { subresource } : {}).then((obj) => ({ code: 200, headers: {}, body: obj }));
    const sent = structuredClone(body) as KubeObject;
    return this.run({ verb: "update", info, namespace, name, subresource, object: sent }, () => ({ code: 200, headers: {}, body: this.tracker.update(info, namespace, { ...sent, metadata: { ...sent.metadata, name } }, subresource) }));
  }

  // ---- internals --------------------------------------------------------------------------------------------

  private putObject<T extends KubeObject>(info: ResourceInfo, namespace: string | undefined, obj: T, subresource: "status" | undefined): Promise<T> {
    const ns = namespace ?? obj.metadata.namespace;
    const sent = structuredClone(obj);
    return this.run({ verb: "update", info, namespace: ns, name: obj.metadata.name, subresource, object: sent }, () => this.tracker.update(info, ns, sent, subresource) as T);
  }

  /** Records the action, consults reactors, then runs the tracker's handler; errors become rejections. */
  private run<R>(input: ActionInput, handle: () => R): Promise<R> {
    const { info, ...rest } = input;
    const action: FakeAction = { ...rest, resource: info.resource, group: info.group };
    if (action.object === undefined) delete action.object;
    this.actions.push(action);
    try {
      const reacted = this.react(action);
      if (reacted) {
        if ("error" in reacted) throw reacted.error;
        return Promise.resolve(structuredClone(reacted.object) as R);
      }
      return Promise.resolve(handle());
    } catch (err) {
      return Promise.reject(toError(err));
    }
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

  private openWatch<T extends KubeObject>(info: ResourceInfo, namespace: string | undefined, opts: WatchOptions): WatchSource<T> & { readonly stopped: boolean } {
    const queue: WatchEvent<T>[] = [];
    let wake: (() => void) | undefined;
    let stopped = false;
    const unsubscribe = this.tracker.watch(info, namespace, opts, (type, object) => {
      queue.push({ type, object: object as T });
      wake?.();
    });
    const stop = (): void => {
      stopped = true;
      unsubscribe();
      wake?.();
    };
    opts.signal?.addEventListener("abort", stop, { once: true });
    return {
      stop,
      get stopped() {
        return stopped;
      },
      async *[Symbol.asyncIterator]() {
        try {
          for (;;) {
            let next = queue.shift();
            while (next !== undefined && !stopped) {
              yield next;
              next = queue.shift();
            }
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

const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;

function withoutSignal<O extends RequestOptions>(opts: O): O {
  const { signal: _signal, ...rest } = opts;
  return rest as O;
}

/** The resource of a kind, e.g. resourceOf("apps", "replicasets"); throws for an unknown one. */
export function resourceOf(group: string, resource: string): ResourceInfo {
  const info = RESOURCES.find((r) => r.group === group && r.resource === resource);
  if (!info) throw new Error(`unknown resource ${resource}.${group}`);
  return info;
}
