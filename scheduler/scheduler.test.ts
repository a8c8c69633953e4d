import { describe, expect, it } from "vitest";
import { newNode, newPod, newReplicaSet } from "../api/testing/builders.js";
import type { Node, PersistentVolume, PersistentVolumeClaim, Pod, PodCondition, StorageClass } from "../api/types/index.js";
import type { EventRecorder, EventType, ObjectReference } from "../client/event-recorder.js";
import type { KubeObject } from "../api/meta.js";
import { FakeClock } from "../component-base/testing/fake-clock.js";
import { SchedulerCache } from "./cache.js";
import { defaultProfile } from "./config.js";
import { Framework } from "./framework/runtime.js";
import { fakeLister, testHandle, type FakeCluster } from "./framework/testing.js";
import type { Preemptor, VolumeStore } from "./framework/interface.js";
import { inTreeRegistry } from "./plugins/registry.js";
import { numFeasibleNodesToFind, Scheduler, type Binder } from "./scheduler.js";
import { SchedulingQueue } from "./scheduling-queue.js";

interface RecordedEvent {
  name: string;
  type: EventType;
  reason: string;
  message: string;
}

class RecordingBinder implements Binder {
  readonly binds: { pod: string; node: string }[] = [];
  fail: Error | undefined;

  bind(pod: Readonly<Pod>, node: string): Promise<void> {
    if (this.fail) return Promise.reject(this.fail);
    this.binds.push({ pod: pod.metadata.name ?? "", node });
    return Promise.resolve();
  }
}

function setup(nodes: Node[], opts: { random?: () => number; percentage?: number; cluster?: Omit<FakeCluster, "nodes">; volumes?: VolumeStore; bindTimeoutSeconds?: number } = {}) {
  const clock = new FakeClock();
  const cache = new SchedulerCache({ clock });
  for (const n of nodes) cache.addNode(n);
  const queue = new SchedulingQueue({ clock });
  const binder = new RecordingBinder();
  const events: RecordedEvent[] = [];
  const conditions: { pod: string; condition: PodCondition; nominatedNodeName?: string | null }[] = [];
  const recorder: EventRecorder = {
    event(object: KubeObject | ObjectReference, type: EventType, reason: string, message: string) {
      events.push({ name: "metadata" in object ? (object.metadata.name ?? "") : object.name, type, reason, message });
    },
    flush: () => Promise.resolve(),
    stop: () => Promise.resolve(),
  };
  const evicted: string[] = [];
  const preemptor: Preemptor = {
    evict(victim, _pod, node) {
      evicted.push(`${victim.metadata.name ?? ""}@${node}`);
    },
    clearNominations: () => undefined,
    attempted: () => undefined,
    victims: () => undefined,
  };
  const lister = { ...fakeLister({ nodes: [], ...opts.cluster }), nodeInfos: () => cache.nodeInfos() };
  const profile = defaultProfile();
  if (opts.bindTimeoutSeconds !== undefined) profile.pluginArgs.set("VolumeBinding", { bindTimeoutSeconds: opts.bindTimeoutSeconds });
  const scheduler = new Scheduler({
    queue,
    cache,
    frameworks: new Map([["default-scheduler", new Framework(profile, inTreeRegistry(), { ...testHandle, lister, preemptor, ...(opts.volumes ? { volumes: opts.volumes } : {}) })]]),
    binder,
    conditionWriter: {
      setPodScheduledCondition(pod, condition, nominatedNodeName) {
        conditions.push({ pod: pod.metadata.name ?? "", condition, ...(nominatedNodeName !== undefined ? { nominatedNodeName } : {}) });
        return Promise.resolve();
      },
    },
    recorder: () => recorder,
    clock,
    random: opts.random ?? (() => 0.99),
    ...(opts.percentage !== undefined ? { percentageOfNodesToScore: opts.percentage } : {}),
  });
  /** Adds the pods, runs one cycle each and waits for their bindings. */
  const schedule = async (...pods: Pod[]): Promise<void> => {
    for (const p of pods) queue.add(p);
    for (let left = pods.length; left > 0; left--) {
      const info = await queue.pop();
      if (info) scheduler.scheduleOne(info);
    }
    await scheduler.waitForBindings();
  };
  return { clock, cache, queue, binder, events, conditions, scheduler, schedule, evicted };
}

function pod(name: string, opts: Parameters<typeof newPod>[1] = {}): Pod {
  const p = newPod(name, { ...opts, meta: { uid: `uid-${name}`, ...opts.meta } });
  p.spec!.schedulerName = "default-scheduler";
  return p;
}

const small = (name: string, extra: Parameters<typeof newNode>[1] = {}) => newNode(name, { capacity: { cpu: "2", memory: "4Gi", pods: "110" }, ...extra });

describe("Scheduler", () => {
  it("binds a pod to the only node that fits and records Scheduled", async () => {
    const { binder, events, cache, schedule } = setup([small("n1"), newNode("n2", { capacity: { cpu: "8", memory: "16Gi", pods: "110" } })]);
    await schedule(pod("big", { requests: { cpu: "4" } }));
    expect(binder.binds).toEqual([{ pod: "big", node: "n2" }]);
    expect(events).toEqual([{ name: "big", type: "Normal", reason: "Scheduled", message: "Successfully assigned default/big to n2" }]);
    expect(cache.isAssumed(pod("big"))).toBe(true);
    expect(cache.nodeInfo("n2")!.requested.milliCPU).toBe(4000);
  });

  it("counts pods it has assumed when placing the next one", async () => {
    const { binder, schedule } = setup([small("n1"), small("n2")]);
    await schedule(pod("a", { requests: { cpu: "1500m" } }), pod("b", { requests: { cpu: "1500m" } }));
    expect(new Set(binder.binds.map((b) => b.node))).toEqual(new Set(["n1", "n2"]));
  });

  it("spreads the pods of one owner over the nodes", async () => {
    const { binder, schedule } = setup([small("n1"), small("n2"), small("n3")]);
    const owner = [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: "rs-1", controller: true }];
    await schedule(...Array.from({ length: 6 }, (_, i) => pod(`web-${i}`, { meta: { ownerReferences: owner } })));
    const perNode = new Map<string, number>();
    for (const b of binder.binds) perNode.set(b.node, (perNode.get(b.node) ?? 0) + 1);
    expect([...perNode.values()]).toEqual([2, 2, 2]);
  });

  it("spreads a ReplicaSet scaled from 1 to 4 over all 3 nodes, whatever the tie-breaks (20 runs)", async () => {
    const rs = newReplicaSet("web", { selectorLabels: { app: "web" } });
    const owner = [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: "rs-1", controller: true }];
    const replica = (i: number): Pod => pod(`web-${i}`, { labels: { app: "web" }, requests: { cpu: "100m" }, meta: { ownerReferences: owner } });
    for (let run = 0; run < 20; run++) {
      let seed = run + 1;
      // A different deterministic tie-break sequence per run.
      const random = (): number => ((seed = (seed * 48271) % 2147483647) / 2147483647);
      const { binder, cache, schedule } = setup([small("n1"), small("n2"), small("n3")], { random, cluster: { replicaSets: [rs] } });
      await schedule(replica(0));
      const first = binder.binds[0]!;
      cache.addPod({ ...replica(0), spec: { ...replica(0).spec!, nodeName: first.node } });
      await schedule(replica(1), replica(2), replica(3));
      expect(new Set(binder.binds.map((b) => b.node)).size).toBe(3);
    }
  });

  it("preempts a lower-priority pod on a full cluster and nominates the node", async () => {
    const { cache, events, conditions, queue, schedule, evicted } = setup([small("n1")]);
    const low = pod("low", { requests: { cpu: "2" } });
    low.spec!.priority = 1;
    low.spec!.nodeName = "n1";
    cache.addPod(low);
    const vip = pod("vip", { requests: { cpu: "1" } });
    vip.spec!.priority = 1000;
    await schedule(vip);
    expect(evicted).toEqual(["low@n1"]);
    expect(conditions.find((c) => c.pod === "vip")?.nominatedNodeName).toBe("n1");
    expect(queue.nominatedPodsForNode("n1").map((p) => p.metadata.name)).toEqual(["vip"]);
    expect(events.find((e) => e.name === "vip")?.message).toBe("0/1 nodes are available: 1 Insufficient cpu.");

    // Other pods of lower priority see the room as taken by the nominated pod.
    const other = pod("other", { requests: { cpu: "1500m" } });
    cache.removePod(low);
    await schedule(other);
    expect(events.find((e) => e.name === "other")?.message).toMatch(/^0\/1 nodes are available: 1 Insufficient cpu\. preemption: /);
  });

  it("reports why a pod fits nowhere, in Kubernetes' words, and parks it", async () => {
    const unreachable = { key: "node.kubernetes.io/unreachable", effect: "NoExecute" as const };
    const { binder, events, conditions, queue, schedule } = setup([small("n1"), small("n2", { taints: [unreachable] }), small("n3", { taints: [unreachable] })]);
    await schedule(pod("huge", { requests: { cpu: "3" } }));
    const message =
      "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint {node.kubernetes.io/unreachable: }. " +
      "preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.";
    expect(binder.binds).toEqual([]);
    expect(events).toEqual([{ name: "huge", type: "Warning", reason: "FailedScheduling", message }]);
    expect(conditions).toEqual([{ pod: "huge", condition: expect.objectContaining({ type: "PodScheduled", status: "False", reason: "Unschedulable", message }) as unknown }]);
    expect(queue.queueOf("default/huge")).toBe("unschedulable");
  });

  it("does not rewrite an unchanged PodScheduled condition", async () => {
    const { conditions, queue, scheduler } = setup([small("n1")]);
    const p = pod("huge", { requests: { cpu: "3" } });
    p.status = { conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod." }] };
    queue.add(p);
    scheduler.scheduleOne((await queue.pop())!);
    expect(conditions).toEqual([]);
  });

  it("says no nodes are available when there are none", async () => {
    const { events, schedule } = setup([]);
    await schedule(pod("a"));
    expect(events.map((e) => e.message)).toEqual(["no nodes available to schedule pods"]);
  });

  it("forgets the assumed pod and retries with backoff when the bind fails", async () => {
    const { binder, events, conditions, cache, queue, schedule } = setup([small("n1")]);
    binder.fail = new Error('pods "a" not found');
    await schedule(pod("a", { requests: { cpu: "1" } }));
    expect(cache.isAssumed(pod("a"))).toBe(false);
    expect(cache.nodeInfo("n1")!.requested.milliCPU).toBe(0);
    expect(queue.queueOf("default/a")).toBe("backoff");
    expect(events.map((e) => [e.reason, e.message])).toEqual([["FailedScheduling", 'Binding rejected: pods "a" not found']]);
    expect(conditions[0]?.condition.reason).toBe("SchedulerError");
  });

  it("skips pods that are assumed, bound or being deleted", async () => {
    const { binder, cache, queue, scheduler } = setup([small("n1")]);
    cache.assumePod(pod("assumed"), "n1");
    const deleting = pod("deleting", { meta: { deletionTimestamp: "2024-01-01T00:00:00Z" } });
    for (const p of [pod("assumed"), deleting]) {
      queue.add(p);
      scheduler.scheduleOne((await queue.pop())!);
    }
    await scheduler.waitForBindings();
    expect(binder.binds).toEqual([]);
  });

  it("ignores pods for another scheduler", async () => {
    const { binder, schedule } = setup([small("n1")]);
    const other = pod("other");
    other.spec!.schedulerName = "my-scheduler";
    await schedule(other);
    expect(binder.binds).toEqual([]);
  });

  it("breaks ties between equal nodes at random", async () => {
    const first = setup([small("n1"), small("n2"), small("n3")], { random: () => 0.99 });
    await first.schedule(pod("a"));
    const last = setup([small("n1"), small("n2"), small("n3")], { random: () => 0 });
    await last.schedule(pod("a"));
    expect(first.binder.binds[0]!.node).toBe("n1");
    expect(last.binder.binds[0]!.node).toBe("n3");
  });

  it("filters only a sample of many nodes, rotating where each cycle starts", async () => {
    const nodes = Array.from({ length: 200 }, (_, i) => small(`n${String(i).padStart(3, "0")}`));
    const { binder, schedule } = setup(nodes, { percentage: 10 });
    // 10% of 200 is below the floor of 100 feasible nodes: the first cycle looks at n000..n099, the next at n100..n199.
    await schedule(pod("a"), pod("b"));
    expect(binder.binds[0]!.node < "n100").toBe(true);
    expect(binder.binds[1]!.node >= "n100").toBe(true);
  });

  it("keeps at most maxInFlightBindings bindings pending while it runs", async () => {
    const clock = new FakeClock();
    const cache = new SchedulerCache({ clock });
    cache.addNode(small("n1"));
    const queue = new SchedulingQueue({ clock });
    const pending: (() => void)[] = [];
    let maxPending = 0;
    const scheduler = new Scheduler({
      queue,
      cache,
      frameworks: new Map([["default-scheduler", new Framework(defaultProfile(), inTreeRegistry(), testHandle)]]),
      binder: {
        bind: () =>
          new Promise<void>((resolve) => {
            pending.push(resolve);
            maxPending = Math.max(maxPending, pending.length);
          }),
      },
      conditionWriter: { setPodScheduledCondition: () => Promise.resolve() },
      recorder: () => ({ event: () => undefined, flush: () => Promise.resolve(), stop: () => Promise.resolve() }),
      clock,
      maxInFlightBindings: 2,
    });
    for (let i = 0; i < 5; i++) queue.add(pod(`p${i}`));
    const abort = new AbortController();
    const running = scheduler.run(abort.signal);
    for (let released = 0; released < 5; released++) {
      while (pending.length === 0) await new Promise((r) => setImmediate(r));
      pending.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    abort.abort();
    await running;
    expect(maxPending).toBe(2);
    expect(queue.counts().active).toBe(0);
  });
});

describe("numFeasibleNodesToFind", () => {
  it.each([
    [50, 0, 50],
    [99, 0, 99],
    [100, 0, 100],
    [500, 0, 230], // 50% − 4% = 46%
    [1000, 0, 420], // 42%
    [5000, 0, 500], // 10%
    [10_000, 0, 500], // floor of 5%
    [1000, 5, 100], // 50 is below the 100-node floor
    [1000, 30, 300],
    [1000, 100, 1000],
  ])("looks for %i nodes' worth with percentage %i: %i", (nodes, pct, want) => {
    expect(numFeasibleNodesToFind(nodes, pct)).toBe(want);
  });

  describe("with volumes (VolumeBinding)", () => {
    const claim = (name: string, className: string, volumeName?: string): PersistentVolumeClaim => ({ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name, namespace: "default", uid: `uid-${name}` }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, storageClassName: className, ...(volumeName ? { volumeName } : {}) } });
    const classes: StorageClass[] = [
      { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "now" }, provisioner: "kubelab.dev/local-path", volumeBindingMode: "Immediate" },
      { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "wait" }, provisioner: "kubelab.dev/local-path", volumeBindingMode: "WaitForFirstConsumer" },
    ];
    const onN2: PersistentVolume = { apiVersion: "v1", kind: "PersistentVolume", metadata: { name: "pv-n2" }, spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], storageClassName: "now", claimRef: { namespace: "default", name: "bound", uid: "uid-bound" }, nodeAffinity: { required: { nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator: "In", values: ["n2"] }] }] } } } };
    const claims = [claim("unbound", "now"), claim("bound", "now", "pv-n2"), claim("later", "wait")];
    const written: string[] = [];
    const volumes: VolumeStore = {
      claim: (ns, name) => claims.find((c) => c.metadata.namespace === ns && c.metadata.name === name),
      volume: (name) => (name === "pv-n2" ? onN2 : undefined),
      volumes: () => [onN2],
      storageClass: (name) => classes.find((c) => c.metadata.name === name),
      updateVolume: (v) => Promise.resolve(v),
      updateClaim: (c) => {
        written.push(`${c.metadata.name ?? ""} selected-node=${c.metadata.annotations?.["volume.kubernetes.io/selected-node"] ?? ""}`);
        return Promise.resolve(c);
      },
    };
    const withClaim = (name: string, claimName: string): Pod => {
      const p = pod(name);
      p.spec!.volumes = [{ name: "data", persistentVolumeClaim: { claimName } }];
      return p;
    };

    it("says why in Kubernetes' words: an unbound Immediate claim, a volume on another node", async () => {
      const { binder, events, schedule } = setup([small("n1"), small("n2"), small("n3")], { volumes });
      await schedule(withClaim("waits", "unbound"), withClaim("pinned", "bound"));
      expect(events.filter((e) => e.reason === "FailedScheduling").map((e) => e.message)).toEqual([
        "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
      ]);
      expect(binder.binds).toEqual([{ pod: "pinned", node: "n2" }]);
    });

    it("unreserves and retries a pod whose volumes are not bound within bindTimeoutSeconds", async () => {
      written.length = 0;
      const { binder, events, cache, queue, schedule } = setup([small("n1")], { volumes, bindTimeoutSeconds: 0 });
      await schedule(withClaim("slow", "later"));
      expect(written).toEqual(["later selected-node=n1"]);
      expect(binder.binds).toEqual([]);
      expect(events.map((e) => `${e.reason}: ${e.message}`)).toEqual(['FailedScheduling: running PreBind plugin "VolumeBinding": binding volumes: context deadline exceeded']);
      expect(cache.isAssumed(withClaim("slow", "later"))).toBe(false);
      expect(queue.counts()).toMatchObject({ backoff: 1 });
    });
  });
});
