// NodeName: a pod that names a node (spec.nodeName) fits only that node.
import type { Pod } from "../../api/types/index.js";
import { Status, type CycleState, type FilterPlugin, type Handle, type PreFilterPlugin } from "../framework/interface.js";
import type { NodeInfo } from "../framework/node-info.js";

export const NAME = "NodeName";
export const ERR_REASON = "node(s) didn't match the requested node name";

export class NodeName implements PreFilterPlugin, FilterPlugin {
  readonly name = NAME;

  preFilter(_state: CycleState, pod: Readonly<Pod>): Status {
    return pod.spec?.nodeName ? Status.SUCCESS : Status.SKIP;
  }

  filter(_state: CycleState, pod: Readonly<Pod>, nodeInfo: NodeInfo): Status {
    const wanted = pod.spec?.nodeName;
    if (!wanted || wanted === nodeInfo.name) return Status.SUCCESS;
    return Status.unresolvable(ERR_REASON);
  }
}

export function create(_args: unknown, _handle: Handle): NodeName {
  return new NodeName();
}
