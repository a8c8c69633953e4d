// NodeStatusManager against a real apiserver process on a real etcd (dist/ must be built: npm run build): the Node
// it registers as the apiserver stores it, its Lease renewed, registration again after a delete, NotReady with the
// runtime's reason, and events about the Node. Short periods keep it quick.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESOURCES } from "../../api/resources.js";
import { parseTime } from "../../api/time.js";
import type { Lease, Node, NodeCondition } from "../../api/types/index.js";
import type * as cri from "../../client/cri/types.js";
import { createEventRecorder, type CoreEvent, type EventRecorder } from "../../client/event-recorder.js";
import { RestClient } from "../../client/rest.js";
import { realClock } from "../../component-base/clock.js";
import { silentLogger } from "../../component-base/logging.js";
import { clientConfigFor, startApiServerProcess, waitFor, type ApiServerProcess } from "../../test/support/apiserver.js";
import { startEtcd, type EtcdHandle } from "../../test/support/etcd.js";
import { NodeStatusManager, type NodeStatusOptions } from "./node-status.js";

const NODES = RESOURCES.find((r) => r.resource === "nodes")!;
const LEASES = RESOURCES.find((r) => r.resource === "leases")!;
const EVENTS = RESOURCES.find((r) => r.group === "" && r.resource === "events")!;

let etcd: EtcdHandle | undefined;
let apiserver: ApiServerProcess | undefined;
let client: RestClient;
let recorder: EventRecorder;
const managers: NodeStatusManager[] = [];

class SwitchableRuntime {
  networkReady = true;
  version(): Promise<cri.VersionResponse> {
    return Promise.resolve({ version: "0.1.0", runtimeName: "kubelab-runtime", runtimeVersion: "9.9.9", runtimeApiVersion: "v1" });
  }
  status(): Promise<cri.StatusResponse> {
    return Promise.resolve({
      conditions: [
        { type: "RuntimeReady", status: true, reason: "", message: "" },
        this.networkReady
          ? { type: "NetworkReady", status: true, reason: "", message: "" }
          : { type: "NetworkReady", status: false, reason: "NetworkPluginNotReady", message: "no CNI configuration" },
      ],
      info: {},
    });
  }
}

beforeAll(async () => {
  etcd = await startEtcd();
  apiserver = await startApiServerProcess(etcd.endpoint);
  client = new RestClient(clientConfigFor(apiserver.api), { qps: 0 });
  recorder = createEventRecorder({ client, component: "kubelet", host: "knode-int", logger: silentLogger() });
});

afterAll(async () => {
  await Promise.all(managers.map((m) => m.stop()));
  await recorder.stop();
  client.close();
  await apiserver?.stop("SIGKILL");
  await etcd?.destroy();
});

function manager(name: string, runtime: SwitchableRuntime, overrides: Partial<NodeStatusOptions> = {}): NodeStatusManager {
  const m = new NodeStatusManager({
    client,
    recorder,
    clock: realClock,
    logger: silentLogger(),
    runtime,
    nodeName: name,
    nodeIP: "172.30.9.2",
    kubeletPort: 10250,
    labels: { "kubelab.io/test": "knode" },
    capacity: { maxPods: 110 },
    podCidr: "10.244.77.0/24",
    statusUpdateFrequencyMs: 300,
    statusReportFrequencyMs: 60_000,
    leaseDurationSeconds: 2,
    rootDir: "/var/lib/kubelet-knode-int",
    ...overrides,
  });
  managers.push(m);
  return m;
}

const getNode = (name: string): Promise<Node> => client.get<Node>(NODES, undefined, name);
const condition = (node: Node, type: string): NodeCondition | undefined => node.status?.conditions?.find((c) => c.type === type);

describe("NodeStatusManager against a real apiserver", () => {
  it("registers the Node with labels, podCIDR, capacity, conditions, addresses and nodeInfo", async () => {
    await manager("knode-a", new SwitchableRuntime()).start();
    const node = await getNode("knode-a");
    expect(node.metadata.labels).toMatchObject({ "kubernetes.io/hostname": "knode-a", "kubernetes.io/os": "linux", "kubelab.io/test": "knode" });
    expect(node.metadata.labels?.["kubernetes.io/arch"]).toMatch(/^(amd64|arm64|[a-z0-9]+)$/);
    expect(node.spec?.podCIDR).toBe("10.244.77.0/24");
    expect(Number(node.status?.capacity?.cpu)).toBeGreaterThan(0);
    expect(node.status?.capacity?.memory).toMatch(/^\d+(Ki|Mi|Gi)?$/);
    expect(node.status?.capacity?.["ephemeral-storage"]).toBeDefined();
    expect(node.status?.capacity?.pods).toBe("110");
    expect(condition(node, "Ready")).toMatchObject({ status: "True", reason: "KubeletReady", message: "kubelet is posting ready status" });
    expect(condition(node, "MemoryPressure")?.reason).toMatch(/^KubeletHas(Sufficient|Insufficient)Memory$/);
    expect(node.status?.addresses).toEqual([
      { type: "InternalIP", address: "172.30.9.2" },
      { type: "Hostname", address: "knode-a" },
    ]);
    expect(node.status?.daemonEndpoints).toEqual({ kubeletEndpoint: { Port: 10250 } });
    expect(node.status?.nodeInfo).toMatchObject({ kubeletVersion: "v1.32.0-kubelab", containerRuntimeVersion: "kubelab-runtime://9.9.9", operatingSystem: "linux" });
    expect(node.status?.nodeInfo?.kernelVersion).not.toBe("");
    expect(node.status?.nodeInfo?.bootID).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("renews its Lease, owned by the Node", async () => {
    const node = await getNode("knode-a");
    const first = await waitFor("the lease", () => client.get<Lease>(LEASES, "kube-node-lease", "knode-a"));
    expect(first.spec).toMatchObject({ holderIdentity: "knode-a", leaseDurationSeconds: 2 });
    expect(first.metadata.ownerReferences).toEqual([expect.objectContaining({ apiVersion: "v1", kind: "Node", name: "knode-a", uid: node.metadata.uid })]);
    const renewedAt = parseTime(first.spec?.renewTime) ?? 0;
    const later = await waitFor("a renewal", async () => {
      const lease = await client.get<Lease>(LEASES, "kube-node-lease", "knode-a");
      return (parseTime(lease.spec?.renewTime) ?? 0) > renewedAt ? lease : undefined;
    }, 5_000);
    expect(Number(later.metadata.resourceVersion)).toBeGreaterThan(Number(first.metadata.resourceVersion));
  });

  it("records events about the Node", async () => {
    const events = await waitFor("NodeReady", async () => {
      const list = await client.list<CoreEvent>(EVENTS, "default");
      const mine = list.items.filter((e) => e.involvedObject.name === "knode-a");
      return mine.some((e) => e.reason === "NodeReady") ? mine : undefined;
    });
    expect(events.map((e) => e.reason)).toEqual(expect.arrayContaining(["Starting", "NodeHasSufficientPID", "NodeReady"]));
    expect(events.find((e) => e.reason === "Starting")?.message).toBe("Starting kubelet.");
  });

  it("registers its Node again after it was deleted", async () => {
    const before = await getNode("knode-a");
    await client.delete(NODES, undefined, "knode-a");
    const after = await waitFor("the Node back", async () => {
      const node = await getNode("knode-a").catch(() => undefined);
      return node && node.metadata.uid !== before.metadata.uid && condition(node, "Ready")?.status === "True" ? node : undefined;
    });
    expect(after.metadata.labels?.["kubernetes.io/hostname"]).toBe("knode-a");
    await waitFor("the Lease owned by the new Node", async () => {
      const lease = await client.get<Lease>(LEASES, "kube-node-lease", "knode-a").catch(() => undefined);
      return lease?.metadata.ownerReferences?.[0]?.uid === after.metadata.uid ? lease : undefined;
    });
  });

  it("reports NotReady with the runtime's reason, and Ready again", async () => {
    const runtime = new SwitchableRuntime();
    runtime.networkReady = false;
    await manager("knode-b", runtime).start();
    const notReady = condition(await getNode("knode-b"), "Ready");
    expect(notReady).toMatchObject({
      status: "False",
      reason: "KubeletNotReady",
      message: "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:no CNI configuration",
    });
    runtime.networkReady = true;
    const ready = await waitFor("Ready", async () => {
      const c = condition(await getNode("knode-b"), "Ready");
      return c?.status === "True" ? c : undefined;
    }, 5_000);
    expect(ready.reason).toBe("KubeletReady");
  });

  it("adopts a Node that exists already and does not write an unchanged status", async () => {
    await client.create<Node>(NODES, undefined, { apiVersion: "v1", kind: "Node", metadata: { name: "knode-c", labels: { "kubernetes.io/hostname": "stale", keep: "me" } }, spec: {} });
    const m = manager("knode-c", new SwitchableRuntime(), { statusUpdateFrequencyMs: 200 });
    await m.start();
    const adopted = await getNode("knode-c");
    expect(adopted.metadata.labels).toMatchObject({ "kubernetes.io/hostname": "knode-c", keep: "me", "kubelab.io/test": "knode" });
    expect(condition(adopted, "Ready")?.status).toBe("True");
    const rv = adopted.metadata.resourceVersion;
    await new Promise((r) => setTimeout(r, 1_000)); // five status checks with nothing to say
    expect((await getNode("knode-c")).metadata.resourceVersion).toBe(rv);
  });
});
