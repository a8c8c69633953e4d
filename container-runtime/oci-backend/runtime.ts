// The CRI runtime service over real processes: pod sandboxes are named network namespaces wired by the node's CNI
// network, containers run under runc and conmon (container-runtime/oci) on a root filesystem from the image store
// (container-runtime/images).
//
// No infra ("pause") container: the pod's network namespace is a bind-mounted name under /run/netns, which keeps
// it alive without a process, and each container joins it by path. That saves a process per pod and a start on
// the sandbox's critical path; what a pause process would add (a shared IPC/UTS namespace, a PID 1 reaping for
// shareProcessNamespace) is not offered yet. The pause image is still kept present and pinned, for parity.
//
// The daemon owns the records (sandboxes and containers, persisted under --root); the container's live state is
// always read from runc and conmon's exit file, so a restarted daemon reports containers that kept running under
// conmon, and the exits that happened while it was away.
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { access, copyFile, mkdir, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { CriError, failedPrecondition, GrpcStatus, invalidArgument, notFound, unimplemented } from "../../client/cri/errors.js";
import type * as cri from "../../client/cri/types.js";
import type { Logger } from "../../component-base/logging.js";
import { silentLogger } from "../../component-base/logging.js";
import type { BackendStatus, RuntimeBackend } from "../backend.js";
import { matchesId, matchesLabels, newId, resolveId } from "../filters.js";
import type { ImageConfig } from "../images/oci.js";
import type { ImageStore } from "../images/store.js";
import { ContainerNotFoundError, writeNodeConfigList } from "../oci/index.js";
import type { OciRuntime, BindMount, HostCapabilities, ContainerRequest, ContainerResources, ContainerState as OciContainerState, PortMapping } from "../oci/index.js";
import type { ContainerLike, SandboxLike } from "../records.js";
import { byCreation, checkNewContainer, checkNewSandbox, containerEntry, findRecord, listSandboxes, settle } from "../records.js";
import { RecordStore } from "../state.js";
import { childAttachProcess, childExecProcess, childPortConnection, socketPortConnection } from "../streaming/exec-process.js";
import type { StreamRegistrar } from "../streaming/server.js";
import type { OciImageBackend } from "./images.js";

export const OCI_RUNTIME_NAME = "kubelab-runtime";
export const OCI_RUNTIME_VERSION = "0.1.0";

export interface SandboxRecord {
  id: string;
  config: cri.PodSandboxConfig;
  runtimeHandler: string;
  state: cri.PodSandboxState;
  createdAt: bigint;
  hostNetwork: boolean;
  /** The pod's IPs while its network is set up, IPv4 first. */
  ips: string[];
  netnsPath: string;
}

export interface ContainerRecord {
  id: string;
  podSandboxId: string;
  config: cri.ContainerConfig;
  imageRef: string;
  createdAt: bigint;
  logPath: string;
  /** Set when StopPodSandbox or a failed start ended it before conmon could say why (kept for ContainerStatus). */
  reason?: string;
}

function hasKeys(v: unknown, keys: readonly string[]): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && keys.every((k) => k in v) && typeof Reflect.get(v, "id") === "string";
}

function isSandboxRecord(v: unknown): v is SandboxRecord {
  return hasKeys(v, ["config", "state", "createdAt", "ips", "netnsPath", "hostNetwork"]) && typeof v.createdAt === "bigint";
}

function isContainerRecord(v: unknown): v is ContainerRecord {
  return hasKeys(v, ["podSandboxId", "config", "imageRef", "createdAt", "logPath"]) && typeof v.createdAt === "bigint";
}

/** What the backend uses of the OCI layer (an OciRuntime; a stand-in in unit tests). */
export type OciOperations = Pick<
  OciRuntime,
  | "hostCapabilities"
  | "setupPodNetwork"
  | "teardownPodNetwork"
  | "createContainer"
  | "startContainer"
  | "stopContainer"
  | "removeContainer"
  | "containerState"
  | "reopenContainerLog"
  | "execSync"
  | "spawnExec"
  | "spawnAttach"
  | "resizeTerminal"
  | "spawnPortForward"
  | "updateContainerResources"
  | "containerStats"
  | "removePodCgroup"
>;

/** What the backend uses of the images: the lookup by reference and the containers' root filesystems. */
export interface ImageOperations {
  lookup: OciImageBackend["lookup"];
  readonly store: Pick<ImageStore, "prepareRootfs" | "releaseRootfs" | "preparedContainers" | "overlayUnavailableReason">;
}

export interface OciRuntimeBackendOptions {
  /** Where sandbox and container records persist (a directory under --root). */
  stateDir: string;
  oci: OciOperations;
  images: ImageOperations;
  cniConfigDir: string;
  /** Host-local's lease directory, kept per node so that nodes sharing a host do not share leases. */
  ipamDataDir: string;
  /** The node's pod CIDR until the kubelet sends one; the CNI config is written when one is known. */
  podCidr?: string;
  /** The host's resolver file, copied for host-network pods without a DNS config; default /etc/resolv.conf. */
  hostResolvConf?: string;
  /** Where a container's log goes when the kubelet gives no log directory. */
  defaultLogDir: string;
  /** The streaming server Exec, Attach and PortForward hand sessions to; without one, they answer UNIMPLEMENTED. */
  streaming?: StreamRegistrar;
  logger?: Logger;
}

const NS_PER_MS = 1_000_000n;
const toNs = (date: Date | undefined): bigint => (date === undefined ? 0n : BigInt(date.getTime()) * NS_PER_MS);

export class OciRuntimeBackend implements RuntimeBackend {
  readonly name = OCI_RUNTIME_NAME;
  readonly version = OCI_RUNTIME_VERSION;
  private readonly sandboxes = new Map<string, SandboxRecord>();
  private readonly containers = new Map<string, ContainerRecord>();
  private readonly sandboxStore: RecordStore<SandboxRecord>;
  private readonly containerStore: RecordStore<ContainerRecord>;
  private readonly logger: Logger;
  private podCidr: string | undefined;
  private cniConfigError: string | undefined = "no pod CIDR yet (--pod-cidr or the kubelet's UpdateRuntimeConfig)";
  private rejected: string[] = [];
  private host: Promise<HostCapabilities> | undefined;
  private readonly creatingSandboxes = new Map<string, SandboxLike>();
  private readonly creatingContainers = new Map<string, ContainerLike>();

  constructor(private readonly options: OciRuntimeBackendOptions) {
    this.sandboxStore = new RecordStore(options.stateDir, "sandboxes", isSandboxRecord);
    this.containerStore = new RecordStore(options.stateDir, "containers", isContainerRecord);
    this.logger = options.logger ?? silentLogger();
    this.podCidr = options.podCidr;
  }

  async start(): Promise<void> {
    const sandboxes = this.sandboxStore.load();
    const containers = this.containerStore.load();
    for (const [id, record] of sandboxes.records) this.sandboxes.set(id, record);
    for (const [id, record] of containers.records) this.containers.set(id, record);
    this.rejected = [...sandboxes.rejected, ...containers.rejected].map((r) => `${r.file}: ${r.reason}`);
    // A pod whose network namespace is gone (the host rebooted and /run is empty) is no longer ready: the
    // kubelet then makes it a new sandbox instead of starting containers in a network that does not exist.
    for (const sandbox of [...this.sandboxes.values()]) {
      if (sandbox.state !== "SANDBOX_READY" || sandbox.hostNetwork) continue;
      const present = await access(sandbox.netnsPath).then(() => true, () => false);
      if (!present) {
        this.logger.warn({ sandbox: sandbox.id, netns: sandbox.netnsPath }, "The pod's network namespace is gone; the sandbox is not ready");
        this.saveSandbox({ ...sandbox, state: "SANDBOX_NOTREADY", ips: [] });
      }
    }
    if (this.podCidr !== undefined) await this.writeCniConfig(this.podCidr);
    // Rootfs trees of containers we no longer know (removed while we died half-way) are released.
    for (const id of await this.options.images.store.preparedContainers()) {
      if (!this.containers.has(id)) await this.options.images.store.releaseRootfs(id).catch(() => undefined);
    }
    this.logger.info({ sandboxes: this.sandboxes.size, containers: this.containers.size }, "Recovered runtime state");
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  async status(): Promise<BackendStatus> {
    // The host's tools and cgroups are probed once: the kubelet asks for Status every few seconds.
    this.host ??= this.options.oci.hostCapabilities();
    const host = await this.host;
    const degraded: Record<string, string> = {};
    for (const d of host.degraded) degraded[d.reason] = degraded[d.reason] === undefined ? d.message : `${degraded[d.reason] ?? ""}; ${d.message}`;
    const overlay = await this.options.images.store.overlayUnavailableReason();
    if (overlay !== undefined) degraded.Overlay = `containers get a copy of the image instead of an overlay: ${overlay}`;
    if (this.rejected.length > 0) degraded.State = `records not loaded: ${this.rejected.join("; ")}`;
    const runtimeProblems = [host.runcVersion === undefined ? "runc does not run" : "", host.conmonVersion === undefined ? "conmon does not run" : ""].filter((p) => p !== "");
    const missingPlugins = ["ptp", "host-local", "loopback"].filter((p) => !host.cniPluginsFound.includes(p));
    const networkProblems = [
      ...(this.cniConfigError !== undefined ? [this.cniConfigError] : []),
      ...(missingPlugins.length > 0 ? [`CNI plugins missing: ${missingPlugins.join(", ")}`] : []),
    ];
    return {
      runtime: runtimeProblems.length === 0 ? { ready: true } : { ready: false, reason: "RuntimeNotReady", message: runtimeProblems.join("; ") },
      network: networkProblems.length === 0 ? { ready: true } : { ready: false, reason: "NetworkPluginNotReady", message: networkProblems.join("; ") },
      degraded,
    };
  }

  async updatePodCidr(podCidr: string): Promise<void> {
    if (podCidr === "" || podCidr === this.podCidr) return;
    if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(podCidr)) throw invalidArgument(`pod CIDR ${JSON.stringify(podCidr)} is not an IPv4 CIDR`);
    this.podCidr = podCidr;
    await this.writeCniConfig(podCidr);
  }

  private async writeCniConfig(podCidr: string): Promise<void> {
    try {
      await mkdir(this.options.ipamDataDir, { recursive: true });
      const path = await writeNodeConfigList(this.options.cniConfigDir, { podCIDR: podCidr, ipamDataDir: this.options.ipamDataDir });
      this.cniConfigError = undefined;
      this.logger.info({ path, podCidr }, "Wrote the node's CNI network");
    } catch (err) {
      this.cniConfigError = `cannot write the CNI config into ${this.options.cniConfigDir}: ${String(err)}`;
      this.logger.error({ err }, "Cannot write the CNI config");
    }
  }

  // ---- sandboxes ----

  async runPodSandbox(config: cri.PodSandboxConfig, runtimeHandler: string): Promise<string> {
    checkNewSandbox([...this.sandboxes.values(), ...this.creatingSandboxes.values()], config, runtimeHandler);
    const id = newId();
    // Reserved while the network is set up, so that a concurrent call for the same pod and attempt is refused.
    this.creatingSandboxes.set(id, { id, config, runtimeHandler, state: "SANDBOX_NOTREADY", createdAt: 0n });
    try {
      return await this.createSandbox(id, config, runtimeHandler);
    } finally {
      this.creatingSandboxes.delete(id);
    }
  }

  private async createSandbox(id: string, config: cri.PodSandboxConfig, runtimeHandler: string): Promise<string> {
    const { name, namespace } = config.metadata;
    const hostNetwork = config.linux?.namespaceOptions?.network === "NODE";
    let ips: string[] = [];
    let netnsPath = "";
    if (!hostNetwork) {
      if (this.cniConfigError !== undefined) throw failedPrecondition(`the pod network is not ready: ${this.cniConfigError}`);
      const network = await this.options.oci.setupPodNetwork({ sandboxId: id, portMappings: config.portMappings.flatMap(portMapping) });
      ips = network.ips;
      netnsPath = network.netnsPath;
    }
    try {
      await this.writePodFiles(id, config);
    } catch (err) {
      if (!hostNetwork) await this.options.oci.teardownPodNetwork(id).catch(() => undefined);
      throw err;
    }
    const record: SandboxRecord = { id, config, runtimeHandler, state: "SANDBOX_READY", createdAt: BigInt(Date.now()) * NS_PER_MS, hostNetwork, ips, netnsPath };
    this.saveSandbox(record);
    this.logger.info({ sandbox: id, pod: `${namespace}/${name}`, ips }, "Pod sandbox ready");
    return id;
  }

  async stopPodSandbox(id: string): Promise<void> {
    const sandbox = resolveId(this.sandboxes, id, "pod sandbox").record;
    for (const c of this.containers.values()) {
      if (c.podSandboxId !== sandbox.id) continue;
      const state = await this.ociState(c.id);
      if (state !== undefined && state.status !== "stopped") await this.options.oci.stopContainer(c.id, 0);
    }
    if (!sandbox.hostNetwork) await this.options.oci.teardownPodNetwork(sandbox.id);
    if (sandbox.state !== "SANDBOX_NOTREADY" || sandbox.ips.length > 0) this.saveSandbox({ ...sandbox, state: "SANDBOX_NOTREADY", ips: [] });
  }

  async removePodSandbox(id: string): Promise<void> {
    const found = this.find(this.sandboxes, id);
    if (found === undefined) return;
    await this.stopPodSandbox(found.id);
    for (const c of [...this.containers.values()]) if (c.podSandboxId === found.id) await this.removeContainer(c.id);
    await this.options.oci.removePodCgroup(this.cgroupParent(found.record)).catch(() => undefined);
    await rm(this.podFilesDir(found.id), { recursive: true, force: true });
    this.sandboxes.delete(found.id);
    this.sandboxStore.delete(found.id);
  }

  podSandboxStatus(id: string): Promise<cri.PodSandboxStatusResponse> {
    return this.run(() => {
      const s = resolveId(this.sandboxes, id, "pod sandbox").record;
      const namespaceOptions = s.config.linux?.namespaceOptions;
      const [ip = "", ...rest] = s.ips;
      return {
        status: {
          id: s.id,
          metadata: s.config.metadata,
          state: s.state,
          createdAt: s.createdAt,
          ...(s.state === "SANDBOX_READY" ? { network: { ip, additionalIps: rest } } : {}),
          ...(namespaceOptions ? { namespaceOptions } : {}),
          labels: s.config.labels,
          annotations: s.config.annotations,
          runtimeHandler: s.runtimeHandler,
        },
        info: s.netnsPath === "" ? {} : { netns: s.netnsPath },
        containersStatuses: [],
        timestamp: BigInt(Date.now()) * NS_PER_MS,
      };
    });
  }

  listPodSandbox(filter: cri.PodSandboxFilter): Promise<cri.PodSandbox[]> {
    return Promise.resolve(listSandboxes(this.sandboxes.values(), filter, (s) => matchesId(s.id, filter.id) && matchesLabels(s.config.labels, filter.labelSelector)));
  }

  // ---- containers ----

  async createContainer(request: cri.CreateContainerRequest): Promise<string> {
    const sandbox = checkNewContainer(this.sandboxes, [...this.containers.values(), ...this.creatingContainers.values()], request);
    const id = newId();
    // Reserved while the rootfs and bundle are made, so that a concurrent call for the same name and attempt is refused.
    this.creatingContainers.set(id, { id, podSandboxId: sandbox.id, config: request.config, imageRef: "", createdAt: 0n });
    try {
      return await this.makeContainer(id, sandbox, request.config);
    } finally {
      this.creatingContainers.delete(id);
    }
  }

  private async makeContainer(id: string, sandbox: SandboxRecord, config: cri.ContainerConfig): Promise<string> {
    const image = await this.options.images.lookup(config.image.image);
    if (image === undefined) throw notFound(`image "${config.image.image}" not found`);
    const args = containerArgs(image.config, config);
    if (args.length === 0) throw invalidArgument(`container ${config.metadata.name}: no command given and image ${config.image.image} has neither entrypoint nor cmd`);

    const logPath = sandbox.config.logDirectory !== "" && config.logPath !== "" ? join(sandbox.config.logDirectory, config.logPath) : join(this.options.defaultLogDir, `${id}.log`);
    const rootfs = await this.options.images.store.prepareRootfs(id, image.id);
    const linux = config.linux;
    const user = imageUser(image.config.config?.User);
    const uid = linux?.runAsUser ?? user.uid;
    const gid = linux?.runAsGroup ?? user.gid ?? (uid !== undefined ? 0 : undefined);
    const resources = containerResources(linux?.resources);
    const hostname = sandbox.config.hostname !== "" ? sandbox.config.hostname : sandbox.config.metadata.name;
    const ociRequest: ContainerRequest = {
      id,
      sandboxId: sandbox.id,
      rootfs,
      args,
      env: containerEnv(image.config, config, hostname),
      cwd: config.workingDir !== "" ? config.workingDir : nonEmpty(image.config.config?.WorkingDir) ?? "/",
      hostname,
      // A host-network pod's containers join the daemon's own network namespace (the node's).
      netnsPath: sandbox.hostNetwork ? `/proc/${process.pid}/ns/net` : sandbox.netnsPath,
      mounts: [...this.podFileMounts(sandbox, config.mounts), ...config.mounts.map(bindMount)],
      cgroupParent: this.cgroupParent(sandbox),
      logPath,
      ...(uid !== undefined ? { uid } : {}),
      ...(gid !== undefined ? { gid } : {}),
      ...(resources !== undefined ? { resources } : {}),
      ...(linux?.readonlyRootfs === true ? { readonlyRootfs: true } : {}),
      ...(linux?.privileged === true ? { privileged: true } : {}),
      ...(linux !== undefined && linux.addCapabilities.length > 0 ? { addCapabilities: linux.addCapabilities.map(capability) } : {}),
      ...(linux !== undefined && linux.dropCapabilities.length > 0 ? { dropCapabilities: linux.dropCapabilities.map(capability) } : {}),
      ...(config.stdin ? { stdin: true, ...(config.stdinOnce ? { stdinOnce: true } : {}) } : {}),
      ...(config.tty ? { tty: true } : {}),
    };
    try {
      await this.options.oci.createContainer(ociRequest);
    } catch (err) {
      await this.options.images.store.releaseRootfs(id).catch(() => undefined);
      throw new CriError(GrpcStatus.UNKNOWN, `creating container ${config.metadata.name}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    this.saveContainer({ id, podSandboxId: sandbox.id, config, imageRef: image.id, createdAt: BigInt(Date.now()) * NS_PER_MS, logPath });
    return id;
  }

  async startContainer(id: string): Promise<void> {
    const c = resolveId(this.containers, id, "container").record;
    const state = await this.ociState(c.id);
    if (state?.status !== "created") throw failedPrecondition(`container ${c.id} is ${state?.status ?? "gone"}, only a created container can be started`);
    const sandbox = this.sandboxes.get(c.podSandboxId);
    if (sandbox?.state !== "SANDBOX_READY") throw failedPrecondition(`pod sandbox ${c.podSandboxId} of container ${c.id} is not ready`);
    try {
      await this.options.oci.startContainer(c.id);
    } catch (err) {
      throw new CriError(GrpcStatus.UNKNOWN, `starting container ${c.id}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    const c = resolveId(this.containers, id, "container").record;
    const state = await this.ociState(c.id);
    if (state === undefined || state.status === "stopped") return;
    await this.options.oci.stopContainer(c.id, Math.max(0, timeoutSeconds));
  }

  async removeContainer(id: string): Promise<void> {
    const found = this.find(this.containers, id);
    if (found === undefined) return;
    await this.options.oci.removeContainer(found.id);
    await this.options.images.store.releaseRootfs(found.id);
    this.containers.delete(found.id);
    this.containerStore.delete(found.id);
  }

  async listContainers(filter: cri.ContainerFilter): Promise<cri.Container[]> {
    const chosen = [...this.containers.values()]
      .filter((c) => matchesId(c.id, filter.id) && matchesId(c.podSandboxId, filter.podSandboxId) && matchesLabels(c.config.labels, filter.labelSelector))
      .sort(byCreation);
    const items: cri.Container[] = [];
    for (const c of chosen) {
      const state = criState(await this.ociState(c.id));
      if (filter.state !== undefined && state !== filter.state) continue;
      items.push(containerEntry(c, state));
    }
    return items;
  }

  async containerStatus(id: string): Promise<cri.ContainerStatusResponse> {
    const c = resolveId(this.containers, id, "container").record;
    const state = await this.ociState(c.id);
    const criStateValue = criState(state);
    const exited = criStateValue === "CONTAINER_EXITED";
    const exitCode = state?.exitCode ?? 0;
    const reason = !exited ? "" : state?.oomKilled === true ? "OOMKilled" : c.reason ?? (exitCode === 0 ? "Completed" : "Error");
    const resources = c.config.linux?.resources;
    return {
      status: {
        id: c.id,
        metadata: c.config.metadata,
        state: criStateValue,
        createdAt: c.createdAt,
        startedAt: toNs(state?.startedAt),
        finishedAt: toNs(state?.finishedAt),
        exitCode,
        image: c.config.image,
        imageRef: c.imageRef,
        imageId: c.imageRef,
        reason,
        message: state === undefined ? "the container is gone from the OCI runtime" : "",
        labels: c.config.labels,
        annotations: c.config.annotations,
        mounts: c.config.mounts,
        logPath: c.logPath,
        ...(resources ? { resources } : {}),
      },
      info: state !== undefined && state.pid > 0 ? { pid: String(state.pid) } : {},
    };
  }

  /** New CPU and memory limits for a created or running container, in its cgroup and in its record. */
  async updateContainerResources(id: string, resources: cri.LinuxContainerResources): Promise<void> {
    const c = resolveId(this.containers, id, "container").record;
    const status = (await this.ociState(c.id))?.status;
    if (status !== "running" && status !== "created") throw failedPrecondition(`container ${c.id} is ${status ?? "gone"}, only a created or running container can be updated`);
    try {
      await this.options.oci.updateContainerResources(c.id, containerResources(resources));
    } catch (err) {
      throw new CriError(GrpcStatus.UNKNOWN, `updating the resources of container ${c.id}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const linux = c.config.linux;
    if (linux !== undefined) this.saveContainer({ ...c, config: { ...c.config, linux: { ...linux, resources } } });
  }

  async reopenContainerLog(id: string): Promise<void> {
    const c = resolveId(this.containers, id, "container").record;
    if ((await this.ociState(c.id))?.status !== "running") throw failedPrecondition(`container ${c.id} is not running`);
    await this.options.oci.reopenContainerLog(c.id);
  }

  async execSync(id: string, cmd: readonly string[], timeoutSeconds: number): Promise<cri.ExecSyncResponse> {
    const c = resolveId(this.containers, id, "container").record;
    if (cmd.length === 0) throw invalidArgument("ExecSync needs a command");
    if ((await this.ociState(c.id))?.status !== "running") throw failedPrecondition(`container ${c.id} is not running`);
    // The CRI's 0 means "no timeout"; a day stands in for it.
    const result = await this.options.oci.execSync(c.id, cmd, timeoutSeconds > 0 ? timeoutSeconds * 1000 : 86_400_000);
    if (result.timedOut) throw new CriError(GrpcStatus.DEADLINE_EXCEEDED, `command ${JSON.stringify(cmd)} timed out after ${timeoutSeconds}s`);
    return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode };
  }

  /** A URL on the streaming server where the command runs under `runc exec` once a client connects. */
  async exec(request: cri.ExecRequest): Promise<string> {
    const c = resolveId(this.containers, request.containerId, "container").record;
    if (request.cmd.length === 0) throw invalidArgument("Exec needs a command");
    const streaming = this.options.streaming;
    if (streaming === undefined) throw unimplemented("exec streams are not served: no streaming server");
    if ((await this.ociState(c.id))?.status !== "running") throw failedPrecondition(`container ${c.id} is not running`);
    const oci = this.options.oci;
    const execDir = join(this.options.stateDir, "exec");
    return streaming.registerExec({ ...request, containerId: c.id }, (req) => {
      mkdirSync(execDir, { recursive: true });
      const pidFile = join(execDir, `${newId().slice(0, 16)}.pid`);
      const child = oci.spawnExec(req.containerId, req.cmd, { stdin: req.stdin, tty: req.tty, pidFile });
      child.once("close", () => {
        rmSync(pidFile, { force: true });
      });
      return childExecProcess(child, () => {
        // runc writes the pid file a moment after the process starts: a kill asked before then waits for it.
        if (killPidFile(pidFile)) return;
        const retry = setInterval(() => {
          if (killPidFile(pidFile)) clearInterval(retry);
        }, 50);
        retry.unref();
        child.once("close", () => { clearInterval(retry); });
      });
    });
  }

  /**
   * A URL on the streaming server where a client attaches to the container's main process through conmon (see
   * oci/relays.ts). Input reaches the process only when the container was created with stdin; a tty container's
   * terminal follows the client's resizes. Detaching leaves the container running.
   */
  async attach(request: cri.AttachRequest): Promise<string> {
    const c = resolveId(this.containers, request.containerId, "container").record;
    const streaming = this.options.streaming;
    if (streaming === undefined) throw unimplemented("attach streams are not served: no streaming server");
    if ((await this.ociState(c.id))?.status !== "running") throw failedPrecondition(`container ${c.id} is not running`);
    const oci = this.options.oci;
    const tty = c.config.tty;
    return streaming.registerAttach({ ...request, containerId: c.id }, (req) =>
      childAttachProcess(
        oci.spawnAttach(req.containerId, { stdin: req.stdin && c.config.stdin }),
        tty
          ? (size) => {
              oci.resizeTerminal(req.containerId, size).catch((err: unknown) => { this.logger.debug({ container: c.id, err }, "Cannot resize the terminal"); });
            }
          : undefined,
      ),
    );
  }

  /**
   * A URL on the streaming server where a client reaches ports on the pod's loopback: from inside the pod's
   * network namespace through a relay started with nsenter (oci/relays.ts), or directly for a host-network pod.
   */
  portForward(request: cri.PortForwardRequest): Promise<string> {
    return this.run(() => {
      const sandbox = resolveId(this.sandboxes, request.podSandboxId, "pod sandbox").record;
      const streaming = this.options.streaming;
      if (streaming === undefined) throw unimplemented("port-forward streams are not served: no streaming server");
      if (sandbox.state !== "SANDBOX_READY") throw failedPrecondition(`pod sandbox ${sandbox.id} is not ready`);
      const oci = this.options.oci;
      return streaming.registerPortForward({ ...request, podSandboxId: sandbox.id }, (port) =>
        sandbox.hostNetwork ? socketPortConnection(connect({ host: "127.0.0.1", port })) : childPortConnection(oci.spawnPortForward(sandbox.netnsPath, port)),
      );
    });
  }

  async containerStats(id: string): Promise<cri.ContainerStats> {
    return this.stats(resolveId(this.containers, id, "container").record);
  }

  async listContainerStats(filter: cri.ContainerStatsFilter): Promise<cri.ContainerStats[]> {
    const chosen = [...this.containers.values()].filter((c) => matchesId(c.id, filter.id) && matchesId(c.podSandboxId, filter.podSandboxId) && matchesLabels(c.config.labels, filter.labelSelector));
    const items: cri.ContainerStats[] = [];
    for (const c of chosen) if ((await this.ociState(c.id))?.status === "running") items.push(await this.stats(c));
    return items;
  }

  // ---- helpers ----

  /** runc's and conmon's view of a container; undefined when the OCI runtime no longer has it. */
  private async ociState(id: string): Promise<OciContainerState | undefined> {
    try {
      return await this.options.oci.containerState(id);
    } catch (err) {
      if (err instanceof ContainerNotFoundError) return undefined;
      throw err;
    }
  }

  private async stats(c: ContainerRecord): Promise<cri.ContainerStats> {
    const attributes = { id: c.id, metadata: c.config.metadata, labels: c.config.labels, annotations: c.config.annotations };
    try {
      const s = await this.options.oci.containerStats(c.id);
      const timestamp = toNs(s.timestamp);
      return {
        attributes,
        cpu: { timestamp, usageCoreNanoSeconds: s.cpuUsageNanos },
        memory: { timestamp, workingSetBytes: s.memoryWorkingSetBytes, usageBytes: s.memoryUsageBytes },
      };
    } catch (err) {
      // No cgroup to read (the host refused cgroups, or the container is gone): the figures are unknown, not zero.
      this.logger.debug({ container: c.id, err }, "No stats for the container");
      return { attributes };
    }
  }

  private podFilesDir(sandboxId: string): string {
    return join(this.options.stateDir, "pods", sandboxId);
  }

  /**
   * The files the runtime gives every container of a pod, as CRI-O does: /etc/hostname, and /etc/resolv.conf
   * from the sandbox's DNS config (the kubelet's cluster DNS, search path and options), or for a host-network pod
   * without one a copy of the host's resolv.conf. A pod network pod without a DNS config keeps its images' file.
   */
  private async writePodFiles(sandboxId: string, config: cri.PodSandboxConfig): Promise<void> {
    const dir = this.podFilesDir(sandboxId);
    await mkdir(dir, { recursive: true });
    const hostname = config.hostname !== "" ? config.hostname : config.metadata.name;
    await writeFile(join(dir, "hostname"), `${hostname}\n`);
    const dns = config.dnsConfig;
    const resolv = join(dir, "resolv.conf");
    if (dns !== undefined && (dns.servers.length > 0 || dns.searches.length > 0 || dns.options.length > 0)) await writeFile(resolv, resolvConf(dns));
    else if (config.linux?.namespaceOptions?.network === "NODE") await copyFile(this.options.hostResolvConf ?? "/etc/resolv.conf", resolv);
  }

  /** Bind mounts of the pod files, except where the container mounts its own file at the same place. */
  private podFileMounts(sandbox: SandboxRecord, mounts: readonly cri.Mount[]): BindMount[] {
    const dir = this.podFilesDir(sandbox.id);
    const files = [
      { file: "hostname", containerPath: "/etc/hostname" },
      ...(existsSync(join(dir, "resolv.conf")) ? [{ file: "resolv.conf", containerPath: "/etc/resolv.conf" }] : []),
    ];
    return files.filter((f) => !mounts.some((m) => m.containerPath === f.containerPath)).map((f) => ({ hostPath: join(dir, f.file), containerPath: f.containerPath }));
  }

  private cgroupParent(sandbox: SandboxRecord): string {
    const parent = sandbox.config.linux?.cgroupParent ?? "";
    return parent !== "" ? parent : `/kubelab/pod-${sandbox.id.slice(0, 12)}`;
  }

  private run<T>(body: () => T): Promise<T> {
    return settle(body);
  }

  private find<T>(records: ReadonlyMap<string, T>, id: string): { id: string; record: T } | undefined {
    return findRecord(records, id);
  }

  private saveSandbox(record: SandboxRecord): void {
    this.sandboxes.set(record.id, record);
    this.sandboxStore.save(record.id, record);
  }

  private saveContainer(record: ContainerRecord): void {
    this.containers.set(record.id, record);
    this.containerStore.save(record.id, record);
  }
}

/** resolv.conf(5) text for a pod's DNS config. */
export function resolvConf(dns: cri.DnsConfig): string {
  const lines = [
    ...(dns.searches.length > 0 ? [`search ${dns.searches.join(" ")}`] : []),
    ...dns.servers.map((server) => `nameserver ${server}`),
    ...(dns.options.length > 0 ? [`options ${dns.options.join(" ")}`] : []),
  ];
  return `${lines.join("\n")}\n`;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === "" ? undefined : value;
}

function criState(state: OciContainerState | undefined): cri.ContainerState {
  switch (state?.status) {
    case "created":
      return "CONTAINER_CREATED";
    case "running":
      return "CONTAINER_RUNNING";
    case "stopped":
      return "CONTAINER_EXITED";
    case "unknown":
    case undefined:
      return "CONTAINER_UNKNOWN";
  }
}

/**
 * The process's argv by Kubernetes' rules: a command replaces the image's entrypoint and drops its cmd; args
 * alone replace the cmd after the image's entrypoint; neither runs the image's entrypoint and cmd.
 */
export function containerArgs(image: ImageConfig, config: Pick<cri.ContainerConfig, "command" | "args">): string[] {
  const entrypoint = image.config?.Entrypoint ?? [];
  const cmd = image.config?.Cmd ?? [];
  if (config.command.length > 0) return [...config.command, ...config.args];
  if (config.args.length > 0) return [...entrypoint, ...config.args];
  return [...entrypoint, ...cmd];
}

/**
 * The image's environment, then HOSTNAME (the pod's hostname, as containerd and CRI-O set it), then the
 * container's variables, each replacing an earlier one of the same name.
 */
export function containerEnv(image: ImageConfig, config: Pick<cri.ContainerConfig, "envs">, hostname: string): string[] {
  const env = new Map<string, string>();
  for (const entry of image.config?.Env ?? []) {
    const eq = entry.indexOf("=");
    env.set(eq < 0 ? entry : entry.slice(0, eq), eq < 0 ? "" : entry.slice(eq + 1));
  }
  env.set("HOSTNAME", hostname);
  for (const { key, value } of config.envs) env.set(key, value);
  if (!env.has("PATH")) env.set("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  return [...env].map(([key, value]) => `${key}=${value}`);
}

/** CRI resources as the OCI layer takes them: shares → CPU request, quota/period → CPU limit, memory limit. */
export function containerResources(resources: cri.LinuxContainerResources | undefined): ContainerResources | undefined {
  if (resources === undefined) return undefined;
  const out: ContainerResources = {};
  if (resources.cpuShares > 2) out.cpuRequestMilli = Math.round((resources.cpuShares * 1000) / 1024);
  if (resources.cpuQuota > 0 && resources.cpuPeriod > 0) out.cpuLimitMilli = Math.round((resources.cpuQuota * 1000) / resources.cpuPeriod);
  if (resources.memoryLimitInBytes > 0) out.memoryLimitBytes = resources.memoryLimitInBytes;
  return Object.keys(out).length > 0 ? out : undefined;
}

/** A numeric "uid[:gid]" image user; names are left to the image's default (root). */
function imageUser(user: string | undefined): { uid?: number; gid?: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(user ?? "");
  if (m === null) return {};
  return { uid: Number(m[1]), ...(m[2] !== undefined ? { gid: Number(m[2]) } : {}) };
}

function capability(name: string): string {
  return name.startsWith("CAP_") ? name : `CAP_${name}`;
}

function bindMount(mount: cri.Mount): BindMount {
  return { hostPath: mount.hostPath, containerPath: mount.containerPath, ...(mount.readonly ? { readOnly: true } : {}) };
}

function portMapping(mapping: cri.PortMapping): PortMapping[] {
  if (mapping.hostPort <= 0) return [];
  const protocol = mapping.protocol === "UDP" ? "udp" : mapping.protocol === "SCTP" ? "sctp" : "tcp";
  return [{ hostPort: mapping.hostPort, containerPort: mapping.containerPort, protocol, ...(mapping.hostIp !== "" ? { hostIP: mapping.hostIp } : {}) }];
}

/**
 * SIGKILLs the process a runc pid file names; false when the file is not written (completely) yet. A process
 * already gone counts as killed.
 */
function killPidFile(path: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(path, "utf8").trim());
  } catch {
    return false;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // The process already ended.
  }
  return true;
}
