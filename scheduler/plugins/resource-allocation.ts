// Shared by NodeResourcesFit's scoring and NodeResourcesBalancedAllocation (k8s noderesources/resource_allocation.go):
// per configured resource, the node's allocatable and what would be requested with the pod on it.
import { isRecord } from "../../api/meta.js";
import type { Pod } from "../../api/types/index.js";
import { podInfoOf, type NodeInfo, type Resource } from "../framework/node-info.js";

/** A resource and its weight in a score (ResourceSpec). */
export interface ResourceSpec {
  name: string;
  weight: number;
}

export const DEFAULT_RESOURCES: readonly ResourceSpec[] = [
  { name: "cpu", weight: 1 },
  { name: "memory", weight: 1 },
];

/** `args.resources` as ResourceSpecs (weights default to 1), or the default cpu+memory. Throws on a malformed entry. */
export function resourceSpecsFrom(args: unknown, plugin: string): readonly ResourceSpec[] {
  const list = isRecord(args) ? args.resources : undefined;
  if (list === undefined) return DEFAULT_RESOURCES;
  if (!Array.isArray(list)) throw new Error(`${plugin}: args.resources must be a list`);
  return list.map((entry: unknown, i) => {
    if (!isRecord(entry) || typeof entry.name !== "string" || entry.name === "") throw new Error(`${plugin}: args.resources[${i}].name is required`);
    const weight = entry.weight ?? 1;
    if (typeof weight !== "number" || !Number.isInteger(weight) || weight < 1 || weight > 100) throw new Error(`${plugin}: args.resources[${i}].weight must be an integer in 1..100`);
    return { name: entry.name, weight };
  });
}

export function amountOf(r: Readonly<Resource>, name: string): number {
  switch (name) {
    case "cpu":
      return r.milliCPU;
    case "memory":
      return r.memory;
    case "ephemeral-storage":
      return r.ephemeralStorage;
    default:
      return r.scalar.get(name) ?? 0;
  }
}

/**
 * The pod's request of each resource: with Kubernetes' non-zero defaults for cpu and memory when `nonZero` (how
 * LeastAllocated scores best-effort pods), or as written otherwise (BalancedAllocation).
 */
export function podRequestsFor(pod: Readonly<Pod>, resources: readonly ResourceSpec[], nonZero: boolean): number[] {
  const info = podInfoOf(pod);
  return resources.map(({ name }) => {
    if (nonZero && name === "cpu") return info.nonZeroMilliCPU;
    if (nonZero && name === "memory") return info.nonZeroMemory;
    return amountOf(info.requests, name);
  });
}

const CPU = 0;
const MEMORY = 1;
const EPHEMERAL = 2;
const SCALAR = 3;

/** Resolves resource names once, so the per-node loop switches on small integers instead of strings. */
export function resourceKinds(resources: readonly ResourceSpec[]): number[] {
  return resources.map(({ name }) => (name === "cpu" ? CPU : name === "memory" ? MEMORY : name === "ephemeral-storage" ? EPHEMERAL : SCALAR));
}

/** Writes the node's allocatable and requested-with-the-pod per resource into the given arrays. */
export function allocatableAndRequested(nodeInfo: NodeInfo, resources: readonly ResourceSpec[], kinds: readonly number[], podRequests: readonly number[], nonZero: boolean, allocatable: number[], requested: number[]): void {
  const alloc = nodeInfo.allocatable;
  const used = nodeInfo.requested;
  for (let i = 0; i < kinds.length; i++) {
    let a: number;
    let onNode: number;
    switch (kinds[i]!) {
      case CPU:
        a = alloc.milliCPU;
        onNode = nonZero ? nodeInfo.nonZeroMilliCPU : used.milliCPU;
        break;
      case MEMORY:
        a = alloc.memory;
        onNode = nonZero ? nodeInfo.nonZeroMemory : used.memory;
        break;
      case EPHEMERAL:
        a = alloc.ephemeralStorage;
        onNode = used.ephemeralStorage;
        break;
      default: {
        const name = resources[i]!.name;
        a = alloc.scalar.get(name) ?? 0;
        onNode = used.scalar.get(name) ?? 0;
      }
    }
    allocatable[i] = a;
    requested[i] = onNode + (podRequests[i] ?? 0);
  }
}
