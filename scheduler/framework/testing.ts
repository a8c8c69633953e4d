// Test helpers for plugins and the scheduler: NodeInfos built from builder objects, and a one-pod plugin runner.
import type { Namespace, Node, Pod, PodDisruptionBudget, ReplicaSet, ReplicationController, Service, StatefulSet } from "../../api/types/index.js";
import { silentLogger } from "../../component-base/logging.js";
import { CycleState, type ClusterLister, type FilterPlugin, type Handle, type PreFilterPlugin, type PreScorePlugin, type ScorePlugin, type Status } from "./interface.js";
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

/** Objects a fake ClusterLister serves (all namespaces mixed; filtered by namespace on read). */
export interface FakeCluster {
  nodes: NodeInfo[];
  services?: Service[];
  replicationControllers?: ReplicationController[];
  replicaSets?: ReplicaSet[];
  statefulSets?: StatefulSet[];
  namespaces?: Namespace[];
  pdbs?: PodDisruptionBudget[];
}

export function fakeLister(c: FakeCluster): ClusterLister {
  const inNs = <T extends { metadata: { namespace?: string } }>(list: T[] | undefined, ns: string): T[] => (list ?? []).filter((o) => (o.metadata.namespace ?? "default") === ns);
  const byName = <T extends { metadata: { namespace?: string; name?: string } }>(list: T[] | undefined, ns: string, name: string): T | undefined => inNs(list, ns).find((o) => o.metadata.name === name);
  return {
    nodeInfos: () => c.nodes,
    services: (ns) => inNs(c.services, ns),
    replicationController: (ns, name) => byName(c.replicationControllers, ns, name),
    replicaSet: (ns, name) => byName(c.replicaSets, ns, name),
    statefulSet: (ns, name) => byName(c.statefulSets, ns, name),
    namespaceLabels: (name) => {
      const ns = (c.namespaces ?? []).find((n) => n.metadata.name === name);
      return ns ? (ns.metadata.labels ?? {}) : undefined;
    },
    namespaces: () => c.namespaces ?? [],
    podDisruptionBudgets: (ns) => inNs(c.pdbs, ns),
  };
}

/** A handle whose lister serves `c`. */
export function handleFor(c: FakeCluster): Handle {
  return { ...testHandle, lister: fakeLister(c) };
}
