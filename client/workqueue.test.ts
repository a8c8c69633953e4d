import { describe, expect, it } from "vitest";
import { createRegistry } from "../component-base/metrics.js";
import { FakeClock, flushPromises } from "../component-base/testing/fake-clock.js";
import { bucketRateLimiter, createWorkqueue, itemExponentialRateLimiter, maxOfRateLimiters, workqueueMetrics, type GetResult } from "./workqueue.js";

function item<T>(r: GetResult<T>): T {
  if (r.shutdown) throw new Error("unexpected shutdown");
  return r.item;
}

describe("workqueue", () => {
  it("hands items out in FIFO order and deduplicates items still waiting", async () => {
    const q = createWorkqueue({ clock: new FakeClock() });
    q.add("a");
    q.add("b");
    q.add("a");
    expect(q.len()).toBe(2);
    expect(item(await q.get())).toBe("a");
    expect(item(await q.get())).toBe("b");
    expect(q.len()).toBe(0);
  });

  it("re-queues an item added while it is processed only when it is done, so one key never runs twice at once", async () => {
    const q = createWorkqueue({ clock: new FakeClock() });
    q.add("a");
    const first = item(await q.get());
    q.add("a");
    q.add("a");
    expect(q.len()).toBe(0);
    let second: string | undefined;
    void q.get().then((r) => (second = item(r)));
    await flushPromises();
    expect(second).toBeUndefined();
    q.done(first);
    await flushPromises();
    expect(second).toBe("a");
    q.done("a");
    expect(q.len()).toBe(0);
  });

  it("wakes a waiting get() when an item arrives, oldest waiter first", async () => {
    const q = createWorkqueue({ clock: new FakeClock() });
    const got: string[] = [];
    void q.get().then((r) => got.push(`w1:${item(r)}`));
    void q.get().then((r) => got.push(`w2:${item(r)}`));
    q.add("x");
    q.add("y");
    await flushPromises();
    expect(got).toEqual(["w1:x", "w2:y"]);
  });

  it("holds addAfter items until their time, keeping the earliest of repeated delays", async () => {
    const clock = new FakeClock();
    const q = createWorkqueue({ clock });
    q.addAfter("late", 1000);
    q.addAfter("soon", 100);
    q.addAfter("late", 300);
    q.addAfter("soon", 900);
    expect(q.len()).toBe(0);
    clock.step(99);
    expect(q.len()).toBe(0);
    clock.step(1);
    expect(q.len()).toBe(1);
    expect(item(await q.get())).toBe("soon");
    clock.step(200);
    expect(item(await q.get())).toBe("late");
    clock.step(10_000);
    expect(q.len()).toBe(0);
  });

  it("backs off rate-limited retries exponentially from 5 ms and resets on forget", () => {
    const clock = new FakeClock();
    const q = createWorkqueue({ clock });
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = clock.now();
      q.addRateLimited("k");
      clock.step(clock.nextTimerAt()! - clock.now());
      delays.push(clock.now() - before);
      expect(q.len()).toBe(1);
      // take it and finish it so the next retry is a fresh add
      void q.get();
      q.done("k");
    }
    expect(delays).toEqual([5, 10, 20, 40, 80]);
    expect(q.numRequeues("k")).toBe(5);
    q.forget("k");
    expect(q.numRequeues("k")).toBe(0);
  });

  it("caps the per-item backoff", () => {
    const limiter = itemExponentialRateLimiter<string>(5, 1_000_000);
    const delays = Array.from({ length: 30 }, () => limiter.when("k"));
    expect(delays[0]).toBe(5);
    expect(Math.max(...delays)).toBe(1_000_000);
    expect(limiter.when("other")).toBe(5);
  });

  it("combines limiters by taking the longest delay", () => {
    const clock = new FakeClock();
    const limiter = maxOfRateLimiters(itemExponentialRateLimiter<string>(5, 1000), bucketRateLimiter<string>(10, 1, clock));
    expect([limiter.when("a"), limiter.when("b"), limiter.when("c")]).toEqual([5, 100, 200]);
  });

  it("wakes idle workers with shutdown, ignores later adds, and still hands out queued items", async () => {
    const clock = new FakeClock();
    const q = createWorkqueue({ clock });
    const idle = q.get();
    q.shutDown();
    expect(await idle).toEqual({ shutdown: true });

    const q2 = createWorkqueue({ clock });
    q2.add("a");
    q2.addAfter("later", 100);
    q2.shutDown();
    q2.add("b");
    clock.step(1000);
    expect(q2.shuttingDown()).toBe(true);
    expect(await q2.get()).toEqual({ shutdown: false, item: "a" });
    expect(await q2.get()).toEqual({ shutdown: true });
  });

  it("shutDownWithDrain waits until in-flight items are done", async () => {
    const q = createWorkqueue({ clock: new FakeClock() });
    q.add("a");
    const a = item(await q.get());
    let drained = false;
    void q.shutDownWithDrain().then(() => (drained = true));
    await flushPromises();
    expect(drained).toBe(false);
    q.done(a);
    await flushPromises();
    expect(drained).toBe(true);
  });

  it("publishes Kubernetes' workqueue metrics by name", async () => {
    const clock = new FakeClock();
    const registry = createRegistry({ defaultMetrics: false });
    const q = createWorkqueue({ name: "replicaset", clock, metrics: workqueueMetrics(registry) });
    q.add("a");
    q.add("a");
    q.add("b");
    clock.step(2000);
    const a = item(await q.get());
    clock.step(500);
    q.done(a);
    q.addRateLimited("c");
    const b = item(await q.get());
    clock.step(3000);
    const text = await registry.metrics();
    q.done(b);
    expect(text).toContain('workqueue_depth{name="replicaset"} 1'); // c
    expect(text).toContain('workqueue_adds_total{name="replicaset"} 3'); // a, b, and c once its backoff passed
    expect(text).toContain('workqueue_retries_total{name="replicaset"} 1');
    expect(text).toContain('workqueue_queue_duration_seconds_count{name="replicaset"} 2');
    expect(text).toContain('workqueue_queue_duration_seconds_sum{name="replicaset"} 4.5');
    expect(text).toContain('workqueue_work_duration_seconds_sum{name="replicaset"} 0.5');
    expect(text).toContain('workqueue_unfinished_work_seconds{name="replicaset"} 3');
    expect(text).toContain('workqueue_longest_running_processor_seconds{name="replicaset"} 3');
  });
});
