// kube-proxy's iptables mode for real: the proxier runs in this process against a real apiserver on a real etcd,
// and drives the real iptables-save / iptables-restore / conntrack inside a throwaway network namespace
// (test/support/kube-proxy-netns.ts, through `ip netns exec`), so the host's rules are never touched. Connections to the
// Service's ClusterIP and NodePort are made from inside the namespace (the OUTPUT path) to a server that answers
// with the pod address it was reached on. The last test runs the built binary inside the namespace.
// KPROXY_LOGS=1 prints the in-process kube-proxy's log.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESOURCES } from "../api/resources.js";
import type { Service } from "../api/types/core.js";
import { RestClient } from "../client/rest.js";
import { parseFlags } from "../component-base/flags.js";
import { createLogger, silentLogger } from "../component-base/logging.js";
import { createRegistry, type Registry } from "../component-base/metrics.js";
import { clientConfigFor, startTestCluster, writeKubeconfig, waitFor, type TestCluster } from "../test/support/apiserver.js";
import { runKubeProxy } from "./app.js";
import { execRunner } from "./exec.js";
import { servicePortChainName, servicePortEndpointChainName } from "./iptables/chains.js";
import { kubeProxyFlags } from "./options.js";
import { endpointSlice, NETNS_APISERVER, NetnsHost } from "../test/support/kube-proxy-netns.js";

const SERVICES = RESOURCES.find((r) => r.group === "" && r.resource === "services")!;
const SLICES = RESOURCES.find((r) => r.group === "discovery.k8s.io" && r.resource === "endpointslices")!;
const NS = "default";

function slice(name: string, service: string, endpoints: { ip: string; ready?: boolean; serving?: boolean; terminating?: boolean }[], triggerTime?: string, port?: { name?: string; protocol?: "TCP" | "UDP"; port?: number }) {
  return endpointSlice(name, service, endpoints, { ...(triggerTime ? { triggerTime } : {}), ...(port ? { port } : {}) });
}

describe.sequential("kube-proxy iptables mode (real iptables in a network namespace, real apiserver)", () => {
  let cluster: TestCluster;
  let client: RestClient;
  let host: NetnsHost;
  let netnsKubeconfig = "";
  let proxy: { stop: AbortController; done: Promise<void>; ports: Promise<{ metrics: number; healthz: number }>; registry: Registry } | undefined;
  let clusterIP = "";
  let nodePort = 0;
  const svcChain = servicePortChainName("default/web:http", "TCP");

  function startProxy(): NonNullable<typeof proxy> {
    const flags = parseFlags(
      kubeProxyFlags,
      ["--kubeconfig", cluster.kubeconfig, "--iptables-min-sync-period=50ms", "--iptables-sync-period=5s", "--cluster-cidr=10.244.0.0/16", "--healthz-bind-address=127.0.0.1:0", "--metrics-bind-address=127.0.0.1:0", "--hostname-override=node-a"],
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
    const done = runKubeProxy(flags, stop.signal, { registry, logger, runner: execRunner(["ip", "netns", "exec", host.name]), onListening: onPorts });
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
    cluster = await startTestCluster();
    host = await NetnsHost.start(cluster.apiserver.url);
    // The relay carries TLS through to the apiserver, whose certificate names 127.0.0.1.
    netnsKubeconfig = join(cluster.workDir, "netns.conf");
    writeKubeconfig(netnsKubeconfig, { ...cluster.api, url: NETNS_APISERVER.replace(/^http:/, "https:") });
    client = new RestClient(clientConfigFor(cluster.api, NS), { userAgent: "kproxy-int-test" });
    proxy = startProxy();
  });

  afterAll(async () => {
    await stopProxy();
    client?.close();
    await host?.destroy();
    await cluster?.destroy();
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
      const text = host.iptablesSave();
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
    expect(await host.connect(clusterIP, 80)).toBe("10.244.1.5:8080");
    expect(await host.connect("10.244.1.6", nodePort)).toBe("10.244.1.5:8080");
  });

  it("carries a pod's traffic: ClusterIP through PREROUTING, and hairpin back to the pod itself (masqueraded)", async () => {
    expect(await host.connectFromPod(clusterIP, 80)).toBe("10.244.1.5:8080");
    const svc = await client.create<Service>(SERVICES, NS, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "hairpin", namespace: NS },
      spec: { selector: { app: "hairpin" }, ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }] },
    });
    await client.create(SLICES, NS, slice("hairpin-1", "hairpin", [{ ip: "10.244.2.20" }]));
    await waitFor("the hairpin Service's rules", () => host.iptablesSave().includes("--to-destination 10.244.2.20:8080") || undefined);
    // The pod reaches itself, seeing the node as the client: without the masquerade it would answer itself.
    expect(await host.connectFromPod(svc.spec?.clusterIP ?? "", 80)).toBe("10.244.2.20:8080 from 10.244.2.1");
    // From the node, the Service reaches the pod from the node's own address (inside --cluster-cidr: not masqueraded).
    expect(await host.connect(svc.spec?.clusterIP ?? "", 80)).toBe("10.244.2.20:8080 from 10.244.1.5");
    await client.delete(SERVICES, NS, "hairpin");
    await client.delete(SLICES, NS, "hairpin-1");
    await waitFor("the hairpin Service's rules gone", () => (!host.iptablesSave().includes("default/hairpin") ? true : undefined));
  });

  it("syncs again without duplicating anything", async () => {
    const before = host.iptablesSave().split("\n").filter((l) => l.startsWith("-A") || l.startsWith(":")).sort();
    await client.patch(SERVICES, NS, "web", "merge", { metadata: { labels: { touched: "yes" } } });
    await new Promise((r) => setTimeout(r, 300));
    const after = host.iptablesSave().split("\n").filter((l) => l.startsWith("-A") || l.startsWith(":")).sort();
    expect(after).toEqual(before);
  });

  it("follows an EndpointSlice change: traffic spreads over both endpoints", async () => {
    await client.update(SLICES, NS, slice("web-abc", "web", [{ ip: "10.244.1.5" }, { ip: "10.244.1.6" }], new Date().toISOString()));
    await waitFor("two endpoints", () => host.iptablesSave().includes("--to-destination 10.244.1.6:8080") || undefined);
    const seen = new Set<string>();
    for (let i = 0; i < 30 && seen.size < 2; i++) seen.add(await host.connect(clusterIP, 80));
    expect([...seen].sort()).toEqual(["10.244.1.5:8080", "10.244.1.6:8080"]);
  });

  it("refuses connections at once when no endpoint is ready, and drains to terminating ones", async () => {
    await client.update(SLICES, NS, slice("web-abc", "web", [{ ip: "10.244.1.5", ready: false, serving: false }, { ip: "10.244.1.6", ready: false, serving: true, terminating: true }]));
    await waitFor("only the terminating endpoint", () => (!host.iptablesSave().includes("--to-destination 10.244.1.5:8080") ? true : undefined));
    expect(await host.connect(clusterIP, 80)).toBe("10.244.1.6:8080");

    await client.update(SLICES, NS, slice("web-abc", "web", [{ ip: "10.244.1.5", ready: false, serving: false }]));
    await waitFor("the REJECT rule", () => host.iptablesSave().includes('"default/web:http has no endpoints"') || undefined);
    const started = Date.now();
    expect(await host.connect(clusterIP, 80, 5000)).toBe("refused");
    // From a pod too (the filter table's FORWARD path).
    expect(await host.connectFromPod(clusterIP, 80, 5000)).toBe("refused");
    expect(await host.connect("10.244.1.6", nodePort, 5000)).toBe("refused");
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
    await waitFor("the sticky Service's rules", () => host.iptablesSave().includes('"default/sticky:http external IP"') || undefined);
    expect(host.iptablesSave()).toMatch(/-m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-/);
    const answers = new Set<string>();
    for (let i = 0; i < 10; i++) answers.add(await host.connect(svc.spec?.clusterIP ?? "", 80));
    expect(answers.size).toBe(1);
    expect(await host.connect("192.0.2.50", 80)).toMatch(/^10\.244\.1\.[56]:8080$/);
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
    await waitFor("the UDP Service's rules", () => host.iptablesSave().includes("--to-destination 10.244.1.5:5353") || undefined);
    expect(await host.udpQuery(ip, 53, 40123)).toBe("10.244.1.5:5353");
    expect(host.exec("conntrack", "-L", "-p", "udp")).toContain("sport=40123");

    await client.update(SLICES, NS, slice("udp-echo-1", "udp-echo", [{ ip: "10.244.1.6" }], undefined, udpPort));
    await waitFor("the new UDP endpoint", () => (host.iptablesSave().includes("--to-destination 10.244.1.6:5353") ? true : undefined));
    await waitFor("the stale flow cleared", () => (!host.exec("conntrack", "-L", "-p", "udp").includes("dport=5353 src=10.244.1.5") ? true : undefined), 5000);
    expect(await host.udpQuery(ip, 53, 40123)).toBe("10.244.1.6:5353");
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
    await waitFor("one endpoint", () => (host.iptablesSave().includes("--to-destination 10.244.1.5:8080") ? true : undefined));
    await stopProxy();
    expect(await host.connect(clusterIP, 80)).toBe("10.244.1.5:8080");

    await client.update(SLICES, NS, slice("web-abc", "web", [{ ip: "10.244.1.6" }]));
    await new Promise((r) => setTimeout(r, 300));
    expect(await host.connect(clusterIP, 80)).toBe("10.244.1.5:8080");

    proxy = startProxy();
    const staleSep = servicePortEndpointChainName("default/web:http", "TCP", "10.244.1.5:8080");
    await waitFor("the restarted proxy's rules", () => {
      const text = host.iptablesSave();
      return text.includes("--to-destination 10.244.1.6:8080") && !text.includes(staleSep) ? true : undefined;
    });
    expect(await host.connect(clusterIP, 80)).toBe("10.244.1.6:8080");
    // The jumps from the built-in chains were not inserted twice.
    expect(host.iptablesSave().split("\n").filter((l) => l === '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES')).toHaveLength(1);
  });

  it("a deleted Service's rules go: its NodePort refuses connections", async () => {
    await client.delete(SERVICES, NS, "web");
    await waitFor("the Service's chains gone", () => (!host.iptablesSave().includes(svcChain) ? true : undefined));
    expect(await host.connect("10.244.1.6", nodePort)).toBe("refused");
    expect(host.iptablesSave()).not.toContain("default/web");
  });

  it("the kube-proxy binary resyncs in the namespace; --cleanup removes every chain and jump of its own, and nothing else", async () => {
    await stopProxy();
    // Made while no kube-proxy runs: its rules can only come from the binary.
    await client.create<Service>(SERVICES, NS, { apiVersion: "v1", kind: "Service", metadata: { name: "later", namespace: NS }, spec: { selector: { app: "later" }, ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }] } });
    await client.create(SLICES, NS, slice("later-1", "later", [{ ip: "10.244.1.5" }]));
    const binary = host.startKubeProxy(["--kubeconfig", netnsKubeconfig, "--iptables-min-sync-period=50ms", "--metrics-bind-address=127.0.0.1:0", "--healthz-bind-address=127.0.0.1:0"]);
    await waitFor("the binary's rules", () => host.iptablesSave().includes('"default/later:http cluster IP"') || undefined, 20_000).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${binary.logs()}`);
    });
    expect(await binary.stop("SIGTERM")).toBe(0);

    const cleanup = host.startKubeProxy(["--cleanup"]);
    expect(await cleanup.exited).toBe(0);
    expect(cleanup.logs()).toContain("Removed kube-proxy's iptables rules");
    const saved = host.iptablesSave();
    expect(saved.split("\n").filter((l) => l.startsWith(":KUBE-"))).toEqual([":KUBE-KUBELET-CANARY - [0:0]"]);
    expect(saved).not.toMatch(/kubernetes/);
    expect(saved).toContain("-A OUTPUT -d 192.0.2.99/32 -j KUBELAB-OTHER");
    expect(saved).toContain("-A INPUT -s 192.0.2.98/32 -j ACCEPT");
  });
});
