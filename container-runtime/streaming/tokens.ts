// One-time tokens for streaming sessions: the CRI Exec call stores its request under a random token and returns a
// URL naming it; the first connection to that URL takes the request out. A token not used within its lifetime
// (a minute, as CRI-O's and containerd's streaming caches keep them) is forgotten, so a leaked URL soon means
// nothing.
import { randomBytes } from "node:crypto";

export const TOKEN_TTL_MS = 60_000;

export interface TokenCacheOptions {
  ttlMs?: number;
  /** Milliseconds since some origin; injected by tests. */
  now?: () => number;
}

export class TokenCache<T> {
  private readonly entries = new Map<string, { value: T; expiresAt: number }>();
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(options: TokenCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? TOKEN_TTL_MS;
    this.now = options.now ?? Date.now;
  }

  /** Stores `value` and returns its token: 16 random bytes, URL-safe. */
  put(value: T): string {
    this.prune();
    const token = randomBytes(16).toString("base64url");
    this.entries.set(token, { value, expiresAt: this.now() + this.ttlMs });
    return token;
  }

  /** Whether `token` names a live entry, without using it up. */
  has(token: string): boolean {
    this.prune();
    return this.entries.has(token);
  }

  /** The value stored under `token`, left in place; undefined when the token is unknown, used or expired. */
  peek(token: string): T | undefined {
    this.prune();
    return this.entries.get(token)?.value;
  }

  /** The value stored under `token`, removed; undefined when the token is unknown, already used or expired. */
  take(token: string): T | undefined {
    this.prune();
    const entry = this.entries.get(token);
    if (entry === undefined) return undefined;
    this.entries.delete(token);
    return entry.value;
  }

  get size(): number {
    this.prune();
    return this.entries.size;
  }

  private prune(): void {
    const now = this.now();
    for (const [token, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(token);
  }
}
