// kube-controller-manager's flags, with Kubernetes' names and defaults, and their conversion into the
// ControllerManagerConfig every controller reads. /healthz, /readyz and /metrics are served on the secure port
// (--secure-port 10257, HTTPS with delegated authentication and authorization, as Kubernetes does) and on the plain,
// unauthenticated --port/--address of Kubernetes before 1.23 (the lab's probes, compose's healthchecks, Prometheus).
import { defineFlags, leaderElectionFlags, loggingFlags, parseFlags, type FlagValues } from "../component-base/flags.js";
import { secureServingFlags } from "../component-base/secure-serving.js";
import { validateMirroringOptions } from "./controllers/endpointslicemirroring/endpointslicemirroring-controller.js";
import type { ControllerManagerConfig } from "./controllers/types.js";

/** Kubernetes' kube-controller-manager secure port. */
export const CONTROLLER_MANAGER_SECURE_PORT = 10257;

export const controllerManagerFlags = defineFlags({
  master: { type: "string", help: "The address of the Kubernetes API server (overrides any value in kubeconfig)." },
  kubeconfig: { type: "string", help: "Path to kubeconfig file with authorization and master location information." },
  kubeApiQps: { type: "number", default: 200, help: "QPS to use while talking with kubernetes apiserver (Kubernetes' default is 20; the lab's apiserver takes far more)." },
  kubeApiBurst: { type: "number", default: 400, help: "Burst to use while talking with kubernetes apiserver." },
  controllers: {
    type: "stringArray",
    default: ["*"],
    help: "A list of controllers to enable. '*' enables all on-by-default controllers, 'foo' enables the controller named 'foo', '-foo' disables the controller named 'foo'. Comma-separated or repeated.",
  },
  useServiceAccountCredentials: { type: "boolean", default: false, help: "If true, use individual service account credentials for each controller." },
  ...leaderElectionFlags("kube-controller-manager"),
  concurrentReplicasetSyncs: { type: "number", default: 5, help: "The number of replica sets that are allowed to sync concurrently. Larger number = more responsive replica management, but more CPU (and network) load." },
  concurrentRcSyncs: { type: "number", default: 5, help: "The number of replication controllers that are allowed to sync concurrently. Larger number = more responsive replica management, but more CPU (and network) load." },
  concurrentDeploymentSyncs: { type: "number", default: 5, help: "The number of deployment objects that are allowed to sync concurrently. Larger number = more responsive deployments, but more CPU (and network) load." },
  concurrentEndpointSyncs: { type: "number", default: 5, help: "The number of endpoint syncing operations that will be done concurrently. Larger number = faster endpoint updating, but more CPU (and network) load." },
  concurrentServiceEndpointSyncs: { type: "number", default: 5, help: "The number of service endpoint syncing operations that will be done concurrently. Larger number = faster endpoint slice updating, but more CPU (and network) load." },
  mirroringConcurrentServiceEndpointSyncs: { type: "number", default: 5, help: "The number of service endpoint syncing operations that will be done concurrently by the EndpointSliceMirroring controller. Larger number = faster endpoint slice updating, but more CPU (and network) load. Defaults to 5." },
  mirroringMaxEndpointsPerSubset: { type: "number", default: 1000, help: "The maximum number of endpoints that will be added to an EndpointSlice by the EndpointSliceMirroring controller. More endpoints per slice will result in less endpoint slices, but larger resources. Defaults to 1000." },
  mirroringEndpointsliceUpdatesBatchPeriod: { type: "duration", default: "0s", help: "The length of EndpointSlice updates batching period for EndpointSliceMirroring controller. Processing of EndpointSlice changes will be delayed by this duration to join them with potential upcoming updates and reduce the overall number of EndpointSlice updates. Larger number = higher endpoint programming latency, but lower number of endpoints revision generated" },
  concurrentGcSyncs: { type: "number", default: 20, help: "The number of garbage collector workers that are allowed to sync concurrently." },
  concurrentNamespaceSyncs: { type: "number", default: 10, help: "The number of namespace objects that are allowed to sync concurrently. Larger number = more responsive namespace termination, but more CPU (and network) load." },
  concurrentDaemonsetSyncs: { type: "number", default: 2, help: "The number of daemonset objects that are allowed to sync concurrently. Larger number = more responsive daemonsets, but more CPU (and network) load." },
  concurrentStatefulsetSyncs: { type: "number", default: 5, help: "The number of statefulset objects that are allowed to sync concurrently. Larger number = more responsive statefulsets, but more CPU (and network) load." },
  nodeMonitorPeriod: { type: "duration", default: "5s", help: "The period for syncing NodeStatus in cloud-node-lifecycle-controller." },
  nodeMonitorGracePeriod: { type: "duration", default: "40s", help: "Amount of time which we allow running Node to be unresponsive before marking it unhealthy. Must be N times more than kubelet's nodeStatusUpdateFrequency, where N means number of retries allowed for kubelet to post node status." },
  allocateNodeCidrs: { type: "boolean", default: false, help: "Should CIDRs for Pods be allocated and set on the cloud provider." },
  clusterCidr: { type: "string", default: "10.244.0.0/16", help: "CIDR Range for Pods in cluster. Requires --allocate-node-cidrs to be true" },
  nodeCidrMaskSize: { type: "number", default: 24, help: "Mask size for node cidr in cluster." },
  rootCaFile: { type: "string", default: "", help: "If set, this root certificate authority will be included in the kube-root-ca.crt ConfigMap of every namespace. Without it the ConfigMap is published with an empty ca.crt (a plain-HTTP cluster has no CA; `kubelab up --secure` passes its CA)." },
  horizontalPodAutoscalerSyncPeriod: { type: "duration", default: "15s", help: "The period for syncing the number of pods in horizontal pod autoscaler." },
  horizontalPodAutoscalerDownscaleStabilization: { type: "duration", default: "5m0s", help: "The period for which autoscaler will look backwards and not scale down below any recommendation it made during that period." },
  horizontalPodAutoscalerTolerance: { type: "number", default: 0.1, help: "The minimum change (from 1.0) in the desired-to-actual metrics ratio for the horizontal pod autoscaler to consider scaling." },
  horizontalPodAutoscalerCpuInitializationPeriod: { type: "duration", default: "5m0s", help: "The period after pod start when CPU samples might be skipped." },
  horizontalPodAutoscalerInitialReadinessDelay: { type: "duration", default: "30s", help: "The period after pod start during which readiness changes will be treated as initial readiness." },
  concurrentHorizontalPodAutoscalerSyncs: { type: "number", default: 5, help: "The number of horizontal pod autoscaler objects that are allowed to sync concurrently. Larger number = more responsive horizontal pod autoscaler objects processing, but more CPU (and network) load." },
  concurrentJobSyncs: { type: "number", default: 5, help: "The number of job objects that are allowed to sync concurrently. Larger number = more responsive jobs, but more CPU (and network) load." },
  concurrentCronJobSyncs: { type: "number", default: 5, help: "The number of cron job objects that are allowed to sync concurrently. Larger number = more responsive jobs, but more CPU (and network) load." },
  concurrentTtlAfterFinishedSyncs: { type: "number", default: 5, help: "The number of ttl-after-finished-controller workers that are allowed to sync concurrently." },
  concurrentResourceQuotaSyncs: { type: "number", default: 5, help: "The number of resource quotas that are allowed to sync concurrently. Larger number = more responsive quota management, but more CPU (and network) load." },
  resourceQuotaSyncPeriod: { type: "duration", default: "5m", help: "The period for syncing quota usage status in the system." },
  clusterSigningCertFile: { type: "string", default: "", help: "Filename containing a PEM-encoded X509 CA certificate used to issue cluster-scoped certificates. Without it (and --cluster-signing-key-file) the csrsigning controller does not run." },
  clusterSigningKeyFile: { type: "string", default: "", help: "Filename containing a PEM-encoded RSA or ECDSA private key used to sign cluster-scoped certificates." },
  clusterSigningDuration: { type: "duration", default: "8760h0m0s", help: "The max length of duration signed certificates will be given. Individual CSRs may request shorter certs by setting spec.expirationSeconds." },
  featureGates: {
    type: "stringArray",
    default: [],
    help: "A set of key=value pairs that describe feature gates for alpha/experimental features. Options are:\nMaxUnavailableStatefulSet=true|false (ALPHA - default=false)",
  },
  port: { type: "number", default: 10252, help: "The port on which to serve unsecured, unauthenticated /healthz, /readyz and /metrics (0 picks a free port)." },
  address: { type: "string", default: "0.0.0.0", help: "The IP address on which to listen for the --port port." },
  ...secureServingFlags(CONTROLLER_MANAGER_SECURE_PORT),
  ...loggingFlags,
});

export type ControllerManagerOptions = FlagValues<typeof controllerManagerFlags>;

/** Parses argv (without node and script); exits on --help or a flag error, like every Kubernetes component. */
export function parseControllerManagerFlags(argv: readonly string[]): ControllerManagerOptions {
  return parseFlags(controllerManagerFlags, argv, {
    command: "kube-controller-manager",
    summary:
      "The Kubernetes controller manager is a daemon that embeds the core control loops shipped with Kubernetes. A controller is a control loop that watches the shared state of the cluster through the apiserver and makes changes attempting to move the current state towards the desired state.",
  });
}

/** The feature gates the controller-manager knows, with their defaults (Kubernetes 1.32's stages). */
export const FEATURE_GATES: Readonly<Record<string, boolean>> = { MaxUnavailableStatefulSet: false };

/** --feature-gates values ("A=true,B=false", repeatable) over the defaults; an unknown gate or value throws. */
export function parseFeatureGates(values: readonly string[]): Record<string, boolean> {
  const gates: Record<string, boolean> = { ...FEATURE_GATES };
  for (const pair of controllerList(values)) {
    const [name = "", value = ""] = pair.split("=", 2).map((s) => s.trim());
    if (!(name in FEATURE_GATES)) throw new Error(`unrecognized feature gate: ${name}`);
    if (!/^(true|false)$/i.test(value)) throw new Error(`invalid value of ${name}=${value}, err: strconv.ParseBool: parsing ${JSON.stringify(value)}: invalid syntax`);
    gates[name] = value.toLowerCase() === "true";
  }
  return gates;
}

/** Out-of-range flags throw with Kubernetes' messages (before any controller starts). */
export function configFromOptions(o: ControllerManagerOptions): ControllerManagerConfig {
  const errors = validateMirroringOptions(o.mirroringConcurrentServiceEndpointSyncs, o.mirroringMaxEndpointsPerSubset);
  if (errors.length > 0) throw new Error(errors.join(", "));
  return {
    featureGates: parseFeatureGates(o.featureGates),
    concurrentReplicasetSyncs: o.concurrentReplicasetSyncs,
    concurrentRcSyncs: o.concurrentRcSyncs,
    concurrentDeploymentSyncs: o.concurrentDeploymentSyncs,
    concurrentEndpointSyncs: o.concurrentEndpointSyncs,
    concurrentServiceEndpointSyncs: o.concurrentServiceEndpointSyncs,
    mirroringConcurrentServiceEndpointSyncs: o.mirroringConcurrentServiceEndpointSyncs,
    mirroringMaxEndpointsPerSubset: o.mirroringMaxEndpointsPerSubset,
    mirroringEndpointSliceUpdatesBatchPeriodMs: o.mirroringEndpointsliceUpdatesBatchPeriod,
    concurrentGcSyncs: o.concurrentGcSyncs,
    concurrentNamespaceSyncs: o.concurrentNamespaceSyncs,
    nodeMonitorPeriodMs: o.nodeMonitorPeriod,
    nodeMonitorGracePeriodMs: o.nodeMonitorGracePeriod,
    allocateNodeCidrs: o.allocateNodeCidrs,
    clusterCidr: o.clusterCidr,
    nodeCidrMaskSize: o.nodeCidrMaskSize,
    rootCaFile: o.rootCaFile,
    horizontalPodAutoscalerSyncPeriodMs: o.horizontalPodAutoscalerSyncPeriod,
    horizontalPodAutoscalerDownscaleStabilizationMs: o.horizontalPodAutoscalerDownscaleStabilization,
    horizontalPodAutoscalerTolerance: o.horizontalPodAutoscalerTolerance,
    horizontalPodAutoscalerCpuInitializationPeriodMs: o.horizontalPodAutoscalerCpuInitializationPeriod,
    horizontalPodAutoscalerInitialReadinessDelayMs: o.horizontalPodAutoscalerInitialReadinessDelay,
    concurrentHorizontalPodAutoscalerSyncs: o.concurrentHorizontalPodAutoscalerSyncs,
    concurrentDaemonsetSyncs: o.concurrentDaemonsetSyncs,
    concurrentStatefulsetSyncs: o.concurrentStatefulsetSyncs,
    concurrentJobSyncs: o.concurrentJobSyncs,
    concurrentCronJobSyncs: o.concurrentCronJobSyncs,
    concurrentTtlAfterFinishedSyncs: o.concurrentTtlAfterFinishedSyncs,
    concurrentResourceQuotaSyncs: o.concurrentResourceQuotaSyncs,
    resourceQuotaSyncPeriodMs: o.resourceQuotaSyncPeriod,
    clusterSigningCertFile: o.clusterSigningCertFile,
    clusterSigningKeyFile: o.clusterSigningKeyFile,
    clusterSigningDurationMs: o.clusterSigningDuration,
  };
}

/** The configuration every flag at its default gives (for tests). */
export function defaultControllerManagerConfig(): ControllerManagerConfig {
  return configFromOptions(parseControllerManagerFlags([]));
}

/** --controllers as a flat list: each value may itself be comma-separated (pflag StringSlice). */
export function controllerList(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "");
}
