// Unknown fields, found and dropped the way Kubernetes' strict decoding finds and its decoder drops them, from the
// same generated schema that types the wire (wire-types.gen.ts): a field is unknown when the model of the struct
// it sits in has no such JSON name. Paths use Kubernetes' strict-decoding format ("spec.foo",
// "spec.template.spec.containers[0].imagePolicy"). Kinds without a generated model are not checked.
import { isRecord } from "./meta.js";
import { LIST, MAP, MODEL, modelFields, type SchemaType, schemaType } from "./wire-schema.js";
import { WIRE_ROOTS } from "./wire-types.gen.js";

/**
 * Fields Kubernetes added after the client library the models are generated from; they are accepted unchecked
 * (rejecting a valid field is worse than missing a typo inside a new one).
 */
const NEWER_FIELDS: Readonly<Record<string, readonly string[]>> = {
  V1PodSpec: ["schedulingGroup", "evictionResponders"],
  V1VolumeMount: ["bindMountOptions"],
};

/**
 * A kind's status is written by the cluster's own components (kubelet, controllers), which may carry fields the
 * models do not have yet; it is not checked.
 */
const UNCHECKED_TOP_LEVEL = new Set(["status"]);

/** The compiled type of `model`'s field `key`, "any" for one accepted unchecked; undefined when the model has no such field. */
function fieldOf(model: SchemaType, key: string, topLevel: boolean): SchemaType | undefined {
  if (topLevel && UNCHECKED_TOP_LEVEL.has(key)) return UNCHECKED;
  return modelFields(model).get(key) ?? (NEWER_FIELDS[model.type]?.includes(key) === true ? UNCHECKED : undefined);
}

const UNCHECKED = schemaType("any");

/** The fields of `object` its kind does not have; [] for a kind without a generated model. */
export function findUnknownFields(apiVersion: string, kind: string, object: unknown): string[] {
  const root = WIRE_ROOTS[`${apiVersion}/${kind}`];
  if (root === undefined) return [];
  // Bodies rarely have unknown fields: a walk that builds no paths says so, and only a body that has some is walked
  // again for their paths.
  const rootType = schemaType(root);
  if (!hasUnknown(rootType, object, true)) return [];
  const found: string[] = [];
  walk(rootType, object, "", found, true);
  return found;
}

/** Whether walk would find an unknown field in `value`; the same walk, without paths or allocations. */
function hasUnknown(t: SchemaType, value: unknown, topLevel = false): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (t.shape === LIST) {
    if (!Array.isArray(value)) return false;
    const item = t.item!;
    for (const element of value) if (hasUnknown(item, element)) return true;
    return false;
  }
  if (t.shape === MAP) {
    if (Array.isArray(value)) return false;
    const item = t.item!;
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) if (hasUnknown(item, record[key])) return true;
    return false;
  }
  // Scalars, "any", and a type mismatch (typed decoding's business, not an unknown field) end the walk.
  if (t.shape !== MODEL) return false;
  if (Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const child = fieldOf(t, key, topLevel);
    if (child === undefined || hasUnknown(child, record[key])) return true;
  }
  return false;
}

function walk(t: SchemaType, value: unknown, path: string, found: string[], topLevel = false): void {
  if (t.shape === LIST) {
    if (Array.isArray(value)) value.forEach((item, i) => { walk(t.item!, item, `${path}[${i}]`, found); });
    return;
  }
  if (t.shape === MAP) {
    if (isRecord(value)) for (const [key, child] of Object.entries(value)) walk(t.item!, child, joinPath(path, key), found);
    return;
  }
  if (t.shape !== MODEL || !isRecord(value)) return;
  for (const [key, child] of Object.entries(value)) {
    const childType = fieldOf(t, key, topLevel);
    const childPath = joinPath(path, key);
    if (childType === undefined) found.push(childPath);
    else walk(childType, child, childPath, found);
  }
}

/**
 * Deletes the fields findUnknownFields reports, in place: Kubernetes' decoder drops unknown fields, so under
 * fieldValidation Warn or Ignore they are reported (or not) but never stored. Keys starting with "$" (strategic
 * merge patch directives) are kept.
 */
export function pruneUnknownFields(apiVersion: string, kind: string, object: unknown): void {
  const root = WIRE_ROOTS[`${apiVersion}/${kind}`];
  if (root !== undefined) prune(schemaType(root), object, true);
}

function prune(t: SchemaType, value: unknown, topLevel = false): void {
  if (t.shape === LIST) {
    if (Array.isArray(value)) for (const item of value) prune(t.item!, item);
    return;
  }
  if (t.shape === MAP) {
    if (isRecord(value)) for (const child of Object.values(value)) prune(t.item!, child);
    return;
  }
  if (t.shape !== MODEL || !isRecord(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (key.startsWith("$")) continue;
    const childType = fieldOf(t, key, topLevel);
    if (childType === undefined) Reflect.deleteProperty(value, key);
    else prune(childType, child);
  }
}

function joinPath(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}
