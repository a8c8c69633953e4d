import { createServer, type IncomingMessage, type Server } from "node:http";
import { connect, type AddressInfo, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { WebSocketServer, type WebSocket } from "ws";
import { RstStatus } from "../component-base/spdy/frames.js";
import { SpdySession, type SpdyStream } from "../component-base/spdy/session.js";
import { FakeClock } from "../component-base/testing/fake-clock.js";
import { acceptPortForwardTunnel, portForwardMode, type PortForwardTunnelOptions } from "./portforward-tunnel.js";

/** A stand-in kubelet speaking the v4 port-forward protocol; `behave` drives each session after the port prefixes. */
function fakeKubelet(behave: (ws: WebSocket, port: number) => void): Promise<{ url: (port: number) => URL; sessions: URL[]; close(): Promise<void> }> {
  const sessions: URL[] = [];
  const wss = new WebSocketServer({ port: 0, host: "127.0.0.1", handleProtocols: (p: Set<string>) => (p.has("v4.channel.k8s.io") ? "v4.channel.k8s.io" : false) });
  wss.on("connection", (ws, req: IncomingMessage) => {
    const url = new URL(req.url ?? "/", "http://kubelet");
    sessions.push(url);
    const port = Number(url.searchParams.get("port"));
    for (const channel of [0, 1]) {
      const prefix = Buffer.alloc(3);
      prefix[0] = channel;
      prefix.writeUInt16LE(port, 1);
      ws.send(prefix);
    }
    behave(ws, port);
  });
  return new Promise((resolve) => wss.once("listening", () => {
    const { port } = wss.address() as AddressInfo;
    resolve({
      url: (p) => new URL(`http://127.0.0.1:${port}/portForward/default/web?port=${p}`),
      sessions,
      close: () => new Promise((done) => { wss.close(() => { done(); }); }),
    });
  }));
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An apiserver stand-in that serves pods/portforward upgrades with the tunnel; a plain SPDY client dialled to it. */
async function dial(kubeletUrl: (port: number) => URL, extra: Partial<PortForwardTunnelOptions> = {}): Promise<SpdySession> {
  const server: Server = createServer();
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const mode = portForwardMode(req);
    if (mode === "proxy") {
      socket.end("HTTP/1.1 400 Bad Request\r\n\r\n");
      return;
    }
    acceptPortForwardTunnel(mode, req, socket, head, { kubeletUrl, ...extra });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(() => new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => { resolve(); });
  }));
  const socket: Socket = connect((server.address() as AddressInfo).port, "127.0.0.1");
  socket.write("POST /api/v1/namespaces/default/pods/web/portforward HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n");
  const head = await new Promise<string>((resolve) => {
    let text = "";
    const onData = (c: Buffer): void => {
      text += c.toString("latin1");
      if (text.includes("\r\n\r\n")) {
        socket.off("data", onData);
        resolve(text);
      }
    };
    socket.on("data", onData);
  });
  expect(head).toMatch(/^HTTP\/1\.1 101 /);
  expect(head).toContain("X-Stream-Protocol-Version: portforward.k8s.io");
  const session = new SpdySession(socket, { role: "client" });
  cleanups.push(() => { session.destroy(); });
  return session;
}

/** kubectl's pair for one local connection: the error stream, half-closed at once, then the data stream. */
async function openPair(session: SpdySession, port: number, requestId: number): Promise<{ data: SpdyStream; error: SpdyStream; errorText: Promise<string> }> {
  const headers = { streamtype: "error", port: String(port), requestid: String(requestId) };
  const error = await session.openStream(headers);
  error.end();
  const chunks: Buffer[] = [];
  const errorText = new Promise<string>((resolve) => {
    error.on("data", (c: Buffer) => chunks.push(c));
    error.once("end", () => { resolve(Buffer.concat(chunks).toString()); });
  });
  const data = await session.openStream({ ...headers, streamtype: "data" });
  return { data, error, errorText };
}

describe("the apiserver's SPDY port-forward tunnel", () => {
  it("tells the modes apart: SPDY in a WebSocket, plain SPDY, anything else proxied", () => {
    const req = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;
    expect(portForwardMode(req({ upgrade: "websocket", "sec-websocket-protocol": "SPDY/3.1+portforward.k8s.io" }))).toBe("websocket-tunnel");
    expect(portForwardMode(req({ upgrade: "SPDY/3.1", "x-stream-protocol-version": "portforward.k8s.io" }))).toBe("spdy");
    expect(portForwardMode(req({ upgrade: "websocket", "sec-websocket-protocol": "v4.channel.k8s.io" }))).toBe("proxy");
    expect(portForwardMode(req({ upgrade: "SPDY/3.1", "x-stream-protocol-version": "v4.channel.k8s.io" }))).toBe("proxy");
  });

  it("joins each stream pair to its own kubelet session, both ways, and finishes both streams when the pod's side ends", async () => {
    const kubelet = await fakeKubelet((ws) => {
      ws.on("message", (m: Buffer) => {
        const text = m.subarray(1).toString();
        if (text === "bye") ws.close(1000);
        else ws.send(Buffer.concat([Buffer.of(0), Buffer.from(text.toUpperCase())]));
      });
    });
    cleanups.push(() => kubelet.close());
    const session = await dial(kubelet.url);
    const a = await openPair(session, 8080, 0);
    const b = await openPair(session, 9090, 1);
    const read = (s: SpdyStream): (() => string) => {
      let text = "";
      s.on("data", (c: Buffer) => (text += c.toString()));
      return () => text;
    };
    const aText = read(a.data);
    const bText = read(b.data);
    a.data.write("hello");
    b.data.write("world");
    await expect.poll(() => [aText(), bText()]).toEqual(["HELLO", "WORLD"]);
    expect(kubelet.sessions.map((u) => `${u.pathname}?${u.searchParams.toString()}`).sort()).toEqual(["/portForward/default/web?port=8080", "/portForward/default/web?port=9090"]);
    const ended = new Promise((resolve) => a.data.once("end", resolve));
    a.data.write("bye");
    await ended;
    expect(await a.errorText).toBe("");
    // The other pair is untouched.
    b.data.write("still");
    await expect.poll(bText).toBe("WORLDSTILL");
  });

  it("closes the kubelet session when kubectl half-closes or resets the data stream", async () => {
    const closed: number[] = [];
    const kubelet = await fakeKubelet((ws, port) => {
      ws.on("close", () => closed.push(port));
    });
    cleanups.push(() => kubelet.close());
    const session = await dial(kubelet.url);
    const a = await openPair(session, 1111, 0);
    const b = await openPair(session, 2222, 1);
    await expect.poll(() => kubelet.sessions.length).toBe(2);
    const aEnded = new Promise((resolve) => a.data.once("end", resolve));
    a.data.resume();
    a.data.end();
    await aEnded;
    expect(await a.errorText).toBe("");
    await expect.poll(() => closed).toEqual([1111]);
    b.data.reset(RstStatus.CANCEL);
    await expect.poll(() => closed).toEqual([1111, 2222]);
    expect(await b.errorText).toBe("");
  });

  it("closes every kubelet session when kubectl's connection drops", async () => {
    const closed: number[] = [];
    const kubelet = await fakeKubelet((ws, port) => {
      ws.on("close", () => closed.push(port));
    });
    cleanups.push(() => kubelet.close());
    const session = await dial(kubelet.url);
    await openPair(session, 1111, 0);
    await openPair(session, 2222, 1);
    await expect.poll(() => kubelet.sessions.length).toBe(2);
    session.destroy();
    await expect.poll(() => [...closed].sort()).toEqual([1111, 2222]);
  });

  it("writes the kubelet's error channel, and a kubelet it cannot reach, to the error stream", async () => {
    const kubelet = await fakeKubelet((ws, port) => {
      ws.send(Buffer.concat([Buffer.of(1), Buffer.from(`error forwarding port ${port}: connection refused`)]));
      ws.close(1000);
    });
    cleanups.push(() => kubelet.close());
    const session = await dial(kubelet.url);
    const pair = await openPair(session, 7070, 0);
    pair.data.resume();
    expect(await pair.errorText).toBe("error forwarding port 7070: connection refused");

    const unreachable = await dial(() => new URL("http://127.0.0.1:1/portForward/default/web?port=1"));
    const lost = await openPair(unreachable, 1, 0);
    lost.data.resume();
    expect(await lost.errorText).toBe("error dialing backend: dial tcp 127.0.0.1:1: connect: connection refused");
  });

  it("gives up half a pair after the stream creation timeout, saying so on its error stream", async () => {
    const kubelet = await fakeKubelet(() => undefined);
    cleanups.push(() => kubelet.close());
    const clock = new FakeClock();
    const session = await dial(kubelet.url, { clock, streamCreationTimeoutMs: 1000 });
    const error = await session.openStream({ streamtype: "error", port: "80", requestid: "5" });
    error.end();
    const chunks: Buffer[] = [];
    error.on("data", (c: Buffer) => chunks.push(c));
    const ended = new Promise((resolve) => error.once("end", resolve));
    const data = await session.openStream({ streamtype: "data", port: "80", requestid: "6" });
    const dataClosed = new Promise((resolve) => data.once("close", resolve));
    clock.step(999);
    await session.ping();
    expect(chunks).toEqual([]);
    clock.step(1);
    await ended;
    expect(Buffer.concat(chunks).toString()).toBe("timed out waiting for the other stream of request 5/80");
    await dataClosed;
    expect(data.resetByPeer).toBe(RstStatus.CANCEL);
    expect(kubelet.sessions).toEqual([]);
  });

  it("refuses a stream that is not a port-forward stream", async () => {
    const kubelet = await fakeKubelet(() => undefined);
    cleanups.push(() => kubelet.close());
    const session = await dial(kubelet.url);
    await expect(session.openStream({ streamtype: "stdin", port: "80" })).rejects.toThrow(/reset \(status 3\)/);
    await expect(session.openStream({ streamtype: "data", port: "http" })).rejects.toThrow(/reset \(status 3\)/);
  });
});
