// Helpers for plain JSON values (null, booleans, numbers, strings, arrays, records) as they come from HTTP bodies and
// etcd. Nothing here mutates its input. The apiserver normalises every write with them before storing, so that
// controllers comparing objects never see differences that are not really there (a `creationTimestamp: null` sent by
// kubectl, a leftover patch directive).
import { isRecord } from "./meta.js";

/**
 * A copy of `value` without object members whose value is null, at any depth. Array elements are positional, so a
 * null element stays. A top-level null is returned as is.
 */
export function dropNulls<T>(value: T): T {
  return copyJson(value, "nulls") as T;
}

/** A copy of `value` without object members whose key starts with `$` (strategic-merge-patch directives), at any depth. */
export function stripDirectives<T>(value: T): T {
  return copyJson(value, "directives") as T;
}

/** A deep copy of a JSON value; anything that is not an array or a record is returned as is. */
export function cloneJson<T>(value: T): T {
  return copyJson(value, "nothing") as T;
}

/**
 * Structural equality of JSON values. Member order does not matter; array order does. A member whose value is
 * `undefined` counts as absent, as it would after a JSON round trip.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isRecord(a)) {
    if (!isRecord(b)) return false;
    const aKeys = Object.keys(a).filter((k) => a[k] !== undefined);
    const bKeys = Object.keys(b).filter((k) => b[k] !== undefined);
    if (aKeys.length !== bKeys.length) return false;
    return aKeys.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/**
 * Sets an own member even when the key is `__proto__`, which plain assignment would turn into a prototype change.
 * Keys come from request bodies, so every writer of untrusted keys goes through here.
 */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") {
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  } else {
    target[key] = value;
  }
}

/** The member `key` of `record` when it is an own member; never something inherited from Object.prototype. */
export function getOwn(record: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

/** Which record members copyJson leaves out: none, those whose value is null, or those whose key starts with `$`. */
type Drop = "nothing" | "nulls" | "directives";

/**
 * Rebuilds arrays and records, leaving out the record members `drop` names. Every write copies its body through here
 * (dropNulls), so it avoids per-member allocations and callbacks: the keys are walked once, and `__proto__` is the
 * only key that needs setOwn.
 */
function copyJson(value: unknown, drop: Drop): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) return value.map((item: unknown) => copyJson(item, drop));
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(record)) {
    const member = record[key];
    if (drop === "nulls" ? member === null : drop === "directives" && key.startsWith("$")) continue;
    if (key === "__proto__") setOwn(out, key, copyJson(member, drop));
    else out[key] = copyJson(member, drop);
  }
  return out;
}
