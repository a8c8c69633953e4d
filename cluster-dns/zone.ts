// The cluster zone's answers, as Kubernetes' DNS specification (kubernetes/dns docs/specification.md, schema 1.1.0)
// and CoreDNS's kubernetes plugin give them, computed on each question from the informer caches so a change is
// visible as soon as the watch delivers it:
//
//   <svc>.<ns>.svc.<zone>               A/AAAA: the ClusterIPs; headless: the ready endpoints' addresses;
//                                       ExternalName: a CNAME to spec.externalName; SRV: one per port
//   _<port>._<proto>.<svc>.<ns>.svc.<zone>  SRV for a named port (headless: one per ready endpoint)
//   <host>.<svc>.<ns>.svc.<zone>        A/AAAA of a headless Service's endpoint, by its hostname or dashed address
//   <a-b-c-d>.<ns>.pod.<zone>           A of a pod address (CoreDNS's "pods insecure": the address is not checked)
//   dns-version.<zone>                  TXT "1.1.0"
//   reverse names of ClusterIPs and headless endpoint addresses: PTR
//
// Unknown names in the zone are NXDOMAIN and names that exist without the asked type NODATA, both with the zone's
// SOA in the authority section. A reverse name of an address the cluster does not know is not ours: the caller
// forwards it (CoreDNS's `fallthrough in-addr.arpa ip6.arpa`).
import type { Answer, Question, SrvAnswer, StringRecordType } from "dns-packet";
import { isIPv4, isIPv6 } from "node:net";
import type { Informer, Lister } from "../client/informer.js";
import type { EndpointSlice, Service } from "../api/types/index.js";

/** The DNS response codes this server sends. */
export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** The version of the Kubernetes DNS schema the answers follow, served as dns-version.<zone> TXT. */
export const DNS_SCHEMA_VERSION = "1.1.0";

/** The EndpointSlice label that names its Service. */
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

const SERVICE_INDEX = "cluster-dns/service";
const CLUSTER_IP_INDEX = "cluster-dns/cluster-ip";
const ENDPOINT_IP_INDEX = "cluster-dns/endpoint-ip";

export interface ZoneReply {
  rcode: number;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
}

/** The caches the zone reads; the zone adds its own indexes to them. */
export interface ZoneSources {
  services: Pick<Informer<Service>, "lister" | "addIndexers">;
  endpointSlices: Pick<Informer<EndpointSlice>, "lister" | "addIndexers">;
}

export interface ClusterZoneOptions {
  /** --domain, e.g. "cluster.local" (a trailing dot and case are ignored). */
  domain: string;
  /** TTL of the records (CoreDNS's kubernetes plugin: 5 s). */
  ttl?: number;
  /** TTL and minimum of the SOA given with negative answers (CoreDNS: 30 s). */
  soaTtl?: number;
  /** The SOA serial: CoreDNS gives the time of the last change it saw, in Unix seconds. */
  serial?: () => number;
}

/** Lowercase, without the trailing dot: the form names are compared in. */
export function canonicalName(name: string): string {
  return name.toLowerCase().replace(/\.+$/, "");
}

/** "10.0.0.7" → "10-0-0-7"; "fd00::7" → "fd00--7" (the endpoint and pod name form of an address). */
export function dashedAddress(ip: string): string {
  return isIPv4(ip) ? ip.replaceAll(".", "-") : ip.replaceAll(":", "-");
}

/** "10-0-0-7" → "10.0.0.7"; undefined when the label is not a dashed address. */
export function undashAddress(label: string): string | undefined {
  const v4 = label.replaceAll("-", ".");
  if (isIPv4(v4)) return v4;
  const v6 = label.replaceAll("-", ":");
  return isIPv6(v6) ? v6 : undefined;
}

/** The address a reverse name stands for ("7.0.0.10.in-addr.arpa" → "10.0.0.7"), or undefined. */
export function reverseNameAddress(name: string): string | undefined {
  const n = canonicalName(name);
  if (n.endsWith(".in-addr.arpa")) {
    const octets = n.slice(0, -".in-addr.arpa".length).split(".");
    if (octets.length !== 4) return undefined;
    const ip = octets.reverse().join(".");
    return isIPv4(ip) ? ip : undefined;
  }
  if (n.endsWith(".ip6.arpa")) {
    const nibbles = n.slice(0, -".ip6.arpa".length).split(".");
    if (nibbles.length !== 32 || !nibbles.every((x) => /^[0-9a-f]$/.test(x))) return undefined;
    const hex = nibbles.reverse().join("");
    const ip = hex.match(/.{4}/g)!.join(":");
    return isIPv6(ip) ? normalizeAddress(ip) : undefined;
  }
  return undefined;
}

/** One spelling per address: IPv6 compressed and lowercase ("fd00:0:0::1" → "fd00::1"), IPv4 as it is. */
export function normalizeAddress(ip: string): string {
  return isIPv6(ip) ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip;
}

function isHeadless(svc: Readonly<Service>): boolean {
  return svc.spec?.clusterIP === "None";
}

function clusterIPs(svc: Readonly<Service>): string[] {
  const spec = svc.spec;
  if (!spec || spec.type === "ExternalName" || isHeadless(svc)) return [];
  const ips = spec.clusterIPs && spec.clusterIPs.length > 0 ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  return ips.filter((ip) => isIPv4(ip) || isIPv6(ip));
}

/** One address of an endpoint as DNS publishes it. */
interface PublishedEndpoint {
  ip: string;
  /** The endpoint's first label: its hostname, or its dashed address. */
  host: string;
  slice: Readonly<EndpointSlice>;
}

/** A record set answering one question: the records, and the extra records for the additional section. */
interface Found {
  answers: Answer[];
  additionals?: Answer[];
}

const NXDOMAIN = "NXDOMAIN" as const;

/** The cluster zone over the Service and EndpointSlice caches. */
export class ClusterZone {
  /** The zone, canonical ("cluster.local"). */
  readonly domain: string;
  private readonly ttl: number;
  private readonly soaTtl: number;
  private readonly serial: () => number;
  private readonly services: Lister<Service>;
  private readonly slices: Lister<EndpointSlice>;

  constructor(sources: ZoneSources, opts: ClusterZoneOptions) {
    this.domain = canonicalName(opts.domain);
    this.ttl = opts.ttl ?? 5;
    this.soaTtl = opts.soaTtl ?? 30;
    this.serial = opts.serial ?? (() => Math.floor(Date.now() / 1000));
    sources.services.addIndexers({ [CLUSTER_IP_INDEX]: (svc) => clusterIPs(svc).map(normalizeAddress) });
    sources.endpointSlices.addIndexers({
      [SERVICE_INDEX]: (slice) => {
        const svc = slice.metadata.labels?.[SERVICE_NAME_LABEL];
        return svc ? [`${slice.metadata.namespace ?? ""}/${svc}`] : [];
      },
      [ENDPOINT_IP_INDEX]: (slice) => (slice.endpoints ?? []).flatMap((e) => e.addresses.map(normalizeAddress)),
    });
    this.services = sources.services.lister;
    this.slices = sources.endpointSlices.lister;
  }

  /** Whether `name` is the zone or under it. */
  contains(name: string): boolean {
    const n = canonicalName(name);
    return n === this.domain || n.endsWith(`.${this.domain}`);
  }

  /**
   * The reply to `question`, or undefined when the name is not the cluster's to answer (outside the zone, or the
   * reverse name of an address the cluster does not know): the caller forwards it.
   */
  answer(question: Question): ZoneReply | undefined {
    const qname = canonicalName(question.name);
    const reverse = reverseNameAddress(qname);
    if (reverse !== undefined) {
      const target = this.ptrTarget(reverse);
      if (target === undefined) return undefined;
      return this.reply(question, question.type === "PTR" ? { answers: [this.record(question.name, "PTR", target)] } : { answers: [] });
    }
    if (!this.contains(qname)) return undefined;
    const labels = qname === this.domain ? [] : qname.slice(0, -(this.domain.length + 1)).split(".");
    return this.reply(question, this.lookup(question, labels));
  }

  /** The SOA of the zone, as given in the authority section of negative answers. */
  soa(): Answer {
    return {
      type: "SOA",
      name: this.domain,
      ttl: this.soaTtl,
      class: "IN",
      data: {
        mname: `ns.dns.${this.domain}`,
        rname: `hostmaster.${this.domain}`,
        serial: this.serial() >>> 0,
        refresh: 7200,
        retry: 1800,
        expire: 86400,
        minimum: this.soaTtl,
      },
    };
  }

  private reply(question: Question, found: Found | typeof NXDOMAIN): ZoneReply {
    if (found === NXDOMAIN) return { rcode: RCODE.NXDOMAIN, answers: [], authorities: [this.soa()], additionals: [] };
    const any = (question.type as string) === "ANY";
    const relevant = found.answers.filter((a) => any || a.type === question.type || a.type === "CNAME");
    // The additional addresses belong to SRV targets.
    const withSrv = relevant.some((a) => a.type === "SRV");
    return {
      rcode: RCODE.NOERROR,
      answers: relevant,
      authorities: relevant.length === 0 ? [this.soa()] : [],
      additionals: withSrv ? (found.additionals ?? []) : [],
    };
  }

  /** Every record of the name (the caller keeps those of the asked type), NXDOMAIN when the name does not exist. */
  private lookup(question: Question, labels: readonly string[]): Found | typeof NXDOMAIN {
    const owner = question.name;
    if (labels.length === 0) return { answers: [this.soa(), this.record(owner, "NS", `ns.dns.${this.domain}`)] };
    if (labels.length === 1 && labels[0] === "dns-version") return { answers: [this.record(owner, "TXT", DNS_SCHEMA_VERSION)] };
    const kind = labels[labels.length - 1];
    const rest = labels.slice(0, -1);
    if (kind === "svc") return this.lookupService(owner, rest);
    if (kind === "pod") return this.lookupPod(owner, rest);
    return NXDOMAIN;
  }

  /** Names under svc.<zone>: `rest` is what precedes "svc", e.g. ["_http", "_tcp", "web", "default"]. */
  private lookupService(owner: string, rest: readonly string[]): Found | typeof NXDOMAIN {
    if (rest.length === 0) return { answers: [] };
    const namespace = rest[rest.length - 1]!;
    if (rest.length === 1) return this.services.listNamespace(namespace).length > 0 ? { answers: [] } : NXDOMAIN;
    const svc = this.services.getByName(namespace, rest[rest.length - 2]!);
    if (!svc) return NXDOMAIN;
    const prefix = rest.slice(0, -2);
    if (prefix.length === 0) return this.serviceRecords(owner, svc);
    if (prefix.length === 1) {
      const label = prefix[0]!;
      // `_tcp.<svc>...` is the empty parent of the SRV names below it.
      if (label.startsWith("_")) return this.srvRecords(owner, svc, undefined, label.slice(1)).answers.length > 0 ? { answers: [] } : NXDOMAIN;
      return this.endpointRecords(owner, svc, label);
    }
    if (prefix.length === 2 && prefix[0]!.startsWith("_") && prefix[1]!.startsWith("_")) {
      const found = this.srvRecords(owner, svc, prefix[0]!.slice(1), prefix[1]!.slice(1));
      return found.answers.length > 0 ? found : NXDOMAIN;
    }
    return NXDOMAIN;
  }

  /** The name of the Service itself: its addresses (or CNAME) and an SRV per port. */
  private serviceRecords(owner: string, svc: Readonly<Service>): Found | typeof NXDOMAIN {
    if (svc.spec?.type === "ExternalName") {
      const target = svc.spec.externalName;
      return target ? { answers: [this.record(owner, "CNAME", canonicalName(target))] } : NXDOMAIN;
    }
    if (isHeadless(svc)) {
      // CoreDNS: a headless Service without ready endpoints has no records at all (NXDOMAIN).
      if (this.publishedEndpoints(svc).length === 0) return NXDOMAIN;
    }
    const addresses = isHeadless(svc) ? unique(this.publishedEndpoints(svc).map((e) => e.ip)) : clusterIPs(svc);
    const srv = this.srvRecords(owner, svc, undefined, undefined);
    return { answers: [...addresses.map((ip) => this.address(owner, ip)), ...srv.answers], additionals: srv.additionals ?? [] };
  }

  /**
   * SRV records of the Service's ports matching `portName` and `protocol` (undefined: any; an unnamed port matches
   * only "any"). ClusterIP Services point at the Service's name; headless ones at each ready endpoint's name, with
   * its address in the additional section.
   */
  private srvRecords(owner: string, svc: Readonly<Service>, portName: string | undefined, protocol: string | undefined): Found {
    const ns = svc.metadata.namespace ?? "default";
    const svcName = `${svc.metadata.name}.${ns}.svc.${this.domain}`;
    const matches = (name: string | undefined, proto: string | undefined): boolean =>
      (portName === undefined || (name !== undefined && name !== "" && name.toLowerCase() === portName)) && (protocol === undefined || (proto ?? "TCP").toLowerCase() === protocol);
    const targets: { target: string; port: number; ip?: string }[] = [];
    if (isHeadless(svc)) {
      for (const endpoint of this.publishedEndpoints(svc)) {
        for (const port of endpoint.slice.ports ?? []) {
          if (port.port === undefined || !matches(port.name, port.protocol)) continue;
          targets.push({ target: `${endpoint.host}.${svcName}`, port: port.port, ip: endpoint.ip });
        }
      }
    } else if (svc.spec?.type !== "ExternalName") {
      for (const port of svc.spec?.ports ?? []) if (matches(port.name, port.protocol)) targets.push({ target: svcName, port: port.port });
    }
    // CoreDNS spreads the weight evenly over the records of one priority.
    const weight = targets.length > 0 ? Math.max(1, Math.floor(100 / targets.length)) : 0;
    const answers = targets.map(
      (t): SrvAnswer => ({ type: "SRV", name: owner, ttl: this.ttl, class: "IN", data: { priority: 0, weight, port: t.port, target: t.target } }),
    );
    const additionals = unique(targets.flatMap((t) => (t.ip !== undefined ? [`${t.target} ${t.ip}`] : []))).map((pair) => {
      const [target, ip] = pair.split(" ") as [string, string];
      return this.address(target, ip);
    });
    return { answers, additionals };
  }

  /** `<host>.<svc>.<ns>.svc.<zone>`: a headless Service's endpoint by hostname or dashed address. */
  private endpointRecords(owner: string, svc: Readonly<Service>, host: string): Found | typeof NXDOMAIN {
    if (!isHeadless(svc)) return NXDOMAIN;
    const ips = unique(this.publishedEndpoints(svc).filter((e) => e.host === host || dashedAddress(e.ip) === host).map((e) => e.ip));
    return ips.length > 0 ? { answers: ips.map((ip) => this.address(owner, ip)) } : NXDOMAIN;
  }

  /** `<a-b-c-d>.<ns>.pod.<zone>`: the address the first label spells. */
  private lookupPod(owner: string, rest: readonly string[]): Found | typeof NXDOMAIN {
    if (rest.length <= 1) return { answers: [] };
    if (rest.length !== 2) return NXDOMAIN;
    const ip = undashAddress(rest[0]!);
    return ip === undefined ? NXDOMAIN : { answers: [this.address(owner, ip)] };
  }

  /** The endpoints of the Service DNS publishes: the ready ones, or all with publishNotReadyAddresses. */
  private publishedEndpoints(svc: Readonly<Service>): PublishedEndpoint[] {
    const all = svc.spec?.publishNotReadyAddresses === true;
    const out: PublishedEndpoint[] = [];
    for (const slice of this.slices.byIndex(SERVICE_INDEX, `${svc.metadata.namespace ?? ""}/${svc.metadata.name}`)) {
      if (slice.addressType === "FQDN") continue;
      for (const endpoint of slice.endpoints ?? []) {
        if (!all && endpoint.conditions?.ready === false) continue;
        for (const ip of endpoint.addresses) out.push({ ip, host: endpoint.hostname ?? dashedAddress(ip), slice });
      }
    }
    return out;
  }

  /** The name a cluster address points back to, or undefined when the cluster does not know it. */
  private ptrTarget(ip: string): string | undefined {
    const svc = this.services.byIndex(CLUSTER_IP_INDEX, ip)[0];
    if (svc) return `${svc.metadata.name}.${svc.metadata.namespace ?? "default"}.svc.${this.domain}`;
    for (const slice of this.slices.byIndex(ENDPOINT_IP_INDEX, ip)) {
      const svcName = slice.metadata.labels?.[SERVICE_NAME_LABEL];
      const ns = slice.metadata.namespace ?? "default";
      const owner = svcName ? this.services.getByName(ns, svcName) : undefined;
      if (!owner || !isHeadless(owner)) continue;
      const endpoint = (slice.endpoints ?? []).find((e) => e.addresses.some((a) => normalizeAddress(a) === ip));
      return `${endpoint?.hostname ?? dashedAddress(ip)}.${svcName}.${ns}.svc.${this.domain}`;
    }
    return undefined;
  }

  private address(owner: string, ip: string): Answer {
    return this.record(owner, isIPv4(ip) ? "A" : "AAAA", ip);
  }

  private record(owner: string, type: StringRecordType | "TXT", data: string): Answer {
    return type === "TXT" ? { type, name: owner, ttl: this.ttl, class: "IN", data } : { type, name: owner, ttl: this.ttl, class: "IN", data };
  }
}

function unique<T>(items: readonly T[]): T[] {
  return [...new Set(items)];
}
