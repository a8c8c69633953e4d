import { describe, expect, it } from "vitest";
import { nodeIndexOf } from "./commands.js";

describe("nodeIndexOf", () => {
  it.each([
    [["127.0.0.1", "172.30.0.11"], 1],
    [["172.30.0.13"], 3],
    [["172.30.1.1"], 247],
    [["10.0.0.5", "172.30.0.12"], 2],
  ])("names a container with addresses %j node-%i, as the lab's plan places node-N", (addresses, index) => {
    expect(nodeIndexOf(addresses, "172.30.0.0/16")).toBe(index);
  });

  it.each([[["172.30.0.3"]], [["172.30.0.10"]], [["172.31.0.11"]], [["172.30.255.255"]], [[]]])("finds no node address among %j", (addresses) => {
    expect(nodeIndexOf(addresses, "172.30.0.0/16")).toBeUndefined();
  });
});
