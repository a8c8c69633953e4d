// TaintToleration: a node's NoSchedule and NoExecute taints keep out pods that do not tolerate them (Filter); among
// the nodes that remain, fewer untolerated PreferNoSchedule taints score higher (Score, normalized reversed).
import { findUntoleratedTaint, taintTolerated } from "../../api/tolerations.js";
import type { Pod, Taint, Toleration } from "../../api/types/index.js";
import { defaultNormalizeScore, Status, StateKey, type CycleState, type FilterPlugin, type Handle, type PreScorePlugin, type ScorePlugin } from "../framework/interface.js";
import type { NodeInfo } from "../framework/node-info.js";

export const NAME = "TaintToleration";

/** Kubernetes' message: `node(s) had untolerated taint {node.kubernetes.io/unreachable: }`. */
export function untoleratedTaintReason(taint: Readonly<Taint>): string {
  return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ""}}`;
}

const PREFER_TOLERATIONS = new StateKey<readonly Readonly<Toleration>[]>(`${NAME}/prefer`);

const blocksScheduling = (t: Readonly<Taint>): boolean => t.effect === "NoSchedule" || t.effect === "NoExecute";

export class TaintToleration implements FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = NAME;

  filter(_state: CycleState, pod: Readonly<Pod>, nodeInfo: NodeInfo): Status {
    const taints = nodeInfo.node?.spec?.taints;
    if (!taints || taints.length === 0) return Status.SUCCESS;
    const taint = findUntoleratedTaint(taints, pod.spec?.tolerations ?? [], blocksScheduling);
    return taint ? Status.unresolvable(untoleratedTaintReason(taint)) : Status.SUCCESS;
  }

  preScore(state: CycleState, pod: Readonly<Pod>): Status {
    // Only tolerations that can apply to PreferNoSchedule taints count (getAllTolerationPreferNoSchedule).
    const tolerations = (pod.spec?.tolerations ?? []).filter((t) => !t.effect || t.effect === "PreferNoSchedule");
    state.write(PREFER_TOLERATIONS, tolerations);
    return Status.SUCCESS;
  }

  /** The number of untolerated PreferNoSchedule taints; normalizeScores turns "fewer" into "higher". */
  score(state: CycleState, _pod: Readonly<Pod>, nodeInfo: NodeInfo): number {
    const taints = nodeInfo.node?.spec?.taints;
    if (!taints || taints.length === 0) return 0;
    const tolerations = state.read(PREFER_TOLERATIONS) ?? [];
    let count = 0;
    for (const taint of taints) {
      if (taint.effect === "PreferNoSchedule" && !taintTolerated(taint, tolerations)) count++;
    }
    return count;
  }

  normalizeScores(_state: CycleState, _pod: Readonly<Pod>, _nodes: readonly NodeInfo[], scores: number[]): void {
    defaultNormalizeScore(scores, true);
  }
}

export function create(_args: unknown, _handle: Handle): TaintToleration {
  return new TaintToleration();
}
