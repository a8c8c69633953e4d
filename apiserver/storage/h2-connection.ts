// A minimal HTTP/2 client connection (RFC 9113) over one TCP or TLS socket, for the apiserver's gRPC calls to etcd
// (etcd-client.ts). It exists instead of node:http2 because node:http2's per-request machinery (an AsyncResource
// bound per stream, a full Duplex per stream, header maps, an event per response part) was the largest single CPU
// cost of a pod create; this layer only frames, and hands each stream's header blocks and data to one handler object.
//
// What it implements, client side only: the connection preface; SETTINGS (ours: ENABLE_PUSH 0, INITIAL_WINDOW_SIZE
// 16 MiB; the peer's MAX_FRAME_SIZE, INITIAL_WINDOW_SIZE, MAX_CONCURRENT_STREAMS honoured — streams beyond the limit
// wait for one to close — and ACKed); flow control both ways (a 16 MiB connection window, WINDOW_UPDATEs as data is
// consumed, per stream for long-lived ones; DATA beyond the peer's windows queued until its WINDOW_UPDATE, and split
// at its MAX_FRAME_SIZE); HEADERS with CONTINUATION, PADDED and PRIORITY flags; HPACK (hpack.ts); PING (answered
// within PING_ACK_DELAY_MS, at the end of the next write of other frames; and ours for keepalive); RST_STREAM both
// ways; GOAWAY (streams above its last stream id fail, the connection takes no new streams and closes once the others
// end). A lost socket or a protocol error fails every open stream. Frames gathered in one tick leave in one write.
//
// Not implemented, because a gRPC client of etcd never needs it: server push (disabled by our SETTINGS, so a
// PUSH_PROMISE is a protocol error), priorities (ignored), enforcing our receive windows on the peer (we consume as
// fast as frames arrive), HEADER_TABLE_SIZE for our own encoder (it never indexes, so any size is honoured), our
// SETTINGS' ACK (nothing waits on it), and MAX_HEADER_LIST_SIZE (header blocks are small).
import { connect as netConnect, isIP, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import type { EtcdTls } from "./etcd-tls.js";
import { HpackDecoder, HpackError, type HeaderList } from "./hpack.js";

/** Frame types (RFC 9113 6). */
const DATA = 0x0;
const HEADERS = 0x1;
const PRIORITY = 0x2;
const RST_STREAM = 0x3;
const SETTINGS = 0x4;
const PUSH_PROMISE = 0x5;
const PING = 0x6;
const GOAWAY = 0x7;
const WINDOW_UPDATE = 0x8;
const CONTINUATION = 0x9;

/** Flags. */
const END_STREAM = 0x1;
const ACK = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY_FLAG = 0x20;

/** Error codes (RFC 9113 7). */
export const H2_NO_ERROR = 0x0;
export const H2_PROTOCOL_ERROR = 0x1;
const FLOW_CONTROL_ERROR = 0x3;
const FRAME_SIZE_ERROR = 0x6;
export const H2_CANCEL = 0x8;
const COMPRESSION_ERROR = 0x9;

const SETTINGS_HEADER_TABLE_SIZE = 0x1;
const SETTINGS_ENABLE_PUSH = 0x2;
const SETTINGS_MAX_CONCURRENT_STREAMS = 0x3;
const SETTINGS_INITIAL_WINDOW_SIZE = 0x4;
const SETTINGS_MAX_FRAME_SIZE = 0x5;

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
const DEFAULT_WINDOW = 65_535;
const DEFAULT_MAX_FRAME_SIZE = 16_384;
const MAX_WINDOW = 2 ** 31 - 1;
const MAX_STREAM_ID = 2 ** 31 - 1;
/** Our receive windows (connection and each stream), well above one range page (2 MiB). */
export const RECEIVE_WINDOW = 16 * 1024 * 1024;
/** Consumed bytes are handed back (WINDOW_UPDATE) once this many have gathered. */
const WINDOW_UPDATE_THRESHOLD = RECEIVE_WINDOW / 4;
/** Frames written in one tick are joined into one socket write up to this size; larger batches are written as they are. */
const JOIN_WRITES_UP_TO = 256 * 1024;
const EMPTY = Buffer.alloc(0);
/**
 * The ACK of the peer's PING waits at most this long for a write of other frames to leave with, at its end. etcd (gRPC's
 * BDP estimator) PINGs on the first DATA after each ACK, i.e. about once per call: ACKed at once, every call cost a
 * socket write (and a wakeup of etcd) of its own; riding at the end of the next requests, they cost nothing, and etcd
 * PINGs only once per such write. A PING waits for no data: this only delays etcd's measure of the round trip.
 */
export const PING_ACK_DELAY_MS = 10;

/** Writes a frame's 9-byte header (RFC 9113 4.1) at the start of `target`. */
function writeFrameHeader(target: Buffer, length: number, type: number, flags: number, id: number): void {
  target[0] = length >>> 16;
  target[1] = (length >>> 8) & 0xff;
  target[2] = length & 0xff;
  target[3] = type;
  target[4] = flags;
  target.writeUInt32BE(id, 5);
}

/** What receives one stream's events. After onEnd or onFailed nothing more comes, nor after the stream's reset(). */
export interface H2StreamHandler {
  /** A header block: the response headers, then the trailers. The peer's END_STREAM, if on it, follows as onEnd. */
  onHeaders(headers: HeaderList): void;
  /** A DATA frame's payload (a view into the connection's read buffer; copy what is kept). */
  onData(chunk: Buffer): void;
  /** The peer ended its side of the stream. */
  onEnd(): void;
  /** The stream is gone without the peer's END_STREAM: its RST_STREAM (`rstCode`), its GOAWAY, or a lost connection. */
  onFailed(reason: string, rstCode: number | undefined): void;
}

/** What the connection tells its owner. */
export interface H2ConnectionOwner {
  /** The peer's first SETTINGS arrived: it speaks HTTP/2. */
  h2Connected(connection: H2Connection): void;
  /** The connection takes no new streams (the peer's GOAWAY, or stream ids ran out); open streams go on. */
  h2Draining(connection: H2Connection): void;
  /** The socket is closed; every stream has failed. */
  h2Closed(connection: H2Connection): void;
  /** The peer answered our ping(). */
  h2PingAck(connection: H2Connection): void;
}

export interface H2Target {
  host: string;
  port: number;
  secure: boolean;
  /** TLS options for a secure target (CA, client pair). */
  tls?: EtcdTls | undefined;
  /** The highest stream id to use before the connection drains (tests lower it). */
  maxStreamId?: number;
}

/** One stream of a connection; only the connection reads or changes its fields. */
export class H2Stream {
  /** 0 until its HEADERS are sent (it may wait for MAX_CONCURRENT_STREAMS). */
  id = 0;
  sendWindow = 0;
  /** DATA waiting for the peer's windows (or for the stream to be opened), and whether END_STREAM follows it. */
  queue: Buffer[] = [];
  endQueued = false;
  localEnded = false;
  /** Received bytes not yet handed back by a stream WINDOW_UPDATE. */
  consumed = 0;
  closed = false;

  constructor(
    readonly handler: H2StreamHandler,
    /** The request's header block, until it is sent. */
    public headerBlock: Buffer,
  ) {}
}

/** Thrown by request() on a connection that takes no new streams; callers check acceptsStreams first. */
export class H2ConnectionUnusable extends Error {}

export class H2Connection {
  private readonly socket: Socket | TLSSocket;
  private readonly decoder = new HpackDecoder();
  private readonly streams = new Map<number, H2Stream>();
  /** Streams waiting for MAX_CONCURRENT_STREAMS. */
  private waiting: H2Stream[] = [];
  /** Opened streams with DATA queued for want of window. */
  private readonly blocked = new Set<H2Stream>();
  private nextId = 1;
  private readonly maxStreamId: number;

  private peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxStreams = Number.POSITIVE_INFINITY;
  private sendWindow = DEFAULT_WINDOW;
  private consumed = 0;

  /** A header block being received in HEADERS + CONTINUATION frames. */
  private headerStreamId = 0;
  private headerEndStream = false;
  private readonly headerFragments: Buffer[] = [];

  private readBuffer: Buffer = EMPTY;
  private out: Buffer[] = [];
  private outBytes = 0;
  private flushScheduled = false;
  /** ACKs of the peer's PINGs, written at the end of the next flush. */
  private pingAcks: Buffer[] = [];
  private pingAckTimer: NodeJS.Timeout | undefined;

  /** The peer's SETTINGS have come. */
  connected = false;
  /** GOAWAY received, ids ran out, or closed: no new streams. */
  private draining = false;
  private closed = false;
  private failure: string | undefined;

  constructor(
    target: H2Target,
    private readonly owner: H2ConnectionOwner,
  ) {
    this.maxStreamId = target.maxStreamId ?? MAX_STREAM_ID;
    if (target.secure) {
      const servername = isIP(target.host) === 0 ? { servername: target.host } : {};
      const socket = tlsConnect({ host: target.host, port: target.port, ALPNProtocols: ["h2"], ...servername, ...target.tls });
      socket.once("secureConnect", () => {
        if (socket.alpnProtocol !== "h2") this.destroy(`etcd did not agree to HTTP/2 in the TLS handshake (ALPN ${String(socket.alpnProtocol)})`);
      });
      this.socket = socket;
    } else {
      this.socket = netConnect({ host: target.host, port: target.port });
    }
    this.socket.setNoDelay(true);
    this.socket.on("data", (chunk: Buffer) => {
      this.read(chunk);
    });
    this.socket.on("error", (err: Error) => {
      this.failure ??= err.message;
    });
    this.socket.on("close", () => {
      this.onSocketClosed();
    });
    // The preface, our SETTINGS, and the connection window raised to ours (writes before connect are held).
    const settings = Buffer.alloc(12);
    settings.writeUInt16BE(SETTINGS_ENABLE_PUSH, 0);
    settings.writeUInt32BE(0, 2);
    settings.writeUInt16BE(SETTINGS_INITIAL_WINDOW_SIZE, 6);
    settings.writeUInt32BE(RECEIVE_WINDOW, 8);
    this.push(PREFACE);
    this.pushFrame(SETTINGS, 0, 0, settings);
    this.pushWindowUpdate(0, RECEIVE_WINDOW - DEFAULT_WINDOW);
  }

  /** Whether request() may be called. */
  get acceptsStreams(): boolean {
    return !this.draining && !this.closed;
  }

  /**
   * Starts a stream with a request header block (HPACK, hpack.ts) and optionally its first DATA (`endStream`: the
   * request is complete with it). Events go to `handler`.
   */
  request(headerBlock: Buffer, handler: H2StreamHandler, data: Buffer | undefined, endStream: boolean): H2Stream {
    if (!this.acceptsStreams) throw new H2ConnectionUnusable("the HTTP/2 connection takes no new streams");
    const stream = new H2Stream(handler, headerBlock);
    if (data !== undefined && data.length > 0) stream.queue.push(data);
    stream.endQueued = endStream;
    if (this.streams.size < this.peerMaxStreams) this.open(stream);
    else this.waiting.push(stream);
    return stream;
  }

  /** Sends DATA on a stream (queued while windows are short); `endStream` ends our side. Ignored once ended or closed. */
  write(stream: H2Stream, data: Buffer, endStream: boolean): void {
    if (stream.closed || stream.endQueued) return;
    if (data.length > 0) stream.queue.push(data);
    stream.endQueued = endStream;
    if (stream.id !== 0) this.sendQueued(stream);
  }

  /** Resets a stream (RST_STREAM with `code`, e.g. H2_CANCEL); its handler hears nothing more. */
  reset(stream: H2Stream, code: number): void {
    if (stream.closed) return;
    if (stream.id === 0) {
      stream.closed = true;
      this.waiting = this.waiting.filter((s) => s !== stream);
      return;
    }
    const payload = Buffer.allocUnsafe(4);
    payload.writeUInt32BE(code, 0);
    this.pushFrame(RST_STREAM, 0, stream.id, payload);
    this.remove(stream);
  }

  /** Sends a PING; the owner hears h2PingAck when it is answered. */
  ping(): void {
    if (!this.closed) this.pushFrame(PING, 0, 0, Buffer.alloc(8));
  }

  /** Closes the socket at once; open streams fail with `reason`. */
  destroy(reason: string): void {
    if (this.closed) return;
    this.failure ??= reason;
    this.socket.destroy();
  }

  private open(stream: H2Stream): void {
    const id = this.nextId;
    this.nextId += 2;
    stream.id = id;
    stream.sendWindow = this.peerInitialWindow;
    this.streams.set(id, stream);
    const block = stream.headerBlock;
    stream.headerBlock = EMPTY;
    const endOnHeaders = stream.endQueued && stream.queue.length === 0;
    if (endOnHeaders) stream.localEnded = true;
    const flags = endOnHeaders ? END_STREAM : 0;
    if (block.length <= this.peerMaxFrameSize) {
      this.pushFrame(HEADERS, flags | END_HEADERS, id, block);
    } else {
      this.pushFrame(HEADERS, flags, id, block.subarray(0, this.peerMaxFrameSize));
      for (let at = this.peerMaxFrameSize; at < block.length; at += this.peerMaxFrameSize) {
        const end = Math.min(at + this.peerMaxFrameSize, block.length);
        this.pushFrame(CONTINUATION, end === block.length ? END_HEADERS : 0, id, block.subarray(at, end));
      }
    }
    if (!endOnHeaders) this.sendQueued(stream);
    if (this.nextId > this.maxStreamId) this.startDraining();
  }

  /** Writes as much of a stream's queued DATA as the windows allow. */
  private sendQueued(stream: H2Stream): void {
    while (stream.queue.length > 0) {
      const chunk = stream.queue[0]!;
      const allowed = Math.min(this.sendWindow, stream.sendWindow, this.peerMaxFrameSize);
      if (allowed <= 0) {
        this.blocked.add(stream);
        return;
      }
      const n = Math.min(chunk.length, allowed);
      const last = n === chunk.length && stream.queue.length === 1;
      const end = last && stream.endQueued;
      this.pushFrame(DATA, end ? END_STREAM : 0, stream.id, n === chunk.length ? chunk : chunk.subarray(0, n));
      this.sendWindow -= n;
      stream.sendWindow -= n;
      if (n === chunk.length) stream.queue.shift();
      else stream.queue[0] = chunk.subarray(n);
      if (end) stream.localEnded = true;
    }
    this.blocked.delete(stream);
    if (stream.endQueued && !stream.localEnded) {
      this.pushFrame(DATA, END_STREAM, stream.id, EMPTY);
      stream.localEnded = true;
    }
  }

  private read(chunk: Buffer): void {
    let buf = this.readBuffer.length === 0 ? chunk : Buffer.concat([this.readBuffer, chunk]);
    let at = 0;
    while (buf.length - at >= 9 && !this.closed) {
      const length = ((buf[at] ?? 0) << 16) | ((buf[at + 1] ?? 0) << 8) | (buf[at + 2] ?? 0);
      if (length > DEFAULT_MAX_FRAME_SIZE) {
        this.protocolError(FRAME_SIZE_ERROR, `a frame of ${length} bytes, above our MAX_FRAME_SIZE`);
        return;
      }
      if (buf.length - at < 9 + length) break;
      const type = buf[at + 3] ?? 0;
      const flags = buf[at + 4] ?? 0;
      const id = buf.readUInt32BE(at + 5) & 0x7fffffff;
      const start = at + 9;
      at = start + length;
      this.frame(type, flags, id, buf, start, at);
    }
    if (at < buf.length) buf = buf.subarray(at);
    else buf = EMPTY;
    this.readBuffer = buf;
  }

  private frame(type: number, flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (this.headerStreamId !== 0 && type !== CONTINUATION) {
      this.protocolError(H2_PROTOCOL_ERROR, "a frame inside a header block");
      return;
    }
    switch (type) {
      case DATA:
        this.onDataFrame(flags, id, buf, start, end);
        return;
      case HEADERS:
        this.onHeadersFrame(flags, id, buf, start, end);
        return;
      case CONTINUATION:
        if (id === 0 || id !== this.headerStreamId) {
          this.protocolError(H2_PROTOCOL_ERROR, "CONTINUATION outside a header block");
          return;
        }
        this.headerFragments.push(buf.subarray(start, end));
        if (flags & END_HEADERS) this.headerBlockDone();
        return;
      case RST_STREAM: {
        if (id === 0 || end - start !== 4) {
          this.protocolError(H2_PROTOCOL_ERROR, "malformed RST_STREAM");
          return;
        }
        const stream = this.streams.get(id);
        if (stream === undefined) return;
        const code = buf.readUInt32BE(start);
        this.remove(stream);
        stream.handler.onFailed(`etcd reset the stream (HTTP/2 code ${code})`, code);
        return;
      }
      case SETTINGS:
        this.onSettings(flags, id, buf, start, end);
        return;
      case PING:
        if (id !== 0 || end - start !== 8) {
          this.protocolError(FRAME_SIZE_ERROR, "malformed PING");
          return;
        }
        if (flags & ACK) this.owner.h2PingAck(this);
        else this.queuePingAck(buf.subarray(start, end));
        return;
      case GOAWAY:
        if (id !== 0 || end - start < 8) {
          this.protocolError(H2_PROTOCOL_ERROR, "malformed GOAWAY");
          return;
        }
        this.onGoaway(buf.readUInt32BE(start) & 0x7fffffff, buf.readUInt32BE(start + 4), buf.toString("utf8", start + 8, end));
        return;
      case WINDOW_UPDATE:
        this.onWindowUpdate(id, buf, start, end);
        return;
      case PUSH_PROMISE:
        this.protocolError(H2_PROTOCOL_ERROR, "PUSH_PROMISE, though push is disabled");
        return;
      case PRIORITY:
      default:
        // Priorities are advice; unknown frame types are ignored (RFC 9113 4.1).
        return;
    }
  }

  private onDataFrame(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id === 0) {
      this.protocolError(H2_PROTOCOL_ERROR, "DATA on stream 0");
      return;
    }
    // The whole payload, padding included, counts against the windows.
    const frameLength = end - start;
    this.consumed += frameLength;
    if (this.consumed >= WINDOW_UPDATE_THRESHOLD) {
      this.pushWindowUpdate(0, this.consumed);
      this.consumed = 0;
    }
    let dataEnd = end;
    if (flags & PADDED) {
      const padding = buf[start] ?? 0;
      start += 1;
      dataEnd -= padding;
      if (dataEnd < start) {
        this.protocolError(H2_PROTOCOL_ERROR, "DATA padding longer than its frame");
        return;
      }
    }
    const stream = this.streams.get(id);
    if (stream === undefined) return;
    if (dataEnd > start) stream.handler.onData(buf.subarray(start, dataEnd));
    if (stream.closed) return;
    if (flags & END_STREAM) {
      this.remoteEnded(stream);
      return;
    }
    stream.consumed += frameLength;
    if (stream.consumed >= WINDOW_UPDATE_THRESHOLD) {
      this.pushWindowUpdate(id, stream.consumed);
      stream.consumed = 0;
    }
  }

  private onHeadersFrame(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id === 0) {
      this.protocolError(H2_PROTOCOL_ERROR, "HEADERS on stream 0");
      return;
    }
    let fragmentEnd = end;
    if (flags & PADDED) {
      fragmentEnd -= buf[start] ?? 0;
      start += 1;
    }
    if (flags & PRIORITY_FLAG) start += 5;
    if (fragmentEnd < start) {
      this.protocolError(H2_PROTOCOL_ERROR, "HEADERS padding longer than its frame");
      return;
    }
    this.headerStreamId = id;
    this.headerEndStream = (flags & END_STREAM) !== 0;
    this.headerFragments.push(buf.subarray(start, fragmentEnd));
    if (flags & END_HEADERS) this.headerBlockDone();
  }

  /** A whole header block is in: decoded even for a stream that is gone (the HPACK table must follow every block). */
  private headerBlockDone(): void {
    const fragments = this.headerFragments;
    const block = fragments.length === 1 ? fragments[0]! : Buffer.concat(fragments);
    const id = this.headerStreamId;
    const endStream = this.headerEndStream;
    fragments.length = 0;
    this.headerStreamId = 0;
    let headers: HeaderList;
    try {
      headers = this.decoder.decode(block);
    } catch (err) {
      if (!(err instanceof HpackError)) throw err;
      this.protocolError(COMPRESSION_ERROR, `undecodable header block: ${err.message}`);
      return;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) return;
    stream.handler.onHeaders(headers);
    if (endStream && !stream.closed) this.remoteEnded(stream);
  }

  private remoteEnded(stream: H2Stream): void {
    // Our side may still be open (a watch, or a request still queued): the exchange is over either way.
    if (!stream.localEnded) {
      const payload = Buffer.alloc(4);
      payload.writeUInt32BE(H2_NO_ERROR, 0);
      this.pushFrame(RST_STREAM, 0, stream.id, payload);
    }
    this.remove(stream);
    stream.handler.onEnd();
  }

  private onSettings(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id !== 0 || (end - start) % 6 !== 0) {
      this.protocolError(FRAME_SIZE_ERROR, "malformed SETTINGS");
      return;
    }
    if (flags & ACK) return;
    for (let at = start; at < end; at += 6) {
      const key = buf.readUInt16BE(at);
      const value = buf.readUInt32BE(at + 2);
      if (key === SETTINGS_MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME_SIZE || value > 0xffffff) {
          this.protocolError(H2_PROTOCOL_ERROR, `SETTINGS_MAX_FRAME_SIZE ${value}`);
          return;
        }
        this.peerMaxFrameSize = value;
      } else if (key === SETTINGS_INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) {
          this.protocolError(FLOW_CONTROL_ERROR, `SETTINGS_INITIAL_WINDOW_SIZE ${value}`);
          return;
        }
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const stream of this.streams.values()) stream.sendWindow += delta;
      } else if (key === SETTINGS_MAX_CONCURRENT_STREAMS) {
        this.peerMaxStreams = value;
      } else if (key === SETTINGS_HEADER_TABLE_SIZE) {
        // Our encoder never adds to the peer's table, so any size is honoured.
      }
    }
    this.pushFrame(SETTINGS, ACK, 0, EMPTY);
    this.openWaiting();
    for (const stream of [...this.blocked]) this.sendQueued(stream);
    if (!this.connected) {
      this.connected = true;
      this.owner.h2Connected(this);
    }
  }

  private onWindowUpdate(id: number, buf: Buffer, start: number, end: number): void {
    if (end - start !== 4) {
      this.protocolError(FRAME_SIZE_ERROR, "malformed WINDOW_UPDATE");
      return;
    }
    const increment = buf.readUInt32BE(start) & 0x7fffffff;
    if (id === 0) {
      if (increment === 0 || this.sendWindow + increment > MAX_WINDOW) {
        this.protocolError(increment === 0 ? H2_PROTOCOL_ERROR : FLOW_CONTROL_ERROR, `connection WINDOW_UPDATE of ${increment}`);
        return;
      }
      this.sendWindow += increment;
      for (const stream of [...this.blocked]) {
        this.sendQueued(stream);
        if (this.sendWindow <= 0) break;
      }
      return;
    }
    const stream = this.streams.get(id);
    if (stream === undefined || increment === 0) return;
    stream.sendWindow += increment;
    if (this.blocked.has(stream)) this.sendQueued(stream);
  }

  private onGoaway(lastStreamId: number, code: number, debug: string): void {
    const reason = `etcd closed the connection (GOAWAY, HTTP/2 code ${code}${debug !== "" ? `: ${debug}` : ""})`;
    this.failure ??= reason;
    const refused = [...this.streams.values()].filter((s) => s.id > lastStreamId);
    const waiting = this.waiting;
    this.waiting = [];
    this.startDraining();
    for (const stream of refused) {
      this.remove(stream);
      stream.handler.onFailed(reason, undefined);
    }
    for (const stream of waiting) {
      stream.closed = true;
      stream.handler.onFailed(reason, undefined);
    }
    this.closeIfIdle();
  }

  private startDraining(): void {
    if (this.draining) return;
    this.draining = true;
    this.owner.h2Draining(this);
  }

  private remove(stream: H2Stream): void {
    stream.closed = true;
    if (stream.queue.length > 0) stream.queue = [];
    this.streams.delete(stream.id);
    this.blocked.delete(stream);
    this.openWaiting();
    this.closeIfIdle();
  }

  private openWaiting(): void {
    while (this.waiting.length > 0 && this.streams.size < this.peerMaxStreams && !this.draining) {
      this.open(this.waiting.shift()!);
    }
  }

  /** A draining connection closes (after writing what it has) once no stream is left. */
  private closeIfIdle(): void {
    if (!this.draining || this.closed || this.streams.size > 0 || this.waiting.length > 0) return;
    this.flush();
    // Ended and then closed once written: the peer need not close its side.
    this.socket.destroySoon();
  }

  private protocolError(code: number, message: string): void {
    const payload = Buffer.alloc(8 + Buffer.byteLength(message));
    payload.writeUInt32BE(this.nextId > 1 ? this.nextId - 2 : 0, 0);
    payload.writeUInt32BE(code, 4);
    payload.write(message, 8);
    this.pushFrame(GOAWAY, 0, 0, payload);
    this.flush();
    this.failure ??= `HTTP/2 protocol error from etcd: ${message}`;
    this.closed = true;
    this.socket.destroySoon();
    this.failStreams();
  }

  private onSocketClosed(): void {
    this.closed = true;
    this.draining = true;
    this.out = [];
    this.pingAcks = [];
    clearTimeout(this.pingAckTimer);
    this.pingAckTimer = undefined;
    this.failStreams();
    this.owner.h2Closed(this);
  }

  private failStreams(): void {
    const reason = `connection to etcd failed: ${this.failure ?? "the connection closed"}`;
    const streams = [...this.streams.values(), ...this.waiting];
    this.streams.clear();
    this.waiting = [];
    this.blocked.clear();
    for (const stream of streams) {
      stream.closed = true;
      stream.handler.onFailed(reason, undefined);
    }
  }

  private pushWindowUpdate(id: number, increment: number): void {
    const payload = Buffer.allocUnsafe(4);
    payload.writeUInt32BE(increment, 0);
    this.pushFrame(WINDOW_UPDATE, 0, id, payload);
  }

  private pushFrame(type: number, flags: number, id: number, payload: Buffer): void {
    const header = Buffer.allocUnsafe(9);
    const length = payload.length;
    writeFrameHeader(header, length, type, flags, id);
    this.push(header);
    if (length > 0) this.push(payload);
  }

  /** Frames are gathered and written once per tick (setImmediate), many requests in one socket write. */
  private push(buf: Buffer): void {
    if (this.closed) return;
    this.out.push(buf);
    this.outBytes += buf.length;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(flushConnection, this);
    }
  }

  /** Queues the ACK of the peer's PING (`payload`) for the next flush, which comes within PING_ACK_DELAY_MS. */
  private queuePingAck(payload: Buffer): void {
    if (this.closed) return;
    const frame = Buffer.allocUnsafe(17);
    writeFrameHeader(frame, 8, PING, ACK, 0);
    payload.copy(frame, 9);
    this.pingAcks.push(frame);
    this.pingAckTimer ??= setTimeout(flushPingAcks, PING_ACK_DELAY_MS, this);
  }

  /** The PING ACKs' deadline: they leave now, alone if nothing else is gathered. */
  flushPingAcks(): void {
    this.pingAckTimer = undefined;
    this.flush();
  }

  /** Writes what was gathered, and the PING ACKs last. */
  flush(): void {
    this.flushScheduled = false;
    if (this.pingAcks.length > 0) {
      for (const ack of this.pingAcks) this.out.push(ack);
      this.outBytes += 17 * this.pingAcks.length;
      this.pingAcks = [];
      clearTimeout(this.pingAckTimer);
      this.pingAckTimer = undefined;
    }
    const out = this.out;
    if (out.length === 0 || this.socket.destroyed) return;
    this.out = [];
    if (out.length === 1) {
      this.socket.write(out[0]!);
    } else if (this.outBytes <= JOIN_WRITES_UP_TO) {
      this.socket.write(Buffer.concat(out, this.outBytes));
    } else {
      this.socket.cork();
      for (const buf of out) this.socket.write(buf);
      this.socket.uncork();
    }
    this.outBytes = 0;
  }
}

function flushConnection(connection: H2Connection): void {
  connection.flush();
}

function flushPingAcks(connection: H2Connection): void {
  connection.flushPingAcks();
}
