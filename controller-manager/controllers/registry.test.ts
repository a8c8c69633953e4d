import { describe, expect, it } from "vitest";
import type { Controller, ControllerFactory } from "./types.js";
import { ControllerRegistry, defaultRegistry, DuplicateControllerError, enabledControllers, KNOWN_CONTROLLERS, UnknownControllerError } from "./registry.js";

const noop: ControllerFactory = (): Controller => ({ name: "noop", run: () => Promise.resolve() });

function registry(...names: string[]): ControllerRegistry {
  const r = new ControllerRegistry();
  for (const n of names) r.register(n, noop);
  return r;
}

describe("ControllerRegistry", () => {
  it("rejects a name registered twice", () => {
    expect(() => registry("replicaset", "replicaset")).toThrow(DuplicateControllerError);
  });

  it("holds every controller kube-controller-manager knows, in start order", () => {
    expect(defaultRegistry().names()).toEqual(KNOWN_CONTROLLERS);
  });

  it("runs endpointslicemirroring by default, and --controllers can name (or alias) and disable it", () => {
    const names = defaultRegistry().names();
    expect(enabledControllers(defaultRegistry(), ["*"])).toContain("endpointslicemirroring");
    expect(enabledControllers(defaultRegistry(), ["*", "-endpointslicemirroring"])).toEqual(names.filter((n) => n !== "endpointslicemirroring"));
    expect(enabledControllers(defaultRegistry(), ["endpointslice-mirroring-controller"])).toEqual(["endpointslicemirroring"]);
  });
});

describe("enabledControllers", () => {
  const all = registry("replicationcontroller", "replicaset", "deployment", "endpoints");

  it.each([
    [["*"], ["replicationcontroller", "replicaset", "deployment", "endpoints"]],
    [["*", "-deployment"], ["replicationcontroller", "replicaset", "endpoints"]],
    [["-deployment", "*"], ["replicationcontroller", "replicaset", "endpoints"]],
    [["deployment", "-deployment"], ["deployment"]],
    [["replicaset", "deployment"], ["replicaset", "deployment"]],
    [["*", "-endpoint"], ["replicationcontroller", "replicaset", "deployment"]],
    [["deployment-controller"], ["deployment"]],
    [[], []],
  ])("enables %j as %j", (flags, want) => {
    expect(enabledControllers(all, flags)).toEqual(want);
  });

  it("accepts known controllers this registry lacks and refuses unknown names", () => {
    expect(enabledControllers(all, ["*", "-nodeipam"])).toHaveLength(4);
    expect(() => enabledControllers(all, ["*", "-bogus"])).toThrow(UnknownControllerError);
    expect(() => enabledControllers(all, ["bogus"])).toThrow('"bogus" is not in the list of known controllers');
  });
});
