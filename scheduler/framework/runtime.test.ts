import { describe, expect, it } from "vitest";
import { newNode, newPod } from "../../api/testing/builders.js";
import { defaultProfile } from "../config.js";
import { inTreeRegistry } from "../plugins/registry.js";
import { CycleState, Status, type FilterPlugin, type ScorePlugin } from "./interface.js";
import type { Profile } from "./profile.js";
import { Registry } from "./registry.js";
import { Framework } from "./runtime.js";
import { nodeInfoOf, testHandle } from "./testing.js";

function profile(filter: string[], score: { name: string; weight: number }[]): Profile {
  return { schedulerName: "test", filter, postFilter: [], reserve: [], preBind: [], score, pluginArgs: new Map() };
}

describe("Framework", () => {
  it("builds the default profile from the in-tree registry", () => {
    const fwk = new Framework(defaultProfile(), inTreeRegistry(), testHandle);
    expect(fwk.profileName).toBe("default-scheduler");
    expect(fwk.hasScorePlugins()).toBe(true);
  });

  it("refuses a profile naming an unknown plugin or a plugin at the wrong point", () => {
    expect(() => new Framework(profile(["Nope"], []), inTreeRegistry(), testHandle)).toThrow("profile test: no plugin named Nope");
    expect(() => new Framework(profile([], [{ name: "NodePorts", weight: 1 }]), inTreeRegistry(), testHandle)).toThrow("plugin NodePorts is not a score plugin");
  });

  it("stops at the first failing filter and names it", () => {
    const fwk = new Framework(defaultProfile(), inTreeRegistry(), testHandle);
    const pod = newPod("p", { requests: { cpu: "100" } });
    const state = new CycleState();
    const node = nodeInfoOf(newNode("n", { unschedulable: true }));
    expect(fwk.runPreFilter(state, pod, [node]).isSuccess()).toBe(true);
    const s = fwk.runFilter(state, pod, node);
    expect([s.code, s.plugin, s.reasons]).toEqual(["UnschedulableAndUnresolvable", "NodeUnschedulable", ["node(s) were unschedulable"]]);
  });

  it("turns a throwing plugin into an Error status", () => {
    const boom: FilterPlugin = { name: "Boom", filter: () => { throw new Error("kaput"); } };
    const fwk = new Framework(profile(["Boom"], []), new Registry().register("Boom", () => boom), testHandle);
    const s = fwk.runFilter(new CycleState(), newPod("p"), nodeInfoOf(newNode("n")));
    expect(s.code).toBe("Error");
    expect(s.message()).toBe("running Boom: kaput");
  });

  it("weighs normalized scores and rejects scores outside 0..100", () => {
    const fixed = (name: string, value: number): ScorePlugin => ({ name, score: () => value });
    const registry = new Registry().register("Ten", () => fixed("Ten", 10)).register("Huge", () => fixed("Huge", 1000));
    const nodes = [nodeInfoOf(newNode("a")), nodeInfoOf(newNode("b"))];
    const ok = new Framework(profile([], [{ name: "Ten", weight: 3 }]), registry, testHandle);
    expect(ok.runScore(new CycleState(), newPod("p"), nodes)).toEqual([30, 30]);
    const bad = new Framework(profile([], [{ name: "Huge", weight: 1 }]), registry, testHandle);
    expect(() => bad.runScore(new CycleState(), newPod("p"), nodes)).toThrow(/invalid score 1000/);
  });

  it("skips the Score of a plugin whose PreScore said Skip", () => {
    const skipping: ScorePlugin & { preScore: () => Status } = { name: "Skipper", preScore: () => Status.SKIP, score: () => 1000 };
    const fwk = new Framework(profile([], [{ name: "Skipper", weight: 1 }]), new Registry().register("Skipper", () => skipping), testHandle);
    const state = new CycleState();
    const nodes = [nodeInfoOf(newNode("a"))];
    expect(fwk.runPreScore(state, newPod("p"), nodes).isSuccess()).toBe(true);
    expect(fwk.runScore(state, newPod("p"), nodes)).toEqual([0]);
  });
});
