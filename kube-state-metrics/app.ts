// kube-state-metrics' own part: one informer per enabled resource (per namespace with --namespaces) and the
// cluster-state server on --host:--port; runComponent (client/component.ts) supplies the client and serves the
// process's own metrics and health on --telemetry-host:--telemetry-port.
import { setMaxListeners } from "node:events";
import type { KubeObject } from "../api/meta.js";
import { runComponent } from "../client/component.js";
import type { Informer } from "../client/informer.js";
import type { RestClient } from "../client/rest.js";
import { whenAborted, type Clock } from "../component-base/clock.js";
import type { Logger } from "../component-base/logging.js";
import type { Registry } from "../component-base/metrics.js";
import { configFromFlags, type KubeStateMetricsConfig, type KubeStateMetricsFlags } from "./config.js";
import { StateMetrics, startMetricsServer, type MetricsServer } from "./state-metrics.js";

export interface RunOptions {
  /** The process's own metrics registry, served on --telemetry-port. */
  registry: Registry;
  logger: Logger;
  /** The apiserver client; default the one --apiserver/--master/--kubeconfig describe. */
  client?: RestClient;
  /** Default: configFromFlags(flags). */
  config?: KubeStateMetricsConfig;
  clock?: Clock;
  /** Called with the cluster-state port once it listens (tests use --port 0). */
  onListening?: (port: number) => void;
}

/** Serves cluster-state metrics until `signal` aborts; closes the client when it returns. */
export async function runKubeStateMetrics(flags: KubeStateMetricsFlags, signal: AbortSignal, opts: RunOptions): Promise<void> {
  const config = opts.config ?? configFromFlags(flags);
  const { logger, registry } = opts;
  await runComponent(signal, {
    name: "kube-state-metrics",
    flags: {
      master: flags.apiserver ?? flags.master,
      kubeconfig: flags.kubeconfig,
      kubeApiQps: flags.kubeApiQps,
      kubeApiBurst: flags.kubeApiBurst,
      port: flags.telemetryPort,
      bindAddress: flags.telemetryHost,
    },
    logger,
    registry,
    ...(opts.client ? { client: opts.client } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
    build: ({ informers, signal: stop }) => {
      // One informer per resource (and per namespace) listens on this signal, more than Node's warning threshold.
      setMaxListeners(0, stop);
      const all: Informer<KubeObject>[] = [];
      const sources = config.stores.map((store) => {
        const scopes = store.resource.namespaced && config.namespaces.length > 0 ? config.namespaces.map((namespace) => ({ namespace })) : [{}];
        const watched = scopes.map((scope) => informers.forResource(store.resource, scope));
        all.push(...watched);
        return { store, listers: watched.map((i) => i.lister) };
      });
      const states = new StateMetrics(sources, config);
      const synced = { name: "informer-sync", check: () => all.every((i) => i.hasSynced()) };
      let server: MetricsServer | undefined;
      return {
        readyzChecks: [synced],
        prepare: async () => {
          server = await startMetricsServer({ host: flags.host, port: flags.port, render: () => states.render(), readyzChecks: [synced], registry, logger });
          opts.onListening?.(server.port);
          informers.start(stop);
          if (!(await informers.waitForCacheSync(stop))) return false;
          logger.info({ resources: config.stores.map((s) => s.name), namespaces: config.namespaces, families: states.familyNames().length }, "Caches synced");
          return true;
        },
        run: (s) => whenAborted(s),
        close: () => server?.close(),
      };
    },
  });
}
