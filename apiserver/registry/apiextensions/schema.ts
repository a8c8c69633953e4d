// Structural OpenAPI v3 schemas of CustomResourceDefinitions, as the apiserver applies them to custom resources:
// pruning of unknown fields, defaulting, and validation with Kubernetes' field errors ("spec.replicas: Invalid
// value: 15: spec.replicas in body should be less than or equal to 10"), plus the structural-schema rules a CRD's
// own schema must follow. Order on every write, as in Kubernetes: prune, default, validate.
import type { FieldError } from "../../../api/errors.js";
import { isRecord } from "../../../api/meta.js";
import { forbidden, invalid, notSupported, required, tooMany } from "../../../api/validation/field-errors.js";

/** The subset of apiextensions.k8s.io/v1 JSONSchemaProps kubelab honours. */
export interface JSONSchemaProps {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps | boolean;
  items?: JSONSchemaProps;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  nullable?: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  allOf?: JSONSchemaProps[];
  anyOf?: JSONSchemaProps[];
  oneOf?: JSONSchemaProps[];
  not?: JSONSchemaProps;
  "x-kubernetes-preserve-unknown-fields"?: boolean;
  "x-kubernetes-int-or-string"?: boolean;
  "x-kubernetes-embedded-resource"?: boolean;
}

/** ObjectMeta's fields: what survives pruning inside metadata of a custom resource or an embedded resource. */
const OBJECT_META_FIELDS = new Set([
  "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
  "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers", "managedFields",
]);

function joinPath(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

// ---- pruning ----

/**
 * Drops, in place, the fields `schema` does not specify (unless x-kubernetes-preserve-unknown-fields), returning
 * their paths in strict-decoding form ("spec.foo"). At the root (a custom resource) and in embedded resources,
 * apiVersion, kind and metadata are kept and metadata is pruned to ObjectMeta.
 */
export function pruneObject(schema: JSONSchemaProps | undefined, object: Record<string, unknown>): string[] {
  const pruned: string[] = [];
  pruneResource(schema, object, "", pruned);
  return pruned;
}

function pruneResource(schema: JSONSchemaProps | undefined, object: Record<string, unknown>, path: string, pruned: string[]): void {
  const metadata = object.metadata;
  if (isRecord(metadata)) {
    for (const key of Object.keys(metadata)) {
      if (!OBJECT_META_FIELDS.has(key)) {
        // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- dropping the unknown field found
        delete metadata[key];
        pruned.push(joinPath(joinPath(path, "metadata"), key));
      }
    }
  }
  pruneFields(schema, object, path, pruned, new Set(["apiVersion", "kind", "metadata"]));
}

function pruneValue(schema: JSONSchemaProps | undefined, value: unknown, path: string, pruned: string[]): void {
  if (schema === undefined) return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      pruneValue(schema.items, item, `${path}[${i}]`, pruned);
    });
    return;
  }
  if (!isRecord(value)) return;
  if (schema["x-kubernetes-embedded-resource"] === true) pruneResource(schema, value, path, pruned);
  else pruneFields(schema, value, path, pruned, new Set());
}

function pruneFields(schema: JSONSchemaProps | undefined, object: Record<string, unknown>, path: string, pruned: string[], kept: ReadonlySet<string>): void {
  if (schema === undefined) return;
  const preserve = schema["x-kubernetes-preserve-unknown-fields"] === true;
  const additional = schema.additionalProperties;
  for (const key of Object.keys(object)) {
    if (kept.has(key)) continue;
    const childPath = joinPath(path, key);
    const child = schema.properties?.[key];
    if (child !== undefined) pruneValue(child, object[key], childPath, pruned);
    else if (isRecord(additional)) pruneValue(additional, object[key], childPath, pruned);
    else if (!preserve && additional !== true) {
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- dropping the unknown field found
      delete object[key];
      pruned.push(childPath);
    }
  }
}

// ---- defaulting ----

/** Sets, in place, the schema's defaults for absent fields inside objects that exist. */
export function applySchemaDefaults(schema: JSONSchemaProps | undefined, value: unknown): void {
  if (schema === undefined) return;
  if (Array.isArray(value)) {
    for (const item of value) applySchemaDefaults(schema.items, item);
    return;
  }
  if (!isRecord(value)) return;
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    if (!Object.hasOwn(value, key) && child.default !== undefined) value[key] = structuredClone(child.default);
    applySchemaDefaults(child, value[key]);
  }
  const additional = schema.additionalProperties;
  if (isRecord(additional)) {
    for (const [key, child] of Object.entries(value)) if (!schema.properties?.[key]) applySchemaDefaults(additional, child);
  }
}

/** Whether applySchemaDefaults would set anything in `value`. */
export function lacksSchemaDefaults(schema: JSONSchemaProps | undefined, value: unknown): boolean {
  if (schema === undefined) return false;
  if (Array.isArray(value)) return value.some((item) => lacksSchemaDefaults(schema.items, item));
  if (!isRecord(value)) return false;
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    if (!Object.hasOwn(value, key) ? child.default !== undefined : lacksSchemaDefaults(child, value[key])) return true;
  }
  const additional = schema.additionalProperties;
  return isRecord(additional) && Object.entries(value).some(([key, child]) => !schema.properties?.[key] && lacksSchemaDefaults(additional, child));
}

/** Whether a schema has a default anywhere (most have none, and then reads need no defaulting). */
export function schemaHasDefaults(schema: JSONSchemaProps | undefined): boolean {
  if (schema === undefined) return false;
  if (schema.default !== undefined) return true;
  if (Object.values(schema.properties ?? {}).some(schemaHasDefaults)) return true;
  if (schema.items !== undefined && schemaHasDefaults(schema.items)) return true;
  return isRecord(schema.additionalProperties) && schemaHasDefaults(schema.additionalProperties);
}

/**
 * An object as read from storage, defaulted by the schema, as apiextensions-apiserver defaults what it decodes: an
 * object stored before a default was added gets it on every read. The object itself when nothing is missing (stored
 * objects are shared by the watch cache, so they are never changed in place), else a defaulted copy.
 */
export function withSchemaDefaults<T>(schema: JSONSchemaProps | undefined, object: T): T {
  if (!lacksSchemaDefaults(schema, object)) return object;
  const copy = structuredClone(object);
  applySchemaDefaults(schema, copy);
  return copy;
}

// ---- validation ----

/** The JSON type name of a value as Kubernetes' validator reports it ("integer", "number", "string", ...). */
function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  if (typeof value === "object") return "object";
  return typeof value;
}

function typeMatches(type: string, value: unknown): boolean {
  switch (type) {
    case "object":
      return isRecord(value);
    case "array":
      return Array.isArray(value);
    case "string":
      return typeof value === "string";
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "boolean":
      return typeof value === "boolean";
    default:
      return true;
  }
}

/** Validates a custom resource (or any value) against `schema`; paths are rooted at `path`. */
export function validateValue(schema: JSONSchemaProps | undefined, value: unknown, path = ""): FieldError[] {
  const errs: FieldError[] = [];
  if (schema !== undefined) validateNode(schema, value, path, errs, path === "");
  return errs;
}

function inBody(path: string): string {
  return `${path === "" ? "body" : path} in body`;
}

function validateNode(schema: JSONSchemaProps, value: unknown, path: string, errs: FieldError[], root = false): void {
  if (value === null) {
    if (schema.nullable === true || schema.type === undefined) return;
    errs.push(invalid(path, "null", `${inBody(path)} must be of type ${schema.type}: "null"`));
    return;
  }
  if (schema["x-kubernetes-int-or-string"] === true) {
    if (!(typeof value === "string" || (typeof value === "number" && Number.isInteger(value)))) {
      errs.push(invalid(path, typeName(value), `${inBody(path)} must be of type integer,string: ${JSON.stringify(typeName(value))}`));
      return;
    }
  } else if (schema.type !== undefined && !typeMatches(schema.type, value)) {
    errs.push(invalid(path, typeName(value), `${inBody(path)} must be of type ${schema.type}: ${JSON.stringify(typeName(value))}`));
    return;
  }
  if (schema.enum !== undefined && !schema.enum.some((e) => JSON.stringify(e) === JSON.stringify(value))) {
    errs.push(notSupported(path, value, schema.enum.map((e) => (typeof e === "string" ? e : JSON.stringify(e)))));
  }
  if (typeof value === "number") validateNumber(schema, value, path, errs);
  if (typeof value === "string") validateString(schema, value, path, errs);
  if (Array.isArray(value)) {
    if (schema.maxItems !== undefined && value.length > schema.maxItems) errs.push(tooMany(path, value.length, schema.maxItems));
    if (schema.minItems !== undefined && value.length < schema.minItems) errs.push(invalid(path, value.length, `${inBody(path)} should have at least ${schema.minItems} items`));
    if (schema.uniqueItems === true) {
      const seen = new Set<string>();
      value.forEach((item, i) => {
        const key = JSON.stringify(item);
        if (seen.has(key)) errs.push({ type: "FieldValueDuplicate", field: `${path}[${i}]`, message: `Duplicate value: ${JSON.stringify(item)}` });
        seen.add(key);
      });
    }
    if (schema.items !== undefined) {
      const items = schema.items;
      value.forEach((item, i) => {
        validateNode(items, item, `${path}[${i}]`, errs);
      });
    }
  }
  if (isRecord(value)) validateObjectNode(schema, value, path, errs, root);
  validateCombinators(schema, value, path, errs);
}

function validateNumber(schema: JSONSchemaProps, value: number, path: string, errs: FieldError[]): void {
  if (schema.maximum !== undefined) {
    if (schema.exclusiveMaximum === true ? value >= schema.maximum : value > schema.maximum) {
      errs.push(invalid(path, value, `${inBody(path)} should be less than ${schema.exclusiveMaximum === true ? "" : "or equal to "}${schema.maximum}`));
    }
  }
  if (schema.minimum !== undefined) {
    if (schema.exclusiveMinimum === true ? value <= schema.minimum : value < schema.minimum) {
      errs.push(invalid(path, value, `${inBody(path)} should be greater than ${schema.exclusiveMinimum === true ? "" : "or equal to "}${schema.minimum}`));
    }
  }
  if (schema.multipleOf !== undefined && schema.multipleOf > 0 && !Number.isInteger(value / schema.multipleOf)) {
    errs.push(invalid(path, value, `${inBody(path)} should be a multiple of ${schema.multipleOf}`));
  }
}

function validateString(schema: JSONSchemaProps, value: string, path: string, errs: FieldError[]): void {
  // Lengths count code points, as Go's validator counts runes.
  let length = 0;
  for (const _ of value) length++;
  if (schema.maxLength !== undefined && length > schema.maxLength) errs.push(invalid(path, value, `${inBody(path)} should be at most ${schema.maxLength} chars long`));
  if (schema.minLength !== undefined && length < schema.minLength) errs.push(invalid(path, value, `${inBody(path)} should be at least ${schema.minLength} chars long`));
  if (schema.pattern !== undefined) {
    const pattern = compilePattern(schema.pattern);
    if (pattern !== undefined && !pattern.test(value)) errs.push(invalid(path, value, `${inBody(path)} should match '${schema.pattern}'`));
  }
}

function validateObjectNode(schema: JSONSchemaProps, value: Record<string, unknown>, path: string, errs: FieldError[], root: boolean): void {
  for (const name of schema.required ?? []) {
    if (!Object.hasOwn(value, name)) errs.push(required(joinPath(path, name)));
  }
  const count = Object.keys(value).length;
  if (schema.maxProperties !== undefined && count > schema.maxProperties) errs.push(tooMany(path, count, schema.maxProperties));
  if (schema.minProperties !== undefined && count < schema.minProperties) errs.push(invalid(path, count, `${inBody(path)} should have at least ${schema.minProperties} properties`));
  const embedded = root || schema["x-kubernetes-embedded-resource"] === true;
  if (embedded && !root) {
    if (typeof value.kind !== "string" || value.kind === "") errs.push(required(joinPath(path, "kind"), "must not be empty"));
    if (typeof value.apiVersion !== "string" || value.apiVersion === "") errs.push(required(joinPath(path, "apiVersion"), "must not be empty"));
  }
  for (const [key, child] of Object.entries(value)) {
    if (embedded && (key === "apiVersion" || key === "kind" || key === "metadata") && schema.properties?.[key] === undefined) continue;
    const childSchema = schema.properties?.[key] ?? (isRecord(schema.additionalProperties) ? schema.additionalProperties : undefined);
    if (childSchema !== undefined) validateNode(childSchema, child, joinPath(path, key), errs);
  }
}

function validateCombinators(schema: JSONSchemaProps, value: unknown, path: string, errs: FieldError[]): void {
  for (const sub of schema.allOf ?? []) validateNode(sub, value, path, errs);
  if (schema.anyOf !== undefined && !schema.anyOf.some((sub) => validateValue(sub, value, path).length === 0)) {
    errs.push(invalid(path, typeName(value), `${inBody(path)} must validate at least one schema (anyOf)`));
  }
  if (schema.oneOf !== undefined) {
    const passing = schema.oneOf.filter((sub) => validateValue(sub, value, path).length === 0).length;
    if (passing !== 1) errs.push(invalid(path, typeName(value), `${inBody(path)} must validate one and only one schema (oneOf)`));
  }
  if (schema.not !== undefined && validateValue(schema.not, value, path).length === 0) {
    errs.push(invalid(path, typeName(value), `${inBody(path)} must not validate the schema (not)`));
  }
}

const patterns = new Map<string, RegExp | undefined>();

/** ECMA-262 regular expressions as OpenAPI specifies; one that does not compile matches everything (CRD validation refuses it). */
function compilePattern(source: string): RegExp | undefined {
  if (!patterns.has(source)) {
    try {
      patterns.set(source, new RegExp(source, "u"));
    } catch {
      patterns.set(source, undefined);
    }
  }
  return patterns.get(source);
}

// ---- structural schema rules (for the CRD itself) ----

const TYPES = new Set(["object", "array", "string", "integer", "number", "boolean"]);

/**
 * The structural-schema rules Kubernetes enforces on a CRD version's openAPIV3Schema: a type everywhere (unless
 * x-kubernetes-int-or-string or x-kubernetes-preserve-unknown-fields), an object at the root, items for arrays,
 * properties and additionalProperties not both, compilable patterns, and defaults that validate.
 */
export function validateStructural(schema: unknown, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!isRecord(schema)) {
    errs.push(required(path, ""));
    return errs;
  }
  if (schema.type !== "object") errs.push(invalid(joinPath(path, "type"), schema.type ?? "", 'must be object at the root'));
  checkNode(schema, path, "", errs, true);
  return errs;
}

function checkNode(node: Record<string, unknown>, path: string, dataPath: string, errs: FieldError[], root: boolean): void {
  const intOrString = node["x-kubernetes-int-or-string"] === true;
  const preserve = node["x-kubernetes-preserve-unknown-fields"] === true;
  const type = node.type;
  if (type === undefined || type === "") {
    if (!intOrString && !preserve) errs.push(required(`${path}.type`, "must not be empty for specified object fields"));
  } else if (typeof type !== "string" || !TYPES.has(type)) {
    errs.push(notSupported(`${path}.type`, type, [...TYPES]));
  }
  if (type === "array" && !isRecord(node.items)) errs.push(required(`${path}.items`, "must be specified"));
  if (node.properties !== undefined && node.additionalProperties !== undefined && node.additionalProperties !== false) {
    errs.push(forbidden(`${path}.additionalProperties`, "additionalProperties and properties are mutual exclusive"));
  }
  if (typeof node.pattern === "string" && compilePattern(node.pattern) === undefined) {
    errs.push(invalid(`${path}.pattern`, node.pattern, "must be a valid regular expression"));
  }
  if (root && isRecord(node.properties) && isRecord(node.properties.metadata)) {
    const meta = node.properties.metadata;
    const extra = Object.keys(meta).filter((k) => k !== "type" && k !== "properties" && k !== "description");
    const props = isRecord(meta.properties) ? Object.keys(meta.properties).filter((k) => k !== "name" && k !== "generateName") : [];
    if (extra.length > 0 || props.length > 0) errs.push(forbidden(`${path}.properties[metadata]`, "must not specify anything other than name and generateName, but metadata is implicitly specified"));
  }
  if (isRecord(node.properties)) {
    for (const [key, child] of Object.entries(node.properties)) {
      if (isRecord(child)) checkNode(child, `${path}.properties[${key}]`, joinPath(dataPath, key), errs, false);
      else errs.push(invalid(`${path}.properties[${key}]`, child, "must be a schema object"));
    }
  }
  if (isRecord(node.items)) checkNode(node.items, `${path}.items`, `${dataPath}[*]`, errs, false);
  if (isRecord(node.additionalProperties)) checkNode(node.additionalProperties, `${path}.additionalProperties`, joinPath(dataPath, "*"), errs, false);
  if (node.default !== undefined) {
    if (root) errs.push(forbidden(`${path}.default`, "must not be set at the root"));
    else {
      // As Kubernetes reports them: the default's own errors, named by the schema path, worded with the data path.
      for (const problem of validateValue(node, node.default, dataPath)) errs.push({ ...problem, field: `${path}.default` });
    }
  }
}

/** The schema at a dotted JSON path of simple field names (".spec.replicas"), undefined where it is not specified. */
export function schemaAt(schema: JSONSchemaProps | undefined, path: readonly string[]): JSONSchemaProps | undefined {
  let node = schema;
  for (const key of path) {
    if (node === undefined) return undefined;
    node = node.properties?.[key] ?? (isRecord(node.additionalProperties) ? node.additionalProperties : undefined);
  }
  return node;
}
