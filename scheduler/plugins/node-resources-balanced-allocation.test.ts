import { describe, expect, it } from "vitest";
import { newNode, newPod } from "../../api/testing/builders.js";
import { nodeInfoOf, runScore, testHandle } from "../framework/testing.js";
import { create, NodeResourcesBalancedAllocation } from "./node-resources-balanced-allocation.js";

describe("NodeResourcesBalancedAllocation", () => {
  const plugin = new NodeResourcesBalancedAllocation();
  const capacity = { cpu: "4", memory: "8Gi", pods: "110" };

  it("skips best-effort pods", () => {
    expect(runScore(plugin, newPod("p"), [nodeInfoOf(newNode("n", { capacity }))])).toBeUndefined();
  });

  it.each<[string, Record<string, string>, Record<string, string>, number]>([
    ["equal fractions", {}, { cpu: "2", memory: "4Gi" }, 100],
    ["a quarter of cpu and an eighth of memory", {}, { cpu: "1", memory: "1Gi" }, 93],
    ["all cpu and no memory", {}, { cpu: "4", memory: "0" }, 50],
    ["existing pods that rebalance the node", { cpu: "1", memory: "4Gi" }, { cpu: "1", memory: "0" }, 100],
    ["fractions capped at 1", {}, { cpu: "8", memory: "4Gi" }, 75],
  ])("scores %s", (_what, existing, requests, score) => {
    const pods = Object.keys(existing).length > 0 ? [newPod("e", { requests: existing })] : [];
    const info = nodeInfoOf(newNode("n", { capacity }), ...pods);
    expect(runScore(plugin, newPod("p", { requests }), [info])).toEqual([score]);
  });

  it("rejects a weight outside 1..100", () => {
    expect(() => create({ resources: [{ name: "cpu", weight: 0 }] }, testHandle)).toThrow(/weight/);
  });
});
