// The workload controllers' families (kube-state-metrics' deployment, replicaset, replicationcontroller, daemonset
// and statefulset stores): every sample starts with namespace and the object's name under the resource's own label.
import type { IntOrString } from "../../api/types/core.js";
import type { DaemonSet, Deployment, ReplicaSet, ReplicationController, StatefulSet } from "../../api/types/index.js";
import type { FamilyGenerator, Labels, Sample } from "../exposition.js";
import { boolValue, conditionSamples, createdSamples, family, metadataMapFamilies, ownerSamples, sample, type FamilyOptions } from "./common.js";

type Generate<T> = (obj: Readonly<T>) => Sample[];

/** A name label under `label` ("deployment") after namespace. */
function baseOf<T extends { metadata: { namespace?: string; name?: string } }>(label: string): (obj: Readonly<T>) => Labels {
  return (o) => [
    ["namespace", o.metadata.namespace ?? ""],
    [label, o.metadata.name ?? ""],
  ];
}

/** A sample of `value`, or none when the field is unset (kube-state-metrics skips nil pointers, not zeros). */
function value(v: number | undefined): Sample[] {
  return [sample(v ?? 0)];
}

/** intstr.GetScaledValueFromIntOrPercent: an integer as it is, "N%" of total rounded down or up. */
export function scaledValue(v: IntOrString, total: number, roundUp: boolean): number | undefined {
  if (typeof v === "number") return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) return undefined;
  const scaled = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}

export function deploymentFamilies(opts: FamilyOptions): FamilyGenerator<Deployment>[] {
  const base = baseOf<Deployment>("deployment");
  const f = (name: string, help: string, generate: Generate<Deployment>): FamilyGenerator<Deployment> => family<Deployment>(name, help, "gauge", base, generate);
  return [
    ...metadataMapFamilies<Deployment>("deployment", base, opts),
    f("kube_deployment_created", "Unix creation timestamp", (d) => createdSamples(d.metadata)),
    f("kube_deployment_status_replicas", "The number of replicas per deployment.", (d) => value(d.status?.replicas)),
    f("kube_deployment_status_replicas_ready", "The number of ready replicas per deployment.", (d) => value(d.status?.readyReplicas)),
    f("kube_deployment_status_replicas_available", "The number of available replicas per deployment.", (d) => value(d.status?.availableReplicas)),
    f("kube_deployment_status_replicas_unavailable", "The number of unavailable replicas per deployment.", (d) => value(d.status?.unavailableReplicas)),
    f("kube_deployment_status_replicas_updated", "The number of updated replicas per deployment.", (d) => value(d.status?.updatedReplicas)),
    f("kube_deployment_status_observed_generation", "The generation observed by the deployment controller.", (d) => value(d.status?.observedGeneration)),
    f("kube_deployment_status_condition", "The current status conditions of a deployment.", (d) => (d.status?.conditions ?? []).flatMap((c) => conditionSamples(c.status, "status", ["condition", c.type]))),
    f("kube_deployment_spec_replicas", "Number of desired pods for a deployment.", (d) => value(d.spec?.replicas ?? 1)),
    f("kube_deployment_spec_paused", "Whether the deployment is paused and will not be processed by the deployment controller.", (d) => [sample(boolValue(d.spec?.paused))]),
    f("kube_deployment_spec_strategy_rollingupdate_max_unavailable", "Maximum number of unavailable replicas during a rolling update of a deployment.", (d) => {
      const max = d.spec?.strategy?.rollingUpdate?.maxUnavailable;
      const v = max === undefined ? undefined : scaledValue(max, d.spec?.replicas ?? 1, false);
      return v === undefined ? [] : [sample(v)];
    }),
    f("kube_deployment_spec_strategy_rollingupdate_max_surge", "Maximum number of replicas that can be scheduled above the desired number of replicas during a rolling update of a deployment.", (d) => {
      const max = d.spec?.strategy?.rollingUpdate?.maxSurge;
      const v = max === undefined ? undefined : scaledValue(max, d.spec?.replicas ?? 1, true);
      return v === undefined ? [] : [sample(v)];
    }),
    f("kube_deployment_metadata_generation", "Sequence number representing a specific generation of the desired state.", (d) => value(d.metadata.generation)),
  ];
}

export function replicaSetFamilies(opts: FamilyOptions): FamilyGenerator<ReplicaSet>[] {
  const base = baseOf<ReplicaSet>("replicaset");
  const f = (name: string, help: string, generate: Generate<ReplicaSet>): FamilyGenerator<ReplicaSet> => family<ReplicaSet>(name, help, "gauge", base, generate);
  return [
    ...metadataMapFamilies<ReplicaSet>("replicaset", base, opts),
    f("kube_replicaset_created", "Unix creation timestamp", (r) => createdSamples(r.metadata)),
    f("kube_replicaset_status_replicas", "The number of replicas per ReplicaSet.", (r) => value(r.status?.replicas)),
    f("kube_replicaset_status_fully_labeled_replicas", "The number of fully labeled replicas per ReplicaSet.", (r) => value(r.status?.fullyLabeledReplicas)),
    f("kube_replicaset_status_ready_replicas", "The number of ready replicas per ReplicaSet.", (r) => value(r.status?.readyReplicas)),
    f("kube_replicaset_status_observed_generation", "The generation observed by the ReplicaSet controller.", (r) => value(r.status?.observedGeneration)),
    f("kube_replicaset_spec_replicas", "Number of desired pods for a ReplicaSet.", (r) => value(r.spec?.replicas ?? 1)),
    f("kube_replicaset_metadata_generation", "Sequence number representing a specific generation of the desired state.", (r) => value(r.metadata.generation)),
    f("kube_replicaset_owner", "Information about the ReplicaSet's owner.", (r) => ownerSamples(r.metadata.ownerReferences)),
  ];
}

export function replicationControllerFamilies(opts: FamilyOptions): FamilyGenerator<ReplicationController>[] {
  const base = baseOf<ReplicationController>("replicationcontroller");
  const f = (name: string, help: string, generate: Generate<ReplicationController>): FamilyGenerator<ReplicationController> => family<ReplicationController>(name, help, "gauge", base, generate);
  return [
    ...metadataMapFamilies<ReplicationController>("replicationcontroller", base, opts),
    f("kube_replicationcontroller_created", "Unix creation timestamp", (r) => createdSamples(r.metadata)),
    f("kube_replicationcontroller_status_replicas", "The number of replicas per ReplicationController.", (r) => value(r.status?.replicas)),
    f("kube_replicationcontroller_status_fully_labeled_replicas", "The number of fully labeled replicas per ReplicationController.", (r) => value(r.status?.fullyLabeledReplicas)),
    f("kube_replicationcontroller_status_ready_replicas", "The number of ready replicas per ReplicationController.", (r) => value(r.status?.readyReplicas)),
    f("kube_replicationcontroller_status_available_replicas", "The number of available replicas per ReplicationController.", (r) => value(r.status?.availableReplicas)),
    f("kube_replicationcontroller_status_observed_generation", "The generation observed by the ReplicationController controller.", (r) => value(r.status?.observedGeneration)),
    f("kube_replicationcontroller_spec_replicas", "Number of desired pods for a ReplicationController.", (r) => value(r.spec?.replicas ?? 1)),
    f("kube_replicationcontroller_metadata_generation", "Sequence number representing a specific generation of the desired state.", (r) => value(r.metadata.generation)),
    f("kube_replicationcontroller_owner", "Information about the ReplicationController's owner.", (r) => ownerSamples(r.metadata.ownerReferences)),
  ];
}

export function daemonSetFamilies(opts: FamilyOptions): FamilyGenerator<DaemonSet>[] {
  const base = baseOf<DaemonSet>("daemonset");
  const f = (name: string, help: string, generate: Generate<DaemonSet>): FamilyGenerator<DaemonSet> => family<DaemonSet>(name, help, "gauge", base, generate);
  return [
    ...metadataMapFamilies<DaemonSet>("daemonset", base, opts),
    f("kube_daemonset_created", "Unix creation timestamp", (d) => createdSamples(d.metadata)),
    f("kube_daemonset_status_current_number_scheduled", "The number of nodes running at least one daemon pod and are supposed to.", (d) => value(d.status?.currentNumberScheduled)),
    f("kube_daemonset_status_desired_number_scheduled", "The number of nodes that should be running the daemon pod.", (d) => value(d.status?.desiredNumberScheduled)),
    f("kube_daemonset_status_number_available", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available", (d) => value(d.status?.numberAvailable)),
    f("kube_daemonset_status_number_misscheduled", "The number of nodes running a daemon pod but are not supposed to.", (d) => value(d.status?.numberMisscheduled)),
    f("kube_daemonset_status_number_ready", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.", (d) => value(d.status?.numberReady)),
    f("kube_daemonset_status_number_unavailable", "The number of nodes that should be running the daemon pod and have none of the daemon pod running and available", (d) => value(d.status?.numberUnavailable)),
    f("kube_daemonset_status_observed_generation", "The most recent generation observed by the daemon set controller.", (d) => value(d.status?.observedGeneration)),
    f("kube_daemonset_status_updated_number_scheduled", "The total number of nodes that are running updated daemon pod", (d) => value(d.status?.updatedNumberScheduled)),
    f("kube_daemonset_metadata_generation", "Sequence number representing a specific generation of the desired state.", (d) => value(d.metadata.generation)),
  ];
}

export function statefulSetFamilies(opts: FamilyOptions): FamilyGenerator<StatefulSet>[] {
  const base = baseOf<StatefulSet>("statefulset");
  const f = (name: string, help: string, generate: Generate<StatefulSet>): FamilyGenerator<StatefulSet> => family<StatefulSet>(name, help, "gauge", base, generate);
  return [
    ...metadataMapFamilies<StatefulSet>("statefulset", base, opts),
    f("kube_statefulset_created", "Unix creation timestamp", (s) => createdSamples(s.metadata)),
    f("kube_statefulset_status_replicas", "The number of replicas per StatefulSet.", (s) => value(s.status?.replicas)),
    f("kube_statefulset_status_replicas_available", "The number of available replicas per StatefulSet.", (s) => value(s.status?.availableReplicas)),
    f("kube_statefulset_status_replicas_current", "The number of current replicas per StatefulSet.", (s) => value(s.status?.currentReplicas)),
    f("kube_statefulset_status_replicas_ready", "The number of ready replicas per StatefulSet.", (s) => value(s.status?.readyReplicas)),
    f("kube_statefulset_status_replicas_updated", "The number of updated replicas per StatefulSet.", (s) => value(s.status?.updatedReplicas)),
    f("kube_statefulset_status_observed_generation", "The generation observed by the StatefulSet controller.", (s) => value(s.status?.observedGeneration)),
    f("kube_statefulset_replicas", "Number of desired pods for a StatefulSet.", (s) => value(s.spec?.replicas ?? 1)),
    f("kube_statefulset_metadata_generation", "Sequence number representing a specific generation of the desired state for the StatefulSet.", (s) => value(s.metadata.generation)),
  ];
}
