// The CRI v1 messages as TypeScript values, for both ends of the runtime's socket: the runtime daemon's backends
// take and return these, and the kubelet's client hands them out. Field names are the proto fields in camelCase
// (pod_sandbox_id → podSandboxId), enums are their proto names as string literals, int64 timestamps (nanoseconds
// since the epoch) are bigints, other integers are numbers, and optional sub-messages are optional properties.
// wire.ts converts between these and the protobufjs objects on the wire.

export type Labels = Record<string, string>;

export const POD_SANDBOX_STATES = ["SANDBOX_READY", "SANDBOX_NOTREADY"] as const;
export type PodSandboxState = (typeof POD_SANDBOX_STATES)[number];

export const CONTAINER_STATES = ["CONTAINER_CREATED", "CONTAINER_RUNNING", "CONTAINER_EXITED", "CONTAINER_UNKNOWN"] as const;
export type ContainerState = (typeof CONTAINER_STATES)[number];

export const PROTOCOLS = ["TCP", "UDP", "SCTP"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export const MOUNT_PROPAGATIONS = ["PROPAGATION_PRIVATE", "PROPAGATION_HOST_TO_CONTAINER", "PROPAGATION_BIDIRECTIONAL"] as const;
export type MountPropagation = (typeof MOUNT_PROPAGATIONS)[number];

export const NAMESPACE_MODES = ["POD", "CONTAINER", "NODE", "TARGET"] as const;
export type NamespaceMode = (typeof NAMESPACE_MODES)[number];

/** The condition types a runtime reports in its Status; the kubelet needs both true for the node to be Ready. */
export const RUNTIME_READY = "RuntimeReady";
export const NETWORK_READY = "NetworkReady";

// ---- version and status ----

export interface VersionResponse {
  version: string;
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

export interface RuntimeCondition {
  type: string;
  status: boolean;
  /** A CamelCase word saying why, when status is false. */
  reason: string;
  message: string;
}

export interface StatusResponse {
  conditions: RuntimeCondition[];
  info: Labels;
}

// ---- shared pieces ----

export interface ImageSpec {
  image: string;
  annotations: Labels;
  userSpecifiedImage: string;
  runtimeHandler: string;
}

export interface PortMapping {
  protocol: Protocol;
  containerPort: number;
  hostPort: number;
  hostIp: string;
}

export interface DnsConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

export interface Mount {
  containerPath: string;
  hostPath: string;
  readonly: boolean;
  selinuxRelabel: boolean;
  propagation: MountPropagation;
  recursiveReadOnly: boolean;
}

export interface NamespaceOption {
  network: NamespaceMode;
  pid: NamespaceMode;
  ipc: NamespaceMode;
  targetId: string;
}

/** Zero means unset, as on the wire. */
export interface LinuxContainerResources {
  cpuPeriod: number;
  cpuQuota: number;
  cpuShares: number;
  memoryLimitInBytes: number;
  oomScoreAdj: number;
  cpusetCpus: string;
  cpusetMems: string;
  unified: Labels;
  memorySwapLimitInBytes: number;
}

// ---- pod sandboxes ----

export interface PodSandboxMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt: number;
}

export interface LinuxPodSandboxConfig {
  cgroupParent: string;
  sysctls: Labels;
  namespaceOptions?: NamespaceOption;
  privileged: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  supplementalGroups: number[];
  readonlyRootfs: boolean;
  overhead?: LinuxContainerResources;
  resources?: LinuxContainerResources;
}

export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  hostname: string;
  logDirectory: string;
  dnsConfig?: DnsConfig;
  portMappings: PortMapping[];
  labels: Labels;
  annotations: Labels;
  linux?: LinuxPodSandboxConfig;
}

export interface PodSandboxNetworkStatus {
  ip: string;
  additionalIps: string[];
}

export interface PodSandboxStatus {
  id: string;
  metadata: PodSandboxMetadata;
  state: PodSandboxState;
  createdAt: bigint;
  network?: PodSandboxNetworkStatus;
  namespaceOptions?: NamespaceOption;
  labels: Labels;
  annotations: Labels;
  runtimeHandler: string;
}

export interface PodSandboxStatusResponse {
  status: PodSandboxStatus;
  info: Labels;
  containersStatuses: ContainerStatus[];
  timestamp: bigint;
}

export interface PodSandboxFilter {
  id?: string;
  state?: PodSandboxState;
  labelSelector?: Labels;
}

export interface PodSandbox {
  id: string;
  metadata: PodSandboxMetadata;
  state: PodSandboxState;
  createdAt: bigint;
  labels: Labels;
  annotations: Labels;
  runtimeHandler: string;
}

// ---- containers ----

export interface ContainerMetadata {
  name: string;
  attempt: number;
}

export interface LinuxContainerConfig {
  resources?: LinuxContainerResources;
  privileged: boolean;
  namespaceOptions?: NamespaceOption;
  runAsUser?: number;
  runAsGroup?: number;
  runAsUsername: string;
  readonlyRootfs: boolean;
  supplementalGroups: number[];
  noNewPrivs: boolean;
  addCapabilities: string[];
  dropCapabilities: string[];
  maskedPaths: string[];
  readonlyPaths: string[];
}

export interface KeyValue {
  key: string;
  value: string;
}

export interface ContainerConfig {
  metadata: ContainerMetadata;
  image: ImageSpec;
  command: string[];
  args: string[];
  workingDir: string;
  envs: KeyValue[];
  mounts: Mount[];
  labels: Labels;
  annotations: Labels;
  /** Relative to the sandbox's logDirectory. */
  logPath: string;
  stdin: boolean;
  stdinOnce: boolean;
  tty: boolean;
  linux?: LinuxContainerConfig;
  /** A proto Signal name (SIGNAL_SIGTERM); SIGNAL_RUNTIME_DEFAULT leaves it to the image. */
  stopSignal: string;
}

export interface CreateContainerRequest {
  podSandboxId: string;
  config: ContainerConfig;
  sandboxConfig: PodSandboxConfig;
}

export interface ContainerFilter {
  id?: string;
  state?: ContainerState;
  podSandboxId?: string;
  labelSelector?: Labels;
}

export interface Container {
  id: string;
  podSandboxId: string;
  metadata: ContainerMetadata;
  image: ImageSpec;
  imageRef: string;
  imageId: string;
  state: ContainerState;
  createdAt: bigint;
  labels: Labels;
  annotations: Labels;
}

export interface ContainerStatus {
  id: string;
  metadata: ContainerMetadata;
  state: ContainerState;
  createdAt: bigint;
  /** 0 until started. */
  startedAt: bigint;
  /** 0 until exited. */
  finishedAt: bigint;
  exitCode: number;
  image: ImageSpec;
  imageRef: string;
  imageId: string;
  /** Why it exited: Completed, Error, OOMKilled, ContainerCannotRun… */
  reason: string;
  message: string;
  labels: Labels;
  annotations: Labels;
  mounts: Mount[];
  logPath: string;
  resources?: LinuxContainerResources;
}

export interface ContainerStatusResponse {
  status: ContainerStatus;
  info: Labels;
}

export interface ExecSyncResponse {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

export interface ExecRequest {
  containerId: string;
  cmd: string[];
  tty: boolean;
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export interface AttachRequest {
  containerId: string;
  stdin: boolean;
  tty: boolean;
  stdout: boolean;
  stderr: boolean;
}

export interface PortForwardRequest {
  podSandboxId: string;
  port: number[];
}

// ---- stats ----

export interface FilesystemUsage {
  timestamp: bigint;
  mountpoint: string;
  usedBytes?: number;
  inodesUsed?: number;
}

export interface CpuUsage {
  timestamp: bigint;
  usageCoreNanoSeconds?: number;
  usageNanoCores?: number;
}

export interface MemoryUsage {
  timestamp: bigint;
  workingSetBytes?: number;
  availableBytes?: number;
  usageBytes?: number;
  rssBytes?: number;
  pageFaults?: number;
  majorPageFaults?: number;
}

export interface ContainerAttributes {
  id: string;
  metadata: ContainerMetadata;
  labels: Labels;
  annotations: Labels;
}

export interface ContainerStats {
  attributes: ContainerAttributes;
  cpu?: CpuUsage;
  memory?: MemoryUsage;
  writableLayer?: FilesystemUsage;
}

export interface ContainerStatsFilter {
  id?: string;
  podSandboxId?: string;
  labelSelector?: Labels;
}

// ---- images ----

export interface Image {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
  uid?: number;
  username: string;
  spec?: ImageSpec;
  pinned: boolean;
}

export interface AuthConfig {
  username: string;
  password: string;
  auth: string;
  serverAddress: string;
  identityToken: string;
  registryToken: string;
}

export interface PullImageRequest {
  image: ImageSpec;
  auth?: AuthConfig;
  sandboxConfig?: PodSandboxConfig;
}

export interface ImageFsInfoResponse {
  imageFilesystems: FilesystemUsage[];
  containerFilesystems: FilesystemUsage[];
}

/** An ImageSpec naming just an image reference. */
export function imageSpec(image: string): ImageSpec {
  return { image, annotations: {}, userSpecifiedImage: "", runtimeHandler: "" };
}
