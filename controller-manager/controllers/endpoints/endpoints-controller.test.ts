import { describe, expect, it } from "vitest";
import { newPod, newService } from "../../../api/testing/builders.js";
import type { Endpoints, Pod, Service } from "../../../api/types/index.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import { desiredSubsets, ENDPOINTS, EndpointsController, PODS, SERVICES } from "./endpoints-controller.js";
import { drainQueue } from "../../../client/testing/drain-queue.js";
import { FakeClient } from "../../../client/testing/fake-client.js";

function setup(...objects: (Pod | Service | Endpoints)[]): { fake: FakeClient; controller: EndpointsController } {
  const fake = new FakeClient({ clock: new FakeClock(), objects });
  const controller = new EndpointsController({
    client: fake,
    services: fake.informer<Service>(SERVICES),
    pods: fake.informer<Pod>(PODS),
    endpoints: fake.informer<Endpoints>(ENDPOINTS),
  });
  return { fake, controller };
}

const readyPod = (name: string, ip: string, labels: Record<string, string> = { app: "web" }): Pod => newPod(name, { labels, ready: true, podIP: ip, nodeName: "n1" });
const unreadyPod = (name: string, ip: string): Pod => newPod(name, { labels: { app: "web" }, phase: "Running", ready: false, podIP: ip, nodeName: "n1" });

describe("EndpointsController", () => {
  it("lists ready pods in addresses and unready ones in notReadyAddresses, sorted by IP", async () => {
    const { fake, controller } = setup(
      newService("web", { labels: { tier: "front" }, selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }] }),
      readyPod("b", "10.244.0.12"),
      readyPod("a", "10.244.0.9"),
      unreadyPod("c", "10.244.0.5"),
      newPod("no-ip", { labels: { app: "web" } }),
      readyPod("other", "10.244.0.7", { app: "other" }),
    );
    await controller.sync("default/web");

    const created = fake.actionsFor("create", "endpoints");
    expect(created).toHaveLength(1);
    const ep = fake.object<Endpoints>(ENDPOINTS, "default", "web")!;
    expect(ep.metadata.labels).toEqual({ tier: "front" });
    expect(ep.subsets).toHaveLength(1);
    const subset = ep.subsets![0]!;
    expect(subset.addresses?.map((a) => a.ip)).toEqual(["10.244.0.9", "10.244.0.12"]);
    expect(subset.notReadyAddresses?.map((a) => a.ip)).toEqual(["10.244.0.5"]);
    expect(subset.ports).toEqual([{ name: "http", port: 8080, protocol: "TCP" }]);
    const pod = fake.object(PODS, "default", "a")!;
    expect(subset.addresses![0]).toEqual({ ip: "10.244.0.9", nodeName: "n1", targetRef: { kind: "Pod", namespace: "default", name: "a", uid: pod.metadata.uid } });
  });

  it("stamps the Endpoints with the last-change-trigger-time: the Service's creation, then the pod readiness change", async () => {
    const svc = newService("web", { selector: { app: "web" } });
    svc.metadata.creationTimestamp = "2026-01-01T00:00:00Z";
    const { fake, controller } = setup(svc, readyPod("a", "10.244.0.9"));
    await controller.sync("default/web");
    const annotation = (): string | undefined => fake.object<Endpoints>(ENDPOINTS, "default", "web")!.metadata.annotations?.["endpoints.kubernetes.io/last-change-trigger-time"];
    expect(annotation()).toBe("2026-01-01T00:00:00Z");
    const a = fake.object<Pod>(PODS, "default", "a")!;
    a.status!.conditions = [{ type: "Ready", status: "False", lastTransitionTime: "2026-01-01T00:01:02Z" }];
    fake.seed(a);
    await drainQueue(controller.queue, (key) => controller.sync(key));
    await controller.sync("default/web");
    expect(annotation()).toBe("2026-01-01T00:01:02Z");
  });

  it("writes nothing when the endpoints are already right", async () => {
    const { fake, controller } = setup(newService("web", { selector: { app: "web" } }), readyPod("a", "10.244.0.9"));
    await controller.sync("default/web");
    fake.clearActions();
    await controller.sync("default/web");
    expect(fake.writes()).toEqual([]);
  });

  it("resolves a named targetPort per pod and packs each distinct address set into one subset", () => {
    const svc = newService("web", {
      selector: { app: "web" },
      ports: [
        { name: "http", port: 80, targetPort: "web", protocol: "TCP" },
        { name: "metrics", port: 9090, targetPort: 9090, protocol: "TCP" },
      ],
    });
    const withPort = (name: string, ip: string, containerPort: number): Pod => {
      const pod = readyPod(name, ip);
      pod.spec!.containers[0]!.ports = [{ name: "web", containerPort, protocol: "TCP" }];
      return pod;
    };
    const pods = [withPort("a", "10.0.0.1", 8080), withPort("b", "10.0.0.2", 8080), withPort("c", "10.0.0.3", 3000), readyPod("d", "10.0.0.4")];
    const subsets = desiredSubsets(svc, pods);
    expect(subsets.map((s) => ({ ips: s.addresses?.map((a) => a.ip), ports: s.ports?.map((p) => `${p.name}:${p.port}`) }))).toEqual([
      { ips: ["10.0.0.1", "10.0.0.2"], ports: ["http:8080"] },
      { ips: ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"], ports: ["metrics:9090"] },
      { ips: ["10.0.0.3"], ports: ["http:3000"] },
    ]);
  });

  it("moves a pod in and out of the endpoints when its labels change", async () => {
    const { fake, controller } = setup(newService("web", { selector: { app: "web" } }), readyPod("a", "10.0.0.1"), readyPod("b", "10.0.0.2", { app: "other" }));
    await controller.sync("default/web");
    expect((fake.object<Endpoints>(ENDPOINTS, "default", "web")!).subsets![0]!.addresses!.map((a) => a.ip)).toEqual(["10.0.0.1"]);

    // b gains the label: the pod handler enqueues the service, and sync adds it.
    const b = fake.object(PODS, "default", "b")!;
    b.metadata.labels = { app: "web" };
    fake.seed(b);
    expect(controller.queue.len()).toBe(1);
    await drainQueue(controller.queue, (key) => controller.sync(key));
    expect((fake.object<Endpoints>(ENDPOINTS, "default", "web")!).subsets![0]!.addresses!.map((a) => a.ip)).toEqual(["10.0.0.1", "10.0.0.2"]);

    // a loses it: its old labels still matched, so the service is enqueued and a is dropped.
    const a = fake.object(PODS, "default", "a")!;
    a.metadata.labels = { app: "gone" };
    fake.seed(a);
    await drainQueue(controller.queue, (key) => controller.sync(key));
    expect((fake.object<Endpoints>(ENDPOINTS, "default", "web")!).subsets![0]!.addresses!.map((a) => a.ip)).toEqual(["10.0.0.2"]);
  });

  it("moves a pod that turns unready to notReadyAddresses, and keeps it in addresses with publishNotReadyAddresses", async () => {
    const svc = newService("web", { selector: { app: "web" } });
    const { fake, controller } = setup(svc, readyPod("a", "10.0.0.1"));
    await controller.sync("default/web");
    const a = fake.object<Pod>(PODS, "default", "a")!;
    a.status!.conditions = [{ type: "Ready", status: "False" }];
    fake.seed(a);
    await drainQueue(controller.queue, (key) => controller.sync(key));
    const ep = fake.object<Endpoints>(ENDPOINTS, "default", "web")!;
    expect(ep.subsets![0]!.addresses).toBeUndefined();
    expect(ep.subsets![0]!.notReadyAddresses!.map((x) => x.ip)).toEqual(["10.0.0.1"]);

    svc.spec!.publishNotReadyAddresses = true;
    expect(desiredSubsets(svc, [a])[0]!.addresses!.map((x) => x.ip)).toEqual(["10.0.0.1"]);
  });

  it("leaves out terminating and finished pods", () => {
    const svc = newService("web", { selector: { app: "web" } });
    const terminating = readyPod("t", "10.0.0.1");
    terminating.metadata.deletionTimestamp = "2024-01-01T00:00:00Z";
    const done = newPod("d", { labels: { app: "web" }, podIP: "10.0.0.2", restartPolicy: "Never", phase: "Succeeded" });
    expect(desiredSubsets(svc, [terminating, done])).toEqual([]);
  });

  it("never touches services without a selector, nor the apiserver's own endpoints", async () => {
    const kubernetes = newService("kubernetes", { ports: [443] });
    delete kubernetes.spec!.selector;
    const apiserverEndpoints: Endpoints = { apiVersion: "v1", kind: "Endpoints", metadata: { name: "kubernetes", namespace: "default" }, subsets: [{ addresses: [{ ip: "172.30.0.1" }], ports: [{ name: "https", port: 6443, protocol: "TCP" }] }] };
    const { fake, controller } = setup(kubernetes, apiserverEndpoints);
    await controller.sync("default/kubernetes");
    fake.remove(SERVICES, "default", "kubernetes");
    await controller.sync("default/kubernetes");
    expect(fake.writes()).toEqual([]);
  });

  it("deletes the endpoints of a deleted service", async () => {
    const { fake, controller } = setup(newService("web", { selector: { app: "web" } }), readyPod("a", "10.0.0.1"));
    await controller.sync("default/web");
    fake.remove(SERVICES, "default", "web");
    await drainQueue(controller.queue, (key) => controller.sync(key));
    expect(fake.actionsFor("delete", "endpoints").map((a) => a.name)).toEqual(["web"]);
    expect(fake.object(ENDPOINTS, "default", "web")).toBeUndefined();
  });

  it("recreates endpoints someone deleted", async () => {
    const { fake, controller } = setup(newService("web", { selector: { app: "web" } }), readyPod("a", "10.0.0.1"));
    await controller.sync("default/web");
    fake.remove(ENDPOINTS, "default", "web");
    await drainQueue(controller.queue, (key) => controller.sync(key));
    expect(fake.object(ENDPOINTS, "default", "web")).toBeDefined();
  });

  it("retries with backoff when a write fails", async () => {
    const { fake, controller } = setup(newService("web", { selector: { app: "web" } }), readyPod("a", "10.0.0.1"));
    fake.failNext("create", "endpoints", new Error("connection refused"));
    await expect(controller.sync("default/web")).rejects.toThrow("connection refused");
    await controller.sync("default/web");
    expect(fake.object(ENDPOINTS, "default", "web")).toBeDefined();
  });

  it("labels headless services' endpoints and keeps portless addresses", () => {
    const svc = newService("db", { selector: { app: "web" }, clusterIP: "None" });
    svc.spec!.ports = [];
    const subsets = desiredSubsets(svc, [readyPod("a", "10.0.0.1")]);
    expect(subsets).toEqual([{ addresses: [expect.objectContaining({ ip: "10.0.0.1" })] }]);
  });
});
