// NodeUnschedulable: a cordoned node (spec.unschedulable) takes no new pods, unless the pod tolerates the
// node.kubernetes.io/unschedulable:NoSchedule taint that goes with it (DaemonSet pods do).
import { taintTolerated } from "../../api/tolerations.js";
import type { Pod, Taint } from "../../api/types/index.js";
import { Status, type CycleState, type FilterPlugin, type Handle } from "../framework/interface.js";
import type { NodeInfo } from "../framework/node-info.js";

export const NAME = "NodeUnschedulable";
export const ERR_REASON_UNSCHEDULABLE = "node(s) were unschedulable";
export const ERR_REASON_UNKNOWN_CONDITION = "node(s) had unknown conditions";

const UNSCHEDULABLE_TAINT: Taint = { key: "node.kubernetes.io/unschedulable", effect: "NoSchedule" };

export class NodeUnschedulable implements FilterPlugin {
  readonly name = NAME;

  filter(_state: CycleState, pod: Readonly<Pod>, nodeInfo: NodeInfo): Status {
    const node = nodeInfo.node;
    if (!node) return Status.unresolvable(ERR_REASON_UNKNOWN_CONDITION);
    if (!node.spec?.unschedulable) return Status.SUCCESS;
    if (taintTolerated(UNSCHEDULABLE_TAINT, pod.spec?.tolerations ?? [])) return Status.SUCCESS;
    return Status.unresolvable(ERR_REASON_UNSCHEDULABLE);
  }
}

export function create(_args: unknown, _handle: Handle): NodeUnschedulable {
  return new NodeUnschedulable();
}
