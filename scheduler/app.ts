// Wires kube-scheduler together: client, informers (all pods, all nodes), cache, queue, one framework per profile,
// event recorders, metrics and health server, and leader election — only the leader schedules, while standbys
// keep their informers, cache and queue warm so a takeover starts scheduling at once. Losing leadership ends the
// process (Kubernetes' "leaderelection lost"), so a restarted scheduler never acts on stale state.
import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { Pod, PodCondition } from "../api/types/index.js";
import { RESOURCES } from "../api/resources.js";
import { createEventRecorder, type EventRecorder } from "../client/event-recorder.js";
import { InformerFactory } from "../client/informer.js";
import { clientConfigFromFlags } from "../client/kubeconfig.js";
import { leaderElectionMetrics, runLeaderElection } from "../client/leader-election.js";
import { RestClient, restClientMetrics } from "../client/rest.js";
import { realClock, type Clock } from "../component-base/clock.js";
import type { FlagValues } from "../component-base/flags.js";
import type { Logger } from "../component-base/logging.js";
import type { Registry } from "../component-base/metrics.js";
import { shutdownCheck, startHealthServer } from "../component-base/server.js";
import { SchedulerCache } from "./cache.js";
import { defaultConfig, schedulerNameOf, parseConfig, type SchedulerConfig } from "./config.js";
import { nodeEventHandler, podEventHandler } from "./event-handlers.js";
import { Framework } from "./framework/runtime.js";
import { schedulerMetrics } from "./metrics.js";
import type { schedulerFlags } from "./options.js";
import { inTreeRegistry } from "./plugins/registry.js";
import { Scheduler, type Binder, type PodConditionWriter } from "./scheduler.js";
import { SchedulingQueue } from "./scheduling-queue.js";

const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;
const NODES = RESOURCES.find((r) => r.group === "" && r.resource === "nodes")!;

export type SchedulerFlags = FlagValues<typeof schedulerFlags>;

/** The configuration the flags (and --config, when given) describe. Throws ConfigError for a bad file. */
export function configFromFlags(flags: SchedulerFlags): SchedulerConfig {
  const defaults = {
    schedulerName: flags.schedulerName,
    percentageOfNodesToScore: flags.percentageOfNodesToScore,
    podInitialBackoffMs: flags.podInitialBackoff,
    podMaxBackoffMs: flags.podMaxBackoff,
  };
  return flags.config ? parseConfig(readFileSync(flags.config, "utf8"), defaults) : defaultConfig(defaults);
}

export interface RunOptions {
  /** The apiserver client (main.ts builds it from --master/--kubeconfig and the --kube-api-* flags). */
  client: RestClient;
  /** The process's metrics registry, served on --port. */
  registry: Registry;
  logger: Logger;
  /** Default: configFromFlags(flags). */
  config?: SchedulerConfig;
  clock?: Clock;
}

/** The client main.ts hands to runScheduler: --master/--kubeconfig, rate-limited by --kube-api-qps/--kube-api-burst. */
export function clientFromFlags(flags: SchedulerFlags, registry: Registry, logger: Logger): RestClient {
  return new RestClient(clientConfigFromFlags({ master: flags.master, kubeconfig: flags.kubeconfig }), {
    qps: flags.kubeApiQps,
    burst: flags.kubeApiBurst,
    userAgent: "kube-scheduler",
    metrics: restClientMetrics(registry),
    logger,
  });
}

/**
 * Runs the scheduler until `signal` aborts; rejects if leadership is lost or startup fails. Closes the client when
 * it returns.
 */
export async function runScheduler(flags: SchedulerFlags, signal: AbortSignal, opts: RunOptions): Promise<void> {
  const { logger, client, registry } = opts;
  // Everything started here hangs off `stop`, which also aborts when leadership is lost, so shutdown never waits on
  // informers that nobody stops.
  const stop = new AbortController();
  const onAbort = (): void => {
    stop.abort(signal.reason);
  };
  if (signal.aborted) stop.abort(signal.reason);
  else signal.addEventListener("abort", onAbort, { once: true });
  const clock = opts.clock ?? realClock;
  const config = opts.config ?? configFromFlags(flags);

  const queue: SchedulingQueue = new SchedulingQueue({
    clock,
    initialBackoffMs: config.podInitialBackoffMs,
    maxBackoffMs: config.podMaxBackoffMs,
    onIncoming: (q, event) => {
      metrics.incomingPod(q, event);
    },
  });
  const metrics = schedulerMetrics(registry, () => queue.counts());
  const cache = new SchedulerCache({ clock, logger: logger.child({ component: "cache" }) });
  const plugins = inTreeRegistry();
  const frameworks = new Map<string, Framework>();
  const recorders = new Map<string, EventRecorder>();
  for (const profile of config.profiles) {
    frameworks.set(profile.schedulerName, new Framework(profile, plugins, { logger: logger.child({ profile: profile.schedulerName }) }));
    recorders.set(profile.schedulerName, createEventRecorder({ client, component: profile.schedulerName, clock, logger }));
  }

  const factory = new InformerFactory({ client, logger, clock });
  const podInformer = factory.forResource<Pod>(PODS);
  const nodeInformer = factory.forResource(NODES);
  const responsibleFor = (pod: Readonly<Pod>): boolean => frameworks.has(schedulerNameOf(pod));
  podInformer.addEventHandler(podEventHandler({ cache, queue, responsibleFor }));
  nodeInformer.addEventHandler(nodeEventHandler({ cache, queue }));

  const scheduler = new Scheduler({
    queue,
    cache,
    frameworks,
    binder: restBinder(client),
    conditionWriter: restConditionWriter(client),
    recorder: (profile) => recorders.get(profile)!,
    currentPod: (key) => podInformer.lister.get(key),
    clock,
    logger,
    metrics,
    percentageOfNodesToScore: config.percentageOfNodesToScore,
  });

  const health = await startHealthServer({
    port: flags.port,
    bindAddress: flags.bindAddress,
    registry,
    logger,
    readyzChecks: [shutdownCheck(signal), { name: "informer-sync", check: () => podInformer.hasSynced() && nodeInformer.hasSynced() }],
  });
  try {
    factory.start(stop.signal);
    queue.run(stop.signal);
    cache.run(stop.signal);
    if (!(await factory.waitForCacheSync(stop.signal))) return;
    logger.info({ nodes: cache.nodeCount, pending: queue.counts(), profiles: [...frameworks.keys()] }, "Caches synced");

    if (!flags.leaderElect) {
      await scheduler.run(signal);
      return;
    }
    const identity = `${hostname()}_${randomUUID()}`;
    const election = runLeaderElection(
      {
        client,
        namespace: flags.leaderElectResourceNamespace,
        name: flags.leaderElectResourceName,
        identity,
        leaseDurationMs: flags.leaderElectLeaseDuration,
        renewDeadlineMs: flags.leaderElectRenewDeadline,
        retryPeriodMs: flags.leaderElectRetryPeriod,
        clock,
        logger,
        metrics: leaderElectionMetrics(registry),
        onStartedLeading: (leading) => scheduler.run(leading),
        onNewLeader: (leader) => {
          if (leader !== identity) logger.info({ leader }, "Another scheduler is the leader; standing by");
        },
      },
      signal,
    );
    await election.done;
    if (!signal.aborted) throw new Error("leaderelection lost");
  } finally {
    signal.removeEventListener("abort", onAbort);
    stop.abort();
    queue.close();
    await factory.shutdown();
    await Promise.all([...recorders.values()].map((r) => r.stop()));
    await health.close();
    client.close();
  }
}

/** Binds through pods/<name>/binding, carrying the pod's uid so a recreated pod of the same name is never bound. */
export function restBinder(client: RestClient): Binder {
  return {
    bind: (pod, nodeName) => client.bind(pod.metadata.namespace ?? "default", pod.metadata.name ?? "", nodeName, pod.metadata.uid !== undefined ? { uid: pod.metadata.uid } : {}),
  };
}

/** A strategic merge patch of pods/<name>/status: conditions merge by type, so other conditions are kept. */
export function restConditionWriter(client: RestClient): PodConditionWriter {
  return {
    async setPodScheduledCondition(pod: Readonly<Pod>, condition: PodCondition) {
      await client.patch(PODS, pod.metadata.namespace ?? "default", pod.metadata.name ?? "", "strategic", { status: { conditions: [condition] } }, { subresource: "status" });
    },
  };
}
