// Pure builders for an OCI runtime bundle's config.json (OCI runtime spec 1.0.2, as runc 1.1 reads it).
// No I/O: the caller decides where the bundle lives and what the host supports, so every rule here is testable
// from a table. The same spec serves cgroup v1 and v2: runc converts shares/quota/limit to weight/cpu.max/
// memory.max on v2.
import type { BindMount, ContainerRequest, ContainerResources } from "./types.js";

export const OCI_VERSION = "1.0.2";

/** The capability set runc and containerd give an unprivileged container by default. */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_MKNOD",
  "CAP_NET_RAW",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

/** Every capability of a 6.x kernel, for privileged containers. */
export const ALL_CAPABILITIES: readonly string[] = [
  ...DEFAULT_CAPABILITIES,
  "CAP_DAC_READ_SEARCH",
  "CAP_LINUX_IMMUTABLE",
  "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN",
  "CAP_IPC_LOCK",
  "CAP_IPC_OWNER",
  "CAP_SYS_MODULE",
  "CAP_SYS_RAWIO",
  "CAP_SYS_PTRACE",
  "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN",
  "CAP_SYS_BOOT",
  "CAP_SYS_NICE",
  "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG",
  "CAP_LEASE",
  "CAP_AUDIT_CONTROL",
  "CAP_MAC_OVERRIDE",
  "CAP_MAC_ADMIN",
  "CAP_SYSLOG",
  "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ",
  "CAP_PERFMON",
  "CAP_BPF",
  "CAP_CHECKPOINT_RESTORE",
];

/** Kernel interfaces hidden from unprivileged containers (they leak host data or allow host changes). */
export const MASKED_PATHS: readonly string[] = [
  "/proc/acpi",
  "/proc/asound",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
];

/** Kernel interfaces visible but read-only in unprivileged containers. */
export const READONLY_PATHS: readonly string[] = [
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
];

export const DEFAULT_PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// The kernel's CFS bounds and Kubernetes' conversions (shares are 1024 per core, at least 2; quota at least 1 ms).
export const CPU_PERIOD_US = 100_000;
const MIN_SHARES = 2;
const MAX_SHARES = 262_144;
const SHARES_PER_CPU = 1024;
const MIN_QUOTA_US = 1000;

export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

export interface OciNamespace {
  type: "pid" | "ipc" | "uts" | "mount" | "network" | "cgroup" | "user";
  path?: string;
}

export interface OciLinuxResources {
  devices: { allow: boolean; access: string }[];
  cpu?: { shares?: number; quota?: number; period?: number };
  memory?: { limit?: number; swap?: number };
}

/** The subset of the OCI runtime spec this runtime writes. */
export interface OciSpec {
  ociVersion: string;
  process: {
    terminal: boolean;
    user: { uid: number; gid: number };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[]; permitted: string[] };
    rlimits?: { type: string; hard: number; soft: number }[];
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  hostname: string;
  mounts: OciMount[];
  linux: {
    namespaces: OciNamespace[];
    resources: OciLinuxResources;
    /** Absent when the host refuses cgroups: runc then runs the container in no cgroup of its own. */
    cgroupsPath?: string;
    maskedPaths: string[];
    readonlyPaths: string[];
  };
}

export interface SpecHostOptions {
  /** The host accounts swap in the memory cgroup: then swap is capped at the memory limit (no swapping). */
  swapAccounting: boolean;
}

/** Kubernetes' CPU shares for a request: 1024 per core, clamped to the kernel's [2, 262144]; no request → 2. */
export function cpuSharesForRequest(milli: number | undefined): number {
  if (milli === undefined || milli <= 0) return MIN_SHARES;
  const shares = Math.floor((milli * SHARES_PER_CPU) / 1000);
  return Math.min(MAX_SHARES, Math.max(MIN_SHARES, shares));
}

/** CFS quota (µs per 100 ms period) for a CPU limit; at least 1 ms, as the kernel requires. */
export function cpuQuotaForLimit(milli: number): number {
  return Math.max(MIN_QUOTA_US, Math.floor((milli * CPU_PERIOD_US) / 1000));
}

export function linuxResources(resources: ContainerResources | undefined, host: SpecHostOptions): OciLinuxResources {
  const out: OciLinuxResources = { devices: [{ allow: false, access: "rwm" }] };
  const cpu: NonNullable<OciLinuxResources["cpu"]> = { shares: cpuSharesForRequest(resources?.cpuRequestMilli) };
  const limit = resources?.cpuLimitMilli;
  if (limit !== undefined && limit > 0) {
    cpu.quota = cpuQuotaForLimit(limit);
    cpu.period = CPU_PERIOD_US;
  }
  out.cpu = cpu;
  const memory = resources?.memoryLimitBytes;
  if (memory !== undefined && memory > 0) {
    out.memory = host.swapAccounting ? { limit: memory, swap: memory } : { limit: memory };
  }
  return out;
}

/** The container's cgroup under the pod's parent; cgroupfs driver form ("/parent/id"). */
export function cgroupsPathFor(request: Pick<ContainerRequest, "id" | "sandboxId" | "cgroupParent">): string {
  const parent = request.cgroupParent ?? `/kubelab/pod-${request.sandboxId}`;
  return `${parent.replace(/\/+$/, "")}/${request.id}`;
}

export function defaultMounts(privileged: boolean): OciMount[] {
  const sysOptions = ["nosuid", "noexec", "nodev", privileged ? "rw" : "ro"];
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: sysOptions },
    { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: [...sysOptions, "relatime"] },
  ];
}

export function bindMount(mount: BindMount): OciMount {
  const options = ["rbind", "rprivate"];
  if (mount.readOnly === true) options.push("ro");
  return { destination: mount.containerPath, type: "bind", source: mount.hostPath, options };
}

export function capabilitiesFor(request: Pick<ContainerRequest, "privileged" | "addCapabilities" | "dropCapabilities">): string[] {
  if (request.privileged === true) return [...ALL_CAPABILITIES];
  const normalize = (cap: string): string => (cap.toUpperCase().startsWith("CAP_") ? cap.toUpperCase() : `CAP_${cap.toUpperCase()}`);
  const drop = new Set((request.dropCapabilities ?? []).map(normalize));
  const caps = new Set<string>();
  if (!drop.has("CAP_ALL")) for (const cap of DEFAULT_CAPABILITIES) caps.add(cap);
  for (const cap of request.addCapabilities ?? []) {
    const name = normalize(cap);
    if (name === "CAP_ALL") for (const any of ALL_CAPABILITIES) caps.add(any);
    else caps.add(name);
  }
  for (const cap of drop) caps.delete(cap);
  return [...caps];
}

/**
 * The config.json for one container. The root path is the caller's rootfs (absolute, so the bundle directory
 * may live elsewhere); user mounts come after the defaults so that they can cover them.
 */
export function buildRuntimeSpec(request: ContainerRequest, host: SpecHostOptions): OciSpec {
  if (request.args.length === 0) throw new Error(`container ${request.id}: args must not be empty`);
  const privileged = request.privileged === true;
  const env = [...(request.env ?? [])];
  if (!env.some((entry) => entry.startsWith("PATH="))) env.unshift(DEFAULT_PATH_ENV);
  const caps = capabilitiesFor(request);
  const namespaces: OciNamespace[] = [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }];
  namespaces.push(request.netnsPath === undefined ? { type: "network" } : { type: "network", path: request.netnsPath });
  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal: request.tty === true,
      user: { uid: request.uid ?? 0, gid: request.gid ?? 0 },
      args: [...request.args],
      env,
      cwd: request.cwd ?? "/",
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      // No rlimits: the container inherits conmon's, as under CRI-O; raising them may be refused by the host.
      noNewPrivileges: false,
    },
    root: { path: request.rootfs, readonly: request.readonlyRootfs === true },
    hostname: request.hostname ?? request.sandboxId.slice(0, 63),
    mounts: [...defaultMounts(privileged), ...(request.mounts ?? []).map(bindMount)],
    linux: {
      namespaces,
      resources: linuxResources(request.resources, host),
      cgroupsPath: cgroupsPathFor(request),
      maskedPaths: privileged ? [] : [...MASKED_PATHS],
      readonlyPaths: privileged ? [] : [...READONLY_PATHS],
    },
  };
}
