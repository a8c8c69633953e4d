// Kubernetes' BoundedFrequencyRunner, the pace of syncProxyRules: run() asks for a run soon, but runs start at
// least minInterval apart (--iptables-min-sync-period: a burst of changes becomes one sync) and at most
// maxInterval apart (--iptables-sync-period: a periodic full resync even when nothing changed). Runs never
// overlap: a request during a run is served right after it (respecting minInterval). A failed run is retried,
// backing off from minInterval (at least 1 s) up to maxInterval.
import type { Clock, Timer } from "../component-base/clock.js";

export interface BoundedFrequencyRunnerOptions {
  /** The work; resolves true on success, false (or throws) on failure. */
  fn: () => Promise<boolean>;
  minIntervalMs: number;
  maxIntervalMs: number;
  clock: Clock;
}

export class BoundedFrequencyRunner {
  private lastRun = Number.NEGATIVE_INFINITY;
  private timer: Timer | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private running = false;
  private requested = false;
  private stopped = true;
  private failures = 0;
  private idle: Promise<void> = Promise.resolve();

  constructor(private readonly opts: BoundedFrequencyRunnerOptions) {}

  /** Starts the periodic runs: the first one at once. */
  start(): void {
    this.stopped = false;
    this.run();
  }

  /** Asks for a run as soon as minInterval allows. */
  run(): void {
    if (this.stopped) return;
    this.requested = true;
    if (this.running) return;
    this.schedule(Math.max(this.opts.clock.now(), this.lastRun + this.opts.minIntervalMs));
  }

  /** Stops scheduling; resolves once a run in progress ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    await this.idle;
  }

  private schedule(at: number): void {
    if (this.stopped || (this.timer && this.timerAt <= at)) return;
    this.timer?.cancel();
    this.timerAt = at;
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Number.POSITIVE_INFINITY;
      this.idle = this.tick();
    }, at - this.opts.clock.now());
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.running) return;
    this.running = true;
    this.requested = false;
    this.lastRun = this.opts.clock.now();
    let ok = false;
    try {
      ok = await this.opts.fn();
    } catch {
      ok = false;
    }
    this.running = false;
    if (this.stopped) return;
    const now = this.opts.clock.now();
    if (ok) {
      this.failures = 0;
      this.schedule(this.lastRun + this.opts.maxIntervalMs);
    } else {
      this.failures++;
      const backoff = Math.min(this.opts.maxIntervalMs, Math.max(this.opts.minIntervalMs, 1000) * 2 ** (this.failures - 1));
      this.schedule(now + backoff);
    }
    if (this.requested) this.schedule(Math.max(now, this.lastRun + this.opts.minIntervalMs));
  }
}
