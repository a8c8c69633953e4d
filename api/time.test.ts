import { describe, expect, it } from "vitest";
import { formatMicroTime, formatTime, parseTime } from "./time.js";

describe("time formats", () => {
  const ms = Date.UTC(2024, 0, 2, 3, 4, 5, 678);

  it("writes metav1.Time in whole seconds and MicroTime with six fraction digits", () => {
    expect(formatTime(ms)).toBe("2024-01-02T03:04:05Z");
    expect(formatMicroTime(ms)).toBe("2024-01-02T03:04:05.678000Z");
  });

  it("formats each second the same whatever its milliseconds, and the next one anew (before 1970 too)", () => {
    const second = Date.UTC(2024, 0, 2, 3, 4, 5);
    expect([0, 1, 999].map((extra) => formatTime(second + extra))).toEqual(Array(3).fill("2024-01-02T03:04:05Z"));
    expect(formatTime(second + 1000)).toBe("2024-01-02T03:04:06Z");
    expect(formatTime(second - 1)).toBe("2024-01-02T03:04:04Z");
    expect(formatTime(-1)).toBe("1969-12-31T23:59:59Z");
    expect(formatTime(0)).toBe("1970-01-01T00:00:00Z");
    expect(() => formatTime(Number.NaN)).toThrow(RangeError);
  });

  it("parses both forms back, and nothing from an absent or broken time", () => {
    expect(parseTime(formatTime(ms))).toBe(ms - 678);
    expect(parseTime(formatMicroTime(ms))).toBe(ms);
    expect(parseTime(undefined)).toBeUndefined();
    expect(parseTime("")).toBeUndefined();
    expect(parseTime("yesterday")).toBeUndefined();
  });
});
