// PodTopologySpread: keeps the pods that match a constraint's selector evenly spread over the constraint's topology
// domains (node, zone, ...), as Kubernetes' plugin does.
//   - Filter, for DoNotSchedule constraints: placing the pod in a domain must keep
//     (matching pods in the domain) + (1 if the pod itself matches) − (the least populated domain) ≤ maxSkew;
//     with fewer eligible domains than minDomains the minimum counts as 0. A node without the topology label is
//     unresolvable.
//   - Score, for ScheduleAnyway constraints: a node scores by the matching pods in its domains, each constraint
//     weighted log(domains + 2) plus maxSkew − 1, and normalized so that fewer pods score higher.
//   - A pod without constraints gets the system defaults (ScheduleAnyway over hostname, maxSkew 3, and over zone,
//     maxSkew 5) with the selector of the Services, ReplicationController, ReplicaSet or StatefulSet that select it.
// nodeAffinityPolicy (default Honor) and nodeTaintsPolicy (default Ignore) decide which nodes' pods count.
import { findUntoleratedTaint } from "../../api/tolerations.js";
import { isRecord } from "../../api/meta.js";
import { selectorFromLabelSelector, selectorFromSet, type Selector } from "../../api/labels.js";
import type { LabelSelector } from "../../api/meta.js";
import type { Node, Pod, TopologySpreadConstraint } from "../../api/types/index.js";
import { requiredMatcher, type NodeMatcher } from "../framework/helpers.js";
import { MAX_NODE_SCORE, Status, StateKey, type ClusterLister, type CycleState, type FilterPlugin, type Handle, type PreFilterPlugin, type PreScorePlugin, type ScorePlugin } from "../framework/interface.js";
import type { NodeInfo, PodInfo } from "../framework/node-info.js";

export const NAME = "PodTopologySpread";
export const ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints";
export const ERR_REASON_NODE_LABEL_NOT_MATCH = `${ERR_REASON_CONSTRAINTS_NOT_MATCH} (missing required label)`;

export const LABEL_HOSTNAME = "kubernetes.io/hostname";
export const LABEL_ZONE = "topology.kubernetes.io/zone";

type Policy = "Honor" | "Ignore";

/** One constraint with its selector resolved. */
interface Constraint {
  maxSkew: number;
  topologyKey: string;
  matches: (labels: Readonly<Record<string, string>> | undefined) => boolean;
  /** Whether a pod on a node counts: in the incoming pod's namespace, not being deleted, and matching. */
  counts: (pod: PodInfo) => boolean;
  /**
   * The pod's namespace and what `matches` selects, as text: constraints with equal keys count the same pods (the
   * count cache's key). Built once per constraint, not per node: a fresh string would be hashed on every lookup.
   */
  countKey: string;
  minDomains: number;
  nodeAffinityPolicy: Policy;
  nodeTaintsPolicy: Policy;
}

/** A default constraint as PodTopologySpreadArgs.defaultConstraints lists it (no selector: the pod's owners give it). */
export interface DefaultConstraint {
  maxSkew: number;
  topologyKey: string;
  whenUnsatisfiable: "DoNotSchedule" | "ScheduleAnyway";
}

/** Kubernetes' system defaults (defaultingType: System). */
export const SYSTEM_DEFAULT_CONSTRAINTS: readonly DefaultConstraint[] = [
  { topologyKey: LABEL_HOSTNAME, whenUnsatisfiable: "ScheduleAnyway", maxSkew: 3 },
  { topologyKey: LABEL_ZONE, whenUnsatisfiable: "ScheduleAnyway", maxSkew: 5 },
];

interface PreFilterState {
  constraints: Constraint[];
  /** Per constraint: topology value → matching pods. */
  counts: Map<string, number>[];
}

interface PreScoreState {
  constraints: Constraint[];
  /**
   * Per constraint (not hostname): topology value → matching pods, for the domains Score reads: those of feasible
   * nodes that carry the constraint's label. Undefined when there is none (hostname, or no such node).
   */
  counts: (Map<string, number> | undefined)[];
  weights: number[];
  ignored: Set<string>;
}

const PRE_FILTER = new StateKey<PreFilterState>(`${NAME}/prefilter`);
const PRE_SCORE = new StateKey<PreScoreState>(`${NAME}/prescore`);

export class PodTopologySpread implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = NAME;
  /** True with the system defaults: nodes lacking a default topology label are then still scored. */
  private readonly systemDefaulted: boolean;

  constructor(
    private readonly defaults: readonly DefaultConstraint[],
    systemDefaulted: boolean,
    private readonly lister: ClusterLister | undefined,
  ) {
    this.systemDefaulted = systemDefaulted;
  }

  preFilter(state: CycleState, pod: Readonly<Pod>, nodes: readonly NodeInfo[]): Status {
    const constraints = this.constraintsOf(pod, "DoNotSchedule");
    if (constraints.length === 0) return Status.SKIP;
    const required = requiredMatcher(pod);
    const counts = constraints.map(() => new Map<string, number>());
    for (const info of nodes) {
      const node = info.node;
      if (!node || !hasAllKeys(node, constraints)) continue;
      for (let i = 0; i < constraints.length; i++) {
        const c = constraints[i]!;
        if (!includes(c, pod, node, required)) continue;
        const value = node.metadata.labels![c.topologyKey]!;
        const m = counts[i]!;
        m.set(value, (m.get(value) ?? 0) + countMatchingOn(info, c));
      }
    }
    state.write(PRE_FILTER, { constraints, counts });
    return Status.SUCCESS;
  }

  filter(state: CycleState, pod: Readonly<Pod>, nodeInfo: NodeInfo): Status {
    const s = state.read(PRE_FILTER);
    if (!s) return Status.SUCCESS;
    const labels = nodeInfo.node?.metadata.labels ?? {};
    for (let i = 0; i < s.constraints.length; i++) {
      const c = s.constraints[i]!;
      const value = labels[c.topologyKey];
      if (value === undefined) return Status.unresolvable(ERR_REASON_NODE_LABEL_NOT_MATCH);
      const counts = s.counts[i]!;
      let min = Infinity;
      for (const n of counts.values()) if (n < min) min = n;
      if (counts.size < c.minDomains) min = 0;
      const self = c.matches(pod.metadata.labels) ? 1 : 0;
      const skew = (counts.get(value) ?? 0) + self - min;
      if (skew > c.maxSkew) return Status.unschedulable(ERR_REASON_CONSTRAINTS_NOT_MATCH);
    }
    return Status.SUCCESS;
  }

  preScore(state: CycleState, pod: Readonly<Pod>, feasible: readonly NodeInfo[]): Status {
    const constraints = this.constraintsOf(pod, "ScheduleAnyway");
    if (constraints.length === 0) return Status.SKIP;
    const requireAll = (pod.spec?.topologySpreadConstraints?.length ?? 0) > 0 || !this.systemDefaulted;
    const ignored = new Set<string>();
    // Kubernetes registers a domain for every feasible node, a node without the label in the domain "" — those
    // domains weigh the constraint (log(domains + 2)) — but Score reads only the domains of nodes that carry the
    // label. Only those are counted: with the system defaults on nodes without a zone label, the zone constraint
    // then needs no count at all, and the scores are the same.
    const domains: Set<string>[] = constraints.map(() => new Set<string>());
    const counts: (Map<string, number> | undefined)[] = constraints.map(() => undefined);
    for (const info of feasible) {
      const node = info.node;
      if (!node) continue;
      if (requireAll && !hasAllKeys(node, constraints)) {
        ignored.add(info.name);
        continue;
      }
      const labels = node.metadata.labels;
      for (let i = 0; i < constraints.length; i++) {
        const key = constraints[i]!.topologyKey;
        if (key === LABEL_HOSTNAME) continue;
        const value = labels?.[key];
        domains[i]!.add(value ?? "");
        if (value !== undefined) (counts[i] ??= new Map()).set(value, 0);
      }
    }
    const weights = constraints.map((c, i) => Math.log((c.topologyKey === LABEL_HOSTNAME ? feasible.length - ignored.size : domains[i]!.size) + 2));
    if (counts.some((m) => m !== undefined)) {
      const required = requiredMatcher(pod);
      for (const info of this.lister?.nodeInfos() ?? feasible) {
        const node = info.node;
        if (!node || (requireAll && !hasAllKeys(node, constraints))) continue;
        for (let i = 0; i < constraints.length; i++) {
          const m = counts[i];
          const c = constraints[i]!;
          if (!m || !includes(c, pod, node, required)) continue;
          const value = node.metadata.labels?.[c.topologyKey] ?? "";
          const n = m.get(value);
          if (n === undefined) continue;
          m.set(value, n + countMatchingOn(info, c));
        }
      }
    }
    state.write(PRE_SCORE, { constraints, counts, weights, ignored });
    return Status.SUCCESS;
  }

  /** Raw: Σ over the node's domains of matching pods · weight + maxSkew − 1 (more pods, higher). */
  score(state: CycleState, _pod: Readonly<Pod>, nodeInfo: NodeInfo): number {
    const s = state.read(PRE_SCORE);
    if (!s || (s.ignored.size > 0 && s.ignored.has(nodeInfo.name))) return 0;
    const labels = nodeInfo.node?.metadata.labels ?? {};
    let score = 0;
    for (let i = 0; i < s.constraints.length; i++) {
      const c = s.constraints[i]!;
      const value = labels[c.topologyKey];
      if (value === undefined) continue;
      const count = c.topologyKey === LABEL_HOSTNAME ? countMatchingOn(nodeInfo, c) : (s.counts[i]?.get(value) ?? 0);
      score += count * s.weights[i]! + (c.maxSkew - 1);
    }
    return Math.round(score);
  }

  /** Fewer matching pods → higher: MAX · (max + min − score) / max; ignored nodes score 0. */
  normalizeScores(state: CycleState, _pod: Readonly<Pod>, nodes: readonly NodeInfo[], scores: number[]): void {
    const ignored = state.read(PRE_SCORE)?.ignored;
    const isIgnored = (i: number): boolean => ignored !== undefined && ignored.size > 0 && ignored.has(nodes[i]!.name);
    let min = Infinity;
    let max = 0;
    for (let i = 0; i < scores.length; i++) {
      if (isIgnored(i)) continue;
      const s = scores[i]!;
      if (s < min) min = s;
      if (s > max) max = s;
    }
    for (let i = 0; i < scores.length; i++) {
      if (isIgnored(i)) scores[i] = 0;
      else if (max === 0) scores[i] = MAX_NODE_SCORE;
      else scores[i] = Math.trunc((MAX_NODE_SCORE * (max + min - scores[i]!)) / max);
    }
  }

  /** The pod's own constraints of one kind, or (when it has none at all) the defaults of that kind. */
  private constraintsOf(pod: Readonly<Pod>, when: "DoNotSchedule" | "ScheduleAnyway"): Constraint[] {
    const ns = pod.metadata.namespace ?? "default";
    const own = pod.spec?.topologySpreadConstraints ?? [];
    if (own.length > 0) return own.filter((c) => c.whenUnsatisfiable === when).map((c) => compileConstraint(c, pod, ns));
    const defaults = this.defaults.filter((c) => c.whenUnsatisfiable === when);
    if (defaults.length === 0 || !this.lister) return [];
    const selector = defaultSelector(pod, this.lister);
    if (selector.length === 0) return [];
    const only = selector.length === 1 ? selector[0]! : undefined;
    const matches: Constraint["matches"] = only ? (labels) => only.matches(labels) : (labels) => selector.every((s) => s.matches(labels));
    const countKey = `${ns}\n${selector.map((s) => s.toString()).join(";")}`;
    return defaults.map((c) => ({ maxSkew: c.maxSkew, topologyKey: c.topologyKey, matches, counts: countsFor(ns, matches), countKey, minDomains: 1, nodeAffinityPolicy: "Honor", nodeTaintsPolicy: "Ignore" }));
  }
}

function compileConstraint(c: Readonly<TopologySpreadConstraint>, pod: Readonly<Pod>, namespace: string): Constraint {
  let matches: Constraint["matches"] = () => false;
  // Selects nothing until a valid selector is compiled; no selector's text starts with "!" and ends the key.
  let selectorKey = "!nothing";
  if (c.labelSelector !== undefined) {
    // matchLabelKeys: the pod's own values of those keys narrow the selector (keys the pod lacks are ignored).
    const sel: LabelSelector = { matchLabels: { ...c.labelSelector.matchLabels }, matchExpressions: [...(c.labelSelector.matchExpressions ?? [])] };
    for (const key of c.matchLabelKeys ?? []) {
      const v = pod.metadata.labels?.[key];
      if (v !== undefined) sel.matchExpressions!.push({ key, operator: "In", values: [v] });
    }
    try {
      const selector = selectorFromLabelSelector(sel);
      matches = (labels) => selector.matches(labels);
      selectorKey = selector.toString();
    } catch {
      // An invalid selector (the apiserver validates them) selects nothing.
    }
  }
  return {
    maxSkew: c.maxSkew,
    topologyKey: c.topologyKey,
    matches,
    counts: countsFor(namespace, matches),
    countKey: `${namespace}\n${selectorKey}`,
    minDomains: c.minDomains ?? 1,
    nodeAffinityPolicy: c.nodeAffinityPolicy ?? "Honor",
    nodeTaintsPolicy: c.nodeTaintsPolicy ?? "Ignore",
  };
}

/**
 * The selectors (ANDed) of what owns the pod for spreading: every Service selecting it, and its controlling
 * ReplicationController, ReplicaSet or StatefulSet (Kubernetes' DefaultSelector). Empty when nothing does.
 */
export function defaultSelector(pod: Readonly<Pod>, lister: ClusterLister): Selector[] {
  const ns = pod.metadata.namespace ?? "default";
  const labels = pod.metadata.labels ?? {};
  const set: Record<string, string> = {};
  for (const svc of lister.services(ns)) {
    const sel = svc.spec?.selector;
    if (!sel || Object.keys(sel).length === 0) continue;
    if (Object.entries(sel).every(([k, v]) => labels[k] === v)) Object.assign(set, sel);
  }
  const out: Selector[] = [];
  const owner = pod.metadata.ownerReferences?.find((r) => r.controller === true);
  const group = owner?.apiVersion.includes("/") ? owner.apiVersion.split("/")[0] : "";
  if (owner && (group === "" || group === "apps")) {
    if (owner.kind === "ReplicationController") {
      Object.assign(set, lister.replicationController(ns, owner.name)?.spec?.selector ?? {});
    } else if (owner.kind === "ReplicaSet" || owner.kind === "StatefulSet") {
      const obj = owner.kind === "ReplicaSet" ? lister.replicaSet(ns, owner.name) : lister.statefulSet(ns, owner.name);
      const sel = obj?.spec?.selector;
      if (sel) {
        try {
          const s = selectorFromLabelSelector(sel);
          if (!s.empty) out.push(s);
        } catch {
          // An invalid selector adds nothing.
        }
      }
    }
  }
  if (Object.keys(set).length > 0) out.push(selectorFromSet(set));
  return out;
}

function hasAllKeys(node: Readonly<Node>, constraints: readonly Constraint[]): boolean {
  const labels = node.metadata.labels;
  if (!labels) return constraints.length === 0;
  for (const c of constraints) if (labels[c.topologyKey] === undefined) return false;
  return true;
}

/** Whether the node's pods count for the constraint (nodeAffinityPolicy / nodeTaintsPolicy). */
function includes(c: Constraint, pod: Readonly<Pod>, node: Readonly<Node>, required: NodeMatcher | undefined): boolean {
  if (c.nodeAffinityPolicy === "Honor" && required && !required(node)) return false;
  if (c.nodeTaintsPolicy === "Honor") {
    const taints = node.spec?.taints ?? [];
    if (taints.length > 0 && findUntoleratedTaint(taints, pod.spec?.tolerations ?? [], (t) => t.effect === "NoSchedule" || t.effect === "NoExecute")) return false;
  }
  return true;
}

/**
 * The matching pods on a node: NodeInfo keeps this count current per Constraint.countKey as pods come and go. Every
 * pod of a ReplicaSet is scored against every node with the same default selector, so counting on each pod change
 * instead of once per pod and node turns the spreading's O(pods²) label matches into O(pods).
 */
function countMatchingOn(info: NodeInfo, c: Constraint): number {
  return info.podCount(c.countKey, c.counts);
}

/** Constraint.counts: a pod in the constraint's namespace, not being deleted, whose labels it selects. */
function countsFor(namespace: string, matches: Constraint["matches"]): Constraint["counts"] {
  return (p) => {
    const m = p.pod.metadata;
    return !m.deletionTimestamp && (m.namespace ?? "default") === namespace && matches(m.labels);
  };
}

/** PodTopologySpreadArgs: defaultingType System (default) or List with defaultConstraints. */
export function create(args: unknown, handle: Handle): PodTopologySpread {
  if (isRecord(args) && args.defaultingType === "List") {
    const list = Array.isArray(args.defaultConstraints) ? (args.defaultConstraints as unknown[]) : [];
    const defaults: DefaultConstraint[] = [];
    for (const c of list) {
      if (!isRecord(c) || typeof c.topologyKey !== "string" || typeof c.maxSkew !== "number") throw new Error(`${NAME} args: defaultConstraints entries need topologyKey and maxSkew`);
      if (c.whenUnsatisfiable !== "DoNotSchedule" && c.whenUnsatisfiable !== "ScheduleAnyway") throw new Error(`${NAME} args: whenUnsatisfiable must be DoNotSchedule or ScheduleAnyway`);
      defaults.push({ topologyKey: c.topologyKey, maxSkew: c.maxSkew, whenUnsatisfiable: c.whenUnsatisfiable });
    }
    return new PodTopologySpread(defaults, false, handle.lister);
  }
  return new PodTopologySpread(SYSTEM_DEFAULT_CONSTRAINTS, true, handle.lister);
}
