// kube-proxy's iptables mode for real: the proxier runs in this process against a real apiserver on a real etcd,
// and drives the real iptables-save / iptables-restore / conntrack inside a throwaway network namespace
// (`ip netns exec`), so the host's rules are never touched. In the namespace a veth interface holds two addresses
// standing for pods (10.244.1.5 and 10.244.1.6), where a small TCP server answers with the address it was reached
// on; connections to the Service's ClusterIP and NodePort are made from inside the namespace (the OUTPUT path).
// KPROXY_LOGS=1 prints kube-proxy's log.
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer, connect as connectTcp } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESOURCES } from "../api/resources.js";
import type { Service } from "../api/types/core.js";
import type { EndpointSlice } from "../api/types/discovery.js";
import { RestClient } from "../client/rest.js";
import { parseFlags } from "../component-base/flags.js";
import { createLogger, silentLogger } from "../component-base/logging.js";
import { createRegistry, type Registry } from "../component-base/metrics.js";
import { REPO_ROOT, startTestCluster, waitFor, type TestCluster } from "../test/support/apiserver.js";
import { testProcesses } from "../test/support/processes.js";
import { runKubeProxy } from "./app.js";
import { execRunner } from "./exec.js";
import { servicePortChainName, servicePortEndpointChainName } from "./iptables/chains.js";
import { kubeProxyFlags } from "./options.js";

const run = promisify(execFile);
const SERVICES = RESOURCES.find((r) => r.group === "" && r.resource === "services")!;
const SLICES = RESOURCES.find((r) => r.group === "discovery.k8s.io" && r.resource === "endpointslices")!;
const NETNS = `kproxy-${randomBytes(3).toString("hex")}`;
const NS = "default";

/** Answers every connection with the address:port it was reached on, then closes. */
const SERVER = `
const net = require("node:net");
const dgram = require("node:dgram");
for (const host of ["10.244.1.5", "10.244.1.6"]) {
  net.createServer((s) => { s.end(s.localAddress + ":" + s.localPort + "\\n"); }).listen(8080, host);
  const udp = dgram.createSocket("udp4");
  udp.on("message", (_msg, from) => { udp.send(host + ":5353", from.port, from.address); });
  udp.bind(5353, host);
}
// The apiserver, for the kube-proxy binary run inside the namespace: 127.0.0.1:16443 here relays to a unix socket
// the test serves from the host's namespace (filesystem sockets cross network namespaces).
net.createServer((c) => {
  const u = net.connect(process.argv[1]);
  c.pipe(u).pipe(c);
  c.on("error", () => u.destroy());
  u.on("error", () => c.destroy());
}).listen(16443, "127.0.0.1");
setTimeout(() => console.log("listening"), 200);
`;

/** Sends one datagram from a fixed source port (so conntrack sees the same flow each time) and prints the answer. */
const UDP_CLIENT = `
const dgram = require("node:dgram");
const [host, port, sport] = process.argv.slice(1);
const s = dgram.createSocket("udp4");
const t = setTimeout(() => { console.log("timeout"); process.exit(0); }, 2000);
s.on("message", (m) => { clearTimeout(t); console.log(String(m)); process.exit(0); });
s.bind(Number(sport), () => { s.send("q", Number(port), host); });
`;

/** Connects from inside the namespace; prints what happened as one word or the answer. */
const CLIENT = `
const net = require("node:net");
const [host, port, ms] = process.argv.slice(1);
const s = net.connect({ host, port: Number(port) });
let data = "";
const t = setTimeout(() => { console.log("timeout"); process.exit(0); }, Number(ms));
s.on("data", (d) => { data += d; });
s.on("end", () => { clearTimeout(t); console.log(data.trim()); process.exit(0); });
s.on("error", (e) => { clearTimeout(t); console.log(e.code === "ECONNREFUSED" ? "refused" : e.code); process.exit(0); });
`;

function inNetns(...args: string[]): string {
  return execFileSync("ip", ["netns", "exec", NETNS, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

async function connect(host: string, port: number, ms = 2000): Promise<string> {
  const { stdout } = await run("ip", ["netns", "exec", NETNS, process.execPath, "-e", CLIENT, host, String(port), String(ms)], { encoding: "utf8" });
  return stdout.trim();
}

async function udpQuery(host: string, port: number, sourcePort: number): Promise<string> {
  const { stdout } = await run("ip", ["netns", "exec", NETNS, process.execPath, "-e", UDP_CLIENT, host, String(port), String(sourcePort)], { encoding: "utf8" });
  return stdout.trim();
}

function iptablesSave(): string {
  return inNetns("iptables-save");
}

function slice(name: string, service: string, endpoints: { ip: string; ready?: boolean; serving?: boolean; terminating?: boolean }[], triggerTime?: string, port: { name?: string; protocol?: "TCP" | "UDP"; port?: number } = {}): EndpointSlice {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name,
      namespace: NS,
      labels: { "kubernetes.io/service-name": service },
      ...(triggerTime ? { annotations: { "endpoints.kubernetes.io/last-change-trigger-time": triggerTime } } : {}),
    },
    addressType: "IPv4",
    ports: [{ name: port.name ?? "http", protocol: port.protocol ?? "TCP", port: port.port ?? 8080 }],
    endpoints: endpoints.map((e) => ({ addresses: [e.ip], conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false } })),
  };
}

describe.sequential("kube-proxy iptables mode (real iptables in a network namespace, real apiserver)", () => {
  let cluster: TestCluster;
  let client: RestClient;
  let server: ChildProcess | undefined;
  let proxy: { stop: AbortController; done: Promise<void>; ports: Promise<{ metrics: number; healthz: number }>; registry: Registry } | undefined;
  let removeNetns: (() => Promise<void>) | undefined;
  let clusterIP = "";
  let nodePort = 0;
  const svcChain = servicePortChainName("default/web:http", "TCP");

  function startProxy(): NonNullable<typeof proxy> {
    const flags = parseFlags(
      kubeProxyFlags,
      ["--master", cluster.apiserver.url, "--iptables-min-sync-period=50ms", "--iptables-sync-period=5s", "--cluster-cidr=10.244.0.0/16", "--healthz-bind-address=127.0.0.1:0", "--metrics-bind-address=127.0.0.1:0", "--hostname-override=node-a"],
      {
        command: "kube-proxy",
        exit: (code) => {
          throw new Error(`flags exit ${code}`);
        },
      },
    );
    const stop = new AbortController();
    const registry = createRegistry({ defaultMetrics: false });
    let onPorts: (p: { metrics: number; healthz: number }) => void = () => undefined;
    const ports = new Promise<{ metrics: number; healthz: number }>((resolve) => (onPorts = resolve));
    const logger = process.env.KPROXY_LOGS ? createLogger("kube-proxy", { verbosity: 4 }) : silentLogger();
    const done = runKubeProxy(flags, stop.signal, { registry, logger, runner: execRunner(["ip", "netns", "exec", NETNS]), onListening: onPorts });
    done.catch(() => undefined);
    return { stop, done, ports, registry };
  }

  async function stopProxy(): Promise<void> {
    if (!proxy) return;
    proxy.stop.abort();
    await proxy.done;
    proxy = undefined;
  }

  beforeAll(async () => {
    execFileSync("ip", ["netns", "add", NETNS]);
    removeNetns = testProcesses.onTeardown(`delete netns ${NETNS}`, () => {
      execFileSync("ip", ["netns", "delete", NETNS]);
    });
    inNetns("ip", "link", "set", "lo", "up");
    // A veth pair (dummy interfaces need a module this kernel may lack); kp1's side just has to be up.
    inNetns("ip", "link", "add", "kp0", "type", "veth", "peer", "name", "kp1");
    inNetns("ip", "link", "set", "kp1", "up");
    inNetns("ip", "addr", "add", "10.244.1.5/24", "dev", "kp0");
    inNetns("ip", "addr", "add", "10.244.1.6/24", "dev", "kp0");
    inNetns("ip", "link", "set", "kp0", "up");
    // Service IPs are routed somewhere (the dummy) so a connect reaches the OUTPUT chain at all.
    inNetns("ip", "route", "add", "default", "dev", "kp0");
    // Someone else's rules, which kube-proxy must leave alone.
    inNetns("iptables", "-t", "nat", "-N", "KUBELAB-OTHER");
    inNetns("iptables", "-t", "nat", "-A", "OUTPUT", "-d", "192.0.2.99/32", "-j", "KUBELAB-OTHER");
    inNetns("iptables", "-t", "filter", "-N", "KUBE-KUBELET-CANARY");
    inNetns("iptables", "-t", "filter", "-A", "INPUT", "-s", "192.0.2.98/32", "-j", "ACCEPT");

    const apiSocket = join(testProcesses.tempDir("kproxy-", tmpdir()), "apiserver.sock");
    server = spawn("ip", ["netns", "exec", NETNS, process.execPath, "-e", SERVER, apiSocket], { stdio: ["ignore", "pipe", "inherit"] });
    const srv = server;
    testProcesses.onTeardown("stop the endpoint server", () => {
      srv.kill("SIGKILL");
    });
    await new Promise<void>((resolve, reject) => {
      srv.stdout?.once("data", () => {
        resolve();
      });
      srv.once("exit", (code) => {
        reject(new Error(`endpoint server exited ${String(code)}`));
      });
    });

    cluster = await startTestCluster();
    const apiPort = Number(new URL(cluster.apiserver.url).port);
    const relay = createServer((c) => {
      const t = connectTcp(apiPort, "127.0.0.1");
      c.pipe(t).pipe(c);
      c.on("error", () => t.destroy());
      t.on("error", () => c.destroy());
    });
    await new Promise<void>((resolve) => relay.listen(apiSocket, resolve));
    testProcesses.onTeardown("close the apiserver relay", () => {
      relay.close();
    });
    client = new RestClient({ server: cluster.apiserver.url, namespace: NS }, { userAgent: "kproxy-int-test" });
    proxy = startProxy();
  });

  afterAll(async () => {
    await stopProxy();
    client?.close();
    server?.kill("SIGKILL");
    await cluster?.destroy();
    // The namespace's rules vanish with it.
    await removeNetns?.();
  });

  it("programs a NodePort Service's chains, commented with its name, and leaves others' rules alone", async () => {
    const svc = await client.create<Service>(SERVICES, NS, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web", namespace: NS },
      spec: { type: "NodePort", selector: { app: "web" }, ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }] },
    });
    clusterIP = svc.spec?.clusterIP ?? "";
    nodePort = svc.spec?.ports?.[0]?.nodePort ?? 0;
    expect(clusterIP).toMatch(/^10\./);
    expect(nodePort).toBeGreaterThan(0);
    await client.create(SLICES, NS, slice("web-abc", "web", [{ ip: "10.244.1.5" }], new Date().toISOString()));

    const saved = await waitFor("the Service's rules", () => {
      const text = iptablesSave();
      return text.includes(`-A ${svcChain}`) ? text : undefined;
    });
    expect(saved).toContain(`-A KUBE-SERVICES -d ${clusterIP}/32 -p tcp -m comment --comment "default/web:http cluster IP" -m tcp --dport 80 -j ${svcChain}`);
    const sep = servicePortEndpointChainName("default/web:http", "TCP", "10.244.1.5:8080");
    expect(saved).toContain(`:${sep} - [0:0]`);
    expect(saved).toMatch(new RegExp(`-A ${sep} .*-j DNAT --to-destination 10\\.244\\.1\\.5:8080`));
    expect(saved).toMatch(new RegExp(`-A KUBE-NODEPORTS .*--dport ${nodePort} -j KUBE-EXT-`));
    expect(saved).toContain('-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES');
    expect(saved).toContain('-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING');
    expect(saved).toContain("-A OUTPUT -d 192.0.2.99/32 -j KUBELAB-OTHER");
    expect(saved).toContain(":KUBE-KUBELET-CANARY - [0:0]");
    expect(saved).toContain("-A INPUT -s 192.0.2.98/32 -j ACCEPT");
  });

  it("carries traffic: ClusterIP:port and NodePort reach the endpoint", async () => {
    expect(await connect(clusterIP, 80)).toBe("10.244.1.5:8080");
    expect(await connect("10.244.1.6", nodePort)).toBe("10.244.1.5:8080");
  });

  it("syncs again without duplicating anything", async () => {
    const before = iptablesSave().split("\n").filter((l) => l.startsWith("-A") || l.startsWith(":")).sort();
    await client.patch(SERVICES, NS, "web", "merge", { metadata: { labels: { touched: "yes" } } });
    await new Promise((r) => setTimeout(r, 300));
    const after = iptablesSave().split("\n").filter((l) => l.startsWith("-A") || l.startsWith(":")).sort();
    expect(after).toEqual(before);
  });

  it("follows an EndpointSlice change: traffic spreads over both endpoints", async () => {
    await client.update(SLICES, NS, slice("web-abc", "web", [{ ip: "10.244.1.5" }, { ip: "10.244.1.6" }], new Date().toISOString()));
    await waitFor("two endpoints", () => iptablesSave().includes("--to-destination 10.244.1.6:8080") || undefined);
    const seen = new Set<string>();
    for (let i = 0; i < 30 && seen.size < 2; i++) seen.add(await connect(clusterIP, 80));
    expect([...seen].sort()).toEqual(["10.244.1.5:8080", "10.244.1.6:8080"]);
  });

  it("refuses connections at once when no endpoint is ready, and drains to terminating ones", async () => {
    await client.update(SLICES, NS, slice("web-abc", "web", [{ ip: "10.244.1.5", ready: false, serving: false }, { ip: "10.244.1.6", ready: false, serving: true, terminating: true }]));
    await waitFor("only the terminating endpoint", () => (!iptablesSave().includes("--to-destination 10.244.1.5:8080") ? true : undefined));
    expect(await connect(clusterIP, 80)).toBe("10.244.1.6:8080");

    await client.update(SLICES, NS, slice("web-abc", "web", [{ ip: "10.244.1.5", ready: false, serving: false }]));
    await waitFor("the REJECT rule", () => iptablesSave().includes('"default/web:http has no endpoints"') || undefined);
    const started = Date.now();
    expect(await connect(clusterIP, 80, 5000)).toBe("refused");
    expect(await connect("10.244.1.6", nodePort, 5000)).toBe("refused");
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it("keeps a client on one endpoint with sessionAffinity ClientIP, and serves externalIPs", async () => {
    const svc = await client.create<Service>(SERVICES, NS, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "sticky", namespace: NS },
      spec: { selector: { app: "sticky" }, sessionAffinity: "ClientIP", externalIPs: ["192.0.2.50"], ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }] },
    });
    await client.create(SLICES, NS, slice("sticky-1", "sticky", [{ ip: "10.244.1.5" }, { ip: "10.244.1.6" }]));
    await waitFor("the sticky Service's rules", () => iptablesSave().includes('"default/sticky:http external IP"') || undefined);
    expect(iptablesSave()).toMatch(/-m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-/);
    const answers = new Set<string>();
    for (let i = 0; i < 10; i++) answers.add(await connect(svc.spec?.clusterIP ?? "", 80));
    expect(answers.size).toBe(1);
    expect(await connect("192.0.2.50", 80)).toMatch(/^10\.244\.1\.[56]:8080$/);
    await client.delete(SERVICES, NS, "sticky");
    await client.delete(SLICES, NS, "sticky-1");
  });

  it("clears stale UDP conntrack entries: the same flow moves to the new endpoint", async () => {
    const svc = await client.create<Service>(SERVICES, NS, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "udp-echo", namespace: NS },
      spec: { selector: { app: "udp-echo" }, ports: [{ name: "dns", protocol: "UDP", port: 53, targetPort: 5353 }] },
    });
    const ip = svc.spec?.clusterIP ?? "";
    const udpPort = { name: "dns", protocol: "UDP" as const, port: 5353 };
    await client.create(SLICES, NS, slice("udp-echo-1", "udp-echo", [{ ip: "10.244.1.5" }], undefined, udpPort));
    await waitFor("the UDP Service's rules", () => iptablesSave().includes("--to-destination 10.244.1.5:5353") || undefined);
    expect(await udpQuery(ip, 53, 40123)).toBe("10.244.1.5:5353");
    expect(inNetns("conntrack", "-L", "-p", "udp")).toContain("sport=40123");

    await client.update(SLICES, NS, slice("udp-echo-1", "udp-echo", [{ ip: "10.244.1.6" }], undefined, udpPort));
    await waitFor("the new UDP endpoint", () => (iptablesSave().includes("--to-destination 10.244.1.6:5353") ? true : undefined));
    await waitFor("the stale flow cleared", () => (!inNetns("conntrack", "-L", "-p", "udp").includes("dport=5353 src=10.244.1.5") ? true : undefined), 5000);
    expect(await udpQuery(ip, 53, 40123)).toBe("10.244.1.6:5353");
    await client.delete(SERVICES, NS, "udp-echo");
    await client.delete(SLICES, NS, "udp-echo-1");
  });

  it("serves healthz (Kubernetes' JSON) and the sync metrics", async () => {
    const ports = await proxy!.ports;
    const res = await fetch(`http://127.0.0.1:${ports.healthz}/healthz`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { nodeName: string; nodeHealthy: boolean; lastUpdated: string };
    expect(body).toMatchObject({ nodeName: "node-a", nodeHealthy: true });
    expect((await fetch(`http://127.0.0.1:${ports.healthz}/livez`)).status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text();
    expect(metrics).toMatch(/kubeproxy_sync_proxy_rules_duration_seconds_count [1-9]/);
    expect(metrics).toMatch(/kubeproxy_network_programming_duration_seconds_count [1-9]/);
    expect(metrics).toMatch(/kubeproxy_sync_proxy_rules_iptables_total\{table="nat"\} [1-9]/);
    expect(metrics).toMatch(/kubeproxy_sync_proxy_rules_last_timestamp_seconds \d/);
  });

  it("killed, its rules keep working; restarted, it applies what changed meanwhile and deletes stale chains", async () => {
    await client.update(SLICES, NS, slice("web-abc", "web", [{ ip: "10.244.1.5" }]));
    await waitFor("one endpoint", () => (iptablesSave().includes("--to-destination 10.244.1.5:8080") ? true : undefined));
    await stopProxy();
    expect(await connect(clusterIP, 80)).toBe("10.244.1.5:8080");

    await client.update(SLICES, NS, slice("web-abc", "web", [{ ip: "10.244.1.6" }]));
    await new Promise((r) => setTimeout(r, 300));
    expect(await connect(clusterIP, 80)).toBe("10.244.1.5:8080");

    proxy = startProxy();
    const staleSep = servicePortEndpointChainName("default/web:http", "TCP", "10.244.1.5:8080");
    await waitFor("the restarted proxy's rules", () => {
      const text = iptablesSave();
      return text.includes("--to-destination 10.244.1.6:8080") && !text.includes(staleSep) ? true : undefined;
    });
    expect(await connect(clusterIP, 80)).toBe("10.244.1.6:8080");
    // The jumps from the built-in chains were not inserted twice.
    expect(iptablesSave().split("\n").filter((l) => l === '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES')).toHaveLength(1);
  });

  it("a deleted Service's rules go: its NodePort refuses connections", async () => {
    await client.delete(SERVICES, NS, "web");
    await waitFor("the Service's chains gone", () => (!iptablesSave().includes(svcChain) ? true : undefined));
    expect(await connect("10.244.1.6", nodePort)).toBe("refused");
    expect(iptablesSave()).not.toContain("default/web");
  });

  it("the kube-proxy binary resyncs in the namespace; --cleanup removes every chain and jump of its own, and nothing else", async () => {
    await stopProxy();
    // Made while no kube-proxy runs: its rules can only come from the binary.
    await client.create<Service>(SERVICES, NS, { apiVersion: "v1", kind: "Service", metadata: { name: "later", namespace: NS }, spec: { selector: { app: "later" }, ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }] } });
    await client.create(SLICES, NS, slice("later-1", "later", [{ ip: "10.244.1.5" }]));
    const binary = spawn("ip", ["netns", "exec", NETNS, process.execPath, join(REPO_ROOT, "dist/kube-proxy/main.js"), "--master", "http://127.0.0.1:16443", "--iptables-min-sync-period=50ms", "--metrics-bind-address=127.0.0.1:0", "--healthz-bind-address=127.0.0.1:0"], { stdio: ["ignore", "pipe", "pipe"] });
    const kill = testProcesses.onTeardown("stop the kube-proxy binary", () => {
      binary.kill("SIGKILL");
    });
    let log = "";
    binary.stdout?.on("data", (d: Buffer) => (log += d.toString()));
    binary.stderr?.on("data", (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((resolve) => binary.once("exit", resolve));
    await waitFor("the binary's rules", () => iptablesSave().includes('"default/later:http cluster IP"') || undefined, 20_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${log}`);
    });
    binary.kill("SIGTERM");
    expect(await exited).toBe(0);
    await kill();

    const cleanup = await run("ip", ["netns", "exec", NETNS, process.execPath, join(REPO_ROOT, "dist/kube-proxy/main.js"), "--cleanup"], { encoding: "utf8" });
    expect(cleanup.stderr).toContain("Removed kube-proxy's iptables rules");
    const saved = iptablesSave();
    expect(saved.split("\n").filter((l) => l.startsWith(":KUBE-"))).toEqual([":KUBE-KUBELET-CANARY - [0:0]"]);
    expect(saved).not.toMatch(/kubernetes/);
    expect(saved).toContain("-A OUTPUT -d 192.0.2.99/32 -j KUBELAB-OTHER");
    expect(saved).toContain("-A INPUT -s 192.0.2.98/32 -j ACCEPT");
  });
});
