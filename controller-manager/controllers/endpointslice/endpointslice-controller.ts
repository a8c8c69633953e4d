// The EndpointSlice controller (Kubernetes' pkg/controller/endpointslice): discovery.k8s.io/v1 EndpointSlices for
// every Service with a selector. kube-proxy and `kubectl describe svc` read these, not Endpoints.
//
// Contract:
//   - Slices are named by the apiserver from generateName `<service>-`, labelled kubernetes.io/service-name and
//     endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io (plus the Service's labels), owned by
//     the Service (controller, blockOwnerDeletion), addressType IPv4.
//   - One endpoint per pod with an IP: conditions ready (ready and not terminating, or publishNotReadyAddresses),
//     serving (ready), terminating (deletionTimestamp); nodeName, targetRef, hostname.
//   - Pods are grouped by the ports they resolve (a named targetPort may resolve differently per pod): one set of
//     slices per distinct port mapping, at most maxEndpointsPerSlice (100) endpoints each. Existing slices are
//     updated in place (endpoints stay in the slice they are in), new endpoints fill slices with room first, empty
//     and stale slices are deleted; creates go before updates before deletes, so consumers never see a gap.
//   - Created and updated slices carry endpoints.kubernetes.io/last-change-trigger-time (TriggerTimeTracker).
//   - A service with no endpoints keeps one empty placeholder slice, like Kubernetes.
//   - Only slices carrying our managed-by label are ever touched, so the apiserver's own `kubernetes` slice and
//     user-made slices stay alone. Services without a selector (or ExternalName) lose the slices we made.
//   - Because slice names are random, a stale cache could make us create a slice twice: every write is recorded
//     (EndpointSliceTracker) and a sync whose cache has not caught up with our own writes fails and is retried.
//   - That bookkeeping (which slices are ours, the ordered writes, the tracker) is endpointslice-reconciler/, shared
//     with the EndpointSliceMirroring controller; this file decides what the slices hold.
import type { KubeObject, OwnerReference } from "../../../api/meta.js";
import { isPodReady } from "../../../api/pod.js";
import { findResource } from "../../../api/resources.js";
import type { Endpoint, EndpointSlice, EndpointSlicePort, Pod, Service } from "../../../api/types/index.js";
import { newControllerQueue, runWorkers } from "../../../client/controller-loop.js";
import { unwrapTombstone, type Informer } from "../../../client/informer.js";
import type { RateLimitingQueue } from "../../../client/workqueue.js";
import { realClock, type Clock } from "../../../component-base/clock.js";
import { silentLogger, type Logger } from "../../../component-base/logging.js";
import type { Registry } from "../../../component-base/metrics.js";
import { newControllerRef } from "../controller-utils.js";
import { HEADLESS_LABEL, sameJson, stableJson } from "../endpoints/endpoints-controller.js";
import {
  isTerminating,
  podChangeMatters,
  podsForService,
  resolvePorts,
  serviceKeysForPod,
  shouldPodBeInEndpoints,
  splitKey,
  wantsEndpoints,
} from "../endpoints/pod-endpoints.js";
import { TriggerTimeTracker, withTriggerTime } from "../endpoints/trigger-time-tracker.js";
import { ENDPOINT_SLICES, EndpointSliceReconciler, groupSlices, MANAGED_BY_LABEL, newEndpointSlice as newSlice, SERVICE_NAME_LABEL, SERVICES, sliceSyncFailureLogger, type EndpointSliceClient, type SliceChanges } from "../endpointslice-reconciler/endpointslice-reconciler.js";
import type { Controller, ControllerFactory } from "../types.js";

// The shared bookkeeping's names, still exported from here for the tests and the mirroring controller's tests.
export { ENDPOINT_SLICES, EndpointSliceTracker, MANAGED_BY_LABEL, SERVICE_NAME_LABEL, SERVICES, StaleCacheError, type EndpointSliceClient } from "../endpointslice-reconciler/endpointslice-reconciler.js";

export const NAME = "endpointslice";
export const COMPONENT = "endpoint-slice-controller";
export const MANAGED_BY = "endpointslice-controller.k8s.io";
export const MAX_ENDPOINTS_PER_SLICE = 100;
/** Index of our slices by their service key ("namespace/service"). */
const SERVICE_INDEX = "endpointslice-controller/service";

export const PODS = findResource("", "v1", "pods")!;

export interface EndpointSliceControllerOptions {
  client: EndpointSliceClient;
  services: Informer<Service>;
  pods: Informer<Pod>;
  slices: Informer<EndpointSlice>;
  /** Parallel syncs (--concurrent-service-endpoint-syncs); default 5. */
  workers?: number;
  maxEndpointsPerSlice?: number;
  clock?: Clock;
  logger?: Logger;
  /** Where the queue's workqueue_* metrics go. */
  metrics?: Registry;
}

export class EndpointSliceController implements Controller {
  readonly name = NAME;
  readonly queue: RateLimitingQueue;
  readonly reconciler: EndpointSliceReconciler;
  private readonly triggerTimes = new TriggerTimeTracker();
  private readonly services: Informer<Service>;
  private readonly pods: Informer<Pod>;
  private readonly slices: Informer<EndpointSlice>;
  private readonly workers: number;
  private readonly maxPerSlice: number;
  private readonly logger: Logger;

  constructor(opts: EndpointSliceControllerOptions) {
    this.workers = opts.workers ?? 5;
    this.maxPerSlice = opts.maxEndpointsPerSlice ?? MAX_ENDPOINTS_PER_SLICE;
    if (!Number.isInteger(this.workers) || this.workers < 1) throw new Error(`endpointslice controller: workers must be a positive integer, got ${this.workers}`);
    if (!Number.isInteger(this.maxPerSlice) || this.maxPerSlice < 1 || this.maxPerSlice > 1000) throw new Error(`endpointslice controller: maxEndpointsPerSlice must be 1..1000, got ${this.maxPerSlice}`);
    this.services = opts.services;
    this.pods = opts.pods;
    this.slices = opts.slices;
    this.logger = opts.logger ?? silentLogger();
    this.queue = newControllerQueue(NAME, { clock: opts.clock ?? realClock, metrics: opts.metrics });
    this.reconciler = new EndpointSliceReconciler({ client: opts.client, slices: this.slices, managedBy: MANAGED_BY, indexName: SERVICE_INDEX });

    this.services.addEventHandler({
      onAdd: (svc) => { this.queue.add(keyOf(svc)); },
      onUpdate: (_old, svc) => { this.queue.add(keyOf(svc)); },
      onDelete: (obj) => { this.queue.add(keyOf(unwrapTombstone(obj))); },
    });
    this.pods.addEventHandler({
      onAdd: (pod) => { this.enqueuePodServices(pod); },
      onUpdate: (oldPod, pod) => {
        if (podChangeMatters(oldPod, pod)) this.enqueuePodServices(pod, oldPod);
      },
      onDelete: (obj) => { this.enqueuePodServices(unwrapTombstone(obj)); },
    });
    // Our slices changed (our own writes, or someone else's): recompute their service, a no-op when all is right.
    this.slices.addEventHandler({
      onAdd: (slice) => { this.enqueueSliceService(slice); },
      onUpdate: (_old, slice) => { this.enqueueSliceService(slice); },
      onDelete: (obj) => {
        const key = this.reconciler.sliceGone(unwrapTombstone(obj));
        if (key) this.queue.add(key);
      },
    });
  }

  run(signal: AbortSignal): Promise<void> {
    return runWorkers({
      queue: this.queue,
      workers: this.workers,
      sync: (key) => this.sync(key),
      informers: [this.services, this.pods, this.slices],
      logger: this.logger,
      signal,
      onStart: () => {
        this.logger.info({ workers: this.workers }, "Starting endpoint slice controller");
      },
      logFailure: sliceSyncFailureLogger(this.logger, this.queue, "Syncing endpoint slices failed; retrying"),
    });
  }

  /** Makes the slices of service `key` match its pods. */
  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const svc = this.services.lister.get(key);
    const existing = this.reconciler.slicesOf(key);
    if (!svc || !wantsEndpoints(svc)) {
      // Gone (the garbage collector would get there too, through the owner reference) or no longer selecting.
      await this.reconciler.deleteAll(key, existing);
      if (!svc) {
        this.reconciler.forget(key);
        this.triggerTimes.forget(key);
      }
      return;
    }
    this.reconciler.checkCache(key, namespace);

    const pods = podsForService(svc, this.pods.lister);
    const triggerTime = this.triggerTimes.compute(key, svc, pods);
    const desired = desiredEndpointsByPorts(svc, pods);
    const plan = planSlices(svc, existing, desired, this.maxPerSlice);
    // Only what is written carries the change's time (kube-proxy measures network programming latency from it).
    for (const slice of [...plan.create, ...plan.update]) {
      const annotations = withTriggerTime(slice.metadata.annotations, triggerTime);
      if (annotations) slice.metadata.annotations = annotations;
    }
    await this.reconciler.apply(key, namespace, plan);
    if (plan.create.length + plan.update.length + plan.delete.length > 0) {
      this.logger.debug({ service: key, name, created: plan.create.length, updated: plan.update.length, deleted: plan.delete.length }, "Synced endpoint slices");
    }
  }

  private enqueuePodServices(pod: Readonly<Pod>, oldPod?: Readonly<Pod>): void {
    const labelSets = oldPod ? [pod.metadata.labels, oldPod.metadata.labels] : [pod.metadata.labels];
    for (const key of serviceKeysForPod(pod.metadata.namespace ?? "", labelSets, this.services.lister)) this.queue.add(key);
  }

  private enqueueSliceService(slice: Readonly<EndpointSlice>): void {
    const key = this.reconciler.ownerKeyOf(slice);
    if (key) this.queue.add(key);
  }
}

export const createEndpointSliceController: ControllerFactory = (ctx) =>
  new EndpointSliceController({
    client: ctx.client,
    services: ctx.informers.forResource<Service>(SERVICES),
    pods: ctx.informers.forResource<Pod>(PODS),
    slices: ctx.informers.forResource<EndpointSlice>(ENDPOINT_SLICES),
    workers: ctx.config.concurrentServiceEndpointSyncs,
    clock: ctx.clock,
    logger: ctx.logger.child({ controller: NAME }),
    // One provider per registry, so the scrape-time gauges see every controller's queue.
    metrics: ctx.metrics,
  });

/** The name registry.ts imports (the --controllers name is "endpointslice"). */
export const createEndpointsliceController: ControllerFactory = createEndpointSliceController;

// ---------------------------------------------------------------------------------------------------------------
// Builders (pure; tests reuse them)

export interface PortGroup {
  ports: EndpointSlicePort[];
  /** By pod uid, in pod-list order. */
  endpoints: Map<string, Endpoint>;
}

/** The endpoints the service should have, grouped by their port mapping (key: stableJson of the ports). */
export function desiredEndpointsByPorts(svc: Readonly<Service>, pods: readonly Readonly<Pod>[]): Map<string, PortGroup> {
  const groups = new Map<string, PortGroup>();
  for (const pod of pods) {
    // Terminating pods stay, marked terminating, so consumers can drain them (Kubernetes does the same).
    if (!shouldPodBeInEndpoints(pod, true)) continue;
    const ip = pod.status?.podIP ?? "";
    if (ip.includes(":")) continue; // IPv6 pods belong in an IPv6 slice; this cluster is IPv4 only.
    const ports = resolvePorts(svc, pod).map((p): EndpointSlicePort => ({ name: p.name, port: p.port, protocol: p.protocol, ...(p.appProtocol !== undefined ? { appProtocol: p.appProtocol } : {}) }));
    const key = stableJson(ports);
    let group = groups.get(key);
    if (!group) {
      group = { ports, endpoints: new Map() };
      groups.set(key, group);
    }
    group.endpoints.set(pod.metadata.uid ?? ip, endpointFor(svc, pod));
  }
  return groups;
}

export function endpointFor(svc: Readonly<Service>, pod: Readonly<Pod>): Endpoint {
  const serving = isPodReady(pod);
  const terminating = isTerminating(pod);
  // "ready" is never true for a terminating pod unless publishNotReadyAddresses says readiness does not matter.
  const publish = svc.spec?.publishNotReadyAddresses === true;
  const endpoint: Endpoint = {
    addresses: [pod.status?.podIP ?? ""],
    conditions: { ready: publish || (serving && !terminating), serving: publish || serving, terminating },
    targetRef: { kind: "Pod", namespace: pod.metadata.namespace ?? "", name: pod.metadata.name ?? "", uid: pod.metadata.uid ?? "" },
  };
  if (pod.spec?.nodeName) endpoint.nodeName = pod.spec.nodeName;
  if (pod.spec?.hostname && pod.spec.subdomain === svc.metadata.name && pod.metadata.namespace === svc.metadata.namespace) endpoint.hostname = pod.spec.hostname;
  return endpoint;
}

/** Labels of our slices: the Service's, then ours (which the Service cannot override), headless marker. */
export function sliceLabels(svc: Readonly<Service>): Record<string, string> {
  const { [HEADLESS_LABEL]: _headless, ...labels } = svc.metadata.labels ?? {};
  labels[SERVICE_NAME_LABEL] = svc.metadata.name ?? "";
  labels[MANAGED_BY_LABEL] = MANAGED_BY;
  if (svc.spec?.clusterIP === "None") labels[HEADLESS_LABEL] = "";
  return labels;
}

export function ownerReferenceFor(svc: Readonly<Service>): OwnerReference {
  return newControllerRef(svc, "v1", "Service");
}

/** generateName leaves 5 characters of a 63-character name for the random suffix. */
export function slicePrefix(serviceName: string): string {
  const prefix = `${serviceName}-`;
  return prefix.length > 58 ? prefix.slice(0, 58) : prefix;
}

export function newEndpointSlice(svc: Readonly<Service>, ports: EndpointSlicePort[], endpoints: Endpoint[]): EndpointSlice {
  return newSlice({
    generateName: slicePrefix(svc.metadata.name ?? ""),
    namespace: svc.metadata.namespace ?? "",
    labels: sliceLabels(svc),
    owner: ownerReferenceFor(svc),
    addressType: "IPv4",
    ports,
    endpoints,
  });
}

export type SlicePlan = SliceChanges;

/**
 * The writes that turn `existing` (our slices of this service) into `desired`: see the file comment. Slices owned
 * by an older incarnation of the service, or of another address type, are replaced.
 */
export function planSlices(svc: Readonly<Service>, existing: readonly Readonly<EndpointSlice>[], desired: ReadonlyMap<string, PortGroup>, maxPerSlice: number): SlicePlan {
  const plan: SlicePlan = { create: [], update: [], delete: [] };
  const labels = sliceLabels(svc);
  const owner = ownerReferenceFor(svc);
  const current: Readonly<EndpointSlice>[] = [];
  for (const slice of existing) {
    const owned = (slice.metadata.ownerReferences ?? []).some((r) => r.uid === owner.uid);
    if (owned && slice.addressType === "IPv4") current.push(slice);
    else plan.delete.push(slice);
  }
  const byPorts = groupSlices(current, (slice) => stableJson(slice.ports ?? []));

  const total = [...desired.values()].reduce((n, g) => n + g.endpoints.size, 0);
  if (total === 0) {
    // Keep (or make) exactly one empty placeholder slice.
    const all = [...byPorts.values()].flat();
    const keep = all.find((s) => (s.endpoints ?? []).length === 0 && (s.ports ?? []).length === 0);
    for (const s of all) if (s !== keep) plan.delete.push(s);
    if (!keep) plan.create.push(newEndpointSlice(svc, [], []));
    else if (!metaUpToDate(keep, labels, owner)) plan.update.push(withMeta(keep, labels, owner, keep.endpoints ?? []));
    return plan;
  }

  for (const [portKey, group] of desired) {
    const remaining = new Map(group.endpoints);
    const kept: { slice: Readonly<EndpointSlice>; endpoints: Endpoint[]; changed: boolean }[] = [];
    for (const slice of byPorts.get(portKey) ?? []) {
      const endpoints: Endpoint[] = [];
      let changed = !metaUpToDate(slice, labels, owner);
      for (const ep of slice.endpoints ?? []) {
        const id = ep.targetRef?.uid ?? ep.addresses[0] ?? "";
        const want = remaining.get(id);
        if (!want) {
          changed = true;
          continue;
        }
        remaining.delete(id);
        if (!sameJson(want, ep)) changed = true;
        endpoints.push(want);
      }
      kept.push({ slice, endpoints, changed });
    }
    byPorts.delete(portKey);
    // New endpoints go first into slices that are being rewritten anyway, then into others with room.
    const leftover = [...remaining.values()];
    kept.sort((a, b) => Number(b.changed) - Number(a.changed));
    for (const k of kept) {
      while (leftover.length > 0 && k.endpoints.length < maxPerSlice) {
        k.endpoints.push(leftover.shift()!);
        k.changed = true;
      }
    }
    while (leftover.length > 0) plan.create.push(newEndpointSlice(svc, group.ports, leftover.splice(0, maxPerSlice)));
    for (const k of kept) {
      if (k.endpoints.length === 0) plan.delete.push(k.slice);
      else if (k.changed) plan.update.push(withMeta(k.slice, labels, owner, k.endpoints));
    }
  }
  // Port mappings no pod has any more.
  for (const slices of byPorts.values()) plan.delete.push(...slices);
  return plan;
}

function metaUpToDate(slice: Readonly<EndpointSlice>, labels: Record<string, string>, owner: OwnerReference): boolean {
  const refs = slice.metadata.ownerReferences ?? [];
  return sameJson(slice.metadata.labels ?? {}, labels) && refs.length === 1 && sameJson(refs[0], owner);
}

function withMeta(slice: Readonly<EndpointSlice>, labels: Record<string, string>, owner: OwnerReference, endpoints: Endpoint[]): EndpointSlice {
  const next = structuredClone(slice) as EndpointSlice;
  next.metadata.labels = labels;
  next.metadata.ownerReferences = [owner];
  next.endpoints = endpoints;
  return next;
}

function keyOf(obj: Readonly<KubeObject>): string {
  return `${obj.metadata.namespace ?? ""}/${obj.metadata.name ?? ""}`;
}
