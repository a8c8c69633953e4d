// Generic REST semantics for one resource over etcd storage and its watch cache: create, get, list, watch,
// update, patch, delete, deletecollection, with defaulting, validation, generation, status and deletion rules.
import { randomUUID, randomInt } from "node:crypto";
import { applyCreateDefaults, applyDefaults, applyRestDefaults, applySchemeDefaults } from "../../api/defaults.js";
import { alreadyExists, badRequest, conflict, errorMessage, expired, internalError, invalid, isConflict, isNotFound, notFound, retryOnConflict, serviceUnavailable, StatusError, timeout } from "../../api/errors.js";
import { parseFieldSelector, fieldsOf, validateFieldSelector } from "../../api/fields.js";
import { parseLabelSelector } from "../../api/labels.js";
import type { KubeObject, ObjectMeta, Status } from "../../api/meta.js";
import type { UserInfo } from "../../api/types/index.js";
import { isRecord } from "../../api/meta.js";
import { cloneJson, deepEqual, dropNulls } from "../../api/normalize.js";
import { applyPatch } from "../../api/patch/apply.js";
import { isApplyConflict } from "../../api/managed-fields/managers.js";
import { applyRequest, managedScope, recordUpdate, type ManagedWrite } from "./managed-fields.js";
import { apiVersionOf, qualifiedResource, type ResourceInfo } from "../../api/resources.js";
import { formatTime } from "../../api/time.js";
import { validateObject, validateStatusUpdate, validateUpdate } from "../../api/validation/index.js";
import { canonicalizeQuantities, checkWireTypes } from "../../api/wire-types.js";
import type { CacheEvent, CacheWatcher, Storage, WatchCache } from "../storage/interfaces.js";
import { isStorageError } from "../storage/interfaces.js";
import type { Strategy } from "./strategy.js";

export interface ListParams {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface WatchParams {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: "Background" | "Foreground" | "Orphan";
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
  /** Who deletes, for admission plugins that restrict users (NodeRestriction). */
  user?: UserInfo | undefined;
}

/** What a DELETE did: `result` is the reply body (the object, or a Success Status for kinds that answer with one). */
export interface DeleteOutcome {
  result: KubeObject | Status;
  /** False when the object is still there, marked with a deletionTimestamp (grace period, finalizers). */
  removed: boolean;
}

export interface WriteOptions {
  dryRun?: boolean;
  /** The subresource whose rules the write follows: status writes only status; finalize only spec.finalizers. */
  subresource?: "status" | "finalize";
  /**
   * The field manager recorded in metadata.managedFields (the request's fieldManager, or its User-Agent's
   * product). Absent: a server-internal write, which leaves managedFields as they are.
   */
  fieldManager?: string;
  /** The subresource the write came through when it is not `subresource` (scale), for managedFields. */
  managedSubresource?: string;
  /**
   * Who writes: for admission plugins that restrict users (NodeRestriction) and kinds that record who created them
   * (CertificateSigningRequests); absent for server-internal writes.
   */
  user?: UserInfo | undefined;
}

/** One write as admission sees it with its user: the new object (create, update) and the stored one (update, delete). */
export interface WriteAttributes {
  operation: "CREATE" | "UPDATE" | "DELETE";
  namespace: string | undefined;
  name: string;
  subresource: string;
  object: KubeObject | undefined;
  oldObject: KubeObject | undefined;
  user: UserInfo | undefined;
  dryRun: boolean;
}

/**
 * A main-resource create or update as the kind's own guard sees it, before validation: Kubernetes' RBAC storage
 * checks privilege escalation at this point (after mutating admission, before the strategy and validation).
 */
export interface GuardedWrite {
  operation: "CREATE" | "UPDATE";
  namespace: string | undefined;
  /** The object's name as sent (empty for a generateName create). */
  name: string;
  /** The name in the request's URL, as Kubernetes' RequestInfo has it: empty for a POST to the collection. */
  requestName: string;
  object: KubeObject;
  /** The stored object, for an update. */
  oldObject: KubeObject | undefined;
  user: UserInfo | undefined;
}

/** Hooks the registry plugs in for kinds with side effects (service IP/port allocation, admission). */
export interface StoreHooks {
  /** Runs before a create is written; returns an undo for when the write fails. */
  beforeCreate?(object: KubeObject, dryRun: boolean): Promise<(() => Promise<void>) | undefined>;
  /** Runs before an update is written; returns commit (after success) and undo (after failure). */
  beforeUpdate?(next: KubeObject, prev: KubeObject, dryRun: boolean): Promise<{ commit(): Promise<void>; undo(): Promise<void> } | undefined>;
  /** Runs after an object is gone from etcd. */
  afterDelete?(object: KubeObject): Promise<void>;
  /**
   * Refuses a DELETE of one object by its name before anything is read (the system PriorityClasses). As in
   * Kubernetes, a deletecollection does not ask.
   */
  admitDelete?(name: string): void;
  /** Admission for creates: may mutate (defaults) or throw a StatusError. */
  admitCreate?(object: KubeObject, dryRun: boolean): Promise<void>;
  /** Validating admission of creates, updates and deletes that knows the user; may only refuse (throw a StatusError). */
  admitWrite?(attributes: WriteAttributes): Promise<void>;
  /** Validating admission for creates, after validation: may throw, or charge (a quota) and return the undo for a failed write. */
  validateCreate?(object: KubeObject, dryRun: boolean): Promise<(() => Promise<void>) | undefined>;
  /** The kind's own check of a main-resource write by a user, before validation; may only refuse (RBAC's escalation check). */
  guardWrite?(write: GuardedWrite): Promise<void>;
}

export interface StoreDeps {
  info: ResourceInfo;
  storage: Storage;
  cache: WatchCache;
  /** etcd key prefix, e.g. "/registry". */
  prefix: string;
  strategy: Strategy;
  hooks?: StoreHooks | undefined;
  /** Checks that a namespace exists and is not terminating; throws the Status error otherwise. */
  checkNamespace?: (namespace: string, qualified: string, name: string) => Promise<void>;
  now?: () => Date;
}

const GENERATE_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/**
 * How many times a server-side read-modify-write (an update or patch without a resourceVersion precondition) runs
 * before a conflict reaches the client. Kubernetes' GuaranteedUpdate retries until it wins, since every round has a
 * winner; 64 clients patching one object at once made a bound of 9 answer 409s the real apiserver never gives. The
 * bound only keeps a bug from spinning for ever.
 */
export const CONFLICT_ATTEMPTS = 1000;

export class ResourceStore {
  readonly info: ResourceInfo;
  readonly qualified: string;
  private readonly deps: StoreDeps;
  private readonly now: () => Date;

  constructor(deps: StoreDeps) {
    this.deps = deps;
    this.info = deps.info;
    this.qualified = qualifiedResource(deps.info);
    this.now = deps.now ?? (() => new Date());
  }

  get strategy(): Strategy {
    return this.deps.strategy;
  }

  get cache(): WatchCache {
    return this.deps.cache;
  }

  /** `/registry/pods/` or `/registry/pods/default/`. */
  prefixFor(namespace?: string): string {
    const segment = this.info.storageResource ?? this.info.resource;
    return namespace && this.info.namespaced ? `${this.deps.prefix}/${segment}/${namespace}/` : `${this.deps.prefix}/${segment}/`;
  }

  keyFor(namespace: string | undefined, name: string): string {
    return `${this.prefixFor(namespace)}${name}`;
  }

  async get(namespace: string | undefined, name: string): Promise<KubeObject> {
    const object = await this.storageCall(name, () => this.deps.storage.get(this.keyFor(namespace, name)));
    if (!object) throw notFound(this.qualified, name);
    return this.withTypeMeta(object);
  }

  /**
   * A written object without null members, except inside a ControllerRevision's data: a runtime.RawExtension, kept
   * as sent as Kubernetes keeps its bytes. The real controllers compare a revision's data byte for byte with the
   * patch they compute (`"creationTimestamp":null` in the template's metadata included); without it they take
   * every revision for a hash collision and make new ones forever.
   */
  private normalize(body: KubeObject): KubeObject {
    const out = dropNulls(body);
    if (this.info.resource === "controllerrevisions" && body.data !== undefined) out.data = cloneJson(body.data);
    return out;
  }

  async create(namespace: string | undefined, body: KubeObject, options: WriteOptions = {}): Promise<KubeObject> {
    return this.createObject(namespace, body, options, undefined, "");
  }

  /** create, with the managedFields of a create by apply (`applied`) or else of an Update by the writer. */
  private async createObject(namespace: string | undefined, body: KubeObject, options: WriteOptions, applied: ManagedWrite["entries"] | undefined, requestName: string): Promise<KubeObject> {
    const object = this.normalize(body);
    const sentManagedFields = object.metadata.managedFields;
    this.decodeTyped(object);
    const meta = object.metadata;
    this.resolveNamespace(meta, namespace);
    const sentName = meta.name ?? "";
    if (!meta.name && meta.generateName) meta.name = meta.generateName + randomSuffix();
    const name = meta.name ?? "";
    if (this.info.namespaced && meta.namespace) await this.deps.checkNamespace?.(meta.namespace, this.qualified, name);
    const hooks = this.deps.hooks;
    // Hooks a kind does not have are passed over without an await (each one costs a turn of the microtask queue).
    if (options.subresource === undefined && hooks?.guardWrite !== undefined) {
      await hooks.guardWrite({ operation: "CREATE", namespace: meta.namespace, name: sentName, requestName, object, oldObject: undefined, user: options.user });
    }

    delete meta.resourceVersion;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.managedFields;
    meta.uid = randomUUID();
    meta.creationTimestamp = formatTime(this.now().getTime());
    if (this.strategy.tracksGeneration) meta.generation = 1;
    else delete meta.generation;
    if (this.strategy.statusSubresource && !this.strategy.statusOnCreate) this.clearStatus(object);
    object.apiVersion = apiVersionOf(this.info);
    object.kind = this.info.kind;

    // The writer owns what it sent and what the scheme defaulted; fields filled later (the REST layer's, the
    // strategy's, admission's: a namespace's finalizer, a pod's priority) are nobody's, as upstream.
    applySchemeDefaults(this.info, object);
    if (applied === undefined) recordUpdate(this.managedWrite(options), undefined, object, sentManagedFields);
    applyRestDefaults(this.info, object);
    applyCreateDefaults(this.info, object);
    this.strategy.prepareForCreate?.(object, { user: options.user });
    if (applied !== undefined && applied.length > 0) meta.managedFields = applied;
    if (hooks?.admitCreate !== undefined) await hooks.admitCreate(object, options.dryRun ?? false);
    this.throwIfInvalid(object, validateObject(this.info, object));
    // A dry run answers what the real create would: AlreadyExists for a name that is taken.
    if (options.dryRun && (await this.storageCall(name, () => this.deps.storage.get(this.keyFor(meta.namespace, name))))) {
      throw alreadyExists(this.qualified, name);
    }
    if (hooks?.admitWrite !== undefined) {
      await hooks.admitWrite({ operation: "CREATE", namespace: meta.namespace, name, subresource: "", object, oldObject: undefined, user: options.user, dryRun: options.dryRun ?? false });
    }
    const uncharge = hooks?.validateCreate === undefined ? undefined : await hooks.validateCreate(object, options.dryRun ?? false);

    let undo: (() => Promise<void>) | undefined;
    try {
      if (hooks?.beforeCreate !== undefined) undo = await hooks.beforeCreate(object, options.dryRun ?? false);
    } catch (err) {
      await uncharge?.();
      throw err;
    }
    if (options.dryRun) {
      await undo?.();
      return object;
    }
    try {
      const ttl = this.strategy.ttlSeconds;
      const created = await this.storageCall(name, () => this.deps.storage.create(this.keyFor(meta.namespace, name), object, ttl ? { ttlSeconds: ttl } : {}));
      return this.withTypeMeta(created);
    } catch (err) {
      await undo?.();
      await uncharge?.();
      throw err;
    }
  }

  async list(namespace: string | undefined, params: ListParams): Promise<{ items: KubeObject[]; resourceVersion: string; continue?: string; remainingItemCount?: number }> {
    const filter = this.filterFor(params.labelSelector, params.fieldSelector);
    const prefix = this.prefixFor(namespace);
    const rv = params.resourceVersion;
    if ((params.limit !== undefined && params.limit > 0 && rv !== "0") || params.continue) {
      // Paginated lists read etcd at a fixed revision, so every page is consistent with the first.
      const page = await this.storageCall("", () => this.deps.storage.list(prefix, optionalPage(params.limit, params.continue)));
      const result: { items: KubeObject[]; resourceVersion: string; continue?: string; remainingItemCount?: number } = {
        items: page.items.filter(filter).map((o) => this.withTypeMeta(o)),
        resourceVersion: String(page.revision),
      };
      if (page.continue) result.continue = page.continue;
      if (page.remainingItemCount !== undefined && !params.labelSelector && !params.fieldSelector) result.remainingItemCount = page.remainingItemCount;
      return result;
    }
    // rv "0": whatever the cache holds; rv N: at least N; unset: a consistent read, served from the cache once
    // it has caught up with etcd's current revision.
    let minRevision: number | undefined;
    if (rv === undefined || rv === "") minRevision = await this.storageCall("", () => this.deps.storage.currentRevision());
    else if (rv !== "0") minRevision = parseResourceVersion(rv);
    const listed = await this.storageCall("", () => this.deps.cache.list(minRevision === undefined ? { prefix, filter } : { prefix, filter, minRevision }));
    return { items: listed.items.map((o) => this.withTypeMeta(o)), resourceVersion: String(listed.revision) };
  }

  /** Starts a watch; `send` gets Kubernetes watch events, `onClose` is called when the cache ends it. */
  /**
   * `send` may return a promise while the client is not keeping up (its socket over the high-water mark): the
   * cache then queues this watcher's events until it settles, and closes the watch ("overflow") when the queue fills.
   */
  watch(namespace: string | undefined, params: WatchParams, send: (type: CacheEvent["type"], object: KubeObject) => void | PromiseLike<void>, onClose: (reason: string) => void): CacheWatcher {
    const filter = this.filterFor(params.labelSelector, params.fieldSelector);
    const rv = params.resourceVersion;
    const fromRevision = rv === undefined || rv === "" || rv === "0" ? 0 : parseResourceVersion(rv);
    try {
      return this.deps.cache.watch(
        { fromRevision, prefix: this.prefixFor(namespace), filter, bookmarks: params.allowWatchBookmarks ?? false },
        (event) => {
          if (event.type === "BOOKMARK") {
            return send("BOOKMARK", { apiVersion: apiVersionOf(this.info), kind: this.info.kind, metadata: { resourceVersion: event.object.metadata.resourceVersion ?? String(event.revision) } });
          }
          return send(event.type, this.withTypeMeta(event.object));
        },
        onClose,
      );
    } catch (err) {
      if (isStorageError(err, "Compacted")) throw expired(err.message);
      if (isStorageError(err, "Unavailable") || isStorageError(err, "Timeout")) {
        // The cache is (re)initializing: Kubernetes asks the client to come back shortly.
        throw new StatusError(429, "TooManyRequests", `storage is (re)initializing: ${err.message}`, { retryAfterSeconds: 1 });
      }
      throw err;
    }
  }

  async update(namespace: string | undefined, name: string, body: KubeObject, options: WriteOptions = {}): Promise<{ object: KubeObject; created: boolean }> {
    const next = this.normalize(body);
    this.decodeTyped(next);
    if (next.metadata.name !== undefined && next.metadata.name !== name) {
      throw badRequest(`the name of the object (${next.metadata.name}) does not match the name on the URL (${name})`);
    }
    next.metadata.name = name;
    this.resolveNamespace(next.metadata, namespace);
    const key = this.keyFor(namespace, name);
    // A status write (kubelets, controllers: most updates) starts from the watch cache's copy instead of a read from
    // etcd, as Kubernetes' cacher does for GuaranteedUpdate; it only builds a new object from the stored one, so a
    // stale copy is harmless: the write is conditional on its revision, and whatever that try refuses or finds
    // unchanged is decided again on a fresh read.
    const guess = options.subresource === "status" ? this.deps.cache.get(key) : undefined;
    if (guess !== undefined) {
      try {
        return { object: await this.updateFrom(key, name, next, guess, options, true), created: false };
      } catch (err) {
        if (!(err instanceof StatusError) && !(err instanceof StaleGuess)) throw err;
      }
    }
    const current = await this.storageCall(name, () => this.deps.storage.get(key));
    if (!current) {
      if (options.subresource || !this.strategy.allowCreateOnUpdate) throw notFound(this.qualified, name);
      return { object: await this.createObject(namespace, next, options, undefined, name), created: true };
    }
    return { object: await this.updateFrom(key, name, next, current, options, false), created: false };
  }

  /** update against `current`: the stored object, or (`guessed`) a cached copy that may be stale. */
  private async updateFrom(key: string, name: string, next: KubeObject, current: KubeObject, options: WriteOptions, guessed: boolean): Promise<KubeObject> {
    const expected = next.metadata.resourceVersion;
    if (expected !== undefined && expected !== current.metadata.resourceVersion) throw conflict(this.qualified, name);
    const uid = next.metadata.uid;
    if (uid !== undefined && uid !== "" && uid !== current.metadata.uid) {
      // Upstream checks it as a storage precondition, and says so.
      throw conflict(this.qualified, name, `StorageError: invalid object, Code: 4, Key: ${key}, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: ${uid}, UID in object meta: ${current.metadata.uid ?? ""}`);
    }
    const sentManagedFields = next.metadata.managedFields;
    const merged = this.prepareUpdate(next, current, options.subresource);
    recordUpdate(this.managedWrite(options), current, merged, options.subresource === undefined ? sentManagedFields : undefined);
    return this.writeUpdate(key, merged, current, options, guessed);
  }

  /** Applies a patch of the given content type; apply patches create a missing object. */
  async patch(namespace: string | undefined, name: string, contentType: string, patch: unknown, options: WriteOptions & { force?: boolean } = {}): Promise<{ object: KubeObject; created: boolean }> {
    const key = this.keyFor(namespace, name);
    const isApply = contentType.startsWith("application/apply-patch");
    // A resourceVersion in the patch body is a precondition, as in Kubernetes; without one, a conflicting write
    // is retried against the new state.
    const patchRv = isRecord(patch) && isRecord(patch.metadata) ? patch.metadata.resourceVersion : undefined;
    return retryOnConflict(async () => {
      const current = await this.storageCall(name, () => this.deps.storage.get(key));
      if (!current && !(isApply && !options.subresource)) throw notFound(this.qualified, name);
      if (current && typeof patchRv === "string" && patchRv !== current.metadata.resourceVersion) throw conflict(this.qualified, name);
      if (isApply) {
        const live = current ? this.withTypeMeta(current) : undefined;
        const applied = applyRequest(this.managedWrite(options), this.info, name, namespace, live, patch, options.force ?? false);
        if (!current) return { object: await this.createObject(namespace, applied.object, options, applied.entries, name), created: true };
        // The merged object is what Kubernetes turns back into its typed struct: canonical quantities.
        canonicalizeQuantities(apiVersionOf(this.info), this.info.kind, applied.object);
        const merged = this.prepareUpdate(applied.object, current, options.subresource);
        merged.metadata.managedFields = applied.entries;
        if (applied.entries.length === 0) delete merged.metadata.managedFields;
        return { object: await this.writeUpdate(key, merged, current, options), created: false };
      }
      if (!current) throw notFound(this.qualified, name);
      const original = this.withTypeMeta(current);
      const patched = applyPatch(contentType, original, patch);
      if (!isRecord(patched) || !isRecord(patched.metadata)) throw badRequest("the patch produced an object without metadata");
      const next = this.normalize(patched as KubeObject);
      this.decodeTyped(next);
      if (next.metadata.name !== name) throw badRequest(`the name of the object (${shown(next.metadata.name)}) does not match the name on the URL (${name})`);
      if (this.info.namespaced && namespace && next.metadata.namespace && next.metadata.namespace !== namespace) {
        throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
      }
      const sentManagedFields = next.metadata.managedFields;
      const merged = this.prepareUpdate(next, current, options.subresource);
      recordUpdate(this.managedWrite(options), current, merged, options.subresource === undefined ? sentManagedFields : undefined);
      return { object: await this.writeUpdate(key, merged, current, options), created: false };
    }, { attempts: CONFLICT_ATTEMPTS, retriable: (err) => patchRv === undefined && isConflict(err) && !isApplyConflict(err) });
  }

  async delete(namespace: string | undefined, name: string, options: DeleteOptions = {}): Promise<KubeObject | Status> {
    return (await this.deleteWithOutcome(namespace, name, options)).result;
  }

  /**
   * delete, also telling whether the object is gone (`removed`) or only marked for deletion (a grace period,
   * finalizers): Kubernetes' wasDeleted, which decides between 200 and 202 for legacy cascading deletes.
   */
  async deleteWithOutcome(namespace: string | undefined, name: string, options: DeleteOptions = {}): Promise<DeleteOutcome> {
    this.deps.hooks?.admitDelete?.(name);
    return this.deleteUnchecked(namespace, name, options);
  }

  private async deleteUnchecked(namespace: string | undefined, name: string, options: DeleteOptions): Promise<DeleteOutcome> {
    const key = this.keyFor(namespace, name);
    // A write that lost a race is retried against the new state, where the preconditions are checked again (as
    // Kubernetes' GuaranteedUpdate does); a failed precondition is final.
    const pre = options.preconditions;
    let preconditionFailed = false;
    return retryOnConflict(async () => {
      const current = await this.storageCall(name, () => this.deps.storage.get(key));
      if (!current) throw notFound(this.qualified, name);
      const meta = current.metadata;
      // A failed delete precondition names the kind (ConfigMap, Deployment.apps), not the resource, as upstream does.
      const kind = this.info.group ? `${this.info.kind}.${this.info.group}` : this.info.kind;
      if (pre?.uid !== undefined && pre.uid !== meta.uid) {
        preconditionFailed = true;
        throw conflict(kind, name, `the UID in the precondition (${pre.uid}) does not match the UID in record (${meta.uid ?? ""}). The object might have been deleted and then recreated`);
      }
      if (pre?.resourceVersion !== undefined && pre.resourceVersion !== meta.resourceVersion) {
        preconditionFailed = true;
        throw conflict(kind, name, `the ResourceVersion in the precondition (${pre.resourceVersion}) does not match the ResourceVersion in record (${meta.resourceVersion ?? ""}). The object might have been modified`);
      }
      await this.deps.hooks?.admitWrite?.({ operation: "DELETE", namespace: meta.namespace, name, subresource: "", object: undefined, oldObject: current, user: options.user, dryRun: options.dryRun ?? false });
      return this.deleteOnce(key, current, options);
    }, { attempts: CONFLICT_ATTEMPTS, retriable: (err) => !preconditionFailed && isConflict(err) });
  }

  /** Deletes what the selectors match; the deleted objects and the resourceVersion of the list they were found in. */
  async deleteCollection(namespace: string | undefined, params: ListParams, options: DeleteOptions): Promise<{ items: KubeObject[]; resourceVersion: string }> {
    const { items, resourceVersion } = await this.list(namespace, { ...optionalSelectors(params) });
    const deleted: KubeObject[] = [];
    for (const item of items) {
      try {
        const { result } = await this.deleteUnchecked(item.metadata.namespace, item.metadata.name ?? "", options);
        deleted.push(isRecord(result) && result.kind === "Status" ? item : (result as KubeObject));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return { items: deleted, resourceVersion };
  }

  /**
   * Server-internal read-modify-write that may change any field (pods/binding): `change` edits a private copy and
   * may throw a StatusError to refuse; the result is validated like an update (unless `validate` is false: the
   * caller checked its own input and changes nothing else) and retried on conflicts.
   */
  async mutate(namespace: string | undefined, name: string, change: (object: KubeObject) => void, options: { validate?: boolean } = {}): Promise<KubeObject> {
    return this.rewrite(
      namespace,
      name,
      (current) => {
        const next = structuredClone(current);
        change(next);
        return next;
      },
      options,
    );
  }

  /**
   * mutate, for a caller that builds the new object itself: `build` returns a new object made from the stored one
   * without changing it or anything in it (the stored object is the watch cache's, shared with every reader); the
   * new object may share the members it leaves unchanged, which nothing changes afterwards either. Spares a deep
   * copy of the whole object when a write changes a few fields (pods/binding).
   */
  async rewrite(namespace: string | undefined, name: string, build: (current: Readonly<KubeObject>) => KubeObject, options: { validate?: boolean } = {}): Promise<KubeObject> {
    const validate = options.validate ?? true;
    const key = this.keyFor(namespace, name);
    // The watch cache's copy is the first guess (never changed), as Kubernetes' cacher does.
    const stored = await this.storageCall(name, () =>
      this.deps.storage.guaranteedUpdate(
        key,
        (current) => {
          const next = build(current);
          if (validate) this.throwIfInvalid(next, validateUpdate(this.info, next, current));
          return next;
        },
        this.deps.cache.get(key),
      ),
    );
    return this.withTypeMeta(stored);
  }

  /** Who writes, through which endpoint, and which top-level fields that endpoint owns: for managedFields. */
  private managedWrite(options: WriteOptions): ManagedWrite | undefined {
    if (options.fieldManager === undefined) return undefined;
    const subresource = options.managedSubresource ?? options.subresource ?? "";
    return {
      writer: { manager: options.fieldManager, apiVersion: apiVersionOf(this.info), subresource, time: formatTime(this.now().getTime()) },
      scope: managedScope(options.subresource, this.strategy.statusSubresource),
    };
  }

  /** The object with kind and apiVersion as this resource serves it (and as the strategy decodes stored objects). */
  withTypeMeta(stored: KubeObject): KubeObject {
    const object = this.strategy.decodeStored?.(stored) ?? stored;
    if (object.kind === this.info.kind && object.apiVersion === apiVersionOf(this.info)) return object;
    return { ...object, apiVersion: apiVersionOf(this.info), kind: this.info.kind };
  }

  private async deleteOnce(key: string, current: KubeObject, options: DeleteOptions): Promise<DeleteOutcome> {
    const pending = (result: KubeObject): DeleteOutcome => ({ result: this.withTypeMeta(result), removed: false });
    const meta = current.metadata;
    const finalizers = [...(meta.finalizers ?? [])];
    if (options.propagationPolicy === "Foreground" && !finalizers.includes("foregroundDeletion")) finalizers.push("foregroundDeletion");
    if (options.propagationPolicy === "Orphan" && !finalizers.includes("orphan")) finalizers.push("orphan");
    const grace = this.strategy.gracePeriodFor?.(current, options.gracePeriodSeconds);
    const isNamespace = this.info.resource === "namespaces";
    const namespaceFinalizers = isNamespace ? ((current.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []) : [];

    if (meta.deletionTimestamp !== undefined) {
      if (isNamespace && namespaceFinalizers.length > 0) {
        throw conflict(this.qualified, meta.name ?? "", "The system is ensuring all content is removed from this namespace.  Upon completion, this namespace will automatically be purged by the system.");
      }
      const currentGrace = meta.deletionGracePeriodSeconds ?? 0;
      const requested = options.gracePeriodSeconds;
      if (requested !== undefined && requested < currentGrace) {
        // A shorter grace period (a force delete) moves the deadline closer, or ends it now.
        if (requested === 0 && finalizers.length === 0 && namespaceFinalizers.length === 0) {
          // fall through to removal
        } else {
          const next = structuredClone(current);
          const deadline = Date.parse(meta.deletionTimestamp) - (currentGrace - requested) * 1000;
          next.metadata.deletionTimestamp = formatTime(deadline);
          next.metadata.deletionGracePeriodSeconds = requested;
          if (options.dryRun) return pending(next);
          return pending(await this.storageCall(meta.name ?? "", () => this.deps.storage.update(key, next, Number(meta.resourceVersion))));
        }
      } else if (!(namespaceFinalizers.length === 0 && finalizers.length === 0 && currentGrace === 0 && isNamespace)) {
        return pending(current);
      }
    } else if (grace !== undefined || finalizers.length > 0 || this.strategy.alwaysGraceful) {
      const next = structuredClone(current);
      const now = this.now();
      next.metadata.deletionTimestamp = formatTime(now.getTime() + (grace ?? 0) * 1000);
      next.metadata.deletionGracePeriodSeconds = grace ?? 0;
      if (finalizers.length > 0) next.metadata.finalizers = finalizers;
      if (isNamespace) next.status = { ...(isRecord(current.status) ? current.status : {}), phase: "Terminating" };
      if (this.strategy.tracksGeneration) next.metadata.generation = (meta.generation ?? 1) + 1;
      if (options.dryRun) return pending(next);
      const updated = await this.storageCall(meta.name ?? "", () => this.deps.storage.update(key, next, Number(meta.resourceVersion)));
      return pending(updated);
    }
    if (options.dryRun) return { result: this.deletedResponse(current), removed: true };
    const removed = await this.storageCall(meta.name ?? "", () => this.deps.storage.delete(key, Number(meta.resourceVersion)));
    await this.deps.hooks?.afterDelete?.(removed);
    return { result: this.deletedResponse(removed), removed: true };
  }

  private deletedResponse(object: KubeObject): KubeObject | Status {
    if (this.strategy.returnDeletedObject) return this.withTypeMeta(object);
    const details: NonNullable<Status["details"]> = { name: object.metadata.name ?? "", kind: this.info.resource };
    if (this.info.group) details.group = this.info.group;
    if (object.metadata.uid) details.uid = object.metadata.uid;
    return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details };
  }

  /** A status the server resets: `{}` for built-in kinds (a Go struct), absent for custom resources. */
  private clearStatus(object: KubeObject): void {
    if (this.strategy.unstructured) delete object.status;
    else object.status = {};
  }

  /** Merges a client's desired object with the stored one following the main-resource or status rules. */
  private prepareUpdate(next: KubeObject, current: KubeObject, subresource: WriteOptions["subresource"]): KubeObject {
    const prevMeta = current.metadata;
    let merged: KubeObject;
    if (subresource === "status") {
      merged = copyForStatusWrite(current);
      if (next.status !== undefined) merged.status = next.status;
      else this.clearStatus(merged);
      // As Kubernetes' status strategies: a built-in kind's status write may also change its labels and annotations
      // (a custom resource's keeps its metadata whole).
      if (!this.strategy.unstructured) {
        const { labels, annotations } = next.metadata;
        if (labels !== undefined) merged.metadata.labels = labels;
        else delete merged.metadata.labels;
        if (annotations !== undefined) merged.metadata.annotations = annotations;
        else delete merged.metadata.annotations;
      }
      this.strategy.prepareForStatusUpdate?.(merged, current);
    } else if (subresource === "finalize") {
      merged = structuredClone(current);
      const finalizers = isRecord(next.spec) ? next.spec.finalizers : undefined;
      merged.spec = { ...(isRecord(current.spec) ? current.spec : {}), finalizers: Array.isArray(finalizers) ? finalizers : [] };
    } else {
      merged = next;
      if (this.strategy.statusSubresource) {
        if (current.status !== undefined) merged.status = structuredClone(current.status);
        else delete merged.status;
      }
      this.strategy.prepareForUpdate?.(merged, current);
      // Fields the server owns.
      const meta = merged.metadata;
      meta.uid = prevMeta.uid ?? "";
      meta.creationTimestamp = prevMeta.creationTimestamp ?? "";
      if (prevMeta.namespace !== undefined) meta.namespace = prevMeta.namespace;
      if (prevMeta.deletionTimestamp !== undefined) meta.deletionTimestamp = prevMeta.deletionTimestamp;
      else delete meta.deletionTimestamp;
      if (prevMeta.deletionGracePeriodSeconds !== undefined) meta.deletionGracePeriodSeconds = prevMeta.deletionGracePeriodSeconds;
      else delete meta.deletionGracePeriodSeconds;
      if (prevMeta.managedFields !== undefined) meta.managedFields = prevMeta.managedFields;
      else delete meta.managedFields;
      if (this.strategy.tracksGeneration) {
        const generation = prevMeta.generation ?? 1;
        meta.generation = specChanged(merged, current) ? generation + 1 : generation;
      } else {
        delete meta.generation;
      }
    }
    merged.apiVersion = apiVersionOf(this.info);
    merged.kind = this.info.kind;
    merged.metadata.resourceVersion = prevMeta.resourceVersion ?? "";
    applyDefaults(this.info, merged);
    return merged;
  }

  /** Validates, admits and writes `next` over `current`; `guessed`: current is a cached copy, maybe stale. */
  private async writeUpdate(key: string, next: KubeObject, current: KubeObject, options: WriteOptions, guessed = false): Promise<KubeObject> {
    const name = next.metadata.name ?? "";
    const dryRun = options.dryRun ?? false;
    if (options.subresource === undefined) {
      await this.deps.hooks?.guardWrite?.({ operation: "UPDATE", namespace: next.metadata.namespace, name, requestName: name, object: next, oldObject: current, user: options.user });
    }
    this.throwIfInvalid(next, options.subresource === "status" ? validateStatusUpdate(this.info, next, current) : validateUpdate(this.info, next, current));
    await this.deps.hooks?.admitWrite?.({ operation: "UPDATE", namespace: next.metadata.namespace, name, subresource: options.subresource ?? "", object: next, oldObject: current, user: options.user, dryRun });
    // An object being deleted whose last finalizer was just removed is gone.
    const meta = next.metadata;
    const isNamespace = this.info.resource === "namespaces";
    const specFinalizers = (o: KubeObject): string[] => (isNamespace ? ((o.spec as { finalizers?: string[] } | undefined)?.finalizers ?? []) : []);
    const hadFinalizers = (current.metadata.finalizers ?? []).length > 0 || specFinalizers(current).length > 0;
    // A namespace's spec.finalizers (emptied through /finalize by the namespace controller) count too.
    if (meta.deletionTimestamp !== undefined && (meta.finalizers ?? []).length === 0 && specFinalizers(next).length === 0 && hadFinalizers && !(meta.deletionGracePeriodSeconds ?? 0)) {
      if (dryRun) return this.withTypeMeta(next);
      const removed = await this.storageCall(name, () => this.deps.storage.delete(key, Number(current.metadata.resourceVersion)));
      await this.deps.hooks?.afterDelete?.(removed);
      return this.withTypeMeta({ ...next, metadata: { ...next.metadata, resourceVersion: removed.metadata.resourceVersion ?? "" } });
    }
    if (deepEqual(stripVolatile(next), stripVolatile(current))) {
      if (guessed) throw new StaleGuess();
      return this.withTypeMeta(current);
    }
    const hook = await this.deps.hooks?.beforeUpdate?.(next, current, dryRun);
    if (dryRun) {
      await hook?.undo();
      return this.withTypeMeta(next);
    }
    try {
      const stored = await this.storageCall(name, () => this.deps.storage.update(key, next, Number(current.metadata.resourceVersion)));
      await hook?.commit();
      return this.withTypeMeta(stored);
    } catch (err) {
      await hook?.undo();
      throw err;
    }
  }

  private filterFor(labelSelector: string | undefined, fieldSelector: string | undefined): (object: KubeObject) => boolean {
    const labels = labelSelector ? parseLabelSelector(labelSelector) : undefined;
    const fields = fieldSelector ? parseFieldSelector(fieldSelector) : undefined;
    if (fields) validateFieldSelector(this.info.kind, fields);
    if (!labels && !fields) return () => true;
    return (object) => (!labels || labels.matches(object.metadata.labels)) && (!fields || fields.matches(fieldsOf(this.info.kind, object)));
  }

  /**
   * The typed decoding of a written object: its kind and version checked against this resource's, its fields'
   * JSON types against the kind's schema, its quantities made canonical. Every write path calls it before
   * defaulting, admission and validation.
   */
  private decodeTyped(object: KubeObject): void {
    const expected = apiVersionOf(this.info);
    if (object.kind !== undefined && object.kind !== this.info.kind) {
      throw badRequest(`the kind of the object (${shown(object.kind)}) does not match the resource ${this.qualified} (${this.info.kind})`);
    }
    if (object.apiVersion !== undefined && object.apiVersion !== expected) {
      throw badRequest(`the API version in the data (${shown(object.apiVersion)}) does not match the expected API version (${expected})`);
    }
    // Kubernetes decodes bodies into typed structs: a field of the wrong JSON type or a quantity that does not
    // parse is a 400, never stored; a quantity comes out of its struct in canonical form.
    checkWireTypes(expected, this.info.kind, object);
    canonicalizeQuantities(expected, this.info.kind, object);
  }

  private resolveNamespace(meta: ObjectMeta, namespace: string | undefined): void {
    if (!this.info.namespaced) {
      delete meta.namespace;
      return;
    }
    if (meta.namespace !== undefined && meta.namespace !== "" && namespace !== undefined && meta.namespace !== namespace) {
      throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
    const resolved = namespace ?? meta.namespace;
    if (!resolved) throw badRequest("the server could not find the requested resource: a namespace is required");
    meta.namespace = resolved;
  }

  private throwIfInvalid(object: KubeObject, errors: ReturnType<typeof validateObject>): void {
    if (errors.length > 0) throw invalid(this.info.kind, this.info.group, object.metadata.name ?? "", errors);
  }

  /** Maps storage failures to Status errors naming this resource. */
  private async storageCall<T>(name: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      if (err instanceof StatusError) throw err;
      if (isStorageError(err)) {
        switch (err.code) {
          case "KeyExists":
            throw alreadyExists(this.qualified, name);
          case "KeyNotFound":
            throw notFound(this.qualified, name);
          case "Conflict":
            throw conflict(this.qualified, name);
          case "Unavailable":
            throw serviceUnavailable(`etcd is unavailable: ${err.message}`);
          case "Timeout":
            throw timeout(`the etcd request timed out: ${err.message}`);
          case "Compacted":
            throw expired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.");
          case "Invalid":
            throw badRequest(err.message);
        }
      }
      throw internalError(errorMessage(err), err);
    }
  }
}

/**
 * The stored object as a status write starts from, for the write to change: a deep copy, but without what the write
 * replaces or never changes in place. The old status is left out (undefined, where it was: the write sets or
 * removes it, and a member assigned keeps its place), and metadata.managedFields is shared with the stored object
 * (recordUpdate replaces the array whole, as a main-resource update shares it too).
 */
export function copyForStatusWrite(current: KubeObject): KubeObject {
  // One copy of the rest, the two members left out as placeholders that keep their places. cloneJson: stored
  // objects are JSON values, and it copies a pod in a third of structuredClone's time.
  const metadata: Record<string, unknown> = isRecord(current.metadata) ? current.metadata : {};
  const hasManagedFields = Object.hasOwn(metadata, "managedFields");
  const hasStatus = Object.hasOwn(current, "status");
  const shell: Record<string, unknown> = { ...current };
  if (hasStatus) shell.status = undefined;
  if (hasManagedFields && isRecord(current.metadata)) shell.metadata = { ...metadata, managedFields: undefined };
  const copy = cloneJson(shell) as KubeObject;
  if (hasManagedFields && isRecord(copy.metadata)) copy.metadata.managedFields = current.metadata.managedFields;
  return copy;
}

/** An update tried on a cached copy found nothing to change: only a fresh read can tell that it is so. */
class StaleGuess extends Error {}

/** Whether anything outside metadata and status differs: what bumps metadata.generation. */
function specChanged(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject): Record<string, unknown> => {
    const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
    return rest;
  };
  return !deepEqual(strip(a), strip(b));
}

function stripVolatile(o: KubeObject): unknown {
  const { resourceVersion: _rv, ...meta } = o.metadata;
  return { ...o, metadata: meta };
}

function optionalPage(limit: number | undefined, cont: string | undefined): { limit?: number; continue?: string } {
  const page: { limit?: number; continue?: string } = {};
  if (limit !== undefined && limit > 0) page.limit = limit;
  if (cont) page.continue = cont;
  return page;
}

function optionalSelectors(params: ListParams): ListParams {
  const out: ListParams = {};
  if (params.labelSelector) out.labelSelector = params.labelSelector;
  if (params.fieldSelector) out.fieldSelector = params.fieldSelector;
  return out;
}

export function parseResourceVersion(rv: string): number {
  if (!/^\d+$/.test(rv)) throw badRequest(`resourceVersion: Invalid value: "${rv}": must be a non-negative integer`);
  return Number(rv);
}

/** A value from a client body in a message: strings as they are, anything else as JSON. */
function shown(value: unknown): string {
  return typeof value === "string" ? value : JSON.stringify(value) ?? "undefined";
}

function randomSuffix(): string {
  let out = "";
  for (let i = 0; i < 5; i++) out += GENERATE_NAME_ALPHABET.charAt(randomInt(GENERATE_NAME_ALPHABET.length));
  return out;
}

