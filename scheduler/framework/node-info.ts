// NodeInfo: what the scheduler knows about one node — the Node object, the pods on it (bound and assumed) and the
// sums plugins need per node (requested resources, host ports, pods per owner), kept up to date incrementally so
// every Filter and Score is O(1) arithmetic per node (k8s framework/types.go NodeInfo).
//
// PodInfo holds what the scheduler derives from a pod (requests, ports, owner), computed once per pod object: informer
// objects are frozen and replaced on change, so a WeakMap keyed by the object is an exact cache.
import { addResource, emptyResource, hostPortsOf, nodeAllocatable, podRequests, type HostPort, type Resource } from "../../api/pod-resources.js";
import type { Node, Pod } from "../../api/types/index.js";
import { compileAffinityTerms, hasAnyTerm, type PodAffinityTerms } from "./affinity.js";

export { addResource, DEFAULT_MEMORY_REQUEST, DEFAULT_MILLI_CPU_REQUEST, emptyResource, milli, units, type HostPort, type Resource } from "../../api/pod-resources.js";

/** What the scheduler needs of a pod; see podInfoOf. */
export interface PodInfo {
  readonly pod: Readonly<Pod>;
  /** uid, or namespace/name when the pod has no uid (tests). */
  readonly id: string;
  readonly requests: Readonly<Resource>;
  /** Requests with DEFAULT_* filled in for containers that request no cpu or memory (scoring only). */
  readonly nonZeroMilliCPU: number;
  readonly nonZeroMemory: number;
  readonly hostPorts: readonly HostPort[];
  /** "namespace/uid" of the controlling ownerReference, or undefined. */
  readonly owner: string | undefined;
  /** spec.affinity's pod (anti-)affinity terms, compiled. */
  readonly affinity: PodAffinityTerms;
  /** spec.priority (0 when unset). */
  readonly priority: number;
}

const podInfos = new WeakMap<object, PodInfo>();

/** A count NodeInfo.podCount keeps current. */
interface PodCounter {
  readonly selects: (pod: PodInfo) => boolean;
  count: number;
  /** NodeInfo.counterUses when last read: the least recently read counter is dropped first. */
  lastUsed: number;
}

/** How many podCount keys a node keeps current; each costs one predicate call per pod added or removed. */
export const MAX_POD_COUNTERS = 8;

export function podId(pod: Readonly<Pod>): string {
  return pod.metadata.uid ?? `${pod.metadata.namespace ?? ""}/${pod.metadata.name ?? ""}`;
}

/** The PodInfo of `pod`, computed on first use and cached for the object's life. */
export function podInfoOf(pod: Readonly<Pod>): PodInfo {
  let info = podInfos.get(pod);
  if (!info) {
    info = computePodInfo(pod);
    podInfos.set(pod, info);
  }
  return info;
}

function computePodInfo(pod: Readonly<Pod>): PodInfo {
  const spec = pod.spec;
  const requests = podRequests(spec?.containers ?? [], spec?.initContainers ?? [], false);
  const nonZero = podRequests(spec?.containers ?? [], spec?.initContainers ?? [], true);
  const controller = pod.metadata.ownerReferences?.find((r) => r.controller === true);
  return {
    pod,
    id: podId(pod),
    requests,
    nonZeroMilliCPU: nonZero.milliCPU,
    nonZeroMemory: nonZero.memory,
    hostPorts: hostPortsOf(pod),
    owner: controller ? `${pod.metadata.namespace ?? ""}/${controller.uid}` : undefined,
    affinity: compileAffinityTerms(pod),
    priority: spec?.priority ?? 0,
  };
}


/** One node as the scheduler sees it. Mutated only by the cache. */
export class NodeInfo {
  /** Undefined while pods are known to be bound to a node whose Node object has not been seen (or was deleted). */
  node: Readonly<Node> | undefined;
  readonly pods = new Map<string, PodInfo>();
  /** Sum of the requests of every pod on the node. */
  readonly requested: Resource = emptyResource();
  /** Sum of requests with defaults for containers that request nothing (LeastAllocated, BalancedAllocation). */
  nonZeroMilliCPU = 0;
  nonZeroMemory = 0;
  allocatable: Resource = emptyResource();
  /** status.allocatable.pods. */
  allowedPodNumber = 0;
  /** "protocol/port" → IPs claimed ("0.0.0.0" claims all), one entry per claiming pod. */
  readonly usedPorts = new Map<string, string[]>();
  /** Pods per controlling owner ("namespace/uid"), for spreading. */
  readonly ownerCounts = new Map<string, number>();
  /** Pods with any pod (anti-)affinity term; those with a required anti-affinity term (InterPodAffinity). */
  podsWithAffinity = 0;
  podsWithRequiredAntiAffinity = 0;
  /** status.images: every name of an image → its size in bytes, names normalized (":latest" added). */
  imageSizes = new Map<string, number>();
  /** podCount's counts by key, and how many reads it has served (the counters' clock). */
  private readonly counters = new Map<string, PodCounter>();
  private counterUses = 0;

  constructor(readonly name: string) {}

  setNode(node: Readonly<Node>): void {
    this.node = node;
    const { resources, pods } = nodeAllocatable(node);
    this.allocatable = resources;
    this.allowedPodNumber = pods;
    const images = new Map<string, number>();
    for (const image of node.status?.images ?? []) {
      for (const name of image.names ?? []) images.set(normalizedImageName(name), image.sizeBytes ?? 0);
    }
    this.imageSizes = images;
  }

  addPod(info: PodInfo): void {
    if (this.pods.has(info.id)) this.removePod(info.id);
    this.pods.set(info.id, info);
    this.account(info, 1);
  }

  /** Returns whether the pod was there. */
  removePod(id: string): boolean {
    const info = this.pods.get(id);
    if (!info) return false;
    this.pods.delete(id);
    this.account(info, -1);
    return true;
  }

  /**
   * The number of this node's pods that `selects` accepts. `key` names the predicate (equal keys must select the
   * same pods). The counts of the MAX_POD_COUNTERS keys read last are kept current as pods come and go, so a count
   * every scheduling cycle asks for (PodTopologySpread's, per node and pod) costs a look-up, not a pass over the pods.
   */
  podCount(key: string, selects: (pod: PodInfo) => boolean): number {
    let counter = this.counters.get(key);
    if (counter === undefined) {
      let count = 0;
      for (const p of this.pods.values()) if (selects(p)) count++;
      counter = { selects, count, lastUsed: 0 };
      if (this.counters.size >= MAX_POD_COUNTERS) this.dropLeastRecentlyUsedCounter();
      this.counters.set(key, counter);
    }
    counter.lastUsed = ++this.counterUses;
    return counter.count;
  }

  private dropLeastRecentlyUsedCounter(): void {
    let oldest: string | undefined;
    let oldestUse = Infinity;
    for (const [key, c] of this.counters) {
      if (c.lastUsed < oldestUse) {
        oldest = key;
        oldestUse = c.lastUsed;
      }
    }
    if (oldest !== undefined) this.counters.delete(oldest);
  }

  /** A copy with the same node and pods, for simulating changes (preemption, nominated pods). */
  clone(): NodeInfo {
    const c = new NodeInfo(this.name);
    if (this.node) c.setNode(this.node);
    for (const p of this.pods.values()) c.addPod(p);
    return c;
  }

  private account(info: PodInfo, sign: 1 | -1): void {
    if (hasAnyTerm(info.affinity)) this.podsWithAffinity += sign;
    if (info.affinity.requiredAntiAffinity.length > 0) this.podsWithRequiredAntiAffinity += sign;
    addResource(this.requested, info.requests, sign);
    this.nonZeroMilliCPU += sign * info.nonZeroMilliCPU;
    this.nonZeroMemory += sign * info.nonZeroMemory;
    for (const p of info.hostPorts) {
      const key = `${p.protocol}/${p.port}`;
      const ips = this.usedPorts.get(key) ?? [];
      if (sign > 0) ips.push(p.ip);
      else {
        const i = ips.indexOf(p.ip);
        if (i >= 0) ips.splice(i, 1);
      }
      if (ips.length > 0) this.usedPorts.set(key, ips);
      else this.usedPorts.delete(key);
    }
    if (info.owner !== undefined) {
      const n = (this.ownerCounts.get(info.owner) ?? 0) + sign;
      if (n > 0) this.ownerCounts.set(info.owner, n);
      else this.ownerCounts.delete(info.owner);
    }
    for (const c of this.counters.values()) if (c.selects(info)) c.count += sign;
  }
}

/** An image name as the node reports it: without a tag or digest, ":latest" is meant (ImageLocality). */
export function normalizedImageName(name: string): string {
  return name.lastIndexOf(":") <= name.lastIndexOf("/") ? `${name}:latest` : name;
}
