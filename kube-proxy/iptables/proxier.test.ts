import { describe, expect, it } from "vitest";
import type { Service } from "../../api/types/core.js";
import type { EndpointSlice } from "../../api/types/discovery.js";
import { silentLogger } from "../../component-base/logging.js";
import { createRegistry } from "../../component-base/metrics.js";
import { FakeClock } from "../../component-base/testing/fake-clock.js";
import type { CommandResult, CommandRunner } from "../exec.js";
import { ProxierHealth } from "../healthz.js";
import { proxyMetrics } from "../metrics.js";
import { IptablesProxier, nodePortAddressesIncludeLoopback, type IptablesProxierOptions } from "./proxier.js";

class FakeRunner implements CommandRunner {
  readonly calls: { argv: string[]; stdin?: string }[] = [];
  saveOutput = "";
  restoreCode = 0;
  sysctlCode = 0;
  /** What `iptables -t <table> -S <chain>` prints, by "table chain"; a missing entry fails. */
  listOutput: Record<string, string> | undefined = { "filter INPUT": "-P INPUT ACCEPT\n", "filter FORWARD": "-P FORWARD ACCEPT\n", "filter OUTPUT": "-P OUTPUT ACCEPT\n", "nat PREROUTING": "-P PREROUTING ACCEPT\n", "nat OUTPUT": "-P OUTPUT ACCEPT\n", "nat POSTROUTING": "-P POSTROUTING ACCEPT\n" };
  run(argv: readonly string[], stdin?: string): Promise<CommandResult> {
    this.calls.push({ argv: [...argv], ...(stdin !== undefined ? { stdin } : {}) });
    if (argv[0] === "iptables-save") return Promise.resolve({ code: 0, stdout: this.saveOutput, stderr: "" });
    if (argv[0] === "iptables" && argv.includes("-S")) {
      const listed = this.listOutput?.[`${argv[argv.indexOf("-t") + 1]} ${argv[argv.indexOf("-S") + 1]}`];
      return Promise.resolve(listed === undefined ? { code: 1, stdout: "", stderr: "iptables: No chain/target/match by that name." } : { code: 0, stdout: listed, stderr: "" });
    }
    if (argv[0] === "sysctl") return Promise.resolve({ code: this.sysctlCode, stdout: "", stderr: this.sysctlCode ? "sysctl: permission denied" : "" });
    if (argv[0] === "iptables-restore") return Promise.resolve({ code: this.restoreCode, stdout: "", stderr: this.restoreCode ? "iptables-restore: line 3 failed" : "" });
    return Promise.resolve({ code: 1, stdout: "", stderr: "conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n" });
  }
  restores(): string[] {
    return this.calls.filter((c) => c.argv[0] === "iptables-restore").map((c) => c.stdin ?? "");
  }
  conntrack(): string[] {
    return this.calls.filter((c) => c.argv[0] === "conntrack").map((c) => c.argv.join(" "));
  }
}

const dns: Service = {
  apiVersion: "v1",
  kind: "Service",
  metadata: { name: "kube-dns", namespace: "kube-system" },
  spec: { clusterIP: "10.96.0.10", ports: [{ name: "dns", port: 53, protocol: "UDP" }] },
};

function dnsSlice(ips: string[]): EndpointSlice {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: "kube-dns-1", namespace: "kube-system", labels: { "kubernetes.io/service-name": "kube-dns" }, annotations: { "endpoints.kubernetes.io/last-change-trigger-time": new Date(Date.UTC(2024, 0, 1, 0, 0, 0, 1)).toISOString() } },
    addressType: "IPv4",
    ports: [{ name: "dns", port: 53, protocol: "UDP" }],
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
  };
}

function setup(extra: Partial<IptablesProxierOptions> = {}) {
  const clock = new FakeClock(Date.UTC(2024, 0, 1));
  const runner = new FakeRunner();
  const registry = createRegistry({ defaultMetrics: false });
  const health = new ProxierHealth(clock, 60_000);
  const proxier = new IptablesProxier({ runner, clock, logger: silentLogger(), metrics: proxyMetrics(registry), health, masqueradeAll: false, nodePortAddresses: [], syncPeriodMs: 30_000, minSyncPeriodMs: 1000, ...extra });
  return { clock, runner, registry, health, proxier, services: proxier.serviceHandler(), slices: proxier.endpointSliceHandler() };
}

describe("IptablesProxier", () => {
  it("waits for start, then syncs everything known in one restore", async () => {
    const { clock, runner, proxier, services, slices } = setup();
    services.onAdd?.(dns, true);
    slices.onAdd?.(dnsSlice(["10.244.1.2"]), true);
    await clock.advance(5000);
    expect(runner.calls).toEqual([]);
    proxier.start();
    await clock.advance(0);
    expect(runner.restores()).toHaveLength(1);
    expect(runner.calls.map((c) => c.argv.join(" ")).slice(0, 3)).toEqual(["sysctl -w net.ipv4.conf.all.route_localnet=1", "iptables-save", "iptables-restore --noflush"]);
    expect(runner.restores()[0]).toContain("-j KUBE-SVC-TCOU7JCQXEZGVUNU");
    expect(runner.restores()[0]).toContain("--to-destination 10.244.1.2:53");
    await proxier.stop();
  });

  it("rate-limits syncs by the min sync period and resyncs every sync period", async () => {
    const { clock, runner, proxier, services, slices } = setup();
    proxier.start();
    await clock.advance(0);
    services.onAdd?.(dns, false);
    slices.onAdd?.(dnsSlice(["10.244.1.2"]), false);
    slices.onUpdate?.(dnsSlice(["10.244.1.2"]), dnsSlice(["10.244.1.3"]));
    await clock.advance(999);
    expect(runner.restores()).toHaveLength(1);
    await clock.advance(1);
    expect(runner.restores()).toHaveLength(2);
    expect(runner.restores()[1]).toContain("10.244.1.3:53");
    // A partial sync: the jumps are known to be there (this fake iptables-save shows nothing).
    expect(runner.restores()[1]).not.toContain("-I PREROUTING");
    expect(runner.calls.filter((c) => c.argv[0] === "iptables-save")).toHaveLength(1);
    await clock.advance(30_000);
    expect(runner.restores()).toHaveLength(3);
    // The periodic resync is full: it writes everything, and puts back the jumps the built-in chains lack (this
    // fake node has none), reading only those chains, not the whole node.
    expect(runner.calls.filter((c) => c.argv[0] === "iptables-save")).toHaveLength(1);
    expect(runner.calls.filter((c) => c.argv[0] === "iptables").map((c) => c.argv.join(" "))).toContain("iptables -w -t nat -S PREROUTING");
    expect(runner.restores()[2]).toContain("-I PREROUTING");
    expect(runner.restores()[2]).toContain(":KUBE-SVC-TCOU7JCQXEZGVUNU - [0:0]");
    // A jump that is there is left alone; a built-in chain that cannot be listed means reading the whole node.
    runner.listOutput!["nat PREROUTING"] = '-P PREROUTING ACCEPT\n-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES\n';
    await clock.advance(30_000);
    expect(runner.restores()[3]).not.toContain("-I PREROUTING");
    expect(runner.restores()[3]).toContain("-I OUTPUT");
    runner.listOutput = undefined;
    await clock.advance(30_000);
    expect(runner.calls.filter((c) => c.argv[0] === "iptables-save")).toHaveLength(2);
    await proxier.stop();
  });

  it("writes only the changed services' chains in a partial sync, and everything after a failure", async () => {
    const { clock, runner, registry, proxier, services, slices } = setup();
    const other: Service = { ...dns, metadata: { name: "other", namespace: "default" }, spec: { clusterIP: "10.96.0.11", ports: [{ name: "http", port: 80, protocol: "TCP" }] } };
    const otherSlice: EndpointSlice = { ...dnsSlice(["10.244.2.2"]), metadata: { name: "other-1", namespace: "default", labels: { "kubernetes.io/service-name": "other" } }, ports: [{ name: "http", port: 8080, protocol: "TCP" }] };
    services.onAdd?.(dns, true);
    services.onAdd?.(other, true);
    slices.onAdd?.(dnsSlice(["10.244.1.2"]), true);
    slices.onAdd?.(otherSlice, true);
    proxier.start();
    await clock.advance(0);
    const full = runner.restores()[0]!;
    expect(full).toContain(":KUBE-SVC-TCOU7JCQXEZGVUNU - [0:0]");
    const otherChain = /-j (KUBE-SVC-\S+)$/m.exec(full.split("\n").find((l) => l.includes("default/other:http cluster IP"))!)![1]!;
    expect(full).toContain(`:${otherChain} - [0:0]`);
    const fullCount = await registry.getSingleMetricAsString("kubeproxy_sync_proxy_rules_iptables_total");

    slices.onUpdate?.(dnsSlice(["10.244.1.2"]), dnsSlice(["10.244.1.3"]));
    await clock.advance(1000);
    const partial = runner.restores()[1]!;
    expect(partial).toContain(":KUBE-SVC-TCOU7JCQXEZGVUNU - [0:0]");
    expect(partial).not.toContain(`:${otherChain} - [0:0]`);
    // The shared chain is rewritten whole, still jumping to the unchanged service's chain.
    expect(partial).toContain(`-j ${otherChain}`);
    // The old endpoint's chain is deleted.
    expect(partial).toMatch(/^-X KUBE-SEP-/m);
    expect(await registry.getSingleMetricAsString("kubeproxy_sync_proxy_rules_iptables_total")).toBe(fullCount);

    runner.restoreCode = 1;
    slices.onUpdate?.(dnsSlice(["10.244.1.3"]), dnsSlice(["10.244.1.4"]));
    await clock.advance(1000);
    runner.restoreCode = 0;
    await clock.advance(1000);
    const afterFailure = runner.restores().at(-1)!;
    expect(afterFailure).toContain(`:${otherChain} - [0:0]`);
    expect(afterFailure).toContain("--to-destination 10.244.1.4:53");
    await proxier.stop();
  });

  it("clears stale UDP conntrack entries: a service's first endpoint, a removed endpoint, a deleted service", async () => {
    const { clock, runner, proxier, services, slices } = setup();
    services.onAdd?.(dns, true);
    proxier.start();
    await clock.advance(0);
    expect(runner.conntrack()).toEqual([]);
    slices.onAdd?.(dnsSlice(["10.244.1.2", "10.244.1.3"]), false);
    await clock.advance(1000);
    expect(runner.conntrack()).toEqual(["conntrack -D --orig-dst 10.96.0.10 -p udp --dport 53"]);
    slices.onUpdate?.(dnsSlice(["10.244.1.2", "10.244.1.3"]), dnsSlice(["10.244.1.3"]));
    await clock.advance(1000);
    expect(runner.conntrack().slice(1)).toEqual(["conntrack -D --orig-dst 10.96.0.10 --dst-nat 10.244.1.2 -p udp"]);
    services.onDelete?.(dns);
    await clock.advance(1000);
    expect(runner.conntrack().slice(2)).toEqual(["conntrack -D --orig-dst 10.96.0.10 -p udp --dport 53"]);
    await proxier.stop();
  });

  it("on restore failure: counts it, retries, keeps the conntrack work, and turns unhealthy after 2× the sync period", async () => {
    const { clock, runner, registry, health, proxier, services, slices } = setup();
    services.onAdd?.(dns, true);
    proxier.start();
    await clock.advance(0);
    runner.restoreCode = 1;
    slices.onAdd?.(dnsSlice(["10.244.1.2"]), false);
    await clock.advance(1000);
    expect(runner.conntrack()).toEqual([]);
    expect(health.healthy()).toBe(true);
    const metrics = await registry.getSingleMetricAsString("kubeproxy_sync_proxy_rules_iptables_restore_failures_total");
    expect(metrics).toMatch(/ 1$/m);
    await clock.advance(60_000);
    expect(health.healthy()).toBe(false);
    runner.restoreCode = 0;
    await clock.advance(30_000);
    expect(health.healthy()).toBe(true);
    expect(runner.conntrack()).toEqual(["conntrack -D --orig-dst 10.96.0.10 -p udp --dport 53"]);
    const latency = await registry.getSingleMetricAsString("kubeproxy_network_programming_duration_seconds");
    expect(latency).toMatch(/kubeproxy_network_programming_duration_seconds_count 1$/m);
    await proxier.stop();
  });

  it("deletes stale chains it finds on the node (a restart resyncs)", async () => {
    const { clock, runner, proxier } = setup();
    runner.saveOutput = ["*nat", ":KUBE-SVC-AAAAAAAAAAAAAAAA - [0:0]", ":KUBE-SERVICES - [0:0]", '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', "COMMIT", ""].join("\n");
    proxier.start();
    await clock.advance(0);
    const text = runner.restores()[0]!;
    expect(text).toContain("-X KUBE-SVC-AAAAAAAAAAAAAAAA");
    expect(text).not.toContain("-I PREROUTING");
    expect(text).toContain("-I OUTPUT 1");
    await proxier.stop();
  });

  it("sets route_localnet once for localhost NodePorts (retrying a failure), and not when the addresses exclude loopback", async () => {
    const { clock, runner, proxier, services } = setup();
    runner.sysctlCode = 1;
    services.onAdd?.(dns, true);
    proxier.start();
    await clock.advance(0);
    runner.sysctlCode = 0;
    services.onUpdate?.(dns, { ...dns, spec: { ...dns.spec, ports: [{ name: "dns", port: 54, protocol: "UDP" }] } });
    await clock.advance(1000);
    services.onUpdate?.(dns, { ...dns, spec: { ...dns.spec, ports: [{ name: "dns", port: 55, protocol: "UDP" }] } });
    await clock.advance(1000);
    expect(runner.calls.filter((c) => c.argv[0] === "sysctl")).toHaveLength(2);
    expect(runner.restores()[2]).toContain("-A KUBE-FIREWALL");
    // A partial sync knows the KUBE-FIREWALL jumps are there: it does not insert them again.
    expect(runner.restores()[2]).not.toContain("-I INPUT 1 -j KUBE-FIREWALL");
    await proxier.stop();

    const narrow = setup({ nodePortAddresses: ["172.28.0.0/16"] });
    narrow.proxier.start();
    await narrow.clock.advance(0);
    expect(narrow.runner.calls.filter((c) => c.argv[0] === "sysctl")).toEqual([]);
    expect(narrow.runner.restores()[0]).not.toContain("KUBE-FIREWALL");
    await narrow.proxier.stop();
  });

  it("sends a Local policy's traffic to the endpoints on its own node (--hostname-override)", async () => {
    const { clock, runner, proxier, services, slices } = setup({ nodeName: "node-2" });
    services.onAdd?.({ ...dns, spec: { ...dns.spec, internalTrafficPolicy: "Local" } }, true);
    const slice = dnsSlice(["10.244.1.2", "10.244.2.2"]);
    slice.endpoints = (slice.endpoints ?? []).map((e, i) => ({ ...e, nodeName: `node-${i + 1}` }));
    slices.onAdd?.(slice, true);
    proxier.start();
    await clock.advance(0);
    expect(runner.restores()[0]).toContain("-j KUBE-SVL-TCOU7JCQXEZGVUNU");
    expect(runner.restores()[0]).toContain("--to-destination 10.244.2.2:53");
    expect(runner.restores()[0]).not.toContain("--to-destination 10.244.1.2:53");
    await proxier.stop();
  });
});

describe("nodePortAddressesIncludeLoopback", () => {
  it.each([
    [[], true],
    [["0.0.0.0/0"], true],
    [["127.0.0.0/8"], true],
    [["127.0.0.1/32"], true],
    [["172.28.0.0/16"], false],
    [["172.28.0.0/16", "127.0.0.0/8"], true],
  ])("%j → %s", (cidrs, expected) => {
    expect(nodePortAddressesIncludeLoopback(cidrs)).toBe(expected);
  });
});
