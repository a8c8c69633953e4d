// A manually driven Clock for unit tests (k8s.io/utils/clock/testing.FakeClock). Time moves only when the test calls
// step() or advance(); timers fire in due order, each seeing now() equal to its due time.
import { sleepOn, type Clock, type Timer } from "../clock.js";

interface PendingTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: PendingTimer[] = [];

  constructor(startMs = Date.UTC(2024, 0, 1)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): Timer {
    const timer: PendingTimer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
        this.timers = this.timers.filter((t) => t !== timer);
      },
    };
  }

  sleep(ms: number, signal?: AbortSignal): Promise<boolean> {
    return sleepOn(this, ms, signal);
  }

  /** Timers scheduled and not yet fired or cancelled. */
  pendingTimers(): number {
    return this.timers.length;
  }

  /** Due time of the earliest pending timer, if any. */
  nextTimerAt(): number | undefined {
    return this.earliest()?.at;
  }

  /** Moves time forward by `ms`, firing due timers synchronously in order. Promise continuations do not run. */
  step(ms: number): void {
    const target = this.current + ms;
    for (let t = this.earliest(); t && t.at <= target; t = this.earliest()) this.fire(t);
    this.current = target;
  }

  /**
   * Moves time forward by `ms` at once, then fires every timer now due, each seeing the new time: what a process
   * sees when its event loop was blocked and its timers run late.
   */
  stall(ms: number): void {
    this.current += ms;
    for (let t = this.earliest(); t && t.at <= this.current; t = this.earliest()) this.fire(t);
  }

  /**
   * Moves time forward by `ms`, firing due timers in order and letting promise continuations (and timers they
   * schedule inside the window) run after each one. Use this when the code under test is async.
   */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    await flushPromises();
    for (let t = this.earliest(); t && t.at <= target; t = this.earliest()) {
      this.fire(t);
      await flushPromises();
    }
    this.current = target;
    await flushPromises();
  }

  private earliest(): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const t of this.timers) if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    return best;
  }

  private fire(t: PendingTimer): void {
    this.timers = this.timers.filter((x) => x !== t);
    this.current = Math.max(this.current, t.at);
    if (!t.cancelled) t.fn();
  }
}

/** Lets every queued promise continuation run (one macrotask turn drains the microtask queue, twice for chains). */
export async function flushPromises(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
