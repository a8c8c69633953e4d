// Names outside the cluster go to the upstream resolvers (CoreDNS's `forward . /etc/resolv.conf`): the query as the
// client sent it, over the client's transport, retried over TCP when a UDP answer comes back truncated; upstreams
// are tried in order, each within a timeout; undefined when none answers (the server then says SERVFAIL).
// Successful and negative answers are kept for their TTL, at most --cache-ttl (CoreDNS's `cache 30`).
import dnsPacket, { type Answer, type DecodedPacket, type Question } from "dns-packet";
import { createSocket } from "node:dgram";
import { connect, isIP, isIPv6 } from "node:net";
import { readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { realClock, type Clock } from "../component-base/clock.js";
import type { DnsMetrics } from "./metrics.js";
import { TcpFrameReader, tcpFrame } from "./tcp-framing.js";
import { RCODE } from "./zone.js";

export type Transport = "udp" | "tcp";

export interface Upstream {
  host: string;
  port: number;
  /** "host:port", the `to` label of the forward metrics. */
  label: string;
}

/** "10.0.0.2", "10.0.0.2:5353", "fd00::2", "[fd00::2]:5353" → an Upstream (port 53 by default). */
export function parseUpstream(text: string): Upstream {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  let host: string;
  let port = 53;
  if (bracketed) {
    host = bracketed[1]!;
    if (bracketed[2] !== undefined) port = Number(bracketed[2]);
  } else if (isIP(text) !== 0) {
    host = text;
  } else {
    const colon = text.lastIndexOf(":");
    host = colon < 0 ? text : text.slice(0, colon);
    if (colon >= 0) port = Number(text.slice(colon + 1));
  }
  if (isIP(host) === 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`invalid upstream resolver ${JSON.stringify(text)}: want IP or IP:port`);
  return { host, port, label: isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}` };
}

/** The nameserver lines of a resolv.conf. */
export function resolvConfNameservers(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.replace(/[#;].*$/, "").trim().split(/\s+/))
    .filter((fields) => fields[0] === "nameserver" && fields[1] !== undefined && isIP(fields[1]) !== 0)
    .map((fields) => fields[1]!);
}

/**
 * The upstreams of the machine's resolv.conf, without the ones that would be this server itself (a loopback or
 * local address while it serves port 53 on it), which would loop queries back here.
 */
export function defaultUpstreams(opts: { resolvConf: string; dnsPort: number; bindAddress: string; localAddresses?: readonly string[] }): Upstream[] {
  let text = "";
  try {
    text = readFileSync(opts.resolvConf, "utf8");
  } catch {
    return [];
  }
  const local = new Set(opts.localAddresses ?? Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address)));
  const wildcard = opts.bindAddress === "0.0.0.0" || opts.bindAddress === "::";
  const isSelf = (ip: string): boolean =>
    opts.dnsPort === 53 && (ip === opts.bindAddress || (wildcard && (local.has(ip) || ip.startsWith("127.") || ip === "::1")));
  return resolvConfNameservers(text)
    .filter((ip) => !isSelf(ip))
    .map(parseUpstream);
}

export interface ForwarderOptions {
  upstreams: readonly Upstream[];
  /** How long one attempt at one upstream may take. */
  timeoutMs: number;
  metrics?: DnsMetrics;
  clock?: Clock;
}

export class Forwarder {
  readonly upstreams: readonly Upstream[];
  private readonly clock: Clock;

  constructor(private readonly opts: ForwarderOptions) {
    this.upstreams = opts.upstreams;
    this.clock = opts.clock ?? realClock;
  }

  /** The upstream's answer to `query` (the client's message as it came), or undefined when no upstream answered. */
  async forward(query: Buffer, id: number, transport: Transport): Promise<DecodedPacket | undefined> {
    for (const upstream of this.opts.upstreams) {
      const started = this.clock.now();
      this.opts.metrics?.forwardRequests.inc({ to: upstream.label });
      try {
        let answer = transport === "udp" ? await exchangeUdp(upstream, query, id, this.opts.timeoutMs) : await exchangeTcp(upstream, query, id, this.opts.timeoutMs);
        if (answer.flag_tc && transport === "udp") answer = await exchangeTcp(upstream, query, id, this.opts.timeoutMs);
        const rcode = rcodeName(answer.flags ?? 0);
        this.opts.metrics?.forwardResponses.inc({ to: upstream.label, rcode });
        this.opts.metrics?.forwardDuration.observe({ to: upstream.label, rcode }, (this.clock.now() - started) / 1000);
        return answer;
      } catch {
        // The next upstream, as CoreDNS's forward does after a failed or timed-out exchange.
      }
    }
    return undefined;
  }
}

/** The rcode of a message's flags as CoreDNS's labels spell it ("NOERROR", "NXDOMAIN"). */
export function rcodeName(flags: number): string {
  const code = flags & 0xf;
  return Object.entries(RCODE).find(([, value]) => value === code)?.[0] ?? `RCODE${code}`;
}

function answerFor(message: Buffer, id: number): DecodedPacket | undefined {
  try {
    const decoded = dnsPacket.decode(message);
    return decoded.id === id && decoded.type === "response" ? decoded : undefined;
  } catch {
    return undefined;
  }
}

function exchangeUdp(upstream: Upstream, query: Buffer, id: number, timeoutMs: number): Promise<DecodedPacket> {
  const socket = createSocket(isIPv6(upstream.host) ? "udp6" : "udp4");
  return new Promise<DecodedPacket>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`no answer from ${upstream.label} within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("message", (message) => {
      const answer = answerFor(message, id);
      if (!answer) return;
      clearTimeout(timer);
      resolve(answer);
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // Connected, so that only the upstream's datagrams arrive and an ICMP error for it (port or network
    // unreachable: no resolver there, or no route out of the lab) fails the attempt at once instead of at the
    // timeout; a client whose search path ends in a forwarded name would otherwise wait that long for every lookup.
    socket.connect(upstream.port, upstream.host, () => {
      socket.send(query);
    });
  }).finally(() => {
    socket.close();
  });
}

function exchangeTcp(upstream: Upstream, query: Buffer, id: number, timeoutMs: number): Promise<DecodedPacket> {
  const socket = connect({ host: upstream.host, port: upstream.port });
  const reader = new TcpFrameReader();
  return new Promise<DecodedPacket>((resolve, reject) => {
    socket.setTimeout(timeoutMs, () => {
      reject(new Error(`no answer from ${upstream.label} within ${timeoutMs} ms`));
    });
    socket.on("connect", () => socket.write(tcpFrame(query)));
    socket.on("data", (chunk) => {
      for (const message of reader.push(chunk)) {
        const answer = answerFor(message, id);
        if (answer) resolve(answer);
      }
    });
    socket.on("error", reject);
    socket.on("end", () => {
      reject(new Error(`${upstream.label} closed the connection without answering`));
    });
  }).finally(() => {
    socket.destroy();
  });
}

interface CacheEntry {
  answer: DecodedPacket;
  storedAt: number;
  expiresAt: number;
  type: "success" | "denial";
}

export interface ResponseCacheOptions {
  /** The longest an answer is kept, in seconds (CoreDNS's default Corefile: `cache 30`); 0 disables. */
  maxTtlSeconds: number;
  /** Entries kept before the oldest go (CoreDNS: 9984). */
  capacity?: number;
  /** The server label of the cache metrics (the DNS server sets it once it knows its port). */
  server?: string;
  metrics?: DnsMetrics;
  clock?: Clock;
}

/** Forwarded answers by question, their TTLs counted down while cached. */
export class ResponseCache {
  private readonly entries = new Map<string, CacheEntry>();
  private readonly clock: Clock;
  private readonly capacity: number;
  /** The server label of the cache metrics. */
  server: string;

  constructor(private readonly opts: ResponseCacheOptions) {
    this.server = opts.server ?? "dns://:53";
    this.clock = opts.clock ?? realClock;
    this.capacity = opts.capacity ?? 9984;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached answer to `question` with its TTLs lowered by the time spent in the cache, or undefined. */
  get(question: Question): DecodedPacket | undefined {
    const m = this.opts.metrics;
    m?.cacheRequests.inc({ server: this.server });
    const key = cacheKey(question);
    const entry = this.entries.get(key);
    const now = this.clock.now();
    if (!entry || entry.expiresAt <= now) {
      if (entry) this.delete(key);
      m?.cacheMisses.inc({ server: this.server });
      return undefined;
    }
    m?.cacheHits.inc({ server: this.server, type: entry.type });
    const elapsed = Math.floor((now - entry.storedAt) / 1000);
    const age = (records: readonly Answer[] | undefined): Answer[] => (records ?? []).map((r) => (r.type === "OPT" ? r : { ...r, ttl: Math.max(0, (r.ttl ?? 0) - elapsed) }));
    return { ...entry.answer, answers: age(entry.answer.answers), authorities: age(entry.answer.authorities), additionals: age(entry.answer.additionals) };
  }

  /** Keeps `answer` when it is a complete success or denial with a TTL. */
  put(question: Question, answer: DecodedPacket): void {
    if (this.opts.maxTtlSeconds <= 0 || answer.flag_tc) return;
    const rcode = (answer.flags ?? 0) & 0xf;
    const answers = answer.answers ?? [];
    let type: CacheEntry["type"];
    let ttl: number;
    if (rcode === RCODE.NOERROR && answers.length > 0) {
      type = "success";
      ttl = Math.min(...answers.map((a) => ("ttl" in a ? (a.ttl ?? 0) : 0)));
    } else if (rcode === RCODE.NXDOMAIN || (rcode === RCODE.NOERROR && answers.length === 0)) {
      type = "denial";
      const soa = (answer.authorities ?? []).find((a) => a.type === "SOA");
      ttl = soa?.type === "SOA" ? Math.min(soa.ttl ?? 0, soa.data.minimum ?? 0) : 0;
    } else {
      return;
    }
    ttl = Math.min(ttl, this.opts.maxTtlSeconds);
    if (ttl <= 0) return;
    const key = cacheKey(question);
    this.delete(key);
    while (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.delete(oldest);
    }
    const now = this.clock.now();
    const withoutOpt = { ...answer, additionals: (answer.additionals ?? []).filter((a) => a.type !== "OPT") };
    this.entries.set(key, { answer: withoutOpt, storedAt: now, expiresAt: now + ttl * 1000, type });
    this.opts.metrics?.cacheEntries.inc({ server: this.server, type });
  }

  private delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.opts.metrics?.cacheEntries.dec({ server: this.server, type: entry.type });
  }
}

function cacheKey(question: Question): string {
  return `${question.name.toLowerCase().replace(/\.+$/, "")}/${question.type}/${question.class ?? "IN"}`;
}
