import { describe, expect, it } from "vitest";
import { newNode, newPod } from "../../api/testing/builders.js";
import type { Taint, Toleration } from "../../api/types/index.js";
import { nodeInfoOf, runFilter, runScore } from "../framework/testing.js";
import { TaintToleration } from "./taint-toleration.js";

const unreachable: Taint = { key: "node.kubernetes.io/unreachable", effect: "NoExecute" };
const dedicated: Taint = { key: "dedicated", value: "gpu", effect: "NoSchedule" };
const prefer: Taint = { key: "spot", value: "true", effect: "PreferNoSchedule" };

describe("TaintToleration filter", () => {
  const plugin = new TaintToleration();

  it.each<[string, Taint[], Toleration[], string, string?]>([
    ["an untainted node", [], [], "Success"],
    ["an untolerated NoExecute taint", [unreachable], [], "UnschedulableAndUnresolvable", "node(s) had untolerated taint {node.kubernetes.io/unreachable: }"],
    ["an untolerated NoSchedule taint with a value", [dedicated], [], "UnschedulableAndUnresolvable", "node(s) had untolerated taint {dedicated: gpu}"],
    ["a PreferNoSchedule taint (never filtered)", [prefer], [], "Success"],
    ["an Equal toleration with the right value", [dedicated], [{ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }], "Success"],
    ["an Equal toleration with the wrong value", [dedicated], [{ key: "dedicated", operator: "Equal", value: "cpu" }], "UnschedulableAndUnresolvable", "node(s) had untolerated taint {dedicated: gpu}"],
    ["an Exists toleration without effect", [dedicated], [{ key: "dedicated", operator: "Exists" }], "Success"],
    ["a toleration for another effect", [dedicated], [{ key: "dedicated", operator: "Exists", effect: "NoExecute" }], "UnschedulableAndUnresolvable", "node(s) had untolerated taint {dedicated: gpu}"],
    ["a wildcard toleration", [dedicated, unreachable], [{ operator: "Exists" }], "Success"],
    ["the first of two untolerated taints", [dedicated, unreachable], [{ key: "node.kubernetes.io/unreachable", operator: "Exists" }], "UnschedulableAndUnresolvable", "node(s) had untolerated taint {dedicated: gpu}"],
  ])("handles %s", (_what, taints, tolerations, code, reason) => {
    const status = runFilter(plugin, newPod("p", { tolerations }), nodeInfoOf(newNode("n1", { taints })));
    expect(status.code).toBe(code);
    if (reason) expect(status.reasons).toEqual([reason]);
  });
});

describe("TaintToleration score", () => {
  const plugin = new TaintToleration();

  it("scores nodes with fewer untolerated PreferNoSchedule taints higher", () => {
    const nodes = [
      nodeInfoOf(newNode("clean")),
      nodeInfoOf(newNode("one", { taints: [prefer] })),
      nodeInfoOf(newNode("two", { taints: [prefer, { key: "old", effect: "PreferNoSchedule" }] })),
      nodeInfoOf(newNode("hard", { taints: [dedicated] })),
    ];
    expect(runScore(plugin, newPod("p"), nodes)).toEqual([100, 50, 0, 100]);
  });

  it("does not count tolerated taints", () => {
    const nodes = [nodeInfoOf(newNode("clean")), nodeInfoOf(newNode("spot", { taints: [prefer] }))];
    expect(runScore(plugin, newPod("p", { tolerations: [{ key: "spot", operator: "Exists", effect: "PreferNoSchedule" }] }), nodes)).toEqual([100, 100]);
  });

  it("ignores tolerations of other effects when scoring", () => {
    const nodes = [nodeInfoOf(newNode("clean")), nodeInfoOf(newNode("spot", { taints: [prefer] }))];
    expect(runScore(plugin, newPod("p", { tolerations: [{ key: "spot", operator: "Exists", effect: "NoSchedule" }] }), nodes)).toEqual([100, 0]);
  });
});
