// What a test of a real container runtime checks the host for after cleaning up: mounts, processes, network
// namespaces and cgroups it may have left behind.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Mount points at or below `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((line) => line.split(" ")[1] ?? "")
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** Pids of processes whose command line mentions `marker` (the test's temp dir: the daemon, conmon, containers' runc). */
export function processesMentioning(marker: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, "utf8").includes(marker)) pids.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return pids;
}

export function netnsNames(): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter((name) => name !== "");
}

/** The cgroup directories of `top` in every hierarchy (v1: one per controller; v2: the unified one). */
export function cgroupDirs(top: string): string[] {
  const root = "/sys/fs/cgroup";
  const hierarchies = existsSync(join(root, "cgroup.controllers")) ? [root] : readdirSync(root).map((name) => join(root, name));
  return hierarchies.map((h) => join(h, top)).filter((dir) => existsSync(dir));
}
