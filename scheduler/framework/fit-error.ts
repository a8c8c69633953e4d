// Why a pod fits no node, worded exactly as Kubernetes words it (framework/types.go FitError.Error):
//   "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {node.kubernetes.io/unreachable: }."
// Each reason counts the nodes that gave it (a node may give several, e.g. "Insufficient cpu" and "Insufficient
// memory"); the "<count> <reason>" strings are sorted as strings, as Go's sort.Strings does.
import type { Status } from "./interface.js";

export const NO_NODES_AVAILABLE = "no nodes available to schedule pods";

/** What the filters said, gathered over one cycle. */
export class Diagnosis {
  /** Reason → number of nodes that gave it. */
  readonly reasons = new Map<string, number>();
  /** Plugins that rejected at least one node. */
  readonly unschedulablePlugins = new Set<string>();
  /** Set when PreFilter rejected the pod before any node was looked at. */
  preFilterMsg = "";
  /** What PostFilter (preemption) said when it found no way either ("preemption: 0/3 nodes are available: ..."). */
  postFilterMsg = "";
  /** Node name → the rejecting status, for the nodes Filter rejected. */
  readonly nodeStatuses = new Map<string, Status>();

  addNodeStatus(status: Status, nodeName?: string): void {
    if (nodeName !== undefined) this.nodeStatuses.set(nodeName, status);
    for (const r of status.reasons) this.reasons.set(r, (this.reasons.get(r) ?? 0) + 1);
    if (status.plugin) this.unschedulablePlugins.add(status.plugin);
  }
}

/** The pod fits none of the `numAllNodes` nodes; an outcome (the pod waits), not a fault. */
export class FitError extends Error {
  constructor(
    readonly numAllNodes: number,
    readonly diagnosis: Diagnosis,
  ) {
    super(fitErrorMessage(numAllNodes, diagnosis));
    this.name = "FitError";
  }
}

export function fitErrorMessage(numAllNodes: number, d: Diagnosis): string {
  if (numAllNodes === 0) return NO_NODES_AVAILABLE;
  let msg = `0/${numAllNodes} nodes are available:`;
  if (d.preFilterMsg !== "") msg += ` ${d.preFilterMsg}.`;
  else {
    const parts = [...d.reasons].map(([reason, count]) => `${count} ${reason}`);
    // Go's sort.Strings: byte order, not locale order.
    parts.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (parts.length > 0) msg += ` ${parts.join(", ")}.`;
  }
  if (d.postFilterMsg !== "") msg += ` ${d.postFilterMsg}`;
  return msg;
}
