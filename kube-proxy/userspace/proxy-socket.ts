// The userspace proxier's sockets (0.18's proxysocket): one listener per service port on a port the kernel picks,
// relaying each TCP connection, or each UDP client's datagrams, to an endpoint the load balancer chooses. A TCP
// connect that fails moves on to the next endpoint (a few tries); with no endpoint at all the connection is reset.
import { createSocket, type Socket as UdpSocket } from "node:dgram";
import { connect, createServer, type Socket } from "node:net";
import type { Logger } from "../../component-base/logging.js";

export interface ProxySocket {
  /** The port it listens on (the portals' target). */
  readonly port: number;
  close(): Promise<void>;
}

export interface ProxySocketOptions {
  /** The endpoint ("ip:port") for a new connection from clientIP; undefined when the service port has none. */
  pick: (clientIP: string) => string | undefined;
  /** A connection to `endpoint` failed (for the load balancer's affinity). */
  failed: (clientIP: string, endpoint: string) => void;
  logger: Logger;
  /** Address to listen on; default all (the portals REDIRECT / DNAT to it). */
  host?: string;
}

const CONNECT_ATTEMPTS = 4;
const CONNECT_TIMEOUT_MS = 2000;

function splitEndpoint(endpoint: string): { host: string; port: number } {
  const i = endpoint.lastIndexOf(":");
  return { host: endpoint.slice(0, i), port: Number(endpoint.slice(i + 1)) };
}

function clientAddress(address: string | undefined): string {
  return (address ?? "").replace(/^::ffff:/, "");
}

export async function openTcpProxy(opts: ProxySocketOptions): Promise<ProxySocket> {
  const open = new Set<Socket>();
  const track = (s: Socket): void => {
    open.add(s);
    s.once("close", () => open.delete(s));
  };
  const server = createServer({ allowHalfOpen: true }, (client) => {
    track(client);
    client.on("error", () => client.destroy());
    const clientIP = clientAddress(client.remoteAddress);
    const attempt = (n: number): void => {
      const endpoint = opts.pick(clientIP);
      if (endpoint === undefined || n >= CONNECT_ATTEMPTS) {
        client.resetAndDestroy();
        return;
      }
      const upstream = connect({ ...splitEndpoint(endpoint), allowHalfOpen: true, timeout: CONNECT_TIMEOUT_MS });
      track(upstream);
      const fail = (err?: Error): void => {
        opts.logger.debug({ endpoint, err }, "Failed to connect to endpoint; trying the next");
        upstream.destroy();
        opts.failed(clientIP, endpoint);
        if (!client.destroyed) attempt(n + 1);
      };
      upstream.once("timeout", fail);
      upstream.once("error", fail);
      upstream.once("connect", () => {
        upstream.setTimeout(0);
        upstream.off("timeout", fail);
        upstream.off("error", fail);
        upstream.on("error", () => client.destroy());
        client.on("close", () => upstream.destroy());
        upstream.on("close", () => client.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
      });
    };
    attempt(0);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, opts.host ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        for (const s of open) s.destroy();
      }),
  };
}

export interface UdpProxyOptions extends ProxySocketOptions {
  /** How long a client's relay stays open without traffic (--udp-timeout). */
  idleTimeoutMs: number;
}

export async function openUdpProxy(opts: UdpProxyOptions): Promise<ProxySocket> {
  const socket = createSocket("udp4");
  const sessions = new Map<string, { upstream: UdpSocket; timer: NodeJS.Timeout; ready: Promise<void> }>();
  const end = (key: string): void => {
    const s = sessions.get(key);
    if (!s) return;
    sessions.delete(key);
    clearTimeout(s.timer);
    s.upstream.close();
  };
  socket.on("message", (msg, from) => {
    const key = `${from.address}:${from.port}`;
    let session = sessions.get(key);
    if (!session) {
      const endpoint = opts.pick(from.address);
      if (endpoint === undefined) return;
      const { host, port } = splitEndpoint(endpoint);
      const upstream = createSocket("udp4");
      const ready = new Promise<void>((resolve) => {
        upstream.connect(port, host, resolve);
      });
      upstream.on("error", (err) => {
        opts.logger.debug({ endpoint, err }, "UDP relay failed");
        opts.failed(from.address, endpoint);
        end(key);
      });
      upstream.on("message", (reply) => {
        socket.send(reply, from.port, from.address);
        const s = sessions.get(key);
        s?.timer.refresh();
      });
      session = { upstream, ready, timer: setTimeout(() => { end(key); }, opts.idleTimeoutMs) };
      sessions.set(key, session);
    } else {
      session.timer.refresh();
    }
    const { upstream, ready } = session;
    void ready.then(() => {
      if (sessions.has(key)) upstream.send(msg);
    });
  });
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, opts.host ?? "0.0.0.0", () => {
      socket.off("error", reject);
      resolve();
    });
  });
  return {
    port: socket.address().port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const key of [...sessions.keys()]) end(key);
        socket.close(() => {
          resolve();
        });
      }),
  };
}
