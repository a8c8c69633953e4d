// What the DaemonSet controller decides, as pure functions of the DaemonSet, the nodes and its pods (Kubernetes'
// pkg/controller/daemon: NodeShouldRunDaemonPod, podsShouldBeOnNode, rollingUpdate, updateDaemonSetStatus and
// util.AddOrUpdateDaemonPodTolerations / ReplaceDaemonSetPodNodeNameNodeAffinity).
import { selectorFromSet } from "../../../api/labels.js";
import type { ObjectMeta } from "../../../api/meta.js";
import { compileNodeSelector } from "../../../api/node-selector.js";
import { availableInMs, isPodReady } from "../../../api/pod.js";
import { parseTime } from "../../../api/time.js";
import { findUntoleratedTaint } from "../../../api/tolerations.js";
import type { DaemonSet, DaemonSetStatus } from "../../../api/types/apps.js";
import type { Node, NodeSelectorTerm, Pod, Toleration } from "../../../api/types/core.js";
import { newControllerRef } from "../controller-utils.js";
import { scaledValue } from "../deployment/deployment-util.js";
import { CONTROLLER_REVISION_HASH_LABEL } from "../history/history.js";

/** The pod label with the DaemonSet's generation when the pod was made (deprecated in Kubernetes, still written). */
export const POD_TEMPLATE_GENERATION_LABEL = "pod-template-generation";

/**
 * The tolerations every daemon pod gets, so that a node's health taints never evict or keep out its daemons
 * (network-unavailable only for host-network pods, which do not need the pod network).
 */
export function daemonTolerations(hostNetwork: boolean): Toleration[] {
  const list: Toleration[] = [
    { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
    { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
    { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
  ];
  if (hostNetwork) list.push({ key: "node.kubernetes.io/network-unavailable", operator: "Exists", effect: "NoSchedule" });
  return list;
}

/** `existing` plus each daemon toleration it lacks (same key, operator and effect counts as present). */
export function withDaemonTolerations(existing: readonly Toleration[] | undefined, hostNetwork: boolean): Toleration[] {
  const out = [...(existing ?? [])].map((t) => ({ ...t }));
  for (const t of daemonTolerations(hostNetwork)) {
    if (!out.some((o) => o.key === t.key && (o.operator ?? "Equal") === t.operator && o.effect === t.effect)) out.push(t);
  }
  return out;
}

/** The required node affinity term that pins a pod to `nodeName` (matchFields metadata.name In [node]). */
export function nodeNameTerm(nodeName: string): NodeSelectorTerm {
  return { matchFields: [{ key: "metadata.name", operator: "In", values: [nodeName] }] };
}

/**
 * The node a daemon pod is meant for: its spec.nodeName once bound, otherwise the node its required affinity's
 * single matchFields term names (util.GetTargetNodeName).
 */
export function targetNodeName(pod: Readonly<Pod>): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const term of terms) {
    for (const f of term.matchFields ?? []) {
      if (f.key === "metadata.name" && f.operator === "In" && f.values?.length === 1) return f.values[0];
    }
  }
  return undefined;
}

/** The daemon pod for `nodeName` from `template`: the revision labels, the daemon tolerations, pinned to the node. */
export function newDaemonPod(ds: Readonly<DaemonSet>, nodeName: string, hash: string): Pod {
  const template = ds.spec?.template;
  const meta: ObjectMeta = {
    generateName: `${ds.metadata.name ?? ""}-`,
    labels: { ...(template?.metadata?.labels ?? {}), [CONTROLLER_REVISION_HASH_LABEL]: hash, [POD_TEMPLATE_GENERATION_LABEL]: String(ds.metadata.generation ?? 0) },
    ownerReferences: [newControllerRef(ds, "apps/v1", "DaemonSet")],
  };
  if (ds.metadata.namespace !== undefined) meta.namespace = ds.metadata.namespace;
  if (template?.metadata?.annotations) meta.annotations = { ...template.metadata.annotations };
  if (template?.metadata?.finalizers) meta.finalizers = [...template.metadata.finalizers];
  const spec = structuredClone(template?.spec ?? { containers: [] });
  spec.tolerations = withDaemonTolerations(spec.tolerations, spec.hostNetwork === true);
  // Placed by the scheduler, pinned by affinity: the scheduler still checks resources, ports and taints.
  const affinity = spec.affinity ?? {};
  const nodeAffinity = affinity.nodeAffinity ?? {};
  nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = { nodeSelectorTerms: [nodeNameTerm(nodeName)] };
  affinity.nodeAffinity = nodeAffinity;
  spec.affinity = affinity;
  return { apiVersion: "v1", kind: "Pod", metadata: meta, spec };
}

/** Whether a daemon pod should be started on the node, and whether one already there may keep running. */
export interface NodeVerdict {
  shouldRun: boolean;
  shouldContinueRunning: boolean;
}

/**
 * NodeShouldRunDaemonPod: the template's nodeName (if any), nodeSelector and required node affinity must match;
 * an untolerated NoSchedule/NoExecute taint keeps a new pod off, and only an untolerated NoExecute taint evicts a
 * running one. The daemon tolerations count.
 */
export function nodeShouldRunDaemonPod(node: Readonly<Node>, ds: Readonly<DaemonSet>): NodeVerdict {
  const spec = ds.spec?.template?.spec;
  const no = { shouldRun: false, shouldContinueRunning: false };
  if (spec?.nodeName && spec.nodeName !== node.metadata.name) return no;
  if (spec?.nodeSelector && !selectorFromSet(spec.nodeSelector).matches(node.metadata.labels)) return no;
  const required = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required && !compileNodeSelector(required.nodeSelectorTerms ?? [])(node)) return no;
  const tolerations = withDaemonTolerations(spec?.tolerations, spec?.hostNetwork === true);
  const taints = node.spec?.taints ?? [];
  const blocking = findUntoleratedTaint(taints, tolerations, (t) => t.effect === "NoSchedule" || t.effect === "NoExecute");
  if (blocking) {
    const evicting = findUntoleratedTaint(taints, tolerations, (t) => t.effect === "NoExecute");
    return { shouldRun: false, shouldContinueRunning: evicting === undefined };
  }
  return { shouldRun: true, shouldContinueRunning: true };
}

/** The rolling update's fenceposts: maxSurge and maxUnavailable scaled to the desired count, rounding up. */
export function daemonFenceposts(ds: Readonly<DaemonSet>, desired: number): { surge: number; unavailable: number } {
  const ru = ds.spec?.updateStrategy?.rollingUpdate;
  const surge = scaledValue(ru?.maxSurge ?? 0, desired, true);
  let unavailable = scaledValue(ru?.maxUnavailable ?? 1, desired, true);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

export function isUpdatedPod(pod: Readonly<Pod>, hash: string, generation: number | undefined): boolean {
  const podHash = pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL];
  if (podHash !== undefined) return podHash === hash;
  return generation !== undefined && pod.metadata.labels?.[POD_TEMPLATE_GENERATION_LABEL] === String(generation);
}

function oldestFirst(a: Readonly<Pod>, b: Readonly<Pod>): number {
  const t = (parseTime(a.metadata.creationTimestamp) ?? 0) - (parseTime(b.metadata.creationTimestamp) ?? 0);
  return t !== 0 ? t : (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");
}

export interface DaemonPlan {
  /** Nodes to create a daemon pod on. */
  create: string[];
  /** Pods to delete. */
  delete: Readonly<Pod>[];
  /** Failed pods found (for the FailedDaemonPod event). */
  failed: Readonly<Pod>[];
}

/** Groups pods by their target node; pods without one are not daemon pods of any node. */
export function podsByNode(pods: readonly Readonly<Pod>[]): Map<string, Readonly<Pod>[]> {
  const byNode = new Map<string, Readonly<Pod>[]>();
  for (const pod of pods) {
    const node = targetNodeName(pod);
    if (node === undefined) continue;
    const list = byNode.get(node) ?? [];
    list.push(pod);
    byNode.set(node, list);
  }
  for (const list of byNode.values()) list.sort(oldestFirst);
  return byNode;
}

/**
 * The creates and deletes that bring the nodes to one daemon pod each (podsShouldBeOnNode), then, for the
 * RollingUpdate strategy, the deletes (maxSurge 0) or surge creates (maxSurge > 0) that move the pods to `hash`
 * within maxUnavailable. Pods being deleted count as present (their replacement waits) but are never deleted again.
 */
export function planDaemonPods(ds: Readonly<DaemonSet>, nodes: readonly Readonly<Node>[], pods: readonly Readonly<Pod>[], hash: string, now: number): DaemonPlan {
  const plan: DaemonPlan = { create: [], delete: [], failed: [] };
  const byNode = podsByNode(pods);
  const nodeNames = new Set(nodes.map((n) => n.metadata.name ?? ""));
  const rolling = (ds.spec?.updateStrategy?.type ?? "RollingUpdate") === "RollingUpdate";
  const generation = ds.metadata.generation;
  const verdicts = new Map<string, NodeVerdict>();
  let desired = 0;
  for (const node of nodes) {
    const v = nodeShouldRunDaemonPod(node, ds);
    verdicts.set(node.metadata.name ?? "", v);
    if (v.shouldRun) desired++;
  }
  const { surge, unavailable: maxUnavailable } = daemonFenceposts(ds, desired);
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const available = (p: Readonly<Pod>): boolean => !p.metadata.deletionTimestamp && availableInMs(p, minReady, now) === 0;

  for (const node of nodes) {
    const name = node.metadata.name ?? "";
    const v = verdicts.get(name)!;
    const onNode = byNode.get(name) ?? [];
    const live: Readonly<Pod>[] = [];
    for (const pod of onNode) {
      if (pod.metadata.deletionTimestamp) continue;
      if (pod.status?.phase === "Failed") {
        plan.failed.push(pod);
        if (v.shouldContinueRunning) plan.delete.push(pod);
        continue;
      }
      live.push(pod);
    }
    const terminating = onNode.some((p) => p.metadata.deletionTimestamp) ;
    if (v.shouldRun && live.length === 0 && !terminating && !plan.failed.some((p) => targetNodeName(p) === name)) {
      plan.create.push(name);
    } else if (v.shouldContinueRunning && live.length > 1) {
      // Keep the oldest; with surge, an old pod and its new replacement may coexist until the new one is available.
      const updated = live.filter((p) => isUpdatedPod(p, hash, generation));
      const old = live.filter((p) => !isUpdatedPod(p, hash, generation));
      if (rolling && surge > 0 && updated.length >= 1 && old.length >= 1) {
        plan.delete.push(...updated.slice(1), ...old.slice(1));
      } else {
        plan.delete.push(...live.slice(1));
      }
    } else if (!v.shouldContinueRunning) {
      plan.delete.push(...live);
    }
  }
  // Pods meant for nodes that no longer exist.
  for (const [node, list] of byNode) if (!nodeNames.has(node)) plan.delete.push(...list.filter((p) => !p.metadata.deletionTimestamp));

  if (!rolling || plan.create.length > 0 || plan.delete.length > 0) return plan;

  let numUnavailable = 0;
  const oldUnavailable: Readonly<Pod>[] = [];
  const replaceable: { node: string; pod: Readonly<Pod>; surge: boolean }[] = [];
  for (const node of nodes) {
    const name = node.metadata.name ?? "";
    // Also nodes that keep an old pod but would not get a new one (e.g. a NoSchedule taint since): the update
    // removes their pod, as Kubernetes' does.
    const v = verdicts.get(name)!;
    if (!v.shouldContinueRunning) continue;
    const onNode = byNode.get(name) ?? [];
    if (!v.shouldRun && onNode.length === 0) continue;
    const updated = onNode.find((p) => isUpdatedPod(p, hash, generation));
    const old = onNode.find((p) => !isUpdatedPod(p, hash, generation));
    if (onNode.length === 0) {
      numUnavailable++;
      continue;
    }
    if (updated && !old) {
      if (!available(updated)) numUnavailable++;
      continue;
    }
    if (updated && old) {
      // A surge pair: the old one goes once its replacement is available.
      if (available(updated) && !old.metadata.deletionTimestamp) plan.delete.push(old);
      else numUnavailable++;
      continue;
    }
    if (old && !updated) {
      if (old.metadata.deletionTimestamp) {
        numUnavailable++;
      } else if (!available(old)) {
        oldUnavailable.push(old);
      } else {
        replaceable.push({ node: name, pod: old, surge: v.shouldRun });
      }
    }
  }
  if (surge === 0) {
    plan.delete.push(...oldUnavailable);
    const budget = Math.max(0, maxUnavailable - numUnavailable - oldUnavailable.length);
    plan.delete.push(...replaceable.slice(0, budget).map((r) => r.pod));
  } else {
    const surging = nodes.filter((n) => {
      const onNode = byNode.get(n.metadata.name ?? "") ?? [];
      return onNode.some((p) => isUpdatedPod(p, hash, generation)) && onNode.some((p) => !isUpdatedPod(p, hash, generation));
    }).length;
    plan.create.push(...oldUnavailable.map((p) => targetNodeName(p) ?? ""));
    const budget = Math.max(0, surge - surging);
    plan.create.push(...replaceable.filter((r) => r.surge).slice(0, budget).map((r) => r.node));
    // An old pod whose node gets no new one has nothing to surge into: it goes within maxUnavailable.
    const stranded = replaceable.filter((r) => !r.surge);
    plan.delete.push(...stranded.slice(0, Math.max(0, maxUnavailable - numUnavailable)).map((r) => r.pod));
  }
  return plan;
}

/** updateDaemonSetStatus's counters over the nodes and pods (observedGeneration and collisionCount added by the caller). */
export function daemonStatus(ds: Readonly<DaemonSet>, nodes: readonly Readonly<Node>[], pods: readonly Readonly<Pod>[], hash: string, now: number): DaemonSetStatus {
  const byNode = podsByNode(pods.filter((p) => !p.metadata.deletionTimestamp && p.status?.phase !== "Failed"));
  const minReady = ds.spec?.minReadySeconds ?? 0;
  let desired = 0;
  let current = 0;
  let misscheduled = 0;
  let ready = 0;
  let available = 0;
  let updated = 0;
  for (const node of nodes) {
    const v = nodeShouldRunDaemonPod(node, ds);
    const onNode = byNode.get(node.metadata.name ?? "") ?? [];
    if (v.shouldRun) {
      desired++;
      if (onNode.length === 0) continue;
      current++;
      const pod = onNode[0]!;
      if (isPodReady(pod)) {
        ready++;
        if (availableInMs(pod, minReady, now) === 0) available++;
      }
      if (onNode.some((p) => isUpdatedPod(p, hash, ds.metadata.generation))) updated++;
    } else if (onNode.length > 0) {
      misscheduled++;
    }
  }
  return {
    currentNumberScheduled: current,
    numberMisscheduled: misscheduled,
    desiredNumberScheduled: desired,
    numberReady: ready,
    updatedNumberScheduled: updated,
    numberAvailable: available,
    numberUnavailable: desired - available,
  };
}
