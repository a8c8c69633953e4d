// kubelab-dns's own part over runComponent (client/component.ts): informers on Services and EndpointSlices feed
// the cluster zone, which is read afresh on every question; the DNS server on UDP and TCP; /health, /ready and
// /metrics on CoreDNS's ports. DNS starts once the caches synced, so a fresh replica never answers NXDOMAIN for
// names that exist; /ready turns 200 then.
import { RESOURCES } from "../api/resources.js";
import type { EndpointSlice, Service } from "../api/types/index.js";
import { runComponent } from "../client/component.js";
import type { RestClient } from "../client/rest.js";
import { realClock, whenAborted, type Clock } from "../component-base/clock.js";
import type { FlagValues } from "../component-base/flags.js";
import type { Logger } from "../component-base/logging.js";
import type { Registry } from "../component-base/metrics.js";
import { healthHandler, prometheusHandler, readyHandler, serveEndpoint, type HttpEndpoint } from "./endpoints.js";
import { defaultUpstreams, Forwarder, parseUpstream, ResponseCache, type Upstream } from "./forward.js";
import { dnsMetrics } from "./metrics.js";
import type { clusterDnsFlags } from "./options.js";
import { DnsServer } from "./server.js";
import { ClusterZone } from "./zone.js";

const SERVICES = RESOURCES.find((r) => r.group === "" && r.resource === "services")!;
const ENDPOINT_SLICES = RESOURCES.find((r) => r.group === "discovery.k8s.io" && r.resource === "endpointslices")!;

export type ClusterDnsFlags = FlagValues<typeof clusterDnsFlags>;

export interface RunOptions {
  registry: Registry;
  logger: Logger;
  /** The apiserver client; default the one the flags describe. */
  client?: RestClient;
  clock?: Clock;
}

/** The upstreams the flags name, or those of --resolv-conf. */
export function upstreamsFromFlags(flags: ClusterDnsFlags): Upstream[] {
  if (flags.upstream.length > 0) return flags.upstream.map(parseUpstream);
  return defaultUpstreams({ resolvConf: flags.resolvConf, dnsPort: flags.dnsPort, bindAddress: flags.dnsBindAddress });
}

/** Runs the DNS server until `signal` aborts. */
export async function runClusterDns(flags: ClusterDnsFlags, signal: AbortSignal, opts: RunOptions): Promise<void> {
  const { logger, registry } = opts;
  const clock = opts.clock ?? realClock;
  const upstreams = upstreamsFromFlags(flags);
  await runComponent(signal, {
    name: "kubelab-dns",
    // The component's own endpoints replace runComponent's /healthz server.
    flags: { ...flags, port: 0, bindAddress: flags.dnsBindAddress },
    serve: false,
    logger,
    registry,
    clock,
    ...(opts.client ? { client: opts.client } : {}),
    build: ({ informers, signal: stop }) => {
      const services = informers.forResource<Service>(SERVICES);
      const endpointSlices = informers.forResource<EndpointSlice>(ENDPOINT_SLICES);
      // The SOA serial is the time of the last change seen, as CoreDNS's kubernetes plugin gives it.
      let lastChange = Math.floor(clock.now() / 1000);
      const touch = (): void => {
        lastChange = Math.floor(clock.now() / 1000);
      };
      for (const informer of [services, endpointSlices]) informer.addEventHandler({ onAdd: touch, onUpdate: touch, onDelete: touch });
      const zone = new ClusterZone({ services, endpointSlices }, { domain: flags.domain, ttl: flags.ttl, serial: () => lastChange });
      const metrics = dnsMetrics(registry);
      const endpoints: HttpEndpoint[] = [];
      let dns: DnsServer | undefined;
      const bind = { bindAddress: flags.dnsBindAddress };
      return {
        prepare: async () => {
          const health = await serveEndpoint("/health", healthHandler(), { ...bind, port: flags.healthPort });
          endpoints.push(health);
          const ready = await serveEndpoint("/ready", readyHandler(() => dns !== undefined && !stop.aborted, "kubernetes"), { ...bind, port: flags.readinessPort });
          endpoints.push(ready);
          const metricsEndpoint = await serveEndpoint("/metrics", prometheusHandler(registry, logger), { ...bind, port: flags.metricsPort });
          endpoints.push(metricsEndpoint);
          informers.start(stop);
          if (!(await informers.waitForCacheSync(stop))) return false;
          const server = new DnsServer({
            zone,
            forwarder: new Forwarder({ upstreams, timeoutMs: flags.upstreamTimeout, metrics, clock }),
            cache: new ResponseCache({ maxTtlSeconds: Math.floor(flags.cacheTtl / 1000), metrics, clock }),
            metrics,
            clock,
            bindAddress: flags.dnsBindAddress,
            port: flags.dnsPort,
            logger,
          });
          const port = await server.listen();
          dns = server;
          logger.info(
            { address: flags.dnsBindAddress, dnsPort: port, healthPort: health.port, readinessPort: ready.port, metricsPort: metricsEndpoint.port, domain: zone.domain, upstreams: upstreams.map((u) => u.label) },
            "Serving DNS",
          );
          return true;
        },
        run: (leading) => whenAborted(leading),
        close: async () => {
          await dns?.close();
          await Promise.all(endpoints.map((e) => e.close()));
        },
      };
    },
  });
}
