import { describe, expect, it } from "vitest";
import { FakeClock } from "../../component-base/testing/fake-clock.js";
import { slotOffsetMs, SpreadTicker } from "./spread.js";

function started(slots: number, periodMs: number) {
  const clock = new FakeClock();
  const t0 = clock.now();
  const fired: [number, number][] = [];
  const controller = new AbortController();
  new SpreadTicker({ slots, periodMs, clock, onSlot: (slot) => fired.push([slot, clock.now() - t0]) }).start(controller.signal);
  return { clock, fired, controller };
}

describe("SpreadTicker", () => {
  it("spreads 1,000 renewals evenly over the period instead of firing them at once", () => {
    const { clock, fired } = started(1000, 10_000);
    clock.step(9_999);
    expect(fired).toHaveLength(1000);
    expect(fired.slice(0, 3)).toEqual([[0, 0], [1, 10], [2, 20]]);
    // No 100 ms window holds more than its share.
    const perWindow = new Map<number, number>();
    for (const [, at] of fired) perWindow.set(Math.floor(at / 100), (perWindow.get(Math.floor(at / 100)) ?? 0) + 1);
    expect(Math.max(...perWindow.values())).toBe(10);
  });

  it("fires every slot once per period, at the same offset each time", () => {
    const { clock, fired } = started(4, 1000);
    clock.step(2999);
    expect(fired).toEqual([
      [0, 0], [1, 250], [2, 500], [3, 750],
      [0, 1000], [1, 1250], [2, 1500], [3, 1750],
      [0, 2000], [1, 2250], [2, 2500], [3, 2750],
    ]);
    expect(slotOffsetMs(3, 4, 1000)).toBe(750);
  });

  it("stops when its signal aborts", () => {
    const { clock, fired, controller } = started(2, 1000);
    clock.step(600);
    controller.abort();
    clock.step(5000);
    expect(fired).toEqual([[0, 0], [1, 500]]);
    expect(clock.pendingTimers()).toBe(0);
  });

  it("after a stall longer than a period, gives each slot one turn, then carries on a period later instead of bursting through the missed turns", () => {
    const { clock, fired } = started(4, 1000);
    clock.step(0);
    expect(fired).toEqual([[0, 0]]);
    // The event loop was blocked: the timer for slot 1 (due at 250) runs only at 5750.
    clock.stall(5750);
    expect(fired.slice(1)).toEqual([[1, 5750], [2, 5750], [3, 5750], [0, 5750]]);
    fired.length = 0;
    clock.step(1999);
    expect(fired).toEqual([[1, 6750], [2, 7000], [3, 7250], [0, 7500]]);
  });

  it("keeps going when a slot handler throws", () => {
    const clock = new FakeClock();
    const errors: number[] = [];
    const fired: number[] = [];
    new SpreadTicker({
      slots: 2,
      periodMs: 100,
      clock,
      onSlot: (slot) => {
        fired.push(slot);
        if (slot === 0) throw new Error("boom");
      },
      onError: (_err, slot) => errors.push(slot),
    }).start(new AbortController().signal);
    clock.step(199);
    expect(fired).toEqual([0, 1, 0, 1]);
    expect(errors).toEqual([0, 0]);
  });
});

