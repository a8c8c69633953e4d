import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Pod } from "../../api/types/index.js";
import { hostsFileContent, makeDnsConfig, parseResolvConf, podDnsConfig, type ClusterDns } from "./dns.js";

const HOST_RESOLV = "# generated\nnameserver 192.168.1.1\nnameserver 8.8.8.8\nsearch corp.example. lab.example .\noptions edns0 ndots:2\n";
const DNS: ClusterDns = { servers: ["10.96.0.10"], domain: "cluster.local", hostResolvConf: HOST_RESOLV };

function pod(spec: Partial<NonNullable<Pod["spec"]>> = {}, name = "web-1"): Pod {
  return { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "shop", uid: "u1" }, spec: { containers: [{ name: "c" }], ...spec } };
}

describe("parseResolvConf", () => {
  it("reads nameservers, the last search line without trailing dots or '.', and options", () => {
    expect(parseResolvConf(HOST_RESOLV)).toEqual({
      servers: ["192.168.1.1", "8.8.8.8"],
      searches: ["corp.example", "lab.example"],
      options: ["edns0", "ndots:2"],
    });
  });
});

describe("makeDnsConfig", () => {
  it("ClusterFirst (the default): the cluster DNS, the cluster search path then the host's, ndots:5", () => {
    expect(makeDnsConfig(pod(), DNS)).toEqual({
      servers: ["10.96.0.10"],
      searches: ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example", "lab.example"],
      options: ["ndots:5"],
    });
  });

  it("ClusterFirst on the host network falls back to Default; ClusterFirstWithHostNet keeps the cluster DNS", () => {
    expect(makeDnsConfig(pod({ hostNetwork: true }), DNS)?.servers).toEqual(["192.168.1.1", "8.8.8.8"]);
    expect(makeDnsConfig(pod({ hostNetwork: true, dnsPolicy: "ClusterFirstWithHostNet" }), DNS)?.servers).toEqual(["10.96.0.10"]);
  });

  it("Default is the node's resolv.conf", () => {
    expect(makeDnsConfig(pod({ dnsPolicy: "Default" }), DNS)).toEqual(parseResolvConf(HOST_RESOLV));
  });

  it("Default without a resolv.conf asks the local machine", () => {
    expect(makeDnsConfig(pod({ dnsPolicy: "Default" }), { ...DNS, hostResolvConf: "", nodeIPs: ["192.168.50.11"] })).toEqual({
      servers: ["127.0.0.1"],
      searches: ["."],
      options: [],
    });
  });

  it("None uses only dnsConfig", () => {
    const p = pod({
      dnsPolicy: "None",
      dnsConfig: { nameservers: ["1.1.1.1"], searches: ["a.example"], options: [{ name: "ndots", value: "2" }, { name: "edns0" }] },
    });
    expect(makeDnsConfig(p, DNS)).toEqual({ servers: ["1.1.1.1"], searches: ["a.example"], options: ["ndots:2", "edns0"] });
  });

  it("merges dnsConfig into a cluster policy: appended without duplicates, options replaced by name", () => {
    const p = pod({ dnsConfig: { nameservers: ["10.96.0.10", "1.1.1.1"], searches: ["cluster.local", "x.example"], options: [{ name: "ndots", value: "1" }, { name: "single-request" }] } });
    expect(makeDnsConfig(p, DNS)).toEqual({
      servers: ["10.96.0.10", "1.1.1.1"],
      searches: ["shop.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example", "lab.example", "x.example"],
      options: ["ndots:1", "single-request"],
    });
  });

  it("without --cluster-dns a cluster policy falls back to Default with a warning", () => {
    const result = podDnsConfig(pod(), { ...DNS, servers: [] });
    expect(result.config.servers).toEqual(["192.168.1.1", "8.8.8.8"]);
    expect(result.warnings.map((w) => w.reason)).toEqual(["MissingClusterDNS"]);
  });

  it("applies Kubernetes' limits: 3 nameservers, 32 search domains, 2048 characters", () => {
    const many = pod({
      dnsPolicy: "None",
      dnsConfig: { nameservers: ["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"], searches: Array.from({ length: 40 }, (_, i) => `d${i}.example`) },
    });
    const result = podDnsConfig(many, DNS);
    expect(result.config.servers).toEqual(["1.1.1.1", "2.2.2.2", "3.3.3.3"]);
    expect(result.config.searches).toHaveLength(32);
    expect(result.warnings.map((w) => w.reason)).toEqual(["DNSConfigForming", "DNSConfigForming"]);
    expect(result.warnings[0]?.message).toBe(
      "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 1.1.1.1 2.2.2.2 3.3.3.3",
    );

    const long = pod({ dnsPolicy: "None", dnsConfig: { searches: Array.from({ length: 12 }, (_, i) => `${"x".repeat(200)}.d${i}`) } });
    const cut = podDnsConfig(long, DNS).config.searches;
    expect(cut.join(" ").length).toBeLessThanOrEqual(2048);
    expect(cut).toHaveLength(10); // ten of ~203 characters plus blanks fit in 2048
  });
});

describe("hostsFileContent", () => {
  const HEADER =
    "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n" +
    "fe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n";

  it("names the pod's IPs with its hostname", () => {
    expect(hostsFileContent(pod(), ["10.244.1.5"], "cluster.local")).toBe(`${HEADER}10.244.1.5\tweb-1\n`);
  });

  it("adds the FQDN with a subdomain, and hostAliases in their own section", () => {
    const p = pod({ hostname: "db-0", subdomain: "db", hostAliases: [{ ip: "10.1.2.3", hostnames: ["foo.local", "bar.local"] }] });
    expect(hostsFileContent(p, ["10.244.1.5", "fd00::5"], "cluster.local")).toBe(
      `${HEADER}10.244.1.5\tdb-0.db.shop.svc.cluster.local\tdb-0\nfd00::5\tdb-0.db.shop.svc.cluster.local\tdb-0\n` +
        "\n# Entries added by HostAliases.\n10.1.2.3\tfoo.local\tbar.local\n",
    );
  });

  it("cuts a long pod name to a 63-character hostname", () => {
    const name = `${"a".repeat(62)}-bcd`;
    expect(hostsFileContent(pod({}, name), ["10.0.0.1"], "cluster.local")).toContain(`10.0.0.1\t${"a".repeat(62)}\n`);
  });

  it("gives a host-network pod the node's hosts file (the machine's by default) and its aliases", () => {
    const p = pod({ hostNetwork: true, hostAliases: [{ ip: "10.1.2.3", hostnames: ["foo"] }] });
    expect(hostsFileContent(p, ["192.168.50.11"], "cluster.local")).toBe(
      `# Kubernetes-managed hosts file (host network).\n${readFileSync("/etc/hosts", "utf8")}\n# Entries added by HostAliases.\n10.1.2.3\tfoo\n`,
    );
    expect(hostsFileContent(p, ["192.168.50.11"], "cluster.local", "127.0.0.1 localhost\n")).toBe(
      "# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost\n\n# Entries added by HostAliases.\n10.1.2.3\tfoo\n",
    );
  });
});
