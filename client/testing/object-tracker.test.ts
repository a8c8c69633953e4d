import { describe, expect, it } from "vitest";
import type { KubeObject, WatchEventType } from "../../api/meta.js";
import { RESOURCES } from "../../api/resources.js";
import { newDeployment, newNamespace, newPod } from "../../api/testing/builders.js";
import { FakeClock } from "../../component-base/testing/fake-clock.js";
import { ObjectTracker, parseResourcePath } from "./object-tracker.js";

const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;
const NAMESPACES = RESOURCES.find((r) => r.group === "" && r.resource === "namespaces")!;
const DEPLOYMENTS = RESOURCES.find((r) => r.group === "apps" && r.resource === "deployments")!;

function watchLog(tracker: ObjectTracker, opts: Parameters<ObjectTracker["watch"]>[2]): { log: string[]; stop: () => void } {
  const log: string[] = [];
  const stop = tracker.watch(PODS, "default", opts, (type: WatchEventType, obj: KubeObject) => log.push(`${type} ${obj.metadata.name ?? ""}`));
  return { log, stop };
}

describe("ObjectTracker", () => {
  it("bumps the resourceVersion on every write and refuses stale updates", () => {
    const tracker = new ObjectTracker();
    const created = tracker.create(PODS, "default", newPod("web"));
    expect(created.metadata).toMatchObject({ namespace: "default", uid: "uid-1", resourceVersion: "2" });
    const updated = tracker.update(PODS, "default", { ...created, metadata: { ...created.metadata, labels: { a: "b" } } });
    expect(updated.metadata.resourceVersion).toBe("3");
    expect(() => tracker.update(PODS, "default", created)).toThrow(expect.objectContaining({ reason: "Conflict" }) as Error);
    expect(() => tracker.create(PODS, "default", newPod("web"))).toThrow(expect.objectContaining({ reason: "AlreadyExists" }) as Error);
  });

  it("writes only status through the status subresource and keeps status on the main resource", () => {
    const tracker = new ObjectTracker();
    const pod = tracker.create(PODS, "default", newPod("web", { phase: "Pending" }));
    const withSpec = tracker.update(PODS, "default", { ...pod, spec: { containers: [], nodeName: "n1" }, status: { phase: "Running" } });
    expect(withSpec.status).toEqual(pod.status);
    const withStatus = tracker.update(PODS, "default", { ...withSpec, spec: {}, status: { phase: "Running" } }, "status");
    expect(withStatus.status).toEqual({ phase: "Running" });
    expect(withStatus.spec).toEqual(withSpec.spec);
  });

  it("applies the three patch kinds with api/patch, strategic merge by key", () => {
    const tracker = new ObjectTracker();
    tracker.create(PODS, "default", newPod("web", { labels: { app: "web", old: "x" } }));
    tracker.patch(PODS, "default", "web", "merge", { metadata: { labels: { old: null, v: "1" } } });
    tracker.patch(PODS, "default", "web", "json", [{ op: "replace", path: "/metadata/labels/v", value: "2" }]);
    const patched = tracker.patch(PODS, "default", "web", "strategic", { spec: { containers: [{ name: "app", image: "nginx" }] } });
    expect(patched.metadata.labels).toEqual({ app: "web", v: "2" });
    expect((patched.spec as { containers: { name: string; image: string }[] }).containers).toEqual([{ name: "app", image: "nginx" }]);
  });

  it("starts workloads at generation 1 and bumps it when spec changes", () => {
    const tracker = new ObjectTracker();
    const d = tracker.create(DEPLOYMENTS, "default", newDeployment("web"));
    expect(d.metadata.generation).toBe(1);
    expect(tracker.patch(DEPLOYMENTS, "default", "web", "merge", { metadata: { labels: { a: "b" } } }).metadata.generation).toBe(1);
    expect(tracker.patch(DEPLOYMENTS, "default", "web", "merge", { spec: { replicas: 5 } }).metadata.generation).toBe(2);
  });

  it("keeps finalized objects until their last finalizer goes, and deletes bound pods gracefully", () => {
    const clock = new FakeClock(Date.parse("2024-01-01T00:00:00Z"));
    const tracker = new ObjectTracker({ clock });
    tracker.create(PODS, "default", { ...newPod("held"), metadata: { name: "held", finalizers: ["example.com/x"] } });
    expect(tracker.delete(PODS, "default", "held").removed).toBe(false);
    expect(tracker.get(PODS, "default", "held")?.metadata.deletionTimestamp).toBe("2024-01-01T00:00:00Z");
    tracker.patch(PODS, "default", "held", "merge", { metadata: { finalizers: null } });
    expect(tracker.get(PODS, "default", "held")).toBeUndefined();

    tracker.create(PODS, "default", newPod("bound", { nodeName: "n1" }));
    expect(tracker.delete(PODS, "default", "bound").object.metadata.deletionTimestamp).toBe("2024-01-01T00:00:30Z");
    expect(tracker.delete(PODS, "default", "bound", { gracePeriodSeconds: 0 }).removed).toBe(true);

    tracker.create(NAMESPACES, undefined, { ...newNamespace("demo"), spec: { finalizers: ["kubernetes"] } });
    expect(tracker.delete(NAMESPACES, undefined, "demo").object.status).toEqual({ phase: "Terminating" });
    tracker.update(NAMESPACES, undefined, { ...newNamespace("demo"), spec: { finalizers: [] } }, "finalize");
    expect(tracker.delete(NAMESPACES, undefined, "demo").removed).toBe(true);
  });

  it("lists by label and field selector", () => {
    const tracker = new ObjectTracker();
    tracker.add(newPod("a", { labels: { app: "web" }, nodeName: "n1" }));
    tracker.add(newPod("b", { labels: { app: "web" } }));
    tracker.add(newPod("c", { labels: { app: "db" }, nodeName: "n1" }));
    const names = (objs: KubeObject[]): (string | undefined)[] => objs.map((o) => o.metadata.name);
    expect(names(tracker.list(PODS, "default", { labelSelector: "app in (web)" }))).toEqual(["a", "b"]);
    expect(names(tracker.list(PODS, undefined, { labelSelector: { matchLabels: { app: "web" } }, fieldSelector: "spec.nodeName=n1" }))).toEqual(["a"]);
  });

  it("watches with synthetic ADDED from 0, selection transitions, and 410 after compaction", () => {
    const tracker = new ObjectTracker();
    tracker.add(newPod("a", { labels: { app: "web" } }));
    const from = tracker.resourceVersion();
    const { log, stop } = watchLog(tracker, { labelSelector: "app=web" });
    tracker.patch(PODS, "default", "a", "merge", { metadata: { labels: { app: "db" } } });
    tracker.patch(PODS, "default", "a", "merge", { metadata: { labels: { app: "web" } } });
    tracker.remove(PODS, "default", "a");
    stop();
    expect(log).toEqual(["ADDED a", "DELETED a", "ADDED a", "DELETED a"]);
    expect(watchLog(tracker, { resourceVersion: from }).log).toEqual(["MODIFIED a", "MODIFIED a", "DELETED a"]);
    tracker.compact();
    expect(() => watchLog(tracker, { resourceVersion: from })).toThrow(expect.objectContaining({ code: 410 }) as Error);
  });
});

describe("parseResourcePath", () => {
  it("names the resource, namespace, name and subresource of a path", () => {
    expect(parseResourcePath("/api/v1/namespaces/demo/pods/web/status")).toMatchObject({ info: PODS, namespace: "demo", name: "web", subresource: "status" });
    expect(parseResourcePath("/api/v1/namespaces/demo/finalize")).toMatchObject({ info: NAMESPACES, name: "demo", subresource: "finalize" });
    expect(parseResourcePath("/apis/apps/v1/deployments")).toMatchObject({ info: DEPLOYMENTS, namespace: undefined, name: undefined });
    expect(parseResourcePath("/healthz")).toBeUndefined();
  });
});
