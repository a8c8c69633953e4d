// The runtime's streaming server. The CRI Exec, Attach and PortForward calls do not carry the session itself: the
// runtime answers with a URL on this server, and the kubelet (or any client) connects there.
// - /exec/<token> and /attach/<token> speak kubectl's channel protocol (WebSocket, subprotocol v5.channel.k8s.io
//   or v4.channel.k8s.io): stdin, stdout and stderr on channels 0-2, the end as a Status on channel 3, terminal
//   resizes on channel 4, and in v5 the close of stdin as [255, 0]. An attach ends with Success when the
//   container's output ends (it exited) and is detached when the client goes away; the container keeps running.
// - /portforward/<token> speaks the kubelet's WebSocket port-forward protocol (see portforward-protocol.ts).
// The server listens on loopback by default: the URL is a capability, good for one connection within a minute,
// and only processes on the node should reach it.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex, Readable, Writable } from "node:stream";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import {
  decodeClientFrame,
  encodeFrame,
  encodeStatusFrame,
  errorStatus,
  exitStatus,
  selectChannelProtocol,
  STDERR,
  STDIN,
  STDOUT,
  type StreamStatus,
  type TerminalSize,
} from "../../api/streaming/channel-protocol.js";
import type * as cri from "../../client/cri/types.js";
import type { Logger } from "../../component-base/logging.js";
import { silentLogger } from "../../component-base/logging.js";
import {
  dataChannel,
  decodePortForwardClientFrame,
  encodePortPrefix,
  errorChannel,
  PortForwardRequestError,
  selectPortForwardProtocol,
  sessionPorts,
} from "./portforward-protocol.js";
import { TokenCache, type TokenCacheOptions } from "./tokens.js";

/**
 * A running exec or attach: its standard streams (null for those not asked for), how it ends, and how to end it
 * early (for an attach, "end" means detach: the container goes on).
 */
export interface ExecProcess {
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /** Resolves with the exit code once the process has ended and its output streams are closed. */
  readonly exited: Promise<number>;
  /** Applies a terminal size change (tty sessions); backends that cannot relay it leave it out. */
  resize?(size: TerminalSize): void;
  kill(): void;
}

/** Starts the command of an exec request in its container; throws when it cannot be started. */
export type ExecStreamer = (request: cri.ExecRequest) => ExecProcess;

/**
 * Attaches to a container's main process. `exited` resolves with 0 when the container's output ended, and
 * rejects (→ a Failure Status) when the attachment broke; throws when it cannot be made at all.
 */
export type AttachStreamer = (request: cri.AttachRequest) => ExecProcess;

/** One forwarded connection to a port of the pod. */
export interface PortConnection {
  /** Bytes for the pod's port. */
  readonly input: Writable;
  /** Bytes from it; its end ends the connection. */
  readonly output: Readable;
  /** Resolves once the connection is over: undefined when it ended cleanly, else why it failed (for the error channel). */
  readonly done: Promise<string | undefined>;
  close(): void;
}

/** Opens a connection to `port` on the pod's loopback; throws when it cannot be started. */
export type PortForwarder = (port: number) => PortConnection;

/** What a backend needs of the streaming server: a URL for a session it will run with `streamer`. */
export interface ExecStreamRegistrar {
  registerExec(request: cri.ExecRequest, streamer: ExecStreamer): string;
}

/** The streaming server as the backends see it: URLs for exec, attach and port-forward sessions. */
export interface StreamRegistrar extends ExecStreamRegistrar {
  registerAttach(request: cri.AttachRequest, streamer: AttachStreamer): string;
  registerPortForward(request: cri.PortForwardRequest, forwarder: PortForwarder): string;
}

export interface StreamingServerOptions {
  /** The address to listen on; loopback unless the operator says otherwise. */
  address?: string;
  /** 0 picks a free port. */
  port?: number;
  logger?: Logger;
  tokens?: TokenCacheOptions;
}

type Pending =
  | { kind: "exec"; request: cri.ExecRequest; streamer: ExecStreamer }
  | { kind: "attach"; request: cri.AttachRequest; streamer: AttachStreamer }
  | { kind: "portforward"; request: cri.PortForwardRequest; forwarder: PortForwarder };

type SessionKind = Pending["kind"];

export class StreamingServer implements StreamRegistrar {
  private readonly pending: TokenCache<Pending>;
  private readonly logger: Logger;
  private readonly address: string;
  private readonly port: number;
  private server: Server | undefined;
  // The subprotocol was checked against the session's kind before the upgrade; the first offered one of ours wins.
  private readonly wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered, req) => {
      const kind = sessionOf(req)?.kind;
      return (kind === "portforward" ? selectPortForwardProtocol(offered) : selectChannelProtocol(offered)) ?? false;
    },
  });
  private readonly sessions = new Set<WebSocket>();
  private baseUrl: string | undefined;

  constructor(options: StreamingServerOptions = {}) {
    this.address = options.address ?? "127.0.0.1";
    this.port = options.port ?? 0;
    this.logger = options.logger ?? silentLogger();
    this.pending = new TokenCache(options.tokens);
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      // Sessions need a WebSocket upgrade; a plain request learns only whether the token exists.
      const known = this.known(req) !== undefined;
      res.writeHead(known ? 400 : 404, { "content-type": "text/plain" });
      res.end(known ? "a streaming session needs a WebSocket upgrade\n" : "404 page not found\n");
    });
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => { this.upgrade(req, socket, head); });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, this.address, () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.server = server;
    const { address, port } = server.address() as AddressInfo;
    this.baseUrl = `http://${address.includes(":") ? `[${address}]` : address}:${port}`;
    this.logger.info({ url: this.baseUrl }, "Streaming server listening");
  }

  /** The server's base URL (http://host:port); set once started. */
  get url(): string {
    if (this.baseUrl === undefined) throw new Error("the streaming server is not started");
    return this.baseUrl;
  }

  registerExec(request: cri.ExecRequest, streamer: ExecStreamer): string {
    return this.register({ kind: "exec", request, streamer });
  }

  registerAttach(request: cri.AttachRequest, streamer: AttachStreamer): string {
    return this.register({ kind: "attach", request, streamer });
  }

  registerPortForward(request: cri.PortForwardRequest, forwarder: PortForwarder): string {
    return this.register({ kind: "portforward", request, forwarder });
  }

  /** Stops listening and ends the sessions still open (their processes are killed, their connections closed). */
  async close(): Promise<void> {
    for (const ws of this.sessions) ws.terminate();
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  }

  private register(pending: Pending): string {
    return `${this.url}/${pending.kind}/${this.pending.put(pending)}`;
  }

  /** The pending session a request's path names, when its token is live and of that kind. */
  private known(req: IncomingMessage): SessionKind | undefined {
    const session = sessionOf(req);
    if (session === undefined) return undefined;
    return this.pending.peek(session.token)?.kind === session.kind ? session.kind : undefined;
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const kind = this.known(req);
    const session = sessionOf(req);
    if (kind === undefined || session === undefined) {
      refuse(socket, 404, "Not Found");
      return;
    }
    const offered = (req.headers["sec-websocket-protocol"] ?? "").split(",");
    // A client offering none of the session's protocols is refused before the token is spent, so it may retry.
    const protocol = kind === "portforward" ? selectPortForwardProtocol(offered) : selectChannelProtocol(offered);
    if (protocol === undefined) {
      refuse(socket, 400, "Bad Request");
      return;
    }
    let ports: number[] = [];
    const peeked = this.pending.peek(session.token);
    if (peeked?.kind === "portforward") {
      try {
        ports = sessionPorts(new URL(req.url ?? "/", "http://streaming").searchParams, peeked.request.port);
      } catch (err) {
        if (!(err instanceof PortForwardRequestError)) throw err;
        refuse(socket, 400, "Bad Request", err.message);
        return;
      }
    }
    const pending = this.pending.take(session.token);
    if (pending === undefined) {
      refuse(socket, 404, "Not Found");
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.sessions.add(ws);
      ws.once("close", () => this.sessions.delete(ws));
      if (pending.kind === "portforward") this.runPortForward(ws, ports, pending.forwarder);
      else if (pending.kind === "exec") this.runStreams(ws, () => pending.streamer(pending.request), (code) => exitStatus(code, pending.request.cmd));
      else this.runStreams(ws, () => pending.streamer(pending.request), () => exitStatus(0));
    });
  }

  /** An exec or attach session: the process's streams over the channels, `statusOf(code)` on channel 3 at its end. */
  private runStreams(ws: WebSocket, start: () => ExecProcess, statusOf: (code: number) => StreamStatus): void {
    const protocol = ws.protocol;
    const finish = (status: StreamStatus): void => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(encodeStatusFrame(status));
      ws.close(1000);
    };
    let proc: ExecProcess;
    try {
      proc = start();
    } catch (err) {
      finish(errorStatus(err instanceof Error ? err.message : String(err)));
      return;
    }
    const relay = (stream: Readable | null, channel: number): void => {
      stream?.on("data", (chunk: Buffer) => {
        if (ws.readyState === ws.OPEN) ws.send(encodeFrame(channel, chunk));
      });
    };
    relay(proc.stdout, STDOUT);
    relay(proc.stderr, STDERR);
    // A process that exits without reading its stdin makes writes fail with EPIPE; the exit status says the rest.
    proc.stdin?.on("error", () => undefined);
    ws.on("message", (data: RawData) => {
      try {
        const frame = decodeClientFrame(toBuffer(data), protocol);
        if (frame.type === "stdin") proc.stdin?.write(frame.data);
        else if (frame.type === "close" && frame.channel === STDIN) proc.stdin?.end();
        else if (frame.type === "resize") proc.resize?.(frame.size);
      } catch (err) {
        this.logger.debug({ err }, "Ignoring a malformed streaming frame");
      }
    });
    let ended = false;
    ws.once("close", () => {
      // The client went away: v4 has no other way to say stdin ended, and a process nobody reads is ended.
      proc.stdin?.end();
      if (!ended) proc.kill();
    });
    proc.exited.then(
      (code) => {
        ended = true;
        finish(statusOf(code));
      },
      (err: unknown) => {
        ended = true;
        finish(errorStatus(err instanceof Error ? err.message : String(err)));
      },
    );
  }

  /**
   * A port-forward session: one connection per port, opened at once; each port's data channel relays its bytes
   * both ways and its error channel carries why it failed. The session closes once every connection has ended,
   * and a client going away closes them all.
   */
  private runPortForward(ws: WebSocket, ports: readonly number[], forwarder: PortForwarder): void {
    const send = (frame: Buffer): void => {
      if (ws.readyState === ws.OPEN) ws.send(frame);
    };
    const connections: (PortConnection | undefined)[] = [];
    const done: Promise<void>[] = [];
    ports.forEach((port, i) => {
      send(encodePortPrefix(dataChannel(i), port));
      send(encodePortPrefix(errorChannel(i), port));
      let connection: PortConnection;
      try {
        connection = forwarder(port);
      } catch (err) {
        send(encodeFrame(errorChannel(i), `error forwarding port ${port}: ${err instanceof Error ? err.message : String(err)}`));
        connections.push(undefined);
        return;
      }
      connections.push(connection);
      connection.input.on("error", () => undefined);
      connection.output.on("data", (chunk: Buffer) => { send(encodeFrame(dataChannel(i), chunk)); });
      done.push(
        connection.done.then(
          (failure) => {
            if (failure !== undefined) send(encodeFrame(errorChannel(i), `error forwarding port ${port}: ${failure}`));
          },
          (err: unknown) => { send(encodeFrame(errorChannel(i), `error forwarding port ${port}: ${String(err)}`)); },
        ),
      );
    });
    ws.on("message", (data: RawData) => {
      const frame = decodePortForwardClientFrame(toBuffer(data), ports.length);
      if (frame.type === "invalid") {
        this.logger.debug({ channel: frame.channel }, "Ignoring a port-forward frame on a channel the client may not write");
        return;
      }
      connections[frame.portIndex]?.input.write(frame.data);
    });
    ws.once("close", () => {
      for (const c of connections) c?.close();
    });
    void Promise.all(done).then(() => {
      if (ws.readyState === ws.OPEN) ws.close(1000);
    });
  }
}

/** The kind and token of a /exec|attach|portforward/<token> path; undefined for any other path. */
function sessionOf(req: IncomingMessage): { kind: SessionKind; token: string } | undefined {
  const path = new URL(req.url ?? "/", "http://streaming").pathname;
  const m = /^\/(exec|attach|portforward)\/([A-Za-z0-9_-]+)$/.exec(path);
  const kind = m?.[1];
  const token = m?.[2];
  if (token === undefined || (kind !== "exec" && kind !== "attach" && kind !== "portforward")) return undefined;
  return { kind, token };
}

function refuse(socket: Duplex, code: number, text: string, body = ""): void {
  socket.end(`HTTP/1.1 ${code} ${text}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
