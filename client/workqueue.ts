// client-go's rate-limited workqueue (k8s.io/client-go/util/workqueue), the heart of every controller:
//   - add() deduplicates: an item already waiting is not queued twice;
//   - an item is handed to one worker at a time: re-added while being processed, it is queued again only when that
//     worker calls done(), so one key is never synced concurrently;
//   - addAfter()/addRateLimited() hold an item back (per-item exponential backoff), forget() resets its backoff;
//   - shutDown() stops accepting adds and wakes idle get()s with { shutdown: true } once the queue is empty;
//     items already queued are still handed out, so workers drain them.
// Time comes from an injectable Clock; metrics go to an optional provider (workqueueMetrics() for Prometheus).
import { realClock, type Clock, type Timer } from "../component-base/clock.js";
import { counter, gauge, histogram, exponentialBuckets, type Registry } from "../component-base/metrics.js";

export type GetResult<T> = { shutdown: false; item: T } | { shutdown: true };

/** Decides how long an item waits before its next retry. */
export interface ItemRateLimiter<T> {
  /** The delay for this retry of `item` (milliseconds); calling it counts a retry. */
  when(item: T): number;
  /** The item succeeded: reset its backoff. */
  forget(item: T): void;
  numRequeues(item: T): number;
}

/** baseMs · 2^failures, capped at maxMs (client-go's ItemExponentialFailureRateLimiter; controllers use 5 ms → 1000 s). */
export function itemExponentialRateLimiter<T>(baseMs = 5, maxMs = 1_000_000): ItemRateLimiter<T> {
  const failures = new Map<T, number>();
  return {
    when(item) {
      const n = failures.get(item) ?? 0;
      failures.set(item, n + 1);
      return Math.min(maxMs, baseMs * 2 ** n);
    },
    forget(item) {
      failures.delete(item);
    },
    numRequeues(item) {
      return failures.get(item) ?? 0;
    },
  };
}

/**
 * An overall token bucket over all items (client-go's BucketRateLimiter): each retry reserves a token and waits
 * until it exists. Combine with maxOfRateLimiters to cap the total retry rate.
 */
export function bucketRateLimiter<T>(qps: number, burst: number, clock: Clock = realClock): ItemRateLimiter<T> {
  let tokens = burst;
  let last = clock.now();
  return {
    when() {
      const now = clock.now();
      tokens = Math.min(burst, tokens + ((now - last) * qps) / 1000) - 1;
      last = now;
      return tokens >= 0 ? 0 : (-tokens / qps) * 1000;
    },
    forget() {
      // the bucket is shared; nothing per item
    },
    numRequeues() {
      return 0;
    },
  };
}

/** The longest delay any of `limiters` asks for (client-go's MaxOfRateLimiter). */
export function maxOfRateLimiters<T>(...limiters: ItemRateLimiter<T>[]): ItemRateLimiter<T> {
  return {
    when: (item) => Math.max(0, ...limiters.map((l) => l.when(item))),
    forget: (item) => {
      for (const l of limiters) l.forget(item);
    },
    numRequeues: (item) => Math.max(0, ...limiters.map((l) => l.numRequeues(item))),
  };
}

/** Per-queue hooks; see workqueueMetrics() for the Prometheus implementation. */
export interface QueueMetrics {
  /** An item became pending (not a duplicate): adds_total++, depth++. */
  add(): void;
  /** A worker took an item after it waited `queuedSeconds`: depth--. */
  get(queuedSeconds: number): void;
  /** A worker finished an item it held for `workSeconds`. */
  done(workSeconds: number): void;
  /** addRateLimited was called. */
  retry(): void;
}

/** What a queue reports for gauges that are computed at scrape time. */
export interface QueueStats {
  /** Seconds of work in progress that has not been observed by work_duration yet, summed over workers. */
  unfinishedWorkSeconds(): number;
  /** How long the longest-running worker has held its item. */
  longestRunningProcessorSeconds(): number;
}

export type WorkqueueMetricsProvider = (name: string, stats: QueueStats) => QueueMetrics;

/**
 * Kubernetes' workqueue_* metrics on a registry, labelled by queue name: workqueue_depth, workqueue_adds_total,
 * workqueue_queue_duration_seconds, workqueue_work_duration_seconds, workqueue_retries_total,
 * workqueue_unfinished_work_seconds, workqueue_longest_running_processor_seconds.
 */
export function workqueueMetrics(registry: Registry): WorkqueueMetricsProvider {
  const buckets = exponentialBuckets(1e-8, 10, 10);
  const depth = gauge(registry, { name: "workqueue_depth", help: "Current depth of workqueue", labelNames: ["name"] });
  const adds = counter(registry, { name: "workqueue_adds_total", help: "Total number of adds handled by workqueue", labelNames: ["name"] });
  const latency = histogram(registry, { name: "workqueue_queue_duration_seconds", help: "How long in seconds an item stays in workqueue before being requested.", labelNames: ["name"], buckets });
  const work = histogram(registry, { name: "workqueue_work_duration_seconds", help: "How long in seconds processing an item from workqueue takes.", labelNames: ["name"], buckets });
  const retries = counter(registry, { name: "workqueue_retries_total", help: "Total number of retries handled by workqueue", labelNames: ["name"] });
  const queues = new Map<string, QueueStats>();
  gauge(registry, {
    name: "workqueue_unfinished_work_seconds",
    help: "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases.",
    labelNames: ["name"],
    collect() {
      for (const [name, stats] of queues) this.set({ name }, stats.unfinishedWorkSeconds());
    },
  });
  gauge(registry, {
    name: "workqueue_longest_running_processor_seconds",
    help: "How many seconds has the longest running processor for workqueue been running.",
    labelNames: ["name"],
    collect() {
      for (const [name, stats] of queues) this.set({ name }, stats.longestRunningProcessorSeconds());
    },
  });
  return (name, stats) => {
    queues.set(name, stats);
    // Every queue's series exist from the start at zero, as client-go's WithLabelValues makes them.
    depth.set({ name }, 0);
    adds.inc({ name }, 0);
    retries.inc({ name }, 0);
    latency.zero({ name });
    work.zero({ name });
    return {
      add: () => {
        adds.inc({ name });
        depth.inc({ name });
      },
      get: (queuedSeconds) => {
        depth.dec({ name });
        latency.observe({ name }, queuedSeconds);
      },
      done: (workSeconds) => {
        work.observe({ name }, workSeconds);
      },
      retry: () => {
        retries.inc({ name });
      },
    };
  };
}

export interface WorkqueueOptions<T> {
  /** Label for metrics, e.g. "replicaset". */
  name?: string;
  clock?: Clock;
  metrics?: WorkqueueMetricsProvider;
  /** Default: itemExponentialRateLimiter(5 ms, 1000 s). */
  rateLimiter?: ItemRateLimiter<T>;
}

interface Delayed<T> {
  item: T;
  at: number;
  seq: number;
}

export class RateLimitingQueue<T = string> {
  private readonly clock: Clock;
  private readonly limiter: ItemRateLimiter<T>;
  private readonly metrics: QueueMetrics | undefined;
  /** Items ready for a worker, in order. */
  private queue: T[] = [];
  private head = 0;
  /** Items waiting to be processed (queued, or re-added while processing). */
  private readonly dirty = new Set<T>();
  /** Items handed to a worker and not yet done(), with when it got them. */
  private readonly processing = new Map<T, number>();
  /** When each dirty item was added, for queue_duration. */
  private readonly addedAt = new Map<T, number>();
  private readonly waiters: ((result: GetResult<T>) => void)[] = [];
  private shutting = false;
  private drainWaiters: (() => void)[] = [];
  // Delayed items: a binary min-heap on (at, seq) with lazy deletion through `waitingAt`.
  private heap: Delayed<T>[] = [];
  private readonly waitingAt = new Map<T, Delayed<T>>();
  private seq = 0;
  private timer: Timer | undefined;
  private timerAt = Infinity;

  constructor(opts: WorkqueueOptions<T> = {}) {
    this.clock = opts.clock ?? realClock;
    this.limiter = opts.rateLimiter ?? itemExponentialRateLimiter<T>();
    this.metrics = opts.metrics?.(opts.name ?? "", {
      unfinishedWorkSeconds: () => {
        const now = this.clock.now();
        let total = 0;
        for (const started of this.processing.values()) total += now - started;
        return total / 1000;
      },
      longestRunningProcessorSeconds: () => {
        const now = this.clock.now();
        let longest = 0;
        for (const started of this.processing.values()) longest = Math.max(longest, now - started);
        return longest / 1000;
      },
    });
  }

  /** Queues `item` unless it is already waiting; ignored after shutdown. */
  add(item: T): void {
    if (this.shutting || this.dirty.has(item)) return;
    this.metrics?.add();
    this.dirty.add(item);
    this.addedAt.set(item, this.clock.now());
    if (this.processing.has(item)) return; // done() will queue it again
    this.queue.push(item);
    this.dispatch();
  }

  /**
   * The next item, waiting for one if needed. Resolves { shutdown: true } once the queue is shut down and empty;
   * the caller must call done(item) when finished with an item.
   */
  get(): Promise<GetResult<T>> {
    const ready = this.take();
    if (ready) return Promise.resolve(ready);
    if (this.shutting) return Promise.resolve({ shutdown: true });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Marks `item` finished; if it was re-added meanwhile, it is queued again now. */
  done(item: T): void {
    const started = this.processing.get(item);
    if (started === undefined) return;
    this.processing.delete(item);
    this.metrics?.done((this.clock.now() - started) / 1000);
    if (this.dirty.has(item)) {
      this.queue.push(item);
      this.dispatch();
    }
    this.checkDrained();
  }

  /** Adds `item` after `delayMs` (immediately when <= 0). A pending delayed add keeps the earlier of the two times. */
  addAfter(item: T, delayMs: number): void {
    if (this.shutting) return;
    if (delayMs <= 0) {
      this.add(item);
      return;
    }
    const at = this.clock.now() + delayMs;
    const existing = this.waitingAt.get(item);
    if (existing && existing.at <= at) return;
    const entry: Delayed<T> = { item, at, seq: this.seq++ };
    this.waitingAt.set(item, entry);
    this.heapPush(entry);
    this.armTimer();
  }

  /** Adds `item` after the rate limiter's delay for it (exponential per item by default); counts a retry. */
  addRateLimited(item: T): void {
    if (this.shutting) return;
    this.metrics?.retry();
    this.addAfter(item, this.limiter.when(item));
  }

  /** Stops tracking `item`'s failures (call after a successful sync). */
  forget(item: T): void {
    this.limiter.forget(item);
  }

  numRequeues(item: T): number {
    return this.limiter.numRequeues(item);
  }

  /** Items ready for workers (not counting delayed ones or ones being processed). */
  len(): number {
    return this.queue.length - this.head;
  }

  shuttingDown(): boolean {
    return this.shutting;
  }

  /** Ignores further adds, drops delayed items, and wakes idle workers with { shutdown: true }. */
  shutDown(): void {
    if (this.shutting) return;
    this.shutting = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.timerAt = Infinity;
    this.heap = [];
    this.waitingAt.clear();
    for (const resolve of this.waiters.splice(0)) resolve({ shutdown: true });
    this.checkDrained();
  }

  /**
   * shutDown(), then resolves when every queued item has been handed out and every handed-out item is done().
   * Needs workers still calling get() to drain what is queued.
   */
  shutDownWithDrain(): Promise<void> {
    this.shutDown();
    if (this.drained()) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private take(): GetResult<T> | undefined {
    if (this.head >= this.queue.length) return undefined;
    const item = this.queue[this.head]!;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    const now = this.clock.now();
    this.processing.set(item, now);
    this.dirty.delete(item);
    this.metrics?.get((now - (this.addedAt.get(item) ?? now)) / 1000);
    this.addedAt.delete(item);
    return { shutdown: false, item };
  }

  /** Hands ready items straight to waiting workers, oldest waiter first. */
  private dispatch(): void {
    while (this.waiters.length > 0) {
      const result = this.take();
      if (!result) return;
      this.waiters.shift()!(result);
    }
  }

  private drained(): boolean {
    return this.processing.size === 0 && this.len() === 0;
  }

  private checkDrained(): void {
    if (!this.shutting || this.drainWaiters.length === 0 || !this.drained()) return;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  private armTimer(): void {
    const next = this.heapPeek();
    if (!next) return;
    if (this.timer && this.timerAt <= next.at) return;
    this.timer?.cancel();
    this.timerAt = next.at;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.releaseDue();
    }, next.at - this.clock.now());
  }

  private releaseDue(): void {
    const now = this.clock.now();
    for (let top = this.heapPeek(); top && top.at <= now; top = this.heapPeek()) {
      this.heapPop();
      this.waitingAt.delete(top.item);
      this.add(top.item);
    }
    this.armTimer();
  }

  /** The earliest live delayed entry (stale ones, superseded by an earlier addAfter, are dropped here). */
  private heapPeek(): Delayed<T> | undefined {
    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      if (this.waitingAt.get(top.item) === top) return top;
      this.heapPop();
    }
    return undefined;
  }

  private heapPush(entry: Delayed<T>): void {
    const h = this.heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private heapPop(): void {
    const h = this.heap;
    const last = h.pop();
    if (h.length === 0 || !last) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

function before<T>(a: Delayed<T>, b: Delayed<T>): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** A rate-limited workqueue of (by default) string keys. */
export function createWorkqueue<T = string>(opts: WorkqueueOptions<T> = {}): RateLimitingQueue<T> {
  return new RateLimitingQueue<T>(opts);
}
