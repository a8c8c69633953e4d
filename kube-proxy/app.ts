// kube-proxy's own part: Service and EndpointSlice informers feeding the proxier of the --proxy-mode (iptables, or
// 0.18's userspace), and the healthz server on --healthz-bind-address; runComponent (client/component.ts) supplies
// the client and serves /metrics (and /healthz, /readyz) on --metrics-bind-address. One per node, no leader
// election.
import { hostname } from "node:os";
import { RESOURCES } from "../api/resources.js";
import type { Service } from "../api/types/core.js";
import type { EndpointSlice } from "../api/types/discovery.js";
import { runComponent } from "../client/component.js";
import type { RestClient } from "../client/rest.js";
import { realClock, whenAborted, type Clock } from "../component-base/clock.js";
import { FlagError, type FlagValues } from "../component-base/flags.js";
import type { Logger } from "../component-base/logging.js";
import type { Registry } from "../component-base/metrics.js";
import { execRunner, type CommandRunner } from "./exec.js";
import { ProxierHealth, splitHostPort, startHealthzServer, type HealthzServer } from "./healthz.js";
import { IptablesProxier } from "./iptables/proxier.js";
import { proxyMetrics } from "./metrics.js";
import type { Proxier } from "./proxier.js";
import { UserspaceProxier } from "./userspace/proxier.js";
import { PROXY_MODES, type kubeProxyFlags, type ProxyMode } from "./options.js";

const SERVICES = RESOURCES.find((r) => r.group === "" && r.resource === "services")!;
const ENDPOINT_SLICES = RESOURCES.find((r) => r.group === "discovery.k8s.io" && r.resource === "endpointslices")!;

export type KubeProxyFlags = FlagValues<typeof kubeProxyFlags>;

/** The proxier settings the flags describe; throws FlagError for a bad value. */
export function proxyConfigFromFlags(flags: KubeProxyFlags): { mode: ProxyMode; nodePortAddresses: string[]; nodeName: string } {
  if (!(PROXY_MODES as readonly string[]).includes(flags.proxyMode)) throw new FlagError(`invalid --proxy-mode "${flags.proxyMode}": want one of ${PROXY_MODES.join(", ")}`);
  if (flags.iptablesSyncPeriod <= 0) throw new FlagError("--iptables-sync-period must be greater than 0");
  if (flags.iptablesMinSyncPeriod < 0) throw new FlagError("--iptables-min-sync-period must not be negative");
  const nodePortAddresses = flags.nodeportAddresses.flatMap((v) => v.split(",")).map((s) => s.trim()).filter((s) => s !== "");
  for (const cidr of nodePortAddresses) if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(cidr)) throw new FlagError(`invalid --nodeport-addresses entry "${cidr}": want an IPv4 CIDR`);
  if (flags.clusterCidr !== undefined && !/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(flags.clusterCidr)) throw new FlagError(`invalid --cluster-cidr "${flags.clusterCidr}": want an IPv4 CIDR`);
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(flags.bindAddress)) throw new FlagError(`invalid --bind-address "${flags.bindAddress}": want an IPv4 address`);
  splitHostPort(flags.healthzBindAddress);
  splitHostPort(flags.metricsBindAddress);
  return { mode: flags.proxyMode as ProxyMode, nodePortAddresses, nodeName: (flags.hostnameOverride ?? "").trim() || hostname().toLowerCase() };
}

export interface RunOptions {
  registry: Registry;
  logger: Logger;
  /** The apiserver client; default the one --master/--kubeconfig describe. */
  client?: RestClient;
  clock?: Clock;
  /** Runs iptables-save/-restore and conntrack; default on this node (tests pass an `ip netns exec` prefix). */
  runner?: CommandRunner;
  /** Called with the metrics and healthz ports once they listen. */
  onListening?: (ports: { metrics: number; healthz: number }) => void;
}

/** Runs kube-proxy until `signal` aborts. */
export async function runKubeProxy(flags: KubeProxyFlags, signal: AbortSignal, opts: RunOptions): Promise<void> {
  const { logger, registry } = opts;
  const clock = opts.clock ?? realClock;
  const config = proxyConfigFromFlags(flags);
  const metricsAddress = splitHostPort(flags.metricsBindAddress);
  let metricsPort = metricsAddress.port;
  await runComponent(signal, {
    name: "kube-proxy",
    flags: { master: flags.master, kubeconfig: flags.kubeconfig, kubeApiQps: flags.kubeApiQps, kubeApiBurst: flags.kubeApiBurst, port: metricsAddress.port, bindAddress: metricsAddress.host },
    logger,
    registry,
    clock,
    ...(opts.client ? { client: opts.client } : {}),
    onListening: (port) => {
      metricsPort = port;
    },
    build: ({ informers, signal: stop }) => {
      const health = new ProxierHealth(clock, 2 * flags.iptablesSyncPeriod);
      const common = {
        runner: opts.runner ?? execRunner(),
        clock,
        logger: logger.child({ component: "proxier" }),
        metrics: proxyMetrics(registry),
        health,
        syncPeriodMs: flags.iptablesSyncPeriod,
        minSyncPeriodMs: flags.iptablesMinSyncPeriod,
      };
      const proxier: Proxier =
        config.mode === "userspace"
          ? new UserspaceProxier({ ...common, udpIdleTimeoutMs: flags.udpTimeout, bindAddress: flags.bindAddress })
          : new IptablesProxier({
              ...common,
              clusterCIDR: flags.clusterCidr,
              masqueradeAll: flags.masqueradeAll,
              nodePortAddresses: config.nodePortAddresses,
              nodeName: config.nodeName,
              localhostNodePorts: flags.iptablesLocalhostNodeports,
            });
      const services = informers.forResource<Service>(SERVICES);
      const slices = informers.forResource<EndpointSlice>(ENDPOINT_SLICES);
      services.addEventHandler(proxier.serviceHandler());
      slices.addEventHandler(proxier.endpointSliceHandler());
      let healthz: HealthzServer | undefined;
      return {
        readyzChecks: [{ name: "informer-sync", check: () => services.hasSynced() && slices.hasSynced() }],
        prepare: async () => {
          healthz = await startHealthzServer(flags.healthzBindAddress, health, config.nodeName, logger);
          opts.onListening?.({ metrics: metricsPort, healthz: healthz.port });
          informers.start(stop);
          if (!(await informers.waitForCacheSync(stop))) return false;
          logger.info({ mode: config.mode, nodeName: config.nodeName, services: services.lister.listKeys().length, endpointSlices: slices.lister.listKeys().length }, "Caches synced; starting the proxier");
          return true;
        },
        run: async (running) => {
          proxier.start();
          await whenAborted(running);
        },
        close: async () => {
          await proxier.stop();
          await healthz?.close();
        },
      };
    },
  });
}
