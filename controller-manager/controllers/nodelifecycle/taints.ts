// Taints and tolerations as the node lifecycle controller uses them (k8s.io/api/core/v1 toleration.go,
// pkg/controller/nodelifecycle's condition → taint maps, and the taint manager's getMinTolerationTime). Pure.
import { parseTime } from "../../../api/time.js";
import { toleratesTaint } from "../../../api/tolerations.js";
import type { Node, NodeCondition, Taint, TaintEffect, Toleration } from "../../../api/types/index.js";

export const TAINT_NOT_READY = "node.kubernetes.io/not-ready";
export const TAINT_UNREACHABLE = "node.kubernetes.io/unreachable";
export const TAINT_UNSCHEDULABLE = "node.kubernetes.io/unschedulable";
export const TAINT_MEMORY_PRESSURE = "node.kubernetes.io/memory-pressure";
export const TAINT_DISK_PRESSURE = "node.kubernetes.io/disk-pressure";
export const TAINT_PID_PRESSURE = "node.kubernetes.io/pid-pressure";
export const TAINT_NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable";

/** Every (key, effect) this controller owns: taints outside this set are never added or removed here. */
const MANAGED: readonly (readonly [string, TaintEffect])[] = [
  [TAINT_NOT_READY, "NoExecute"],
  [TAINT_UNREACHABLE, "NoExecute"],
  [TAINT_NOT_READY, "NoSchedule"],
  [TAINT_UNREACHABLE, "NoSchedule"],
  [TAINT_MEMORY_PRESSURE, "NoSchedule"],
  [TAINT_DISK_PRESSURE, "NoSchedule"],
  [TAINT_PID_PRESSURE, "NoSchedule"],
  [TAINT_NETWORK_UNAVAILABLE, "NoSchedule"],
  [TAINT_UNSCHEDULABLE, "NoSchedule"],
];

export function condition(node: Readonly<Node>, type: string): Readonly<NodeCondition> | undefined {
  return node.status?.conditions?.find((c) => c.type === type);
}

/**
 * The taints the node's conditions call for: NoExecute from Ready (doNoExecuteTaintingPass: False → not-ready,
 * Unknown → unreachable) and NoSchedule from Ready, the pressure conditions and spec.unschedulable
 * (TaintNodesByCondition). A node that never reported Ready gets none until the monitor marks it Unknown.
 */
export function wantedTaints(node: Readonly<Node>): [string, TaintEffect][] {
  const out: [string, TaintEffect][] = [];
  const ready = condition(node, "Ready")?.status;
  if (ready === "False") out.push([TAINT_NOT_READY, "NoExecute"], [TAINT_NOT_READY, "NoSchedule"]);
  if (ready === "Unknown") out.push([TAINT_UNREACHABLE, "NoExecute"], [TAINT_UNREACHABLE, "NoSchedule"]);
  const byCondition: [string, string][] = [
    ["MemoryPressure", TAINT_MEMORY_PRESSURE],
    ["DiskPressure", TAINT_DISK_PRESSURE],
    ["PIDPressure", TAINT_PID_PRESSURE],
    ["NetworkUnavailable", TAINT_NETWORK_UNAVAILABLE],
  ];
  for (const [type, key] of byCondition) if (condition(node, type)?.status === "True") out.push([key, "NoSchedule"]);
  if (node.spec?.unschedulable) out.push([TAINT_UNSCHEDULABLE, "NoSchedule"]);
  return out;
}

/**
 * The node's taints with the managed ones made to match wantedTaints: foreign taints and the timeAdded of kept
 * ones are preserved, new NoExecute taints get timeAdded `now` (the taint manager counts tolerationSeconds from
 * it). Returns undefined when nothing changes.
 */
export function reconcileTaints(node: Readonly<Node>, nowRfc3339: string): Taint[] | undefined {
  const current = node.spec?.taints ?? [];
  const wanted = wantedTaints(node);
  const isManaged = (t: Readonly<Taint>): boolean => MANAGED.some(([k, e]) => k === t.key && e === t.effect);
  const isWanted = (t: Readonly<Taint>): boolean => wanted.some(([k, e]) => k === t.key && e === t.effect);
  const next: Taint[] = current.filter((t) => !isManaged(t) || isWanted(t)).map((t) => ({ ...t }));
  for (const [key, effect] of wanted) {
    if (next.some((t) => t.key === key && t.effect === effect)) continue;
    next.push(effect === "NoExecute" ? { key, effect, timeAdded: nowRfc3339 } : { key, effect });
  }
  const same = next.length === current.length && next.every((t, i) => t.key === current[i]?.key && t.effect === current[i]?.effect);
  return same ? undefined : next;
}

export type EvictionDecision =
  | { kind: "none" }
  /** Some NoExecute taint is not tolerated at all. */
  | { kind: "now"; taint: Taint }
  /** Every taint is tolerated, the shortest toleration ends at `deadline` (ms since epoch). */
  | { kind: "at"; deadline: number }
  /** Tolerated without time limit. */
  | { kind: "never" };

/**
 * The taint manager's decision for a pod on a node with these taints. The clock for tolerationSeconds starts at
 * the earliest timeAdded of the tolerated NoExecute taints (`fallbackStart` when none carries one), so the
 * deadline survives a controller restart.
 */
export function evictionDecision(taints: readonly Readonly<Taint>[], tolerations: readonly Readonly<Toleration>[], fallbackStart: number): EvictionDecision {
  const noExecute = taints.filter((t) => t.effect === "NoExecute");
  if (noExecute.length === 0) return { kind: "none" };
  let minSeconds = Infinity;
  let start = Infinity;
  for (const taint of noExecute) {
    const toleration = tolerations.find((t) => toleratesTaint(t, taint));
    if (!toleration) return { kind: "now", taint: { ...taint } };
    if (toleration.tolerationSeconds !== undefined) minSeconds = Math.min(minSeconds, Math.max(0, toleration.tolerationSeconds));
    const added = parseTime(taint.timeAdded);
    if (added !== undefined) start = Math.min(start, added);
  }
  if (minSeconds === Infinity) return { kind: "never" };
  return { kind: "at", deadline: (Number.isFinite(start) ? start : fallbackStart) + minSeconds * 1000 };
}
