import { describe, expect, it } from "vitest";
import { newNode, newPod } from "../../api/testing/builders.js";
import type { Affinity, NodeSelectorTerm, Pod, PreferredSchedulingTerm } from "../../api/types/index.js";
import { nodeInfoOf, runFilter, runScore } from "../framework/testing.js";
import { ERR_REASON_POD, NodeAffinity } from "./node-affinity.js";

function withRequired(terms: NodeSelectorTerm[], nodeSelector?: Record<string, string>): Pod {
  const pod = newPod("p", nodeSelector ? { nodeSelector } : {});
  pod.spec!.affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } };
  return pod;
}

function withPreferred(terms: PreferredSchedulingTerm[]): Pod {
  const pod = newPod("p");
  const affinity: Affinity = { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: terms } };
  pod.spec!.affinity = affinity;
  return pod;
}

const node = newNode("node-1", { labels: { zone: "a", disk: "ssd", cores: "8" } });

describe("NodeAffinity filter", () => {
  const plugin = new NodeAffinity();

  it("skips pods with neither nodeSelector nor required affinity", () => {
    expect(runFilter(plugin, newPod("p"), nodeInfoOf(node)).code).toBe("Skip");
  });

  it.each<[string, Record<string, string>, string]>([
    ["a matching nodeSelector", { zone: "a" }, "Success"],
    ["a nodeSelector matching every label", { zone: "a", disk: "ssd" }, "Success"],
    ["a nodeSelector with a wrong value", { zone: "b" }, "UnschedulableAndUnresolvable"],
    ["a nodeSelector naming a missing label", { gpu: "yes" }, "UnschedulableAndUnresolvable"],
  ])("handles %s", (_what, nodeSelector, code) => {
    const status = runFilter(plugin, newPod("p", { nodeSelector }), nodeInfoOf(node));
    expect(status.code).toBe(code);
    if (code !== "Success") expect(status.reasons).toEqual([ERR_REASON_POD]);
  });

  it.each<[string, NodeSelectorTerm[], boolean]>([
    ["In with the value", [{ matchExpressions: [{ key: "zone", operator: "In", values: ["a", "b"] }] }], true],
    ["In without the value", [{ matchExpressions: [{ key: "zone", operator: "In", values: ["b"] }] }], false],
    ["NotIn without the value", [{ matchExpressions: [{ key: "zone", operator: "NotIn", values: ["b"] }] }], true],
    ["NotIn on a missing label", [{ matchExpressions: [{ key: "gpu", operator: "NotIn", values: ["x"] }] }], true],
    ["NotIn with the value", [{ matchExpressions: [{ key: "zone", operator: "NotIn", values: ["a"] }] }], false],
    ["Exists", [{ matchExpressions: [{ key: "disk", operator: "Exists" }] }], true],
    ["Exists on a missing label", [{ matchExpressions: [{ key: "gpu", operator: "Exists" }] }], false],
    ["DoesNotExist", [{ matchExpressions: [{ key: "gpu", operator: "DoesNotExist" }] }], true],
    ["DoesNotExist on a present label", [{ matchExpressions: [{ key: "disk", operator: "DoesNotExist" }] }], false],
    ["Gt below the value", [{ matchExpressions: [{ key: "cores", operator: "Gt", values: ["4"] }] }], true],
    ["Gt above the value", [{ matchExpressions: [{ key: "cores", operator: "Gt", values: ["8"] }] }], false],
    ["Lt above the value", [{ matchExpressions: [{ key: "cores", operator: "Lt", values: ["16"] }] }], true],
    ["Lt on a non-numeric label", [{ matchExpressions: [{ key: "zone", operator: "Lt", values: ["16"] }] }], false],
    ["Gt with two values (invalid)", [{ matchExpressions: [{ key: "cores", operator: "Gt", values: ["1", "2"] }] }], false],
    ["requirements ANDed within a term", [{ matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }, { key: "disk", operator: "In", values: ["hdd"] }] }], false],
    ["terms ORed", [{ matchExpressions: [{ key: "zone", operator: "In", values: ["b"] }] }, { matchExpressions: [{ key: "disk", operator: "In", values: ["ssd"] }] }], true],
    ["an empty term (matches nothing)", [{}], false],
    ["no terms (matches nothing)", [], false],
    ["matchFields on the node name", [{ matchFields: [{ key: "metadata.name", operator: "In", values: ["node-1"] }] }], true],
    ["matchFields on another name", [{ matchFields: [{ key: "metadata.name", operator: "In", values: ["node-2"] }] }], false],
    ["matchFields NotIn", [{ matchFields: [{ key: "metadata.name", operator: "NotIn", values: ["node-2"] }] }], true],
    ["matchFields on an unsupported field", [{ matchFields: [{ key: "metadata.uid", operator: "In", values: ["x"] }] }], false],
  ])("required affinity: %s", (_what, terms, fits) => {
    const status = runFilter(plugin, withRequired(terms), nodeInfoOf(node));
    expect(status.code).toBe(fits ? "Success" : "UnschedulableAndUnresolvable");
  });

  it("requires both the nodeSelector and the affinity", () => {
    const terms = [{ matchExpressions: [{ key: "zone", operator: "In" as const, values: ["a"] }] }];
    expect(runFilter(plugin, withRequired(terms, { disk: "ssd" }), nodeInfoOf(node)).code).toBe("Success");
    expect(runFilter(plugin, withRequired(terms, { disk: "hdd" }), nodeInfoOf(node)).code).toBe("UnschedulableAndUnresolvable");
  });

  it("words its reason as Kubernetes does", () => {
    expect(ERR_REASON_POD).toBe("node(s) didn't match Pod's node affinity/selector");
  });
});

describe("NodeAffinity score", () => {
  const plugin = new NodeAffinity();
  const nodes = [
    nodeInfoOf(newNode("a", { labels: { zone: "a", disk: "ssd" } })),
    nodeInfoOf(newNode("b", { labels: { zone: "b", disk: "ssd" } })),
    nodeInfoOf(newNode("c", { labels: { zone: "c" } })),
  ];

  it("skips pods without preferred terms", () => {
    expect(runScore(plugin, newPod("p"), nodes)).toBeUndefined();
  });

  it("adds the weights of matching preferences and scales the best to 100", () => {
    const pod = withPreferred([
      { weight: 80, preference: { matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] } },
      { weight: 20, preference: { matchExpressions: [{ key: "disk", operator: "In", values: ["ssd"] }] } },
    ]);
    expect(runScore(plugin, pod, nodes)).toEqual([100, 20, 0]);
  });

  it("gives every node 0 when none matches", () => {
    const pod = withPreferred([{ weight: 5, preference: { matchExpressions: [{ key: "zone", operator: "In", values: ["z"] }] } }]);
    expect(runScore(plugin, pod, nodes)).toEqual([0, 0, 0]);
  });
});
