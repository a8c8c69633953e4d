// NodeResourcesBalancedAllocation: prefers nodes whose cpu and memory (args.resources) would be used in equal
// fractions with the pod on them: score = (1 − standard deviation of the fractions) · 100. Best-effort pods (no
// requests) skip it.
import type { Pod } from "../../api/types/index.js";
import { MAX_NODE_SCORE, Status, StateKey, type CycleState, type Handle, type PreScorePlugin, type ScorePlugin } from "../framework/interface.js";
import type { NodeInfo } from "../framework/node-info.js";
import { allocatableAndRequested, DEFAULT_RESOURCES, podRequestsFor, resourceKinds, resourceSpecsFrom, type ResourceSpec } from "./resource-allocation.js";

export const NAME = "NodeResourcesBalancedAllocation";

const REQUESTS = new StateKey<readonly number[]>(NAME);

export class NodeResourcesBalancedAllocation implements PreScorePlugin, ScorePlugin {
  readonly name = NAME;
  private readonly alloc: number[];
  private readonly req: number[];
  private readonly kinds: number[];

  constructor(private readonly resources: readonly ResourceSpec[] = DEFAULT_RESOURCES) {
    this.alloc = resources.map(() => 0);
    this.req = resources.map(() => 0);
    this.kinds = resourceKinds(resources);
  }

  preScore(state: CycleState, pod: Readonly<Pod>): Status {
    const requests = podRequestsFor(pod, this.resources, false);
    if (requests.every((r) => r === 0)) return Status.SKIP;
    state.write(REQUESTS, requests);
    return Status.SUCCESS;
  }

  score(state: CycleState, pod: Readonly<Pod>, nodeInfo: NodeInfo): number {
    const podReqs = state.read(REQUESTS) ?? podRequestsFor(pod, this.resources, false);
    allocatableAndRequested(nodeInfo, this.resources, this.kinds, podReqs, false, this.alloc, this.req);
    // Fractions overwrite `req` in place (count of them in n): no allocation per node.
    const fractions = this.req;
    let n = 0;
    let total = 0;
    for (let i = 0; i < this.kinds.length; i++) {
      const capacity = this.alloc[i]!;
      if (capacity === 0) continue;
      const f = Math.min(1, this.req[i]! / capacity);
      fractions[n++] = f;
      total += f;
    }
    let std = 0;
    if (n === 2) {
      std = Math.abs((fractions[0]! - fractions[1]!) / 2);
    } else if (n > 2) {
      const mean = total / n;
      let sum = 0;
      for (let i = 0; i < n; i++) sum += (fractions[i]! - mean) * (fractions[i]! - mean);
      std = Math.sqrt(sum / n);
    }
    return Math.trunc((1 - std) * MAX_NODE_SCORE);
  }
}

/** args: { resources?: [{name, weight}] } (default cpu and memory). */
export function create(args: unknown, _handle: Handle): NodeResourcesBalancedAllocation {
  return new NodeResourcesBalancedAllocation(resourceSpecsFrom(args, NAME));
}
