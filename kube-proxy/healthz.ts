// kube-proxy's health (Kubernetes' ProxierHealthServer): healthy while rules keep up, i.e. no sync has been queued
// for longer than healthTimeout (2 × --iptables-sync-period) without an update applying it. A kube-proxy whose
// iptables-restore keeps failing, or whose sync loop is stuck, turns unhealthy; one with nothing to do stays healthy.
// The /healthz and /livez answer is Kubernetes' JSON: lastUpdated, currentTime, nodeName, nodeHealthy.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Clock } from "../component-base/clock.js";
import type { Logger } from "../component-base/logging.js";

export class ProxierHealth {
  private lastUpdated = 0;
  private oldestPendingQueued = 0;

  constructor(
    private readonly clock: Clock,
    private readonly healthTimeoutMs: number,
  ) {}

  /** A sync was asked for. */
  queued(): void {
    if (this.oldestPendingQueued === 0) this.oldestPendingQueued = this.clock.now();
  }

  /** A sync succeeded: everything queued so far is applied. */
  updated(): void {
    this.lastUpdated = this.clock.now();
    this.oldestPendingQueued = 0;
  }

  healthy(): boolean {
    return this.oldestPendingQueued === 0 || this.clock.now() - this.oldestPendingQueued < this.healthTimeoutMs;
  }

  status(nodeName: string): { lastUpdated: string; currentTime: string; nodeName: string; nodeHealthy: boolean } {
    return { lastUpdated: new Date(this.lastUpdated).toISOString(), currentTime: new Date(this.clock.now()).toISOString(), nodeName, nodeHealthy: this.healthy() };
  }
}

export interface HealthzServer {
  port: number;
  close(): Promise<void>;
}

/** Serves /healthz and /livez on `address` ("host:port"; port 0 picks one). */
export async function startHealthzServer(address: string, health: ProxierHealth, nodeName: string, logger: Logger): Promise<HealthzServer> {
  const { host, port } = splitHostPort(address);
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path !== "/healthz" && path !== "/livez") {
      res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" }).end("404 page not found\n");
      return;
    }
    const status = health.status(nodeName);
    res.writeHead(status.nodeHealthy ? 200 : 503, { "Content-Type": "application/json", "X-Content-Type-Options": "nosniff" });
    res.end(JSON.stringify(status));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address();
  const boundPort = typeof bound === "object" && bound !== null ? bound.port : port;
  logger.info({ address: host, port: boundPort }, "Serving kube-proxy healthz");
  return {
    port: boundPort,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

/** "127.0.0.1:10256" → host and port; a bare host gets `defaultPort`. */
export function splitHostPort(address: string, defaultPort = 0): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(address);
  if (m?.[1] === undefined) throw new Error(`invalid address ${JSON.stringify(address)}: want host:port`);
  return { host: m[1] === "" ? "0.0.0.0" : m[1], port: m[2] !== undefined ? Number(m[2]) : defaultPort };
}
