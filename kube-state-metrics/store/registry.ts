// The resources kube-state-metrics can serve, by their --resources names, each with its families. Only resources
// kubelab's API serves (api/resources.ts) are offered.
import type { KubeObject } from "../../api/meta.js";
import { RESOURCES, type ResourceInfo } from "../../api/resources.js";
import type { FamilyGenerator } from "../exposition.js";
import type { FamilyOptions } from "./common.js";
import { configMapFamilies, namespaceFamilies, secretFamilies } from "./config.js";
import { leaseFamilies } from "./lease.js";
import { endpointSliceFamilies, endpointsFamilies, serviceFamilies } from "./network.js";
import { nodeFamilies } from "./node.js";
import { podFamilies } from "./pod.js";
import { daemonSetFamilies, deploymentFamilies, replicaSetFamilies, replicationControllerFamilies, statefulSetFamilies } from "./workloads.js";

export interface ResourceStore {
  /** The --resources name: the plural resource ("pods"). */
  name: string;
  resource: ResourceInfo;
  families(opts: FamilyOptions): FamilyGenerator<KubeObject>[];
}

function store<T extends KubeObject>(group: string, name: string, families: (opts: FamilyOptions) => FamilyGenerator<T>[]): ResourceStore | undefined {
  const resource = RESOURCES.find((r) => r.group === group && r.resource === name);
  if (!resource) return undefined;
  // The informer's cache for `resource` holds T's (the server's objects of that kind); generators only read them.
  return { name, resource, families: (opts) => families(opts) as unknown as FamilyGenerator<KubeObject>[] };
}

/** Every resource this build can serve, in kube-state-metrics' alphabetical order. */
export const STORES: readonly ResourceStore[] = [
  store("", "configmaps", configMapFamilies),
  store("apps", "daemonsets", daemonSetFamilies),
  store("apps", "deployments", deploymentFamilies),
  store("", "endpoints", endpointsFamilies),
  store("discovery.k8s.io", "endpointslices", endpointSliceFamilies),
  store("coordination.k8s.io", "leases", leaseFamilies),
  store("", "namespaces", namespaceFamilies),
  store("", "nodes", nodeFamilies),
  store("", "pods", podFamilies),
  store("apps", "replicasets", replicaSetFamilies),
  store("", "replicationcontrollers", replicationControllerFamilies),
  store("", "secrets", secretFamilies),
  store("", "services", serviceFamilies),
  store("apps", "statefulsets", statefulSetFamilies),
].filter((s): s is ResourceStore => s !== undefined);

/** kube-state-metrics' default --resources among those served here (endpointslices is opt-in there too). */
export const DEFAULT_RESOURCES: readonly string[] = STORES.map((s) => s.name).filter((n) => n !== "endpointslices");
