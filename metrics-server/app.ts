// metrics-server's wiring: runComponent (client/component.ts) gives the apiserver client and informers (nodes, and
// pods for their labels); every --metric-resolution the kubelets are scraped (scraper.ts) into the storage
// (storage.ts), which the metrics.k8s.io API (api.ts) reads. One server on --bind-address:--secure-port serves the
// API, /healthz /livez /readyz (ready once a scrape is stored, metrics-server's metric-storage-ready) and /metrics;
// over HTTPS behind delegated authentication and authorization (auth.ts).
import { readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { RESOURCES } from "../api/resources.js";
import type { Node, Pod, SubjectAccessReviewSpec } from "../api/types/index.js";
import { reviewAccess } from "../client/auth-reviews.js";
import { runComponent } from "../client/component.js";
import type { RestClient } from "../client/rest.js";
import type { ClientConfig } from "../client/kubeconfig.js";
import { realClock, sleepOn } from "../component-base/clock.js";
import { CachedAccessReviewer } from "../component-base/delegated-auth.js";
import type { Logger } from "../component-base/logging.js";
import { counter, histogram, type Registry } from "../component-base/metrics.js";
import { healthRequestListener } from "../component-base/server.js";
import type { RequestHeaderConfig } from "../component-base/requestheader.js";
import { MetricsApi } from "./api.js";
import { DelegatedAuth, requestHeaderConfigOf } from "./auth.js";
import type { MetricsServerFlags } from "./options.js";
import { scrapeNodes, type ScraperOptions } from "./scraper.js";
import { MetricsStorage } from "./storage.js";

const NODES = RESOURCES.find((r) => r.group === "" && r.resource === "nodes")!;
const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;

export interface RunMetricsServerOptions {
  registry: Registry;
  logger: Logger;
  client?: RestClient;
  /** Called with the serving port once it listens (tests use --secure-port 0). */
  onListening?: (port: number) => void;
}

/** The scraper's settings; `config` is metrics-server's own client configuration, whose identity the kubelets see. */
export function scraperOptions(flags: MetricsServerFlags, config?: ClientConfig): ScraperOptions {
  if (flags.kubeletScheme !== "http" && flags.kubeletScheme !== "https") throw new Error(`--kubelet-scheme must be http or https, not ${flags.kubeletScheme}`);
  const caPem = flags.kubeletCertificateAuthority !== undefined && flags.kubeletCertificateAuthority !== "" ? readFileSync(flags.kubeletCertificateAuthority, "utf8") : config?.caData;
  return {
    preferredAddressTypes: flags.kubeletPreferredAddressTypes.split(",").map((t) => t.trim()).filter((t) => t !== ""),
    kubeletPort: flags.kubeletPort,
    useNodeStatusPort: flags.kubeletUseNodeStatusPort,
    scheme: flags.kubeletScheme,
    insecureTls: flags.kubeletInsecureTls,
    timeoutMs: flags.kubeletRequestTimeout,
    ...(caPem !== undefined ? { caPem } : {}),
    ...(config !== undefined ? { credentials: { ...(config.clientCertData !== undefined ? { certPem: config.clientCertData } : {}), ...(config.clientKeyData !== undefined ? { keyPem: config.clientKeyData } : {}), ...(config.token !== undefined ? { token: config.token } : {}) } } : {}),
  };
}

export async function runMetricsServer(flags: MetricsServerFlags, signal: AbortSignal, opts: RunMetricsServerOptions): Promise<void> {
  const { logger, registry } = opts;
  scraperOptions(flags); // the flags are checked before anything starts
  const scrapeDuration = histogram(registry, { name: "metrics_server_kubelet_request_duration_seconds", help: "Duration of requests to kubelet API in seconds", labelNames: ["node"], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
  const scrapeBytes = histogram(registry, { name: "kubelab_metrics_server_kubelet_response_size_bytes", help: "Size of the kubelets' /metrics/resource answers in bytes", labelNames: [], buckets: [1024, 4096, 16384, 65536, 262144, 1048576] });
  const failures = counter(registry, { name: "metrics_server_kubelet_request_failures_total", help: "Number of failed requests to the kubelets' resource metrics", labelNames: ["node"] });
  const lastScrape = histogram(registry, { name: "metrics_server_manager_tick_duration_seconds", help: "The total time spent collecting and storing metrics in seconds.", labelNames: [], buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] });
  await runComponent(signal, {
    name: "metrics-server",
    flags: { master: flags.master, kubeconfig: flags.kubeconfig, kubeApiQps: flags.kubeApiQps, kubeApiBurst: flags.kubeApiBurst, port: 0, bindAddress: flags.bindAddress },
    serve: false,
    logger,
    registry,
    ...(opts.client ? { client: opts.client } : {}),
    build: ({ client, informers, signal: stop }) => {
      const scraper = scraperOptions(flags, client.config);
      const nodes = informers.forResource<Node>(NODES);
      const pods = informers.forResource<Pod>(PODS);
      const storage = new MetricsStorage();
      const api = new MetricsApi({ storage, nodes: () => nodes.lister.list(), pods: (namespace) => (namespace === undefined ? pods.lister.list() : pods.lister.listNamespace(namespace)) });
      const health = healthRequestListener({ registry, logger, readyzChecks: [{ name: "metric-storage-ready", check: () => storage.ready }, { name: "informer-sync", check: () => nodes.hasSynced() && pods.hasSynced() }] });
      const route = (req: IncomingMessage, res: ServerResponse): void => {
        const path = new URL(req.url ?? "/", "http://metrics-server").pathname;
        if (api.handles(path)) api.serve(req, res);
        else health(req, res);
      };
      let auth: DelegatedAuth | undefined;
      const handle = (req: IncomingMessage, res: ServerResponse): void => {
        if (auth === undefined) {
          route(req, res);
          return;
        }
        auth.admit(req, res).then(
          (admitted) => { if (admitted) route(req, res); },
          (err: unknown) => {
            logger.error({ err: String(err) }, "request failed");
            res.destroy();
          },
        );
      };
      let server: Server | undefined;
      const tick = async (): Promise<void> => {
        const started = performance.now();
        const result = await scrapeNodes(nodes.lister.list(), scraper);
        for (const [node, cost] of result.costs) {
          scrapeDuration.observe({ node }, cost.ms / 1000);
          scrapeBytes.observe({}, cost.bytes);
        }
        for (const [node, reason] of result.failures) {
          failures.inc({ node });
          logger.warn({ node, err: reason }, "Failed to scrape node");
        }
        storage.store(result.scrapes, Date.now());
        lastScrape.observe({}, (performance.now() - started) / 1000);
      };
      return {
        readyzChecks: [],
        prepare: async () => {
          const tls = flags.tlsCertFile !== undefined && flags.tlsPrivateKeyFile !== undefined ? { cert: readFileSync(flags.tlsCertFile), key: readFileSync(flags.tlsPrivateKeyFile) } : undefined;
          let requestHeader: RequestHeaderConfig | undefined;
          if (tls) {
            requestHeader = await requestHeaderConfigOf(flags, client, logger);
            auth = new DelegatedAuth({ requestHeader, authorizer: new CachedAccessReviewer((spec: SubjectAccessReviewSpec) => reviewAccess(client, spec), { keyOf: (spec) => JSON.stringify(spec), authorizedTtlMs: 10_000, unauthorizedTtlMs: 10_000 }), alwaysAllowPaths: flags.authorizationAlwaysAllowPaths, logger });
          }
          // A client certificate is asked for (the front proxy's), never required: anyone else is system:anonymous.
          server = tls ? createHttpsServer({ ...tls, ...(requestHeader ? { ca: requestHeader.clientCaPem, requestCert: true, rejectUnauthorized: false } : {}) }, handle) : createHttpServer(handle);
          const listening = server;
          await new Promise<void>((resolve, reject) => {
            listening.once("error", reject);
            listening.listen(flags.securePort, flags.bindAddress, () => {
              listening.off("error", reject);
              resolve();
            });
          });
          const port = (listening.address() as AddressInfo).port;
          logger.info({ address: flags.bindAddress, port, tls: tls !== undefined, requestHeader: requestHeader !== undefined, metricResolution: flags.metricResolution }, "Serving metrics.k8s.io");
          opts.onListening?.(port);
          informers.start(stop);
          return informers.waitForCacheSync(stop);
        },
        run: async (runSignal) => {
          while (!runSignal.aborted) {
            await tick().catch((err: unknown) => {
              logger.error({ err: String(err) }, "Scrape failed");
            });
            await sleepOn(realClock, flags.metricResolution, runSignal);
          }
        },
        close: async () => {
          const open = server;
          if (!open) return;
          open.closeAllConnections();
          await new Promise<void>((resolve) => open.close(() => { resolve(); }));
        },
      };
    },
  });
}
