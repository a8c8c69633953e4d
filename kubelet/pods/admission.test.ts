import { describe, expect, it } from "vitest";
import type { Container, Pod } from "../../api/types/index.js";
import { admitPod } from "./admission.js";
import { testNode, testPod } from "./testing.js";

function withPort(name: string, hostPort: number, hostIP?: string, protocol?: "TCP" | "UDP"): Pod {
  const port = { containerPort: 80, hostPort, ...(hostIP !== undefined ? { hostIP } : {}), ...(protocol !== undefined ? { protocol } : {}) };
  return testPod({ containers: [{ name: "app", image: "busybox", ports: [port] }] }, name);
}

function requesting(name: string, requests: Record<string, string>): Pod {
  const c: Container = { name: "app", image: "busybox", resources: { requests } };
  return testPod({ containers: [c] }, name);
}

describe("admitPod", () => {
  it("admits a pod that fits", () => {
    expect(admitPod(requesting("a", { cpu: "1", memory: "1Gi" }), testNode(), [requesting("b", { cpu: "3" })])).toEqual({ admit: true });
  });

  it("rejects a host port already in use (NodePorts), by protocol and overlapping host IP", () => {
    const used = [withPort("first", 8080)];
    expect(admitPod(withPort("second", 8080), testNode(), used)).toEqual({ admit: false, reason: "NodePorts", message: "Predicate NodePorts failed" });
    expect(admitPod(withPort("second", 8080, "10.0.0.1"), testNode(), used)).toMatchObject({ reason: "NodePorts" });
    expect(admitPod(withPort("second", 8080, undefined, "UDP"), testNode(), used)).toEqual({ admit: true });
    expect(admitPod(withPort("second", 8081), testNode(), used)).toEqual({ admit: true });
    expect(admitPod(withPort("second", 8080, "10.0.0.2"), testNode(), [withPort("first", 8080, "10.0.0.1")])).toEqual({ admit: true });
  });

  it("rejects a pod whose cpu request exceeds what allocatable leaves (OutOfcpu), in millicores", () => {
    const result = admitPod(requesting("a", { cpu: "1500m" }), testNode(), [requesting("b", { cpu: "3" })]);
    expect(result).toEqual({ admit: false, reason: "OutOfcpu", message: "Node didn't have enough resource: cpu, requested: 1500, used: 3000, capacity: 4000" });
  });

  it("rejects one pod more than allocatable pods (OutOfpods), reported before other failures", () => {
    const node = testNode({ pods: "2" });
    const result = admitPod(withPort("c", 80), node, [withPort("a", 80), testPod({}, "b")]);
    expect(result).toEqual({ admit: false, reason: "OutOfpods", message: "Node didn't have enough resource: pods, requested: 1, used: 2, capacity: 2" });
  });

  it("ignores extended resources the node does not advertise, but not missing native ones", () => {
    expect(admitPod(requesting("a", { "example.com/widget": "1" }), testNode(), [])).toEqual({ admit: true });
    expect(admitPod(requesting("a", { "hugepages-2Mi": "2Mi" }), testNode(), [])).toMatchObject({ reason: "OutOfhugepages-2Mi" });
  });

  it("rejects a node selector or required node affinity the node does not match (NodeAffinity)", () => {
    expect(admitPod(testPod({ nodeSelector: { disk: "ssd" } }), testNode(), [])).toEqual({ admit: false, reason: "NodeAffinity", message: "Predicate NodeAffinity failed" });
    expect(admitPod(testPod({ nodeSelector: { disk: "ssd" } }), testNode({}, { disk: "ssd" }), [])).toEqual({ admit: true });
    const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "In" as const, values: ["a"] }] }] } } };
    expect(admitPod(testPod({ affinity }), testNode({}, { zone: "b" }), [])).toMatchObject({ reason: "NodeAffinity" });
  });

  it("rejects a pod bound to another node (NodeName) and an untolerated NoExecute taint (TaintToleration)", () => {
    expect(admitPod(testPod({ nodeName: "node-2" }), testNode(), [])).toMatchObject({ reason: "NodeName", message: "Predicate NodeName failed" });
    const tainted = { ...testNode(), spec: { taints: [{ key: "k", value: "v", effect: "NoExecute" as const }] } };
    expect(admitPod(testPod(), tainted, [])).toMatchObject({ reason: "TaintToleration" });
    expect(admitPod(testPod({ tolerations: [{ key: "k", operator: "Exists" }] }), tainted, [])).toEqual({ admit: true });
  });

  it("rejects a pod for another OS, by its kubernetes.io/os label or spec.os", () => {
    const labelled = testPod();
    labelled.metadata.labels = { "kubernetes.io/os": "windows" };
    expect(admitPod(labelled, testNode(), [])).toEqual({
      admit: false,
      reason: "PodOSSelectorNodeLabelDoesNotMatch",
      message: "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label",
    });
    expect(admitPod(testPod({ os: { name: "windows" } }), testNode(), [])).toMatchObject({ reason: "PodOSNotSupported" });
    expect(admitPod(testPod({ os: { name: "linux" } }), testNode(), [])).toEqual({ admit: true });
  });
});
