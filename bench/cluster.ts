// Processes a benchmark runs against (a throw-away etcd, real apiserver processes, the components in components.ts)
// and the bookkeeping that guarantees they are stopped and removed: on success, on error, on SIGINT/SIGTERM (main.ts
// runs the clean-up), and on process exit (the lab runner's exit hook).
import { readFileSync } from "node:fs";
import { launchApiserver, launchEtcd, type ApiserverHandle, type EtcdHandle } from "../lab/process/control-plane.js";
import { ProcessOwner } from "../lab/process/owner.js";
import { progress } from "./report.js";

// ---------------------------------------------------------------------------------------------------------------
// Cleanup registry

/** Owns every process, directory and client a benchmark starts; runCleanups() tears them down. */
export const benchProcesses = new ProcessOwner({ report: progress });

/** Registers a teardown step; returns a function that runs it now (once) and unregisters it. */
export function onCleanup(name: string, run: () => Promise<void> | void): () => Promise<void> {
  return benchProcesses.onTeardown(name, run);
}

/** Runs every registered teardown step, newest first, each bounded in time; never throws. */
export function runCleanups(timeoutMs = 10_000): Promise<void> {
  return benchProcesses.teardown(timeoutMs);
}

// ---------------------------------------------------------------------------------------------------------------
// etcd and apiserver

/** Starts a throw-away etcd (data on /dev/shm) whose destruction is registered for cleanup. */
export function startBenchEtcd(): Promise<EtcdHandle> {
  return launchEtcd(benchProcesses);
}

/** An apiserver process; `startupMs` is spawn → first 200 on /readyz. */
export type BenchApiServer = ApiserverHandle;

/** The output a bench keeps per apiserver: its last part, so that the bench's own RSS stays small. */
const APISERVER_LOG_CHARS = 128 * 1024;

/**
 * Spawns a real apiserver process on a free loopback port and waits for /readyz, polling every few
 * milliseconds so that the measured startup time is accurate. Its teardown is registered for cleanup.
 */
export function startBenchApiServer(etcdEndpoint: string, extraArgs: readonly string[] = [], timeoutMs = 30_000): Promise<BenchApiServer> {
  return launchApiserver(benchProcesses, etcdEndpoint, { extraArgs, timeoutMs, intervalMs: 5, logRingChars: APISERVER_LOG_CHARS });
}

// ---------------------------------------------------------------------------------------------------------------
// Memory

export interface ProcessMemory {
  /** Resident set size now, bytes (VmRSS). */
  rssBytes: number;
  /** Peak resident set size since the process started, bytes (VmHWM). */
  peakRssBytes: number;
}

/** Reads /proc/<pid>/status; NaN fields when unavailable (not Linux, process gone). */
export function processMemory(pid: number): ProcessMemory {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const field = (name: string): number => {
      const m = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, "m").exec(status);
      return m?.[1] ? Number(m[1]) * 1024 : Number.NaN;
    };
    return { rssBytes: field("VmRSS"), peakRssBytes: field("VmHWM") };
  } catch {
    return { rssBytes: Number.NaN, peakRssBytes: Number.NaN };
  }
}

// ---------------------------------------------------------------------------------------------------------------
// CPU

/** User + system CPU time a process has used so far, in ms (from /proc/<pid>/stat); NaN when unavailable. */
export function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may contain spaces) start at index 2 (state); utime/stime are 14/15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    return (ticks * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** `pid` and its live child processes (a --workers apiserver's workers); just `pid` where the kernel does not list children. */
export function processTree(pid: number): number[] {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    return [pid, ...(children === "" ? [] : children.split(/\s+/).map(Number))];
  } catch {
    return [pid];
  }
}

/** CPU time of `pid` and its live children, ms. */
export function processTreeCpuMs(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + processCpuMs(p), 0);
}

/** Resident memory of `pid` and its live children summed (peaks summed too: an upper bound of the tree's peak). */
export function processTreeMemory(pid: number): ProcessMemory {
  return processTree(pid).map(processMemory).reduce((a, b) => ({ rssBytes: a.rssBytes + b.rssBytes, peakRssBytes: a.peakRssBytes + b.peakRssBytes }));
}

/** USER_HZ; 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU use, in cores (1.0 = one core busy), of some processes and of this bench process ("bench") over a span. */
export type CpuCores = Record<string, number>;

export class CpuMeter {
  private readonly startWall = performance.now();
  private readonly startSelf = process.cpuUsage();
  private readonly start: [string, number, number][];

  constructor(pids: Record<string, number>) {
    this.start = Object.entries(pids).map(([name, pid]) => [name, pid, processTreeCpuMs(pid)]);
  }

  read(): CpuCores {
    const wall = performance.now() - this.startWall;
    const self = process.cpuUsage(this.startSelf);
    const out: CpuCores = {};
    // A process's children count as its own (the workers of a --workers apiserver); a child that exits mid-run
    // takes its CPU along, so such a figure is a lower bound.
    for (const [name, pid, before] of this.start) out[name] = wall > 0 ? (processTreeCpuMs(pid) - before) / wall : Number.NaN;
    out.bench = wall > 0 ? (self.user + self.system) / 1000 / wall : Number.NaN;
    return out;
  }
}

/** After `seconds`, runs every clean-up and exits 1: no benchmark outlives its deadline. Returns the disarm. */
export function armDeadline(seconds: number, progress: (message: string) => void): () => void {
  const deadline = setTimeout(() => {
    progress(`deadline of ${seconds} s reached; cleaning up and aborting`);
    void runCleanups().finally(() => process.exit(1));
  }, seconds * 1000);
  deadline.unref();
  return () => {
    clearTimeout(deadline);
  };
}
