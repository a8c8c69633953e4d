import { describe, expect, it } from "vitest";
import { configFromOptions, controllerList, defaultControllerManagerConfig, parseControllerManagerFlags, parseFeatureGates } from "./options.js";

describe("kube-controller-manager flags", () => {
  it("default like Kubernetes", () => {
    const o = parseControllerManagerFlags([]);
    expect(o).toMatchObject({
      leaderElect: true,
      leaderElectLeaseDuration: 15_000,
      leaderElectRenewDeadline: 10_000,
      leaderElectRetryPeriod: 2_000,
      leaderElectResourceNamespace: "kube-system",
      leaderElectResourceName: "kube-controller-manager",
      controllers: ["*"],
      port: 10252,
      address: "0.0.0.0",
      securePort: 10257,
      bindAddress: "0.0.0.0",
      certDir: "",
      authenticationSkipLookup: false,
      authenticationTolerateLookupFailure: true,
      authenticationTokenWebhookCacheTtl: 10_000,
      authorizationWebhookCacheAuthorizedTtl: 10_000,
      authorizationWebhookCacheUnauthorizedTtl: 10_000,
      authorizationAlwaysAllowPaths: ["/healthz", "/readyz", "/livez"],
    });
    expect(defaultControllerManagerConfig()).toMatchObject({
      concurrentReplicasetSyncs: 5,
      concurrentRcSyncs: 5,
      concurrentDeploymentSyncs: 5,
      concurrentEndpointSyncs: 5,
      concurrentServiceEndpointSyncs: 5,
      concurrentGcSyncs: 20,
      concurrentNamespaceSyncs: 10,
      nodeMonitorPeriodMs: 5_000,
      nodeMonitorGracePeriodMs: 40_000,
      allocateNodeCidrs: false,
      clusterCidr: "10.244.0.0/16",
      nodeCidrMaskSize: 24,
      rootCaFile: "",
      concurrentDaemonsetSyncs: 2,
      concurrentStatefulsetSyncs: 5,
    });
    expect(defaultControllerManagerConfig()).toMatchObject({
      horizontalPodAutoscalerSyncPeriodMs: 15_000,
      horizontalPodAutoscalerDownscaleStabilizationMs: 300_000,
      horizontalPodAutoscalerTolerance: 0.1,
      horizontalPodAutoscalerCpuInitializationPeriodMs: 300_000,
      horizontalPodAutoscalerInitialReadinessDelayMs: 30_000,
      concurrentHorizontalPodAutoscalerSyncs: 5,
      concurrentJobSyncs: 5,
      concurrentCronJobSyncs: 5,
      concurrentTtlAfterFinishedSyncs: 5,
      concurrentResourceQuotaSyncs: 5,
      resourceQuotaSyncPeriodMs: 300_000,
    });
  });

  it("take Kubernetes' names and Go durations", () => {
    const o = parseControllerManagerFlags([
      "--master=http://127.0.0.1:8080",
      "--leader-elect=false",
      "--concurrent-rc-syncs=2",
      "--concurrent-service-endpoint-syncs",
      "3",
      "--node-monitor-grace-period=1m",
      "--allocate-node-cidrs",
      "--cluster-cidr=10.100.0.0/16",
      "--node-cidr-mask-size=26",
      "--controllers=*,-deployment",
      "--controllers",
      "endpoints",
    ]);
    expect(o.master).toBe("http://127.0.0.1:8080");
    expect(o.leaderElect).toBe(false);
    expect(configFromOptions(o)).toMatchObject({ concurrentRcSyncs: 2, concurrentServiceEndpointSyncs: 3, nodeMonitorGracePeriodMs: 60_000, allocateNodeCidrs: true, clusterCidr: "10.100.0.0/16", nodeCidrMaskSize: 26 });
    expect(controllerList(o.controllers)).toEqual(["*", "-deployment", "endpoints"]);
  });

  it("takes --feature-gates MaxUnavailableStatefulSet (off by default) and refuses unknown gates", () => {
    expect(defaultControllerManagerConfig().featureGates).toEqual({ MaxUnavailableStatefulSet: false });
    expect(configFromOptions(parseControllerManagerFlags(["--feature-gates=MaxUnavailableStatefulSet=true"])).featureGates).toEqual({ MaxUnavailableStatefulSet: true });
    expect(() => parseFeatureGates(["Nope=true"])).toThrow("unrecognized feature gate: Nope");
    expect(() => parseFeatureGates(["MaxUnavailableStatefulSet=yes"])).toThrow(/invalid value of MaxUnavailableStatefulSet=yes/);
  });
});
