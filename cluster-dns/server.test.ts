import dnsPacket, { type Answer, type DecodedPacket, type Packet, type Question } from "dns-packet";
import { createSocket, type Socket } from "node:dgram";
import { createServer, connect, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { RESOURCES } from "../api/resources.js";
import type { EndpointSlice, Service } from "../api/types/index.js";
import { FakeInformer } from "../client/testing/fake-informer.js";
import { createLogger } from "../component-base/logging.js";
import { createRegistry } from "../component-base/metrics.js";
import { FakeClock } from "../component-base/testing/fake-clock.js";
import { defaultUpstreams, Forwarder, parseUpstream, ResponseCache, resolvConfNameservers, type Upstream } from "./forward.js";
import { dnsMetrics } from "./metrics.js";
import { DnsServer, respond, type ResponderOptions } from "./server.js";
import { TcpFrameReader, tcpFrame } from "./tcp-framing.js";
import { ClusterZone, RCODE } from "./zone.js";

const SERVICES = RESOURCES.find((r) => r.resource === "services")!;
const SLICES = RESOURCES.find((r) => r.resource === "endpointslices")!;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function zoneWith(services: Service[] = [], slices: EndpointSlice[] = []): ClusterZone {
  return new ClusterZone({ services: new FakeInformer<Service>(SERVICES, services), endpointSlices: new FakeInformer<EndpointSlice>(SLICES, slices) }, { domain: "cluster.local", serial: () => 1 });
}

const MYSQL: Service = { apiVersion: "v1", kind: "Service", metadata: { name: "mysql", namespace: "default" }, spec: { clusterIP: "10.96.0.20", ports: [{ port: 3306 }] } };

let nextId = 1;
function query(name: string, type: Question["type"] = "A", opts: { edns?: boolean } = {}): { id: number; message: Buffer } {
  const id = nextId++;
  const packet: Packet = { type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type, class: "IN" }] };
  if (opts.edns) packet.additionals = [{ type: "OPT", name: ".", udpPayloadSize: 4096, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }];
  return { id, message: dnsPacket.encode(packet) };
}

async function ask(name: string, type: Question["type"], opts: ResponderOptions, transport: "udp" | "tcp" = "udp", edns = false): Promise<DecodedPacket> {
  const q = query(name, type, { edns });
  const reply = await respond(q.message, { transport, family: "IPv4" }, opts);
  if (!reply) throw new Error("no reply");
  const decoded = dnsPacket.decode(reply);
  expect(decoded.id).toBe(q.id);
  return decoded;
}

function rcode(packet: DecodedPacket): number {
  return (packet.flags ?? 0) & 0xf;
}

/** A fake upstream resolver on loopback, UDP and TCP on one port, answering with `answer(question, transport)`. */
interface FakeUpstream {
  upstream: Upstream;
  queries: { name: string; transport: "udp" | "tcp" }[];
}

/**
 * A UDP socket and `tcp` listening on the same free loopback port, as a DNS server does. The UDP port is free when
 * bound, but its TCP twin may be taken (by another test's connection): then try another port.
 */
async function udpAndTcpOnOnePort(tcp: Server): Promise<{ udp: Socket; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const udp: Socket = createSocket("udp4");
    await new Promise<void>((resolve) => udp.bind(0, "127.0.0.1", resolve));
    const port = udp.address().port;
    const listened = await new Promise<boolean>((resolve) => {
      tcp.once("error", () => { resolve(false); });
      tcp.listen(port, "127.0.0.1", () => { tcp.removeAllListeners("error"); resolve(true); });
    });
    if (listened) return { udp, port };
    udp.close();
    if (attempt >= 20) throw new Error("no loopback port free for both UDP and TCP after 20 tries");
  }
}

async function fakeUpstream(answer: (q: Question, transport: "udp" | "tcp") => { answers?: Answer[]; rcode?: number; truncate?: boolean; silent?: boolean }): Promise<FakeUpstream> {
  const queries: FakeUpstream["queries"] = [];
  const reply = (message: Buffer, transport: "udp" | "tcp"): Buffer | undefined => {
    const q = dnsPacket.decode(message);
    const question = q.questions![0]!;
    queries.push({ name: question.name, transport });
    const a = answer(question, transport);
    if (a.silent) return undefined;
    return dnsPacket.encode({
      type: "response",
      id: q.id ?? 0,
      flags: (a.rcode ?? 0) | (a.truncate ? dnsPacket.TRUNCATED_RESPONSE : 0) | dnsPacket.RECURSION_AVAILABLE,
      questions: q.questions ?? [],
      answers: a.truncate ? [] : (a.answers ?? []),
      authorities: a.rcode === RCODE.NXDOMAIN ? [{ type: "SOA", name: "org", ttl: 60, class: "IN", data: { mname: "ns.org", rname: "h.org", serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 60 } }] : [],
    });
  };
  const tcp: Server = createServer((socket) => {
    const reader = new TcpFrameReader();
    socket.on("data", (chunk) => {
      for (const m of reader.push(chunk)) {
        const r = reply(m, "tcp");
        if (r) socket.write(tcpFrame(r));
      }
    });
    socket.on("error", () => undefined);
  });
  const { udp, port } = await udpAndTcpOnOnePort(tcp);
  udp.on("message", (message, from) => {
    const r = reply(message, "udp");
    if (r) udp.send(r, from.port, from.address);
  });
  cleanups.push(
    () => {
      udp.close();
    },
    () =>
      new Promise<void>((resolve) => {
        tcp.close(() => {
          resolve();
        });
      }),
  );
  return { upstream: parseUpstream(`127.0.0.1:${port}`), queries };
}

const A = (name: string, ip: string, ttl = 60): Answer => ({ type: "A", name, ttl, class: "IN", data: ip });

describe("respond", () => {
  it("answers cluster names itself, authoritative, echoing the question and the client's RD", async () => {
    const reply = await ask("mysql.default.svc.cluster.local", "A", { zone: zoneWith([MYSQL]) });
    expect(reply.flag_aa).toBe(true);
    expect(reply.flag_rd).toBe(true);
    expect(reply.questions).toEqual([{ name: "mysql.default.svc.cluster.local", type: "A", class: "IN" }]);
    expect(reply.answers?.map((a) => "data" in a && a.data)).toEqual(["10.96.0.20"]);
  });

  it("answers NXDOMAIN with the SOA for unknown cluster names without asking upstream", async () => {
    const up = await fakeUpstream(() => ({ answers: [] }));
    const reply = await ask("nope.default.svc.cluster.local", "A", { zone: zoneWith(), forwarder: new Forwarder({ upstreams: [up.upstream], timeoutMs: 1000 }) });
    expect(rcode(reply)).toBe(RCODE.NXDOMAIN);
    expect(reply.authorities?.map((a) => a.type)).toEqual(["SOA"]);
    expect(up.queries).toEqual([]);
  });

  it("forwards other names to the upstream and relays its answer and rcode", async () => {
    const up = await fakeUpstream((q) => (q.name === "example.org" ? { answers: [A("example.org", "192.0.2.1")] } : { rcode: RCODE.NXDOMAIN }));
    const opts: ResponderOptions = { zone: zoneWith(), forwarder: new Forwarder({ upstreams: [up.upstream], timeoutMs: 1000 }) };
    const reply = await ask("example.org", "A", opts);
    expect(rcode(reply)).toBe(RCODE.NOERROR);
    expect(reply.flag_aa).toBe(false);
    expect(reply.answers?.map((a) => "data" in a && a.data)).toEqual(["192.0.2.1"]);
    expect(rcode(await ask("missing.org", "A", opts))).toBe(RCODE.NXDOMAIN);
    expect(up.queries).toEqual([
      { name: "example.org", transport: "udp" },
      { name: "missing.org", transport: "udp" },
    ]);
  });

  it("retries over TCP when the upstream's UDP answer is truncated, and asks over TCP when the client did", async () => {
    const up = await fakeUpstream((q, transport) => (transport === "udp" ? { truncate: true } : { answers: [A(q.name, "192.0.2.7")] }));
    const opts: ResponderOptions = { zone: zoneWith(), forwarder: new Forwarder({ upstreams: [up.upstream], timeoutMs: 1000 }) };
    const reply = await ask("big.example.org", "A", opts);
    expect(reply.flag_tc).toBe(false);
    expect(reply.answers?.map((a) => "data" in a && a.data)).toEqual(["192.0.2.7"]);
    await ask("tcp.example.org", "A", opts, "tcp");
    expect(up.queries).toEqual([
      { name: "big.example.org", transport: "udp" },
      { name: "big.example.org", transport: "tcp" },
      { name: "tcp.example.org", transport: "tcp" },
    ]);
  });

  it("tries the next upstream when one times out, and says SERVFAIL when none answers", async () => {
    const silent = await fakeUpstream(() => ({ silent: true }));
    const good = await fakeUpstream((q) => ({ answers: [A(q.name, "192.0.2.9")] }));
    const reply = await ask("x.example.org", "A", { zone: zoneWith(), forwarder: new Forwarder({ upstreams: [silent.upstream, good.upstream], timeoutMs: 200 }) });
    expect(reply.answers?.map((a) => "data" in a && a.data)).toEqual(["192.0.2.9"]);
    expect(silent.queries.length).toBe(1);
    const failed = await ask("y.example.org", "A", { zone: zoneWith(), forwarder: new Forwarder({ upstreams: [silent.upstream], timeoutMs: 200 }) });
    expect(rcode(failed)).toBe(RCODE.SERVFAIL);
    expect(rcode(await ask("z.example.org", "A", { zone: zoneWith() }))).toBe(RCODE.SERVFAIL);
  });

  it("says SERVFAIL at once, not at the timeout, when the upstream is unreachable (an ICMP error)", async () => {
    // A port nothing listens on: the kernel answers the datagram with ICMP port unreachable.
    const closed = createSocket("udp4");
    await new Promise<void>((resolve) => closed.bind(0, "127.0.0.1", resolve));
    const port = closed.address().port;
    await new Promise<void>((resolve) => closed.close(() => { resolve(); }));
    const started = Date.now();
    const failed = await ask("z.example.org", "A", { zone: zoneWith(), forwarder: new Forwarder({ upstreams: [parseUpstream(`127.0.0.1:${port}`)], timeoutMs: 5_000 }) });
    expect(rcode(failed)).toBe(RCODE.SERVFAIL);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("caches forwarded answers for their TTL (at most the cache TTL), counting the TTL down", async () => {
    const up = await fakeUpstream((q) => ({ answers: [A(q.name, "192.0.2.3", 60)] }));
    const clock = new FakeClock(1_000_000);
    const registry = createRegistry({ defaultMetrics: false });
    const metrics = dnsMetrics(registry);
    const opts: ResponderOptions = {
      zone: zoneWith(),
      forwarder: new Forwarder({ upstreams: [up.upstream], timeoutMs: 1000 }),
      cache: new ResponseCache({ maxTtlSeconds: 30, clock, metrics }),
      metrics,
      clock,
    };
    expect((await ask("c.example.org", "A", opts)).answers?.[0]).toMatchObject({ ttl: 60 });
    clock.step(10_000);
    expect((await ask("C.example.org.", "A", opts)).answers?.[0]).toMatchObject({ ttl: 50, name: "c.example.org" });
    expect(up.queries.length).toBe(1);
    clock.step(21_000);
    await ask("c.example.org", "A", opts);
    expect(up.queries.length).toBe(2);
    const text = await registry.metrics();
    expect(text).toMatch(/coredns_cache_hits_total\{server="dns:\/\/:53",type="success"\} 1/);
    expect(text).toMatch(/coredns_dns_responses_total\{server="dns:\/\/:53",zone=".",rcode="NOERROR",plugin="cache"\} 1/);
    expect(text).toMatch(/coredns_dns_requests_total\{server="dns:\/\/:53",zone=".",proto="udp",family="1",type="A"\} 3/);
  });

  it("truncates a UDP reply larger than the client accepts, and sends it whole over TCP or with EDNS", async () => {
    const slices: EndpointSlice[] = [
      {
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: { name: "big-1", namespace: "default", labels: { "kubernetes.io/service-name": "big" } },
        addressType: "IPv4",
        endpoints: Array.from({ length: 20 }, (_, i) => ({ addresses: [`10.244.0.${i + 1}`] })),
      },
    ];
    const zone = zoneWith([{ apiVersion: "v1", kind: "Service", metadata: { name: "big", namespace: "default" }, spec: { clusterIP: "None" } }], slices);
    const udp = await ask("big.default.svc.cluster.local", "A", { zone });
    expect(udp.flag_tc).toBe(true);
    expect(udp.answers).toEqual([]);
    expect((await ask("big.default.svc.cluster.local", "A", { zone }, "tcp")).answers?.length).toBe(20);
    const edns = await ask("big.default.svc.cluster.local", "A", { zone }, "udp", true);
    expect([edns.flag_tc, edns.answers?.length]).toEqual([false, 20]);
    expect(edns.additionals?.map((a) => a.type)).toEqual(["OPT"]);
  });

  it("gives no reply to what is not a query and FORMERR to a query without a question", async () => {
    expect(await respond(Buffer.from([1, 2, 3]), { transport: "udp", family: "IPv4" }, { zone: zoneWith() })).toBeUndefined();
    const empty = dnsPacket.encode({ type: "query", id: 7, questions: [] });
    const reply = dnsPacket.decode((await respond(empty, { transport: "udp", family: "IPv4" }, { zone: zoneWith() }))!);
    expect(rcode(reply)).toBe(RCODE.FORMERR);
  });
});

describe("DnsServer", () => {
  it("serves UDP and TCP on one port", async () => {
    const server = new DnsServer({ zone: zoneWith([MYSQL]), bindAddress: "127.0.0.1", port: 0, logger: createLogger("test", { level: "silent" }) });
    const port = await server.listen();
    cleanups.push(() => server.close());
    const q = query("mysql.default.svc.cluster.local");
    const udp = createSocket("udp4");
    cleanups.push(() => {
      udp.close();
    });
    const viaUdp = await new Promise<DecodedPacket>((resolve) => {
      udp.on("message", (m) => {
        resolve(dnsPacket.decode(m));
      });
      udp.send(q.message, port, "127.0.0.1");
    });
    expect(viaUdp.answers?.map((a) => "data" in a && a.data)).toEqual(["10.96.0.20"]);
    const viaTcp = await new Promise<DecodedPacket>((resolve, reject) => {
      const socket = connect(port, "127.0.0.1", () => socket.write(tcpFrame(q.message)));
      const reader = new TcpFrameReader();
      socket.on("data", (chunk) => {
        const [m] = reader.push(chunk);
        if (m) {
          socket.destroy();
          resolve(dnsPacket.decode(m));
        }
      });
      socket.on("error", reject);
    });
    expect(viaTcp.answers?.map((a) => "data" in a && a.data)).toEqual(["10.96.0.20"]);
  });
});

describe("upstreams", () => {
  it("parses IP and IP:port forms", () => {
    expect(parseUpstream("10.0.0.2")).toEqual({ host: "10.0.0.2", port: 53, label: "10.0.0.2:53" });
    expect(parseUpstream("10.0.0.2:5353")).toEqual({ host: "10.0.0.2", port: 5353, label: "10.0.0.2:5353" });
    expect(parseUpstream("fd00::2")).toEqual({ host: "fd00::2", port: 53, label: "[fd00::2]:53" });
    expect(parseUpstream("[fd00::2]:5353")).toEqual({ host: "fd00::2", port: 5353, label: "[fd00::2]:5353" });
    expect(() => parseUpstream("dns.example.org")).toThrow(/invalid upstream/);
  });

  it("reads resolv.conf's nameservers and skips this server itself", async () => {
    expect(resolvConfNameservers("# c\nsearch x\nnameserver 10.0.0.2\nnameserver 127.0.0.53 # stub\nnameserver bogus\n")).toEqual(["10.0.0.2", "127.0.0.53"]);
    const { writeFileSync, mkdtempSync, rmSync } = await import("node:fs");
    const dir = mkdtempSync("/tmp/kdns-resolv-");
    cleanups.push(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    writeFileSync(`${dir}/resolv.conf`, "nameserver 10.0.0.2\nnameserver 127.0.0.53\nnameserver 192.168.1.5\n");
    const base = { resolvConf: `${dir}/resolv.conf`, localAddresses: ["192.168.1.5"] };
    expect(defaultUpstreams({ ...base, dnsPort: 53, bindAddress: "0.0.0.0" }).map((u) => u.label)).toEqual(["10.0.0.2:53"]);
    expect(defaultUpstreams({ ...base, dnsPort: 5353, bindAddress: "0.0.0.0" }).map((u) => u.label)).toEqual(["10.0.0.2:53", "127.0.0.53:53", "192.168.1.5:53"]);
    expect(defaultUpstreams({ ...base, resolvConf: `${dir}/missing`, dnsPort: 53, bindAddress: "0.0.0.0" })).toEqual([]);
  });
});
