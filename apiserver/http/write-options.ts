// The query options of a write (CreateOptions, UpdateOptions, PatchOptions, DeleteOptions), checked as Kubernetes'
// ValidateXOptions check them: 422 Invalid naming the options kind, e.g.
// `PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch`.
import { invalid, type FieldError } from "../../api/errors.js";
import type { PatchType } from "./negotiate.js";
import { FIELD_MANAGER_MAX_LENGTH, isPrintable, managerFromUserAgent } from "../../api/managed-fields/managers.js";

export interface WriteParams {
  dryRun: boolean;
  /** The fieldManager query parameter, or the User-Agent's product when there is none (never for apply). */
  fieldManager: string;
  /** `force` of an apply patch. */
  force: boolean;
}

/** The fieldValidation values upstream accepts (empty means the server's default, Warn). */
const FIELD_VALIDATION_VALUES: readonly string[] = ["", "Ignore", "Strict", "Warn"];

const OPTIONS_KIND: Readonly<Record<string, string>> = { POST: "CreateOptions", PUT: "UpdateOptions", PATCH: "PatchOptions", DELETE: "DeleteOptions" };

/** Whether a method writes, and so carries write options. */
export function isWriteMethod(method: string): boolean {
  return Object.hasOwn(OPTIONS_KIND, method);
}

/** 422 for dryRun values other than All, as upstream's ValidateDryRun. */
export function dryRunErrors(values: readonly string[]): FieldError[] {
  if (values.every((v) => v === "All")) return [];
  return [{ type: "FieldValueNotSupported", field: "dryRun", message: `Unsupported value: []string{${values.map((v) => JSON.stringify(v)).join(", ")}}: supported values: "All"` }];
}

/**
 * The write options of a request. `patchType` is the Content-Type's patch type for PATCH (negotiate.ts's PatchType). Throws 422 for a dryRun
 * other than All, a fieldManager over 128 bytes or with unprintable characters, a fieldValidation other than
 * Ignore, Warn or Strict, `force` on a patch that is not an apply, and an apply without a fieldManager.
 */
export function writeParams(method: string, query: URLSearchParams, userAgent: string | undefined, patchType?: PatchType): WriteParams {
  const kind = OPTIONS_KIND[method] ?? "CreateOptions";
  const errors: FieldError[] = [];
  const isApply = patchType === "apply";
  const requested = query.get("fieldManager") ?? "";
  if (method === "PATCH") {
    if (!isApply && query.has("force")) errors.push({ type: "FieldValueForbidden", field: "force", message: "Forbidden: may not be specified for non-apply patch" });
    if (isApply && requested === "") errors.push({ type: "FieldValueRequired", field: "fieldManager", message: "Required value: is required for apply patch" });
  }
  if (method !== "DELETE" && Buffer.byteLength(requested) > FIELD_MANAGER_MAX_LENGTH) {
    errors.push({ type: "FieldValueTooLong", field: "fieldManager", message: `Too long: may not be more than ${FIELD_MANAGER_MAX_LENGTH} bytes` });
  }
  let position = 0;
  for (const char of method === "DELETE" ? "" : requested) {
    if (!isPrintable(char)) {
      const code = char.codePointAt(0) ?? 0;
      const name = `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
      errors.push({ type: "FieldValueInvalid", field: "fieldManager", message: `Invalid value: ${JSON.stringify(requested)}: invalid character ${name} (at position ${position})` });
    }
    position += Buffer.byteLength(char);
  }
  const dryRun = query.getAll("dryRun");
  errors.push(...dryRunErrors(dryRun));
  const validation = query.get("fieldValidation");
  if (method !== "DELETE" && validation !== null && !FIELD_VALIDATION_VALUES.includes(validation)) {
    errors.push({ type: "FieldValueNotSupported", field: "fieldValidation", message: `Unsupported value: ${JSON.stringify(validation)}: supported values: ${FIELD_VALIDATION_VALUES.map((v) => JSON.stringify(v)).join(", ")}` });
  }
  if (errors.length > 0) throw invalid(kind, "meta.k8s.io", "", errors);
  return {
    dryRun: dryRun.includes("All"),
    fieldManager: requested !== "" ? requested : managerFromUserAgent(userAgent),
    force: isApply && query.get("force") === "true",
  };
}
