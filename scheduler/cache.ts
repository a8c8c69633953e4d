// The scheduler's cache (k8s pkg/scheduler/backend/cache): every node and every pod bound to one, plus "assumed"
// pods — pods the scheduler has placed but whose binding the apiserver has not yet confirmed through the watch.
// Counting assumed pods is what lets the next cycle see the resources the previous one just took, without waiting
// for the round trip.
//
// Life of an assumed pod:
//   assumePod (cycle picked a node) ─ bind ok → finishBinding (expiry clock starts) ─ watch shows it bound → addPod
//   confirms it (no longer assumed, never expires);
//   bind failed → forgetPod;
//   the watch never shows it within assumedPodTtlMs after finishBinding → expired and dropped (with a warning).
// A pod bound to a node the cache has not seen gets a NodeInfo without a Node, which is not offered to the
// scheduler until the Node arrives; a NodeInfo without a Node and without pods is dropped.
import { objectKey } from "../api/meta.js";
import type { Node, Pod } from "../api/types/index.js";
import { realClock, type Clock, type Timer } from "../component-base/clock.js";
import { silentLogger, type Logger } from "../component-base/logging.js";
import { NodeInfo, podId, podInfoOf, type PodInfo } from "./framework/node-info.js";

export interface CacheOptions {
  clock?: Clock;
  logger?: Logger;
  /** How long after its binding finished an assumed pod may wait for the watch to confirm it (default 30 s). */
  assumedPodTtlMs?: number;
  /** How often expired assumed pods are looked for (default 1 s). */
  cleanupIntervalMs?: number;
}

interface PodState {
  info: PodInfo;
  nodeName: string;
  assumed: boolean;
  /** Set by finishBinding: an assumed pod expires after this time. */
  deadline: number | undefined;
}

export class SchedulerCache {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly ttlMs: number;
  private readonly cleanupIntervalMs: number;
  private readonly nodes = new Map<string, NodeInfo>();
  private readonly pods = new Map<string, PodState>();
  private assumedCount = 0;
  /** The NodeInfos with a Node, in a stable order; rebuilt lazily after nodes come or go. */
  private list: NodeInfo[] | undefined;

  constructor(opts: CacheOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.logger = opts.logger ?? silentLogger();
    this.ttlMs = opts.assumedPodTtlMs ?? 30_000;
    this.cleanupIntervalMs = opts.cleanupIntervalMs ?? 1000;
  }

  /** Expires assumed pods periodically until `signal` aborts. */
  run(signal: AbortSignal): void {
    let timer: Timer | undefined;
    const tick = (): void => {
      if (signal.aborted) return;
      this.cleanupAssumedPods();
      timer = this.clock.setTimeout(tick, this.cleanupIntervalMs);
    };
    timer = this.clock.setTimeout(tick, this.cleanupIntervalMs);
    signal.addEventListener("abort", () => timer?.cancel(), { once: true });
  }

  // ---- nodes

  /** Adds or replaces the Node (an update is the same operation). */
  addNode(node: Readonly<Node>): void {
    const name = node.metadata.name ?? "";
    let info = this.nodes.get(name);
    if (!info) {
      info = new NodeInfo(name);
      this.nodes.set(name, info);
    }
    if (!info.node) this.list = undefined;
    info.setNode(node);
  }

  updateNode(node: Readonly<Node>): void {
    this.addNode(node);
  }

  removeNode(node: Readonly<Node>): void {
    const name = node.metadata.name ?? "";
    const info = this.nodes.get(name);
    if (!info) return;
    info.node = undefined;
    this.list = undefined;
    if (info.pods.size === 0) this.nodes.delete(name);
  }

  /** Nodes the scheduler may place pods on (those whose Node object is known). Do not modify. */
  nodeInfos(): readonly NodeInfo[] {
    this.list ??= [...this.nodes.values()].filter((n) => n.node !== undefined);
    return this.list;
  }

  nodeInfo(name: string): NodeInfo | undefined {
    return this.nodes.get(name);
  }

  get nodeCount(): number {
    return this.nodeInfos().length;
  }

  // ---- pods seen through the watch

  /**
   * A pod the apiserver reports bound (spec.nodeName set). Confirms an assumed pod of the same uid, moving it if the
   * apiserver bound it elsewhere; otherwise adds or replaces it.
   */
  addPod(pod: Readonly<Pod>): void {
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) return;
    const id = podId(pod);
    const prev = this.pods.get(id);
    if (prev) {
      this.removeFromNode(prev);
      if (prev.assumed) this.assumedCount--;
    }
    const state: PodState = { info: podInfoOf(pod), nodeName, assumed: false, deadline: undefined };
    this.pods.set(id, state);
    this.nodeInfoFor(nodeName).addPod(state.info);
  }

  updatePod(_oldPod: Readonly<Pod>, newPod: Readonly<Pod>): void {
    this.addPod(newPod);
  }

  /** The pod is gone (deleted, or finished and no longer holding resources). */
  removePod(pod: Readonly<Pod>): void {
    const id = podId(pod);
    const state = this.pods.get(id);
    if (!state) return;
    this.pods.delete(id);
    if (state.assumed) this.assumedCount--;
    this.removeFromNode(state);
  }

  // ---- assumed pods

  /** Counts `pod` on `nodeName` before the apiserver knows. Throws if the cache already has the pod. */
  assumePod(pod: Readonly<Pod>, nodeName: string): void {
    const id = podId(pod);
    if (this.pods.has(id)) throw new Error(`pod ${objectKey(pod.metadata)}(${id}) is in the cache, so can't be assumed`);
    const state: PodState = { info: podInfoOf(pod), nodeName, assumed: true, deadline: undefined };
    this.pods.set(id, state);
    this.assumedCount++;
    this.nodeInfoFor(nodeName).addPod(state.info);
  }

  /** The bind request returned: start the clock within which the watch must confirm the pod. */
  finishBinding(pod: Readonly<Pod>): void {
    const state = this.pods.get(podId(pod));
    if (state?.assumed) state.deadline = this.clock.now() + this.ttlMs;
  }

  /** Undoes assumePod (the bind failed). A pod the watch already confirmed is left alone. */
  forgetPod(pod: Readonly<Pod>): void {
    const id = podId(pod);
    const state = this.pods.get(id);
    if (!state?.assumed) return;
    this.pods.delete(id);
    this.assumedCount--;
    this.removeFromNode(state);
  }

  isAssumed(pod: Readonly<Pod>): boolean {
    return this.pods.get(podId(pod))?.assumed === true;
  }

  /** Drops assumed pods whose binding finished more than the TTL ago without the watch confirming them. */
  cleanupAssumedPods(): void {
    if (this.assumedCount === 0) return;
    const now = this.clock.now();
    for (const [id, state] of this.pods) {
      if (!state.assumed || state.deadline === undefined || state.deadline > now) continue;
      this.logger.warn({ pod: objectKey(state.info.pod.metadata), node: state.nodeName }, "Assumed pod expired: its binding was never observed");
      this.pods.delete(id);
      this.assumedCount--;
      this.removeFromNode(state);
    }
  }

  /** Counts for tests and debugging. */
  stats(): { nodes: number; pods: number; assumed: number } {
    return { nodes: this.nodeCount, pods: this.pods.size, assumed: this.assumedCount };
  }

  private nodeInfoFor(name: string): NodeInfo {
    let info = this.nodes.get(name);
    if (!info) {
      info = new NodeInfo(name);
      this.nodes.set(name, info);
    }
    return info;
  }

  private removeFromNode(state: PodState): void {
    const info = this.nodes.get(state.nodeName);
    if (!info) return;
    info.removePod(state.info.id);
    if (!info.node && info.pods.size === 0) this.nodes.delete(state.nodeName);
  }
}
