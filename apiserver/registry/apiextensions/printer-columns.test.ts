import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../../api/meta.js";
import { customResourcePrinter, evaluateJsonPath, parseJsonPath } from "./printer-columns.js";

const NOW = Date.parse("2026-01-01T01:00:00Z");
const OBJECT: KubeObject = {
  apiVersion: "stable.example.com/v1",
  kind: "CronTab",
  metadata: { name: "c", creationTimestamp: "2026-01-01T00:55:00Z", annotations: { "a.b/c": "dotted" } },
  spec: { cronSpec: "* * * * *", replicas: 3, containers: [{ image: "a" }, { image: "b" }], ready: true, nested: { x: 1 } },
};

describe("parseJsonPath", () => {
  it("parses the subset CRDs use and refuses the rest", () => {
    expect(parseJsonPath(".spec.replicas")).toEqual([{ key: "spec" }, { key: "replicas" }]);
    expect(parseJsonPath(".metadata.annotations['a.b/c']")).toEqual([{ key: "metadata" }, { key: "annotations" }, { key: "a.b/c" }]);
    expect(parseJsonPath(".spec.containers[1].image")).toEqual([{ key: "spec" }, { key: "containers" }, { index: 1 }, { key: "image" }]);
    expect(parseJsonPath(".spec.containers[*].image")).toEqual([{ key: "spec" }, { key: "containers" }, { all: true }, { key: "image" }]);
    expect(parseJsonPath("spec.replicas")).toBeUndefined();
    expect(parseJsonPath(".spec[?(@.x)]")).toBeUndefined();
  });

  it("evaluates to every value reached", () => {
    expect(evaluateJsonPath(parseJsonPath(".spec.containers[*].image") ?? [], OBJECT)).toEqual(["a", "b"]);
    expect(evaluateJsonPath(parseJsonPath(".metadata.annotations['a.b/c']") ?? [], OBJECT)).toEqual(["dotted"]);
    expect(evaluateJsonPath(parseJsonPath(".spec.missing.deep") ?? [], OBJECT)).toEqual([]);
  });
});

describe("customResourcePrinter", () => {
  it("prints NAME and AGE without printer columns", () => {
    const printer = customResourcePrinter(undefined);
    expect(printer.columns.map((c) => c.name)).toEqual(["Name", "Age"]);
    expect(printer.cells(OBJECT, NOW)).toEqual(["c", "5m"]);
  });

  it("prints NAME then each column, typed, with null for what is missing", () => {
    const printer = customResourcePrinter([
      { name: "Spec", type: "string", jsonPath: ".spec.cronSpec" },
      { name: "Replicas", type: "integer", jsonPath: ".spec.replicas" },
      { name: "Ready", type: "boolean", jsonPath: ".spec.ready" },
      { name: "Images", type: "string", jsonPath: ".spec.containers[*].image", priority: 1 },
      { name: "Nested", type: "string", jsonPath: ".spec.nested" },
      { name: "Missing", type: "string", jsonPath: ".status.phase" },
      { name: "Wrong", type: "integer", jsonPath: ".spec.cronSpec" },
      { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
    ]);
    expect(printer.columns.map((c) => [c.name, c.type, c.priority])).toEqual([
      ["Name", "string", 0],
      ["Spec", "string", 0],
      ["Replicas", "integer", 0],
      ["Ready", "boolean", 0],
      ["Images", "string", 1],
      ["Nested", "string", 0],
      ["Missing", "string", 0],
      ["Wrong", "integer", 0],
      ["Age", "date", 0],
    ]);
    expect(printer.cells(OBJECT, NOW)).toEqual(["c", "* * * * *", 3, true, "a", '{"x":1}', null, null, "5m"]);
  });
});
