import { describe, expect, it } from "vitest";
import type { Pod } from "../../api/types/index.js";
import type * as cri from "../../client/cri/types.js";
import { imageSpec } from "../../client/cri/types.js";
import { CONTAINER_NAME_LABEL, POD_UID_LABEL } from "../runtime-labels.js";
import { buildSummary, CpuRates, resourceMetricsText } from "./stats.js";

const NOW = Date.parse("2026-01-01T00:00:10Z");
const NS = (ms: number): bigint => BigInt(ms) * 1_000_000n;

function pod(name: string, uid: string): Pod {
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default", uid }, spec: { containers: [{ name: "app", image: "x" }] }, status: { startTime: "2026-01-01T00:00:00Z" } };
}

function container(id: string, uid: string, name: string, state: cri.ContainerState, createdMs: number): cri.Container {
  return { id, podSandboxId: `sb-${uid}`, metadata: { name, attempt: 0 }, image: imageSpec("x"), imageRef: "x", imageId: "x", state, createdAt: NS(createdMs), labels: { [POD_UID_LABEL]: uid, [CONTAINER_NAME_LABEL]: name }, annotations: {} };
}

function stat(id: string, uid: string, name: string, cpuNs: number | undefined, memory: number, nanoCores?: number): cri.ContainerStats {
  const cpu: cri.CpuUsage = { timestamp: NS(NOW) };
  if (cpuNs !== undefined) cpu.usageCoreNanoSeconds = cpuNs;
  if (nanoCores !== undefined) cpu.usageNanoCores = nanoCores;
  return { attributes: { id, metadata: { name, attempt: 0 }, labels: { [POD_UID_LABEL]: uid, [CONTAINER_NAME_LABEL]: name }, annotations: {} }, cpu, memory: { timestamp: NS(NOW), workingSetBytes: memory } };
}

describe("the Summary API", () => {
  const pods = [pod("web", "u1"), pod("idle", "u2")];
  const containers = [container("c1", "u1", "app", "CONTAINER_RUNNING", NOW - 5000), container("c2", "u1", "side", "CONTAINER_RUNNING", NOW - 4000), container("old", "u1", "app", "CONTAINER_EXITED", NOW - 9000), container("stray", "u9", "app", "CONTAINER_RUNNING", NOW)];
  const stats = [stat("c1", "u1", "app", 2_000_000_000, 4 << 20, 1_000_000), stat("c2", "u1", "side", 500_000_000, 1 << 20), stat("old", "u1", "app", 9, 9), stat("stray", "u9", "app", 1, 1)];

  it("reports the node, then each pod with its running containers and their sums", () => {
    const summary = buildSummary({ nodeName: "n1", nodeStartTimeMs: NOW - 60_000, nowMs: NOW, node: { timeMs: NOW, usageCoreNanoSeconds: 50e9, workingSetBytes: 1e9 }, pods, stats, containers, rates: new CpuRates() });
    expect(summary.node).toEqual({ nodeName: "n1", startTime: "2025-12-31T23:59:10Z", cpu: { time: "2026-01-01T00:00:10Z", usageCoreNanoSeconds: 50e9 }, memory: { time: "2026-01-01T00:00:10Z", workingSetBytes: 1e9 } });
    expect(summary.pods).toHaveLength(2);
    const [web, idle] = summary.pods;
    expect(web).toMatchObject({ podRef: { name: "web", namespace: "default", uid: "u1" }, startTime: "2026-01-01T00:00:00Z", cpu: { usageCoreNanoSeconds: 2_500_000_000, usageNanoCores: 1_000_000 }, memory: { workingSetBytes: 5 << 20 } });
    expect(web?.containers.map((c) => [c.name, c.startTime, c.cpu?.usageCoreNanoSeconds, c.memory?.workingSetBytes])).toEqual([
      ["app", "2026-01-01T00:00:05Z", 2_000_000_000, 4 << 20],
      ["side", "2026-01-01T00:00:06Z", 500_000_000, 1 << 20],
    ]);
    expect(idle).toEqual({ podRef: { name: "idle", namespace: "default", uid: "u2" }, startTime: "2026-01-01T00:00:00Z", containers: [] });
  });

  it("derives usageNanoCores from two samples when the runtime gives only the counter", () => {
    const rates = new CpuRates();
    const first = buildSummary({ nodeName: "n1", nodeStartTimeMs: 0, nowMs: NOW, pods, stats: [stat("c2", "u1", "side", 1e9, 1)], containers, rates });
    expect(first.pods[0]?.containers[0]?.cpu?.usageNanoCores).toBeUndefined();
    const later = { ...stat("c2", "u1", "side", 1.5e9, 1) };
    later.cpu = { timestamp: NS(NOW + 1000), usageCoreNanoSeconds: 1.5e9 };
    const second = buildSummary({ nodeName: "n1", nodeStartTimeMs: 0, nowMs: NOW + 1000, pods, stats: [later], containers, rates });
    expect(second.pods[0]?.containers[0]?.cpu?.usageNanoCores).toBe(500_000_000);
  });

  it("renders the resource metrics with Kubernetes' names and labels", () => {
    const summary = buildSummary({ nodeName: "n1", nodeStartTimeMs: 0, nowMs: NOW, node: { timeMs: NOW, usageCoreNanoSeconds: 50e9, workingSetBytes: 1e9 }, pods, stats, containers, rates: new CpuRates() });
    const text = resourceMetricsText(summary, false);
    expect(text).toContain("# TYPE container_cpu_usage_seconds_total counter\n");
    expect(text).toContain(`container_cpu_usage_seconds_total{container="app",namespace="default",pod="web"} 2 ${NOW}\n`);
    expect(text).toContain(`container_memory_working_set_bytes{container="side",namespace="default",pod="web"} ${1 << 20} ${NOW}\n`);
    expect(text).toContain(`pod_cpu_usage_seconds_total{namespace="default",pod="web"} 2.5 ${NOW}\n`);
    expect(text).toContain(`pod_memory_working_set_bytes{namespace="default",pod="web"} ${5 << 20} ${NOW}\n`);
    expect(text).toContain(`node_cpu_usage_seconds_total 50 ${NOW}\n`);
    expect(text).toContain(`node_memory_working_set_bytes 1000000000 ${NOW}\n`);
    expect(text).toContain("resource_scrape_error 0\n");
    expect(text).not.toContain('pod="idle"');
  });
});
