// Matching rules shared by several plugins, as Kubernetes defines them (k8s.io/component-helpers/scheduling/corev1
// and pkg/apis/core/v1/helper). Pure functions. Toleration matching is in api/tolerations.ts, node selector terms in
// api/node-selector.ts (the DaemonSet controller needs them too).
import { compileNodeSelector, type NodeMatcher } from "../../api/node-selector.js";
import type { Node, Pod } from "../../api/types/index.js";

export { compileNodeSelector, compileNodeSelectorTerm, type NodeMatcher } from "../../api/node-selector.js";

/** nodeSelector AND required affinity, or undefined when the pod has neither. */
export function requiredMatcher(pod: Readonly<Pod>): NodeMatcher | undefined {
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
