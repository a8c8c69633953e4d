// The scheduling queue (k8s pkg/scheduler/backend/queue, PriorityQueue). Pending pods live in exactly one of:
//   - activeQ: ready to be scheduled; pop() takes the highest spec.priority, then the earliest timestamp (arrival,
//     or the time of the last failed attempt);
//   - backoffQ: failed recently; each waits initialBackoff · 2^(attempts−1) (capped at maxBackoff) from its last
//     failure, then moves to activeQ on its own;
//   - unschedulable: no node fitted. They move back (to activeQ, or to backoffQ while still backing off) when the
//     cluster changes in a way that may help one of the plugins that rejected them (queueing-hints.ts: a node added,
//     its labels/taints/allocatable changed, an assigned pod added, changed or deleted), or after
//     maxUnschedulableMs (5 minutes) in any case;
//   - gated: spec.schedulingGates not empty; they enter activeQ once an update removes the last gate.
// A pod that failed in a cycle during which a move request happened goes to backoffQ rather than unschedulable, so a
// cluster change that raced with its attempt is never missed (when that change may help the plugins that rejected it).
//
// The queue also remembers which pods preemption nominated to which node (the nominator), so that other pods'
// cycles count them there.
//
// Keys are "namespace/name". Pod objects are the informer's: shared and never modified.
import { objectKey } from "../api/meta.js";
import type { Pod } from "../api/types/index.js";
import { realClock, type Clock, type Timer } from "../component-base/clock.js";
import { Heap } from "./heap.js";
import { eventMayHelp, type ClusterEvent } from "./queueing-hints.js";

export type QueueName = "active" | "backoff" | "unschedulable" | "gated";

/** Why pods were moved; labels scheduler_queue_incoming_pods_total{event}. */
export type QueueEvent =
  | "PodAdd"
  | "PodUpdate"
  | "ScheduleAttemptFailure"
  | "BackoffComplete"
  | "UnschedulableTimeout"
  | ClusterEvent
  | "SchedulingGatesRemoved"
  | "ForceActivate";

export interface QueuedPodInfo {
  pod: Readonly<Pod>;
  readonly key: string;
  /** When the pod last entered the queue (arrival, or its last failure): orders pods of equal priority. */
  timestamp: number;
  /** Scheduling attempts so far (pop() counts them). */
  attempts: number;
  /** When the pod was first popped; the start of scheduler_pod_scheduling_duration_seconds. */
  initialAttemptTimestamp: number | undefined;
  /** Tie-breaker for equal priority and timestamp: insertion order. */
  seq: number;
  /** The plugins that rejected the pod in its last attempt (undefined after an error): what may wake it. */
  unschedulablePlugins?: ReadonlySet<string> | undefined;
}

export interface SchedulingQueueOptions {
  clock?: Clock;
  /** Default 1 s (--pod-initial-backoff). */
  initialBackoffMs?: number;
  /** Default 10 s (--pod-max-backoff). */
  maxBackoffMs?: number;
  /** Unschedulable pods are retried after this long even without a cluster change (default 5 min, as Kubernetes). */
  maxUnschedulableMs?: number;
  /** How often unschedulable pods are checked against maxUnschedulableMs (default 5 s). */
  unschedulableFlushIntervalMs?: number;
  /** Observes pods entering a queue (scheduler_queue_incoming_pods_total). */
  onIncoming?: (queue: QueueName, event: QueueEvent) => void;
}

export class SchedulingQueue {
  private readonly clock: Clock;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxUnschedulableMs: number;
  private readonly flushIntervalMs: number;
  private readonly onIncoming: ((queue: QueueName, event: QueueEvent) => void) | undefined;
  private readonly activeQ = new Heap<QueuedPodInfo>((p) => p.key, (a, b) => {
    const pa = a.pod.spec?.priority ?? 0;
    const pb = b.pod.spec?.priority ?? 0;
    if (pa !== pb) return pa > pb;
    if (a.timestamp !== b.timestamp) return a.timestamp < b.timestamp;
    return a.seq < b.seq;
  });
  private readonly backoffQ = new Heap<QueuedPodInfo>((p) => p.key, (a, b) => {
    const ta = this.backoffExpiry(a);
    const tb = this.backoffExpiry(b);
    return ta !== tb ? ta < tb : a.seq < b.seq;
  });
  private readonly unschedulable = new Map<string, QueuedPodInfo>();
  private readonly gated = new Map<string, QueuedPodInfo>();
  private seq = 0;
  private cycle = 0;
  /** The last cycle during which each event happened (Kubernetes' in-flight events, per event kind). */
  private readonly eventCycles = new Map<QueueEvent, number>();
  private closed = false;
  private waiters: ((p: QueuedPodInfo | undefined) => void)[] = [];
  /** Nominator: pod key → its pod and nominated node; node → keys. */
  private readonly nominated = new Map<string, { pod: Readonly<Pod>; node: string }>();
  private readonly nominatedByNode = new Map<string, Set<string>>();
  private backoffTimer: { at: number; timer: Timer } | undefined;
  private flushTimer: Timer | undefined;

  constructor(opts: SchedulingQueueOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.initialBackoffMs = opts.initialBackoffMs ?? 1000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.maxUnschedulableMs = opts.maxUnschedulableMs ?? 300_000;
    this.flushIntervalMs = opts.unschedulableFlushIntervalMs ?? 5000;
    this.onIncoming = opts.onIncoming;
  }

  /** Starts the periodic retry of long-unschedulable pods; stops (and closes the queue) when `signal` aborts. */
  run(signal: AbortSignal): void {
    const tick = (): void => {
      if (this.closed || signal.aborted) return;
      this.flushUnschedulableLeftover();
      this.flushTimer = this.clock.setTimeout(tick, this.flushIntervalMs);
    };
    this.flushTimer = this.clock.setTimeout(tick, this.flushIntervalMs);
    if (signal.aborted) this.close();
    else signal.addEventListener("abort", () => { this.close(); }, { once: true });
  }

  /** A new pending pod. Already-queued pods are updated instead. */
  add(pod: Readonly<Pod>): void {
    const key = objectKey(pod.metadata);
    if (pod.status?.nominatedNodeName) this.nominate(pod, pod.status.nominatedNodeName);
    if (this.find(key)) {
      this.update(undefined, pod);
      return;
    }
    const info = this.newInfo(pod);
    if (isGated(pod)) {
      this.gated.set(key, info);
      this.onIncoming?.("gated", "PodAdd");
      return;
    }
    this.pushActive(info, "PodAdd");
  }

  /**
   * A pending pod changed. An unschedulable pod whose spec, labels or annotations changed is retried at once
   * (status-only changes, such as our own PodScheduled condition, are not news); a pod in no queue is added.
   */
  update(oldPod: Readonly<Pod> | undefined, newPod: Readonly<Pod>): void {
    const key = objectKey(newPod.metadata);
    const nominated = this.nominated.get(key);
    if (newPod.status?.nominatedNodeName) this.nominate(newPod, newPod.status.nominatedNodeName);
    else if (nominated) nominated.pod = newPod;
    const gated = this.gated.get(key);
    if (gated) {
      gated.pod = newPod;
      if (!isGated(newPod)) {
        this.gated.delete(key);
        gated.timestamp = this.clock.now();
        this.pushActive(gated, "SchedulingGatesRemoved");
      }
      return;
    }
    const active = this.activeQ.get(key);
    if (active) {
      active.pod = newPod;
      this.activeQ.push(active);
      return;
    }
    const backoff = this.backoffQ.get(key);
    if (backoff) {
      backoff.pod = newPod;
      return;
    }
    const unschedulable = this.unschedulable.get(key);
    if (unschedulable) {
      unschedulable.pod = newPod;
      if (oldPod === undefined || isPodUpdated(oldPod, newPod)) {
        this.unschedulable.delete(key);
        if (this.isBackingOff(unschedulable)) this.pushBackoff(unschedulable, "PodUpdate");
        else this.pushActive(unschedulable, "PodUpdate");
      }
      return;
    }
    this.add(newPod);
  }

  /** The pod was deleted or got bound: forget it wherever it is. */
  delete(pod: Readonly<Pod>): void {
    const key = objectKey(pod.metadata);
    this.nominate(pod, undefined);
    this.activeQ.delete(key);
    this.backoffQ.delete(key);
    this.unschedulable.delete(key);
    this.gated.delete(key);
  }

  /**
   * The next pod to schedule, waiting while activeQ is empty; undefined once the queue is closed or `signal` aborts.
   * Each pop starts a new scheduling cycle and counts an attempt.
   */
  pop(signal?: AbortSignal): Promise<QueuedPodInfo | undefined> {
    const now = this.popNow();
    if (now || this.closed) return Promise.resolve(now);
    if (signal?.aborted) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const waiter = (p: QueuedPodInfo | undefined): void => {
        signal?.removeEventListener("abort", onAbort);
        resolve(p);
      };
      const onAbort = (): void => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(undefined);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** The cycle number of the last pop (see addUnschedulableIfNotPresent). */
  schedulingCycle(): number {
    return this.cycle;
  }

  /**
   * Puts back a pod whose attempt in cycle `podCycle` failed: to backoffQ after an error or when the cluster changed
   * during the attempt, else to the unschedulable pods. A pod that is already queued (re-added by an update
   * meanwhile) is left where it is.
   */
  addUnschedulableIfNotPresent(info: QueuedPodInfo, podCycle: number, error = false, plugins?: ReadonlySet<string>): void {
    if (this.find(info.key)) return;
    info.timestamp = this.clock.now();
    info.unschedulablePlugins = error ? undefined : plugins;
    if (error || this.eventDuring(podCycle, info.unschedulablePlugins)) this.pushBackoff(info, "ScheduleAttemptFailure");
    else {
      this.unschedulable.set(info.key, info);
      this.onIncoming?.("unschedulable", "ScheduleAttemptFailure");
    }
  }

  /**
   * The cluster changed: retry (after their backoff) the unschedulable pods that `event` may help, judged by the
   * plugins that rejected them (queueing hints).
   */
  moveAllToActiveOrBackoffQueue(event: QueueEvent): void {
    for (const [key, info] of this.unschedulable) {
      if (!eventMayHelp(event, info.unschedulablePlugins)) continue;
      this.unschedulable.delete(key);
      if (this.isBackingOff(info)) this.pushBackoff(info, event);
      else this.pushActive(info, event);
    }
    this.eventCycles.set(event, this.cycle);
  }

  /** Whether an event that may help a pod rejected by `plugins` happened during or after cycle `podCycle`. */
  private eventDuring(podCycle: number, plugins: ReadonlySet<string> | undefined): boolean {
    for (const [event, cycle] of this.eventCycles) if (cycle >= podCycle && eventMayHelp(event, plugins)) return true;
    return false;
  }

  /** Records (or with undefined, forgets) that preemption nominated `pod` to `node`. */
  nominate(pod: Readonly<Pod>, node: string | undefined): void {
    const key = objectKey(pod.metadata);
    const prev = this.nominated.get(key);
    if (prev) {
      const keys = this.nominatedByNode.get(prev.node);
      keys?.delete(key);
      if (keys?.size === 0) this.nominatedByNode.delete(prev.node);
      this.nominated.delete(key);
    }
    if (node === undefined) return;
    this.nominated.set(key, { pod, node });
    let keys = this.nominatedByNode.get(node);
    if (!keys) this.nominatedByNode.set(node, (keys = new Set()));
    keys.add(key);
  }

  /** The node preemption nominated `pod` to, if any. */
  nominatedNodeOf(pod: Readonly<Pod>): string | undefined {
    return this.nominated.get(objectKey(pod.metadata))?.node;
  }

  /** Pods nominated to `node`. */
  nominatedPodsForNode(node: string): Readonly<Pod>[] {
    const keys = this.nominatedByNode.get(node);
    if (!keys) return [];
    const pods: Readonly<Pod>[] = [];
    for (const k of keys) {
      const n = this.nominated.get(k);
      if (n) pods.push(n.pod);
    }
    return pods;
  }

  /** Wakes every pop() with undefined; later pops return undefined at once. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.backoffTimer?.timer.cancel();
    this.backoffTimer = undefined;
    this.flushTimer?.cancel();
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  /** Pods per queue, for scheduler_pending_pods. */
  counts(): Record<QueueName, number> {
    return { active: this.activeQ.size, backoff: this.backoffQ.size, unschedulable: this.unschedulable.size, gated: this.gated.size };
  }

  /** Which queue holds the pod with this key, if any. */
  queueOf(key: string): QueueName | undefined {
    if (this.activeQ.has(key)) return "active";
    if (this.backoffQ.has(key)) return "backoff";
    if (this.unschedulable.has(key)) return "unschedulable";
    if (this.gated.has(key)) return "gated";
    return undefined;
  }

  /** The backoff a pod with `attempts` failed attempts waits: initial · 2^(attempts−1), capped. */
  backoffDuration(attempts: number): number {
    let d = this.initialBackoffMs;
    for (let i = 1; i < attempts; i++) {
      d *= 2;
      if (d >= this.maxBackoffMs) return this.maxBackoffMs;
    }
    return Math.min(d, this.maxBackoffMs);
  }

  // ---- internals

  private newInfo(pod: Readonly<Pod>): QueuedPodInfo {
    return { pod, key: objectKey(pod.metadata), timestamp: this.clock.now(), attempts: 0, initialAttemptTimestamp: undefined, seq: this.seq++ };
  }

  private find(key: string): QueuedPodInfo | undefined {
    return this.activeQ.get(key) ?? this.backoffQ.get(key) ?? this.unschedulable.get(key) ?? this.gated.get(key);
  }

  private popNow(): QueuedPodInfo | undefined {
    if (this.closed) return undefined;
    const info = this.activeQ.pop();
    if (!info) return undefined;
    this.cycle++;
    info.attempts++;
    info.initialAttemptTimestamp ??= this.clock.now();
    return info;
  }

  private pushActive(info: QueuedPodInfo, event: QueueEvent): void {
    this.activeQ.push(info);
    this.onIncoming?.("active", event);
    // Hand pods to waiting pops right away; each waiter gets a distinct pod.
    while (this.waiters.length > 0 && this.activeQ.size > 0) {
      const waiter = this.waiters.shift()!;
      waiter(this.popNow());
    }
  }

  private pushBackoff(info: QueuedPodInfo, event: QueueEvent): void {
    this.backoffQ.push(info);
    this.onIncoming?.("backoff", event);
    this.armBackoffTimer();
  }

  private backoffExpiry(info: QueuedPodInfo): number {
    return info.timestamp + this.backoffDuration(info.attempts);
  }

  private isBackingOff(info: QueuedPodInfo): boolean {
    return this.backoffExpiry(info) > this.clock.now();
  }

  /** One timer, due when the earliest backoff ends. */
  private armBackoffTimer(): void {
    if (this.closed) return;
    const head = this.backoffQ.peek();
    if (!head) return;
    const at = this.backoffExpiry(head);
    if (this.backoffTimer && this.backoffTimer.at <= at) return;
    this.backoffTimer?.timer.cancel();
    const timer = this.clock.setTimeout(() => {
      this.backoffTimer = undefined;
      this.flushBackoffCompleted();
    }, Math.max(0, at - this.clock.now()));
    this.backoffTimer = { at, timer };
  }

  private flushBackoffCompleted(): void {
    const now = this.clock.now();
    for (let head = this.backoffQ.peek(); head && this.backoffExpiry(head) <= now; head = this.backoffQ.peek()) {
      this.backoffQ.pop();
      this.pushActive(head, "BackoffComplete");
    }
    this.armBackoffTimer();
  }

  private flushUnschedulableLeftover(): void {
    const now = this.clock.now();
    for (const [key, info] of this.unschedulable) {
      if (now - info.timestamp < this.maxUnschedulableMs) continue;
      this.unschedulable.delete(key);
      if (this.isBackingOff(info)) this.pushBackoff(info, "UnschedulableTimeout");
      else this.pushActive(info, "UnschedulableTimeout");
    }
  }
}

function isGated(pod: Readonly<Pod>): boolean {
  return (pod.spec?.schedulingGates?.length ?? 0) > 0;
}

/** Whether anything but status and bookkeeping metadata changed (k8s isPodUpdated). */
export function isPodUpdated(oldPod: Readonly<Pod>, newPod: Readonly<Pod>): boolean {
  const strip = (p: Readonly<Pod>): string =>
    JSON.stringify([p.spec, p.metadata.labels, p.metadata.annotations, p.metadata.ownerReferences, p.metadata.finalizers, p.metadata.deletionTimestamp]);
  return strip(oldPod) !== strip(newPod);
}
