// InterPodAffinity: places a pod relative to the pods already running, as Kubernetes' plugin does.
//   Filter (required terms), counted per topology pair (key, value) over every node in PreFilter:
//     - existing pods' required anti-affinity that selects the incoming pod keeps it out of their domains
//       (symmetry): "node(s) didn't satisfy existing pods anti-affinity rules";
//     - the pod's required anti-affinity: no selected pod may be in the node's domain: "node(s) didn't match pod
//       anti-affinity rules";
//     - the pod's required affinity: a pod matching all its affinity terms must be in the node's domain of each term
//       (or, when no such pod exists anywhere, the pod matches its own terms — the first replica): "node(s) didn't
//       match pod affinity rules" (unresolvable).
//   Score (preferred terms, both ways): the pod's preferred (anti-)affinity ±weight, existing pods' required
//   affinity that selects the pod +hardPodAffinityWeight, existing pods' preferred terms ±weight, summed per
//   topology pair and normalized min..max → 0..100.
// Terms select pods in the term's namespaces (default: the pod's own) and those namespaceSelector selects.
import { isRecord } from "../../api/meta.js";
import type { Pod } from "../../api/types/index.js";
import { termMatches, type AffinityTerm, type NamespaceLabels } from "../framework/affinity.js";
import { Status, StateKey, type CycleState, type FilterPlugin, type Handle, type PreFilterPlugin, type PreScorePlugin, type ScorePlugin } from "../framework/interface.js";
import { podInfoOf, type NodeInfo } from "../framework/node-info.js";

export const NAME = "InterPodAffinity";
export const ERR_REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules";
export const ERR_REASON_AFFINITY = "node(s) didn't match pod affinity rules";
export const ERR_REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules";

/** Counts per topology pair, keyed "key\0value". */
type PairCounts = Map<string, number>;

const pairKey = (key: string, value: string): string => `${key}\0${value}`;

function inc(m: PairCounts, key: string, value: string, by: number): void {
  const k = pairKey(key, value);
  m.set(k, (m.get(k) ?? 0) + by);
}

interface PreFilterState {
  existingAntiAffinity: PairCounts;
  affinity: PairCounts;
  antiAffinity: PairCounts;
  requiredAffinity: readonly AffinityTerm[];
  requiredAntiAffinity: readonly AffinityTerm[];
  /** The pod matches all its own required affinity terms. */
  selfMatch: boolean;
}

const PRE_FILTER = new StateKey<PreFilterState>(`${NAME}/prefilter`);
const PRE_SCORE = new StateKey<PairCounts>(`${NAME}/prescore`);

export class InterPodAffinity implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = NAME;

  constructor(
    private readonly hardPodAffinityWeight: number,
    private readonly handle: Handle,
  ) {}

  private readonly nsLabels: NamespaceLabels = (ns) => this.handle.lister?.namespaceLabels(ns);

  preFilter(state: CycleState, pod: Readonly<Pod>, nodes: readonly NodeInfo[]): Status {
    const terms = podInfoOf(pod).affinity;
    const existingAntiAffinity: PairCounts = new Map();
    const affinity: PairCounts = new Map();
    const antiAffinity: PairCounts = new Map();
    const own = terms.requiredAffinity.length + terms.requiredAntiAffinity.length > 0;
    for (const info of nodes) {
      const labels = info.node?.metadata.labels;
      if (!labels) continue;
      if (info.podsWithRequiredAntiAffinity > 0) {
        for (const p of info.pods.values()) {
          for (const t of p.affinity.requiredAntiAffinity) {
            const v = labels[t.topologyKey];
            if (v !== undefined && termMatches(t, pod, this.nsLabels)) inc(existingAntiAffinity, t.topologyKey, v, 1);
          }
        }
      }
      if (!own) continue;
      for (const p of info.pods.values()) {
        if (terms.requiredAffinity.length > 0 && terms.requiredAffinity.every((t) => termMatches(t, p.pod, this.nsLabels))) {
          for (const t of terms.requiredAffinity) {
            const v = labels[t.topologyKey];
            if (v !== undefined) inc(affinity, t.topologyKey, v, 1);
          }
        }
        for (const t of terms.requiredAntiAffinity) {
          const v = labels[t.topologyKey];
          if (v !== undefined && termMatches(t, p.pod, this.nsLabels)) inc(antiAffinity, t.topologyKey, v, 1);
        }
      }
    }
    if (!own && existingAntiAffinity.size === 0) return Status.SKIP;
    const selfMatch = terms.requiredAffinity.every((t) => termMatches(t, pod, this.nsLabels));
    state.write(PRE_FILTER, { existingAntiAffinity, affinity, antiAffinity, requiredAffinity: terms.requiredAffinity, requiredAntiAffinity: terms.requiredAntiAffinity, selfMatch });
    return Status.SUCCESS;
  }

  filter(state: CycleState, _pod: Readonly<Pod>, nodeInfo: NodeInfo): Status {
    const s = state.read(PRE_FILTER);
    if (!s) return Status.SUCCESS;
    const labels = nodeInfo.node?.metadata.labels ?? {};
    if (s.requiredAffinity.length > 0) {
      let podsExist = true;
      for (const t of s.requiredAffinity) {
        const v = labels[t.topologyKey];
        if (v === undefined) return Status.unresolvable(ERR_REASON_AFFINITY);
        if ((s.affinity.get(pairKey(t.topologyKey, v)) ?? 0) <= 0) podsExist = false;
      }
      // No pod anywhere matches: the first pod of a self-affine group may go anywhere its terms' labels exist.
      if (!podsExist && !(s.affinity.size === 0 && s.selfMatch)) return Status.unresolvable(ERR_REASON_AFFINITY);
    }
    for (const t of s.requiredAntiAffinity) {
      const v = labels[t.topologyKey];
      if (v !== undefined && (s.antiAffinity.get(pairKey(t.topologyKey, v)) ?? 0) > 0) return Status.unschedulable(ERR_REASON_ANTI_AFFINITY);
    }
    if (s.existingAntiAffinity.size > 0) {
      for (const [k, v] of Object.entries(labels)) {
        if ((s.existingAntiAffinity.get(pairKey(k, v)) ?? 0) > 0) return Status.unschedulable(ERR_REASON_EXISTING_ANTI_AFFINITY);
      }
    }
    return Status.SUCCESS;
  }

  preScore(state: CycleState, pod: Readonly<Pod>, feasible: readonly NodeInfo[]): Status {
    const terms = podInfoOf(pod).affinity;
    const hasPreferred = terms.preferredAffinity.length + terms.preferredAntiAffinity.length > 0;
    const all = this.handle.lister?.nodeInfos() ?? feasible;
    const scores: PairCounts = new Map();
    let any = false;
    for (const info of all) {
      const labels = info.node?.metadata.labels;
      if (!labels || (!hasPreferred && info.podsWithAffinity === 0)) continue;
      for (const existing of info.pods.values()) {
        any = true;
        const add = (t: AffinityTerm, target: Readonly<Pod>, sign: number, weight = t.weight): void => {
          const v = labels[t.topologyKey];
          if (v !== undefined && termMatches(t, target, this.nsLabels)) inc(scores, t.topologyKey, v, sign * weight);
        };
        for (const t of terms.preferredAffinity) add(t, existing.pod, 1);
        for (const t of terms.preferredAntiAffinity) add(t, existing.pod, -1);
        const e = existing.affinity;
        if (this.hardPodAffinityWeight > 0) for (const t of e.requiredAffinity) add(t, pod, 1, this.hardPodAffinityWeight);
        for (const t of e.preferredAffinity) add(t, pod, 1);
        for (const t of e.preferredAntiAffinity) add(t, pod, -1);
      }
    }
    if (!any || scores.size === 0) return Status.SKIP;
    state.write(PRE_SCORE, scores);
    return Status.SUCCESS;
  }

  /** The sum of the pair scores of every label of the node. */
  score(state: CycleState, _pod: Readonly<Pod>, nodeInfo: NodeInfo): number {
    const scores = state.read(PRE_SCORE);
    const labels = nodeInfo.node?.metadata.labels;
    if (!scores || !labels) return 0;
    let total = 0;
    for (const [k, v] of Object.entries(labels)) total += scores.get(pairKey(k, v)) ?? 0;
    return total;
  }

  /** min..max → 0..100; all equal → 0. */
  normalizeScores(_state: CycleState, _pod: Readonly<Pod>, _nodes: readonly NodeInfo[], scores: number[]): void {
    let min = Infinity;
    let max = -Infinity;
    for (const s of scores) {
      if (s < min) min = s;
      if (s > max) max = s;
    }
    const diff = max - min;
    for (let i = 0; i < scores.length; i++) scores[i] = diff > 0 ? Math.trunc((100 * (scores[i]! - min)) / diff) : 0;
  }
}

/** InterPodAffinityArgs: hardPodAffinityWeight, 0..100, default 1. */
export function create(args: unknown, handle: Handle): InterPodAffinity {
  let weight = 1;
  if (isRecord(args) && args.hardPodAffinityWeight !== undefined) {
    const w = args.hardPodAffinityWeight;
    if (typeof w !== "number" || !Number.isInteger(w) || w < 0 || w > 100) throw new Error(`${NAME} args: hardPodAffinityWeight must be an integer in 0..100`);
    weight = w;
  }
  return new InterPodAffinity(weight, handle);
}
