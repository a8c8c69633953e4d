import { describe, expect, it } from "vitest";
import { newNode } from "../../api/testing/builders.js";
import type { NodeStatus } from "../../api/types/index.js";
import { memAvailableBytes, osReleaseField, goArch } from "./machine.js";
import {
  adoptionPatch,
  aggregateMessage,
  buildLease,
  buildNode,
  conditionEvents,
  desiredNodeStatus,
  NO_PRESSURE,
  imagesFromCri,
  nodeImages,
  nodeResources,
  nodeStatusChanged,
  runtimeErrors,
  type MachineInfo,
  type StatusInputs,
} from "./status.js";

const GiB = 1024 ** 3;
const MACHINE: MachineInfo = {
  cpus: 4,
  memoryBytes: 8 * GiB,
  rootFsBytes: 100 * GiB,
  kernelVersion: "6.1.0-test",
  osImage: "Debian GNU/Linux 12 (bookworm)",
  operatingSystem: "linux",
  architecture: "amd64",
  bootID: "boot-1",
  machineID: "machine-1",
  systemUUID: "uuid-1",
};

function inputs(overrides: Partial<StatusInputs> = {}): StatusInputs {
  return {
    resources: nodeResources(MACHINE, { maxPods: 110 }),
    nodeName: "node-1",
    nodeIP: "10.0.0.1",
    kubeletPort: 10250,
    nodeInfo: { kubeletVersion: "v1.32.0-kubelab" },
    pressure: NO_PRESSURE,
    readyErrors: [],
    ...overrides,
  };
}

describe("nodeResources", () => {
  it("takes capacity from the machine and subtracts the hard eviction thresholds for allocatable", () => {
    const { capacity, allocatable } = nodeResources(MACHINE, { maxPods: 110 });
    expect(capacity).toEqual({ cpu: "4", memory: "8Gi", "ephemeral-storage": "100Gi", pods: "110", "hugepages-1Gi": "0", "hugepages-2Mi": "0" });
    expect(allocatable).toEqual({ ...capacity, memory: "8092Mi", "ephemeral-storage": "90Gi" });
  });

  it("uses overrides in canonical form, and explicit allocatable values as given", () => {
    const { capacity, allocatable } = nodeResources(MACHINE, { cpu: "2000m", memory: "1024Mi", ephemeralStorage: "10Gi", maxPods: 30 }, { memory: "1Gi" });
    expect(capacity).toMatchObject({ cpu: "2", memory: "1Gi", "ephemeral-storage": "10Gi", pods: "30" });
    expect(allocatable).toMatchObject({ memory: "1Gi", "ephemeral-storage": "9Gi" });
  });

  it("never reports a negative allocatable", () => {
    expect(nodeResources({ ...MACHINE, memoryBytes: 50 * 1024 * 1024 }, { maxPods: 1 }).allocatable.memory).toBe("0");
  });
});

describe("runtime readiness", () => {
  it("is ready when both runtime conditions are true", () => {
    const status = { conditions: [{ type: "RuntimeReady", status: true, reason: "", message: "" }, { type: "NetworkReady", status: true, reason: "", message: "" }], info: {} };
    expect(runtimeErrors({ status })).toEqual([]);
  });

  it("words a network that is not ready as the kubelet does", () => {
    const status = {
      conditions: [
        { type: "RuntimeReady", status: true, reason: "", message: "" },
        { type: "NetworkReady", status: false, reason: "NetworkPluginNotReady", message: "cni config uninitialized" },
      ],
      info: {},
    };
    expect(runtimeErrors({ status })).toEqual(["container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:cni config uninitialized"]);
  });

  it("reports a missing condition and a runtime that does not answer", () => {
    expect(runtimeErrors({ status: { conditions: [{ type: "NetworkReady", status: true, reason: "", message: "" }], info: {} } })).toEqual(["container runtime not ready: <nil>"]);
    expect(runtimeErrors({ error: new Error("x"), everSucceeded: false })).toEqual(["container runtime status check may not have completed yet"]);
    expect(runtimeErrors({ error: new Error("x"), everSucceeded: true })).toEqual(["container runtime is down"]);
  });

  it("aggregates several errors like Go's NewAggregate", () => {
    expect(aggregateMessage(["a"])).toBe("a");
    expect(aggregateMessage(["a", "b"])).toBe("[a, b]");
  });
});

describe("desiredNodeStatus", () => {
  it("reports the conditions, addresses, endpoint and nodeInfo", () => {
    const status = desiredNodeStatus(inputs(), undefined, Date.UTC(2024, 0, 1));
    expect(status.conditions?.map((c) => [c.type, c.status, c.reason, c.message])).toEqual([
      ["MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"],
      ["DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"],
      ["PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"],
      ["Ready", "True", "KubeletReady", "kubelet is posting ready status"],
    ]);
    expect(status.conditions?.[0]?.lastHeartbeatTime).toBe("2024-01-01T00:00:00Z");
    expect(status.addresses).toEqual([
      { type: "InternalIP", address: "10.0.0.1" },
      { type: "Hostname", address: "node-1" },
    ]);
    expect(status.daemonEndpoints).toEqual({ kubeletEndpoint: { Port: 10250 } });
  });

  it("says why the node is not ready and which signal is under pressure", () => {
    const status = desiredNodeStatus(inputs({ readyErrors: ["container runtime is down"], pressure: { memory: true, disk: true, pid: false } }), undefined, 0);
    const byType = new Map(status.conditions?.map((c) => [c.type, c]));
    expect(byType.get("Ready")).toMatchObject({ status: "False", reason: "KubeletNotReady", message: "container runtime is down" });
    expect(byType.get("MemoryPressure")).toMatchObject({ status: "True", reason: "KubeletHasInsufficientMemory" });
    expect(byType.get("DiskPressure")).toMatchObject({ status: "True", reason: "KubeletHasDiskPressure" });
  });

  it("keeps a transition time while the status stays and moves it when it changes", () => {
    const first = desiredNodeStatus(inputs(), undefined, 1000);
    const second = desiredNodeStatus(inputs(), first, 60_000);
    expect(second.conditions?.[3]?.lastTransitionTime).toBe(first.conditions?.[3]?.lastTransitionTime);
    expect(second.conditions?.[3]?.lastHeartbeatTime).not.toBe(first.conditions?.[3]?.lastHeartbeatTime);
    const unknown: NodeStatus = { ...first, conditions: (first.conditions ?? []).map((c) => (c.type === "Ready" ? { ...c, status: "Unknown" as const } : c)) };
    const third = desiredNodeStatus(inputs(), unknown, 120_000);
    expect(third.conditions?.[3]?.lastTransitionTime).toBe("1970-01-01T00:02:00Z");
  });

  it("puts NetworkUnavailable first when pod routes set it", () => {
    const status = desiredNodeStatus(inputs({ networkUnavailable: { status: "False", reason: "RouteCreated", message: "routes" } }), undefined, 0);
    expect(status.conditions?.[0]).toMatchObject({ type: "NetworkUnavailable", status: "False", reason: "RouteCreated" });
  });
});

describe("nodeStatusChanged", () => {
  it("ignores heartbeat times and keys the kubelet does not post", () => {
    const stored = desiredNodeStatus(inputs(), undefined, 1000);
    const again = desiredNodeStatus(inputs(), stored, 50_000);
    expect(nodeStatusChanged(stored, again)).toBe(false);
    expect(nodeStatusChanged({ ...stored, capacity: { ...stored.capacity, "example.com/gpu": "1" } }, again)).toBe(false);
    expect(nodeStatusChanged(undefined, again)).toBe(true);
  });

  it("sees changed conditions, capacity, addresses and nodeInfo", () => {
    const stored = desiredNodeStatus(inputs(), undefined, 1000);
    expect(nodeStatusChanged(stored, desiredNodeStatus(inputs({ readyErrors: ["x"] }), stored, 2000))).toBe(true);
    expect(nodeStatusChanged(stored, desiredNodeStatus(inputs({ nodeIP: "10.0.0.2" }), stored, 2000))).toBe(true);
    expect(nodeStatusChanged(stored, desiredNodeStatus(inputs({ nodeInfo: { kubeletVersion: "other" } }), stored, 2000))).toBe(true);
    expect(nodeStatusChanged(stored, desiredNodeStatus(inputs({ resources: nodeResources(MACHINE, { maxPods: 10 }) }), stored, 2000))).toBe(true);
  });

  it("compares quantities by value", () => {
    const stored = desiredNodeStatus(inputs(), undefined, 1000);
    const desired = desiredNodeStatus(inputs(), stored, 2000);
    expect(nodeStatusChanged({ ...stored, capacity: { ...stored.capacity, memory: "8192Mi" } }, desired)).toBe(false);
  });
});

describe("conditionEvents", () => {
  it("records every condition at first and only transitions afterwards", () => {
    expect(conditionEvents(undefined, NO_PRESSURE, [])).toEqual(["NodeHasSufficientMemory", "NodeHasNoDiskPressure", "NodeHasSufficientPID", "NodeReady"]);
    const stored = desiredNodeStatus(inputs(), undefined, 0);
    expect(conditionEvents(stored, NO_PRESSURE, [])).toEqual([]);
    expect(conditionEvents(stored, { ...NO_PRESSURE, disk: true }, ["down"])).toEqual(["NodeHasDiskPressure", "NodeNotReady"]);
  });
});

describe("registration objects", () => {
  const identity = { name: "node-1", defaultLabels: { "kubernetes.io/hostname": "node-1", "kubernetes.io/os": "linux" }, extraLabels: { role: "worker" }, annotations: {}, podCidr: "10.244.1.0/24" };

  it("builds the Node with labels, annotation and podCIDR", () => {
    const node = buildNode(identity);
    expect(node.metadata.labels).toEqual({ role: "worker", "kubernetes.io/hostname": "node-1", "kubernetes.io/os": "linux" });
    expect(node.metadata.annotations).toEqual({ "volumes.kubernetes.io/controller-managed-attach-detach": "true" });
    expect(node.spec).toEqual({ podCIDR: "10.244.1.0/24", podCIDRs: ["10.244.1.0/24"] });
  });

  it("adopts an existing Node: default labels set back, extra labels only where missing, podCIDR only when empty", () => {
    const existing = newNode("node-1", { labels: { "kubernetes.io/hostname": "wrong", role: "changed-by-admin" } });
    existing.metadata.annotations = { "volumes.kubernetes.io/controller-managed-attach-detach": "true" };
    expect(adoptionPatch(existing, identity)).toEqual({
      metadata: { labels: { "kubernetes.io/hostname": "node-1", "kubernetes.io/os": "linux" } },
      spec: { podCIDR: "10.244.1.0/24", podCIDRs: ["10.244.1.0/24"] },
    });
    const owned = buildNode(identity);
    expect(adoptionPatch(owned, identity)).toBeUndefined();
  });

  it("builds the Lease owned by the Node, replacing an earlier Node's owner reference", () => {
    const first = buildLease("node-1", "uid-1", 40, Date.UTC(2024, 0, 1));
    expect(first.metadata).toMatchObject({ name: "node-1", namespace: "kube-node-lease", ownerReferences: [{ apiVersion: "v1", kind: "Node", name: "node-1", uid: "uid-1" }] });
    expect(first.spec).toEqual({ holderIdentity: "node-1", leaseDurationSeconds: 40, renewTime: "2024-01-01T00:00:00.000000Z" });
    const renewed = buildLease("node-1", "uid-2", 40, Date.UTC(2024, 0, 1, 0, 0, 10), { ...first, metadata: { ...first.metadata, resourceVersion: "7" } });
    expect(renewed.metadata.resourceVersion).toBe("7");
    expect(renewed.metadata.ownerReferences).toEqual([{ apiVersion: "v1", kind: "Node", name: "node-1", uid: "uid-2" }]);
  });
});

describe("nodeImages", () => {
  it("names an image by its digests, then its tags", () => {
    expect(imagesFromCri([{ id: "sha256:1", repoTags: ["docker.io/library/nginx:latest"], repoDigests: ["docker.io/library/nginx@sha256:abc"], size: 42, username: "", pinned: false }])).toEqual([
      { names: ["docker.io/library/nginx@sha256:abc", "docker.io/library/nginx:latest"], sizeBytes: 42 },
    ]);
  });

  it("keeps the 50 largest named images, largest first", () => {
    const many = Array.from({ length: 60 }, (_, i) => ({ names: [`img-${i}`], sizeBytes: i }));
    const out = nodeImages([...many, { names: [], sizeBytes: 1000 }]);
    expect(out).toHaveLength(50);
    expect(out[0]).toEqual({ names: ["img-59"], sizeBytes: 59 });
    expect(out.at(-1)?.names).toEqual(["img-10"]);
  });
});

describe("machine helpers", () => {
  it("reads os-release, meminfo and the architecture name", () => {
    expect(osReleaseField('NAME="Debian"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n', "PRETTY_NAME")).toBe("Debian GNU/Linux 12 (bookworm)");
    expect(osReleaseField("ID=debian\n", "PRETTY_NAME")).toBeUndefined();
    expect(memAvailableBytes("MemTotal: 100 kB\nMemAvailable:     2048 kB\n")).toBe(2048 * 1024);
    expect(goArch("x64")).toBe("amd64");
    expect(goArch("arm64")).toBe("arm64");
  });
});
