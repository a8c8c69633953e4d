import { describe, expect, it } from "vitest";
import { newNode, newPod } from "../../api/testing/builders.js";
import type { Pod } from "../../api/types/index.js";
import { nodeInfoOf, runScore } from "../framework/testing.js";
import { SelectorSpread } from "./selector-spread.js";

function ownedBy(name: string, uid: string, namespace = "default"): Pod {
  return newPod(name, { namespace, meta: { ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid, controller: true }] } });
}

describe("SelectorSpread", () => {
  const plugin = new SelectorSpread();

  it("skips pods without a controller", () => {
    expect(runScore(plugin, newPod("p"), [nodeInfoOf(newNode("n"))])).toBeUndefined();
  });

  it("prefers nodes with fewer pods of the same owner", () => {
    const nodes = [
      nodeInfoOf(newNode("a"), ownedBy("a1", "rs-1"), ownedBy("a2", "rs-1")),
      nodeInfoOf(newNode("b"), ownedBy("b1", "rs-1")),
      nodeInfoOf(newNode("c"), ownedBy("c1", "rs-other"), ownedBy("c2", "rs-other")),
    ];
    expect(runScore(plugin, ownedBy("new", "rs-1"), nodes)).toEqual([0, 50, 100]);
  });

  it("does not count a same-uid owner in another namespace", () => {
    const nodes = [nodeInfoOf(newNode("a"), ownedBy("a1", "rs-1", "other")), nodeInfoOf(newNode("b"))];
    expect(runScore(plugin, ownedBy("new", "rs-1"), nodes)).toEqual([100, 100]);
  });

  it("weighs zone spreading two thirds when nodes have zones", () => {
    const zone = (z: string) => ({ labels: { "topology.kubernetes.io/zone": z } });
    const nodes = [
      nodeInfoOf(newNode("a1", zone("a")), ownedBy("p1", "rs-1")),
      nodeInfoOf(newNode("a2", zone("a"))),
      nodeInfoOf(newNode("b1", zone("b"))),
    ];
    // Node counts 1,0,0 → 0,100,100; zone counts a=1, b=0 → 0,0,100; blended 1/3·node + 2/3·zone.
    expect(runScore(plugin, ownedBy("new", "rs-1"), nodes)).toEqual([0, 33, 100]);
  });
});
