// The Job controller's metrics: Kubernetes 1.32's pkg/controller/job/metrics (names, labels, buckets), on the
// controller-manager's registry, so dashboards written for kube-controller-manager read ours.
import { counter, createRegistry, exponentialBuckets, histogram, type Counter, type Histogram, type Registry } from "../../../component-base/metrics.js";

/** The `action` label of the sync metrics. */
export type JobSyncAction = "reconciling" | "tracking" | "pods_created" | "pods_deleted";

export interface JobMetrics {
  /** completion_mode (Indexed|NonIndexed), result (success|error), action. */
  syncDuration: Histogram<"completion_mode" | "result" | "action">;
  syncs: Counter<"completion_mode" | "result" | "action">;
  /** result (succeeded|failed), reason (CompletionsReached, SuccessPolicy, BackoffLimitExceeded, ...). */
  jobsFinished: Counter<"completion_mode" | "result" | "reason">;
  /** Pods whose finish the controller has fully counted (finalizer gone). */
  podsFinished: Counter<"completion_mode" | "result">;
  /** Failed pods by the action of the pod failure policy rule they matched. */
  podFailuresHandledByFailurePolicy: Counter<"action">;
  /** Terminated pods gaining (add) or losing (delete) the job-tracking finalizer, owned by a Job or not. */
  terminatedPodsTrackingFinalizer: Counter<"event">;
  /** status (succeeded|failed), backoffLimit (perIndex|global). */
  finishedIndexes: Counter<"status" | "backoffLimit">;
  /** reason (new|recreate_terminating_or_failed|recreate_failed), status (succeeded|failed). */
  podsCreation: Counter<"reason" | "status">;
  /** Jobs created with spec.managedBy naming another controller. */
  jobsByExternalController: Counter<"controller_name">;
}

export function jobMetrics(registry: Registry = createRegistry({ defaultMetrics: false })): JobMetrics {
  return {
    syncDuration: histogram(registry, {
      name: "job_controller_job_sync_duration_seconds",
      help: "The time it took to sync a job",
      labelNames: ["completion_mode", "result", "action"],
      buckets: exponentialBuckets(0.004, 2, 15),
    }),
    syncs: counter(registry, { name: "job_controller_job_syncs_total", help: "The number of job syncs", labelNames: ["completion_mode", "result", "action"] }),
    jobsFinished: counter(registry, { name: "job_controller_jobs_finished_total", help: "The number of finished jobs", labelNames: ["completion_mode", "result", "reason"] }),
    podsFinished: counter(registry, { name: "job_controller_job_pods_finished_total", help: "The number of finished Pods that are fully tracked", labelNames: ["completion_mode", "result"] }),
    podFailuresHandledByFailurePolicy: counter(registry, {
      name: "job_controller_pod_failures_handled_by_failure_policy_total",
      help: 'The number of failed Pods handled by failure policy with respect to the failure policy action applied based on the matched rule. Possible values of the action label correspond to the possible values for the failure policy rule action, which are: "FailJob", "Ignore" and "Count".',
      labelNames: ["action"],
    }),
    terminatedPodsTrackingFinalizer: counter(registry, {
      name: "job_controller_terminated_pods_tracking_finalizer_total",
      help: 'The number of terminated pods (phase=Failed|Succeeded) that have the finalizer batch.kubernetes.io/job-tracking. The event label can be "add" or "delete".',
      labelNames: ["event"],
    }),
    finishedIndexes: counter(registry, {
      name: "job_controller_job_finished_indexes_total",
      help: 'The number of finished indexes. Possible values for the status label are: "succeeded", "failed". Possible values for the backoffLimit label are: "perIndex" and "global"',
      labelNames: ["status", "backoffLimit"],
    }),
    podsCreation: counter(registry, {
      name: "job_controller_job_pods_creation_total",
      help: 'The number of Pods created by the Job controller labelled with a reason for the Pod creation. This metric also distinguishes between Pods created using different PodReplacementPolicy settings. Possible values of the "reason" label are: "new", "recreate_terminating_or_failed", "recreate_failed". Possible values of the "status" label are: "succeeded", "failed".',
      labelNames: ["reason", "status"],
    }),
    jobsByExternalController: counter(registry, {
      name: "job_controller_jobs_by_external_controller_total",
      help: "The number of Jobs managed by an external controller",
      labelNames: ["controller_name"],
    }),
  };
}
