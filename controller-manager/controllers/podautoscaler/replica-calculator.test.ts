import { describe, expect, it } from "vitest";
import { newPod } from "../../../api/testing/builders.js";
import { formatTime } from "../../../api/time.js";
import { podMetricsInfo } from "./metrics-client.js";
import { groupPods, podRequests, usageRatio, utilizationRatio, type PodMetricsInfo } from "./replica-calculator.js";

const NOW = Date.UTC(2024, 0, 1, 12);
const MIN = 60_000;

function pod(name: string, started: number, ready: "True" | "False", transition: number, phase: "Running" | "Pending" = "Running") {
  return newPod(name, { phase, requests: { cpu: "200m" }, status: { startTime: formatTime(started), conditions: [{ type: "Ready", status: ready, lastTransitionTime: formatTime(transition) }] } });
}

describe("groupPods", () => {
  it("sorts pods into ready, unready (cpu only), missing and ignored as Kubernetes does", () => {
    const metric = (at: number) => ({ timestampMs: at, windowMs: 15_000, value: 100 });
    const pods = [
      pod("old-ready", NOW - 10 * MIN, "True", NOW - 9 * MIN),
      pod("young-fresh-sample", NOW - MIN, "True", NOW - 50_000),
      pod("young-stale-sample", NOW - MIN, "True", NOW - 10_000),
      pod("old-never-ready", NOW - 10 * MIN, "False", NOW - 10 * MIN + 5_000),
      pod("old-was-ready", NOW - 10 * MIN, "False", NOW - MIN),
      pod("pending", NOW, "False", NOW, "Pending"),
      pod("no-metric", NOW - 10 * MIN, "True", NOW - 9 * MIN),
    ];
    const metrics: PodMetricsInfo = new Map(pods.filter((p) => p.metadata.name !== "no-metric").map((p) => [p.metadata.name ?? "", metric(NOW - 1_000)]));
    const groups = groupPods(pods, metrics, "cpu", 5 * MIN, 30_000, NOW);
    expect(groups.readyCount).toBe(3);
    expect([...groups.unready].sort()).toEqual(["old-never-ready", "young-stale-sample"]);
    expect([...groups.missing]).toEqual(["no-metric"]);
    expect([...groups.ignored]).toEqual(["pending"]);
    // Memory is not subject to readiness.
    expect(groupPods(pods, metrics, "memory", 5 * MIN, 30_000, NOW).readyCount).toBe(5);
  });
});

describe("ratios", () => {
  it("computes utilization as an integer percentage of the summed requests", () => {
    const pods = [pod("a", NOW, "True", NOW), pod("b", NOW, "True", NOW)];
    const metrics: PodMetricsInfo = new Map([["a", { timestampMs: NOW, windowMs: 0, value: 150 }], ["b", { timestampMs: NOW, windowMs: 0, value: 51 }]]);
    expect(utilizationRatio(metrics, podRequests(pods, "cpu"), 50)).toEqual({ ratio: 50 / 50, utilization: 50, rawUtilization: 100 });
    expect(usageRatio(metrics, 50)).toEqual({ ratio: 2, usage: 100 });
    expect(() => podRequests([newPod("x")], "cpu")).toThrow("missing request for cpu in container app of Pod x");
  });
});

describe("podMetricsInfo", () => {
  it("sums containers in milli-units and leaves out pods lacking the resource in a container", () => {
    const info = podMetricsInfo(
      [
        { metadata: { name: "a" }, timestamp: "2024-01-01T12:00:00Z", window: "15s", containers: [{ name: "x", usage: { cpu: "250000000n", memory: "1Mi" } }, { name: "y", usage: { cpu: "5m", memory: "1Mi" } }] },
        { metadata: { name: "b" }, timestamp: "2024-01-01T12:00:00Z", window: "15s", containers: [{ name: "x", usage: { memory: "1Mi" } }] },
        { metadata: { name: "c" }, containers: [] },
      ],
      "cpu",
    );
    expect([...info.entries()]).toEqual([["a", { timestampMs: NOW, windowMs: 15_000, value: 255 }]]);
  });
});
