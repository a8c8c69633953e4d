import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../../api/meta.js";
import { findResource } from "../../../api/resources.js";
import { newPod } from "../../../api/testing/builders.js";
import type { ResourceQuota } from "../../../api/types/index.js";
import { drainQueue } from "../../../client/testing/drain-queue.js";
import { FakeClient } from "../../../client/testing/fake-client.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import { RESOURCE_QUOTAS, ResourceQuotaController } from "./resourcequota-controller.js";

const PODS = findResource("", "v1", "pods")!;

function quota(name: string, hard: Record<string, string>, scopes?: string[]): ResourceQuota {
  return { apiVersion: "v1", kind: "ResourceQuota", metadata: { name, namespace: "ns" }, spec: { hard, ...(scopes ? { scopes } : {}) } };
}

function setup(objects: KubeObject[]) {
  const fake = new FakeClient({ clock: new FakeClock(), objects });
  const controller = new ResourceQuotaController({ client: fake, quotas: fake.informer<ResourceQuota>(RESOURCE_QUOTAS), monitorFor: (info) => fake.informer(info) });
  return { fake, controller, drain: () => drainQueue(controller.queue, (key) => controller.sync(key)), status: (name: string) => fake.object<ResourceQuota>(RESOURCE_QUOTAS, "ns", name)?.status };
}

describe("ResourceQuotaController", () => {
  it("sets status.hard and counts what the namespace's objects use, finished pods and other namespaces left out", async () => {
    const { drain, status } = setup([
      quota("q", { pods: "10", "requests.cpu": "2", "limits.memory": "1Gi", "count/configmaps": "3" }),
      newPod("a", { namespace: "ns", requests: { cpu: "250m" }, limits: { memory: "128Mi" } }),
      newPod("b", { namespace: "ns", requests: { cpu: "500m" } }),
      newPod("done", { namespace: "ns", requests: { cpu: "1" }, phase: "Succeeded" }),
      newPod("elsewhere", { namespace: "other", requests: { cpu: "1" } }),
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm", namespace: "ns" } },
    ]);
    await drain();
    expect(status("q")).toEqual({
      hard: { pods: "10", "requests.cpu": "2", "limits.memory": "1Gi", "count/configmaps": "3" },
      used: { "count/configmaps": "1", "limits.memory": "128Mi", pods: "2", "requests.cpu": "750m" },
    });
  });

  it("gives units back when a counted object is deleted or a pod finishes", async () => {
    const { fake, drain, status } = setup([quota("q", { pods: "10" }), newPod("a", { namespace: "ns" }), newPod("b", { namespace: "ns" }), newPod("c", { namespace: "ns" })]);
    await drain();
    expect(status("q")?.used).toEqual({ pods: "3" });
    fake.remove(PODS, "ns", "a");
    await drain();
    expect(status("q")?.used).toEqual({ pods: "2" });
    fake.seed(newPod("b", { namespace: "ns", phase: "Failed" }));
    await drain();
    expect(status("q")?.used).toEqual({ pods: "1" });
  });

  it("counts only the pods a scoped quota matches, and writes nothing when the status is current", async () => {
    const { fake, drain, status } = setup([quota("be", { pods: "5" }, ["BestEffort"]), newPod("plain", { namespace: "ns" }), newPod("sized", { namespace: "ns", requests: { cpu: "1" } })]);
    await drain();
    expect(status("be")?.used).toEqual({ pods: "1" });
    const writes = fake.actions.filter((a) => a.verb === "update").length;
    await drain();
    fake.seed({ ...fake.object<ResourceQuota>(RESOURCE_QUOTAS, "ns", "be")!, metadata: { name: "be", namespace: "ns", labels: { x: "y" } } });
    await drain();
    expect(fake.actions.filter((a) => a.verb === "update").length).toBe(writes);
  });
});
