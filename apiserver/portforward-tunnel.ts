// pods/portforward for kubectl ≥ 1.30, which speaks SPDY/3.1: tunnelled in WebSocket binary messages (subprotocol
// `SPDY/3.1+portforward.k8s.io`), or, when the server refuses that, after a plain `Upgrade: SPDY/3.1` with
// `X-Stream-Protocol-Version: portforward.k8s.io`. The apiserver ends the SPDY connection here and reaches the
// kubelet with its WebSocket port-forward protocol (v4.channel.k8s.io), one session per forwarded connection.
//
// kubectl opens two streams per local connection, sharing a `requestid` and a `port` header: `streamtype: error`
// (which it half-closes at once and reads to its end: any text there is a failure and ends kubectl's forwarding)
// and `streamtype: data` (the connection's bytes both ways). Once both are here, a kubelet session for that port
// is opened: its data channel is joined to the data stream, its error channel's text goes to the error stream.
// When the kubelet session closes, both streams are finished; when kubectl half-closes or resets the data stream
// (its local connection ended), the kubelet session is closed, as the channel protocol has no half-close.
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { RawData, WebSocket, WebSocketServer } from "ws";
import { realClock, type Clock, type Timer } from "../component-base/clock.js";
import { dialMessage, type TlsClientOptions } from "../component-base/http-proxy.js";
import { RstStatus } from "../component-base/spdy/frames.js";
import { SpdySession, type SpdyStream } from "../component-base/spdy/session.js";
import { wsModule } from "./lazy-modules.js";

export const PORT_FORWARD_PROTOCOL_V1 = "portforward.k8s.io";
/** The prefix kubectl puts before the SPDY protocol it tunnels through a WebSocket. */
export const SPDY_TUNNEL_PREFIX = "SPDY/3.1+";
const TUNNELED_PORT_FORWARD = `${SPDY_TUNNEL_PREFIX}${PORT_FORWARD_PROTOCOL_V1}`;
const KUBELET_PORT_FORWARD_PROTOCOL = "v4.channel.k8s.io";
/** How long the first stream of a pair waits for the other (the kubelet's default stream creation timeout). */
const STREAM_CREATION_TIMEOUT_MS = 30_000;

/** How a pods/portforward upgrade asks to talk: SPDY in a WebSocket, plain SPDY, or anything else (proxied as is). */
export function portForwardMode(req: IncomingMessage): "websocket-tunnel" | "spdy" | "proxy" {
  const upgrade = (req.headers.upgrade ?? "").toLowerCase();
  const list = (value: string | string[] | undefined): string[] => (Array.isArray(value) ? value : [value ?? ""]).flatMap((v) => v.split(",")).map((v) => v.trim());
  if (upgrade === "websocket" && list(req.headers["sec-websocket-protocol"]).includes(TUNNELED_PORT_FORWARD)) return "websocket-tunnel";
  if (upgrade === "spdy/3.1" && list(req.headers["x-stream-protocol-version"]).includes(PORT_FORWARD_PROTOCOL_V1)) return "spdy";
  return "proxy";
}

/**
 * kubectl's subprotocol holds a "/", which RFC 6455 does not allow in a token and the ws library refuses, so the
 * offer is read with "/" spelt "_" and the answer names the protocol as kubectl spelt it (which it checks).
 */
const tokenSpelling = (protocol: string): string => protocol.replaceAll("/", "_");

let tunnelServer: WebSocketServer | undefined;
function webSocketServer(): WebSocketServer {
  tunnelServer ??= new (wsModule().WebSocketServer)({
    noServer: true,
    handleProtocols: (offered: Set<string>) => (offered.has(tokenSpelling(TUNNELED_PORT_FORWARD)) ? TUNNELED_PORT_FORWARD : false),
  });
  return tunnelServer;
}

export interface PortForwardTunnelOptions {
  /** The kubelet's port-forward URL for one port (ws:, http:, wss: or https:, ?port= included). */
  kubeletUrl(port: number): URL;
  /** TLS client material for an https: kubelet. */
  tls?: TlsClientOptions;
  /** Called once the client's connection is over. */
  onClose?(): void;
  clock?: Clock;
  /** How long a stream waits for the other of its pair before both are given up; 30s by default. */
  streamCreationTimeoutMs?: number;
}

/** Accepts the client's upgrade (`mode` from portForwardMode) and serves SPDY port-forward streams on it. */
export function acceptPortForwardTunnel(mode: "websocket-tunnel" | "spdy", req: IncomingMessage, socket: Duplex, head: Buffer, options: PortForwardTunnelOptions): void {
  if (mode === "spdy") {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: ${PORT_FORWARD_PROTOCOL_V1}\r\n\r\n`);
    if (head.length > 0) socket.unshift(head);
    serve(socket, options);
    return;
  }
  const offered = req.headers["sec-websocket-protocol"];
  if (offered !== undefined) req.headers["sec-websocket-protocol"] = tokenSpelling(offered);
  webSocketServer().handleUpgrade(req, socket, head, (ws) => {
    // SPDY frames may straddle WebSocket messages: the session reads the messages as one byte stream.
    serve(wsModule().createWebSocketStream(ws), options);
  });
}

interface StreamPair {
  data?: SpdyStream;
  error?: SpdyStream;
  timer?: Timer;
}

function serve(transport: Duplex, options: PortForwardTunnelOptions): void {
  const pairs = new Map<string, StreamPair>();
  const sessions = new Set<WebSocket>();
  const session = new SpdySession(transport, {
    role: "server",
    onStream: (stream) => {
      const type = stream.header("streamtype");
      const port = Number(stream.header("port"));
      if ((type !== "data" && type !== "error") || !Number.isInteger(port) || port < 1 || port > 65535) {
        stream.reset(RstStatus.REFUSED_STREAM);
        return;
      }
      stream.reply();
      const key = `${stream.header("requestid") ?? ""}/${port}`;
      const pair = pairs.get(key) ?? {};
      pairs.set(key, pair);
      if (pair[type]) {
        stream.reset(RstStatus.PROTOCOL_ERROR);
        return;
      }
      pair[type] = stream;
      pair.timer ??= (options.clock ?? realClock).setTimeout(() => {
        // Half a pair: say so on its error stream, as the kubelet does, and give up both.
        if (pairs.get(key) !== pair) return;
        pairs.delete(key);
        if (pair.error && !pair.error.destroyed) pair.error.end(`timed out waiting for the other stream of request ${key}`);
        pair.data?.reset(RstStatus.CANCEL);
      }, options.streamCreationTimeoutMs ?? STREAM_CREATION_TIMEOUT_MS);
      if (pair.data && pair.error) {
        pair.timer.cancel();
        pairs.delete(key);
        const ws = forward(port, pair.data, pair.error, options);
        sessions.add(ws);
        ws.once("close", () => sessions.delete(ws));
      }
    },
  });
  void session.closed.then(() => {
    for (const pair of pairs.values()) pair.timer?.cancel();
    for (const ws of sessions) ws.terminate();
    options.onClose?.();
  });
}

/** One forwarded connection: the kubelet session for `port` joined to kubectl's data and error streams. */
function forward(port: number, data: SpdyStream, error: SpdyStream, options: PortForwardTunnelOptions): WebSocket {
  const url = options.kubeletUrl(port);
  if (url.protocol === "http:") url.protocol = "ws:";
  if (url.protocol === "https:") url.protocol = "wss:";
  const { WebSocket } = wsModule();
  const ws = new WebSocket(url, [KUBELET_PORT_FORWARD_PROTOCOL], options.tls ?? {});
  const pending: Buffer[] = [];
  // The kubelet's first message on each channel is the port (a little-endian uint16), not payload.
  const prefixSeen = [false, false];
  let failed = false;
  let stopped = false;

  const finish = (): void => {
    if (!data.destroyed && !data.writableEnded) data.end();
    if (!error.destroyed && !error.writableEnded) error.end();
  };
  error.resume();
  error.on("error", () => undefined);
  data.on("error", () => undefined);

  ws.on("open", () => {
    for (const chunk of pending.splice(0)) ws.send(Buffer.concat([Buffer.of(0), chunk]));
  });
  ws.on("message", (message: RawData) => {
    const frame = Array.isArray(message) ? Buffer.concat(message) : Buffer.from(message as Buffer);
    const channel = frame[0];
    if (channel !== 0 && channel !== 1) return;
    if (!prefixSeen[channel]) {
      prefixSeen[channel] = true;
      return;
    }
    const payload = frame.subarray(1);
    if (channel === 0) {
      if (!data.destroyed && !data.writableEnded) data.write(payload);
    } else if (payload.length > 0 && !error.destroyed && !error.writableEnded) {
      failed = true;
      error.write(payload);
    }
  });
  ws.on("unexpected-response", (_req, res: IncomingMessage) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => {
      if (stopped) return;
      const text = Buffer.concat(chunks).toString("utf8").trim();
      if (!error.destroyed && !error.writableEnded) error.write(`error upgrading connection to the kubelet: ${res.statusCode ?? 0} ${text}`);
      failed = true;
      ws.terminate();
    });
  });
  ws.on("error", (err: Error) => {
    if (!failed && !stopped && !error.destroyed && !error.writableEnded) error.write(`error dialing backend: ${dialMessage(url, err)}`);
    failed = true;
    finish();
  });
  ws.on("close", finish);

  data.on("data", (chunk: Buffer) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(Buffer.concat([Buffer.of(0), chunk]));
    else if (ws.readyState === WebSocket.CONNECTING) pending.push(chunk);
  });
  const stop = (): void => {
    stopped = true;
    if (ws.readyState === WebSocket.OPEN) ws.close(1000);
    else if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    else finish();
  };
  data.on("end", stop);
  data.on("close", stop);
  return ws;
}
