import { describe, expect, it } from "vitest";
import { median, PodStartTracker, Sampler, sumFamily } from "./samples.js";

const EXPOSITION = `# HELP apiserver_request_total Counter of apiserver requests.
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",verb="GET"} 10
apiserver_request_total{code="201",verb="POST",resource="pods"} 5
apiserver_request_total_other 99
apiserver_request_duration_seconds_bucket{le="0.1"} 7
`;

describe("sumFamily", () => {
  it("adds every sample of the family, whatever its labels, and nothing else", () => {
    expect(sumFamily(EXPOSITION, "apiserver_request_total")).toBe(15);
    expect(sumFamily(EXPOSITION, "absent_total")).toBeUndefined();
    expect(sumFamily("up 1\n", "up")).toBe(1);
  });
});

describe("median", () => {
  it.each([[[], null], [[3], 3], [[5, 1, 3], 3], [[4, 1, 3, 2], 2.5]])("of %j is %j", (values, expected) => {
    expect(median(values)).toBe(expected);
  });
});

describe("Sampler", () => {
  it("turns the apiserver's request counter into a rate, with no rate for the first scrape or a reset counter", async () => {
    let now = 10_000;
    const totals = [100, 120, 5];
    const starts = new PodStartTracker();
    const sampler = new Sampler({ scrape: () => Promise.resolve(`apiserver_request_total{} ${totals.shift() ?? 0}\n`), pods: () => ({ ready: 2, total: 3 }), starts, now: () => now });
    expect((await sampler.sample()).apiRequestRate).toBeNull();
    now += 2_000;
    starts.appeared("p", 0);
    starts.observed("p", true, 400);
    const second = await sampler.sample();
    expect(second).toEqual({ time: 12, podsReady: 2, pods: 3, apiRequestRate: 10, podStartMs: 400 });
    now += 2_000;
    expect((await sampler.sample()).apiRequestRate).toBeNull();
    expect(sampler.history()).toHaveLength(3);
  });

  it("keeps the newest samples only", async () => {
    const sampler = new Sampler({ scrape: () => Promise.reject(new Error("down")), pods: () => ({ ready: 0, total: 0 }), starts: new PodStartTracker(), keep: 2 });
    for (let i = 0; i < 5; i++) await sampler.sample();
    expect(sampler.history()).toHaveLength(2);
  });
});
