// Unknown fields, found and dropped the way Kubernetes' strict decoding finds and its decoder drops them, from the
// same generated schema that types the wire (wire-types.gen.ts): a field is unknown when the model of the struct
// it sits in has no such JSON name. Paths use Kubernetes' strict-decoding format ("spec.foo",
// "spec.template.spec.containers[0].imagePolicy"). Kinds without a generated model are not checked.
import { isRecord } from "./meta.js";
import { WIRE_MODELS, WIRE_ROOTS } from "./wire-types.gen.js";

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

/** The model's type of `key`, "any" for a field accepted unchecked, undefined when the model has no such field. */
function fieldType(model: string, key: string, topLevel: boolean): string | undefined {
  if (topLevel && UNCHECKED_TOP_LEVEL.has(key)) return "any";
  const fields = WIRE_MODELS[model];
  if (fields !== undefined && Object.hasOwn(fields, key)) return fields[key];
  return NEWER_FIELDS[model]?.includes(key) ? "any" : undefined;
}

/** The fields of `object` its kind does not have; [] for a kind without a generated model. */
export function findUnknownFields(apiVersion: string, kind: string, object: unknown): string[] {
  const root = WIRE_ROOTS[`${apiVersion}/${kind}`];
  if (root === undefined) return [];
  // Bodies rarely have unknown fields: a walk that builds no paths says so, and only a body that has some is walked
  // again for their paths.
  if (!hasUnknown(fieldTree(root), object, true)) return [];
  const found: string[] = [];
  walk(root, object, "", found, true);
  return found;
}

/**
 * A schema type compiled for hasUnknown, which every create and update body goes through: its shape, a list's or
 * map's item, and a model's fields (compiled on first use; models refer to each other, in cycles too).
 */
interface FieldTree {
  readonly shape: typeof LEAF | typeof LIST | typeof MAP | typeof MODEL;
  readonly type: string;
  readonly item: FieldTree | undefined;
  /** A model's fields by JSON name, NEWER_FIELDS among them (as "any"); undefined until first walked. */
  fields: Map<string, FieldTree> | undefined;
}

/** FieldTree.shape: a scalar, "any" or a name the schema does not define (nothing below is checked), a list, a map, a model. */
const LEAF = 0;
const LIST = 1;
const MAP = 2;
const MODEL = 3;

const fieldTrees = new Map<string, FieldTree>();

function fieldTree(type: string): FieldTree {
  let tree = fieldTrees.get(type);
  if (tree === undefined) {
    const shape = type.startsWith("[]") ? LIST : type.startsWith("{}") ? MAP : Object.hasOwn(WIRE_MODELS, type) ? MODEL : LEAF;
    tree = { shape, type, item: shape === LIST || shape === MAP ? fieldTree(itemType(type)) : undefined, fields: undefined };
    fieldTrees.set(type, tree);
  }
  return tree;
}

/** A model's fields, as fieldType answers them below the top level. */
function modelFields(model: FieldTree): Map<string, FieldTree> {
  if (model.fields === undefined) {
    const fields = new Map<string, FieldTree>();
    model.fields = fields;
    for (const key of NEWER_FIELDS[model.type] ?? []) fields.set(key, fieldTree("any"));
    for (const [key, type] of Object.entries(WIRE_MODELS[model.type]!)) fields.set(key, fieldTree(type));
  }
  return model.fields;
}

/** Whether walk would find an unknown field in `value`; the same walk, without paths or allocations. */
function hasUnknown(tree: FieldTree, value: unknown, topLevel = false): boolean {
  if (typeof value !== "object" || value === null) return false;
  switch (tree.shape) {
    case LEAF:
      return false;
    case LIST: {
      if (!Array.isArray(value)) return false;
      const item = tree.item!;
      for (const element of value) if (hasUnknown(item, element)) return true;
      return false;
    }
    case MAP: {
      if (Array.isArray(value)) return false;
      const item = tree.item!;
      const record = value as Record<string, unknown>;
      for (const key of Object.keys(record)) if (hasUnknown(item, record[key])) return true;
      return false;
    }
    case MODEL:
      break;
  }
  if (Array.isArray(value)) return false;
  const fields = modelFields(tree);
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (topLevel && UNCHECKED_TOP_LEVEL.has(key)) continue;
    const child = fields.get(key);
    if (child === undefined || hasUnknown(child, record[key])) return true;
  }
  return false;
}

/** The item type of a list ("[]T") or map ("{}T") type, remembered (the schema has finitely many). */
function itemType(type: string): string {
  let item = itemTypes.get(type);
  if (item === undefined) {
    item = type.slice(2);
    itemTypes.set(type, item);
  }
  return item;
}

const itemTypes = new Map<string, string>();

function walk(type: string, value: unknown, path: string, found: string[], topLevel = false): void {
  if (type.startsWith("[]")) {
    if (Array.isArray(value)) value.forEach((item, i) => { walk(type.slice(2), item, `${path}[${i}]`, found); });
    return;
  }
  if (type.startsWith("{}")) {
    if (isRecord(value)) for (const [key, child] of Object.entries(value)) walk(type.slice(2), child, joinPath(path, key), found);
    return;
  }
  // Scalars, "any", and a type mismatch (typed decoding's business, not an unknown field) end the walk.
  if (!Object.hasOwn(WIRE_MODELS, type) || !isRecord(value)) return;
  for (const [key, child] of Object.entries(value)) {
    const childType = fieldType(type, key, topLevel);
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
  if (root !== undefined) prune(root, object, true);
}

function prune(type: string, value: unknown, topLevel = false): void {
  if (type.startsWith("[]")) {
    if (Array.isArray(value)) for (const item of value) prune(type.slice(2), item);
    return;
  }
  if (type.startsWith("{}")) {
    if (isRecord(value)) for (const child of Object.values(value)) prune(type.slice(2), child);
    return;
  }
  if (!Object.hasOwn(WIRE_MODELS, type) || !isRecord(value)) return;
  for (const [key, child] of Object.entries(value)) {
    if (key.startsWith("$")) continue;
    const childType = fieldType(type, key, topLevel);
    if (childType === undefined) Reflect.deleteProperty(value, key);
    else prune(childType, child);
  }
}

function joinPath(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}
