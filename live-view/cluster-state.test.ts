import { describe, expect, it } from "vitest";
import { ClusterState } from "./cluster-state.js";
import type { ComponentRow, EventRow } from "./web/protocol.js";

function component(name: string, state = "running", restarts = 0): ComponentRow {
  return { name, component: name, node: "", state, restarts, health: "ok", pid: 1, uptimeSeconds: 0 };
}

function event(time: number): EventRow {
  return { namespace: "default", time, type: "Normal", reason: "Created", object: "Pod/p", message: "", count: 1, source: "kubelet" };
}

describe("ClusterState", () => {
  it("records a change only when a row differs from the one held", () => {
    let now = 1_000;
    const state = new ClusterState({ now: () => now });
    expect(state.set("components", "etcd", component("etcd"))).toBe(true);
    expect(state.set("components", "etcd", component("etcd"))).toBe(false);
    now = 2_000;
    expect(state.set("components", "etcd", component("etcd", "backoff", 1))).toBe(true);
    expect(state.takeChanges()).toEqual([{ collection: "components", key: "etcd", row: component("etcd", "backoff", 1), observedAt: 1_000 }]);
    expect(state.takeChanges()).toEqual([]);
  });

  it("coalesces changes of one row between flushes into the last row, stamped with the first observation", () => {
    let now = 10;
    const state = new ClusterState({ now: () => now });
    state.set("components", "a", component("a"));
    now = 20;
    state.set("components", "b", component("b"));
    now = 30;
    state.set("components", "a", undefined);
    expect(state.takeChanges()).toEqual([
      { collection: "components", key: "a", observedAt: 10 },
      { collection: "components", key: "b", row: component("b"), observedAt: 20 },
    ]);
    expect(state.get("components", "a")).toBeUndefined();
  });

  it("ignores the removal of a row it does not hold", () => {
    const state = new ClusterState();
    expect(state.set("pods", "default/gone", undefined)).toBe(false);
    expect(state.hasPending()).toBe(false);
  });

  it("asks for a flush once per batch of changes", () => {
    let asked = 0;
    const state = new ClusterState({ onPending: () => asked++ });
    state.set("components", "a", component("a"));
    state.set("components", "b", component("b"));
    expect(asked).toBe(1);
    state.takeChanges();
    state.set("components", "a", component("a", "stopped"));
    expect(asked).toBe(2);
  });

  it("retains only the keys a full poll returned", () => {
    const state = new ClusterState();
    for (const name of ["a", "b", "c"]) state.set("components", name, component(name));
    state.takeChanges();
    state.retain("components", new Set(["b"]));
    expect(state.keys("components")).toEqual(["b"]);
    expect(state.takeChanges().map((c) => [c.key, c.row === undefined])).toEqual([["a", true], ["c", true]]);
  });

  it("trims a collection to its highest-ranked rows", () => {
    const state = new ClusterState();
    for (const time of [5, 1, 4, 2, 3]) state.set("events", `e${time}`, event(time));
    state.trim("events", 3, (row) => row.time);
    expect(state.keys("events").sort()).toEqual(["e3", "e4", "e5"]);
  });

  it("gives a snapshot of every collection by key", () => {
    const state = new ClusterState();
    state.set("components", "etcd", component("etcd"));
    const snapshot = state.snapshot();
    expect(snapshot.components).toEqual({ etcd: component("etcd") });
    expect(snapshot.pods).toEqual({});
    expect(Object.keys(snapshot).sort()).toEqual(["components", "deployments", "events", "nodes", "pods", "services"]);
  });
});
