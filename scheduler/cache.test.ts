import { describe, expect, it } from "vitest";
import { newNode, newPod } from "../api/testing/builders.js";
import type { Pod } from "../api/types/index.js";
import { FakeClock } from "../component-base/testing/fake-clock.js";
import { SchedulerCache } from "./cache.js";

function pod(name: string, cpu = "500m", nodeName?: string): Pod {
  return newPod(name, { requests: { cpu, memory: "128Mi" }, meta: { uid: `uid-${name}` }, ...(nodeName ? { nodeName } : {}) });
}

function setup(): { clock: FakeClock; cache: SchedulerCache } {
  const clock = new FakeClock();
  const cache = new SchedulerCache({ clock, assumedPodTtlMs: 30_000, cleanupIntervalMs: 1000 });
  cache.run(new AbortController().signal);
  cache.addNode(newNode("n1"));
  cache.addNode(newNode("n2"));
  return { clock, cache };
}

describe("SchedulerCache", () => {
  it("counts an assumed pod's requests on its node at once", () => {
    const { cache } = setup();
    cache.assumePod(pod("a"), "n1");
    const n1 = cache.nodeInfo("n1")!;
    expect(n1.requested.milliCPU).toBe(500);
    expect(n1.requested.memory).toBe(128 * 1024 * 1024);
    expect(n1.pods.size).toBe(1);
    expect(cache.isAssumed(pod("a"))).toBe(true);
  });

  it("refuses to assume a pod twice", () => {
    const { cache } = setup();
    cache.assumePod(pod("a"), "n1");
    expect(() => { cache.assumePod(pod("a"), "n2"); }).toThrow(/can't be assumed/);
  });

  it("forgets an assumed pod whose binding failed", () => {
    const { cache } = setup();
    cache.assumePod(pod("a"), "n1");
    cache.forgetPod(pod("a"));
    expect(cache.nodeInfo("n1")!.requested.milliCPU).toBe(0);
    expect(cache.isAssumed(pod("a"))).toBe(false);
    expect(cache.stats()).toEqual({ nodes: 2, pods: 0, assumed: 0 });
  });

  it("confirms an assumed pod when the watch shows it bound, and then never expires it", () => {
    const { clock, cache } = setup();
    cache.assumePod(pod("a"), "n1");
    cache.finishBinding(pod("a"));
    cache.addPod(pod("a", "500m", "n1"));
    expect(cache.isAssumed(pod("a"))).toBe(false);
    clock.step(120_000);
    expect(cache.nodeInfo("n1")!.requested.milliCPU).toBe(500);
    expect(cache.stats().assumed).toBe(0);
  });

  it("moves a confirmed pod to the node the apiserver reports", () => {
    const { cache } = setup();
    cache.assumePod(pod("a"), "n1");
    cache.addPod(pod("a", "500m", "n2"));
    expect(cache.nodeInfo("n1")!.pods.size).toBe(0);
    expect(cache.nodeInfo("n2")!.requested.milliCPU).toBe(500);
  });

  it("expires an assumed pod whose binding is never observed, counting from the end of the binding", () => {
    const { clock, cache } = setup();
    cache.assumePod(pod("a"), "n1");
    clock.step(60_000); // binding still in flight: no expiry yet
    expect(cache.isAssumed(pod("a"))).toBe(true);
    cache.finishBinding(pod("a"));
    clock.step(29_000);
    expect(cache.isAssumed(pod("a"))).toBe(true);
    clock.step(2000);
    expect(cache.isAssumed(pod("a"))).toBe(false);
    expect(cache.nodeInfo("n1")!.requested.milliCPU).toBe(0);
  });

  it("tracks bound pods through update and delete", () => {
    const { cache } = setup();
    const a = pod("a", "500m", "n1");
    cache.addPod(a);
    cache.updatePod(a, pod("a", "1", "n1"));
    expect(cache.nodeInfo("n1")!.requested.milliCPU).toBe(1000);
    cache.removePod(a);
    expect(cache.nodeInfo("n1")!.requested.milliCPU).toBe(0);
  });

  it("keeps pods bound to a node it has not seen, without offering that node", () => {
    const { cache } = setup();
    cache.addPod(pod("a", "500m", "n3"));
    expect(cache.nodeInfos().map((n) => n.name)).toEqual(["n1", "n2"]);
    cache.addNode(newNode("n3"));
    expect(cache.nodeInfos().map((n) => n.name)).toEqual(["n1", "n2", "n3"]);
    expect(cache.nodeInfo("n3")!.requested.milliCPU).toBe(500);
  });

  it("stops offering a deleted node but keeps its pods' accounting until they go", () => {
    const { cache } = setup();
    cache.addPod(pod("a", "500m", "n1"));
    cache.removeNode(newNode("n1"));
    expect(cache.nodeInfos().map((n) => n.name)).toEqual(["n2"]);
    expect(cache.nodeInfo("n1")!.pods.size).toBe(1);
    cache.removePod(pod("a", "500m", "n1"));
    expect(cache.nodeInfo("n1")).toBeUndefined();
  });

  it("reads allocatable from the node", () => {
    const { cache } = setup();
    cache.updateNode(newNode("n1", { capacity: { cpu: "8", memory: "16Gi", pods: "50" }, allocatable: { cpu: "7500m", memory: "15Gi", pods: "40" } }));
    const n1 = cache.nodeInfo("n1")!;
    expect(n1.allocatable.milliCPU).toBe(7500);
    expect(n1.allocatable.memory).toBe(15 * 1024 ** 3);
    expect(n1.allowedPodNumber).toBe(40);
  });
});
