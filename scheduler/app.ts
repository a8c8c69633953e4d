// kube-scheduler's own part: cache, queue, one framework per profile, event recorders, and the informers (all pods,
// all nodes) that feed them; runComponent (client/component.ts) supplies the client, the health and metrics server
// and leader election. Only the leader schedules, while standbys keep their informers, cache and queue warm so a
// takeover starts scheduling at once. Losing leadership ends the process (Kubernetes' "leaderelection lost"), so a
// restarted scheduler never acts on stale state.
import { readFileSync } from "node:fs";
import { RESOURCES } from "../api/resources.js";
import { formatTime } from "../api/time.js";
import type { Namespace, PersistentVolume, PersistentVolumeClaim, Pod, PodCondition, PodDisruptionBudget, ReplicaSet, ReplicationController, Service, StatefulSet, StorageClass } from "../api/types/index.js";
import { runComponent } from "../client/component.js";
import { createEventRecorder, type EventRecorder } from "../client/event-recorder.js";
import type { InformerFactory } from "../client/informer.js";
import type { RestClient } from "../client/rest.js";
import { realClock, type Clock } from "../component-base/clock.js";
import type { FlagValues } from "../component-base/flags.js";
import type { Logger } from "../component-base/logging.js";
import type { Registry } from "../component-base/metrics.js";
import { SchedulerCache } from "./cache.js";
import { defaultConfig, schedulerNameOf, parseConfig, type SchedulerConfig } from "./config.js";
import { nodeEventHandler, podEventHandler, storageEventHandler } from "./event-handlers.js";
import type { ClusterLister, Preemptor, VolumeStore } from "./framework/interface.js";
import { Framework } from "./framework/runtime.js";
import { schedulerMetrics, type SchedulerMetrics } from "./metrics.js";
import type { schedulerFlags } from "./options.js";
import { inTreeRegistry } from "./plugins/registry.js";
import { Scheduler, type Binder, type PodConditionWriter } from "./scheduler.js";
import { SchedulingQueue } from "./scheduling-queue.js";

const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;
const NODES = RESOURCES.find((r) => r.group === "" && r.resource === "nodes")!;
const find = (group: string, resource: string): (typeof RESOURCES)[number] => RESOURCES.find((r) => r.group === group && r.resource === resource && !r.storageResource)!;
const SERVICES = find("", "services");
const RCS = find("", "replicationcontrollers");
const NAMESPACES = find("", "namespaces");
const REPLICASETS = find("apps", "replicasets");
const STATEFULSETS = find("apps", "statefulsets");
const PDBS = find("policy", "poddisruptionbudgets");
const PVCS = find("", "persistentvolumeclaims");
const PVS = find("", "persistentvolumes");
const STORAGE_CLASSES = find("storage.k8s.io", "storageclasses");
const CSINODES = find("storage.k8s.io", "csinodes");

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
  /** Called once the secure port listens (tests read the port). */
  onSecureListening?: (port: number) => void;
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
    // The plain port listens on --address; --bind-address is the secure port's.
    flags: { ...flags, bindAddress: flags.address },
    secureServing: { flags, pairName: "kube-scheduler", ...(opts.onSecureListening ? { onListening: opts.onSecureListening } : {}) },
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
      const lister = clusterLister(informers, cache);
      const volumes = volumeStore(informers, client);
      for (const profile of config.profiles) {
        recorders.set(profile.schedulerName, createEventRecorder({ client, component: profile.schedulerName, clock, logger }));
        const preemptor = restPreemptor(client, recorders.get(profile.schedulerName)!, queue, metrics, logger);
        frameworks.set(profile.schedulerName, new Framework(profile, plugins, { logger: logger.child({ profile: profile.schedulerName }), lister, preemptor, volumes, clock }));
      }

      const podInformer = informers.forResource<Pod>(PODS);
      const nodeInformer = informers.forResource(NODES);
      const others = [SERVICES, RCS, NAMESPACES, REPLICASETS, STATEFULSETS, PDBS, PVCS, PVS, STORAGE_CLASSES, CSINODES].map((r) => informers.forResource(r));
      const responsibleFor = (pod: Readonly<Pod>): boolean => frameworks.has(schedulerNameOf(pod));
      podInformer.addEventHandler(podEventHandler({ cache, queue, responsibleFor }));
      nodeInformer.addEventHandler(nodeEventHandler({ cache, queue }));
      informers.forResource(PVCS).addEventHandler(storageEventHandler(queue, "PvcAdd", "PvcUpdate"));
      informers.forResource(PVS).addEventHandler(storageEventHandler(queue, "PvAdd", "PvUpdate"));
      informers.forResource(STORAGE_CLASSES).addEventHandler(storageEventHandler(queue, "StorageClassAdd", "StorageClassUpdate"));
      informers.forResource(CSINODES).addEventHandler(storageEventHandler(queue, "CSINodeAdd", "CSINodeUpdate"));

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
        readyzChecks: [{ name: "informer-sync", check: () => podInformer.hasSynced() && nodeInformer.hasSynced() && others.every((i) => i.hasSynced()) }],
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
    async setPodScheduledCondition(pod: Readonly<Pod>, condition: PodCondition, nominatedNodeName?: string | null) {
      const status: Record<string, unknown> = { conditions: [condition] };
      if (nominatedNodeName !== undefined) status.nominatedNodeName = nominatedNodeName;
      await client.patch(PODS, pod.metadata.namespace ?? "default", pod.metadata.name ?? "", "strategic", { status }, { subresource: "status" });
    },
  };
}

/** The plugins' view of the cluster: the cache's nodes and the informers' objects. */
function clusterLister(informers: InformerFactory, cache: SchedulerCache): ClusterLister {
  const services = informers.forResource<Service>(SERVICES).lister;
  const rcs = informers.forResource<ReplicationController>(RCS).lister;
  const namespaces = informers.forResource<Namespace>(NAMESPACES).lister;
  const replicaSets = informers.forResource<ReplicaSet>(REPLICASETS).lister;
  const statefulSets = informers.forResource<StatefulSet>(STATEFULSETS).lister;
  const pdbs = informers.forResource<PodDisruptionBudget>(PDBS).lister;
  return {
    nodeInfos: () => cache.nodeInfos(),
    services: (ns) => services.listNamespace(ns),
    replicationController: (ns, name) => rcs.getByName(ns, name),
    replicaSet: (ns, name) => replicaSets.getByName(ns, name),
    statefulSet: (ns, name) => statefulSets.getByName(ns, name),
    namespaceLabels: (name) => {
      const ns = namespaces.getByName(undefined, name);
      return ns ? (ns.metadata.labels ?? {}) : undefined;
    },
    namespaces: () => namespaces.list(),
    podDisruptionBudgets: (ns) => pdbs.listNamespace(ns),
  };
}

/** VolumeBinding's view of claims, volumes and classes (the informers) and its writes (full updates). */
function volumeStore(informers: InformerFactory, client: RestClient): VolumeStore {
  const claims = informers.forResource<PersistentVolumeClaim>(PVCS).lister;
  const volumes = informers.forResource<PersistentVolume>(PVS).lister;
  const classes = informers.forResource<StorageClass>(STORAGE_CLASSES).lister;
  return {
    claim: (ns, name) => claims.getByName(ns, name),
    volume: (name) => volumes.getByName(undefined, name),
    volumes: () => volumes.list(),
    storageClass: (name) => classes.getByName(undefined, name),
    updateVolume: (volume) => client.update(PVS, undefined, volume),
    updateClaim: (claim) => client.update(PVCS, claim.metadata.namespace, claim),
  };
}

/**
 * Preemption's API side: a victim first gets the DisruptionTarget condition (so its controllers know why it goes),
 * then is deleted with its own grace period, and a Preempted event names the preemptor.
 */
function restPreemptor(client: RestClient, recorder: EventRecorder, queue: SchedulingQueue, metrics: SchedulerMetrics, logger: Logger): Preemptor {
  return {
    evict(victim, preemptor, nodeName) {
      const ns = victim.metadata.namespace ?? "default";
      const name = victim.metadata.name ?? "";
      const condition: PodCondition = {
        type: "DisruptionTarget",
        status: "True",
        reason: "PreemptionByScheduler",
        message: `${schedulerNameOf(preemptor)}: preempting to accommodate a higher priority pod`,
        lastTransitionTime: formatTime(Date.now()),
      };
      recorder.event(victim, "Normal", "Preempted", `Preempted by pod ${preemptor.metadata.uid ?? ""} on node ${nodeName}`);
      void (async () => {
        try {
          await client.patch(PODS, ns, name, "strategic", { status: { conditions: [condition] } }, { subresource: "status" });
        } catch (err) {
          logger.debug({ err, pod: `${ns}/${name}` }, "Could not set DisruptionTarget on the victim");
        }
        try {
          await client.delete(PODS, ns, name, victim.metadata.uid ? { preconditions: { uid: victim.metadata.uid } } : {});
        } catch (err) {
          logger.info({ err, pod: `${ns}/${name}` }, "Could not delete the preemption victim");
        }
      })();
    },
    clearNominations(nodeName, belowPriority) {
      for (const p of queue.nominatedPodsForNode(nodeName)) {
        if ((p.spec?.priority ?? 0) >= belowPriority) continue;
        queue.nominate(p, undefined);
        client.patch(PODS, p.metadata.namespace ?? "default", p.metadata.name ?? "", "strategic", { status: { nominatedNodeName: null } }, { subresource: "status" }).catch((err: unknown) => {
          logger.debug({ err }, "Could not clear a lower-priority pod's nomination");
        });
      }
    },
    attempted: () => {
      metrics.preemptionAttempt();
    },
    victims: (n) => {
      metrics.preemptionVictims(n);
    },
  };
}
