import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type * as cri from "../../client/cri/types.js";
import { imageSpec } from "../../client/cri/types.js";
import { CONTAINER_NAME_LABEL, POD_NAME_LABEL, POD_NAMESPACE_LABEL, POD_UID_LABEL } from "../runtime-labels.js";
import { CgroupStatsProvider, CriStatsProvider, hostUsageSample, type StatsRuntime } from "./provider.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "kubelab-stats-"));
  dirs.push(root);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

function container(id: string, name: string): cri.Container {
  return { id, podSandboxId: "sb", metadata: { name, attempt: 0 }, image: imageSpec("busybox:latest"), imageRef: "sha256:1", imageId: "sha256:1", state: "CONTAINER_RUNNING", createdAt: 5_000_000_000n, labels: { [POD_UID_LABEL]: "u1", [POD_NAME_LABEL]: "web", [POD_NAMESPACE_LABEL]: "default", [CONTAINER_NAME_LABEL]: name }, annotations: {} };
}

function runtime(containers: cri.Container[], pids: Record<string, number>, stats: cri.ContainerStats[] = []): StatsRuntime & { statusCalls: number } {
  const fake = {
    statusCalls: 0,
    listContainers: () => Promise.resolve(containers),
    listContainerStats: () => Promise.resolve(stats),
    containerStatus: (id: string) => {
      fake.statusCalls++;
      const pid = pids[id];
      return Promise.resolve({ status: {} as cri.ContainerStatus, info: pid === undefined ? {} : { pid: String(pid) } });
    },
  };
  return fake;
}

const NODE = { timeMs: 1, usageCoreNanoSeconds: 1, workingSetBytes: 1 };

describe("the cgroup stats provider", () => {
  it("finds each container's cgroup from its process once, reads it and its pod's (cgroup v2)", async () => {
    const cgroupRoot = tree({
      "cgroup.controllers": "cpu memory\n",
      "kubelab/pod-sb/c1/cpu.stat": "usage_usec 1000000\n",
      "kubelab/pod-sb/c1/memory.current": "4096\n",
      "kubelab/pod-sb/cpu.stat": "usage_usec 1500000\n",
      "kubelab/pod-sb/memory.current": "8192\n",
    });
    const procRoot = tree({ "41/cgroup": "0::/kubelab/pod-sb/c1\n" });
    const fake = runtime([container("c1", "app")], { c1: 41 });
    const provider = new CgroupStatsProvider({ runtime: fake, cgroupRoot, procRoot, nodeUsage: () => Promise.resolve(NODE), now: () => 7 });
    const sample = await provider.sample();
    expect(sample.failed).toBe(false);
    expect(sample.containers).toEqual([{ id: "c1", name: "app", podUid: "u1", podName: "web", podNamespace: "default", image: "busybox:latest", createdAtNs: 5_000_000_000n, cgroup: "/kubelab/pod-sb/c1", timeMs: 7, stats: { cpuUsageNanoSeconds: 1e9, memoryUsageBytes: 4096, memoryWorkingSetBytes: 4096 } }]);
    expect(sample.pods).toEqual([{ uid: "u1", name: "web", namespace: "default", cgroup: "/kubelab/pod-sb", timeMs: 7, stats: { cpuUsageNanoSeconds: 1.5e9, memoryUsageBytes: 8192, memoryWorkingSetBytes: 8192 } }]);
    await provider.sample();
    expect(fake.statusCalls).toBe(1);
  });

  it("falls back to the runtime's figures for a container without a cgroup of its own (cgroup v1)", async () => {
    const cgroupRoot = tree({ "memory/memory.usage_in_bytes": "1\n" });
    const procRoot = tree({ "41/cgroup": "4:memory:/\n2:cpu,cpuacct:/\n" });
    const stat: cri.ContainerStats = { attributes: { id: "c1", metadata: { name: "app", attempt: 0 }, labels: {}, annotations: {} }, cpu: { timestamp: 9_000_000n, usageCoreNanoSeconds: 5 }, memory: { timestamp: 9_000_000n, workingSetBytes: 6 } };
    const provider = new CgroupStatsProvider({ runtime: runtime([container("c1", "app")], { c1: 41 }, [stat]), cgroupRoot, procRoot, nodeUsage: () => Promise.resolve(NODE) });
    const sample = await provider.sample();
    expect(sample.containers[0]).toMatchObject({ id: "c1", timeMs: 9, stats: { cpuUsageNanoSeconds: 5, memoryWorkingSetBytes: 6 } });
    expect(sample.containers[0]?.cgroup).toBeUndefined();
    expect(sample.pods).toEqual([]);
  });

  it("reports a scrape error when the runtime cannot list containers", async () => {
    const provider = new CgroupStatsProvider({ runtime: { ...runtime([], {}), listContainers: () => Promise.reject(new Error("down")) }, cgroupRoot: tree({}), nodeUsage: () => Promise.resolve(NODE) });
    expect((await provider.sample()).failed).toBe(true);
  });
});

describe("the CRI stats provider", () => {
  it("gives the runtime's figures for the running containers", async () => {
    const stat: cri.ContainerStats = { attributes: { id: "c1", metadata: { name: "app", attempt: 0 }, labels: {}, annotations: {} }, cpu: { timestamp: 9_000_000n, usageCoreNanoSeconds: 5 }, memory: { timestamp: 9_000_000n, workingSetBytes: 6, rssBytes: 3 } };
    const sample = await new CriStatsProvider({ runtime: runtime([container("c1", "app")], {}, [stat]), nodeUsage: () => Promise.resolve(NODE) }).sample();
    expect(sample.containers).toMatchObject([{ id: "c1", podName: "web", stats: { cpuUsageNanoSeconds: 5, memoryWorkingSetBytes: 6, memoryRssBytes: 3 } }]);
  });
});

describe("the node's figures from /proc", () => {
  it("counts busy cpu ticks and MemTotal - MemAvailable", async () => {
    const proc = tree({ stat: "cpu  100 20 30 1000 50 5 5 0 0 0\ncpu0 1 1 1 1\n", meminfo: "MemTotal:       1000 kB\nMemFree:         300 kB\nMemAvailable:    600 kB\nAnonPages:       100 kB\n" });
    expect(await hostUsageSample(5, proc)).toEqual({ timeMs: 5, usageCoreNanoSeconds: 1.6e9, workingSetBytes: 400 * 1024, availableBytes: 600 * 1024, usageBytes: 700 * 1024, limitBytes: 1000 * 1024, rssBytes: 100 * 1024 });
  });
});
