// Label selectors (metav1.LabelSelector) as workloads and affinity terms carry them.
import type { FieldError } from "../errors.js";
import { validateLabelValue } from "../labels.js";
import type { LabelSelector } from "../meta.js";
import { forbidden, invalid, required } from "./field-errors.js";
import { isObj, listOf, objectsOf, str } from "./helpers.js";
import { qualifiedNameErrors } from "./names.js";
import { validateLabels } from "./object-meta.js";

export function validateLabelSelector(sel: LabelSelector | undefined, path: string): FieldError[] {
  if (!isObj(sel)) return [];
  const errs = validateLabels(sel.matchLabels, `${path}.matchLabels`);
  objectsOf(sel.matchExpressions).forEach((req, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    const values = listOf(req.values);
    switch (req.operator) {
      case "In":
      case "NotIn":
        if (values.length === 0) errs.push(required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case "Exists":
      case "DoesNotExist":
        if (values.length > 0) errs.push(forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        break;
      default:
        errs.push(invalid(`${p}.operator`, req.operator, "not a valid selector operator"));
    }
    errs.push(...qualifiedNameErrors(`${p}.key`, str(req.key ?? "")));
    values.forEach((v, j) => {
      for (const msg of validateLabelValue(str(v))) errs.push(invalid(`${p}.values[${j}]`, v, msg));
    });
  });
  return errs;
}

export function selectorIsEmpty(sel: LabelSelector | undefined): boolean {
  return !isObj(sel) || (Object.keys(sel.matchLabels ?? {}).length === 0 && objectsOf(sel.matchExpressions).length === 0);
}
