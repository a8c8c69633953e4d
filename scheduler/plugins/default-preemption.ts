// DefaultPreemption (PostFilter): when a pod fits no node, find a node where evicting lower-priority pods would let
// it fit, evict them, and nominate the node for the pod — as Kubernetes' default preemption does:
//   - a pod with preemptionPolicy Never, or whose nominated node still has a lower-priority pod terminating, does
//     not preempt;
//   - nodes whose filter rejection is unresolvable are not candidates ("Preemption is not helpful for scheduling");
//   - per candidate node: remove every lower-priority pod; if the pod then fits, put back as many as possible,
//     most important first (higher priority, then earlier start), those whose eviction would violate a
//     PodDisruptionBudget before the others; what cannot go back are the victims;
//   - among the candidates: fewest PDB violations, then the lowest top victim priority, the smallest sum of victim
//     priorities, the fewest victims, the latest start of the top-priority victims, then the first found.
// When no node works, the message lists each node's reason as a FitError does, prefixed "preemption: ".
import type { Pod, PodDisruptionBudget } from "../../api/types/index.js";
import { selectorFromLabelSelector } from "../../api/labels.js";
import { Diagnosis, fitErrorMessage } from "../framework/fit-error.js";
import { CycleState, Status, type Handle, type PostFilterPlugin, type PostFilterResult } from "../framework/interface.js";
import { podInfoOf, type NodeInfo, type PodInfo } from "../framework/node-info.js";

export const NAME = "DefaultPreemption";
export const NOT_HELPFUL = "Preemption is not helpful for scheduling";
export const NO_VICTIMS = "No preemption victims found for incoming pod";

/** Kubernetes' MinCandidateNodesPercentage / MinCandidateNodesAbsolute defaults. */
const MIN_CANDIDATE_NODES_PERCENTAGE = 10;
const MIN_CANDIDATE_NODES_ABSOLUTE = 100;

export interface Candidate {
  node: string;
  victims: Readonly<Pod>[];
  numPDBViolations: number;
}

export class DefaultPreemption implements PostFilterPlugin {
  readonly name = NAME;

  constructor(
    private readonly handle: Handle,
    private readonly random: () => number = Math.random,
  ) {}

  postFilter(_state: CycleState, pod: Readonly<Pod>, nodes: readonly NodeInfo[], diagnosis: Diagnosis): PostFilterResult {
    this.handle.preemptor?.attempted();
    const result = this.preempt(pod, nodes, diagnosis);
    const msg = result.status.message();
    if (!result.status.isSuccess() && msg !== "") return { ...result, status: new Status(result.status.code, [`preemption: ${msg}`]) };
    return result;
  }

  private preempt(pod: Readonly<Pod>, nodes: readonly NodeInfo[], diagnosis: Diagnosis): PostFilterResult {
    const eligible = this.eligible(pod, nodes);
    if (eligible !== undefined) return { status: Status.unschedulable(eligible) };
    const { candidates, statuses } = this.findCandidates(pod, nodes, diagnosis);
    if (candidates.length === 0) {
      const d = new Diagnosis();
      for (const s of statuses) d.addNodeStatus(s);
      // "" clears a nomination the pod had: no node can be made to fit now.
      return { status: Status.unschedulable(fitErrorMessage(nodes.length, d)), nominatedNodeName: "" };
    }
    const best = pickOneNode(candidates);
    const preemptor = this.handle.preemptor;
    if (preemptor) {
      preemptor.victims(best.victims.length);
      for (const v of best.victims) preemptor.evict(v, pod, best.node);
      preemptor.clearNominations(best.node, podInfoOf(pod).priority);
    }
    return { status: Status.SUCCESS, nominatedNodeName: best.node };
  }

  /** undefined when the pod may preempt; else why not (PodEligibleToPreemptOthers). */
  private eligible(pod: Readonly<Pod>, nodes: readonly NodeInfo[]): string | undefined {
    if (pod.spec?.preemptionPolicy === "Never") return "not eligible due to preemptionPolicy=Never.";
    const nominated = pod.status?.nominatedNodeName;
    if (nominated) {
      const info = nodes.find((n) => n.name === nominated);
      const priority = podInfoOf(pod).priority;
      for (const p of info?.pods.values() ?? []) {
        if (p.pod.metadata.deletionTimestamp && p.priority < priority) return "not eligible due to a terminating pod on the nominated node.";
      }
    }
    return undefined;
  }

  /** Dry-runs preemption on the nodes, starting at a random offset, until enough candidates are found. */
  findCandidates(pod: Readonly<Pod>, nodes: readonly NodeInfo[], diagnosis: Diagnosis): { candidates: Candidate[]; statuses: Status[] } {
    const statuses: Status[] = [];
    const potential: NodeInfo[] = [];
    for (const n of nodes) {
      const s = diagnosis.nodeStatuses.get(n.name);
      if (diagnosis.preFilterMsg !== "" || s === undefined || s.code === "UnschedulableAndUnresolvable") statuses.push(Status.unresolvable(NOT_HELPFUL));
      else potential.push(n);
    }
    const candidates: Candidate[] = [];
    if (potential.length === 0) return { candidates, statuses };
    const want = Math.min(potential.length, Math.max(Math.trunc((potential.length * MIN_CANDIDATE_NODES_PERCENTAGE) / 100), MIN_CANDIDATE_NODES_ABSOLUTE));
    const offset = Math.floor(this.random() * potential.length);
    for (let i = 0; i < potential.length && candidates.length < want; i++) {
      const node = potential[(offset + i) % potential.length]!;
      const r = this.selectVictimsOnNode(pod, node, nodes);
      if ("status" in r) statuses.push(r.status);
      else candidates.push({ node: node.name, victims: r.victims, numPDBViolations: r.numPDBViolations });
    }
    return { candidates, statuses };
  }

  private selectVictimsOnNode(pod: Readonly<Pod>, nodeInfo: NodeInfo, nodes: readonly NodeInfo[]): { victims: Readonly<Pod>[]; numPDBViolations: number } | { status: Status } {
    const fw = this.handle.framework;
    if (!fw) return { status: Status.unresolvable(NOT_HELPFUL) };
    const priority = podInfoOf(pod).priority;
    const sim = nodeInfo.clone();
    const lower = [...sim.pods.values()].filter((p) => p.priority < priority);
    if (lower.length === 0) return { status: Status.unresolvable(NO_VICTIMS) };
    for (const p of lower) sim.removePod(p.id);
    const others = nodes.map((n) => (n.name === sim.name ? sim : n));
    const fits = (): Status => {
      const state = new CycleState();
      const pre = fw.runPreFilter(state, pod, others);
      if (!pre.isSuccess()) return pre;
      return fw.runFilter(state, pod, sim);
    };
    const first = fits();
    if (!first.isSuccess()) return { status: first };
    lower.sort(moreImportantFirst);
    const { violating, nonViolating } = splitByPDB(lower, this.pdbs(lower));
    const victims: Readonly<Pod>[] = [];
    let numPDBViolations = 0;
    const reprieve = (p: PodInfo, isViolating: boolean): void => {
      sim.addPod(p);
      if (fits().isSuccess()) return;
      sim.removePod(p.id);
      victims.push(p.pod);
      if (isViolating) numPDBViolations++;
    };
    for (const p of violating) reprieve(p, true);
    for (const p of nonViolating) reprieve(p, false);
    return { victims, numPDBViolations };
  }

  private pdbs(pods: readonly PodInfo[]): Readonly<PodDisruptionBudget>[] {
    const lister = this.handle.lister;
    if (!lister) return [];
    const namespaces = new Set(pods.map((p) => p.pod.metadata.namespace ?? "default"));
    return [...namespaces].flatMap((ns) => lister.podDisruptionBudgets(ns));
  }
}

/** Higher priority first, then the earlier start (MoreImportantPod). */
function moreImportantFirst(a: PodInfo, b: PodInfo): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  return startTime(a.pod) - startTime(b.pod);
}

function startTime(pod: Readonly<Pod>): number {
  const t = Date.parse(pod.status?.startTime ?? pod.metadata.creationTimestamp ?? "");
  return Number.isNaN(t) ? Date.now() : t;
}

/** Pods whose eviction would take some matching PDB below zero allowed disruptions, and the rest. */
export function splitByPDB(pods: readonly PodInfo[], pdbs: readonly Readonly<PodDisruptionBudget>[]): { violating: PodInfo[]; nonViolating: PodInfo[] } {
  const allowed = pdbs.map((p) => p.status?.disruptionsAllowed ?? 0);
  const selectors = pdbs.map((p) => {
    try {
      const sel = p.spec?.selector;
      const s = sel === undefined ? undefined : selectorFromLabelSelector(sel);
      return s && !s.empty ? s : undefined;
    } catch {
      return undefined;
    }
  });
  const violating: PodInfo[] = [];
  const nonViolating: PodInfo[] = [];
  for (const info of pods) {
    const m = info.pod.metadata;
    let violated = false;
    if (m.labels && Object.keys(m.labels).length > 0) {
      for (let i = 0; i < pdbs.length; i++) {
        const pdb = pdbs[i]!;
        const sel = selectors[i];
        if ((pdb.metadata.namespace ?? "default") !== (m.namespace ?? "default") || !sel?.matches(m.labels)) continue;
        if (m.name !== undefined && pdb.status?.disruptedPods?.[m.name] !== undefined) continue;
        allowed[i]!--;
        if (allowed[i]! < 0) violated = true;
      }
    }
    (violated ? violating : nonViolating).push(info);
  }
  return { violating, nonViolating };
}

/** Kubernetes' pickOneNodeForPreemption criteria, in order. */
export function pickOneNode(candidates: readonly Candidate[]): Candidate {
  const prio = (p: Readonly<Pod>): number => p.spec?.priority ?? 0;
  const criteria: ((c: Candidate) => number)[] = [
    (c) => -c.numPDBViolations,
    (c) => -Math.max(...c.victims.map(prio), -Infinity),
    // Offset by 2^31 so that negative priorities still add up to more with more victims.
    (c) => -c.victims.reduce((sum, p) => sum + prio(p) + 2 ** 31, 0),
    (c) => -c.victims.length,
    (c) => {
      const top = Math.max(...c.victims.map(prio), -Infinity);
      const starts = c.victims.filter((p) => prio(p) === top).map(startTime);
      return starts.length === 0 ? 0 : Math.min(...starts);
    },
  ];
  let pool = [...candidates];
  for (const score of criteria) {
    if (pool.length === 1) break;
    let best = -Infinity;
    for (const c of pool) best = Math.max(best, score(c));
    pool = pool.filter((c) => score(c) === best);
  }
  return pool[0]!;
}

export function create(_args: unknown, handle: Handle): DefaultPreemption {
  return new DefaultPreemption(handle);
}
