// What only the workload controllers share (Kubernetes' pkg/controller/controller_utils.go and
// controller_ref_manager.go): controller references, the index of objects by owner, expectations, claiming
// (adopt/release), and semantic equality. The worker loop and queues are in client/controller-loop.ts, the pod
// predicates in api/pod.ts.
import { isNotFound } from "../../api/errors.js";
import type { Selector } from "../../api/labels.js";
import type { KubeObject, OwnerReference } from "../../api/meta.js";
import type { Informer } from "../../client/informer.js";
import type { Clock } from "../../component-base/clock.js";

// ---------------------------------------------------------------------------------------------------------------
// Controller references

/** The ownerReference with controller: true, if any (metav1.GetControllerOf). */
export function controllerRefOf(obj: Readonly<KubeObject>): Readonly<OwnerReference> | undefined {
  const refs = obj.metadata.ownerReferences;
  if (refs === undefined) return undefined;
  // A plain loop: this runs for every pod event in several controllers and for every pod of every sync.
  for (const r of refs) if (r.controller === true) return r;
  return undefined;
}

/** metav1.NewControllerRef: controller and blockOwnerDeletion set, as every workload controller writes it. */
export function newControllerRef(owner: Readonly<KubeObject>, apiVersion: string, kind: string): OwnerReference {
  return { apiVersion, kind, name: owner.metadata.name ?? "", uid: owner.metadata.uid ?? "", controller: true, blockOwnerDeletion: true };
}

/** A strategic-merge patch adding `ref` (ownerReferences merge on uid); metadata.uid pins the object we mean. */
export function adoptPatch(ref: OwnerReference, uid: string | undefined): Record<string, unknown> {
  return { metadata: { ownerReferences: [ref], ...(uid ? { uid } : {}) } };
}

/** A strategic-merge patch removing the ownerReference whose uid is `ownerUid`. */
export function releasePatch(ownerUid: string, uid: string | undefined): Record<string, unknown> {
  return { metadata: { ownerReferences: [{ $patch: "delete", uid: ownerUid }], ...(uid ? { uid } : {}) } };
}

/**
 * An index of objects by their controller's uid, with orphans under "orphan/<namespace>" (client-go's
 * controllerUIDIndex), so a controller finds its pods and the orphans it may adopt without scanning a namespace.
 */
export const CONTROLLER_UID_INDEX = "kubelab.controllerUID";

export function orphanIndexValue(namespace: string | undefined): string {
  return `orphan/${namespace ?? ""}`;
}

function controllerUidIndexFunc(obj: Readonly<KubeObject>): string[] {
  const ref = controllerRefOf(obj);
  return [ref ? ref.uid : orphanIndexValue(obj.metadata.namespace)];
}

/** Adds an index unless a controller sharing the informer already did (the same name means the same function). */
export function ensureIndex<T extends KubeObject>(informer: Pick<Informer<T>, "addIndexers">, name: string, fn: (obj: Readonly<T>) => readonly string[]): void {
  try {
    informer.addIndexers({ [name]: fn });
  } catch (err) {
    if (!(err instanceof Error && err.message.includes("already exists"))) throw err;
  }
}

const indexed = new WeakSet<object>();

/** Adds CONTROLLER_UID_INDEX to a shared informer once, however many controllers ask. */
export function ensureControllerUidIndex<T extends KubeObject>(informer: Pick<Informer<T>, "addIndexers">): void {
  if (indexed.has(informer)) return;
  try {
    informer.addIndexers({ [CONTROLLER_UID_INDEX]: controllerUidIndexFunc });
  } catch (err) {
    // Someone else (another process-wide helper instance) added the identical index already.
    if (!(err instanceof Error && err.message.includes("already exists"))) throw err;
  }
  indexed.add(informer);
}

// ---------------------------------------------------------------------------------------------------------------
// Expectations

/** After this long unfulfilled expectations are assumed lost (a missed watch event) and the owner syncs anyway. */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60_000;

interface Expectation {
  add: number;
  del: number;
  /** Keys of the pods whose deletion we wait for, so that one deletion is never counted twice. */
  deleteKeys: Set<string>;
  timestamp: number;
}

/**
 * client-go's UIDTrackingControllerExpectations: per owner key, how many creations and which deletions the
 * controller issued and has not yet seen in its informer. Until they are seen (or 5 minutes pass) the owner must not
 * recount its pods, because the cache does not show its own writes yet: a slow watch would otherwise cause double
 * creates or deletes.
 */
export class ControllerExpectations {
  private readonly records = new Map<string, Expectation>();

  constructor(private readonly clock: Clock) {}

  /** True when there is nothing outstanding for `key` (or the record expired): the owner may sync its count. */
  satisfied(key: string): boolean {
    const e = this.records.get(key);
    if (!e) return true;
    if (e.add <= 0 && e.del <= 0) return true;
    return this.clock.now() - e.timestamp > EXPECTATIONS_TIMEOUT_MS;
  }

  expectCreations(key: string, count: number): void {
    this.records.set(key, { add: count, del: 0, deleteKeys: new Set(), timestamp: this.clock.now() });
  }

  expectDeletions(key: string, podKeys: readonly string[]): void {
    this.records.set(key, { add: 0, del: podKeys.length, deleteKeys: new Set(podKeys), timestamp: this.clock.now() });
  }

  /** A pod created by `key` was seen (or its creation failed and will never be seen). */
  creationObserved(key: string): void {
    const e = this.records.get(key);
    if (e) e.add--;
  }

  /** The pod `podKey` of `key` was seen going away (or its deletion failed). Counted once per pod. */
  deletionObserved(key: string, podKey: string): void {
    const e = this.records.get(key);
    if (e?.deleteKeys.delete(podKey)) e.del--;
  }

  delete(key: string): void {
    this.records.delete(key);
  }

  /** The outstanding counts, for tests and logs. */
  get(key: string): { add: number; del: number } | undefined {
    const e = this.records.get(key);
    return e ? { add: e.add, del: e.del } : undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Claiming: adopt matching orphans, release owned objects that stopped matching

export interface ClaimOptions<T extends KubeObject> {
  /** The would-be controller. */
  owner: Readonly<KubeObject>;
  selector: Selector;
  /** Throws if the owner may not adopt (e.g. it is being deleted, checked against a fresh read); called at most once. */
  canAdopt: () => Promise<void>;
  adopt: (obj: Readonly<T>) => Promise<void>;
  release: (obj: Readonly<T>) => Promise<void>;
}

/**
 * Kubernetes' ClaimObject over a list: returns the objects `owner` controls after adopting matching orphans and
 * releasing owned objects that no longer match. Objects another controller owns are ignored. A NotFound while
 * adopting or releasing means the object is gone and is not an error; other failures are thrown after every object
 * was tried, so the caller requeues.
 */
export async function claimObjects<T extends KubeObject>(objects: readonly Readonly<T>[], opts: ClaimOptions<T>): Promise<Readonly<T>[]> {
  const { owner, selector } = opts;
  const ownerDeleting = !!owner.metadata.deletionTimestamp;
  let adoptChecked = false;
  let adoptRefused = false;
  const claimed: Readonly<T>[] = [];
  const errors: unknown[] = [];
  for (const obj of objects) {
    const ref = controllerRefOf(obj);
    const matches = selector.matches(obj.metadata.labels);
    try {
      if (ref) {
        if (ref.uid !== owner.metadata.uid) continue;
        if (matches) {
          claimed.push(obj);
          continue;
        }
        if (ownerDeleting) continue;
        await opts.release(obj);
        continue;
      }
      if (ownerDeleting || !matches || obj.metadata.deletionTimestamp) continue;
      if (owner.metadata.namespace && owner.metadata.namespace !== obj.metadata.namespace) continue;
      if (!adoptChecked) {
        adoptChecked = true;
        try {
          await opts.canAdopt();
        } catch (err) {
          adoptRefused = true;
          throw err;
        }
      }
      if (adoptRefused) continue;
      await opts.adopt(obj);
      claimed.push(obj);
    } catch (err) {
      if (isNotFound(err)) continue;
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `claiming objects for ${owner.metadata.namespace ?? ""}/${owner.metadata.name ?? ""}: ${errors.length} errors`);
  return claimed;
}

/**
 * A canAdopt for claimObjects: reads the owner fresh from the API (not the cache) and refuses if it was replaced by a
 * namesake or started deleting since the cache saw it (Kubernetes' RecheckDeletionTimestamp).
 */
export function recheckOwner(owner: Readonly<KubeObject>, fetchFresh: () => Promise<KubeObject>): () => Promise<void> {
  return async () => {
    const fresh = await fetchFresh();
    const where = `${owner.metadata.namespace ?? ""}/${owner.metadata.name ?? ""}`;
    if (fresh.metadata.uid !== owner.metadata.uid) {
      throw new Error(`original ${where} is gone: got uid ${fresh.metadata.uid ?? ""}, wanted ${owner.metadata.uid ?? ""}`);
    }
    if (fresh.metadata.deletionTimestamp) throw new Error(`${where} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Equality

function isEmptyValue(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === "object") return Object.values(v).every((x) => x === undefined);
  return false;
}

/**
 * apimachinery's semantic DeepEqual for JSON values: an absent field, null, an empty object and an empty list are
 * all "empty" and equal to each other; everything else compares structurally.
 */
export function semanticEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (isEmptyValue(a) && isEmptyValue(b)) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => semanticEqual(x, b[i]));
  }
  if (typeof a === "object" && typeof b === "object" && a !== null && b !== null) {
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    // Every key of either side once, without building their union.
    for (const k of Object.keys(ra)) if (!semanticEqual(ra[k], rb[k])) return false;
    for (const k of Object.keys(rb)) if (!Object.hasOwn(ra, k) && !semanticEqual(ra[k], rb[k])) return false;
    return true;
  }
  return false;
}
