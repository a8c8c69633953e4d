// Runs pods and containers on this host in CRI-O's shape: a named network namespace per pod wired by CNI, and
// each container created by runc from an OCI bundle under its own conmon. conmon holds the container's stdio,
// writes the CRI log format ("<RFC3339Nano> stdout|stderr F|P <text>") and an exit file named after the
// container in the exit directory, and is detached from us: containers keep running when this process dies,
// and a new process finds them again through runc's state root and the bundles under `stateDir`.
//
// Layout under stateDir:  runc/ (runc --root)   containers/<id>/ (config.json, pidfile, conmon.pid, conmon.log,
//                         conmon's attach socket and ctl FIFO)   exits/<id> (exit code)   attach/ (conmon's
//                         --socket-dir-path)   networks/<sandboxId>.json (the CNI ADD result, for DEL)
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { closeSync, constants as fsConstants, openSync } from "node:fs";
import { access, mkdir, open, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import type { Logger } from "../../component-base/logging.js";
import { silentLogger } from "../../component-base/logging.js";
import { probeCgroups, readCgroupStats, readOomKillCount, removeCgroupPath } from "./cgroups.js";
import type { CgroupProbe } from "./cgroups.js";
import {
  CniInvoker,
  DEFAULT_CNI_BIN_DIR,
  loadDefaultConfigList,
  loopbackConfigList,
  parseCniResult,
  podIPs,
} from "./cni.js";
import type { CniConfigList } from "./cni.js";
import { CommandError, run, runChecked } from "./exec.js";
import { createNetns, deleteNetns, netnsPath } from "./netns.js";
import { spawnAttachRelay, spawnPortRelay } from "./relays.js";
import { buildRuntimeSpec, cgroupsPathFor, CPU_PERIOD_US, linuxResources } from "./spec.js";
import type { OciSpec } from "./spec.js";
import type {
  ContainerRequest,
  ContainerResources,
  ContainerState,
  ContainerStats,
  ContainerStatus,
  DegradedCapability,
  ExecResult,
  HostCapabilities,
  SandboxNetwork,
  SandboxNetworkRequest,
} from "./types.js";

export interface OciRuntimeOptions {
  /** Root of this runtime's state (see the layout above); e.g. /run/kubelab-runtime/<node>. */
  stateDir: string;
  runcPath?: string;
  conmonPath?: string;
  /** Directory holding the pod network's .conflist (the lexically first one is used). */
  cniConfigDir: string;
  cniBinDirs?: readonly string[];
  /** The node's network namespace, where CNI puts the host end of pod links; default: our own. */
  hostNetnsPath?: string;
  /** Prefix of the pods' namespace names under /run/netns (one runtime per node → one prefix per node). */
  netnsPrefix?: string;
  logger?: Logger;
  /**
   * "disabled": act as if the host refused cgroups (for hosts that refuse in ways the probe cannot see, e.g. a
   * seccomp filter, and to exercise that path). Default "auto": use them when the probe could create one.
   */
  cgroups?: "auto" | "disabled";
}

/** A fault from runc or conmon about one container. */
export class ContainerError extends Error {
  constructor(
    readonly containerId: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`container ${containerId}: ${message}`, options);
    this.name = "ContainerError";
  }
}

export class ContainerNotFoundError extends ContainerError {
  constructor(containerId: string) {
    super(containerId, "not found");
    this.name = "ContainerNotFoundError";
  }
}

const POLL_MS = 25;

export class OciRuntime {
  private readonly runcPath: string;
  private readonly conmonPath: string;
  private readonly runcRoot: string;
  private readonly containersDir: string;
  private readonly exitDir: string;
  private readonly networksDir: string;
  private readonly attachDir: string;
  private readonly netnsPrefix: string;
  private readonly cni: CniInvoker;
  private readonly logger: Logger;
  private probe: Promise<CgroupProbe> | undefined;

  constructor(private readonly options: OciRuntimeOptions) {
    this.runcPath = options.runcPath ?? "/usr/sbin/runc";
    this.conmonPath = options.conmonPath ?? "/usr/bin/conmon";
    this.runcRoot = join(options.stateDir, "runc");
    this.containersDir = join(options.stateDir, "containers");
    this.exitDir = join(options.stateDir, "exits");
    this.networksDir = join(options.stateDir, "networks");
    this.attachDir = join(options.stateDir, "attach");
    this.netnsPrefix = options.netnsPrefix ?? "kubelab-";
    this.cni = new CniInvoker({
      binDirs: options.cniBinDirs ?? [DEFAULT_CNI_BIN_DIR],
      ...(options.hostNetnsPath === undefined ? {} : { hostNetnsPath: options.hostNetnsPath }),
    });
    this.logger = options.logger ?? silentLogger();
  }

  // ---------------------------------------------------------------- host

  /** What the host allows; everything it refuses is in `degraded` (and was logged as a warning once). */
  async hostCapabilities(): Promise<HostCapabilities> {
    const cgroups = await this.cgroupProbe();
    const degraded: DegradedCapability[] = cgroups.problems.map((message) => ({ reason: reasonFor(message), message }));
    if (this.options.cgroups === "disabled") {
      degraded.push({ reason: "CgroupsDisabled", message: "cgroups are disabled by configuration: no cpu/memory limits, no stats, no OOM detection from cgroups" });
    }
    const runcVersion = await firstLine([this.runcPath, "--version"]);
    const conmonVersion = await firstLine([this.conmonPath, "--version"]);
    if (runcVersion === undefined) degraded.push({ reason: "RuncMissing", message: `${this.runcPath} does not run` });
    if (conmonVersion === undefined) degraded.push({ reason: "ConmonMissing", message: `${this.conmonPath} does not run` });
    const cniPluginsFound: string[] = [];
    for (const plugin of ["ptp", "host-local", "portmap", "loopback"]) {
      const found = await anyExists((this.options.cniBinDirs ?? [DEFAULT_CNI_BIN_DIR]).map((dir) => join(dir, plugin)));
      if (found) cniPluginsFound.push(plugin);
      else degraded.push({ reason: "CniPluginMissing", message: `CNI plugin ${plugin} not found` });
    }
    return {
      cgroupVersion: cgroups.version,
      cgroupsWritable: cgroups.writable && this.options.cgroups !== "disabled",
      memoryController: cgroups.memoryController,
      cpuController: cgroups.cpuController,
      runcVersion,
      conmonVersion,
      cniPluginsFound,
      degraded,
    };
  }

  private cgroupProbe(): Promise<CgroupProbe> {
    this.probe ??= probeCgroups().then((probe) => {
      for (const problem of probe.problems) this.logger.warn({ problem }, "Host refuses a cgroup feature; running degraded");
      return probe;
    });
    return this.probe;
  }

  // ---------------------------------------------------------------- pod network

  /** The name of a sandbox's network namespace under /run/netns. */
  netnsName(sandboxId: string): string {
    return `${this.netnsPrefix}${sandboxId}`.slice(0, 64);
  }

  /**
   * Creates the pod's network namespace and attaches it: loopback on lo, the node's pod network on eth0. On
   * failure everything done so far is undone before the error is thrown.
   */
  async setupPodNetwork(request: SandboxNetworkRequest): Promise<SandboxNetwork> {
    const name = this.netnsName(request.sandboxId);
    const path = await createNetns(name);
    const list = await loadDefaultConfigList(this.options.cniConfigDir);
    const attachment = { containerId: request.sandboxId, netnsPath: path, ifName: "eth0", ...portMappings(request) };
    try {
      await this.cni.add(loopbackConfigList(), { containerId: request.sandboxId, netnsPath: path, ifName: "lo" });
      const result = await this.cni.add(list, attachment);
      await mkdir(this.networksDir, { recursive: true });
      await writeFile(this.networkFile(request.sandboxId), JSON.stringify({ list, result, attachment }));
      const network: SandboxNetwork = { sandboxId: request.sandboxId, netnsPath: path, ips: podIPs(result), cniResult: result };
      this.logger.info({ sandbox: request.sandboxId, netns: path, ips: network.ips }, "Pod network set up");
      return network;
    } catch (err) {
      await this.cni.del(list, attachment, undefined).catch(() => undefined);
      await deleteNetns(name).catch(() => undefined);
      throw err;
    }
  }

  /** The recorded network of a sandbox (survives our restarts), or undefined when none is set up. */
  async podNetwork(sandboxId: string): Promise<SandboxNetwork | undefined> {
    const saved = await this.savedNetwork(sandboxId);
    if (saved === undefined) return undefined;
    return { sandboxId, netnsPath: saved.attachment.netnsPath, ips: podIPs(saved.result), cniResult: saved.result };
  }

  /** Sandboxes with a recorded pod network, for recovery after a restart. */
  async listPodNetworkIds(): Promise<string[]> {
    const names = await readdir(this.networksDir).catch(() => []);
    return names.filter((name) => name.endsWith(".json")).map((name) => name.slice(0, -".json".length));
  }

  /** CNI CHECK of a pod's attachment; throws CniError when a plugin finds it broken. */
  async checkPodNetwork(sandboxId: string): Promise<void> {
    const saved = await this.savedNetwork(sandboxId);
    if (saved === undefined) throw new Error(`sandbox ${sandboxId}: no pod network recorded`);
    await this.cni.check(saved.list, saved.attachment, saved.result);
  }

  /** CNI DEL (with the ADD result), then removes the namespace. Idempotent: a second call does nothing. */
  async teardownPodNetwork(sandboxId: string): Promise<void> {
    const name = this.netnsName(sandboxId);
    const saved = await this.savedNetwork(sandboxId);
    const path = netnsPath(name);
    if (saved !== undefined) {
      await this.cni.del(saved.list, saved.attachment, saved.result);
    } else if (await anyExists([path])) {
      // Set up but never recorded (we died between ADD and the write): DEL without prevResult still frees it.
      const list = await loadDefaultConfigList(this.options.cniConfigDir);
      await this.cni.del(list, { containerId: sandboxId, netnsPath: path, ifName: "eth0" }, undefined);
    }
    await deleteNetns(name);
    await rm(this.networkFile(sandboxId), { force: true });
    this.logger.info({ sandbox: sandboxId }, "Pod network torn down");
  }

  private networkFile(sandboxId: string): string {
    return join(this.networksDir, `${sandboxId}.json`);
  }

  private async savedNetwork(
    sandboxId: string,
  ): Promise<{ list: CniConfigList; result: ReturnType<typeof parseCniResult>; attachment: SavedAttachment } | undefined> {
    let text: string;
    try {
      text = await readFile(this.networkFile(sandboxId), "utf8");
    } catch {
      return undefined;
    }
    const value = JSON.parse(text) as { list: CniConfigList; result: unknown; attachment: SavedAttachment };
    return { list: value.list, result: parseCniResult(value.result), attachment: value.attachment };
  }

  // ---------------------------------------------------------------- containers

  private bundleDir(id: string): string {
    return join(this.containersDir, id);
  }

  private exitFile(id: string): string {
    return join(this.exitDir, id);
  }

  private runc(...args: string[]): string[] {
    return [this.runcPath, "--root", this.runcRoot, ...args];
  }

  /**
   * Writes the bundle and has conmon run `runc create`; resolves once the container exists (status "created")
   * with its init pid. Limits the host cannot enforce are left out of the spec (and were reported).
   */
  async createContainer(request: ContainerRequest): Promise<{ pid: number; spec: OciSpec }> {
    const probe = await this.cgroupProbe();
    const spec = buildRuntimeSpec(request, { swapAccounting: probe.swapAccounting });
    const withCgroups = probe.writable && this.options.cgroups !== "disabled";
    if (!withCgroups) {
      // runc's "rootless" cgroup handling skips cgroups it may not create, but only for a container without an
      // explicit cgroupsPath and without limits; the container then runs unconfined (and says so).
      spec.linux.resources = { devices: spec.linux.resources.devices };
      delete spec.linux.cgroupsPath;
      this.logger.warn({ container: request.id }, "Cgroups are unavailable here: the container runs without cpu/memory limits");
    }
    const bundle = this.bundleDir(request.id);
    await mkdir(bundle, { recursive: true });
    await Promise.all([
      mkdir(this.exitDir, { recursive: true }),
      mkdir(this.attachDir, { recursive: true }),
      mkdir(this.runcRoot, { recursive: true }),
      mkdir(dirname(request.logPath), { recursive: true }),
    ]);
    await rm(this.exitFile(request.id), { force: true });
    await writeFile(join(bundle, "config.json"), JSON.stringify(spec, null, 2));
    try {
      const pid = await this.spawnConmon(request.id, bundle, request.logPath, withCgroups ? [] : ["--rootless", "true"], stdioArgs(request));
      this.logger.info({ container: request.id, pid }, "Container created");
      return { pid, spec };
    } catch (err) {
      await rm(bundle, { recursive: true, force: true });
      throw err;
    }
  }

  private async spawnConmon(id: string, bundle: string, logPath: string, runcCreateArgs: readonly string[], stdio: readonly string[]): Promise<number> {
    const args = [
      "--api-version", "1",
      "-c", id,
      "-u", id,
      "-n", id,
      "-r", this.runcPath,
      "-b", bundle,
      "-p", join(bundle, "pidfile"),
      "-P", join(bundle, "conmon.pid"),
      "-l", `k8s-file:${logPath}`,
      "--exit-dir", this.exitDir,
      "--socket-dir-path", this.attachDir,
      "--persist-dir", bundle,
      "--runtime-arg", "--root",
      "--runtime-arg", this.runcRoot,
      ...runcCreateArgs.flatMap((arg) => ["--runtime-arg", arg]),
      ...stdio,
      // conmon forks once instead of twice and so stays our child: when it exits, Node reaps it at once. Without
      // --sync it would be the orphan of a double fork, reparented to PID 1 (or the nearest child subreaper, which
      // Node cannot make itself: prctl(PR_SET_CHILD_SUBREAPER) is not reachable from JavaScript), and an init that
      // reaps lazily would leave it a zombie. conmon survives our exit either way (its own session, see detached).
      "--sync",
      "--log-level", "info",
    ];
    // conmon's own messages go to a file in the bundle: a pipe to us would break when we exit.
    const outFd = openSync(join(bundle, "conmon.log"), "a");
    try {
      // fd 3 is the sync pipe: conmon writes {"data": <pid>} once `runc create` succeeded, or data -1 and a message.
      const child = spawn(this.conmonPath, args, {
        stdio: ["ignore", outFd, outFd, "pipe"],
        env: { ...process.env, _OCI_SYNCPIPE: "3" },
        // conmon drops marker files (e.g. "oom") in its working directory: keep them in the bundle.
        cwd: bundle,
        detached: true,
      });
      child.unref();
      const syncPipe = child.stdio[3] as Readable | null;
      if (syncPipe === null) throw new ContainerError(id, "conmon sync pipe missing");
      const reply = await readSyncReply(syncPipe, id, child);
      const pid = typeof reply.data === "number" ? reply.data : typeof reply.pid === "number" ? reply.pid : -1;
      if (pid <= 0) {
        const message = typeof reply.message === "string" ? reply.message : JSON.stringify(reply);
        throw new ContainerError(id, `runc create failed: ${message}`);
      }
      // With --sync conmon writes no -P file (it only does so after its second fork): the child we spawned is it.
      if (child.pid !== undefined) await writeFile(join(bundle, "conmon.pid"), `${child.pid}\n`);
      return pid;
    } finally {
      closeSync(outFd);
    }
  }

  async startContainer(id: string): Promise<void> {
    await this.runcChecked(id, "start", id);
    // The marker's mtime is the start time; it survives our restarts with the bundle.
    await writeFile(join(this.bundleDir(id), "started"), "");
    this.logger.info({ container: id }, "Container started");
  }

  /** runc's view plus conmon's exit file; a container runc no longer knows but with an exit file is "stopped". */
  async containerState(id: string): Promise<ContainerState> {
    const result = await run(this.runc("state", id));
    let status: ContainerStatus = "unknown";
    let pid = 0;
    if (result.code === 0) {
      const value = JSON.parse(result.stdout.toString()) as { status?: unknown; pid?: unknown };
      status = value.status === "created" || value.status === "running" ? value.status : value.status === "stopped" ? "stopped" : "unknown";
      pid = typeof value.pid === "number" && status !== "stopped" ? value.pid : 0;
    }
    let exit = await this.readExit(id);
    if (exit === undefined && status === "stopped") {
      // runc sees the exit a moment before conmon has reaped the process and written the code: wait for it.
      await waitFor(async () => (exit = await this.readExit(id)) !== undefined, 2000);
    }
    if (exit === undefined) {
      if (result.code !== 0 && !(await anyExists([this.bundleDir(id)]))) throw new ContainerNotFoundError(id);
      return { id, status, pid, oomKilled: false, ...(await this.times(id)) };
    }
    return {
      id,
      status: "stopped",
      pid: 0,
      exitCode: exit.code,
      finishedAt: exit.at,
      oomKilled: await this.wasOomKilled(id, exit.code),
      ...(await this.times(id)),
    };
  }

  private async times(id: string): Promise<{ createdAt?: Date; startedAt?: Date }> {
    const bundle = this.bundleDir(id);
    const [created, started] = await Promise.all([stat(join(bundle, "config.json")).catch(() => undefined), stat(join(bundle, "started")).catch(() => undefined)]);
    return { ...(created === undefined ? {} : { createdAt: created.mtime }), ...(started === undefined ? {} : { startedAt: started.mtime }) };
  }

  private async readExit(id: string): Promise<{ code: number; at: Date } | undefined> {
    try {
      const [text, info] = await Promise.all([readFile(this.exitFile(id), "utf8"), stat(this.exitFile(id))]);
      const code = Number.parseInt(text.trim(), 10);
      // conmon writes the file in one step but an empty read can race its creation: treat as "not yet".
      if (Number.isNaN(code)) return undefined;
      return { code, at: info.mtime };
    } catch {
      return undefined;
    }
  }

  /**
   * OOMKilled as the kubelet reports it: the container exited and the OOM killer killed in its cgroup (or
   * conmon saw an OOM event and wrote its "oom" marker). The verdict is stored, since runc delete removes the cgroup.
   */
  private async wasOomKilled(id: string, exitCode: number): Promise<boolean> {
    const bundle = this.bundleDir(id);
    const marker = join(bundle, "oomkilled");
    if (await anyExists([marker])) return true;
    let oom = await anyExists([join(bundle, "oom")]);
    if (!oom && exitCode === 137) {
      const probe = await this.cgroupProbe();
      const spec = await this.readSpec(id);
      const path = spec?.linux.cgroupsPath;
      if (probe.version !== undefined && path !== undefined) oom = (await readOomKillCount(probe.version, path)) > 0;
    }
    if (oom) await writeFile(marker, "").catch(() => undefined);
    return oom;
  }

  private async readSpec(id: string): Promise<OciSpec | undefined> {
    try {
      return JSON.parse(await readFile(join(this.bundleDir(id), "config.json"), "utf8")) as OciSpec;
    } catch {
      return undefined;
    }
  }

  /**
   * SIGTERM, then SIGKILL after `timeoutSeconds` (0: SIGKILL at once); resolves when conmon recorded the exit.
   * Stopping a stopped container does nothing.
   */
  async stopContainer(id: string, timeoutSeconds: number): Promise<ContainerState> {
    let state = await this.containerState(id);
    if (state.status === "stopped") return state;
    if (state.status === "created") {
      // Never started: there is no process to signal gracefully; delete -f ends conmon's wait.
      await run(this.runc("kill", id, "KILL"));
    } else if (timeoutSeconds > 0) {
      await run(this.runc("kill", id, "TERM"));
      if (await waitFor(async () => (await this.readExit(id)) !== undefined, timeoutSeconds * 1000)) return this.containerState(id);
      this.logger.info({ container: id, timeoutSeconds }, "Container ignored SIGTERM; sending SIGKILL");
    }
    await run(this.runc("kill", id, "KILL"));
    if (!(await waitFor(async () => (await this.readExit(id)) !== undefined, 10_000))) {
      throw new ContainerError(id, "no exit recorded 10s after SIGKILL");
    }
    state = await this.containerState(id);
    this.logger.info({ container: id, exitCode: state.exitCode }, "Container stopped");
    return state;
  }

  /**
   * Has conmon close and reopen the container's log file (after the caller rotated it), through conmon's
   * control FIFO in the bundle ("2 0 0": reopen logs). Resolves once the request is handed over.
   */
  async reopenContainerLog(id: string): Promise<void> {
    await this.writeControl(id, "2 0 0\n", "cannot reopen the log");
  }

  /** Hands one message to conmon's control FIFO in the bundle. */
  private async writeControl(id: string, message: string, what: string): Promise<void> {
    const ctl = join(this.bundleDir(id), "ctl");
    let handle;
    try {
      // Non-blocking: with no conmon reading the FIFO, open fails with ENXIO instead of hanging.
      handle = await open(ctl, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
    } catch (err) {
      throw new ContainerError(id, `${what}: conmon is not running`, { cause: err });
    }
    try {
      await handle.write(message);
    } finally {
      await handle.close();
    }
  }

  /**
   * Attaches to the container's main process through conmon's attach socket (see relays.ts): the relay's stdout
   * and stderr are the container's, its stdin goes to the container's (when `stdin` and the container was created
   * with stdin), fd 3 says why it failed. The caller owns its lifetime; killing it detaches.
   */
  spawnAttach(id: string, options: { stdin: boolean }): ChildProcess {
    return spawnAttachRelay(this.bundleDir(id), options.stdin);
  }

  /** Resizes a tty container's terminal through conmon's control FIFO ("1 <height> <width>"). */
  async resizeTerminal(id: string, size: { width: number; height: number }): Promise<void> {
    await this.writeControl(id, `1 ${size.height} ${size.width}\n`, "cannot resize the terminal");
  }

  /**
   * Starts a relay to 127.0.0.1:`port` inside the network namespace at `netnsPath` (see relays.ts): its stdin and
   * stdout are the connection's bytes, its stderr says why it failed.
   */
  spawnPortForward(netnsPath: string, port: number): ChildProcess {
    return spawnPortRelay(netnsPath, port);
  }

  /**
   * Starts `cmd` in the container, with or without a terminal, and hands back the process (runc exec, which forwards
   * stdio and signals and exits with the command's code); for streaming exec. The caller owns its lifetime.
   */
  spawnExec(id: string, cmd: readonly string[], options: { stdin?: boolean; tty?: boolean; env?: readonly string[]; pidFile?: string } = {}): ChildProcess {
    if (cmd.length === 0) throw new ContainerError(id, "exec: empty command");
    // The pid file names the exec'd process itself: killing runc exec alone would leave it running in the container.
    const envArgs = [...(options.env ?? []).flatMap((entry) => ["--env", entry]), ...(options.pidFile !== undefined ? ["--pid-file", options.pidFile] : [])];
    if (options.tty !== true) {
      return spawn(this.runcPath, ["--root", this.runcRoot, "exec", ...envArgs, id, ...cmd], {
        stdio: [options.stdin === true ? "pipe" : "ignore", "pipe", "pipe"],
      });
    }
    // `runc exec --tty` relays the container's terminal to its own, so it needs one: util-linux `script` gives
    // it a pseudo-terminal and relays that over our pipes (stdout carries the terminal's output; the exit code
    // is the command's, by -e). Window size changes are not relayed.
    const argv = [this.runcPath, "--root", this.runcRoot, "exec", "--tty", ...envArgs, id, ...cmd];
    return spawn("script", ["--quiet", "--return", "--command", argv.map(shellQuote).join(" "), "/dev/null"], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, SHELL: "/bin/sh" },
    });
  }

  /** Kills a live container, then runc delete --force, the bundle, the exit file and the container's cgroup. Idempotent. */
  async removeContainer(id: string): Promise<void> {
    const spec = await this.readSpec(id);
    if ((await run(this.runc("state", id))).code === 0 && (await this.readExit(id)) === undefined) {
      // Still alive: kill it and let conmon record the exit first, so that no exit file appears after our cleanup.
      await run(this.runc("kill", id, "KILL"));
      await waitFor(async () => (await this.readExit(id)) !== undefined, 10_000);
    }
    const result = await run(this.runc("delete", "--force", id));
    if (result.code !== 0 && !/does not exist|not exist/.test(result.stderr.toString())) {
      throw new ContainerError(id, new CommandError("runc delete", result).message);
    }
    await rm(this.bundleDir(id), { recursive: true, force: true });
    await rm(this.exitFile(id), { force: true });
    const path = spec?.linux.cgroupsPath;
    if (path !== undefined) await removeCgroupPath(path, dirname(path));
    this.logger.info({ container: id }, "Container removed");
  }

  /**
   * Applies new CPU and memory limits to a live container with `runc update`, which writes them to the cgroup in
   * either version's files (cpu.shares/cpu.cfs_quota_us/memory.limit_in_bytes on v1, cpu.weight/cpu.max/memory.max
   * on v2). A limit the request leaves out is lifted (-1: unlimited). A container running without a cgroup (the
   * host refused them) cannot be limited: that fails, as its creation with limits would have been logged degraded.
   */
  async updateContainerResources(id: string, resources: ContainerResources | undefined): Promise<void> {
    const spec = await this.readSpec(id);
    if (spec === undefined) throw new ContainerNotFoundError(id);
    if (spec.linux.cgroupsPath === undefined) throw new ContainerError(id, "runs without a cgroup (host refused cgroups): its limits cannot change");
    const probe = await this.cgroupProbe();
    const wanted = linuxResources(resources, { swapAccounting: probe.swapAccounting });
    const update = {
      cpu: { shares: wanted.cpu?.shares, quota: wanted.cpu?.quota ?? -1, period: wanted.cpu?.period ?? CPU_PERIOD_US },
      memory: wanted.memory ?? (probe.swapAccounting ? { limit: -1, swap: -1 } : { limit: -1 }),
    };
    const result = await run(this.runc("update", "--resources", "-", id), { input: JSON.stringify(update) });
    if (result.code !== 0) throw new ContainerError(id, new CommandError("runc update", result).message);
    // The bundle's spec follows, so that stats and a restarted daemon see the limits in force.
    const { memory: _previous, ...kept } = spec.linux.resources;
    spec.linux.resources = { ...kept, ...(wanted.cpu !== undefined ? { cpu: wanted.cpu } : {}), ...(wanted.memory !== undefined ? { memory: wanted.memory } : {}) };
    await writeFile(join(this.bundleDir(id), "config.json"), JSON.stringify(spec, null, 2));
    this.logger.info({ container: id, resources: update }, "Container resources updated");
  }

  /** Removes a pod's cgroup parent once its containers are gone (non-empty directories stay). */
  async removePodCgroup(cgroupParent: string): Promise<void> {
    await removeCgroupPath(cgroupParent, "/");
  }

  /** The cgroup path a container gets, for callers that want to look at it. */
  cgroupsPathOf(request: Pick<ContainerRequest, "id" | "sandboxId" | "cgroupParent">): string {
    return cgroupsPathFor(request);
  }

  /**
   * Runs `cmd` in the container (its env, cwd, user), capturing output; after `timeoutMs` the process is killed
   * and the result says timedOut. The exit code is the command's own.
   */
  async execSync(id: string, cmd: readonly string[], timeoutMs: number): Promise<ExecResult> {
    if (cmd.length === 0) throw new ContainerError(id, "exec: empty command");
    const pidFile = join(this.bundleDir(id), `exec-${process.pid}-${Date.now()}.pid`);
    const child = spawn(this.runcPath, ["--root", this.runcRoot, "exec", "--pid-file", pidFile, id, ...cmd], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // The exec'd process, not runc: killing runc would leave the command running in the container.
      void readFile(pidFile, "utf8")
        .then((text) => process.kill(Number.parseInt(text, 10), "SIGKILL"))
        .catch(() => child.kill("SIGKILL"));
    }, timeoutMs);
    const exitCode = await new Promise<number>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", (code, signal) => { resolve(code ?? (signal === null ? -1 : 128 + signalNumber(signal))); });
    }).finally(() => { clearTimeout(timer); });
    await rm(pidFile, { force: true });
    return { stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr), exitCode, timedOut };
  }

  /** CPU and memory from the container's cgroup. */
  async containerStats(id: string): Promise<ContainerStats> {
    const spec = await this.readSpec(id);
    if (spec === undefined) throw new ContainerNotFoundError(id);
    const probe = await this.cgroupProbe();
    if (probe.version === undefined) throw new ContainerError(id, "no cgroup hierarchy: no stats");
    if (spec.linux.cgroupsPath === undefined) throw new ContainerError(id, "runs without a cgroup (host refused cgroups): no stats");
    const stats = await readCgroupStats(probe.version, spec.linux.cgroupsPath);
    return { ...stats, timestamp: new Date() };
  }

  /** Ids of the containers runc knows under our root, for recovery after a restart. */
  async listContainerIds(): Promise<string[]> {
    const result = await run(this.runc("list", "--format", "json"));
    if (result.code !== 0) return [];
    const value = JSON.parse(result.stdout.toString() || "null") as unknown;
    if (!Array.isArray(value)) return [];
    return value.flatMap((entry: unknown) =>
      typeof entry === "object" && entry !== null && "id" in entry && typeof entry.id === "string" ? [entry.id] : [],
    );
  }

  private async runcChecked(id: string, ...args: string[]): Promise<string> {
    try {
      return await runChecked(this.runc(...args));
    } catch (err) {
      if (err instanceof CommandError && err.message.includes('does not exist')) throw new ContainerNotFoundError(id);
      throw new ContainerError(id, err instanceof Error ? err.message : String(err), { cause: err });
    }
  }
}

interface SavedAttachment {
  containerId: string;
  netnsPath: string;
  ifName: string;
}

function portMappings(request: SandboxNetworkRequest): { portMappings?: NonNullable<SandboxNetworkRequest["portMappings"]> } {
  return request.portMappings === undefined ? {} : { portMappings: request.portMappings };
}

/**
 * conmon's stdio flags as CRI-O sets them: --stdin keeps a pipe to the process for attach sessions, and
 * --leave-stdin-open keeps it past the first session unless the container asked for stdin_once; --terminal
 * gives the process a pseudo-terminal (the spec's process.terminal) whose master conmon holds.
 */
function stdioArgs(request: Pick<ContainerRequest, "stdin" | "stdinOnce" | "tty">): string[] {
  return [
    ...(request.stdin === true ? ["--stdin"] : []),
    ...(request.stdin === true && request.stdinOnce !== true ? ["--leave-stdin-open"] : []),
    ...(request.tty === true ? ["--terminal"] : []),
  ];
}

function reasonFor(problem: string): string {
  if (problem.includes("cannot create cgroups")) return "CgroupsNotWritable";
  if (problem.includes("memory")) return "NoMemoryController";
  if (problem.includes("cpu")) return "NoCpuController";
  return "NoCgroups";
}

/** Reads conmon's first JSON message from the sync pipe; fails if conmon exits without one. */
function readSyncReply(pipe: Readable, id: string, child: ReturnType<typeof spawn>): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let text = "";
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      pipe.destroy();
      fn();
    };
    pipe.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      const end = text.indexOf("}");
      if (end < 0) return;
      try {
        const value = JSON.parse(text.slice(0, end + 1)) as unknown;
        if (typeof value === "object" && value !== null) settle(() => { resolve(value as Record<string, unknown>); });
      } catch (err) {
        settle(() => { reject(new ContainerError(id, `conmon sync pipe: ${text}`, { cause: err })); });
      }
    });
    pipe.on("end", () => { settle(() => { reject(new ContainerError(id, "conmon exited without reporting a pid (see conmon.log in the bundle)")); }); });
    pipe.on("error", (err) => { settle(() => { reject(new ContainerError(id, "conmon sync pipe failed", { cause: err })); }); });
    child.on("error", (err) => { settle(() => { reject(new ContainerError(id, "conmon did not start", { cause: err })); }); });
  });
}

async function firstLine(argv: readonly string[]): Promise<string | undefined> {
  try {
    const result = await run(argv, { timeoutMs: 10_000 });
    return result.code === 0 ? result.stdout.toString().split("\n")[0]?.trim() : undefined;
  } catch {
    return undefined;
  }
}

async function anyExists(paths: readonly string[]): Promise<boolean> {
  for (const path of paths) {
    try {
      await access(path);
      return true;
    } catch {
      // try the next
    }
  }
  return false;
}

/** Polls `condition` until it holds or `timeoutMs` passes; true when it held. */
export async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** One word for `sh -c`: single-quoted, embedded quotes closed and escaped. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, "'\\''")}'`;
}

function signalNumber(signal: NodeJS.Signals): number {
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGKILL: 9, SIGTERM: 15, SIGINT: 2, SIGHUP: 1 };
  return numbers[signal] ?? 0;
}
