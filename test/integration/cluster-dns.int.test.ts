// kubelab-dns as a real process (dist/cluster-dns/main.js, build first) against a real apiserver on a real etcd,
// on 127.0.0.1 and free ports, asked by real resolver clients (c-ares through node:dns, and busybox's nslookup):
// a Service's A record and PTR, a headless Service's endpoints, hostnames and SRV from an EndpointSlice, NXDOMAIN,
// dns-version, forwarding to a fake upstream resolver on loopback, changes visible within a second, and the
// CoreDNS-style /health, /ready and /metrics.
import dnsPacket from "dns-packet";
import { execFile } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { Resolver } from "node:dns/promises";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESOURCES } from "../../api/resources.js";
import type { EndpointSlice, Service } from "../../api/types/index.js";
import { RestClient } from "../../client/rest.js";
import type { Component } from "../../lab/components/component.js";
import type { ManagedProcess } from "../../lab/process/runner.js";
import { REPO_ROOT, startTestCluster, waitFor, type TestCluster, clientConfigFor } from "../support/apiserver.js";
import { testProcesses } from "../support/processes.js";

const execFileAsync = promisify(execFile);
const SERVICES = RESOURCES.find((r) => r.group === "" && r.resource === "services")!;
const ENDPOINT_SLICES = RESOURCES.find((r) => r.group === "discovery.k8s.io" && r.resource === "endpointslices")!;
const APISERVER_ARGS = ["--advertise-address", "172.30.0.1"];
const SERVING_DNS = /"dnsPort":(\d+),"healthPort":(\d+),"readinessPort":(\d+),"metricsPort":(\d+)[^\n]*"msg":"Serving DNS"/;

/**
 * kubelab-dns described for the process runner. lab/components has no entry for it yet (the lab's part, see the
 * cluster-dns report); `kind` only labels the process for the runner.
 */
function clusterDnsComponent(args: readonly string[]): Component {
  return {
    name: "kubelab-dns",
    kind: "cluster-dns",
    program: { kind: "node", entry: join(REPO_ROOT, "dist", "cluster-dns", "main.js") },
    args,
    ports: {},
    readiness: { kind: "log", pattern: SERVING_DNS },
    links: ["kube-apiserver"],
  };
}

interface FakeUpstream {
  port: number;
  asked: string[];
}

/** An upstream resolver on loopback (UDP) that knows one name outside the cluster. */
async function startFakeUpstream(): Promise<FakeUpstream> {
  const socket: Socket = createSocket("udp4");
  const asked: string[] = [];
  socket.on("message", (message, from) => {
    const query = dnsPacket.decode(message);
    const question = query.questions?.[0];
    if (!question) return;
    asked.push(`${question.name} ${question.type}`);
    const known = question.name.toLowerCase() === "outside.example" && question.type === "A";
    const reply = dnsPacket.encode({
      type: "response",
      id: query.id ?? 0,
      flags: dnsPacket.RECURSION_AVAILABLE | (known ? 0 : 3),
      questions: query.questions ?? [],
      answers: known ? [{ type: "A", name: question.name, ttl: 60, class: "IN", data: "192.0.2.44" }] : [],
    });
    socket.send(reply, from.port, from.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  testProcesses.onTeardown("close the fake upstream resolver", () => {
    socket.close();
  });
  return { port: socket.address().port, asked };
}

function service(name: string, spec: NonNullable<Service["spec"]>): Service {
  return { apiVersion: "v1", kind: "Service", metadata: { name, namespace: "default" }, spec };
}

function errorCode(err: unknown): string | undefined {
  return err instanceof Error && "code" in err && typeof err.code === "string" ? err.code : undefined;
}

describe("kubelab-dns", () => {
  let cluster: TestCluster;
  let client: RestClient;
  let dns: ManagedProcess;
  let upstream: FakeUpstream;
  let ports: { dns: number; health: number; ready: number; metrics: number };
  const resolver = new Resolver({ timeout: 2000, tries: 1 });

  beforeAll(async () => {
    cluster = await startTestCluster(APISERVER_ARGS);
    client = new RestClient(clientConfigFor(cluster.api), { qps: 0 });
    upstream = await startFakeUpstream();
    const started = await testProcesses.startReady(
      clusterDnsComponent([
        `--kubeconfig=${cluster.kubeconfig}`,
        "--dns-bind-address=127.0.0.1",
        "--dns-port=0",
        "--health-port=0",
        "--readiness-port=0",
        "--metrics-port=0",
        `--upstream=127.0.0.1:${upstream.port}`,
        "--upstream-timeout=1s",
      ]),
      { timeoutMs: 30_000 },
    );
    dns = started.process;
    const m = SERVING_DNS.exec(dns.logs())!;
    ports = { dns: Number(m[1]), health: Number(m[2]), ready: Number(m[3]), metrics: Number(m[4]) };
    resolver.setServers([`127.0.0.1:${ports.dns}`]);
  }, 60_000);

  afterAll(async () => {
    await dns?.stop("SIGKILL");
    client?.close();
    await cluster?.destroy();
  });

  it("answers a Service's A record with the ClusterIP the apiserver allocated, and its PTR", async () => {
    const created = await client.create<Service>(SERVICES, "default", service("mysql", { ports: [{ name: "mysql", port: 3306, protocol: "TCP" }], selector: { app: "mysql" } }));
    const clusterIP = created.spec!.clusterIP!;
    expect(await waitFor("mysql's A record", async () => (await resolver.resolve4("mysql.default.svc.cluster.local"))[0])).toBe(clusterIP);
    expect(await resolver.reverse(clusterIP)).toEqual(["mysql.default.svc.cluster.local"]);
    expect(await resolver.resolveSrv("_mysql._tcp.mysql.default.svc.cluster.local")).toEqual([{ name: "mysql.default.svc.cluster.local", port: 3306, priority: 0, weight: 100 }]);
    // An IPv4-only Service has no AAAA records: NODATA, not NXDOMAIN.
    await expect(resolver.resolve6("mysql.default.svc.cluster.local")).rejects.toMatchObject({ code: "ENODATA" });
  });

  it("answers busybox's nslookup, a resolver client of its own", async (ctx) => {
    if (!existsSync("/bin/busybox")) {
      console.log("busybox-static is not installed (/bin/busybox): skipping the nslookup check");
      ctx.skip();
    }
    const created = await client.get<Service>(SERVICES, "default", "mysql").catch(() => client.create<Service>(SERVICES, "default", service("mysql", { ports: [{ port: 3306 }] })));
    const { stdout } = await execFileAsync("/bin/busybox", ["nslookup", "-type=a", "mysql.default.svc.cluster.local", `127.0.0.1:${ports.dns}`], { timeout: 10_000 });
    expect(stdout).toContain(`Address: ${created.spec!.clusterIP!}`);
  });

  it("answers a headless Service with its ready endpoints, their hostnames, SRV targets and PTRs", async () => {
    await client.create<Service>(SERVICES, "default", service("db", { clusterIP: "None", ports: [{ name: "pg", port: 5432, protocol: "TCP" }], selector: { app: "db" } }));
    const slice: EndpointSlice = {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "db-x1", namespace: "default", labels: { "kubernetes.io/service-name": "db" } },
      addressType: "IPv4",
      endpoints: [
        { addresses: ["10.244.1.5"], hostname: "db-0", conditions: { ready: true } },
        { addresses: ["10.244.2.6"], hostname: "db-1", conditions: { ready: true } },
        { addresses: ["10.244.3.7"], hostname: "db-2", conditions: { ready: false } },
      ],
      ports: [{ name: "pg", port: 5432, protocol: "TCP" }],
    };
    await client.create<EndpointSlice>(ENDPOINT_SLICES, "default", slice);
    const addresses = await waitFor("db's endpoints", async () => {
      const found = (await resolver.resolve4("db.default.svc.cluster.local")).sort();
      return found.length === 2 ? found : undefined;
    });
    expect(addresses).toEqual(["10.244.1.5", "10.244.2.6"]);
    expect(await resolver.resolve4("db-1.db.default.svc.cluster.local")).toEqual(["10.244.2.6"]);
    const srv = await resolver.resolveSrv("_pg._tcp.db.default.svc.cluster.local");
    expect(srv.map((r) => `${r.name}:${r.port}`).sort()).toEqual(["db-0.db.default.svc.cluster.local:5432", "db-1.db.default.svc.cluster.local:5432"]);
    expect(await resolver.reverse("10.244.1.5")).toEqual(["db-0.db.default.svc.cluster.local"]);
  });

  it("sends an answer too big for UDP truncated, and whole over TCP when the resolver asks again", async () => {
    await client.create<Service>(SERVICES, "default", service("many", { clusterIP: "None", ports: [{ port: 80 }], selector: { app: "many" } }));
    const addresses = Array.from({ length: 40 }, (_, i) => `10.244.7.${i + 1}`);
    const slice: EndpointSlice = {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: { name: "many-x1", namespace: "default", labels: { "kubernetes.io/service-name": "many" } },
      addressType: "IPv4",
      endpoints: addresses.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    };
    await client.create<EndpointSlice>(ENDPOINT_SLICES, "default", slice);
    // 40 A records need ~1,900 bytes: c-ares gets TC over UDP and retries over TCP.
    const found = await waitFor("40 addresses", async () => {
      const got = await resolver.resolve4("many.default.svc.cluster.local");
      return got.length === 40 ? got : undefined;
    });
    expect(found.sort()).toEqual([...addresses].sort());
    const metrics = await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text();
    expect(metrics).toMatch(/coredns_dns_requests_total\{[^}]*proto="tcp"[^}]*type="A"\} \d+/);
  });

  it("says NXDOMAIN for unknown names in the cluster domain, and serves dns-version and pod names", async () => {
    await expect(resolver.resolve4("nope.default.svc.cluster.local")).rejects.toMatchObject({ code: "ENOTFOUND" });
    await expect(resolver.resolve4("mysql.default.svc.cluster.local.default.svc.cluster.local")).rejects.toMatchObject({ code: "ENOTFOUND" });
    expect(await resolver.resolveTxt("dns-version.cluster.local")).toEqual([["1.1.0"]]);
    expect(await resolver.resolve4("10-244-1-5.default.pod.cluster.local")).toEqual(["10.244.1.5"]);
    // None of these reached the upstream.
    expect(upstream.asked.filter((q) => q.includes("cluster.local"))).toEqual([]);
  });

  it("forwards names outside the cluster to the upstream resolver", async () => {
    expect(await resolver.resolve4("outside.example")).toEqual(["192.0.2.44"]);
    expect(upstream.asked).toContain("outside.example A");
    const err: unknown = await resolver.resolve4("missing.example").catch((e: unknown) => e);
    expect(errorCode(err)).toBe("ENOTFOUND");
  });

  it("shows a new Service, a changed one and a deleted one within a second", async () => {
    const started = Date.now();
    const created = await client.create<Service>(SERVICES, "default", service("late", { ports: [{ port: 80 }], selector: { app: "late" } }));
    await waitFor("late's A record", async () => ((await resolver.resolve4("late.default.svc.cluster.local"))[0] === created.spec!.clusterIP ? true : undefined), 1000, 20);
    expect(Date.now() - started).toBeLessThan(1000);
    const deleting = Date.now();
    await client.delete(SERVICES, "default", "late");
    await waitFor(
      "late to be gone",
      () =>
        resolver.resolve4("late.default.svc.cluster.local").then(
          () => undefined,
          (e: unknown) => errorCode(e) === "ENOTFOUND" || undefined,
        ),
      1000,
      20,
    );
    expect(Date.now() - deleting).toBeLessThan(1000);
  });

  it("answers for the kube-dns add-on applied with the real kubectl: the Service at 10.96.0.10 and its PTR", async () => {
    const values: Record<string, string> = {
      __DNS__SERVER__: "10.96.0.10",
      __DNS__DOMAIN__: "cluster.local",
      __DNS__IMAGE__: "kubelab/dns:0.1.0",
      __DNS__REPLICAS__: "2",
      __DNS__MEMORY__LIMIT__: "170Mi",
      __KUBE_MASTER__: cluster.apiserver.url,
    };
    let manifest = readFileSync(join(REPO_ROOT, "addons", "dns", "kube-dns.yaml.base"), "utf8");
    for (const [placeholder, value] of Object.entries(values)) manifest = manifest.replaceAll(placeholder, value);
    const applied = await cluster.kubectl(["apply", "-f", "-"], { stdin: manifest });
    expect(applied.stdout).toContain("service/kube-dns created");
    expect(applied.stdout).toContain("deployment.apps/kube-dns created");
    const svc = await cluster.kubectl(["get", "service", "kube-dns", "-n", "kube-system", "-o", "jsonpath={.spec.clusterIP}"]);
    expect(svc.stdout).toBe("10.96.0.10");
    expect(await waitFor("kube-dns's A record", async () => (await resolver.resolve4("kube-dns.kube-system.svc.cluster.local"))[0])).toBe("10.96.0.10");
    expect(await resolver.reverse("10.96.0.10")).toEqual(["kube-dns.kube-system.svc.cluster.local"]);
    const srv = await resolver.resolveSrv("_dns-tcp._tcp.kube-dns.kube-system.svc.cluster.local");
    expect(srv).toEqual([{ name: "kube-dns.kube-system.svc.cluster.local", port: 53, priority: 0, weight: 100 }]);
  });

  it("serves /health, /ready and CoreDNS's metrics", async () => {
    const health = await fetch(`http://127.0.0.1:${ports.health}/health`);
    expect([health.status, await health.text()]).toEqual([200, "OK"]);
    const ready = await fetch(`http://127.0.0.1:${ports.ready}/ready`);
    expect([ready.status, await ready.text()]).toEqual([200, "OK"]);
    const metrics = await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`coredns_dns_requests_total\\{server="dns://127.0.0.1:${ports.dns}",zone=".",proto="udp",family="1",type="A"\\} \\d+`));
    expect(metrics).toMatch(/coredns_dns_responses_total\{[^}]*rcode="NXDOMAIN",plugin="kubernetes"\} \d+/);
    expect(metrics).toMatch(new RegExp(`coredns_forward_requests_total\\{to="127.0.0.1:${upstream.port}"\\} \\d+`));
    expect(metrics).toMatch(/coredns_dns_request_duration_seconds_bucket/);
  });
});
