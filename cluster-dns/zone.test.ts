import type { Answer, Question, RecordType } from "dns-packet";
import { describe, expect, it } from "vitest";
import { RESOURCES } from "../api/resources.js";
import type { EndpointSlice, Service } from "../api/types/index.js";
import { FakeInformer } from "../client/testing/fake-informer.js";
import { ClusterZone, RCODE, reverseNameAddress, type ZoneReply } from "./zone.js";

const SERVICES = RESOURCES.find((r) => r.resource === "services")!;
const SLICES = RESOURCES.find((r) => r.resource === "endpointslices")!;

function service(name: string, spec: NonNullable<Service["spec"]>, namespace = "default"): Service {
  return { apiVersion: "v1", kind: "Service", metadata: { name, namespace }, spec };
}

function slice(svc: string, name: string, endpoints: NonNullable<EndpointSlice["endpoints"]>, ports: NonNullable<EndpointSlice["ports"]>, namespace = "default"): EndpointSlice {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name, namespace, labels: { "kubernetes.io/service-name": svc } },
    addressType: "IPv4",
    endpoints,
    ports,
  };
}

function setup(): { zone: ClusterZone; services: FakeInformer<Service>; slices: FakeInformer<EndpointSlice> } {
  const services = new FakeInformer<Service>(SERVICES, [
    service("mysql", { clusterIP: "10.96.0.20", clusterIPs: ["10.96.0.20"], ports: [{ name: "mysql", port: 3306, protocol: "TCP" }] }),
    service("web", { clusterIP: "10.96.0.30", ports: [{ name: "http", port: 80, protocol: "TCP" }, { name: "dns", port: 53, protocol: "UDP" }, { port: 9000, protocol: "TCP" }] }),
    service("db", { clusterIP: "None", ports: [{ name: "pg", port: 5432, protocol: "TCP" }] }),
    service("empty", { clusterIP: "None", ports: [{ name: "x", port: 1 }] }),
    service("ext", { type: "ExternalName", externalName: "db.example.org" }),
    service("kube-dns", { clusterIP: "10.96.0.10", ports: [{ name: "dns", port: 53, protocol: "UDP" }] }, "kube-system"),
  ]);
  const slices = new FakeInformer<EndpointSlice>(SLICES, [
    slice(
      "db",
      "db-abc",
      [
        { addresses: ["10.244.1.5"], hostname: "db-0", conditions: { ready: true } },
        { addresses: ["10.244.2.6"], hostname: "db-1", conditions: { ready: true } },
        { addresses: ["10.244.3.7"], conditions: {} },
        { addresses: ["10.244.3.8"], hostname: "db-3", conditions: { ready: false, terminating: true } },
      ],
      [{ name: "pg", port: 5432, protocol: "TCP" }],
    ),
    slice("mysql", "mysql-abc", [{ addresses: ["10.244.1.9"], conditions: { ready: true } }], [{ name: "mysql", port: 3306, protocol: "TCP" }]),
  ]);
  const zone = new ClusterZone({ services, endpointSlices: slices }, { domain: "cluster.local.", serial: () => 1700000000 });
  return { zone, services, slices };
}

function ask(zone: ClusterZone, name: string, type: RecordType = "A"): ZoneReply {
  const question: Question = { name, type, class: "IN" };
  const reply = zone.answer(question);
  if (!reply) throw new Error(`${name} ${type} was not answered by the zone`);
  return reply;
}

function data(answers: Answer[]): unknown[] {
  return answers.map((a) => ("data" in a ? a.data : undefined));
}

describe("ClusterZone", () => {
  it("answers a ClusterIP Service's A record with its ClusterIP, TTL 5, owner as asked", () => {
    const { zone } = setup();
    const reply = ask(zone, "MySQL.default.svc.cluster.local");
    expect(reply.rcode).toBe(RCODE.NOERROR);
    expect(reply.answers).toEqual([{ type: "A", name: "MySQL.default.svc.cluster.local", ttl: 5, class: "IN", data: "10.96.0.20" }]);
    expect(reply.authorities).toEqual([]);
  });

  it("gives NODATA with the SOA for AAAA of an IPv4-only Service", () => {
    const { zone } = setup();
    const reply = ask(zone, "mysql.default.svc.cluster.local", "AAAA");
    expect(reply.rcode).toBe(RCODE.NOERROR);
    expect(reply.answers).toEqual([]);
    expect(reply.authorities).toEqual([
      {
        type: "SOA",
        name: "cluster.local",
        ttl: 30,
        class: "IN",
        data: { mname: "ns.dns.cluster.local", rname: "hostmaster.cluster.local", serial: 1700000000, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 },
      },
    ]);
  });

  it("answers NXDOMAIN with the SOA for unknown names anywhere in the zone", () => {
    const { zone } = setup();
    for (const name of [
      "nope.default.svc.cluster.local",
      "mysql.other.svc.cluster.local",
      "mysql.cluster.local",
      "x.y.cluster.local",
      "nosuchns.svc.cluster.local",
      "_nope._tcp.web.default.svc.cluster.local",
      "_http._udp.web.default.svc.cluster.local",
      "db-9.db.default.svc.cluster.local",
      "host.web.default.svc.cluster.local",
      "not-an-ip.default.pod.cluster.local",
    ]) {
      const reply = ask(zone, name);
      expect(reply.rcode, name).toBe(RCODE.NXDOMAIN);
      expect(reply.answers, name).toEqual([]);
      expect(reply.authorities.map((a) => a.type), name).toEqual(["SOA"]);
    }
  });

  it("is search-path friendly: the names a pod's resolver tries before the right one are NXDOMAIN, not forwarded", () => {
    const { zone } = setup();
    // `mysql` from a pod in default with ndots:5 and search default.svc.cluster.local svc.cluster.local cluster.local
    expect(data(ask(zone, "mysql.default.svc.cluster.local.").answers)).toEqual(["10.96.0.20"]);
    // `mysql.default`: first tried under the pod's namespace, then under svc.<zone>
    expect(ask(zone, "mysql.default.default.svc.cluster.local.").rcode).toBe(RCODE.NXDOMAIN);
    expect(data(ask(zone, "mysql.default.svc.cluster.local.").answers)).toEqual(["10.96.0.20"]);
    // a fully spelled name with the search domains appended
    expect(ask(zone, "mysql.default.svc.cluster.local.default.svc.cluster.local.").rcode).toBe(RCODE.NXDOMAIN);
    expect(ask(zone, "mysql.default.svc.cluster.local.svc.cluster.local.").rcode).toBe(RCODE.NXDOMAIN);
    expect(ask(zone, "mysql.default.svc.cluster.local.cluster.local.").rcode).toBe(RCODE.NXDOMAIN);
    // outside names with the search domains appended stay in the zone
    expect(ask(zone, "example.com.default.svc.cluster.local.").rcode).toBe(RCODE.NXDOMAIN);
    // names outside the zone are not the zone's
    expect(zone.answer({ name: "example.com", type: "A" })).toBeUndefined();
    expect(zone.answer({ name: "mysql", type: "A" })).toBeUndefined();
    expect(zone.answer({ name: "notcluster.local", type: "A" })).toBeUndefined();
  });

  it("answers a headless Service with its ready endpoints' addresses (terminating and not-ready left out)", () => {
    const { zone } = setup();
    expect(data(ask(zone, "db.default.svc.cluster.local").answers)).toEqual(["10.244.1.5", "10.244.2.6", "10.244.3.7"]);
  });

  it("publishes not-ready endpoints when the Service says publishNotReadyAddresses", () => {
    const { zone, services } = setup();
    services.update(service("db", { clusterIP: "None", publishNotReadyAddresses: true, ports: [{ name: "pg", port: 5432 }] }));
    expect(data(ask(zone, "db.default.svc.cluster.local").answers)).toEqual(["10.244.1.5", "10.244.2.6", "10.244.3.7", "10.244.3.8"]);
  });

  it("answers NXDOMAIN for a headless Service without ready endpoints, as CoreDNS does", () => {
    const { zone } = setup();
    expect(ask(zone, "empty.default.svc.cluster.local").rcode).toBe(RCODE.NXDOMAIN);
  });

  it("answers endpoint names of a headless Service by hostname (StatefulSet pods) and by dashed address", () => {
    const { zone } = setup();
    expect(data(ask(zone, "db-0.db.default.svc.cluster.local").answers)).toEqual(["10.244.1.5"]);
    expect(data(ask(zone, "db-1.db.default.svc.cluster.local").answers)).toEqual(["10.244.2.6"]);
    expect(data(ask(zone, "10-244-3-7.db.default.svc.cluster.local").answers)).toEqual(["10.244.3.7"]);
    expect(ask(zone, "db-3.db.default.svc.cluster.local").rcode).toBe(RCODE.NXDOMAIN);
  });

  it("answers SRV for a ClusterIP Service's named ports, pointing at the Service's name", () => {
    const { zone } = setup();
    expect(ask(zone, "_http._tcp.web.default.svc.cluster.local", "SRV").answers).toEqual([
      { type: "SRV", name: "_http._tcp.web.default.svc.cluster.local", ttl: 5, class: "IN", data: { priority: 0, weight: 100, port: 80, target: "web.default.svc.cluster.local" } },
    ]);
    expect(ask(zone, "_dns._udp.web.default.svc.cluster.local", "SRV").answers.map((a) => a.type === "SRV" && a.data.port)).toEqual([53]);
    // the SRV name has no A record: NODATA
    const a = ask(zone, "_http._tcp.web.default.svc.cluster.local", "A");
    expect([a.rcode, a.answers.length]).toEqual([RCODE.NOERROR, 0]);
    // the Service's own name lists every port, the unnamed one too
    expect(ask(zone, "web.default.svc.cluster.local", "SRV").answers.map((x) => x.type === "SRV" && x.data.port)).toEqual([80, 53, 9000]);
    // `_tcp.<svc>` exists as the parent of the SRV names
    expect(ask(zone, "_tcp.web.default.svc.cluster.local", "SRV").rcode).toBe(RCODE.NOERROR);
  });

  it("answers SRV for a headless Service with one target per ready endpoint and their addresses as additionals", () => {
    const { zone } = setup();
    const reply = ask(zone, "_pg._tcp.db.default.svc.cluster.local", "SRV");
    expect(reply.answers.map((a) => a.type === "SRV" && a.data)).toEqual([
      { priority: 0, weight: 33, port: 5432, target: "db-0.db.default.svc.cluster.local" },
      { priority: 0, weight: 33, port: 5432, target: "db-1.db.default.svc.cluster.local" },
      { priority: 0, weight: 33, port: 5432, target: "10-244-3-7.db.default.svc.cluster.local" },
    ]);
    expect(reply.additionals.map((a) => [a.name, "data" in a && a.data])).toEqual([
      ["db-0.db.default.svc.cluster.local", "10.244.1.5"],
      ["db-1.db.default.svc.cluster.local", "10.244.2.6"],
      ["10-244-3-7.db.default.svc.cluster.local", "10.244.3.7"],
    ]);
  });

  it("answers pod A records from the dashed address (CoreDNS's pods insecure)", () => {
    const { zone } = setup();
    expect(ask(zone, "10-244-1-5.default.pod.cluster.local").answers).toEqual([{ type: "A", name: "10-244-1-5.default.pod.cluster.local", ttl: 5, class: "IN", data: "10.244.1.5" }]);
    expect(ask(zone, "10-244-1-5.default.pod.cluster.local", "AAAA").answers).toEqual([]);
  });

  it("answers PTR for ClusterIPs and headless endpoint addresses; other reverse names are not the zone's", () => {
    const { zone } = setup();
    expect(data(ask(zone, "20.0.96.10.in-addr.arpa", "PTR").answers)).toEqual(["mysql.default.svc.cluster.local"]);
    expect(data(ask(zone, "10.0.96.10.in-addr.arpa.", "PTR").answers)).toEqual(["kube-dns.kube-system.svc.cluster.local"]);
    expect(data(ask(zone, "5.1.244.10.in-addr.arpa", "PTR").answers)).toEqual(["db-0.db.default.svc.cluster.local"]);
    expect(data(ask(zone, "7.3.244.10.in-addr.arpa", "PTR").answers)).toEqual(["10-244-3-7.db.default.svc.cluster.local"]);
    // an endpoint of a ClusterIP Service, and an unknown address: forwarded
    expect(zone.answer({ name: "9.1.244.10.in-addr.arpa", type: "PTR" })).toBeUndefined();
    expect(zone.answer({ name: "8.8.8.8.in-addr.arpa", type: "PTR" })).toBeUndefined();
  });

  it("answers an ExternalName Service with a CNAME whatever the type asked", () => {
    const { zone } = setup();
    for (const type of ["A", "AAAA", "CNAME"] as const) {
      expect(ask(zone, "ext.default.svc.cluster.local", type).answers).toEqual([{ type: "CNAME", name: "ext.default.svc.cluster.local", ttl: 5, class: "IN", data: "db.example.org" }]);
    }
  });

  it("serves dns-version TXT, the SOA and NS at the apex, and NODATA for the zone's empty names", () => {
    const { zone } = setup();
    expect(ask(zone, "dns-version.cluster.local", "TXT").answers).toEqual([{ type: "TXT", name: "dns-version.cluster.local", ttl: 5, class: "IN", data: "1.1.0" }]);
    expect(ask(zone, "cluster.local", "SOA").answers.map((a) => a.type)).toEqual(["SOA"]);
    expect(data(ask(zone, "cluster.local", "NS").answers)).toEqual(["ns.dns.cluster.local"]);
    for (const name of ["cluster.local", "svc.cluster.local", "default.svc.cluster.local", "pod.cluster.local", "default.pod.cluster.local"]) {
      const reply = ask(zone, name, "A");
      expect([reply.rcode, reply.answers.length, reply.authorities.length], name).toEqual([RCODE.NOERROR, 0, 1]);
    }
  });

  it("reads the caches on every question: changes show at once", () => {
    const { zone, services, slices } = setup();
    expect(ask(zone, "late.default.svc.cluster.local").rcode).toBe(RCODE.NXDOMAIN);
    services.add(service("late", { clusterIP: "10.96.0.99", ports: [{ port: 80 }] }));
    expect(data(ask(zone, "late.default.svc.cluster.local").answers)).toEqual(["10.96.0.99"]);
    services.update(service("late", { clusterIP: "10.96.0.98", ports: [{ port: 80 }] }));
    expect(data(ask(zone, "late.default.svc.cluster.local").answers)).toEqual(["10.96.0.98"]);
    expect(data(ask(zone, "98.0.96.10.in-addr.arpa", "PTR").answers)).toEqual(["late.default.svc.cluster.local"]);
    slices.update(slice("db", "db-abc", [{ addresses: ["10.244.9.9"], hostname: "db-0" }], [{ name: "pg", port: 5432 }]));
    expect(data(ask(zone, "db.default.svc.cluster.local").answers)).toEqual(["10.244.9.9"]);
    services.delete(service("late", {}));
    expect(ask(zone, "late.default.svc.cluster.local").rcode).toBe(RCODE.NXDOMAIN);
  });
});

describe("reverseNameAddress", () => {
  it("reads IPv4 and IPv6 reverse names", () => {
    expect(reverseNameAddress("4.3.2.1.in-addr.arpa.")).toBe("1.2.3.4");
    expect(reverseNameAddress("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa")).toBe("fd00::1");
    expect(reverseNameAddress("3.2.1.in-addr.arpa")).toBeUndefined();
    expect(reverseNameAddress("example.com")).toBeUndefined();
  });
});
