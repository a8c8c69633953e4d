// The controllers kube-controller-manager can run, by --controllers name: a Map from name to factory that rejects
// duplicates, so two controllers can never claim one name, plus Kubernetes' rules for the --controllers flag.
import { createDeploymentController } from "./deployment/deployment-controller.js";
import { createDisruptionController } from "./disruption/disruption-controller.js";
import { createEndpointsController } from "./endpoints/endpoints-controller.js";
import { createEndpointSliceController } from "./endpointslice/endpointslice-controller.js";
import { createEndpointSliceMirroringController } from "./endpointslicemirroring/endpointslicemirroring-controller.js";
import { createGarbageCollectorController } from "./garbagecollector/garbagecollector-controller.js";
import { createNamespaceController } from "./namespace/namespace-controller.js";
import { createNodeIpamController } from "./nodeipam/nodeipam-controller.js";
import { createNodeLifecycleController } from "./nodelifecycle/nodelifecycle-controller.js";
import { createReplicaSetController, createReplicationControllerController } from "./replicaset/replicaset-controller.js";
import { createClusterRoleAggregationController } from "./clusterroleaggregation/clusterroleaggregation-controller.js";
import { createRootCACertPublisher } from "./rootcacertpublisher/rootcacertpublisher-controller.js";
import { createServiceAccountsController } from "./serviceaccount/serviceaccount-controller.js";
// MARK jobs imports
import { createCronJobController } from "./cronjob/cronjob-controller.js";
import { createJobController } from "./job/job-controller.js";
import { createTtlAfterFinishedController } from "./ttl-after-finished/ttl-after-finished-controller.js";
// MARK workloads imports
import { createDaemonSetController } from "./daemonset/daemonset-controller.js";
import { createStatefulSetController } from "./statefulset/statefulset-controller.js";
// MARK hpa imports
import { createHorizontalController } from "./podautoscaler/horizontal-controller.js";
// MARK admission imports
// MARK pki imports
import { createCSRSigningController } from "./certificates/csrsigning-controller.js";
import { createResourceQuotaController } from "./resourcequota/resourcequota-controller.js";
import { createPersistentVolumeBinder } from "./volume/persistentvolume-binder.js";
import type { ControllerFactory } from "./types.js";

export class DuplicateControllerError extends Error {
  constructor(readonly controller: string) {
    super(`controller "${controller}" is already registered`);
    this.name = "DuplicateControllerError";
  }
}

export class UnknownControllerError extends Error {
  constructor(readonly controller: string) {
    super(`"${controller}" is not in the list of known controllers`);
    this.name = "UnknownControllerError";
  }
}

export class ControllerRegistry {
  private readonly factories = new Map<string, ControllerFactory>();

  /** Adds a controller; a name registered twice is a programming error. */
  register(name: string, factory: ControllerFactory): this {
    if (this.factories.has(name)) throw new DuplicateControllerError(name);
    this.factories.set(name, factory);
    return this;
  }

  get(name: string): ControllerFactory | undefined {
    return this.factories.get(name);
  }

  has(name: string): boolean {
    return this.factories.has(name);
  }

  /** Registered names, in registration order (the order controllers start in). */
  names(): string[] {
    return [...this.factories.keys()];
  }
}

/** Every name --controllers accepts (Kubernetes' names), even for a registry that lacks some of them (tests). */
export const KNOWN_CONTROLLERS: readonly string[] = [
  "replicationcontroller",
  "replicaset",
  "deployment",
  "endpoints",
  "endpointslice",
  "endpointslicemirroring",
  "nodelifecycle",
  "garbagecollector",
  "namespace",
  "nodeipam",
  "disruption",
  "serviceaccount",
  "root-ca-cert-publisher",
  "clusterrole-aggregation",
  // MARK jobs names
  "job",
  "cronjob",
  "ttl-after-finished",
  // MARK workloads names
  "daemonset",
  "statefulset",
  // MARK hpa names
  "horizontalpodautoscaling",
  // MARK admission names
  // MARK pki names
  "csrsigning",
  "resourcequota",
  "persistentvolume-binder",
];

/** Kubernetes' other spellings: the old singular "endpoint" and the newer "<name>-controller" names. */
export const CONTROLLER_ALIASES: Readonly<Record<string, string>> = {
  endpoint: "endpoints",
  "endpoints-controller": "endpoints",
  "endpointslice-controller": "endpointslice",
  "endpointslice-mirroring-controller": "endpointslicemirroring",
  "node-lifecycle-controller": "nodelifecycle",
  "garbage-collector-controller": "garbagecollector",
  "namespace-controller": "namespace",
  "node-ipam-controller": "nodeipam",
  "replicaset-controller": "replicaset",
  "replicationcontroller-controller": "replicationcontroller",
  "deployment-controller": "deployment",
  "disruption-controller": "disruption",
  "serviceaccount-controller": "serviceaccount",
  "root-ca-certificate-publisher-controller": "root-ca-cert-publisher",
  "clusterrole-aggregation-controller": "clusterrole-aggregation",
  // MARK jobs aliases
  "job-controller": "job",
  "cronjob-controller": "cronjob",
  "ttl-after-finished-controller": "ttl-after-finished",
  // MARK workloads aliases
  "daemonset-controller": "daemonset",
  "statefulset-controller": "statefulset",
  // MARK hpa aliases
  "horizontal-pod-autoscaler-controller": "horizontalpodautoscaling",
  // MARK admission aliases
  // MARK pki aliases
  "certificatesigningrequest-signing-controller": "csrsigning",
  "resourcequota-controller": "resourcequota",
  "persistentvolume-binder-controller": "persistentvolume-binder",
};

/** Controllers that '*' does not turn on (Kubernetes has a few, such as bootstrapsigner; none here yet). */
export const DISABLED_BY_DEFAULT: ReadonlySet<string> = new Set<string>();

/** The built-in controllers, in the order they start. */
export function defaultRegistry(): ControllerRegistry {
  const registry = new ControllerRegistry()
    .register("replicationcontroller", createReplicationControllerController)
    .register("replicaset", createReplicaSetController)
    .register("deployment", createDeploymentController)
    .register("endpoints", createEndpointsController)
    .register("endpointslice", createEndpointSliceController)
    .register("endpointslicemirroring", createEndpointSliceMirroringController)
    .register("nodelifecycle", createNodeLifecycleController)
    .register("garbagecollector", createGarbageCollectorController)
    .register("namespace", createNamespaceController)
    .register("nodeipam", createNodeIpamController)
    .register("disruption", createDisruptionController)
    .register("serviceaccount", createServiceAccountsController)
    .register("root-ca-cert-publisher", createRootCACertPublisher)
    .register("clusterrole-aggregation", createClusterRoleAggregationController);
  // MARK jobs register
  registry.register("job", createJobController).register("cronjob", createCronJobController).register("ttl-after-finished", createTtlAfterFinishedController);
  // MARK workloads register
  registry.register("daemonset", createDaemonSetController).register("statefulset", createStatefulSetController);
  // MARK hpa register
  registry.register("horizontalpodautoscaling", createHorizontalController);
  // MARK admission register
  // MARK pki register
  registry.register("csrsigning", createCSRSigningController);
  registry.register("resourcequota", createResourceQuotaController);
  registry.register("persistentvolume-binder", createPersistentVolumeBinder);
  return registry;
}

function canonical(name: string): string {
  return CONTROLLER_ALIASES[name] ?? name;
}

/**
 * The registered controllers that --controllers enables, in registration order. Kubernetes' rule: the first entry
 * naming a controller decides ("foo" on, "-foo" off); otherwise "*" turns on everything not disabled by default;
 * without "*" nothing else runs. Unknown names throw UnknownControllerError.
 */
export function enabledControllers(registry: ControllerRegistry, requested: readonly string[]): string[] {
  const known = new Set([...KNOWN_CONTROLLERS, ...registry.names()]);
  const entries = requested.map((entry) => {
    if (entry === "*") return entry;
    const negated = entry.startsWith("-");
    const name = canonical(negated ? entry.slice(1) : entry);
    if (!known.has(name)) throw new UnknownControllerError(negated ? entry.slice(1) : entry);
    return negated ? `-${name}` : name;
  });
  return registry.names().filter((name) => isEnabled(name, entries));
}

function isEnabled(name: string, entries: readonly string[]): boolean {
  let star = false;
  for (const entry of entries) {
    if (entry === name) return true;
    if (entry === `-${name}`) return false;
    if (entry === "*") star = true;
  }
  return star && !DISABLED_BY_DEFAULT.has(name);
}
