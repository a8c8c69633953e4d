import { describe, expect, it } from "vitest";
import { findUntoleratedTaint, taintTolerated, toleratesTaint } from "./tolerations.js";
import type { Taint, Toleration } from "./types/index.js";

const taint = (key: string, value?: string, effect: Taint["effect"] = "NoExecute"): Taint => ({ key, effect, ...(value ? { value } : {}) });

describe("toleratesTaint", () => {
  it.each<[string, Toleration, Taint, boolean]>([
    ["Exists on the key", { key: "k", operator: "Exists" }, taint("k", "v"), true],
    ["Equal with the same value", { key: "k", operator: "Equal", value: "v" }, taint("k", "v"), true],
    ["Equal (the default) with another value", { key: "k", value: "w" }, taint("k", "v"), false],
    ["Equal with both values absent", { key: "k" }, taint("k"), true],
    ["an empty key with Exists tolerates every key", { operator: "Exists" }, taint("any"), true],
    ["another key", { key: "j", operator: "Exists" }, taint("k"), false],
    ["another effect", { key: "k", operator: "Exists", effect: "NoSchedule" }, taint("k"), false],
    ["an unknown operator", { key: "k", operator: "Bogus" as NonNullable<Toleration["operator"]> }, taint("k"), false],
  ])("%s", (_name, toleration, t, expected) => {
    expect(toleratesTaint(toleration, t)).toBe(expected);
  });
});

describe("findUntoleratedTaint", () => {
  it("returns the first included taint nobody tolerates", () => {
    const taints = [taint("a", undefined, "NoSchedule"), taint("b", undefined, "PreferNoSchedule"), taint("c", undefined, "NoSchedule")];
    const blocks = (t: Readonly<Taint>): boolean => t.effect === "NoSchedule";
    expect(findUntoleratedTaint(taints, [{ key: "a", operator: "Exists" }], blocks)?.key).toBe("c");
    expect(findUntoleratedTaint(taints, [{ operator: "Exists" }], blocks)).toBeUndefined();
    expect(taintTolerated(taint("b"), [{ key: "a", operator: "Exists" }])).toBe(false);
  });
});
