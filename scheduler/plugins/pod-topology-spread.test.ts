import { describe, expect, it } from "vitest";
import { newNode, newPod, newReplicaSet, newService } from "../../api/testing/builders.js";
import type { Node, Pod, TopologySpreadConstraint } from "../../api/types/index.js";
import type { NodeInfo } from "../framework/node-info.js";
import { handleFor, nodeInfoOf, runScore, testHandle } from "../framework/testing.js";
import { CycleState, type Status } from "../framework/interface.js";
import { create, ERR_REASON_CONSTRAINTS_NOT_MATCH, ERR_REASON_NODE_LABEL_NOT_MATCH, type PodTopologySpread } from "./pod-topology-spread.js";

const zoned = (name: string, zone: string, extra: Partial<Parameters<typeof newNode>[1]> = {}): Node => newNode(name, { labels: { "topology.kubernetes.io/zone": zone }, ...extra });

function app(name: string, constraints?: TopologySpreadConstraint[], labels: Record<string, string> = { app: "web" }): Pod {
  const p = newPod(name, { labels });
  if (constraints) p.spec!.topologySpreadConstraints = constraints;
  return p;
}

const zoneSpread = (maxSkew: number, extra: Partial<TopologySpreadConstraint> = {}): TopologySpreadConstraint => ({
  maxSkew,
  topologyKey: "topology.kubernetes.io/zone",
  whenUnsatisfiable: "DoNotSchedule",
  labelSelector: { matchLabels: { app: "web" } },
  ...extra,
});

/** PreFilter over every node, then Filter on each: the status per node name. */
function filterAll(plugin: PodTopologySpread, pod: Pod, nodes: NodeInfo[]): Record<string, Status["code"]> {
  const state = new CycleState();
  const pre = plugin.preFilter(state, pod, nodes);
  const out: Record<string, Status["code"]> = {};
  for (const n of nodes) out[n.name] = pre.code === "Skip" ? "Skip" : plugin.filter(state, pod, n).code;
  return out;
}

describe("PodTopologySpread filter", () => {
  const plugin = create(undefined, testHandle);

  it("skips pods without DoNotSchedule constraints (and no owner to default from)", () => {
    expect(filterAll(plugin, app("p"), [nodeInfoOf(zoned("a1", "a"))])).toEqual({ a1: "Skip" });
  });

  it("keeps the skew between zones within maxSkew", () => {
    // zone a: 2 matching pods, zone b: 0.
    const nodes = [nodeInfoOf(zoned("a1", "a"), app("x"), app("y")), nodeInfoOf(zoned("b1", "b"))];
    expect(filterAll(plugin, app("p", [zoneSpread(1)]), nodes)).toEqual({ a1: "Unschedulable", b1: "Success" });
    expect(filterAll(plugin, app("p", [zoneSpread(3)]), nodes)).toEqual({ a1: "Success", b1: "Success" });
    const state = new CycleState();
    plugin.preFilter(state, app("p", [zoneSpread(1)]), nodes);
    expect(plugin.filter(state, app("p"), nodes[0]!).reasons).toEqual([ERR_REASON_CONSTRAINTS_NOT_MATCH]);
  });

  it("counts only matching pods of the pod's namespace that are not being deleted", () => {
    const other = newPod("o", { labels: { app: "web" }, namespace: "other" });
    const deleting = newPod("d", { labels: { app: "web" }, meta: { deletionTimestamp: "2024-01-01T00:00:00Z" } });
    const nodes = [nodeInfoOf(zoned("a1", "a"), other, deleting, app("db", undefined, { app: "db" })), nodeInfoOf(zoned("b1", "b"))];
    expect(filterAll(plugin, app("p", [zoneSpread(1)]), nodes)).toEqual({ a1: "Success", b1: "Success" });
  });

  it("rejects nodes without the topology label as unresolvable", () => {
    const state = new CycleState();
    const nodes = [nodeInfoOf(zoned("a1", "a")), nodeInfoOf(newNode("bare"))];
    plugin.preFilter(state, app("p", [zoneSpread(1)]), nodes);
    const s = plugin.filter(state, app("p"), nodes[1]!);
    expect([s.code, s.reasons]).toEqual(["UnschedulableAndUnresolvable", [ERR_REASON_NODE_LABEL_NOT_MATCH]]);
  });

  it("treats the global minimum as 0 while there are fewer domains than minDomains", () => {
    const nodes = [nodeInfoOf(zoned("a1", "a"), app("x")), nodeInfoOf(zoned("b1", "b"), app("y"))];
    expect(filterAll(plugin, app("p", [zoneSpread(1)]), nodes)).toEqual({ a1: "Success", b1: "Success" });
    expect(filterAll(plugin, app("p", [zoneSpread(1, { minDomains: 3 })]), nodes)).toEqual({ a1: "Unschedulable", b1: "Unschedulable" });
  });

  it("narrows the selector by matchLabelKeys", () => {
    const v1 = (n: string): Pod => app(n, undefined, { app: "web", rev: "1" });
    const nodes = [nodeInfoOf(zoned("a1", "a"), v1("x"), v1("y")), nodeInfoOf(zoned("b1", "b"))];
    const pod = app("p", [zoneSpread(1, { matchLabelKeys: ["rev"] })], { app: "web", rev: "2" });
    expect(filterAll(plugin, pod, nodes)).toEqual({ a1: "Success", b1: "Success" });
    expect(filterAll(plugin, app("p", [zoneSpread(1, { matchLabelKeys: ["rev"] })], { app: "web", rev: "1" }), nodes)).toEqual({ a1: "Unschedulable", b1: "Success" });
  });

  it("honors node affinity and (only when asked) taints when counting domains", () => {
    const taint = { key: "dedicated", value: "x", effect: "NoSchedule" as const };
    const nodes = [nodeInfoOf(zoned("a1", "a"), app("x")), nodeInfoOf(zoned("b1", "b", { taints: [taint] })), nodeInfoOf(zoned("c1", "c", { labels: { "topology.kubernetes.io/zone": "c", pool: "other" } }))];
    const pod = (extra: Partial<TopologySpreadConstraint>, nodeSelector?: Record<string, string>): Pod => {
      const p = app("p", [zoneSpread(1, extra)]);
      if (nodeSelector) p.spec!.nodeSelector = nodeSelector;
      return p;
    };
    // Taints ignored by default: zone b counts with 0 pods, so zone a (1 + 1 − 0 = 2) is too skewed.
    expect(filterAll(plugin, pod({}), nodes).a1).toBe("Unschedulable");
    // Honoring taints drops zone b; zone c still counts 0.
    expect(filterAll(plugin, pod({ nodeTaintsPolicy: "Honor" }), nodes).a1).toBe("Unschedulable");
    // Honoring taints and a nodeSelector the zone-c node fails: only zone a is left, min 1.
    const bothOut = pod({ nodeTaintsPolicy: "Honor" });
    bothOut.spec!.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "pool", operator: "DoesNotExist" }] }] } } };
    expect(filterAll(plugin, bothOut, nodes).a1).toBe("Success");
    expect(filterAll(plugin, pod({ nodeTaintsPolicy: "Honor", nodeAffinityPolicy: "Ignore" }, { "topology.kubernetes.io/zone": "a" }), nodes).a1).toBe("Unschedulable");
  });
});

describe("PodTopologySpread score", () => {
  const rs = newReplicaSet("web", { selectorLabels: { app: "web" } });
  const owned = (name: string): Pod => newPod(name, { labels: { app: "web" }, meta: { ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: "rs-uid", controller: true }] } });

  it("spreads a ReplicaSet's pods by the system default constraints: emptier nodes score strictly higher", () => {
    const nodes = [nodeInfoOf(newNode("n1"), owned("w1")), nodeInfoOf(newNode("n2")), nodeInfoOf(newNode("n3"))];
    const plugin = create(undefined, handleFor({ nodes, replicaSets: [rs] }));
    // hostname: weight ln(3 + 2), maxSkew 3 → n1 round(1.609 + 2) = 4, others 2 → normalized 50 / 100 / 100.
    expect(runScore(plugin, owned("new"), nodes)).toEqual([50, 100, 100]);
    nodes[1]!.addPod(nodeInfoOf(newNode("x"), owned("w2")).pods.values().next().value!);
    expect(runScore(plugin, owned("new"), nodes)).toEqual([50, 50, 100]);
  });

  it("counts a node's pods again after they change (removed, or being deleted), not from an earlier count", () => {
    const nodes = [nodeInfoOf(newNode("n1"), owned("w1")), nodeInfoOf(newNode("n2"))];
    const plugin = create(undefined, handleFor({ nodes, replicaSets: [rs] }));
    // 2 nodes → weight ln 4: a node with one pod round(1.386 + 2) = 3, an empty one 2 → 66 / 100.
    expect(runScore(plugin, owned("new"), nodes)).toEqual([66, 100]);
    const w1 = owned("w1");
    w1.metadata.deletionTimestamp = "2026-01-01T00:00:00Z";
    nodes[0]!.addPod(nodeInfoOf(newNode("x"), w1).pods.values().next().value!);
    expect(runScore(plugin, owned("new"), nodes)).toEqual([100, 100]);
    nodes[1]!.addPod(nodeInfoOf(newNode("x"), owned("w2")).pods.values().next().value!);
    expect(runScore(plugin, owned("new"), nodes)).toEqual([100, 66]);
    nodes[1]!.removePod(nodes[1]!.pods.keys().next().value!);
    expect(runScore(plugin, owned("new"), nodes)).toEqual([100, 100]);
  });

  it("weighs the zone constraint by every feasible node's domain, and counts the domain \"\" for a node labelled zone=\"\"", () => {
    // n1 has no zone label, n2 an empty one: both are in Kubernetes' topology pair (zone, ""), which holds n1's pods.
    const nodes = [nodeInfoOf(newNode("n1"), owned("w1"), owned("w2")), nodeInfoOf(zoned("n2", "")), nodeInfoOf(zoned("n3", "a"))];
    const plugin = create(undefined, handleFor({ nodes, replicaSets: [rs] }));
    // hostname weight ln 5; zone weight ln 4 (domains "" and "a"). n1: round(2 · 1.609 + 2) = 5 (no zone label, no
    // zone term); n2: 2 + (2 · 1.386 + 4) = round(8.77) = 9; n3: 2 + 4 = 6 → 100 · (9 + 5 − s) / 9.
    expect(runScore(plugin, owned("new"), nodes)).toEqual([100, 55, 88]);
  });

  it("uses the selector of a Service that selects the pod", () => {
    const nodes = [nodeInfoOf(newNode("n1"), app("w1")), nodeInfoOf(newNode("n2"))];
    const plugin = create(undefined, handleFor({ nodes, services: [newService("web", { selector: { app: "web" } })] }));
    // 2 nodes → weight ln 4: n1 round(1.386 + 2) = 3, n2 2 → 100 · (3 + 2 − 3) / 3 = 66.
    expect(runScore(plugin, app("new"), nodes)).toEqual([66, 100]);
  });

  it("skips pods that nothing owns or selects", () => {
    const nodes = [nodeInfoOf(newNode("n1"), app("w1")), nodeInfoOf(newNode("n2"))];
    expect(runScore(create(undefined, handleFor({ nodes })), app("new"), nodes)).toBeUndefined();
  });

  it("scores zones with the pod's ScheduleAnyway constraints and ignores nodes without the label", () => {
    const nodes = [nodeInfoOf(zoned("a1", "a"), app("x"), app("y")), nodeInfoOf(zoned("a2", "a")), nodeInfoOf(zoned("b1", "b")), nodeInfoOf(newNode("bare"))];
    const pod = app("p", [zoneSpread(1, { whenUnsatisfiable: "ScheduleAnyway" })]);
    // 2 zones → weight ln 4 ≈ 1.386: zone a 2 pods → round(2.77) = 3, zone b 0 → 0; normalized (3 + 0 − s) / 3.
    expect(runScore(create(undefined, handleFor({ nodes })), pod, nodes)).toEqual([0, 0, 100, 0]);
  });

  it("uses List defaults from its args instead of the system ones", () => {
    const nodes = [nodeInfoOf(zoned("a1", "a"), owned("w1")), nodeInfoOf(zoned("b1", "b"))];
    const plugin = create({ defaultingType: "List", defaultConstraints: [{ maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "DoNotSchedule" }] }, handleFor({ nodes, replicaSets: [rs] }));
    expect(filterAll(plugin, owned("p"), nodes)).toEqual({ a1: "Unschedulable", b1: "Success" });
    expect(() => create({ defaultingType: "List", defaultConstraints: [{ maxSkew: 1, topologyKey: "x", whenUnsatisfiable: "Sometimes" }] }, testHandle)).toThrow(/whenUnsatisfiable/);
  });
});
