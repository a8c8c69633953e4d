import { describe, expect, it } from "vitest";
import { newNode, newPod } from "../../api/testing/builders.js";
import { nodeInfoOf, runFilter } from "../framework/testing.js";
import { ERR_REASON, NodeName } from "./node-name.js";

describe("NodeName", () => {
  const plugin = new NodeName();

  it.each<[string, string | undefined, string]>([
    ["skips pods that name no node", undefined, "Skip"],
    ["passes the named node", "n1", "Success"],
    ["rejects other nodes", "n2", "UnschedulableAndUnresolvable"],
  ])("%s", (_what, nodeName, code) => {
    const status = runFilter(plugin, newPod("p", nodeName ? { nodeName } : {}), nodeInfoOf(newNode("n1")));
    expect(status.code).toBe(code);
    if (code === "UnschedulableAndUnresolvable") expect(status.reasons).toEqual(["node(s) didn't match the requested node name"]);
  });

  it("exports Kubernetes' reason", () => {
    expect(ERR_REASON).toBe("node(s) didn't match the requested node name");
  });
});
