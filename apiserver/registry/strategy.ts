// Per-kind REST behaviour, the analog of Kubernetes' rest strategies: which kinds have a status subresource,
// which track metadata.generation, which are deleted gracefully, which expire.
import type { KubeObject } from "../../api/meta.js";
import type { ResourceInfo } from "../../api/resources.js";

export interface Strategy {
  /** Status is cleared on create (unless statusOnCreate) and kept from the stored object on a main-resource write. */
  readonly statusSubresource: boolean;
  /** Nodes register with their status; for them create keeps the status the client sent. */
  readonly statusOnCreate: boolean;
  /** metadata.generation starts at 1 and is bumped when anything outside metadata and status changes. */
  readonly tracksGeneration: boolean;
  /** A PUT of a missing object creates it. */
  readonly allowCreateOnUpdate: boolean;
  /** DELETE answers with the object rather than a Status. */
  readonly returnDeletedObject: boolean;
  /** Keys expire after this long (events). */
  readonly ttlSeconds?: number;
  /** The grace period for a DELETE without one, or undefined when the kind is deleted at once. */
  gracePeriodFor?(object: KubeObject, requested: number | undefined): number | undefined;
  /** Kind-specific fields set on create, after defaulting and the create-only defaults of api/defaults.ts. */
  prepareForCreate?(object: KubeObject): void;
  /** Kind-specific clean-up of a main-resource update before validation (a Service changing type). */
  prepareForUpdate?(next: KubeObject, prev: KubeObject): void;
  /** The first DELETE only marks the object (namespaces go Terminating until their finalizers are done). */
  readonly alwaysGraceful?: boolean;
}

const PLAIN: Strategy = {
  statusSubresource: false,
  statusOnCreate: false,
  tracksGeneration: false,
  allowCreateOnUpdate: false,
  returnDeletedObject: false,
};

const WORKLOAD: Strategy = { ...PLAIN, statusSubresource: true, tracksGeneration: true };

export interface StrategyOptions {
  eventTtlSeconds: number;
}

export function strategyFor(info: ResourceInfo, options: StrategyOptions): Strategy {
  switch (info.resource) {
    case "pods":
      return {
        ...PLAIN,
        statusSubresource: true,
        returnDeletedObject: true,
        // A pod bound to a node is stopped by its kubelet, which then deletes it with grace 0.
        gracePeriodFor(pod, requested) {
          const spec = pod.spec as { nodeName?: string; terminationGracePeriodSeconds?: number } | undefined;
          if (!spec?.nodeName) return undefined;
          const grace = requested ?? spec.terminationGracePeriodSeconds ?? 30;
          return grace > 0 ? grace : undefined;
        },
      };
    case "services":
      return {
        ...PLAIN,
        statusSubresource: true,
        prepareForCreate: (svc) => {
          svc.status = { loadBalancer: {} };
        },
        prepareForUpdate: dropTypeDependentFields,
      };
    case "nodes":
      return { ...PLAIN, statusSubresource: true, statusOnCreate: true };
    case "namespaces":
      return { ...PLAIN, statusSubresource: true, returnDeletedObject: true, alwaysGraceful: true };
    case "deployments":
    case "replicasets":
    case "replicationcontrollers":
    case "statefulsets":
    case "daemonsets":
      return WORKLOAD;
    case "events":
      return { ...PLAIN, allowCreateOnUpdate: true, ttlSeconds: options.eventTtlSeconds };
    case "endpoints":
    case "leases":
      return { ...PLAIN, allowCreateOnUpdate: true };
    default:
      return PLAIN;
  }
}

interface ServicePortLike { nodePort?: number }
interface ServiceSpecLike { type?: string; ports?: ServicePortLike[]; externalTrafficPolicy?: string; clusterIP?: string; clusterIPs?: string[]; healthCheckNodePort?: number }

/**
 * Kubernetes' dropTypeDependentFields: when a Service changes type, the fields only the old type may have are
 * cleared unless the client changed them itself, so `kubectl patch svc x -p '{"spec":{"type":"ClusterIP"}}'` works.
 */
function dropTypeDependentFields(next: KubeObject, prev: KubeObject): void {
  const spec = next.spec as ServiceSpecLike | undefined;
  const old = prev.spec as ServiceSpecLike | undefined;
  if (!spec || !old || spec.type === old.type) return;
  const external = spec.type === "NodePort" || spec.type === "LoadBalancer";
  if (!external) {
    for (const [i, port] of (spec.ports ?? []).entries()) {
      if (port.nodePort !== undefined && port.nodePort === old.ports?.[i]?.nodePort) delete port.nodePort;
    }
    if (spec.externalTrafficPolicy === old.externalTrafficPolicy) delete spec.externalTrafficPolicy;
    delete spec.healthCheckNodePort;
  }
  if (spec.type === "ExternalName" && spec.clusterIP === old.clusterIP) {
    delete spec.clusterIP;
    delete spec.clusterIPs;
  }
}
