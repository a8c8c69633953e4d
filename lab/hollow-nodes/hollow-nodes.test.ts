// The simulator against the in-memory FakeApiserver (client/testing): real HTTP, informers and workqueues, with
// intervals of milliseconds. The cross-process behaviour (real apiserver, SIGKILL, 1,000 nodes) is in
// hollow-nodes.int.test.ts.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RESOURCES } from "../../api/resources.js";
import { newNode, newPod } from "../../api/testing/builders.js";
import type { Lease, Node, Pod } from "../../api/types/index.js";
import { RestClient } from "../../client/rest.js";
import { FakeApiserver } from "../../client/testing/fake-apiserver.js";
import { createRegistry, type Registry } from "../../component-base/metrics.js";
import { FakeClock } from "../../component-base/testing/fake-clock.js";
import { HollowNodes } from "./hollow-nodes.js";
import type { HollowNodesConfig } from "./options.js";
import { parseCIDR } from "./pod-ips.js";
import { CRASHLOOP_ANNOTATION, FAIL_ANNOTATION } from "./pod-status.js";

const NODES = RESOURCES.find((r) => r.resource === "nodes")!;
const PODS = RESOURCES.find((r) => r.resource === "pods")!;
const LEASES = RESOURCES.find((r) => r.resource === "leases")!;

function config(overrides: Partial<HollowNodesConfig> = {}): HollowNodesConfig {
  return {
    count: 2,
    namePrefix: "hn",
    startIndex: 0,
    capacity: { cpu: "4", memory: "8Gi", pods: "110", "ephemeral-storage": "100Gi" },
    labels: {},
    startDelayMs: 0,
    leaseDurationSeconds: 1,
    leaseRenewIntervalMs: 100,
    nodeStatusUpdateFrequencyMs: 100,
    nodeStatusReportFrequencyMs: 60_000,
    podCIDRWaitMs: 60_000,
    podCIDRFallback: parseCIDR("10.244.0.0/16"),
    concurrentNodeSyncs: 4,
    concurrentPodSyncs: 4,
    ...overrides,
  };
}

let fake: FakeApiserver;
let client: RestClient;
let controller: AbortController;
let running: Promise<void> | undefined;

beforeEach(async () => {
  fake = await FakeApiserver.start();
  client = new RestClient(fake.clientConfig(), { qps: 0 });
  controller = new AbortController();
  running = undefined;
});

afterEach(async () => {
  controller.abort();
  await running;
  client.close();
  await fake.stop();
});

function start(cfg: HollowNodesConfig, opts: { clock?: FakeClock; registry?: Registry } = {}): HollowNodes {
  const registry = opts.registry ?? createRegistry({ defaultMetrics: false });
  const hollow = new HollowNodes({ client, config: cfg, registry, bootID: "boot", crashLoopRestartIntervalMs: 200, ...(opts.clock ? { clock: opts.clock } : {}) });
  running = hollow.run(controller.signal);
  return hollow;
}

const node = (name: string) => fake.object(NODES, undefined, name) as Node | undefined;
const pod = (name: string) => fake.object(PODS, "default", name) as Pod | undefined;
const lease = (name: string) => fake.object(LEASES, "kube-node-lease", name) as Lease | undefined;
const ready = (n: Node | undefined) => n?.status?.conditions?.find((c) => c.type === "Ready")?.status;

describe("HollowNodes", () => {
  it("registers its nodes and keeps renewing their leases", async () => {
    start(config());
    await vi.waitFor(() => {
      expect(ready(node("hn-0"))).toBe("True");
      expect(ready(node("hn-1"))).toBe("True");
    });
    expect(node("hn-1")?.metadata.labels).toMatchObject({ "kubernetes.io/hostname": "hn-1", type: "hollow" });
    const first = await vi.waitFor(() => {
      const l = lease("hn-0");
      expect(l?.spec?.renewTime).toBeDefined();
      return l!;
    });
    expect(first.spec).toMatchObject({ holderIdentity: "hn-0", leaseDurationSeconds: 1 });
    expect(first.metadata.ownerReferences).toEqual([{ apiVersion: "v1", kind: "Node", name: "hn-0", uid: node("hn-0")?.metadata.uid }]);
    await vi.waitFor(() => {
      expect(lease("hn-0")?.spec?.renewTime).not.toBe(first.spec?.renewTime);
    });
    expect(fake.requestsTo("GET", "/leases/")).toHaveLength(0); // renewals are conditional updates of the last lease
  });

  it("adopts an existing node: labels back, status Ready again, lease renewed", async () => {
    fake.put(NODES, newNode("hn-0", { ready: "Unknown", labels: { "kubernetes.io/hostname": "hn-0", mine: "kept" } }));
    start(config({ count: 1 }));
    await vi.waitFor(() => {
      expect(ready(node("hn-0"))).toBe("True");
      expect(lease("hn-0")).toBeDefined();
    });
    expect(node("hn-0")?.metadata.labels).toMatchObject({ mine: "kept", type: "hollow" });
    expect(fake.requestsTo("POST", "/api/v1/nodes")).toHaveLength(0);
  });

  it("posts Ready again when someone else marks the node Unknown", async () => {
    start(config({ count: 1 }));
    await vi.waitFor(() => { expect(ready(node("hn-0"))).toBe("True"); });
    const n = node("hn-0")!;
    n.status!.conditions!.find((c) => c.type === "Ready")!.status = "Unknown";
    fake.put(NODES, n);
    await vi.waitFor(() => { expect(ready(node("hn-0"))).toBe("True"); });
  });

  it("runs a bound pod with an address from the node's podCIDR, once node IPAM gives it one", async () => {
    start(config({ count: 1 }));
    await vi.waitFor(() => { expect(node("hn-0")).toBeDefined(); });
    fake.put(PODS, newPod("web", { nodeName: "hn-0", meta: { uid: "pod-uid" } }));
    // A hostNetwork pod needs no podCIDR: once it runs, "web", queued before it, has been synced too.
    const host = newPod("host", { nodeName: "hn-0" });
    host.spec!.hostNetwork = true;
    fake.put(PODS, host);
    await vi.waitFor(() => { expect(pod("host")?.status?.phase).toBe("Running"); });
    expect(pod("web")?.status?.phase).toBeUndefined(); // waiting for a podCIDR
    fake.put(NODES, { ...node("hn-0")!, spec: { podCIDR: "10.244.7.0/24", podCIDRs: ["10.244.7.0/24"] } });
    await vi.waitFor(() => { expect(pod("web")?.status?.phase).toBe("Running"); });
    expect(pod("web")?.status).toMatchObject({ podIP: "10.244.7.2", hostIP: "172.30.128.1" });
    expect(pod("web")?.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
  });

  it("falls back to a pseudo range when no podCIDR comes in time", async () => {
    start(config({ count: 1, podCIDRWaitMs: 0 }));
    await vi.waitFor(() => { expect(node("hn-0")).toBeDefined(); });
    fake.put(PODS, newPod("web", { nodeName: "hn-0" }));
    await vi.waitFor(() => { expect(pod("web")?.status?.podIP).toMatch(/^10\.244\.\d+\.2$/); });
  });

  it("keeps a pod ContainerCreating for --start-delay, then runs it", async () => {
    start(config({ count: 1, podCIDRWaitMs: 0, startDelayMs: 300 }));
    await vi.waitFor(() => { expect(node("hn-0")).toBeDefined(); });
    const created = Date.now();
    fake.put(PODS, newPod("slow", { nodeName: "hn-0" }));
    await vi.waitFor(() => { expect(pod("slow")?.status?.phase).toBe("Pending"); });
    expect(pod("slow")?.status?.containerStatuses?.[0]?.state).toEqual({ waiting: { reason: "ContainerCreating" } });
    await vi.waitFor(() => { expect(pod("slow")?.status?.phase).toBe("Running"); });
    expect(Date.now() - created).toBeGreaterThanOrEqual(300);
  });

  it("counts restarts of a crash-looping pod over time", async () => {
    start(config({ count: 1, podCIDRWaitMs: 0 }));
    await vi.waitFor(() => { expect(node("hn-0")).toBeDefined(); });
    fake.put(PODS, newPod("loop", { nodeName: "hn-0", annotations: { [CRASHLOOP_ANNOTATION]: "true" } }));
    await vi.waitFor(() => { expect(pod("loop")?.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe("CrashLoopBackOff"); });
    await vi.waitFor(() => { expect(pod("loop")?.status?.containerStatuses?.[0]?.restartCount).toBeGreaterThanOrEqual(2); }, { timeout: 4000 });
  });

  it("leaves pods of other nodes alone and fails pods that ask for it", async () => {
    start(config({ count: 1, podCIDRWaitMs: 0 }));
    await vi.waitFor(() => { expect(node("hn-0")).toBeDefined(); });
    fake.put(PODS, newPod("other", { nodeName: "real-node" }));
    fake.put(PODS, newPod("doomed", { nodeName: "hn-0", annotations: { [FAIL_ANNOTATION]: "true" } }));
    await vi.waitFor(() => { expect(pod("doomed")?.status?.phase).toBe("Failed"); });
    expect(pod("other")?.status).toBeUndefined();
  });

  it("finishes the graceful deletion of its pods with grace 0 and a uid precondition", async () => {
    start(config({ count: 1, podCIDRWaitMs: 0 }));
    await vi.waitFor(() => { expect(node("hn-0")).toBeDefined(); });
    fake.put(PODS, newPod("web", { nodeName: "hn-0", meta: { uid: "pod-uid", deletionTimestamp: "2024-01-01T00:00:30Z", deletionGracePeriodSeconds: 30 } }));
    await vi.waitFor(() => { expect(pod("web")).toBeUndefined(); });
    const [del] = fake.requestsTo("DELETE", "/pods/web");
    expect(del?.body).toMatchObject({ gracePeriodSeconds: 0, preconditions: { uid: "pod-uid" } });
  });

  it("does not rewrite a pod that already runs when it starts (adoption after a restart)", async () => {
    start(config({ count: 1, podCIDRWaitMs: 0 }));
    await vi.waitFor(() => { expect(node("hn-0")).toBeDefined(); });
    fake.put(PODS, newPod("web", { nodeName: "hn-0" }));
    await vi.waitFor(() => { expect(pod("web")?.status?.phase).toBe("Running"); });
    const before = pod("web")!;
    controller.abort();
    await running;

    controller = new AbortController();
    start(config({ count: 1, podCIDRWaitMs: 0 }));
    fake.put(PODS, newPod("second", { nodeName: "hn-0" }));
    await vi.waitFor(() => { expect(pod("second")?.status?.phase).toBe("Running"); });
    expect(pod("web")?.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(pod("second")?.status?.podIP).not.toBe(before.status?.podIP);
  });

  it("stops renewing the lease of a node someone deleted, and does not register it again", async () => {
    const clock = new FakeClock();
    const registry = createRegistry({ defaultMetrics: false });
    start(config({ count: 2 }), { clock, registry });
    await vi.waitFor(() => { expect([lease("hn-0"), lease("hn-1")]).not.toContain(undefined); });
    fake.remove(NODES, undefined, "hn-0");
    fake.remove(LEASES, "kube-node-lease", "hn-0");
    await vi.waitFor(async () => { expect(await registry.metrics()).toMatch(/^hollow_nodes 1$/m); });
    // Three renewal periods pass on the fake clock, each seen in hn-1's renewal: hn-0 had its turn in every one.
    for (let period = 0; period < 3; period++) {
      const before = lease("hn-1")?.spec?.renewTime;
      await vi.waitFor(() => {
        clock.step(25);
        expect(lease("hn-1")?.spec?.renewTime).not.toBe(before);
      });
    }
    expect(node("hn-0")).toBeUndefined();
    expect(lease("hn-0")).toBeUndefined();
  });
});
