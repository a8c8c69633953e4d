// Node selector terms as Kubernetes evaluates them (k8s.io/component-helpers/scheduling/corev1): the scheduler's
// NodeAffinity plugin, the kubelet's pod admission and the DaemonSet controller (which decides which nodes should run a daemon pod) must agree.
import type { Node, NodeSelectorRequirement, NodeSelectorTerm, Pod } from "./types/index.js";

/**
 * A compiled NodeSelectorTerm (labels via matchExpressions, metadata.name via matchFields; the requirements are
 * ANDed). A term with no requirements, or with an invalid one, matches no node, as in Kubernetes.
 */
export type NodeMatcher = (node: Readonly<Node>) => boolean;

const NEVER: NodeMatcher = () => false;

export function compileNodeSelectorTerm(term: Readonly<NodeSelectorTerm>): NodeMatcher {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return NEVER;
  const checks: ((node: Readonly<Node>) => boolean)[] = [];
  for (const req of exprs) {
    const check = compileRequirement(req);
    if (!check) return NEVER;
    checks.push((node) => check(node.metadata.labels?.[req.key]));
  }
  for (const req of fields) {
    // Only metadata.name is a supported field, and only with In/NotIn of exactly one value.
    if (req.key !== "metadata.name" || (req.operator !== "In" && req.operator !== "NotIn") || req.values?.length !== 1) return NEVER;
    const check = compileRequirement(req);
    if (!check) return NEVER;
    checks.push((node) => check(node.metadata.name));
  }
  return (node) => {
    for (const c of checks) if (!c(node)) return false;
    return true;
  };
}

/** ORs the terms (NodeSelector semantics); no terms matches nothing. */
export function compileNodeSelector(terms: readonly Readonly<NodeSelectorTerm>[]): NodeMatcher {
  const matchers = terms.map(compileNodeSelectorTerm);
  return (node) => {
    for (const m of matchers) if (m(node)) return true;
    return false;
  };
}

/** spec.nodeSelector AND the required node affinity, or undefined when the pod has neither. */
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

/** A check of one value (undefined when the label is absent), or undefined for an invalid requirement. */
function compileRequirement(req: Readonly<NodeSelectorRequirement>): ((value: string | undefined) => boolean) | undefined {
  const values = req.values ?? [];
  switch (req.operator) {
    case "In": {
      if (values.length === 0) return undefined;
      const set = new Set(values);
      return (v) => v !== undefined && set.has(v);
    }
    case "NotIn": {
      if (values.length === 0) return undefined;
      const set = new Set(values);
      return (v) => v === undefined || !set.has(v);
    }
    case "Exists":
      return values.length === 0 ? (v) => v !== undefined : undefined;
    case "DoesNotExist":
      return values.length === 0 ? (v) => v === undefined : undefined;
    case "Gt":
    case "Lt": {
      if (values.length !== 1) return undefined;
      const bound = parseInteger(values[0] ?? "");
      if (bound === undefined) return undefined;
      const gt = req.operator === "Gt";
      return (v) => {
        const n = v === undefined ? undefined : parseInteger(v);
        return n !== undefined && (gt ? n > bound : n < bound);
      };
    }
    default:
      return undefined;
  }
}

/** Go's strconv.ParseInt(s, 10, 64) for the values labels hold; undefined when not an integer. */
function parseInteger(s: string): number | undefined {
  return /^[+-]?\d+$/.test(s) ? Number(s) : undefined;
}
