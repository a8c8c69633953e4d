// Spreads periodic per-node work (lease renewals, status checks) evenly over its period, so 1,000 nodes renewing
// every 10 s make 100 requests a second instead of 1,000 at once every 10 s. Slot k of n fires at k·period/n into
// every period, all driven by one timer.
import type { Clock, Timer } from "../../component-base/clock.js";

export interface SpreadTickerOptions {
  /** Number of slots (nodes). */
  slots: number;
  periodMs: number;
  clock: Clock;
  /** Called once per slot per period; should only enqueue work. A throw is passed to onError. */
  onSlot: (slot: number) => void;
  onError?: (err: unknown, slot: number) => void;
}

/** When slot `slot` of `slots` fires, counted from the start of each period. */
export function slotOffsetMs(slot: number, slots: number, periodMs: number): number {
  return Math.floor((slot * periodMs) / slots);
}

export class SpreadTicker {
  private cycleStart = 0;
  private next = 0;
  private timer: Timer | undefined;
  private running = false;

  constructor(private readonly opts: SpreadTickerOptions) {
    if (!(opts.slots > 0) || !(opts.periodMs > 0)) throw new Error("SpreadTicker needs slots > 0 and periodMs > 0");
  }

  /** Starts a first period now (slot 0 fires at once); runs until `signal` aborts. */
  start(signal: AbortSignal): void {
    if (this.running || signal.aborted) return;
    this.running = true;
    this.cycleStart = this.opts.clock.now();
    this.next = 0;
    signal.addEventListener("abort", () => { this.stop(); }, { once: true });
    this.arm();
  }

  stop(): void {
    this.running = false;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private dueAt(slot: number): number {
    return this.cycleStart + slotOffsetMs(slot, this.opts.slots, this.opts.periodMs);
  }

  private arm(): void {
    if (!this.running) return;
    this.timer = this.opts.clock.setTimeout(() => { this.fire(); }, this.dueAt(this.next) - this.opts.clock.now());
  }

  private fire(): void {
    this.timer = undefined;
    if (!this.running) return;
    const { slots, periodMs, clock } = this.opts;
    const now = clock.now();
    // Everything due fires (timers can be late), but each slot at most once per call.
    for (let fired = 0; fired < slots && this.dueAt(this.next) <= now; fired++) {
      const slot = this.next;
      try {
        this.opts.onSlot(slot);
      } catch (err) {
        this.opts.onError?.(err, slot);
      }
      this.next++;
      if (this.next === slots) {
        this.next = 0;
        this.cycleStart += periodMs;
      }
    }
    // Still behind after a whole round (the event loop was blocked for more than a period): every slot has just had
    // its turn, so the missed turns are dropped and the next round starts a period from now instead of bursting.
    if (this.dueAt(this.next) <= now) this.cycleStart = now + periodMs - slotOffsetMs(this.next, slots, periodMs);
    this.arm();
  }
}
