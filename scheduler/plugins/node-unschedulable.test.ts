import { describe, expect, it } from "vitest";
import { newNode, newPod } from "../../api/testing/builders.js";
import type { Toleration } from "../../api/types/index.js";
import { nodeInfoOf, runFilter } from "../framework/testing.js";
import { ERR_REASON_UNSCHEDULABLE, NodeUnschedulable } from "./node-unschedulable.js";

describe("NodeUnschedulable", () => {
  const plugin = new NodeUnschedulable();

  it.each<[string, boolean, Toleration[] | undefined, string]>([
    ["a schedulable node", false, undefined, "Success"],
    ["a cordoned node", true, undefined, "UnschedulableAndUnresolvable"],
    ["a cordoned node when the pod tolerates the unschedulable taint", true, [{ key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" }], "Success"],
    ["a cordoned node when the pod tolerates everything", true, [{ operator: "Exists" }], "Success"],
    ["a cordoned node when the toleration is for another effect", true, [{ key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoExecute" }], "UnschedulableAndUnresolvable"],
  ])("filters %s", (_what, unschedulable, tolerations, code) => {
    const status = runFilter(plugin, newPod("p", tolerations ? { tolerations } : {}), nodeInfoOf(newNode("n1", { unschedulable })));
    expect(status.code).toBe(code);
    if (code !== "Success") expect(status.reasons).toEqual([ERR_REASON_UNSCHEDULABLE]);
  });

  it("words its reason as Kubernetes does", () => {
    expect(ERR_REASON_UNSCHEDULABLE).toBe("node(s) were unschedulable");
  });
});
