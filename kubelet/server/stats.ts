// The node's resource usage as the kubelet reports it to the metrics pipeline, all built from one StatsSample
// (kubelet/stats/): Kubernetes' Summary API (/stats/summary, stats/v1alpha1: node, then per pod and container cpu
// and memory), the resource metrics endpoint (/metrics/resource, the Prometheus text metrics-server scrapes) and
// cAdvisor's container metrics (/metrics/cadvisor, what Prometheus scrapes for per-container dashboards).
import { formatTime } from "../../api/time.js";
import type { CgroupStats } from "../stats/cgroups.js";
import type { ContainerSample, StatsSample } from "../stats/provider.js";
import type { Pod } from "../../api/types/index.js";

export interface CpuStats {
  time: string;
  usageNanoCores?: number;
  usageCoreNanoSeconds?: number;
}

export interface MemoryStats {
  time: string;
  workingSetBytes?: number;
  availableBytes?: number;
  usageBytes?: number;
  rssBytes?: number;
  pageFaults?: number;
  majorPageFaults?: number;
}

export interface ContainerSummary {
  name: string;
  startTime: string;
  cpu?: CpuStats;
  memory?: MemoryStats;
}

export interface PodSummary {
  podRef: { name: string; namespace: string; uid: string };
  startTime: string;
  containers: ContainerSummary[];
  cpu?: CpuStats;
  memory?: MemoryStats;
}

export interface Summary {
  node: { nodeName: string; startTime: string; cpu?: CpuStats; memory?: MemoryStats };
  pods: PodSummary[];
}

/** The rate of a cumulative cpu counter between two samples, in nanocores. */
function nanoCores(previous: { usage: number; timeNs: number } | undefined, usage: number, timeNs: number): number | undefined {
  if (previous === undefined || timeNs <= previous.timeNs || usage < previous.usage) return undefined;
  return Math.round(((usage - previous.usage) / (timeNs - previous.timeNs)) * 1e9);
}

/**
 * Keeps the previous cpu sample per container, pod and the node, so usageNanoCores can be given from cumulative
 * counters, as cAdvisor's rate does.
 */
export class CpuRates {
  private readonly last = new Map<string, { usage: number; timeNs: number }>();

  rate(key: string, usage: number, timeNs: number): number | undefined {
    const rate = nanoCores(this.last.get(key), usage, timeNs);
    this.last.set(key, { usage, timeNs });
    return rate;
  }

  /** Forgets the keys not in `live` (containers and pods that are gone). */
  retain(live: ReadonlySet<string>): void {
    for (const key of this.last.keys()) if (key !== "node" && !live.has(key)) this.last.delete(key);
  }
}

export interface SummaryInput {
  nodeName: string;
  nodeStartTimeMs: number;
  /** The pods the kubelet runs; containers of other pods are left out. */
  pods: readonly Readonly<Pod>[];
  sample: StatsSample;
  rates: CpuRates;
}

function cpuOf(key: string, stats: CgroupStats, timeMs: number, rates: CpuRates): CpuStats | undefined {
  if (stats.cpuUsageNanoSeconds === undefined) return undefined;
  const out: CpuStats = { time: formatTime(timeMs), usageCoreNanoSeconds: stats.cpuUsageNanoSeconds };
  const rate = rates.rate(key, stats.cpuUsageNanoSeconds, timeMs * 1e6);
  if (rate !== undefined) out.usageNanoCores = rate;
  return out;
}

function memoryOf(stats: CgroupStats, timeMs: number): MemoryStats | undefined {
  if (stats.memoryWorkingSetBytes === undefined && stats.memoryUsageBytes === undefined) return undefined;
  const out: MemoryStats = { time: formatTime(timeMs) };
  if (stats.memoryWorkingSetBytes !== undefined) out.workingSetBytes = stats.memoryWorkingSetBytes;
  if (stats.memoryUsageBytes !== undefined) out.usageBytes = stats.memoryUsageBytes;
  if (stats.memoryRssBytes !== undefined) out.rssBytes = stats.memoryRssBytes;
  if (stats.memoryLimitBytes !== undefined && stats.memoryWorkingSetBytes !== undefined) out.availableBytes = Math.max(0, stats.memoryLimitBytes - stats.memoryWorkingSetBytes);
  if (stats.pageFaults !== undefined) out.pageFaults = stats.pageFaults;
  if (stats.majorPageFaults !== undefined) out.majorPageFaults = stats.majorPageFaults;
  return out;
}

function sum<T extends object>(items: readonly (T | undefined)[], key: keyof T): number | undefined {
  const present = items.filter((i): i is T => i !== undefined && typeof i[key] === "number");
  return present.length === 0 ? undefined : present.reduce((total, i) => total + (i[key] as number), 0);
}

/** The latest container of each name per pod uid (a restarted container's old instance may linger a moment). */
function latestByPod(containers: readonly ContainerSample[]): Map<string, Map<string, ContainerSample>> {
  const byPod = new Map<string, Map<string, ContainerSample>>();
  for (const c of containers) {
    const named = byPod.get(c.podUid) ?? new Map<string, ContainerSample>();
    const seen = named.get(c.name);
    if (seen === undefined || seen.createdAtNs < c.createdAtNs) named.set(c.name, c);
    byPod.set(c.podUid, named);
  }
  return byPod;
}

/**
 * The Summary: one entry per pod the kubelet runs (pods() order), with its latest running container of each name.
 * A pod's figures are its cgroup's when it has one (they include the sandbox), else the sums of its containers'.
 */
export function buildSummary(input: SummaryInput): Summary {
  const { sample, rates } = input;
  const byPod = latestByPod(sample.containers);
  const podCgroups = new Map(sample.pods.map((p) => [p.uid, p] as const));
  rates.retain(new Set([...sample.containers.map((c) => c.id), ...sample.pods.map((p) => `pod/${p.uid}`)]));
  const pods: PodSummary[] = [];
  for (const pod of input.pods) {
    const uid = pod.metadata.uid ?? "";
    const containers: ContainerSummary[] = [];
    for (const [name, c] of byPod.get(uid) ?? []) {
      const entry: ContainerSummary = { name, startTime: formatTime(c.createdAtNs > 0n ? Number(c.createdAtNs / 1_000_000n) : c.timeMs) };
      const cpu = cpuOf(c.id, c.stats, c.timeMs, rates);
      const memory = memoryOf(c.stats, c.timeMs);
      if (cpu) entry.cpu = cpu;
      if (memory) entry.memory = memory;
      containers.push(entry);
    }
    containers.sort((a, b) => a.name.localeCompare(b.name));
    const summary: PodSummary = {
      podRef: { name: pod.metadata.name ?? "", namespace: pod.metadata.namespace ?? "", uid },
      startTime: pod.status?.startTime ?? formatTime(Date.parse(pod.metadata.creationTimestamp ?? "") || sample.timeMs),
      containers,
    };
    const own = podCgroups.get(uid);
    if (own !== undefined) {
      const cpu = cpuOf(`pod/${uid}`, own.stats, own.timeMs, rates);
      const memory = memoryOf(own.stats, own.timeMs);
      if (cpu) summary.cpu = cpu;
      if (memory) summary.memory = memory;
    } else if (containers.length > 0) {
      const time = formatTime(sample.timeMs);
      const cpus = containers.map((c) => c.cpu);
      const memories = containers.map((c) => c.memory);
      const podCpu: CpuStats = { time };
      const cores = sum(cpus, "usageNanoCores");
      const seconds = sum(cpus, "usageCoreNanoSeconds");
      if (cores !== undefined) podCpu.usageNanoCores = cores;
      if (seconds !== undefined) podCpu.usageCoreNanoSeconds = seconds;
      const podMemory: MemoryStats = { time };
      const workingSet = sum(memories, "workingSetBytes");
      const usage = sum(memories, "usageBytes");
      const rss = sum(memories, "rssBytes");
      if (workingSet !== undefined) podMemory.workingSetBytes = workingSet;
      if (usage !== undefined) podMemory.usageBytes = usage;
      if (rss !== undefined) podMemory.rssBytes = rss;
      summary.cpu = podCpu;
      summary.memory = podMemory;
    }
    pods.push(summary);
  }
  const node: Summary["node"] = { nodeName: input.nodeName, startTime: formatTime(input.nodeStartTimeMs) };
  if (sample.node) {
    const n = sample.node;
    const time = formatTime(n.timeMs);
    node.cpu = { time, usageCoreNanoSeconds: n.usageCoreNanoSeconds };
    const rate = rates.rate("node", n.usageCoreNanoSeconds, n.timeMs * 1e6);
    if (rate !== undefined) node.cpu.usageNanoCores = rate;
    node.memory = { time, workingSetBytes: n.workingSetBytes };
    if (n.availableBytes !== undefined) node.memory.availableBytes = n.availableBytes;
    if (n.usageBytes !== undefined) node.memory.usageBytes = n.usageBytes;
    if (n.rssBytes !== undefined) node.memory.rssBytes = n.rssBytes;
  }
  return { node, pods };
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function labels(pairs: Record<string, string>): string {
  const entries = Object.entries(pairs);
  return entries.length === 0 ? "" : `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",")}}`;
}

interface Series {
  name: string;
  help: string;
  type: "counter" | "gauge";
  samples: { labels: Record<string, string>; value: number; timeMs?: number }[];
}

/**
 * The resource metrics (Kubernetes' /metrics/resource, all STABLE): node, pod and container cpu seconds and
 * working set, container start times and resource_scrape_error, each sample stamped with its measurement time.
 */
export function resourceMetricsText(summary: Summary, scrapeError: boolean): string {
  const series: Series[] = [
    { name: "container_cpu_usage_seconds_total", help: "[STABLE] Cumulative cpu time consumed by the container in core-seconds", type: "counter", samples: [] },
    { name: "container_memory_working_set_bytes", help: "[STABLE] Current working set of the container in bytes", type: "gauge", samples: [] },
    { name: "container_start_time_seconds", help: "[STABLE] Start time of the container since unix epoch in seconds", type: "gauge", samples: [] },
    { name: "node_cpu_usage_seconds_total", help: "[STABLE] Cumulative cpu time consumed by the node in core-seconds", type: "counter", samples: [] },
    { name: "node_memory_working_set_bytes", help: "[STABLE] Current working set of the node in bytes", type: "gauge", samples: [] },
    { name: "pod_cpu_usage_seconds_total", help: "[STABLE] Cumulative cpu time consumed by the pod in core-seconds", type: "counter", samples: [] },
    { name: "pod_memory_working_set_bytes", help: "[STABLE] Current working set of the pod in bytes", type: "gauge", samples: [] },
    { name: "resource_scrape_error", help: "[STABLE] 1 if there was an error while getting container metrics, 0 otherwise", type: "gauge", samples: [{ labels: {}, value: scrapeError ? 1 : 0 }] },
  ];
  const add = (name: string, sampleLabels: Record<string, string>, value: number | undefined, time: string | undefined): void => {
    if (value === undefined) return;
    const s = series.find((x) => x.name === name);
    const timeMs = time === undefined ? undefined : Date.parse(time);
    s?.samples.push(timeMs === undefined || Number.isNaN(timeMs) ? { labels: sampleLabels, value } : { labels: sampleLabels, value, timeMs });
  };
  const seconds = (ns: number | undefined): number | undefined => (ns === undefined ? undefined : ns / 1e9);
  for (const pod of summary.pods) {
    const podLabels = { namespace: pod.podRef.namespace, pod: pod.podRef.name };
    for (const c of pod.containers) {
      const containerLabels = { container: c.name, ...podLabels };
      add("container_cpu_usage_seconds_total", containerLabels, seconds(c.cpu?.usageCoreNanoSeconds), c.cpu?.time);
      add("container_memory_working_set_bytes", containerLabels, c.memory?.workingSetBytes, c.memory?.time);
      add("container_start_time_seconds", containerLabels, Date.parse(c.startTime) / 1000, c.startTime);
    }
    add("pod_cpu_usage_seconds_total", podLabels, seconds(pod.cpu?.usageCoreNanoSeconds), pod.cpu?.time);
    add("pod_memory_working_set_bytes", podLabels, pod.memory?.workingSetBytes, pod.memory?.time);
  }
  add("node_cpu_usage_seconds_total", {}, seconds(summary.node.cpu?.usageCoreNanoSeconds), summary.node.cpu?.time);
  add("node_memory_working_set_bytes", {}, summary.node.memory?.workingSetBytes, summary.node.memory?.time);
  const lines: string[] = [];
  for (const s of series) {
    lines.push(`# HELP ${s.name} ${s.help}`, `# TYPE ${s.name} ${s.type}`);
    for (const sample of s.samples) lines.push(`${s.name}${labels(sample.labels)} ${sample.value}${sample.timeMs === undefined ? "" : ` ${sample.timeMs}`}`);
  }
  return `${lines.join("\n")}\n`;
}


/** One cAdvisor row: a cgroup (the root, a pod's, a container's) with its identity labels and figures. */
interface CadvisorRow {
  labels: { container: string; id: string; image: string; name: string; namespace: string; pod: string };
  timeMs: number;
  stats: CgroupStats;
  startTimeSeconds?: number;
}

const CADVISOR_SERIES: readonly { name: string; help: string; type: "counter" | "gauge"; value: (row: CadvisorRow) => number | undefined; extra?: Record<string, string>; untimed?: boolean }[] = [
  { name: "container_cpu_usage_seconds_total", help: "Cumulative cpu time consumed in seconds.", type: "counter", extra: { cpu: "total" }, value: (r) => (r.stats.cpuUsageNanoSeconds === undefined ? undefined : r.stats.cpuUsageNanoSeconds / 1e9) },
  { name: "container_memory_cache", help: "Number of bytes of page cache memory.", type: "gauge", value: (r) => r.stats.memoryCacheBytes },
  { name: "container_memory_rss", help: "Size of RSS in bytes.", type: "gauge", value: (r) => r.stats.memoryRssBytes },
  { name: "container_memory_usage_bytes", help: "Current memory usage in bytes, including all memory regardless of when it was accessed", type: "gauge", value: (r) => r.stats.memoryUsageBytes },
  { name: "container_memory_working_set_bytes", help: "Current working set in bytes.", type: "gauge", value: (r) => r.stats.memoryWorkingSetBytes },
  { name: "container_spec_memory_limit_bytes", help: "Memory limit for the container.", type: "gauge", untimed: true, value: (r) => (r.stats.memoryUsageBytes === undefined ? undefined : (r.stats.memoryLimitBytes ?? 0)) },
  { name: "container_start_time_seconds", help: "Start time of the container since unix epoch in seconds.", type: "gauge", untimed: true, value: (r) => r.startTimeSeconds },
];

/**
 * cAdvisor's container metrics as the kubelet serves them on /metrics/cadvisor: one row for the machine (id "/"),
 * one per pod cgroup (container "") and one per container, labelled container, id (the cgroup path), image, name
 * (the runtime's container id), namespace, pod; samples stamped with their measurement time, spec metrics not.
 * A container without a cgroup of its own shows the id "/<container id>".
 */
export function cadvisorMetricsText(sample: StatsSample): string {
  const rows: CadvisorRow[] = [];
  if (sample.node) {
    const n = sample.node;
    const stats: CgroupStats = { cpuUsageNanoSeconds: n.usageCoreNanoSeconds, memoryWorkingSetBytes: n.workingSetBytes };
    if (n.usageBytes !== undefined) stats.memoryUsageBytes = n.usageBytes;
    if (n.rssBytes !== undefined) stats.memoryRssBytes = n.rssBytes;
    rows.push({ labels: { container: "", id: "/", image: "", name: "", namespace: "", pod: "" }, timeMs: n.timeMs, stats });
  }
  for (const p of sample.pods) rows.push({ labels: { container: "", id: p.cgroup ?? `/pod${p.uid}`, image: "", name: "", namespace: p.namespace, pod: p.name }, timeMs: p.timeMs, stats: p.stats });
  for (const c of sample.containers) {
    rows.push({ labels: { container: c.name, id: c.cgroup ?? `/${c.id}`, image: c.image, name: c.id, namespace: c.podNamespace, pod: c.podName }, timeMs: c.timeMs, stats: c.stats, startTimeSeconds: Number(c.createdAtNs / 1_000_000n) / 1000 });
  }
  const lines: string[] = [];
  for (const series of CADVISOR_SERIES) {
    lines.push(`# HELP ${series.name} ${series.help}`, `# TYPE ${series.name} ${series.type}`);
    for (const row of rows) {
      const value = series.value(row);
      if (value === undefined) continue;
      const rowLabels: Record<string, string> = { container: row.labels.container, ...(series.extra ?? {}), id: row.labels.id, image: row.labels.image, name: row.labels.name, namespace: row.labels.namespace, pod: row.labels.pod };
      lines.push(`${series.name}${labels(rowLabels)} ${value}${series.untimed === true ? "" : ` ${row.timeMs}`}`);
    }
  }
  return `${lines.join("\n")}\n`;
}
