// Test helpers for plugins and the scheduler: NodeInfos built from builder objects, and a one-pod plugin runner.
import type { Node, Pod } from "../../api/types/index.js";
import { silentLogger } from "../../component-base/logging.js";
import { CycleState, type FilterPlugin, type Handle, type PreFilterPlugin, type PreScorePlugin, type ScorePlugin, type Status } from "./interface.js";
import { NodeInfo, podInfoOf } from "./node-info.js";

export const testHandle: Handle = { logger: silentLogger() };

/** A NodeInfo for `node` with `pods` on it (their spec.nodeName is not consulted). */
export function nodeInfoOf(node: Node, ...pods: Pod[]): NodeInfo {
  const info = new NodeInfo(node.metadata.name ?? "");
  info.setNode(node);
  for (const p of pods) info.addPod(podInfoOf(p));
  return info;
}

/** PreFilter (when the plugin has one) then Filter, as the framework runs them; a PreFilter Skip passes. */
export function runFilter(plugin: FilterPlugin & Partial<PreFilterPlugin>, pod: Pod, node: NodeInfo): Status {
  const state = new CycleState();
  if (plugin.preFilter) {
    const pre = plugin.preFilter(state, pod, [node]);
    if (pre.code === "Skip") return pre;
    if (!pre.isSuccess()) return pre;
  }
  return plugin.filter(state, pod, node);
}

/** PreScore, Score on each node and normalizeScores; undefined when PreScore says Skip. */
export function runScore(plugin: ScorePlugin & Partial<PreScorePlugin>, pod: Pod, nodes: NodeInfo[]): number[] | undefined {
  const state = new CycleState();
  if (plugin.preScore) {
    const pre = plugin.preScore(state, pod, nodes);
    if (pre.code === "Skip") return undefined;
    if (!pre.isSuccess()) throw new Error(`PreScore failed: ${pre.message()}`);
  }
  const scores = nodes.map((n) => plugin.score(state, pod, n));
  plugin.normalizeScores?.(state, pod, nodes, scores);
  return scores;
}
