// ClusterIP and NodePort allocation through a real apiserver process on a real etcd: uniqueness under concurrency,
// requested values, refusals naming the field, release on delete, no double allocation across a restart or between
// two apiservers sharing etcd, and the bootstrap `kubernetes` Service (listing every apiserver that shares etcd).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KubeObject } from "../../api/meta.js";
import { startApiServerProcess, waitFor, type ApiServerProcess } from "../support/apiserver.js";
import { startEtcd, type EtcdHandle } from "../support/etcd.js";
import { call, etcdctl, etcdKeys, type ApiTarget, type Reply, type RequestOptions, type StatusBody } from "../support/http.js";

const NS = "alloc";

interface ServicePort {
  name?: string;
  port: number;
  targetPort?: number | string;
  nodePort?: number;
  protocol?: string;
}
interface Service extends KubeObject {
  spec: { type?: string; clusterIP?: string; clusterIPs?: string[]; ports: ServicePort[]; selector?: Record<string, string> };
}
interface Endpoints extends KubeObject {
  subsets: { addresses: { ip: string }[]; ports: { name?: string; port: number; protocol: string }[] }[];
}
interface EndpointSlice extends KubeObject {
  addressType: string;
  endpoints: { addresses: string[]; conditions?: { ready?: boolean } }[];
  ports: { name?: string; port: number; protocol: string }[];
}
interface List<T> {
  metadata: { resourceVersion: string };
  items: T[];
}

let etcd: EtcdHandle | undefined;
let primary: ApiServerProcess | undefined;
let secondary: ApiServerProcess | undefined;

function a(): ApiServerProcess {
  if (!primary) throw new Error("the apiserver did not start");
  return primary;
}

function etcdEndpoint(): string {
  if (!etcd) throw new Error("etcd did not start");
  return etcd.endpoint;
}

function api<T = Service>(method: string, path: string, body?: unknown, options?: RequestOptions, base: string | ApiTarget = a().api): Promise<Reply<T>> {
  return call<T>(base, method, path, body, options);
}

async function ok<T = Service>(code: number, method: string, path: string, body?: unknown, base: string | ApiTarget = a().api): Promise<T> {
  const reply = await api<T>(method, path, body, undefined, base);
  if (reply.status !== code) throw new Error(`${method} ${path}: expected ${code}, got ${reply.status}: ${reply.text}`);
  return reply.body;
}

function service(name: string, options: { type?: "ClusterIP" | "NodePort"; clusterIP?: string; nodePorts?: number[]; ports?: number } = {}): Service {
  const count = options.ports ?? options.nodePorts?.length ?? 1;
  const ports: ServicePort[] = [];
  for (let i = 0; i < count; i++) {
    const port: ServicePort = { name: `p${i}`, port: 80 + i, targetPort: 8080 + i, protocol: "TCP" };
    const nodePort = options.nodePorts?.[i];
    if (nodePort !== undefined) port.nodePort = nodePort;
    ports.push(port);
  }
  const spec: Service["spec"] = { type: options.type ?? "ClusterIP", selector: { app: name }, ports };
  if (options.clusterIP !== undefined) spec.clusterIP = options.clusterIP;
  return { apiVersion: "v1", kind: "Service", metadata: { name }, spec };
}

const svcPath = (name = "", ns = NS): string => `/api/v1/namespaces/${ns}/services${name ? `/${name}` : ""}`;
const ipKey = (ip: string): string => `/registry/ranges/serviceips/${ip}`;
const portKey = (port: number): string => `/registry/ranges/servicenodeports/${port}`;

function nodePortsOf(svc: Service): number[] {
  return svc.spec.ports.map((p) => p.nodePort).filter((p): p is number => p !== undefined);
}

/** Every service in the cluster, and a failure message for each ClusterIP or NodePort held by two of them. */
async function allocationsInUse(base: string | ApiTarget = a().api): Promise<{ services: Service[]; duplicates: string[] }> {
  const services = (await ok<List<Service>>(200, "GET", "/api/v1/services", undefined, base)).items;
  const owners = new Map<string, string>();
  const duplicates: string[] = [];
  const claim = (what: string, owner: string): void => {
    const previous = owners.get(what);
    if (previous !== undefined) duplicates.push(`${what} is used by ${previous} and ${owner}`);
    owners.set(what, owner);
  };
  for (const svc of services) {
    const owner = `${svc.metadata.namespace ?? ""}/${svc.metadata.name ?? ""}`;
    if (svc.spec.clusterIP && svc.spec.clusterIP !== "None") claim(`ClusterIP ${svc.spec.clusterIP}`, owner);
    for (const port of nodePortsOf(svc)) claim(`NodePort ${port}`, owner);
  }
  return { services, duplicates };
}

/** The reservation keys in etcd match the services that exist: one per ClusterIP and per NodePort, owned by it. */
async function expectReservationsMatch(services: Service[]): Promise<void> {
  const ipKeys = new Set(await etcdKeys(etcdEndpoint(), "/registry/ranges/serviceips/"));
  const portKeys = new Set(await etcdKeys(etcdEndpoint(), "/registry/ranges/servicenodeports/"));
  const wantIps = new Set(services.flatMap((s) => (s.spec.clusterIP && s.spec.clusterIP !== "None" ? [ipKey(s.spec.clusterIP)] : [])));
  const wantPorts = new Set(services.flatMap((s) => nodePortsOf(s).map(portKey)));
  expect([...ipKeys].sort()).toEqual([...wantIps].sort());
  expect([...portKeys].sort()).toEqual([...wantPorts].sort());
}

async function reservationOwner(key: string): Promise<string | undefined> {
  const out = (await etcdctl(etcdEndpoint(), ["get", "--print-value-only", key])).trim();
  return out === "" ? undefined : out;
}

beforeAll(async () => {
  etcd = await startEtcd();
  // Listening on every interface, the apiserver advertises (and is reachable at) the host's first non-loopback
  // address, which the `kubernetes` Endpoints can carry (validation refuses loopback endpoint addresses). The 0.18
  // plain-HTTP apiserver: the test reaches it at that address, which the test run's serving certificate does not name.
  primary = await startApiServerProcess(etcd.endpoint, ["--insecure-bind-address", "0.0.0.0"], { insecure: true });
  await ok(201, "POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } });
});

afterAll(async () => {
  await secondary?.stop("SIGKILL");
  await primary?.stop("SIGKILL");
  await etcd?.destroy();
});

describe("the kubernetes service", () => {
  it("has 10.96.0.1 and port 443, and its Endpoints and EndpointSlice point at the apiserver", async () => {
    const svc = await ok(200, "GET", svcPath("kubernetes", "default"));
    expect(svc.spec.clusterIP).toBe("10.96.0.1");
    expect(svc.spec.clusterIPs).toEqual(["10.96.0.1"]);
    expect(svc.spec.type).toBe("ClusterIP");
    expect(svc.spec.ports).toEqual([expect.objectContaining({ name: "https", port: 443, protocol: "TCP", targetPort: a().port })]);
    expect(svc.spec.selector).toBeUndefined();
    expect(await reservationOwner(ipKey("10.96.0.1"))).toBe("default/kubernetes");

    const endpoints = await ok<Endpoints>(200, "GET", "/api/v1/namespaces/default/endpoints/kubernetes");
    const address = endpoints.subsets[0]?.addresses[0]?.ip ?? "";
    expect(address).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(address.startsWith("127.")).toBe(false);
    expect(endpoints.subsets).toEqual([{ addresses: [{ ip: address }], ports: [{ name: "https", port: a().port, protocol: "TCP" }] }]);
    const slice = await ok<EndpointSlice>(200, "GET", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes");
    expect(slice.metadata.labels?.["kubernetes.io/service-name"]).toBe("kubernetes");
    expect(slice.addressType).toBe("IPv4");
    expect(slice.endpoints.map((e) => e.addresses)).toEqual([[address]]);
    expect(slice.ports).toEqual([{ name: "https", port: a().port, protocol: "TCP" }]);
    // And the address really is this apiserver.
    const version = await fetch(`http://${address}:${String(endpoints.subsets[0]?.ports[0]?.port ?? 0)}/version`);
    expect(version.status).toBe(200);
  });

  it("comes back with the same address within seconds after it is deleted, and so do its Endpoints", async () => {
    const before = await ok(200, "GET", svcPath("kubernetes", "default"));
    await ok(200, "DELETE", svcPath("kubernetes", "default"));
    const back = await waitFor("the kubernetes service to be recreated", async () => {
      const reply = await api("GET", svcPath("kubernetes", "default"));
      return reply.status === 200 ? reply.body : undefined;
    }, 5000);
    expect(back.metadata.uid).not.toBe(before.metadata.uid);
    expect(back.spec.clusterIP).toBe("10.96.0.1");
    expect(back.spec.ports[0]).toMatchObject({ port: 443, protocol: "TCP" });
    expect(await reservationOwner(ipKey("10.96.0.1"))).toBe("default/kubernetes");

    await ok(200, "DELETE", "/api/v1/namespaces/default/endpoints/kubernetes");
    const endpoints = await waitFor("the kubernetes endpoints to be recreated", async () => {
      const reply = await api<Endpoints>("GET", "/api/v1/namespaces/default/endpoints/kubernetes");
      return reply.status === 200 ? reply.body : undefined;
    }, 5000);
    expect(endpoints.subsets[0]?.ports[0]?.port).toBe(a().port);
  });

  it("lists every apiserver sharing etcd (lease endpoint reconciler), and drops one that stops once its lease expires", async () => {
    const first = (await ok<Endpoints>(200, "GET", "/api/v1/namespaces/default/endpoints/kubernetes")).subsets[0]?.addresses[0]?.ip ?? "";
    // Only advertised, never contacted: the Endpoints merely carry it.
    const other = await startApiServerProcess(etcdEndpoint(), ["--advertise-address", "192.0.2.77"]);
    try {
      const both = [first, "192.0.2.77"].sort();
      const listed = async (): Promise<string[]> => ((await ok<Endpoints>(200, "GET", "/api/v1/namespaces/default/endpoints/kubernetes")).subsets[0]?.addresses ?? []).map((x) => x.ip);
      await waitFor("both apiservers in the kubernetes Endpoints", async () => ((await listed()).join() === both.join() ? true : undefined), 15_000);
      const slice = await ok<EndpointSlice>(200, "GET", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes");
      expect(slice.endpoints.map((e) => e.addresses[0]).sort()).toEqual(both);
      // Neither overwrites the other at its next reconcile (every 10 s).
      await new Promise((r) => setTimeout(r, 11_000));
      expect(await listed()).toEqual(both);
      await other.stop("SIGKILL");
      await waitFor("the stopped apiserver to leave the Endpoints", async () => ((await listed()).join() === first ? true : undefined), 40_000);
    } finally {
      await other.stop("SIGKILL");
    }
  }, 80_000);

  it("cannot be given away: 10.96.0.1 is refused to other services", async () => {
    const reply = await api<StatusBody>("POST", svcPath(), service("steal-first", { clusterIP: "10.96.0.1" }));
    expect(reply.status).toBe(422);
    expect(reply.body.details?.causes?.[0]?.field).toBe("spec.clusterIPs");
  });
});

describe("allocation", () => {
  it("gives 50 services created concurrently unique ClusterIPs and NodePorts", async () => {
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => api("POST", svcPath(), service(`burst-${i}`, { type: i % 2 === 0 ? "NodePort" : "ClusterIP", ports: 2 }))));
    expect(replies.map((r) => r.status)).toEqual(Array.from({ length: 50 }, () => 201));
    for (const [i, reply] of replies.entries()) {
      expect(reply.body.spec.clusterIP).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\.\d+\.\d+$/);
      expect(reply.body.spec.clusterIPs).toEqual([reply.body.spec.clusterIP]);
      if (i % 2 === 0) {
        expect(nodePortsOf(reply.body)).toHaveLength(2);
        for (const port of nodePortsOf(reply.body)) expect(port).toBeGreaterThanOrEqual(30000);
        for (const port of nodePortsOf(reply.body)) expect(port).toBeLessThanOrEqual(32767);
      } else {
        expect(nodePortsOf(reply.body)).toEqual([]);
      }
    }
    const { services, duplicates } = await allocationsInUse();
    expect(duplicates).toEqual([]);
    expect(services.filter((s) => s.metadata.name?.startsWith("burst-"))).toHaveLength(50);
    await expectReservationsMatch(services);
  });

  it("honours requested values and refuses taken or out-of-range ones with 422 naming the field", async () => {
    const created = await ok(201, "POST", svcPath(), service("wanted", { type: "NodePort", clusterIP: "10.96.0.50", nodePorts: [30050] }));
    expect(created.spec.clusterIP).toBe("10.96.0.50");
    expect(nodePortsOf(created)).toEqual([30050]);
    expect(await reservationOwner(ipKey("10.96.0.50"))).toBe(`${NS}/wanted`);
    expect(await reservationOwner(portKey(30050))).toBe(`${NS}/wanted`);

    const takenIP = await api<StatusBody>("POST", svcPath(), service("ip-thief", { clusterIP: "10.96.0.50" }));
    expect(takenIP.status).toBe(422);
    expect(takenIP.body).toMatchObject({ kind: "Status", reason: "Invalid", details: { name: "ip-thief", kind: "Service" } });
    expect(takenIP.body.details?.causes).toEqual([expect.objectContaining({ field: "spec.clusterIPs" })]);
    expect(takenIP.body.message).toContain("provided IP is already allocated");

    const takenPort = await api<StatusBody>("POST", svcPath(), service("port-thief", { type: "NodePort", nodePorts: [30051, 30050] }));
    expect(takenPort.status).toBe(422);
    expect(takenPort.body.details?.causes).toEqual([expect.objectContaining({ field: "spec.ports[1].nodePort" })]);
    expect(takenPort.body.message).toContain("provided port is already allocated");

    const outOfRangeIP = await api<StatusBody>("POST", svcPath(), service("far-ip", { clusterIP: "10.200.0.1" }));
    expect(outOfRangeIP.status).toBe(422);
    expect(outOfRangeIP.body.details?.causes?.[0]?.field).toBe("spec.clusterIPs");
    const outOfRangePort = await api<StatusBody>("POST", svcPath(), service("far-port", { type: "NodePort", nodePorts: [8080] }));
    expect(outOfRangePort.status).toBe(422);
    expect(outOfRangePort.body.details?.causes?.[0]?.field).toBe("spec.ports[0].nodePort");

    // Nothing the refused requests took along the way stays reserved (port-thief's 30051, ip-thief's nothing).
    for (const name of ["ip-thief", "port-thief", "far-ip", "far-port"]) expect((await api("GET", svcPath(name))).status).toBe(404);
    expect(await reservationOwner(portKey(30051))).toBeUndefined();
    const { services, duplicates } = await allocationsInUse();
    expect(duplicates).toEqual([]);
    await expectReservationsMatch(services);
  });

  it("keeps an existing service's values when a second create of the same name is refused", async () => {
    const body = service("twice", { type: "NodePort", clusterIP: "10.96.0.60", nodePorts: [30060] });
    await ok(201, "POST", svcPath(), body);
    const again = await api<StatusBody>("POST", svcPath(), body);
    expect(again.status).toBe(409);
    expect(again.body.reason).toBe("AlreadyExists");
    const dryRun = await api<StatusBody>("POST", `${svcPath()}?dryRun=All`, body);
    expect(dryRun.status).toBe(409);
    // The refused creates must not have released what the existing service holds...
    expect(await reservationOwner(ipKey("10.96.0.60"))).toBe(`${NS}/twice`);
    expect(await reservationOwner(portKey(30060))).toBe(`${NS}/twice`);
    // ...so nobody else can take it.
    const thief = await api<StatusBody>("POST", svcPath(), service("twice-thief", { type: "NodePort", clusterIP: "10.96.0.60", nodePorts: [30060] }));
    expect(thief.status).toBe(422);
  });

  it("stores nothing and reserves nothing for a dryRun=All create", async () => {
    const reply = await api("POST", `${svcPath()}?dryRun=All`, service("dry", { type: "NodePort", clusterIP: "10.96.0.70", nodePorts: [30070] }));
    expect(reply.status).toBe(201);
    expect(reply.body.spec.clusterIP).toBe("10.96.0.70");
    expect(await reservationOwner(ipKey("10.96.0.70"))).toBeUndefined();
    expect(await reservationOwner(portKey(30070))).toBeUndefined();
    expect(await etcdKeys(etcdEndpoint(), `/registry/services/${NS}/dry`)).toEqual([]);
    expect((await api("GET", svcPath("dry"))).status).toBe(404);
  });

  it("releases values on delete so that they can be requested again", async () => {
    await ok(201, "POST", svcPath(), service("released", { type: "NodePort", clusterIP: "10.96.0.80", nodePorts: [30080] }));
    await ok(200, "DELETE", svcPath("released"));
    expect(await reservationOwner(ipKey("10.96.0.80"))).toBeUndefined();
    expect(await reservationOwner(portKey(30080))).toBeUndefined();
    const reused = await ok(201, "POST", svcPath(), service("reuser", { type: "NodePort", clusterIP: "10.96.0.80", nodePorts: [30080] }));
    expect(reused.spec.clusterIP).toBe("10.96.0.80");
    expect(await reservationOwner(ipKey("10.96.0.80"))).toBe(`${NS}/reuser`);
  });

  it("releases the node ports of a service that changes from NodePort to ClusterIP", async () => {
    const created = await ok(201, "POST", svcPath(), service("downgraded", { type: "NodePort", ports: 2 }));
    const ports = nodePortsOf(created);
    expect(ports).toHaveLength(2);
    const patched = await api("PATCH", svcPath("downgraded"), { spec: { type: "ClusterIP" } }, { contentType: "application/merge-patch+json" });
    expect(patched.status).toBe(200);
    expect(nodePortsOf(patched.body)).toEqual([]);
    expect(patched.body.spec.clusterIP).toBe(created.spec.clusterIP);
    for (const port of ports) expect(await reservationOwner(portKey(port))).toBeUndefined();
    const upgraded = await ok(200, "PUT", svcPath("downgraded"), { ...patched.body, spec: { ...patched.body.spec, type: "NodePort", ports: patched.body.spec.ports.map((p, i) => ({ ...p, nodePort: ports[i] })) } });
    expect(nodePortsOf(upgraded)).toEqual(ports);
  });

  it("never hands out a value twice across an apiserver restart", async () => {
    const before = await allocationsInUse();
    await a().stop("SIGKILL");
    await a().restart();
    const replies = await Promise.all(Array.from({ length: 30 }, (_, i) => api("POST", svcPath(), service(`after-restart-${i}`, { type: "NodePort" }))));
    expect(replies.map((r) => r.status)).toEqual(Array.from({ length: 30 }, () => 201));
    const after = await allocationsInUse();
    expect(after.duplicates).toEqual([]);
    expect(after.services.length).toBe(before.services.length + 30);
    await expectReservationsMatch(after.services);
    // Values held before the restart are still refused to newcomers.
    const thief = await api<StatusBody>("POST", svcPath(), service("restart-thief", { clusterIP: "10.96.0.50" }));
    expect(thief.status).toBe(422);
  });

  it("never gives two services the same value when two apiservers on one etcd allocate at once", async () => {
    secondary = await startApiServerProcess(etcdEndpoint());
    const b = secondary;
    const creates = Array.from({ length: 60 }, (_, i) =>
      api("POST", svcPath(), service(`pair-${i}`, { type: "NodePort", ports: 2 }), undefined, i % 2 === 0 ? a().api : b.api),
    );
    const replies = await Promise.all(creates);
    expect(replies.map((r) => r.status)).toEqual(Array.from({ length: 60 }, () => 201));
    const { services, duplicates } = await allocationsInUse();
    expect(duplicates).toEqual([]);
    await expectReservationsMatch(services);
    // Both see the same services; a value one of them handed out is refused by the other.
    const taken = replies[0]?.body.spec.clusterIP ?? "";
    const refused = await api<StatusBody>("POST", svcPath(), service("cross-thief", { clusterIP: taken }), undefined, b.api);
    expect(refused.status).toBe(422);
    await b.stop("SIGKILL");
    secondary = undefined;
  });
});
