import { describe, expect, it } from "vitest";
import { newNode, newPod } from "../../api/testing/builders.js";
import type { Pod, PodDisruptionBudget } from "../../api/types/index.js";
import { defaultProfile } from "../config.js";
import { Diagnosis } from "../framework/fit-error.js";
import { CycleState, type Preemptor } from "../framework/interface.js";
import type { NodeInfo } from "../framework/node-info.js";
import { Framework } from "../framework/runtime.js";
import { fakeLister, nodeInfoOf, testHandle, type FakeCluster } from "../framework/testing.js";
import { NAME as PREEMPTION } from "./default-preemption.js";
import { inTreeRegistry } from "./registry.js";

function prio(name: string, priority: number, cpu: string, opts: { labels?: Record<string, string>; start?: string } = {}): Pod {
  const p = newPod(name, { requests: { cpu }, ...(opts.labels ? { labels: opts.labels } : {}) });
  p.metadata.uid = `uid-${name}`;
  p.spec!.priority = priority;
  if (opts.start) p.status = { startTime: opts.start };
  return p;
}

const node = (name: string): ReturnType<typeof newNode> => newNode(name, { capacity: { cpu: "2", memory: "8Gi", pods: "110" } });

/** Runs the default profile's filters on every node, then its PostFilter; records what preemption did. */
function preempt(pod: Pod, nodes: NodeInfo[], extra: Omit<FakeCluster, "nodes"> = {}) {
  const evicted: string[] = [];
  const victimCounts: number[] = [];
  let attempts = 0;
  const preemptor: Preemptor = {
    evict: (victim, _p, nodeName) => evicted.push(`${victim.metadata.name ?? ""}@${nodeName}`),
    clearNominations: () => undefined,
    attempted: () => attempts++,
    victims: (n) => victimCounts.push(n),
  };
  const fw = new Framework(defaultProfile(), inTreeRegistry(), { ...testHandle, lister: fakeLister({ nodes, ...extra }), preemptor });
  const state = new CycleState();
  const d = new Diagnosis();
  const pre = fw.runPreFilter(state, pod, nodes);
  if (!pre.isSuccess()) d.preFilterMsg = pre.message();
  else for (const n of nodes) {
    const s = fw.runFilter(state, pod, n);
    if (!s.isSuccess()) d.addNodeStatus(s, n.name);
  }
  const result = fw.runPostFilter(state, pod, nodes, d);
  return { result, evicted, victimCounts, attempts: () => attempts };
}

describe("DefaultPreemption", () => {
  it("evicts the fewest, lowest-priority pods on the node where that suffices", () => {
    const nodes = [
      nodeInfoOf(node("n1"), prio("mid", 50, "1"), prio("low-a", 10, "1")),
      nodeInfoOf(node("n2"), prio("high", 200, "1"), prio("low-b", 10, "500m"), prio("low-c", 10, "500m")),
    ];
    const r = preempt(prio("vip", 100, "1"), nodes);
    expect(r.result.status.isSuccess()).toBe(true);
    // n1 needs one victim of top priority 10 (low-a); n2 needs both low pods: one victim wins.
    expect(r.result.nominatedNodeName).toBe("n1");
    expect(r.evicted).toEqual(["low-a@n1"]);
    expect(r.victimCounts).toEqual([1]);
    expect(r.attempts()).toBe(1);
  });

  it("prefers the node whose victims violate no PodDisruptionBudget", () => {
    const nodes = [nodeInfoOf(node("n1"), prio("guarded", 10, "2", { labels: { app: "db" } })), nodeInfoOf(node("n2"), prio("free", 10, "2", { labels: { app: "web" } }))];
    const pdb: PodDisruptionBudget = { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: "db", namespace: "default" }, spec: { selector: { matchLabels: { app: "db" } } }, status: { disruptionsAllowed: 0 } };
    const r = preempt(prio("vip", 100, "1"), nodes, { pdbs: [pdb] });
    expect(r.result.nominatedNodeName).toBe("n2");
    expect(r.evicted).toEqual(["free@n2"]);
  });

  it("picks the node with the lowest-priority top victim", () => {
    const nodes = [nodeInfoOf(node("n1"), prio("p30", 30, "2")), nodeInfoOf(node("n2"), prio("p20", 20, "2"))];
    expect(preempt(prio("vip", 100, "1"), nodes).evicted).toEqual(["p20@n2"]);
  });

  it("does not preempt with preemptionPolicy Never, and says why", () => {
    const p = prio("polite", 100, "1");
    p.spec!.preemptionPolicy = "Never";
    const r = preempt(p, [nodeInfoOf(node("n1"), prio("low", 1, "2"))]);
    expect(r.result.status.message()).toBe("preemption: not eligible due to preemptionPolicy=Never.");
    expect(r.result.nominatedNodeName).toBeUndefined();
    expect(r.evicted).toEqual([]);
  });

  it("reports every node's reason when nothing can be preempted", () => {
    const nodes = [
      nodeInfoOf(node("n1"), prio("peer", 100, "2")),
      nodeInfoOf(newNode("n2", { capacity: { cpu: "500m", memory: "8Gi", pods: "110" } }), prio("low", 1, "100m")),
      nodeInfoOf(newNode("n3", { taints: [{ key: "x", effect: "NoSchedule" }] })),
    ];
    const r = preempt(prio("vip", 100, "1"), nodes);
    expect(r.result.status.plugin).toBe(PREEMPTION);
    // No node can be made to fit: a nomination the pod had is cleared.
    expect(r.result.nominatedNodeName).toBe("");
    expect(r.result.status.message()).toBe(
      "preemption: 0/3 nodes are available: 1 Insufficient cpu, 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.",
    );
    expect(r.evicted).toEqual([]);
  });

  it("spares higher-priority pods it does not need to evict", () => {
    const nodes = [nodeInfoOf(node("n1"), prio("low-1", 10, "1", { start: "2024-01-01T00:00:00Z" }), prio("low-2", 20, "1"))];
    expect(preempt(prio("vip", 100, "1"), nodes).evicted).toEqual(["low-1@n1"]);
  });
});

describe("DefaultPreemption and a pod waiting for its victims", () => {
  it("does not preempt again while a lower-priority pod on its nominated node is terminating", () => {
    const leaving = prio("leaving", 1, "2");
    leaving.metadata.deletionTimestamp = "2024-01-01T00:00:00Z";
    const vip = prio("vip", 100, "1");
    vip.status = { nominatedNodeName: "n1" };
    const r = preempt(vip, [nodeInfoOf(node("n1"), leaving), nodeInfoOf(node("n2"), prio("other", 1, "2"))]);
    expect(r.result.status.message()).toBe("preemption: not eligible due to a terminating pod on the nominated node.");
    expect(r.result.nominatedNodeName).toBeUndefined();
    expect(r.evicted).toEqual([]);
  });
});
