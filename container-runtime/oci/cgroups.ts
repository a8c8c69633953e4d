// Reading containers' cgroups (cgroupfs layout) on v1 and v2: which version the host has, whether limits can be
// written, CPU and memory statistics, OOM kills, and removing the empty pod-level directories runc leaves.
// runc creates and removes each container's own cgroup; this module only reads, probes and tidies.
import { lstat, mkdir, readdir, readFile, rmdir } from "node:fs/promises";
import { join } from "node:path";
import type { CgroupVersion } from "./types.js";

export const CGROUP_ROOT = "/sys/fs/cgroup";

export interface CgroupProbe {
  version: CgroupVersion | undefined;
  writable: boolean;
  memoryController: boolean;
  cpuController: boolean;
  swapAccounting: boolean;
  /** Why something is missing, one sentence each. */
  problems: string[];
}

/** Finds the version and the usable controllers, and whether this process may create cgroups. */
export async function probeCgroups(root = CGROUP_ROOT): Promise<CgroupProbe> {
  const problems: string[] = [];
  const controllersFile = await readText(join(root, "cgroup.controllers"));
  let version: CgroupVersion | undefined;
  let memoryController = false;
  let cpuController = false;
  let swapAccounting = false;
  let probeDir: string | undefined;
  if (controllersFile !== undefined) {
    version = 2;
    const controllers = controllersFile.trim().split(/\s+/);
    memoryController = controllers.includes("memory");
    cpuController = controllers.includes("cpu");
    swapAccounting = await exists(join(root, "init.scope", "memory.swap.max")) || (await exists(join(root, "system.slice", "memory.swap.max")));
    probeDir = root;
  } else if (await exists(join(root, "memory"))) {
    version = 1;
    memoryController = await exists(join(root, "memory", "memory.limit_in_bytes"));
    cpuController = await exists(join(root, "cpu", "cpu.shares"));
    swapAccounting = await exists(join(root, "memory", "memory.memsw.limit_in_bytes"));
    probeDir = join(root, "memory");
  } else {
    problems.push(`no cgroup hierarchy found at ${root}`);
  }
  if (version !== undefined && !memoryController) problems.push(`the memory cgroup controller is not available (cgroup v${version})`);
  if (version !== undefined && !cpuController) problems.push(`the cpu cgroup controller is not available (cgroup v${version})`);
  let writable = false;
  if (probeDir !== undefined) {
    const dir = join(probeDir, `kubelab-probe-${process.pid}`);
    try {
      await mkdir(dir);
      writable = true;
      await rmdir(dir);
    } catch (err) {
      problems.push(`cannot create cgroups under ${probeDir} (${errorCode(err)}): limits are not enforced`);
    }
  }
  return { version, writable, memoryController, cpuController, swapAccounting, problems };
}

/** The directory of a cgroupfs path for one controller (v1) or in the unified tree (v2). */
export function cgroupDir(version: CgroupVersion, cgroupsPath: string, controller: string, root = CGROUP_ROOT): string {
  const relative = cgroupsPath.replace(/^\/+/, "");
  return version === 2 ? join(root, relative) : join(root, controller, relative);
}

export interface CgroupStats {
  cpuUsageNanos: number;
  memoryUsageBytes: number;
  memoryWorkingSetBytes: number;
}

/** CPU time and memory of a cgroup; the working set is usage minus inactive file pages, never below 0. */
export async function readCgroupStats(version: CgroupVersion, cgroupsPath: string, root = CGROUP_ROOT): Promise<CgroupStats> {
  let cpuUsageNanos = 0;
  let memoryUsageBytes = 0;
  let inactiveFile = 0;
  if (version === 2) {
    const dir = cgroupDir(2, cgroupsPath, "", root);
    const cpuStat = parseKeyValues((await readText(join(dir, "cpu.stat"))) ?? "");
    cpuUsageNanos = (cpuStat.get("usage_usec") ?? 0) * 1000;
    memoryUsageBytes = Number((await readText(join(dir, "memory.current")))?.trim() ?? 0);
    inactiveFile = parseKeyValues((await readText(join(dir, "memory.stat"))) ?? "").get("inactive_file") ?? 0;
  } else {
    cpuUsageNanos = Number((await readText(join(cgroupDir(1, cgroupsPath, "cpuacct", root), "cpuacct.usage")))?.trim() ?? 0);
    const memDir = cgroupDir(1, cgroupsPath, "memory", root);
    memoryUsageBytes = Number((await readText(join(memDir, "memory.usage_in_bytes")))?.trim() ?? 0);
    inactiveFile = parseKeyValues((await readText(join(memDir, "memory.stat"))) ?? "").get("total_inactive_file") ?? 0;
  }
  return { cpuUsageNanos, memoryUsageBytes, memoryWorkingSetBytes: Math.max(0, memoryUsageBytes - inactiveFile) };
}

/** How many processes the OOM killer killed in this cgroup (v1 memory.oom_control, v2 memory.events). */
export async function readOomKillCount(version: CgroupVersion, cgroupsPath: string, root = CGROUP_ROOT): Promise<number> {
  const file = version === 2 ? join(cgroupDir(2, cgroupsPath, "", root), "memory.events") : join(cgroupDir(1, cgroupsPath, "memory", root), "memory.oom_control");
  return parseKeyValues((await readText(file)) ?? "").get("oom_kill") ?? 0;
}

/**
 * Removes an (empty) cgroup path and its empty parents up to, not including, `stopAt`, in every hierarchy.
 * Non-empty or missing directories are left alone: this never kills anything.
 */
export async function removeCgroupPath(cgroupsPath: string, stopAt = "/", root = CGROUP_ROOT): Promise<void> {
  const hierarchies: string[] = [];
  if (await exists(join(root, "cgroup.controllers"))) hierarchies.push(root);
  else {
    for (const name of await readdir(root).catch(() => [])) {
      const dir = join(root, name);
      const stat = await lstat(dir).catch(() => undefined);
      if (stat?.isDirectory() === true) hierarchies.push(dir);
    }
  }
  const parts = cgroupsPath.split("/").filter((p) => p !== "");
  const keep = stopAt.split("/").filter((p) => p !== "").length;
  for (const hierarchy of hierarchies) {
    for (let depth = parts.length; depth > keep; depth--) {
      try {
        await rmdir(join(hierarchy, ...parts.slice(0, depth)));
      } catch (err) {
        if (errorCode(err) !== "ENOENT") break;
      }
    }
  }
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

function errorCode(err: unknown): string {
  return typeof err === "object" && err !== null && "code" in err && typeof err.code === "string" ? err.code : String(err);
}
