// A SPDY/3.1 connection over any byte stream (a TCP socket after `Upgrade: SPDY/3.1`, or a WebSocket carrying SPDY
// frames in its binary messages), as moby/spdystream speaks it for Kubernetes' streaming protocols: streams opened
// with SYN_STREAM and accepted with SYN_REPLY, data with half-close (FIN), RST_STREAM, PING answered, GOAWAY.
//
// Flow control: spdystream neither sends nor honours WINDOW_UPDATE, so this session ignores the windows too (it
// reads WINDOW_UPDATE and SETTINGS and drops them); backpressure comes from the transport instead.
//
// Frames leave in the order they were asked for: header blocks share one compression context per direction, so a
// block must be compressed in the same order it is written (and read in the order it arrived).
import { Duplex } from "node:stream";
import { HeaderCompressor, HeaderDecompressor } from "./header-compression.js";
import {
  encodeData,
  encodeGoAway,
  encodePing,
  encodeRstStream,
  encodeSynReply,
  encodeSynStream,
  FLAG_FIN,
  GoAwayStatus,
  RstStatus,
  SpdyFrameReader,
  SpdyProtocolError,
  type SpdyFrame,
  type SpdyHeaders,
} from "./frames.js";

/** Data frames are cut at this size; spdystream accepts any 24-bit length, smaller frames interleave streams fairly. */
const MAX_DATA_PAYLOAD = 32 * 1024;

export interface SpdySessionOptions {
  /** The accepting side (its own streams get even ids, the peer's are odd), or the dialling side. */
  role: "server" | "client";
  /**
   * A stream the peer opened, with its headers. The handler answers it with reply() (or refuses it with reset()),
   * before writing to it.
   */
  onStream?(stream: SpdyStream): void;
}

/** One SPDY stream: a Duplex whose writes become DATA frames, whose end() sends FIN, and whose reads end on the peer's FIN. */
export class SpdyStream extends Duplex {
  /** Set once the peer reset the stream (RST_STREAM's status). */
  resetByPeer: number | undefined;
  private finSent = false;
  private finReceived = false;
  private resetSent = false;

  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    readonly headers: SpdyHeaders,
  ) {
    super({ allowHalfOpen: true });
  }

  /** The first value of a header (names are lower case). */
  header(name: string): string | undefined {
    return this.headers[name.toLowerCase()]?.[0];
  }

  /** Accepts a stream the peer opened; `fin` also half-closes our side at once. */
  reply(headers: Readonly<Record<string, string | readonly string[]>> = {}, fin = false): void {
    this.session.sendHeaders((block) => encodeSynReply(this.id, block, fin ? FLAG_FIN : 0), headers).catch(() => undefined);
    if (fin) {
      this.finSent = true;
      this.end();
    }
  }

  /** Sends RST_STREAM and ends the stream both ways at once. */
  reset(status: number = RstStatus.CANCEL): void {
    if (this.resetSent || this.resetByPeer !== undefined || this.destroyed) return;
    this.resetSent = true;
    this.session.post(encodeRstStream(this.id, status));
    this.destroy();
  }

  override _read(): void {
    // Data arrives when the peer sends it; without flow control there is nothing to ask for.
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const frames: Promise<void>[] = [];
    for (let offset = 0; offset < chunk.length; offset += MAX_DATA_PAYLOAD) frames.push(this.session.send(encodeData(this.id, chunk.subarray(offset, offset + MAX_DATA_PAYLOAD))));
    Promise.all(frames).then(() => { callback(); }, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (this.finSent) {
      callback();
      return;
    }
    this.finSent = true;
    this.session.send(encodeData(this.id, Buffer.alloc(0), FLAG_FIN)).then(() => { callback(); }, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A stream dropped before both sides finished is cancelled, so the peer does not wait for it.
    if (!(this.finSent && this.finReceived) && !this.resetSent && this.resetByPeer === undefined && this.session.open) {
      this.resetSent = true;
      this.session.post(encodeRstStream(this.id, RstStatus.CANCEL));
    }
    this.session.forget(this.id);
    callback(error);
  }

  /** @internal The peer's DATA frame. */
  receive(data: Buffer, fin: boolean): void {
    if (this.finReceived) return;
    if (data.length > 0) this.push(data);
    if (fin) {
      this.finReceived = true;
      this.push(null);
    }
  }

  /** @internal The peer's RST_STREAM, or the connection going away. */
  peerReset(status: number): void {
    this.resetByPeer = status;
    this.destroy();
  }
}

export class SpdySession {
  /** Resolves once the transport has closed and every stream with it. */
  readonly closed: Promise<void>;
  private readonly streams = new Map<number, SpdyStream>();
  private readonly reader = new SpdyFrameReader();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private outbound: Promise<void> = Promise.resolve();
  private inbound: Promise<void> = Promise.resolve();
  private nextStreamId: number;
  private nextPingId: number;
  private readonly pendingReplies = new Map<number, { resolve: (s: SpdyStream) => void; reject: (e: Error) => void }>();
  private readonly pendingPings = new Map<number, () => void>();
  private lastPeerStreamId = 0;
  private goingAway = false;
  private isOpen = true;

  constructor(
    private readonly transport: Duplex,
    private readonly options: SpdySessionOptions,
  ) {
    this.nextStreamId = options.role === "server" ? 2 : 1;
    this.nextPingId = options.role === "server" ? 2 : 1;
    this.closed = new Promise((resolve) => transport.once("close", () => {
      this.shutDown();
      resolve();
    }));
    transport.on("error", () => undefined);
    transport.on("end", () => transport.destroy());
    transport.on("data", (chunk: Buffer) => {
      let frames: SpdyFrame[];
      try {
        frames = this.reader.push(chunk);
      } catch (err) {
        this.fail(err);
        return;
      }
      for (const frame of frames) this.inbound = this.inbound.then(() => this.handle(frame)).catch((err: unknown) => { this.fail(err); });
    });
  }

  get open(): boolean {
    return this.isOpen;
  }

  /** Opens a stream and resolves once the peer replied (rejects on its RST_STREAM or the connection closing). */
  openStream(headers: Readonly<Record<string, string | readonly string[]>>, fin = false): Promise<SpdyStream> {
    if (!this.isOpen || this.goingAway) return Promise.reject(new Error("SPDY connection is closed"));
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const stream = new SpdyStream(this, id, {});
    this.streams.set(id, stream);
    const replied = new Promise<SpdyStream>((resolve, reject) => this.pendingReplies.set(id, { resolve, reject }));
    this.sendHeaders((block) => encodeSynStream(id, block, { flags: fin ? FLAG_FIN : 0 }), headers).catch(() => undefined);
    if (fin) stream.end();
    return replied;
  }

  /** Sends a PING and resolves when the peer echoes it. */
  ping(): Promise<void> {
    const id = this.nextPingId;
    this.nextPingId += 2;
    const answered = new Promise<void>((resolve) => this.pendingPings.set(id, resolve));
    this.post(encodePing(id));
    return answered;
  }

  /** Says GOAWAY (no new streams) and closes the transport once the frames before it are written. */
  async close(): Promise<void> {
    if (!this.isOpen) return;
    this.goingAway = true;
    await this.send(encodeGoAway(this.lastPeerStreamId, GoAwayStatus.OK)).catch(() => undefined);
    this.transport.end();
    this.transport.destroy();
    await this.closed;
  }

  /** Closes the transport at once; every stream ends with it. */
  destroy(): void {
    this.transport.destroy();
  }

  /** @internal Writes a frame after every frame asked for before it. */
  send(frame: Buffer): Promise<void> {
    return this.enqueue(() => Promise.resolve(frame));
  }

  /** @internal send() for a frame nobody waits on: a connection that closed first has nobody to tell. */
  post(frame: Buffer): void {
    this.send(frame).catch(() => undefined);
  }

  /** @internal Writes a frame carrying a header block, compressed in write order. */
  sendHeaders(build: (block: Buffer) => Buffer, headers: Readonly<Record<string, string | readonly string[]>>): Promise<void> {
    return this.enqueue(async () => build(await this.compressor.compress(headers)));
  }

  /** @internal */
  forget(id: number): void {
    this.streams.delete(id);
  }

  private enqueue(frame: () => Promise<Buffer>): Promise<void> {
    const written = this.outbound.then(async () => {
      if (!this.isOpen) throw new Error("SPDY connection is closed");
      const bytes = await frame();
      if (this.transport.write(bytes)) return;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.transport.off("drain", done);
          this.transport.off("close", done);
          resolve();
        };
        this.transport.once("drain", done);
        this.transport.once("close", done);
      });
    });
    this.outbound = written.catch(() => undefined);
    return written;
  }

  private async handle(frame: SpdyFrame): Promise<void> {
    if (!this.isOpen) return;
    switch (frame.type) {
      case "syn_stream": {
        const headers = await this.decompressor.decompress(frame.block);
        this.lastPeerStreamId = Math.max(this.lastPeerStreamId, frame.streamId);
        const peerParity = this.options.role === "server" ? 1 : 0;
        if (frame.streamId % 2 !== peerParity || this.streams.has(frame.streamId)) {
          this.post(encodeRstStream(frame.streamId, this.streams.has(frame.streamId) ? RstStatus.STREAM_IN_USE : RstStatus.PROTOCOL_ERROR));
          return;
        }
        const stream = new SpdyStream(this, frame.streamId, headers);
        this.streams.set(frame.streamId, stream);
        if (this.goingAway || !this.options.onStream) {
          stream.reset(RstStatus.REFUSED_STREAM);
          return;
        }
        if ((frame.flags & FLAG_FIN) !== 0) stream.receive(Buffer.alloc(0), true);
        this.options.onStream(stream);
        return;
      }
      case "syn_reply": {
        await this.decompressor.decompress(frame.block);
        const pending = this.pendingReplies.get(frame.streamId);
        this.pendingReplies.delete(frame.streamId);
        const stream = this.streams.get(frame.streamId);
        if (pending && stream) pending.resolve(stream);
        if ((frame.flags & FLAG_FIN) !== 0) stream?.receive(Buffer.alloc(0), true);
        return;
      }
      case "headers": {
        await this.decompressor.decompress(frame.block);
        if ((frame.flags & FLAG_FIN) !== 0) this.streams.get(frame.streamId)?.receive(Buffer.alloc(0), true);
        return;
      }
      case "data":
        this.streams.get(frame.streamId)?.receive(frame.data, (frame.flags & FLAG_FIN) !== 0);
        return;
      case "rst_stream": {
        const pending = this.pendingReplies.get(frame.streamId);
        this.pendingReplies.delete(frame.streamId);
        pending?.reject(new Error(`stream ${frame.streamId} was reset (status ${frame.status})`));
        this.streams.get(frame.streamId)?.peerReset(frame.status);
        return;
      }
      case "ping": {
        const ours = frame.id % 2 === (this.options.role === "server" ? 0 : 1);
        if (!ours) {
          this.post(encodePing(frame.id));
          return;
        }
        this.pendingPings.get(frame.id)?.();
        this.pendingPings.delete(frame.id);
        return;
      }
      case "goaway":
        this.goingAway = true;
        return;
      case "settings":
      case "window_update":
      case "unknown":
        return;
    }
  }

  private fail(err: unknown): void {
    if (!this.isOpen) return;
    if (err instanceof SpdyProtocolError) void this.send(encodeGoAway(this.lastPeerStreamId, GoAwayStatus.PROTOCOL_ERROR)).catch(() => undefined).finally(() => this.transport.destroy());
    else this.transport.destroy();
  }

  private shutDown(): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    for (const pending of this.pendingReplies.values()) pending.reject(new Error("SPDY connection closed"));
    this.pendingReplies.clear();
    for (const resolve of this.pendingPings.values()) resolve();
    this.pendingPings.clear();
    for (const stream of [...this.streams.values()]) stream.peerReset(RstStatus.CANCEL);
    this.compressor.close();
    this.decompressor.close();
  }
}
