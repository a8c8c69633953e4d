// The node's resource usage as the kubelet reports it to the metrics pipeline: Kubernetes' Summary API
// (/stats/summary, stats/v1alpha1: node, then per pod and container cpu and memory) and the resource metrics
// endpoint (/metrics/resource, the Prometheus text metrics-server scrapes), both built from one sample: the
// runtime's ListContainerStats for the containers, the node's own figures for the node.
import { readFile } from "node:fs/promises";
import type { Pod } from "../../api/types/index.js";
import { formatTime } from "../../api/time.js";
import type * as cri from "../../client/cri/types.js";
import { CONTAINER_NAME_LABEL, POD_UID_LABEL } from "../runtime-labels.js";

/** Cumulative cpu time and current working set of the whole node, at `timeMs`. */
export interface NodeUsageSample {
  timeMs: number;
  usageCoreNanoSeconds: number;
  workingSetBytes: number;
  availableBytes?: number;
  usageBytes?: number;
}

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
 * Keeps the previous cpu sample per container (and for the node), so usageNanoCores can be given when the runtime
 * reports only the cumulative counter, as cAdvisor's rate does.
 */
export class CpuRates {
  private readonly last = new Map<string, { usage: number; timeNs: number }>();

  rate(key: string, usage: number, timeNs: number): number | undefined {
    const rate = nanoCores(this.last.get(key), usage, timeNs);
    this.last.set(key, { usage, timeNs });
    return rate;
  }

  /** Forgets the keys not in `live` (containers that are gone). */
  retain(live: ReadonlySet<string>): void {
    for (const key of this.last.keys()) if (key !== "node" && !live.has(key)) this.last.delete(key);
  }
}

function nsToTime(ns: bigint, fallbackMs: number): string {
  return formatTime(ns > 0n ? Number(ns / 1_000_000n) : fallbackMs);
}

export interface SummaryInput {
  nodeName: string;
  nodeStartTimeMs: number;
  nowMs: number;
  node?: NodeUsageSample | undefined;
  pods: readonly Readonly<Pod>[];
  stats: readonly cri.ContainerStats[];
  /** The runtime's containers, for their creation times (the containers' startTime). */
  containers: readonly cri.Container[];
  rates: CpuRates;
}

function containerCpu(stat: cri.ContainerStats, rates: CpuRates, nowMs: number): CpuStats | undefined {
  const cpu = stat.cpu;
  if (!cpu) return undefined;
  const out: CpuStats = { time: nsToTime(cpu.timestamp, nowMs) };
  if (cpu.usageCoreNanoSeconds !== undefined) out.usageCoreNanoSeconds = cpu.usageCoreNanoSeconds;
  const rate = cpu.usageNanoCores ?? (cpu.usageCoreNanoSeconds !== undefined ? rates.rate(stat.attributes.id, cpu.usageCoreNanoSeconds, Number(cpu.timestamp)) : undefined);
  if (rate !== undefined) out.usageNanoCores = rate;
  return out;
}

function containerMemory(stat: cri.ContainerStats, nowMs: number): MemoryStats | undefined {
  const memory = stat.memory;
  if (!memory) return undefined;
  const out: MemoryStats = { time: nsToTime(memory.timestamp, nowMs) };
  for (const key of ["workingSetBytes", "availableBytes", "usageBytes", "rssBytes", "pageFaults", "majorPageFaults"] as const) {
    const value = memory[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function sum<T extends object>(items: readonly (T | undefined)[], key: keyof T): number | undefined {
  const present = items.filter((i): i is T => i !== undefined && typeof i[key] === "number");
  return present.length === 0 ? undefined : present.reduce((total, i) => total + (i[key] as number), 0);
}

/**
 * The Summary: one entry per pod the kubelet runs (pods() order), with its latest container of each name; pod
 * figures are the sums of its containers'. Containers the runtime holds for pods the kubelet does not know are left
 * out, as are exited ones (their stats are no usage).
 */
export function buildSummary(input: SummaryInput): Summary {
  const { nowMs, rates } = input;
  const created = new Map(input.containers.map((c) => [c.id, c] as const));
  const byPod = new Map<string, Map<string, { stat: cri.ContainerStats; createdAt: bigint }>>();
  for (const stat of input.stats) {
    const uid = stat.attributes.labels[POD_UID_LABEL];
    const name = stat.attributes.labels[CONTAINER_NAME_LABEL] ?? stat.attributes.metadata.name;
    const container = created.get(stat.attributes.id);
    if (uid === undefined || (container !== undefined && container.state !== "CONTAINER_RUNNING")) continue;
    const createdAt = container?.createdAt ?? 0n;
    const containers = byPod.get(uid) ?? new Map<string, { stat: cri.ContainerStats; createdAt: bigint }>();
    const seen = containers.get(name);
    if (seen === undefined || seen.createdAt < createdAt) containers.set(name, { stat, createdAt });
    byPod.set(uid, containers);
  }
  rates.retain(new Set(input.stats.map((s) => s.attributes.id)));
  const pods: PodSummary[] = [];
  for (const pod of input.pods) {
    const uid = pod.metadata.uid ?? "";
    const containers: ContainerSummary[] = [];
    for (const [name, { stat, createdAt }] of byPod.get(uid) ?? []) {
      const entry: ContainerSummary = { name, startTime: nsToTime(createdAt, nowMs) };
      const cpu = containerCpu(stat, rates, nowMs);
      const memory = containerMemory(stat, nowMs);
      if (cpu) entry.cpu = cpu;
      if (memory) entry.memory = memory;
      containers.push(entry);
    }
    containers.sort((a, b) => a.name.localeCompare(b.name));
    const summary: PodSummary = {
      podRef: { name: pod.metadata.name ?? "", namespace: pod.metadata.namespace ?? "", uid },
      startTime: pod.status?.startTime ?? formatTime(Date.parse(pod.metadata.creationTimestamp ?? "") || nowMs),
      containers,
    };
    const time = formatTime(nowMs);
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
    if (containers.length > 0) {
      summary.cpu = podCpu;
      summary.memory = podMemory;
    }
    pods.push(summary);
  }
  const node: Summary["node"] = { nodeName: input.nodeName, startTime: formatTime(input.nodeStartTimeMs) };
  if (input.node) {
    const sample = input.node;
    const time = formatTime(sample.timeMs);
    node.cpu = { time, usageCoreNanoSeconds: sample.usageCoreNanoSeconds };
    const rate = rates.rate("node", sample.usageCoreNanoSeconds, sample.timeMs * 1e6);
    if (rate !== undefined) node.cpu.usageNanoCores = rate;
    node.memory = { time, workingSetBytes: sample.workingSetBytes };
    if (sample.availableBytes !== undefined) node.memory.availableBytes = sample.availableBytes;
    if (sample.usageBytes !== undefined) node.memory.usageBytes = sample.usageBytes;
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
      add("container_start_time_seconds", containerLabels, Date.parse(c.startTime) / 1000, undefined);
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

/** USER_HZ: /proc/stat counts cpu time in 1/100 s on Linux. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * The host's usage from /proc (what a real node reports; cAdvisor reads the root cgroup, which on a node is the
 * same machine-wide figure): busy cpu time from /proc/stat, working set as MemTotal - MemAvailable.
 */
export async function hostUsageSample(nowMs = Date.now()): Promise<NodeUsageSample> {
  const [stat, meminfo] = await Promise.all([readFile("/proc/stat", "utf8"), readFile("/proc/meminfo", "utf8")]);
  const cpu = (stat.split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy is everything but idle and iowait.
  const busyTicks = [0, 1, 2, 5, 6, 7].reduce((total, i) => total + (cpu[i] ?? 0), 0);
  const kib = (key: string): number | undefined => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(meminfo);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const total = kib("MemTotal") ?? 0;
  const available = kib("MemAvailable") ?? 0;
  return { timeMs: nowMs, usageCoreNanoSeconds: Math.round((busyTicks / CLOCK_TICKS_PER_SECOND) * 1e9), workingSetBytes: total - available, availableBytes: available, usageBytes: total - (kib("MemFree") ?? 0) };
}
