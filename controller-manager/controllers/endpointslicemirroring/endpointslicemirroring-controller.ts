// The EndpointSliceMirroring controller (Kubernetes' pkg/controller/endpointslicemirroring): for a Service without
// a selector, whose Endpoints object someone else writes, it mirrors that Endpoints into EndpointSlices, so
// consumers that read only slices (kube-proxy, DNS) see custom endpoints too.
//
// Contract (Kubernetes 1.26's behaviour):
//   - An Endpoints is mirrored when it is not labelled endpointslice.kubernetes.io/skip-mirror=true, carries no
//     leader-election annotation, and its Service exists and has no selector (spec.selector absent). Otherwise, and
//     when either is deleted, the slices mirrored for it are deleted.
//   - Slices are named from generateName `<endpoints>-`, labelled with the Endpoints' labels plus
//     kubernetes.io/service-name and endpointslice.kubernetes.io/managed-by=endpointslicemirroring-controller.k8s.io,
//     annotated with the Endpoints' annotations except last-change-trigger-time and kubectl's last-applied, and owned
//     by the Endpoints (controller, blockOwnerDeletion).
//   - One slice per (address type, port list): ready addresses have conditions.ready=true, notReadyAddresses false;
//     hostname, nodeName and targetRef are copied. An address that is no IP is skipped (Warning InvalidIPAddress);
//     at most maxEndpointsPerSubset (--mirroring-max-endpoints-per-subset, 1000) addresses of each subset and of each
//     slice are mirrored, the rest skipped (Warning TooManyAddressesToMirror). Endpoints with the same address and
//     hostname are one endpoint (the last one wins).
//   - A slice is rewritten only when its endpoints, the Endpoints' labels or its annotations differ; extra slices of
//     one mapping are deleted; a slice that would be created while another is deleted is reused (updated) instead.
//     Creates go before updates before deletes; nothing is created for an Endpoints being deleted.
//   - Only slices with our managed-by label are touched. Every write is recorded (EndpointSliceTracker) and a sync
//     whose cache has not caught up with our own writes fails and is retried, so a lagging cache cannot double a slice.
//     That bookkeeping is endpointslice-reconciler/, shared with the EndpointSlice controller.
import { isIPv4, isIPv6 } from "node:net";
import type { KubeObject, OwnerReference } from "../../../api/meta.js";
import { findResource } from "../../../api/resources.js";
import type { Endpoint, EndpointAddress, EndpointPort, Endpoints, EndpointSlice, EndpointSlicePort, Service } from "../../../api/types/index.js";
import type { EventRecorder } from "../../../client/event-recorder.js";
import { newControllerQueue, runWorkers } from "../../../client/controller-loop.js";
import { unwrapTombstone, type Informer } from "../../../client/informer.js";
import type { RateLimitingQueue } from "../../../client/workqueue.js";
import { realClock, type Clock } from "../../../component-base/clock.js";
import { silentLogger, type Logger } from "../../../component-base/logging.js";
import type { Registry } from "../../../component-base/metrics.js";
import { newControllerRef } from "../controller-utils.js";
import { sameJson, stableJson } from "../endpoints/endpoints-controller.js";
import { splitKey } from "../endpoints/pod-endpoints.js";
import { ENDPOINT_SLICES, EndpointSliceReconciler, groupSlices, MANAGED_BY_LABEL, newEndpointSlice, SERVICE_NAME_LABEL, SERVICES, sliceSyncFailureLogger, type EndpointSliceClient, type SliceChanges } from "../endpointslice-reconciler/endpointslice-reconciler.js";
import type { Controller, ControllerFactory } from "../types.js";

export const NAME = "endpointslicemirroring";
export const COMPONENT = "endpoint-slice-mirroring-controller";
/** The managed-by value of mirrored slices (Kubernetes' controllerName). */
export const MIRRORING_MANAGED_BY = "endpointslicemirroring-controller.k8s.io";
export const SKIP_MIRROR_LABEL = "endpointslice.kubernetes.io/skip-mirror";
/** Endpoints used as leader-election locks carry this; they are no service's endpoints. */
export const LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader";
export const LAST_CHANGE_TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time";
export const LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration";
export const MAX_ENDPOINTS_PER_SUBSET = 1000;
/** Event reasons (Kubernetes' events.go). */
export const INVALID_IP_ADDRESS = "InvalidIPAddress";
export const TOO_MANY_ADDRESSES_TO_MIRROR = "TooManyAddressesToMirror";

export const ENDPOINTS = findResource("", "v1", "endpoints")!;
/** Index of mirrored slices by "namespace/endpoints-name". */
const ENDPOINTS_INDEX = "endpointslicemirroring-controller/endpoints";

export type MirroringClient = EndpointSliceClient;

export interface EndpointSliceMirroringControllerOptions {
  client: MirroringClient;
  endpoints: Informer<Endpoints>;
  slices: Informer<EndpointSlice>;
  services: Informer<Service>;
  recorder: EventRecorder;
  /** --mirroring-concurrent-service-endpoint-syncs, 1..50 (default 5). */
  workers?: number;
  /** --mirroring-max-endpoints-per-subset, 1..1000 (default 1000). */
  maxEndpointsPerSubset?: number;
  /** --mirroring-endpointslice-updates-batch-period: how long a slice change waits before its sync (default 0). */
  updatesBatchPeriodMs?: number;
  clock?: Clock;
  logger?: Logger;
  metrics?: Registry;
}

export class EndpointSliceMirroringController implements Controller {
  readonly name = NAME;
  readonly queue: RateLimitingQueue;
  readonly reconciler: EndpointSliceReconciler;
  private readonly endpoints: Informer<Endpoints>;
  private readonly slices: Informer<EndpointSlice>;
  private readonly services: Informer<Service>;
  private readonly recorder: EventRecorder;
  private readonly workers: number;
  private readonly maxPerSubset: number;
  private readonly batchPeriodMs: number;
  private readonly logger: Logger;

  constructor(opts: EndpointSliceMirroringControllerOptions) {
    this.workers = opts.workers ?? 5;
    this.maxPerSubset = opts.maxEndpointsPerSubset ?? MAX_ENDPOINTS_PER_SUBSET;
    this.batchPeriodMs = opts.updatesBatchPeriodMs ?? 0;
    for (const error of validateMirroringOptions(this.workers, this.maxPerSubset)) throw new Error(error);
    this.endpoints = opts.endpoints;
    this.slices = opts.slices;
    this.services = opts.services;
    this.recorder = opts.recorder;
    this.logger = opts.logger ?? silentLogger();
    this.queue = newControllerQueue("endpoint_slice_mirroring", { clock: opts.clock ?? realClock, metrics: opts.metrics });
    this.reconciler = new EndpointSliceReconciler({ client: opts.client, slices: this.slices, managedBy: MIRRORING_MANAGED_BY, indexName: ENDPOINTS_INDEX });

    this.services.addEventHandler({
      onAdd: (svc) => { if (!hasSelector(svc)) this.queue.add(keyOf(svc)); },
      onUpdate: (old, svc) => { if (hasSelector(old) !== hasSelector(svc)) this.queue.add(keyOf(svc)); },
      onDelete: (obj) => {
        const svc = unwrapTombstone(obj);
        if (!hasSelector(svc)) this.queue.add(keyOf(svc));
      },
    });
    this.endpoints.addEventHandler({
      onAdd: (ep) => { if (shouldMirror(ep)) this.queue.add(keyOf(ep)); },
      // Also when it stops qualifying: its slices must go.
      onUpdate: (old, ep) => { if (shouldMirror(old) || shouldMirror(ep)) this.queue.add(keyOf(ep)); },
      onDelete: (obj) => {
        const ep = unwrapTombstone(obj);
        if (shouldMirror(ep)) this.queue.add(keyOf(ep));
      },
    });
    this.slices.addEventHandler({
      onAdd: (slice) => { if (isMirrored(slice)) this.enqueueForSlice(slice); },
      onUpdate: (old, slice) => {
        if (old.metadata.labels?.[SERVICE_NAME_LABEL] !== slice.metadata.labels?.[SERVICE_NAME_LABEL]) {
          this.enqueueForSlice(old);
          this.enqueueForSlice(slice);
        } else if (isMirrored(old) || isMirrored(slice)) {
          this.enqueueForSlice(slice);
        }
      },
      onDelete: (obj) => {
        const slice = unwrapTombstone(obj);
        if (this.reconciler.sliceGone(slice) !== undefined) this.enqueueForSlice(slice);
      },
    });
  }

  run(signal: AbortSignal): Promise<void> {
    return runWorkers({
      queue: this.queue,
      workers: this.workers,
      sync: (key) => this.sync(key),
      informers: [this.endpoints, this.slices, this.services],
      logger: this.logger,
      signal,
      onStart: () => {
        this.logger.info({ workers: this.workers }, "Starting EndpointSliceMirroring controller");
      },
      logFailure: sliceSyncFailureLogger(this.logger, this.queue, "Error mirroring EndpointSlices for Endpoints, retrying"),
    });
  }

  /** Makes the mirrored slices of Endpoints `key` ("namespace/name") match it, or deletes them. */
  async sync(key: string): Promise<void> {
    const { namespace } = splitKey(key);
    const endpoints = this.endpoints.lister.get(key);
    const svc = this.services.lister.get(key);
    const existing = this.reconciler.slicesOf(key);
    if (!endpoints || !shouldMirror(endpoints) || !svc || hasSelector(svc)) {
      this.reconciler.forget(key);
      await this.reconciler.deleteAll(key, existing);
      return;
    }
    this.reconciler.checkCache(key, namespace);

    const desired = desiredEndpoints(endpoints, this.maxPerSubset);
    if (desired.invalid > 0) {
      this.recorder.event(endpoints, "Warning", INVALID_IP_ADDRESS, `Skipped ${desired.invalid} invalid IP addresses when mirroring to EndpointSlices`);
    }
    if (desired.skipped > desired.invalid) {
      this.recorder.event(endpoints, "Warning", TOO_MANY_ADDRESSES_TO_MIRROR, `A max of ${this.maxPerSubset} addresses can be mirrored to EndpointSlices per Endpoints subset. ${desired.skipped} addresses were skipped`);
    }
    const plan = planMirroredSlices(endpoints, existing, desired.groups, this.maxPerSubset);
    await this.reconciler.apply(key, namespace, plan, { skipCreates: endpoints.metadata.deletionTimestamp !== undefined, stopOnNamespaceTerminating: true });
    if (plan.create.length + plan.update.length + plan.delete.length > 0) {
      this.logger.debug({ endpoints: key, created: plan.create.length, updated: plan.update.length, deleted: plan.delete.length }, "Mirrored Endpoints to EndpointSlices");
    }
  }

  private enqueueForSlice(slice: Readonly<EndpointSlice>): void {
    const key = endpointsKeyOf(slice);
    if (!key) return;
    if (this.batchPeriodMs > 0) this.queue.addAfter(key, this.batchPeriodMs);
    else this.queue.add(key);
  }
}

/** Kubernetes' flag validation messages for the mirroring options; empty when both are in range. */
export function validateMirroringOptions(workers: number, maxEndpointsPerSubset: number): string[] {
  const errors: string[] = [];
  if (!Number.isInteger(workers) || workers < 1) errors.push(`mirroring-concurrent-service-endpoint-syncs must not be less than 1, but got ${workers}`);
  else if (workers > 50) errors.push(`mirroring-concurrent-service-endpoint-syncs must not be more than 50, but got ${workers}`);
  if (!Number.isInteger(maxEndpointsPerSubset) || maxEndpointsPerSubset < 1) errors.push(`mirroring-max-endpoints-per-subset must not be less than 1, but got ${maxEndpointsPerSubset}`);
  else if (maxEndpointsPerSubset > 1000) errors.push(`mirroring-max-endpoints-per-subset must not be more than 1000, but got ${maxEndpointsPerSubset}`);
  return errors;
}

export const createEndpointSliceMirroringController: ControllerFactory = (ctx) =>
  new EndpointSliceMirroringController({
    client: ctx.client,
    endpoints: ctx.informers.forResource<Endpoints>(ENDPOINTS),
    slices: ctx.informers.forResource<EndpointSlice>(ENDPOINT_SLICES),
    services: ctx.informers.forResource<Service>(SERVICES),
    recorder: ctx.recorder(COMPONENT),
    ...(ctx.config.mirroringConcurrentServiceEndpointSyncs !== undefined ? { workers: ctx.config.mirroringConcurrentServiceEndpointSyncs } : {}),
    ...(ctx.config.mirroringMaxEndpointsPerSubset !== undefined ? { maxEndpointsPerSubset: ctx.config.mirroringMaxEndpointsPerSubset } : {}),
    ...(ctx.config.mirroringEndpointSliceUpdatesBatchPeriodMs !== undefined ? { updatesBatchPeriodMs: ctx.config.mirroringEndpointSliceUpdatesBatchPeriodMs } : {}),
    clock: ctx.clock,
    logger: ctx.logger.child({ controller: NAME }),
    metrics: ctx.metrics,
  });

// ---------------------------------------------------------------------------------------------------------------
// Builders (pure; tests reuse them)

/** Kubernetes tests `spec.selector == nil`: an empty selector still counts as one. */
export function hasSelector(svc: Readonly<Service>): boolean {
  return svc.spec?.selector !== undefined && svc.spec.selector !== null;
}

export function shouldMirror(endpoints: Readonly<Endpoints>): boolean {
  return endpoints.metadata.labels?.[SKIP_MIRROR_LABEL] !== "true" && endpoints.metadata.annotations?.[LEADER_ANNOTATION] === undefined;
}

export function isMirrored(slice: Readonly<EndpointSlice>): boolean {
  return slice.metadata.labels?.[MANAGED_BY_LABEL] === MIRRORING_MANAGED_BY;
}

/** The address types mirrored (an Endpoints holds IPs only). */
export type IPFamily = "IPv4" | "IPv6";

/** The address type of an IP, or undefined when it is none. An IPv4-mapped IPv6 address counts as IPv4, like Go's To4. */
export function addressTypeOf(ip: string): IPFamily | undefined {
  if (isIPv4(ip)) return "IPv4";
  if (!isIPv6(ip)) return undefined;
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(ip) ? "IPv4" : "IPv6";
}

export interface MirrorGroup {
  addressType: IPFamily;
  ports: EndpointSlicePort[];
  /** By address+hostname, in Endpoints order; a later duplicate replaces the earlier one. */
  endpoints: Map<string, Endpoint>;
}

export interface DesiredMirror {
  /** Key: groupKey(addressType, ports). Every subset's port list has a group per address type, maybe empty. */
  groups: Map<string, MirrorGroup>;
  /** Addresses that are no IP. */
  invalid: number;
  /** Addresses not mirrored: the invalid ones plus those past maxEndpointsPerSubset. */
  skipped: number;
}

export function groupKey(addressType: IPFamily, ports: readonly EndpointSlicePort[]): string {
  return `${addressType}-${stableJson(ports)}`;
}

export function slicePorts(ports: readonly EndpointPort[] | undefined): EndpointSlicePort[] {
  return (ports ?? []).map((p): EndpointSlicePort => ({
    name: p.name ?? "",
    port: p.port,
    protocol: p.protocol ?? "TCP",
    ...(p.appProtocol !== undefined ? { appProtocol: p.appProtocol } : {}),
  }));
}

/** The endpoints each (address type, port list) should have: see the file comment. */
export function desiredEndpoints(endpoints: Readonly<Endpoints>, maxPerSubset: number): DesiredMirror {
  const groups = new Map<string, MirrorGroup>();
  let invalid = 0;
  let skipped = 0;
  for (const subset of endpoints.subsets ?? []) {
    const ports = slicePorts(subset.ports);
    for (const addressType of ["IPv4", "IPv6"] as const) {
      const key = groupKey(addressType, ports);
      if (!groups.has(key)) groups.set(key, { addressType, ports, endpoints: new Map() });
    }
    const all: [EndpointAddress, boolean][] = [
      ...(subset.addresses ?? []).map((a): [EndpointAddress, boolean] => [a, true]),
      ...(subset.notReadyAddresses ?? []).map((a): [EndpointAddress, boolean] => [a, false]),
    ];
    let added = 0;
    for (const [address, ready] of all) {
      if (added >= maxPerSubset) break;
      const addressType = addressTypeOf(address.ip);
      if (!addressType) {
        invalid++;
        continue;
      }
      const endpoint = endpointFor(address, ready);
      groups.get(groupKey(addressType, ports))!.endpoints.set(endpointIdentity(endpoint), endpoint);
      added++;
    }
    skipped += all.length - added;
  }
  return { groups, invalid, skipped };
}

export function endpointFor(address: Readonly<EndpointAddress>, ready: boolean): Endpoint {
  const endpoint: Endpoint = { addresses: [address.ip], conditions: { ready } };
  if (address.hostname) endpoint.hostname = address.hostname;
  if (address.targetRef) endpoint.targetRef = structuredClone(address.targetRef);
  if (address.nodeName !== undefined) endpoint.nodeName = address.nodeName;
  return endpoint;
}

/** Kubernetes' endpoint hash: the sorted addresses and the hostname. */
function endpointIdentity(endpoint: Readonly<Endpoint>): string {
  return stableJson({ addresses: [...endpoint.addresses].sort(), hostname: endpoint.hostname ?? "" });
}

/** The mirrored slices' labels: the Endpoints' own, then service-name and managed-by. */
export function mirroredLabels(endpoints: Readonly<Endpoints>): Record<string, string> {
  return { ...endpoints.metadata.labels, [SERVICE_NAME_LABEL]: endpoints.metadata.name ?? "", [MANAGED_BY_LABEL]: MIRRORING_MANAGED_BY };
}

/** The Endpoints' annotations without the two that describe the Endpoints object itself. */
export function mirroredAnnotations(endpoints: Readonly<Endpoints>): Record<string, string> {
  const { [LAST_CHANGE_TRIGGER_TIME]: _trigger, [LAST_APPLIED_ANNOTATION]: _applied, ...annotations } = endpoints.metadata.annotations ?? {};
  return annotations;
}

export function ownerReferenceFor(endpoints: Readonly<Endpoints>): OwnerReference {
  return newControllerRef(endpoints, "v1", "Endpoints");
}

/** generateName `<name>-`, unless that is too long for a name prefix (Kubernetes then uses the bare name). */
export function slicePrefix(name: string): string {
  return name.length + 1 > 58 ? name : `${name}-`;
}

export function newMirroredSlice(endpoints: Readonly<Endpoints>, group: Readonly<MirrorGroup>, sliceEndpoints: Endpoint[]): EndpointSlice {
  return newEndpointSlice({
    generateName: slicePrefix(endpoints.metadata.name ?? ""),
    namespace: endpoints.metadata.namespace ?? "",
    labels: mirroredLabels(endpoints),
    annotations: mirroredAnnotations(endpoints),
    owner: ownerReferenceFor(endpoints),
    addressType: group.addressType,
    ports: structuredClone(group.ports),
    endpoints: sliceEndpoints,
  });
}

export type MirrorPlan = SliceChanges;

/** The writes that turn `existing` (our slices of these Endpoints) into `desired`: see the file comment. */
export function planMirroredSlices(endpoints: Readonly<Endpoints>, existing: readonly Readonly<EndpointSlice>[], desired: ReadonlyMap<string, MirrorGroup>, maxPerSlice: number): MirrorPlan {
  const plan: MirrorPlan = { create: [], update: [], delete: [] };
  const byKey = groupSlices(existing, sliceGroupKey);
  const labels = endpoints.metadata.labels ?? {};
  const annotations = mirroredAnnotations(endpoints);

  for (const [key, group] of desired) {
    const slices = byKey.get(key) ?? [];
    byKey.delete(key);
    if (group.endpoints.size === 0) {
      plan.delete.push(...slices);
      continue;
    }
    const [first, ...extra] = slices;
    plan.delete.push(...extra);
    if (first && !endpointsChanged(first, group) && sameJson(labelsBeyondOurs(first), labels) && sameJson(first.metadata.annotations ?? {}, annotations)) continue;
    const slice = newMirroredSlice(endpoints, group, [...group.endpoints.values()].slice(0, maxPerSlice));
    if (first) plan.update.push(replacing(slice, first));
    else plan.create.push(slice);
  }
  // Port lists the Endpoints no longer has.
  for (const slices of byKey.values()) plan.delete.push(...slices);
  recycleSlices(plan);
  return plan;
}

/** A create and a delete of the same address type become one update of the slice that was to go. */
function recycleSlices(plan: MirrorPlan): void {
  for (let i = 0; i < plan.create.length;) {
    const created = plan.create[i]!;
    const reuse = plan.delete.findIndex((s) => s.addressType === created.addressType);
    if (reuse < 0) {
      i++;
      continue;
    }
    const [old] = plan.delete.splice(reuse, 1);
    plan.create.splice(i, 1);
    plan.update.push(replacing(created, old!));
  }
}

/**
 * `slice` written over `old`: its name, and its resourceVersion so a concurrent change conflicts and the sync is
 * retried (Kubernetes writes unconditionally; the tracker makes the two equivalent for our own writes).
 */
function replacing(slice: EndpointSlice, old: Readonly<EndpointSlice>): EndpointSlice {
  const { generateName: _generateName, ...metadata } = slice.metadata;
  return { ...slice, metadata: { ...metadata, name: old.metadata.name ?? "", ...(old.metadata.resourceVersion ? { resourceVersion: old.metadata.resourceVersion } : {}) } };
}

/** The group an existing slice belongs to; a slice of another address type (FQDN) matches none and is deleted. */
function sliceGroupKey(slice: Readonly<EndpointSlice>): string {
  if (slice.addressType !== "IPv4" && slice.addressType !== "IPv6") return `${slice.addressType}-`;
  return groupKey(slice.addressType, slicePorts((slice.ports ?? []).map((p) => ({ ...p, port: p.port ?? 0 }))));
}

/** Whether the slice's endpoints differ from the group's (Kubernetes' added/updated/removed totals, all zero). */
function endpointsChanged(slice: Readonly<EndpointSlice>, group: Readonly<MirrorGroup>): boolean {
  let matches = 0;
  for (const have of slice.endpoints ?? []) {
    const want = group.endpoints.get(endpointIdentity(have));
    if (!want) return true;
    matches++;
    if (!sameEndpointBeyondIdentity(want, have)) return true;
  }
  return matches !== group.endpoints.size;
}

function sameEndpointBeyondIdentity(a: Readonly<Endpoint>, b: Readonly<Endpoint>): boolean {
  const refWithoutVersion = (e: Readonly<Endpoint>): unknown => (e.targetRef ? { ...e.targetRef, resourceVersion: undefined } : undefined);
  return (a.nodeName ?? "") === (b.nodeName ?? "")
    && (a.zone ?? "") === (b.zone ?? "")
    && a.conditions?.ready === b.conditions?.ready
    && a.conditions?.serving === b.conditions?.serving
    && a.conditions?.terminating === b.conditions?.terminating
    && sameJson(refWithoutVersion(a), refWithoutVersion(b));
}

function labelsBeyondOurs(slice: Readonly<EndpointSlice>): Record<string, string> {
  const { [MANAGED_BY_LABEL]: _managedBy, [SERVICE_NAME_LABEL]: _service, ...rest } = slice.metadata.labels ?? {};
  return rest;
}

function endpointsKeyOf(slice: Readonly<EndpointSlice>): string | undefined {
  const name = slice.metadata.labels?.[SERVICE_NAME_LABEL];
  return name ? `${slice.metadata.namespace ?? ""}/${name}` : undefined;
}

function keyOf(obj: Readonly<KubeObject>): string {
  return `${obj.metadata.namespace ?? ""}/${obj.metadata.name ?? ""}`;
}
