import { describe, expect, it } from "vitest";
import { conflict } from "../api/errors.js";
import { silentLogger } from "../component-base/logging.js";
import { createRegistry } from "../component-base/metrics.js";
import { FakeClock, flushPromises } from "../component-base/testing/fake-clock.js";
import { newControllerQueue, queueMetricsFor, runWorkers } from "./controller-loop.js";

describe("newControllerQueue", () => {
  it("shares one metrics provider per registry, so every queue reports under its own name", async () => {
    const registry = createRegistry({ defaultMetrics: false });
    expect(queueMetricsFor(registry)).toBe(queueMetricsFor(registry));
    const clock = new FakeClock();
    newControllerQueue("first", { clock, metrics: registry }).add("a");
    newControllerQueue("second", { clock, metrics: registry }).add("b");
    const text = await registry.metrics();
    expect(text).toMatch(/workqueue_adds_total\{name="first"\} 1/);
    expect(text).toMatch(/workqueue_adds_total\{name="second"\} 1/);
  });
});

describe("runWorkers", () => {
  it("starts after the caches synced, retries a failed key with backoff, and stops on abort", async () => {
    const clock = new FakeClock();
    const queue = newControllerQueue("test", { clock });
    const attempts = new Map<string, number>();
    const failures: unknown[] = [];
    let started = false;
    const stop = new AbortController();
    let synced!: (ok: boolean) => void;
    const informer = { waitForSync: () => new Promise<boolean>((resolve) => (synced = resolve)) };
    queue.add("a");
    queue.add("b");
    const run = runWorkers({
      queue,
      workers: 2,
      informers: [informer],
      logger: silentLogger(),
      signal: stop.signal,
      onStart: () => (started = true),
      logFailure: (_key, err) => failures.push(err),
      sync: (key) => {
        const n = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, n);
        return key === "b" && n === 1 ? Promise.reject(conflict("pods", "b")) : Promise.resolve();
      },
    });
    await flushPromises();
    expect(attempts.size).toBe(0);
    synced(true);
    await flushPromises();
    expect(started).toBe(true);
    expect([attempts.get("a"), attempts.get("b"), failures.length]).toEqual([1, 1, 1]);
    clock.step(5); // the first retry waits the rate limiter's base delay
    await flushPromises();
    expect(attempts.get("b")).toBe(2);
    stop.abort();
    await run;
    expect(queue.shuttingDown()).toBe(true);
  });

  it("does not start workers when the caches never sync", async () => {
    const queue = newControllerQueue("test", { clock: new FakeClock() });
    let synced = false;
    await runWorkers({ queue, workers: 1, informers: [{ waitForSync: () => Promise.resolve(false) }], logger: silentLogger(), signal: new AbortController().signal, sync: () => Promise.resolve().then(() => void (synced = true)) });
    expect(synced).toBe(false);
    expect(queue.shuttingDown()).toBe(true);
  });
});
