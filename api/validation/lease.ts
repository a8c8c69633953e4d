// Leases.
import type { FieldError } from "../errors.js";
import type { Lease } from "../types/index.js";
import { invalid } from "./field-errors.js";
import { isObj } from "./helpers.js";

export function validateLease(lease: Lease): FieldError[] {
  const errs: FieldError[] = [];
  const spec = isObj(lease.spec) ? lease.spec : {};
  if (typeof spec.leaseDurationSeconds === "number" && spec.leaseDurationSeconds <= 0) {
    errs.push(invalid("spec.leaseDurationSeconds", spec.leaseDurationSeconds, "must be greater than 0"));
  }
  if (typeof spec.leaseTransitions === "number" && spec.leaseTransitions < 0) {
    errs.push(invalid("spec.leaseTransitions", spec.leaseTransitions, "must be greater than or equal to 0"));
  }
  return errs;
}
