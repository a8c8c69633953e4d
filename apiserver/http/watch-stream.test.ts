import { createServer, get } from "node:http";
import type { IncomingMessage, Server } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { WebSocket } from "ws";
import { acceptWatchWebSocket, chunkedWatchWriter, serializeWatchEvent, sharedSerializedEvent, WATCH_BACKLOG_BYTES } from "./watch-stream.js";
import type { WatchWriter } from "./watch-stream.js";

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => {
    if (server) server.close(() => { resolve(); });
    else resolve();
  });
  server = undefined;
});

/** Starts a server whose requests (plain or upgrades) hand a WatchWriter to the test through `writers`. */
async function watchServer(): Promise<{ port: number; next: () => Promise<WatchWriter> }> {
  const waiting: ((w: WatchWriter) => void)[] = [];
  const ready: WatchWriter[] = [];
  const deliver = (w: WatchWriter): void => {
    const waiter = waiting.shift();
    if (waiter) waiter(w);
    else ready.push(w);
  };
  server = createServer((_req, res) => { deliver(chunkedWatchWriter(res)); });
  server.on("upgrade", (req: IncomingMessage, socket, head: Buffer) => { acceptWatchWebSocket(req, socket, head, deliver); });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const next = (): Promise<WatchWriter> => {
    const w = ready.shift();
    return w ? Promise.resolve(w) : new Promise((resolve) => waiting.push(resolve));
  };
  return { port, next };
}

/** Reads a chunked response line by line as it arrives. */
function openWatch(port: number): Promise<{ res: IncomingMessage; nextLine: () => Promise<string | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: "127.0.0.1", port, path: "/api/v1/pods?watch=true" }, (res) => {
      let buffered = "";
      let ended = false;
      const lines: string[] = [];
      const waiters: ((line: string | undefined) => void)[] = [];
      const flush = (): void => {
        while (waiters.length > 0 && (lines.length > 0 || ended)) waiters.shift()!(lines.shift());
      };
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          lines.push(buffered.slice(0, nl));
          buffered = buffered.slice(nl + 1);
        }
        flush();
      });
      res.on("end", () => {
        ended = true;
        flush();
      });
      resolve({ res, nextLine: () => new Promise((r) => { waiters.push(r); flush(); }) });
    });
    req.on("error", reject);
  });
}

const pod = (name: string, rv: string): Record<string, unknown> => ({ kind: "Pod", apiVersion: "v1", metadata: { name, resourceVersion: rv } });

describe("chunkedWatchWriter", () => {
  it("sends a chunked application/json 200 before any event", async () => {
    const { port, next } = await watchServer();
    const { res } = await openWatch(port);
    const writer = await next();
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/json");
    expect(res.headers["transfer-encoding"]).toBe("chunked");
    writer.close();
  });

  it("delivers each event as one JSON line as soon as it is sent", async () => {
    const { port, next } = await watchServer();
    const { nextLine } = await openWatch(port);
    const writer = await next();
    expect(writer.send({ type: "ADDED", object: pod("a", "1") })).toBe(true);
    expect(JSON.parse((await nextLine())!)).toEqual({ type: "ADDED", object: pod("a", "1") });
    writer.sendSerialized(serializeWatchEvent(JSON.stringify({ type: "MODIFIED", object: pod("a", "2") })));
    expect(JSON.parse((await nextLine())!)).toEqual({ type: "MODIFIED", object: pod("a", "2") });
    writer.send({ type: "ERROR", object: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", reason: "Expired", code: 410 } });
    expect(JSON.parse((await nextLine())!)).toMatchObject({ type: "ERROR", object: { code: 410 } });
    writer.close();
    expect(await nextLine()).toBeUndefined();
  });

  it("reports the client going away through onClose and refuses further events", async () => {
    const { port, next } = await watchServer();
    const { res } = await openWatch(port);
    const writer = await next();
    const closed = new Promise<void>((resolve) => { writer.onClose(resolve); });
    res.destroy();
    await closed;
    expect(writer.closed).toBe(true);
    expect(writer.send({ type: "ADDED", object: pod("b", "3") })).toBe(false);
    let late = false;
    writer.onClose(() => { late = true; });
    expect(late).toBe(true);
  });

  it("runs onClose listeners once when the server closes the stream", async () => {
    const { port, next } = await watchServer();
    const { nextLine } = await openWatch(port);
    const writer = await next();
    let calls = 0;
    const closed = new Promise<void>((resolve) => { writer.onClose(() => { calls++; resolve(); }); });
    writer.close();
    writer.close();
    expect(await nextLine()).toBeUndefined();
    await closed;
    expect(calls).toBe(1);
  });
});

describe("acceptWatchWebSocket", () => {
  it("sends each event as a text message and closes with 1000", async () => {
    const { port, next } = await watchServer();
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/pods?watch=true`);
    const messages: { data: string; binary: boolean }[] = [];
    ws.on("message", (data: Buffer, binary: boolean) => messages.push({ data: data.toString("utf8"), binary }));
    const closed = new Promise<number>((resolve) => ws.on("close", (code: number) => { resolve(code); }));
    await new Promise<void>((resolve) => ws.once("open", () => { resolve(); }));
    expect(ws.protocol).toBe("");
    const writer = await next();
    writer.send({ type: "ADDED", object: pod("a", "1") });
    writer.sendSerialized(serializeWatchEvent(JSON.stringify({ type: "DELETED", object: pod("a", "2") })));
    writer.close();
    expect(await closed).toBe(1000);
    expect(messages).toEqual([
      { data: JSON.stringify({ type: "ADDED", object: pod("a", "1") }), binary: false },
      { data: JSON.stringify({ type: "DELETED", object: pod("a", "2") }), binary: false },
    ]);
    expect(writer.closed).toBe(true);
  });

  it("reports the client closing through onClose", async () => {
    const { port, next } = await watchServer();
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/pods?watch=true`);
    await new Promise<void>((resolve) => ws.once("open", () => { resolve(); }));
    const writer = await next();
    const closed = new Promise<void>((resolve) => { writer.onClose(resolve); });
    ws.close();
    await closed;
    expect(writer.send({ type: "ADDED", object: pod("x", "9") })).toBe(false);
  });

  it("echoes the first subprotocol a client offers and still sends JSON text", async () => {
    const { port, next } = await watchServer();
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/pods?watch=true`, ["base64.binary.k8s.io", "binary.k8s.io"]);
    const first = new Promise<{ data: string; binary: boolean }>((resolve) => ws.once("message", (data: Buffer, binary: boolean) => { resolve({ data: data.toString("utf8"), binary }); }));
    await new Promise<void>((resolve) => ws.once("open", () => { resolve(); }));
    expect(ws.protocol).toBe("base64.binary.k8s.io");
    const writer = await next();
    writer.send({ type: "ADDED", object: pod("a", "1") });
    expect(await first).toEqual({ data: JSON.stringify({ type: "ADDED", object: pod("a", "1") }), binary: false });
    writer.close();
  });
});

describe("watch fan-out", () => {
  it("serializes each event once per type and gives every caller the same bytes", () => {
    const object = pod("a", "7");
    const added = sharedSerializedEvent("ADDED", object);
    expect(sharedSerializedEvent("ADDED", object)).toBe(added);
    expect(added.line.toString()).toBe(`${JSON.stringify({ type: "ADDED", object })}\n`);
    expect(added.message.toString()).toBe(JSON.stringify({ type: "ADDED", object }));
    // A selector watcher may see the same change as another type: serialized once for that type too.
    const deleted = sharedSerializedEvent("DELETED", object);
    expect(deleted).not.toBe(added);
    expect(sharedSerializedEvent("DELETED", object)).toBe(deleted);
    expect(sharedSerializedEvent("ADDED", object)).toBe(added);
  });

  it("writes one burst to 1,000 watchers with one serialization per event, every watcher getting the same lines in order", async () => {
    const watchers = 1000;
    const { port, next } = await watchServer();
    const clients = await Promise.all(Array.from({ length: watchers }, () => openWatch(port)));
    const writers = await Promise.all(Array.from({ length: watchers }, () => next()));
    const events = [pod("a", "2"), pod("b", "3"), pod("c", "4")];
    const stringify = vi.spyOn(JSON, "stringify");
    try {
      // One burst: every event to every watcher in the same turn of the event loop, as the watch cache does.
      for (const [i, object] of events.entries()) {
        const type = i === 0 ? "ADDED" : "MODIFIED";
        for (const writer of writers) writer.sendSerialized(sharedSerializedEvent(type, object));
      }
      expect(stringify).toHaveBeenCalledTimes(events.length);
    } finally {
      stringify.mockRestore();
    }
    const expected = events.map((object, i) => JSON.stringify({ type: i === 0 ? "ADDED" : "MODIFIED", object }));
    for (const client of clients) {
      const lines = [await client.nextLine(), await client.nextLine(), await client.nextLine()];
      expect(lines).toEqual(expected);
    }
    for (const writer of writers) writer.close();
  });

  it("frames each event as one HTTP/1.1 chunk once, its line and message being views of that chunk", () => {
    const object = { ...pod("ü", "8"), data: { note: "größer" } };
    const json = JSON.stringify({ type: "ADDED", object });
    const event = serializeWatchEvent(json);
    const size = Buffer.byteLength(json) + 1;
    expect(event.chunk.toString()).toBe(`${size.toString(16)}\r\n${json}\n\r\n`);
    expect(event.line.toString()).toBe(`${json}\n`);
    expect(event.message.toString()).toBe(json);
    expect(event.line.buffer).toBe(event.chunk.buffer);
    expect(event.message.buffer).toBe(event.chunk.buffer);
    const frame = sharedSerializedEvent("ADDED", pod("p", "9"), "protobuf");
    expect(frame.chunk.subarray(0, frame.chunk.length - 2 - frame.line.length).toString("latin1")).toBe(`${frame.line.length.toString(16)}\r\n`);
    expect(frame.chunk.subarray(frame.chunk.length - 2).toString("latin1")).toBe("\r\n");
    expect(frame.line.buffer).toBe(frame.chunk.buffer);
  });

  it("hands the connection one write per burst, and the stream stays valid chunked encoding up to its end", async () => {
    const writes: number[] = [];
    let writer: WatchWriter | undefined;
    const ready = new Promise<void>((resolve) => {
      server = createServer((_req, res) => {
        writer = chunkedWatchWriter(res);
        const socket = res.socket as Socket & { _writev?: (chunks: { chunk: unknown }[], cb: (err?: Error | null) => void) => void; _write: (chunk: unknown, encoding: BufferEncoding, cb: (err?: Error | null) => void) => void };
        const writev = socket._writev?.bind(socket);
        const write = socket._write.bind(socket);
        socket._writev = (chunks, cb) => { writes.push(chunks.length); writev?.(chunks, cb); };
        socket._write = (chunk, encoding, cb) => { writes.push(1); write(chunk, encoding, cb); };
        resolve();
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const raw = connect((server!.address() as AddressInfo).port, "127.0.0.1");
    let received = "";
    raw.setEncoding("latin1");
    raw.on("data", (d: string) => { received += d; });
    const ended = new Promise<void>((resolve) => { raw.on("end", resolve); raw.on("close", () => { resolve(); }); });
    raw.write("GET /api/v1/pods?watch=true HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    await ready;
    await new Promise((r) => setImmediate(r));
    writes.length = 0;
    const events = [pod("a", "2"), pod("b", "3"), pod("c", "4")].map((object) => sharedSerializedEvent("MODIFIED", object));
    for (const e of events) expect(writer!.sendSerialized(e)).toBe(true);
    expect(writer!.send({ type: "DELETED", object: pod("c", "5") })).toBe(true);
    await new Promise((r) => setImmediate(r));
    expect(writes).toEqual([4]);
    writer!.close();
    await ended;
    const body = received.slice(received.indexOf("\r\n\r\n") + 4);
    // Decode the chunked body by hand: every chunk well framed, then the terminating zero-size chunk.
    const lines: string[] = [];
    let at = 0;
    for (;;) {
      const eol = body.indexOf("\r\n", at);
      const size = parseInt(body.slice(at, eol), 16);
      if (size === 0) {
        expect(body.slice(eol)).toBe("\r\n\r\n");
        break;
      }
      lines.push(Buffer.from(body.slice(eol + 2, eol + 2 + size), "latin1").toString());
      expect(body.slice(eol + 2 + size, eol + 4 + size)).toBe("\r\n");
      at = eol + 4 + size;
    }
    expect(lines.join("").split("\n").filter(Boolean).map((l) => JSON.parse(l) as unknown)).toEqual([
      { type: "MODIFIED", object: pod("a", "2") },
      { type: "MODIFIED", object: pod("b", "3") },
      { type: "MODIFIED", object: pod("c", "4") },
      { type: "DELETED", object: pod("c", "5") },
    ]);
    raw.destroy();
  });
});

describe("a watcher that stops reading", () => {
  // Big enough that a few dozen fill the socket buffers and then the backlog, small enough to make quickly.
  const bigEvent = serializeWatchEvent(JSON.stringify({ type: "ADDED", object: { ...pod("big", "1"), data: "x".repeat(256 * 1024) } }));

  /** Sends until the writer says the client is not keeping up; the count it took. */
  function fillUntilBehind(writer: WatchWriter): number {
    for (let i = 1; i <= 200; i++) if (!writer.sendSerialized(bigEvent)) return i;
    throw new Error("the writer never reported a backlog");
  }

  /**
   * Fills the kernel's socket buffers too (a paused loopback peer still accepts some megabytes): sends until a
   * backlog stays put for 200 ms, and returns that drained() promise, still pending (wrapped: an async function
   * would adopt it).
   */
  async function fillUntilStuck(writer: WatchWriter): Promise<{ drained: Promise<void> }> {
    for (let round = 0; round < 100; round++) {
      fillUntilBehind(writer);
      const drained = writer.drained();
      if (drained === undefined) continue;
      const settledSoon = await Promise.race([drained.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => { resolve(false); }, 200))]);
      if (!settledSoon) return { drained };
    }
    throw new Error("a paused client kept draining");
  }

  it("chunked: is reported as not keeping up past the backlog, and drained() settles once it reads again", async () => {
    const { port, next } = await watchServer();
    const socket = connect(port, "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", () => { resolve(); }));
    socket.write("GET /api/v1/pods?watch=true HTTP/1.1\r\nHost: x\r\n\r\n");
    const writer = await next();
    socket.pause();
    expect(writer.drained()).toBeUndefined();
    const sent = fillUntilBehind(writer);
    expect(sent * bigEvent.chunk.length).toBeGreaterThan(WATCH_BACKLOG_BYTES);
    const { drained } = await fillUntilStuck(writer);
    expect(writer.sendSerialized(bigEvent)).toBe(false);
    socket.resume();
    await drained;
    expect(writer.drained()).toBeUndefined();
    socket.destroy();
  });

  it("chunked: drained() settles when the client goes away instead", async () => {
    const { port, next } = await watchServer();
    const socket = connect(port, "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", () => { resolve(); }));
    socket.write("GET /api/v1/pods?watch=true HTTP/1.1\r\nHost: x\r\n\r\n");
    const writer = await next();
    socket.pause();
    const { drained } = await fillUntilStuck(writer);
    socket.destroy();
    await drained;
    expect(writer.closed).toBe(true);
  });

  it("WebSocket: is reported as not keeping up past the backlog, and drained() settles once it reads again", async () => {
    const { port, next } = await watchServer();
    const ws = new WebSocket(`ws://127.0.0.1:${port}/api/v1/pods?watch=true`);
    await new Promise<void>((resolve) => ws.once("open", () => { resolve(); }));
    const writer = await next();
    ws.pause();
    const { drained } = await fillUntilStuck(writer);
    expect(writer.sendSerialized(bigEvent)).toBe(false);
    ws.resume();
    await drained;
    writer.close();
    await new Promise<void>((resolve) => ws.once("close", () => { resolve(); }));
  });
});
