import { describe, expect, it } from "vitest";
import { newPod } from "../api/testing/builders.js";
import type { Pod } from "../api/types/index.js";
import { FakeClock } from "../component-base/testing/fake-clock.js";
import { isPodUpdated, SchedulingQueue, type QueuedPodInfo } from "./scheduling-queue.js";

function pod(name: string, priority = 0): Pod {
  const p = newPod(name, { meta: { uid: `uid-${name}` } });
  p.spec!.priority = priority;
  return p;
}

function setup(): { clock: FakeClock; queue: SchedulingQueue } {
  const clock = new FakeClock();
  const queue = new SchedulingQueue({ clock, initialBackoffMs: 1000, maxBackoffMs: 10_000, maxUnschedulableMs: 60_000, unschedulableFlushIntervalMs: 5000 });
  queue.run(new AbortController().signal);
  return { clock, queue };
}

async function popName(queue: SchedulingQueue): Promise<string | undefined> {
  return (await queue.pop())?.pod.metadata.name;
}

/** Pops the pod and fails its attempt as unschedulable (in the cycle it was popped in). */
async function failAttempt(queue: SchedulingQueue, error = false): Promise<QueuedPodInfo> {
  const info = (await queue.pop())!;
  queue.addUnschedulableIfNotPresent(info, queue.schedulingCycle(), error);
  return info;
}

describe("SchedulingQueue", () => {
  it("pops higher priority first, then in arrival order", async () => {
    const { clock, queue } = setup();
    queue.add(pod("low-1", 0));
    clock.step(1);
    queue.add(pod("high", 100));
    clock.step(1);
    queue.add(pod("low-2", 0));
    clock.step(1);
    queue.add(pod("mid", 10));
    expect([await popName(queue), await popName(queue), await popName(queue), await popName(queue)]).toEqual(["high", "mid", "low-1", "low-2"]);
  });

  it("keeps insertion order for pods added at the same instant", async () => {
    const { queue } = setup();
    for (const n of ["a", "b", "c"]) queue.add(pod(n));
    expect([await popName(queue), await popName(queue), await popName(queue)]).toEqual(["a", "b", "c"]);
  });

  it("wakes a waiting pop when a pod arrives", async () => {
    const { queue } = setup();
    const popped = queue.pop();
    queue.add(pod("late"));
    expect((await popped)?.pod.metadata.name).toBe("late");
  });

  it("resolves waiting pops with undefined when closed or aborted", async () => {
    const { queue } = setup();
    const abort = new AbortController();
    const a = queue.pop(abort.signal);
    abort.abort();
    expect(await a).toBeUndefined();
    const b = queue.pop();
    queue.close();
    expect(await b).toBeUndefined();
    expect(await queue.pop()).toBeUndefined();
  });

  it("counts attempts and starts a new cycle on every pop", async () => {
    const { queue } = setup();
    queue.add(pod("a"));
    const info = await failAttempt(queue, true);
    expect(info.attempts).toBe(1);
    expect(queue.schedulingCycle()).toBe(1);
  });

  it.each([
    [1, 1000],
    [2, 2000],
    [3, 4000],
    [4, 8000],
    [5, 10_000],
    [9, 10_000],
  ])("backs off %i failed attempt(s) for %i ms", (attempts, ms) => {
    const { queue } = setup();
    expect(queue.backoffDuration(attempts)).toBe(ms);
  });

  it("retries a pod that errored after its backoff, doubling each time", async () => {
    const { clock, queue } = setup();
    queue.add(pod("a"));
    await failAttempt(queue, true);
    expect(queue.counts()).toMatchObject({ active: 0, backoff: 1 });
    clock.step(999);
    expect(queue.counts().backoff).toBe(1);
    clock.step(1);
    expect(queue.counts()).toMatchObject({ active: 1, backoff: 0 });
    await failAttempt(queue, true);
    clock.step(1999);
    expect(queue.queueOf("default/a")).toBe("backoff");
    clock.step(1);
    expect(queue.queueOf("default/a")).toBe("active");
  });

  it("parks an unschedulable pod until a node is added", async () => {
    const { clock, queue } = setup();
    queue.add(pod("a"));
    await failAttempt(queue);
    expect(queue.counts()).toMatchObject({ unschedulable: 1, active: 0, backoff: 0 });
    clock.step(2000); // past its 1 s backoff, nothing changed: it stays parked
    expect(queue.queueOf("default/a")).toBe("unschedulable");
    queue.moveAllToActiveOrBackoffQueue("NodeAdd");
    expect(queue.queueOf("default/a")).toBe("active");
  });

  it("moves a pod still backing off to the backoff queue when a node is added", async () => {
    const { clock, queue } = setup();
    queue.add(pod("a"));
    await failAttempt(queue);
    clock.step(500);
    queue.moveAllToActiveOrBackoffQueue("NodeAdd");
    expect(queue.queueOf("default/a")).toBe("backoff");
    clock.step(500);
    expect(queue.queueOf("default/a")).toBe("active");
  });

  it("sends a pod to backoff, not unschedulable, when the cluster changed during its attempt", async () => {
    const { clock, queue } = setup();
    queue.add(pod("a"));
    const info = (await queue.pop())!;
    const cycle = queue.schedulingCycle();
    queue.moveAllToActiveOrBackoffQueue("NodeAdd"); // a node arrived while the pod was being scheduled
    queue.addUnschedulableIfNotPresent(info, cycle);
    expect(queue.queueOf("default/a")).toBe("backoff");
    clock.step(1000);
    expect(queue.queueOf("default/a")).toBe("active");
  });

  it("retries unschedulable pods after 60 s even without a cluster change", async () => {
    const { clock, queue } = setup();
    queue.add(pod("a"));
    await failAttempt(queue);
    clock.step(55_000);
    expect(queue.queueOf("default/a")).toBe("unschedulable");
    clock.step(10_000);
    expect(queue.queueOf("default/a")).toBe("active");
  });

  it("retries unschedulable pods after 5 minutes by default, as Kubernetes", async () => {
    const clock = new FakeClock();
    const queue = new SchedulingQueue({ clock });
    queue.run(new AbortController().signal);
    queue.add(pod("a"));
    await failAttempt(queue);
    clock.step(290_000);
    expect(queue.queueOf("default/a")).toBe("unschedulable");
    clock.step(15_000);
    expect(queue.queueOf("default/a")).toBe("active");
  });

  it("moves an unschedulable pod only on events that may help the plugins that rejected it (queueing hints)", async () => {
    const { clock, queue } = setup();
    queue.add(pod("needs-cpu"));
    queue.add(pod("needs-peer"));
    queue.add(pod("broken"));
    const fail = async (plugins?: string[]): Promise<void> => {
      const info = (await queue.pop())!;
      queue.addUnschedulableIfNotPresent(info, queue.schedulingCycle(), false, plugins ? new Set(plugins) : undefined);
    };
    await fail(["NodeResourcesFit"]);
    await fail(["InterPodAffinity"]);
    await fail();
    clock.step(2000);
    queue.moveAllToActiveOrBackoffQueue("AssignedPodAdd");
    expect([queue.queueOf("default/needs-cpu"), queue.queueOf("default/needs-peer"), queue.queueOf("default/broken")]).toEqual(["unschedulable", "active", "active"]);
    queue.moveAllToActiveOrBackoffQueue("NodeLabelChange");
    expect(queue.queueOf("default/needs-cpu")).toBe("unschedulable");
    queue.moveAllToActiveOrBackoffQueue("AssignedPodDelete");
    expect(queue.queueOf("default/needs-cpu")).toBe("active");
  });

  it("remembers nominated pods per node until they are deleted", () => {
    const { queue } = setup();
    const p = pod("vip", 100);
    p.status = { nominatedNodeName: "n1" };
    queue.add(p);
    expect(queue.nominatedPodsForNode("n1").map((x) => x.metadata.name)).toEqual(["vip"]);
    queue.nominate(p, "n2");
    expect(queue.nominatedPodsForNode("n1")).toEqual([]);
    expect(queue.nominatedNodeOf(p)).toBe("n2");
    queue.delete(p);
    expect(queue.nominatedPodsForNode("n2")).toEqual([]);
  });

  it("moves an unschedulable pod when its spec changes, but not for status-only updates", async () => {
    const { queue } = setup();
    const original = pod("a");
    queue.add(original);
    await failAttempt(queue);
    const statusOnly = structuredClone(original);
    statusOnly.status = { conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable" }] };
    statusOnly.metadata.resourceVersion = "2";
    queue.update(original, statusOnly);
    expect(queue.queueOf("default/a")).toBe("unschedulable");
    const relabelled = structuredClone(statusOnly);
    relabelled.metadata.labels = { tier: "web" };
    queue.update(statusOnly, relabelled);
    expect(queue.queueOf("default/a")).toBe("backoff"); // still within its first 1 s backoff
  });

  it("does not re-add a pod that an update already put back", async () => {
    const { queue } = setup();
    queue.add(pod("a"));
    const info = (await queue.pop())!;
    queue.update(undefined, pod("a")); // the informer saw a change while the pod was being scheduled
    queue.addUnschedulableIfNotPresent(info, queue.schedulingCycle());
    expect(queue.counts()).toMatchObject({ active: 1, unschedulable: 0 });
  });

  it("forgets deleted pods wherever they are", async () => {
    const { queue } = setup();
    queue.add(pod("a"));
    queue.add(pod("b"));
    await failAttempt(queue);
    queue.delete(pod("a"));
    queue.delete(pod("b"));
    expect(queue.counts()).toEqual({ active: 0, backoff: 0, unschedulable: 0, gated: 0 });
  });

  it("holds gated pods until their scheduling gates are removed", async () => {
    const { queue } = setup();
    const gated = pod("g");
    gated.spec!.schedulingGates = [{ name: "example.com/wait" }];
    queue.add(gated);
    expect(queue.counts().gated).toBe(1);
    const released = structuredClone(gated);
    released.spec!.schedulingGates = [];
    queue.update(gated, released);
    expect(queue.counts()).toMatchObject({ gated: 0, active: 1 });
    expect(await popName(queue)).toBe("g");
  });

  it("tells a spec change from a status change", () => {
    const a = pod("a");
    const b = structuredClone(a);
    b.status = { phase: "Pending" };
    expect(isPodUpdated(a, b)).toBe(false);
    b.spec!.nodeSelector = { disk: "ssd" };
    expect(isPodUpdated(a, b)).toBe(true);
  });
});
