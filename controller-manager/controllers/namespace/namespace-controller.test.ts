import { describe, expect, it } from "vitest";
import { newConfigMap, newNamespace, newPod, newService } from "../../../api/testing/builders.js";
import type { Namespace } from "../../../api/types/index.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import { FakeCluster, resourceOf } from "../endpoints/testing/fake-cluster.js";
import { NAMESPACED_RESOURCES, NAMESPACES, NamespaceController } from "./namespace-controller.js";

const PODS = resourceOf("", "pods");
const CONFIGMAPS = resourceOf("", "configmaps");

function setup(): { clock: FakeClock; cluster: FakeCluster; controller: NamespaceController } {
  const clock = new FakeClock();
  const cluster = new FakeCluster(clock);
  const ns = newNamespace("demo");
  ns.spec = { finalizers: ["kubernetes"] };
  cluster.seed(
    ns,
    newNamespace("other"),
    newConfigMap("settings", { namespace: "demo" }),
    newService("web", { namespace: "demo" }),
    newPod("pending", { namespace: "demo" }),
    newPod("running", { namespace: "demo", nodeName: "n1" }),
    newConfigMap("keep", { namespace: "other" }),
  );
  const controller = new NamespaceController({ client: cluster.client, namespaces: cluster.informer<Namespace>(NAMESPACES), clock });
  return { clock, cluster, controller };
}

describe("NamespaceController", () => {
  it("ignores namespaces that are not being deleted", async () => {
    const { cluster, controller } = setup();
    expect(controller.queue.len()).toBe(0);
    expect(await controller.sync("demo")).toEqual({ done: true });
    expect(cluster.writes()).toEqual([]);
  });

  it("deletes the content, waits for terminating pods, then finalizes and removes the namespace", async () => {
    const { clock, cluster, controller } = setup();
    await cluster.client.delete(NAMESPACES, undefined, "demo");
    expect(controller.queue.len()).toBe(1);

    const first = await controller.sync("demo");
    expect(first).toEqual({ done: false, requeueAfterMs: 16_000, remaining: ["pods=1"] });
    expect(cluster.writes("deleteCollection").map((a) => a.resource)).toEqual(NAMESPACED_RESOURCES.map((r) => (r.group ? `${r.resource}.${r.group}` : r.resource)));
    expect(cluster.writes("deleteCollection").every((a) => a.namespace === "demo" && a.deleteOptions?.propagationPolicy === "Background")).toBe(true);
    expect(cluster.all(CONFIGMAPS, "demo")).toEqual([]);
    expect(cluster.all(CONFIGMAPS, "other")).toHaveLength(1);
    expect(cluster.all(PODS, "demo").map((p) => p.metadata.name)).toEqual(["running"]);
    const ns = cluster.get(NAMESPACES, undefined, "demo") as Namespace;
    expect(ns.status?.phase).toBe("Terminating");
    expect(ns.status?.conditions?.find((c) => c.type === "NamespaceContentRemaining")).toMatchObject({ status: "True", reason: "SomeResourcesRemain", message: "Some resources are remaining: pods. has 1 resource instances" });
    expect(cluster.writes("raw")).toEqual([]);

    // The kubelet finishes the pod.
    clock.step(5_000);
    cluster.remove(PODS, "demo", "running");
    cluster.clearActions();
    expect(await controller.sync("demo")).toEqual({ done: true });
    const finalize = cluster.writes("raw")[0]!;
    expect(finalize.resource).toBe("PUT /api/v1/namespaces/demo/finalize");
    expect(finalize.body).toMatchObject({ spec: { finalizers: [] } });
    // Finalizing leaves the namespace (as kubelab's apiserver does); a second DELETE removes it.
    expect(cluster.writes("delete")).toEqual([expect.objectContaining({ resource: "namespaces", name: "demo" })]);
    expect(cluster.get(NAMESPACES, undefined, "demo")).toBeUndefined();
  });

  it("keeps other finalizers and leaves the namespace to them", async () => {
    const { cluster, controller } = setup();
    const ns = cluster.get(NAMESPACES, undefined, "demo") as Namespace;
    ns.spec = { finalizers: ["kubernetes", "example.com/audit"] };
    cluster.set(ns);
    for (const pod of cluster.all(PODS, "demo")) cluster.remove(PODS, "demo", pod.metadata.name ?? "");
    await cluster.client.delete(NAMESPACES, undefined, "demo");
    expect(await controller.sync("demo")).toEqual({ done: true });
    expect((cluster.get(NAMESPACES, undefined, "demo") as Namespace).spec?.finalizers).toEqual(["example.com/audit"]);
    expect(cluster.writes("delete")).toEqual([expect.objectContaining({ name: "demo" })]);
  });

  it("retries with backoff when a delete fails, reporting it in the conditions", async () => {
    const { cluster, controller } = setup();
    await cluster.client.delete(NAMESPACES, undefined, "demo");
    cluster.failNext("deleteCollection", "configmaps", new Error("etcd timeout"));
    await expect(controller.sync("demo")).rejects.toThrow("configmaps: etcd timeout");
    const ns = cluster.get(NAMESPACES, undefined, "demo") as Namespace;
    expect(ns.status?.conditions?.find((c) => c.type === "NamespaceDeletionContentFailure")?.status).toBe("True");
  });

  it("falls back to per-object deletes when a collection delete is not allowed", async () => {
    const { cluster, controller } = setup();
    await cluster.client.delete(NAMESPACES, undefined, "demo");
    const { StatusError } = await import("../../../api/errors.js");
    cluster.failNext("deleteCollection", "configmaps", new StatusError(405, "MethodNotAllowed", "no"));
    await controller.sync("demo");
    expect(cluster.writes("delete", "configmaps").map((a) => a.name)).toEqual(["settings"]);
  });
});
