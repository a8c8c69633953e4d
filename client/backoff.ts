// Exponential backoff with jitter for retry loops (reflectors, watches): each failure doubles the base delay up to
// a cap; each wait is the base delay stretched by a random factor in [1, 1 + jitter) and capped, so a crowd of
// clients that lost the apiserver together does not return in lockstep. reset() after a success.
import { realClock, type Clock } from "../component-base/clock.js";

export interface BackoffOptions {
  /** First delay (default 800 ms, client-go's reflector backoff). */
  initialMs?: number;
  /** Cap (default 30 s). */
  maxMs?: number;
  /** Extra random fraction of the delay, 0..1 (default 1.0, as client-go). */
  jitter?: number;
  clock?: Clock;
  random?: () => number;
}

export class Backoff {
  private failures = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly jitter: number;
  private readonly clock: Clock;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 800;
    this.maxMs = opts.maxMs ?? 30_000;
    this.jitter = opts.jitter ?? 1.0;
    this.clock = opts.clock ?? realClock;
    this.random = opts.random ?? Math.random;
  }

  /** The delay the next wait() would use, advancing the failure count. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.failures, 30));
    this.failures++;
    return Math.min(this.maxMs, base * (1 + this.random() * this.jitter));
  }

  /** Sleeps for next(); resolves false if `signal` aborted first. */
  wait(signal?: AbortSignal): Promise<boolean> {
    return this.clock.sleep(this.next(), signal);
  }

  reset(): void {
    this.failures = 0;
  }
}
