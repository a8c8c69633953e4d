// Workloads: Deployments, ReplicaSets, ReplicationControllers, DaemonSets, StatefulSets and their templates.
import type { FieldError } from "../errors.js";
import { selectorFromLabelSelector } from "../labels.js";
import type { LabelSelector } from "../meta.js";
import type { DaemonSet, Deployment, IntOrString, ReplicaSet, ReplicationController, StatefulSet } from "../types/index.js";
import { forbidden, goIntOrString, goLabelSelector, invalid, notSupported, raw, required } from "./field-errors.js";
import { deepEqual, includes, isObj, isRecordValue } from "./helpers.js";
import { selectorIsEmpty, validateLabelSelector } from "./label-selectors.js";
import { PERCENT, matchesWhole, regexError } from "./names.js";
import { validateLabels } from "./object-meta.js";
import { validateWorkloadTemplate } from "./pod-spec.js";

function validateReplicas(spec: { replicas?: number; minReadySeconds?: number }): FieldError[] {
  const errs: FieldError[] = [];
  for (const key of ["replicas", "minReadySeconds"] as const) {
    const v = spec[key];
    if (typeof v === "number" && v < 0) errs.push(invalid(`spec.${key}`, v, "must be greater than or equal to 0"));
  }
  return errs;
}

/** The apps/v1 selector: required, valid, non-empty; returns a matcher for the template check when usable. */
function validateAppsSelector(sel: LabelSelector | undefined, errs: FieldError[], kind: string): ((labels: Record<string, string> | undefined) => boolean) | undefined {
  if (sel === undefined || sel === null) {
    errs.push(required("spec.selector"));
    return undefined;
  }
  const selErrs = validateLabelSelector(sel, "spec.selector");
  errs.push(...selErrs);
  if (selectorIsEmpty(sel)) {
    errs.push(invalid("spec.selector", raw(goLabelSelector(sel)), `empty selector is invalid for ${kind}`));
    return undefined;
  }
  if (selErrs.length > 0) return undefined;
  try {
    const selector = selectorFromLabelSelector(sel);
    return (labels) => selector.matches(labels);
  } catch {
    errs.push(invalid("spec.selector", raw(goLabelSelector(sel)), "invalid label selector"));
    return undefined;
  }
}

export function validateDeployment(d: Deployment): FieldError[] {
  const spec: NonNullable<Deployment["spec"]> = isObj(d.spec) ? d.spec : {};
  const errs = validateReplicas(spec);
  const selects = validateAppsSelector(spec.selector, errs, "deployment");
  errs.push(...validateWorkloadTemplate(spec.template, selects, "spec.template", "ReplicaSet"));
  const strategy = isObj(spec.strategy) ? spec.strategy : {};
  switch (strategy.type) {
    case "Recreate":
      if (strategy.rollingUpdate !== undefined) errs.push(forbidden("spec.strategy.rollingUpdate", "may not be specified when strategy `type` is 'Recreate'"));
      break;
    case "RollingUpdate": {
      const ru = strategy.rollingUpdate;
      if (!isObj(ru)) {
        errs.push(required("spec.strategy.rollingUpdate", "this should be defaulted and never be nil"));
        break;
      }
      const p = "spec.strategy.rollingUpdate";
      errs.push(...intOrPercentErrors(ru.maxUnavailable, `${p}.maxUnavailable`));
      errs.push(...intOrPercentErrors(ru.maxSurge, `${p}.maxSurge`));
      if (intOrPercentValue(ru.maxUnavailable) === 0 && intOrPercentValue(ru.maxSurge) === 0) {
        errs.push(invalid(`${p}.maxUnavailable`, raw(goIntOrString(ru.maxUnavailable)), "may not be 0 when `maxSurge` is 0"));
      }
      errs.push(...notOver100Percent(ru.maxUnavailable, `${p}.maxUnavailable`));
      break;
    }
    case undefined:
    default:
      errs.push(notSupported("spec.strategy", raw(`apps.DeploymentStrategy{Type:${JSON.stringify(strategy.type ?? "")}}`), ["Recreate", "RollingUpdate"]));
  }
  if (typeof spec.revisionHistoryLimit === "number" && spec.revisionHistoryLimit < 0) {
    errs.push(invalid("spec.revisionHistoryLimit", spec.revisionHistoryLimit, "must be greater than or equal to 0"));
  }
  if (typeof spec.progressDeadlineSeconds === "number") {
    if (spec.progressDeadlineSeconds < 0) errs.push(invalid("spec.progressDeadlineSeconds", spec.progressDeadlineSeconds, "must be greater than or equal to 0"));
    if (spec.progressDeadlineSeconds <= (spec.minReadySeconds ?? 0)) {
      errs.push(invalid("spec.progressDeadlineSeconds", spec.progressDeadlineSeconds, "must be greater than minReadySeconds"));
    }
  }
  return errs;
}

export function validateReplicaSet(rs: ReplicaSet): FieldError[] {
  const spec: NonNullable<ReplicaSet["spec"]> = isObj(rs.spec) ? rs.spec : {};
  const errs = validateReplicas(spec);
  // Kubernetes says "deployment" here too.
  const selects = validateAppsSelector(spec.selector, errs, "deployment");
  errs.push(...validateWorkloadTemplate(spec.template, selects, "spec.template", "ReplicaSet"));
  return errs;
}

export function validateDaemonSet(ds: DaemonSet): FieldError[] {
  const spec: NonNullable<DaemonSet["spec"]> = isObj(ds.spec) ? ds.spec : {};
  const errs = validateReplicas(spec);
  const selects = validateAppsSelector(spec.selector, errs, "daemonset");
  errs.push(...validateWorkloadTemplate(spec.template, selects, "spec.template", "DaemonSet"));
  const strategy = isObj(spec.updateStrategy) ? spec.updateStrategy : {};
  const p = "spec.updateStrategy";
  switch (strategy.type) {
    case "OnDelete":
      break;
    case "RollingUpdate": {
      const ru = strategy.rollingUpdate;
      if (!isObj(ru)) {
        errs.push(required(`${p}.rollingUpdate`));
        break;
      }
      errs.push(...intOrPercentErrors(ru.maxUnavailable, `${p}.rollingUpdate.maxUnavailable`));
      errs.push(...intOrPercentErrors(ru.maxSurge, `${p}.rollingUpdate.maxSurge`));
      errs.push(...notOver100Percent(ru.maxUnavailable, `${p}.rollingUpdate.maxUnavailable`));
      errs.push(...notOver100Percent(ru.maxSurge, `${p}.rollingUpdate.maxSurge`));
      const hasUnavailable = intOrPercentValue(ru.maxUnavailable) !== 0;
      const hasSurge = intOrPercentValue(ru.maxSurge) !== 0;
      if (hasUnavailable && hasSurge) {
        errs.push(invalid(`${p}.rollingUpdate.maxSurge`, raw(goIntOrString(ru.maxSurge)), "may not be set when maxUnavailable is non-zero"));
      } else if (!hasUnavailable && !hasSurge) {
        errs.push(required(`${p}.rollingUpdate.maxUnavailable`, "cannot be 0 when maxSurge is 0"));
      }
      break;
    }
    case undefined:
    default:
      errs.push(notSupported(`${p}.type`, strategy.type ?? "", ["OnDelete", "RollingUpdate"]));
  }
  if (typeof spec.revisionHistoryLimit === "number" && spec.revisionHistoryLimit < 0) {
    errs.push(invalid("spec.revisionHistoryLimit", spec.revisionHistoryLimit, "must be greater than or equal to 0"));
  }
  return errs;
}

/**
 * The template as the set's pods get it: each volumeClaimTemplate is a volume too, so volumeMounts may name the
 * claims (Kubernetes leaves the pod spec of a StatefulSet template unchecked for this reason).
 */
function withClaimVolumes(spec: NonNullable<StatefulSet["spec"]>): NonNullable<StatefulSet["spec"]>["template"] {
  const template = spec.template;
  if (!isObj(template) || !isObj(template.spec) || !Array.isArray(spec.volumeClaimTemplates)) return template;
  const volumes = Array.isArray(template.spec.volumes) ? [...template.spec.volumes] : [];
  for (const claim of spec.volumeClaimTemplates) {
    const name = isObj(claim) && isObj(claim.metadata) ? claim.metadata.name : undefined;
    if (typeof name !== "string" || volumes.some((v) => isObj(v) && v.name === name)) continue;
    volumes.push({ name, persistentVolumeClaim: { claimName: name } });
  }
  return { ...template, spec: { ...template.spec, volumes } };
}

export function validateStatefulSet(sts: StatefulSet): FieldError[] {
  const spec: NonNullable<StatefulSet["spec"]> = isObj(sts.spec) ? sts.spec : {};
  const errs = validateReplicas(spec);
  if (spec.podManagementPolicy === undefined) errs.push(required("spec.podManagementPolicy"));
  else if (!includes(["OrderedReady", "Parallel"], spec.podManagementPolicy)) {
    errs.push(invalid("spec.podManagementPolicy", spec.podManagementPolicy, "must be 'OrderedReady' or 'Parallel'"));
  }
  const strategy = isObj(spec.updateStrategy) ? spec.updateStrategy : {};
  switch (strategy.type) {
    case "OnDelete":
      if (strategy.rollingUpdate !== undefined) errs.push(invalid("spec.updateStrategy.rollingUpdate", raw("apps.RollingUpdateStatefulSetStrategy{...}"), "only allowed for updateStrategy 'RollingUpdate'"));
      break;
    case "RollingUpdate": {
      const partition = strategy.rollingUpdate?.partition;
      if (typeof partition === "number" && partition < 0) {
        errs.push(invalid("spec.updateStrategy.rollingUpdate.partition", partition, "must be greater than or equal to 0"));
      }
      // Kept whatever the controller-manager's MaxUnavailableStatefulSet gate says (it decides whether it is used).
      const maxUnavailable = strategy.rollingUpdate?.maxUnavailable;
      if (maxUnavailable !== undefined) {
        const p = "spec.updateStrategy.rollingUpdate.maxUnavailable";
        errs.push(...intOrPercentErrors(maxUnavailable, p));
        if (intOrPercentValue(maxUnavailable) === 0) errs.push(invalid(p, raw(goIntOrString(maxUnavailable)), "cannot be 0"));
        errs.push(...notOver100Percent(maxUnavailable, p));
      }
      break;
    }
    case undefined:
    default:
      errs.push(invalid("spec.updateStrategy", strategy.type ?? "", "must be 'RollingUpdate' or 'OnDelete'"));
  }
  const selects = validateAppsSelector(spec.selector, errs, "statefulset");
  errs.push(...validateWorkloadTemplate(withClaimVolumes(spec), selects, "spec.template", "StatefulSet"));
  if (typeof spec.revisionHistoryLimit === "number" && spec.revisionHistoryLimit < 0) {
    errs.push(invalid("spec.revisionHistoryLimit", spec.revisionHistoryLimit, "must be greater than or equal to 0"));
  }
  return errs;
}

const STATEFULSET_MUTABLE = ["replicas", "ordinals", "template", "updateStrategy", "revisionHistoryLimit", "persistentVolumeClaimRetentionPolicy", "minReadySeconds"];

export function validateStatefulSetUpdate(next: StatefulSet, prev: StatefulSet): FieldError[] {
  const strip = (spec: unknown): Record<string, unknown> =>
    Object.fromEntries(Object.entries(isRecordValue(spec) ? spec : {}).filter(([key]) => !STATEFULSET_MUTABLE.includes(key)));
  if (deepEqual(strip(next.spec), strip(prev.spec))) return [];
  return [
    forbidden(
      "spec",
      "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ),
  ];
}

export function validateReplicationController(rc: ReplicationController): FieldError[] {
  const spec: NonNullable<ReplicationController["spec"]> = isObj(rc.spec) ? rc.spec : {};
  const errs: FieldError[] = [];
  if (typeof spec.minReadySeconds === "number" && spec.minReadySeconds < 0) {
    errs.push(invalid("spec.minReadySeconds", spec.minReadySeconds, "must be greater than or equal to 0"));
  }
  const selector = isObj(spec.selector) ? spec.selector : {};
  const empty = Object.keys(selector).length === 0;
  if (empty) errs.push(required("spec.selector"));
  else errs.push(...validateLabels(selector, "spec.selector"));
  if (typeof spec.replicas === "number" && spec.replicas < 0) errs.push(invalid("spec.replicas", spec.replicas, "must be greater than or equal to 0"));
  const selects = empty
    ? undefined
    : (labels: Record<string, string> | undefined): boolean => Object.entries(selector).every(([k, v]) => labels?.[k] === v);
  if (spec.template === undefined) errs.push(required("spec.template"));
  else errs.push(...validateWorkloadTemplate(spec.template, selects, "spec.template", "ReplicationController"));
  return errs;
}

/** maxSurge / maxUnavailable: a non-negative integer or a percentage string. */
function intOrPercentErrors(value: IntOrString | undefined, path: string): FieldError[] {
  if (value === undefined) return [];
  if (typeof value === "string") {
    return matchesWhole(PERCENT, value)
      ? []
      : [invalid(path, raw(goIntOrString(value)), regexError("a valid percent string must be a numeric string followed by an ending '%'", PERCENT, "1%", "93%"))];
  }
  if (typeof value === "number") return value < 0 ? [invalid(path, value, "must be greater than or equal to 0")] : [];
  return [invalid(path, value, "must be an integer or percentage (e.g '5%')")];
}

function intOrPercentValue(value: IntOrString | undefined): number {
  if (typeof value === "number") return value;
  if (typeof value === "string" && matchesWhole(PERCENT, value)) return Number(value.slice(0, -1));
  return 0;
}

function notOver100Percent(value: IntOrString | undefined, path: string): FieldError[] {
  if (typeof value !== "string" || !matchesWhole(PERCENT, value) || Number(value.slice(0, -1)) <= 100) return [];
  return [invalid(path, raw(goIntOrString(value)), "must not be greater than 100%")];
}
