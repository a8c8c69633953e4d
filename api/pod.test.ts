import { describe, expect, it } from "vitest";
import { availableInMs, isPodActive, isPodAvailable, isPodReady, isPodTerminal, podKey } from "./pod.js";
import { formatTime } from "./time.js";
import type { Pod, PodPhase } from "./types/index.js";

const T0 = Date.UTC(2024, 0, 1);

function pod(phase: PodPhase, ready?: { status: "True" | "False"; since?: number }, deleting = false): Pod {
  return {
    metadata: { namespace: "ns", name: "p", ...(deleting ? { deletionTimestamp: formatTime(T0) } : {}) },
    spec: { containers: [] },
    status: { phase, ...(ready ? { conditions: [{ type: "Ready", status: ready.status, ...(ready.since !== undefined ? { lastTransitionTime: formatTime(ready.since) } : {}) }] } : {}) },
  };
}

describe("pod helpers", () => {
  it("active excludes terminal and deleting pods", () => {
    expect(isPodActive(pod("Running"))).toBe(true);
    expect([isPodTerminal(pod("Succeeded")), isPodActive(pod("Succeeded")), isPodActive(pod("Failed"))]).toEqual([true, false, false]);
    expect(isPodActive(pod("Running", undefined, true))).toBe(false);
  });

  it("counts availability from the Ready transition", () => {
    const ready = pod("Running", { status: "True", since: T0 });
    expect(isPodReady(ready)).toBe(true);
    expect(isPodAvailable(ready, 0, T0)).toBe(true);
    expect(availableInMs(ready, 10, T0 + 4_000)).toBe(6_000);
    expect(isPodAvailable(ready, 10, T0 + 10_000)).toBe(true);
    expect(availableInMs(pod("Running", { status: "False", since: T0 }), 0, T0)).toBeUndefined();
    expect(availableInMs(pod("Running", { status: "True" }), 5, T0)).toBeUndefined();
    expect(podKey(ready)).toBe("ns/p");
  });
});
