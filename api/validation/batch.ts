// batch/v1: Jobs and CronJobs (pkg/apis/batch/validation), with the cron schedule parsed as robfig/cron's
// ParseStandard parses it (../cron.ts), so a bad schedule gets the message Kubernetes gives.
import { scheduleError } from "../cron.js";
import type { FieldError } from "../errors.js";
import { selectorFromLabelSelector } from "../labels.js";
import type { PodFailurePolicyRule, SuccessPolicyRule } from "../types/batch.js";
import type { CronJob, Job, JobSpec, JobTemplateSpec } from "../types/index.js";
import { duplicate, goLabelSelector, goStringMap, immutable, invalid, notSupported, raw, required, tooLong, tooMany } from "./field-errors.js";
import { deepEqual, isObj, str } from "./helpers.js";
import { validateLabelSelector } from "./label-selectors.js";
import { validateAnnotations, validateLabels } from "./object-meta.js";
import { validatePodSpec } from "./pod-spec.js";

/** CronJob names leave room for the 11-character suffix of the Jobs they create. */
const CRONJOB_NAME_MAX = 52;
/** Limits of pkg/apis/batch/validation (they cap the size of completedIndexes and failedIndexes). */
const MAX_PARALLELISM_INDEXED = 100_000;
const MAX_FAILED_INDEXES = 100_000;
const COMPLETIONS_SOFT_LIMIT = 100_000;
const PARALLELISM_LIMIT_HIGH_COMPLETIONS = 10_000;
const MAX_FAILED_INDEXES_HIGH_COMPLETIONS = 10_000;
const MAX_POD_FAILURE_POLICY_RULES = 20;
const MAX_ON_EXIT_CODES_VALUES = 255;
const MAX_ON_POD_CONDITIONS = 20;
const MAX_SUCCESS_POLICY_RULES = 20;
const MAX_SUCCEEDED_INDEXES_LENGTH = 64 * 1024;
const POD_FAILURE_POLICY_ACTIONS = ["Count", "FailIndex", "FailJob", "Ignore"];

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
  if (!deepEqual(spec.podFailurePolicy, old.podFailurePolicy)) errs.push(immutable("spec.podFailurePolicy", raw("batch.PodFailurePolicy{...}")));
  if (spec.backoffLimitPerIndex !== old.backoffLimitPerIndex) errs.push(immutable("spec.backoffLimitPerIndex", spec.backoffLimitPerIndex ?? raw("null")));
  if (!deepEqual(spec.successPolicy, old.successPolicy)) errs.push(immutable("spec.successPolicy", raw("batch.SuccessPolicy{...}")));
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
  if (typeof spec.maxFailedIndexes === "number" && spec.backoffLimitPerIndex === undefined) errs.push(required(`${path}.backoffLimitPerIndex`, "when maxFailedIndexes is specified"));
  if (spec.completionMode === "Indexed") errs.push(...validateIndexedLimits(spec, path));
  else {
    if (spec.backoffLimitPerIndex !== undefined) errs.push(invalid(`${path}.backoffLimitPerIndex`, spec.backoffLimitPerIndex, "requires indexed completion mode"));
    if (spec.maxFailedIndexes !== undefined) errs.push(invalid(`${path}.maxFailedIndexes`, spec.maxFailedIndexes, "requires indexed completion mode"));
  }
  if (isObj(spec.podFailurePolicy)) errs.push(...validatePodFailurePolicy(spec, `${path}.podFailurePolicy`));
  if (spec.successPolicy !== undefined && spec.successPolicy !== null) {
    if (spec.completionMode !== "Indexed") errs.push(invalid(`${path}.successPolicy`, raw(goSuccessPolicy(spec.successPolicy.rules)), "requires indexed completion mode"));
    else errs.push(...validateSuccessPolicy(spec, `${path}.successPolicy`));
  }
  if (spec.podReplacementPolicy !== undefined) {
    if (spec.podFailurePolicy !== undefined && spec.podReplacementPolicy !== "Failed") errs.push(notSupported(`${path}.podReplacementPolicy`, spec.podReplacementPolicy, ["Failed"]));
    else if (spec.podReplacementPolicy !== "Failed" && spec.podReplacementPolicy !== "TerminatingOrFailed") errs.push(notSupported(`${path}.podReplacementPolicy`, spec.podReplacementPolicy, ["Failed", "TerminatingOrFailed"]));
  }
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
  } else if (spec.podFailurePolicy !== undefined && restartPolicy !== "Never") {
    errs.push(invalid(`${path}.template.spec.restartPolicy`, restartPolicy, 'only "Never" is supported when podFailurePolicy is specified'));
  }
  return errs;
}

/** The Indexed-mode limits on completions, parallelism and maxFailedIndexes. */
function validateIndexedLimits(spec: JobSpec, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const { completions, parallelism, maxFailedIndexes, backoffLimitPerIndex } = spec;
  if (completions === undefined) errs.push(required(`${path}.completions`, "when completion mode is Indexed"));
  if (typeof parallelism === "number" && parallelism > MAX_PARALLELISM_INDEXED) {
    errs.push(invalid(`${path}.parallelism`, parallelism, `must be less than or equal to ${MAX_PARALLELISM_INDEXED} when completion mode is Indexed`));
  }
  if (typeof completions === "number" && typeof maxFailedIndexes === "number" && maxFailedIndexes > completions) {
    errs.push(invalid(`${path}.maxFailedIndexes`, maxFailedIndexes, "must be less than or equal to completions"));
  }
  if (typeof maxFailedIndexes === "number" && maxFailedIndexes > MAX_FAILED_INDEXES) errs.push(invalid(`${path}.maxFailedIndexes`, maxFailedIndexes, `must be less than or equal to ${MAX_FAILED_INDEXES}`));
  if (typeof completions === "number" && completions > COMPLETIONS_SOFT_LIMIT && backoffLimitPerIndex !== undefined) {
    const tail = `when completions are above ${COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index`;
    if (maxFailedIndexes === undefined) errs.push(required(`${path}.maxFailedIndexes`, `must be specified when completions is above ${COMPLETIONS_SOFT_LIMIT}`));
    if (typeof parallelism === "number" && parallelism > PARALLELISM_LIMIT_HIGH_COMPLETIONS) errs.push(invalid(`${path}.parallelism`, parallelism, `must be less than or equal to ${PARALLELISM_LIMIT_HIGH_COMPLETIONS} ${tail}`));
    if (typeof maxFailedIndexes === "number" && maxFailedIndexes > MAX_FAILED_INDEXES_HIGH_COMPLETIONS) {
      errs.push(invalid(`${path}.maxFailedIndexes`, maxFailedIndexes, `must be less than or equal to ${MAX_FAILED_INDEXES_HIGH_COMPLETIONS} ${tail}`));
    }
  }
  return errs;
}

function validatePodFailurePolicy(spec: JobSpec, path: string): FieldError[] {
  const rules = Array.isArray(spec.podFailurePolicy?.rules) ? spec.podFailurePolicy.rules : [];
  const errs: FieldError[] = [];
  if (rules.length > MAX_POD_FAILURE_POLICY_RULES) errs.push(tooMany(`${path}.rules`, rules.length, MAX_POD_FAILURE_POLICY_RULES));
  const podSpec = spec.template?.spec;
  const containerNames = new Set([...(podSpec?.containers ?? []), ...(podSpec?.initContainers ?? [])].map((c) => c.name));
  rules.forEach((rule, i) => errs.push(...validatePodFailurePolicyRule(spec, rule, `${path}.rules[${i}]`, containerNames)));
  return errs;
}

function validatePodFailurePolicyRule(spec: JobSpec, rule: PodFailurePolicyRule, path: string, containerNames: ReadonlySet<string>): FieldError[] {
  const errs: FieldError[] = [];
  const action: string = rule.action ?? "";
  if (action === "") errs.push(required(`${path}.action`, `valid values: ${goQuotedList(POD_FAILURE_POLICY_ACTIONS)}`));
  else if (action === "FailIndex") {
    if (spec.backoffLimitPerIndex === undefined) errs.push(invalid(`${path}.action`, action, "requires the backoffLimitPerIndex to be set"));
  } else if (!POD_FAILURE_POLICY_ACTIONS.includes(action)) errs.push(notSupported(`${path}.action`, action, POD_FAILURE_POLICY_ACTIONS));
  const onExitCodes = rule.onExitCodes;
  const onPodConditions = Array.isArray(rule.onPodConditions) ? rule.onPodConditions : [];
  if (isObj(onExitCodes)) {
    const p = `${path}.onExitCodes`;
    const operator: string = onExitCodes.operator ?? "";
    if (operator === "") errs.push(required(`${p}.operator`, `valid values: ${goQuotedList(["In", "NotIn"])}`));
    else if (operator !== "In" && operator !== "NotIn") errs.push(notSupported(`${p}.operator`, operator, ["In", "NotIn"]));
    if (onExitCodes.containerName !== undefined && !containerNames.has(onExitCodes.containerName)) {
      errs.push(invalid(`${p}.containerName`, onExitCodes.containerName, "must be one of the container or initContainer names in the pod template"));
    }
    const values = Array.isArray(onExitCodes.values) ? onExitCodes.values : [];
    if (values.length === 0) errs.push(invalid(`${p}.values`, raw("[]int32(nil)"), "at least one value is required"));
    else if (values.length > MAX_ON_EXIT_CODES_VALUES) errs.push(tooMany(`${p}.values`, values.length, MAX_ON_EXIT_CODES_VALUES));
    const seen = new Set<number>();
    let ordered = true;
    values.forEach((v, j) => {
      if (operator === "In" && v === 0) errs.push(invalid(`${p}.values[${j}]`, v, "must not be 0 for the In operator"));
      if (seen.has(v)) errs.push(duplicate(`${p}.values[${j}]`, v));
      seen.add(v);
      if (j > 0 && values[j - 1]! > v) ordered = false;
    });
    if (!ordered) errs.push(invalid(`${p}.values`, raw(`[]int32{${values.join(", ")}}`), "must be ordered"));
  }
  if (onPodConditions.length > MAX_ON_POD_CONDITIONS) errs.push(tooMany(`${path}.onPodConditions`, onPodConditions.length, MAX_ON_POD_CONDITIONS));
  onPodConditions.forEach((pattern, j) => {
    const status: string = pattern.status ?? "";
    const statusPath = `${path}.onPodConditions[${j}].status`;
    if (status === "") errs.push(required(statusPath, `valid values: ${goQuotedList(["False", "True", "Unknown"])}`));
    else if (!["False", "True", "Unknown"].includes(status)) errs.push(notSupported(statusPath, status, ["False", "True", "Unknown"]));
  });
  if (isObj(onExitCodes) && onPodConditions.length > 0) errs.push(invalidOmitted(path, "specifying both OnExitCodes and OnPodConditions is not supported"));
  if (!isObj(onExitCodes) && onPodConditions.length === 0) errs.push(invalidOmitted(path, "specifying one of OnExitCodes and OnPodConditions is required"));
  return errs;
}

function validateSuccessPolicy(spec: JobSpec, path: string): FieldError[] {
  const rules = Array.isArray(spec.successPolicy?.rules) ? spec.successPolicy.rules : [];
  const errs: FieldError[] = [];
  if (rules.length === 0) errs.push(required(`${path}.rules`, "at least one rules must be specified when the successPolicy is specified"));
  if (rules.length > MAX_SUCCESS_POLICY_RULES) errs.push(tooMany(`${path}.rules`, rules.length, MAX_SUCCESS_POLICY_RULES));
  rules.forEach((rule, i) => errs.push(...validateSuccessPolicyRule(spec.completions ?? 0, rule, `${path}.rules[${i}]`)));
  return errs;
}

function validateSuccessPolicyRule(completions: number, rule: SuccessPolicyRule, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (rule.succeededCount === undefined && rule.succeededIndexes === undefined) errs.push(required(path, "at least one of succeededCount or succeededIndexes must be specified"));
  let total = 0;
  if (rule.succeededIndexes !== undefined) {
    const p = `${path}.succeededIndexes`;
    if (rule.succeededIndexes.length > MAX_SUCCEEDED_INDEXES_LENGTH) errs.push(tooLong(p, MAX_SUCCEEDED_INDEXES_LENGTH));
    const parsed = countIndexes(rule.succeededIndexes, completions);
    if (typeof parsed === "string") errs.push(invalid(p, rule.succeededIndexes, `error parsing succeededIndexes: ${parsed}`));
    else total = parsed;
  }
  if (rule.succeededCount !== undefined) {
    const p = `${path}.succeededCount`;
    const count = rule.succeededCount;
    if (count < 0) errs.push(invalid(p, count, "must be greater than or equal to 0"));
    if (count > completions) errs.push(invalid(p, count, `must be less than or equal to ${completions} (the number of specified completions)`));
    if (rule.succeededIndexes !== undefined && count > total) errs.push(invalid(p, count, `must be less than or equal to ${total} (the number of indexes in the specified succeededIndexes field)`));
  }
  return errs;
}

/** How many indexes an interval list ("1,3-5") names; a string says why it is malformed (Kubernetes' wording). */
export function countIndexes(text: string, completions: number): number | string {
  if (text === "") return 0;
  let last: number | undefined;
  let total = 0;
  for (const part of text.split(",")) {
    const limits = part.split("-");
    if (limits.length > 2) return `the fragment ${JSON.stringify(part)} violates the requirement that an index interval can have at most two parts separated by '-'`;
    const bounds: number[] = [];
    for (const limit of limits) {
      if (!/^[+-]?\d+$/.test(limit)) return `cannot convert string to integer for index: ${JSON.stringify(limit)}`;
      const n = Number(limit);
      if (n >= completions) return `too large index: ${JSON.stringify(limit)}`;
      bounds.push(n);
    }
    const x = bounds[0]!;
    const y = bounds[1] ?? x;
    if (bounds.length === 2 && x >= y) return `non-increasing order, previous: ${x}, current: ${y}`;
    if (last !== undefined && last >= x) return `non-increasing order, previous: ${last}, current: ${x}`;
    total += y - x + 1;
    last = y;
  }
  return total;
}

/** An Invalid error whose value Kubernetes omits (field.OmitValueType). */
function invalidOmitted(field: string, detail: string): FieldError {
  return { type: "FieldValueInvalid", field, message: `Invalid value: ${detail}` };
}

function goQuotedList(values: readonly string[]): string {
  return `[${values.map((v) => JSON.stringify(v)).join(" ")}]`;
}

function goSuccessPolicy(rules: readonly SuccessPolicyRule[] | undefined): string {
  const inner = (rules ?? []).map((r) => `batch.SuccessPolicyRule{SucceededIndexes:${r.succeededIndexes === undefined ? "(*string)(nil)" : "(*string)(...)"}, SucceededCount:${r.succeededCount === undefined ? "(*int32)(nil)" : "(*int32)(...)"}}`);
  return `batch.SuccessPolicy{Rules:[]batch.SuccessPolicyRule{${inner.join(", ")}}}`;
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
