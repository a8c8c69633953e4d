// The kubelet's node status manager (Kubernetes' kubelet_node_status.go, pkg/kubelet/nodestatus and the node lease
// controller): registers this kubelet's Node, keeps its status current and renews its Lease.
//
// - Registration: POST the Node; on AlreadyExists the existing Node is adopted (default labels set back, missing
//   --node-labels, annotations and an empty podCIDR filled in). start() retries with backoff (100 ms doubling to 7 s)
//   until it succeeds, and resolves then.
// - Status: every statusUpdateFrequency the Node is read (from an injected lister when given, else one GET), the
//   status computed (machine capacity, runtime readiness, eviction pressure, addresses, nodeInfo), and posted as a
//   strategic merge patch of nodes/status only when it differs from the stored one, heartbeat times aside, or when
//   statusReportFrequency passed since the last post. Until the node is first Ready (and for at most a minute) it
//   checks every second instead, so a node turns Ready as soon as its runtime does (the kubelet's fast status update).
//   A runtime that stops answering keeps its last readiness for 30 s before the node says "container runtime is down".
// - Lease: kube-node-lease/<node>, owned by the Node, renewed every leaseDuration/4 (plus up to 4% jitter) as a
//   conditional update of the last Lease written; a conflict or a vanished Lease is read again or created.
// - A deleted Node is registered again at the next status update (registerAgainWhenDeleted, default true). This is
//   a kubelab choice: Kubernetes' kubelet registers once per process and then only logs that its node is gone.
// - Events about the Node: Starting at start, and NodeHasSufficientMemory/NodeHasNoDiskPressure/NodeHasSufficientPID
//   /NodeReady (or their opposites) whenever a posted condition changes status.
//
// Cheap enough to run a thousand in one process: two timers each, no informer of its own (inject a shared lister
// through nodeLister), and startOffsetMs to spread many managers' periodic work over the period.
import { isAlreadyExists, isConflict, isNotFound, retryOnConflict } from "../../api/errors.js";
import { RESOURCES, type ResourceInfo } from "../../api/resources.js";
import type { ContainerImage, Lease, Node } from "../../api/types/index.js";
import { Backoff } from "../../client/backoff.js";
import type { RestClient } from "../../client/rest.js";
import type { EventRecorder, EventType, ObjectReference } from "../../client/event-recorder.js";
import type * as cri from "../../client/cri/types.js";
import type { Clock, Timer } from "../../component-base/clock.js";
import type { Logger } from "../../component-base/logging.js";
import { machinePressure, readMachineInfo, type PressureSource } from "./machine.js";
import {
  adoptionPatch,
  buildLease,
  buildNode,
  conditionEvents,
  defaultNodeLabels,
  desiredNodeStatus,
  NO_PRESSURE,
  NODE_LEASE_NAMESPACE,
  nodeResources,
  nodeStatusChanged,
  nodeStatusPatch,
  nodeSystemInfo,
  runtimeErrors,
  type ConditionState,
  type MachineInfo,
  type NodeIdentity,
  type NodePressure,
  type RuntimeStatusResult,
} from "./status.js";

export { imagesFromCri, KUBELET_VERSION, NODE_LEASE_NAMESPACE, type ConditionState, type MachineInfo, type NodePressure } from "./status.js";
export type { PressureSource } from "./machine.js";

function resource(group: string, name: string): ResourceInfo {
  const info = RESOURCES.find((r) => r.group === group && r.resource === name);
  if (!info) throw new Error(`unknown resource ${name}`);
  return info;
}
const NODES = resource("", "nodes");
const LEASES = resource("coordination.k8s.io", "leases");

/** While the node has never been Ready, status is checked this often, for at most FAST_STATUS_WINDOW_MS. */
const FAST_STATUS_INTERVAL_MS = 1000;
const FAST_STATUS_WINDOW_MS = 60_000;
const RUNTIME_DOWN_THRESHOLD_MS = 30_000;

/** What the Node reports about its runtime: the kubelet passes its CRI client (or a fake). */
export interface RuntimeInfoSource {
  version(): Promise<cri.VersionResponse>;
  status(): Promise<cri.StatusResponse>;
}

export interface NodeStatusOptions {
  client: RestClient;
  recorder: EventRecorder;
  clock: Clock;
  logger: Logger;
  runtime: RuntimeInfoSource;
  nodeName: string;
  /** InternalIP; Hostname address is nodeName. */
  nodeIP: string;
  /** status.daemonEndpoints.kubeletEndpoint.Port (--port). */
  kubeletPort: number;
  /** Extra labels (--node-labels); the kubelet's own (hostname, os, arch) are always set. */
  labels: Readonly<Record<string, string>>;
  /** Capacity overrides; unset values come from the machine (os.cpus, os.totalmem, the root dir's filesystem). */
  capacity: { cpu?: string; memory?: string; ephemeralStorage?: string; maxPods: number };
  /** spec.podCIDR to register with (--pod-cidr); the controller-manager's IPAM sets it otherwise. */
  podCidr?: string;
  /** --node-status-update-frequency (ms), default 10 s. */
  statusUpdateFrequencyMs: number;
  /** Unchanged status is still posted this often (Kubernetes' nodeStatusReportFrequency, 5 min). */
  statusReportFrequencyMs: number;
  /** --node-lease-duration-seconds, default 40; renewed every quarter of it. */
  leaseDurationSeconds: number;
  /** Where the root filesystem's capacity is measured (--root-dir). */
  rootDir: string;

  // ---- optional: what a process running many managers (hollow nodes) or a test injects ----

  /** Read before each status update instead of a GET (a shared Node informer's lister; keys are node names). */
  nodeLister?: { get(name: string): Readonly<Node> | undefined };
  /** The machine's facts; read from this machine at start when absent. */
  machine?: MachineInfo;
  /** Eviction pressure; default machinePressure(rootDir) (/proc/meminfo and statfs). */
  pressure?: PressureSource;
  /** Annotations set at registration (added on adoption where missing). */
  annotations?: Readonly<Record<string, string>>;
  /** Allocatable values that replace the computed ones (e.g. hollow nodes: allocatable = capacity). */
  allocatable?: Readonly<Record<string, string>>;
  /** Delay of the first periodic status check and lease renewal after registration, to spread many managers. */
  startOffsetMs?: number;
  /** How often the Lease is renewed (default a quarter of leaseDurationSeconds, as the kubelet). */
  leaseRenewIntervalMs?: number;
  /** Lease renewals wait renewInterval·(1 + jitterFactor·random()); default 0.04, Kubernetes' lease jitter. */
  jitterFactor?: number;
  random?: () => number;
  /** Register the Node again when it was deleted (default true; see the header). */
  registerAgainWhenDeleted?: boolean;
  /** The node's images for status.images (e.g. from the runtime's ListImages); not reported when absent. */
  images?: () => Promise<readonly ContainerImage[]>;
  /**
   * Called with spec.podCIDR whenever the stored Node shows a new one (IPAM assigned it, or --pod-cidr at registration):
   * where the kubelet hands it to the runtime (CRI UpdateRuntimeConfig). Seen at the next status check.
   */
  onPodCIDR?: (podCIDR: string) => void;
  /** A runtime that stops answering counts as down after this long (default 30 s, Kubernetes' maxWaitForContainerRuntime). */
  runtimeDownThresholdMs?: number;
  /** The fieldManager of writes (default "kubelet"). */
  fieldManager?: string;
}

/** The reference events about the Node use: the kubelet's nodeRef, whose uid is the node name. */
function nodeRef(nodeName: string): ObjectReference {
  return { kind: "Node", name: nodeName, uid: nodeName };
}

export class NodeStatusManager {
  private readonly abort = new AbortController();
  private readonly fieldManager: string;
  private readonly pressureSource: PressureSource;
  private started = false;
  private stopped = false;
  private machine: MachineInfo | undefined;
  private identity: NodeIdentity | undefined;
  private current: Readonly<Node> | undefined;
  private uid: string | undefined;
  private lease: Lease | undefined;
  private lastReportAt = -Infinity;
  private startedAt = 0;
  private everReady = false;
  private lastRuntimeStatus: { status: cri.StatusResponse; at: number } | undefined;
  private runtimeVersion: cri.VersionResponse | undefined;
  private pressure: NodePressure = { ...NO_PRESSURE };
  private networkUnavailable: ConditionState | undefined;
  private images: readonly ContainerImage[] | undefined;
  private announcedPodCIDR: string | undefined;
  private goneLogged = false;
  private statusTimer: Timer | undefined;
  private leaseTimer: Timer | undefined;
  private statusRun: Promise<void> | undefined;
  private statusAgain = false;
  private leaseRun: Promise<void> | undefined;
  private readonly leaseBackoff: Backoff;

  constructor(readonly options: NodeStatusOptions) {
    this.fieldManager = options.fieldManager ?? "kubelet";
    this.pressureSource = options.pressure ?? machinePressure(options.rootDir);
    this.leaseBackoff = new Backoff({ initialMs: 200, maxMs: 7000, jitter: 0, clock: options.clock });
  }

  /** Registers (or adopts) the Node, then keeps status and Lease current until stop(). Resolves once registered. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const o = this.options;
    this.startedAt = o.clock.now();
    this.event("Normal", "Starting", "Starting kubelet.");
    this.machine = o.machine ?? (await readMachineInfo(o.rootDir));
    this.identity = {
      name: o.nodeName,
      defaultLabels: defaultNodeLabels(o.nodeName, this.machine),
      extraLabels: o.labels,
      annotations: o.annotations ?? {},
      podCidr: o.podCidr,
    };
    const backoff = new Backoff({ initialMs: 100, maxMs: 7000, jitter: 0.1, clock: o.clock, ...(o.random ? { random: o.random } : {}) });
    while (!this.stopped) {
      try {
        await this.register();
        break;
      } catch (err) {
        if (this.stopped) return;
        o.logger.warn({ err, node: o.nodeName }, "Unable to register node with API server");
        if (!(await backoff.wait(this.abort.signal))) return;
      }
    }
    if (this.stopped) return;
    this.requestStatusSync();
    await this.statusRun;
    const offset = Math.max(0, o.startOffsetMs ?? 0);
    this.scheduleStatus(this.everReady ? offset % o.statusUpdateFrequencyMs || o.statusUpdateFrequencyMs : FAST_STATUS_INTERVAL_MS);
    this.scheduleLease(offset % this.renewIntervalMs());
  }

  /** Stops the loops and waits for writes in flight. The Node and its Lease stay, as with a stopped kubelet. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.statusTimer?.cancel();
    this.leaseTimer?.cancel();
    this.abort.abort();
    await Promise.allSettled([this.statusRun, this.leaseRun]);
  }

  /** The Node as last read or written (podCIDR, addresses), undefined before registration. */
  node(): Readonly<Node> | undefined {
    return this.current;
  }

  /**
   * Sets the NetworkUnavailable condition posted with the status (the pod-routes code calls it once routes are in
   * place: False, RouteCreated); a change is posted at once. Without a call the condition is left to others.
   */
  setNetworkUnavailable(state: Readonly<ConditionState>): void {
    const prev = this.networkUnavailable;
    if (prev?.status === state.status && prev.reason === state.reason && prev.message === state.message) return;
    this.networkUnavailable = { ...state };
    if (this.uid !== undefined) this.requestStatusSync();
  }

  /** Checks and posts the status now (e.g. when the runtime reports a change); coalesces with a check in flight. */
  requestStatusSync(): void {
    if (this.stopped) return;
    if (this.statusRun) {
      this.statusAgain = true;
      return;
    }
    this.statusRun = (async () => {
      do {
        this.statusAgain = false;
        try {
          await this.syncStatus();
        } catch (err) {
          if (!this.stopped) this.options.logger.warn({ err, node: this.options.nodeName }, "Error updating node status, will retry");
        }
      } while (this.statusAgain && !this.stopped);
      this.statusRun = undefined;
    })();
  }

  // ---- registration ----

  private async register(): Promise<void> {
    const o = this.options;
    const identity = this.identity!;
    let node: Node;
    try {
      node = await o.client.create<Node>(NODES, undefined, buildNode(identity), { signal: this.abort.signal, fieldManager: this.fieldManager });
      o.logger.info({ node: o.nodeName }, "Successfully registered node");
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      node = await this.adopt(await o.client.get<Node>(NODES, undefined, o.nodeName, { signal: this.abort.signal }));
    }
    this.ownNode(node);
  }

  /** An existing Node of our name becomes ours (kubelet_node_status.go's reconcile on AlreadyExists). */
  private async adopt(existing: Readonly<Node>): Promise<Node> {
    const o = this.options;
    const patch = adoptionPatch(existing, this.identity!);
    o.logger.info({ node: o.nodeName, patched: patch !== undefined }, "Node was previously registered");
    if (!patch) return structuredClone(existing);
    return o.client.patch<Node>(NODES, undefined, o.nodeName, "merge", patch, { signal: this.abort.signal, fieldManager: this.fieldManager });
  }

  private ownNode(node: Readonly<Node>): void {
    if (this.uid !== undefined && this.uid !== node.metadata.uid) this.lease = undefined;
    this.current = node;
    this.uid = node.metadata.uid ?? "";
    this.goneLogged = false;
  }

  // ---- status ----

  private scheduleStatus(delayMs: number): void {
    if (this.stopped) return;
    this.statusTimer?.cancel();
    this.statusTimer = this.options.clock.setTimeout(() => {
      this.requestStatusSync();
      void (this.statusRun ?? Promise.resolve()).then(() => {
        const o = this.options;
        const fast = !this.everReady && o.clock.now() - this.startedAt < FAST_STATUS_WINDOW_MS;
        this.scheduleStatus(fast ? Math.min(FAST_STATUS_INTERVAL_MS, o.statusUpdateFrequencyMs) : o.statusUpdateFrequencyMs);
      });
    }, delayMs);
  }

  /** The stored Node: the lister's copy unless ours is newer, else a GET; undefined when it no longer exists. */
  private async readNode(): Promise<Readonly<Node> | undefined> {
    const o = this.options;
    const cached = o.nodeLister?.get(o.nodeName);
    if (cached) return newerOf(cached, this.current);
    try {
      return await o.client.get<Node>(NODES, undefined, o.nodeName, { signal: this.abort.signal });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async syncStatus(): Promise<void> {
    const o = this.options;
    let stored = await this.readNode();
    if (!stored) {
      if (o.registerAgainWhenDeleted === false) {
        if (!this.goneLogged) o.logger.warn({ node: o.nodeName }, "Node not found; not registering it again");
        this.goneLogged = true;
        return;
      }
      o.logger.warn({ node: o.nodeName }, "Node not found; registering it again");
      await this.register();
      stored = this.current;
    } else if (stored.metadata.uid !== this.uid) {
      // Deleted and created again by someone else: ours once more.
      this.ownNode(await this.adopt(stored));
      stored = this.current;
    } else {
      this.current = stored;
    }
    this.announcePodCIDR(stored);
    const [runtime, version, pressure, images] = await Promise.all([this.runtimeStatus(), this.version(), this.readPressure(), this.readImages()]);
    const readyErrors = runtimeErrors(runtime);
    const now = o.clock.now();
    const desired = desiredNodeStatus(
      {
        resources: nodeResources(this.machine!, o.capacity, o.allocatable),
        nodeName: o.nodeName,
        nodeIP: o.nodeIP,
        kubeletPort: o.kubeletPort,
        nodeInfo: nodeSystemInfo(this.machine!, version),
        pressure,
        readyErrors,
        networkUnavailable: this.networkUnavailable,
        images,
      },
      stored?.status,
      now,
    );
    if (!nodeStatusChanged(stored?.status, desired) && now - this.lastReportAt < o.statusReportFrequencyMs) return;
    const node = await o.client.patch<Node>(NODES, undefined, o.nodeName, "strategic", nodeStatusPatch(desired), {
      subresource: "status",
      signal: this.abort.signal,
      fieldManager: this.fieldManager,
    });
    this.current = node;
    this.lastReportAt = now;
    if (readyErrors.length === 0) this.everReady = true;
    for (const reason of conditionEvents(stored?.status, pressure, readyErrors)) this.event("Normal", reason, `Node ${o.nodeName} status is now: ${reason}`);
  }

  /**
   * The runtime's status. A failed call keeps the last answer for runtimeDownThresholdMs (the kubelet's 30 s
   * maxWaitForContainerRuntime), so a runtime restart does not flap the node NotReady; after that it is down.
   */
  private async runtimeStatus(): Promise<RuntimeStatusResult> {
    const o = this.options;
    try {
      const status = await o.runtime.status();
      this.lastRuntimeStatus = { status, at: o.clock.now() };
      return { status };
    } catch (err) {
      o.logger.debug({ err }, "Container runtime status check failed");
      const last = this.lastRuntimeStatus;
      if (last && o.clock.now() - last.at < (o.runtimeDownThresholdMs ?? RUNTIME_DOWN_THRESHOLD_MS)) return { status: last.status };
      return { error: err, everSucceeded: last !== undefined };
    }
  }

  /** The runtime's version; the last known one while the runtime does not answer. */
  private async version(): Promise<cri.VersionResponse | undefined> {
    try {
      this.runtimeVersion = await this.options.runtime.version();
    } catch (err) {
      this.options.logger.debug({ err }, "Container runtime version check failed");
    }
    return this.runtimeVersion;
  }

  /** Eviction pressure; the last reading when the source fails. */
  private async readPressure(): Promise<NodePressure> {
    try {
      this.pressure = await this.pressureSource();
    } catch (err) {
      this.options.logger.debug({ err }, "Reading eviction signals failed");
    }
    return this.pressure;
  }

  /** The images to report; the last list when the source fails, none without a source. */
  private async readImages(): Promise<readonly ContainerImage[] | undefined> {
    if (!this.options.images) return undefined;
    try {
      this.images = await this.options.images();
    } catch (err) {
      this.options.logger.debug({ err }, "Listing images for node status failed");
    }
    return this.images;
  }

  private announcePodCIDR(node: Readonly<Node> | undefined): void {
    const cidr = node?.spec?.podCIDR;
    if (!cidr || cidr === this.announcedPodCIDR) return;
    this.announcedPodCIDR = cidr;
    try {
      this.options.onPodCIDR?.(cidr);
    } catch (err) {
      this.options.logger.warn({ err, podCIDR: cidr }, "Handling the node's podCIDR failed");
    }
  }

  private event(type: EventType, reason: string, message: string): void {
    this.options.recorder.event(nodeRef(this.options.nodeName), type, reason, message);
  }

  // ---- the Lease ----

  private renewIntervalMs(): number {
    return this.options.leaseRenewIntervalMs ?? (this.options.leaseDurationSeconds * 1000) / 4;
  }

  private scheduleLease(delayMs: number): void {
    if (this.stopped) return;
    this.leaseTimer?.cancel();
    this.leaseTimer = this.options.clock.setTimeout(() => {
      this.leaseTimer = undefined;
      this.leaseRun = this.renewLeaseOnce().finally(() => {
        this.leaseRun = undefined;
      });
    }, delayMs);
  }

  private async renewLeaseOnce(): Promise<void> {
    const o = this.options;
    const interval = this.renewIntervalMs();
    try {
      await this.renewLease();
      this.leaseBackoff.reset();
      this.scheduleLease(interval * (1 + (o.jitterFactor ?? 0.04) * (o.random ?? Math.random)()));
    } catch (err) {
      if (this.stopped) return;
      o.logger.warn({ err, node: o.nodeName }, "Failed to update lease");
      this.scheduleLease(Math.min(interval, this.leaseBackoff.next()));
    }
  }

  private async renewLease(): Promise<void> {
    const o = this.options;
    const uid = this.uid;
    if (uid === undefined) return;
    const signal = this.abort.signal;
    await retryOnConflict(
      async (previous) => {
        // A stale Lease (someone else wrote it) is read again; a vanished one is created.
        if (previous !== undefined || this.lease === undefined) this.lease = previous !== undefined && isNotFound(previous) ? undefined : await this.getLease();
        const now = o.clock.now();
        this.lease = this.lease
          ? await o.client.update<Lease>(LEASES, NODE_LEASE_NAMESPACE, buildLease(o.nodeName, uid, o.leaseDurationSeconds, now, this.lease), { signal, fieldManager: this.fieldManager })
          : await o.client.create<Lease>(LEASES, NODE_LEASE_NAMESPACE, buildLease(o.nodeName, uid, o.leaseDurationSeconds, now), { signal, fieldManager: this.fieldManager });
      },
      { attempts: 5, retriable: (err) => isConflict(err) || isAlreadyExists(err) || isNotFound(err) },
    );
  }

  private async getLease(): Promise<Lease | undefined> {
    try {
      return await this.options.client.get<Lease>(LEASES, NODE_LEASE_NAMESPACE, this.options.nodeName, { signal: this.abort.signal });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}

/** `cached` unless `mine` is the same Node at a later resourceVersion (an informer that has not caught up yet). */
function newerOf(cached: Readonly<Node>, mine: Readonly<Node> | undefined): Readonly<Node> {
  if (!mine || mine.metadata.uid !== cached.metadata.uid) return cached;
  try {
    return BigInt(mine.metadata.resourceVersion ?? "0") > BigInt(cached.metadata.resourceVersion ?? "0") ? mine : cached;
  } catch {
    return cached;
  }
}
