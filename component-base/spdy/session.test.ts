import { Duplex, PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { encodeData, encodeGoAway, encodePing, encodeSynStream, FLAG_FIN, RstStatus, SpdyFrameReader, type SpdyFrame } from "./frames.js";
import { HeaderCompressor } from "./header-compression.js";
import { SpdySession, type SpdyStream } from "./session.js";

/** Two Duplexes joined back to back, as a socket and its peer. */
function socketPair(): [Duplex, Duplex] {
  const aToB = new PassThrough();
  const bToA = new PassThrough();
  const end = (d: Duplex, other: () => Duplex): void => {
    d.once("close", () => other().destroy());
  };
  const a: Duplex = Duplex.from({ readable: bToA, writable: aToB });
  const b: Duplex = Duplex.from({ readable: aToB, writable: bToA });
  end(a, () => b);
  end(b, () => a);
  return [a, b];
}

function readAll(stream: SpdyStream): Promise<string> {
  const chunks: Buffer[] = [];
  return new Promise((resolve) => {
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.once("end", () => { resolve(Buffer.concat(chunks).toString()); });
    stream.once("close", () => { resolve(Buffer.concat(chunks).toString()); });
  });
}

const sessions: SpdySession[] = [];
afterEach(() => {
  for (const s of sessions.splice(0)) s.destroy();
});

function connect(onStream: (stream: SpdyStream) => void): { client: SpdySession; server: SpdySession; clientSocket: Duplex; serverSocket: Duplex } {
  const [clientSocket, serverSocket] = socketPair();
  const server = new SpdySession(serverSocket, { role: "server", onStream });
  const client = new SpdySession(clientSocket, { role: "client" });
  sessions.push(client, server);
  return { client, server, clientSocket, serverSocket };
}

describe("SpdySession", () => {
  it("opens streams with headers, replies, carries data both ways and half-closes each side", async () => {
    const seen: Record<string, string | undefined>[] = [];
    const { client } = connect((stream) => {
      seen.push({ id: String(stream.id), type: stream.header("streamtype"), port: stream.header("Port") });
      stream.reply();
      // An upper-casing echo that ends its side when the client ends its own.
      stream.on("data", (c: Buffer) => stream.write(c.toString().toUpperCase()));
      stream.on("end", () => stream.end("!"));
    });
    const first = await client.openStream({ streamtype: "data", port: "80", requestid: "0" });
    const second = await client.openStream({ streamtype: "data", port: "81", requestid: "1" });
    expect(first.id).toBe(1);
    expect(second.id).toBe(3);
    expect(seen).toEqual([{ id: "1", type: "data", port: "80" }, { id: "3", type: "data", port: "81" }]);
    const firstOut = readAll(first);
    const secondOut = readAll(second);
    first.write("hello ");
    second.write("other");
    first.end("world");
    second.end();
    expect(await firstOut).toBe("HELLO WORLD!");
    expect(await secondOut).toBe("OTHER!");
    if (!first.closed) await new Promise((resolve) => first.once("close", resolve));
    expect(first.resetByPeer).toBeUndefined();
  });

  it("delivers a stream the peer half-closed in its SYN_STREAM, and a reply with FIN", async () => {
    const { client } = connect((stream) => {
      stream.resume();
      stream.on("end", () => {
        stream.reply({}, true);
      });
    });
    const stream = await client.openStream({ streamtype: "error" }, true);
    expect(await readAll(stream)).toBe("");
  });

  it("rejects an opening the peer resets, and tells each side when the other resets a stream", async () => {
    let serverStream: SpdyStream | undefined;
    const { client } = connect((stream) => {
      if (stream.header("streamtype") === "bogus") {
        stream.reset(RstStatus.REFUSED_STREAM);
        return;
      }
      serverStream = stream;
      stream.reply();
    });
    await expect(client.openStream({ streamtype: "bogus" })).rejects.toThrow(/reset \(status 3\)/);
    const stream = await client.openStream({ streamtype: "data" });
    const serverClosed = new Promise((resolve) => serverStream?.once("close", resolve));
    stream.reset();
    await serverClosed;
    expect(serverStream?.resetByPeer).toBe(RstStatus.CANCEL);
  });

  it("answers the peer's PING and matches answers to its own", async () => {
    const { client, server } = connect(() => undefined);
    await client.ping();
    await server.ping();
  });

  it("ends every stream when the transport closes, and refuses new ones after GOAWAY", async () => {
    let serverStream: SpdyStream | undefined;
    const { client, server, clientSocket } = connect((stream) => {
      serverStream = stream;
      stream.reply();
    });
    const stream = await client.openStream({ streamtype: "data" });
    const closed = new Promise((resolve) => stream.once("close", resolve));
    const serverClosed = new Promise((resolve) => serverStream?.once("close", resolve));
    await server.close();
    await closed;
    await serverClosed;
    expect(clientSocket.destroyed).toBe(true);
    await expect(client.openStream({})).rejects.toThrow(/closed/);
  });

  it("answers raw frames as spdystream expects: PING echoed, data for unknown streams ignored, GOAWAY refuses new streams", async () => {
    const [peer, serverSocket] = socketPair();
    const server = new SpdySession(serverSocket, { role: "server", onStream: (s) => { s.reply(); } });
    sessions.push(server);
    peer.on("error", () => undefined);
    const reader = new SpdyFrameReader();
    const received: SpdyFrame[] = [];
    peer.on("data", (c: Buffer) => received.push(...reader.push(c)));
    peer.write(encodePing(9));
    peer.write(encodeData(41, Buffer.from("stray"), FLAG_FIN));
    await expect.poll(() => received).toEqual([{ type: "ping", id: 9 }]);
    peer.write(encodeGoAway(0));
    const compressor = new HeaderCompressor();
    peer.write(encodeSynStream(1, await compressor.compress({ streamtype: "data" })));
    await expect.poll(() => received.slice(1)).toEqual([{ type: "rst_stream", streamId: 1, status: RstStatus.REFUSED_STREAM }]);
    compressor.close();
  });
});
