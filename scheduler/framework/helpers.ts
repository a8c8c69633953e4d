// Matching rules shared by several plugins, as Kubernetes defines them (k8s.io/component-helpers/scheduling/corev1
// and pkg/apis/core/v1/helper). Pure functions. Toleration matching is in api/tolerations.ts, node selector terms in
// api/node-selector.ts (the DaemonSet controller needs them too).

export { compileNodeSelector, compileNodeSelectorTerm, requiredMatcher, type NodeMatcher } from "../../api/node-selector.js";

