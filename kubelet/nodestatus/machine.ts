// What the node status reads from the machine (cAdvisor's MachineInfo and the eviction manager's signals, cheaply):
// cores, memory and the root dir's filesystem for capacity; os-release, kernel, boot and machine ids for nodeInfo;
// /proc/meminfo and statfs for memory and disk pressure against Kubernetes' default hard eviction thresholds.
import { readFile, statfs } from "node:fs/promises";
import { cpus, release, totalmem } from "node:os";
import { dirname } from "node:path";
import { EVICTION_HARD_MEMORY_AVAILABLE_BYTES, EVICTION_HARD_NODEFS_AVAILABLE_FRACTION, EVICTION_HARD_NODEFS_INODES_FREE_FRACTION, type MachineInfo, type NodePressure } from "./status.js";

/** Node's process.arch as GOARCH, which nodeInfo.architecture and the kubernetes.io/arch label use. */
export function goArch(arch: string = process.arch): string {
  const names: Record<string, string> = { x64: "amd64", ia32: "386", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64", loong64: "loong64", mips: "mips", mipsel: "mipsle" };
  return names[arch] ?? arch;
}

/** The value of KEY in os-release text (quotes removed), e.g. PRETTY_NAME. */
export function osReleaseField(text: string, key: string): string | undefined {
  for (const line of text.split("\n")) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m?.[1] !== key) continue;
    const raw = m[2] ?? "";
    return raw.replace(/^(["'])(.*)\1$/, "$2");
  }
  return undefined;
}

async function firstLine(path: string): Promise<string | undefined> {
  try {
    const line = (await readFile(path, "utf8")).split("\n")[0]?.trim();
    return line === "" ? undefined : line;
  } catch {
    return undefined;
  }
}

/** statfs of `path`, or of its nearest existing parent (the root dir may not exist yet at first start). */
interface FsStats {
  blocks: number;
  bsize: number;
  bavail: number;
  files: number;
  ffree: number;
}

async function statfsNearest(path: string): Promise<FsStats> {
  for (let p = path; ; p = dirname(p)) {
    try {
      const s = await statfs(p);
      return { blocks: s.blocks, bsize: s.bsize, bavail: s.bavail, files: s.files, ffree: s.ffree };
    } catch (err: unknown) {
      if (p === dirname(p)) throw err;
    }
  }
}

export async function readMachineInfo(rootDir: string): Promise<MachineInfo> {
  const fs = await statfsNearest(rootDir);
  const osRelease = (await readFile("/etc/os-release", "utf8").catch(() => readFile("/usr/lib/os-release", "utf8").catch(() => ""))) || "";
  const machineID = (await firstLine("/etc/machine-id")) ?? (await firstLine("/var/lib/dbus/machine-id")) ?? "";
  return {
    cpus: cpus().length,
    memoryBytes: totalmem(),
    rootFsBytes: fs.blocks * fs.bsize,
    kernelVersion: release(),
    osImage: osReleaseField(osRelease, "PRETTY_NAME") ?? "Linux",
    operatingSystem: process.platform,
    architecture: goArch(),
    bootID: (await firstLine("/proc/sys/kernel/random/boot_id")) ?? "",
    machineID,
    // Readable by root only, and absent in many containers; Kubernetes then reports it empty too.
    systemUUID: ((await firstLine("/sys/class/dmi/id/product_uuid")) ?? "").toLowerCase(),
  };
}

/** Where pressure comes from; the kubelet's default reads the machine, tests and hollow nodes inject their own. */
export type PressureSource = () => Promise<NodePressure>;

/** MemAvailable from /proc/meminfo text, in bytes. */
export function memAvailableBytes(meminfo: string): number | undefined {
  const m = /^MemAvailable:\s+(\d+)\s*kB/m.exec(meminfo);
  return m ? Number(m[1]) * 1024 : undefined;
}

/**
 * memory.available < 100Mi (MemAvailable standing in for capacity minus working set) and nodefs.available < 10% or
 * nodefs.inodesFree < 5% on the root dir's filesystem. Kubernetes sets no default pid threshold, so no PID pressure.
 */
export function machinePressure(rootDir: string): PressureSource {
  return async () => {
    const meminfo = await readFile("/proc/meminfo", "utf8").catch(() => "");
    const available = memAvailableBytes(meminfo);
    const fs = await statfsNearest(rootDir);
    const lowSpace = fs.blocks > 0 && fs.bavail < fs.blocks * EVICTION_HARD_NODEFS_AVAILABLE_FRACTION;
    const lowInodes = fs.files > 0 && fs.ffree < fs.files * EVICTION_HARD_NODEFS_INODES_FREE_FRACTION;
    return { memory: available !== undefined && available < EVICTION_HARD_MEMORY_AVAILABLE_BYTES, disk: lowSpace || lowInodes, pid: false };
  };
}
