import { describe, expect, it } from "vitest";
import { TOKEN_TTL_MS, TokenCache } from "./tokens.js";

describe("TokenCache", () => {
  it("gives a value once, under a URL-safe random token", () => {
    const cache = new TokenCache<string>({ now: () => 0 });
    const a = cache.put("first");
    const b = cache.put("second");
    expect(a).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(a).not.toBe(b);
    expect(cache.take(a)).toBe("first");
    expect(cache.take(a)).toBeUndefined();
    expect(cache.take("unknown")).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it("forgets a token a minute after it was made", () => {
    let now = 1_000;
    const cache = new TokenCache<string>({ now: () => now });
    const token = cache.put("exec");
    now += TOKEN_TTL_MS - 1;
    expect(cache.has(token)).toBe(true);
    now += 1;
    expect(cache.has(token)).toBe(false);
    expect(cache.take(token)).toBeUndefined();
    expect(cache.size).toBe(0);
  });
});
