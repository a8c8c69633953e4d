// Processes a benchmark runs against (a throw-away etcd, real apiserver processes) and the bookkeeping that
// guarantees they are stopped and removed: on success, on error, on SIGINT/SIGTERM, and on process exit.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { get } from "node:http";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, startEtcd, type EtcdHandle } from "../test/support/etcd.js";
import { waitFor } from "../test/support/apiserver.js";
import { progress } from "./report.js";
import { nowMs } from "./stats.js";

// ---------------------------------------------------------------------------------------------------------------
// Cleanup registry

interface CleanupEntry {
  name: string;
  run: () => Promise<void> | void;
}

const cleanups: CleanupEntry[] = [];
/** Children to SIGKILL and directories to remove synchronously if the process exits before cleanup ran. */
const emergencyChildren = new Set<ChildProcess>();
const emergencyDirs = new Set<string>();
let emergencyHookInstalled = false;

function installEmergencyHook(): void {
  if (emergencyHookInstalled) return;
  emergencyHookInstalled = true;
  process.on("exit", () => {
    for (const child of emergencyChildren) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    for (const dir of emergencyDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** Registers a teardown step; returns a function that runs it now (once) and unregisters it. */
export function onCleanup(name: string, run: () => Promise<void> | void): () => Promise<void> {
  const entry: CleanupEntry = { name, run };
  cleanups.push(entry);
  return async () => {
    const index = cleanups.indexOf(entry);
    if (index < 0) return;
    cleanups.splice(index, 1);
    await entry.run();
  };
}

/** Runs every registered teardown step, newest first, each bounded in time; never throws. */
export async function runCleanups(timeoutMs = 10_000): Promise<void> {
  while (cleanups.length > 0) {
    const entry = cleanups.pop();
    if (!entry) break;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(entry.run),
        new Promise<void>((_, reject) => {
          timer = setTimeout(() => { reject(new Error(`timed out after ${timeoutMs} ms`)); }, timeoutMs);
        }),
      ]);
    } catch (err) {
      progress(`cleanup "${entry.name}" failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      if (timer) clearTimeout(timer);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// etcd

/** Starts a throw-away etcd whose destruction is registered for cleanup. */
export async function startBenchEtcd(): Promise<EtcdHandle> {
  installEmergencyHook();
  const etcd = await startEtcd();
  const child = etcd.process;
  emergencyChildren.add(child);
  emergencyDirs.add(etcd.dataDir);
  onCleanup("etcd", async () => {
    await etcd.destroy();
    emergencyChildren.delete(child);
    emergencyDirs.delete(etcd.dataDir);
  });
  return etcd;
}

// ---------------------------------------------------------------------------------------------------------------
// apiserver

/**
 * The compiled apiserver entry point. test/support/apiserver.ts resolves it relative to its own source
 * location, which is wrong once compiled into dist/ (it would look for dist/dist/apiserver/main.js), so the
 * bench resolves it itself: next to dist/bench/ when compiled, or under dist/ when run from source.
 */
export function apiServerMain(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const fromEnv = process.env.KUBELAB_APISERVER_MAIN;
  const candidates = [
    ...(fromEnv ? [resolve(fromEnv)] : []),
    resolve(here, "..", "apiserver", "main.js"), // dist/bench/cluster.js → dist/apiserver/main.js
    resolve(here, "..", "dist", "apiserver", "main.js"), // bench/cluster.ts → dist/apiserver/main.js
  ];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`cannot find the built apiserver (looked for ${candidates.join(", ")}); run \`npm run build\` first`);
  return found;
}

export interface BenchApiServer {
  url: string;
  port: number;
  pid: number;
  process: ChildProcess;
  /** Milliseconds from spawn to the first 200 on /readyz. */
  startupMs: number;
  /** The last part of what the process wrote to stdout/stderr. */
  logs(): string;
  /** Why the process is gone, if it is ("exited with code 1", "killed by SIGSEGV"), else undefined. */
  exitReason(): string | undefined;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const LOG_TAIL_BYTES = 64 * 1024;

function readyzOk(url: string): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const req = get(`${url}/readyz`, { agent: false, timeout: 1_000 }, (res) => {
      res.resume();
      resolvePromise(res.statusCode === 200);
    });
    req.on("timeout", () => { req.destroy(); });
    req.on("error", () => { resolvePromise(false); });
  });
}

/**
 * Spawns a real apiserver process on a free loopback port and waits for /readyz, polling every few
 * milliseconds so that the measured startup time is accurate. Its teardown is registered for cleanup.
 */
export async function startBenchApiServer(etcdEndpoint: string, extraArgs: readonly string[] = [], timeoutMs = 30_000): Promise<BenchApiServer> {
  installEmergencyHook();
  const main = apiServerMain();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [main, "--etcd-servers", etcdEndpoint, "--insecure-port", String(port), "--bind-address", "127.0.0.1", ...extraArgs];
  let output = "";
  const append = (chunk: Buffer): void => {
    output += chunk.toString();
    if (output.length > 2 * LOG_TAIL_BYTES) output = output.slice(-LOG_TAIL_BYTES);
  };
  const started = nowMs();
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  emergencyChildren.add(child);
  child.stdout.on("data", append);
  child.stderr.on("data", append);
  const exitReason = (): string | undefined => {
    if (child.signalCode !== null) return `killed by ${child.signalCode}`;
    if (child.exitCode !== null) return `exited with code ${child.exitCode}`;
    return undefined;
  };
  const stop = async (signal: NodeJS.Signals = "SIGTERM"): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once("exit", () => { r(); }));
      child.kill(signal);
      const timer = setTimeout(() => { child.kill("SIGKILL"); }, 5_000);
      await exited;
      clearTimeout(timer);
    }
    emergencyChildren.delete(child);
  };
  const unregister = onCleanup(`apiserver ${url}`, () => stop("SIGKILL"));
  try {
    await waitFor(
      `apiserver ${url} /readyz`,
      async () => {
        const gone = exitReason();
        if (gone) throw new ApiServerExited(`apiserver ${gone} before it was ready; its output ends with:\n${output.slice(-4_000)}`);
        return (await readyzOk(url)) || undefined;
      },
      timeoutMs,
      5,
    );
  } catch (err) {
    await unregister();
    if (err instanceof Error && !(err instanceof ApiServerExited)) {
      throw new Error(`${err.message}; apiserver output ends with:\n${output.slice(-4_000)}`);
    }
    throw err;
  }
  const startupMs = nowMs() - started;
  return {
    url,
    port,
    pid: child.pid ?? -1,
    process: child,
    startupMs,
    logs: () => output,
    exitReason,
    stop: async (signal) => {
      await stop(signal);
      await unregister();
    },
  };
}

class ApiServerExited extends Error {}

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

/** USER_HZ; 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU use, in cores (1.0 = one core busy), of some processes and of this bench process ("bench") over a span. */
export type CpuCores = Record<string, number>;

export class CpuMeter {
  private readonly startWall = performance.now();
  private readonly startSelf = process.cpuUsage();
  private readonly start: [string, number, number][];

  constructor(pids: Record<string, number>) {
    this.start = Object.entries(pids).map(([name, pid]) => [name, pid, processCpuMs(pid)]);
  }

  read(): CpuCores {
    const wall = performance.now() - this.startWall;
    const self = process.cpuUsage(this.startSelf);
    const out: CpuCores = {};
    for (const [name, pid, before] of this.start) out[name] = wall > 0 ? (processCpuMs(pid) - before) / wall : Number.NaN;
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
