// Workloads: the controllers' objects that own pods (Deployments, ReplicaSets, ReplicationControllers, StatefulSets,
// DaemonSets). They track metadata.generation, have a status subresource, and those that scale have a Scale.
import type { ResourceDefinition } from "../kind.js";
import type { Strategy } from "../strategy.js";
import { PLAIN_STRATEGY } from "../strategy.js";
import { scaleSubresource } from "./scale.js";

const WORKLOAD_STRATEGY: Strategy = { ...PLAIN_STRATEGY, statusSubresource: true, tracksGeneration: true };

/** A Deployment's status write keeps its labels (Kubernetes' deployment status strategy). */
const DEPLOYMENT_STRATEGY: Strategy = {
  ...WORKLOAD_STRATEGY,
  prepareForStatusUpdate(next, prev) {
    if (prev.metadata.labels !== undefined) next.metadata.labels = structuredClone(prev.metadata.labels);
    else delete next.metadata.labels;
  },
};

function workload(group: string, resource: string, scales: boolean): ResourceDefinition {
  const strategy = resource === "deployments" ? DEPLOYMENT_STRATEGY : WORKLOAD_STRATEGY;
  const definition: ResourceDefinition = { group, resource, strategy: () => strategy };
  return scales ? { ...definition, subresources: { scale: scaleSubresource } } : definition;
}

export const WORKLOAD_RESOURCES: readonly ResourceDefinition[] = [
  workload("", "replicationcontrollers", true),
  workload("apps", "deployments", true),
  workload("apps", "replicasets", true),
  workload("apps", "statefulsets", true),
  workload("apps", "daemonsets", false),
];
