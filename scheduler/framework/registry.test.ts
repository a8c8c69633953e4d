import { describe, expect, it } from "vitest";
import { Registry } from "./registry.js";
import { testHandle } from "./testing.js";

describe("plugin registry", () => {
  it("rejects a second plugin with the same name", () => {
    const registry = new Registry().register("A", () => ({ name: "A" }));
    expect(() => registry.register("A", () => ({ name: "A" }))).toThrow("a plugin named A already exists");
  });

  it("returns the factory registered under a name, and nothing for an unknown name", () => {
    const registry = new Registry().register("A", () => ({ name: "A" }));
    expect(registry.has("A")).toBe(true);
    expect(registry.get("A")!(undefined, testHandle).name).toBe("A");
    expect(registry.get("B")).toBeUndefined();
    expect(registry.names()).toEqual(["A"]);
  });
});
