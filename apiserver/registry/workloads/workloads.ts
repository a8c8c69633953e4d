// Workloads: the controllers' objects that own pods (Deployments, ReplicaSets, ReplicationControllers, StatefulSets,
// DaemonSets). They track metadata.generation, have a status subresource, and those that scale have a Scale.
import type { ResourceDefinition } from "../kind.js";
import type { Strategy } from "../strategy.js";
import { PLAIN_STRATEGY } from "../strategy.js";
import { scaleSubresource } from "./scale.js";

const WORKLOAD_STRATEGY: Strategy = { ...PLAIN_STRATEGY, statusSubresource: true, tracksGeneration: true };

function workload(group: string, resource: string, scales: boolean): ResourceDefinition {
  const definition: ResourceDefinition = { group, resource, strategy: () => WORKLOAD_STRATEGY };
  return scales ? { ...definition, subresources: { scale: scaleSubresource } } : definition;
}

export const WORKLOAD_RESOURCES: readonly ResourceDefinition[] = [
  workload("", "replicationcontrollers", true),
  workload("apps", "deployments", true),
  workload("apps", "replicasets", true),
  workload("apps", "statefulsets", true),
  workload("apps", "daemonsets", false),
];
