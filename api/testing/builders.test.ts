import { describe, expect, it } from "vitest";
import { applyDefaults } from "../defaults.js";
import type { KubeObject } from "../meta.js";
import { RESOURCES } from "../resources.js";
import { validateObject } from "../validation/index.js";
import { newConfigMap, newDeployment, newNamespace, newNode, newPod, newReplicaSet, newService } from "./builders.js";

describe("test builders", () => {
  it.each<[string, KubeObject]>([
    ["a pod", newPod("web")],
    ["a running, ready pod", newPod("web", { ready: true, podIP: "10.244.1.5", nodeName: "node-1" })],
    ["a pod with resources", newPod("web", { requests: { cpu: "100m" }, limits: { cpu: "200m", memory: "64Mi" } })],
    ["a service", newService("web")],
    ["a multi-port NodePort service", newService("web", { type: "NodePort", ports: [80, 443] })],
    ["a deployment", newDeployment("web", { replicas: 3, image: "nginx:1.27" })],
    ["a replica set", newReplicaSet("web-abc", { selectorLabels: { app: "web", "pod-template-hash": "abc" } })],
    ["a node", newNode("node-1", { podCIDR: "10.244.1.0/24", unschedulable: true })],
    ["a namespace", newNamespace("team-a", { phase: "Active" })],
    ["a config map", newConfigMap("cfg", { data: { a: "1" } })],
  ])("builds %s that is valid once defaulted", (_what, obj) => {
    const [group] = (obj.apiVersion ?? "").includes("/") ? (obj.apiVersion ?? "").split("/") : [""];
    const info = RESOURCES.find((r) => r.group === group && r.kind === obj.kind);
    expect(info).toBeDefined();
    applyDefaults(info!, obj);
    expect(validateObject(info!, obj)).toEqual([]);
  });

  it("merges `meta` into metadata last", () => {
    const pod = newPod("web", { labels: { app: "web" }, meta: { uid: "u1", resourceVersion: "5", namespace: "prod" } });
    expect(pod.metadata).toEqual({ name: "web", namespace: "prod", labels: { app: "web" }, uid: "u1", resourceVersion: "5" });
  });

  it("marks a ready pod Running with ready containers", () => {
    const pod = newPod("web", { ready: true });
    expect(pod.status?.phase).toBe("Running");
    expect(pod.status?.conditions).toEqual([{ type: "Ready", status: "True" }]);
    expect(pod.status?.containerStatuses?.[0]).toMatchObject({ name: "app", ready: true, state: { running: {} } });
  });

  it("gives workloads a selector that matches their template", () => {
    const d = newDeployment("web");
    expect(d.spec?.selector?.matchLabels).toEqual(d.spec?.template?.metadata?.labels);
    expect(d.metadata.labels).toEqual({ app: "web" });
  });

  it("builds nodes in each readiness state", () => {
    expect(newNode("a").status?.conditions?.[0]?.status).toBe("True");
    expect(newNode("b", { ready: false }).status?.conditions?.[0]?.status).toBe("False");
    expect(newNode("c", { ready: "Unknown" }).status?.conditions?.[0]?.status).toBe("Unknown");
  });

  it("returns independent objects", () => {
    const labels = { app: "web" };
    const a = newPod("a", { labels });
    a.metadata.labels!.app = "changed";
    expect(labels.app).toBe("web");
  });
});
