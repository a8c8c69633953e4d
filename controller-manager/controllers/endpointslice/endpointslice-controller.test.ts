import { describe, expect, it } from "vitest";
import { newPod, newService } from "../../../api/testing/builders.js";
import type { EndpointSlice, Pod, Service } from "../../../api/types/index.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import { drainQueue } from "../../../client/testing/drain-queue.js";
import { FakeClient } from "../../../client/testing/fake-client.js";
import {
  createEndpointSliceController,
  createEndpointsliceController,
  ENDPOINT_SLICES,
  EndpointSliceController,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  PODS,
  SERVICE_NAME_LABEL,
  SERVICES,
  StaleCacheError,
} from "./endpointslice-controller.js";

function setup(objects: (Pod | Service | EndpointSlice)[], maxEndpointsPerSlice?: number): { fake: FakeClient; controller: EndpointSliceController; slices: () => EndpointSlice[] } {
  const fake = new FakeClient({ clock: new FakeClock(), objects });
  const controller = new EndpointSliceController({
    client: fake,
    services: fake.informer<Service>(SERVICES),
    pods: fake.informer<Pod>(PODS),
    slices: fake.informer<EndpointSlice>(ENDPOINT_SLICES),
    ...(maxEndpointsPerSlice ? { maxEndpointsPerSlice } : {}),
  });
  const slices = (): EndpointSlice[] => fake.objects<EndpointSlice>(ENDPOINT_SLICES, "default").filter((s) => s.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY);
  return { fake, controller, slices };
}

const pod = (name: string, ip: string, ready = true, labels: Record<string, string> = { app: "web" }): Pod => newPod(name, { labels, phase: "Running", ready, podIP: ip, nodeName: "n1" });
const ips = (slice: EndpointSlice): string[] => (slice.endpoints ?? []).map((e) => e.addresses[0]!).sort();
const sync = (c: EndpointSliceController): Promise<string[]> => drainQueue(c.queue, (key) => c.sync(key));

describe("EndpointSliceController", () => {
  it("exports the factory under both names the registry may use", () => {
    expect(createEndpointsliceController).toBe(createEndpointSliceController);
  });

  it("creates one owned, labelled slice with ready and unready endpoints and resolved ports", async () => {
    const svc = newService("web", { labels: { tier: "front" }, ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }] });
    const { fake, controller, slices } = setup([svc, pod("a", "10.0.0.1"), pod("b", "10.0.0.2", false)]);
    await controller.sync("default/web");

    expect(fake.actionsFor("create", "endpointslices")).toHaveLength(1);
    const [slice] = slices();
    const service = fake.object(SERVICES, "default", "web")!;
    expect(slice!.metadata.name).toMatch(/^web-.{5}$/);
    expect(slice!.metadata.labels).toEqual({ tier: "front", [SERVICE_NAME_LABEL]: "web", [MANAGED_BY_LABEL]: MANAGED_BY });
    expect(slice!.metadata.ownerReferences).toEqual([{ apiVersion: "v1", kind: "Service", name: "web", uid: service.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    expect(slice!.addressType).toBe("IPv4");
    expect(slice!.ports).toEqual([{ name: "http", port: 8080, protocol: "TCP" }]);
    const a = fake.object(PODS, "default", "a")!;
    expect(slice!.endpoints).toContainEqual({ addresses: ["10.0.0.1"], conditions: { ready: true, serving: true, terminating: false }, nodeName: "n1", targetRef: { kind: "Pod", namespace: "default", name: "a", uid: a.metadata.uid } });
    expect(slice!.endpoints!.find((e) => e.addresses[0] === "10.0.0.2")!.conditions).toEqual({ ready: false, serving: false, terminating: false });
  });

  it("is idempotent: a second sync writes nothing", async () => {
    const { fake, controller } = setup([newService("web"), pod("a", "10.0.0.1")]);
    await sync(controller);
    await controller.sync("default/web");
    fake.clearActions();
    await controller.sync("default/web");
    expect(fake.writes()).toEqual([]);
  });

  it("updates the slice in place when a pod turns unready, and marks terminating pods", async () => {
    const { fake, controller, slices } = setup([newService("web"), pod("a", "10.0.0.1"), pod("b", "10.0.0.2")]);
    await controller.sync("default/web");
    const name = slices()[0]!.metadata.name;
    const a = fake.object<Pod>(PODS, "default", "a")!;
    a.status!.conditions = [{ type: "Ready", status: "False" }];
    fake.seed(a);
    const b = fake.object<Pod>(PODS, "default", "b")!;
    b.metadata.deletionTimestamp = "2024-01-01T00:00:30Z";
    fake.seed(b);
    await sync(controller);
    const [slice] = slices();
    expect(slice!.metadata.name).toBe(name);
    expect(fake.actionsFor("create")).toHaveLength(1);
    const conds = Object.fromEntries(slice!.endpoints!.map((e): [string, unknown] => [e.addresses[0]!, e.conditions]));
    expect(conds).toEqual({ "10.0.0.1": { ready: false, serving: false, terminating: false }, "10.0.0.2": { ready: false, serving: true, terminating: true } });
  });

  it("stamps written slices with the last-change-trigger-time: the Service's creation, then the pod readiness change", async () => {
    const svc = newService("web");
    svc.metadata.creationTimestamp = "2026-01-01T00:00:00Z";
    const { fake, controller, slices } = setup([svc, pod("a", "10.0.0.1"), pod("b", "10.0.0.2")]);
    await controller.sync("default/web");
    expect(slices()[0]!.metadata.annotations).toEqual({ "endpoints.kubernetes.io/last-change-trigger-time": "2026-01-01T00:00:00Z" });
    const a = fake.object<Pod>(PODS, "default", "a")!;
    a.status!.conditions = [{ type: "Ready", status: "False", lastTransitionTime: "2026-01-01T00:01:02Z" }];
    fake.seed(a);
    await sync(controller);
    expect(slices()[0]!.metadata.annotations).toEqual({ "endpoints.kubernetes.io/last-change-trigger-time": "2026-01-01T00:01:02Z" });
  });

  it("keeps one slice per distinct port mapping of a named target port", async () => {
    const svc = newService("web", { ports: [{ name: "http", port: 80, targetPort: "web", protocol: "TCP" }] });
    const withPort = (name: string, ip: string, containerPort: number): Pod => {
      const p = pod(name, ip);
      p.spec!.containers[0]!.ports = [{ name: "web", containerPort, protocol: "TCP" }];
      return p;
    };
    const { controller, slices } = setup([svc, withPort("a", "10.0.0.1", 8080), withPort("b", "10.0.0.2", 9000), withPort("c", "10.0.0.3", 8080)]);
    await controller.sync("default/web");
    const byPort = Object.fromEntries(slices().map((s): [number, string[]] => [s.ports![0]!.port!, ips(s)]));
    expect(byPort).toEqual({ 8080: ["10.0.0.1", "10.0.0.3"], 9000: ["10.0.0.2"] });
  });

  it("splits large services into slices of at most maxEndpointsPerSlice and refills them", async () => {
    const pods = Array.from({ length: 5 }, (_, i) => pod(`p${i}`, `10.0.0.${i + 1}`));
    const { fake, controller, slices } = setup([newService("web"), ...pods], 2);
    await controller.sync("default/web");
    expect(slices().map((s) => s.endpoints!.length).sort()).toEqual([1, 2, 2]);

    fake.remove(PODS, "default", "p0");
    fake.remove(PODS, "default", "p1");
    fake.clearActions();
    await sync(controller);
    expect(slices().flatMap(ips).sort()).toEqual(["10.0.0.3", "10.0.0.4", "10.0.0.5"]);
    expect(slices().every((s) => s.endpoints!.length <= 2)).toBe(true);
    expect(fake.actionsFor("create")).toEqual([]);
  });

  it("moves a pod in and out when its labels change", async () => {
    const { fake, controller, slices } = setup([newService("web"), pod("a", "10.0.0.1"), pod("b", "10.0.0.2", true, { app: "other" })]);
    await controller.sync("default/web");
    const b = fake.object(PODS, "default", "b")!;
    b.metadata.labels = { app: "web" };
    fake.seed(b);
    await sync(controller);
    expect(slices().flatMap(ips)).toEqual(["10.0.0.1", "10.0.0.2"]);
    const a = fake.object(PODS, "default", "a")!;
    a.metadata.labels = {};
    fake.seed(a);
    await sync(controller);
    expect(slices().flatMap(ips)).toEqual(["10.0.0.2"]);
  });

  it("keeps a single empty placeholder slice when no pod matches", async () => {
    const { fake, controller, slices } = setup([newService("web"), pod("a", "10.0.0.1")]);
    await controller.sync("default/web");
    fake.remove(PODS, "default", "a");
    await sync(controller);
    expect(slices()).toHaveLength(1);
    expect(slices()[0]!.endpoints).toEqual([]);
    expect(slices()[0]!.ports).toEqual([]);
    fake.clearActions();
    await controller.sync("default/web");
    expect(fake.writes()).toEqual([]);
  });

  it("deletes its slices when the service loses its selector or goes away, and never touches other slices", async () => {
    const apiserverSlice: EndpointSlice = { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", metadata: { name: "kubernetes", namespace: "default", labels: { [SERVICE_NAME_LABEL]: "kubernetes" } }, addressType: "IPv4", endpoints: [{ addresses: ["172.30.0.1"] }] };
    const kubernetes = newService("kubernetes", { ports: [443] });
    delete kubernetes.spec!.selector;
    const { fake, controller, slices } = setup([newService("web"), pod("a", "10.0.0.1"), kubernetes, apiserverSlice]);
    await controller.sync("default/kubernetes");
    await controller.sync("default/web");
    expect(slices()).toHaveLength(1);

    const svc = fake.object<Service>(SERVICES, "default", "web")!;
    delete svc.spec!.selector;
    fake.seed(svc);
    await sync(controller);
    expect(slices()).toHaveLength(0);
    expect(fake.object(ENDPOINT_SLICES, "default", "kubernetes")).toBeDefined();
    expect(fake.writes().filter((a) => a.name === "kubernetes")).toEqual([]);
  });

  it("refuses to act on a cache that has not seen its own create, instead of creating a duplicate", async () => {
    const { fake, controller, slices } = setup([newService("web"), pod("a", "10.0.0.1")]);
    const informer = fake.informer<EndpointSlice>(ENDPOINT_SLICES);
    informer.hold();
    await controller.sync("default/web");
    await expect(controller.sync("default/web")).rejects.toBeInstanceOf(StaleCacheError);
    informer.release();
    await controller.sync("default/web");
    expect(slices()).toHaveLength(1);
    expect(fake.actionsFor("create")).toHaveLength(1);
  });

  it("replaces a slice owned by an earlier service of the same name", async () => {
    const { fake, controller, slices } = setup([newService("web"), pod("a", "10.0.0.1")]);
    await controller.sync("default/web");
    const old = slices()[0]!;
    const svc = fake.object(SERVICES, "default", "web")!;
    fake.remove(SERVICES, "default", "web");
    fake.seed({ ...svc, metadata: { ...svc.metadata, uid: "new-uid" } });
    await sync(controller);
    expect(slices()).toHaveLength(1);
    expect(slices()[0]!.metadata.name).not.toBe(old.metadata.name);
    expect(slices()[0]!.metadata.ownerReferences![0]!.uid).toBe("new-uid");
  });
});
