// The kubelet's reading of cgroups, as cAdvisor does it for the kubelet: which hierarchy the host has (v1, one tree
// per controller, or v2, one unified tree), where a process's cgroup is (/proc/<pid>/cgroup), and a cgroup's cpu
// and memory figures. The working set is usage minus inactive file pages (cAdvisor's definition, the figure the
// OOM killer and eviction go by), never below 0. Every read takes the mount root, so tests run on fixture trees.
import { readFile, lstat } from "node:fs/promises";
import { join } from "node:path";

export const CGROUP_ROOT = "/sys/fs/cgroup";

export type CgroupVersion = 1 | 2;

/** A cgroup's figures; a field is absent when its file is (a controller not mounted, a cgroup gone). */
export interface CgroupStats {
  cpuUsageNanoSeconds?: number;
  memoryUsageBytes?: number;
  memoryWorkingSetBytes?: number;
  memoryRssBytes?: number;
  memoryCacheBytes?: number;
  /** The limit in force; absent when there is none (v1 reports a huge number, v2 "max"). */
  memoryLimitBytes?: number;
  pageFaults?: number;
  majorPageFaults?: number;
}

/** A cgroup path per v1 controller ("memory", "cpuacct", …), or the one unified path under "" (v2). */
export type CgroupPaths = ReadonlyMap<string, string>;

/** v2 when the root holds cgroup.controllers (a unified mount), else v1 when a memory hierarchy is mounted. */
export async function detectCgroupVersion(root = CGROUP_ROOT): Promise<CgroupVersion | undefined> {
  if (await exists(join(root, "cgroup.controllers"))) return 2;
  if (await exists(join(root, "memory"))) return 1;
  return undefined;
}

/**
 * /proc/<pid>/cgroup's lines ("hierarchy-id:controllers:path") as controller → path. v1 lines name their
 * controllers ("4:memory:/x", "2:cpu,cpuacct:/x"); the v2 line has none ("0::/x") and is kept under "".
 */
export function parseProcCgroup(text: string): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of text.split("\n")) {
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    const path = line.slice(second + 1).trim();
    if (controllers === "") paths.set("", path);
    else for (const c of controllers.split(",")) paths.set(c, path);
  }
  return paths;
}

/** The cgroup of a process, or undefined once it has exited. */
export async function processCgroups(pid: number, proc = "/proc"): Promise<Map<string, string> | undefined> {
  const text = await readText(join(proc, String(pid), "cgroup"));
  return text === undefined ? undefined : parseProcCgroup(text);
}

/** The same paths one level up: a container's cgroup is inside its pod's. */
export function parentCgroup(paths: CgroupPaths): Map<string, string> {
  return new Map([...paths].map(([controller, path]) => [controller, path.replace(/\/[^/]+\/?$/, "") || "/"]));
}

/** The path a metric's `id` label shows: the memory controller's (v1) or the unified one (v2). */
export function cgroupId(version: CgroupVersion, paths: CgroupPaths): string | undefined {
  return version === 2 ? paths.get("") : (paths.get("memory") ?? paths.get("cpuacct"));
}

/** Values at or above this are v1's "no limit" (PAGE_COUNTER_MAX pages, rounded); cAdvisor reports them as none. */
const V1_NO_LIMIT = 2 ** 62;

export async function readCgroupStats(version: CgroupVersion, paths: CgroupPaths, root = CGROUP_ROOT): Promise<CgroupStats> {
  return version === 2 ? readV2(paths.get("") ?? "/", root) : readV1(paths, root);
}

async function readV2(path: string, root: string): Promise<CgroupStats> {
  const dir = join(root, path);
  const [cpuStat, current, memStat, max] = await Promise.all([readText(join(dir, "cpu.stat")), readText(join(dir, "memory.current")), readText(join(dir, "memory.stat")), readText(join(dir, "memory.max"))]);
  const stats: CgroupStats = {};
  const usageUsec = cpuStat === undefined ? undefined : parseKeyValues(cpuStat).get("usage_usec");
  if (usageUsec !== undefined) stats.cpuUsageNanoSeconds = usageUsec * 1000;
  const memory = memStat === undefined ? new Map<string, number>() : parseKeyValues(memStat);
  // The root of a v2 tree has no memory.current: its usage is what the whole tree charges.
  const usage = current !== undefined ? Number(current.trim()) : memStat !== undefined && path === "/" ? (memory.get("anon") ?? 0) + (memory.get("file") ?? 0) + (memory.get("kernel") ?? 0) : undefined;
  if (usage !== undefined) memoryFigures(stats, usage, memory, { inactiveFile: "inactive_file", rss: "anon", cache: "file", faults: "pgfault", majorFaults: "pgmajfault" });
  const limit = max?.trim();
  if (limit !== undefined && limit !== "max" && limit !== "") stats.memoryLimitBytes = Number(limit);
  return stats;
}

async function readV1(paths: CgroupPaths, root: string): Promise<CgroupStats> {
  const cpuPath = paths.get("cpuacct") ?? paths.get("cpu");
  const memoryPath = paths.get("memory");
  const cpuDir = cpuPath === undefined ? undefined : join(root, "cpuacct", cpuPath);
  const memoryDir = memoryPath === undefined ? undefined : join(root, "memory", memoryPath);
  const [cpuUsage, usage, memStat, limit] = await Promise.all([
    cpuDir === undefined ? undefined : readText(join(cpuDir, "cpuacct.usage")),
    memoryDir === undefined ? undefined : readText(join(memoryDir, "memory.usage_in_bytes")),
    memoryDir === undefined ? undefined : readText(join(memoryDir, "memory.stat")),
    memoryDir === undefined ? undefined : readText(join(memoryDir, "memory.limit_in_bytes")),
  ]);
  const stats: CgroupStats = {};
  if (cpuUsage !== undefined) stats.cpuUsageNanoSeconds = Number(cpuUsage.trim());
  if (usage !== undefined) memoryFigures(stats, Number(usage.trim()), memStat === undefined ? new Map() : parseKeyValues(memStat), { inactiveFile: "total_inactive_file", rss: "total_rss", cache: "total_cache", faults: "total_pgfault", majorFaults: "total_pgmajfault" });
  const limitBytes = limit === undefined ? undefined : Number(limit.trim());
  if (limitBytes !== undefined && Number.isFinite(limitBytes) && limitBytes < V1_NO_LIMIT) stats.memoryLimitBytes = limitBytes;
  return stats;
}

function memoryFigures(stats: CgroupStats, usage: number, memStat: ReadonlyMap<string, number>, keys: { inactiveFile: string; rss: string; cache: string; faults: string; majorFaults: string }): void {
  stats.memoryUsageBytes = usage;
  stats.memoryWorkingSetBytes = Math.max(0, usage - (memStat.get(keys.inactiveFile) ?? 0));
  const rss = memStat.get(keys.rss);
  const cache = memStat.get(keys.cache);
  const faults = memStat.get(keys.faults);
  const major = memStat.get(keys.majorFaults);
  if (rss !== undefined) stats.memoryRssBytes = rss;
  if (cache !== undefined) stats.memoryCacheBytes = cache;
  if (faults !== undefined) stats.pageFaults = faults;
  if (major !== undefined) stats.majorPageFaults = major;
}

export function parseKeyValues(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const [key, value] = line.trim().split(/\s+/);
    if (key !== undefined && value !== undefined && key !== "") out.set(key, Number(value));
  }
  return out;
}

async function readText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}
