// The contract between kube-controller-manager and its controllers: each controller is built by a factory from a
// shared context (one REST client, one informer factory, one metrics registry) and runs until its signal aborts.
import type { EventRecorder } from "../../client/event-recorder.js";
import type { InformerFactory } from "../../client/informer.js";
import type { RestClient } from "../../client/rest.js";
import type { Clock } from "../../component-base/clock.js";
import type { Logger } from "../../component-base/logging.js";
import type { Registry } from "../../component-base/metrics.js";

/** The controller-manager's tunables, from its flags (Kubernetes' names; durations in milliseconds). */
export interface ControllerManagerConfig {
  concurrentReplicasetSyncs: number;
  concurrentRcSyncs: number;
  concurrentDeploymentSyncs: number;
  concurrentEndpointSyncs: number;
  concurrentServiceEndpointSyncs: number;
  concurrentGcSyncs: number;
  concurrentNamespaceSyncs: number;
  /** How often the node lifecycle controller checks node health (--node-monitor-period, default 5 s). */
  nodeMonitorPeriodMs: number;
  /** A node whose Lease/Ready heartbeat is older than this becomes Ready=Unknown (--node-monitor-grace-period, default 40 s). */
  nodeMonitorGracePeriodMs: number;
  /** Whether node IPAM assigns podCIDRs (--allocate-node-cidrs) from clusterCidr in /nodeCidrMaskSize blocks. */
  allocateNodeCidrs: boolean;
  clusterCidr: string;
  nodeCidrMaskSize: number;
  /** --root-ca-file: the CA bundle published as kube-root-ca.crt in every namespace ("" publishes an empty one). */
  rootCaFile: string;
  /** --concurrent-resource-quota-syncs (default 5). */
  concurrentResourceQuotaSyncs: number;
  /** How often every quota's usage is recounted from scratch (--resource-quota-sync-period, default 5 m). */
  resourceQuotaSyncPeriodMs: number;
}

export interface ControllerContext {
  client: RestClient;
  informers: InformerFactory;
  /** An event recorder whose source.component is `component` (e.g. "replicaset-controller"). */
  recorder(component: string): EventRecorder;
  logger: Logger;
  metrics: Registry;
  clock: Clock;
  config: ControllerManagerConfig;
}

export interface Controller {
  /** The --controllers name, e.g. "replicaset", "deployment", "endpoints". */
  readonly name: string;
  /** Waits for its informers to sync, runs its workers, and returns after `signal` aborts and workers stopped. */
  run(signal: AbortSignal): Promise<void>;
}

export type ControllerFactory = (context: ControllerContext) => Controller;
