// The HTTP endpoints CoreDNS serves beside DNS, each on its own port as in CoreDNS's default Corefile: /health
// (the health plugin: 200 "OK" while the process runs, the liveness probe), /ready (the ready plugin: 200 "OK"
// once every part is ready, 503 before, the readiness probe) and /metrics (the prometheus plugin).
import { createServer, type Server } from "node:http";
import type { Logger } from "../component-base/logging.js";
import type { Registry } from "../component-base/metrics.js";
import { metricsHandler, type RequestHandler } from "../component-base/server.js";

export interface HttpEndpoint {
  port: number;
  close(): Promise<void>;
}

function text(code: number, body: string): RequestHandler {
  return (_req, res) => {
    res.writeHead(code, { "Content-Type": "text/plain; charset=utf-8" });
    res.end(body);
  };
}

/** Serves `handler` at `path` on `port` (0: a free port); 404 elsewhere. */
export async function serveEndpoint(path: string, handler: RequestHandler, opts: { port: number; bindAddress: string }): Promise<HttpEndpoint> {
  const notFound = text(404, "404 page not found\n");
  const server: Server = createServer((req, res) => {
    const pathname = new URL(req.url ?? "/", "http://localhost").pathname;
    (pathname === path ? handler : notFound)(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.bindAddress, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    port: typeof address === "object" && address !== null ? address.port : opts.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}

export function healthHandler(): RequestHandler {
  return text(200, "OK");
}

/** 200 "OK" when `ready()` holds, else 503 naming what is not ready. */
export function readyHandler(ready: () => boolean, what: string): RequestHandler {
  return (req, res) => {
    (ready() ? text(200, "OK") : text(503, `${what}\n`))(req, res);
  };
}

export function prometheusHandler(registry: Registry, logger: Logger): RequestHandler {
  return metricsHandler(registry, logger);
}
