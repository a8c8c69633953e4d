// Where the kubelet's resource figures come from, behind one contract (Kubernetes' kubelet has the same two: the
// cAdvisor provider, reading cgroups, and the CRI provider, asking the runtime):
//   - CgroupStatsProvider: a real node. Each running container's cgroup is found once from its process
//     (ContainerStatus' info.pid → /proc/<pid>/cgroup) and read directly, v1 or v2; its pod's cgroup is the parent.
//     A container without a cgroup of its own (the host refused cgroups) falls back to the runtime's figures.
//   - CriStatsProvider: the runtime's ListContainerStats, pods as the sums of their containers; what a fake runtime
//     (tests, hollow nodes) gives.
// The node's own figures come from /proc (hostUsageSample) unless the caller gives others.
import { readFile } from "node:fs/promises";
import type * as cri from "../../client/cri/types.js";
import { CONTAINER_NAME_LABEL, POD_NAME_LABEL, POD_NAMESPACE_LABEL, POD_UID_LABEL } from "../runtime-labels.js";
import { cgroupId, CGROUP_ROOT, detectCgroupVersion, parentCgroup, processCgroups, readCgroupStats, type CgroupPaths, type CgroupStats, type CgroupVersion } from "./cgroups.js";

/** Cumulative cpu time and current memory of the whole node, at `timeMs`. */
export interface NodeUsageSample {
  timeMs: number;
  usageCoreNanoSeconds: number;
  workingSetBytes: number;
  availableBytes?: number;
  usageBytes?: number;
  rssBytes?: number;
  limitBytes?: number;
}

export interface ContainerSample {
  id: string;
  name: string;
  podUid: string;
  podName: string;
  podNamespace: string;
  image: string;
  createdAtNs: bigint;
  /** The cgroup path (cAdvisor's `id` label); absent when the figures came from the runtime. */
  cgroup?: string;
  timeMs: number;
  stats: CgroupStats;
}

export interface PodSample {
  uid: string;
  name: string;
  namespace: string;
  cgroup?: string;
  timeMs: number;
  stats: CgroupStats;
}

export interface StatsSample {
  timeMs: number;
  node?: NodeUsageSample | undefined;
  /** Running containers only: an exited container uses nothing. */
  containers: ContainerSample[];
  /** Pods with a cgroup of their own; the others' figures are their containers' sums. */
  pods: PodSample[];
  /** True when the containers could not be listed (resource_scrape_error). */
  failed: boolean;
}

export interface StatsProvider {
  sample(): Promise<StatsSample>;
}

/** The runtime calls the providers make. */
export type StatsRuntime = Pick<CriLike, "listContainers" | "containerStatus" | "listContainerStats">;
interface CriLike {
  listContainers(filter?: cri.ContainerFilter): Promise<cri.Container[]>;
  containerStatus(containerId: string, verbose?: boolean): Promise<cri.ContainerStatusResponse>;
  listContainerStats(filter?: cri.ContainerStatsFilter): Promise<cri.ContainerStats[]>;
}

function identity(c: Pick<cri.Container, "id" | "labels" | "metadata" | "image" | "createdAt">): Omit<ContainerSample, "timeMs" | "stats"> {
  return {
    id: c.id,
    name: c.labels[CONTAINER_NAME_LABEL] ?? c.metadata.name,
    podUid: c.labels[POD_UID_LABEL] ?? "",
    podName: c.labels[POD_NAME_LABEL] ?? "",
    podNamespace: c.labels[POD_NAMESPACE_LABEL] ?? "",
    image: c.image.image,
    createdAtNs: c.createdAt,
  };
}

function fromCriStats(stat: cri.ContainerStats | undefined, nowMs: number): { timeMs: number; stats: CgroupStats } {
  const stats: CgroupStats = {};
  const cpu = stat?.cpu;
  const memory = stat?.memory;
  if (cpu?.usageCoreNanoSeconds !== undefined) stats.cpuUsageNanoSeconds = cpu.usageCoreNanoSeconds;
  if (memory?.usageBytes !== undefined) stats.memoryUsageBytes = memory.usageBytes;
  if (memory?.workingSetBytes !== undefined) stats.memoryWorkingSetBytes = memory.workingSetBytes;
  if (memory?.rssBytes !== undefined) stats.memoryRssBytes = memory.rssBytes;
  if (memory?.pageFaults !== undefined) stats.pageFaults = memory.pageFaults;
  if (memory?.majorPageFaults !== undefined) stats.majorPageFaults = memory.majorPageFaults;
  const ts = cpu?.timestamp ?? memory?.timestamp ?? 0n;
  return { timeMs: ts > 0n ? Number(ts / 1_000_000n) : nowMs, stats };
}

export interface CriStatsProviderOptions {
  runtime: Pick<StatsRuntime, "listContainers" | "listContainerStats">;
  nodeUsage?: () => Promise<NodeUsageSample>;
  now?: () => number;
}

export class CriStatsProvider implements StatsProvider {
  constructor(private readonly options: CriStatsProviderOptions) {}

  async sample(): Promise<StatsSample> {
    const now = this.options.now ?? Date.now;
    const [listed, stats, node] = await Promise.all([
      this.options.runtime.listContainers({ state: "CONTAINER_RUNNING" }).catch(() => undefined),
      this.options.runtime.listContainerStats().catch(() => undefined),
      (this.options.nodeUsage ?? hostUsageSample)().catch(() => undefined),
    ]);
    const timeMs = now();
    const byId = new Map((stats ?? []).map((s) => [s.attributes.id, s] as const));
    const containers = (listed ?? []).filter((c) => c.state === "CONTAINER_RUNNING").map((c) => ({ ...identity(c), ...fromCriStats(byId.get(c.id), timeMs) }));
    return { timeMs, node, containers, pods: [], failed: listed === undefined || stats === undefined };
  }
}

export interface CgroupStatsProviderOptions {
  runtime: StatsRuntime;
  /** The cgroup mount (/sys/fs/cgroup) and /proc; fixture trees in tests. */
  cgroupRoot?: string;
  procRoot?: string;
  nodeUsage?: () => Promise<NodeUsageSample>;
  now?: () => number;
}

/** A container's cgroup, found once: undefined when it has none of its own. */
type Located = { version: CgroupVersion; paths: CgroupPaths } | undefined;

export class CgroupStatsProvider implements StatsProvider {
  private version: Promise<CgroupVersion | undefined> | undefined;
  private readonly located = new Map<string, Located>();

  constructor(private readonly options: CgroupStatsProviderOptions) {}

  async sample(): Promise<StatsSample> {
    const now = this.options.now ?? Date.now;
    const root = this.options.cgroupRoot ?? CGROUP_ROOT;
    const [listed, node, version] = await Promise.all([
      this.options.runtime.listContainers({ state: "CONTAINER_RUNNING" }).catch(() => undefined),
      (this.options.nodeUsage ?? (() => hostUsageSample(undefined, this.options.procRoot)))().catch(() => undefined),
      (this.version ??= detectCgroupVersion(root)),
    ]);
    const running = (listed ?? []).filter((c) => c.state === "CONTAINER_RUNNING");
    const live = new Set(running.map((c) => c.id));
    for (const id of this.located.keys()) if (!live.has(id)) this.located.delete(id);
    const located = await Promise.all(running.map((c) => this.locate(c.id, version)));
    const timeMs = now();
    const containers: ContainerSample[] = [];
    const podCgroups = new Map<string, { version: CgroupVersion; paths: CgroupPaths; container: ContainerSample }>();
    const withoutCgroup: cri.Container[] = [];
    await Promise.all(
      running.map(async (c, i) => {
        const where = located[i];
        if (where === undefined) {
          withoutCgroup.push(c);
          return;
        }
        const sample: ContainerSample = { ...identity(c), timeMs, stats: await readCgroupStats(where.version, where.paths, root) };
        const id = cgroupId(where.version, where.paths);
        if (id !== undefined) sample.cgroup = id;
        containers.push(sample);
        podCgroups.set(sample.podUid, { version: where.version, paths: parentCgroup(where.paths), container: sample });
      }),
    );
    if (withoutCgroup.length > 0) {
      const stats = await this.options.runtime.listContainerStats().catch(() => []);
      const byId = new Map(stats.map((s) => [s.attributes.id, s] as const));
      for (const c of withoutCgroup) containers.push({ ...identity(c), ...fromCriStats(byId.get(c.id), timeMs) });
    }
    const pods = await Promise.all(
      [...podCgroups].map(async ([uid, { version: v, paths, container }]): Promise<PodSample> => {
        const pod: PodSample = { uid, name: container.podName, namespace: container.podNamespace, timeMs, stats: await readCgroupStats(v, paths, root) };
        const id = cgroupId(v, paths);
        if (id !== undefined) pod.cgroup = id;
        return pod;
      }),
    );
    containers.sort((a, b) => a.id.localeCompare(b.id));
    pods.sort((a, b) => a.uid.localeCompare(b.uid));
    return { timeMs, node, containers, pods, failed: listed === undefined };
  }

  private async locate(id: string, version: CgroupVersion | undefined): Promise<Located> {
    if (this.located.has(id)) return this.located.get(id);
    let found: Located = undefined;
    if (version !== undefined) {
      const status = await this.options.runtime.containerStatus(id).catch(() => undefined);
      const pid = Number(status?.info.pid ?? 0);
      const paths = pid > 0 ? await processCgroups(pid, this.options.procRoot) : undefined;
      const path = paths === undefined ? undefined : cgroupId(version, paths);
      // Its own cgroup is named after it (runc's cgroupfs path <parent>/<id>, systemd's …-<id>.scope).
      if (paths !== undefined && path?.includes(id) === true) found = { version, paths };
      // A pid not yet known (the container is starting) is asked again at the next sample.
      if (status === undefined || pid === 0) return undefined;
    }
    this.located.set(id, found);
    return found;
  }
}

/** USER_HZ: /proc/stat counts cpu time in 1/100 s on Linux. */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * The host's usage from /proc (cAdvisor's root container is the same machine-wide figure): busy cpu time from
 * /proc/stat, working set as MemTotal - MemAvailable, usage as MemTotal - MemFree.
 */
export async function hostUsageSample(nowMs = Date.now(), proc = "/proc"): Promise<NodeUsageSample> {
  const [stat, meminfo] = await Promise.all([readFile(`${proc}/stat`, "utf8"), readFile(`${proc}/meminfo`, "utf8")]);
  const cpu = (stat.split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy is everything but idle and iowait.
  const busyTicks = [0, 1, 2, 5, 6, 7].reduce((total, i) => total + (cpu[i] ?? 0), 0);
  const kib = (key: string): number | undefined => {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(meminfo);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const total = kib("MemTotal") ?? 0;
  const available = kib("MemAvailable") ?? 0;
  const sample: NodeUsageSample = { timeMs: nowMs, usageCoreNanoSeconds: Math.round((busyTicks / CLOCK_TICKS_PER_SECOND) * 1e9), workingSetBytes: total - available, availableBytes: available, usageBytes: total - (kib("MemFree") ?? 0), limitBytes: total };
  const anon = kib("AnonPages");
  if (anon !== undefined) sample.rssBytes = anon;
  return sample;
}
