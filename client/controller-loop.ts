// The loop every controller runs (client-go's controller pattern): informers fill caches and enqueue keys, a
// rate-limited workqueue dedupes and backs off, and N workers take a key, sync it, and forget it or requeue it
// with backoff. Here are the queue (built one way, with its workqueue_* metrics) and the worker loop, for every
// process that runs controllers: the controller-manager's controllers, the node simulator, the kubelet.
import { isAlreadyExists, isConflict } from "../api/errors.js";
import type { Clock } from "../component-base/clock.js";
import type { Logger } from "../component-base/logging.js";
import type { Registry } from "../component-base/metrics.js";
import { createWorkqueue, workqueueMetrics, type ItemRateLimiter, type RateLimitingQueue, type WorkqueueMetricsProvider } from "./workqueue.js";

const providers = new WeakMap<Registry, WorkqueueMetricsProvider>();

/**
 * The workqueue_* metrics provider for a registry, made once per registry so that every queue of a process reports
 * through the same collectors (the unfinished-work gauges read the queues registered with the first provider).
 */
export function queueMetricsFor(registry: Registry): WorkqueueMetricsProvider {
  let provider = providers.get(registry);
  if (!provider) {
    provider = workqueueMetrics(registry);
    providers.set(registry, provider);
  }
  return provider;
}

export interface ControllerQueueOptions<T> {
  clock: Clock;
  /** Where the queue's workqueue_* metrics go (labelled with its name); none when absent. */
  metrics?: Registry | undefined;
  /** Default: per item exponential, 5 ms doubling to 1000 s (client-go's controllers). */
  rateLimiter?: ItemRateLimiter<T>;
}

/** A controller's rate-limited key queue named `name` (the workqueue_* metrics label). */
export function newControllerQueue<T = string>(name: string, opts: ControllerQueueOptions<T>): RateLimitingQueue<T> {
  return createWorkqueue<T>({
    name,
    clock: opts.clock,
    ...(opts.metrics ? { metrics: queueMetricsFor(opts.metrics) } : {}),
    ...(opts.rateLimiter ? { rateLimiter: opts.rateLimiter } : {}),
  });
}

export interface WorkerOptions<T = string> {
  queue: RateLimitingQueue<T>;
  workers: number;
  sync: (key: T) => Promise<void>;
  /** Everything the controller reads; workers start once all have synced. */
  informers: readonly { waitForSync(signal?: AbortSignal): Promise<boolean> }[];
  logger: Logger;
  signal: AbortSignal;
  /**
   * Runs once the caches synced, just before the workers start, in place of the default "Caches synced; starting
   * workers" line: where a controller logs its own start line and queues what the initial lists imply.
   */
  onStart?: () => void;
  /** Logs a failed sync (it is then requeued with backoff); default: conflicts at debug, the rest at warn. */
  logFailure?: (key: T, err: unknown) => void;
}

function logSyncFailure(logger: Logger, key: unknown, err: unknown): void {
  if (isConflict(err) || isAlreadyExists(err)) logger.debug({ key, err }, "Sync hit a conflict; requeueing");
  else logger.warn({ key, err }, "Sync failed; requeueing with backoff");
}

/**
 * The controller's run(): wait for the caches, run N worker loops (get → sync → forget or addRateLimited → done),
 * and on abort shut the queue down and await the loops. Items still queued at shutdown are handed back without
 * work. Resolves once every loop stopped.
 */
export async function runWorkers<T = string>(opts: WorkerOptions<T>): Promise<void> {
  const { queue, signal, logger } = opts;
  const synced = await Promise.all(opts.informers.map((i) => i.waitForSync(signal)));
  if (signal.aborted || !synced.every(Boolean)) {
    queue.shutDown();
    return;
  }
  if (opts.onStart) opts.onStart();
  else logger.info({ workers: opts.workers }, "Caches synced; starting workers");
  const logFailure = opts.logFailure ?? ((key: T, err: unknown) => { logSyncFailure(logger, key, err); });
  const onAbort = (): void => {
    queue.shutDown();
  };
  signal.addEventListener("abort", onAbort, { once: true });
  const loop = async (): Promise<void> => {
    for (;;) {
      const next = await queue.get();
      if (next.shutdown) return;
      const key = next.item;
      try {
        if (signal.aborted) continue; // draining after shutdown: hand items back without work
        await opts.sync(key);
        queue.forget(key);
      } catch (err) {
        logFailure(key, err);
        queue.addRateLimited(key);
      } finally {
        queue.done(key);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, opts.workers) }, loop));
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}
