import { describe, expect, it } from "vitest";
import { newNamespace, newNode, newPod } from "../../api/testing/builders.js";
import type { Affinity, Node, Pod, PodAffinityTerm } from "../../api/types/index.js";
import { CycleState } from "../framework/interface.js";
import type { NodeInfo } from "../framework/node-info.js";
import { handleFor, nodeInfoOf, runScore, testHandle } from "../framework/testing.js";
import { create, ERR_REASON_AFFINITY, ERR_REASON_ANTI_AFFINITY, ERR_REASON_EXISTING_ANTI_AFFINITY, type InterPodAffinity } from "./inter-pod-affinity.js";

const zoned = (name: string, zone: string): Node => newNode(name, { labels: { zone } });
const term = (labels: Record<string, string>, topologyKey = "kubernetes.io/hostname", extra: Partial<PodAffinityTerm> = {}): PodAffinityTerm => ({ labelSelector: { matchLabels: labels }, topologyKey, ...extra });

function pod(name: string, labels: Record<string, string>, affinity?: Affinity, namespace = "default"): Pod {
  const p = newPod(name, { labels, namespace });
  if (affinity) p.spec!.affinity = affinity;
  return p;
}

/** Filter reasons per node ("" for a pass). */
function filterAll(plugin: InterPodAffinity, p: Pod, nodes: NodeInfo[]): Record<string, string> {
  const state = new CycleState();
  const pre = plugin.preFilter(state, p, nodes);
  const out: Record<string, string> = {};
  for (const n of nodes) out[n.name] = pre.code === "Skip" ? "skip" : plugin.filter(state, p, n).reasons.join() || "";
  return out;
}

describe("InterPodAffinity filter", () => {
  const plugin = create(undefined, testHandle);
  const antiWeb: Affinity = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: "web" })] } };

  it("skips pods without required terms when no existing pod has anti-affinity", () => {
    expect(filterAll(plugin, pod("p", { app: "web" }), [nodeInfoOf(newNode("n1"), pod("x", { app: "web" }))])).toEqual({ n1: "skip" });
  });

  it("keeps required anti-affinity replicas apart, and existing pods' anti-affinity keeps others out", () => {
    const nodes = [nodeInfoOf(newNode("n1"), pod("w1", { app: "web" }, antiWeb)), nodeInfoOf(newNode("n2"))];
    expect(filterAll(plugin, pod("w2", { app: "web" }, antiWeb), nodes)).toEqual({ n1: ERR_REASON_ANTI_AFFINITY, n2: "" });
    // Symmetry: a plain web pod may not join w1, whose anti-affinity selects it.
    expect(filterAll(plugin, pod("plain", { app: "web" }), nodes)).toEqual({ n1: ERR_REASON_EXISTING_ANTI_AFFINITY, n2: "" });
    expect(filterAll(plugin, pod("db", { app: "db" }), nodes)).toEqual({ n1: "skip", n2: "skip" });
  });

  it("requires a matching pod in the topology domain for required affinity, except for the first of a self-affine group", () => {
    const withDb: Affinity = { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: "db" }, "zone")] } };
    const nodes = [nodeInfoOf(zoned("a1", "a"), pod("db", { app: "db" })), nodeInfoOf(zoned("a2", "a")), nodeInfoOf(zoned("b1", "b")), nodeInfoOf(newNode("nozone"))];
    expect(filterAll(plugin, pod("p", { app: "web" }, withDb), nodes)).toEqual({ a1: "", a2: "", b1: ERR_REASON_AFFINITY, nozone: ERR_REASON_AFFINITY });
    const empty = [nodeInfoOf(zoned("a1", "a")), nodeInfoOf(zoned("b1", "b"))];
    expect(filterAll(plugin, pod("p", { app: "web" }, withDb), empty)).toEqual({ a1: ERR_REASON_AFFINITY, b1: ERR_REASON_AFFINITY });
    const selfAffine: Affinity = { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: "web" }, "zone")] } };
    expect(filterAll(plugin, pod("first", { app: "web" }, selfAffine), empty)).toEqual({ a1: "", b1: "" });
  });

  it("selects pods in the term's namespaces and those its namespaceSelector picks", () => {
    const nsPlugin = create(undefined, handleFor({ nodes: [], namespaces: [newNamespace("team-a", { labels: { team: "a" } }), newNamespace("team-b")] }));
    const nodes = [nodeInfoOf(newNode("n1"), pod("x", { app: "web" }, undefined, "team-a")), nodeInfoOf(newNode("n2"), pod("y", { app: "web" }, undefined, "team-b"))];
    const anti = (extra: Partial<PodAffinityTerm>): Pod => pod("p", {}, { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: "web" }, "kubernetes.io/hostname", extra)] } });
    expect(filterAll(nsPlugin, anti({}), nodes)).toEqual({ n1: "", n2: "" });
    expect(filterAll(nsPlugin, anti({ namespaces: ["team-b"] }), nodes)).toEqual({ n1: "", n2: ERR_REASON_ANTI_AFFINITY });
    expect(filterAll(nsPlugin, anti({ namespaceSelector: { matchLabels: { team: "a" } } }), nodes)).toEqual({ n1: ERR_REASON_ANTI_AFFINITY, n2: "" });
    expect(filterAll(nsPlugin, anti({ namespaceSelector: {} }), nodes)).toEqual({ n1: ERR_REASON_ANTI_AFFINITY, n2: ERR_REASON_ANTI_AFFINITY });
  });
});

describe("InterPodAffinity score", () => {
  it("adds preferred affinity and subtracts preferred anti-affinity, normalized min..max", () => {
    const nodes = [nodeInfoOf(zoned("a1", "a"), pod("cache", { app: "cache" })), nodeInfoOf(zoned("b1", "b"), pod("batch", { app: "batch" })), nodeInfoOf(zoned("c1", "c"))];
    const p = pod("p", { app: "web" }, {
      podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 10, podAffinityTerm: term({ app: "cache" }, "zone") }] },
      podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 5, podAffinityTerm: term({ app: "batch" }, "zone") }] },
    });
    // Raw: a1 10, b1 −5, c1 0 → (s + 5) / 15.
    expect(runScore(create(undefined, handleFor({ nodes })), p, nodes)).toEqual([100, 0, 33]);
  });

  it("counts existing pods' required affinity toward the pod with hardPodAffinityWeight", () => {
    const fan = pod("fan", { app: "fan" }, { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [term({ app: "web" })] } });
    const nodes = [nodeInfoOf(newNode("n1"), fan), nodeInfoOf(newNode("n2"))];
    expect(runScore(create(undefined, handleFor({ nodes })), pod("web", { app: "web" }), nodes)).toEqual([100, 0]);
    expect(runScore(create({ hardPodAffinityWeight: 0 }, handleFor({ nodes })), pod("web", { app: "web" }), nodes)).toBeUndefined();
    expect(() => create({ hardPodAffinityWeight: 101 }, testHandle)).toThrow(/hardPodAffinityWeight/);
  });

  it("skips when neither the pod nor any existing pod has affinity", () => {
    const nodes = [nodeInfoOf(newNode("n1"), pod("x", { app: "x" }))];
    expect(runScore(create(undefined, handleFor({ nodes })), pod("p", {}), nodes)).toBeUndefined();
  });
});
