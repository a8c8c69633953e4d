// NodePorts: two pods cannot claim the same host port for the same protocol on overlapping host IPs
// ("0.0.0.0" overlaps every IP).
import type { Pod } from "../../api/types/index.js";
import { Status, StateKey, type CycleState, type FilterPlugin, type Handle, type PreFilterPlugin } from "../framework/interface.js";
import { podInfoOf, type HostPort, type NodeInfo } from "../framework/node-info.js";

export const NAME = "NodePorts";
export const ERR_REASON = "node(s) didn't have free ports for the requested pod ports";

const WANTED = new StateKey<readonly HostPort[]>(NAME);

export class NodePorts implements PreFilterPlugin, FilterPlugin {
  readonly name = NAME;

  preFilter(state: CycleState, pod: Readonly<Pod>): Status {
    const ports = podInfoOf(pod).hostPorts;
    if (ports.length === 0) return Status.SKIP;
    state.write(WANTED, ports);
    return Status.SUCCESS;
  }

  filter(state: CycleState, pod: Readonly<Pod>, nodeInfo: NodeInfo): Status {
    const wanted = state.read(WANTED) ?? podInfoOf(pod).hostPorts;
    for (const p of wanted) {
      if (conflicts(nodeInfo, p)) return Status.unschedulable(ERR_REASON);
    }
    return Status.SUCCESS;
  }
}

function conflicts(nodeInfo: NodeInfo, p: HostPort): boolean {
  const used = nodeInfo.usedPorts.get(`${p.protocol}/${p.port}`);
  if (!used) return false;
  if (p.ip === "0.0.0.0") return true;
  for (const ip of used) if (ip === "0.0.0.0" || ip === p.ip) return true;
  return false;
}

export function create(_args: unknown, _handle: Handle): NodePorts {
  return new NodePorts();
}
