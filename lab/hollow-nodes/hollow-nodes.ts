// The node simulator (kubemark's hollow kubelet, kwok's idea): one process plays N kubelets against the apiserver.
// Per node it registers the Node (or adopts an existing one), renews its Lease in kube-node-lease, and posts node
// status when it changes or every report period; for pods bound to its nodes it reports them Running after the
// start delay (or Failed, crash-looping or unready, as annotations ask) and finishes their graceful deletion.
//
// Shape (the controllers' informer → workqueue → sync loop): two shared informers (all nodes; all bound pods, spec.nodeName!=) whose handlers only
// enqueue; three workqueues (node registration/status, leases, pods) each drained by a small worker pool, which
// bounds the requests in flight; two SpreadTickers that spread the periodic lease renewals and status checks over
// their periods. No per-node watches or timers: 1,000 nodes cost one process about a tenth of a core.
//
// Dying is the point: nothing is cleaned up on exit. On SIGTERM the loops stop and the Nodes stay (a dead kubelet
// does not delete its node either); their Leases simply stop being renewed. A restarted process adopts its Nodes
// (patching status back to Ready), its Leases and its pods: a pod already Running keeps its status untouched.
import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import { isAlreadyExists, isConflict, isNotFound, retryOnConflict } from "../../api/errors.js";
import { objectKey } from "../../api/meta.js";
import { isPodTerminal } from "../../api/pod.js";
import { RESOURCES, type ResourceInfo } from "../../api/resources.js";
import { parseTime } from "../../api/time.js";
import type { Lease, Node, Pod } from "../../api/types/index.js";
import { newControllerQueue, runWorkers } from "../../client/controller-loop.js";
import { createInformer, unwrapTombstone, waitForCacheSync, type DeletedFinalStateUnknown, type Informer } from "../../client/informer.js";
import type { RestClient } from "../../client/rest.js";
import { itemExponentialRateLimiter, type RateLimitingQueue } from "../../client/workqueue.js";
import { realClock, type Clock } from "../../component-base/clock.js";
import { silentLogger, type Logger } from "../../component-base/logging.js";
import type { Registry } from "../../component-base/metrics.js";
import { hollowMetrics, type HollowMetrics } from "./metrics.js";
import { buildLease, buildNode, desiredNodeStatus, internalIPFor, missingLabels, NODE_LEASE_NAMESPACE, nodeLabels, nodeNameFor, nodeStatusChanged, nodeStatusPatch, type NodeTemplate } from "./node.js";
import type { HollowNodesConfig } from "./options.js";
import { fallbackCIDR, parseCIDR, PodIPAllocator, type CIDR } from "./pod-ips.js";
import { CRASHLOOP_RESTART_INTERVAL_MS, nextCrashRestartInMs, pendingPodStatus, podBehaviour, podStatusEqual, runningPodStatus } from "./pod-status.js";
import { SpreadTicker } from "./spread.js";

function resource(group: string, name: string): ResourceInfo {
  const info = RESOURCES.find((r) => r.group === group && r.resource === name);
  if (!info) throw new Error(`unknown resource ${name}`);
  return info;
}
const NODES = resource("", "nodes");
const PODS = resource("", "pods");
const LEASES = resource("coordination.k8s.io", "leases");

const POD_NODE_INDEX = "nodeName";
const FIELD_MANAGER = "kubelab-hollow-node";

export interface HollowNodesOptions {
  client: RestClient;
  config: HollowNodesConfig;
  clock?: Clock;
  logger?: Logger;
  /** Where metrics go (hollow_nodes, kubelet_running_pods, workqueue_*); none when absent. */
  registry?: Registry;
  /** The nodes' nodeInfo.bootID; a fresh one per process by default (a restarted node has rebooted). */
  bootID?: string;
  /** How often a crash-looping container restarts (default CRASHLOOP_RESTART_INTERVAL_MS, 5 s). */
  crashLoopRestartIntervalMs?: number;
}

/** One simulated node's bookkeeping. */
interface NodeState {
  readonly name: string;
  readonly index: number;
  readonly slot: number;
  readonly internalIP: string;
  /** Set once this process registered or adopted the Node. */
  uid: string | undefined;
  registeredAt: number;
  /** The Node was deleted by someone else: like a kubelet, it is not registered again until the process restarts. */
  deleted: boolean;
  /** The last Lease written or read (the next renewal is a conditional update of it). */
  lease: Lease | undefined;
  lastLeaseRenew: number;
  lastStatusReport: number;
  /** The pseudo range in use while the Node has no podCIDR (see pod-ips.ts). */
  fallback: CIDR | undefined;
}

export class HollowNodes {
  private readonly client: RestClient;
  private readonly config: HollowNodesConfig;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly template: NodeTemplate;
  private readonly nodes = new Map<string, NodeState>();
  private readonly slots: NodeState[] = [];
  private readonly nodeInformer: Informer<Node>;
  private readonly podInformer: Informer<Pod>;
  private readonly nodeQueue: RateLimitingQueue;
  private readonly leaseQueue: RateLimitingQueue;
  private readonly podQueue: RateLimitingQueue;
  private readonly ips = new PodIPAllocator();
  /** When each pod was first seen bound to one of our nodes (the start delay counts from there). */
  private readonly firstSeen = new Map<string, number>();
  private readonly metrics: HollowMetrics | undefined;
  private readonly crashLoopIntervalMs: number;
  private registered = 0;
  private startedAt = 0;
  private allRegisteredLogged = false;

  constructor(opts: HollowNodesOptions) {
    this.client = opts.client;
    this.config = opts.config;
    this.clock = opts.clock ?? realClock;
    this.logger = opts.logger ?? silentLogger();
    this.crashLoopIntervalMs = opts.crashLoopRestartIntervalMs ?? CRASHLOOP_RESTART_INTERVAL_MS;
    this.template = { capacity: opts.config.capacity, labels: opts.config.labels, bootID: opts.bootID ?? randomUUID() };
    for (let slot = 0; slot < this.config.count; slot++) {
      const index = this.config.startIndex + slot;
      const state: NodeState = {
        name: nodeNameFor(this.config.namePrefix, index),
        index,
        slot,
        internalIP: internalIPFor(index),
        uid: undefined,
        registeredAt: 0,
        deleted: false,
        lease: undefined,
        lastLeaseRenew: -Infinity,
        lastStatusReport: -Infinity,
        fallback: undefined,
      };
      this.nodes.set(state.name, state);
      this.slots.push(state);
    }
    const common = { client: this.client, clock: this.clock, logger: this.logger, freezeObjects: false };
    this.nodeInformer = createInformer<Node>({ ...common, resource: NODES });
    // Only bound pods; which of them are ours is decided here, as field selectors cannot match a name prefix.
    this.podInformer = createInformer<Pod>({ ...common, resource: PODS, fieldSelector: "spec.nodeName!=", indexers: { [POD_NODE_INDEX]: (p) => [p.spec?.nodeName ?? ""] } });
    const queue = (name: string): RateLimitingQueue => newControllerQueue(name, { clock: this.clock, metrics: opts.registry, rateLimiter: itemExponentialRateLimiter(200, 30_000) });
    this.nodeQueue = queue("hollow_node");
    this.leaseQueue = queue("hollow_node_lease");
    this.podQueue = queue("hollow_pod");
    this.metrics = opts.registry
      ? hollowMetrics(opts.registry, { registeredNodes: () => this.registered, runningPods: () => this.runningPods() })
      : undefined;
  }

  /** Node names this process simulates, in index order. */
  nodeNames(): string[] {
    return this.slots.map((s) => s.name);
  }

  /** True once both informers have synced (for /readyz). */
  hasSynced(): boolean {
    return this.nodeInformer.hasSynced() && this.podInformer.hasSynced();
  }

  /** Runs until `signal` aborts; resolves once every loop has stopped. Nodes are left as they are. */
  async run(signal: AbortSignal): Promise<void> {
    this.startedAt = this.clock.now();
    // Every request in flight listens on the signal: with the worker pools that is legitimately more than 10.
    setMaxListeners(64 + 2 * (this.config.concurrentNodeSyncs * 2 + this.config.concurrentPodSyncs), signal);
    this.addHandlers();
    const informers = [this.nodeInformer.run(signal), this.podInformer.run(signal)];
    this.logger.info({ nodes: this.config.count, first: this.slots[0]?.name, last: this.slots.at(-1)?.name }, "Starting hollow nodes");
    if (await waitForCacheSync(signal, this.nodeInformer, this.podInformer)) {
      await this.loadLeases(signal);
      this.adoptPodIPs();
      for (const state of this.slots) this.nodeQueue.add(state.name);
      const workers = [
        this.workers(this.nodeQueue, this.config.concurrentNodeSyncs, (name) => this.syncNode(name, signal), signal),
        this.workers(this.leaseQueue, this.config.concurrentNodeSyncs, (name) => this.renewLease(name, signal), signal),
        this.workers(this.podQueue, this.config.concurrentPodSyncs, (key) => this.syncPod(key, signal), signal),
      ];
      this.startTickers(signal);
      await Promise.all(workers);
    }
    for (const q of [this.nodeQueue, this.leaseQueue, this.podQueue]) q.shutDown();
    await Promise.all(informers);
    this.logger.info("Hollow nodes stopped; their Nodes stay registered");
  }

  // ---- event handlers: they only enqueue ----

  private addHandlers(): void {
    const onNode = (node: Readonly<Node>, old?: Readonly<Node>): void => {
      const state = this.nodes.get(node.metadata.name ?? "");
      if (!state?.uid || state.deleted || node.metadata.uid !== state.uid) return;
      // IPAM just gave the node its podCIDR: pods waiting for an address can go on.
      if (old && node.spec?.podCIDR && node.spec.podCIDR !== old.spec?.podCIDR) this.enqueuePodsOf(state.name);
      // Someone changed the status (the node lifecycle controller set Ready=Unknown): post ours again.
      if (nodeStatusChanged(node.status, desiredNodeStatus(state.name, state.index, this.template, this.clock.now(), node.status))) this.nodeQueue.add(state.name);
    };
    this.nodeInformer.addEventHandler({
      onAdd: (node) => { onNode(node); },
      onUpdate: (old, node) => { onNode(node, old); },
      onDelete: (obj: Readonly<Node> | DeletedFinalStateUnknown<Node>) => {
        const node = unwrapTombstone(obj);
        const state = this.nodes.get(node.metadata.name ?? "");
        if (!state?.uid || state.deleted || node.metadata.uid !== state.uid) return;
        state.deleted = true;
        this.registered--;
        this.logger.warn({ node: state.name }, "Node was deleted; like a kubelet, it stays unregistered until this process restarts");
      },
    });
    const onPod = (pod: Readonly<Pod>): void => {
      if (this.nodes.has(pod.spec?.nodeName ?? "")) this.podQueue.add(objectKey(pod.metadata));
    };
    this.podInformer.addEventHandler({
      onAdd: onPod,
      onUpdate: (_old, pod) => { onPod(pod); },
      onDelete: (obj) => { onPod(unwrapTombstone(obj)); },
    });
  }

  private enqueuePodsOf(nodeName: string): void {
    for (const pod of this.podInformer.lister.byIndex(POD_NODE_INDEX, nodeName)) this.podQueue.add(objectKey(pod.metadata));
  }

  private startTickers(signal: AbortSignal): void {
    const onError = (err: unknown, slot: number): void => {
      this.logger.error({ err, slot }, "Periodic node work failed");
    };
    const renewEvery = this.config.leaseRenewIntervalMs;
    new SpreadTicker({
      slots: this.slots.length,
      periodMs: renewEvery,
      clock: this.clock,
      onError,
      onSlot: (slot) => {
        const state = this.slots[slot];
        // A lease renewed less than half an interval ago (at registration) waits for its next turn.
        if (state?.uid && !state.deleted && this.clock.now() - state.lastLeaseRenew >= renewEvery / 2) this.leaseQueue.add(state.name);
      },
    }).start(signal);
    new SpreadTicker({
      slots: this.slots.length,
      periodMs: this.config.nodeStatusUpdateFrequencyMs,
      clock: this.clock,
      onError,
      onSlot: (slot) => {
        const state = this.slots[slot];
        if (state?.uid && !state.deleted) this.nodeQueue.add(state.name);
      },
    }).start(signal);
  }

  /** The caches have synced already: the workers start at once, quietly; failures are routine here (debug). */
  private workers(queue: RateLimitingQueue, workers: number, sync: (key: string) => Promise<void>, signal: AbortSignal): Promise<void> {
    return runWorkers({
      queue,
      workers,
      sync,
      informers: [],
      logger: this.logger,
      signal,
      onStart: () => undefined,
      logFailure: (key, err) => {
        if (!signal.aborted) this.logger.debug({ err, key }, "Sync failed; retrying with backoff");
      },
    });
  }

  // ---- nodes ----

  /** Registers (or adopts) the node the first time; afterwards posts its status when changed or due. */
  private async syncNode(name: string, signal: AbortSignal): Promise<void> {
    const state = this.nodes.get(name);
    if (!state || state.deleted) return;
    if (state.uid === undefined) {
      await this.register(state, signal);
      return;
    }
    const now = this.clock.now();
    const cached = this.nodeInformer.lister.get(name);
    const desired = desiredNodeStatus(name, state.index, this.template, now, cached?.status);
    if (!nodeStatusChanged(cached?.status, desired) && now - state.lastStatusReport < this.config.nodeStatusReportFrequencyMs) return;
    await this.postStatus(state, desired, signal);
  }

  private async register(state: NodeState, signal: AbortSignal): Promise<void> {
    const now = this.clock.now();
    const existing = this.nodeInformer.lister.get(state.name);
    let node: Node;
    if (existing) {
      node = await this.adopt(state, existing, signal);
    } else {
      try {
        node = await this.client.create(NODES, undefined, buildNode(state.name, state.index, this.template, now), { signal, fieldManager: FIELD_MANAGER });
        this.metrics?.nodeStatusPosts.inc({ result: "success" });
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        node = await this.adopt(state, await this.client.get<Node>(NODES, undefined, state.name, { signal }), signal);
      }
    }
    state.uid = node.metadata.uid ?? "";
    // The podCIDR wait counts from the Node's creation, so a restart does not make pods wait for IPAM again.
    const created = parseTime(node.metadata.creationTimestamp);
    state.registeredAt = created === undefined ? now : Math.min(now, created);
    state.lastStatusReport = now;
    this.registered++;
    this.logger.debug({ node: state.name, adopted: existing !== undefined }, "Registered node");
    this.leaseQueue.add(state.name);
    this.enqueuePodsOf(state.name);
    if (this.registered === this.config.count && !this.allRegisteredLogged) {
      this.allRegisteredLogged = true;
      this.logger.info({ nodes: this.config.count, ms: this.clock.now() - this.startedAt }, "All hollow nodes registered");
    }
  }

  /** An existing Node becomes ours again: its labels are re-asserted and its status posted (Ready). */
  private async adopt(state: NodeState, existing: Readonly<Node>, signal: AbortSignal): Promise<Node> {
    const labels = missingLabels(existing, nodeLabels(state.name, this.template));
    if (labels) await this.client.patch(NODES, undefined, state.name, "merge", { metadata: { labels } }, { signal, fieldManager: FIELD_MANAGER });
    const desired = desiredNodeStatus(state.name, state.index, this.template, this.clock.now(), existing.status);
    return this.postStatus(state, desired, signal);
  }

  private async postStatus(state: NodeState, desired: ReturnType<typeof desiredNodeStatus>, signal: AbortSignal): Promise<Node> {
    try {
      const node = await this.client.patch<Node>(NODES, undefined, state.name, "strategic", nodeStatusPatch(desired), { subresource: "status", signal, fieldManager: FIELD_MANAGER });
      state.lastStatusReport = this.clock.now();
      this.metrics?.nodeStatusPosts.inc({ result: "success" });
      return node;
    } catch (err) {
      this.metrics?.nodeStatusPosts.inc({ result: "error" });
      throw err;
    }
  }

  // ---- leases ----

  /** Reads kube-node-lease once, so renewals start as conditional updates instead of one GET per node. */
  private async loadLeases(signal: AbortSignal): Promise<void> {
    try {
      const list = await this.client.listAll<Lease>(LEASES, NODE_LEASE_NAMESPACE, { signal });
      for (const lease of list.items) {
        const state = this.nodes.get(lease.metadata.name ?? "");
        if (state) state.lease = lease;
      }
    } catch (err) {
      if (signal.aborted) return;
      this.logger.warn({ err }, "Listing node leases failed; each lease is read on its first renewal instead");
    }
  }

  private async renewLease(name: string, signal: AbortSignal): Promise<void> {
    const state = this.nodes.get(name);
    if (!state?.uid || state.deleted) return;
    const uid = state.uid;
    try {
      // A stale lease (someone else wrote it, or it exists already) is read again; a vanished one is created.
      await retryOnConflict(
        async (previous) => {
          if (previous !== undefined) state.lease = isNotFound(previous) ? undefined : await this.client.get<Lease>(LEASES, NODE_LEASE_NAMESPACE, name, { signal });
          const now = this.clock.now();
          state.lease = state.lease
            ? await this.client.update<Lease>(LEASES, NODE_LEASE_NAMESPACE, buildLease(name, uid, this.config.leaseDurationSeconds, now, state.lease), { signal, fieldManager: FIELD_MANAGER })
            : await this.client.create<Lease>(LEASES, NODE_LEASE_NAMESPACE, buildLease(name, uid, this.config.leaseDurationSeconds, now), { signal, fieldManager: FIELD_MANAGER });
          state.lastLeaseRenew = now;
        },
        { attempts: 3, retriable: (err) => isConflict(err) || isAlreadyExists(err) || isNotFound(err) },
      );
    } catch (err) {
      this.metrics?.leaseRenewals.inc({ result: "error" });
      throw err;
    }
    this.metrics?.leaseRenewals.inc({ result: "success" });
  }

  // ---- pods ----

  /** After a restart, addresses pods already have are taken before any new pod gets one. */
  private adoptPodIPs(): void {
    for (const pod of this.podInformer.lister.list()) {
      const node = pod.spec?.nodeName ?? "";
      const ip = pod.status?.podIP;
      if (ip && this.nodes.has(node) && !pod.spec?.hostNetwork) this.ips.reserve(node, objectKey(pod.metadata), ip);
    }
  }

  private async syncPod(key: string, signal: AbortSignal): Promise<void> {
    const pod = this.podInformer.lister.get(key);
    const state = this.nodes.get(pod?.spec?.nodeName ?? "");
    if (!pod || !state) {
      this.ips.release(key);
      this.firstSeen.delete(key);
      return;
    }
    if (state.deleted) return;
    if (state.uid === undefined) {
      this.podQueue.addAfter(key, 500); // the node registers first
      return;
    }
    const phase = pod.status?.phase;
    if (pod.metadata.deletionTimestamp) {
      await this.finishDeletion(pod, signal);
      this.ips.release(key);
      this.firstSeen.delete(key);
      return;
    }
    if (isPodTerminal(pod)) {
      this.ips.release(key);
      return;
    }
    const now = this.clock.now();
    let seen = this.firstSeen.get(key);
    if (seen === undefined) {
      seen = now;
      this.firstSeen.set(key, now);
    }
    const startAt = seen + this.config.startDelayMs;
    // A pod that already runs (adopted after a restart) does not wait again.
    if (now < startAt && phase !== "Running") {
      await this.writeStatus(pod, pendingPodStatus(pod, state.internalIP, now), signal);
      this.podQueue.addAfter(key, startAt - now);
      return;
    }
    const podIP = this.podIP(pod, state, key, now);
    if (podIP === undefined) return; // requeued until the node has a podCIDR
    const behaviour = podBehaviour(pod);
    const desired = runningPodStatus({ pod, hostIP: state.internalIP, podIP, nowMs: now, behaviour, crashLoopIntervalMs: this.crashLoopIntervalMs });
    await this.writeStatus(pod, desired, signal);
    if (behaviour === "crashloop") {
      const next = nextCrashRestartInMs({ ...pod, status: desired }, this.clock.now(), this.crashLoopIntervalMs);
      if (next !== undefined) this.podQueue.addAfter(key, Math.max(next, 50));
    }
  }

  /** The pod's IP: hostNetwork uses the node's; else the one it has, or the next free one of the node's range. */
  private podIP(pod: Readonly<Pod>, state: NodeState, key: string, now: number): string | undefined {
    if (pod.spec?.hostNetwork) return state.internalIP;
    const existing = pod.status?.podIP;
    if (existing) {
      this.ips.reserve(state.name, key, existing);
      return existing;
    }
    const held = this.ips.get(key);
    if (held) return held;
    const cidr = this.podCIDR(state, now);
    if (!cidr) {
      const waited = now - state.registeredAt;
      this.podQueue.addAfter(key, waited < this.config.podCIDRWaitMs ? Math.max(50, this.config.podCIDRWaitMs - waited) : 1000);
      return undefined;
    }
    return this.ips.allocate(state.name, key, cidr);
  }

  /** spec.podCIDR from node IPAM; without one after --pod-cidr-wait, the node's pseudo range (unless disabled). */
  private podCIDR(state: NodeState, now: number): CIDR | undefined {
    const fromIPAM = this.nodeInformer.lister.get(state.name)?.spec?.podCIDR;
    const parsed = fromIPAM ? parseCIDR(fromIPAM) : undefined;
    if (parsed) return parsed;
    if (state.fallback) return state.fallback;
    if (now - state.registeredAt < this.config.podCIDRWaitMs) return undefined;
    const range = this.config.podCIDRFallback;
    if (!range) return undefined;
    state.fallback = fallbackCIDR(state.name, range);
    this.logger.info({ node: state.name, podCIDR: fromIPAM ?? "", fallback: state.fallback.text }, "Node has no usable IPv4 podCIDR; using a pseudo range for its pods");
    return state.fallback;
  }

  private async writeStatus(pod: Readonly<Pod>, desired: NonNullable<Pod["status"]>, signal: AbortSignal): Promise<void> {
    if (podStatusEqual(pod.status, desired)) return;
    try {
      // A conditional PUT: if the cached pod is stale the write fails with Conflict and the newer pod comes round.
      await this.client.updateStatus<Pod>(PODS, pod.metadata.namespace, { ...pod, status: desired }, { signal, fieldManager: FIELD_MANAGER });
      this.metrics?.podStatusWrites.inc({ result: "success" });
    } catch (err) {
      if (isNotFound(err)) return;
      this.metrics?.podStatusWrites.inc({ result: isConflict(err) ? "conflict" : "error" });
      throw err;
    }
  }

  /** The containers "stopped": remove the pod for good, as the kubelet does (grace 0, only this very pod). */
  private async finishDeletion(pod: Readonly<Pod>, signal: AbortSignal): Promise<void> {
    try {
      await this.client.delete(PODS, pod.metadata.namespace, pod.metadata.name ?? "", { gracePeriodSeconds: 0, ...(pod.metadata.uid ? { preconditions: { uid: pod.metadata.uid } } : {}), signal });
      this.metrics?.podDeletions.inc();
    } catch (err) {
      // Gone already, or a new pod of the same name (uid precondition): nothing left to do for this one.
      if (isNotFound(err) || isConflict(err)) return;
      throw err;
    }
  }

  private runningPods(): number {
    let n = 0;
    for (const pod of this.podInformer.lister.list()) if (pod.status?.phase === "Running" && this.nodes.has(pod.spec?.nodeName ?? "")) n++;
    return n;
  }
}
