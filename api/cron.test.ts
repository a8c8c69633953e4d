import { describe, expect, it } from "vitest";
import { parseSchedule, type CronSchedule } from "./cron.js";

function schedule(text: string): CronSchedule {
  const parsed = parseSchedule(text);
  if (typeof parsed === "string") throw new Error(parsed);
  return parsed;
}

const at = (iso: string): number => Date.parse(iso);
const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString());

describe("parseSchedule", () => {
  it("finds the next minute, step and list activations in UTC", () => {
    expect(iso(schedule("*/1 * * * *").next(at("2024-01-01T10:00:30Z"), "UTC"))).toBe("2024-01-01T10:01:00.000Z");
    expect(iso(schedule("*/15 * * * *").next(at("2024-01-01T10:15:00Z"), "UTC"))).toBe("2024-01-01T10:30:00.000Z");
    expect(iso(schedule("5/20 9-10 * * *").next(at("2024-01-01T09:45:00Z"), "UTC"))).toBe("2024-01-01T10:05:00.000Z");
    expect(iso(schedule("0 0 * * MON-FRI").next(at("2024-01-06T12:00:00Z"), "UTC"))).toBe("2024-01-08T00:00:00.000Z");
  });

  it("expands the descriptors", () => {
    expect(iso(schedule("@hourly").next(at("2024-01-01T10:00:00Z"), "UTC"))).toBe("2024-01-01T11:00:00.000Z");
    expect(iso(schedule("@daily").next(at("2024-01-01T10:00:00Z"), "UTC"))).toBe("2024-01-02T00:00:00.000Z");
    expect(iso(schedule("@monthly").next(at("2024-01-31T10:00:00Z"), "UTC"))).toBe("2024-02-01T00:00:00.000Z");
    expect(iso(schedule("@yearly").next(at("2024-06-01T00:00:00Z"), "UTC"))).toBe("2025-01-01T00:00:00.000Z");
    expect(iso(schedule("@weekly").next(at("2024-01-01T00:00:00Z"), "UTC"))).toBe("2024-01-07T00:00:00.000Z");
    expect(iso(schedule("@every 90s").next(at("2024-01-01T00:00:00.500Z"), "UTC"))).toBe("2024-01-01T00:01:30.000Z");
  });

  it("combines day of month and day of week with OR unless one is *", () => {
    // The 13th or any Friday: Friday 2024-01-05 comes first.
    expect(iso(schedule("0 0 13 * 5").next(at("2024-01-01T00:00:00Z"), "UTC"))).toBe("2024-01-05T00:00:00.000Z");
    expect(iso(schedule("0 0 13 * *").next(at("2024-01-01T00:00:00Z"), "UTC"))).toBe("2024-01-13T00:00:00.000Z");
    expect(schedule("0 0 30 2 *").next(at("2024-01-01T00:00:00Z"), "UTC")).toBeUndefined();
  });

  it("computes activations in a time zone, across daylight saving changes", () => {
    // 09:00 in New York is 14:00 UTC in winter, 13:00 UTC in summer.
    expect(iso(schedule("0 9 * * *").next(at("2024-01-10T00:00:00Z"), "America/New_York"))).toBe("2024-01-10T14:00:00.000Z");
    expect(iso(schedule("0 9 * * *").next(at("2024-07-10T00:00:00Z"), "America/New_York"))).toBe("2024-07-10T13:00:00.000Z");
    // 02:30 does not exist on 2024-03-10 in New York: that day is skipped.
    expect(iso(schedule("30 2 * * *").next(at("2024-03-09T12:00:00Z"), "America/New_York"))).toBe("2024-03-11T06:30:00.000Z");
    expect(iso(schedule("0 0 * * *").next(at("2024-01-01T00:00:00Z"), "Asia/Kolkata"))).toBe("2024-01-01T18:30:00.000Z");
  });

  it("returns robfig's messages for bad schedules", () => {
    expect(parseSchedule("* * * *")).toBe("expected exactly 5 fields, found 4: [* * * *]");
    expect(parseSchedule("*/0 * * * *")).toBe("step of range should be a positive number: */0");
    expect(parseSchedule("@every x")).toBe("failed to parse duration @every x");
  });
});
