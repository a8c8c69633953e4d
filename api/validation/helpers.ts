// Accessors that read unvalidated input without throwing, and the semantic equality updates compare with.
import type { KubeObject } from "../meta.js";

export function specOf(obj: KubeObject): Record<string, unknown> {
  const spec = obj.spec;
  return isRecordValue(spec) ? spec : {};
}

/** Narrows a typed field of unvalidated input: present and a JSON object (not null, not an array). */
export function isObj<T extends object>(value: T | null | undefined): value is T {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function isRecordValue(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A list of scalars; absent or non-array input counts as empty. */
export function listOf<T>(value: readonly T[] | undefined | null): readonly T[] {
  return Array.isArray(value) ? (value as readonly T[]) : [];
}

/**
 * A list of objects, where any element that is not an object reads as an empty one: indexes (and so the field
 * paths of errors) stay those of the client's list, and a missing name or image is reported as missing.
 */
export function objectsOf<T extends object>(value: readonly T[] | undefined | null): readonly T[] {
  if (!Array.isArray(value)) return [];
  return (value as readonly unknown[]).map((v) => (typeof v === "object" && v !== null && !Array.isArray(v) ? v : {}) as T);
}

/** A scalar of unvalidated input as a string (a client may send a number where a string belongs). */
export function str(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return `${value}`;
  return value === undefined || value === null ? "" : JSON.stringify(value);
}

export function numberOf(value: unknown): number {
  return typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
}

export function sortedEntries<V>(map: Record<string, V> | undefined): [string, V][] {
  if (!isObj(map)) return [];
  return Object.entries(map).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Semantic equality as Kubernetes' apiequality.Semantic.DeepEqual sees it for JSON: absent, null, empty list and
 * empty map are all "unset".
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  const unset = (v: unknown): boolean =>
    v === undefined || v === null || (Array.isArray(v) && v.length === 0) || (isRecordValue(v) && Object.keys(v).length === 0);
  if (unset(a) && unset(b)) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  if (isRecordValue(a) && isRecordValue(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) if (!deepEqual(a[k], b[k])) return false;
    return true;
  }
  return a === b;
}

/** Whether `v` is one of the allowed string values. */
export function includes(values: readonly string[], v: unknown): boolean {
  return typeof v === "string" && values.includes(v);
}
