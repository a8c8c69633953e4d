// The one in-memory object store behind the unit-test fakes (client-go's testing.ObjectTracker): objects per
// resource, a resourceVersion bumped on every write, a bounded event history for watches, and the server rules the
// control plane's code depends on:
//   - create: generateName, AlreadyExists, uid/creationTimestamp/resourceVersion stamped, workloads start at
//     metadata.generation 1 (bumped when spec changes);
//   - update and patch: resourceVersion preconditions (409), the status subresource writes only status and the main
//     resource keeps status, the three patch kinds and apply by api/patch, a namespace's `finalize` writes
//     spec.finalizers;
//   - delete: uid/resourceVersion preconditions, Foreground/Orphan add their finalizer, finalizers keep an object with
//     a deletionTimestamp until the last one is removed, a namespace's first delete only marks it Terminating, a pod
//     bound to a node is deleted gracefully unless gracePeriodSeconds is 0;
//   - list and watch by label and field selector (api/labels, api/fields); a watch from "0" or no resourceVersion
//     starts with a synthetic ADDED per object, one from a resourceVersion replays history (410 Expired when it is
//     too old), and objects entering or leaving the selection arrive as ADDED/DELETED.
// It is not the apiserver: no validation, defaulting, admission or TTLs. FakeClient records calls over it in-process;
// FakeApiserver serves it over HTTP for tests of the wire client.
import { alreadyExists, badRequest, conflict, expired, notFound, StatusError } from "../../api/errors.js";
import { parseFieldSelector, fieldsOf, type FieldSelector } from "../../api/fields.js";
import { parseLabelSelector, selectorFromLabelSelector, type Selector } from "../../api/labels.js";
import { isKubeObject, isRecord, objectKey, type KubeObject, type LabelSelector, type Status, type WatchEventType } from "../../api/meta.js";
import { applyPatch } from "../../api/patch/apply.js";
import { apiVersionOf, findResourceByKind, GROUP_VERSIONS, qualifiedResource, RESOURCES, type ResourceInfo } from "../../api/resources.js";
import { formatTime } from "../../api/time.js";
import { realClock, type Clock } from "../../component-base/clock.js";
import type { DeleteOptions, PatchType } from "../rest.js";

const PATCH_CONTENT_TYPES: Readonly<Record<PatchType, string>> = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
  apply: "application/apply-patch+yaml",
};

/** The patch type a request's Content-Type names; merge for anything else, as a lenient server would. */
export function patchTypeOfContentType(contentType: string): PatchType {
  const bare = (contentType.split(";")[0] ?? "").trim().toLowerCase();
  const found = Object.entries(PATCH_CONTENT_TYPES).find(([, media]) => media === bare);
  return found ? (found[0] as PatchType) : "merge";
}

/** Characters of generated name suffixes (Kubernetes' alphabet without vowels and look-alikes). */
const NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

export interface Selection {
  labelSelector?: string | LabelSelector | undefined;
  fieldSelector?: string | undefined;
}

/** A write, as watches and synchronous informers see it. `previous` is the stored object before the write. */
export interface TrackerEvent {
  rv: number;
  info: ResourceInfo;
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: KubeObject;
  previous: KubeObject | undefined;
}

export interface ObjectTrackerOptions {
  /** Stamps creationTimestamp and deletionTimestamp; default the real clock. */
  clock?: Clock;
  /** How many past events are kept for watches that resume from a resourceVersion (default 1000). */
  historySize?: number;
}

/** What delete did: the object as last stored, and whether it is gone (false: it waits for finalizers or grace). */
export interface DeleteResult {
  object: KubeObject;
  removed: boolean;
}

/** The resource an object belongs to, from its apiVersion and kind. */
export function resourceForObject(obj: KubeObject): ResourceInfo {
  const info = RESOURCES.find((r) => apiVersionOf(r) === obj.apiVersion && r.kind === obj.kind && r.storageResource === undefined) ?? findResourceByKind(obj.apiVersion ?? "", obj.kind ?? "");
  if (!info) throw new Error(`unknown apiVersion/kind ${obj.apiVersion ?? "?"}/${obj.kind ?? "?"}; pass the ResourceInfo`);
  return info;
}

/** A label selector in either form, or undefined for none. */
export function labelSelectorOf(sel: string | LabelSelector | undefined): Selector | undefined {
  if (sel === undefined) return undefined;
  return typeof sel === "string" ? parseLabelSelector(sel) : selectorFromLabelSelector(sel);
}

export class ObjectTracker {
  private readonly stores = new Map<string, Map<string, KubeObject>>();
  private readonly history: TrackerEvent[] = [];
  private readonly listeners = new Set<(event: TrackerEvent) => void>();
  private readonly clock: Clock;
  private readonly historySize: number;
  private rv = 1;
  /** Watches from before this revision get 410 Expired. */
  private compactedRv = 0;
  private nameSeq = 0;
  private uidSeq = 0;

  constructor(opts: ObjectTrackerOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.historySize = opts.historySize ?? 1000;
  }

  /** The latest resourceVersion. */
  resourceVersion(): string {
    return String(this.rv);
  }

  /** The revision below which watches are refused (0 before any compaction). */
  compactedResourceVersion(): number {
    return this.compactedRv;
  }

  /**
   * Creates or replaces `obj` as another party would, without any precondition: uid and creationTimestamp are kept
   * when given (else taken from the replaced object, else new), resourceVersion is always new, a new workload starts
   * at generation 1. The resource comes from
   * apiVersion/kind unless `info` is given.
   */
  add(obj: KubeObject, info: ResourceInfo = resourceForObject(obj)): KubeObject {
    const key = keyOf(info, obj.metadata.namespace, obj.metadata.name ?? "");
    const previous = this.storeOf(info).get(key);
    const next = structuredClone(obj);
    const meta = next.metadata;
    meta.uid ??= previous?.metadata.uid ?? `uid-${++this.uidSeq}`;
    meta.creationTimestamp ??= previous?.metadata.creationTimestamp ?? formatTime(this.clock.now());
    if (!previous && meta.generation === undefined && hasGeneration(info)) meta.generation = 1;
    return this.store(info, this.stamp(info, next), previous);
  }

  /** Deletes without preconditions or finalizers (DELETED to watchers). Returns whether it existed. */
  remove(info: ResourceInfo, namespace: string | undefined, name: string): boolean {
    const current = this.storeOf(info).get(keyOf(info, namespace, name));
    if (!current) return false;
    this.drop(info, current);
    return true;
  }

  /** A copy of the stored object, or undefined. */
  get(info: ResourceInfo, namespace: string | undefined, name: string): KubeObject | undefined {
    const obj = this.storeOf(info).get(keyOf(info, namespace, name));
    return obj ? structuredClone(obj) : undefined;
  }

  /** Copies of the stored objects in `namespace` (all when undefined) that match the selection, sorted by key. */
  list(info: ResourceInfo, namespace?: string, selection: Selection = {}): KubeObject[] {
    const matches = matcher(info, info.namespaced ? namespace : undefined, selection);
    return [...this.storeOf(info).entries()]
      .filter(([, o]) => matches(o))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => structuredClone(o));
  }

  create(info: ResourceInfo, namespace: string | undefined, obj: KubeObject): KubeObject {
    const next = structuredClone(obj);
    const meta = next.metadata;
    if (info.namespaced && namespace !== undefined) meta.namespace = namespace;
    if (!meta.name && meta.generateName) meta.name = `${meta.generateName}${this.nameSuffix()}`;
    if (!meta.name) throw new StatusError(422, "Invalid", `${info.kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
    if (this.storeOf(info).has(keyOf(info, meta.namespace, meta.name))) throw alreadyExists(qualifiedResource(info), meta.name);
    meta.uid = `uid-${++this.uidSeq}`;
    meta.creationTimestamp = formatTime(this.clock.now());
    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    if (meta.generation === undefined && hasGeneration(info)) meta.generation = 1;
    return this.store(info, this.stamp(info, next), undefined);
  }

  /**
   * PUT of `obj`. With subresource "status" only status is written; "finalize" (namespaces) writes only
   * spec.finalizers; without one, status is kept from the stored object for resources that have a status subresource.
   * A metadata.resourceVersion in `obj` must match (409 Conflict otherwise).
   */
  update(info: ResourceInfo, namespace: string | undefined, obj: KubeObject, subresource?: string): KubeObject {
    const name = obj.metadata.name ?? "";
    const current = this.current(info, namespace ?? obj.metadata.namespace, name);
    const rv = obj.metadata.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion) throw conflict(qualifiedResource(info), name);
    let next: KubeObject;
    if (subresource === "status") {
      next = structuredClone(current);
      next.status = structuredClone(obj.status);
    } else if (subresource === "finalize") {
      next = structuredClone(current);
      const spec = isRecord(obj.spec) ? obj.spec : {};
      next.spec = { ...(isRecord(current.spec) ? current.spec : {}), finalizers: Array.isArray(spec.finalizers) ? structuredClone(spec.finalizers) : [] };
    } else if (subresource === undefined) {
      next = structuredClone(obj);
      keepStatus(info, next, current);
    } else throw notFound(qualifiedResource(info), name);
    return this.write(info, current, next);
  }

  /** PATCH by the rules of api/patch. A metadata.resourceVersion in the patch must match. */
  patch(info: ResourceInfo, namespace: string | undefined, name: string, patchType: PatchType, body: unknown, subresource?: string): KubeObject {
    const current = this.current(info, namespace, name);
    const rv = isRecord(body) && isRecord(body.metadata) ? body.metadata.resourceVersion : undefined;
    if (typeof rv === "string" && rv !== "" && rv !== current.metadata.resourceVersion) throw conflict(qualifiedResource(info), name);
    const patched = dropNulls(applyPatch(PATCH_CONTENT_TYPES[patchType], current, body));
    if (!isKubeObject(patched)) throw badRequest("the patch removed metadata");
    patched.metadata.name = name;
    let next: KubeObject;
    if (subresource === "status") {
      next = structuredClone(current);
      next.status = patched.status;
    } else if (subresource === undefined) {
      next = patched;
      keepStatus(info, next, current);
    } else throw notFound(qualifiedResource(info), name);
    return this.write(info, current, next);
  }

  /** The Scale of a workload: spec.replicas (1 when unset) and status.replicas. */
  getScale(info: ResourceInfo, namespace: string | undefined, name: string): KubeObject {
    return scaleOf(this.current(info, namespace, name));
  }

  /** Writes spec.replicas; a resourceVersion in `scale` must match. */
  updateScale(info: ResourceInfo, namespace: string | undefined, name: string, scale: unknown): KubeObject {
    const current = this.current(info, namespace, name);
    const spec = isRecord(scale) && isRecord(scale.spec) ? scale.spec : {};
    if (typeof spec.replicas !== "number") throw badRequest("spec.replicas is required");
    const rv = isRecord(scale) && isRecord(scale.metadata) ? scale.metadata.resourceVersion : undefined;
    if (typeof rv === "string" && rv !== "" && rv !== current.metadata.resourceVersion) throw conflict(qualifiedResource(info), name);
    const next = structuredClone(current);
    next.spec = { ...(isRecord(current.spec) ? current.spec : {}), replicas: spec.replicas };
    return scaleOf(this.write(info, current, next));
  }

  /** pods/binding: sets spec.nodeName of an unbound pod (409 when it is already bound). */
  bind(info: ResourceInfo, namespace: string | undefined, name: string, nodeName: string): KubeObject {
    const pod = this.current(info, namespace, name);
    if (nodeName === "") throw badRequest("binding target name is required");
    const spec = isRecord(pod.spec) ? pod.spec : {};
    if (typeof spec.nodeName === "string" && spec.nodeName !== "") throw conflict(`${qualifiedResource(info)}/binding`, name, `pod ${name} is already assigned to node "${spec.nodeName}"`);
    const next = structuredClone(pod);
    next.spec = { ...spec, nodeName };
    return this.write(info, pod, next);
  }

  delete(info: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions = {}): DeleteResult {
    const qualified = qualifiedResource(info);
    const cur = this.current(info, namespace, name);
    const pre = opts.preconditions ?? {};
    if (pre.uid !== undefined && pre.uid !== cur.metadata.uid) throw conflict(qualified, name, "Precondition failed: UID in precondition does not match the UID in record");
    if (pre.resourceVersion !== undefined && pre.resourceVersion !== cur.metadata.resourceVersion) {
      throw conflict(qualified, name, "Precondition failed: ResourceVersion in precondition does not match the ResourceVersion in record");
    }
    const finalizers = [...(cur.metadata.finalizers ?? [])];
    if (opts.propagationPolicy === "Foreground" && !finalizers.includes("foregroundDeletion")) finalizers.push("foregroundDeletion");
    if (opts.propagationPolicy === "Orphan" && !finalizers.includes("orphan")) finalizers.push("orphan");
    const isNamespace = info.group === "" && info.resource === "namespaces";
    const isPod = info.group === "" && info.resource === "pods";
    const nodeName = isRecord(cur.spec) ? cur.spec.nodeName : undefined;
    const graceful = isPod && typeof nodeName === "string" && nodeName !== "" && opts.gracePeriodSeconds !== 0;
    if (cur.metadata.deletionTimestamp !== undefined) {
      const namespaceDone = isNamespace && specFinalizers(cur).length === 0 && finalizers.length === 0;
      const podForced = isPod && opts.gracePeriodSeconds === 0 && finalizers.length === 0;
      if (namespaceDone || podForced) return { object: this.drop(info, cur), removed: true };
      return { object: structuredClone(cur), removed: false };
    }
    if (finalizers.length > 0 || isNamespace || graceful) {
      const next = structuredClone(cur);
      const grace = graceful ? (opts.gracePeriodSeconds ?? 30) : 0;
      next.metadata.deletionTimestamp = formatTime(this.clock.now() + grace * 1000);
      next.metadata.deletionGracePeriodSeconds = grace;
      if (finalizers.length > 0) next.metadata.finalizers = finalizers;
      if (isNamespace) next.status = { ...(isRecord(cur.status) ? cur.status : {}), phase: "Terminating" };
      return { object: this.store(info, this.stamp(info, next), cur), removed: false };
    }
    return { object: this.drop(info, cur), removed: true };
  }

  /** Deletes every selected object in `namespace` (all when undefined); returns what each delete left. */
  deleteCollection(info: ResourceInfo, namespace: string | undefined, opts: DeleteOptions & Selection = {}): DeleteResult[] {
    return this.list(info, namespace, opts).map((obj) => this.delete(info, obj.metadata.namespace, obj.metadata.name ?? "", opts));
  }

  /** Calls `listener` synchronously after every write, for every resource. Returns the unsubscribe function. */
  subscribe(listener: (event: TrackerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /**
   * Streams the selected objects' events to `send` from `resourceVersion` ("0" or undefined: a synthetic ADDED per
   * current object first). Throws 410 Expired when that revision is older than the kept history. Returns the stop
   * function.
   */
  watch(info: ResourceInfo, namespace: string | undefined, opts: Selection & { resourceVersion?: string | undefined }, send: (type: WatchEventType, object: KubeObject) => void): () => void {
    const matches = matcher(info, info.namespaced ? namespace : undefined, opts);
    const store = storeKey(info);
    const deliver = (ev: TrackerEvent): void => {
      if (storeKey(ev.info) !== store) return;
      const now = matches(ev.object);
      const before = ev.previous !== undefined && matches(ev.previous);
      const copy = (): KubeObject => structuredClone(ev.object);
      if (ev.type === "DELETED") {
        if (before || now) send("DELETED", copy());
      } else if (ev.type === "ADDED") {
        if (now) send("ADDED", copy());
      } else if (now && before) send("MODIFIED", copy());
      else if (now) send("ADDED", copy());
      else if (before) send("DELETED", copy());
    };
    const from = opts.resourceVersion ?? "";
    if (from === "" || from === "0") {
      for (const obj of this.storeOf(info).values()) if (matches(obj)) send("ADDED", structuredClone(obj));
    } else {
      const rv = Number(from);
      const oldest = this.history[0]?.rv ?? this.rv + 1;
      if (!Number.isFinite(rv) || rv < this.compactedRv || (rv < oldest - 1 && rv < this.rv)) {
        throw expired(`too old resource version: ${from} (${this.compactedRv || oldest - 1})`);
      }
      for (const ev of this.history) if (ev.rv > rv) deliver(ev);
    }
    return this.subscribe(deliver);
  }

  /** Forgets event history: watches resuming from before now get 410 Expired, as after an etcd compaction. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history.length = 0;
  }

  // ---- internals --------------------------------------------------------------------------------------------

  private current(info: ResourceInfo, namespace: string | undefined, name: string): KubeObject {
    const obj = this.storeOf(info).get(keyOf(info, namespace, name));
    if (!obj) throw notFound(qualifiedResource(info), name);
    return obj;
  }

  /** Stores `next` as an update of `prev`: server-owned fields are kept, and a deleted object whose last finalizer went away is removed. */
  private write(info: ResourceInfo, prev: KubeObject, next: KubeObject): KubeObject {
    const meta = next.metadata;
    const pm = prev.metadata;
    if (pm.uid !== undefined) meta.uid = pm.uid;
    if (pm.creationTimestamp !== undefined) meta.creationTimestamp = pm.creationTimestamp;
    if (pm.namespace !== undefined) meta.namespace = pm.namespace;
    if (pm.deletionTimestamp !== undefined) meta.deletionTimestamp = pm.deletionTimestamp;
    if (pm.deletionGracePeriodSeconds !== undefined) meta.deletionGracePeriodSeconds = pm.deletionGracePeriodSeconds;
    if (pm.generation !== undefined) meta.generation = JSON.stringify(next.spec ?? null) !== JSON.stringify(prev.spec ?? null) ? pm.generation + 1 : pm.generation;
    const nsFinalizers = info.resource === "namespaces" ? specFinalizers(next) : [];
    if (meta.deletionTimestamp !== undefined && (meta.finalizers ?? []).length === 0 && nsFinalizers.length === 0 && (pm.finalizers ?? []).length > 0 && !(meta.deletionGracePeriodSeconds ?? 0)) {
      this.drop(info, prev);
      return structuredClone(this.stamp(info, next));
    }
    return this.store(info, this.stamp(info, next), prev);
  }

  /** Type meta and a new resourceVersion; cluster-scoped objects lose any namespace. */
  private stamp(info: ResourceInfo, obj: KubeObject): KubeObject {
    obj.apiVersion = apiVersionOf(info);
    obj.kind = info.kind;
    if (!info.namespaced) delete obj.metadata.namespace;
    obj.metadata.resourceVersion = String(++this.rv);
    return obj;
  }

  private store(info: ResourceInfo, obj: KubeObject, previous: KubeObject | undefined): KubeObject {
    this.storeOf(info).set(keyOf(info, obj.metadata.namespace, obj.metadata.name ?? ""), obj);
    this.emit({ rv: this.rv, info, type: previous ? "MODIFIED" : "ADDED", object: structuredClone(obj), previous });
    return structuredClone(obj);
  }

  private drop(info: ResourceInfo, current: KubeObject): KubeObject {
    this.storeOf(info).delete(keyOf(info, current.metadata.namespace, current.metadata.name ?? ""));
    const gone = structuredClone(current);
    gone.metadata.resourceVersion = String(++this.rv);
    this.emit({ rv: this.rv, info, type: "DELETED", object: structuredClone(gone), previous: current });
    return gone;
  }

  private emit(event: TrackerEvent): void {
    this.history.push(event);
    if (this.history.length > this.historySize) this.history.splice(0, this.history.length - this.historySize);
    for (const listener of [...this.listeners]) listener(event);
  }

  private storeOf(info: ResourceInfo): Map<string, KubeObject> {
    const key = storeKey(info);
    let store = this.stores.get(key);
    if (!store) {
      store = new Map();
      this.stores.set(key, store);
    }
    return store;
  }

  private nameSuffix(): string {
    let n = this.nameSeq++;
    let out = "";
    for (let i = 0; i < 5; i++) {
      out = NAME_ALPHABET[n % NAME_ALPHABET.length]! + out;
      n = Math.floor(n / NAME_ALPHABET.length);
    }
    return out;
  }
}

/** events.k8s.io and core events share one store, as in Kubernetes. */
function storeKey(info: ResourceInfo): string {
  return `${info.group === "events.k8s.io" ? "" : info.group}/${info.storageResource ?? info.resource}`;
}

function keyOf(info: ResourceInfo, namespace: string | undefined, name: string): string {
  return objectKey({ name, ...(info.namespaced && namespace ? { namespace } : {}) });
}

function matcher(info: ResourceInfo, namespace: string | undefined, selection: Selection): (obj: KubeObject) => boolean {
  const labels = labelSelectorOf(selection.labelSelector);
  const fields: FieldSelector | undefined = selection.fieldSelector ? parseFieldSelector(selection.fieldSelector) : undefined;
  return (obj) =>
    (namespace === undefined || obj.metadata.namespace === namespace) && (labels === undefined || labels.matches(obj.metadata.labels)) && (fields === undefined || fields.matches(fieldsOf(info.kind, obj)));
}

function hasGeneration(info: ResourceInfo): boolean {
  return info.group === "apps" || (info.group === "" && info.resource === "replicationcontrollers");
}

/** Resources with a status subresource keep their stored status when the main resource is written. */
function keepStatus(info: ResourceInfo, next: KubeObject, current: KubeObject): void {
  if (!info.subresources.some((s) => s.name === "status")) return;
  if (current.status === undefined) delete next.status;
  else next.status = structuredClone(current.status);
}

function specFinalizers(obj: KubeObject): unknown[] {
  return isRecord(obj.spec) && Array.isArray(obj.spec.finalizers) ? obj.spec.finalizers : [];
}

/** Null members removed, as the apiserver stores patched objects. */
function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = dropNulls(v);
  return out;
}

function scaleOf(obj: KubeObject): KubeObject {
  const spec = isRecord(obj.spec) ? obj.spec : {};
  const status = isRecord(obj.status) ? obj.status : {};
  return {
    apiVersion: "autoscaling/v1",
    kind: "Scale",
    metadata: { name: obj.metadata.name ?? "", namespace: obj.metadata.namespace ?? "", resourceVersion: obj.metadata.resourceVersion ?? "", uid: obj.metadata.uid ?? "" },
    spec: { replicas: typeof spec.replicas === "number" ? spec.replicas : 1 },
    status: { replicas: typeof status.replicas === "number" ? status.replicas : 0 },
  };
}

/** A Success Status for an object deleted at once. */
export function deletedStatus(info: ResourceInfo, obj: KubeObject): Status {
  const details: NonNullable<Status["details"]> = { name: obj.metadata.name ?? "", kind: info.resource };
  if (info.group) details.group = info.group;
  if (obj.metadata.uid) details.uid = obj.metadata.uid;
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details, code: 200 };
}

/** What an API path names: /api/v1/namespaces/ns/pods/web/status → pods, "ns", "web", "status". */
export interface ResourceRoute {
  info: ResourceInfo;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

/** The resource route of an API path, or undefined when it names no known resource. */
export function parseResourcePath(pathname: string): ResourceRoute | undefined {
  const parts = pathname.split("/").filter((p) => p !== "").map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === "api" && parts.length >= 2) {
    group = "";
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts.length >= 3) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else return undefined;
  if (!GROUP_VERSIONS.some((gv) => gv.group === group && gv.version === version)) return undefined;
  const find = (resource: string | undefined): ResourceInfo | undefined => RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resource);
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3 && find(rest[2])?.namespaced) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const info = find(rest[0]);
  if (!info || rest.length > 3) return undefined;
  return { info, namespace, name: rest[1], subresource: rest[2] };
}
