import { describe, expect, it } from "vitest";
import { FakeClock } from "../component-base/testing/fake-clock.js";
import { BoundedFrequencyRunner } from "./bounded-frequency-runner.js";

function setup(results: boolean[] = []) {
  const clock = new FakeClock(0);
  const runs: number[] = [];
  const runner = new BoundedFrequencyRunner({
    clock,
    minIntervalMs: 1000,
    maxIntervalMs: 30_000,
    fn: () => {
      runs.push(clock.now());
      return Promise.resolve(results.shift() ?? true);
    },
  });
  return { clock, runs, runner };
}

describe("BoundedFrequencyRunner", () => {
  it("runs at once on start, then every maxInterval without requests", async () => {
    const { clock, runs, runner } = setup();
    runner.start();
    await clock.advance(0);
    expect(runs).toEqual([0]);
    await clock.advance(60_000);
    expect(runs).toEqual([0, 30_000, 60_000]);
    await runner.stop();
  });

  it("turns a burst of requests into one run, at least minInterval after the last", async () => {
    const { clock, runs, runner } = setup();
    runner.start();
    await clock.advance(0);
    await clock.advance(200);
    for (let i = 0; i < 10; i++) runner.run();
    await clock.advance(700);
    expect(runs).toEqual([0]);
    await clock.advance(100);
    expect(runs).toEqual([0, 1000]);
    await clock.advance(5000);
    expect(runs).toEqual([0, 1000]);
    runner.run();
    await clock.advance(0);
    expect(runs).toEqual([0, 1000, 6000]);
    // The periodic run counts from the last run.
    await clock.advance(30_000);
    expect(runs).toEqual([0, 1000, 6000, 36_000]);
    await runner.stop();
  });

  it("retries a failed run with backoff from minInterval up to maxInterval", async () => {
    const { clock, runs, runner } = setup([false, false, false]);
    runner.start();
    await clock.advance(0);
    await clock.advance(10_000);
    expect(runs).toEqual([0, 1000, 3000, 7000]);
    await clock.advance(30_000);
    expect(runs).toEqual([0, 1000, 3000, 7000, 37_000]);
    await runner.stop();
  });

  it("never runs before start or after stop", async () => {
    const { clock, runs, runner } = setup();
    runner.run();
    await clock.advance(5000);
    expect(runs).toEqual([]);
    runner.start();
    await clock.advance(0);
    await runner.stop();
    runner.run();
    await clock.advance(60_000);
    expect(runs).toEqual([5000]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it("serves a request made during a run right after it", async () => {
    const clock = new FakeClock(0);
    const runs: number[] = [];
    let release: () => void = () => undefined;
    const runner: BoundedFrequencyRunner = new BoundedFrequencyRunner({
      clock,
      minIntervalMs: 0,
      maxIntervalMs: 30_000,
      fn: async () => {
        runs.push(clock.now());
        if (runs.length === 1) {
          runner.run();
          await new Promise<void>((r) => (release = r));
        }
        return true;
      },
    });
    runner.start();
    await clock.advance(0);
    expect(runs).toEqual([0]);
    release();
    await clock.advance(0);
    expect(runs).toEqual([0, 0]);
    await runner.stop();
  });
});
