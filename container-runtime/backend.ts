// What the runtime daemon's gRPC service delegates to. RuntimeBackend runs pod sandboxes and containers (the oci
// backend with runc, conmon and CNI; the fake one in memory, for hollow nodes and tests); ImageBackend keeps the
// images (the on-disk OCI store; the fake one in memory). Both speak the typed CRI values of client/cri/types.ts,
// so the service only converts and routes; they report failures as CriError with the gRPC code a CRI runtime
// uses (NOT_FOUND for an unknown id, INVALID_ARGUMENT for a bad request, FAILED_PRECONDITION for a state that
// forbids the call, UNIMPLEMENTED for what the backend cannot do).
import type * as cri from "../client/cri/types.js";

/** Why a backend is not (fully) ready, for the RuntimeReady and NetworkReady conditions of Status. */
export interface BackendCondition {
  ready: boolean;
  /** A CamelCase word, set when not ready (e.g. "NetworkPluginNotReady"). */
  reason?: string;
  message?: string;
}

export interface BackendStatus {
  runtime: BackendCondition;
  network: BackendCondition;
  /**
   * What the host refused and how the backend works around it ("cgroups": "read-only /sys/fs/cgroup: no resource
   * limits"), shown in Status info and logged at start: degraded, never silently.
   */
  degraded: Readonly<Record<string, string>>;
}

export interface RuntimeBackend {
  /** The runtime name and version Version reports (e.g. "kubelab-fake", "0.1.0"). */
  readonly name: string;
  readonly version: string;
  /** Loads persisted state (sandboxes, containers) and probes the host; called once before serving. */
  start(): Promise<void>;
  /** Stops background work; containers keep running (they outlive the daemon). */
  close(): Promise<void>;
  status(): Promise<BackendStatus>;
  /** Takes the node's pod CIDR from the kubelet (UpdateRuntimeConfig). */
  updatePodCidr(podCidr: string): Promise<void>;

  runPodSandbox(config: cri.PodSandboxConfig, runtimeHandler: string): Promise<string>;
  /** Stops every container of the sandbox and tears down its network; idempotent, NOT_FOUND only if never known. */
  stopPodSandbox(id: string): Promise<void>;
  /** Removes the sandbox and its containers; removing an unknown sandbox succeeds (the CRI makes it idempotent). */
  removePodSandbox(id: string): Promise<void>;
  podSandboxStatus(id: string): Promise<cri.PodSandboxStatusResponse>;
  listPodSandbox(filter: cri.PodSandboxFilter): Promise<cri.PodSandbox[]>;

  createContainer(request: cri.CreateContainerRequest): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** Stop signal, then SIGKILL after timeoutSeconds; stopping an exited container succeeds. */
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  /** Removing an unknown container succeeds, as in the CRI. */
  removeContainer(id: string): Promise<void>;
  listContainers(filter: cri.ContainerFilter): Promise<cri.Container[]>;
  containerStatus(id: string): Promise<cri.ContainerStatusResponse>;
  updateContainerResources(id: string, resources: cri.LinuxContainerResources): Promise<void>;
  reopenContainerLog(id: string): Promise<void>;

  execSync(id: string, cmd: readonly string[], timeoutSeconds: number): Promise<cri.ExecSyncResponse>;
  /** The streaming URLs for exec, attach and port-forward sessions. */
  exec(request: cri.ExecRequest): Promise<string>;
  attach(request: cri.AttachRequest): Promise<string>;
  portForward(request: cri.PortForwardRequest): Promise<string>;

  containerStats(id: string): Promise<cri.ContainerStats>;
  listContainerStats(filter: cri.ContainerStatsFilter): Promise<cri.ContainerStats[]>;
}

export interface ImageBackend {
  /** Loads the store; called once before serving. */
  start(): Promise<void>;
  close(): Promise<void>;
  /** Pulls (or finds) the image and returns its id (the config digest, "sha256:…"); an image that exists nowhere fails NOT_FOUND with "ErrImagePull"-style text. */
  pullImage(request: cri.PullImageRequest): Promise<string>;
  listImages(filter: cri.ImageSpec | undefined): Promise<cri.Image[]>;
  /** The image by reference or id, or undefined when it is not present. */
  imageStatus(spec: cri.ImageSpec): Promise<cri.Image | undefined>;
  /** Removing an absent image succeeds. */
  removeImage(spec: cri.ImageSpec): Promise<void>;
  imageFsInfo(): Promise<cri.ImageFsInfoResponse>;
}
