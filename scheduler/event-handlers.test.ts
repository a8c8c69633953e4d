import { describe, expect, it } from "vitest";
import { newNode, newPod } from "../api/testing/builders.js";
import type { Node, Pod } from "../api/types/index.js";
import { DeletedFinalStateUnknown } from "../client/informer.js";
import { FakeClock } from "../component-base/testing/fake-clock.js";
import { SchedulerCache } from "./cache.js";
import { nodeChanges, nodeEventHandler, podEventHandler } from "./event-handlers.js";
import { SchedulingQueue } from "./scheduling-queue.js";

function setup() {
  const clock = new FakeClock();
  const cache = new SchedulerCache({ clock });
  const queue = new SchedulingQueue({ clock });
  const pods = podEventHandler({ cache, queue, responsibleFor: (p) => (p.spec?.schedulerName ?? "default-scheduler") === "default-scheduler" });
  const nodes = nodeEventHandler({ cache, queue });
  return { cache, queue, pods, nodes };
}

const pod = (name: string, opts: Parameters<typeof newPod>[1] = {}): Pod => newPod(name, { requests: { cpu: "1" }, ...opts, meta: { uid: `uid-${name}` } });

/** Pops a pod and parks it as unschedulable. */
async function park(queue: SchedulingQueue): Promise<void> {
  const info = (await queue.pop())!;
  queue.addUnschedulableIfNotPresent(info, queue.schedulingCycle());
}

describe("scheduler event handlers", () => {
  it("queues unscheduled pods and caches assigned ones", () => {
    const { cache, queue, pods } = setup();
    pods.onAdd!(pod("pending"), false);
    pods.onAdd!(pod("bound", { nodeName: "n1" }), false);
    expect(queue.queueOf("default/pending")).toBe("active");
    expect(queue.queueOf("default/bound")).toBeUndefined();
    expect(cache.nodeInfo("n1")!.requested.milliCPU).toBe(1000);
  });

  it("leaves pods of other schedulers and finished pods alone", () => {
    const { cache, queue, pods } = setup();
    const other = pod("other");
    other.spec!.schedulerName = "my-scheduler";
    pods.onAdd!(other, false);
    pods.onAdd!(pod("done", { nodeName: "n1", phase: "Succeeded" }), false);
    expect(queue.counts().active).toBe(0);
    expect(cache.nodeInfo("n1")).toBeUndefined();
  });

  it("moves a pod from the queue to the cache when it gets bound", () => {
    const { cache, queue, pods } = setup();
    const before = pod("a");
    pods.onAdd!(before, false);
    pods.onUpdate!(before, pod("a", { nodeName: "n1" }));
    expect(queue.queueOf("default/a")).toBeUndefined();
    expect(cache.nodeInfo("n1")!.pods.size).toBe(1);
  });

  it("ignores updates to a pod whose binding is in flight", () => {
    const { cache, queue, pods } = setup();
    const a = pod("a");
    cache.assumePod(a, "n1");
    pods.onUpdate!(a, { ...a, status: { phase: "Pending" } });
    expect(queue.queueOf("default/a")).toBeUndefined();
  });

  it("wakes unschedulable pods when an assigned pod is deleted or finishes", async () => {
    const { queue, pods } = setup();
    pods.onAdd!(pod("waiting"), false);
    await park(queue);
    const running = pod("running", { nodeName: "n1" });
    pods.onAdd!(running, false);
    pods.onDelete!(new DeletedFinalStateUnknown("default/running", running));
    expect(queue.queueOf("default/waiting")).not.toBe("unschedulable");

    queue.delete(pod("waiting"));
    pods.onAdd!(pod("waiting2"), false);
    await park(queue);
    const worker = pod("worker", { nodeName: "n1" });
    pods.onAdd!(worker, false);
    pods.onUpdate!(worker, pod("worker", { nodeName: "n1", phase: "Succeeded" }));
    expect(queue.queueOf("default/waiting2")).not.toBe("unschedulable");
  });

  it("drops deleted pending pods from the queue", () => {
    const { queue, pods } = setup();
    pods.onAdd!(pod("a"), false);
    pods.onDelete!(pod("a"));
    expect(queue.counts().active).toBe(0);
  });

  it("wakes unschedulable pods when a node is added or its scheduling properties change, not on heartbeats", async () => {
    const { cache, queue, pods, nodes } = setup();
    pods.onAdd!(pod("waiting"), false);
    await park(queue);
    const n1 = newNode("n1");
    nodes.onAdd!(n1, false);
    expect(cache.nodeCount).toBe(1);
    expect(queue.queueOf("default/waiting")).not.toBe("unschedulable");

    queue.delete(pod("waiting"));
    pods.onAdd!(pod("waiting2"), false);
    await park(queue);
    const heartbeat: Node = structuredClone(n1);
    heartbeat.status!.conditions![0]!.lastHeartbeatTime = "2024-01-01T00:00:10Z";
    nodes.onUpdate!(n1, heartbeat);
    expect(queue.queueOf("default/waiting2")).toBe("unschedulable");
    const uncordoned: Node = structuredClone(heartbeat);
    uncordoned.metadata.labels = { ...uncordoned.metadata.labels, disk: "ssd" };
    nodes.onUpdate!(heartbeat, uncordoned);
    expect(queue.queueOf("default/waiting2")).not.toBe("unschedulable");

    nodes.onDelete!(uncordoned);
    expect(cache.nodeCount).toBe(0);
  });

  it("names what changed of a node, ignoring heartbeats", () => {
    const a = newNode("n1");
    const b = structuredClone(a);
    b.status!.conditions![0]!.lastHeartbeatTime = "2024-01-01T00:00:10Z";
    expect(nodeChanges(a, b)).toEqual([]);
    b.metadata.labels = { ...b.metadata.labels, zone: "a" };
    b.spec!.taints = [{ key: "x", effect: "NoSchedule" }];
    b.status!.allocatable = { cpu: "8" };
    expect(nodeChanges(a, b)).toEqual(["NodeTaintChange", "NodeLabelChange", "NodeAllocatableChange"]);
  });

  it("wakes pods rejected by InterPodAffinity when an assigned pod arrives, but not pods short of cpu", async () => {
    const { queue, pods } = setup();
    pods.onAdd!(pod("peerless"), false);
    pods.onAdd!(pod("hungry"), false);
    for (const plugin of ["InterPodAffinity", "NodeResourcesFit"]) {
      const info = (await queue.pop())!;
      queue.addUnschedulableIfNotPresent(info, queue.schedulingCycle(), false, new Set([plugin]));
    }
    pods.onAdd!(pod("peer", { nodeName: "n1" }), false);
    expect(queue.queueOf("default/peerless")).not.toBe("unschedulable");
    expect(queue.queueOf("default/hungry")).toBe("unschedulable");
  });
});
