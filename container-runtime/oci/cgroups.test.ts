import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { cgroupDir, parseKeyValues, probeCgroups, readCgroupStats, readOomKillCount } from "./cgroups.js";

// A fake cgroupfs made of plain files: the readers only read files, so this is the kernel's layout in miniature.
describe("cgroup readers", () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), "cgroup-test-"));
  });
  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  function file(path: string, text: string): void {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }

  it("places a cgroupfs path per controller on v1 and in the unified tree on v2", () => {
    expect(cgroupDir(1, "/kubelab/pod-a/c1", "memory", "/sys/fs/cgroup")).toBe("/sys/fs/cgroup/memory/kubelab/pod-a/c1");
    expect(cgroupDir(2, "/kubelab/pod-a/c1", "memory", "/sys/fs/cgroup")).toBe("/sys/fs/cgroup/kubelab/pod-a/c1");
  });

  it("reads v1 stats: cpuacct usage and working set = usage − inactive file", async () => {
    file("cpuacct/p/c/cpuacct.usage", "123456789\n");
    file("memory/p/c/memory.usage_in_bytes", "10000000\n");
    file("memory/p/c/memory.stat", "cache 100\ntotal_inactive_file 4000000\ntotal_rss 5\n");
    expect(await readCgroupStats(1, "/p/c", root)).toEqual({ cpuUsageNanos: 123456789, memoryUsageBytes: 10_000_000, memoryWorkingSetBytes: 6_000_000 });
  });

  it("reads v2 stats: cpu.stat usage_usec in ns and memory.current", async () => {
    file("p/c/cpu.stat", "usage_usec 2500\nuser_usec 2000\n");
    file("p/c/memory.current", "8192\n");
    file("p/c/memory.stat", "anon 4096\ninactive_file 9000\n");
    expect(await readCgroupStats(2, "/p/c", root)).toEqual({ cpuUsageNanos: 2_500_000, memoryUsageBytes: 8192, memoryWorkingSetBytes: 0 });
  });

  it("counts OOM kills from memory.oom_control (v1) and memory.events (v2)", async () => {
    file("memory/p/c/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
    file("p/c/memory.events", "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n");
    expect(await readOomKillCount(1, "/p/c", root)).toBe(2);
    expect(await readOomKillCount(2, "/p/c", root)).toBe(1);
    expect(await readOomKillCount(2, "/gone", root)).toBe(0);
  });

  it("detects v2 by cgroup.controllers and reports missing controllers", async () => {
    file("cgroup.controllers", "cpuset io pids\n");
    const probe = await probeCgroups(root);
    expect(probe.version).toBe(2);
    expect(probe.memoryController).toBe(false);
    expect(probe.problems).toContain("the memory cgroup controller is not available (cgroup v2)");
    expect(probe.writable).toBe(true);
  });

  it("detects v1 by its per-controller hierarchies", async () => {
    file("memory/memory.limit_in_bytes", "9223372036854771712\n");
    file("memory/memory.memsw.limit_in_bytes", "9223372036854771712\n");
    file("cpu/cpu.shares", "1024\n");
    expect(await probeCgroups(root)).toMatchObject({ version: 1, memoryController: true, cpuController: true, swapAccounting: true, problems: [] });
  });

  it("says so when there is no cgroup hierarchy at all", async () => {
    const probe = await probeCgroups(join(root, "none"));
    expect(probe.version).toBeUndefined();
    expect(probe.problems[0]).toMatch(/no cgroup hierarchy found/);
  });

  it("parses key/value files", () => {
    expect([...parseKeyValues("a 1\n\nb 22\n")]).toEqual([
      ["a", 1],
      ["b", 22],
    ]);
  });
});
