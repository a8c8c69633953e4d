import { describe, expect, it } from "vitest";
import { newNode, newPod } from "../../api/testing/builders.js";
import type { Container, Pod, ResourceList } from "../../api/types/index.js";
import { nodeInfoOf, runFilter, runScore, testHandle } from "../framework/testing.js";
import { create, ERR_REASON_TOO_MANY_PODS, NodeResourcesFit } from "./node-resources-fit.js";

const node = (allocatable: ResourceList) => newNode("n1", { capacity: allocatable });
const requesting = (name: string, requests: ResourceList): Pod => newPod(name, { requests });

describe("NodeResourcesFit filter", () => {
  const plugin = new NodeResourcesFit();

  it.each<[string, ResourceList, ResourceList[], ResourceList, string[]]>([
    ["a pod that fits", { cpu: "2", memory: "4Gi", pods: "110" }, [{ cpu: "1" }], { cpu: "500m", memory: "1Gi" }, []],
    ["a pod that exactly fills the node", { cpu: "2", memory: "4Gi", pods: "110" }, [{ cpu: "1500m" }], { cpu: "500m" }, []],
    ["too much cpu", { cpu: "2", memory: "4Gi", pods: "110" }, [{ cpu: "1500m" }], { cpu: "600m" }, ["Insufficient cpu"]],
    ["too much memory", { cpu: "2", memory: "4Gi", pods: "110" }, [{ memory: "3Gi" }], { memory: "2Gi" }, ["Insufficient memory"]],
    ["too much of both", { cpu: "2", memory: "4Gi", pods: "110" }, [], { cpu: "100", memory: "5Gi" }, ["Insufficient cpu", "Insufficient memory"]],
    ["a full node", { cpu: "2", memory: "4Gi", pods: "1" }, [{}], {}, [ERR_REASON_TOO_MANY_PODS]],
    ["a full node and too much cpu", { cpu: "2", memory: "4Gi", pods: "1" }, [{}], { cpu: "3" }, ["Too many pods", "Insufficient cpu"]],
    ["an extended resource the node lacks", { cpu: "2", memory: "4Gi", pods: "110" }, [], { "nvidia.com/gpu": "1" }, ["Insufficient nvidia.com/gpu"]],
    ["an extended resource the node has", { cpu: "2", memory: "4Gi", pods: "110", "nvidia.com/gpu": "2" }, [{ "nvidia.com/gpu": "1" }], { "nvidia.com/gpu": "1" }, []],
    ["too much ephemeral storage", { cpu: "2", memory: "4Gi", pods: "110", "ephemeral-storage": "10Gi" }, [], { "ephemeral-storage": "20Gi" }, ["Insufficient ephemeral-storage"]],
    ["a best-effort pod on a node with no cpu left", { cpu: "1", memory: "4Gi", pods: "110" }, [{ cpu: "1" }], {}, []],
  ])("handles %s", (_what, allocatable, existing, requests, reasons) => {
    const info = nodeInfoOf(node(allocatable), ...existing.map((r, i) => requesting(`e${i}`, r)));
    const status = runFilter(plugin, requesting("p", requests), info);
    if (reasons.length === 0) expect(status.code).toBe("Success");
    else {
      expect(status.code).toBe("Unschedulable");
      expect(status.reasons).toEqual(reasons);
    }
  });

  it("counts the largest init container when it needs more than the containers together", () => {
    const containers: Container[] = [{ name: "app", image: "x", resources: { requests: { cpu: "500m" } } }];
    const pod = newPod("p", { containers });
    pod.spec!.initContainers = [{ name: "init", image: "x", resources: { requests: { cpu: "3" } } }];
    const status = runFilter(plugin, pod, nodeInfoOf(node({ cpu: "2", memory: "1Gi", pods: "10" })));
    expect(status.reasons).toEqual(["Insufficient cpu"]);
  });

  it("adds sidecar init containers to the regular containers", () => {
    const containers: Container[] = [{ name: "app", image: "x", resources: { requests: { cpu: "1" } } }];
    const pod = newPod("p", { containers });
    pod.spec!.initContainers = [{ name: "proxy", image: "x", restartPolicy: "Always", resources: { requests: { cpu: "1500m" } } }];
    expect(runFilter(plugin, pod, nodeInfoOf(node({ cpu: "2", memory: "1Gi", pods: "10" }))).reasons).toEqual(["Insufficient cpu"]);
    expect(runFilter(plugin, pod, nodeInfoOf(node({ cpu: "3", memory: "1Gi", pods: "10" }))).code).toBe("Success");
  });

  it("takes a limit as the request when no request is given", () => {
    const pod = newPod("p", { limits: { cpu: "3" } });
    expect(runFilter(plugin, pod, nodeInfoOf(node({ cpu: "2", memory: "1Gi", pods: "10" }))).reasons).toEqual(["Insufficient cpu"]);
  });
});

describe("NodeResourcesFit score", () => {
  const allocatable = { cpu: "4", memory: "8Gi", pods: "110" };

  it("prefers the emptier node with LeastAllocated (the default)", () => {
    const plugin = create(undefined, testHandle);
    const empty = nodeInfoOf(newNode("empty", { capacity: allocatable }));
    const busy = nodeInfoOf(newNode("busy", { capacity: allocatable }), requesting("e", { cpu: "2", memory: "4Gi" }));
    expect(runScore(plugin, requesting("p", { cpu: "1", memory: "2Gi" }), [empty, busy])).toEqual([75, 25]);
  });

  it("scores a best-effort pod with Kubernetes' default requests (100m, 200Mi)", () => {
    const plugin = new NodeResourcesFit();
    const small = nodeInfoOf(newNode("small", { capacity: { cpu: "1", memory: "1000Mi", pods: "10" } }));
    expect(runScore(plugin, newPod("p"), [small])).toEqual([85]);
  });

  it("prefers the fuller node with MostAllocated", () => {
    const plugin = create({ scoringStrategy: { type: "MostAllocated" } }, testHandle);
    const empty = nodeInfoOf(newNode("empty", { capacity: allocatable }));
    const busy = nodeInfoOf(newNode("busy", { capacity: allocatable }), requesting("e", { cpu: "2", memory: "4Gi" }));
    expect(runScore(plugin, requesting("p", { cpu: "1", memory: "2Gi" }), [empty, busy])).toEqual([25, 75]);
  });

  it("weighs resources as configured", () => {
    const plugin = create({ scoringStrategy: { resources: [{ name: "cpu", weight: 3 }, { name: "memory", weight: 1 }] } }, testHandle);
    const info = nodeInfoOf(newNode("n", { capacity: allocatable }));
    // cpu (4−2)/4 → 50 ×3, memory (8−0)/8·… with 0Gi requested → 100 ×1: (150 + 100) / 4.
    expect(runScore(plugin, requesting("p", { cpu: "2", memory: "0" }), [info])).toEqual([62]);
  });

  it("refuses an unknown scoring strategy", () => {
    expect(() => create({ scoringStrategy: { type: "RequestedToCapacityRatio" } }, testHandle)).toThrow(/not supported/);
  });
});
