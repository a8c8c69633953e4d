import { describe, expect, it } from "vitest";
import { newPod, newService } from "../../../api/testing/builders.js";
import type { Pod, Service } from "../../../api/types/index.js";
import { formatTriggerTime, TriggerTimeTracker, withTriggerTime, LAST_CHANGE_TRIGGER_TIME_ANNOTATION } from "./trigger-time-tracker.js";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const iso = (ms: number): string => new Date(ms).toISOString();

function service(createdAt: number): Service {
  const svc = newService("web");
  svc.metadata.creationTimestamp = iso(createdAt);
  return svc;
}

function readyPod(name: string, readySince?: number): Pod {
  const pod = newPod(name, { labels: { app: "web" }, phase: "Running", ready: true, podIP: "10.0.0.1" });
  if (readySince !== undefined) pod.status!.conditions = [{ type: "Ready", status: "True", lastTransitionTime: iso(readySince) }];
  return pod;
}

describe("TriggerTimeTracker", () => {
  it("gives a new Service its creationTimestamp, whatever its pods", () => {
    const tracker = new TriggerTimeTracker();
    expect(tracker.compute("default/web", service(T0), [readyPod("a", T0 + 5000)])).toBe(T0);
  });

  it("then the earliest pod readiness change since the last sync, and nothing when nothing moved", () => {
    const tracker = new TriggerTimeTracker();
    const svc = service(T0);
    tracker.compute("default/web", svc, [readyPod("a", T0 + 1000), readyPod("b", T0 + 1000)]);
    expect(tracker.compute("default/web", svc, [readyPod("a", T0 + 1000), readyPod("b", T0 + 1000)])).toBeUndefined();
    expect(tracker.compute("default/web", svc, [readyPod("a", T0 + 3000), readyPod("b", T0 + 2000), readyPod("c", T0 + 4000)])).toBe(T0 + 2000);
    // A pod without a Ready transition time triggers nothing.
    expect(tracker.compute("default/web", svc, [readyPod("a", T0 + 3000), readyPod("b", T0 + 2000), readyPod("c", T0 + 4000), readyPod("d")])).toBeUndefined();
  });

  it("counts a re-created Service (newer creationTimestamp) as a change, and starts over after forget", () => {
    const tracker = new TriggerTimeTracker();
    tracker.compute("default/web", service(T0), []);
    expect(tracker.compute("default/web", service(T0 + 9000), [])).toBe(T0 + 9000);
    tracker.forget("default/web");
    expect(tracker.compute("default/web", service(T0 + 9000), [readyPod("a", T0 + 10_000)])).toBe(T0 + 9000);
  });
});

describe("formatTriggerTime", () => {
  it("prints RFC 3339 as Go's RFC3339Nano does (no trailing zeros), and round-trips", () => {
    expect(formatTriggerTime(T0)).toBe("2026-01-01T00:00:00Z");
    expect(formatTriggerTime(T0 + 120)).toBe("2026-01-01T00:00:00.12Z");
    expect(formatTriggerTime(T0 + 10_007)).toBe("2026-01-01T00:00:10.007Z");
    expect(Date.parse(formatTriggerTime(T0 + 10_007))).toBe(T0 + 10_007);
  });

  it("withTriggerTime adds the annotation beside the others, or leaves them alone", () => {
    expect(withTriggerTime({ a: "b" }, T0)).toEqual({ a: "b", [LAST_CHANGE_TRIGGER_TIME_ANNOTATION]: "2026-01-01T00:00:00Z" });
    expect(withTriggerTime({ a: "b" }, undefined)).toEqual({ a: "b" });
    expect(withTriggerTime(undefined, undefined)).toBeUndefined();
  });
});
