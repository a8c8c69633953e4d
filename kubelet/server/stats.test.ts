import { describe, expect, it } from "vitest";
import type { Pod } from "../../api/types/index.js";
import type { ContainerSample, StatsSample } from "../stats/provider.js";
import { buildSummary, cadvisorMetricsText, CpuRates, resourceMetricsText } from "./stats.js";

const NOW = Date.parse("2026-01-01T00:00:10Z");
const NS = (ms: number): bigint => BigInt(ms) * 1_000_000n;

function pod(name: string, uid: string): Pod {
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default", uid }, spec: { containers: [{ name: "app", image: "x" }] }, status: { startTime: "2026-01-01T00:00:00Z" } };
}

function container(id: string, uid: string, name: string, createdMs: number, cpuNs: number | undefined, memory: number, timeMs = NOW): ContainerSample {
  const sample: ContainerSample = { id, name, podUid: uid, podName: uid === "u1" ? "web" : "other", podNamespace: "default", image: "busybox:latest", createdAtNs: NS(createdMs), timeMs, stats: { memoryWorkingSetBytes: memory, memoryUsageBytes: memory + 100 } };
  if (cpuNs !== undefined) sample.stats.cpuUsageNanoSeconds = cpuNs;
  return sample;
}

function sampleOf(containers: ContainerSample[], extra: Partial<StatsSample> = {}): StatsSample {
  return { timeMs: NOW, node: { timeMs: NOW, usageCoreNanoSeconds: 50e9, workingSetBytes: 1e9 }, containers, pods: [], failed: false, ...extra };
}

describe("the Summary API", () => {
  const pods = [pod("web", "u1"), pod("idle", "u2")];
  const containers = [container("c1", "u1", "app", NOW - 5000, 2_000_000_000, 4 << 20), container("c2", "u1", "side", NOW - 4000, 500_000_000, 1 << 20), container("old", "u1", "app", NOW - 9000, 9, 9), container("stray", "u9", "app", NOW, 1, 1)];

  it("reports the node, then each pod with its latest containers and their sums", () => {
    const summary = buildSummary({ nodeName: "n1", nodeStartTimeMs: NOW - 60_000, pods, sample: sampleOf(containers), rates: new CpuRates() });
    expect(summary.node).toEqual({ nodeName: "n1", startTime: "2025-12-31T23:59:10Z", cpu: { time: "2026-01-01T00:00:10Z", usageCoreNanoSeconds: 50e9 }, memory: { time: "2026-01-01T00:00:10Z", workingSetBytes: 1e9 } });
    expect(summary.pods).toHaveLength(2);
    const [web, idle] = summary.pods;
    expect(web).toMatchObject({ podRef: { name: "web", namespace: "default", uid: "u1" }, startTime: "2026-01-01T00:00:00Z", cpu: { usageCoreNanoSeconds: 2_500_000_000 }, memory: { workingSetBytes: 5 << 20 } });
    expect(web?.containers.map((c) => [c.name, c.startTime, c.cpu?.usageCoreNanoSeconds, c.memory?.workingSetBytes])).toEqual([
      ["app", "2026-01-01T00:00:05Z", 2_000_000_000, 4 << 20],
      ["side", "2026-01-01T00:00:06Z", 500_000_000, 1 << 20],
    ]);
    expect(idle).toEqual({ podRef: { name: "idle", namespace: "default", uid: "u2" }, startTime: "2026-01-01T00:00:00Z", containers: [] });
  });

  it("takes a pod's figures from its own cgroup when it has one", () => {
    const sample = sampleOf(containers, { pods: [{ uid: "u1", name: "web", namespace: "default", cgroup: "/kubelab/pod-u1", timeMs: NOW, stats: { cpuUsageNanoSeconds: 3e9, memoryWorkingSetBytes: 7 << 20 } }] });
    const web = buildSummary({ nodeName: "n1", nodeStartTimeMs: 0, pods, sample, rates: new CpuRates() }).pods[0];
    expect(web?.cpu?.usageCoreNanoSeconds).toBe(3e9);
    expect(web?.memory?.workingSetBytes).toBe(7 << 20);
  });

  it("derives usageNanoCores from two samples of the cumulative counter", () => {
    const rates = new CpuRates();
    const first = buildSummary({ nodeName: "n1", nodeStartTimeMs: 0, pods, sample: sampleOf([container("c2", "u1", "side", NOW - 4000, 1e9, 1)]), rates });
    expect(first.pods[0]?.containers[0]?.cpu?.usageNanoCores).toBeUndefined();
    const second = buildSummary({ nodeName: "n1", nodeStartTimeMs: 0, pods, sample: sampleOf([container("c2", "u1", "side", NOW - 4000, 1.5e9, 1, NOW + 1000)]), rates });
    expect(second.pods[0]?.containers[0]?.cpu?.usageNanoCores).toBe(500_000_000);
  });

  it("renders the resource metrics with Kubernetes' names, labels and timestamps", () => {
    const summary = buildSummary({ nodeName: "n1", nodeStartTimeMs: 0, pods, sample: sampleOf(containers), rates: new CpuRates() });
    const text = resourceMetricsText(summary, false);
    expect(text).toContain("# TYPE container_cpu_usage_seconds_total counter\n");
    expect(text).toContain(`container_cpu_usage_seconds_total{container="app",namespace="default",pod="web"} 2 ${NOW}\n`);
    expect(text).toContain(`container_memory_working_set_bytes{container="side",namespace="default",pod="web"} ${1 << 20} ${NOW}\n`);
    expect(text).toContain(`container_start_time_seconds{container="app",namespace="default",pod="web"} ${(NOW - 5000) / 1000} ${NOW - 5000}\n`);
    expect(text).toContain(`pod_cpu_usage_seconds_total{namespace="default",pod="web"} 2.5 ${NOW}\n`);
    expect(text).toContain(`pod_memory_working_set_bytes{namespace="default",pod="web"} ${5 << 20} ${NOW}\n`);
    expect(text).toContain(`node_cpu_usage_seconds_total 50 ${NOW}\n`);
    expect(text).toContain(`node_memory_working_set_bytes 1000000000 ${NOW}\n`);
    expect(text).toContain("resource_scrape_error 0\n");
    expect(text).not.toContain('pod="idle"');
  });
});

describe("the cAdvisor metrics", () => {
  it("gives the machine, each pod cgroup and each container with cAdvisor's labels", () => {
    const c = container("c1", "u1", "app", NOW - 5000, 2e9, 4 << 20);
    c.cgroup = "/kubelab/pod-u1/c1";
    c.stats.memoryRssBytes = 3 << 20;
    c.stats.memoryLimitBytes = 64 << 20;
    const sample = sampleOf([c], { pods: [{ uid: "u1", name: "web", namespace: "default", cgroup: "/kubelab/pod-u1", timeMs: NOW, stats: { cpuUsageNanoSeconds: 3e9, memoryWorkingSetBytes: 5 << 20, memoryUsageBytes: 6 << 20 } }] });
    const text = cadvisorMetricsText(sample);
    expect(text).toContain(`container_cpu_usage_seconds_total{container="app",cpu="total",id="/kubelab/pod-u1/c1",image="busybox:latest",name="c1",namespace="default",pod="web"} 2 ${NOW}\n`);
    expect(text).toContain(`container_cpu_usage_seconds_total{container="",cpu="total",id="/kubelab/pod-u1",image="",name="",namespace="default",pod="web"} 3 ${NOW}\n`);
    expect(text).toContain(`container_cpu_usage_seconds_total{container="",cpu="total",id="/",image="",name="",namespace="",pod=""} 50 ${NOW}\n`);
    expect(text).toContain(`container_memory_working_set_bytes{container="app",id="/kubelab/pod-u1/c1",image="busybox:latest",name="c1",namespace="default",pod="web"} ${4 << 20} ${NOW}\n`);
    expect(text).toContain(`container_memory_rss{container="app",id="/kubelab/pod-u1/c1",image="busybox:latest",name="c1",namespace="default",pod="web"} ${3 << 20} ${NOW}\n`);
    expect(text).toContain(`container_memory_usage_bytes{container="app",id="/kubelab/pod-u1/c1",image="busybox:latest",name="c1",namespace="default",pod="web"} ${(4 << 20) + 100} ${NOW}\n`);
    expect(text).toContain(`container_spec_memory_limit_bytes{container="app",id="/kubelab/pod-u1/c1",image="busybox:latest",name="c1",namespace="default",pod="web"} ${64 << 20}\n`);
    expect(text).toContain(`container_spec_memory_limit_bytes{container="",id="/kubelab/pod-u1",image="",name="",namespace="default",pod="web"} 0\n`);
    expect(text).toContain("# TYPE container_memory_working_set_bytes gauge\n");
  });
});
