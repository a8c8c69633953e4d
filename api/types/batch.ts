// batch/v1 object types: Job and CronJob. Field names and JSON shapes are Kubernetes'.
import type { KubeObject, LabelSelector, ObjectMeta } from "../meta.js";
import type { ConditionStatus, ObjectReference, PodTemplateSpec } from "./core.js";

export interface JobSpec {
  parallelism?: number;
  completions?: number;
  activeDeadlineSeconds?: number;
  backoffLimit?: number;
  backoffLimitPerIndex?: number;
  maxFailedIndexes?: number;
  selector?: LabelSelector;
  manualSelector?: boolean;
  template?: PodTemplateSpec;
  ttlSecondsAfterFinished?: number;
  completionMode?: "NonIndexed" | "Indexed";
  suspend?: boolean;
  podReplacementPolicy?: "TerminatingOrFailed" | "Failed";
  podFailurePolicy?: PodFailurePolicy;
  successPolicy?: SuccessPolicy;
  managedBy?: string;
}

/** When an Indexed Job counts as succeeded before all its indexes did (the first rule met decides). */
export interface SuccessPolicy {
  rules?: SuccessPolicyRule[];
}

/** Met when the listed indexes all succeeded, when succeededCount indexes did, or succeededCount of the listed ones. */
export interface SuccessPolicyRule {
  succeededIndexes?: string;
  succeededCount?: number;
}

export interface PodFailurePolicy {
  rules?: PodFailurePolicyRule[];
}

/** One rule: the first whose requirements a failed pod meets decides what its failure means. */
export interface PodFailurePolicyRule {
  action: "FailJob" | "FailIndex" | "Ignore" | "Count";
  onExitCodes?: { containerName?: string; operator: "In" | "NotIn"; values: number[] };
  onPodConditions?: { type: string; status?: ConditionStatus }[];
}

export interface JobCondition {
  type: string;
  status: ConditionStatus;
  lastProbeTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface JobStatus {
  conditions?: JobCondition[];
  startTime?: string;
  completionTime?: string;
  active?: number;
  succeeded?: number;
  failed?: number;
  terminating?: number;
  ready?: number;
  completedIndexes?: string;
  failedIndexes?: string;
  /** Finished pods whose finalizer is being removed, counted into succeeded/failed once it is gone. */
  uncountedTerminatedPods?: { succeeded?: string[]; failed?: string[] };
}

export interface Job extends KubeObject {
  spec?: JobSpec;
  status?: JobStatus;
}

export interface JobTemplateSpec {
  metadata?: ObjectMeta;
  spec?: JobSpec;
}

export interface CronJobSpec {
  schedule?: string;
  timeZone?: string;
  startingDeadlineSeconds?: number;
  concurrencyPolicy?: "Allow" | "Forbid" | "Replace";
  suspend?: boolean;
  jobTemplate?: JobTemplateSpec;
  successfulJobsHistoryLimit?: number;
  failedJobsHistoryLimit?: number;
}

export interface CronJobStatus {
  active?: ObjectReference[];
  lastScheduleTime?: string;
  lastSuccessfulTime?: string;
}

export interface CronJob extends KubeObject {
  spec?: CronJobSpec;
  status?: CronJobStatus;
}
