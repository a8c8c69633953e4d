// NodeAffinity: spec.nodeSelector and requiredDuringSchedulingIgnoredDuringExecution must both match the node
// (Filter); preferredDuringSchedulingIgnoredDuringExecution terms add their weights (Score, normalized so the best
// node gets 100).
import type { Pod } from "../../api/types/index.js";
import { compileNodeSelectorTerm, requiredMatcher, type NodeMatcher } from "../framework/helpers.js";
import { defaultNormalizeScore, Status, StateKey, type CycleState, type FilterPlugin, type Handle, type PreFilterPlugin, type PreScorePlugin, type ScorePlugin } from "../framework/interface.js";
import type { NodeInfo } from "../framework/node-info.js";

export const NAME = "NodeAffinity";
export const ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector";

const REQUIRED = new StateKey<NodeMatcher>(`${NAME}/required`);
const PREFERRED = new StateKey<readonly { weight: number; matches: NodeMatcher }[]>(`${NAME}/preferred`);

export class NodeAffinity implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = NAME;

  preFilter(state: CycleState, pod: Readonly<Pod>): Status {
    const matcher = requiredMatcher(pod);
    if (!matcher) return Status.SKIP;
    state.write(REQUIRED, matcher);
    return Status.SUCCESS;
  }

  filter(state: CycleState, pod: Readonly<Pod>, nodeInfo: NodeInfo): Status {
    const node = nodeInfo.node;
    if (!node) return Status.unresolvable(ERR_REASON_POD);
    const matcher = state.read(REQUIRED) ?? requiredMatcher(pod);
    if (!matcher || matcher(node)) return Status.SUCCESS;
    return Status.unresolvable(ERR_REASON_POD);
  }

  preScore(state: CycleState, pod: Readonly<Pod>): Status {
    const terms = pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    const preferred = terms.filter((t) => t.weight !== 0).map((t) => ({ weight: t.weight, matches: compileNodeSelectorTerm(t.preference) }));
    if (preferred.length === 0) return Status.SKIP;
    state.write(PREFERRED, preferred);
    return Status.SUCCESS;
  }

  /** The sum of the weights of the preferred terms the node matches. */
  score(state: CycleState, _pod: Readonly<Pod>, nodeInfo: NodeInfo): number {
    const node = nodeInfo.node;
    if (!node) return 0;
    let total = 0;
    for (const term of state.read(PREFERRED) ?? []) if (term.matches(node)) total += term.weight;
    return total;
  }

  normalizeScores(_state: CycleState, _pod: Readonly<Pod>, _nodes: readonly NodeInfo[], scores: number[]): void {
    defaultNormalizeScore(scores, false);
  }
}

export function create(_args: unknown, _handle: Handle): NodeAffinity {
  return new NodeAffinity();
}
