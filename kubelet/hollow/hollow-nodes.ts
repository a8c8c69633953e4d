// Hollow nodes: N real kubelets in one process, each its own NodeStatusManager (registration, Lease, node status)
// and PodManager (pod workers, status, probes, PLEG) over a HollowRuntime (runtime.ts), like Kubernetes' kubemark.
// What would cost per node in a real kubelet is shared or left out, so 1,000 fit in one process:
//   - one Node informer (every node's status manager reads its Node from its lister) and one Pod informer over
//     bound pods (`spec.nodeName!=`), dispatched to the node's pod manager here: no per-node watch;
//   - one client (rate limit shared), one metrics registry (kubelet_running_pods / _containers summed over nodes);
//   - no kubelet API server (status.daemonEndpoints still says 10250; logs/exec through the apiserver fail), no
//     Service informer (containers get no service environment variables: nothing runs them);
//   - status checks and lease renewals of node i start at i·period/N, so they stay spread over the period;
//   - registrations run --concurrent-node-syncs at a time; the PLEG relists every 10 s (the fake runtime changes
//     only through the kubelet's own calls, which sync the pod anyway, or when a command such as `sleep N` ends,
//     which wakes the pod's worker).
// Nothing of a pod goes to disk (writeToDisk: false for the volume and pod managers): no container reads a hollow
// pod's volumes, /etc/hosts or termination log, and their per-pod mkdir/open/write/symlink calls were the largest
// part of the process's CPU per pod. Volume sources are still resolved (a missing ConfigMap is FailedMount). The
// root dir (a temporary one removed at exit, in /dev/shm when there is room) only names the paths the mounts carry.
import { accessSync, constants, mkdirSync, mkdtempSync, readdirSync, rmSync, statfsSync } from "node:fs";
import { release, tmpdir } from "node:os";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import { parseQuantity, quantityValue } from "../../api/quantity.js";
import { RESOURCES } from "../../api/resources.js";
import type { ConfigMap, Container, Node, Pod, Secret } from "../../api/types/index.js";
import { restClientFromFlags, runComponent, type ComponentFlags } from "../../client/component.js";
import { createEventRecorder, type EventRecorder } from "../../client/event-recorder.js";
import { unwrapTombstone } from "../../client/informer.js";
import type { RestClient } from "../../client/rest.js";
import { realClock, type Clock } from "../../component-base/clock.js";
import type { Logger } from "../../component-base/logging.js";
import { gauge, type Registry } from "../../component-base/metrics.js";
import { NodeStatusManager, type MachineInfo, type NodePressure } from "../nodestatus/node-status.js";
import { PodManager } from "../pods/pod-manager.js";
import { instrumentedRuntime } from "../pods/runtime.js";
import { ProberManager } from "../prober/prober-manager.js";
import { VolumeManager } from "../volumes/volume-manager.js";
import { cachedGetter } from "../object-getter.js";
import type { HollowNodesConfig } from "./options.js";
import { HollowRuntime, UNREADY_PROBE_COMMAND } from "./runtime.js";

const resource = (name: string) => RESOURCES.find((r) => r.group === "" && r.resource === name)!;
const PODS = resource("pods");
const NODES = resource("nodes");
const CONFIGMAPS = resource("configmaps");
const SECRETS = resource("secrets");

export const FAIL_ANNOTATION = "kubelab.io/hollow-fail";
export const CRASHLOOP_ANNOTATION = "kubelab.io/hollow-crashloop";
export const UNREADY_ANNOTATION = "kubelab.io/hollow-unready";
/** kubelet --sync-frequency's role for the fake runtime's relist (see the header). */
const RELIST_PERIOD_MS = 10_000;
const KUBELET_PORT = 10250;
const CLUSTER_DNS = { servers: ["10.96.0.10"], domain: "cluster.local", hostResolvConf: "" };

type Steering = "fail" | "unready" | undefined;

/** What the steering annotations ask of a pod: fail (or crashloop) wins over unready. */
export function steeringOf(pod: Readonly<Pod>): Steering {
  const a = pod.metadata.annotations ?? {};
  if (a[FAIL_ANNOTATION] === "true" || a[CRASHLOOP_ANNOTATION] === "true") return "fail";
  if (a[UNREADY_ANNOTATION] === "true") return "unready";
  return undefined;
}

/** The pod with a readiness probe that never succeeds on every container (the unready annotation). */
export function unreadyView(pod: Readonly<Pod>): Readonly<Pod> {
  const probe = { exec: { command: [UNREADY_PROBE_COMMAND] }, periodSeconds: 3600, failureThreshold: 1, successThreshold: 1, timeoutSeconds: 1 };
  const withProbe = (c: Readonly<Container>): Container => ({ ...c, readinessProbe: probe });
  const spec = pod.spec ?? { containers: [] };
  return { ...pod, spec: { ...spec, containers: spec.containers.map(withProbe) } };
}

/** Node i's InternalIP: a made-up address in the lab's node network, 172.30.128.1 upwards, 254 per /24. */
export function internalIPFor(index: number): string {
  return `172.30.${128 + Math.floor(index / 254)}.${(index % 254) + 1}`;
}

export interface RunHollowNodesOptions {
  logger: Logger;
  registry: Registry;
  clock?: Clock;
  client?: RestClient;
  /** The client events are created with (default one from the flags limited by --event-qps/--event-burst). */
  eventClient?: RestClient;
}

/** --event-qps and --event-burst: as the kubelet, events go through a client of their own with its own limit. */
export interface EventRateFlags {
  eventQps: number;
  eventBurst: number;
}

interface HollowKubelet {
  name: string;
  runtime: HollowRuntime;
  recorder: EventRecorder;
  nodeStatus: NodeStatusManager;
  prober: ProberManager;
  pods: PodManager;
}

/** Runs the hollow nodes until `signal` aborts. */
export async function runHollowNodes(flags: ComponentFlags & EventRateFlags, config: HollowNodesConfig, signal: AbortSignal, opts: RunHollowNodesOptions): Promise<void> {
  const { logger, registry } = opts;
  const clock = opts.clock ?? realClock;
  const kubelets = new Map<string, HollowKubelet>();
  const steering = new Map<string, Steering>();
  let registered = 0;
  gauge(registry, {
    name: "kubelet_running_pods",
    help: "Number of pods that have a running pod sandbox (summed over the hollow nodes)",
    collect() {
      let n = 0;
      for (const k of kubelets.values()) n += k.runtime.readySandboxes();
      this.set(n);
    },
  });
  gauge<"container_state">(registry, {
    name: "kubelet_running_containers",
    help: "Number of containers currently running (summed over the hollow nodes)",
    labelNames: ["container_state"],
    collect() {
      const counts = new Map<string, number>();
      for (const k of kubelets.values()) k.runtime.countContainers(counts);
      this.reset();
      for (const [state, n] of counts) this.set({ container_state: state }, n);
    },
  });
  gauge(registry, {
    name: "hollow_nodes",
    help: "Nodes registered by this hollow-nodes process",
    collect() {
      this.set(registered);
    },
  });
  const ownRoot = config.rootDir === undefined;
  const rootDir = config.rootDir ?? freshRootDir(logger);
  mkdirSync(rootDir, { recursive: true });
  // Also on process.exit (the parent gone, a fatal error): only SIGKILL leaves the directory behind.
  const removeRoot = (): void => {
    if (ownRoot) rmSync(rootDir, { recursive: true, force: true });
  };
  process.once("exit", removeRoot);
  const machine: MachineInfo = {
    cpus: Math.max(1, Math.ceil(quantityValue(parseQuantity(config.capacity.cpu)))),
    memoryBytes: quantityValue(parseQuantity(config.capacity.memory)),
    rootFsBytes: quantityValue(parseQuantity(config.capacity["ephemeral-storage"])),
    kernelVersion: release(),
    osImage: "kubelab hollow node",
    operatingSystem: "linux",
    architecture: "amd64",
    bootID: randomUUID(),
    machineID: "",
    systemUUID: "",
  };
  const noPressure = (): Promise<NodePressure> => Promise.resolve({ memory: false, disk: false, pid: false });
  const labels = { "node.kubernetes.io/instance-type": "hollow", type: "hollow", ...config.labels };
  logger.info({ count: config.count, namePrefix: config.namePrefix, startIndex: config.startIndex, rootDir }, "Starting hollow nodes");
  // The kubelet's separate event client (--event-qps, --event-burst), shared here by all the nodes, so events of
  // thousands of pods trickle in instead of crowding out the writes that matter.
  const eventClient = opts.eventClient ?? restClientFromFlags({ ...flags, kubeApiQps: flags.eventQps, kubeApiBurst: flags.eventBurst }, { userAgent: "kubelet", registry, logger, clock });

  try {
    await runComponent(signal, {
      name: "kubelet",
      flags,
      logger,
      registry,
      clock,
      serve: (flags.port ?? 0) > 0,
      ...(opts.client ? { client: opts.client } : {}),
      build: ({ client, informers, signal: stop }) => {
        const nodeInformer = informers.forResource<Node>(NODES);
        const podInformer = informers.forResource<Pod>(PODS, { fieldSelector: "spec.nodeName!=" });
        const nodeLister = { get: (name: string) => nodeInformer.lister.getByName(undefined, name) };
        const getConfigMap = cachedGetter<ConfigMap>(client, CONFIGMAPS, clock);
        const getSecret = cachedGetter<Secret>(client, SECRETS, clock);

        for (let i = 0; i < config.count; i++) {
          const index = config.startIndex + i;
          const name = `${config.namePrefix}-${index}`;
          const nodeIP = internalIPFor(index);
          const nodeLogger = logger.child({ node: name });
          const recorder = createEventRecorder({ client: eventClient, component: "kubelet", host: name, clock, logger: nodeLogger });
          const runtime = new HollowRuntime({
            nodeName: name,
            clock,
            startDelayMs: config.startDelayMs,
            podCIDRWaitMs: config.podCIDRWaitMs,
            podCIDRFallback: config.podCIDRFallback,
            missingImages: config.missingImages,
            failsAtStart: (uid) => steering.get(uid) === "fail",
            // A command that ends by itself (`sleep N`) wakes its pod's worker instead of waiting for the 10 s relist.
            onContainerExit: (uid) => {
              pods.wake(uid);
            },
            onFallback: (cidr) => {
              nodeLogger.info({ podCIDR: cidr }, "No podCIDR on the node; pod IPs come from a pseudo range");
            },
          });
          const podRuntime = instrumentedRuntime(runtime, registry);
          const nodeStatus = new NodeStatusManager({
            client,
            recorder,
            clock,
            logger: nodeLogger,
            runtime,
            nodeName: name,
            nodeIP,
            kubeletPort: KUBELET_PORT,
            labels,
            capacity: { cpu: config.capacity.cpu, memory: config.capacity.memory, ephemeralStorage: config.capacity["ephemeral-storage"], maxPods: Number(config.capacity.pods) },
            allocatable: config.capacity,
            statusUpdateFrequencyMs: config.nodeStatusUpdateFrequencyMs,
            statusReportFrequencyMs: config.nodeStatusReportFrequencyMs,
            leaseDurationSeconds: config.leaseDurationSeconds,
            leaseRenewIntervalMs: config.leaseRenewIntervalMs,
            rootDir,
            nodeLister,
            machine,
            pressure: noPressure,
            startOffsetMs: Math.floor((i * config.nodeStatusUpdateFrequencyMs) / config.count),
            registerAgainWhenDeleted: false,
            onPodCIDR: (cidr) => {
              void runtime.updateRuntimeConfig(cidr);
            },
          });
          const nodeRoot = join(rootDir, name);
          const prober = new ProberManager({
            registry,
            // Nothing listens at a hollow pod's address: network probes succeed as a serving container's would.
            network: "simulated",
            runtime: podRuntime,
            recorder,
            clock,
            logger: nodeLogger,
            onResultChange: (uid) => {
              pods.wake(uid);
            },
          });
          const pods: PodManager = new PodManager({
            runtime: podRuntime,
            client,
            recorder,
            clock,
            logger: nodeLogger,
            registry,
            nodeName: name,
            node: () => nodeLister.get(name) ?? nodeStatus.node(),
            nodeIP,
            nodeHostname: name,
            rootDir: nodeRoot,
            writeToDisk: false,
            cgroupRoot: "",
            clusterDns: CLUSTER_DNS,
            envSources: { services: () => [], getConfigMap, getSecret, nodeName: name, nodeIP },
            volumes: new VolumeManager({ rootDir: nodeRoot, sources: { getConfigMap, getSecret }, logger: nodeLogger, nodeName: name, nodeIPs: [nodeIP], nodeAllocatable: config.capacity, tmpfs: false, writeToDisk: false }),
            prober,
            memoryCapacity: machine.memoryBytes,
            relistPeriodMs: RELIST_PERIOD_MS,
            localPodView: (pod) => (steering.get(pod.metadata.uid ?? "") === "unready" ? unreadyView(pod) : pod),
          });
          kubelets.set(name, { name, runtime, recorder, nodeStatus, prober, pods });
        }

        const kubeletOf = (pod: Readonly<Pod>): HollowKubelet | undefined => kubelets.get(pod.spec?.nodeName ?? "");
        const steer = (pod: Readonly<Pod>): boolean => {
          const uid = pod.metadata.uid ?? "";
          const next = steeringOf(pod);
          const changed = steering.get(uid) !== next;
          if (next === undefined) steering.delete(uid);
          else steering.set(uid, next);
          return changed;
        };
        podInformer.addEventHandler({
          onAdd: (pod) => {
            const k = kubeletOf(pod);
            if (!k) return;
            steer(pod);
            k.pods.upsert(pod);
          },
          onUpdate: (_old, pod) => {
            const k = kubeletOf(pod);
            if (!k) return;
            const changed = steer(pod);
            k.pods.upsert(pod);
            if (changed) k.pods.wake(pod.metadata.uid ?? "");
          },
          onDelete: (obj) => {
            const pod = unwrapTombstone(obj);
            steering.delete(pod.metadata.uid ?? "");
            kubeletOf(pod)?.pods.remove(pod);
          },
        });

        // A new podCIDR reaches the node's runtime at once (the status manager would only see it at its next check).
        const ownNode = (node: Readonly<Node>): void => {
          const cidr = node.spec?.podCIDR;
          if (cidr) void kubelets.get(node.metadata.name ?? "")?.runtime.updateRuntimeConfig(cidr);
        };
        nodeInformer.addEventHandler({
          onAdd: ownNode,
          onUpdate: (_old, node) => {
            ownNode(node);
          },
        });

        const registerAll = async (): Promise<void> => {
          const started = clock.now();
          const queue = [...kubelets.values()];
          let next = 0;
          const worker = async (): Promise<void> => {
            while (next < queue.length && !stop.aborted) {
              const k = queue[next++]!;
              await k.nodeStatus.start();
              registered++;
            }
          };
          await Promise.all(Array.from({ length: Math.min(config.concurrentNodeSyncs, queue.length) }, worker));
          if (!stop.aborted) logger.info({ count: registered, ms: clock.now() - started }, "All hollow nodes registered");
        };

        return {
          readyzChecks: [{ name: "informer-sync", check: () => podInformer.hasSynced() && nodeInformer.hasSynced() }],
          prepare: async () => {
            informers.start(stop);
            return informers.waitForCacheSync(stop);
          },
          run: async (runSignal) => {
            const registering = registerAll().catch((err: unknown) => {
              logger.error({ err }, "Registering the hollow nodes failed");
            });
            logger.info({ pods: podInformer.lister.list().length }, "Hollow kubelets started: syncing pods");
            await Promise.all([registering, ...[...kubelets.values()].map((k) => k.pods.run(runSignal))]);
          },
          close: async () => {
            for (const k of kubelets.values()) {
              k.pods.stop();
              k.prober.stop();
            }
            for (const k of kubelets.values()) await k.pods.idle();
            await Promise.all([...kubelets.values()].map((k) => k.nodeStatus.stop()));
            await Promise.all([...kubelets.values()].map((k) => k.recorder.stop()));
          },
        };
      },
    });
  } finally {
    if (!opts.eventClient) eventClient.close();
    process.off("exit", removeRoot);
    removeRoot();
    logger.info({}, "Hollow nodes stopped");
  }
}

const ROOT_PREFIX = "kubelab-hollow-";
const SHM = "/dev/shm";
/** /dev/shm is used when it has this much free (a container's default 64 MiB one is left alone). */
const MIN_SHM_FREE_BYTES = 1024 ** 3;

/** Where default root dirs go: /dev/shm when it is writable with room to spare, else the temporary directory. */
export function rootDirBase(): string {
  try {
    accessSync(SHM, constants.W_OK);
    const fs = statfsSync(SHM);
    if (fs.bavail * fs.bsize >= MIN_SHM_FREE_BYTES) return SHM;
  } catch {
    // no /dev/shm here
  }
  return tmpdir();
}

/**
 * A new temporary root dir named after this process (kubelab-hollow-<pid>-XXXXXX); those of processes that no longer
 * exist (killed with SIGKILL, which leaves no chance to clean up) are removed first.
 */
function freshRootDir(logger: Logger): string {
  const base = rootDirBase();
  for (const entry of readdirSync(base)) {
    const pid = new RegExp(`^${ROOT_PREFIX}(\\d+)-`).exec(entry)?.[1];
    if (pid === undefined || processExists(Number(pid))) continue;
    rmSync(join(base, entry), { recursive: true, force: true });
    logger.debug({ dir: entry }, "Removed the root dir of a hollow-nodes process that is gone");
  }
  return mkdtempSync(join(base, `${ROOT_PREFIX}${process.pid}-`));
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

