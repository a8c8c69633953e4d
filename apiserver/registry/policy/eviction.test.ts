import { beforeEach, describe, expect, it } from "vitest";
import { newPod } from "../../../api/testing/builders.js";
import type { Pod, PodDisruptionBudget } from "../../../api/types/index.js";
import { memoryRegistry, type MemoryRegistry } from "../testing/memory-storage.js";
import { rejection } from "../testing/rejection.js";
import type { ResourceStore } from "../store.js";
import { EVICTION_BLOCKED_MESSAGE, evictPodHonouringBudgets } from "./eviction.js";

let m: MemoryRegistry;
let pods: ResourceStore;
let pdbs: ResourceStore;

beforeEach(async () => {
  m = await memoryRegistry();
  pods = m.registry.core("pods");
  pdbs = m.registry.store("policy", "v1", "poddisruptionbudgets")!;
});

async function runningPod(name: string, labels: Record<string, string> = { app: "web" }, ready = true): Promise<void> {
  await pods.create("default", newPod(name, { labels, nodeName: "n1" }));
  await pods.update("default", name, { ...(await pods.get("default", name)), status: { phase: "Running", conditions: [{ type: "Ready", status: ready ? "True" : "False" }] } }, { subresource: "status" });
}

async function budget(name: string, allowed: number, spec: PodDisruptionBudget["spec"] = { minAvailable: 1, selector: { matchLabels: { app: "web" } } }): Promise<void> {
  await pdbs.create("default", { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name }, spec });
  const stored = await pdbs.get("default", name);
  await pdbs.update("default", name, { ...stored, status: { observedGeneration: 1, disruptionsAllowed: allowed, currentHealthy: 1, desiredHealthy: 1, expectedPods: 1 } }, { subresource: "status" });
}

const evict = (name: string, body: unknown = { apiVersion: "policy/v1", kind: "Eviction", metadata: { name } }): Promise<unknown> =>
  evictPodHonouringBudgets({ pods, storeFor: (g, v, r) => m.registry.store(g, v, r), namespace: "default", name, body, dryRun: false, now: () => Date.parse("2024-01-01T00:00:00Z") });

describe("pods/eviction", () => {
  it("deletes a pod no budget covers, with the eviction's delete options", async () => {
    await runningPod("web");
    const status = await evict("web", { apiVersion: "policy/v1", kind: "Eviction", metadata: { name: "web" }, deleteOptions: { gracePeriodSeconds: 7 } });
    expect(status).toMatchObject({ status: "Success", code: 201 });
    expect((await pods.get("default", "web")).metadata.deletionGracePeriodSeconds).toBe(7);
  });

  it("refuses with 429 and the budget's numbers when no disruption is allowed", async () => {
    await runningPod("web");
    await budget("web-pdb", 0);
    const err = await rejection(evict("web"));
    expect(err).toMatchObject({ code: 429, reason: "TooManyRequests", message: EVICTION_BLOCKED_MESSAGE });
    expect(err.details?.causes).toEqual([{ reason: "DisruptionBudget", message: "The disruption budget web-pdb needs 1 healthy pods and has 1 currently" }]);
    expect((await pods.get("default", "web")).metadata.deletionTimestamp).toBeUndefined();
  });

  it("spends one disruption, records the pod in disruptedPods, and then refuses the next", async () => {
    await runningPod("a");
    await runningPod("b");
    await budget("web-pdb", 1);
    await evict("a");
    const pdb = (await pdbs.get("default", "web-pdb")) as PodDisruptionBudget;
    expect(pdb.status).toMatchObject({ disruptionsAllowed: 0, disruptedPods: { a: "2024-01-01T00:00:00Z" } });
    expect(pdb.status?.conditions?.[0]).toMatchObject({ type: "DisruptionAllowed", status: "False", reason: "InsufficientPods" });
    expect((await rejection(evict("b"))).code).toBe(429);
  });

  it("answers 429 while the budget's generation is not yet observed", async () => {
    await runningPod("web");
    await pdbs.create("default", { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: "fresh" }, spec: { maxUnavailable: 1, selector: { matchLabels: { app: "web" } } } });
    const err = await rejection(evict("web"));
    expect(err.code).toBe(429);
    expect(err.details?.causes?.[0]?.message).toBe("The disruption budget fresh is still being processed by the server.");
  });

  it("evicts pending pods and unready pods a budget lets go without spending a disruption", async () => {
    await pods.create("default", newPod("pending", { labels: { app: "web" } }));
    await budget("web-pdb", 0, { minAvailable: 1, selector: { matchLabels: { app: "web" } }, unhealthyPodEvictionPolicy: "AlwaysAllow" });
    await evict("pending");
    await runningPod("sick", { app: "web" }, false);
    await evict("sick");
    expect(((await pdbs.get("default", "web-pdb")) as PodDisruptionBudget).status?.disruptionsAllowed).toBe(0);
  });

  it("refuses a pod two budgets select with a 500, as Kubernetes does", async () => {
    await runningPod("web");
    await budget("one", 1);
    await budget("two", 1);
    const err = await rejection(evict("web"));
    expect(err.code).toBe(500);
    expect(err.message).toContain("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.");
  });

  it("changes nothing on a dry run", async () => {
    await runningPod("web");
    await budget("web-pdb", 1);
    await evictPodHonouringBudgets({ pods, storeFor: (g, v, r) => m.registry.store(g, v, r), namespace: "default", name: "web", body: {}, dryRun: true });
    expect(((await pdbs.get("default", "web-pdb")) as PodDisruptionBudget).status?.disruptionsAllowed).toBe(1);
    expect(((await pods.get("default", "web")) as Pod).metadata.deletionTimestamp).toBeUndefined();
  });
});
