// A typed CRI v1 client over gRPC: one channel to a runtime's endpoint (unix:///run/…/runtime.sock), both the
// RuntimeService and the ImageService, each call returning the typed values of types.ts and failing with a
// CriError that carries the gRPC status code. It speaks the real protocol, so it drives kubelab's runtime,
// containerd or CRI-O alike.
import { Client, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { toCriError } from "./errors.js";
import { criMethod, type CriServiceName } from "./proto.js";
import type * as cri from "./types.js";
import * as wire from "./wire.js";

export interface CriClientOptions {
  /** Per-call deadline; the kubelet's --runtime-request-timeout defaults to 2 minutes. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 120_000;

/**
 * The runtime is a local socket that comes back within a second of a restart: reconnect quickly (gRPC's default
 * backoff grows to 2 minutes, during which every call fails at once with the last connect error).
 */
const CHANNEL_OPTIONS = { "grpc.initial_reconnect_backoff_ms": 100, "grpc.max_reconnect_backoff_ms": 1000 } as const;

/** `unix:///path`, `unix:/path` or a bare absolute path, as gRPC's target string. */
export function criTarget(endpoint: string): string {
  if (endpoint.startsWith("unix:")) return endpoint;
  if (endpoint.startsWith("/")) return `unix://${endpoint}`;
  return endpoint;
}

export class CriClient {
  private readonly client: Client;
  private readonly timeoutMs: number;

  constructor(endpoint: string, options: CriClientOptions = {}) {
    this.client = new Client(criTarget(endpoint), credentials.createInsecure(), CHANNEL_OPTIONS);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  close(): void {
    this.client.close();
  }

  private call(service: CriServiceName, name: string, request: wire.WireObject, timeoutMs = this.timeoutMs): Promise<wire.WireObject> {
    const method = criMethod(service, name);
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        new Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err: ServiceError | null, response?: wire.WireObject) => {
          if (err) reject(toCriError(err));
          else resolve(response ?? {});
        },
      );
    });
  }

  private runtime(name: string, request: wire.WireObject = {}, timeoutMs?: number): Promise<wire.WireObject> {
    return this.call("RuntimeService", name, request, timeoutMs);
  }

  private images(name: string, request: wire.WireObject = {}): Promise<wire.WireObject> {
    return this.call("ImageService", name, request);
  }

  // ---- runtime ----

  async version(apiVersion = "v1"): Promise<cri.VersionResponse> {
    return wire.versionResponse.decode(await this.runtime("Version", { version: apiVersion }));
  }

  async status(verbose = false): Promise<cri.StatusResponse> {
    return wire.statusResponse.decode(await this.runtime("Status", { verbose }));
  }

  async runtimeConfig(): Promise<{ cgroupDriver: "SYSTEMD" | "CGROUPFS" }> {
    const res = await this.runtime("RuntimeConfig");
    return { cgroupDriver: wire.messageField(res, "linux")?.cgroupDriver === "CGROUPFS" ? "CGROUPFS" : "SYSTEMD" };
  }

  async updateRuntimeConfig(podCidr: string): Promise<void> {
    await this.runtime("UpdateRuntimeConfig", { runtimeConfig: { networkConfig: { podCidr } } });
  }

  /** Returns the new sandbox's id. */
  async runPodSandbox(config: cri.PodSandboxConfig, runtimeHandler = ""): Promise<string> {
    return wire.stringField(await this.runtime("RunPodSandbox", { config: wire.podSandboxConfig.encode(config), runtimeHandler }), "podSandboxId");
  }

  async stopPodSandbox(podSandboxId: string): Promise<void> {
    await this.runtime("StopPodSandbox", { podSandboxId });
  }

  async removePodSandbox(podSandboxId: string): Promise<void> {
    await this.runtime("RemovePodSandbox", { podSandboxId });
  }

  async podSandboxStatus(podSandboxId: string, verbose = false): Promise<cri.PodSandboxStatusResponse> {
    return wire.podSandboxStatusResponse.decode(await this.runtime("PodSandboxStatus", { podSandboxId, verbose }));
  }

  async listPodSandbox(filter?: cri.PodSandboxFilter): Promise<cri.PodSandbox[]> {
    const res = await this.runtime("ListPodSandbox", filter ? { filter: wire.podSandboxFilter.encode(filter) } : {});
    return wire.decodeList(res, "items", wire.podSandbox);
  }

  /** Returns the new container's id. */
  async createContainer(request: cri.CreateContainerRequest): Promise<string> {
    return wire.stringField(await this.runtime("CreateContainer", wire.createContainerRequest.encode(request)), "containerId");
  }

  async startContainer(containerId: string): Promise<void> {
    await this.runtime("StartContainer", { containerId });
  }

  /** Signals the container's stop signal, then SIGKILL after `timeoutSeconds`; the call waits that long too. */
  async stopContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    await this.runtime("StopContainer", { containerId, timeout: String(timeoutSeconds) }, this.timeoutMs + timeoutSeconds * 1000);
  }

  async removeContainer(containerId: string): Promise<void> {
    await this.runtime("RemoveContainer", { containerId });
  }

  async listContainers(filter?: cri.ContainerFilter): Promise<cri.Container[]> {
    const res = await this.runtime("ListContainers", filter ? { filter: wire.containerFilter.encode(filter) } : {});
    return wire.decodeList(res, "containers", wire.container);
  }

  async containerStatus(containerId: string, verbose = false): Promise<cri.ContainerStatusResponse> {
    return wire.containerStatusResponse.decode(await this.runtime("ContainerStatus", { containerId, verbose }));
  }

  async updateContainerResources(containerId: string, resources: cri.LinuxContainerResources): Promise<void> {
    await this.runtime("UpdateContainerResources", { containerId, linux: wire.linuxContainerResources.encode(resources) });
  }

  async reopenContainerLog(containerId: string): Promise<void> {
    await this.runtime("ReopenContainerLog", { containerId });
  }

  /** Runs a command in the container and waits; `timeoutSeconds` 0 means no limit on the runtime's side. */
  async execSync(containerId: string, cmd: readonly string[], timeoutSeconds = 0): Promise<cri.ExecSyncResponse> {
    const res = await this.runtime("ExecSync", { containerId, cmd: [...cmd], timeout: String(timeoutSeconds) }, this.timeoutMs + timeoutSeconds * 1000);
    return wire.execSyncResponse.decode(res);
  }

  /** The streaming server's URL for an interactive exec session. */
  async exec(request: cri.ExecRequest): Promise<string> {
    return wire.stringField(await this.runtime("Exec", wire.execRequest.encode(request)), "url");
  }

  async attach(request: cri.AttachRequest): Promise<string> {
    return wire.stringField(await this.runtime("Attach", wire.attachRequest.encode(request)), "url");
  }

  async portForward(request: cri.PortForwardRequest): Promise<string> {
    return wire.stringField(await this.runtime("PortForward", wire.portForwardRequest.encode(request)), "url");
  }

  async containerStats(containerId: string): Promise<cri.ContainerStats> {
    return wire.containerStats.decode(wire.messageField(await this.runtime("ContainerStats", { containerId }), "stats"));
  }

  async listContainerStats(filter?: cri.ContainerStatsFilter): Promise<cri.ContainerStats[]> {
    const res = await this.runtime("ListContainerStats", filter ? { filter: wire.containerStatsFilter.encode(filter) } : {});
    return wire.decodeList(res, "stats", wire.containerStats);
  }

  // ---- images ----

  /** Returns the image reference (its id) the runtime pulled. */
  async pullImage(request: cri.PullImageRequest): Promise<string> {
    return wire.stringField(await this.images("PullImage", wire.pullImageRequest.encode(request)), "imageRef");
  }

  async listImages(filter?: cri.ImageSpec): Promise<cri.Image[]> {
    const res = await this.images("ListImages", filter ? { filter: { image: wire.imageSpec.encode(filter) } } : {});
    return wire.decodeList(res, "images", wire.image);
  }

  /** The image, or undefined when the runtime does not have it (not an error in the CRI). */
  async imageStatus(spec: cri.ImageSpec, verbose = false): Promise<cri.Image | undefined> {
    const found = wire.messageField(await this.images("ImageStatus", { image: wire.imageSpec.encode(spec), verbose }), "image");
    if (found === undefined) return undefined;
    const decoded = wire.image.decode(found);
    return decoded.id === "" ? undefined : decoded;
  }

  async removeImage(spec: cri.ImageSpec): Promise<void> {
    await this.images("RemoveImage", { image: wire.imageSpec.encode(spec) });
  }

  async imageFsInfo(): Promise<cri.ImageFsInfoResponse> {
    return wire.imageFsInfoResponse.decode(await this.images("ImageFsInfo"));
  }
}
