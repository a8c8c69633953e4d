import { describe, expect, it } from "vitest";
import { newNode, newPod } from "../../../api/testing/builders.js";
import type { Lease, Node, Pod, Taint, Toleration } from "../../../api/types/index.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import { drainQueue } from "../../../client/testing/drain-queue.js";
import { FakeClient } from "../../../client/testing/fake-client.js";
import { FakeRecorder } from "../../../client/testing/fake-recorder.js";
import {
  createNodeLifecycleController,
  createNodelifecycleController,
  LEASES,
  NODE_LEASE_NAMESPACE,
  NODES,
  NodeLifecycleController,
  PODS,
} from "./nodelifecycle-controller.js";
import { formatMicroTime, formatTime } from "../../../api/time.js";
import { toleratesTaint as tolerates } from "../../../api/tolerations.js";
import { evictionDecision, reconcileTaints, TAINT_NOT_READY, TAINT_UNREACHABLE } from "./taints.js";

const GRACE = 40_000;

function lease(node: string, renewMs: number): Lease {
  return { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name: node, namespace: NODE_LEASE_NAMESPACE }, spec: { holderIdentity: node, leaseDurationSeconds: 40, renewTime: formatMicroTime(renewMs) } };
}

function healthyNode(name: string, heartbeatMs: number): Node {
  const node = newNode(name);
  node.status!.conditions = [
    { type: "Ready", status: "True", reason: "KubeletReady", lastHeartbeatTime: formatTime(heartbeatMs), lastTransitionTime: formatTime(heartbeatMs) },
    { type: "MemoryPressure", status: "False", lastHeartbeatTime: formatTime(heartbeatMs) },
  ];
  return node;
}

const unreachable = (seconds?: number): Toleration => ({ key: TAINT_UNREACHABLE, operator: "Exists", effect: "NoExecute", ...(seconds !== undefined ? { tolerationSeconds: seconds } : {}) });

function setup(objects: (Node | Lease | Pod)[]): { clock: FakeClock; fake: FakeClient; recorder: FakeRecorder; controller: NodeLifecycleController } {
  const clock = new FakeClock();
  const fake = new FakeClient({ clock, objects });
  const recorder = new FakeRecorder();
  const controller = new NodeLifecycleController({
    client: fake,
    nodes: fake.informer<Node>(NODES),
    leases: fake.informer<Lease>(LEASES),
    pods: fake.informer<Pod>(PODS),
    recorder,
    gracePeriodMs: GRACE,
    monitorPeriodMs: 5_000,
    clock,
  });
  return { clock, fake, recorder, controller };
}

const nodeOf = (fake: FakeClient, name = "n1"): Node => fake.object<Node>(NODES, undefined, name)!;
const taintsOf = (node: Node): string[] => (node.spec?.taints ?? []).map((t) => `${t.key}:${t.effect}`);

describe("NodeLifecycleController", () => {
  it("exports the factory under both names the registry may use", () => {
    expect(createNodelifecycleController).toBe(createNodeLifecycleController);
  });

  it("takes a node whose lease goes stale through Unknown, taints, pod eviction after tolerationSeconds, and back", async () => {
    const t0 = new FakeClock().now();
    const { clock, fake, recorder, controller } = setup([
      healthyNode("n1", t0),
      lease("n1", t0),
      newPod("tolerant", { nodeName: "n1", ready: true, podIP: "10.244.0.2", tolerations: [unreachable(300)] }),
      newPod("intolerant", { nodeName: "n1", ready: true, podIP: "10.244.0.3" }),
      newPod("forever", { nodeName: "n1", ready: true, podIP: "10.244.0.4", tolerations: [unreachable()] }),
    ]);
    const sync = (): Promise<string[]> => drainQueue(controller.evictionQueue, (key) => controller.syncEviction(key));

    // Fresh: registered, nothing else.
    clock.step(10_000);
    await controller.monitorNodeHealth();
    expect(recorder.reasons()).toEqual(["RegisteredNode"]);
    expect(fake.writes()).toEqual([]);

    // The lease renews, the Ready heartbeat does not: still healthy (the later of the two counts).
    const renewed = fake.object<Lease>(LEASES, NODE_LEASE_NAMESPACE, "n1")!;
    renewed.spec!.renewTime = formatMicroTime(clock.now());
    fake.seed(renewed);
    clock.step(35_000);
    await controller.monitorNodeHealth();
    expect(fake.writes()).toEqual([]);

    // Past the grace period with nothing renewed.
    clock.step(GRACE);
    const staleAt = clock.now();
    await controller.monitorNodeHealth();
    const node = nodeOf(fake);
    const ready = node.status!.conditions!.find((c) => c.type === "Ready")!;
    expect(ready).toMatchObject({ status: "Unknown", reason: "NodeStatusUnknown", message: "Kubelet stopped posting node status.", lastTransitionTime: formatTime(staleAt) });
    expect(node.status!.conditions!.find((c) => c.type === "MemoryPressure")!.status).toBe("Unknown");
    expect(node.status!.conditions!.find((c) => c.type === "DiskPressure")).toMatchObject({ status: "Unknown", reason: "NodeStatusNeverUpdated" });
    expect(taintsOf(node)).toEqual([`${TAINT_UNREACHABLE}:NoExecute`, `${TAINT_UNREACHABLE}:NoSchedule`]);
    expect(node.spec!.taints![0]!.timeAdded).toBe(formatTime(staleAt));
    expect(fake.actionsFor("patch", "nodes")[0]).toMatchObject({ subresource: "status" });
    expect(recorder.events.find((e) => e.reason === "NodeNotReady")?.message).toBe("Node n1 status is now: NodeNotReady");
    for (const name of ["tolerant", "intolerant", "forever"]) {
      expect((fake.object<Pod>(PODS, "default", name)!).status!.conditions!.find((c) => c.type === "Ready")!.status).toBe("False");
    }

    // A second pass changes nothing.
    fake.clearActions();
    await controller.monitorNodeHealth();
    expect(fake.writes()).toEqual([]);

    // The taint reached the pods: the intolerant one goes at once, the tolerant one waits 300 s.
    await sync();
    expect(fake.object(PODS, "default", "intolerant")!.metadata.deletionTimestamp).toBeDefined();
    expect(fake.object(PODS, "default", "tolerant")!.metadata.deletionTimestamp).toBeUndefined();
    expect(recorder.events.filter((e) => e.reason === "TaintManagerEviction").map((e) => e.message)).toEqual(["Marking for deletion Pod default/intolerant"]);

    clock.step(299_000);
    await sync();
    expect(fake.object(PODS, "default", "tolerant")!.metadata.deletionTimestamp).toBeUndefined();
    clock.step(1_000);
    await sync();
    expect(fake.object(PODS, "default", "tolerant")!.metadata.deletionTimestamp).toBeDefined();
    expect(fake.object(PODS, "default", "forever")!.metadata.deletionTimestamp).toBeUndefined();

    // The kubelet comes back: the taints go.
    const back = nodeOf(fake);
    back.status!.conditions = [{ type: "Ready", status: "True", reason: "KubeletReady", lastHeartbeatTime: formatTime(clock.now()) }];
    fake.seed(back);
    await controller.monitorNodeHealth();
    expect(taintsOf(nodeOf(fake))).toEqual([]);
  });

  it("taints a node that reports Ready=False not-ready, and leaves other taints alone", async () => {
    const t0 = new FakeClock().now();
    const node = healthyNode("n1", t0);
    node.status!.conditions![0]!.status = "False";
    node.spec!.taints = [{ key: "dedicated", value: "db", effect: "NoSchedule" }];
    const { fake, controller } = setup([node, lease("n1", t0)]);
    await controller.monitorNodeHealth();
    expect(taintsOf(nodeOf(fake))).toEqual(["dedicated:NoSchedule", `${TAINT_NOT_READY}:NoExecute`, `${TAINT_NOT_READY}:NoSchedule`]);
  });

  it("cancels a scheduled eviction when the taint goes away", async () => {
    const t0 = new FakeClock().now();
    const node = healthyNode("n1", t0);
    node.status!.conditions![0]!.status = "Unknown";
    node.spec!.taints = [{ key: TAINT_UNREACHABLE, effect: "NoExecute", timeAdded: formatTime(t0) }];
    const { fake, recorder, controller } = setup([node, lease("n1", t0), newPod("p", { nodeName: "n1", tolerations: [unreachable(60)] })]);
    await drainQueue(controller.evictionQueue, (key) => controller.syncEviction(key));
    const healed = nodeOf(fake);
    healed.spec!.taints = [];
    fake.seed(healed);
    await drainQueue(controller.evictionQueue, (key) => controller.syncEviction(key));
    expect(recorder.events.map((e) => e.message)).toEqual(["Cancelling deletion of Pod default/p"]);
  });

  it("force-deletes pods of a node that no longer exists, after checking with the apiserver", async () => {
    const { fake, controller } = setup([newPod("orphan", { nodeName: "gone" }), newPod("fine", { nodeName: "n1" }), newNode("n1")]);
    await controller.collectOrphanedPods();
    expect(fake.actionsFor("delete", "pods")).toEqual([expect.objectContaining({ name: "orphan", deleteOptions: expect.objectContaining({ gracePeriodSeconds: 0 }) as unknown })]);
    expect(fake.actions.filter((a) => a.verb === "get").map((a) => a.name)).toEqual(["gone"]);
    expect(fake.object(PODS, "default", "orphan")).toBeUndefined();
  });

  it("emits RemovingNode when a node disappears", async () => {
    const { fake, recorder, controller } = setup([newNode("n1")]);
    await controller.monitorNodeHealth();
    fake.remove(NODES, undefined, "n1");
    await controller.monitorNodeHealth();
    expect(recorder.events.map((e) => e.message)).toEqual(["Node n1 event: Registered Node n1 in Controller", "Node n1 event: Removing Node n1 from Controller"]);
  });
});

describe("taints", () => {
  const taint = (key: string, value?: string): Taint => ({ key, effect: "NoExecute", ...(value ? { value } : {}) });
  it.each<[string, Toleration, Taint, boolean]>([
    ["Exists on the key", { key: "k", operator: "Exists" }, taint("k", "v"), true],
    ["Equal with the same value", { key: "k", operator: "Equal", value: "v" }, taint("k", "v"), true],
    ["Equal with another value", { key: "k", value: "w" }, taint("k", "v"), false],
    ["an empty key with Exists tolerates everything", { operator: "Exists" }, taint("any"), true],
    ["another effect", { key: "k", operator: "Exists", effect: "NoSchedule" }, taint("k"), false],
  ])("tolerates: %s", (_name, toleration, t, expected) => {
    expect(tolerates(toleration, t)).toBe(expected);
  });

  it("counts tolerationSeconds from the earliest timeAdded, and zero or less means now", () => {
    const at = Date.UTC(2024, 0, 1);
    const taints: Taint[] = [{ key: TAINT_UNREACHABLE, effect: "NoExecute", timeAdded: formatTime(at) }];
    expect(evictionDecision(taints, [unreachable(30)], 0)).toEqual({ kind: "at", deadline: at + 30_000 });
    expect(evictionDecision(taints, [unreachable(-5)], 0)).toEqual({ kind: "at", deadline: at });
    expect(evictionDecision(taints, [unreachable()], 0)).toEqual({ kind: "never" });
    expect(evictionDecision(taints, [], 0).kind).toBe("now");
    expect(evictionDecision([{ key: "x", effect: "NoSchedule" }], [], 0)).toEqual({ kind: "none" });
  });

  it("adds the unschedulable and pressure taints and changes nothing when all is in place", () => {
    const node = newNode("n1", { unschedulable: true });
    node.status!.conditions!.push({ type: "DiskPressure", status: "True" });
    const taints = reconcileTaints(node, "2024-01-01T00:00:00Z")!;
    expect(taints.map((t) => `${t.key}:${t.effect}`)).toEqual(["node.kubernetes.io/disk-pressure:NoSchedule", "node.kubernetes.io/unschedulable:NoSchedule"]);
    node.spec!.taints = taints;
    expect(reconcileTaints(node, "2024-01-01T00:00:00Z")).toBeUndefined();
  });
});
