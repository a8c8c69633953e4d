// The cluster-state exposition: every enabled family of every enabled resource, generated on each scrape from the
// informers' caches (shared, frozen objects that are only read), plus the HTTP listener that serves it on --port
// next to /healthz, /livez and /readyz.
import { createServer, type IncomingMessage, type Server } from "node:http";
import { gzip } from "node:zlib";
import type { KubeObject } from "../api/meta.js";
import type { Lister } from "../client/informer.js";
import type { Logger } from "../component-base/logging.js";
import { histogram, type Registry } from "../component-base/metrics.js";
import { healthRequestListener, type HealthCheck } from "../component-base/server.js";
import type { KubeStateMetricsConfig } from "./config.js";
import { ExpositionWriter, TEXT_CONTENT_TYPE, type FamilyGenerator } from "./exposition.js";
import type { ResourceStore } from "./store/registry.js";

/** A resource's families and the caches its objects are read from (one per watched namespace). */
export interface StoreSource {
  store: ResourceStore;
  listers: readonly Lister<KubeObject>[];
}

interface PreparedSource {
  /** Each family with its objects' rendered lines (see ExpositionWriter.writeFamily). */
  families: { family: FamilyGenerator<KubeObject>; cache: WeakMap<object, string> }[];
  listers: readonly Lister<KubeObject>[];
}

export class StateMetrics {
  private readonly sources: PreparedSource[];

  constructor(
    sources: readonly StoreSource[],
    private readonly config: Pick<KubeStateMetricsConfig, "familyEnabled" | "familyOptions" | "namespacesDenylist">,
  ) {
    this.sources = sources.map((s) => ({
      families: s.store
        .families(config.familyOptions(s.store.name))
        .filter((f) => config.familyEnabled(f.name))
        .map((family) => ({ family, cache: new WeakMap<object, string>() })),
      listers: s.listers,
    }));
  }

  /** The exposition text of the caches as they are now. */
  render(): string {
    const writer = new ExpositionWriter();
    const denied = this.config.namespacesDenylist;
    for (const source of this.sources) {
      const objects = source.listers.flatMap((l) => l.list());
      const kept = denied.size === 0 ? objects : objects.filter((o) => !denied.has(o.metadata.namespace ?? ""));
      for (const { family, cache } of source.families) writer.writeFamily(family, kept, cache);
    }
    return writer.text();
  }

  /** The names of the families served, in order. */
  familyNames(): string[] {
    return this.sources.flatMap((s) => s.families.map((f) => f.family.name));
  }
}

export interface MetricsServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  render: () => string;
  readyzChecks: readonly HealthCheck[];
  /**
   * The process registry: it gets http_request_duration_seconds{handler="metrics"} for the scrapes served here (the
   * cluster state itself is never put in it).
   */
  registry: Registry;
  logger: Logger;
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** Whether the client takes a gzip body (Prometheus asks for one). */
function acceptsGzip(req: IncomingMessage): boolean {
  const accept = req.headers["accept-encoding"];
  if (typeof accept !== "string") return false;
  return accept.split(",").some((entry) => {
    const [coding, ...params] = entry.split(";").map((part) => part.trim());
    if (coding !== "gzip") return false;
    const q = params.find((param) => param.startsWith("q="));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/**
 * Serves /metrics from `render` (gzip when asked for) and the health endpoints; logs "Serving kube-state-metrics"
 * with the port.
 */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const health = healthRequestListener({ registry: opts.registry, readyzChecks: opts.readyzChecks, logger: opts.logger });
  const duration = histogram<"handler" | "method">(opts.registry, {
    name: "http_request_duration_seconds",
    help: "A histogram of requests for kube-state-metrics metrics handler.",
    labelNames: ["handler", "method"],
  });
  const server: Server = createServer({ keepAlive: true }, (req, res) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path === "/metrics") {
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { "Content-Type": "text/plain; charset=utf-8" }).end("method not allowed\n");
        return;
      }
      const end = duration.startTimer({ handler: "metrics", method: req.method.toLowerCase() });
      let body: string;
      try {
        body = opts.render();
      } catch (err) {
        opts.logger.error({ err }, "Generating cluster-state metrics failed");
        res.writeHead(500, { "Content-Type": "text/plain; charset=utf-8" }).end("generating metrics failed\n");
        return;
      }
      const send = (encoded: string | Buffer, encoding?: string): void => {
        res.writeHead(200, { "Content-Type": TEXT_CONTENT_TYPE, ...(encoding ? { "Content-Encoding": encoding } : {}) });
        res.end(req.method === "HEAD" ? undefined : encoded);
        end();
      };
      // Compressed off the event loop's thread: a large cluster's exposition is megabytes.
      if (acceptsGzip(req)) {
        gzip(body, (err, zipped) => {
          if (err) send(body);
          else send(zipped, "gzip");
        });
      } else {
        send(body);
      }
      return;
    }
    if (path === "/") {
      res.writeHead(200, { "Content-Type": "text/plain; charset=utf-8" }).end("kube-state-metrics\n/metrics\n/healthz\n/livez\n/readyz\n");
      return;
    }
    health(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : opts.port;
  opts.logger.info({ address: opts.host, port }, "Serving kube-state-metrics");
  return {
    port,
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
