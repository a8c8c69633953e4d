// The types of the OCI layer: what a caller (the CRI backend) passes to run pods and containers with runc,
// conmon and CNI, and what it gets back. Self-contained on purpose: nothing here depends on the gRPC layer, so
// the CRI adapter maps its messages onto these and this library can be tested on its own.

/** A bind mount the caller wants in the container (volumes, /etc/hosts, /etc/resolv.conf, …). */
export interface BindMount {
  hostPath: string;
  containerPath: string;
  readOnly?: boolean;
}

/**
 * CPU and memory as Kubernetes states them. Requests set CPU shares (relative weight); limits set the CFS quota
 * and the memory limit. Absent means "unset" (no limit, default weight).
 */
export interface ContainerResources {
  /** requests.cpu in millicores. */
  cpuRequestMilli?: number;
  /** limits.cpu in millicores. */
  cpuLimitMilli?: number;
  /** limits.memory in bytes. */
  memoryLimitBytes?: number;
}

/** A host port forwarded to the pod (hostPort), handed to CNI's portmap plugin. */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: "tcp" | "udp" | "sctp";
  hostIP?: string;
}

export interface SandboxNetworkRequest {
  /** The sandbox's id; names the network namespace and the CNI attachment. */
  sandboxId: string;
  portMappings?: readonly PortMapping[];
}

export interface SandboxNetwork {
  sandboxId: string;
  /** Path of the pod's network namespace, e.g. /run/netns/kubelab-<id>. */
  netnsPath: string;
  /** The pod's addresses without prefix length, IPv4 first. */
  ips: string[];
  /** The CNI result of ADD, kept so that DEL gets it as prevResult. */
  cniResult: CniResult;
}

/** What a CNI plugin reports on ADD (the parts the runtime uses), spec version 0.4.0 / 1.0.0. */
export interface CniResult {
  cniVersion: string;
  interfaces: { name: string; mac?: string; sandbox?: string }[];
  ips: { address: string; gateway?: string; interface?: number }[];
  routes: { dst: string; gw?: string }[];
  dns: { nameservers?: string[]; domain?: string; search?: string[] };
}

export interface ContainerRequest {
  /** Unique id, used for runc, conmon and the cgroup leaf. */
  id: string;
  sandboxId: string;
  /** Root filesystem, prepared by the image layer (an overlay or a copy). */
  rootfs: string;
  /** argv: the image's entrypoint+cmd as overridden by the pod. Must not be empty. */
  args: readonly string[];
  env?: readonly string[];
  cwd?: string;
  uid?: number;
  gid?: number;
  hostname?: string;
  /** The pod's network namespace path (from SandboxNetwork); absent = a fresh empty network namespace. */
  netnsPath?: string;
  mounts?: readonly BindMount[];
  resources?: ContainerResources;
  /** Cgroup parent for the pod, e.g. "/kubelab/pod-<uid>"; the container's cgroup is <parent>/<id>. */
  cgroupParent?: string;
  /** Where conmon writes the CRI-format log. */
  logPath: string;
  readonlyRootfs?: boolean;
  /** Extra capabilities over the default set (securityContext.capabilities.add), e.g. "CAP_NET_ADMIN". */
  addCapabilities?: readonly string[];
  dropCapabilities?: readonly string[];
  privileged?: boolean;
  /** Keep a pipe to the process's stdin (conmon --stdin), written by attach sessions. */
  stdin?: boolean;
  /** Close that stdin when the first attach session ends (CRI stdin_once); otherwise it stays open. */
  stdinOnce?: boolean;
  /** Run the process on a pseudo-terminal held by conmon (spec process.terminal, conmon --terminal). */
  tty?: boolean;
}

export type ContainerStatus = "created" | "running" | "stopped" | "unknown";

export interface ContainerState {
  id: string;
  status: ContainerStatus;
  /** Host pid of the container's init process; 0 when not running. */
  pid: number;
  createdAt?: Date;
  /** Set once startContainer succeeded. */
  startedAt?: Date;
  /** Set once the container has exited (from conmon's exit file). */
  exitCode?: number;
  /** When the exit file was written (≈ the exit time). */
  finishedAt?: Date;
  /** True when the kernel's OOM killer killed a process of this container. */
  oomKilled: boolean;
}

export interface ExecResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
  timedOut: boolean;
}

export interface ContainerStats {
  /** Cumulative CPU time in nanoseconds. */
  cpuUsageNanos: number;
  /** Memory working set: usage minus inactive file pages, as the kubelet counts it. */
  memoryWorkingSetBytes: number;
  memoryUsageBytes: number;
  timestamp: Date;
}

export type CgroupVersion = 1 | 2;

/** One thing the host refused, and what the runtime does instead. */
export interface DegradedCapability {
  /** Stable reason, e.g. "CgroupReadOnly", "NoMemoryController". */
  reason: string;
  message: string;
}

/** What this host lets the runtime do; the CRI layer turns `degraded` into Status conditions. */
export interface HostCapabilities {
  cgroupVersion: CgroupVersion | undefined;
  /** Cgroup limits can be written (a writable hierarchy with cpu and memory controllers). */
  cgroupsWritable: boolean;
  memoryController: boolean;
  cpuController: boolean;
  runcVersion: string | undefined;
  conmonVersion: string | undefined;
  cniPluginsFound: string[];
  degraded: DegradedCapability[];
}
