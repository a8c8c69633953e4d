// The JSON types of Kubernetes' Go structs, checked the way the apiserver's typed decoding checks them: a string
// where an int32 belongs, a number in metadata.name or an object in a label value never reaches defaulting,
// validation or etcd. Kubernetes answers such a body with 400 BadRequest ("Pod in version "v1" cannot be handled as
// a Pod: json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string"), and so
// does kubelab. Fields the schema does not know are left alone (unknown-field handling is unknown-fields.ts's), and null
// is accepted anywhere, as Go's decoder accepts it. The schema is generated: see wire-types.gen.ts.
import { badRequest, type StatusError } from "./errors.js";
import { isRecord } from "./meta.js";
import { setOwn } from "./normalize.js";
import { canonicalQuantity, isQuantity, quantityError } from "./quantity.js";
import { ANY, BOOLEAN, INT32, INT64, INT_OR_STRING, LIST, MAP, MODEL, modelFields, NUMBER, QUANTITY, type SchemaType, schemaType, STRING, TIME, UNDEFINED_TYPE } from "./wire-schema.js";
import { WIRE_ROOTS } from "./wire-types.gen.js";

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
const INT64_LIMIT = 2 ** 63;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

export interface WireTypeError {
  /** The Go-style field path: the innermost struct, then the JSON path from the root without indices or map keys. */
  field: string;
  /** What was found: "string", "number 1.5", "object", ... */
  found: string;
  /** The Go type expected there: "int32", "map[string]string", "[]v1.Container", ... */
  expected: string;
}

/** The first field of `object` whose JSON type does not fit the kind's schema; undefined when all fit or the kind has none. */
export function findWireTypeError(apiVersion: string, kind: string, object: unknown): WireTypeError | undefined {
  const root = WIRE_ROOTS[`${apiVersion}/${kind}`];
  if (root === undefined) return undefined;
  return checkValue(object, schemaType(root), structName(root), []);
}

/**
 * Objects nest a few dozen levels. Bodies are capped at decoding (apiserver/http/negotiate.ts), but patches can
 * deepen a stored object a little more each time, and past a few thousand levels every recursive walk of it (and
 * JSON.stringify) overflows the stack: written objects are capped too.
 */
export const MAX_OBJECT_DEPTH = 1000;

/** Throws the 400 BadRequest Kubernetes answers for a body that its typed decoding rejects (or one nested too deeply). */
export function checkWireTypes(apiVersion: string, kind: string, object: unknown): void {
  if (nestedDeeperThan(object, MAX_OBJECT_DEPTH)) throw badRequest(`${kind} in version "${versionOf(apiVersion)}" cannot be handled as a ${kind}: the object is nested too deeply`);
  const err = findWireTypeError(apiVersion, kind, object);
  if (err) throw wireTypeStatus(apiVersion, kind, err);
}

/** Whether `value` has arrays or objects nested more than `limit` levels; the walk stops at the limit. */
export function nestedDeeperThan(value: unknown, limit: number, depth = 0): boolean {
  if (depth > limit) return true;
  if (typeof value !== "object" || value === null) return false;
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) if (nestedDeeperThan(item, limit, depth + 1)) return true;
    return false;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) if (nestedDeeperThan(record[key], limit, depth + 1)) return true;
  return false;
}

function versionOf(apiVersion: string): string {
  return apiVersion.includes("/") ? apiVersion.slice(apiVersion.indexOf("/") + 1) : apiVersion;
}

function wireTypeStatus(apiVersion: string, kind: string, err: WireTypeError): StatusError {
  return badRequest(`${kind} in version "${versionOf(apiVersion)}" cannot be handled as a ${kind}: json: cannot unmarshal ${err.found} into Go struct field ${err.field} of type ${err.expected}`);
}

/**
 * `path`: the field names from `struct` down to `value`; the walk pushes and pops it (a mismatch copies it at once).
 */
function checkValue(value: unknown, t: SchemaType, struct: string, path: string[]): WireTypeError | undefined {
  if (value === null || value === undefined) return undefined;
  switch (t.shape) {
    case ANY:
    case UNDEFINED_TYPE:
      return undefined;
    case LIST: {
      if (!Array.isArray(value)) return mismatchOf(value, t.type, struct, path);
      const item = t.item!;
      for (const element of value) {
        const err = checkValue(element, item, struct, path);
        if (err) return err;
      }
      return undefined;
    }
    case MAP: {
      if (!isRecord(value)) return mismatchOf(value, t.type, struct, path);
      const item = t.item!;
      for (const key of Object.keys(value)) {
        const err = checkValue(value[key], item, struct, path);
        if (err) return err;
      }
      return undefined;
    }
    case STRING:
      return typeof value === "string" ? undefined : mismatchOf(value, t.type, struct, path);
    case BOOLEAN:
      return typeof value === "boolean" ? undefined : mismatchOf(value, t.type, struct, path);
    case NUMBER:
      return typeof value === "number" ? undefined : mismatchOf(value, t.type, struct, path);
    case INT32:
      return isInteger(value, INT32_MIN, INT32_MAX) ? undefined : mismatchOf(value, t.type, struct, path);
    case INT64:
      return isInteger(value, -INT64_LIMIT, INT64_LIMIT - 1) ? undefined : mismatchOf(value, t.type, struct, path);
    case INT_OR_STRING:
      return typeof value === "string" || isInteger(value, INT32_MIN, INT32_MAX) ? undefined : mismatchOf(value, t.type, struct, path);
    case QUANTITY:
      return typeof value === "string" || (typeof value === "number" && Number.isFinite(value)) ? undefined : mismatchOf(value, t.type, struct, path);
    case TIME:
      return typeof value === "string" && RFC3339.test(value) ? undefined : mismatchOf(value, t.type, struct, path);
    case MODEL:
      break;
  }
  if (!isRecord(value)) return mismatchOf(value, t.type, struct, path);
  const fields = modelFields(t);
  const inner = structName(t.type);
  for (const key of Object.keys(value)) {
    const field = fields.get(key);
    if (field === undefined) continue;
    path.push(key);
    const err = checkValue(value[key], field, inner, path);
    path.pop();
    if (err) return err;
  }
  return undefined;
}

/** By schema type; the schema's types are finitely many (wire-types.gen.ts). */
const structNames = new Map<string, string>();

function mismatchOf(value: unknown, type: string, struct: string, path: readonly string[]): WireTypeError {
  return { field: [struct, ...path].join("."), found: describe(value, type), expected: goType(type) };
}

function isInteger(value: unknown, min: number, max: number): boolean {
  return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

function describe(value: unknown, type: string): string {
  if (typeof value === "number") return type === "int32" || type === "int64" || type === "intorstring" ? `number ${String(value)}` : "number";
  if (typeof value === "boolean") return "bool";
  if (typeof value === "string") return type === "time" ? `string ${JSON.stringify(value.slice(0, 64))}` : "string";
  return Array.isArray(value) ? "array" : "object";
}

/** V1PodSpec → PodSpec, CoreV1Event → Event. */
function structName(model: string): string {
  let name = structNames.get(model);
  if (name === undefined) {
    name = structNameOf(model);
    structNames.set(model, name);
  }
  return name;
}

function structNameOf(model: string): string {
  return model.replace(/^[A-Z][a-z]*V\d+(?:alpha\d+|beta\d+)?(?=[A-Z])/, "").replace(/^V\d+(?:alpha\d+|beta\d+)?(?=[A-Z])/, "");
}

function goType(type: string): string {
  if (type.startsWith("[]")) return `[]${goType(type.slice(2))}`;
  if (type.startsWith("{}")) return `map[string]${goType(type.slice(2))}`;
  switch (type) {
    case "string":
    case "int32":
    case "int64":
      return type;
    case "number":
      return "float64";
    case "boolean":
      return "bool";
    case "time":
      return "v1.Time";
    case "intorstring":
      return "intstr.IntOrString";
    case "quantity":
      return "resource.Quantity";
    default:
      return `v1.${structName(type)}`;
  }
}

/**
 * Rewrites, in place, every quantity-typed field of a built-in kind's object in canonical form (`1000m` → `"1"`,
 * `0.5` → `"500m"`, `1024Mi` → `"1Gi"`, a JSON number as a string): what Kubernetes stores and answers, since its
 * decoding turns each such field into a resource.Quantity that encodes itself canonically. Kinds without a schema
 * (custom resources) are left alone. Throws the 400 BadRequest of Kubernetes' decoding for a quantity that does not
 * parse ("Pod in version "v1" cannot be handled as a Pod: quantities must match the regular expression ...").
 * Call after checkWireTypes, so that every typed field has the JSON type the schema expects.
 */
export function canonicalizeQuantities(apiVersion: string, kind: string, object: unknown): void {
  const root = WIRE_ROOTS[`${apiVersion}/${kind}`];
  if (root === undefined) return;
  const malformed: string[] = [];
  const compiled = schemaType(root);
  if (compiled.mayHoldQuantity) canonicalizeValue(object, compiled, malformed);
  if (malformed[0] !== undefined) throw badRequest(`${kind} in version "${versionOf(apiVersion)}" cannot be handled as a ${kind}: ${malformed[0]}`);
}

/**
 * `value` in canonical form when `type` is "quantity"; else undefined, after rewriting the quantities nested in it.
 * The error of each quantity that does not parse is added to `malformed` (the value is kept).
 */
function canonicalizeValue(value: unknown, t: SchemaType, malformed: string[]): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (t.shape === QUANTITY) return canonicalOrUndefined(value, malformed);
  if (t.shape === LIST) {
    if (!Array.isArray(value)) return undefined;
    const item = t.item!;
    if (!item.mayHoldQuantity) return undefined;
    for (let i = 0; i < value.length; i++) {
      const canonical = canonicalizeValue(value[i], item, malformed);
      if (canonical !== undefined) value[i] = canonical;
    }
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  const mapItem = t.shape === MAP ? t.item : undefined;
  const fields = t.shape === MODEL ? modelFields(t) : undefined;
  for (const key of Object.keys(value)) {
    const member = mapItem ?? fields?.get(key);
    if (member?.mayHoldQuantity !== true) continue;
    const canonical = canonicalizeValue(value[key], member, malformed);
    // Map keys come from request bodies: setOwn keeps a `__proto__` key an own member.
    if (canonical !== undefined) setOwn(value, key, canonical);
  }
  return undefined;
}

function canonicalOrUndefined(value: unknown, malformed: string[]): string | undefined {
  if (typeof value === "string") {
    const known = canonicalQuantities.get(value);
    if (known !== undefined) return known;
  }
  if (isQuantity(value)) {
    const canonical = canonicalQuantity(value);
    if (typeof value === "string") {
      if (canonicalQuantities.size >= CANONICAL_QUANTITIES_MAX) canonicalQuantities.clear();
      canonicalQuantities.set(value, canonical);
    }
    return canonical;
  }
  malformed.push(quantityError(value) ?? "");
  return undefined;
}

/**
 * The canonical form of quantity strings seen (parsing one takes BigInt arithmetic, and a cluster's objects repeat the
 * same few: "100m", "64Mi"); emptied when full, so that odd bodies cannot grow it.
 */
const canonicalQuantities = new Map<string, string>();
const CANONICAL_QUANTITIES_MAX = 1024;
