// Per-key exponential backoff (Kubernetes' flowcontrol.Backoff) for container restarts (CrashLoopBackOff) and image
// pulls (ImagePullBackOff): 10 s doubling to 5 min; a key untouched for twice the maximum starts over, so a
// container that ran for 10 minutes restarts at once again.

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

export const CONTAINER_BACKOFF: BackoffPolicy = { initialMs: 10_000, maxMs: 300_000 };
export const IMAGE_BACKOFF: BackoffPolicy = { initialMs: 10_000, maxMs: 300_000 };

interface Entry {
  durationMs: number;
  lastUpdateMs: number;
}

export class KeyedBackoff {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly policy: BackoffPolicy) {}

  /** Records a failure at `nowMs`: the first (or first after expiry) waits initialMs, each next one twice as long. */
  next(key: string, nowMs: number): number {
    const entry = this.entries.get(key);
    if (!entry || this.expired(entry, nowMs)) {
      this.entries.set(key, { durationMs: this.policy.initialMs, lastUpdateMs: nowMs });
      return this.policy.initialMs;
    }
    entry.durationMs = Math.min(entry.durationMs * 2, this.policy.maxMs);
    entry.lastUpdateMs = nowMs;
    return entry.durationMs;
  }

  /** The current backoff of `key` (0 when none). */
  get(key: string): number {
    return this.entries.get(key)?.durationMs ?? 0;
  }

  /**
   * Whether `eventMs` (e.g. when the container finished) is still inside the key's backoff at `nowMs`. An event
   * long after the last backoff (the container ran for 2·max) is never in backoff.
   */
  isInBackOffSince(key: string, eventMs: number, nowMs: number): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    if (eventMs - entry.lastUpdateMs > 2 * this.policy.maxMs) return false;
    return nowMs - eventMs < entry.durationMs;
  }

  /** Whether the key's last failure is still inside its backoff at `nowMs` (IsInBackOffSinceUpdate). */
  isInBackOffSinceUpdate(key: string, nowMs: number): boolean {
    const entry = this.entries.get(key);
    if (!entry || this.expired(entry, nowMs)) return false;
    return nowMs - entry.lastUpdateMs < entry.durationMs;
  }

  /** Milliseconds until the key's last failure leaves its backoff (0 when it is not in one). */
  remainingSinceUpdateMs(key: string, nowMs: number): number {
    const entry = this.entries.get(key);
    if (!entry || !this.isInBackOffSinceUpdate(key, nowMs)) return 0;
    return entry.lastUpdateMs + entry.durationMs - nowMs;
  }

  /** Milliseconds until `eventMs` leaves the backoff (0 when it is not in one). */
  remainingMs(key: string, eventMs: number, nowMs: number): number {
    if (!this.isInBackOffSince(key, eventMs, nowMs)) return 0;
    return eventMs + (this.entries.get(key)?.durationMs ?? 0) - nowMs;
  }

  reset(key: string): void {
    this.entries.delete(key);
  }

  /** Forgets keys with this prefix (a removed pod's). */
  resetPrefix(prefix: string): void {
    for (const key of this.entries.keys()) if (key.startsWith(prefix)) this.entries.delete(key);
  }

  /** Drops entries idle for more than twice the maximum (Kubernetes' GC). */
  gc(nowMs: number): void {
    for (const [key, entry] of this.entries) if (this.expired(entry, nowMs)) this.entries.delete(key);
  }

  private expired(entry: Entry, nowMs: number): boolean {
    return nowMs - entry.lastUpdateMs > 2 * this.policy.maxMs;
  }
}

/** "10s", "20s", "2m40s", "5m0s": Go's time.Duration formatting of whole seconds, as Kubernetes' messages print it. */
export function formatBackoff(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  return `${Math.floor(seconds / 60)}m${seconds % 60}s`;
}
