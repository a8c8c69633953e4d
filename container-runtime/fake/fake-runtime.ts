// An in-memory container runtime with a real runtime's lifecycle and no processes, for hollow nodes (the real
// kubelet over a fake runtime, as in Kubernetes' kubemark) and tests:
//   sandboxes: RunPodSandbox → SANDBOX_READY (an IP from the pod CIDR, none for host-network pods) →
//     StopPodSandbox → SANDBOX_NOTREADY (its running containers are killed: exit 137) → RemovePodSandbox;
//   containers: CreateContainer (the sandbox must be ready, the image present) → CONTAINER_CREATED →
//     StartContainer → CONTAINER_RUNNING → StopContainer (exit 143 after SIGTERM, 137 with timeout 0) or a
//     simulated exit (exitContainer) → CONTAINER_EXITED with exit code, reason and finishedAt → RemoveContainer.
// Calls the state does not allow fail FAILED_PRECONDITION, unknown ids NOT_FOUND, a second sandbox or container
// with the same name and attempt ALREADY_EXISTS, as in containerd and CRI-O. Records persist under the state
// directory when one is given, so a restarted daemon finds its sandboxes and containers (still "running": a fake
// container has no process to lose). ExecSync answers `echo`, `true`, `false`, `sh -c "exit N"` and succeeds
// with no output for anything else (enough for exec probes); Exec streams the same simulated answers (plus `cat`
// echoing stdin) through the streaming server when one is given. Attach simulates the main process: a container
// whose command is `cat` echoes the client's input, any other streams nothing until the client detaches.
// PortForward connects every port to an in-memory echo server (no process listens anywhere): enough to exercise
// the protocol end to end. Without a streaming server the three answer UNIMPLEMENTED. Stats are steady made-up
// figures (4 MiB, 1 millicore) for running containers only.
import { CriError, failedPrecondition, GrpcStatus, invalidArgument, notFound, unimplemented } from "../../client/cri/errors.js";
import type * as cri from "../../client/cri/types.js";
import type { BackendStatus, ImageBackend, RuntimeBackend } from "../backend.js";
import { matchesId, matchesLabels, newId, resolveId } from "../filters.js";
import { byCreation, checkNewContainer, checkNewSandbox, containerEntry, findRecord, listSandboxes, settle } from "../records.js";
import { RecordStore } from "../state.js";
import { echoPortConnection, simulatedAttachProcess, simulatedExecProcess } from "../streaming/exec-process.js";
import type { StreamRegistrar } from "../streaming/server.js";

export const FAKE_RUNTIME_NAME = "kubelab-fake";
export const FAKE_RUNTIME_VERSION = "0.1.0";

/** Exit codes of a process ended by SIGKILL and by SIGTERM (128 + signal number). */
const EXIT_SIGKILL = 137;
const EXIT_SIGTERM = 143;
/**
 * What a running fake container is said to use: steady, but different per container (1-20 millicores, 4-67 MiB,
 * chosen by its id), so `kubectl top` on a simulated node shows plausible, distinguishable figures.
 */
export function fakeUsage(id: string): { nanoCores: number; workingSetBytes: number } {
  let hash = 0;
  for (const ch of id) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  return { nanoCores: (1 + (hash % 20)) * 1_000_000, workingSetBytes: (4 + ((hash >>> 8) % 64)) * 1024 * 1024 };
}

export interface SandboxRecord {
  id: string;
  config: cri.PodSandboxConfig;
  runtimeHandler: string;
  state: cri.PodSandboxState;
  createdAt: bigint;
  ip: string;
}

export interface ContainerRecord {
  id: string;
  podSandboxId: string;
  config: cri.ContainerConfig;
  imageRef: string;
  state: cri.ContainerState;
  createdAt: bigint;
  startedAt: bigint;
  finishedAt: bigint;
  exitCode: number;
  reason: string;
  message: string;
  logPath: string;
}

function isRecordOf(v: unknown, keys: readonly string[]): boolean {
  return typeof v === "object" && v !== null && keys.every((k) => k in v) && typeof Reflect.get(v, "id") === "string";
}

// The files are this backend's own output; the guard checks their shape enough to reject foreign or truncated ones.
function isSandboxRecord(v: unknown): v is SandboxRecord {
  return isRecordOf(v, ["config", "state", "createdAt", "ip"]) && typeof Reflect.get(v as object, "createdAt") === "bigint";
}

function isContainerRecord(v: unknown): v is ContainerRecord {
  return isRecordOf(v, ["podSandboxId", "config", "state", "createdAt", "startedAt", "finishedAt", "exitCode"]) && typeof Reflect.get(v as object, "createdAt") === "bigint";
}

export interface FakeRuntimeOptions {
  /** Where sandbox and container records persist; in memory only when absent. */
  stateDir?: string;
  /** Checks that a container's image is present; without it every image is taken as present. */
  images?: ImageBackend;
  /** The node's pod CIDR (IPv4 /8 to /30) until the kubelet sends one with UpdateRuntimeConfig. */
  podCidr?: string;
  /** Nanoseconds since the epoch; injected by tests. */
  nowNs?: () => bigint;
  /** What Status reports; tests use it to see a not-ready runtime or network. */
  status?: () => BackendStatus;
  /** The streaming server Exec, Attach and PortForward hand sessions to; without one, they answer UNIMPLEMENTED. */
  streaming?: StreamRegistrar;
}

export class FakeRuntimeBackend implements RuntimeBackend {
  readonly name = FAKE_RUNTIME_NAME;
  readonly version = FAKE_RUNTIME_VERSION;
  private readonly sandboxes = new Map<string, SandboxRecord>();
  private readonly containers = new Map<string, ContainerRecord>();
  private readonly sandboxStore: RecordStore<SandboxRecord> | undefined;
  private readonly containerStore: RecordStore<ContainerRecord> | undefined;
  private readonly nowNs: () => bigint;
  private podCidr: string | undefined;
  /** Records that could not be loaded at start, reported in Status info. */
  private rejected: string[] = [];

  constructor(private readonly options: FakeRuntimeOptions = {}) {
    this.nowNs = options.nowNs ?? (() => BigInt(Date.now()) * 1_000_000n);
    this.podCidr = options.podCidr;
    if (options.stateDir !== undefined) {
      this.sandboxStore = new RecordStore(options.stateDir, "sandboxes", isSandboxRecord);
      this.containerStore = new RecordStore(options.stateDir, "containers", isContainerRecord);
    }
  }

  start(): Promise<void> {
    if (this.sandboxStore && this.containerStore) {
      const sandboxes = this.sandboxStore.load();
      const containers = this.containerStore.load();
      for (const [id, record] of sandboxes.records) this.sandboxes.set(id, record);
      for (const [id, record] of containers.records) this.containers.set(id, record);
      this.rejected = [...sandboxes.rejected, ...containers.rejected].map((r) => `${r.file}: ${r.reason}`);
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  status(): Promise<BackendStatus> {
    if (this.options.status) return Promise.resolve(this.options.status());
    const degraded: Record<string, string> = {};
    if (this.rejected.length > 0) degraded.state = `records not loaded: ${this.rejected.join("; ")}`;
    return Promise.resolve({ runtime: { ready: true }, network: { ready: true }, degraded });
  }

  updatePodCidr(podCidr: string): Promise<void> {
    if (podCidr !== "") {
      parseCidr(podCidr);
      this.podCidr = podCidr;
    }
    return Promise.resolve();
  }

  /** The number of sandboxes and containers held (for hollow-node metrics and tests). */
  get counts(): { sandboxes: number; containers: number } {
    return { sandboxes: this.sandboxes.size, containers: this.containers.size };
  }

  // ---- sandboxes ----

  runPodSandbox(config: cri.PodSandboxConfig, runtimeHandler: string): Promise<string> {
    try {
      checkNewSandbox(this.sandboxes.values(), config, runtimeHandler);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const hostNetwork = config.linux?.namespaceOptions?.network === "NODE";
    const record: SandboxRecord = { id: newId(), config, runtimeHandler, state: "SANDBOX_READY", createdAt: this.nowNs(), ip: hostNetwork ? "" : this.allocateIp() };
    this.saveSandbox(record);
    return Promise.resolve(record.id);
  }

  stopPodSandbox(id: string): Promise<void> {
    return this.run(() => {
      const sandbox = resolveId(this.sandboxes, id, "pod sandbox").record;
      for (const c of this.containers.values()) {
        if (c.podSandboxId === sandbox.id && c.state === "CONTAINER_RUNNING") this.exit(c, EXIT_SIGKILL, "Error", "");
      }
      if (sandbox.state !== "SANDBOX_NOTREADY") this.saveSandbox({ ...sandbox, state: "SANDBOX_NOTREADY", ip: "" });
    });
  }

  removePodSandbox(id: string): Promise<void> {
    return this.run(() => {
      const found = this.find(this.sandboxes, id);
      if (found === undefined) return;
      for (const c of [...this.containers.values()]) if (c.podSandboxId === found.id) this.deleteContainer(c.id);
      this.sandboxes.delete(found.id);
      this.sandboxStore?.delete(found.id);
    });
  }

  podSandboxStatus(id: string): Promise<cri.PodSandboxStatusResponse> {
    return this.run(() => {
      const s = resolveId(this.sandboxes, id, "pod sandbox").record;
      const namespaceOptions = s.config.linux?.namespaceOptions;
      return {
        status: {
          id: s.id,
          metadata: s.config.metadata,
          state: s.state,
          createdAt: s.createdAt,
          ...(s.state === "SANDBOX_READY" ? { network: { ip: s.ip, additionalIps: [] } } : {}),
          ...(namespaceOptions ? { namespaceOptions } : {}),
          labels: s.config.labels,
          annotations: s.config.annotations,
          runtimeHandler: s.runtimeHandler,
        },
        info: {},
        containersStatuses: [],
        timestamp: this.nowNs(),
      };
    });
  }

  listPodSandbox(filter: cri.PodSandboxFilter): Promise<cri.PodSandbox[]> {
    return Promise.resolve(listSandboxes(this.sandboxes.values(), filter, (s) => matchesId(s.id, filter.id) && matchesLabels(s.config.labels, filter.labelSelector)));
  }

  // ---- containers ----

  async createContainer(request: cri.CreateContainerRequest): Promise<string> {
    const { config } = request;
    const sandbox = checkNewContainer(this.sandboxes, this.containers.values(), request);
    let imageRef = config.image.image;
    if (this.options.images) {
      const found = await this.options.images.imageStatus(config.image);
      if (found === undefined) throw notFound(`image "${config.image.image}" not found`);
      imageRef = found.id;
    }
    const logPath = sandbox.config.logDirectory !== "" && config.logPath !== "" ? `${sandbox.config.logDirectory.replace(/\/$/, "")}/${config.logPath}` : "";
    const record: ContainerRecord = {
      id: newId(),
      podSandboxId: sandbox.id,
      config,
      imageRef,
      state: "CONTAINER_CREATED",
      createdAt: this.nowNs(),
      startedAt: 0n,
      finishedAt: 0n,
      exitCode: 0,
      reason: "",
      message: "",
      logPath,
    };
    this.saveContainer(record);
    return record.id;
  }

  startContainer(id: string): Promise<void> {
    return this.run(() => {
      const c = resolveId(this.containers, id, "container").record;
      if (c.state !== "CONTAINER_CREATED") throw failedPrecondition(`container ${c.id} is in ${c.state} state, only a created container can be started`);
      const sandbox = this.sandboxes.get(c.podSandboxId);
      if (sandbox?.state !== "SANDBOX_READY") throw failedPrecondition(`pod sandbox ${c.podSandboxId} of container ${c.id} is not ready`);
      this.saveContainer({ ...c, state: "CONTAINER_RUNNING", startedAt: this.nowNs() });
    });
  }

  stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    return this.run(() => {
      const c = resolveId(this.containers, id, "container").record;
      if (c.state === "CONTAINER_RUNNING") this.exit(c, timeoutSeconds > 0 ? EXIT_SIGTERM : EXIT_SIGKILL, "Error", "");
      else if (c.state === "CONTAINER_CREATED") this.exit(c, 0, "", "");
    });
  }

  /** Simulates the container's process ending by itself (a crash, a completed job, an OOM kill). */
  exitContainer(id: string, exitCode: number, reason = exitCode === 0 ? "Completed" : "Error", message = ""): void {
    const c = resolveId(this.containers, id, "container").record;
    if (c.state !== "CONTAINER_RUNNING") throw failedPrecondition(`container ${c.id} is not running`);
    this.exit(c, exitCode, reason, message);
  }

  removeContainer(id: string): Promise<void> {
    return this.run(() => {
      const found = this.find(this.containers, id);
      if (found !== undefined) this.deleteContainer(found.id);
    });
  }

  listContainers(filter: cri.ContainerFilter): Promise<cri.Container[]> {
    const items = [...this.containers.values()]
      .filter(
        (c) =>
          matchesId(c.id, filter.id) &&
          (filter.state === undefined || c.state === filter.state) &&
          matchesId(c.podSandboxId, filter.podSandboxId) &&
          matchesLabels(c.config.labels, filter.labelSelector),
      )
      .sort(byCreation)
      .map((c) => containerEntry(c, c.state));
    return Promise.resolve(items);
  }

  containerStatus(id: string): Promise<cri.ContainerStatusResponse> {
    return this.run(() => {
      const c = resolveId(this.containers, id, "container").record;
      const resources = c.config.linux?.resources;
      return {
        status: {
          id: c.id,
          metadata: c.config.metadata,
          state: c.state,
          createdAt: c.createdAt,
          startedAt: c.startedAt,
          finishedAt: c.finishedAt,
          exitCode: c.exitCode,
          image: c.config.image,
          imageRef: c.imageRef,
          imageId: c.imageRef,
          reason: c.reason,
          message: c.message,
          labels: c.config.labels,
          annotations: c.config.annotations,
          mounts: c.config.mounts,
          logPath: c.logPath,
          ...(resources ? { resources } : {}),
        },
        info: {},
      };
    });
  }

  updateContainerResources(id: string, resources: cri.LinuxContainerResources): Promise<void> {
    return this.run(() => {
      const c = resolveId(this.containers, id, "container").record;
      if (c.state === "CONTAINER_EXITED") throw failedPrecondition(`container ${c.id} has exited`);
      const linux: cri.LinuxContainerConfig = c.config.linux ?? emptyLinuxConfig();
      this.saveContainer({ ...c, config: { ...c.config, linux: { ...linux, resources } } });
    });
  }

  reopenContainerLog(id: string): Promise<void> {
    return this.run(() => {
      const c = resolveId(this.containers, id, "container").record;
      if (c.state !== "CONTAINER_RUNNING") throw failedPrecondition(`container ${c.id} is not running`);
    });
  }

  execSync(id: string, cmd: readonly string[], _timeoutSeconds: number): Promise<cri.ExecSyncResponse> {
    return this.run(() => {
      const c = resolveId(this.containers, id, "container").record;
      if (c.state !== "CONTAINER_RUNNING") throw failedPrecondition(`container ${c.id} is not running`);
      if (cmd.length === 0) throw invalidArgument("ExecSync needs a command");
      return fakeExec(cmd);
    });
  }

  /**
   * A URL on the streaming server for a simulated exec: `cat` echoes stdin until it is closed; any other command
   * prints what ExecSync would answer for it and exits with its code (no process runs).
   */
  exec(request: cri.ExecRequest): Promise<string> {
    return this.run(() => {
      const c = resolveId(this.containers, request.containerId, "container").record;
      if (c.state !== "CONTAINER_RUNNING") throw failedPrecondition(`container ${c.id} is not running`);
      if (request.cmd.length === 0) throw invalidArgument("Exec needs a command");
      const streaming = this.options.streaming;
      if (streaming === undefined) throw unimplemented("the fake runtime serves no exec streams without a streaming server");
      return streaming.registerExec({ ...request, containerId: c.id }, (req) => simulatedExecProcess(req.cmd, fakeExec(req.cmd)));
    });
  }

  /** A URL on the streaming server for a simulated attach to the container's main process (see the top). */
  attach(request: cri.AttachRequest): Promise<string> {
    return this.run(() => {
      const c = resolveId(this.containers, request.containerId, "container").record;
      if (c.state !== "CONTAINER_RUNNING") throw failedPrecondition(`container ${c.id} is not running`);
      const streaming = this.options.streaming;
      if (streaming === undefined) throw unimplemented("the fake runtime serves no attach streams without a streaming server");
      const command = [...c.config.command, ...c.config.args];
      return streaming.registerAttach({ ...request, containerId: c.id }, () => simulatedAttachProcess(command));
    });
  }

  /** A URL on the streaming server whose every port answers as an echo server. */
  portForward(request: cri.PortForwardRequest): Promise<string> {
    return this.run(() => {
      const s = resolveId(this.sandboxes, request.podSandboxId, "pod sandbox").record;
      if (s.state !== "SANDBOX_READY") throw failedPrecondition(`pod sandbox ${s.id} is not ready`);
      const streaming = this.options.streaming;
      if (streaming === undefined) throw unimplemented("the fake runtime serves no port-forward streams without a streaming server");
      return streaming.registerPortForward({ ...request, podSandboxId: s.id }, () => echoPortConnection());
    });
  }

  containerStats(id: string): Promise<cri.ContainerStats> {
    return this.run(() => this.stats(resolveId(this.containers, id, "container").record));
  }

  listContainerStats(filter: cri.ContainerStatsFilter): Promise<cri.ContainerStats[]> {
    const items = [...this.containers.values()]
      .filter((c) => c.state === "CONTAINER_RUNNING" && matchesId(c.id, filter.id) && matchesId(c.podSandboxId, filter.podSandboxId) && matchesLabels(c.config.labels, filter.labelSelector))
      .map((c) => this.stats(c));
    return Promise.resolve(items);
  }

  // ---- helpers ----

  private run<T>(body: () => T): Promise<T> {
    return settle(body);
  }

  private find<T>(records: ReadonlyMap<string, T>, id: string): { id: string; record: T } | undefined {
    return findRecord(records, id);
  }

  private exit(c: ContainerRecord, exitCode: number, reason: string, message: string): void {
    this.saveContainer({ ...c, state: "CONTAINER_EXITED", finishedAt: this.nowNs(), exitCode, reason, message });
  }

  private stats(c: ContainerRecord): cri.ContainerStats {
    const timestamp = this.nowNs();
    const running = c.state === "CONTAINER_RUNNING";
    const ranNs = running && c.startedAt > 0n ? timestamp - c.startedAt : c.finishedAt > c.startedAt ? c.finishedAt - c.startedAt : 0n;
    const usage = fakeUsage(c.id);
    const memory = running ? usage.workingSetBytes : 0;
    return {
      attributes: { id: c.id, metadata: c.config.metadata, labels: c.config.labels, annotations: c.config.annotations },
      cpu: { timestamp, usageCoreNanoSeconds: Number((ranNs * BigInt(usage.nanoCores)) / 1_000_000_000n), usageNanoCores: running ? usage.nanoCores : 0 },
      memory: { timestamp, workingSetBytes: memory, usageBytes: memory, rssBytes: memory },
      writableLayer: { timestamp, mountpoint: "/", usedBytes: 0, inodesUsed: 0 },
    };
  }

  private saveSandbox(record: SandboxRecord): void {
    this.sandboxes.set(record.id, record);
    this.sandboxStore?.save(record.id, record);
  }

  private saveContainer(record: ContainerRecord): void {
    this.containers.set(record.id, record);
    this.containerStore?.save(record.id, record);
  }

  private deleteContainer(id: string): void {
    this.containers.delete(id);
    this.containerStore?.delete(id);
  }

  /** The lowest free host address of the pod CIDR after the gateway (.1); "" without a CIDR. */
  private allocateIp(): string {
    if (this.podCidr === undefined) return "";
    const { base, size } = parseCidr(this.podCidr);
    const used = new Set([...this.sandboxes.values()].filter((s) => s.state === "SANDBOX_READY").map((s) => s.ip));
    for (let offset = 2; offset < size - 1; offset++) {
      const ip = formatIp(base + offset);
      if (!used.has(ip)) return ip;
    }
    throw new CriError(GrpcStatus.RESOURCE_EXHAUSTED, `no free address left in pod CIDR ${this.podCidr}`);
  }
}

function emptyLinuxConfig(): cri.LinuxContainerConfig {
  return {
    privileged: false,
    runAsUsername: "",
    readonlyRootfs: false,
    supplementalGroups: [],
    noNewPrivs: false,
    addCapabilities: [],
    dropCapabilities: [],
    maskedPaths: [],
    readonlyPaths: [],
  };
}

/** An IPv4 CIDR as its first address and size; INVALID_ARGUMENT for anything else. */
export function parseCidr(cidr: string): { base: number; size: number } {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
  const octets = m ? [m[1], m[2], m[3], m[4]].map(Number) : [];
  const prefix = m ? Number(m[5]) : -1;
  if (octets.length !== 4 || octets.some((o) => o > 255) || prefix < 8 || prefix > 30) throw invalidArgument(`pod CIDR ${JSON.stringify(cidr)} is not an IPv4 CIDR from /8 to /30`);
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  return { base: address - (address % size), size };
}

function formatIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join(".");
}

function fakeExec(cmd: readonly string[]): cri.ExecSyncResponse {
  const [program, ...args] = cmd;
  const ok = (stdout = ""): cri.ExecSyncResponse => ({ stdout: Buffer.from(stdout), stderr: Buffer.alloc(0), exitCode: 0 });
  switch (program) {
    case "echo":
      return ok(`${args.join(" ")}\n`);
    case "false":
      return { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: 1 };
    case "sh":
    case "/bin/sh": {
      const script = args[0] === "-c" ? (args[1] ?? "") : "";
      const exit = /^\s*exit\s+(\d+)\s*$/.exec(script);
      return exit ? { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: Number(exit[1]) } : ok();
    }
    case "true":
    case undefined:
    default:
      return ok();
  }
}
