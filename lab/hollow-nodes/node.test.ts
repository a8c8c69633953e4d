import { describe, expect, it } from "vitest";
import { formatTime } from "../../api/time.js";
import type { Node } from "../../api/types/index.js";
import { buildLease, buildNode, desiredNodeStatus, internalIPFor, missingLabels, nodeLabels, nodeStatusChanged, type NodeTemplate } from "./node.js";

const T0 = Date.UTC(2024, 0, 1, 10, 0, 0);
const template: NodeTemplate = { capacity: { cpu: "4", memory: "8Gi", pods: "110", "ephemeral-storage": "100Gi" }, labels: { zone: "a" }, bootID: "boot-1" };

describe("buildNode", () => {
  it("registers a Ready node with the kubelet's labels, capacity, addresses and nodeInfo", () => {
    const node = buildNode("hollow-7", 7, template, T0);
    expect(node.metadata.name).toBe("hollow-7");
    expect(node.metadata.labels).toEqual({
      "kubernetes.io/hostname": "hollow-7",
      "kubernetes.io/os": "linux",
      "kubernetes.io/arch": "amd64",
      "node.kubernetes.io/instance-type": "hollow",
      type: "hollow",
      zone: "a",
    });
    const status = node.status!;
    expect(status.capacity).toEqual(template.capacity);
    expect(status.allocatable).toEqual(template.capacity);
    expect(status.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ["MemoryPressure", "False", "KubeletHasSufficientMemory"],
      ["DiskPressure", "False", "KubeletHasNoDiskPressure"],
      ["PIDPressure", "False", "KubeletHasSufficientPID"],
      ["Ready", "True", "KubeletReady"],
    ]);
    expect(status.conditions?.find((c) => c.type === "Ready")).toMatchObject({ message: "kubelet is posting ready status", lastHeartbeatTime: "2024-01-01T10:00:00Z", lastTransitionTime: "2024-01-01T10:00:00Z" });
    expect(status.addresses).toEqual([
      { type: "InternalIP", address: "172.30.128.8" },
      { type: "Hostname", address: "hollow-7" },
    ]);
    expect(status.nodeInfo).toMatchObject({
      kubeletVersion: "v1.32.0-kubelab",
      containerRuntimeVersion: "hollow://1.0",
      osImage: "kubelab hollow node",
      operatingSystem: "linux",
      architecture: "amd64",
      bootID: "boot-1",
    });
    expect(status.nodeInfo?.kernelVersion).toEqual(expect.any(String));
    expect(status.daemonEndpoints).toEqual({ kubeletEndpoint: { Port: 10250 } });
  });
});

describe("internalIPFor", () => {
  it.each([
    [0, "172.30.128.1"],
    [253, "172.30.128.254"],
    [254, "172.30.129.1"],
    [999, "172.30.131.238"],
  ])("gives node %i the made-up address %s (no .0 or .255)", (index, ip) => {
    expect(internalIPFor(index)).toBe(ip);
  });

  it("gives 10,000 nodes distinct addresses", () => {
    expect(new Set(Array.from({ length: 10_000 }, (_, i) => internalIPFor(i))).size).toBe(10_000);
  });
});

describe("desiredNodeStatus", () => {
  const stored = (): Node => buildNode("n", 0, template, T0);

  it("moves heartbeats but keeps transition times while conditions hold", () => {
    const later = desiredNodeStatus("n", 0, template, T0 + 60_000, stored().status);
    const ready = later.conditions?.find((c) => c.type === "Ready");
    expect(ready?.lastHeartbeatTime).toBe(formatTime(T0 + 60_000));
    expect(ready?.lastTransitionTime).toBe(formatTime(T0));
  });

  it("turns a Ready=Unknown left by the node lifecycle controller back to True with a new transition time", () => {
    const node = stored();
    const ready = node.status!.conditions!.find((c) => c.type === "Ready")!;
    Object.assign(ready, { status: "Unknown", reason: "NodeStatusUnknown", message: "Kubelet stopped posting node status." });
    const next = desiredNodeStatus("n", 0, template, T0 + 60_000, node.status);
    expect(next.conditions?.find((c) => c.type === "Ready")).toMatchObject({ status: "True", reason: "KubeletReady", lastTransitionTime: formatTime(T0 + 60_000) });
    expect(nodeStatusChanged(node.status, next)).toBe(true);
  });

  it("counts only real changes, not heartbeats, as a changed status", () => {
    const node = stored();
    expect(nodeStatusChanged(node.status, desiredNodeStatus("n", 0, template, T0 + 3_600_000, node.status))).toBe(false);
    expect(nodeStatusChanged(node.status, desiredNodeStatus("n", 0, { ...template, bootID: "boot-2" }, T0, node.status))).toBe(true);
    expect(nodeStatusChanged(node.status, desiredNodeStatus("n", 0, { ...template, capacity: { ...template.capacity, cpu: "8" } }, T0, node.status))).toBe(true);
    expect(nodeStatusChanged(undefined, desiredNodeStatus("n", 0, template, T0, undefined))).toBe(true);
  });
});

describe("missingLabels", () => {
  it("lists the labels an adopted node lacks or has with another value", () => {
    const node = buildNode("n", 0, template, T0);
    node.metadata.labels = { "kubernetes.io/hostname": "n", type: "other", extra: "kept" };
    expect(missingLabels(node, nodeLabels("n", template))).toEqual({
      "kubernetes.io/os": "linux",
      "kubernetes.io/arch": "amd64",
      "node.kubernetes.io/instance-type": "hollow",
      type: "hollow",
      zone: "a",
    });
    expect(missingLabels(buildNode("n", 0, template, T0), nodeLabels("n", template))).toBeUndefined();
  });
});

describe("buildLease", () => {
  it("creates a lease held by and owned by the node, with a MicroTime renewTime", () => {
    const lease = buildLease("hollow-1", "uid-1", 40, T0 + 123);
    expect(lease).toEqual({
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: "hollow-1", namespace: "kube-node-lease", ownerReferences: [{ apiVersion: "v1", kind: "Node", name: "hollow-1", uid: "uid-1" }] },
      spec: { holderIdentity: "hollow-1", leaseDurationSeconds: 40, renewTime: "2024-01-01T10:00:00.123000Z" },
    });
  });

  it("renews from the stored lease: its resourceVersion kept, renewTime moved, a stale Node owner replaced", () => {
    const stored = buildLease("hollow-1", "old-uid", 40, T0);
    stored.metadata.resourceVersion = "42";
    stored.metadata.ownerReferences!.push({ apiVersion: "example.com/v1", kind: "Thing", name: "t", uid: "t-uid" });
    const renewed = buildLease("hollow-1", "new-uid", 40, T0 + 10_000, stored);
    expect(renewed.metadata.resourceVersion).toBe("42");
    expect(renewed.spec?.renewTime).toBe("2024-01-01T10:00:10.000000Z");
    expect(renewed.metadata.ownerReferences).toEqual([
      { apiVersion: "example.com/v1", kind: "Thing", name: "t", uid: "t-uid" },
      { apiVersion: "v1", kind: "Node", name: "hollow-1", uid: "new-uid" },
    ]);
  });
});
