// The runtime's streaming server. The CRI Exec call does not carry the session itself: the runtime answers with a
// URL on this server, and the kubelet (or any client) connects there. The protocol on that URL is kubectl's
// channel protocol (WebSocket, subprotocol v5.channel.k8s.io or v4.channel.k8s.io): stdin, stdout and stderr on
// channels 0-2, the command's end as a Status on channel 3, terminal resizes on channel 4, and in v5 the close of
// stdin as [255, 0]. The server listens on loopback by default: the URL is a capability, good for one connection
// within a minute, and only processes on the node should reach it.
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
import { TokenCache, type TokenCacheOptions } from "./tokens.js";

/** A running exec: its standard streams (null for those not asked for), how it ends, and how to end it early. */
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

/** What a backend needs of the streaming server: a URL for a session it will run with `streamer`. */
export interface ExecStreamRegistrar {
  registerExec(request: cri.ExecRequest, streamer: ExecStreamer): string;
}

export interface StreamingServerOptions {
  /** The address to listen on; loopback unless the operator says otherwise. */
  address?: string;
  /** 0 picks a free port. */
  port?: number;
  logger?: Logger;
  tokens?: TokenCacheOptions;
}

interface PendingExec {
  request: cri.ExecRequest;
  streamer: ExecStreamer;
}

export class StreamingServer implements ExecStreamRegistrar {
  private readonly pending: TokenCache<PendingExec>;
  private readonly logger: Logger;
  private readonly address: string;
  private readonly port: number;
  private server: Server | undefined;
  private readonly wss = new WebSocketServer({ noServer: true, handleProtocols: (offered) => selectChannelProtocol(offered) ?? false });
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
      const token = tokenOf(req);
      res.writeHead(token !== undefined && this.pending.has(token) ? 400 : 404, { "content-type": "text/plain" });
      res.end(token !== undefined && this.pending.has(token) ? "a streaming session needs a WebSocket upgrade\n" : "404 page not found\n");
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
    return `${this.url}/exec/${this.pending.put({ request, streamer })}`;
  }

  /** Stops listening and ends the sessions still open (their processes are killed). */
  async close(): Promise<void> {
    for (const ws of this.sessions) ws.terminate();
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const token = tokenOf(req);
    const offered = (req.headers["sec-websocket-protocol"] ?? "").split(",");
    // A client offering neither channel protocol is refused before the token is spent, so it may retry.
    const pending = token === undefined || !this.pending.has(token) ? undefined : selectChannelProtocol(offered) === undefined ? "no-protocol" : this.pending.take(token);
    if (pending === undefined) {
      refuse(socket, 404, "Not Found");
      return;
    }
    if (pending === "no-protocol") {
      refuse(socket, 400, "Bad Request");
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      this.sessions.add(ws);
      ws.once("close", () => this.sessions.delete(ws));
      this.runExec(ws, pending);
    });
  }

  private runExec(ws: WebSocket, { request, streamer }: PendingExec): void {
    const protocol = ws.protocol;
    const finish = (status: StreamStatus): void => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(encodeStatusFrame(status));
      ws.close(1000);
    };
    let proc: ExecProcess;
    try {
      proc = streamer(request);
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
        finish(exitStatus(code, request.cmd));
      },
      (err: unknown) => {
        ended = true;
        finish(errorStatus(err instanceof Error ? err.message : String(err)));
      },
    );
  }
}

/** The token of a /exec/<token> path; undefined for any other path. */
function tokenOf(req: IncomingMessage): string | undefined {
  const path = new URL(req.url ?? "/", "http://streaming").pathname;
  const m = /^\/exec\/([A-Za-z0-9_-]+)$/.exec(path);
  return m?.[1];
}

function refuse(socket: Duplex, code: number, text: string): void {
  socket.end(`HTTP/1.1 ${code} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

