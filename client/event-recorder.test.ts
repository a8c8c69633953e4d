import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RESOURCES } from "../api/resources.js";
import { realClock } from "../component-base/clock.js";
import { FakeClock } from "../component-base/testing/fake-clock.js";
import { createEventRecorder, type CoreEvent, type EventRecorderOptions } from "./event-recorder.js";
import { RestClient } from "./rest.js";
import { FakeApiserver } from "./testing/fake-apiserver.js";

const EVENTS = RESOURCES.find((r) => r.group === "" && r.resource === "events")!;
const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "web", namespace: "shop", uid: "uid-1", resourceVersion: "42" } };
const node = { apiVersion: "v1", kind: "Node", metadata: { name: "node-1", uid: "uid-n" } };

let server: FakeApiserver;
let client: RestClient;
let clock: FakeClock;
beforeEach(async () => {
  server = await FakeApiserver.start();
  client = new RestClient(server.clientConfig(), { qps: 0 });
  clock = new FakeClock(Date.UTC(2024, 4, 6, 7, 8, 9));
});
afterEach(async () => {
  client.close();
  await server.stop();
});

function recorder(extra: Partial<EventRecorderOptions> = {}) {
  return createEventRecorder({ client, component: "default-scheduler", host: "host-a", clock, ...extra });
}

function events(): CoreEvent[] {
  return server.objects(EVENTS) as CoreEvent[];
}

describe("event recorder", () => {
  it("creates a core/v1 Event about the object", async () => {
    const r = recorder();
    r.event(pod, "Normal", "Scheduled", "Successfully assigned shop/web to node-1");
    await r.flush();
    const [ev] = events();
    expect(ev!.metadata.name).toMatch(/^web\.[0-9a-f]+$/);
    expect(ev).toMatchObject({
      apiVersion: "v1",
      kind: "Event",
      metadata: { namespace: "shop" },
      involvedObject: { kind: "Pod", namespace: "shop", name: "web", uid: "uid-1", apiVersion: "v1", resourceVersion: "42" },
      reason: "Scheduled",
      message: "Successfully assigned shop/web to node-1",
      source: { component: "default-scheduler", host: "host-a" },
      reportingComponent: "default-scheduler",
      reportingInstance: "host-a",
      firstTimestamp: "2024-05-06T07:08:09Z",
      lastTimestamp: "2024-05-06T07:08:09Z",
      count: 1,
      type: "Normal",
    });
  });

  it("puts events about cluster-scoped objects in the default namespace, and keeps a reference's fieldPath", async () => {
    const r = recorder();
    r.event(node, "Warning", "NodeNotReady", "Node node-1 status is now: NodeNotReady");
    r.event({ kind: "Pod", namespace: "shop", name: "web", fieldPath: "spec.containers{nginx}" }, "Normal", "Pulled", "Container image already present");
    await r.flush();
    const byReason = Object.fromEntries(events().map((e) => [e.reason, e]));
    expect(byReason.NodeNotReady!.metadata.namespace).toBe("default");
    expect(byReason.NodeNotReady!.involvedObject).toEqual({ kind: "Node", name: "node-1", uid: "uid-n", apiVersion: "v1" });
    expect(byReason.Pulled!.involvedObject.fieldPath).toBe("spec.containers{nginx}");
    const names = events().map((e) => e.metadata.name);
    expect(new Set(names).size).toBe(2);
  });

  it("aggregates repeats within the window into count and lastTimestamp with a PATCH", async () => {
    const r = recorder();
    r.event(pod, "Warning", "BackOff", "Back-off restarting failed container");
    await r.flush();
    clock.step(10_000);
    r.event(pod, "Warning", "BackOff", "Back-off restarting failed container");
    clock.step(5_000);
    r.event(pod, "Warning", "BackOff", "Back-off restarting failed container");
    await r.flush();
    const all = events();
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ count: 3, firstTimestamp: "2024-05-06T07:08:09Z", lastTimestamp: "2024-05-06T07:08:24Z" });
    expect(server.requestsTo("POST", "/events")).toHaveLength(1);
    // The two repeats arrived while one write was pending, so they folded into one PATCH.
    const patches = server.requestsTo("PATCH", "/events/");
    expect(patches).toHaveLength(1);
    expect(patches[0]!.headers["content-type"]).toBe("application/merge-patch+json");
  });

  it("creates a separate event for a different message, type or object, and after the window", async () => {
    const r = recorder({ aggregationWindowMs: 60_000 });
    r.event(pod, "Warning", "Failed", "a");
    r.event(pod, "Warning", "Failed", "b");
    r.event(pod, "Normal", "Failed", "a");
    r.event({ ...pod, metadata: { ...pod.metadata, name: "other" } }, "Warning", "Failed", "a");
    await r.flush();
    expect(events()).toHaveLength(4);
    clock.step(60_001);
    r.event(pod, "Warning", "Failed", "a");
    await r.flush();
    expect(events()).toHaveLength(5);
  });

  it("tells apart events whose fields only run together the same way, and an absent field from an empty one", async () => {
    const r = recorder();
    const ref = { kind: "Pod", namespace: "shop", name: "web", uid: "uid-1", apiVersion: "v1" };
    r.event({ ...ref, fieldPath: "spec.containers{a}" }, "Warning", "Failed", "b");
    r.event({ ...ref, fieldPath: "spec.containers{a}b" }, "Warning", "Failed", "");
    r.event({ ...ref, fieldPath: "" }, "Warning", "Failed", "x");
    r.event(ref, "Warning", "Failed", "x");
    r.event({ ...ref, name: "we", namespace: "bshop" }, "Warning", "Failed", "x");
    r.event({ ...ref, fieldPath: "spec.containers{a}" }, "Warning", "Failed", "b");
    await r.flush();
    // In the store's order: by namespace, then name.
    expect(events().map((e) => [e.involvedObject.namespace, e.involvedObject.name, e.involvedObject.fieldPath, e.message, e.count])).toEqual([
      ["bshop", "we", undefined, "x", 1],
      ["shop", "web", "spec.containers{a}", "b", 2],
      ["shop", "web", "spec.containers{a}b", "", 1],
      ["shop", "web", "", "x", 1],
      ["shop", "web", undefined, "x", 1],
    ]);
  });

  it("re-creates an aggregated event that expired on the server", async () => {
    const r = recorder();
    r.event(pod, "Normal", "Pulling", "Pulling image");
    await r.flush();
    const first = events()[0]!;
    server.remove(EVENTS, "shop", first.metadata.name!);
    r.event(pod, "Normal", "Pulling", "Pulling image");
    await r.flush();
    expect(events()).toEqual([expect.objectContaining({ metadata: expect.objectContaining({ name: first.metadata.name }) as unknown, count: 2 })]);
  });

  it("retries failed writes and never throws into the caller", async () => {
    const r = recorder({ clock: realClock, retryDelayMs: 1, maxAttempts: 3 });
    server.failNext({ method: "POST" }, { kind: "status", code: 500, reason: "InternalError" }, 2);
    expect(() => { r.event(pod, "Normal", "Started", "Started container"); }).not.toThrow();
    await r.flush();
    expect(events()).toHaveLength(1);
    expect(server.requestsTo("POST", "/events")).toHaveLength(3);

    server.failNext({ method: "POST" }, { kind: "reset" }, 3);
    r.event(pod, "Normal", "Killing", "Stopping container");
    await expect(r.flush()).resolves.toBeUndefined();
    expect(events()).toHaveLength(1);
  });

  it("drops events beyond the queue bound instead of growing without limit", async () => {
    const r = recorder({ maxQueue: 2 });
    for (let i = 0; i < 6; i++) r.event(pod, "Normal", `R${i}`, "m");
    await r.flush();
    // The worker starts after the synchronous burst: only the two that fit were queued.
    expect(events().map((e) => e.reason).sort()).toEqual(["R0", "R1"]);
  });

  it("combines similar events from the 10th distinct message on into one event whose count grows", async () => {
    const rs = { apiVersion: "apps/v1", kind: "ReplicaSet", metadata: { name: "web-1", namespace: "shop", uid: "uid-rs" } };
    const r = recorder({ component: "replicaset-controller" });
    for (let i = 0; i < 20; i++) r.event(rs, "Normal", "SuccessfulCreate", `Created pod: web-1-${i}`);
    r.event(rs, "Warning", "FailedCreate", "Error creating: quota");
    await r.flush();
    const created = events().filter((e) => e.reason === "SuccessfulCreate");
    const plain = created.filter((e) => !e.message.startsWith("(combined"));
    expect(plain.map((e) => e.message).sort()).toEqual(Array.from({ length: 9 }, (_, i) => `Created pod: web-1-${i}`).sort());
    const combined = created.filter((e) => e.message.startsWith("(combined"));
    expect(combined).toEqual([expect.objectContaining({ message: "(combined from similar events): Created pod: web-1-19", count: 11 })]);
    // Another reason is another group.
    expect(events().filter((e) => e.reason === "FailedCreate")).toHaveLength(1);
  });

  it("writes at most 25 events per object at once and one more every 5 minutes (spam filter)", async () => {
    const r = recorder();
    for (let i = 0; i < 40; i++) r.event(pod, "Normal", `Reason${i}`, "m");
    r.event(node, "Normal", "Other", "m");
    await r.flush();
    expect(events().filter((e) => e.involvedObject.name === "web")).toHaveLength(25);
    expect(events().filter((e) => e.involvedObject.name === "node-1")).toHaveLength(1);
    clock.step(299_000);
    r.event(pod, "Normal", "Late1", "m");
    await r.flush();
    expect(events().some((e) => e.reason === "Late1")).toBe(false);
    clock.step(1_000);
    r.event(pod, "Normal", "Late2", "m");
    await r.flush();
    expect(events().some((e) => e.reason === "Late2")).toBe(true);
    expect(server.requestsTo("POST", "/events")).toHaveLength(27);
  });

  it("ignores events after stop and bad input without throwing", async () => {
    const r = recorder();
    r.event({ metadata: {} }, "Normal", "NoName", "m");
    await r.stop();
    r.event(pod, "Normal", "Late", "m");
    await r.flush();
    expect(events()).toEqual([]);
  });
});
