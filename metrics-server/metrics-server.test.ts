import { describe, expect, it } from "vitest";
import type { Node, Pod } from "../api/types/index.js";
import { goDuration, MetricsApi, usageQuantities } from "./api.js";
import { decodeResourceMetrics } from "./decode.js";
import { kubeletUrl } from "./scraper.js";
import { MetricsStorage } from "./storage.js";

const T0 = Date.parse("2026-01-01T00:00:00Z");

/** A kubelet's /metrics/resource at time t (ms) with the given cumulative cpu seconds. */
function resourceText(t: number, nodeCpu: number, webCpu: number, webStartMs = T0 - 60_000): string {
  return [
    "# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds",
    "# TYPE container_cpu_usage_seconds_total counter",
    `container_cpu_usage_seconds_total{container="app",namespace="default",pod="web"} ${webCpu} ${t}`,
    `container_memory_working_set_bytes{container="app",namespace="default",pod="web"} 4194304 ${t}`,
    `container_start_time_seconds{container="app",namespace="default",pod="web"} ${webStartMs / 1000} ${webStartMs}`,
    `container_cpu_usage_seconds_total{container="side",namespace="default",pod="half"} 1 ${t}`,
    `node_cpu_usage_seconds_total ${nodeCpu} ${t}`,
    `node_memory_working_set_bytes 1073741824 ${t}`,
    "resource_scrape_error 0",
    "",
  ].join("\n");
}

describe("decoding a kubelet's resource metrics", () => {
  it("reads the node and the containers that have both cpu and memory", () => {
    const scrape = decodeResourceMetrics(resourceText(T0, 100, 2.5), T0 + 5);
    expect(scrape.node).toEqual({ startTimeMs: 0, timestampMs: T0, cumulativeCpuNanoSeconds: 100e9, memoryWorkingSetBytes: 1 << 30 });
    expect([...scrape.pods.keys()]).toEqual(["default/web"]);
    expect(scrape.pods.get("default/web")?.get("app")).toEqual({ startTimeMs: T0 - 60_000, timestampMs: T0, cumulativeCpuNanoSeconds: 2.5e9, memoryWorkingSetBytes: 4 << 20 });
  });
});

describe("metrics-server's storage", () => {
  it("rates cpu between two scrapes and keeps the latest memory", () => {
    const storage = new MetricsStorage();
    storage.store(new Map([["n1", decodeResourceMetrics(resourceText(T0, 100, 2), T0)]]), T0);
    expect(storage.node("n1")).toBeUndefined();
    storage.store(new Map([["n1", decodeResourceMetrics(resourceText(T0 + 10_000, 105, 3), T0 + 10_000)]]), T0 + 10_000);
    expect(storage.node("n1")).toEqual({ timestampMs: T0 + 10_000, windowMs: 10_000, usage: { cpu: 500_000_000, memory: 1 << 30 } });
    expect(storage.pod("default", "web")).toEqual({ timestampMs: T0 + 10_000, windowMs: 10_000, containers: [{ name: "app", usage: { cpu: 100_000_000, memory: 4 << 20 } }] });
  });

  it("rates a container that started since the previous scrape from its start", () => {
    const storage = new MetricsStorage();
    storage.store(new Map([["n1", decodeResourceMetrics(resourceText(T0, 100, 0, T0 - 60_000).replace(/container_[a-z_]+\{[^\n]*\n/g, ""), T0)]]), T0);
    storage.store(new Map([["n1", decodeResourceMetrics(resourceText(T0 + 10_000, 105, 1, T0 + 5_000), T0 + 10_000)]]), T0 + 10_000);
    expect(storage.pod("default", "web")?.containers[0]?.usage.cpu).toBe(200_000_000);
    expect(storage.pod("default", "web")?.windowMs).toBe(5_000);
  });

  it("starts over when a container restarts, and forgets pods that are gone", () => {
    const storage = new MetricsStorage();
    storage.store(new Map([["n1", decodeResourceMetrics(resourceText(T0, 100, 50), T0)]]), T0);
    storage.store(new Map([["n1", decodeResourceMetrics(resourceText(T0 + 10_000, 105, 60), T0 + 10_000)]]), T0 + 10_000);
    storage.store(new Map([["n1", decodeResourceMetrics(resourceText(T0 + 20_000, 110, 1, T0 + 1_000), T0 + 20_000)]]), T0 + 20_000);
    expect(storage.pod("default", "web")).toBeUndefined();
    storage.store(new Map([["n1", { pods: new Map() }]]), T0 + 30_000);
    expect(storage.pod("default", "web")).toBeUndefined();
    expect(storage.node("n1")).toBeUndefined();
  });
});

describe("the metrics.k8s.io API", () => {
  const node = (name: string, labels: Record<string, string> = {}): Node => ({ apiVersion: "v1", kind: "Node", metadata: { name, labels } });
  const pod: Pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "web", namespace: "default", labels: { app: "web" } } };
  const storage = new MetricsStorage();
  storage.store(new Map([["n1", decodeResourceMetrics(resourceText(T0, 100, 2), T0)]]), T0);
  storage.store(new Map([["n1", decodeResourceMetrics(resourceText(T0 + 15_000, 101.5, 2.15), T0 + 15_000)]]), T0 + 15_000);
  const api = new MetricsApi({ storage, nodes: () => [node("n1", { role: "a" }), node("n2")], pods: (ns) => (ns === undefined || ns === "default" ? [pod] : []), now: () => T0 + 20_000 });

  function get(path: string): { code: number; body: Record<string, unknown> } {
    let code = 0;
    let text = "";
    const res = { writeHead: (c: number) => { code = c; }, end: (t: string) => { text = t; } };
    api.serve({ method: "GET", url: path } as never, res as never);
    return { code, body: JSON.parse(text) as Record<string, unknown> };
  }

  it("serves discovery", () => {
    expect(get("/apis/metrics.k8s.io/v1beta1").body).toMatchObject({ kind: "APIResourceList", groupVersion: "metrics.k8s.io/v1beta1" });
    expect(get("/apis/metrics.k8s.io").body).toMatchObject({ kind: "APIGroup", preferredVersion: { version: "v1beta1" } });
  });

  it("lists and gets NodeMetrics with metrics-server's quantities, leaving out nodes without metrics", () => {
    const list = get("/apis/metrics.k8s.io/v1beta1/nodes").body;
    expect(list).toMatchObject({ kind: "NodeMetricsList", items: [{ kind: "NodeMetrics", metadata: { name: "n1", labels: { role: "a" } }, timestamp: "2026-01-01T00:00:15Z", window: "15s", usage: { cpu: "100000000n", memory: "1Gi" } }] });
    expect((get("/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=role%3Db").body.items as unknown[]).length).toBe(0);
    expect(get("/apis/metrics.k8s.io/v1beta1/nodes/n2")).toMatchObject({ code: 404, body: { kind: "Status", reason: "NotFound", message: 'nodemetrics.metrics.k8s.io "n2" not found' } });
  });

  it("lists PodMetrics per namespace and across them, with label selectors", () => {
    expect(get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web").body).toMatchObject({ kind: "PodMetrics", metadata: { name: "web", namespace: "default" }, containers: [{ name: "app", usage: { cpu: "10000000n", memory: "4Mi" } }] });
    expect((get("/apis/metrics.k8s.io/v1beta1/pods?labelSelector=app%3Dweb").body.items as unknown[]).length).toBe(1);
    expect((get("/apis/metrics.k8s.io/v1beta1/namespaces/other/pods").body.items as unknown[]).length).toBe(0);
    expect(get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/gone").body).toMatchObject({ reason: "NotFound", message: 'podmetrics.metrics.k8s.io "default/gone" not found' });
    expect(get("/apis/metrics.k8s.io/v1beta1/pods?watch=true").code).toBe(405);
  });

  it("formats quantities and windows as metrics-server does", () => {
    expect(usageQuantities({ cpu: 0, memory: 1500 })).toEqual({ cpu: "0", memory: "1500" });
    expect(usageQuantities({ cpu: 5, memory: 3 << 20 })).toEqual({ cpu: "5n", memory: "3Mi" });
    expect(goDuration(15_002)).toBe("15.002s");
    expect(goDuration(61_500)).toBe("1m1.5s");
  });
});

describe("finding a kubelet", () => {
  const node: Node = { apiVersion: "v1", kind: "Node", metadata: { name: "n1" }, status: { addresses: [{ type: "Hostname", address: "n1" }, { type: "InternalIP", address: "172.30.0.11" }], daemonEndpoints: { kubeletEndpoint: { Port: 10255 } } } };
  it("takes the first preferred address type and --kubelet-port, or the node's port with --kubelet-use-node-status-port", () => {
    expect(kubeletUrl(node, { preferredAddressTypes: ["InternalIP", "Hostname"], kubeletPort: 10250, useNodeStatusPort: false, scheme: "http" }).toString()).toBe("http://172.30.0.11:10250/metrics/resource");
    expect(kubeletUrl(node, { preferredAddressTypes: ["Hostname"], kubeletPort: 10250, useNodeStatusPort: true, scheme: "https" }).toString()).toBe("https://n1:10255/metrics/resource");
    expect(() => kubeletUrl(node, { preferredAddressTypes: ["ExternalIP"], kubeletPort: 1, useNodeStatusPort: false, scheme: "http" })).toThrow("no address of the types ExternalIP");
  });
});
