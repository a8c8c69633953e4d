import { describe, expect, it } from "vitest";
import { formatMicroTime, formatTime, parseTime } from "./time.js";

describe("time formats", () => {
  const ms = Date.UTC(2024, 0, 2, 3, 4, 5, 678);

  it("writes metav1.Time in whole seconds and MicroTime with six fraction digits", () => {
    expect(formatTime(ms)).toBe("2024-01-02T03:04:05Z");
    expect(formatMicroTime(ms)).toBe("2024-01-02T03:04:05.678000Z");
  });

  it("parses both forms back, and nothing from an absent or broken time", () => {
    expect(parseTime(formatTime(ms))).toBe(ms - 678);
    expect(parseTime(formatMicroTime(ms))).toBe(ms);
    expect(parseTime(undefined)).toBeUndefined();
    expect(parseTime("")).toBeUndefined();
    expect(parseTime("yesterday")).toBeUndefined();
  });
});
