// The endpoints controller (Kubernetes' pkg/controller/endpoint): for every Service with a selector, an Endpoints
// object of the same name listing the pods it selects.
//
// Contract:
//   - Ready pods go to `addresses`, the others to `notReadyAddresses` (all to `addresses` with
//     publishNotReadyAddresses). Pods without an IP, finished pods, and terminating pods (unless
//     publishNotReadyAddresses) are left out.
//   - Ports resolve per pod (a named targetPort through the pod's container ports; a pod without it backs only the
//     other ports), and subsets are packed like Kubernetes' RepackSubsets: one subset per distinct set of
//     addresses, carrying every port those addresses serve; addresses sorted by IP.
//   - The Endpoints carries the Service's labels (plus service.kubernetes.io/headless for headless services) and is
//     written only when its subsets or labels differ.
//   - Services without a selector are never touched: their Endpoints belong to someone else (the apiserver's
//     `default/kubernetes`, or a user). When a Service is gone its Endpoints are deleted, except default/kubernetes.
//   - Created and updated Endpoints carry endpoints.kubernetes.io/last-change-trigger-time (TriggerTimeTracker).
//   - Level-based: every event only enqueues a service key; sync(key) recomputes from the caches.
import { errorMessage, isNotFound } from "../../../api/errors.js";
import type { KubeObject } from "../../../api/meta.js";
import { isPodReady } from "../../../api/pod.js";
import { findResource } from "../../../api/resources.js";
import type { EndpointAddress, EndpointPort, Endpoints, EndpointSubset, Pod, Service } from "../../../api/types/index.js";
import { newControllerQueue, runWorkers } from "../../../client/controller-loop.js";
import { unwrapTombstone, type Informer } from "../../../client/informer.js";
import type { RestClient } from "../../../client/rest.js";
import type { RateLimitingQueue } from "../../../client/workqueue.js";
import { realClock, type Clock } from "../../../component-base/clock.js";
import { silentLogger, type Logger } from "../../../component-base/logging.js";
import type { Registry } from "../../../component-base/metrics.js";
import type { Controller, ControllerFactory } from "../types.js";
import {
  compareIPs,
  compareStrings,
  hasSelector,
  podChangeMatters,
  podsForService,
  resolvePorts,
  serviceKeysForPod,
  shouldPodBeInEndpoints,
  splitKey,
} from "./pod-endpoints.js";
import { LAST_CHANGE_TRIGGER_TIME_ANNOTATION, TriggerTimeTracker, withTriggerTime } from "./trigger-time-tracker.js";

export const NAME = "endpoints";
/** source.component of its events, as in Kubernetes. */
export const COMPONENT = "endpoint-controller";
export const HEADLESS_LABEL = "service.kubernetes.io/headless";
/** Owned by the apiserver (its own address), never by this controller. */
const APISERVER_ENDPOINTS = "default/kubernetes";

export const SERVICES = findResource("", "v1", "services")!;
export const PODS = findResource("", "v1", "pods")!;
export const ENDPOINTS = findResource("", "v1", "endpoints")!;

export type EndpointsClient = Pick<RestClient, "create" | "update" | "delete">;

export interface EndpointsControllerOptions {
  client: EndpointsClient;
  services: Informer<Service>;
  pods: Informer<Pod>;
  endpoints: Informer<Endpoints>;
  /** Parallel syncs (--concurrent-endpoint-syncs); default 5. */
  workers?: number;
  clock?: Clock;
  logger?: Logger;
  /** Where the queue's workqueue_* metrics go. */
  metrics?: Registry;
}

export class EndpointsController implements Controller {
  readonly name = NAME;
  /** Service keys ("namespace/name"); exposed for tests that drain it. */
  readonly queue: RateLimitingQueue;
  private readonly client: EndpointsClient;
  private readonly services: Informer<Service>;
  private readonly pods: Informer<Pod>;
  private readonly endpoints: Informer<Endpoints>;
  private readonly workers: number;
  private readonly logger: Logger;
  private readonly triggerTimes = new TriggerTimeTracker();

  constructor(opts: EndpointsControllerOptions) {
    this.workers = opts.workers ?? 5;
    if (!Number.isInteger(this.workers) || this.workers < 1) throw new Error(`endpoints controller: workers must be a positive integer, got ${this.workers}`);
    this.client = opts.client;
    this.services = opts.services;
    this.pods = opts.pods;
    this.endpoints = opts.endpoints;
    this.logger = opts.logger ?? silentLogger();
    this.queue = newControllerQueue(NAME, { clock: opts.clock ?? realClock, metrics: opts.metrics });

    this.services.addEventHandler({
      onAdd: (svc) => { this.enqueue(svc); },
      onUpdate: (_old, svc) => { this.enqueue(svc); },
      onDelete: (obj) => { this.enqueue(unwrapTombstone(obj)); },
    });
    this.pods.addEventHandler({
      onAdd: (pod) => { this.enqueuePodServices(pod); },
      onUpdate: (oldPod, pod) => {
        if (podChangeMatters(oldPod, pod)) this.enqueuePodServices(pod, oldPod);
      },
      onDelete: (obj) => { this.enqueuePodServices(unwrapTombstone(obj)); },
    });
    // Someone deleted or edited an Endpoints we manage: recompute it (a no-op when it is still right).
    this.endpoints.addEventHandler({
      onUpdate: (_old, ep) => {
        if (this.services.lister.get(keyOf(ep))) this.enqueue(ep);
      },
      onDelete: (obj) => { this.enqueue(unwrapTombstone(obj)); },
    });
  }

  run(signal: AbortSignal): Promise<void> {
    return runWorkers({
      queue: this.queue,
      workers: this.workers,
      sync: (key) => this.sync(key),
      informers: [this.services, this.pods, this.endpoints],
      logger: this.logger,
      signal,
      onStart: () => {
        // Endpoints left behind by services deleted while no controller ran (Kubernetes' checkLeftoverEndpoints).
        for (const key of this.endpoints.lister.listKeys()) if (!this.services.lister.get(key)) this.queue.add(key);
        this.logger.info({ workers: this.workers }, "Starting endpoints controller");
      },
      logFailure: (key, err) => {
        this.logger.warn({ key, err: errorMessage(err), retries: this.queue.numRequeues(key) }, "Syncing endpoints failed; retrying");
      },
    });
  }

  /** Makes the Endpoints of the service `key` match its pods (or removes it when the service is gone). */
  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const svc = this.services.lister.get(key);
    const current = this.endpoints.lister.get(key);
    if (!svc) {
      this.triggerTimes.forget(key);
      if (!current || key === APISERVER_ENDPOINTS) return;
      try {
        await this.client.delete(ENDPOINTS, namespace, name, { preconditions: { uid: current.metadata.uid ?? "" } });
        this.logger.debug({ key }, "Deleted endpoints of a deleted service");
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      return;
    }
    if (!hasSelector(svc)) return;

    const pods = podsForService(svc, this.pods.lister);
    const triggerTime = this.triggerTimes.compute(key, svc, pods);
    const subsets = desiredSubsets(svc, pods);
    const labels = desiredLabels(svc);
    if (current && sameJson(canonicalSubsets(current.subsets ?? []), subsets) && sameJson(current.metadata.labels ?? {}, labels)) return;

    if (!current) {
      const annotations = withTriggerTime(undefined, triggerTime);
      const ep: Endpoints = { apiVersion: "v1", kind: "Endpoints", metadata: { name, namespace, labels, ...(annotations ? { annotations } : {}) }, subsets };
      await this.client.create(ENDPOINTS, namespace, ep);
      this.logger.debug({ key }, "Created endpoints");
      return;
    }
    // The PUT carries the cached resourceVersion: a stale cache gives a 409 and a retry, never a lost update.
    const next = structuredClone(current) as Endpoints;
    next.metadata.labels = labels;
    // No trigger time: the annotation goes, so that it never tells of an older change than this write reflects.
    const { [LAST_CHANGE_TRIGGER_TIME_ANNOTATION]: _previous, ...otherAnnotations } = next.metadata.annotations ?? {};
    const annotations = withTriggerTime(otherAnnotations, triggerTime);
    if (annotations && Object.keys(annotations).length > 0) next.metadata.annotations = annotations;
    else delete next.metadata.annotations;
    next.subsets = subsets;
    await this.client.update(ENDPOINTS, namespace, next);
    this.logger.debug({ key }, "Updated endpoints");
  }

  private enqueue(obj: Readonly<KubeObject>): void {
    this.queue.add(keyOf(obj));
  }

  private enqueuePodServices(pod: Readonly<Pod>, oldPod?: Readonly<Pod>): void {
    const labelSets = oldPod ? [pod.metadata.labels, oldPod.metadata.labels] : [pod.metadata.labels];
    for (const key of serviceKeysForPod(pod.metadata.namespace ?? "", labelSets, this.services.lister)) this.queue.add(key);
  }
}

export const createEndpointsController: ControllerFactory = (ctx) =>
  new EndpointsController({
    client: ctx.client,
    services: ctx.informers.forResource<Service>(SERVICES),
    pods: ctx.informers.forResource<Pod>(PODS),
    endpoints: ctx.informers.forResource<Endpoints>(ENDPOINTS),
    workers: ctx.config.concurrentEndpointSyncs,
    clock: ctx.clock,
    logger: ctx.logger.child({ controller: NAME }),
    // One provider per registry, so the scrape-time gauges see every controller's queue.
    metrics: ctx.metrics,
  });

// ---------------------------------------------------------------------------------------------------------------
// Builders (pure; tests reuse them)

/** The service's labels, plus the headless marker for a service without a cluster IP (Kubernetes does the same). */
export function desiredLabels(svc: Readonly<Service>): Record<string, string> {
  const { [HEADLESS_LABEL]: _headless, ...labels } = svc.metadata.labels ?? {};
  if (svc.spec?.clusterIP === "None") labels[HEADLESS_LABEL] = "";
  return labels;
}

/** The subsets for `svc` over the pods its selector matches, packed and sorted (see the file comment). */
export function desiredSubsets(svc: Readonly<Service>, pods: readonly Readonly<Pod>[]): EndpointSubset[] {
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const headless = svc.spec?.clusterIP === "None";
  const servicePorts = svc.spec?.ports ?? [];
  const flat: EndpointSubset[] = [];
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, publishNotReady)) continue;
    const address = addressFor(svc, pod);
    const ready = publishNotReady || isPodReady(pod);
    const add = (ports: EndpointPort[] | undefined): void => {
      const subset: EndpointSubset = ready ? { addresses: [address] } : { notReadyAddresses: [address] };
      if (ports) subset.ports = ports;
      flat.push(subset);
    };
    if (servicePorts.length === 0) {
      // Only headless services may have no ports: their endpoints are just addresses (for DNS).
      if (headless) add(undefined);
      continue;
    }
    for (const p of resolvePorts(svc, pod)) {
      const port: EndpointPort = { port: p.port, protocol: p.protocol };
      if (p.name !== "") port.name = p.name;
      if (p.appProtocol !== undefined) port.appProtocol = p.appProtocol;
      add([port]);
    }
  }
  return repackSubsets(flat);
}

function addressFor(svc: Readonly<Service>, pod: Readonly<Pod>): EndpointAddress {
  const address: EndpointAddress = {
    ip: pod.status?.podIP ?? "",
    targetRef: { kind: "Pod", namespace: pod.metadata.namespace ?? "", name: pod.metadata.name ?? "", uid: pod.metadata.uid ?? "" },
  };
  if (pod.spec?.nodeName) address.nodeName = pod.spec.nodeName;
  // endpointutil.ShouldSetHostname: the pod asked for a hostname under this service's subdomain.
  if (pod.spec?.hostname && pod.spec.subdomain === svc.metadata.name && pod.metadata.namespace === svc.metadata.namespace) address.hostname = pod.spec.hostname;
  return address;
}

/**
 * Kubernetes' endpoints.RepackSubsets: map every port to the set of addresses (with readiness) serving it, then
 * give each distinct address set one subset with all its ports. An address ready for one subset entry and not
 * for another counts as ready. The result is canonically sorted.
 */
export function repackSubsets(subsets: readonly EndpointSubset[]): EndpointSubset[] {
  const NO_PORT = "<none>";
  const portsByKey = new Map<string, EndpointPort | undefined>();
  const addrsByPort = new Map<string, Map<string, { address: EndpointAddress; ready: boolean }>>();
  const note = (portKey: string, address: EndpointAddress, ready: boolean): void => {
    let set = addrsByPort.get(portKey);
    if (!set) {
      set = new Map();
      addrsByPort.set(portKey, set);
    }
    const key = addressKey(address);
    const seen = set.get(key);
    set.set(key, { address: seen?.address ?? address, ready: ready || (seen?.ready ?? false) });
  };
  for (const ss of subsets) {
    const ports: (EndpointPort | undefined)[] = ss.ports && ss.ports.length > 0 ? ss.ports : [undefined];
    for (const port of ports) {
      const portKey = port ? stableJson(port) : NO_PORT;
      portsByKey.set(portKey, port);
      for (const a of ss.addresses ?? []) note(portKey, a, true);
      for (const a of ss.notReadyAddresses ?? []) note(portKey, a, false);
    }
  }
  const groups = new Map<string, { addrs: { address: EndpointAddress; ready: boolean }[]; ports: EndpointPort[] }>();
  for (const [portKey, set] of addrsByPort) {
    const addrs = [...set.entries()].sort(([a], [b]) => compareStrings(a, b)).map(([, v]) => v);
    const groupKey = addrs.map((a) => `${addressKey(a.address)}=${a.ready}`).join(";");
    let group = groups.get(groupKey);
    if (!group) {
      group = { addrs, ports: [] };
      groups.set(groupKey, group);
    }
    const port = portsByKey.get(portKey);
    if (port) group.ports.push(port);
  }
  const out: EndpointSubset[] = [];
  for (const { addrs, ports } of groups.values()) {
    const subset: EndpointSubset = {};
    const ready = addrs.filter((a) => a.ready).map((a) => a.address);
    const notReady = addrs.filter((a) => !a.ready).map((a) => a.address);
    if (ready.length > 0) subset.addresses = ready;
    if (notReady.length > 0) subset.notReadyAddresses = notReady;
    if (ports.length > 0) subset.ports = ports;
    out.push(subset);
  }
  return canonicalSubsets(out);
}

/** Sorts addresses by IP (then target uid), ports by name/port/protocol, and subsets by their first address and ports. */
export function canonicalSubsets(subsets: readonly EndpointSubset[]): EndpointSubset[] {
  const byAddress = (a: EndpointAddress, b: EndpointAddress): number => compareIPs(a.ip, b.ip) || compareStrings(a.targetRef?.uid ?? "", b.targetRef?.uid ?? "");
  const byPort = (a: EndpointPort, b: EndpointPort): number => compareStrings(a.name ?? "", b.name ?? "") || a.port - b.port || compareStrings(a.protocol ?? "", b.protocol ?? "");
  const sorted = subsets.map((ss) => {
    const copy: EndpointSubset = {};
    if (ss.addresses && ss.addresses.length > 0) copy.addresses = [...ss.addresses].sort(byAddress);
    if (ss.notReadyAddresses && ss.notReadyAddresses.length > 0) copy.notReadyAddresses = [...ss.notReadyAddresses].sort(byAddress);
    if (ss.ports && ss.ports.length > 0) copy.ports = [...ss.ports].sort(byPort);
    return copy;
  });
  const sortKey = (ss: EndpointSubset): string => `${firstIP(ss)}|${stableJson(ss.ports ?? [])}`;
  return sorted.sort((a, b) => compareIPs(firstIP(a), firstIP(b)) || compareStrings(sortKey(a), sortKey(b)));
}

function firstIP(ss: EndpointSubset): string {
  return ss.addresses?.[0]?.ip ?? ss.notReadyAddresses?.[0]?.ip ?? "";
}

function addressKey(a: EndpointAddress): string {
  return `${a.ip}/${a.targetRef?.uid ?? ""}`;
}

/** JSON with object keys sorted, so two equal values give one string whatever their key order. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (v === null || typeof v !== "object" || Array.isArray(v)) return v;
    const obj = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(obj).sort().map((k) => [k, obj[k]]));
  });
}

export function sameJson(a: unknown, b: unknown): boolean {
  return stableJson(a) === stableJson(b);
}

function keyOf(obj: Readonly<KubeObject>): string {
  return `${obj.metadata.namespace ?? ""}/${obj.metadata.name ?? ""}`;
}
