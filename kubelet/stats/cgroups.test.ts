import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cgroupId, detectCgroupVersion, parentCgroup, parseProcCgroup, readCgroupStats } from "./cgroups.js";

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A fixture tree: each path relative to the root → file content. */
function cgroupTree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "kubelab-cgroups-"));
  roots.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

const V1_POD = "/kubelab/pod-abc/c1";
const V1_FILES = {
  "memory/memory.limit_in_bytes": "9223372036854771712\n",
  "cpuacct/cpuacct.usage": "1\n",
  [`cpuacct${V1_POD}/cpuacct.usage`]: "2500000000\n",
  [`memory${V1_POD}/memory.usage_in_bytes`]: "10485760\n",
  [`memory${V1_POD}/memory.limit_in_bytes`]: "67108864\n",
  [`memory${V1_POD}/memory.stat`]: "cache 4096\nrss 8192\ntotal_cache 2097152\ntotal_rss 6291456\ntotal_inactive_file 1048576\ntotal_pgfault 300\ntotal_pgmajfault 2\n",
  "memory/kubelab/pod-abc/memory.usage_in_bytes": "11534336\n",
  "memory/kubelab/pod-abc/memory.limit_in_bytes": "9223372036854771712\n",
  "memory/kubelab/pod-abc/memory.stat": "total_inactive_file 0\n",
};

const V2_POD = "/kubelab/pod-abc/c1";
const V2_FILES = {
  "cgroup.controllers": "cpuset cpu io memory pids\n",
  [`${V2_POD.slice(1)}/cpu.stat`]: "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n",
  [`${V2_POD.slice(1)}/memory.current`]: "10485760\n",
  [`${V2_POD.slice(1)}/memory.max`]: "67108864\n",
  [`${V2_POD.slice(1)}/memory.stat`]: "anon 6291456\nfile 2097152\ninactive_file 1048576\npgfault 300\npgmajfault 2\n",
  "kubelab/pod-abc/memory.current": "11534336\n",
  "kubelab/pod-abc/memory.max": "max\n",
};

describe("cgroup v1 and v2", () => {
  it("detects the hierarchy the host mounts", async () => {
    expect(await detectCgroupVersion(cgroupTree(V1_FILES))).toBe(1);
    expect(await detectCgroupVersion(cgroupTree(V2_FILES))).toBe(2);
    expect(await detectCgroupVersion(cgroupTree({ "other/x": "" }))).toBeUndefined();
  });

  it("reads a process's cgroups from /proc/<pid>/cgroup in both layouts", () => {
    const v1 = parseProcCgroup("12:pids:/kubelab/pod-abc/c1\n4:memory:/kubelab/pod-abc/c1\n2:cpu,cpuacct:/kubelab/pod-abc/c1\n1:name=systemd:/\n0::/\n");
    expect(v1.get("memory")).toBe(V1_POD);
    expect(v1.get("cpuacct")).toBe(V1_POD);
    expect(cgroupId(1, v1)).toBe(V1_POD);
    const v2 = parseProcCgroup("0::/kubelab/pod-abc/c1\n");
    expect(cgroupId(2, v2)).toBe(V2_POD);
    expect(parentCgroup(v2).get("")).toBe("/kubelab/pod-abc");
    expect(parentCgroup(new Map([["", "/x"]])).get("")).toBe("/");
  });

  it("reads a v1 container: cpuacct time, working set = usage - total_inactive_file, rss, cache, limit", async () => {
    const root = cgroupTree(V1_FILES);
    const paths = new Map([["memory", V1_POD], ["cpuacct", V1_POD], ["cpu", V1_POD]]);
    expect(await readCgroupStats(1, paths, root)).toEqual({
      cpuUsageNanoSeconds: 2_500_000_000,
      memoryUsageBytes: 10 << 20,
      memoryWorkingSetBytes: 9 << 20,
      memoryRssBytes: 6 << 20,
      memoryCacheBytes: 2 << 20,
      memoryLimitBytes: 64 << 20,
      pageFaults: 300,
      majorPageFaults: 2,
    });
    // The pod's cgroup has no limit: v1's huge number means none.
    const pod = await readCgroupStats(1, parentCgroup(paths), root);
    expect(pod.memoryLimitBytes).toBeUndefined();
    expect(pod.memoryWorkingSetBytes).toBe(11 << 20);
  });

  it("reads a v2 container: cpu.stat usage_usec, working set = memory.current - inactive_file, anon as rss, memory.max", async () => {
    const root = cgroupTree(V2_FILES);
    const paths = new Map([["", V2_POD]]);
    expect(await readCgroupStats(2, paths, root)).toEqual({
      cpuUsageNanoSeconds: 2_500_000_000,
      memoryUsageBytes: 10 << 20,
      memoryWorkingSetBytes: 9 << 20,
      memoryRssBytes: 6 << 20,
      memoryCacheBytes: 2 << 20,
      memoryLimitBytes: 64 << 20,
      pageFaults: 300,
      majorPageFaults: 2,
    });
    const pod = await readCgroupStats(2, parentCgroup(paths), root);
    expect(pod).toEqual({ memoryUsageBytes: 11 << 20, memoryWorkingSetBytes: 11 << 20 });
  });

  it("gives nothing for a cgroup that is gone, and never a negative working set", async () => {
    const root = cgroupTree({ ...V2_FILES, "odd/memory.current": "100\n", "odd/memory.stat": "inactive_file 4096\n" });
    expect(await readCgroupStats(2, new Map([["", "/gone"]]), root)).toEqual({});
    expect((await readCgroupStats(2, new Map([["", "/odd"]]), root)).memoryWorkingSetBytes).toBe(0);
  });
});
