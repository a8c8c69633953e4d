// What a pod asks of a node, as Kubernetes counts it: its resource requests (k8s.io/component-helpers/resource
// PodRequests) and the host ports it claims; and what a node offers (status.allocatable). The scheduler's NodeInfo and
// the kubelet's pod admission (pkg/kubelet/lifecycle/predicate.go) must count the same way.
import { parseQuantity, quantityToMilli, quantityValue } from "./quantity.js";
import type { Container, Node, Pod, ResourceList } from "./types/index.js";

/** Kubernetes' defaults for scoring a container that requests nothing (pkg/scheduler/util/pod_resources.go). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

/** Resources in the units the scheduler compares: millicores, bytes, counts. */
export interface Resource {
  milliCPU: number;
  memory: number;
  ephemeralStorage: number;
  /** Extended and other scalar resources (nvidia.com/gpu, hugepages-2Mi, ...), in whole units. */
  scalar: Map<string, number>;
}

export function emptyResource(): Resource {
  return { milliCPU: 0, memory: 0, ephemeralStorage: 0, scalar: new Map() };
}

/** A host port a pod claims: protocol, IP ("0.0.0.0" for all) and port. */
export interface HostPort {
  protocol: string;
  ip: string;
  port: number;
}

/**
 * Kubernetes' PodRequests (k8s.io/component-helpers/resource): the sum over containers, or the largest init
 * container step if that is more, where restartable init containers (sidecars) keep running and add to both.
 * A resource with a limit but no request requests its limit (the apiserver defaults it the same way).
 */
export function podRequests(containers: readonly Container[], initContainers: readonly Container[], nonZero: boolean): Resource {
  const sum = emptyResource();
  for (const c of containers) addResource(sum, containerRequests(c, nonZero));
  const sidecars = emptyResource();
  let initMax = emptyResource();
  for (const c of initContainers) {
    const req = containerRequests(c, nonZero);
    if (c.restartPolicy === "Always") {
      addResource(sidecars, req);
      initMax = maxResource(initMax, sidecars);
    } else {
      const step = emptyResource();
      addResource(step, req);
      addResource(step, sidecars);
      initMax = maxResource(initMax, step);
    }
  }
  addResource(sum, sidecars);
  return maxResource(sum, initMax);
}

function containerRequests(c: Readonly<Container>, nonZero: boolean): Resource {
  const list: ResourceList = { ...c.resources?.limits, ...c.resources?.requests };
  const r = emptyResource();
  for (const [name, value] of Object.entries(list)) {
    switch (name) {
      case "cpu":
        r.milliCPU = milli(value);
        break;
      case "memory":
        r.memory = units(value);
        break;
      case "ephemeral-storage":
        r.ephemeralStorage = units(value);
        break;
      default:
        r.scalar.set(name, units(value));
    }
  }
  if (nonZero) {
    if (!("cpu" in list)) r.milliCPU = DEFAULT_MILLI_CPU_REQUEST;
    if (!("memory" in list)) r.memory = DEFAULT_MEMORY_REQUEST;
  }
  return r;
}

export function hostPortsOf(pod: Readonly<Pod>): HostPort[] {
  const ports: HostPort[] = [];
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort || p.hostPort <= 0) continue;
      ports.push({ protocol: p.protocol ?? "TCP", ip: p.hostIP === undefined || p.hostIP === "" ? "0.0.0.0" : p.hostIP, port: p.hostPort });
    }
  }
  return ports;
}

export function addResource(into: Resource, r: Readonly<Resource>, sign = 1): void {
  into.milliCPU += sign * r.milliCPU;
  into.memory += sign * r.memory;
  into.ephemeralStorage += sign * r.ephemeralStorage;
  for (const [name, v] of r.scalar) into.scalar.set(name, (into.scalar.get(name) ?? 0) + sign * v);
}

function maxResource(a: Resource, b: Resource): Resource {
  const r: Resource = {
    milliCPU: Math.max(a.milliCPU, b.milliCPU),
    memory: Math.max(a.memory, b.memory),
    ephemeralStorage: Math.max(a.ephemeralStorage, b.ephemeralStorage),
    scalar: new Map(a.scalar),
  };
  for (const [name, v] of b.scalar) r.scalar.set(name, Math.max(r.scalar.get(name) ?? 0, v));
  return r;
}

// Quantities repeat ("100m", "128Mi" on every replica): parse each distinct string once.
function cachedQuantity(convert: (q: ReturnType<typeof parseQuantity>) => number): (q: string | number) => number {
  const cache = new Map<string, number>();
  return (q) => {
    const key = String(q);
    let v = cache.get(key);
    if (v === undefined) {
      try {
        v = convert(parseQuantity(q));
      } catch {
        v = 0;
      }
      if (cache.size < 10_000) cache.set(key, v);
    }
    return v;
  };
}

/** A quantity in thousandths (cpu millicores); malformed values count as 0 (the apiserver validated them). */
export const milli: (q: string | number) => number = cachedQuantity(quantityToMilli);

/** A quantity in whole units (bytes, counts); malformed values count as 0. */
export const units: (q: string | number) => number = cachedQuantity(quantityValue);

/** A node's status.allocatable (capacity when allocatable is unset): resources and the number of pods allowed. */
export function nodeAllocatable(node: Readonly<Node>): { resources: Resource; pods: number } {
  const alloc = node.status?.allocatable ?? node.status?.capacity ?? {};
  const resources = emptyResource();
  let pods = 0;
  for (const [name, value] of Object.entries(alloc)) {
    switch (name) {
      case "cpu":
        resources.milliCPU = milli(value);
        break;
      case "memory":
        resources.memory = units(value);
        break;
      case "ephemeral-storage":
        resources.ephemeralStorage = units(value);
        break;
      case "pods":
        pods = units(value);
        break;
      default:
        resources.scalar.set(name, units(value));
    }
  }
  return { resources, pods };
}
