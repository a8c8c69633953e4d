// Client-side rate limiting (client-go's flowcontrol.NewTokenBucketRateLimiter): a bucket of `burst` tokens refilled
// at `qps` per second. Waiters reserve a token even when the bucket is empty (it goes negative), so they are served
// in arrival order and each sleeps exactly until its token exists, like golang.org/x/time/rate's Wait.
import { realClock, type Clock } from "../component-base/clock.js";

export interface RateLimiter {
  /** Resolves when the caller may proceed, with the milliseconds it waited; rejects with signal.reason on abort. */
  wait(signal?: AbortSignal): Promise<number>;
  /** Takes a token if one is available now. */
  tryAccept(): boolean;
}

export class TokenBucket implements RateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    readonly qps: number,
    readonly burst: number,
    private readonly clock: Clock = realClock,
  ) {
    if (!(qps > 0) || !(burst >= 1)) throw new Error(`token bucket needs qps > 0 and burst >= 1 (got ${qps}, ${burst})`);
    this.tokens = burst;
    this.last = clock.now();
  }

  tryAccept(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  async wait(signal?: AbortSignal): Promise<number> {
    signal?.throwIfAborted();
    this.refill();
    this.tokens -= 1;
    if (this.tokens >= 0) return 0;
    const waitMs = (-this.tokens / this.qps) * 1000;
    if (!(await this.clock.sleep(waitMs, signal))) {
      this.tokens += 1; // give the reservation back
      signal?.throwIfAborted();
    }
    return waitMs;
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) * this.qps) / 1000);
    this.last = now;
  }
}

/** No limit: for qps <= 0. */
export const unlimited: RateLimiter = { wait: () => Promise.resolve(0), tryAccept: () => true };
