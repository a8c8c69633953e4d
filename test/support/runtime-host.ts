// What a test of a real container runtime checks the host for after cleaning up: mounts, processes, network
// namespaces and cgroups it may have left behind.
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** Force-deletes every container runc knows under `runcRoot` (their processes are killed); errors are ignored. */
export async function deleteRuncContainers(runc: string, runcRoot: string): Promise<void> {
  const listed = await execFileAsync(runc, ["--root", runcRoot, "list", "-q"], { encoding: "utf8" }).catch(() => ({ stdout: "" }));
  for (const id of listed.stdout.split("\n").filter((line) => line !== "")) {
    await execFileAsync(runc, ["--root", runcRoot, "delete", "--force", id]).catch(() => undefined);
  }
}

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

/** Removes the cgroup directories of `top` in every hierarchy, deepest first (they must hold no process). */
export function removeCgroups(top: string): void {
  for (const cgroup of cgroupDirs(top)) execFileSync("find", [cgroup, "-depth", "-type", "d", "-exec", "rmdir", "{}", ";"]);
}

/** What a test under `dir` with cgroups under `cgroupTop` left behind: mounts, processes, the directory, cgroups. */
export function leftovers(dir: string, cgroupTop: string): string[] {
  const found = [...cgroupDirs(cgroupTop).map((d) => `cgroup ${d}`)];
  if (dir === "") return found;
  found.push(...mountsUnder(dir).map((m) => `mount ${m}`), ...processesMentioning(dir).map((pid) => `process ${pid}`));
  if (existsSync(dir)) found.push(`directory ${dir}`);
  return found;
}
