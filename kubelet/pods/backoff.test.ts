import { describe, expect, it } from "vitest";
import { CONTAINER_BACKOFF, formatBackoff, KeyedBackoff } from "./backoff.js";

describe("KeyedBackoff", () => {
  it("doubles from 10 s to at most 5 min", () => {
    const b = new KeyedBackoff(CONTAINER_BACKOFF);
    const waits = Array.from({ length: 8 }, (_, i) => b.next("k", i * 1000));
    expect(waits).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
    expect(waits.map(formatBackoff)).toEqual(["10s", "20s", "40s", "1m20s", "2m40s", "5m0s", "5m0s", "5m0s"]);
  });

  it("is in backoff for the current duration after an event, per key", () => {
    const b = new KeyedBackoff(CONTAINER_BACKOFF);
    expect(b.isInBackOffSince("k", 0, 0)).toBe(false);
    b.next("k", 0);
    expect(b.isInBackOffSince("k", 1000, 5000)).toBe(true);
    expect(b.remainingMs("k", 1000, 5000)).toBe(6000);
    expect(b.isInBackOffSince("k", 1000, 11_000)).toBe(false);
    expect(b.isInBackOffSince("other", 1000, 5000)).toBe(false);
    expect(b.isInBackOffSinceUpdate("k", 9_999)).toBe(true);
    expect(b.isInBackOffSinceUpdate("k", 10_000)).toBe(false);
  });

  it("starts over for a container that ran 10 minutes since its last backoff", () => {
    const b = new KeyedBackoff(CONTAINER_BACKOFF);
    b.next("k", 0);
    b.next("k", 1000);
    expect(b.isInBackOffSince("k", 600_000 + 1001, 600_000 + 1002)).toBe(false);
    expect(b.next("k", 600_000 + 1002)).toBe(10_000);
  });

  it("forgets a pod's keys and idle keys", () => {
    const b = new KeyedBackoff(CONTAINER_BACKOFF);
    b.next("uid-1/app", 0);
    b.next("uid-2/app", 0);
    b.resetPrefix("uid-1/");
    expect(b.get("uid-1/app")).toBe(0);
    b.gc(600_001);
    expect(b.get("uid-2/app")).toBe(0);
  });
});
