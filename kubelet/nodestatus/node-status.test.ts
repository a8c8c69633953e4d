// NodeStatusManager over the recording FakeClient and a fake clock: registration and adoption, the status it posts
// and when, lease renewals, re-registration and the NetworkUnavailable hook. The real apiserver is in
// node-status.int.test.ts.
import { afterEach, describe, expect, it } from "vitest";
import { conflict } from "../../api/errors.js";
import { RESOURCES } from "../../api/resources.js";
import { newNode } from "../../api/testing/builders.js";
import type { Lease, Node, NodeCondition } from "../../api/types/index.js";
import type * as cri from "../../client/cri/types.js";
import { FakeClient } from "../../client/testing/fake-client.js";
import { FakeRecorder } from "../../client/testing/fake-recorder.js";
import { silentLogger } from "../../component-base/logging.js";
import { FakeClock } from "../../component-base/testing/fake-clock.js";
import { NodeStatusManager, type NodeStatusOptions } from "./node-status.js";
import type { MachineInfo } from "./status.js";

const NODES = RESOURCES.find((r) => r.resource === "nodes")!;
const LEASES = RESOURCES.find((r) => r.resource === "leases")!;
const GiB = 1024 ** 3;

const MACHINE: MachineInfo = {
  cpus: 2,
  memoryBytes: 4 * GiB,
  rootFsBytes: 50 * GiB,
  kernelVersion: "6.1.0-test",
  osImage: "Debian GNU/Linux 12 (bookworm)",
  operatingSystem: "linux",
  architecture: "amd64",
  bootID: "boot-1",
  machineID: "machine-1",
  systemUUID: "",
};

class FakeRuntime {
  networkReady = true;
  down = false;
  versionCalls = 0;
  version(): Promise<cri.VersionResponse> {
    this.versionCalls++;
    if (this.down) return Promise.reject(new Error("connection refused"));
    return Promise.resolve({ version: "0.1.0", runtimeName: "kubelab-runtime", runtimeVersion: "1.2.3", runtimeApiVersion: "v1" });
  }
  status(): Promise<cri.StatusResponse> {
    if (this.down) return Promise.reject(new Error("connection refused"));
    return Promise.resolve({
      conditions: [
        { type: "RuntimeReady", status: true, reason: "", message: "" },
        this.networkReady
          ? { type: "NetworkReady", status: true, reason: "", message: "" }
          : { type: "NetworkReady", status: false, reason: "NetworkPluginNotReady", message: "no CNI config" },
      ],
      info: {},
    });
  }
}

let managers: NodeStatusManager[] = [];
afterEach(async () => {
  await Promise.all(managers.map((m) => m.stop()));
  managers = [];
});

function setup(overrides: Partial<NodeStatusOptions> = {}, objects: Node[] = []): { client: FakeClient; clock: FakeClock; recorder: FakeRecorder; runtime: FakeRuntime; manager: NodeStatusManager } {
  const clock = new FakeClock();
  const client = new FakeClient({ clock, objects });
  const recorder = new FakeRecorder();
  const runtime = new FakeRuntime();
  const manager = new NodeStatusManager({
    client,
    recorder,
    clock,
    logger: silentLogger(),
    runtime,
    nodeName: "node-1",
    nodeIP: "10.0.0.1",
    kubeletPort: 10250,
    labels: { role: "worker" },
    capacity: { maxPods: 110 },
    statusUpdateFrequencyMs: 10_000,
    statusReportFrequencyMs: 300_000,
    leaseDurationSeconds: 40,
    rootDir: "/var/lib/kubelet",
    machine: MACHINE,
    pressure: () => Promise.resolve({ memory: false, disk: false, pid: false }),
    jitterFactor: 0,
    ...overrides,
  });
  managers.push(manager);
  return { client, clock, recorder, runtime, manager };
}

function condition(node: Node | undefined, type: string): NodeCondition | undefined {
  return node?.status?.conditions?.find((c) => c.type === type);
}

describe("NodeStatusManager registration", () => {
  it("registers the Node, posts its status and creates its Lease", async () => {
    const { client, clock, recorder, manager } = setup({ podCidr: "10.244.3.0/24" });
    await manager.start();
    const [created] = client.created<Node>("nodes");
    expect(created?.metadata.labels).toEqual({ role: "worker", "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": "node-1", "kubernetes.io/os": "linux" });
    expect(created?.spec?.podCIDR).toBe("10.244.3.0/24");
    const statusPatches = client.actionsFor("patch", "nodes", "status");
    expect(statusPatches).toHaveLength(1);
    expect(statusPatches[0]?.patchType).toBe("strategic");
    const node = client.object<Node>(NODES, undefined, "node-1");
    expect(condition(node, "Ready")).toMatchObject({ status: "True", reason: "KubeletReady" });
    expect(node?.status?.capacity).toMatchObject({ cpu: "2", memory: "4Gi", pods: "110", "ephemeral-storage": "50Gi" });
    expect(node?.status?.allocatable).toMatchObject({ memory: "3996Mi", "ephemeral-storage": "45Gi" });
    expect(node?.status?.nodeInfo).toMatchObject({ containerRuntimeVersion: "kubelab-runtime://1.2.3", kubeletVersion: "v1.32.0-kubelab", osImage: "Debian GNU/Linux 12 (bookworm)", bootID: "boot-1" });
    expect(manager.node()?.metadata.uid).toBe(node?.metadata.uid);
    expect(recorder.reasons()).toEqual(["Starting", "NodeHasSufficientMemory", "NodeHasNoDiskPressure", "NodeHasSufficientPID", "NodeReady"]);
    expect(recorder.events[0]).toMatchObject({ object: { kind: "Node", name: "node-1", uid: "node-1" }, message: "Starting kubelet." });
    expect(recorder.events[4]?.message).toBe("Node node-1 status is now: NodeReady");

    await clock.advance(0);
    const lease = client.object<Lease>(LEASES, "kube-node-lease", "node-1");
    expect(lease?.spec).toMatchObject({ holderIdentity: "node-1", leaseDurationSeconds: 40 });
    expect(lease?.metadata.ownerReferences).toEqual([{ apiVersion: "v1", kind: "Node", name: "node-1", uid: node?.metadata.uid }]);
  });

  it("adopts an existing Node: labels patched back, status posted", async () => {
    const existing = newNode("node-1", { labels: { "kubernetes.io/hostname": "stale" } });
    const { client, manager } = setup({}, [existing]);
    await manager.start();
    const patches = client.actionsFor("patch", "nodes", "");
    expect(patches).toHaveLength(1);
    expect(patches[0]?.patch).toMatchObject({ metadata: { labels: { "kubernetes.io/hostname": "node-1", role: "worker" } } });
    const node = client.object<Node>(NODES, undefined, "node-1");
    expect(node?.metadata.labels?.["kubernetes.io/hostname"]).toBe("node-1");
    expect(condition(node, "Ready")?.status).toBe("True");
  });

  it("retries registration with backoff until the apiserver answers", async () => {
    const { client, clock, manager } = setup();
    client.failNext("create", "nodes", new Error("connection refused"), 2);
    let done = false;
    const started = manager.start().then(() => {
      done = true;
    });
    await clock.advance(50);
    expect(done).toBe(false);
    await clock.advance(300); // 100 ms, then 200 ms
    await started;
    expect(client.actionsFor("create", "nodes")).toHaveLength(3);
  });
});

describe("NodeStatusManager status updates", () => {
  it("does not write an unchanged status, but reports it every statusReportFrequency", async () => {
    const { client, clock, manager } = setup();
    await manager.start();
    await clock.advance(60_000); // fast checks end once Ready; then every 10 s
    expect(client.actionsFor("patch", "nodes", "status")).toHaveLength(1);
    expect(client.actionsFor("get", "nodes").length).toBeGreaterThanOrEqual(6);
    await clock.advance(250_000);
    expect(client.actionsFor("patch", "nodes", "status")).toHaveLength(2);
    const node = client.object<Node>(NODES, undefined, "node-1");
    expect(condition(node, "Ready")?.lastHeartbeatTime).not.toBe(condition(node, "Ready")?.lastTransitionTime);
  });

  it("turns NotReady with the runtime's reason, and Ready again, with events", async () => {
    const { client, clock, recorder, runtime, manager } = setup();
    runtime.networkReady = false;
    await manager.start();
    let node = client.object<Node>(NODES, undefined, "node-1");
    expect(condition(node, "Ready")).toMatchObject({
      status: "False",
      reason: "KubeletNotReady",
      message: "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:no CNI config",
    });
    expect(recorder.reasons()).toContain("NodeNotReady");
    runtime.networkReady = true;
    await clock.advance(1000); // not Ready yet: checked every second
    node = client.object<Node>(NODES, undefined, "node-1");
    expect(condition(node, "Ready")?.status).toBe("True");
    expect(recorder.reasons().at(-1)).toBe("NodeReady");
    runtime.down = true;
    await clock.advance(20_000); // a runtime restart is not worth NotReady
    node = client.object<Node>(NODES, undefined, "node-1");
    expect(condition(node, "Ready")?.status).toBe("True");
    await clock.advance(20_000);
    node = client.object<Node>(NODES, undefined, "node-1");
    expect(condition(node, "Ready")).toMatchObject({ status: "False", message: "container runtime is down" });
    expect(node?.status?.nodeInfo?.containerRuntimeVersion).toBe("kubelab-runtime://1.2.3");
  });

  it("posts Ready again over the node lifecycle controller's Unknown", async () => {
    const { client, clock, manager } = setup();
    await manager.start();
    const node = client.object<Node>(NODES, undefined, "node-1")!;
    client.seed({ ...node, status: { ...node.status, conditions: node.status?.conditions?.map((c) => (c.type === "Ready" ? { ...c, status: "Unknown" as const, reason: "NodeStatusUnknown" } : c)) } });
    await clock.advance(10_000);
    expect(condition(client.object<Node>(NODES, undefined, "node-1"), "Ready")).toMatchObject({ status: "True", reason: "KubeletReady" });
  });

  it("registers the Node again when it was deleted", async () => {
    const { client, clock, manager } = setup();
    await manager.start();
    const firstUID = manager.node()?.metadata.uid;
    client.remove(NODES, undefined, "node-1");
    await clock.advance(10_000);
    const node = client.object<Node>(NODES, undefined, "node-1");
    expect(node?.metadata.uid).toBeDefined();
    expect(node?.metadata.uid).not.toBe(firstUID);
    expect(condition(node, "Ready")?.status).toBe("True");
    await clock.advance(10_000);
    const lease = client.object<Lease>(LEASES, "kube-node-lease", "node-1");
    expect(lease?.metadata.ownerReferences?.[0]?.uid).toBe(node?.metadata.uid);
  });

  it("leaves a deleted Node alone when told to", async () => {
    const { client, clock, manager } = setup({ registerAgainWhenDeleted: false });
    await manager.start();
    client.remove(NODES, undefined, "node-1");
    await clock.advance(30_000);
    expect(client.object<Node>(NODES, undefined, "node-1")).toBeUndefined();
    expect(client.actionsFor("create", "nodes")).toHaveLength(1);
  });

  it("posts NetworkUnavailable when pod routes set it, at once", async () => {
    const { client, manager } = setup();
    await manager.start();
    manager.setNetworkUnavailable({ status: "False", reason: "RouteCreated", message: "kubelab host-gw routes configured" });
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(condition(client.object<Node>(NODES, undefined, "node-1"), "NetworkUnavailable")).toMatchObject({ status: "False", reason: "RouteCreated" });
  });

  it("reads its Node from an injected lister instead of GETting it", async () => {
    const holder: { client?: FakeClient } = {};
    const lister = { get: (name: string): Node | undefined => holder.client?.object<Node>(NODES, undefined, name) };
    const made = setup({ nodeLister: lister });
    const client = (holder.client = made.client);
    await made.manager.start();
    await made.clock.advance(30_000);
    expect(client.actionsFor("get", "nodes")).toHaveLength(0);
    expect(client.actionsFor("patch", "nodes", "status")).toHaveLength(1);
  });
});

describe("NodeStatusManager hooks", () => {
  it("announces the podCIDR once IPAM sets it", async () => {
    const seen: string[] = [];
    const { client, clock, manager } = setup({ onPodCIDR: (cidr) => seen.push(cidr) });
    await manager.start();
    expect(seen).toEqual([]);
    const node = client.object<Node>(NODES, undefined, "node-1")!;
    client.seed({ ...node, spec: { podCIDR: "10.244.7.0/24", podCIDRs: ["10.244.7.0/24"] } });
    await clock.advance(10_000);
    await clock.advance(10_000);
    expect(seen).toEqual(["10.244.7.0/24"]);
    expect(manager.node()?.spec?.podCIDR).toBe("10.244.7.0/24");
  });

  it("reports the runtime's images, largest first", async () => {
    const images = [
      { names: ["docker.io/library/busybox:latest"], sizeBytes: 100 },
      { names: ["docker.io/library/nginx:latest"], sizeBytes: 5000 },
    ];
    const { client, clock, manager } = setup({ images: () => Promise.resolve(images) });
    await manager.start();
    expect(client.object<Node>(NODES, undefined, "node-1")?.status?.images?.map((i) => i.names?.[0])).toEqual(["docker.io/library/nginx:latest", "docker.io/library/busybox:latest"]);
    const patches = client.actionsFor("patch", "nodes", "status").length;
    await clock.advance(10_000);
    expect(client.actionsFor("patch", "nodes", "status")).toHaveLength(patches);
    images.push({ names: ["registry.k8s.io/pause:3.10"], sizeBytes: 1 });
    await clock.advance(10_000);
    expect(client.object<Node>(NODES, undefined, "node-1")?.status?.images).toHaveLength(3);
  });
});

describe("NodeStatusManager lease", () => {
  it("renews every quarter of the lease duration as a conditional update", async () => {
    const { client, clock, manager } = setup();
    await manager.start();
    await clock.advance(0);
    expect(client.actionsFor("create", "leases")).toHaveLength(1);
    await clock.advance(9_999);
    expect(client.actionsFor("update", "leases")).toHaveLength(0);
    await clock.advance(1);
    expect(client.actionsFor("update", "leases")).toHaveLength(1);
    await clock.advance(30_000);
    const updates = client.actionsFor("update", "leases");
    expect(updates).toHaveLength(4);
    expect(updates.every((a) => a.object?.metadata.resourceVersion !== undefined)).toBe(true);
    expect(client.object<Lease>(LEASES, "kube-node-lease", "node-1")?.spec?.renewTime).toBe(new Date(clock.now()).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z"));
  });

  it("reads the Lease again after a conflict", async () => {
    const { client, clock, manager } = setup();
    await manager.start();
    await clock.advance(0);
    expect(client.actionsFor("get", "leases")).toHaveLength(1); // the first renewal looks for an existing Lease
    client.failNext("update", "leases", conflict("leases.coordination.k8s.io", "node-1"));
    await clock.advance(10_000);
    expect(client.actionsFor("get", "leases")).toHaveLength(2);
    expect(client.actionsFor("update", "leases")).toHaveLength(2);
  });

  it("spreads its first renewal by startOffsetMs", async () => {
    const { client, clock, manager } = setup({ startOffsetMs: 2_500 });
    await manager.start();
    await clock.advance(2_499);
    expect(client.actionsFor("create", "leases")).toHaveLength(0);
    await clock.advance(1);
    expect(client.actionsFor("create", "leases")).toHaveLength(1);
  });

  it("stops renewing after stop()", async () => {
    const { client, clock, manager } = setup();
    await manager.start();
    await clock.advance(0);
    await manager.stop();
    client.clearActions();
    await clock.advance(60_000);
    expect(client.writes()).toHaveLength(0);
  });
});

describe("NodeStatusManager at scale", () => {
  it("runs 1,000 managers in one process over a shared lister, spreading their writes over the period", async () => {
    const clock = new FakeClock();
    const client = new FakeClient({ clock });
    const lister = client.informer<Node>(NODES).lister;
    const count = 1000;
    const renewMs = 10_000;
    const many = Array.from({ length: count }, (_, i) =>
      new NodeStatusManager({
        client,
        recorder: new FakeRecorder(),
        clock,
        logger: silentLogger(),
        runtime: new FakeRuntime(),
        nodeName: `hollow-${i}`,
        nodeIP: `172.30.128.${(i % 254) + 1}`,
        kubeletPort: 10250,
        labels: {},
        capacity: { cpu: "4", memory: "8Gi", ephemeralStorage: "100Gi", maxPods: 110 },
        statusUpdateFrequencyMs: 10_000,
        statusReportFrequencyMs: 300_000,
        leaseDurationSeconds: 40,
        rootDir: "/nonexistent",
        machine: MACHINE,
        pressure: () => Promise.resolve({ memory: false, disk: false, pid: false }),
        nodeLister: lister,
        startOffsetMs: Math.floor((i * renewMs) / count),
        jitterFactor: 0,
      }),
    );
    managers.push(...many);
    const began = performance.now();
    await Promise.all(many.map((m) => m.start()));
    expect(client.objects(NODES)).toHaveLength(count);
    client.clearActions();
    const perSecond: number[] = [];
    for (let s = 0; s < 20; s++) {
      const before = client.writes().length;
      await clock.advance(s === 19 ? 999 : 1000); // [0 s, 20 s): each node's renewal due at 20 s is the next period's
      perSecond.push(client.writes().length - before);
    }
    // Creates in the first period, renewals in the second: about a tenth of the nodes each second, never a burst.
    expect(Math.max(...perSecond)).toBeLessThanOrEqual(110);
    expect(perSecond.reduce((a, b) => a + b, 0)).toBe(2 * count);
    expect(client.actionsFor("update", "leases")).toHaveLength(count);
    expect(client.actionsFor("get", "nodes")).toHaveLength(0);
    expect(client.actionsFor("patch", "nodes", "status")).toHaveLength(0);
    expect(performance.now() - began).toBeLessThan(20_000);
  }, 60_000);
});
