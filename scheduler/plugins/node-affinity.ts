// NodeAffinity: spec.nodeSelector and requiredDuringSchedulingIgnoredDuringExecution must both match the node
// (Filter); preferredDuringSchedulingIgnoredDuringExecution terms add their weights (Score, normalized so the best
// node gets 100).
import type { Node, Pod } from "../../api/types/index.js";
import { compileNodeSelector, compileNodeSelectorTerm, type NodeMatcher } from "../framework/helpers.js";
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

/** nodeSelector AND required affinity, or undefined when the pod has neither. */
function requiredMatcher(pod: Readonly<Pod>): NodeMatcher | undefined {
  const selector = Object.entries(pod.spec?.nodeSelector ?? {});
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (selector.length === 0 && terms === undefined) return undefined;
  const affinity = terms === undefined ? undefined : compileNodeSelector(terms);
  return (node: Readonly<Node>) => {
    const labels = node.metadata.labels ?? {};
    for (const [k, v] of selector) if (labels[k] !== v) return false;
    return affinity ? affinity(node) : true;
  };
}

export function create(_args: unknown, _handle: Handle): NodeAffinity {
  return new NodeAffinity();
}
