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
  /** --mirroring-concurrent-service-endpoint-syncs (5), --mirroring-max-endpoints-per-subset (1000),
   *  --mirroring-endpointslice-updates-batch-period (0); absent in hand-built configs means the default. */
  mirroringConcurrentServiceEndpointSyncs?: number;
  mirroringMaxEndpointsPerSubset?: number;
  mirroringEndpointSliceUpdatesBatchPeriodMs?: number;
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
  /** How often each HPA is reconciled (--horizontal-pod-autoscaler-sync-period, default 15 s). */
  horizontalPodAutoscalerSyncPeriodMs: number;
  /** How far back the highest recommendation holds a scale-down (--horizontal-pod-autoscaler-downscale-stabilization, 5 m). */
  horizontalPodAutoscalerDownscaleStabilizationMs: number;
  /** The usage ratio's distance from 1 that is too small to act on (--horizontal-pod-autoscaler-tolerance, 0.1). */
  horizontalPodAutoscalerTolerance: number;
  /** After a pod starts, cpu samples may predate its readiness for this long (--horizontal-pod-autoscaler-cpu-initialization-period, 5 m). */
  horizontalPodAutoscalerCpuInitializationPeriodMs: number;
  /** A pod not ready this long after start counts as never ready (--horizontal-pod-autoscaler-initial-readiness-delay, 30 s). */
  horizontalPodAutoscalerInitialReadinessDelayMs: number;
  concurrentHorizontalPodAutoscalerSyncs: number;
  /** --concurrent-daemonset-syncs (default 2); absent in hand-built configs means the default. */
  concurrentDaemonsetSyncs?: number;
  /** --concurrent-statefulset-syncs (default 5); absent in hand-built configs means the default. */
  concurrentStatefulsetSyncs?: number;
  /** --concurrent-job-syncs, --concurrent-cron-job-syncs, --concurrent-ttl-after-finished-syncs (default 5 each). */
  concurrentJobSyncs: number;
  concurrentCronJobSyncs: number;
  concurrentTtlAfterFinishedSyncs: number;
  /** --concurrent-resource-quota-syncs (default 5). */
  concurrentResourceQuotaSyncs: number;
  /** How often every quota's usage is recounted from scratch (--resource-quota-sync-period, default 5 m). */
  resourceQuotaSyncPeriodMs: number;
  /** --cluster-signing-cert-file/--cluster-signing-key-file: the CA csrsigning signs with ("" or absent: it does not run). */
  clusterSigningCertFile?: string;
  clusterSigningKeyFile?: string;
  /** The longest certificate csrsigning issues (--cluster-signing-duration, default 8760h). */
  clusterSigningDurationMs?: number;
  /** --feature-gates: the gates switched on or off (absent: each gate's default, see options.ts FEATURE_GATES). */
  featureGates?: Readonly<Record<string, boolean>>;
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
