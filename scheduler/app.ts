// kube-scheduler's own part: cache, queue, one framework per profile, event recorders, and the informers (all pods,
// all nodes) that feed them; runComponent (client/component.ts) supplies the client, the health and metrics server
// and leader election. Only the leader schedules, while standbys keep their informers, cache and queue warm so a
// takeover starts scheduling at once. Losing leadership ends the process (Kubernetes' "leaderelection lost"), so a
// restarted scheduler never acts on stale state.
import { readFileSync } from "node:fs";
import { RESOURCES } from "../api/resources.js";
import type { Pod, PodCondition } from "../api/types/index.js";
import { runComponent } from "../client/component.js";
import { createEventRecorder, type EventRecorder } from "../client/event-recorder.js";
import type { RestClient } from "../client/rest.js";
import { realClock, type Clock } from "../component-base/clock.js";
import type { FlagValues } from "../component-base/flags.js";
import type { Logger } from "../component-base/logging.js";
import type { Registry } from "../component-base/metrics.js";
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
  /** The process's metrics registry, served on --port. */
  registry: Registry;
  logger: Logger;
  /** The apiserver client; default the one --master/--kubeconfig and the --kube-api-* flags describe. */
  client?: RestClient;
  /** Default: configFromFlags(flags). */
  config?: SchedulerConfig;
  clock?: Clock;
}

/**
 * Runs the scheduler until `signal` aborts; rejects if leadership is lost or startup fails. Closes the client when
 * it returns.
 */
export async function runScheduler(flags: SchedulerFlags, signal: AbortSignal, opts: RunOptions): Promise<void> {
  const { logger, registry } = opts;
  const clock = opts.clock ?? realClock;
  const config = opts.config ?? configFromFlags(flags);
  await runComponent(signal, {
    name: "kube-scheduler",
    flags,
    logger,
    registry,
    clock,
    ...(opts.client ? { client: opts.client } : {}),
    standbyMessage: "Another scheduler is the leader; standing by",
    build: ({ client, informers, signal: stop }) => {
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

      const podInformer = informers.forResource<Pod>(PODS);
      const nodeInformer = informers.forResource(NODES);
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

      return {
        readyzChecks: [{ name: "informer-sync", check: () => podInformer.hasSynced() && nodeInformer.hasSynced() }],
        // Standbys keep informers, cache and queue warm, so a takeover starts scheduling at once.
        prepare: async () => {
          informers.start(stop);
          queue.run(stop);
          cache.run(stop);
          if (!(await informers.waitForCacheSync(stop))) return false;
          logger.info({ nodes: cache.nodeCount, pending: queue.counts(), profiles: [...frameworks.keys()] }, "Caches synced");
          return true;
        },
        run: (leading) => scheduler.run(leading),
        close: async () => {
          queue.close();
          await Promise.all([...recorders.values()].map((r) => r.stop()));
        },
      };
    },
  });
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
