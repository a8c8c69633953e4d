// An in-memory PodRuntime for the pod lifecycle's unit tests: sandboxes get IPs from a counter, containers run
// until the test ends them (exit) or the kubelet stops them, or until their command ends by itself as on a hollow
// node (command-fate.ts: `sleep N`, `exit K`, `echo`, `true`, `false`; applied when the runtime is next asked, by the
// clock), images are known by name. Every call is recorded.
import { CriError, GrpcStatus } from "../../client/cri/errors.js";
import type * as cri from "../../client/cri/types.js";
import type { Clock } from "../../component-base/clock.js";
import { commandFate } from "./command-fate.js";
import type { PodRuntime } from "./runtime.js";

interface FakeSandbox {
  config: cri.PodSandboxConfig;
  id: string;
  state: cri.PodSandboxState;
  createdAt: bigint;
  ip: string;
}

interface FakeContainer {
  id: string;
  sandboxId: string;
  config: cri.ContainerConfig;
  state: cri.ContainerState;
  createdAt: bigint;
  startedAt: bigint;
  finishedAt: bigint;
  exitCode: number;
  reason: string;
  /** When the command ends by itself (clock ms), and with which code. */
  plannedExit?: { atMs: number; exitCode: number };
}

function matches(labels: Readonly<Record<string, string>>, selector: Readonly<Record<string, string>> | undefined): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

export class FakePodRuntime implements PodRuntime {
  readonly calls: string[] = [];
  readonly sandboxes = new Map<string, FakeSandbox>();
  readonly containers = new Map<string, FakeContainer>();
  readonly images: Set<string>;
  private seq = 0;

  constructor(
    private readonly clock: Clock,
    images: readonly string[] = ["busybox"],
  ) {
    this.images = new Set(images);
  }

  private ns(): bigint {
    // Strictly increasing, so records made in one fake instant still order.
    return BigInt(this.clock.now()) * 1_000_000n + BigInt(this.seq++);
  }

  private record(call: string): void {
    this.calls.push(call);
  }

  /** The container ends by itself with `exitCode` (reason Completed or Error, or as given). */
  exit(id: string, exitCode: number, reason = exitCode === 0 ? "Completed" : "Error"): void {
    const c = this.containers.get(id);
    if (!c) throw new Error(`no container ${id}`);
    Object.assign(c, { state: "CONTAINER_EXITED", exitCode, reason, finishedAt: this.ns() });
    delete c.plannedExit;
  }

  /** Ends every running container whose command's time has come. */
  private settle(): void {
    const now = this.clock.now();
    for (const c of this.containers.values()) {
      if (c.plannedExit && c.state === "CONTAINER_RUNNING" && now >= c.plannedExit.atMs) this.exit(c.id, c.plannedExit.exitCode);
    }
  }

  /** The running containers named `name`. */
  running(name: string): FakeContainer[] {
    this.settle();
    return [...this.containers.values()].filter((c) => c.config.metadata.name === name && c.state === "CONTAINER_RUNNING");
  }

  version(): Promise<cri.VersionResponse> {
    return Promise.resolve({ version: "0.1.0", runtimeName: "fake", runtimeVersion: "0.1.0", runtimeApiVersion: "v1" });
  }

  status(): Promise<cri.StatusResponse> {
    return Promise.resolve({ conditions: [], info: {} });
  }

  updateRuntimeConfig(): Promise<void> {
    return Promise.resolve();
  }

  runPodSandbox(config: cri.PodSandboxConfig): Promise<string> {
    this.record(`RunPodSandbox ${config.metadata.name} ${config.metadata.attempt}`);
    const id = `sb${++this.seq}`;
    this.sandboxes.set(id, { config, id, state: "SANDBOX_READY", createdAt: this.ns(), ip: `10.244.0.${this.sandboxes.size + 2}` });
    return Promise.resolve(id);
  }

  stopPodSandbox(id: string): Promise<void> {
    this.record(`StopPodSandbox ${id}`);
    const s = this.sandboxes.get(id);
    if (!s) return Promise.reject(new CriError(GrpcStatus.NOT_FOUND, `no sandbox ${id}`));
    s.state = "SANDBOX_NOTREADY";
    for (const c of this.containers.values()) if (c.sandboxId === id && c.state === "CONTAINER_RUNNING") this.exit(c.id, 137);
    return Promise.resolve();
  }

  removePodSandbox(id: string): Promise<void> {
    this.record(`RemovePodSandbox ${id}`);
    this.sandboxes.delete(id);
    for (const c of [...this.containers.values()]) if (c.sandboxId === id) this.containers.delete(c.id);
    return Promise.resolve();
  }

  podSandboxStatus(id: string): Promise<cri.PodSandboxStatusResponse> {
    const s = this.sandboxes.get(id);
    if (!s) return Promise.reject(new CriError(GrpcStatus.NOT_FOUND, `no sandbox ${id}`));
    return Promise.resolve({
      status: { id, metadata: s.config.metadata, state: s.state, createdAt: s.createdAt, network: { ip: s.ip, additionalIps: [] }, labels: s.config.labels, annotations: s.config.annotations, runtimeHandler: "" },
      info: {},
      containersStatuses: [],
      timestamp: this.ns(),
    });
  }

  listPodSandbox(filter?: cri.PodSandboxFilter): Promise<cri.PodSandbox[]> {
    const out = [...this.sandboxes.values()]
      .filter((s) => (filter?.id === undefined || s.id === filter.id) && (filter?.state === undefined || s.state === filter.state) && matches(s.config.labels, filter?.labelSelector))
      .map((s) => ({ id: s.id, metadata: s.config.metadata, state: s.state, createdAt: s.createdAt, labels: s.config.labels, annotations: s.config.annotations, runtimeHandler: "" }));
    return Promise.resolve(out);
  }

  createContainer(request: cri.CreateContainerRequest): Promise<string> {
    this.record(`CreateContainer ${request.config.metadata.name} ${request.config.metadata.attempt}`);
    if (!this.images.has(request.config.image.image)) return Promise.reject(new CriError(GrpcStatus.NOT_FOUND, `image ${request.config.image.image} not found`));
    const id = `c${++this.seq}`;
    this.containers.set(id, { id, sandboxId: request.podSandboxId, config: request.config, state: "CONTAINER_CREATED", createdAt: this.ns(), startedAt: 0n, finishedAt: 0n, exitCode: 0, reason: "" });
    return Promise.resolve(id);
  }

  startContainer(id: string): Promise<void> {
    this.record(`StartContainer ${id}`);
    const c = this.containers.get(id);
    if (!c) return Promise.reject(new CriError(GrpcStatus.NOT_FOUND, `no container ${id}`));
    c.state = "CONTAINER_RUNNING";
    c.startedAt = this.ns();
    const fate = commandFate(c.config.command, c.config.args);
    if (fate) c.plannedExit = { atMs: this.clock.now() + fate.afterMs, exitCode: fate.exitCode };
    this.settle();
    return Promise.resolve();
  }

  stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    this.record(`StopContainer ${id} ${timeoutSeconds}`);
    const c = this.containers.get(id);
    if (c?.state === "CONTAINER_RUNNING") this.exit(id, timeoutSeconds > 0 ? 143 : 137);
    return Promise.resolve();
  }

  removeContainer(id: string): Promise<void> {
    this.record(`RemoveContainer ${id}`);
    this.containers.delete(id);
    return Promise.resolve();
  }

  listContainers(filter?: cri.ContainerFilter): Promise<cri.Container[]> {
    this.settle();
    const out = [...this.containers.values()]
      .filter((c) => (filter?.id === undefined || c.id === filter.id) && (filter?.podSandboxId === undefined || c.sandboxId === filter.podSandboxId) && (filter?.state === undefined || c.state === filter.state) && matches(c.config.labels, filter?.labelSelector))
      .map((c) => ({ id: c.id, podSandboxId: c.sandboxId, metadata: c.config.metadata, image: c.config.image, imageRef: `${c.config.image.image}@sha256:1`, imageId: "sha256:1", state: c.state, createdAt: c.createdAt, labels: c.config.labels, annotations: c.config.annotations }));
    return Promise.resolve(out);
  }

  containerStatus(id: string): Promise<cri.ContainerStatusResponse> {
    this.settle();
    const c = this.containers.get(id);
    if (!c) return Promise.reject(new CriError(GrpcStatus.NOT_FOUND, `no container ${id}`));
    return Promise.resolve({
      status: {
        id,
        metadata: c.config.metadata,
        state: c.state,
        createdAt: c.createdAt,
        startedAt: c.startedAt,
        finishedAt: c.finishedAt,
        exitCode: c.exitCode,
        image: c.config.image,
        imageRef: `${c.config.image.image}@sha256:1`,
        imageId: "sha256:1",
        reason: c.reason,
        message: "",
        labels: c.config.labels,
        annotations: c.config.annotations,
        mounts: c.config.mounts,
        logPath: "",
      },
      info: {},
    });
  }

  execSync(containerId: string, cmd: readonly string[]): Promise<cri.ExecSyncResponse> {
    this.record(`ExecSync ${containerId} ${cmd.join(" ")}`);
    return Promise.resolve({ stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: 0 });
  }

  pullImage(request: cri.PullImageRequest): Promise<string> {
    this.record(`PullImage ${request.image.image}`);
    if (!this.images.has(request.image.image)) return Promise.reject(new CriError(GrpcStatus.NOT_FOUND, `${request.image.image}: not found`));
    return Promise.resolve("sha256:1");
  }

  imageStatus(spec: cri.ImageSpec): Promise<cri.Image | undefined> {
    return Promise.resolve(this.images.has(spec.image) ? { id: "sha256:1", repoTags: [spec.image], repoDigests: [], size: 1024, username: "", pinned: false } : undefined);
  }
}
