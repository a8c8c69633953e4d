import { describe, expect, it } from "vitest";
import { testHandle } from "../framework/testing.js";
import { inTreeRegistry } from "./registry.js";

describe("plugin registry", () => {
  it("registers every in-tree plugin under its name", () => {
    const registry = inTreeRegistry();
    expect(registry.names().sort()).toEqual([
      "DefaultPreemption",
      "ImageLocality",
      "InterPodAffinity",
      "NodeAffinity",
      "NodeName",
      "NodePorts",
      "NodeResourcesBalancedAllocation",
      "NodeResourcesFit",
      "NodeUnschedulable",
      "PodTopologySpread",
      "SelectorSpread",
      "TaintToleration",
      "VolumeBinding",
    ]);
    for (const name of registry.names()) expect(registry.get(name)!(undefined, testHandle).name).toBe(name);
  });
});
