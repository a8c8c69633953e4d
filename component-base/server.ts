// The health and metrics endpoints every process serves (Kubernetes' k8s.io/apiserver/pkg/server/healthz shape):
//   /healthz, /livez, /readyz        "ok" (200), or 500 listing "[-]<name> failed: reason withheld"
//   /<endpoint>?verbose               "[+]<name> ok" per check and "<endpoint> check passed"
//   /<endpoint>/<name>                one check alone
//   /<endpoint>?exclude=<name>        skip a check (repeatable)
//   /metrics                          Prometheus text from the process registry
// The handlers are plain node:http (req, res) functions so the apiserver can mount them on its own port.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Logger } from "./logging.js";
import type { Registry } from "./metrics.js";

export interface HealthCheck {
  name: string;
  /** True when healthy. A throw or rejection counts as failed (logged, never shown to the caller). */
  check: () => boolean | Promise<boolean>;
}

/** Checks as a list, or as a record from name to check function. */
export type HealthChecks = readonly HealthCheck[] | Readonly<Record<string, HealthCheck["check"]>>;

function toList(checks: HealthChecks | undefined): readonly HealthCheck[] {
  if (checks === undefined) return [];
  if (isCheckList(checks)) return checks;
  return Object.entries(checks).map(([name, check]) => ({ name, check }));
}

function isCheckList(checks: HealthChecks): checks is readonly HealthCheck[] {
  return Array.isArray(checks);
}

export type HealthEndpoint = "healthz" | "livez" | "readyz";
export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** Always healthy: present in every list like Kubernetes' "ping" check. */
export const pingCheck: HealthCheck = { name: "ping", check: () => true };

/** Fails once `signal` aborts, so /readyz goes 500 while a process drains (Kubernetes' "shutdown" readyz check). */
export function shutdownCheck(signal: AbortSignal): HealthCheck {
  return { name: "shutdown", check: () => !signal.aborted };
}

/**
 * A handler for one endpoint (mount it at `/<endpoint>` and `/<endpoint>/*`). It serves GET and HEAD; a path
 * suffix selects a single check.
 */
export function healthHandler(endpoint: HealthEndpoint, checks: HealthChecks, logger?: Logger): RequestHandler {
  const list = toList(checks);
  const all = list.some((c) => c.name === "ping") ? list : [pingCheck, ...list];
  return (req, res) => {
    void serveHealth(endpoint, all, req, res, logger);
  };
}

async function serveHealth(endpoint: HealthEndpoint, checks: readonly HealthCheck[], req: IncomingMessage, res: ServerResponse, logger?: Logger): Promise<void> {
  const url = new URL(req.url ?? "/", "http://localhost");
  const rest = url.pathname.replace(/^\/+/, "").split("/").slice(1).filter((s) => s !== "");
  if (req.method !== "GET" && req.method !== "HEAD") {
    writeText(res, 405, "method not allowed\n");
    return;
  }
  let selected: readonly HealthCheck[];
  if (rest.length > 0) {
    const one = checks.find((c) => c.name === rest.join("/"));
    if (!one) {
      writeText(res, 404, "404 page not found\n");
      return;
    }
    selected = [one];
  } else {
    const excluded = new Set(url.searchParams.getAll("exclude"));
    selected = checks.filter((c) => !excluded.has(c.name));
  }
  const results = await Promise.all(
    selected.map(async (c) => {
      try {
        return { name: c.name, ok: await c.check() };
      } catch (err) {
        logger?.warn({ err, check: c.name, endpoint }, "Health check errored");
        return { name: c.name, ok: false };
      }
    }),
  );
  const failed = results.some((r) => !r.ok);
  const verbose = url.searchParams.has("verbose");
  const lines = results.map((r) => (r.ok ? `[+]${r.name} ok` : `[-]${r.name} failed: reason withheld`));
  if (failed) {
    logger?.debug({ endpoint, failed: results.filter((r) => !r.ok).map((r) => r.name) }, "Health check failed");
    writeText(res, 500, `${lines.join("\n")}\n${endpoint} check failed\n`);
  } else if (verbose) {
    writeText(res, 200, `${lines.join("\n")}\n${endpoint} check passed\n`);
  } else {
    writeText(res, 200, "ok");
  }
}

export function metricsHandler(registry: Registry, logger?: Logger): RequestHandler {
  return (req, res) => {
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { "Content-Type": registry.contentType });
        res.end(req.method === "HEAD" ? undefined : text);
      },
      (err: unknown) => {
        logger?.error({ err }, "Collecting metrics failed");
        writeText(res, 500, "collecting metrics failed\n");
      },
    );
  };
}

function writeText(res: ServerResponse, code: number, body: string): void {
  res.writeHead(code, { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache, private" });
  res.end(body);
}

export interface HealthServerOptions {
  /** 0 picks a free port (see HealthServer.port). */
  port: number;
  /** Default 0.0.0.0, like Kubernetes' --bind-address. */
  bindAddress?: string;
  registry: Registry;
  /** Checks on every endpoint. */
  checks?: HealthChecks;
  /** Extra checks only for /livez (and /healthz). */
  livezChecks?: HealthChecks;
  /** Extra checks only for /readyz (and /healthz), e.g. informers synced, shutdownCheck(signal). */
  readyzChecks?: HealthChecks;
  logger: Logger;
}

export interface HealthServer {
  server: Server;
  /** The bound port (useful with port 0). */
  port: number;
  close(): Promise<void>;
}

/** Routes /healthz /livez /readyz (+ /<endpoint>/<check>) and /metrics; 404 for anything else. */
export function healthRequestListener(opts: Omit<HealthServerOptions, "port" | "bindAddress">): RequestHandler {
  const common = toList(opts.checks);
  const live = [...common, ...toList(opts.livezChecks)];
  const ready = [...common, ...toList(opts.readyzChecks)];
  const handlers: Record<string, RequestHandler> = {
    healthz: healthHandler("healthz", [...common, ...toList(opts.livezChecks), ...toList(opts.readyzChecks)], opts.logger),
    livez: healthHandler("livez", live, opts.logger),
    readyz: healthHandler("readyz", ready, opts.logger),
    metrics: metricsHandler(opts.registry, opts.logger),
  };
  return (req, res) => {
    const first = new URL(req.url ?? "/", "http://localhost").pathname.split("/")[1] ?? "";
    const handler = Object.hasOwn(handlers, first) ? handlers[first] : undefined;
    if (handler) handler(req, res);
    else writeText(res, 404, "404 page not found\n");
  };
}

export async function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  const server = createServer({ keepAlive: true }, healthRequestListener(opts));
  const bindAddress = opts.bindAddress ?? "0.0.0.0";
  const listening = await listenServer(server, opts.port, bindAddress);
  opts.logger.info({ address: bindAddress, port: listening.port }, "Serving healthz and metrics");
  return listening;
}

/**
 * Listens on `bindAddress:port` (0 picks a free port) and resolves once listening, with the port taken and a close
 * that also ends kept-alive connections; rejects when the port cannot be had.
 */
export async function listenServer(server: Server, port: number, bindAddress: string): Promise<HealthServer> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, bindAddress, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  return {
    server,
    port: typeof address === "object" && address !== null ? address.port : port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => {
          if (err) reject(err);
          else resolve();
        });
        server.closeAllConnections();
      }),
  };
}
