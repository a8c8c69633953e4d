// The slice bookkeeping the EndpointSlice controller (endpointslice/) and the EndpointSliceMirroring controller
// (endpointslicemirroring/) share, as Kubernetes shares it in pkg/controller/util/endpointslice: which slices are
// whose (the service-name and managed-by labels), building a slice, writing a plan of changes in the order that
// never leaves consumers a gap, and the EndpointSliceTracker that keeps a lagging cache from doubling a slice.
// What the controllers put into slices (pods or Endpoints addresses, labels, annotations, how many endpoints a slice
// holds, which slices to reuse) stays in each controller.
//
// Contract:
//   - A slice belongs to the owner "namespace/<kubernetes.io/service-name>" of the controller whose
//     endpointslice.kubernetes.io/managed-by value it carries; slices of other managers are never listed or written.
//   - apply() writes creates, then updates, then deletes (a delete with the slice's uid as precondition; NotFound is
//     success). Every write is recorded in the tracker, and checkCache() fails a sync with StaleCacheError while the
//     informer has not yet shown one of them; the controller's queue retries it with backoff.
import { errorMessage, isNotFound, isStatusError } from "../../../api/errors.js";
import type { KubeObject, OwnerReference } from "../../../api/meta.js";
import { findResource } from "../../../api/resources.js";
import type { Endpoint, EndpointSlice, EndpointSlicePort } from "../../../api/types/index.js";
import { isNewerResourceVersion, type Informer } from "../../../client/informer.js";
import type { RestClient } from "../../../client/rest.js";
import type { RateLimitingQueue } from "../../../client/workqueue.js";
import type { Logger } from "../../../component-base/logging.js";
import { ensureIndex } from "../controller-utils.js";

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
export const MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
export const SERVICES = findResource("", "v1", "services")!;
export const ENDPOINT_SLICES = findResource("discovery.k8s.io", "v1", "endpointslices")!;

export type EndpointSliceClient = Pick<RestClient, "create" | "update" | "delete">;

/** A sync found the slice cache behind our own writes; retried with backoff until the watch catches up. */
export class StaleCacheError extends Error {
  constructor(readonly serviceKey: string, readonly slice: string) {
    super(`the EndpointSlice cache for service ${serviceKey} has not caught up with our write of ${slice}`);
    this.name = "StaleCacheError";
  }
}

type Expectation = { resourceVersion: string } | { deleted: true };

/**
 * Kubernetes' EndpointSliceTracker: the resourceVersion each of our slices had after our last write, or that we
 * deleted it, per owner, until the informer shows that state.
 */
export class EndpointSliceTracker {
  private readonly expected = new Map<string, Map<string, Expectation>>();

  wrote(ownerKey: string, slice: Readonly<KubeObject>): void {
    this.forOwner(ownerKey).set(slice.metadata.name ?? "", { resourceVersion: slice.metadata.resourceVersion ?? "" });
  }

  deleted(ownerKey: string, sliceName: string): void {
    this.forOwner(ownerKey).set(sliceName, { deleted: true });
  }

  /** The informer saw the slice go: whatever we expected of it is moot. */
  gone(ownerKey: string, sliceName: string): void {
    this.expected.get(ownerKey)?.delete(sliceName);
  }

  forget(ownerKey: string): void {
    this.expected.delete(ownerKey);
  }

  /** Throws StaleCacheError when the cache lags behind one of our writes; drops expectations it meets. */
  check(ownerKey: string, cached: (name: string) => Readonly<KubeObject> | undefined): void {
    const entries = this.expected.get(ownerKey);
    if (!entries) return;
    for (const [name, want] of entries) {
      const have = cached(name);
      if ("deleted" in want) {
        if (have) throw new StaleCacheError(ownerKey, name);
      } else if (!have || (have.metadata.resourceVersion !== want.resourceVersion && isNewerResourceVersion(want.resourceVersion, have.metadata.resourceVersion))) {
        throw new StaleCacheError(ownerKey, name);
      }
      entries.delete(name);
    }
    if (entries.size === 0) this.expected.delete(ownerKey);
  }

  private forOwner(ownerKey: string): Map<string, Expectation> {
    let entries = this.expected.get(ownerKey);
    if (!entries) {
      entries = new Map();
      this.expected.set(ownerKey, entries);
    }
    return entries;
  }
}

/** The writes that bring an owner's slices to what it should have. */
export interface SliceChanges {
  create: EndpointSlice[];
  update: EndpointSlice[];
  delete: Readonly<EndpointSlice>[];
}

/** How apply() treats creates; the defaults write every create and fail the sync on any error. */
export interface ApplyOptions {
  /** Write no creates (the owner is being deleted: the garbage collector would race the new slices). */
  skipCreates?: boolean;
  /** A create refused because the namespace is terminating ends the sync quietly: the slices go with it. */
  stopOnNamespaceTerminating?: boolean;
}

/**
 * runWorkers' logFailure for a slice controller: a stale cache is expected while our writes come back through the
 * watch (debug); any other failure is a warning. Both are retried by the queue.
 */
export function sliceSyncFailureLogger(logger: Logger, queue: Pick<RateLimitingQueue, "numRequeues">, message: string): (key: string, err: unknown) => void {
  return (key, err) => {
    const level = err instanceof StaleCacheError ? "debug" : "warn";
    logger[level]({ key, err: errorMessage(err), retries: queue.numRequeues(key) }, message);
  };
}

/** The owner key ("namespace/name") of a slice `managedBy` manages; undefined for anyone else's. */
export function ownerKeyOf(slice: Readonly<EndpointSlice>, managedBy: string): string | undefined {
  const owner = slice.metadata.labels?.[SERVICE_NAME_LABEL];
  if (!owner || slice.metadata.labels?.[MANAGED_BY_LABEL] !== managedBy) return undefined;
  return `${slice.metadata.namespace ?? ""}/${owner}`;
}

export interface NewEndpointSliceSpec {
  generateName: string;
  namespace: string;
  labels: Record<string, string>;
  /** Left out of the slice when undefined. */
  annotations?: Record<string, string>;
  owner: OwnerReference;
  addressType: EndpointSlice["addressType"];
  ports: EndpointSlicePort[];
  endpoints: Endpoint[];
}

/** A slice to create: the apiserver names it from generateName. */
export function newEndpointSlice(spec: NewEndpointSliceSpec): EndpointSlice {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      generateName: spec.generateName,
      namespace: spec.namespace,
      labels: spec.labels,
      ...(spec.annotations !== undefined ? { annotations: spec.annotations } : {}),
      ownerReferences: [spec.owner],
    },
    addressType: spec.addressType,
    endpoints: spec.endpoints,
    ports: spec.ports,
  };
}

/** `slices` grouped by `keyOf`, each group in the order given. */
export function groupSlices(slices: readonly Readonly<EndpointSlice>[], keyOf: (slice: Readonly<EndpointSlice>) => string): Map<string, Readonly<EndpointSlice>[]> {
  const groups = new Map<string, Readonly<EndpointSlice>[]>();
  for (const slice of slices) {
    const key = keyOf(slice);
    const group = groups.get(key);
    if (group) group.push(slice);
    else groups.set(key, [slice]);
  }
  return groups;
}

export interface EndpointSliceReconcilerOptions {
  client: EndpointSliceClient;
  slices: Informer<EndpointSlice>;
  /** The managed-by label value of this controller's slices. */
  managedBy: string;
  /** The name of the informer index of these slices by owner key (one per controller). */
  indexName: string;
}

/** One controller's view of its slices: which are whose, and the writes to them (see the file comment). */
export class EndpointSliceReconciler {
  readonly tracker = new EndpointSliceTracker();

  constructor(private readonly opts: EndpointSliceReconcilerOptions) {
    ensureIndex(opts.slices, opts.indexName, (slice) => {
      const key = this.ownerKeyOf(slice);
      return key ? [key] : [];
    });
  }

  /** The owner key of one of our slices; undefined for a slice someone else manages. */
  ownerKeyOf(slice: Readonly<EndpointSlice>): string | undefined {
    return ownerKeyOf(slice, this.opts.managedBy);
  }

  /** Our slices of `ownerKey`, from the informer's cache. */
  slicesOf(ownerKey: string): Readonly<EndpointSlice>[] {
    return this.opts.slices.lister.byIndex(this.opts.indexName, ownerKey);
  }

  /** Throws StaleCacheError while the cache has not shown all our writes for `ownerKey` (in `namespace`). */
  checkCache(ownerKey: string, namespace: string): void {
    this.tracker.check(ownerKey, (sliceName) => this.opts.slices.lister.getByName(namespace, sliceName));
  }

  /** The informer saw `slice` deleted; returns its owner key when it is ours. */
  sliceGone(slice: Readonly<EndpointSlice>): string | undefined {
    const key = this.ownerKeyOf(slice);
    if (key) this.tracker.gone(key, slice.metadata.name ?? "");
    return key;
  }

  /** Drops what the tracker expects of `ownerKey`'s slices (the owner is gone or no longer ours to mirror). */
  forget(ownerKey: string): void {
    this.tracker.forget(ownerKey);
  }

  /** Writes `changes` for `ownerKey` in `namespace`: creates, then updates, then deletes. */
  async apply(ownerKey: string, namespace: string, changes: SliceChanges, options: ApplyOptions = {}): Promise<void> {
    if (options.skipCreates !== true) {
      for (const slice of changes.create) {
        let created: EndpointSlice;
        try {
          created = await this.opts.client.create<EndpointSlice>(ENDPOINT_SLICES, namespace, slice);
        } catch (err) {
          if (options.stopOnNamespaceTerminating === true && hasCause(err, "NamespaceTerminating")) return;
          throw err;
        }
        this.tracker.wrote(ownerKey, created);
      }
    }
    for (const slice of changes.update) {
      const updated = await this.opts.client.update<EndpointSlice>(ENDPOINT_SLICES, namespace, slice);
      this.tracker.wrote(ownerKey, updated);
    }
    await this.deleteAll(ownerKey, changes.delete);
  }

  /** Deletes `slices` of `ownerKey` (each only if its uid is still the one we saw). */
  async deleteAll(ownerKey: string, slices: readonly Readonly<EndpointSlice>[]): Promise<void> {
    for (const slice of slices) {
      const name = slice.metadata.name ?? "";
      try {
        await this.opts.client.delete(ENDPOINT_SLICES, slice.metadata.namespace, name, { preconditions: { uid: slice.metadata.uid ?? "" } });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      this.tracker.deleted(ownerKey, name);
    }
  }
}

function hasCause(err: unknown, reason: string): boolean {
  return isStatusError(err) && (err.details?.causes ?? []).some((c) => c.reason === reason);
}
