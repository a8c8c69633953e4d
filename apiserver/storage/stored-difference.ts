// A cheap proof that two objects are stored differently, for guaranteedUpdate's "nothing changed" check: that check
// compares the new object's stored bytes with the current object's, and a cached current object comes without its
// bytes; serializing it again only to compare cost ~6 % of a pods/binding. A walk of the two objects that skips
// members they share (a binding's new pod shares all but metadata, spec and status with the cached one) finds a
// difference in a few steps; when it finds none, or meets a value JSON.stringify would write in its own way, the
// caller compares bytes as before.
//
// Soundness: two equal JSON texts parse to the same members in the same order with the same keys and the same
// scalars. So a difference found between the n-th written members of two objects (their keys, or their values'
// kinds or scalars), or between the lengths of two arrays, is a difference of the texts, whatever the other members
// hold, provided the walk counts written members as JSON.stringify does: it skips members whose values are
// undefined, functions or symbols, and gives up on a value with a toJSON method (which decides for itself), a
// non-finite number, a bigint or an object of another prototype than Object's or Array's.

/** Deeper than any object the apiserver accepts: such a walk gives up. */
const MAX_DEPTH = 1000;

/**
 * True only when the stored forms of `next` and `current` (their JSON without metadata.resourceVersion, as
 * etcd-storage.ts's encode writes them) certainly differ; false when they may be equal.
 */
export function surelyDifferentStored(next: object, current: object): boolean {
  return surelyDifferent(next, current, 0, true);
}

/**
 * True only when JSON.stringify(a) !== JSON.stringify(b) for certain. `topLevel`: a and b are whole objects, whose
 * member metadata is compared without its resourceVersion.
 */
function surelyDifferent(a: unknown, b: unknown, depth: number, topLevel: boolean): boolean {
  if (a === b) return false;
  const kindA = jsonKind(a);
  const kindB = jsonKind(b);
  if (kindA === "unknown" || kindB === "unknown") return false;
  if (kindA !== kindB) return true;
  if (kindA === "scalar") return true; // not ===: two different strings, finite numbers, booleans
  if (depth > MAX_DEPTH) return false;
  if (kindA === "array") {
    const arrayA = a as unknown[];
    const arrayB = b as unknown[];
    // Every element is written (undefined ones as null): element counts are JSON's.
    if (arrayA.length !== arrayB.length) return true;
    for (let i = 0; i < arrayA.length; i++) if (surelyDifferent(arrayA[i], arrayB[i], depth + 1, false)) return true;
    return false;
  }
  return recordsDiffer(a as Record<string, unknown>, b as Record<string, unknown>, depth, topLevel);
}

/** surelyDifferent for two plain objects (at the top level: metadata without resourceVersion). */
function recordsDiffer(a: Record<string, unknown>, b: Record<string, unknown>, depth: number, topLevel: boolean): boolean {
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  let i = 0;
  let j = 0;
  for (;;) {
    while (i < keysA.length && isSkipped(a[keysA[i]!])) i++;
    while (j < keysB.length && isSkipped(b[keysB[j]!])) j++;
    if (i === keysA.length || j === keysB.length) return i !== keysA.length || j !== keysB.length;
    const key = keysA[i]!;
    if (key !== keysB[j]) return true;
    const valueA = a[key];
    const valueB = b[key];
    if (hasToJson(valueA) || hasToJson(valueB)) return false;
    if (topLevel && key === "metadata") {
      if (jsonKind(valueA) === "record" && jsonKind(valueB) === "record") {
        if (metadataDiffers(valueA as Record<string, unknown>, valueB as Record<string, unknown>, depth + 1)) return true;
      }
    } else if (surelyDifferent(valueA, valueB, depth + 1, false)) {
      return true;
    }
    i++;
    j++;
  }
}

/** recordsDiffer for two metadata objects, as stored: without their members resourceVersion. */
function metadataDiffers(a: Record<string, unknown>, b: Record<string, unknown>, depth: number): boolean {
  const { resourceVersion: _a, ...storedA } = a;
  const { resourceVersion: _b, ...storedB } = b;
  return recordsDiffer(storedA, storedB, depth, false);
}

type JsonKind = "scalar" | "null" | "array" | "record" | "unknown";

/** How JSON.stringify writes `value`, as far as this walk can tell: "unknown" when it cannot. */
function jsonKind(value: unknown): JsonKind {
  switch (typeof value) {
    case "string":
    case "boolean":
      return "scalar";
    case "number":
      return Number.isFinite(value) ? "scalar" : "unknown";
    case "object": {
      if (value === null) return "null";
      if (hasToJson(value)) return "unknown";
      const prototype: unknown = Object.getPrototypeOf(value);
      if (prototype === Array.prototype) return "array";
      return prototype === Object.prototype ? "record" : "unknown";
    }
    case "bigint":
    case "function":
    case "symbol":
    case "undefined":
      return "unknown";
  }
}

/** A member JSON.stringify leaves out of an object. */
function isSkipped(value: unknown): boolean {
  return value === undefined || typeof value === "function" || typeof value === "symbol";
}

function hasToJson(value: unknown): boolean {
  return typeof value === "object" && value !== null && typeof (value as { toJSON?: unknown }).toJSON === "function";
}
