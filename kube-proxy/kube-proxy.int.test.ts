// kube-proxy's iptables mode for real: the proxier runs in this process against a real apiserver on a real etcd,
// and drives the real iptables-save / iptables-restore / conntrack inside a throwaway network namespace
// (`ip netns exec`), so the host's rules are never touched. In the namespace a veth interface holds two addresses
// standing for pods (10.244.1.5 and 10.244.1.6), where a small TCP server answers with the address it was reached
// on; connections to the Service's ClusterIP and NodePort are made from inside the namespace (the OUTPUT path).
// KPROXY_LOGS=1 prints kube-proxy's log.
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESOURCES } from "../api/resources.js";
import type { Service } from "../api/types/core.js";
import type { EndpointSlice } from "../api/types/discovery.js";
import { RestClient } from "../client/rest.js";
import { parseFlags } from "../component-base/flags.js";
import { createLogger, silentLogger } from "../component-base/logging.js";
import { createRegistry, type Registry } from "../component-base/metrics.js";
import { startTestCluster, waitFor, type TestCluster } from "../test/support/apiserver.js";
import { testProcesses } from "../test/support/processes.js";
import { runKubeProxy } from "./app.js";
import { execRunner } from "./exec.js";
import { servicePortChainName, servicePortEndpointChainName } from "./iptables/chains.js";
import { cleanupLeftovers } from "./iptables/cleanup.js";
import { kubeProxyFlags } from "./options.js";

const run = promisify(execFile);
const SERVICES = RESOURCES.find((r) => r.group === "" && r.resource === "services")!;
const SLICES = RESOURCES.find((r) => r.group === "discovery.k8s.io" && r.resource === "endpointslices")!;
const NETNS = `kproxy-${randomBytes(3).toString("hex")}`;
const NS = "default";

/** Answers every connection with the address:port it was reached on, then closes. */
const SERVER = `
const net = require("node:net");
for (const host of ["10.244.1.5", "10.244.1.6"]) {
  net.createServer((s) => { s.end(s.localAddress + ":" + s.localPort + "\\n"); }).listen(8080, host);
}
console.log("listening");
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
  return execFileSync("ip", ["netns", "exec", NETNS, ...args], { encoding: "utf8" });
}

async function connect(host: string, port: number, ms = 2000): Promise<string> {
  const { stdout } = await run("ip", ["netns", "exec", NETNS, process.execPath, "-e", CLIENT, host, String(port), String(ms)], { encoding: "utf8" });
  return stdout.trim();
}

function iptablesSave(): string {
  return inNetns("iptables-save");
}

function slice(name: string, service: string, endpoints: { ip: string; ready?: boolean; serving?: boolean; terminating?: boolean }[], triggerTime?: string): EndpointSlice {
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
    ports: [{ name: "http", protocol: "TCP", port: 8080 }],
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

    server = spawn("ip", ["netns", "exec", NETNS, process.execPath, "-e", SERVER], { stdio: ["ignore", "pipe", "inherit"] });
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

  it("--cleanup removes every chain and jump of kube-proxy's, and nothing else", async () => {
    await stopProxy();
    const removed = await cleanupLeftovers(execRunner(["ip", "netns", "exec", NETNS]));
    expect(removed).toEqual(expect.arrayContaining(["nat/KUBE-SERVICES", "nat/KUBE-POSTROUTING", "filter/KUBE-FORWARD"]));
    const saved = iptablesSave();
    const kubeChains = saved.split("\n").filter((l) => l.startsWith(":KUBE-"));
    expect(kubeChains).toEqual([":KUBE-KUBELET-CANARY - [0:0]"]);
    expect(saved).not.toMatch(/kubernetes/);
    expect(saved).toContain("-A OUTPUT -d 192.0.2.99/32 -j KUBELAB-OTHER");
    expect(saved).toContain("-A INPUT -s 192.0.2.98/32 -j ACCEPT");
  });
});
