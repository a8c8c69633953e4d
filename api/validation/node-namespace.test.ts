import { describe, expect, it } from "vitest";
import type { KubeObject } from "../meta.js";
import { newNamespace, newNode } from "../testing/builders.js";
import { problems, updateProblems, edit } from "./testing.js";

describe("nodes and namespaces", () => {
  it.each<[string, KubeObject, string]>([
    ["a bad pod CIDR", newNode("n1", { podCIDR: "10.244.1.0/33" }), 'spec.podCIDRs[0]: Invalid value: "10.244.1.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'],
    ["an unknown taint effect", newNode("n1", { taints: [{ key: "k", effect: "Evict" as "NoExecute" }] }), 'spec.taints[0].effect: Unsupported value: "Evict": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"'],
    ["a non-standard namespace finalizer", edit(newNamespace("ns"), (n) => (n.spec = { finalizers: ["custom"] })), 'spec.finalizers: Invalid value: "custom": name is neither a standard finalizer name nor is it fully qualified'],
  ])("rejects %s", (_what, obj, expected) => {
    expect(problems(obj)).toContain(expected);
  });

  it("lets the node IPAM controller assign a pod CIDR once", () => {
    const prev = newNode("n1");
    const next = newNode("n1", { podCIDR: "10.244.1.0/24" });
    expect(updateProblems(next, prev)).toEqual([]);
    expect(updateProblems(newNode("n1", { podCIDR: "10.244.2.0/24" }), next)).toEqual(['spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid']);
  });
});
