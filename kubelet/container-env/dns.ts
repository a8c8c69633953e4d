// The pod's DNS (sandbox DnsConfig from dnsPolicy/dnsConfig, --cluster-dns, --cluster-domain; kubelet
// network/dns) and its /etc/hosts file (managedHostsFileContent).
import { readFileSync } from "node:fs";
import type * as cri from "../../client/cri/types.js";
import type { Pod, PodDNSConfig } from "../../api/types/index.js";

export interface ClusterDns {
  /** --cluster-dns */
  servers: readonly string[];
  /** --cluster-domain */
  domain: string;
  /** The node's own resolv.conf (for dnsPolicy Default and host-network pods); "" when unreadable. */
  hostResolvConf: string;
  /** The node's IPs: with no resolv.conf, a Default-policy pod asks the local machine (127.0.0.1 / ::1). */
  nodeIPs?: readonly string[];
}

/** Kubernetes' limits, from what libc's resolver honours. */
export const MAX_DNS_NAMESERVERS = 3;
export const MAX_DNS_SEARCH_PATHS = 32;
export const MAX_DNS_SEARCH_LIST_CHARS = 2048;
/** Longer search domains make some resolvers abort: they are dropped. */
const MAX_SEARCH_DOMAIN_LENGTH = 253;

const CLUSTER_OPTIONS = ["ndots:5"];

export interface PodDnsResult {
  config: cri.DnsConfig;
  /** Event-worthy notes on the pod (reason DNSConfigForming / MissingClusterDNS). */
  warnings: { reason: string; message: string }[];
}

/** The sandbox's DNS settings for the pod. */
export function makeDnsConfig(pod: Readonly<Pod>, dns: ClusterDns): cri.DnsConfig | undefined {
  return podDnsConfig(pod, dns).config;
}

/** makeDnsConfig with the warnings Kubernetes turns into events. */
export function podDnsConfig(pod: Readonly<Pod>, dns: ClusterDns): PodDnsResult {
  const warnings: PodDnsResult["warnings"] = [];
  const host = parseResolvConf(dns.hostResolvConf);
  let config: cri.DnsConfig = { servers: host.servers, searches: host.searches, options: host.options };
  const policy = pod.spec?.dnsPolicy ?? "ClusterFirst";
  const hostNetwork = pod.spec?.hostNetwork === true;
  const cluster = policy === "ClusterFirstWithHostNet" || (policy === "ClusterFirst" && !hostNetwork);

  if (policy === "None") {
    config = { servers: [], searches: [], options: [] };
  } else if (cluster && dns.servers.length > 0) {
    const searches =
      dns.domain === ""
        ? host.searches
        : unique([`${pod.metadata.namespace ?? "default"}.svc.${dns.domain}`, `svc.${dns.domain}`, dns.domain, ...host.searches]);
    config = { servers: [...dns.servers], searches, options: [...CLUSTER_OPTIONS] };
  } else {
    if (cluster) {
      warnings.push({
        reason: "MissingClusterDNS",
        message: `kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.`,
      });
    }
    if (dns.hostResolvConf === "") {
      const servers = (dns.nodeIPs ?? []).map((ip) => (ip.includes(":") ? "::1" : "127.0.0.1"));
      config = { servers: servers.length > 0 ? unique(servers) : ["127.0.0.1"], searches: ["."], options: [] };
    }
  }

  if (pod.spec?.dnsConfig) config = appendDnsConfig(config, pod.spec.dnsConfig);

  if (config.servers.length > MAX_DNS_NAMESERVERS) {
    config.servers = config.servers.slice(0, MAX_DNS_NAMESERVERS);
    warnings.push({
      reason: "DNSConfigForming",
      message: `Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: ${config.servers.join(" ")}`,
    });
  }
  const fitted = fitSearches(config.searches);
  config.searches = fitted.searches;
  if (fitted.exceeded) {
    warnings.push({
      reason: "DNSConfigForming",
      message: `Search Line limits were exceeded, some search paths have been omitted, the applied search line is: ${fitted.searches.join(" ")}`,
    });
  }
  return { config, warnings };
}

/** nameserver, search and options lines of a resolv.conf; search domains lose a trailing dot, "." is dropped. */
export function parseResolvConf(text: string): cri.DnsConfig {
  const servers: string[] = [];
  let searches: string[] = [];
  const options: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const [keyword, ...fields] = line.split(/\s+/);
    if (keyword === "nameserver" && fields[0] !== undefined) servers.push(fields[0]);
    else if (keyword === "search") searches = fields.filter((s) => s !== ".").map((s) => s.replace(/\.$/, ""));
    else if (keyword === "options") options.push(...fields);
  }
  return { servers, searches, options };
}

/** Pod dnsConfig on top: servers and searches appended without duplicates, options replaced by name. */
function appendDnsConfig(base: cri.DnsConfig, extra: Readonly<PodDNSConfig>): cri.DnsConfig {
  const options = new Map<string, string>();
  for (const op of base.options) {
    const colon = op.indexOf(":");
    if (colon === -1) options.set(op, "");
    else options.set(op.slice(0, colon), op.slice(colon + 1));
  }
  for (const op of extra.options ?? []) options.set(op.name ?? "", op.value ?? "");
  return {
    servers: unique([...base.servers, ...(extra.nameservers ?? [])]),
    searches: unique([...base.searches, ...(extra.searches ?? [])]),
    options: [...options].map(([name, value]) => (value === "" ? name : `${name}:${value}`)),
  };
}

function fitSearches(input: readonly string[]): { searches: string[]; exceeded: boolean } {
  let exceeded = input.length > MAX_DNS_SEARCH_PATHS;
  let searches = input.slice(0, MAX_DNS_SEARCH_PATHS);
  const short = searches.filter((s) => s.length <= MAX_SEARCH_DOMAIN_LENGTH);
  if (short.length !== searches.length) exceeded = true;
  searches = short;
  while (searches.join(" ").length > MAX_DNS_SEARCH_LIST_CHARS) {
    searches = searches.slice(0, -1);
    exceeded = true;
  }
  return { searches, exceeded };
}

function unique(items: readonly string[]): string[] {
  return [...new Set(items)];
}

/**
 * The pod's hostname and, with a subdomain, its domain `<subdomain>.<ns>.svc.<cluster domain>`
 * (GeneratePodHostNameAndDomain): spec.hostname or the pod's name, cut to 63 characters.
 */
export function podHostnameAndDomain(pod: Readonly<Pod>, clusterDomain: string): { hostname: string; domain: string } {
  let hostname = pod.spec?.hostname ?? "";
  if (hostname === "") hostname = pod.metadata.name ?? "";
  if (hostname.length > 63) hostname = hostname.slice(0, 63).replace(/[-.]+$/, "");
  const subdomain = pod.spec?.subdomain ?? "";
  const domain = subdomain === "" ? "" : `${subdomain}.${pod.metadata.namespace ?? "default"}.svc.${clusterDomain}`;
  return { hostname, domain };
}

/**
 * The contents of the pod's /etc/hosts (localhost lines, the pod's IPs with hostname/FQDN, hostAliases). A
 * host-network pod gets the node's hosts file (nodeHostsFile, default the machine's /etc/hosts) plus its aliases,
 * or "" when that cannot be read: then the kubelet manages no /etc/hosts for it.
 */
export function hostsFileContent(pod: Readonly<Pod>, podIPs: readonly string[], clusterDomain: string, nodeHostsFile?: string): string {
  const aliases = hostAliasesSection(pod);
  if (pod.spec?.hostNetwork === true) {
    const nodeHosts = nodeHostsFile ?? readNodeHostsFile();
    if (nodeHosts === undefined) return "";
    return `# Kubernetes-managed hosts file (host network).\n${nodeHosts}${aliases}`;
  }
  const { hostname, domain } = podHostnameAndDomain(pod, clusterDomain);
  let out =
    "# Kubernetes-managed hosts file.\n" +
    "127.0.0.1\tlocalhost\n" +
    "::1\tlocalhost ip6-localhost ip6-loopback\n" +
    "fe00::0\tip6-localnet\n" +
    "fe00::0\tip6-mcastprefix\n" +
    "fe00::1\tip6-allnodes\n" +
    "fe00::2\tip6-allrouters\n";
  for (const ip of podIPs) out += domain === "" ? `${ip}\t${hostname}\n` : `${ip}\t${hostname}.${domain}\t${hostname}\n`;
  return out + aliases;
}

function readNodeHostsFile(): string | undefined {
  try {
    return readFileSync("/etc/hosts", "utf8");
  } catch {
    return undefined;
  }
}

function hostAliasesSection(pod: Readonly<Pod>): string {
  const aliases = pod.spec?.hostAliases ?? [];
  if (aliases.length === 0) return "";
  return `\n# Entries added by HostAliases.\n${aliases.map((a) => `${a.ip}\t${(a.hostnames ?? []).join("\t")}\n`).join("")}`;
}
