// The fake container runtime under one hollow kubelet (Kubernetes' kubemark runs the real kubelet over a fake
// runtime the same way): the kubelet's pod workers, status and probes run unchanged, and nothing runs anywhere.
//   - Sandboxes get an IP from the node's podCIDR (CRI UpdateRuntimeConfig, which the kubelet calls when the Node
//     shows one), round-robin from .2, freed when the sandbox is removed; host-network sandboxes get none. Without a
//     podCIDR a sandbox waits up to podCIDRWaitMs (counted from the runtime's creation, i.e. the node's start) and
//     then takes a pseudo /24 of the fallback range (pod-ips.ts); with no fallback it fails, and the kubelet retries.
//   - RunPodSandbox takes startDelayMs (the pod stays Pending meanwhile).
//   - Every image is present but those the simulated registry lacks (--missing-images, missing-images.ts): they are
//     never present and their pull fails NotFound, so the kubelet reports ErrImagePull, then ImagePullBackOff.
//     A started container's command decides its fate (../pods/command-fate.ts): `sleep N`
//     exits 0 after N seconds, `exit K` exits K, `echo`/`true` exit 0 and `false` 1 at once, anything else runs
//     until stopped. A pod carrying the steering annotations (kubelab.io/hollow-fail or -crashloop: "true") has its
//     containers exit at once with code 1. A timed exit is applied when the kubelet next looks, and one timer per
//     such container tells the kubelet (onContainerExit) when it is due.
//   - ExecSync answers `false` and `sh -c "exit N"` with that exit code, the unready probe command with 1, anything
//     else with 0 and no output: exec probes and hooks "work".
// One instance per hollow node, kept small: two maps and no timers (a waiting sandbox holds one).
import { createHash } from "node:crypto";
import { CriError, GrpcStatus } from "../../client/cri/errors.js";
import * as cri from "../../client/cri/types.js";
import type { Clock } from "../../component-base/clock.js";
import type { PodRuntime } from "../pods/runtime.js";
import { commandFate } from "../pods/command-fate.js";
import type { MissingImages } from "./missing-images.js";
import { POD_UID_LABEL } from "../runtime-labels.js";
import { fallbackCIDR, parseCIDR, PodIPAllocator, type CIDR } from "./pod-ips.js";

export const HOLLOW_RUNTIME_NAME = "hollow";
export const HOLLOW_RUNTIME_VERSION = "1.0.0";
/** The exec command of the readiness probe a hollow node gives the containers of a pod marked unready. */
export const UNREADY_PROBE_COMMAND = "kubelab-hollow-unready";

interface Sandbox {
  id: string;
  config: cri.PodSandboxConfig;
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
  /** When a command that ends by itself exits (clock ms), and with which code. */
  plannedExit?: { atMs: number; exitCode: number };
  /** Cancels the timer that announces the planned exit. */
  cancelTimer?: () => void;
}

export interface HollowRuntimeOptions {
  nodeName: string;
  clock: Clock;
  startDelayMs: number;
  podCIDRWaitMs: number;
  /** Range of the pseudo /24s for a node without podCIDR; undefined: sandboxes wait for a podCIDR. */
  podCIDRFallback: CIDR | undefined;
  /** The images the simulated registry lacks (shared by the nodes of the process). */
  missingImages: MissingImages;
  /** Whether the pod with this uid should have its containers fail at start (the steering annotations). */
  failsAtStart: (podUid: string) => boolean;
  /** Called with the pod uid when a container's command ended by itself (after `sleep N`). */
  onContainerExit?: (podUid: string) => void;
  /** Logs the first use of the fallback range. */
  onFallback?: (cidr: string) => void;
}

function matches(labels: Readonly<Record<string, string>>, selector: Readonly<Record<string, string>> | undefined): boolean {
  if (!selector) return true;
  for (const k in selector) if (labels[k] !== selector[k]) return false;
  return true;
}

/** Image references already hashed: every list and status names its containers' (up to IMAGE_REFS_MAX images). */
const imageRefs = new Map<string, string>();
const IMAGE_REFS_MAX = 4096;

/** The made-up digest reference of an image (`<image>@sha256:<sha256 of the name>`). */
function imageRef(image: string): string {
  let ref = imageRefs.get(image);
  if (ref === undefined) {
    ref = `${image}@sha256:${createHash("sha256").update(image).digest("hex")}`;
    if (imageRefs.size >= IMAGE_REFS_MAX) imageRefs.clear();
    imageRefs.set(image, ref);
  }
  return ref;
}

export class HollowRuntime implements PodRuntime {
  private readonly sandboxes = new Map<string, Sandbox>();
  private readonly containers = new Map<string, FakeContainer>();
  /**
   * Sandbox and container ids by their pod uid label: the kubelet reads one pod's state by that label at every sync,
   * which then looks at the pod's own entries, not the whole node's.
   */
  private readonly byPod = new Map<string, { sandboxes: Set<string>; containers: Set<string> }>();
  private readonly ips = new PodIPAllocator();
  private readonly createdAtMs: number;
  private podCIDR: CIDR | undefined;
  private fallback: CIDR | undefined;
  private cidrWaiters: (() => void)[] = [];
  private seq = 0;

  constructor(private readonly opts: HollowRuntimeOptions) {
    this.createdAtMs = opts.clock.now();
  }

  /** Sandboxes ready now (kubelet_running_pods). */
  readySandboxes(): number {
    let n = 0;
    for (const s of this.sandboxes.values()) if (s.state === "SANDBOX_READY") n++;
    return n;
  }

  /** Containers by state ("running", "exited", …) added into `into`. */
  countContainers(into: Map<string, number>): void {
    for (const c of this.containers.values()) {
      this.settle(c);
      const state = c.state.replace("CONTAINER_", "").toLowerCase();
      into.set(state, (into.get(state) ?? 0) + 1);
    }
  }

  private podEntries(uid: string): { sandboxes: Set<string>; containers: Set<string> } {
    let entries = this.byPod.get(uid);
    if (!entries) {
      entries = { sandboxes: new Set(), containers: new Set() };
      this.byPod.set(uid, entries);
    }
    return entries;
  }

  private forgetEntry(uid: string | undefined, kind: "sandboxes" | "containers", id: string): void {
    const entries = this.byPod.get(uid ?? "");
    if (!entries) return;
    entries[kind].delete(id);
    if (entries.sandboxes.size === 0 && entries.containers.size === 0) this.byPod.delete(uid ?? "");
  }

  /** The entries a label selector can match: only the pod's own when it names a pod uid. */
  private candidates<T>(all: ReadonlyMap<string, T>, kind: "sandboxes" | "containers", selector: Readonly<Record<string, string>> | undefined): Iterable<T> {
    const uid = selector?.[POD_UID_LABEL];
    if (uid === undefined) return all.values();
    const out: T[] = [];
    for (const id of this.byPod.get(uid)?.[kind] ?? []) {
      const entry = all.get(id);
      if (entry) out.push(entry);
    }
    return out;
  }

  private ns(): bigint {
    return BigInt(this.opts.clock.now()) * 1_000_000n + BigInt(this.seq++ % 1_000_000);
  }

  version(): Promise<cri.VersionResponse> {
    return Promise.resolve({ version: "0.1.0", runtimeName: HOLLOW_RUNTIME_NAME, runtimeVersion: HOLLOW_RUNTIME_VERSION, runtimeApiVersion: "v1" });
  }

  status(): Promise<cri.StatusResponse> {
    return Promise.resolve({
      conditions: [
        { type: cri.RUNTIME_READY, status: true, reason: "", message: "" },
        { type: cri.NETWORK_READY, status: true, reason: "", message: "" },
      ],
      info: {},
    });
  }

  updateRuntimeConfig(podCIDR: string): Promise<void> {
    const cidr = parseCIDR(podCIDR);
    if (!cidr) return Promise.resolve(); // IPv6 or garbage: only IPv4 podCIDRs are used
    this.podCIDR = cidr;
    const waiters = this.cidrWaiters;
    this.cidrWaiters = [];
    for (const wake of waiters) wake();
    return Promise.resolve();
  }

  /** The range new pod IPs come from: the podCIDR, else (after the wait) the fallback; undefined: none yet. */
  private async rangeForNewSandbox(): Promise<CIDR> {
    if (this.podCIDR) return this.podCIDR;
    const waitMs = this.createdAtMs + this.opts.podCIDRWaitMs - this.opts.clock.now();
    if (waitMs > 0) {
      let wake: () => void = () => undefined;
      const arrived = new Promise<void>((resolve) => {
        wake = resolve;
        this.cidrWaiters.push(resolve);
      });
      const timer = this.opts.clock.setTimeout(wake, waitMs);
      await arrived;
      timer.cancel();
      this.cidrWaiters = this.cidrWaiters.filter((w) => w !== wake);
      if (this.podCIDR) return this.podCIDR;
    }
    if (!this.opts.podCIDRFallback) throw new CriError(GrpcStatus.UNAVAILABLE, `node ${this.opts.nodeName} has no podCIDR yet`);
    if (!this.fallback) {
      this.fallback = fallbackCIDR(this.opts.nodeName, this.opts.podCIDRFallback);
      this.opts.onFallback?.(this.fallback.text);
    }
    return this.fallback;
  }

  async runPodSandbox(config: cri.PodSandboxConfig): Promise<string> {
    const hostNetwork = config.linux?.namespaceOptions?.network === "NODE";
    const range = hostNetwork ? undefined : await this.rangeForNewSandbox();
    if (this.opts.startDelayMs > 0) await this.opts.clock.sleep(this.opts.startDelayMs);
    const id = `${config.metadata.uid}-${config.metadata.attempt}-${(this.seq++).toString(36)}`;
    const ip = range ? this.ips.allocate(this.opts.nodeName, id, range) : "";
    this.sandboxes.set(id, { id, config, state: "SANDBOX_READY", createdAt: this.ns(), ip });
    this.podEntries(config.labels[POD_UID_LABEL] ?? "").sandboxes.add(id);
    return id;
  }

  stopPodSandbox(id: string): Promise<void> {
    const s = this.sandboxes.get(id);
    if (!s) return Promise.reject(new CriError(GrpcStatus.NOT_FOUND, `no sandbox ${id}`));
    s.state = "SANDBOX_NOTREADY";
    for (const c of this.containers.values()) if (c.sandboxId === id && c.state === "CONTAINER_RUNNING") this.exit(c, 137, "Error");
    return Promise.resolve();
  }

  removePodSandbox(id: string): Promise<void> {
    const sandbox = this.sandboxes.get(id);
    this.sandboxes.delete(id);
    this.ips.release(id);
    for (const c of [...this.containers.values()]) {
      if (c.sandboxId !== id) continue;
      c.cancelTimer?.();
      this.containers.delete(c.id);
      this.forgetEntry(c.config.labels[POD_UID_LABEL], "containers", c.id);
    }
    if (sandbox) this.forgetEntry(sandbox.config.labels[POD_UID_LABEL], "sandboxes", id);
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
    const out: cri.PodSandbox[] = [];
    for (const s of this.candidates(this.sandboxes, "sandboxes", filter?.labelSelector)) {
      if ((filter?.id !== undefined && s.id !== filter.id) || (filter?.state !== undefined && s.state !== filter.state) || !matches(s.config.labels, filter?.labelSelector)) continue;
      out.push({ id: s.id, metadata: s.config.metadata, state: s.state, createdAt: s.createdAt, labels: s.config.labels, annotations: s.config.annotations, runtimeHandler: "" });
    }
    return Promise.resolve(out);
  }

  createContainer(request: cri.CreateContainerRequest): Promise<string> {
    const sandbox = this.sandboxes.get(request.podSandboxId);
    if (sandbox?.state !== "SANDBOX_READY") return Promise.reject(new CriError(GrpcStatus.FAILED_PRECONDITION, `sandbox ${request.podSandboxId} is not ready`));
    const id = `${request.podSandboxId}-${request.config.metadata.name}-${request.config.metadata.attempt}`;
    this.containers.set(id, { id, sandboxId: request.podSandboxId, config: request.config, state: "CONTAINER_CREATED", createdAt: this.ns(), startedAt: 0n, finishedAt: 0n, exitCode: 0, reason: "" });
    this.podEntries(request.config.labels[POD_UID_LABEL] ?? "").containers.add(id);
    return Promise.resolve(id);
  }

  startContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (!c) return Promise.reject(new CriError(GrpcStatus.NOT_FOUND, `no container ${id}`));
    c.state = "CONTAINER_RUNNING";
    c.startedAt = this.ns();
    if (this.opts.failsAtStart(c.config.labels[POD_UID_LABEL] ?? "")) {
      this.exit(c, 1, "Error");
      return Promise.resolve();
    }
    const fate = commandFate(c.config.command, c.config.args);
    if (fate) {
      c.plannedExit = { atMs: this.opts.clock.now() + fate.afterMs, exitCode: fate.exitCode };
      this.settle(c);
      if (fate.afterMs > 0 && this.opts.onContainerExit) {
        const notify = this.opts.onContainerExit;
        const timer = this.opts.clock.setTimeout(() => {
          delete c.cancelTimer;
          this.settle(c);
          if (c.state === "CONTAINER_EXITED") notify(c.config.labels[POD_UID_LABEL] ?? "");
        }, fate.afterMs);
        c.cancelTimer = () => {
          timer.cancel();
        };
      }
    }
    return Promise.resolve();
  }

  private exit(c: FakeContainer, exitCode: number, reason: string, finishedAt = this.ns()): void {
    Object.assign(c, { state: "CONTAINER_EXITED", exitCode, reason, finishedAt });
    delete c.plannedExit;
    c.cancelTimer?.();
    delete c.cancelTimer;
  }

  /** Ends a running container whose command's time has come; the finish time is when it was due. */
  private settle(c: FakeContainer): FakeContainer {
    const planned = c.plannedExit;
    if (planned && c.state === "CONTAINER_RUNNING" && this.opts.clock.now() >= planned.atMs) {
      this.exit(c, planned.exitCode, planned.exitCode === 0 ? "Completed" : "Error", BigInt(planned.atMs) * 1_000_000n + BigInt(this.seq++ % 1_000_000));
    }
    return c;
  }

  stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    const c = this.containers.get(id);
    if (c?.state === "CONTAINER_RUNNING" || c?.state === "CONTAINER_CREATED") this.exit(c, timeoutSeconds > 0 ? 143 : 137, "Error");
    return Promise.resolve();
  }

  removeContainer(id: string): Promise<void> {
    const c = this.containers.get(id);
    if (c) {
      c.cancelTimer?.();
      this.containers.delete(id);
      this.forgetEntry(c.config.labels[POD_UID_LABEL], "containers", id);
    }
    return Promise.resolve();
  }

  listContainers(filter?: cri.ContainerFilter): Promise<cri.Container[]> {
    const out: cri.Container[] = [];
    for (const c of this.candidates(this.containers, "containers", filter?.labelSelector)) {
      this.settle(c);
      if ((filter?.id !== undefined && c.id !== filter.id) || (filter?.podSandboxId !== undefined && c.sandboxId !== filter.podSandboxId) || (filter?.state !== undefined && c.state !== filter.state) || !matches(c.config.labels, filter?.labelSelector)) continue;
      const ref = imageRef(c.config.image.image);
      out.push({ id: c.id, podSandboxId: c.sandboxId, metadata: c.config.metadata, image: c.config.image, imageRef: ref, imageId: ref, state: c.state, createdAt: c.createdAt, labels: c.config.labels, annotations: c.config.annotations });
    }
    return Promise.resolve(out);
  }

  containerStatus(id: string): Promise<cri.ContainerStatusResponse> {
    const c = this.containers.get(id);
    if (!c) return Promise.reject(new CriError(GrpcStatus.NOT_FOUND, `no container ${id}`));
    this.settle(c);
    const ref = imageRef(c.config.image.image);
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
        imageRef: ref,
        imageId: ref,
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

  execSync(_containerId: string, cmd: readonly string[]): Promise<cri.ExecSyncResponse> {
    return Promise.resolve({ stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: simulatedExitCode(cmd) });
  }

  pullImage(request: cri.PullImageRequest): Promise<string> {
    const missing = this.opts.missingImages.pullError(request.image.image);
    if (missing) return Promise.reject(missing);
    return Promise.resolve(imageRef(request.image.image));
  }

  imageStatus(spec: cri.ImageSpec): Promise<cri.Image | undefined> {
    if (this.opts.missingImages.isMissing(spec.image)) return Promise.resolve(undefined);
    return Promise.resolve({ id: imageRef(spec.image), repoTags: [spec.image], repoDigests: [], size: 1024, username: "", pinned: false });
  }
}

/** The exit code of a simulated command: `false` 1, `sh -c "exit N"` N, the unready probe 1, anything else 0. */
export function simulatedExitCode(cmd: readonly string[]): number {
  const [first, ...rest] = cmd;
  if (first === "false" || first === UNREADY_PROBE_COMMAND) return 1;
  if ((first === "sh" || first === "/bin/sh" || first === "bash" || first === "/bin/bash") && rest[0] === "-c") {
    const m = /^\s*exit\s+(\d+)\s*$/.exec(rest[1] ?? "");
    if (m) return Number(m[1]) % 256;
  }
  return 0;
}
