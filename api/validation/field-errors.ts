// Field errors, rendered as Kubernetes' field.Error.ErrorBody() renders them (Go-syntax values included).
import type { FieldError } from "../errors.js";
import type { LabelSelector } from "../meta.js";
import type { IntOrString } from "../types/index.js";
import { isObj, isRecordValue, str } from "./helpers.js";

/** A value already rendered in Go syntax (`v1.LabelSelector{...}`), printed verbatim. */
class GoValue {
  constructor(readonly text: string) {}
}

export function raw(text: string): GoValue {
  return new GoValue(text);
}

/** `%q` for strings, `%v` for numbers and booleans, `%#v` for maps and slices, `null` for absent values. */
function goValue(value: unknown): string {
  if (value instanceof GoValue) return value.text;
  if (value === undefined || value === null) return "null";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return str(value);
  if (Array.isArray(value)) {
    return value.every((v) => typeof v === "string") ? goStringSlice(value) : JSON.stringify(value);
  }
  if (isRecordValue(value) && Object.values(value).every((v) => typeof v === "string")) {
    return goStringMap(value as Record<string, string>);
  }
  return JSON.stringify(value);
}

export function goStringMap(map: Record<string, string> | undefined): string {
  if (!isObj(map)) return "map[string]string(nil)";
  const body = Object.keys(map)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${JSON.stringify(str(map[k]))}`)
    .join(", ");
  return `map[string]string{${body}}`;
}

export function goStringSlice(values: readonly string[] | undefined): string {
  if (!Array.isArray(values)) return "[]string(nil)";
  return `[]string{${values.map((v) => JSON.stringify(v)).join(", ")}}`;
}

/** `%#v` of an IntOrString, as Kubernetes prints it in field errors. */
export function goIntOrString(value: IntOrString | undefined): string {
  if (typeof value === "string") return `intstr.IntOrString{Type:1, IntVal:0, StrVal:${JSON.stringify(value)}}`;
  return `intstr.IntOrString{Type:0, IntVal:${typeof value === "number" ? value : 0}, StrVal:""}`;
}

/** `%#v` of a metav1.LabelSelector. */
export function goLabelSelector(sel: unknown): string {
  if (!isRecordValue(sel)) return "null";
  const s = sel as LabelSelector;
  const exprs = Array.isArray(s.matchExpressions)
    ? `[]v1.LabelSelectorRequirement{${s.matchExpressions
        .map((e) => `v1.LabelSelectorRequirement{Key:${JSON.stringify(e.key)}, Operator:${JSON.stringify(e.operator)}, Values:${goStringSlice(e.values)}}`)
        .join(", ")}}`
    : "[]v1.LabelSelectorRequirement(nil)";
  return `v1.LabelSelector{MatchLabels:${goStringMap(s.matchLabels)}, MatchExpressions:${exprs}}`;
}

function withDetail(body: string, detail: string): string {
  return detail ? `${body}: ${detail}` : body;
}

export function required(field: string, detail = ""): FieldError {
  return { type: "FieldValueRequired", field, message: withDetail("Required value", detail) };
}

export function invalid(field: string, value: unknown, detail: string): FieldError {
  return { type: "FieldValueInvalid", field, message: withDetail(`Invalid value: ${goValue(value)}`, detail) };
}

export function notSupported(field: string, value: unknown, supported: readonly string[]): FieldError {
  const detail = supported.length ? `supported values: ${supported.map((v) => JSON.stringify(v)).join(", ")}` : "";
  return { type: "FieldValueNotSupported", field, message: withDetail(`Unsupported value: ${goValue(value)}`, detail) };
}

export function duplicate(field: string, value: unknown): FieldError {
  return { type: "FieldValueDuplicate", field, message: `Duplicate value: ${goValue(value)}` };
}

export function forbidden(field: string, detail: string): FieldError {
  return { type: "FieldValueForbidden", field, message: withDetail("Forbidden", detail) };
}

export function tooLong(field: string, maxBytes: number): FieldError {
  return { type: "FieldValueTooLong", field, message: `Too long: must have at most ${maxBytes} bytes` };
}

export function tooMany(field: string, actual: number, max: number): FieldError {
  return { type: "FieldValueTooMany", field, message: `Too many: ${actual}: must have at most ${max} items` };
}

/**
 * Kubernetes' field.NotFound ("Not found: ..."). errors.ts has no FieldValueNotFound reason, so the cause carries
 * FieldValueInvalid; the message, which is what kubectl prints, is Kubernetes'.
 */
export function notFound(field: string, value: unknown): FieldError {
  return { type: "FieldValueNotFound", field, message: `Not found: ${goValue(value)}` };
}

export function immutable(field: string, value: unknown): FieldError {
  return invalid(field, value, "field is immutable");
}
