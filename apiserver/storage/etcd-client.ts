// The apiserver's gRPC connection to etcd: one HTTP/2 session per member (node:http2), requests and responses in
// etcd's wire format through etcd-wire.ts. gRPC over HTTP/2 as etcd speaks it needs little: a unary call is a POST
// of one length-prefixed message answered by one message and a grpc-status trailer; Watch is one bidirectional
// stream of such messages. Written here instead of @grpc/grpc-js because grpc-js cost ~40 ms of CPU to load at every
// start and about twice the CPU per call (measured side by side: ~180 µs against ~60–100 µs per Range or create Txn).
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
// to it meanwhile fail UNAVAILABLE at once, as gRPC fails calls on a channel in TRANSIENT_FAILURE.
import { EventEmitter } from "node:events";
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from "node:http2";
import type { EtcdTls } from "./etcd-tls.js";

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
/** Flow-control windows well above one range page (2 MiB), so that a page arrives without waiting for window updates. */
const WINDOW_BYTES = 16 * 1024 * 1024;

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

class Member {
  session: ClientHttp2Session | undefined;
  connected = false;
  skipUntil = 0;
  private retryAt = 0;
  private backoffMs = RECONNECT_BACKOFF.initialMs;
  private keepalive: NodeJS.Timeout | undefined;
  private readonly secure: boolean;

  constructor(
    private readonly authority: string,
    private readonly options: EtcdClientOptions,
  ) {
    this.secure = authority.startsWith("https:");
  }

  /** The member's session, connecting when there is none; undefined while a failed connection's backoff runs. */
  open(): ClientHttp2Session | undefined {
    if (this.session !== undefined) return this.session;
    if (Date.now() < this.retryAt) return undefined;
    // No cap on the session's buffered memory (Node's default, 10 MB, refuses new streams while large list pages
    // are in flight; gRPC sets none either): pages are already bounded by the storage.
    const session = connect(this.authority, { settings: { initialWindowSize: WINDOW_BYTES }, maxSessionMemory: Number.MAX_SAFE_INTEGER, ...(this.secure ? this.options.tls : {}) });
    this.session = session;
    // Up once etcd's SETTINGS arrive, not at TCP connect: an address that accepts but never speaks is not a member.
    session.once("remoteSettings", () => {
      if (this.session !== session) return;
      this.connected = true;
      this.backoffMs = RECONNECT_BACKOFF.initialMs;
      session.setLocalWindowSize(WINDOW_BYTES);
      this.startKeepalive(session);
    });
    // Errors reach the streams; the session only has to be forgotten, so the next call connects again.
    session.on("error", () => undefined);
    session.on("goaway", () => {
      this.forget(session);
    });
    session.on("close", () => {
      if (this.session === session && !this.connected) {
        this.retryAt = Date.now() + this.backoffMs;
        this.backoffMs = Math.min(this.backoffMs * 2, RECONNECT_BACKOFF.maxMs);
      }
      this.forget(session);
    });
    return session;
  }

  close(): void {
    const session = this.session;
    if (session) {
      this.forget(session);
      session.destroy();
    }
  }

  private forget(session: ClientHttp2Session): void {
    if (this.session !== session) return;
    this.session = undefined;
    this.connected = false;
    clearInterval(this.keepalive);
    this.keepalive = undefined;
    if (!session.closed) session.close();
  }

  private startKeepalive(session: ClientHttp2Session): void {
    const every = this.options.keepaliveMs;
    if (every === undefined) return;
    const timeout = this.options.keepaliveTimeoutMs ?? 5000;
    this.keepalive = setInterval(() => {
      const timer = setTimeout(() => {
        session.destroy(new Error(`etcd did not answer a keepalive ping within ${timeout} ms`));
      }, timeout);
      timer.unref();
      try {
        session.ping(() => {
          clearTimeout(timer);
        });
      } catch {
        clearTimeout(timer);
      }
    }, every);
    this.keepalive.unref();
  }
}

export class EtcdClient {
  private readonly members: Member[];

  constructor(endpoints: readonly string[], options: EtcdClientOptions = {}) {
    if (endpoints.length === 0) throw new Error("no etcd endpoints");
    this.members = endpoints.map((endpoint) => {
      const { target, secure } = grpcTarget(endpoint);
      return new Member(`${secure ? "https" : "http"}://${target}`, options);
    });
  }

  /** One unary call of `method` ("/etcdserverpb.KV/Range") with an encoded request, failing DEADLINE_EXCEEDED at `deadline`. */
  unary<T>(method: string, request: Buffer, decode: (response: Buffer) => T, deadline: number): Promise<T> {
    const member = this.pick();
    if (member === undefined) return Promise.reject(new EtcdCallError(status.UNAVAILABLE, "every etcd member was passed over after a failed call"));
    return new Promise<T>((resolve, reject) => {
      const fail = (err: EtcdCallError): void => {
        if (this.members.length > 1 && (err.code === status.UNAVAILABLE || (err.code === status.DEADLINE_EXCEEDED && !member.connected))) {
          member.skipUntil = Date.now() + SKIP_FAILED_MEMBER_MS;
        }
        reject(err);
      };
      const timeoutMs = deadline - Date.now();
      if (timeoutMs <= 0) {
        fail(new EtcdCallError(status.DEADLINE_EXCEEDED, "Deadline exceeded"));
        return;
      }
      const call = startCall(member, method, timeoutMs);
      if (call instanceof EtcdCallError) {
        fail(call);
        return;
      }
      const messages: Buffer[] = [];
      const reader = new MessageReader((message) => messages.push(message));
      let settled = false;
      const settle = (err: EtcdCallError | undefined): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        const message = messages[0];
        if (err !== undefined || message === undefined) {
          fail(err ?? new EtcdCallError(status.INTERNAL, `etcd sent no response to ${method}`));
          return;
        }
        try {
          resolve(decode(message));
        } catch (decodeError) {
          fail(new EtcdCallError(status.INTERNAL, `undecodable response to ${method}: ${String(decodeError)}`));
        }
      };
      const timer = setTimeout(() => {
        settle(new EtcdCallError(status.DEADLINE_EXCEEDED, "Deadline exceeded"));
        call.stream.close(constants.NGHTTP2_CANCEL);
      }, timeoutMs);
      call.stream.on("data", (chunk: Buffer) => {
        const err = reader.push(chunk);
        if (err) {
          settle(err);
          call.stream.close(constants.NGHTTP2_CANCEL);
        }
      });
      call.onDone(settle);
      call.stream.end(frame(request));
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

class BidiStream<Res> extends EventEmitter implements EtcdStream<Res> {
  private readonly call: Call | undefined;
  private canceled = false;

  constructor(member: Member, method: string, decode: (response: Buffer) => Res) {
    super();
    const call = startCall(member, method, undefined);
    if (call instanceof EtcdCallError) {
      // Reported once the caller has attached its listeners.
      queueMicrotask(() => {
        if (!this.canceled) this.emit("error", call);
      });
      return;
    }
    this.call = call;
    const reader = new MessageReader((message) => {
      if (!this.canceled) this.emit("data", decode(message));
    });
    call.stream.on("data", (chunk: Buffer) => {
      const err = reader.push(chunk);
      if (err) this.finish(err);
    });
    call.onDone((err) => {
      this.finish(err);
    });
  }

  write(message: Buffer): void {
    if (!this.canceled && this.call && !this.call.stream.destroyed) this.call.stream.write(frame(message));
  }

  cancel(): void {
    if (this.canceled) return;
    this.canceled = true;
    this.call?.stream.close(constants.NGHTTP2_CANCEL);
  }

  private finish(err: EtcdCallError | undefined): void {
    if (this.canceled) return;
    this.canceled = true;
    this.call?.stream.close(constants.NGHTTP2_CANCEL);
    if (err) this.emit("error", err);
    else this.emit("end");
  }
}

interface Call {
  stream: ClientHttp2Stream;
  /** Called once with the call's outcome: undefined for status OK, else the failure. */
  onDone(listener: (err: EtcdCallError | undefined) => void): void;
}

/** Opens the HTTP/2 stream of one call; its outcome comes from grpc-status (trailers, or headers of a trailers-only answer). */
function startCall(member: Member, method: string, timeoutMs: number | undefined): Call | EtcdCallError {
  const session = member.open();
  if (session === undefined) return new EtcdCallError(status.UNAVAILABLE, "the connection to etcd failed; reconnecting");
  let stream: ClientHttp2Stream;
  try {
    stream = session.request({
      ":method": "POST",
      ":path": method,
      "content-type": "application/grpc",
      te: "trailers",
      ...(timeoutMs !== undefined ? { "grpc-timeout": `${Math.ceil(timeoutMs)}m` } : {}),
    });
  } catch (err) {
    return new EtcdCallError(status.UNAVAILABLE, `could not start a call to etcd: ${String(err)}`);
  }
  let outcome: EtcdCallError | "ok" | undefined;
  let done: ((err: EtcdCallError | undefined) => void) | undefined;
  const report = (): void => {
    const listener = done;
    done = undefined;
    listener?.(outcome === "ok" ? undefined : outcome);
  };
  const takeStatus = (headers: IncomingHttpHeaders): void => {
    const code = headers["grpc-status"];
    if (code === undefined || outcome !== undefined) return;
    const n = Number(code);
    outcome = n === status.OK ? "ok" : new EtcdCallError(Number.isInteger(n) ? n : status.UNKNOWN, decodeGrpcMessage(headers["grpc-message"]));
  };
  stream.on("response", (headers) => {
    const httpStatus = Number(headers[":status"]);
    if (httpStatus !== 200 && outcome === undefined) outcome = new EtcdCallError(codeOfHttpStatus(httpStatus), `etcd answered HTTP ${httpStatus}`);
    takeStatus(headers);
  });
  stream.on("trailers", takeStatus);
  stream.on("error", (err: Error) => {
    outcome ??= new EtcdCallError(status.UNAVAILABLE, `connection to etcd failed: ${err.message}`);
  });
  // The answer is complete when etcd's side ends (a stream's own side may still be open: a watch never ends it).
  stream.on("end", () => {
    outcome ??= new EtcdCallError(status.UNAVAILABLE, "etcd ended the call without a status");
    report();
  });
  stream.on("close", () => {
    outcome ??= new EtcdCallError(status.UNAVAILABLE, `etcd closed the call without a status (HTTP/2 code ${stream.rstCode ?? 0})`);
    report();
  });
  return {
    stream,
    onDone(listener) {
      done = listener;
    },
  };
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
      this.onMessage(buf.subarray(5, 5 + length));
      buf = buf.subarray(5 + length);
    }
    this.chunks = buf.length > 0 ? [buf] : [];
    this.size = buf.length;
    return undefined;
  }
}

function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

/** grpc-message is percent-encoded. */
function decodeGrpcMessage(value: string | string[] | undefined): string {
  const text = Array.isArray(value) ? value.join(",") : (value ?? "");
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
