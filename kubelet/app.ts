// The kubelet's wiring: runComponent (client/component.ts) gives the apiserver client, the informers and the
// /healthz /readyz /metrics server on --healthz-port; this file joins the node's parts to them: node status and
// Lease (nodestatus/), host-gw routes (network/), the container environment (container-env/), volumes (volumes/),
// probes (prober/), the kubelet API on --port (server/) and the pod lifecycle (pods/) over the CRI runtime on
// --container-runtime-endpoint.
import { readFileSync } from "node:fs";
import { hostname, networkInterfaces, totalmem } from "node:os";
import { join } from "node:path";
import { RESOURCES } from "../api/resources.js";
import type { ConfigMap, Node, PersistentVolume, PersistentVolumeClaim, Pod, Secret, Service } from "../api/types/index.js";
import { runComponent } from "../client/component.js";
import { CriClient } from "../client/cri/client.js";
import { createEventRecorder } from "../client/event-recorder.js";
import { unwrapTombstone } from "../client/informer.js";
import type { RestClient } from "../client/rest.js";
import { realClock, type Clock } from "../component-base/clock.js";
import type { Logger } from "../component-base/logging.js";
import type { Registry } from "../component-base/metrics.js";
import type { EnvSources } from "./container-env/env.js";
import { PodRoutes } from "./network/pod-routes.js";
import { NodeStatusManager } from "./nodestatus/node-status.js";
import { imagesFromCri } from "./nodestatus/status.js";
import { masterFromFlags, parseNodeLabels, type KubeletFlags } from "./options.js";
import { PodManager } from "./pods/pod-manager.js";
import { instrumentedRuntime, type PodRuntime } from "./pods/runtime.js";
import { StaticPodSource } from "./pods/static-pods.js";
import { ProberManager } from "./prober/prober-manager.js";
import { startKubeletServer, type KubeletServer } from "./server/server.js";
import { servingFromFlags } from "./server/serving.js";
import { VolumeManager } from "./volumes/volume-manager.js";
import { cachedGetter } from "./object-getter.js";
import { ServiceAccountTokenManager, tokenRequester } from "./volumes/service-account-token.js";

const resource = (name: string) => RESOURCES.find((r) => r.group === "" && r.resource === name)!;
const PODS = resource("pods");
const NODES = resource("nodes");
const SERVICES = resource("services");
const CONFIGMAPS = resource("configmaps");
const SECRETS = resource("secrets");
const PERSISTENT_VOLUME_CLAIMS = resource("persistentvolumeclaims");
const PERSISTENT_VOLUMES = resource("persistentvolumes");


export interface RunKubeletOptions {
  registry: Registry;
  logger: Logger;
  client?: RestClient;
  clock?: Clock;
  /** The runtime; default a CriClient on --container-runtime-endpoint (hollow nodes pass a fake). */
  runtime?: { pods: PodRuntime; server: CriClient };
}

/** The node's name: --hostname-override, else the machine's hostname, lowercased as Kubernetes does. */
export function nodeNameFromFlags(flags: Pick<KubeletFlags, "hostnameOverride">): string {
  const name = flags.hostnameOverride !== undefined && flags.hostnameOverride !== "" ? flags.hostnameOverride : hostname();
  return name.trim().toLowerCase();
}

/** --node-ip, else the first non-loopback IPv4 address of this network namespace. */
export function nodeIpFromFlags(flags: Pick<KubeletFlags, "nodeIp">): string {
  if (flags.nodeIp !== undefined && flags.nodeIp !== "") return flags.nodeIp;
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  }
  return "127.0.0.1";
}

/** Runs the kubelet until `signal` aborts. */
export async function runKubelet(flags: KubeletFlags, signal: AbortSignal, opts: RunKubeletOptions): Promise<void> {
  const { logger, registry } = opts;
  const clock = opts.clock ?? realClock;
  const nodeName = nodeNameFromFlags(flags);
  const nodeIP = nodeIpFromFlags(flags);
  const nodeLabels = parseNodeLabels(flags.nodeLabels);
  const cri = opts.runtime?.server ?? new CriClient(flags.containerRuntimeEndpoint);
  const runtime = instrumentedRuntime(opts.runtime?.pods ?? cri, registry);
  const master = masterFromFlags(flags);
  const clusterDns = {
    servers: flags.clusterDns.split(",").map((s) => s.trim()).filter((s) => s !== ""),
    domain: flags.clusterDomain,
    hostResolvConf: flags.resolvConf === "" ? "" : readText(flags.resolvConf),
  };
  logger.info({ nodeName, nodeIP, runtimeEndpoint: flags.containerRuntimeEndpoint, rootDir: flags.rootDir }, "Starting kubelet");

  await runComponent(signal, {
    name: "kubelet",
    flags: { master, kubeconfig: flags.kubeconfig, kubeApiQps: flags.kubeApiQps, kubeApiBurst: flags.kubeApiBurst, port: flags.healthzPort, bindAddress: flags.healthzBindAddress },
    logger,
    registry,
    clock,
    serve: flags.healthzPort !== 0,
    ...(opts.client ? { client: opts.client } : {}),
    build: ({ client, informers, signal: stop }) => {
      const recorder = createEventRecorder({ client, component: "kubelet", host: nodeName, clock, logger });
      const podInformer = informers.forResource<Pod>(PODS, { fieldSelector: `spec.nodeName=${nodeName}` });
      const serviceInformer = informers.forResource<Service>(SERVICES);
      const nodeInformer = informers.forResource<Node>(NODES);

      const configMaps = cachedGetter<ConfigMap>(client, CONFIGMAPS, clock);
      const secrets = cachedGetter<Secret>(client, SECRETS, clock);
      const envSources: EnvSources = {
        services: (namespace) => serviceInformer.lister.list().filter((s) => s.metadata.namespace === namespace || (s.metadata.namespace === "default" && s.metadata.name === "kubernetes")),
        getConfigMap: configMaps,
        getSecret: secrets,
        nodeName,
        nodeIP,
        nodeIPs: [nodeIP],
      };
      // The runtime gets the node's pod CIDR once known (from --pod-cidr, or the Node's spec.podCIDR).
      let podCidr = "";
      const applyPodCidr = (cidr: string | undefined): void => {
        if (cidr === undefined || cidr === "" || cidr === podCidr) return;
        podCidr = cidr;
        runtime.updateRuntimeConfig(cidr).then(
          () => {
            logger.info({ podCIDR: cidr }, "Updated the runtime's pod CIDR");
          },
          (err: unknown) => {
            podCidr = "";
            logger.warn({ podCIDR: cidr, err: err instanceof Error ? err.message : String(err) }, "Could not update the runtime's pod CIDR");
          },
        );
      };
      const nodeStatus = new NodeStatusManager({
        nodeLister: { get: (name: string) => nodeInformer.lister.getByName(undefined, name) },
        onPodCIDR: applyPodCidr,
        images: async () => imagesFromCri(await cri.listImages()),
        client,
        recorder,
        clock,
        logger: logger.child({ component: "node-status" }),
        runtime: cri,
        nodeName,
        nodeIP,
        kubeletPort: flags.port,
        labels: nodeLabels,
        capacity: { maxPods: flags.maxPods },
        ...(flags.podCidr !== undefined ? { podCidr: flags.podCidr } : {}),
        statusUpdateFrequencyMs: flags.nodeStatusUpdateFrequency,
        statusReportFrequencyMs: 5 * 60_000,
        leaseDurationSeconds: flags.nodeLeaseDurationSeconds,
        rootDir: flags.rootDir,
      });
      // NetworkUnavailable=False once the routes are programmed.
      const podRoutes =
        flags.podRoutes === "host-gw"
          ? new PodRoutes({
              setNetworkUnavailable: (state) => {
                nodeStatus.setNetworkUnavailable(state);
              },
              nodeName,
              nodes: nodeInformer,
              logger: logger.child({ component: "pod-routes" }),
            })
          : undefined;
      const tokens = new ServiceAccountTokenManager(tokenRequester(client), clock);
      const claims = cachedGetter<PersistentVolumeClaim>(client, PERSISTENT_VOLUME_CLAIMS, clock);
      const persistentVolumes = cachedGetter<PersistentVolume>(client, PERSISTENT_VOLUMES, clock);
      const volumes = new VolumeManager({ nodeIPs: [nodeIP], rootDir: flags.rootDir, sources: { getConfigMap: configMaps, getSecret: secrets, tokens, getPersistentVolumeClaim: claims, getPersistentVolume: (name) => persistentVolumes("", name) }, logger: logger.child({ component: "volumes" }), nodeName });
      const prober = new ProberManager({
        registry,
        runtime: { execSync: (id, cmd, timeout) => runtime.execSync(id, cmd, timeout) },
        recorder,
        clock,
        logger: logger.child({ component: "prober" }),
        onResultChange: (uid) => {
          podManager.wake(uid);
        },
      });
      const podManager: PodManager = new PodManager({
        runtime,
        client,
        recorder,
        clock,
        logger: logger.child({ component: "pods" }),
        registry,
        nodeName,
        node: () => nodeInformer.lister.getByName(undefined, nodeName) ?? nodeStatus.node(),
        nodeIP,
        nodeHostname: hostname(),
        resyncPeriodMs: flags.syncFrequency,
        rootDir: flags.rootDir,
        cgroupRoot: flags.cgroupRoot,
        clusterDns,
        envSources,
        volumes,
        prober,
        memoryCapacity: totalmem(),
      });
      podInformer.addEventHandler({
        onAdd: (pod) => {
          podManager.upsert(pod);
        },
        onUpdate: (_old, pod) => {
          podManager.upsert(pod);
        },
        onDelete: (pod) => {
          podManager.remove(unwrapTombstone(pod));
        },
      });

      const ownNode = (node: Readonly<Node>): void => {
        if (node.metadata.name === nodeName) applyPodCidr(node.spec?.podCIDR);
      };
      nodeInformer.addEventHandler({
        onAdd: ownNode,
        onUpdate: (_old, node) => {
          ownNode(node);
        },
      });

      const staticPods =
        flags.podManifestPath !== undefined && flags.podManifestPath !== ""
          ? new StaticPodSource({
              dir: flags.podManifestPath,
              nodeName,
              clock,
              logger: logger.child({ component: "static-pods" }),
              onPods: (list) => {
                podManager.setStaticPods(list);
              },
            })
          : undefined;

      const serving = servingFromFlags(flags, nodeName, client, clock);
      let server: KubeletServer | undefined;
      return {
        readyzChecks: [{ name: "informer-sync", check: () => podInformer.hasSynced() }],
        prepare: async () => {
          informers.start(stop);
          nodeStatus.start().catch((err: unknown) => {
            logger.error({ err: err instanceof Error ? err.message : String(err) }, "Node status manager failed to start");
          });
          if (!(await informers.waitForCacheSync(stop))) return false;
          applyPodCidr(flags.podCidr ?? nodeStatus.node()?.spec?.podCIDR);
          return true;
        },
        run: async (runSignal) => {
          server = await startKubeletServer({ podLogsDirectory: join(flags.rootDir, "logs", "pods"), address: flags.address, port: flags.port, nodeName, pods: () => podManager.list(), runtime: cri, registry, logger: logger.child({ component: "server" }), healthy: () => podManager.healthy(), ...serving });
          await podRoutes?.start();
          logger.info({ pods: podInformer.lister.list().length, port: server.port }, "Kubelet started: syncing pods");
          // Static pods are known before the first relist, so their running containers are adopted, not removed.
          if (staticPods) podManager.setStaticPods(staticPods.read());
          await Promise.all([podManager.run(runSignal), staticPods?.run(runSignal)]);
        },
        close: async () => {
          podManager.stop();
          prober.stop();
          await podManager.idle();
          await nodeStatus.stop();
          await podRoutes?.stop({ removeRoutes: false });
          await server?.close();
          await recorder.stop();
          if (!opts.runtime) cri.close();
        },
      };
    },
  });
}


function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
