// The HTTP/2 client connection against node:http2 servers (nghttp2) as the oracle: their HPACK encoder (Huffman,
// dynamic table with eviction), padding, CONTINUATION, flow control both ways, MAX_CONCURRENT_STREAMS, RST_STREAM,
// GOAWAY, PING, lost connections, and stream ids running out.
import { constants, createServer, type Http2Server, type ServerOptions, type ServerHttp2Session, type ServerHttp2Stream } from "node:http2";
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { H2_CANCEL, H2Connection, PING_ACK_DELAY_MS, type H2ConnectionOwner, type H2StreamHandler } from "./h2-connection.js";
import { encodeLiteralHeaders, encodeStaticIndexed, type HeaderList } from "./hpack.js";

/** What one stream received; `done` settles at onEnd or onFailed. */
class Recorder implements H2StreamHandler {
  readonly headers: Record<string, string>[] = [];
  readonly chunks: Buffer[] = [];
  failure: { reason: string; rstCode: number | undefined } | undefined;
  ended = false;
  readonly done: Promise<void>;
  private settle: () => void = () => undefined;

  constructor() {
    this.done = new Promise((resolve) => {
      this.settle = resolve;
    });
  }

  onHeaders(headers: HeaderList): void {
    const fields: Record<string, string> = {};
    for (let i = 0; i < headers.length; i += 2) fields[headers[i] ?? ""] = headers[i + 1] ?? "";
    this.headers.push(fields);
  }

  onData(chunk: Buffer): void {
    this.chunks.push(Buffer.from(chunk));
  }

  onEnd(): void {
    this.ended = true;
    this.settle();
  }

  onFailed(reason: string, rstCode: number | undefined): void {
    this.failure = { reason, rstCode };
    this.settle();
  }

  get body(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

class Owner implements H2ConnectionOwner {
  // Declared before the promises whose executors set them.
  private onConnected: () => void = () => undefined;
  private onClosed: () => void = () => undefined;
  events: string[] = [];
  connected = new Promise<void>((resolve) => {
    this.onConnected = resolve;
  });
  closed = new Promise<void>((resolve) => {
    this.onClosed = resolve;
  });
  pinged: (() => void) | undefined;

  h2Connected(): void {
    this.events.push("connected");
    this.onConnected();
  }
  h2Draining(): void {
    this.events.push("draining");
  }
  h2Closed(): void {
    this.events.push("closed");
    this.onClosed();
  }
  h2PingAck(): void {
    this.events.push("pong");
    this.pinged?.();
  }
}

function requestBlock(path: string): Buffer {
  return Buffer.concat([encodeStaticIndexed(":method", "POST"), encodeStaticIndexed(":scheme", "http"), encodeLiteralHeaders([[":path", path], [":authority", "test"]])]);
}

let server: Http2Server | undefined;
const connections: H2Connection[] = [];
const serverSockets: Socket[] = [];
afterEach(async () => {
  for (const c of connections.splice(0)) c.destroy("test over");
  for (const socket of serverSockets.splice(0)) socket.destroy();
  const s = server;
  server = undefined;
  if (s) await new Promise((resolve) => s.close(resolve));
});

async function serve(options: ServerOptions, onStream: (stream: ServerHttp2Stream, headers: Record<string, string | string[] | undefined>) => void): Promise<{ port: number; sessions: ServerHttp2Session[] }> {
  const s = createServer(options);
  server = s;
  const sessions: ServerHttp2Session[] = [];
  s.on("session", (session) => sessions.push(session));
  s.on("connection", (socket: Socket) => serverSockets.push(socket));
  s.on("stream", (stream, headers) => {
    stream.on("error", () => undefined);
    onStream(stream, headers);
  });
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  return { port: (s.address() as AddressInfo).port, sessions };
}

function connect(port: number, owner: H2ConnectionOwner, maxStreamId?: number): H2Connection {
  const c = new H2Connection({ host: "127.0.0.1", port, secure: false, ...(maxStreamId !== undefined ? { maxStreamId } : {}) }, owner);
  connections.push(c);
  return c;
}

/** A value of `length` characters from the whole latin1 range but control characters, varied by `seed`. */
function latin1Value(length: number, seed: number): string {
  let out = "";
  for (let i = 0; i < length; i++) {
    const code = 0x20 + ((seed * 7919 + i * 104_729) % 0xe0);
    out += String.fromCharCode(code === 0x7f ? 0x41 : code);
  }
  return out.trim() === out ? out : `a${out.trim()}a`;
}

describe("H2Connection against node:http2", () => {
  it("decodes nghttp2's headers and trailers (Huffman, dynamic table with eviction, padding, CONTINUATION) over many responses", async () => {
    // Padding on every frame; each response indexes new values, so the 4 KiB table evicts all along.
    const { port } = await serve({ paddingStrategy: constants.PADDING_STRATEGY_MAX }, (stream, headers) => {
      const n = Number(headers["x-n"]);
      stream.respond({ ":status": 200, "content-type": "application/grpc", "x-value": latin1Value(n % 7 === 0 ? 1500 : 20 + (n % 50), n), "x-same": "repeated" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => {
        stream.sendTrailers({ "grpc-status": String(n % 17), "grpc-message": `message ${n} ÿé`, ...(n === 3 ? { "x-big": "b".repeat(40_000) } : {}) });
      });
      stream.end(Buffer.from(`body ${n}`));
    });
    const owner = new Owner();
    const connection = connect(port, owner);
    const recorders: Recorder[] = [];
    for (let n = 0; n < 200; n++) {
      const recorder = new Recorder();
      recorders.push(recorder);
      const block = Buffer.concat([requestBlock("/x"), encodeLiteralHeaders([["x-n", String(n)]])]);
      connection.request(block, recorder, undefined, true);
      if (n % 20 === 19) await recorder.done;
    }
    await Promise.all(recorders.map((r) => r.done));
    recorders.forEach((r, n) => {
      expect(r.failure).toBeUndefined();
      expect(r.headers).toHaveLength(2);
      expect(r.headers[0]).toMatchObject({ ":status": "200", "content-type": "application/grpc", "x-value": latin1Value(n % 7 === 0 ? 1500 : 20 + (n % 50), n), "x-same": "repeated" });
      expect(r.headers[1]).toMatchObject({ "grpc-status": String(n % 17), "grpc-message": `message ${n} ÿé` });
      if (n === 3) expect(r.headers[1]?.["x-big"]).toBe("b".repeat(40_000));
      expect(r.body.toString()).toBe(`body ${n}`);
    });
    expect(owner.events).toEqual(["connected"]);
  });

  it("keeps to the peer's windows and frame size when sending, and hands back its own window as data comes", async () => {
    // The server's stream windows are the default 64 KiB and its frames up to 32 KiB; the answer (24 MiB) is larger than our windows (16 MiB).
    const answer = Buffer.alloc(24 * 1024 * 1024, 7);
    const { port } = await serve({ settings: { maxFrameSize: 32_768 } }, (stream) => {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const body = Buffer.concat(chunks);
        stream.respond({ ":status": 200, "x-received": String(body.length), "x-sum": String(body.reduce((a, b) => (a + b) % 65_521, 0)) });
        stream.end(answer);
      });
    });
    const owner = new Owner();
    const connection = connect(port, owner);
    const request = Buffer.alloc(1_500_000);
    for (let i = 0; i < request.length; i++) request[i] = i % 251;
    const big = new Recorder();
    connection.request(requestBlock("/upload"), big, request, true);
    // A second upload in pieces, written after the stream is open.
    const pieces = new Recorder();
    const stream = connection.request(requestBlock("/upload"), pieces, undefined, false);
    connection.write(stream, request.subarray(0, 100_000), false);
    connection.write(stream, request.subarray(100_000), true);
    await Promise.all([big.done, pieces.done]);
    const sum = String(request.reduce((a, b) => (a + b) % 65_521, 0));
    for (const r of [big, pieces]) {
      expect(r.failure).toBeUndefined();
      expect(r.headers[0]).toMatchObject({ "x-received": String(request.length), "x-sum": sum });
      expect(r.body.length).toBe(answer.length);
    }
  });

  it("holds streams beyond MAX_CONCURRENT_STREAMS until others close", async () => {
    let open = 0;
    let most = 0;
    const { port } = await serve({ settings: { maxConcurrentStreams: 2 } }, (stream) => {
      open++;
      most = Math.max(most, open);
      setTimeout(() => {
        open--;
        stream.respond({ ":status": 200 });
        stream.end("ok");
      }, 5);
    });
    const owner = new Owner();
    const connection = connect(port, owner);
    await owner.connected;
    const recorders = Array.from({ length: 10 }, () => new Recorder());
    for (const r of recorders) connection.request(requestBlock("/slow"), r, Buffer.from("x"), true);
    await Promise.all(recorders.map((r) => r.done));
    expect(recorders.map((r) => r.body.toString())).toEqual(Array(10).fill("ok"));
    expect(most).toBe(2);
  });

  it("reports the peer's RST_STREAM, sends its own, and answers the peer's PING", async () => {
    let canceledCode: number | undefined;
    const { port, sessions } = await serve({}, (stream, headers) => {
      if (headers[":path"] === "/reset") stream.close(constants.NGHTTP2_REFUSED_STREAM);
      else
        stream.on("close", () => {
          canceledCode = stream.rstCode;
        });
    });
    const owner = new Owner();
    const connection = connect(port, owner);
    const reset = new Recorder();
    connection.request(requestBlock("/reset"), reset, undefined, true);
    await reset.done;
    expect(reset.failure?.rstCode).toBe(constants.NGHTTP2_REFUSED_STREAM);

    const hanging = new Recorder();
    const stream = connection.request(requestBlock("/hang"), hanging, undefined, false);
    await vi_waitFor(() => sessions[0]?.state.localWindowSize !== undefined && canceledCode === undefined);
    connection.reset(stream, H2_CANCEL);
    await vi_waitFor(() => canceledCode !== undefined);
    expect(canceledCode).toBe(constants.NGHTTP2_CANCEL);
    expect(hanging.failure).toBeUndefined();
    expect(hanging.ended).toBe(false);

    const session = sessions[0]!;
    const rtt = await new Promise<number>((resolve, reject) => {
      session.ping((err, duration) => {
        if (err) reject(err);
        else resolve(duration);
      });
    });
    expect(rtt).toBeGreaterThanOrEqual(0);
    const pong = new Promise<void>((resolve) => {
      owner.pinged = resolve;
    });
    connection.ping();
    await pong;
  });

  it("on GOAWAY fails the streams above its last stream id, takes no new streams, and closes when the rest end", async () => {
    const held: ServerHttp2Stream[] = [];
    const { port, sessions } = await serve({}, (stream) => {
      held.push(stream);
    });
    const owner = new Owner();
    const connection = connect(port, owner);
    const first = new Recorder();
    connection.request(requestBlock("/a"), first, undefined, true);
    await vi_waitFor(() => held.length === 1);
    const second = new Recorder();
    connection.request(requestBlock("/b"), second, undefined, true);
    // Stream 1 goes on; stream 3 was not taken.
    sessions[0]!.goaway(constants.NGHTTP2_NO_ERROR, 1);
    await second.done;
    expect(second.failure?.reason).toContain("GOAWAY");
    expect(connection.acceptsStreams).toBe(false);
    expect(owner.events).toEqual(["connected", "draining"]);
    const answer = held[0]!;
    answer.respond({ ":status": 200 });
    answer.end("last");
    await first.done;
    expect(first.body.toString()).toBe("last");
    await owner.closed;
  });

  it("fails every open stream when the connection is lost, and drains when stream ids run out", async () => {
    const { port, sessions } = await serve({}, (stream, headers) => {
      if (headers[":path"] !== "/hang") {
        stream.respond({ ":status": 200 });
        stream.end("ok");
      }
    });
    const owner = new Owner();
    const connection = connect(port, owner);
    const hanging = [new Recorder(), new Recorder()];
    for (const r of hanging) connection.request(requestBlock("/hang"), r, undefined, true);
    await vi_waitFor(() => sessions.length === 1);
    await owner.connected;
    // The socket cut under the session: no GOAWAY, no RST_STREAM.
    serverSockets[0]!.destroy();
    await Promise.all(hanging.map((r) => r.done));
    for (const r of hanging) expect(r.failure?.reason).toMatch(/^connection to etcd failed/);
    await owner.closed;

    const spent = new Owner();
    const small = connect(port, spent, 5);
    const three = [new Recorder(), new Recorder(), new Recorder()];
    for (const r of three) small.request(requestBlock("/ok"), r, undefined, true);
    expect(small.acceptsStreams).toBe(false);
    expect(spent.events).toEqual(["draining"]);
    await Promise.all(three.map((r) => r.done));
    expect(three.map((r) => r.body.toString())).toEqual(["ok", "ok", "ok"]);
    await spent.closed;
  });
});

/** Waits until `condition` holds (polling), for what the test cannot await directly. */
async function vi_waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A hand-written HTTP/2 frame. */
function rawFrame(type: number, flags: number, id: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(id, 5);
  return Buffer.concat([header, payload]);
}

/** A server that answers the preface with `frames(firstStreamId)` once the client's first HEADERS is in, and records what it read. */
async function rawServer(frames: (streamId: number) => Buffer): Promise<{ port: number; received: () => Buffer }> {
  let received = Buffer.alloc(0);
  const s = createNetServer((socket) => {
    serverSockets.push(socket);
    let answered = false;
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      // The first HEADERS (type 1) after the 24-byte preface: walk the frames.
      for (let at = 24; !answered && received.length - at >= 9; ) {
        const length = received.readUIntBE(at, 3);
        if (received[at + 3] === 1) {
          answered = true;
          socket.write(frames(received.readUInt32BE(at + 5)));
        }
        at += 9 + length;
      }
    });
    socket.on("error", () => undefined);
  });
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  rawServers.push(s);
  return { port: (s.address() as AddressInfo).port, received: () => received };
}

const rawServers: NetServer[] = [];
afterEach(async () => {
  for (const c of connections.splice(0)) c.destroy("test over");
  for (const socket of serverSockets.splice(0)) socket.destroy();
  for (const s of rawServers.splice(0)) await new Promise((resolve) => s.close(resolve));
});

describe("H2Connection against hand-written frames", () => {
  it("reads HEADERS with PADDED and PRIORITY, a table size update, CONTINUATION, and padded DATA", async () => {
    const { port } = await rawServer((id) => {
      // :status 200 (indexed 8), then a size update to 0 (first in its block), then a literal content-type.
      const headersBlock = Buffer.concat([Buffer.from([0x20, 0x88]), encodeLiteralHeaders([["content-type", "application/grpc"]])]);
      const padded = (block: Buffer, pad: number): Buffer => Buffer.concat([Buffer.from([pad]), Buffer.from([0x80, 0, 0, 0, 16]), block, Buffer.alloc(pad)]);
      const trailers = encodeLiteralHeaders([["grpc-status", "0"], ["grpc-message", "fine"]]);
      return Buffer.concat([
        rawFrame(0x4, 0, 0, Buffer.alloc(0)),
        // PADDED | PRIORITY | END_HEADERS: pad length, 5 priority bytes, the block, padding.
        rawFrame(0x1, 0x8 | 0x20 | 0x4, id, padded(headersBlock, 3)),
        // PADDED DATA.
        rawFrame(0x0, 0x8, id, Buffer.concat([Buffer.from([4]), Buffer.from("hello"), Buffer.alloc(4)])),
        // Trailers split across HEADERS (END_STREAM) and CONTINUATION (END_HEADERS).
        rawFrame(0x1, 0x1, id, trailers.subarray(0, 5)),
        rawFrame(0x9, 0x4, id, trailers.subarray(5)),
      ]);
    });
    const owner = new Owner();
    const connection = connect(port, owner);
    const r = new Recorder();
    connection.request(requestBlock("/raw"), r, Buffer.from("x"), true);
    await r.done;
    expect(r.failure).toBeUndefined();
    expect(r.headers).toEqual([
      { ":status": "200", "content-type": "application/grpc" },
      { "grpc-status": "0", "grpc-message": "fine" },
    ]);
    expect(r.body.toString()).toBe("hello");
  });

  it("treats a PUSH_PROMISE (push is disabled) as a protocol error: GOAWAY sent, streams failed, socket closed", async () => {
    const { port, received } = await rawServer((id) => Buffer.concat([rawFrame(0x4, 0, 0, Buffer.alloc(0)), rawFrame(0x5, 0x4, id, Buffer.from([0, 0, 0, 2, 0x88]))]));
    const owner = new Owner();
    const connection = connect(port, owner);
    const r = new Recorder();
    connection.request(requestBlock("/raw"), r, undefined, true);
    await r.done;
    expect(r.failure?.reason).toContain("PUSH_PROMISE");
    await owner.closed;
    // Our GOAWAY (type 7) with PROTOCOL_ERROR (1) is among what the server read.
    const goawayCode = (): number | undefined => {
      const bytes = received();
      for (let at = 24; bytes.length - at >= 9; at += 9 + bytes.readUIntBE(at, 3)) if (bytes[at + 3] === 7) return bytes.readUInt32BE(at + 13);
      return undefined;
    };
    await expect.poll(goawayCode).toBe(1);
  });
  it("sends the ACK of the peer's PING at the end of the next requests' write, or alone within PING_ACK_DELAY_MS", async () => {
    const pingPayload = Buffer.from("bdp-ping");
    const idlePayload = Buffer.from("idleping");
    let serverSocket: Socket | undefined;
    const { port, received } = await rawServer((id) => {
      serverSocket = serverSockets.at(-1);
      const trailers = encodeLiteralHeaders([["grpc-status", "0"]]);
      // As etcd does: a PING (gRPC's BDP estimate) ahead of the response to the request that prompted it.
      return Buffer.concat([
        rawFrame(0x4, 0, 0, Buffer.alloc(0)),
        rawFrame(0x6, 0, 0, pingPayload),
        rawFrame(0x1, 0x4, id, Buffer.from([0x88])),
        rawFrame(0x0, 0, id, Buffer.from("a")),
        rawFrame(0x1, 0x4 | 0x1, id, trailers),
      ]);
    });
    const owner = new Owner();
    const connection = connect(port, owner);
    const second = new Recorder();
    // A caller that sends its next request as soon as the first is answered, in the same tick.
    const first = new (class extends Recorder {
      override onEnd(): void {
        super.onEnd();
        connection.request(requestBlock("/second"), second, Buffer.from("next"), true);
      }
    })();
    connection.request(requestBlock("/first"), first, Buffer.from("x"), true);
    await first.done;
    expect(first.body.toString()).toBe("a");

    /** The frames the server read after the preface: type, flags, stream id, payload. */
    const frames = (): { type: number; flags: number; id: number; payload: Buffer }[] => {
      const bytes = received();
      const out: { type: number; flags: number; id: number; payload: Buffer }[] = [];
      for (let at = 24; bytes.length - at >= 9; ) {
        const length = bytes.readUIntBE(at, 3);
        if (bytes.length - at < 9 + length) break;
        out.push({ type: bytes[at + 3]!, flags: bytes[at + 4]!, id: bytes.readUInt32BE(at + 5) & 0x7fffffff, payload: bytes.subarray(at + 9, at + 9 + length) });
        at += 9 + length;
      }
      return out;
    };
    const isAck = (payload: Buffer) => (f: { type: number; flags: number; payload: Buffer }) => f.type === 0x6 && f.flags === 0x1 && f.payload.equals(payload);
    await expect.poll(() => frames().findIndex(isAck(pingPayload))).toBeGreaterThan(0);
    const all = frames();
    const ackAt = all.findIndex(isAck(pingPayload));
    const secondData = all.findIndex((f) => f.type === 0x0 && f.id === 3);
    // The second request's HEADERS and DATA went first; the ACK followed them in the same write.
    expect(all.findIndex((f) => f.type === 0x1 && f.id === 3)).toBeGreaterThan(0);
    expect(secondData).toBeGreaterThan(0);
    expect(ackAt).toBe(secondData + 1);
    expect(all.filter(isAck(pingPayload))).toHaveLength(1);

    // With nothing else to write, the ACK leaves alone once PING_ACK_DELAY_MS have passed.
    const sentAt = Date.now();
    serverSocket!.write(rawFrame(0x6, 0, 0, idlePayload));
    await expect.poll(() => frames().some(isAck(idlePayload)), { timeout: 2000, interval: 2 }).toBe(true);
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(PING_ACK_DELAY_MS - 2);
    expect(owner.events).toEqual(["connected"]);
  });
});
