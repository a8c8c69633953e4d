// The DNS server: UDP and TCP on one port, messages encoded and decoded by dns-packet. Each question is answered by
// the cluster zone when it is the cluster's, else by the cache or the upstream resolvers (SERVFAIL when none
// answers). UDP replies larger than the client accepts (512 bytes, or its EDNS size) go out truncated, so the
// client asks again over TCP.
import dnsPacket, { type Answer, type DecodedPacket, type OptAnswer, type Packet } from "dns-packet";
import { createSocket, type Socket } from "node:dgram";
import { createServer, isIPv6, type Server, type Socket as NetSocket } from "node:net";
import { realClock, type Clock } from "../component-base/clock.js";
import type { Logger } from "../component-base/logging.js";
import { rcodeName, type Forwarder, type ResponseCache, type Transport } from "./forward.js";
import type { DnsMetrics } from "./metrics.js";
import { TcpFrameReader, tcpFrame } from "./tcp-framing.js";
import { RCODE, type ClusterZone } from "./zone.js";

const OPCODE_QUERY = 0;
/** The UDP payload this server offers in its EDNS record (the DNS flag day 2020 value). */
const EDNS_UDP_SIZE = 1232;
/** Without EDNS a UDP message may not exceed 512 bytes. */
const PLAIN_UDP_SIZE = 512;
/** An idle TCP connection is closed after this long (CoreDNS: 10 s). */
const TCP_IDLE_MS = 10_000;

export interface ResponderOptions {
  zone: ClusterZone;
  forwarder?: Forwarder | undefined;
  cache?: ResponseCache | undefined;
  metrics?: DnsMetrics | undefined;
  /** The server label of the metrics, "dns://:53". */
  server?: string;
  clock?: Clock;
  /** Each query is logged at trace (--v=5), as CoreDNS's log plugin would. */
  logger?: Logger;
}

/** Who asked, for the metrics. */
export interface Client {
  transport: Transport;
  family: "IPv4" | "IPv6";
}

/** The reply to one message, encoded, or undefined when it gets none (not a query, or not decodable). */
export async function respond(message: Buffer, client: Client, opts: ResponderOptions): Promise<Buffer | undefined> {
  const clock = opts.clock ?? realClock;
  const started = clock.now();
  let query: DecodedPacket;
  try {
    query = dnsPacket.decode(message);
  } catch {
    return undefined;
  }
  if (query.type !== "query") return undefined;
  const question = query.questions?.[0];
  const server = opts.server ?? "dns://:53";
  const qtype = question?.type ?? "";
  opts.metrics?.requests.inc({ server, zone: ".", proto: client.transport, family: client.family === "IPv4" ? "1" : "2", type: qtype });

  let reply: Packet;
  let plugin = "";
  const opcode = ((query.flags ?? 0) >> 11) & 0xf;
  if (opcode !== OPCODE_QUERY) reply = own(query, RCODE.NOTIMP, opts);
  else if (!question || query.questions?.length !== 1) reply = own(query, RCODE.FORMERR, opts);
  else {
    const zoneReply = opts.zone.answer(question);
    if (zoneReply) {
      plugin = "kubernetes";
      reply = own(query, zoneReply.rcode, opts, zoneReply);
    } else {
      const cached = opts.cache?.get(question);
      const answer = cached ?? (await opts.forwarder?.forward(message, query.id ?? 0, client.transport));
      if (answer) {
        plugin = cached ? "cache" : "forward";
        if (!cached) opts.cache?.put(question, answer);
        reply = relayed(query, answer);
      } else {
        reply = own(query, RCODE.SERVFAIL, opts);
      }
    }
  }
  const encoded = encodeFitting(reply, client.transport === "udp" ? udpLimit(query) : 65535);
  opts.metrics?.responses.inc({ server, zone: ".", rcode: rcodeName(reply.flags ?? 0), plugin });
  opts.metrics?.requestDuration.observe({ server, zone: ".", type: qtype }, (clock.now() - started) / 1000);
  opts.logger?.trace({ name: question?.name, type: qtype, proto: client.transport, rcode: rcodeName(reply.flags ?? 0), plugin, bytes: encoded.length, ms: clock.now() - started }, "Query");
  return encoded;
}

/** The client's EDNS record, if it sent one. */
function clientOpt(query: Packet): OptAnswer | undefined {
  return (query.additionals ?? []).find((a): a is OptAnswer => a.type === "OPT");
}

function serverOpt(): OptAnswer {
  return { type: "OPT", name: ".", udpPayloadSize: EDNS_UDP_SIZE, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] };
}

function udpLimit(query: Packet): number {
  const opt = clientOpt(query);
  return opt ? Math.max(PLAIN_UDP_SIZE, Math.min(opt.udpPayloadSize, EDNS_UDP_SIZE)) : PLAIN_UDP_SIZE;
}

/** A reply this server makes itself: authoritative for the zone, recursion available when it can forward. */
function own(query: DecodedPacket, rcode: number, opts: ResponderOptions, records?: { answers: Answer[]; authorities: Answer[]; additionals: Answer[] }): Packet {
  let flags = rcode | (query.flag_rd ? dnsPacket.RECURSION_DESIRED : 0);
  if (records) flags |= dnsPacket.AUTHORITATIVE_ANSWER;
  if (opts.forwarder && opts.forwarder.upstreams.length > 0) flags |= dnsPacket.RECURSION_AVAILABLE;
  return {
    type: "response",
    id: query.id ?? 0,
    flags,
    questions: query.questions ?? [],
    answers: records?.answers ?? [],
    authorities: records?.authorities ?? [],
    additionals: [...(records?.additionals ?? []), ...(clientOpt(query) ? [serverOpt()] : [])],
  };
}

/** An upstream's (or the cache's) answer, readdressed to the client's query. */
function relayed(query: DecodedPacket, answer: DecodedPacket): Packet {
  return {
    type: "response",
    id: query.id ?? 0,
    flags: (answer.flags ?? 0) & ~dnsPacket.TRUNCATED_RESPONSE,
    questions: query.questions ?? [],
    answers: answer.answers ?? [],
    authorities: answer.authorities ?? [],
    additionals: [...(answer.additionals ?? []).filter((a) => a.type !== "OPT"), ...(clientOpt(query) ? [serverOpt()] : [])],
  };
}

/** The encoded reply, or its truncated form (header, question, EDNS) when it exceeds `limit` bytes. */
function encodeFitting(reply: Packet, limit: number): Buffer {
  const full = dnsPacket.encode(reply);
  if (full.length <= limit) return full;
  return dnsPacket.encode({
    ...reply,
    flags: (reply.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE,
    answers: [],
    authorities: [],
    additionals: (reply.additionals ?? []).filter((a) => a.type === "OPT"),
  });
}

export interface DnsServerOptions extends ResponderOptions {
  bindAddress: string;
  /** 0 picks a free port (the same for UDP and TCP). */
  port: number;
  logger: Logger;
}

/** A listening DNS server. */
export class DnsServer {
  private udp?: Socket;
  private tcp?: Server;
  private readonly connections = new Set<NetSocket>();
  private boundPort = 0;

  constructor(private readonly opts: DnsServerOptions) {}

  get port(): number {
    return this.boundPort;
  }

  /** Binds UDP, then TCP on the same port; resolves with the port. */
  async listen(): Promise<number> {
    // With port 0 the TCP port the kernel gave UDP may be taken: try a few.
    for (let attempt = 0; ; attempt++) {
      const udp = createSocket({ type: isIPv6(this.opts.bindAddress) ? "udp6" : "udp4" });
      const port = await new Promise<number>((resolve, reject) => {
        udp.once("error", reject);
        udp.bind(this.opts.port, this.opts.bindAddress, () => {
          udp.off("error", reject);
          resolve(udp.address().port);
        });
      });
      try {
        this.tcp = await this.listenTcp(port);
      } catch (err) {
        udp.close();
        if (this.opts.port !== 0 || attempt >= 5) throw err;
        continue;
      }
      this.udp = udp;
      this.boundPort = port;
      break;
    }
    const responder: ResponderOptions = { ...this.opts, server: this.opts.server ?? serverLabel(this.opts.bindAddress, this.boundPort) };
    if (this.opts.cache) this.opts.cache.server = responder.server!;
    const udp = this.udp;
    udp.on("message", (message, from) => {
      respond(message, { transport: "udp", family: from.family === "IPv6" ? "IPv6" : "IPv4" }, responder).then(
        (reply) => {
          if (reply) udp.send(reply, from.port, from.address);
        },
        (err: unknown) => {
          this.opts.logger.error({ err }, "Answering a UDP query failed");
        },
      );
    });
    udp.on("error", (err) => {
      this.opts.logger.error({ err }, "UDP socket error");
    });
    this.tcp.on("connection", (socket) => {
      this.connections.add(socket);
      socket.on("close", () => {
        this.connections.delete(socket);
      });
      socket.setTimeout(TCP_IDLE_MS, () => {
        socket.destroy();
      });
      socket.on("error", () => {
        socket.destroy();
      });
      const reader = new TcpFrameReader();
      const family = socket.remoteFamily === "IPv6" ? "IPv6" : "IPv4";
      socket.on("data", (chunk) => {
        for (const message of reader.push(chunk)) {
          respond(message, { transport: "tcp", family }, responder).then(
            (reply) => {
              if (reply && !socket.destroyed) socket.write(tcpFrame(reply));
            },
            (err: unknown) => {
              this.opts.logger.error({ err }, "Answering a TCP query failed");
            },
          );
        }
      });
    });
    return this.boundPort;
  }

  private listenTcp(port: number): Promise<Server> {
    const server = createServer();
    return new Promise<Server>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, this.opts.bindAddress, () => {
        server.off("error", reject);
        resolve(server);
      });
    });
  }

  async close(): Promise<void> {
    this.udp?.close();
    for (const socket of this.connections) socket.destroy();
    const tcp = this.tcp;
    if (tcp) {
      await new Promise<void>((resolve) => {
        tcp.close(() => {
          resolve();
        });
      });
    }
  }
}

/** CoreDNS's server label: "dns://:53" when listening on every address. */
export function serverLabel(bindAddress: string, port: number): string {
  const wildcard = bindAddress === "0.0.0.0" || bindAddress === "::";
  return `dns://${wildcard ? "" : isIPv6(bindAddress) ? `[${bindAddress}]` : bindAddress}:${port}`;
}
