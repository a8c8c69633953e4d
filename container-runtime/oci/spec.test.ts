import { describe, expect, it } from "vitest";
import {
  ALL_CAPABILITIES,
  DEFAULT_CAPABILITIES,
  DEFAULT_PATH_ENV,
  MASKED_PATHS,
  buildRuntimeSpec,
  capabilitiesFor,
  cgroupsPathFor,
  cpuQuotaForLimit,
  cpuSharesForRequest,
  linuxResources,
} from "./spec.js";
import type { ContainerRequest } from "./types.js";

function request(extra: Partial<ContainerRequest> = {}): ContainerRequest {
  return { id: "c1", sandboxId: "sb1", rootfs: "/var/lib/x/rootfs", args: ["sleep", "1"], logPath: "/tmp/c1.log", ...extra };
}

describe("CPU and memory conversions", () => {
  it.each([
    [undefined, 2],
    [0, 2],
    [1, 2],
    [100, 102],
    [250, 256],
    [1000, 1024],
    [2500, 2560],
    [1_000_000, 262_144],
  ])("turns a request of %s millicores into %i shares", (milli, shares) => {
    expect(cpuSharesForRequest(milli)).toBe(shares);
  });

  it.each([
    [1, 1000],
    [5, 1000],
    [100, 10_000],
    [500, 50_000],
    [1500, 150_000],
  ])("turns a limit of %i millicores into a quota of %i µs per 100 ms", (milli, quota) => {
    expect(cpuQuotaForLimit(milli)).toBe(quota);
  });

  it("sets shares always, quota only with a CPU limit, and memory only with a memory limit", () => {
    expect(linuxResources(undefined, { swapAccounting: true })).toEqual({ devices: [{ allow: false, access: "rwm" }], cpu: { shares: 2 } });
    expect(linuxResources({ cpuRequestMilli: 250, cpuLimitMilli: 500, memoryLimitBytes: 16 << 20 }, { swapAccounting: true })).toEqual({
      devices: [{ allow: false, access: "rwm" }],
      cpu: { shares: 256, quota: 50_000, period: 100_000 },
      memory: { limit: 16 << 20, swap: 16 << 20 },
    });
  });

  it("caps swap at the memory limit only where the host accounts swap", () => {
    expect(linuxResources({ memoryLimitBytes: 1 << 30 }, { swapAccounting: false }).memory).toEqual({ limit: 1 << 30 });
  });
});

describe("buildRuntimeSpec", () => {
  it("gives the container its own pid, ipc, uts and mount namespaces and joins the pod's network", () => {
    const spec = buildRuntimeSpec(request({ netnsPath: "/run/netns/kubelab-sb1" }), { swapAccounting: false });
    expect(spec.linux.namespaces).toEqual([
      { type: "pid" },
      { type: "ipc" },
      { type: "uts" },
      { type: "mount" },
      { type: "network", path: "/run/netns/kubelab-sb1" },
    ]);
  });

  it("makes a fresh network namespace when there is no pod network", () => {
    const spec = buildRuntimeSpec(request(), { swapAccounting: false });
    expect(spec.linux.namespaces).toContainEqual({ type: "network" });
  });

  it("mounts the kernel filesystems, sysfs and cgroup read-only, then the caller's binds in order", () => {
    const spec = buildRuntimeSpec(
      request({
        mounts: [
          { hostPath: "/pods/sb1/hosts", containerPath: "/etc/hosts" },
          { hostPath: "/pods/sb1/resolv.conf", containerPath: "/etc/resolv.conf", readOnly: true },
        ],
      }),
      { swapAccounting: false },
    );
    expect(spec.mounts.map((m) => [m.destination, m.type])).toEqual([
      ["/proc", "proc"],
      ["/dev", "tmpfs"],
      ["/dev/pts", "devpts"],
      ["/dev/shm", "tmpfs"],
      ["/dev/mqueue", "mqueue"],
      ["/sys", "sysfs"],
      ["/sys/fs/cgroup", "cgroup"],
      ["/etc/hosts", "bind"],
      ["/etc/resolv.conf", "bind"],
    ]);
    const byDest = new Map(spec.mounts.map((m) => [m.destination, m]));
    expect(byDest.get("/sys")?.options).toContain("ro");
    expect(byDest.get("/sys/fs/cgroup")?.options).toContain("ro");
    expect(byDest.get("/etc/hosts")).toEqual({ destination: "/etc/hosts", type: "bind", source: "/pods/sb1/hosts", options: ["rbind", "rprivate"] });
    expect(byDest.get("/etc/resolv.conf")?.options).toEqual(["rbind", "rprivate", "ro"]);
  });

  it("writes the process: args, env with a default PATH, cwd, user, no terminal", () => {
    const spec = buildRuntimeSpec(request({ env: ["A=1"], cwd: "/app", uid: 1000, gid: 2000 }), { swapAccounting: false });
    expect(spec.process).toMatchObject({
      terminal: false,
      args: ["sleep", "1"],
      env: [DEFAULT_PATH_ENV, "A=1"],
      cwd: "/app",
      user: { uid: 1000, gid: 2000 },
    });
    expect(buildRuntimeSpec(request({ env: ["PATH=/bin"] }), { swapAccounting: false }).process.env).toEqual(["PATH=/bin"]);
    expect(spec.root).toEqual({ path: "/var/lib/x/rootfs", readonly: false });
    expect(buildRuntimeSpec(request({ tty: true }), { swapAccounting: false }).process.terminal).toBe(true);
  });

  it("puts the container's cgroup under the pod's parent", () => {
    expect(cgroupsPathFor({ id: "c1", sandboxId: "sb1" })).toBe("/kubelab/pod-sb1/c1");
    expect(cgroupsPathFor({ id: "c1", sandboxId: "sb1", cgroupParent: "/kubepods/burstable/podabc/" })).toBe("/kubepods/burstable/podabc/c1");
    expect(buildRuntimeSpec(request(), { swapAccounting: false }).linux.cgroupsPath).toBe("/kubelab/pod-sb1/c1");
  });

  it("masks and write-protects kernel paths unless privileged", () => {
    const plain = buildRuntimeSpec(request(), { swapAccounting: false });
    expect(plain.linux.maskedPaths).toEqual(MASKED_PATHS);
    expect(plain.linux.readonlyPaths).toContain("/proc/sys");
    const privileged = buildRuntimeSpec(request({ privileged: true }), { swapAccounting: false });
    expect(privileged.linux.maskedPaths).toEqual([]);
    expect(privileged.linux.readonlyPaths).toEqual([]);
    expect(privileged.process.capabilities.bounding).toEqual(ALL_CAPABILITIES);
    expect(privileged.mounts.find((m) => m.destination === "/sys")?.options).toContain("rw");
  });

  it("refuses an empty argv", () => {
    expect(() => buildRuntimeSpec(request({ args: [] }), { swapAccounting: false })).toThrow(/args must not be empty/);
  });
});

describe("capabilitiesFor", () => {
  it("gives runc's default set, adds and drops with or without the CAP_ prefix", () => {
    expect(capabilitiesFor({})).toEqual(DEFAULT_CAPABILITIES);
    const caps = capabilitiesFor({ addCapabilities: ["NET_ADMIN"], dropCapabilities: ["net_raw", "CAP_MKNOD"] });
    expect(caps).toContain("CAP_NET_ADMIN");
    expect(caps).not.toContain("CAP_NET_RAW");
    expect(caps).not.toContain("CAP_MKNOD");
  });

  it("drops everything with ALL and keeps what is added back", () => {
    expect(capabilitiesFor({ dropCapabilities: ["ALL"], addCapabilities: ["NET_BIND_SERVICE"] })).toEqual(["CAP_NET_BIND_SERVICE"]);
  });
});
