import { describe, expect, it } from "vitest";
import type { Service } from "../api/types/core.js";
import type { EndpointSlice } from "../api/types/discovery.js";
import { EndpointsChangeTracker, ServiceChangeTracker } from "./change-tracker.js";
import type { EndpointsMap } from "./endpoints.js";
import type { ServicePortMap } from "./service-port.js";

function service(name: string, spec: Partial<NonNullable<Service["spec"]>> = {}, meta: Partial<Service["metadata"]> = {}): Service {
  return { apiVersion: "v1", kind: "Service", metadata: { name, namespace: "default", ...meta }, spec: { clusterIP: "10.96.0.20", ports: [{ name: "http", port: 80, protocol: "TCP" }], ...spec } };
}

function slice(name: string, svc: string, ips: string[], opts: { ready?: boolean; port?: number; portName?: string; trigger?: string } = {}): EndpointSlice {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name, namespace: "default", labels: { "kubernetes.io/service-name": svc }, ...(opts.trigger ? { annotations: { "endpoints.kubernetes.io/last-change-trigger-time": opts.trigger } } : {}) },
    addressType: "IPv4",
    ports: [{ name: opts.portName ?? "http", port: opts.port ?? 8080, protocol: "TCP" }],
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: opts.ready ?? true } })),
  };
}

describe("ServiceChangeTracker", () => {
  it("accumulates changes and applies them at once", () => {
    const t = new ServiceChangeTracker();
    const map: ServicePortMap = new Map();
    expect(t.update(undefined, service("a"))).toBe(true);
    t.update(undefined, service("b", { type: "NodePort", ports: [{ name: "http", port: 80, nodePort: 30080 }], externalIPs: ["192.0.2.1"], sessionAffinity: "ClientIP" }));
    expect(t.pending).toBe(2);
    const r = t.apply(map);
    expect([...r.updatedServices].sort()).toEqual(["default/a", "default/b"]);
    expect(t.pending).toBe(0);
    expect(map.get("default/b:http")).toEqual({ name: { namespace: "default", name: "b", port: "http" }, protocol: "TCP", clusterIP: "10.96.0.20", port: 80, nodePort: 30080, externalIPs: ["192.0.2.1"], stickyMaxAgeSeconds: 10800 });
    expect(map.get("default/a:http")?.nodePort).toBe(0);
  });

  it("forgets changes that cancel out", () => {
    const t = new ServiceChangeTracker();
    t.update(undefined, service("a"));
    expect(t.update(service("a"), undefined)).toBe(false);
    expect(t.pending).toBe(0);
    const map: ServicePortMap = new Map();
    t.update(undefined, service("a"));
    t.apply(map);
    // A label change is no change to kube-proxy.
    expect(t.update(service("a"), service("a", {}, { labels: { x: "y" } }))).toBe(false);
  });

  it("removes deleted ports and reports them", () => {
    const t = new ServiceChangeTracker();
    const map: ServicePortMap = new Map();
    const dns = service("dns", { ports: [{ name: "dns", port: 53, protocol: "UDP" }, { name: "dns-tcp", port: 53, protocol: "TCP" }] });
    t.update(undefined, dns);
    t.apply(map);
    t.update(dns, service("dns", { ports: [{ name: "dns-tcp", port: 53, protocol: "TCP" }] }));
    const r = t.apply(map);
    expect([...map.keys()]).toEqual(["default/dns:dns-tcp"]);
    expect(r.deletedPorts.map((p) => p.name.port)).toEqual(["dns"]);
    t.update(service("dns", { ports: [{ name: "dns-tcp", port: 53, protocol: "TCP" }] }), undefined);
    t.apply(map);
    expect(map.size).toBe(0);
  });

  it("ignores headless and ExternalName Services, and LoadBalancer behaves as NodePort", () => {
    const t = new ServiceChangeTracker();
    const map: ServicePortMap = new Map();
    t.update(undefined, service("headless", { clusterIP: "None" }));
    t.update(undefined, service("ext", { type: "ExternalName", externalName: "example.com", clusterIP: "" }));
    t.update(undefined, service("lb", { type: "LoadBalancer", ports: [{ port: 80, nodePort: 31000 }] }));
    t.apply(map);
    expect([...map.keys()]).toEqual(["default/lb"]);
    expect(map.get("default/lb")?.nodePort).toBe(31000);
  });
});

describe("EndpointsChangeTracker", () => {
  it("merges a Service's slices per port name, dedups addresses, sorts by address", () => {
    const t = new EndpointsChangeTracker();
    const map: EndpointsMap = new Map();
    t.sliceUpdate(slice("a-1", "a", ["10.244.2.1", "10.244.1.9"]), false);
    t.sliceUpdate(slice("a-2", "a", ["10.244.1.10", "10.244.1.9"]), false);
    t.sliceUpdate(slice("a-3", "a", ["10.244.3.3"], { portName: "metrics", port: 9090 }), false);
    const r = t.apply(map);
    expect([...r.updatedServices]).toEqual(["default/a"]);
    expect(map.get("default/a:http")?.map((e) => `${e.ip}:${e.port}`)).toEqual(["10.244.1.9:8080", "10.244.1.10:8080", "10.244.2.1:8080"]);
    expect(map.get("default/a:metrics")?.map((e) => e.ip)).toEqual(["10.244.3.3"]);
  });

  it("reports before and after per changed port, and drops ports whose slices are gone", () => {
    const t = new EndpointsChangeTracker();
    const map: EndpointsMap = new Map();
    t.sliceUpdate(slice("a-1", "a", ["10.244.1.1"]), false);
    t.apply(map);
    t.sliceUpdate(slice("a-1", "a", ["10.244.1.2"]), false);
    const r = t.apply(map);
    expect(r.changedPorts.get("default/a:http")?.previous.map((e) => e.ip)).toEqual(["10.244.1.1"]);
    expect(r.changedPorts.get("default/a:http")?.current.map((e) => e.ip)).toEqual(["10.244.1.2"]);
    t.sliceUpdate(slice("a-1", "a", ["10.244.1.2"]), true);
    const gone = t.apply(map);
    expect(map.has("default/a:http")).toBe(false);
    expect(gone.changedPorts.get("default/a:http")?.current).toEqual([]);
  });

  it("an identical update changes nothing; slices without the service-name label are ignored", () => {
    const t = new EndpointsChangeTracker();
    const map: EndpointsMap = new Map();
    t.sliceUpdate(slice("a-1", "a", ["10.244.1.1"]), false);
    t.apply(map);
    t.sliceUpdate(slice("a-1", "a", ["10.244.1.1"]), false);
    expect(t.apply(map).updatedServices.size).toBe(0);
    const orphan = slice("x", "a", ["10.244.9.9"]);
    delete orphan.metadata.labels;
    expect(t.sliceUpdate(orphan, false)).toBe(false);
  });

  it("keeps readiness: missing conditions count as ready", () => {
    const t = new EndpointsChangeTracker();
    const map: EndpointsMap = new Map();
    const s = slice("a-1", "a", ["10.244.1.1", "10.244.1.2"]);
    s.endpoints![0]!.conditions = {};
    s.endpoints![1]!.conditions = { ready: false, serving: true, terminating: true };
    t.sliceUpdate(s, false);
    t.apply(map);
    expect(map.get("default/a:http")).toEqual([
      { ip: "10.244.1.1", port: 8080, ready: true, serving: true, terminating: false },
      { ip: "10.244.1.2", port: 8080, ready: false, serving: true, terminating: true },
    ]);
  });

  it("collects last-change-trigger-times once", () => {
    const t = new EndpointsChangeTracker();
    const map: EndpointsMap = new Map();
    t.sliceUpdate(slice("a-1", "a", ["10.244.1.1"], { trigger: "2024-01-01T00:00:00Z" }), false);
    t.sliceUpdate(slice("a-1", "a", ["10.244.1.2"], { trigger: "2024-01-01T00:00:01Z" }), false);
    expect(t.apply(map).lastChangeTriggerTimes).toEqual([Date.UTC(2024, 0, 1), Date.UTC(2024, 0, 1, 0, 0, 1)]);
    t.sliceUpdate(slice("a-1", "a", ["10.244.1.3"]), false);
    expect(t.apply(map).lastChangeTriggerTimes).toEqual([]);
  });
});

describe("EndpointsChangeTracker start time", () => {
  it("ignores trigger times from before kube-proxy started", () => {
    const t = new EndpointsChangeTracker(Date.UTC(2024, 0, 1, 0, 0, 0, 500));
    const map: EndpointsMap = new Map();
    t.sliceUpdate(slice("a-1", "a", ["10.244.1.1"], { trigger: "2024-01-01T00:00:00Z" }), false);
    t.sliceUpdate(slice("a-1", "a", ["10.244.1.2"], { trigger: "2024-01-01T00:00:01Z" }), false);
    expect(t.apply(map).lastChangeTriggerTimes).toEqual([Date.UTC(2024, 0, 1, 0, 0, 1)]);
  });
});
