import { describe, expect, it } from "vitest";
import type { EndpointInfo } from "../endpoints.js";
import { servicePortNameString, type ServicePortInfo } from "../service-port.js";
import { base32, serviceExternalChainName, serviceFirewallChainName, serviceLocalChainName, servicePortChainName, servicePortEndpointChainName } from "./chains.js";
import { isLargeCluster, probability, renderRules, type RenderInput } from "./rules.js";
import { parseIptablesSave } from "./save.js";

function svc(ns: string, name: string, port: string, extra: Partial<ServicePortInfo> = {}): ServicePortInfo {
  return { name: { namespace: ns, name, port }, protocol: "TCP", clusterIP: "10.96.0.10", port: 80, nodePort: 0, externalIPs: [], ...extra };
}

function ep(ip: string, port = 8080, conditions: Partial<EndpointInfo> = {}): EndpointInfo {
  return { ip, port, ready: true, serving: true, terminating: false, ...conditions };
}

function render(services: ServicePortInfo[], endpoints: Record<string, EndpointInfo[]>, extra: Partial<RenderInput> = {}) {
  return renderRules({
    services: new Map(services.map((s) => [servicePortNameString(s.name), s])),
    endpoints: new Map(Object.entries(endpoints)),
    masqueradeAll: false,
    nodePortAddresses: [],
    existing: new Map(),
    ...extra,
  });
}

/** The lines of one table in the rendered text. */
function table(text: string, name: "filter" | "nat"): string[] {
  const lines = text.split("\n");
  const start = lines.indexOf(`*${name}`);
  const end = lines.indexOf("COMMIT", start);
  return lines.slice(start + 1, end);
}

function rulesOf(lines: string[], chain: string): string[] {
  return lines.filter((l) => l.startsWith(`-A ${chain} `));
}

describe("chain names", () => {
  it("hash like Kubernetes: the names on any Kubernetes node", () => {
    expect(servicePortChainName("default/kubernetes:https", "TCP")).toBe("KUBE-SVC-NPX46M4PTMTKRN6Y");
    expect(servicePortChainName("kube-system/kube-dns:dns", "UDP")).toBe("KUBE-SVC-TCOU7JCQXEZGVUNU");
    expect(servicePortChainName("kube-system/kube-dns:dns-tcp", "TCP")).toBe("KUBE-SVC-ERIFXISQEP7F7OF4");
    expect(servicePortChainName("kube-system/kube-dns:metrics", "TCP")).toBe("KUBE-SVC-JD5MR3NA4I4DYORP");
    expect(servicePortEndpointChainName("default/web", "TCP", "10.244.1.5:8080")).toMatch(/^KUBE-SEP-[A-Z2-7]{16}$/);
    expect(servicePortEndpointChainName("default/web", "TCP", "10.244.1.5:8080")).not.toBe(servicePortEndpointChainName("default/web", "TCP", "10.244.1.6:8080"));
  });

  it("base32 is RFC 4648's", () => {
    const enc = (s: string) => base32(new TextEncoder().encode(s));
    expect(enc("")).toBe("");
    expect(enc("f")).toBe("MY");
    expect(enc("foobar")).toBe("MZXW6YTBOI");
  });
});

describe("renderRules", () => {
  const web = svc("default", "web", "http");
  const name = "default/web:http";
  const svcChain = servicePortChainName(name, "TCP");

  it("sends a ClusterIP to its endpoints with probabilities 1/n, 1/(n-1), …", () => {
    const eps = [ep("10.244.1.5"), ep("10.244.2.7"), ep("10.244.3.9")];
    const { text } = render([web], { [name]: eps });
    const nat = table(text, "nat");
    expect(rulesOf(nat, "KUBE-SERVICES")).toEqual([
      `-A KUBE-SERVICES -m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 10.96.0.10/32 --dport 80 -j ${svcChain}`,
      `-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`,
    ]);
    const seps = eps.map((e) => servicePortEndpointChainName(name, "TCP", `${e.ip}:${e.port}`));
    expect(rulesOf(nat, svcChain)).toEqual([
      `-A ${svcChain} -m comment --comment "default/web:http -> 10.244.1.5:8080" -m statistic --mode random --probability 0.3333333333 -j ${seps[0]}`,
      `-A ${svcChain} -m comment --comment "default/web:http -> 10.244.2.7:8080" -m statistic --mode random --probability 0.5000000000 -j ${seps[1]}`,
      `-A ${svcChain} -m comment --comment "default/web:http -> 10.244.3.9:8080" -j ${seps[2]}`,
    ]);
    expect(rulesOf(nat, seps[1]!)).toEqual([
      `-A ${seps[1]} -m comment --comment "default/web:http" -s 10.244.2.7/32 -j KUBE-MARK-MASQ`,
      `-A ${seps[1]} -m comment --comment "default/web:http" -m tcp -p tcp -j DNAT --to-destination 10.244.2.7:8080`,
    ]);
    for (const c of [svcChain, ...seps, "KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-MARK-MASQ", "KUBE-POSTROUTING"]) expect(nat).toContain(`:${c} - [0:0]`);
    expect(rulesOf(table(text, "filter"), "KUBE-SERVICES")).toEqual([]);
  });

  it("spreads evenly: the probabilities give every endpoint 1/n", () => {
    for (const n of [1, 2, 3, 5, 10]) {
      let remaining = 1;
      for (let i = 0; i < n; i++) {
        const p = i === n - 1 ? 1 : Number(probability(n - i));
        expect(remaining * p).toBeCloseTo(1 / n, 8);
        remaining *= 1 - p;
      }
    }
  });

  it("masquerades ClusterIP traffic from outside --cluster-cidr, or all of it with --masquerade-all", () => {
    const eps = { [name]: [ep("10.244.1.5")] };
    expect(rulesOf(table(render([web], eps, { clusterCIDR: "10.244.0.0/16" }).text, "nat"), svcChain)[0]).toBe(
      `-A ${svcChain} -m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 10.96.0.10/32 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ`,
    );
    expect(rulesOf(table(render([web], eps, { masqueradeAll: true }).text, "nat"), svcChain)[0]).toBe(
      `-A ${svcChain} -m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 10.96.0.10/32 --dport 80 -j KUBE-MARK-MASQ`,
    );
    expect(rulesOf(table(render([web], eps).text, "nat"), svcChain).some((r) => r.includes("KUBE-MARK-MASQ"))).toBe(false);
  });

  it("REJECTs a service port without endpoints in the filter table, and writes no nat chain for it", () => {
    const withNodePort = svc("default", "web", "http", { nodePort: 30080, externalIPs: ["192.0.2.10"] });
    const { text } = render([withNodePort], {});
    const filter = table(text, "filter");
    expect(rulesOf(filter, "KUBE-SERVICES")).toEqual([`-A KUBE-SERVICES -m comment --comment "default/web:http has no endpoints" -m tcp -p tcp -d 10.96.0.10/32 --dport 80 -j REJECT`]);
    expect(rulesOf(filter, "KUBE-EXTERNAL-SERVICES")).toEqual([
      `-A KUBE-EXTERNAL-SERVICES -m comment --comment "default/web:http has no endpoints" -m tcp -p tcp -d 192.0.2.10/32 --dport 80 -j REJECT`,
      `-A KUBE-EXTERNAL-SERVICES -m comment --comment "default/web:http has no endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30080 -j REJECT`,
    ]);
    const nat = table(text, "nat");
    expect(nat.some((l) => l.includes("KUBE-SVC-") || l.includes("KUBE-EXT-"))).toBe(false);
  });

  it("uses only ready endpoints; serving terminating ones only when none is ready", () => {
    const mixed = [ep("10.244.1.5"), ep("10.244.1.6", 8080, { ready: false, serving: true, terminating: true }), ep("10.244.1.7", 8080, { ready: false, serving: false })];
    const nat = table(render([web], { [name]: mixed }).text, "nat");
    expect(rulesOf(nat, svcChain)).toHaveLength(1);
    expect(rulesOf(nat, svcChain)[0]).toContain("10.244.1.5:8080");

    const draining = [ep("10.244.1.6", 8080, { ready: false, serving: true, terminating: true }), ep("10.244.1.7", 8080, { ready: false, serving: false, terminating: true })];
    const nat2 = table(render([web], { [name]: draining }).text, "nat");
    expect(rulesOf(nat2, svcChain).map((r) => /-> (\S+)"/.exec(r)?.[1])).toEqual(["10.244.1.6:8080"]);

    const none = [ep("10.244.1.7", 8080, { ready: false, serving: false })];
    expect(rulesOf(table(render([web], { [name]: none }).text, "filter"), "KUBE-SERVICES")[0]).toContain("has no endpoints");
  });

  it("serves a NodePort (and a LoadBalancer's) through KUBE-NODEPORTS → KUBE-EXT (masquerade) → KUBE-SVC", () => {
    const np = svc("default", "web", "http", { nodePort: 30080 });
    const nat = table(render([np], { [name]: [ep("10.244.1.5")] }).text, "nat");
    const ext = rulesOf(nat, "KUBE-NODEPORTS")[0]!;
    expect(ext).toMatch(/^-A KUBE-NODEPORTS -m comment --comment "default\/web:http" -m tcp -p tcp --dport 30080 -j (KUBE-EXT-[A-Z2-7]{16})$/);
    const extChain = /-j (\S+)$/.exec(ext)![1]!;
    expect(rulesOf(nat, extChain)).toEqual([
      `-A ${extChain} -m comment --comment "masquerade traffic for default/web:http external destinations" -j KUBE-MARK-MASQ`,
      `-A ${extChain} -j ${svcChain}`,
    ]);
  });

  it("limits NodePorts to --nodeport-addresses", () => {
    const np = svc("default", "web", "http", { nodePort: 30080 });
    const { text } = render([np], { [name]: [ep("10.244.1.5")] }, { nodePortAddresses: ["192.168.1.0/24", "10.0.0.0/8"] });
    expect(rulesOf(table(text, "nat"), "KUBE-SERVICES").filter((r) => r.includes("KUBE-NODEPORTS"))).toEqual([
      `-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d 192.168.1.0/24 -j KUBE-NODEPORTS`,
      `-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d 10.0.0.0/8 -j KUBE-NODEPORTS`,
    ]);
    const all = render([np], {}, { nodePortAddresses: ["0.0.0.0/0"] }).text;
    expect(rulesOf(table(all, "filter"), "KUBE-EXTERNAL-SERVICES")[0]).toContain("-m addrtype --dst-type LOCAL");
  });

  it("sends externalIPs through KUBE-EXT", () => {
    const e = svc("default", "web", "http", { externalIPs: ["192.0.2.10", "192.0.2.11"] });
    const nat = table(render([e], { [name]: [ep("10.244.1.5")] }).text, "nat");
    const rules = rulesOf(nat, "KUBE-SERVICES").filter((r) => r.includes("external IP"));
    expect(rules).toHaveLength(2);
    expect(rules[0]).toMatch(/^-A KUBE-SERVICES -m comment --comment "default\/web:http external IP" -m tcp -p tcp -d 192\.0\.2\.10\/32 --dport 80 -j KUBE-EXT-/);
  });

  it("keeps a client on its endpoint with sessionAffinity ClientIP (recent module)", () => {
    const sticky = svc("default", "web", "http", { stickyMaxAgeSeconds: 600 });
    const eps = [ep("10.244.1.5"), ep("10.244.1.6")];
    const nat = table(render([sticky], { [name]: eps }).text, "nat");
    const seps = eps.map((e) => servicePortEndpointChainName(name, "TCP", `${e.ip}:${e.port}`));
    expect(rulesOf(nat, svcChain).slice(0, 2)).toEqual([
      `-A ${svcChain} -m comment --comment "default/web:http -> 10.244.1.5:8080" -m recent --name ${seps[0]} --rcheck --seconds 600 --reap -j ${seps[0]}`,
      `-A ${svcChain} -m comment --comment "default/web:http -> 10.244.1.6:8080" -m recent --name ${seps[1]} --rcheck --seconds 600 --reap -j ${seps[1]}`,
    ]);
    expect(rulesOf(nat, seps[0]!)[1]).toBe(`-A ${seps[0]} -m comment --comment "default/web:http" -m recent --name ${seps[0]} --set -m tcp -p tcp -j DNAT --to-destination 10.244.1.5:8080`);
  });

  it("masquerades hairpin traffic (an endpoint reaching itself)", () => {
    const nat = table(render([web], { [name]: [ep("10.244.1.5")] }).text, "nat");
    const sep = servicePortEndpointChainName(name, "TCP", "10.244.1.5:8080");
    expect(rulesOf(nat, sep)[0]).toBe(`-A ${sep} -m comment --comment "default/web:http" -s 10.244.1.5/32 -j KUBE-MARK-MASQ`);
  });

  it("masquerades marked packets in KUBE-POSTROUTING and marks in KUBE-MARK-MASQ", () => {
    const nat = table(render([], {}).text, "nat");
    expect(rulesOf(nat, "KUBE-POSTROUTING")).toEqual([
      "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
      "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000",
      '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
    ]);
    expect(rulesOf(nat, "KUBE-MARK-MASQ")).toEqual(["-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000"]);
  });

  it("renders UDP ports with udp matches and separate chains per protocol", () => {
    const dnsUdp = svc("kube-system", "kube-dns", "dns", { protocol: "UDP", port: 53 });
    const dnsTcp = svc("kube-system", "kube-dns", "dns-tcp", { port: 53 });
    const { text } = render([dnsUdp, dnsTcp], { "kube-system/kube-dns:dns": [ep("10.244.1.2", 53)], "kube-system/kube-dns:dns-tcp": [ep("10.244.1.2", 53)] });
    const nat = table(text, "nat");
    expect(nat).toContain('-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.96.0.10/32 --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU');
    expect(nat).toContain('-A KUBE-SERVICES -m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.96.0.10/32 --dport 53 -j KUBE-SVC-ERIFXISQEP7F7OF4');
  });

  it("inserts the jumps from the built-in chains only when they are missing", () => {
    const fresh = render([], {}).text;
    expect(table(fresh, "nat")).toEqual(expect.arrayContaining(['-I PREROUTING 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', '-I OUTPUT 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', '-I POSTROUTING 1 -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING']));
    expect(table(fresh, "filter")).toEqual(expect.arrayContaining(['-I OUTPUT 1 -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', '-I FORWARD 1 -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD']));
    const existing = parseIptablesSave(["*nat", ":PREROUTING ACCEPT [0:0]", '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES', "COMMIT", ""].join("\n"));
    const again = table(render([], {}, { existing }).text, "nat");
    expect(again.filter((l) => l.startsWith("-I PREROUTING"))).toEqual([]);
    expect(again.filter((l) => l.startsWith("-I OUTPUT"))).toHaveLength(1);
  });

  it("deletes stale per-service chains it owns and never touches others' chains", () => {
    const existing = parseIptablesSave(
      ["*nat", ":KUBE-SVC-AAAAAAAAAAAAAAAA - [0:0]", ":KUBE-SEP-BBBBBBBBBBBBBBBB - [0:0]", ":KUBELAB-IN-x - [0:0]", ":KUBE-KUBELET-CANARY - [0:0]", ":DOCKER - [0:0]", `:${svcChain} - [0:0]`, "COMMIT", "*filter", ":KUBE-FIREWALL - [0:0]", "COMMIT", ""].join("\n"),
    );
    const r = render([web], { [name]: [ep("10.244.1.5")] }, { existing });
    expect(r.deletedChains).toEqual({ filter: [], nat: ["KUBE-SVC-AAAAAAAAAAAAAAAA", "KUBE-SEP-BBBBBBBBBBBBBBBB"] });
    const nat = table(r.text, "nat");
    expect(nat).toContain("-X KUBE-SVC-AAAAAAAAAAAAAAAA");
    expect(nat).toContain(":KUBE-SVC-AAAAAAAAAAAAAAAA - [0:0]");
    expect(nat.indexOf("-X KUBE-SVC-AAAAAAAAAAAAAAAA")).toBeGreaterThan(nat.findLastIndex((l) => l.startsWith("-A ")));
    expect(r.text).not.toMatch(/KUBELAB|CANARY|DOCKER|KUBE-FIREWALL/);
    expect(nat).not.toContain(`-X ${svcChain}`);
  });

  it("is deterministic and counts its rules", () => {
    const other = svc("default", "api", "", { clusterIP: "10.96.0.11" });
    const eps = { [name]: [ep("10.244.1.5")], "default/api": [ep("10.244.1.9", 9000)] };
    const a = render([web, other], eps);
    const b = render([other, web], eps);
    expect(a.text).toBe(b.text);
    expect(a.ruleCounts.nat).toBe(table(a.text, "nat").filter((l) => l.startsWith("-A ")).length);
    expect(a.ruleCounts.filter).toBe(table(a.text, "filter").filter((l) => l.startsWith("-A ")).length);
    expect(a.text).toContain('--comment "default/api cluster IP"');
  });

  it("writes only the changed service ports' own chains in a partial sync, counting every rule", () => {
    const other = svc("default", "api", "", { clusterIP: "10.96.0.11" });
    const eps = { [name]: [ep("10.244.1.5")], "default/api": [ep("10.244.1.9", 9000)] };
    const full = render([web, other], eps);
    const partial = render([web, other], eps, { changedServicePorts: new Set(["default/api"]) });
    const apiChain = servicePortChainName("default/api", "TCP");
    expect(partial.text).toContain(`:${apiChain} - [0:0]`);
    expect(partial.text).not.toContain(`:${svcChain} - [0:0]`);
    expect(rulesOf(table(partial.text, "nat"), svcChain)).toEqual([]);
    expect(rulesOf(table(partial.text, "nat"), "KUBE-SERVICES")).toEqual(rulesOf(table(full.text, "nat"), "KUBE-SERVICES"));
    expect(partial.ruleCounts).toEqual(full.ruleCounts);
    expect(partial.chains).toEqual(full.chains);
    // Kept chains are not stale.
    const existing = parseIptablesSave(`*nat\n:${svcChain} - [0:0]\nCOMMIT\n`);
    expect(render([web, other], eps, { existing, changedServicePorts: new Set(["default/api"]) }).deletedChains.nat).toEqual([]);
  });
});

describe("large cluster mode", () => {
  const name = "default/web:http";
  const web = svc("default", "web", "http");

  it("drops the per-endpoint comments, keeps the per-service ones (Kubernetes' large cluster mode)", () => {
    const { text } = render([web], { [name]: [ep("10.244.1.5"), ep("10.244.1.6")] }, { largeClusterMode: true });
    const nat = table(text, "nat");
    const svcChain = servicePortChainName(name, "TCP");
    const sep = servicePortEndpointChainName(name, "TCP", "10.244.1.5:8080");
    expect(rulesOf(nat, "KUBE-SERVICES")[0]).toContain(`--comment "${name} cluster IP"`);
    expect(rulesOf(nat, svcChain)).toEqual([`-A ${svcChain} -m statistic --mode random --probability 0.5000000000 -j ${sep}`, `-A ${svcChain} -j ${servicePortEndpointChainName(name, "TCP", "10.244.1.6:8080")}`]);
    expect(rulesOf(nat, sep)).toEqual([`-A ${sep} -s 10.244.1.5/32 -j KUBE-MARK-MASQ`, `-A ${sep} -m tcp -p tcp -j DNAT --to-destination 10.244.1.5:8080`]);
  });

  it("starts above 1,000 endpoints of known services in all", () => {
    const services = new Map([["a", web], ["b", web]]);
    const eps = (n: number): EndpointInfo[] => Array.from({ length: n }, (_, i) => ep(`10.244.${i >> 8}.${i & 255}`));
    expect(isLargeCluster(services, new Map([["a", eps(500)], ["b", eps(500)]]))).toBe(false);
    expect(isLargeCluster(services, new Map([["a", eps(500)], ["b", eps(500)], ["c", eps(5000)]]))).toBe(false);
    expect(isLargeCluster(services, new Map([["a", eps(500)], ["b", eps(501)]]))).toBe(true);
  });
});

describe("traffic policies", () => {
  const name = "default/web:http";
  const svcChain = servicePortChainName(name, "TCP");
  const svlChain = serviceLocalChainName(name, "TCP");
  const extChain = serviceExternalChainName(name, "TCP");
  const here = ep("10.244.1.5", 8080, { nodeName: "node-1" });
  const there = ep("10.244.2.7", 8080, { nodeName: "node-2" });
  const sep = (e: EndpointInfo): string => servicePortEndpointChainName(name, "TCP", `${e.ip}:${e.port}`);
  const local = { nodeName: "node-1", clusterCIDR: "10.244.0.0/16" };

  it("names the local-policy and firewall chains as Kubernetes does (the service port's hash)", () => {
    expect(serviceLocalChainName("default/kubernetes:https", "TCP")).toBe("KUBE-SVL-NPX46M4PTMTKRN6Y");
    expect(serviceFirewallChainName("default/kubernetes:https", "TCP")).toBe("KUBE-FW-NPX46M4PTMTKRN6Y");
    expect(serviceExternalChainName("default/kubernetes:https", "TCP")).toBe("KUBE-EXT-NPX46M4PTMTKRN6Y");
  });

  it("externalTrafficPolicy Local: outsiders reach only this node's endpoints, unmasqueraded; pods and the node reach all", () => {
    const np = svc("default", "web", "http", { nodePort: 30080, externalPolicyLocal: true });
    const { text } = render([np], { [name]: [here, there] }, local);
    const nat = table(text, "nat");
    expect(rulesOf(nat, "KUBE-NODEPORTS")).toEqual([`-A KUBE-NODEPORTS -m comment --comment "default/web:http" -m tcp -p tcp --dport 30080 -j ${extChain}`]);
    expect(rulesOf(nat, extChain)).toEqual([
      `-A ${extChain} -m comment --comment "pod traffic for default/web:http external destinations" -s 10.244.0.0/16 -j ${svcChain}`,
      `-A ${extChain} -m comment --comment "masquerade LOCAL traffic for default/web:http external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`,
      `-A ${extChain} -m comment --comment "route LOCAL traffic for default/web:http external destinations" -m addrtype --src-type LOCAL -j ${svcChain}`,
      `-A ${extChain} -j ${svlChain}`,
    ]);
    expect(rulesOf(nat, svlChain)).toEqual([`-A ${svlChain} -m comment --comment "default/web:http -> 10.244.1.5:8080" -j ${sep(here)}`]);
    expect(rulesOf(nat, svcChain).filter((r) => r.includes("KUBE-SEP-"))).toHaveLength(2);
    // The ClusterIP keeps the Cluster policy.
    expect(rulesOf(nat, "KUBE-SERVICES")[0]).toContain(`-j ${svcChain}`);
    expect(rulesOf(table(text, "filter"), "KUBE-EXTERNAL-SERVICES")).toEqual([]);
  });

  it("externalTrafficPolicy Local without an endpoint on this node: the NodePort DROPs outsiders, the short-circuits stay", () => {
    const np = svc("default", "web", "http", { nodePort: 30080, externalPolicyLocal: true });
    const { text } = render([np], { [name]: [there] }, local);
    const nat = table(text, "nat");
    expect(nat).not.toContain(`:${svlChain} - [0:0]`);
    expect(rulesOf(nat, extChain)).toHaveLength(3);
    expect(rulesOf(nat, extChain).join("\n")).not.toContain(svlChain);
    expect(rulesOf(table(text, "filter"), "KUBE-EXTERNAL-SERVICES")).toEqual([
      `-A KUBE-EXTERNAL-SERVICES -m comment --comment "default/web:http has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30080 -j DROP`,
    ]);
  });

  it("internalTrafficPolicy Local: the ClusterIP goes to this node's endpoints only, and is DROPped where there are none", () => {
    const internal = svc("default", "web", "http", { internalPolicyLocal: true });
    const withLocal = table(render([internal], { [name]: [here, there] }, local).text, "nat");
    expect(rulesOf(withLocal, "KUBE-SERVICES")[0]).toBe(`-A KUBE-SERVICES -m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 10.96.0.10/32 --dport 80 -j ${svlChain}`);
    expect(rulesOf(withLocal, svlChain)).toEqual([
      `-A ${svlChain} -m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 10.96.0.10/32 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ`,
      `-A ${svlChain} -m comment --comment "default/web:http -> 10.244.1.5:8080" -j ${sep(here)}`,
    ]);
    expect(withLocal).not.toContain(`:${svcChain} - [0:0]`);
    expect(withLocal).not.toContain(`:${sep(there)} - [0:0]`);
    const without = render([internal], { [name]: [there] }, local).text;
    expect(rulesOf(table(without, "nat"), "KUBE-SERVICES").filter((r) => r.includes("cluster IP"))).toEqual([]);
    expect(rulesOf(table(without, "filter"), "KUBE-SERVICES")).toEqual([
      `-A KUBE-SERVICES -m comment --comment "default/web:http has no local endpoints" -m tcp -p tcp -d 10.96.0.10/32 --dport 80 -j DROP`,
    ]);
  });

  it("loadBalancerSourceRanges: the node port and LB IPs go through KUBE-FW, which lets only those sources on", () => {
    const fwChain = serviceFirewallChainName(name, "TCP");
    const lb = svc("default", "web", "http", { nodePort: 30080, loadBalancerSourceRanges: ["192.0.2.0/24", "198.51.100.7/32"], loadBalancerVIPs: ["203.0.113.9"] });
    const { text } = render([lb], { [name]: [here] }, local);
    const nat = table(text, "nat");
    expect(rulesOf(nat, "KUBE-NODEPORTS")).toEqual([`-A KUBE-NODEPORTS -m comment --comment "default/web:http" -m tcp -p tcp --dport 30080 -j ${fwChain}`]);
    expect(rulesOf(nat, "KUBE-SERVICES")).toContain(`-A KUBE-SERVICES -m comment --comment "default/web:http loadbalancer IP" -m tcp -p tcp -d 203.0.113.9/32 --dport 80 -j ${fwChain}`);
    expect(rulesOf(nat, fwChain)).toEqual([
      `-A ${fwChain} -m comment --comment "default/web:http loadbalancer IP" -s 192.0.2.0/24 -j ${extChain}`,
      `-A ${fwChain} -m comment --comment "default/web:http loadbalancer IP" -s 198.51.100.7/32 -j ${extChain}`,
      `-A ${fwChain} -m comment --comment "other traffic to default/web:http will be dropped by KUBE-PROXY-FIREWALL"`,
    ]);
    expect(rulesOf(table(text, "filter"), "KUBE-PROXY-FIREWALL")).toEqual([
      `-A KUBE-PROXY-FIREWALL -m comment --comment "default/web:http traffic not accepted by ${fwChain}" -m tcp -p tcp -d 203.0.113.9/32 --dport 80 -j DROP`,
      `-A KUBE-PROXY-FIREWALL -m comment --comment "default/web:http traffic not accepted by ${fwChain}" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30080 -j DROP`,
    ]);
    // Without ranges, no firewall chain.
    const open = table(render([svc("default", "web", "http", { nodePort: 30080 })], { [name]: [here] }, local).text, "nat");
    expect(open).not.toContain(`:${fwChain} - [0:0]`);
  });

  it("localhost NodePorts: the KUBE-FIREWALL guard and its jumps, only when asked", () => {
    const np = svc("default", "web", "http", { nodePort: 30080 });
    const on = table(render([np], { [name]: [here] }, { localhostNodePorts: true }).text, "filter");
    expect(rulesOf(on, "KUBE-FIREWALL")).toEqual([
      `-A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
    ]);
    expect(on).toContain("-I INPUT 1 -j KUBE-FIREWALL");
    expect(on).toContain("-I OUTPUT 1 -j KUBE-FIREWALL");
    expect(table(render([np], { [name]: [here] }).text, "filter").join("\n")).not.toContain("KUBE-FIREWALL");
  });
});

describe("partial syncs count what they keep", () => {
  it("counts and lists the same as a full render, for every kind of service port and mode", () => {
    const sticky = svc("default", "sticky", "a", { clusterIP: "10.96.0.12", stickyMaxAgeSeconds: 600 });
    const external = svc("default", "ext", "b", { clusterIP: "10.96.0.13", nodePort: 30080, externalIPs: ["192.0.2.10"] });
    const plain = svc("default", "plain", "", { clusterIP: "10.96.0.14" });
    const empty = svc("default", "empty", "", { clusterIP: "10.96.0.15" });
    const localExt = svc("default", "local", "", { clusterIP: "10.96.0.16", nodePort: 30081, externalPolicyLocal: true, internalPolicyLocal: true, stickyMaxAgeSeconds: 60 });
    const guarded = svc("default", "guarded", "", { clusterIP: "10.96.0.17", nodePort: 30082, loadBalancerSourceRanges: ["192.0.2.0/24"] });
    const eps = {
      "default/sticky:a": [ep("10.244.1.5"), ep("10.244.1.6")],
      "default/ext:b": [ep("10.244.1.7")],
      "default/plain": [ep("10.244.1.8"), ep("10.244.1.9"), ep("10.244.1.10")],
      "default/local": [ep("10.244.1.11", 80, { nodeName: "node-1" }), ep("10.244.2.11", 80, { nodeName: "node-2" })],
      "default/guarded": [ep("10.244.1.12")],
    };
    const all = [sticky, external, plain, empty, localExt, guarded];
    for (const extra of [{}, { clusterCIDR: "10.244.0.0/16" }, { masqueradeAll: true }, { largeClusterMode: true }] as Partial<RenderInput>[]) {
      const full = render(all, eps, { nodeName: "node-1", ...extra });
      const partial = render(all, eps, { nodeName: "node-1", ...extra, changedServicePorts: new Set(["default/plain"]) });
      expect(partial.ruleCounts).toEqual(full.ruleCounts);
      expect(partial.chains).toEqual(full.chains);
      expect(partial.text.length).toBeLessThan(full.text.length);
    }
  });
});
