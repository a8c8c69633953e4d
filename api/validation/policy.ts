// policy/v1: PodDisruptionBudgets (pkg/apis/policy/validation).
import type { FieldError } from "../errors.js";
import type { IntOrString, PodDisruptionBudget } from "../types/index.js";
import { invalid, notSupported, raw } from "./field-errors.js";
import { isObj } from "./helpers.js";
import { validateLabelSelector } from "./label-selectors.js";
import { PERCENT, matchesWhole } from "./names.js";

export function validatePodDisruptionBudget(pdb: PodDisruptionBudget): FieldError[] {
  const spec = isObj(pdb.spec) ? pdb.spec : {};
  const errs: FieldError[] = [];
  if (spec.minAvailable !== undefined && spec.maxUnavailable !== undefined) {
    errs.push(invalid("spec", raw(`policy.PodDisruptionBudgetSpec{MinAvailable:${goIntOrStr(spec.minAvailable)}, MaxUnavailable:${goIntOrStr(spec.maxUnavailable)}}`), "minAvailable and maxUnavailable cannot be both set"));
  }
  for (const key of ["minAvailable", "maxUnavailable"] as const) {
    const value = spec[key];
    if (value !== undefined) errs.push(...intOrPercentErrors(value, `spec.${key}`));
  }
  errs.push(...validateLabelSelector(spec.selector, "spec.selector"));
  const policy = spec.unhealthyPodEvictionPolicy;
  if (policy !== undefined && policy !== "IfHealthyBudget" && policy !== "AlwaysAllow") {
    errs.push(notSupported("spec.unhealthyPodEvictionPolicy", policy, ["AlwaysAllow", "IfHealthyBudget"]));
  }
  return errs;
}

/** ValidatePositiveIntOrPercent and IsNotMoreThan100Percent. */
function intOrPercentErrors(value: IntOrString, path: string): FieldError[] {
  if (typeof value === "number") return value < 0 ? [invalid(path, value, "must be greater than or equal to 0")] : [];
  if (!matchesWhole(PERCENT, value)) return [invalid(path, value, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')")];
  return Number(value.slice(0, -1)) > 100 ? [invalid(path, value, "must not be greater than 100%")] : [];
}

function goIntOrStr(value: IntOrString): string {
  return typeof value === "number" ? `${value}` : JSON.stringify(value);
}
