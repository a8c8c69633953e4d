import { beforeEach, describe, expect, it } from "vitest";
import { newService } from "../../../api/testing/builders.js";
import type { Service } from "../../../api/types/index.js";
import { memoryRegistry, NODE_PORT_RANGE, type MemoryRegistry } from "../testing/memory-storage.js";
import { rejection } from "../testing/rejection.js";
import type { ResourceStore } from "../store.js";

function ipNumber(ip: string): number {
  return ip.split(".").reduce((n, p) => n * 256 + Number(p), 0);
}

/** Inside 10.96.0.0/12 and not the network, broadcast or kubernetes-service address. */
function inServiceRange(ip: string): boolean {
  const n = ipNumber(ip);
  return n > ipNumber("10.96.0.1") && n < ipNumber("10.111.255.255");
}

function nodePortsOf(svc: Service): (number | undefined)[] {
  return (svc.spec?.ports ?? []).map((p) => p.nodePort);
}

let m: MemoryRegistry;
let services: ResourceStore;

beforeEach(async () => {
  m = await memoryRegistry();
  services = m.registry.core("services");
});

async function create(svc: Service, dryRun = false): Promise<Service> {
  return services.create("default", svc, { dryRun });
}

async function get(name: string): Promise<Service> {
  return services.get("default", name);
}

describe("cluster IPs", () => {
  it("allocates a ClusterIP from the service range and mirrors it in clusterIPs", async () => {
    const svc = await create(newService("web"));
    const ip = svc.spec!.clusterIP!;
    expect(inServiceRange(ip)).toBe(true);
    expect(svc.spec?.clusterIPs).toEqual([ip]);
    expect(svc.spec?.type).toBe("ClusterIP");
    expect(m.clusterIPs.allocated.get(ip)).toBe("default/web");
    expect((await get("web")).spec?.clusterIP).toBe(ip);
  });

  it("gives two services different ClusterIPs", async () => {
    const a = await create(newService("a"));
    const b = await create(newService("b"));
    expect(a.spec?.clusterIP).not.toBe(b.spec?.clusterIP);
  });

  it("keeps a headless service's clusterIP None and allocates nothing", async () => {
    const svc = await create(newService("db", { clusterIP: "None" }));
    expect(svc.spec?.clusterIP).toBe("None");
    expect(svc.spec?.clusterIPs).toEqual(["None"]);
    expect(m.clusterIPs.allocated.size).toBe(0);
  });

  it("honours a requested clusterIP", async () => {
    const svc = await create(newService("web", { clusterIP: "10.96.0.50" }));
    expect(svc.spec?.clusterIP).toBe("10.96.0.50");
    expect(svc.spec?.clusterIPs).toEqual(["10.96.0.50"]);
    expect(m.clusterIPs.allocated.get("10.96.0.50")).toBe("default/web");
  });

  it.each([
    ["already taken", "10.96.0.50", "provided IP is already allocated"],
    ["out of range", "192.168.0.10", "not in the valid range"],
  ])("answers 422 on spec.clusterIPs for a requested clusterIP %s", async (_what, ip, message) => {
    await create(newService("first", { clusterIP: "10.96.0.50" }));
    const err = await rejection(create(newService("web", { clusterIP: ip })));
    expect(err.code).toBe(422);
    expect(err.details?.causes).toEqual([expect.objectContaining({ field: "spec.clusterIPs", reason: "FieldValueInvalid" })]);
    expect(err.details?.causes?.[0]?.message).toContain(message);
    expect(m.clusterIPs.allocated.get("10.96.0.50")).toBe("default/first");
  });

  it("keeps the ClusterIP on an update whose body leaves it out", async () => {
    const created = await create(newService("web"));
    const body = newService("web", { ports: [8080] });
    const { object } = await services.update("default", "web", body);
    expect((object as Service).spec?.clusterIP).toBe(created.spec?.clusterIP);
    expect((object as Service).spec?.clusterIPs).toEqual(created.spec?.clusterIPs);
    expect(m.clusterIPs.allocated.size).toBe(1);
  });

  it("answers 422 for an update that changes the ClusterIP", async () => {
    const created = await create(newService("web"));
    const err = await rejection(services.update("default", "web", { ...created, spec: { ...created.spec, clusterIP: "10.96.0.99", clusterIPs: ["10.96.0.99"] } }));
    expect(err.code).toBe(422);
    expect(m.clusterIPs.has("10.96.0.99")).toBe(false);
    expect(m.clusterIPs.has(created.spec!.clusterIP!)).toBe(true);
  });
});

describe("node ports", () => {
  it("allocates a node port in range for every port of a NodePort service", async () => {
    const svc = await create(newService("web", { type: "NodePort", ports: [80, 443] }));
    const ports = nodePortsOf(svc);
    expect(ports).toHaveLength(2);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(NODE_PORT_RANGE.min);
      expect(port).toBeLessThanOrEqual(NODE_PORT_RANGE.max);
      expect(m.nodePorts.allocated.get(port!)).toBe("default/web");
    }
    expect(new Set(ports).size).toBe(2);
    expect(svc.spec?.externalTrafficPolicy).toBe("Cluster");
  });

  it("honours a requested nodePort", async () => {
    const svc = await create(newService("web", { type: "NodePort", ports: [{ port: 80, nodePort: 30080 }] }));
    expect(nodePortsOf(svc)).toEqual([30080]);
    expect(m.nodePorts.allocated.get(30080)).toBe("default/web");
  });

  it.each([
    ["already taken", 30080, "provided port is already allocated"],
    ["out of range", 8080, "not in the valid range"],
  ])("answers 422 on spec.ports[0].nodePort for a requested nodePort %s", async (_what, nodePort, message) => {
    await create(newService("first", { type: "NodePort", ports: [{ port: 80, nodePort: 30080 }] }));
    const err = await rejection(create(newService("web", { type: "NodePort", ports: [{ port: 80, nodePort }] })));
    expect(err.code).toBe(422);
    expect(err.details?.causes).toEqual([expect.objectContaining({ field: "spec.ports[0].nodePort" })]);
    expect(err.details?.causes?.[0]?.message).toContain(message);
    // The second service's ClusterIP went back.
    expect(m.clusterIPs.allocated.size).toBe(1);
    expect([...m.nodePorts.allocated.values()]).toEqual(["default/first"]);
  });

  it("allocates node ports when a ClusterIP service becomes NodePort", async () => {
    await create(newService("web"));
    const { object } = await services.patch("default", "web", "application/merge-patch+json", { spec: { type: "NodePort" } });
    const [port] = nodePortsOf(object);
    expect(m.nodePorts.allocated.get(port!)).toBe("default/web");
  });

  it("keeps the node ports on an update of a NodePort service whose body leaves them out", async () => {
    const created = await create(newService("web", { type: "NodePort" }));
    const { object } = await services.update("default", "web", newService("web", { type: "NodePort", selector: { app: "other" } }));
    expect(nodePortsOf(object as Service)).toEqual(nodePortsOf(created));
    expect(m.nodePorts.allocated.size).toBe(1);
    expect(m.nodePorts.released).toEqual([]);
  });

  it("releases the node ports when an update turns a NodePort service into ClusterIP", async () => {
    const created = await create(newService("web", { type: "NodePort", ports: [80, 443] }));
    const body = structuredClone(created);
    body.spec!.type = "ClusterIP";
    delete body.spec!.externalTrafficPolicy;
    for (const p of body.spec!.ports!) delete p.nodePort;
    const { object } = await services.update("default", "web", body);
    expect(nodePortsOf(object as Service)).toEqual([undefined, undefined]);
    expect(m.nodePorts.released.sort()).toEqual(nodePortsOf(created).sort());
    expect(m.nodePorts.allocated.size).toBe(0);
    expect(m.clusterIPs.has(created.spec!.clusterIP!)).toBe(true);
  });

  it("releases the node ports when a patch sets type ClusterIP on a NodePort service", async () => {
    const created = await create(newService("web", { type: "NodePort" }));
    const { object } = await services.patch("default", "web", "application/merge-patch+json", { spec: { type: "ClusterIP" } });
    expect((object as Service).spec?.type).toBe("ClusterIP");
    expect(nodePortsOf(object as Service)).toEqual([undefined]);
    expect((object as Service).spec?.externalTrafficPolicy).toBeUndefined();
    expect(m.nodePorts.released).toEqual(nodePortsOf(created));
  });
});

describe("releasing", () => {
  it("releases the ClusterIP and node ports when the service is deleted", async () => {
    const created = await create(newService("web", { type: "NodePort", ports: [80, 443] }));
    await services.delete("default", "web");
    expect(m.clusterIPs.released).toEqual([created.spec!.clusterIP]);
    expect(m.nodePorts.released.sort()).toEqual(nodePortsOf(created).sort());
    expect(m.clusterIPs.allocated.size).toBe(0);
    expect(m.nodePorts.allocated.size).toBe(0);
  });

  it("gives back what a create allocated when the name is already taken", async () => {
    const first = await create(newService("web", { type: "NodePort" }));
    const err = await rejection(create(newService("web", { type: "NodePort", clusterIP: "10.96.0.77", ports: [{ port: 80, nodePort: 31000 }] })));
    expect(err.reason).toBe("AlreadyExists");
    expect([...m.clusterIPs.allocated.keys()]).toEqual([first.spec!.clusterIP]);
    expect([...m.nodePorts.allocated.keys()]).toEqual(nodePortsOf(first));
  });

  it("keeps the requested values of the existing service when a second create of its name is refused", async () => {
    const body = newService("web", { type: "NodePort", clusterIP: "10.96.0.77", ports: [{ port: 80, nodePort: 31000 }] });
    await create(body);
    expect((await rejection(create(body))).reason).toBe("AlreadyExists");
    expect((await rejection(create(body, true))).reason).toBe("AlreadyExists");
    expect(m.clusterIPs.allocated.get("10.96.0.77")).toBe("default/web");
    expect(m.nodePorts.allocated.get(31000)).toBe("default/web");
    expect(m.clusterIPs.released).toEqual([]);
    expect(m.nodePorts.released).toEqual([]);
  });

  it("gives back what a create allocated when etcd is unavailable", async () => {
    m.storage.unavailable = true;
    const err = await rejection(create(newService("web", { type: "NodePort" })));
    expect(err.code).toBe(503);
    expect(m.clusterIPs.allocated.size).toBe(0);
    expect(m.nodePorts.allocated.size).toBe(0);
  });

  it("gives back what a create allocated when a later port cannot be had", async () => {
    await create(newService("first", { type: "NodePort", ports: [{ port: 80, nodePort: 30500 }] }));
    const err = await rejection(
      create(
        newService("web", {
          type: "NodePort",
          ports: [
            { name: "a", port: 80, protocol: "TCP" },
            { name: "b", port: 81, protocol: "TCP", nodePort: 30500 },
          ],
        }),
      ),
    );
    expect(err.details?.causes).toEqual([expect.objectContaining({ field: "spec.ports[1].nodePort" })]);
    expect([...m.nodePorts.allocated.keys()]).toEqual([30500]);
    expect(m.clusterIPs.allocated.size).toBe(1);
  });

  it("allocates nothing lasting on a dryRun create", async () => {
    await create(newService("web", { type: "NodePort", clusterIP: "10.96.0.60" }), true);
    expect(m.clusterIPs.allocated.size).toBe(0);
    expect(m.nodePorts.allocated.size).toBe(0);
    expect(await rejection(get("web"))).toMatchObject({ code: 404 });
  });

  it("allocates nothing lasting on a dryRun update to NodePort", async () => {
    const created = await create(newService("web"));
    await services.patch("default", "web", "application/merge-patch+json", { spec: { type: "NodePort" } }, { dryRun: true });
    expect(m.nodePorts.allocated.size).toBe(0);
    expect(await get("web")).toEqual(created);
  });

  it("releases nothing on a dryRun delete", async () => {
    const created = await create(newService("web", { type: "NodePort" }));
    await services.delete("default", "web", { dryRun: true });
    expect(m.clusterIPs.has(created.spec!.clusterIP!)).toBe(true);
    expect(m.nodePorts.allocated.size).toBe(1);
  });
});
