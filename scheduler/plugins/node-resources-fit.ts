// NodeResourcesFit: the pod's requests (cpu, memory, ephemeral-storage, extended resources) must fit in what the
// node's status.allocatable leaves after the pods already on it (bound and assumed), and the node must have room
// for one more pod (allocatable pods). Scoring (args.scoringStrategy.type): LeastAllocated (default) prefers
// emptier nodes, MostAllocated fuller ones; per resource weight, as Kubernetes computes them.
import { isRecord } from "../../api/meta.js";
import type { Pod } from "../../api/types/index.js";
import { MAX_NODE_SCORE, Status, StateKey, type CycleState, type FilterPlugin, type Handle, type PreFilterPlugin, type PreScorePlugin, type ScorePlugin } from "../framework/interface.js";
import { podInfoOf, type NodeInfo, type Resource } from "../framework/node-info.js";
import { allocatableAndRequested, podRequestsFor, resourceKinds, resourceSpecsFrom, type ResourceSpec } from "./resource-allocation.js";

export const NAME = "NodeResourcesFit";
export const ERR_REASON_TOO_MANY_PODS = "Too many pods";

/** "Insufficient cpu", "Insufficient memory", "Insufficient nvidia.com/gpu". */
export function insufficientReason(resource: string): string {
  return `Insufficient ${resource}`;
}

export type ScoringStrategy = "LeastAllocated" | "MostAllocated";

const REQUESTS = new StateKey<Readonly<Resource>>(`${NAME}/requests`);
const SCORE_REQUESTS = new StateKey<readonly number[]>(`${NAME}/score`);

export class NodeResourcesFit implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = NAME;
  // Scratch arrays reused across nodes: the score loop allocates nothing.
  private readonly alloc: number[];
  private readonly req: number[];
  private readonly kinds: number[];
  private readonly weights: number[];

  constructor(
    private readonly strategy: ScoringStrategy = "LeastAllocated",
    private readonly resources: readonly ResourceSpec[] = [
      { name: "cpu", weight: 1 },
      { name: "memory", weight: 1 },
    ],
  ) {
    this.alloc = resources.map(() => 0);
    this.req = resources.map(() => 0);
    this.kinds = resourceKinds(resources);
    this.weights = resources.map((r) => r.weight);
  }

  preFilter(state: CycleState, pod: Readonly<Pod>): Status {
    state.write(REQUESTS, podInfoOf(pod).requests);
    return Status.SUCCESS;
  }

  filter(state: CycleState, pod: Readonly<Pod>, nodeInfo: NodeInfo): Status {
    const reasons = insufficientResources(state.read(REQUESTS) ?? podInfoOf(pod).requests, nodeInfo);
    return reasons === undefined ? Status.SUCCESS : new Status("Unschedulable", reasons);
  }

  preScore(state: CycleState, pod: Readonly<Pod>): Status {
    state.write(SCORE_REQUESTS, podRequestsFor(pod, this.resources, true));
    return Status.SUCCESS;
  }

  score(state: CycleState, pod: Readonly<Pod>, nodeInfo: NodeInfo): number {
    const podReqs = state.read(SCORE_REQUESTS) ?? podRequestsFor(pod, this.resources, true);
    allocatableAndRequested(nodeInfo, this.resources, this.kinds, podReqs, true, this.alloc, this.req);
    const least = this.strategy === "LeastAllocated";
    let total = 0;
    let weights = 0;
    for (let i = 0; i < this.kinds.length; i++) {
      const capacity = this.alloc[i]!;
      if (capacity === 0) continue;
      const weight = this.weights[i]!;
      total += (least ? leastRequestedScore(this.req[i]!, capacity) : mostRequestedScore(this.req[i]!, capacity)) * weight;
      weights += weight;
    }
    return weights === 0 ? 0 : Math.trunc(total / weights);
  }
}

/** Kubernetes' fitsRequest: every reason the node cannot take the pod, or undefined when it can. */
function insufficientResources(req: Readonly<Resource>, nodeInfo: NodeInfo): string[] | undefined {
  let reasons: string[] | undefined;
  if (nodeInfo.pods.size + 1 > nodeInfo.allowedPodNumber) (reasons ??= []).push(ERR_REASON_TOO_MANY_PODS);
  const alloc = nodeInfo.allocatable;
  const used = nodeInfo.requested;
  if (req.milliCPU > 0 && req.milliCPU > alloc.milliCPU - used.milliCPU) (reasons ??= []).push(insufficientReason("cpu"));
  if (req.memory > 0 && req.memory > alloc.memory - used.memory) (reasons ??= []).push(insufficientReason("memory"));
  if (req.ephemeralStorage > 0 && req.ephemeralStorage > alloc.ephemeralStorage - used.ephemeralStorage) (reasons ??= []).push(insufficientReason("ephemeral-storage"));
  if (req.scalar.size > 0) {
    for (const [name, amount] of req.scalar) {
      if (amount === 0) continue;
      if (amount > (alloc.scalar.get(name) ?? 0) - (used.scalar.get(name) ?? 0)) (reasons ??= []).push(insufficientReason(name));
    }
  }
  return reasons;
}

/** (capacity − requested) · 100 / capacity, 0 when over capacity (integer division, as Go). */
function leastRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.trunc(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

/** requested · 100 / capacity, capped at 100. */
function mostRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0) return 0;
  return Math.trunc((Math.min(requested, capacity) * MAX_NODE_SCORE) / capacity);
}

/** args: { scoringStrategy?: { type?: "LeastAllocated" | "MostAllocated", resources?: [{name, weight}] } }. */
export function create(args: unknown, _handle: Handle): NodeResourcesFit {
  const strategy = isRecord(args) && isRecord(args.scoringStrategy) ? args.scoringStrategy : {};
  const type = strategy.type ?? "LeastAllocated";
  if (type !== "LeastAllocated" && type !== "MostAllocated") throw new Error(`${NAME}: scoringStrategy.type ${JSON.stringify(type)} is not supported (LeastAllocated, MostAllocated)`);
  return new NodeResourcesFit(type, resourceSpecsFrom(strategy, NAME));
}
