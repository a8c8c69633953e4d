// The wiring every process that talks to the apiserver shares (the scheduler, the controller-manager, the node
// simulator; the kubelet and kube-proxy next): a REST client from --master/--kubeconfig and --kube-api-qps/-burst,
// one informer factory, the /healthz /readyz /metrics server on --port (and the same routes on the secure port behind
// delegated authentication and authorization, for components that have one), optionally leader election, and an
// ordered teardown. A process describes only its own part (a Component) and runComponent runs it:
//
//   build(context) → health server → prepare(signal) → run(signal) [while leading, with --leader-elect]
//                  → teardown: close(), informers, health server, client
//
// prepare runs on every instance, leader or not, so a standby keeps warm caches and takes over at once. Losing
// leadership ends the process with LeaderElectionLostError (Kubernetes' "leaderelection lost"): a restarted process
// campaigns again with fresh caches instead of acting on stale ones.
import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import { hostname } from "node:os";
import { realClock, type Clock } from "../component-base/clock.js";
import type { Logger } from "../component-base/logging.js";
import type { Registry } from "../component-base/metrics.js";
import type { SecureServingFlags } from "../component-base/secure-serving.js";
import { healthRequestListener, shutdownCheck, startHealthServer, type HealthCheck, type HealthServer } from "../component-base/server.js";
import { InformerFactory } from "./informer.js";
import { clientConfigFromFlags } from "./kubeconfig.js";
import { leaderElectionMetrics, runLeaderElection } from "./leader-election.js";
import { RestClient, restClientMetrics } from "./rest.js";
import { startSecureServing } from "./secure-serving.js";

/** --master, --kubeconfig, --kube-api-qps, --kube-api-burst. */
export interface ClientConnectionFlags {
  master?: string | undefined;
  kubeconfig?: string | undefined;
  kubeApiQps: number;
  kubeApiBurst: number;
}

/** --port and the address of the health and metrics server (--bind-address, or --address beside a secure port). */
export interface ServingFlags {
  port: number;
  bindAddress: string;
}

/** The values of component-base's leaderElectionFlags (durations in milliseconds). */
export interface LeaderElectionFlags {
  leaderElect: boolean;
  leaderElectLeaseDuration: number;
  leaderElectRenewDeadline: number;
  leaderElectRetryPeriod: number;
  leaderElectResourceNamespace: string;
  leaderElectResourceName: string;
}

/** A component's flags as runComponent reads them: leader election is all there, or not offered at all. */
export type ComponentFlags = ClientConnectionFlags & ServingFlags & (LeaderElectionFlags | { leaderElect?: undefined });

export interface RestClientFromFlagsOptions {
  /** The User-Agent, the component's name: "kube-scheduler". */
  userAgent: string;
  /** Where the rest_client_* metrics go. */
  registry: Registry;
  logger: Logger;
  clock?: Clock;
  /** Sockets kept for ordinary requests (see RestClientOptions.maxSockets). */
  maxSockets?: number;
}

/** The apiserver client the flags describe, rate-limited by --kube-api-qps/--kube-api-burst. */
export function restClientFromFlags(flags: ClientConnectionFlags, opts: RestClientFromFlagsOptions): RestClient {
  return new RestClient(clientConfigFromFlags({ master: flags.master, kubeconfig: flags.kubeconfig }), {
    qps: flags.kubeApiQps,
    burst: flags.kubeApiBurst,
    ...(opts.maxSockets !== undefined ? { maxSockets: opts.maxSockets } : {}),
    userAgent: opts.userAgent,
    metrics: restClientMetrics(opts.registry),
    logger: opts.logger,
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
}

/** Thrown when this instance stops being the leader: the process must exit (and be restarted). */
export class LeaderElectionLostError extends Error {
  constructor(readonly identity: string) {
    super(`leaderelection lost (identity ${identity})`);
    this.name = "LeaderElectionLostError";
  }
}

/** What runComponent hands a process to build its part from. */
export interface ComponentContext {
  client: RestClient;
  /** The process's shared informers; runComponent waits for them to stop during teardown. */
  informers: InformerFactory;
  registry: Registry;
  logger: Logger;
  clock: Clock;
  /** Aborts when the process shuts down and when the component ends (leadership lost, a failure). */
  signal: AbortSignal;
}

/** A process's own part. */
export interface Component {
  /** /readyz checks beyond "shutdown" (e.g. informers synced). */
  readyzChecks?: readonly HealthCheck[];
  /**
   * Runs once the health server listens, on every instance before the leader election: start informers, wait for
   * their caches. Resolving false stops the component (the caches never synced because the process is stopping).
   */
  prepare?: (signal: AbortSignal) => Promise<boolean> | boolean;
  /** The work. Runs while leading (or at once without leader election) until `signal` aborts. */
  run: (signal: AbortSignal) => Promise<void>;
  /** Releases what build made, after run ended and the informers stopped. */
  close?: () => Promise<void> | void;
}

export interface RunComponentOptions {
  /** The component's name, the client's User-Agent: "kube-scheduler". */
  name: string;
  flags: ComponentFlags;
  logger: Logger;
  /** The process's metrics registry, served on --port. */
  registry: Registry;
  clock?: Clock;
  /** The apiserver client; default restClientFromFlags(flags). Closed on return either way. */
  client?: RestClient;
  /** For the client built from the flags (see RestClientOptions.maxSockets). */
  maxSockets?: number;
  /** Whether to serve /healthz /readyz /metrics (default true; --port 0 then picks a free port). */
  serve?: boolean;
  /** Called once the health server listens (tests read the port). */
  onListening?: (port: number) => void;
  /**
   * The secure port (kube-scheduler's 10259, kube-controller-manager's 10257): the same routes over HTTPS behind
   * delegated authentication and authorization, when `flags.securePort` > 0. `pairName` names the self-signed pair
   * in --cert-dir.
   */
  secureServing?: { flags: SecureServingFlags; pairName: string; onListening?: (port: number) => void };
  /** Logged (at info, with the leader's identity) when another instance leads. */
  standbyMessage?: string;
  build: (context: ComponentContext) => Component;
}

/**
 * Runs the component until `signal` aborts, then tears it down and resolves; rejects with LeaderElectionLostError
 * when leadership is lost, or with whatever startup threw. Closes the client when it returns.
 */
export async function runComponent(signal: AbortSignal, opts: RunComponentOptions): Promise<void> {
  const { flags, logger, registry } = opts;
  const clock = opts.clock ?? realClock;
  const client = opts.client ?? restClientFromFlags(flags, { userAgent: opts.name, registry, logger, clock, ...(opts.maxSockets !== undefined ? { maxSockets: opts.maxSockets } : {}) });
  // Everything the component starts hangs off `stop`, which also aborts when the component ends, so teardown never
  // waits on informers that nobody stops.
  const stop = new AbortController();
  // Every informer's watch and every worker listens on it at once: that is its use, not a leak.
  setMaxListeners(0, stop.signal);
  const onAbort = (): void => {
    stop.abort(signal.reason);
  };
  if (signal.aborted) stop.abort(signal.reason);
  else signal.addEventListener("abort", onAbort, { once: true });
  const informers = new InformerFactory({ client, logger, clock });
  let component: Component | undefined;
  let health: HealthServer | undefined;
  let secure: HealthServer | undefined;
  try {
    component = opts.build({ client, informers, registry, logger, clock, signal: stop.signal });
    const routes = { registry, logger, readyzChecks: [shutdownCheck(signal), ...(component.readyzChecks ?? [])] };
    if (opts.serve ?? true) {
      health = await startHealthServer({ ...routes, port: flags.port, bindAddress: flags.bindAddress });
      opts.onListening?.(health.port);
    }
    const secureServing = opts.secureServing;
    if (secureServing && secureServing.flags.securePort > 0) {
      secure = await startSecureServing({
        flags: secureServing.flags,
        client,
        clientFromKubeconfig: (kubeconfig, userAgent) => restClientFromFlags({ kubeconfig, kubeApiQps: flags.kubeApiQps, kubeApiBurst: flags.kubeApiBurst }, { userAgent, registry, logger, clock }),
        pairName: secureServing.pairName,
        handler: healthRequestListener(routes),
        logger,
        clock,
      });
      secureServing.onListening?.(secure.port);
    }
    if (component.prepare && !(await component.prepare(stop.signal))) return;
    if (!flags.leaderElect) {
      await component.run(signal);
      return;
    }
    await runLeading(signal, component.run, { flags, client, clock, logger, registry, ...(opts.standbyMessage !== undefined ? { standbyMessage: opts.standbyMessage } : {}) });
  } finally {
    signal.removeEventListener("abort", onAbort);
    stop.abort();
    await informers.shutdown();
    await component?.close?.();
    await health?.close();
    await secure?.close();
    client.close();
  }
}

/** Campaigns for the Lease the flags name and runs `lead` while leading. */
async function runLeading(signal: AbortSignal, lead: (signal: AbortSignal) => Promise<void>, opts: { flags: LeaderElectionFlags; client: RestClient; clock: Clock; logger: Logger; registry: Registry; standbyMessage?: string }): Promise<void> {
  const { flags, logger } = opts;
  const identity = `${hostname()}_${randomUUID()}`;
  const standbyMessage = opts.standbyMessage ?? "Another instance is leading";
  const election = runLeaderElection(
    {
      client: opts.client,
      namespace: flags.leaderElectResourceNamespace,
      name: flags.leaderElectResourceName,
      identity,
      leaseDurationMs: flags.leaderElectLeaseDuration,
      renewDeadlineMs: flags.leaderElectRenewDeadline,
      retryPeriodMs: flags.leaderElectRetryPeriod,
      clock: opts.clock,
      logger,
      metrics: leaderElectionMetrics(opts.registry),
      onStartedLeading: lead,
      onNewLeader: (leader) => {
        if (leader !== identity) logger.info({ leader }, standbyMessage);
      },
    },
    signal,
  );
  await election.done;
  if (!signal.aborted) throw new LeaderElectionLostError(identity);
}
