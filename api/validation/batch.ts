// batch/v1: Jobs and CronJobs (pkg/apis/batch/validation), with the cron schedule parsed as robfig/cron's
// ParseStandard parses it (../cron.ts), so a bad schedule gets the message Kubernetes gives.
import { scheduleError } from "../cron.js";
import type { FieldError } from "../errors.js";
import { selectorFromLabelSelector } from "../labels.js";
import type { CronJob, Job, JobSpec, JobTemplateSpec } from "../types/index.js";
import { goLabelSelector, goStringMap, immutable, invalid, notSupported, raw, required } from "./field-errors.js";
import { deepEqual, isObj, str } from "./helpers.js";
import { validateLabelSelector } from "./label-selectors.js";
import { validateAnnotations, validateLabels } from "./object-meta.js";
import { validatePodSpec } from "./pod-spec.js";

/** CronJob names leave room for the 11-character suffix of the Jobs they create. */
const CRONJOB_NAME_MAX = 52;

export function validateJob(job: Job): FieldError[] {
  const spec: JobSpec = isObj(job.spec) ? job.spec : {};
  const errs: FieldError[] = [];
  if (spec.selector === undefined) errs.push(required("spec.selector"));
  errs.push(...validateJobSpec(spec, "spec", true));
  return errs;
}

export function validateJobUpdate(next: Job, prev: Job): FieldError[] {
  const errs: FieldError[] = [];
  const spec: JobSpec = isObj(next.spec) ? next.spec : {};
  const old: JobSpec = isObj(prev.spec) ? prev.spec : {};
  if (!deepEqual(spec.selector, old.selector)) errs.push(immutable("spec.selector", raw(goLabelSelector(spec.selector))));
  // A suspended Job's template may change (Kueue and friends set node affinity before resuming it).
  if (!deepEqual(spec.template, old.template) && old.suspend !== true) errs.push(immutable("spec.template", raw("core.PodTemplateSpec{...}")));
  if (spec.completions !== old.completions && spec.completionMode !== "Indexed") errs.push(immutable("spec.completions", spec.completions));
  if (spec.completionMode !== old.completionMode) errs.push(immutable("spec.completionMode", spec.completionMode));
  return errs;
}

export function validateCronJob(cj: CronJob): FieldError[] {
  const errs: FieldError[] = [];
  const name = str(cj.metadata.name);
  if (name.length > CRONJOB_NAME_MAX) errs.push(invalid("metadata.name", name, `must be no more than ${CRONJOB_NAME_MAX} characters`));
  const spec = isObj(cj.spec) ? cj.spec : {};
  if (!spec.schedule) errs.push(required("spec.schedule"));
  else {
    const problem = scheduleError(str(spec.schedule));
    if (problem) errs.push(invalid("spec.schedule", spec.schedule, problem));
  }
  if (spec.timeZone !== undefined && !isTimeZone(str(spec.timeZone))) errs.push(invalid("spec.timeZone", spec.timeZone, `unknown time zone ${spec.timeZone}`));
  for (const key of ["startingDeadlineSeconds", "successfulJobsHistoryLimit", "failedJobsHistoryLimit"] as const) {
    const v = spec[key];
    if (typeof v === "number" && v < 0) errs.push(invalid(`spec.${key}`, v, "must be greater than or equal to 0"));
  }
  if (spec.concurrencyPolicy === undefined) errs.push(required("spec.concurrencyPolicy"));
  else if (!["Allow", "Forbid", "Replace"].includes(spec.concurrencyPolicy)) errs.push(notSupported("spec.concurrencyPolicy", spec.concurrencyPolicy, ["Allow", "Forbid", "Replace"]));
  errs.push(...validateJobTemplate(spec.jobTemplate, "spec.jobTemplate"));
  return errs;
}

function validateJobTemplate(template: JobTemplateSpec | undefined, path: string): FieldError[] {
  if (!isObj(template)) return [required(path)];
  const errs = validateLabels(template.metadata?.labels, `${path}.metadata.labels`);
  errs.push(...validateAnnotations(template.metadata?.annotations, `${path}.metadata.annotations`));
  errs.push(...validateJobSpec(isObj(template.spec) ? template.spec : {}, `${path}.spec`, false));
  return errs;
}

/** validateJobSpec: counts, the selector matching the template, the template's pod spec and restart policy. */
function validateJobSpec(spec: JobSpec, path: string, isJob: boolean): FieldError[] {
  const errs: FieldError[] = [];
  for (const key of ["parallelism", "completions", "activeDeadlineSeconds", "backoffLimit", "ttlSecondsAfterFinished", "backoffLimitPerIndex", "maxFailedIndexes"] as const) {
    const v = spec[key];
    if (typeof v === "number" && v < 0) errs.push(invalid(`${path}.${key}`, v, "must be greater than or equal to 0"));
  }
  if (spec.completionMode !== undefined && spec.completionMode !== "NonIndexed" && spec.completionMode !== "Indexed") {
    errs.push(notSupported(`${path}.completionMode`, spec.completionMode, ["NonIndexed", "Indexed"]));
  }
  if (spec.completionMode === "Indexed" && spec.completions === undefined) errs.push(required(`${path}.completions`, "when completion mode is Indexed"));
  let selects: ((labels: Record<string, string> | undefined) => boolean) | undefined;
  if (spec.selector !== undefined) {
    const selErrs = validateLabelSelector(spec.selector, `${path}.selector`);
    errs.push(...selErrs);
    if (selErrs.length === 0) {
      try {
        const selector = selectorFromLabelSelector(spec.selector);
        selects = (labels) => selector.matches(labels);
      } catch {
        errs.push(invalid(`${path}.selector`, raw(goLabelSelector(spec.selector)), "invalid label selector"));
      }
    }
  }
  const template = spec.template;
  if (!isObj(template)) {
    errs.push(required(`${path}.template`));
    return errs;
  }
  const labels = template.metadata?.labels;
  if (isJob && selects && !selects(labels)) {
    errs.push(invalid(`${path}.template.metadata.labels`, raw(goStringMap(labels)), "`selector` does not match template `labels`"));
  }
  errs.push(...validateLabels(labels, `${path}.template.labels`));
  errs.push(...validateAnnotations(template.metadata?.annotations, `${path}.template.annotations`));
  errs.push(...validatePodSpec(template.spec, `${path}.template.spec`));
  const restartPolicy = template.spec?.restartPolicy;
  if (restartPolicy !== "OnFailure" && restartPolicy !== "Never") {
    errs.push(notSupported(`${path}.template.spec.restartPolicy`, restartPolicy ?? "", ["OnFailure", "Never"]));
  }
  return errs;
}

function isTimeZone(zone: string): boolean {
  if (zone === "" || zone.includes("\\") || zone.startsWith("/")) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}
