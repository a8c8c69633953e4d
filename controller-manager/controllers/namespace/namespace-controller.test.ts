import { describe, expect, it } from "vitest";
import { crdResource, customResourceInfo, type CustomResourceDefinitionShape } from "../../../api/custom-resources.js";
import type { KubeObject } from "../../../api/meta.js";
import { newConfigMap, newNamespace, newPod, newService } from "../../../api/testing/builders.js";
import type { Namespace } from "../../../api/types/index.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import { FakeClient, resourceOf } from "../../../client/testing/fake-client.js";
import { NAMESPACED_RESOURCES, NAMESPACES, NamespaceController } from "./namespace-controller.js";

const PODS = resourceOf("", "pods");
const CONFIGMAPS = resourceOf("", "configmaps");

function setup(): { clock: FakeClock; fake: FakeClient; controller: NamespaceController } {
  const clock = new FakeClock();
  const ns = newNamespace("demo");
  ns.spec = { finalizers: ["kubernetes"] };
  const fake = new FakeClient({
    clock,
    objects: [
      ns,
      newNamespace("other"),
      newConfigMap("settings", { namespace: "demo" }),
      newService("web", { namespace: "demo" }),
      newPod("pending", { namespace: "demo" }),
      newPod("running", { namespace: "demo", nodeName: "n1" }),
      newConfigMap("keep", { namespace: "other" }),
    ],
  });
  const controller = new NamespaceController({ client: fake, namespaces: fake.informer<Namespace>(NAMESPACES), clock });
  return { clock, fake, controller };
}

describe("NamespaceController", () => {
  it("empties only stored resources (a namespaced review is computed and cannot be deleted)", () => {
    const names = NAMESPACED_RESOURCES.map((r) => `${r.group}/${r.resource}`);
    expect(names).toContain("/pods");
    expect(names).not.toContain("authorization.k8s.io/localsubjectaccessreviews");
  });

  it("ignores namespaces that are not being deleted", async () => {
    const { fake, controller } = setup();
    expect(controller.queue.len()).toBe(0);
    expect(await controller.sync("demo")).toEqual({ done: true });
    expect(fake.writes()).toEqual([]);
  });

  it("deletes the content, waits for terminating pods, then finalizes and removes the namespace", async () => {
    const { clock, fake, controller } = setup();
    await fake.delete(NAMESPACES, undefined, "demo");
    expect(controller.queue.len()).toBe(1);

    const first = await controller.sync("demo");
    expect(first).toEqual({ done: false, requeueAfterMs: 16_000, remaining: ["pods=1"] });
    expect(fake.actionsFor("deletecollection").map((a) => [a.group, a.resource])).toEqual(NAMESPACED_RESOURCES.map((r) => [r.group, r.resource]));
    expect(fake.actionsFor("deletecollection").every((a) => a.namespace === "demo" && a.deleteOptions?.propagationPolicy === "Background")).toBe(true);
    expect(fake.objects(CONFIGMAPS, "demo")).toEqual([]);
    expect(fake.objects(CONFIGMAPS, "other")).toHaveLength(1);
    expect(fake.objects(PODS, "demo").map((p) => p.metadata.name)).toEqual(["running"]);
    const ns = fake.object<Namespace>(NAMESPACES, undefined, "demo")!;
    expect(ns.status?.phase).toBe("Terminating");
    expect(ns.status?.conditions?.find((c) => c.type === "NamespaceContentRemaining")).toMatchObject({ status: "True", reason: "SomeResourcesRemain", message: "Some resources are remaining: pods. has 1 resource instances" });
    expect(fake.actionsFor("update", "namespaces", "finalize")).toEqual([]);

    // The kubelet finishes the pod.
    clock.step(5_000);
    fake.remove(PODS, "demo", "running");
    fake.clearActions();
    expect(await controller.sync("demo")).toEqual({ done: true });
    const finalize = fake.actionsFor("update", "namespaces", "finalize")[0]!;
    expect(finalize).toMatchObject({ resource: "namespaces", name: "demo", subresource: "finalize" });
    expect(finalize.object).toMatchObject({ spec: { finalizers: [] } });
    // Finalizing leaves the namespace (as kubelab's apiserver does); a second DELETE removes it.
    expect(fake.actionsFor("delete")).toEqual([expect.objectContaining({ resource: "namespaces", name: "demo" })]);
    expect(fake.object(NAMESPACES, undefined, "demo")).toBeUndefined();
  });

  it("keeps other finalizers and leaves the namespace to them", async () => {
    const { fake, controller } = setup();
    const ns = fake.object<Namespace>(NAMESPACES, undefined, "demo")!;
    ns.spec = { finalizers: ["kubernetes", "example.com/audit"] };
    fake.seed(ns);
    for (const pod of fake.objects(PODS, "demo")) fake.remove(PODS, "demo", pod.metadata.name ?? "");
    await fake.delete(NAMESPACES, undefined, "demo");
    expect(await controller.sync("demo")).toEqual({ done: true });
    expect((fake.object<Namespace>(NAMESPACES, undefined, "demo")!).spec?.finalizers).toEqual(["example.com/audit"]);
    expect(fake.actionsFor("delete")).toEqual([expect.objectContaining({ name: "demo" })]);
  });

  it("retries with backoff when a delete fails, reporting it in the conditions", async () => {
    const { fake, controller } = setup();
    await fake.delete(NAMESPACES, undefined, "demo");
    fake.failNext("deletecollection", "configmaps", new Error("etcd timeout"));
    await expect(controller.sync("demo")).rejects.toThrow("configmaps: etcd timeout");
    const ns = fake.object<Namespace>(NAMESPACES, undefined, "demo")!;
    expect(ns.status?.conditions?.find((c) => c.type === "NamespaceDeletionContentFailure")?.status).toBe("True");
  });

  it("falls back to per-object deletes when a collection delete is not allowed", async () => {
    const { fake, controller } = setup();
    await fake.delete(NAMESPACES, undefined, "demo");
    const { StatusError } = await import("../../../api/errors.js");
    fake.failNext("deletecollection", "configmaps", new StatusError(405, "MethodNotAllowed", "no"));
    await controller.sync("demo");
    expect(fake.actionsFor("delete", "configmaps").map((a) => a.name)).toEqual(["settings"]);
  });

  it("empties the namespaced custom resources of Established CRDs, not those of others", async () => {
    const { clock, fake } = setup();
    const crd = (name: string, scope: string, established: boolean): KubeObject & CustomResourceDefinitionShape => ({
      apiVersion: "apiextensions.k8s.io/v1",
      kind: "CustomResourceDefinition",
      metadata: { name: `${name}s.example.com` },
      spec: { group: "example.com", scope, names: { plural: `${name}s`, kind: name[0]!.toUpperCase() + name.slice(1) }, versions: [{ name: "v1", served: true, storage: true }] },
      status: { conditions: [{ type: "Established", status: established ? "True" : "False" }] },
    });
    const crds = [crd("widget", "Namespaced", true), crd("gadget", "Namespaced", false), crd("cluster", "Cluster", true)];
    for (const c of crds) await fake.create(crdResource(), undefined, c);
    const [widgets, gadgets] = crds.map((c) => customResourceInfo(c, { name: "v1", served: true, storage: true }));
    await fake.create(widgets!, "demo", { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w1" } });
    await fake.create(widgets!, "other", { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w2" } });
    await fake.create(gadgets!, "demo", { apiVersion: "example.com/v1", kind: "Gadget", metadata: { name: "g1" } });
    const controller = new NamespaceController({ client: fake, namespaces: fake.informer<Namespace>(NAMESPACES), crds: fake.informer(crdResource()), clock });
    for (const pod of fake.objects(PODS, "demo")) fake.remove(PODS, "demo", pod.metadata.name ?? "");
    await fake.delete(NAMESPACES, undefined, "demo");
    fake.clearActions();
    expect(await controller.sync("demo")).toEqual({ done: true });
    const custom = fake.actionsFor("deletecollection").filter((a) => a.group === "example.com");
    expect(custom.map((a) => [a.resource, a.namespace])).toEqual([["widgets", "demo"]]);
    expect(fake.objects(widgets!, "demo")).toEqual([]);
    expect(fake.objects(widgets!, "other")).toHaveLength(1);
    expect(fake.objects(gadgets!, "demo")).toHaveLength(1);
  });
});
