// Pure helpers of the Job controller (Kubernetes' pkg/controller/job utilities): conditions, completion indexes and
// their interval notation, pod failure policy matching, the pod-failure backoff, and the pods a Job creates.
import { formatTime } from "../../../api/time.js";
import type { Job, JobCondition, PodFailurePolicyRule, SuccessPolicy } from "../../../api/types/batch.js";
import type { Pod } from "../../../api/types/core.js";
import { newControllerRef } from "../controller-utils.js";

/** Pods of a Job carry it until the controller has counted them (Kubernetes' JobTrackingFinalizer). */
export const JOB_TRACKING_FINALIZER = "batch.kubernetes.io/job-tracking";
/** An Indexed Job's pod index, as annotation and label. */
export const JOB_COMPLETION_INDEX_ANNOTATION = "batch.kubernetes.io/job-completion-index";
/** With backoffLimitPerIndex: the counted failures of the pod's index before it (its replacement gets one more). */
export const JOB_INDEX_FAILURE_COUNT_ANNOTATION = "batch.kubernetes.io/job-index-failure-count";
/** Likewise the failures a pod failure policy Ignore rule did not count (absent: 0). */
export const JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION = "batch.kubernetes.io/job-index-ignored-failure-count";
/** The variable that exposes the index to containers (through the downward API on the annotation). */
export const JOB_COMPLETION_INDEX_ENV = "JOB_COMPLETION_INDEX";
/** The first delay before a failed pod is replaced; it doubles with each consecutive failure. */
export const DEFAULT_JOB_POD_FAILURE_BACKOFF_MS = 10_000;
/** The longest such delay (six minutes, as Kubernetes documents). */
export const MAX_JOB_POD_FAILURE_BACKOFF_MS = 6 * 60_000;

export type JobConditionType = "Complete" | "Failed" | "Suspended" | "FailureTarget" | "SuccessCriteriaMet";

export function findCondition(job: Readonly<Job>, type: JobConditionType): Readonly<JobCondition> | undefined {
  return job.status?.conditions?.find((c) => c.type === type);
}

export function hasTrueCondition(job: Readonly<Job>, type: JobConditionType): boolean {
  return findCondition(job, type)?.status === "True";
}

/** Finished for good: Complete or Failed is True. */
export function isJobFinished(job: Readonly<Job>): boolean {
  return hasTrueCondition(job, "Complete") || hasTrueCondition(job, "Failed");
}

/** Sets (or updates) a condition; the transition time changes only when the status does. Returns whether anything changed. */
export function setCondition(conditions: JobCondition[], type: JobConditionType, status: "True" | "False", reason: string, message: string, now: number): boolean {
  const existing = conditions.find((c) => c.type === type);
  if (existing) {
    if (existing.status === status && existing.reason === reason && existing.message === message) return false;
    if (existing.status !== status) existing.lastTransitionTime = formatTime(now);
    existing.status = status;
    existing.reason = reason;
    existing.message = message;
    existing.lastProbeTime = formatTime(now);
    return true;
  }
  conditions.push({ type, status, lastProbeTime: formatTime(now), lastTransitionTime: formatTime(now), reason, message });
  return true;
}

// ---------------------------------------------------------------------------------------------------------------
// Completion indexes

/** The pod's completion index, when it carries a valid one (below `completions`). */
export function podIndex(pod: Readonly<Pod>, completions: number): number | undefined {
  const raw = pod.metadata.annotations?.[JOB_COMPLETION_INDEX_ANNOTATION] ?? pod.metadata.labels?.[JOB_COMPLETION_INDEX_ANNOTATION];
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined;
  const n = Number(raw);
  return n < completions ? n : undefined;
}

/** "1,3-5,7" → [1,3,4,5,7] (status.completedIndexes), ignoring garbage and indexes ≥ completions. */
export function parseIndexes(text: string | undefined, completions: number): Set<number> {
  const out = new Set<number>();
  for (const part of (text ?? "").split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const low = Number(m[1]);
    const high = m[2] !== undefined ? Number(m[2]) : low;
    for (let i = low; i <= high && i < completions; i++) out.add(i);
  }
  return out;
}

/**
 * The first success policy rule the succeeded indexes meet, as the SuccessCriteriaMet message ("Matched rules at
 * index N"); undefined when none is (or nothing succeeded yet). A rule with unparsable succeededIndexes never matches.
 */
export function matchSuccessPolicy(policy: Readonly<SuccessPolicy> | undefined, completions: number, succeeded: ReadonlySet<number>): string | undefined {
  if (!policy || succeeded.size === 0) return undefined;
  for (const [i, rule] of (policy.rules ?? []).entries()) {
    if (rule.succeededIndexes !== undefined) {
      const wanted = parseIndexes(rule.succeededIndexes, completions);
      if (wanted.size === 0) continue;
      let hits = 0;
      for (const ix of wanted) if (succeeded.has(ix)) hits++;
      if (rule.succeededCount !== undefined ? hits >= rule.succeededCount : hits === wanted.size) return `Matched rules at index ${i}`;
    } else if (rule.succeededCount !== undefined && succeeded.size >= rule.succeededCount) return `Matched rules at index ${i}`;
  }
  return undefined;
}

/** A pod's counted and ignored failures of its index before it (its annotations; garbage reads as 0). */
export function indexFailureCounts(pod: Readonly<Pod>): { failed: number; ignored: number } {
  const read = (key: string): number => {
    const raw = pod.metadata.annotations?.[key];
    return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : 0;
  };
  return { failed: read(JOB_INDEX_FAILURE_COUNT_ANNOTATION), ignored: read(JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION) };
}

/** The interval notation Kubernetes writes: sorted, runs of three or more as "a-b". */
export function formatIndexes(indexes: ReadonlySet<number>): string {
  const sorted = [...indexes].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    // Two in a row are written as a pair ("3,4"), three or more as a range ("3-5").
    parts.push(j === i ? `${sorted[i]!}` : `${sorted[i]!}${j === i + 1 ? "," : "-"}${sorted[j]!}`);
    i = j + 1;
  }
  return parts.join(",");
}

// ---------------------------------------------------------------------------------------------------------------
// Pod failure policy

export interface PolicyVerdict {
  action: PodFailurePolicyRule["action"];
  /** For FailJob: the Failed condition's message. */
  message: string;
}

/** The first rule a failed pod matches (Kubernetes' matchPodFailurePolicy); undefined: no rule, count it. */
export function matchPodFailurePolicy(job: Readonly<Job>, pod: Readonly<Pod>): PolicyVerdict | undefined {
  const rules = job.spec?.podFailurePolicy?.rules ?? [];
  for (const [index, rule] of rules.entries()) {
    if (rule.onExitCodes) {
      const { containerName, operator, values } = rule.onExitCodes;
      const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
      for (const status of statuses) {
        if (containerName !== undefined && status.name !== containerName) continue;
        const code = status.state?.terminated?.exitCode;
        if (code === undefined || code === 0) continue;
        const listed = values.includes(code);
        if (operator === "In" ? listed : !listed) {
          const ns = pod.metadata.namespace ?? "";
          return { action: rule.action, message: `Container ${status.name} for pod ${ns}/${pod.metadata.name ?? ""} failed with exit code ${code} matching ${rule.action} rule at index ${index}` };
        }
      }
    }
    for (const req of rule.onPodConditions ?? []) {
      const cond = pod.status?.conditions?.find((c) => c.type === req.type);
      if (cond?.status === (req.status ?? "True")) {
        const ns = pod.metadata.namespace ?? "";
        return { action: rule.action, message: `Pod ${ns}/${pod.metadata.name ?? ""} has condition ${req.type} matching ${rule.action} rule at index ${index}` };
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Backoff

/** The delay before replacing a pod after `failures` consecutive failures: 10 s · 2^(n-1), at most 6 minutes. */
export function podFailureBackoffMs(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(MAX_JOB_POD_FAILURE_BACKOFF_MS, DEFAULT_JOB_POD_FAILURE_BACKOFF_MS * 2 ** Math.min(failures - 1, 30));
}

/** When the pod finished: its containers' latest finishedAt, else its deletion or the given fallback. */
export function podFinishTime(pod: Readonly<Pod>, fallback: number): number {
  let latest: number | undefined;
  for (const s of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
    const t = Date.parse(s.state?.terminated?.finishedAt ?? "");
    if (!Number.isNaN(t) && (latest === undefined || t > latest)) latest = t;
  }
  if (latest !== undefined) return latest;
  const deleted = Date.parse(pod.metadata.deletionTimestamp ?? "");
  return Number.isNaN(deleted) ? fallback : deleted;
}

// ---------------------------------------------------------------------------------------------------------------
// Pods

/**
 * The pod a Job creates: the template with the controller reference and the tracking finalizer; for Indexed Jobs
 * the index as annotation and label, in the name (`<job>-<index>-xxxxx`), as hostname `<job>-<index>` and as
 * JOB_COMPLETION_INDEX in every container; `extraAnnotations` carry the per-index failure counts.
 */
export function newPodForJob(job: Readonly<Job>, index: number | undefined, extraAnnotations: Readonly<Record<string, string>> = {}): Pod {
  const template = job.spec?.template;
  const name = job.metadata.name ?? "";
  const labels = { ...(template?.metadata?.labels ?? {}) };
  const annotations = { ...(template?.metadata?.annotations ?? {}), ...extraAnnotations };
  const spec = structuredClone(template?.spec ?? { containers: [] });
  if (index !== undefined) {
    annotations[JOB_COMPLETION_INDEX_ANNOTATION] = String(index);
    labels[JOB_COMPLETION_INDEX_ANNOTATION] = String(index);
    spec.hostname ??= `${name}-${index}`;
    const env = { name: JOB_COMPLETION_INDEX_ENV, valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: `metadata.annotations['${JOB_COMPLETION_INDEX_ANNOTATION}']` } } };
    for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
      if (!(c.env ?? []).some((e) => e.name === JOB_COMPLETION_INDEX_ENV)) c.env = [...(c.env ?? []), env];
    }
  }
  const pod: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      generateName: index === undefined ? `${name}-` : `${name}-${index}-`,
      labels,
      ownerReferences: [newControllerRef(job, "batch/v1", "Job")],
      finalizers: [...(template?.metadata?.finalizers ?? []), JOB_TRACKING_FINALIZER],
    },
    spec,
  };
  if (Object.keys(annotations).length > 0) pod.metadata.annotations = annotations;
  if (job.metadata.namespace !== undefined) pod.metadata.namespace = job.metadata.namespace;
  return pod;
}

export function hasTrackingFinalizer(pod: Readonly<Pod>): boolean {
  return pod.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER) === true;
}

/** A strategic-merge patch removing the tracking finalizer; metadata.uid pins the pod we mean. */
export function removeFinalizerPatch(pod: Readonly<Pod>): Record<string, unknown> {
  return { metadata: { "$deleteFromPrimitiveList/finalizers": [JOB_TRACKING_FINALIZER], ...(pod.metadata.uid ? { uid: pod.metadata.uid } : {}) } };
}
