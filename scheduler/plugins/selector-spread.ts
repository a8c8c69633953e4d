// SelectorSpread: spreads the pods of one owner (the same controlling ownerReference: a ReplicaSet, a
// ReplicationController, a StatefulSet) over nodes, and over zones when nodes carry topology labels — the scoring of
// Kubernetes' SelectorSpread, with "pods of the same owner" standing in for "pods matching the same selectors".
// Fewer such pods on a node (counting assumed ones) scores higher; pods without a controller skip it.
import type { Node, Pod } from "../../api/types/index.js";
import { MAX_NODE_SCORE, Status, StateKey, type CycleState, type Handle, type PreScorePlugin, type ScorePlugin } from "../framework/interface.js";
import { podInfoOf, type NodeInfo } from "../framework/node-info.js";

export const NAME = "SelectorSpread";

/** Weight of the zone spread against the node spread when zones exist (Kubernetes: 2/3). */
const ZONE_WEIGHTING = 2 / 3;

const OWNER = new StateKey<string>(NAME);

export class SelectorSpread implements PreScorePlugin, ScorePlugin {
  readonly name = NAME;

  preScore(state: CycleState, pod: Readonly<Pod>): Status {
    const owner = podInfoOf(pod).owner;
    if (owner === undefined) return Status.SKIP;
    state.write(OWNER, owner);
    return Status.SUCCESS;
  }

  /** How many pods of the owner the node already has. */
  score(state: CycleState, _pod: Readonly<Pod>, nodeInfo: NodeInfo): number {
    const owner = state.read(OWNER);
    return owner === undefined ? 0 : (nodeInfo.ownerCounts.get(owner) ?? 0);
  }

  normalizeScores(_state: CycleState, _pod: Readonly<Pod>, nodes: readonly NodeInfo[], scores: number[]): void {
    let maxByNode = 0;
    const byZone = new Map<string, number>();
    for (let i = 0; i < scores.length; i++) {
      const count = scores[i]!;
      if (count > maxByNode) maxByNode = count;
      const zone = zoneKey(nodes[i]!.node);
      if (zone !== "") byZone.set(zone, (byZone.get(zone) ?? 0) + count);
    }
    let maxByZone = 0;
    for (const c of byZone.values()) if (c > maxByZone) maxByZone = c;
    const haveZones = byZone.size > 0;
    for (let i = 0; i < scores.length; i++) {
      let f = MAX_NODE_SCORE;
      if (maxByNode > 0) f = (MAX_NODE_SCORE * (maxByNode - scores[i]!)) / maxByNode;
      if (haveZones) {
        const zone = zoneKey(nodes[i]!.node);
        if (zone !== "") {
          let zoneScore = MAX_NODE_SCORE;
          if (maxByZone > 0) zoneScore = (MAX_NODE_SCORE * (maxByZone - (byZone.get(zone) ?? 0))) / maxByZone;
          f = f * (1 - ZONE_WEIGHTING) + ZONE_WEIGHTING * zoneScore;
        }
      }
      scores[i] = Math.trunc(f);
    }
  }
}

/** region + zone from the topology labels; "" when the node has neither (utilnode.GetZoneKey). */
function zoneKey(node: Readonly<Node> | undefined): string {
  const labels = node?.metadata.labels;
  if (!labels) return "";
  const region = labels["topology.kubernetes.io/region"] ?? labels["failure-domain.beta.kubernetes.io/region"] ?? "";
  const zone = labels["topology.kubernetes.io/zone"] ?? labels["failure-domain.beta.kubernetes.io/zone"] ?? "";
  return region === "" && zone === "" ? "" : `${region}:\x00:${zone}`;
}

export function create(_args: unknown, _handle: Handle): SelectorSpread {
  return new SelectorSpread();
}
