// The node lifecycle controller (Kubernetes' pkg/controller/nodelifecycle), with its taint-based eviction
// (NoExecuteTaintManager, pkg/controller/tainteviction) and, because it is the same "pods of dead nodes" concern,
// the orphaned-pod half of the pod garbage collector (pkg/controller/podgc).
//
// Contract:
//   - Every monitor period, each Node's last heartbeat is the later of its Lease renewTime
//     (kube-node-lease/<node>) and its Ready condition's lastHeartbeatTime (creationTimestamp if it never sent one).
//     Older than the grace period: Ready, MemoryPressure, DiskPressure and PIDPressure become Unknown
//     ("NodeStatusUnknown", "Kubelet stopped posting node status."), written through nodes/<n>/status.
//   - The node's taints follow its conditions (taints.ts): unreachable or not-ready NoExecute (timeAdded) and
//     NoSchedule, pressure and unschedulable NoSchedule; when the kubelet reports Ready again they are removed.
//   - Pods on a node whose Ready is Unknown (and once, on the transition, on a node turning NotReady) get their Ready
//     condition set to False, so Services stop sending them traffic.
//   - Taint eviction: a pod on a node with NoExecute taints is deleted at once if it does not tolerate one, and
//     tolerationSeconds after the taint's timeAdded if it does (event TaintManagerEviction on the pod).
//   - Pod GC: pods bound to a Node that no longer exists (confirmed by a live GET), and unscheduled pods already
//     being deleted, are deleted with grace 0: no kubelet will ever finish them.
//   - Events: RegisteredNode when a node is first seen, NodeNotReady on Ready leaving True, RemovingNode when it is
//     gone. All writes carry the cached resourceVersion, so a concurrent kubelet update wins and we retry.
import { errorMessage, isNotFound } from "../../../api/errors.js";
import { podKey } from "../../../api/pod.js";
import { findResource } from "../../../api/resources.js";
import { formatTime, parseTime } from "../../../api/time.js";
import type { Lease, Node, NodeCondition, Pod, PodCondition } from "../../../api/types/index.js";
import { newControllerQueue, runWorkers } from "../../../client/controller-loop.js";
import type { EventRecorder } from "../../../client/event-recorder.js";
import { unwrapTombstone, waitForCacheSync, type Informer } from "../../../client/informer.js";
import type { RestClient } from "../../../client/rest.js";
import type { RateLimitingQueue } from "../../../client/workqueue.js";
import { realClock, type Clock } from "../../../component-base/clock.js";
import { silentLogger, type Logger } from "../../../component-base/logging.js";
import { counter, type Counter, type Registry } from "../../../component-base/metrics.js";
import {
  ensureIndex,
} from "../controller-utils.js";
import type { Controller, ControllerFactory } from "../types.js";
import { condition, evictionDecision, reconcileTaints } from "./taints.js";

export const NAME = "nodelifecycle";
/** source.component of node events, as in Kubernetes. */
export const COMPONENT = "node-controller";
/** source.component of eviction events (Kubernetes 1.29+). */
export const EVICTION_COMPONENT = "taint-eviction-controller";
export const NODE_LEASE_NAMESPACE = "kube-node-lease";
const POD_NODE_INDEX = "nodelifecycle-controller/nodeName";
/** Conditions the controller sets to Unknown when the kubelet goes silent (Kubernetes' nodeConditionTypes). */
const SILENT_CONDITIONS = ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"] as const;
/** Nodes checked at once in a monitor pass. */
const MONITOR_PARALLELISM = 16;

export const NODES = findResource("", "v1", "nodes")!;
export const PODS = findResource("", "v1", "pods")!;
export const LEASES = findResource("coordination.k8s.io", "v1", "leases")!;

export type NodeLifecycleClient = Pick<RestClient, "get" | "patch" | "delete">;

export interface NodeLifecycleControllerOptions {
  client: NodeLifecycleClient;
  nodes: Informer<Node>;
  leases: Informer<Lease>;
  pods: Informer<Pod>;
  /** Node events (source "node-controller"). */
  recorder: EventRecorder;
  /** Eviction events (source "taint-eviction-controller"); defaults to `recorder`. */
  evictionRecorder?: EventRecorder;
  /** --node-monitor-period; default 5 s. */
  monitorPeriodMs?: number;
  /** --node-monitor-grace-period; default 40 s. */
  gracePeriodMs?: number;
  /** Parallel eviction workers; default 4. */
  evictionWorkers?: number;
  clock?: Clock;
  logger?: Logger;
  /** Where the queue's workqueue_* metrics go. */
  metrics?: Registry;
}

interface KnownNode {
  uid: string;
  ready: string;
}

export class NodeLifecycleController implements Controller {
  readonly name = NAME;
  /** Pod keys whose eviction is due for evaluation. */
  readonly evictionQueue: RateLimitingQueue;
  private readonly client: NodeLifecycleClient;
  private readonly nodes: Informer<Node>;
  private readonly leases: Informer<Lease>;
  private readonly pods: Informer<Pod>;
  private readonly recorder: EventRecorder;
  private readonly evictionRecorder: EventRecorder;
  /** taint_eviction_controller_pod_deletions_total: pods this controller deleted (absent without a registry). */
  private readonly podDeletions: Counter | undefined;
  private readonly periodMs: number;
  private readonly graceMs: number;
  private readonly evictionWorkers: number;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly known = new Map<string, KnownNode>();
  /**
   * Pods with a deletion scheduled by tolerationSeconds, with when we first scheduled it (the start of the
   * toleration when no taint carries a timeAdded) and when it is due; also drives the "Cancelling deletion" event.
   */
  private readonly scheduled = new Map<string, { start: number; deadline: number }>();

  constructor(opts: NodeLifecycleControllerOptions) {
    this.periodMs = opts.monitorPeriodMs ?? 5_000;
    this.graceMs = opts.gracePeriodMs ?? 40_000;
    this.evictionWorkers = opts.evictionWorkers ?? 4;
    if (!(this.periodMs > 0)) throw new Error(`nodelifecycle controller: monitor period must be positive, got ${this.periodMs}`);
    if (!(this.graceMs > 0)) throw new Error(`nodelifecycle controller: grace period must be positive, got ${this.graceMs}`);
    if (!Number.isInteger(this.evictionWorkers) || this.evictionWorkers < 1) throw new Error(`nodelifecycle controller: evictionWorkers must be a positive integer, got ${this.evictionWorkers}`);
    this.client = opts.client;
    this.nodes = opts.nodes;
    this.leases = opts.leases;
    this.pods = opts.pods;
    this.recorder = opts.recorder;
    this.evictionRecorder = opts.evictionRecorder ?? opts.recorder;
    this.clock = opts.clock ?? realClock;
    this.logger = opts.logger ?? silentLogger();
    this.evictionQueue = newControllerQueue("node_lifecycle_taint_eviction", { clock: this.clock, metrics: opts.metrics });
    this.podDeletions = opts.metrics ? counter(opts.metrics, { name: "taint_eviction_controller_pod_deletions_total", help: "Total number of Pods deleted by TaintEvictionController since its start." }) : undefined;
    ensureIndex(this.pods, POD_NODE_INDEX, (pod) => (pod.spec?.nodeName ? [pod.spec.nodeName] : []));

    this.pods.addEventHandler({
      onAdd: (pod) => { this.considerPod(pod); },
      onUpdate: (_old, pod) => { this.considerPod(pod); },
      onDelete: (obj) => {
        this.scheduled.delete(podKey(unwrapTombstone(obj)));
      },
    });
    this.nodes.addEventHandler({
      onAdd: (node) => {
        if (noExecuteKey(node) !== "") this.enqueuePodsOn(node);
      },
      onUpdate: (old, node) => {
        if (noExecuteKey(old) !== noExecuteKey(node)) this.enqueuePodsOn(node);
      },
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    if (!(await waitForCacheSync(signal, this.nodes, this.leases, this.pods))) {
      this.evictionQueue.shutDown();
      return;
    }
    // The caches are synced: the eviction workers start at once, beside the monitor loop below.
    const evictions = runWorkers({
      queue: this.evictionQueue,
      workers: this.evictionWorkers,
      sync: (key) => this.syncEviction(key),
      informers: [this.nodes, this.leases, this.pods],
      logger: this.logger,
      signal,
      onStart: () => {
        this.logger.info({ monitorPeriodMs: this.periodMs, gracePeriodMs: this.graceMs }, "Starting node lifecycle controller");
      },
      logFailure: (key, err) => {
        this.logger.warn({ pod: key, err: errorMessage(err) }, "Taint eviction failed; retrying");
      },
    });
    while (!signal.aborted) {
      try {
        await this.monitorNodeHealth();
      } catch (err) {
        this.logger.warn({ err: errorMessage(err) }, "Node health pass failed");
      }
      try {
        await this.collectOrphanedPods();
      } catch (err) {
        this.logger.warn({ err: errorMessage(err) }, "Pod garbage collection pass failed");
      }
      if (!(await this.clock.sleep(this.periodMs, signal))) break;
    }
    this.evictionQueue.shutDown();
    await evictions;
  }

  /** One pass over every node: heartbeat → conditions → taints → pods marked not ready. Failures are per node. */
  async monitorNodeHealth(): Promise<void> {
    const nodes = this.nodes.lister.list();
    const failures: string[] = [];
    // Nodes are independent; a bounded number at a time keeps a mass failure (a simulator with 1,000 nodes killed)
    // from taking one period per node, in node-name order so that tests see a stable order.
    const queue = [...nodes].sort((a, b) => ((a.metadata.name ?? "") < (b.metadata.name ?? "") ? -1 : 1));
    const lane = async (): Promise<void> => {
      for (let node = queue.shift(); node; node = queue.shift()) {
        try {
          await this.monitorNode(node);
        } catch (err) {
          failures.push(`${node.metadata.name ?? ""}: ${errorMessage(err)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(MONITOR_PARALLELISM, queue.length) }, lane));
    const present = new Set(nodes.map((n) => n.metadata.name ?? ""));
    for (const [name, info] of this.known) {
      if (present.has(name)) continue;
      this.known.delete(name);
      this.recorder.event({ kind: "Node", name, uid: info.uid }, "Normal", "RemovingNode", `Node ${name} event: Removing Node ${name} from Controller`);
    }
    if (failures.length > 0) throw new Error(`node health updates failed (retried next period): ${failures.join("; ")}`);
  }

  private async monitorNode(cached: Readonly<Node>): Promise<void> {
    const name = cached.metadata.name ?? "";
    const now = this.clock.now();
    let node: Readonly<Node> = cached;
    if (now - this.lastHeartbeat(node) > this.graceMs) {
      const conditions = silencedConditions(node, formatTime(now));
      if (conditions) {
        node = await this.client.patch<Node>(NODES, undefined, name, "merge", { metadata: { resourceVersion: node.metadata.resourceVersion }, status: { conditions } }, { subresource: "status" });
        this.logger.info({ node: name }, "Node stopped posting status; marked Unknown");
      }
    }

    const ready = condition(node, "Ready")?.status ?? "Unknown";
    const previous = this.known.get(name);
    if (!previous) {
      this.recorder.event(node, "Normal", "RegisteredNode", `Node ${name} event: Registered Node ${name} in Controller`);
    } else if (previous.ready === "True" && ready !== "True") {
      this.recorder.event(node, "Normal", "NodeNotReady", `Node ${name} status is now: NodeNotReady`);
    }
    const becameNotReady = previous?.ready === "True" && ready === "False";
    this.known.set(name, { uid: node.metadata.uid ?? "", ready });

    const taints = reconcileTaints(node, formatTime(now));
    if (taints) {
      await this.client.patch<Node>(NODES, undefined, name, "merge", { metadata: { resourceVersion: node.metadata.resourceVersion }, spec: { taints } });
      this.logger.info({ node: name, taints: taints.map((t) => `${t.key}:${t.effect}`) }, "Updated node taints");
    }
    // Unknown means no kubelet will correct pod readiness, so keep it right on every pass; a NotReady node's
    // kubelet is alive and owns its pods' status, so mark them once (MarkPodsNotReady on the transition).
    if (ready === "Unknown" || becameNotReady) await this.markPodsNotReady(name);
  }

  /** The later of the Lease renewTime and the Ready heartbeat; the creation time for a node that never reported. */
  private lastHeartbeat(node: Readonly<Node>): number {
    const lease = this.leases.lister.getByName(NODE_LEASE_NAMESPACE, node.metadata.name ?? "");
    const times = [lease?.spec?.renewTime, condition(node, "Ready")?.lastHeartbeatTime].map(parseTime).filter((t) => t !== undefined);
    if (times.length > 0) return Math.max(...times);
    return parseTime(node.metadata.creationTimestamp) ?? this.clock.now();
  }

  private async markPodsNotReady(nodeName: string): Promise<void> {
    for (const pod of this.pods.lister.byIndex(POD_NODE_INDEX, nodeName)) {
      const conditions = pod.status?.conditions ?? [];
      const i = conditions.findIndex((c) => c.type === "Ready");
      if (i < 0 || conditions[i]!.status === "False") continue;
      const next: PodCondition[] = conditions.map((c) => ({ ...c }));
      next[i] = { ...next[i]!, status: "False", lastTransitionTime: formatTime(this.clock.now()) };
      try {
        await this.client.patch(PODS, pod.metadata.namespace, pod.metadata.name ?? "", "merge", { metadata: { resourceVersion: pod.metadata.resourceVersion }, status: { conditions: next } }, { subresource: "status" });
        this.logger.debug({ pod: podKey(pod), node: nodeName }, "Marked pod not ready");
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  /** Decides the eviction of pod `key` now: deletes it, schedules a later look, or cancels a scheduled one. */
  async syncEviction(key: string): Promise<void> {
    const pod = this.pods.lister.get(key);
    const nodeName = pod?.spec?.nodeName;
    const node = nodeName ? this.nodes.lister.getByName(undefined, nodeName) : undefined;
    if (!pod || pod.metadata.deletionTimestamp || !node) {
      this.scheduled.delete(key);
      return;
    }
    const now = this.clock.now();
    const start = this.scheduled.get(key)?.start ?? now;
    const decision = evictionDecision(node.spec?.taints ?? [], pod.spec?.tolerations ?? [], start);
    switch (decision.kind) {
      case "none":
      case "never":
        if (this.scheduled.delete(key)) this.evictionRecorder.event(pod, "Normal", "TaintManagerEviction", `Cancelling deletion of Pod ${key}`);
        return;
      case "at":
        if (decision.deadline > now) {
          this.scheduled.set(key, { start, deadline: decision.deadline });
          this.evictionQueue.addAfter(key, decision.deadline - now);
          return;
        }
        break;
      case "now":
        break;
    }
    this.scheduled.delete(key);
    this.evictionRecorder.event(pod, "Normal", "TaintManagerEviction", `Marking for deletion Pod ${key}`);
    try {
      await this.client.delete(PODS, pod.metadata.namespace, pod.metadata.name ?? "", { preconditions: { uid: pod.metadata.uid ?? "" } });
      this.podDeletions?.inc();
      this.logger.info({ pod: key, node: nodeName }, "Evicted pod from tainted node");
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /**
   * Pod GC for dead nodes: pods bound to a node that no longer exists, and pods being deleted that were never
   * scheduled, are force-deleted (grace 0). A node missing from the cache is confirmed gone with a live GET first.
   */
  async collectOrphanedPods(): Promise<void> {
    const missing = new Map<string, Readonly<Pod>[]>();
    for (const pod of this.pods.lister.list()) {
      const nodeName = pod.spec?.nodeName;
      if (!nodeName) {
        if (pod.metadata.deletionTimestamp) await this.forceDelete(pod, "unscheduled terminating pod");
        continue;
      }
      if (this.nodes.lister.getByName(undefined, nodeName)) continue;
      missing.set(nodeName, [...(missing.get(nodeName) ?? []), pod]);
    }
    for (const [nodeName, pods] of missing) {
      try {
        await this.client.get(NODES, undefined, nodeName);
        continue; // the cache is behind; the node exists
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      for (const pod of pods) await this.forceDelete(pod, `node ${nodeName} no longer exists`);
    }
  }

  private async forceDelete(pod: Readonly<Pod>, why: string): Promise<void> {
    try {
      await this.client.delete(PODS, pod.metadata.namespace, pod.metadata.name ?? "", { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid ?? "" } });
      this.logger.info({ pod: podKey(pod), why }, "Garbage collected orphaned pod");
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private considerPod(pod: Readonly<Pod>): void {
    const key = podKey(pod);
    const nodeName = pod.spec?.nodeName;
    const node = nodeName ? this.nodes.lister.getByName(undefined, nodeName) : undefined;
    if ((node && hasNoExecuteTaint(node)) || this.scheduled.has(key)) this.evictionQueue.add(key);
  }

  private enqueuePodsOn(node: Readonly<Node>): void {
    for (const pod of this.pods.lister.byIndex(POD_NODE_INDEX, node.metadata.name ?? "")) this.evictionQueue.add(podKey(pod));
  }
}

export const createNodeLifecycleController: ControllerFactory = (ctx) =>
  new NodeLifecycleController({
    client: ctx.client,
    nodes: ctx.informers.forResource<Node>(NODES),
    leases: ctx.informers.forResource<Lease>(LEASES),
    pods: ctx.informers.forResource<Pod>(PODS),
    recorder: ctx.recorder(COMPONENT),
    evictionRecorder: ctx.recorder(EVICTION_COMPONENT),
    monitorPeriodMs: ctx.config.nodeMonitorPeriodMs,
    gracePeriodMs: ctx.config.nodeMonitorGracePeriodMs,
    clock: ctx.clock,
    logger: ctx.logger.child({ controller: NAME }),
    // One provider per registry, so the scrape-time gauges see every controller's queue.
    metrics: ctx.metrics,
  });

/** The name registry.ts imports (the --controllers name is "nodelifecycle"). */
export const createNodelifecycleController: ControllerFactory = createNodeLifecycleController;

// ---------------------------------------------------------------------------------------------------------------
// Builders (pure; tests reuse them)

/**
 * The node's conditions with the silent-kubelet ones set to Unknown (a missing one is added as never updated),
 * or undefined when they already are. Other conditions are kept as they are.
 */
export function silencedConditions(node: Readonly<Node>, now: string): NodeCondition[] | undefined {
  const conditions: NodeCondition[] = (node.status?.conditions ?? []).map((c) => ({ ...c }));
  let changed = false;
  for (const type of SILENT_CONDITIONS) {
    const c = conditions.find((x) => x.type === type);
    if (!c) {
      conditions.push({ type, status: "Unknown", reason: "NodeStatusNeverUpdated", message: "Kubelet never posted node status.", lastHeartbeatTime: node.metadata.creationTimestamp ?? now, lastTransitionTime: now });
      changed = true;
    } else if (c.status !== "Unknown") {
      c.status = "Unknown";
      c.reason = "NodeStatusUnknown";
      c.message = "Kubelet stopped posting node status.";
      c.lastTransitionTime = now;
      changed = true;
    }
  }
  return changed ? conditions : undefined;
}

/** A string that changes exactly when the node's NoExecute taints do ("" without any). */
/** noExecuteKey(node) !== "", without building it: asked on every pod event. */
function hasNoExecuteTaint(node: Readonly<Node>): boolean {
  return node.spec?.taints?.some((t) => t.effect === "NoExecute") ?? false;
}

function noExecuteKey(node: Readonly<Node>): string {
  return (node.spec?.taints ?? [])
    .filter((t) => t.effect === "NoExecute")
    .map((t) => `${t.key}=${t.value ?? ""}@${t.timeAdded ?? ""}`)
    .sort()
    .join(",");
}

