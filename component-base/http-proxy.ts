// Forwarding HTTP requests to another server, as Kubernetes' UpgradeAwareHandler does for the apiserver → kubelet
// → runtime streaming hops. An upgraded connection (WebSocket, SPDY) is forwarded without being understood: the
// client's upgrade request goes to the backend with its headers (so the subprotocol is negotiated end to end), the
// backend's answer goes back verbatim, and after a 101 the two sockets are joined byte for byte. A plain request
// (nodes/proxy) is relayed with its status, headers and body, streamed both ways. An https: target is reached
// with the caller's TLS client material (the apiserver's --kubelet-client-certificate and CA).
import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";

/** Headers that describe one hop and are never forwarded (RFC 9110 §7.6.1), apart from the upgrade pair. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "host"]);

/** A backend that could not be reached (refused, unresolvable, reset before answering). */
export class BackendDialError extends Error {
  constructor(
    readonly target: URL,
    override readonly cause: Error,
  ) {
    super(dialMessage(target, cause));
    this.name = "BackendDialError";
  }
}

/** Go's net error text for a failed dial, which Kubernetes' messages embed: `dial tcp 1.2.3.4:10250: connect: connection refused`. */
export function dialMessage(target: URL, cause: Error): string {
  const code = (cause as NodeJS.ErrnoException).code;
  const port = target.port !== "" ? target.port : target.protocol === "https:" ? "443" : "80";
  const address = `${target.hostname}:${port}`;
  if (code === "ECONNREFUSED") return `dial tcp ${address}: connect: connection refused`;
  if (code === "ETIMEDOUT") return `dial tcp ${address}: i/o timeout`;
  if (code === "EHOSTUNREACH") return `dial tcp ${address}: connect: no route to host`;
  if (code === "ENETUNREACH") return `dial tcp ${address}: connect: network is unreachable`;
  if (code === "ENOTFOUND") return `dial tcp: lookup ${target.hostname}: no such host`;
  if (code === "ECONNRESET") return `read tcp ${address}: read: connection reset by peer`;
  return `dial tcp ${address}: ${cause.message}`;
}

/** TLS client material for an https: backend. */
export interface TlsClientOptions {
  /** PEM client certificate and key presented to the backend. */
  cert?: string;
  key?: string;
  /** PEM CA bundle the backend's serving certificate is verified against. */
  ca?: string;
  /** False skips verifying the backend's certificate (Kubernetes' apiserver without --kubelet-certificate-authority). */
  rejectUnauthorized: boolean;
}

/** Request options for either scheme: the TLS material only matters to an https: target. */
function backendRequest(target: URL, method: string, headers: OutgoingHttpHeaders, tls: TlsClientOptions | undefined): ClientRequest {
  if (target.protocol !== "https:") return httpRequest(target, { method, headers });
  return httpsRequest(target, { method, headers, ...(tls ?? { rejectUnauthorized: true }) });
}

function forwardedHeaders(headers: IncomingHttpHeaders, keepUpgrade: boolean, drop: readonly string[] = []): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    if (drop.includes(name)) continue;
    if (HOP_BY_HOP.has(name) && !(keepUpgrade && (name === "upgrade" || name === "connection"))) continue;
    out[name] = value;
  }
  return out;
}

/** The raw HTTP/1.1 head of a backend answer, as it is written back to an upgraded client socket. */
function rawHead(res: IncomingMessage, extra: readonly string[] = []): string {
  const lines = [`HTTP/1.1 ${res.statusCode ?? 502} ${res.statusMessage ?? ""}`];
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
    const name = res.rawHeaders[i]!;
    if (extra.length > 0 && ["content-length", "transfer-encoding", "connection"].includes(name.toLowerCase())) continue;
    lines.push(`${name}: ${res.rawHeaders[i + 1]!}`);
  }
  lines.push(...extra);
  return `${lines.join("\r\n")}\r\n\r\n`;
}

export interface ProxyOptions {
  /** Extra or replaced request headers for the backend. */
  headers?: Record<string, string>;
  /** Client request headers (lower-case) not passed on, e.g. the client's own credentials. */
  dropHeaders?: readonly string[];
  /** For an https: target. */
  tls?: TlsClientOptions;
}

export type UpgradeProxyOptions = ProxyOptions;

/**
 * Forwards the upgrade request `req` (its socket and already-read `head`) to `target` (path and query included).
 * Resolves once the backend has answered: after a 101 the sockets are joined until either side closes; any other
 * answer is relayed to the client and the connection closed. Rejects with a BackendDialError, having written
 * nothing, when the backend cannot be reached, so the caller can answer with its own error.
 */
export function proxyUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, target: URL, options: UpgradeProxyOptions = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const backend = backendRequest(target, req.method ?? "GET", { ...forwardedHeaders(req.headers, true, options.dropHeaders), ...options.headers, host: target.host }, options.tls);
    const clientGone = (): void => {
      if (!answered) backend.destroy();
    };
    socket.once("close", clientGone);
    backend.on("upgrade", (res: IncomingMessage, upstream: Socket, upstreamHead: Buffer) => {
      answered = true;
      socket.off("close", clientGone);
      socket.write(rawHead(res));
      if (upstreamHead.length > 0) socket.write(upstreamHead);
      if (head.length > 0) upstream.write(head);
      join(socket, upstream);
      resolve();
    });
    backend.on("response", (res: IncomingMessage) => {
      answered = true;
      socket.off("close", clientGone);
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        const body = Buffer.concat(chunks);
        socket.end(Buffer.concat([Buffer.from(rawHead(res, [`Content-Length: ${body.length}`, "Connection: close"])), body]));
        resolve();
      });
      res.on("error", () => {
        socket.destroy();
        resolve();
      });
    });
    backend.on("error", (err) => {
      if (answered) {
        socket.destroy();
        return;
      }
      answered = true;
      socket.off("close", clientGone);
      reject(new BackendDialError(target, err));
    });
    // Upgrade requests carry no body (SPDY's POST neither); anything sent early is in `head`.
    backend.end();
  });
}

/** Joins two sockets: bytes flow both ways; when one side ends or fails, the other is ended too. */
function join(a: Duplex, b: Duplex): void {
  const destroyBoth = (): void => {
    a.destroy();
    b.destroy();
  };
  a.on("error", destroyBoth);
  b.on("error", destroyBoth);
  a.on("close", () => b.destroy());
  b.on("close", () => a.destroy());
  a.pipe(b);
  b.pipe(a);
}

/**
 * Forwards a plain request to `target` and streams the answer back (status, end-to-end headers, body). Rejects
 * with a BackendDialError, having written nothing, when the backend cannot be reached.
 */
export function proxyRequest(req: IncomingMessage, res: ServerResponse, target: URL, options: ProxyOptions = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const backend = backendRequest(target, req.method ?? "GET", { ...forwardedHeaders(req.headers, false, options.dropHeaders), ...options.headers, host: target.host }, options.tls);
    res.once("close", () => {
      if (!res.writableFinished) backend.destroy();
    });
    backend.on("response", (upstream: IncomingMessage) => {
      answered = true;
      res.writeHead(upstream.statusCode ?? 502, forwardedHeaders(upstream.headers, false));
      upstream.pipe(res);
      upstream.on("error", () => res.destroy());
      upstream.on("end", () => {
        resolve();
      });
    });
    backend.on("error", (err) => {
      if (answered) {
        res.destroy();
        resolve();
        return;
      }
      answered = true;
      reject(new BackendDialError(target, err));
    });
    req.pipe(backend);
  });
}
