// The apiserver's gRPC connection to etcd: one HTTP/2 connection per member (h2-connection.ts, our own framing over a
// net/tls socket), requests and responses in etcd's wire format through etcd-wire.ts. gRPC over HTTP/2 as etcd speaks
// it needs little: a unary call is a POST of one length-prefixed message answered by one message and a grpc-status
// trailer; Watch is one bidirectional stream of such messages. Written here instead of @grpc/grpc-js because grpc-js
// cost ~40 ms of CPU to load at every start and about twice the CPU per call; and over our own HTTP/2 layer instead
// of node:http2, whose per-request machinery cost ~60 µs of CPU per call (~9% of a pod create's apiserver CPU).
// Each call is one handler object (UnaryCall, BidiStream) that the connection hands the stream's header blocks and
// data to: no per-call Duplex, event emitter or header map.
// Calls are never retried here (transactions are not idempotent); the storage's callers own retrying. Failures are
// EtcdCallErrors (gRPC status code, details), mapped by the storage's toStorageError. https:// members are reached
// over TLS with the options' CA and client certificate (--etcd-cafile/--etcd-certfile/--etcd-keyfile, etcd-tls.ts).
//
// With several members (--etcd-servers a,b,c) each call goes to a member drawn at random among those not passed
// over, preferring members whose connection is up: a member that died is reconnected to in the background (its
// address may swallow connection attempts for many seconds) while calls go to the live ones. A member whose call
// failed UNAVAILABLE, or ran out of time without a connection, is passed over for a second, so requests go to the
// live members instead of failing whenever a dead one is drawn. With every member passed over the call fails
// UNAVAILABLE. A member whose connection failed is reconnected to after a backoff (100 ms doubling to 1 s); calls
// to it meanwhile fail UNAVAILABLE at once, as gRPC fails calls on a channel in TRANSIENT_FAILURE. A connection that
// takes no new streams (etcd's GOAWAY, or its stream ids ran out) is forgotten: the next call connects again while the
// old one finishes its streams.
import { EventEmitter } from "node:events";
import type { EtcdTls } from "./etcd-tls.js";
import { H2_CANCEL, H2Connection, type H2ConnectionOwner, type H2Stream, type H2StreamHandler } from "./h2-connection.js";
import { encodeLiteralHeaders, encodeStaticIndexed, type HeaderList } from "./hpack.js";

/** The gRPC status codes this client and the storage use (grpc/status.proto). */
export const status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

const STATUS_NAMES: Record<number, string> = Object.fromEntries(Object.entries(status).map(([name, code]) => [code, name]));

/** How long a member whose call failed UNAVAILABLE is passed over when there are others. */
const SKIP_FAILED_MEMBER_MS = 1000;
const RECONNECT_BACKOFF = { initialMs: 100, maxMs: 1000 };
/** gRPC's grpc-timeout takes at most 8 digits. */
const MAX_TIMEOUT_MS = 99_999_999;

export interface EtcdClientOptions {
  /** Ping each connection this often, and drop it when a ping is not answered within `keepaliveTimeoutMs` (watches). */
  keepaliveMs?: number;
  keepaliveTimeoutMs?: number;
  /** For https:// members: the CA etcd's certificate is verified with (else the system's roots) and the client pair presented. */
  tls?: EtcdTls;
}

/** A gRPC failure: the status code and its details (grpc-message). */
export class EtcdCallError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`${code} ${STATUS_NAMES[code] ?? "UNKNOWN"}: ${details}`);
  }
}

/** One bidirectional gRPC stream: 'data' (a decoded message), then 'end' (status OK) or 'error' (an EtcdCallError); nothing after cancel(). */
export interface EtcdStream<Res> {
  on(event: "data", listener: (message: Res) => void): this;
  on(event: "error", listener: (err: EtcdCallError) => void): this;
  on(event: "end", listener: () => void): this;
  write(message: Buffer): void;
  cancel(): void;
}

/** The HPACK encoding of the grpc-timeout name (a literal without indexing, new name), its value follows. */
const GRPC_TIMEOUT_FIELD = encodeLiteralHeaders([["grpc-timeout", ""]]).subarray(0, -1);

class Member implements H2ConnectionOwner {
  connection: H2Connection | undefined;
  connected = false;
  skipUntil = 0;
  private retryAt = 0;
  private backoffMs = RECONNECT_BACKOFF.initialMs;
  private keepalive: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private readonly host: string;
  private readonly port: number;
  private readonly secure: boolean;
  /** Each method's request header block without grpc-timeout, built once. */
  private readonly headerBlocks = new Map<string, Buffer>();

  constructor(
    endpoint: string,
    private readonly options: EtcdClientOptions,
  ) {
    const { target, secure } = grpcTarget(endpoint);
    const url = new URL(`http://${target}`);
    this.host = url.hostname.replace(/^\[|\]$/g, "");
    this.port = Number(url.port || 2379);
    this.secure = secure;
  }

  /** The member's connection, connecting when there is none (or it takes no new streams); undefined while a failed connection's backoff runs. */
  open(): H2Connection | undefined {
    const current = this.connection;
    if (current !== undefined) {
      if (current.acceptsStreams) return current;
      this.forget(current);
    }
    if (Date.now() < this.retryAt) return undefined;
    const connection = new H2Connection({ host: this.host, port: this.port, secure: this.secure, tls: this.secure ? this.options.tls : undefined }, this);
    this.connection = connection;
    return connection;
  }

  /** The request header block of a call of `method`, with its grpc-timeout when it has a deadline. */
  headerBlock(method: string, timeoutMs: number | undefined): Buffer {
    let head = this.headerBlocks.get(method);
    if (head === undefined) {
      head = Buffer.concat([
        encodeStaticIndexed(":method", "POST"),
        encodeStaticIndexed(":scheme", this.secure ? "https" : "http"),
        encodeLiteralHeaders([
          [":path", method],
          [":authority", isIPv6(this.host) ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`],
          ["content-type", "application/grpc"],
          ["te", "trailers"],
        ]),
      ]);
      this.headerBlocks.set(method, head);
    }
    if (timeoutMs === undefined) return head;
    const value = `${Math.min(Math.ceil(timeoutMs), MAX_TIMEOUT_MS)}m`;
    const block = Buffer.allocUnsafe(head.length + GRPC_TIMEOUT_FIELD.length + 1 + value.length);
    head.copy(block, 0);
    GRPC_TIMEOUT_FIELD.copy(block, head.length);
    let at = head.length + GRPC_TIMEOUT_FIELD.length;
    block[at++] = value.length;
    block.write(value, at, "latin1");
    return block;
  }

  close(): void {
    const connection = this.connection;
    if (connection) {
      this.forget(connection);
      connection.destroy("the etcd client was closed");
    }
  }

  h2Connected(connection: H2Connection): void {
    if (this.connection !== connection) return;
    // Up once etcd's SETTINGS arrive, not at TCP connect: an address that accepts but never speaks is not a member.
    this.connected = true;
    this.backoffMs = RECONNECT_BACKOFF.initialMs;
    this.startKeepalive(connection);
  }

  /** GOAWAY or stream ids spent: the next call connects again, while this connection finishes its streams. */
  h2Draining(connection: H2Connection): void {
    this.forget(connection);
  }

  h2Closed(connection: H2Connection): void {
    if (this.connection === connection && !this.connected) {
      this.retryAt = Date.now() + this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, RECONNECT_BACKOFF.maxMs);
    }
    this.forget(connection);
  }

  h2PingAck(connection: H2Connection): void {
    if (this.connection !== connection) return;
    clearTimeout(this.pingTimer);
    this.pingTimer = undefined;
  }

  private forget(connection: H2Connection): void {
    if (this.connection !== connection) return;
    this.connection = undefined;
    this.connected = false;
    clearInterval(this.keepalive);
    clearTimeout(this.pingTimer);
    this.keepalive = undefined;
    this.pingTimer = undefined;
  }

  private startKeepalive(connection: H2Connection): void {
    const every = this.options.keepaliveMs;
    if (every === undefined) return;
    const timeout = this.options.keepaliveTimeoutMs ?? 5000;
    this.keepalive = setInterval(() => {
      if (this.pingTimer !== undefined) return;
      this.pingTimer = setTimeout(() => {
        connection.destroy(`etcd did not answer a keepalive ping within ${timeout} ms`);
      }, timeout);
      this.pingTimer.unref();
      connection.ping();
    }, every);
    this.keepalive.unref();
  }
}

function isIPv6(host: string): boolean {
  return host.includes(":");
}

export class EtcdClient {
  private readonly members: Member[];

  constructor(endpoints: readonly string[], options: EtcdClientOptions = {}) {
    if (endpoints.length === 0) throw new Error("no etcd endpoints");
    this.members = endpoints.map((endpoint) => new Member(endpoint, options));
  }

  /** One unary call of `method` ("/etcdserverpb.KV/Range") with an encoded request, failing DEADLINE_EXCEEDED at `deadline`. */
  unary<T>(method: string, request: Buffer, decode: (response: Buffer) => T, deadline: number): Promise<T> {
    const member = this.pick();
    if (member === undefined) return Promise.reject(new EtcdCallError(status.UNAVAILABLE, "every etcd member was passed over after a failed call"));
    return new Promise<T>((resolve, reject) => {
      new UnaryCall(this.members.length > 1, member, method, request, decode, deadline, resolve, reject).start();
    });
  }

  /** A bidirectional stream of `method` (etcd's Watch), on a member drawn like a unary call's. */
  stream<Res>(method: string, decode: (response: Buffer) => Res): EtcdStream<Res> {
    const member = this.pick() ?? this.members[0];
    if (member === undefined) throw new EtcdCallError(status.UNAVAILABLE, "no etcd member");
    return new BidiStream(member, method, decode);
  }

  close(): void {
    for (const member of this.members) member.close();
  }

  private pick(): Member | undefined {
    if (this.members.length === 1) return this.members[0];
    const now = Date.now();
    const live = this.members.filter((m) => m.skipUntil <= now);
    const connected = live.filter((m) => m.connected);
    // Members without a connection are asked to connect, so that they are ready when drawn.
    for (const m of live) if (!m.connected) m.open();
    const candidates = connected.length > 0 ? connected : live;
    return candidates[Math.floor(Math.random() * candidates.length)];
  }
}

/**
 * The outcome of one gRPC exchange as its HTTP/2 stream reports it: the first header block's :status (non-200 maps
 * as gRPC does) and grpc-status/grpc-message from the trailers or a trailers-only answer.
 */
class CallOutcome {
  /** Undefined while unknown. */
  private result: EtcdCallError | "ok" | undefined;
  private sawHeaders = false;

  headers(headers: HeaderList): void {
    let grpcStatus: string | undefined;
    let grpcMessage = "";
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i];
      if (name === "grpc-status") grpcStatus = headers[i + 1];
      else if (name === "grpc-message") grpcMessage = headers[i + 1] ?? "";
      else if (name === ":status" && !this.sawHeaders) {
        const httpStatus = Number(headers[i + 1]);
        if (httpStatus !== 200 && this.result === undefined) this.result = new EtcdCallError(codeOfHttpStatus(httpStatus), `etcd answered HTTP ${httpStatus}`);
      }
    }
    this.sawHeaders = true;
    if (grpcStatus === undefined || this.result !== undefined) return;
    const n = Number(grpcStatus);
    this.result = n === status.OK ? "ok" : new EtcdCallError(Number.isInteger(n) ? n : status.UNKNOWN, decodeGrpcMessage(grpcMessage));
  }

  /** The peer ended the stream: its outcome (undefined for status OK). */
  ended(): EtcdCallError | undefined {
    this.result ??= new EtcdCallError(status.UNAVAILABLE, "etcd ended the call without a status");
    return this.result === "ok" ? undefined : this.result;
  }

  failed(reason: string, rstCode: number | undefined): EtcdCallError | undefined {
    this.result ??= new EtcdCallError(status.UNAVAILABLE, rstCode === undefined ? reason : `etcd closed the call without a status (HTTP/2 code ${rstCode})`);
    return this.result === "ok" ? undefined : this.result;
  }
}

/** One unary call: its request sent with END_STREAM, its response message gathered until etcd ends the stream. */
class UnaryCall<T> implements H2StreamHandler {
  private readonly outcome = new CallOutcome();
  private stream: H2Stream | undefined;
  private connection: H2Connection | undefined;
  private timer: NodeJS.Timeout | undefined;
  private chunks: Buffer[] = [];
  private settled = false;

  constructor(
    private readonly manyMembers: boolean,
    private readonly member: Member,
    private readonly method: string,
    private readonly request: Buffer,
    private readonly decode: (response: Buffer) => T,
    private readonly deadline: number,
    private readonly resolve: (value: T) => void,
    private readonly reject: (err: EtcdCallError) => void,
  ) {}

  start(): void {
    const timeoutMs = this.deadline - Date.now();
    if (timeoutMs <= 0) {
      this.fail(new EtcdCallError(status.DEADLINE_EXCEEDED, "Deadline exceeded"));
      return;
    }
    const connection = this.member.open();
    if (connection === undefined) {
      this.fail(new EtcdCallError(status.UNAVAILABLE, "the connection to etcd failed; reconnecting"));
      return;
    }
    this.connection = connection;
    this.timer = setTimeout(expireUnaryCall, timeoutMs, this);
    this.stream = connection.request(this.member.headerBlock(this.method, timeoutMs), this, frame(this.request), true);
  }

  expire(): void {
    this.timer = undefined;
    if (this.settled) return;
    if (this.stream && this.connection) this.connection.reset(this.stream, H2_CANCEL);
    this.fail(new EtcdCallError(status.DEADLINE_EXCEEDED, "Deadline exceeded"));
  }

  onHeaders(headers: HeaderList): void {
    this.outcome.headers(headers);
  }

  onData(chunk: Buffer): void {
    this.chunks.push(chunk);
  }

  onEnd(): void {
    this.finish(this.outcome.ended());
  }

  onFailed(reason: string, rstCode: number | undefined): void {
    this.finish(this.outcome.failed(reason, rstCode));
  }

  private finish(err: EtcdCallError | undefined): void {
    if (this.settled) return;
    if (err !== undefined) {
      this.fail(err);
      return;
    }
    const chunks = this.chunks;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    if (body.length < 5 || body.length < 5 + body.readUInt32BE(1)) {
      this.fail(new EtcdCallError(status.INTERNAL, `etcd sent no response to ${this.method}`));
      return;
    }
    if (body[0] !== 0) {
      this.fail(new EtcdCallError(status.INTERNAL, "etcd sent a compressed message, which was not asked for"));
      return;
    }
    const message = detach(body.subarray(5, 5 + body.readUInt32BE(1)));
    this.settled = true;
    clearTimeout(this.timer);
    let value: T;
    try {
      value = this.decode(message);
    } catch (decodeError) {
      this.reject(new EtcdCallError(status.INTERNAL, `undecodable response to ${this.method}: ${String(decodeError)}`));
      return;
    }
    this.resolve(value);
  }

  private fail(err: EtcdCallError): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.timer);
    const member = this.member;
    if (this.manyMembers && (err.code === status.UNAVAILABLE || (err.code === status.DEADLINE_EXCEEDED && !member.connected))) {
      member.skipUntil = Date.now() + SKIP_FAILED_MEMBER_MS;
    }
    this.reject(err);
  }
}

function expireUnaryCall(call: { expire(): void }): void {
  call.expire();
}

class BidiStream<Res> extends EventEmitter implements EtcdStream<Res>, H2StreamHandler {
  private readonly outcome = new CallOutcome();
  private readonly reader: MessageReader;
  private connection: H2Connection | undefined;
  private stream: H2Stream | undefined;
  private canceled = false;

  constructor(member: Member, method: string, decode: (response: Buffer) => Res) {
    super();
    this.reader = new MessageReader((message) => {
      if (!this.canceled) this.emit("data", decode(message));
    });
    const connection = member.open();
    if (connection === undefined) {
      // Reported once the caller has attached its listeners.
      queueMicrotask(() => {
        if (!this.canceled) this.emit("error", new EtcdCallError(status.UNAVAILABLE, "the connection to etcd failed; reconnecting"));
      });
      return;
    }
    this.connection = connection;
    this.stream = connection.request(member.headerBlock(method, undefined), this, undefined, false);
  }

  write(message: Buffer): void {
    if (!this.canceled && this.stream && this.connection) this.connection.write(this.stream, frame(message), false);
  }

  cancel(): void {
    if (this.canceled) return;
    this.canceled = true;
    if (this.stream && this.connection) this.connection.reset(this.stream, H2_CANCEL);
  }

  onHeaders(headers: HeaderList): void {
    this.outcome.headers(headers);
  }

  onData(chunk: Buffer): void {
    if (this.canceled) return;
    const err = this.reader.push(chunk);
    if (err) this.finish(err);
  }

  onEnd(): void {
    this.finish(this.outcome.ended());
  }

  onFailed(reason: string, rstCode: number | undefined): void {
    this.finish(this.outcome.failed(reason, rstCode));
  }

  private finish(err: EtcdCallError | undefined): void {
    if (this.canceled) return;
    this.canceled = true;
    if (this.stream && this.connection) this.connection.reset(this.stream, H2_CANCEL);
    if (err) this.emit("error", err);
    else this.emit("end");
  }
}

/**
 * Splits a stream's bytes into gRPC messages (1 byte compressed flag, 4 bytes big-endian length, payload). Chunks
 * are joined once a whole message is there, not one by one (a 2 MiB range page comes in ~16 KB chunks).
 */
class MessageReader {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Bytes needed before the next message can be read: its header, then the whole message. */
  private needed = 5;

  constructor(private readonly onMessage: (message: Buffer) => void) {}

  /** Takes the next chunk; returns an error for a message this client cannot read (compressed). */
  push(chunk: Buffer): EtcdCallError | undefined {
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size < this.needed) return undefined;
    let buf = this.chunks.length === 1 ? chunk : Buffer.concat(this.chunks, this.size);
    this.needed = 5;
    while (buf.length >= 5) {
      const length = buf.readUInt32BE(1);
      if (buf.length < 5 + length) {
        this.needed = 5 + length;
        break;
      }
      if (buf[0] !== 0) return new EtcdCallError(status.INTERNAL, "etcd sent a compressed message, which was not asked for");
      this.onMessage(detach(buf.subarray(5, 5 + length)));
      buf = buf.subarray(5 + length);
    }
    this.chunks = buf.length > 0 ? [buf] : [];
    this.size = buf.length;
    return undefined;
  }
}

/**
 * A message that is a small part of a large read buffer is copied out of it: decoders keep views into their message
 * (values), which would otherwise keep the whole read (up to 64 KiB of other responses) alive.
 */
function detach(message: Buffer): Buffer {
  return message.buffer.byteLength > 2 * message.length + 16 * 1024 ? Buffer.from(message) : message;
}

function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

/** grpc-message is percent-encoded. */
function decodeGrpcMessage(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** gRPC's mapping of HTTP statuses of non-gRPC answers (doc/http-grpc-status-mapping.md). */
function codeOfHttpStatus(httpStatus: number): number {
  if (httpStatus === 400) return status.INTERNAL;
  if (httpStatus === 404) return status.UNIMPLEMENTED;
  if (httpStatus === 429 || httpStatus === 502 || httpStatus === 503 || httpStatus === 504) return status.UNAVAILABLE;
  return status.UNKNOWN;
}

/** "http://127.0.0.1:2379" → plaintext "127.0.0.1:2379"; "https://host:2379" → TLS; a bare "host:port" is plaintext. */
export function grpcTarget(endpoint: string): { target: string; secure: boolean } {
  if (!/^[a-z]+:\/\//i.test(endpoint)) return { target: endpoint, secure: false };
  const url = new URL(endpoint);
  return { target: url.host, secure: url.protocol === "https:" };
}
