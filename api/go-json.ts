// JSON as Go's encoding/json writes it, for the places where Go programs compare bytes with ours:
//  - goJsonString: the text of a JSON value, members in the order given, strings escaped as Go escapes them
//    (`<`, `>`, `&`, U+2028, U+2029 and control characters as \u00XX; \b and \f too, where JSON.stringify writes
//    \b and \f; a lone surrogate, which Go cannot hold, as U+FFFD);
//  - goSortedJson: the same with every object's members sorted by their UTF-8 bytes, as Go writes a
//    map[string]interface{};
//  - goTypedTemplate: a pod template as Go's typed structs write it: the fields Go writes even when unset are added
//    with their zero value (`"creationTimestamp":null`, `"resources":{}`, `"name":""` ...) and quantities are
//    canonical (`1000m` as `1`), per api/go-fields.gen.ts (generated from Kubernetes' OpenAPI document).
// The DaemonSet and StatefulSet controllers snapshot a template in a ControllerRevision as Go's json.Marshal of the
// typed object, decoded into a map and written again; Go clients (`daemon.Match` in the e2e tests, the real
// controllers) compare those bytes with their own.
import { GO_FIELDS, GO_ROOT_TEMPLATE, type GoField } from "./go-fields.gen.js";
import { isRecord } from "./meta.js";
import { canonicalQuantity } from "./quantity.js";

/** JSON text as Go writes it; object members in their insertion order. */
export function goJsonString(value: unknown): string {
  return (JSON.stringify(value) ?? "null").replace(GO_REWRITTEN, goEscape);
}

/** An escaped backslash (skipped whole), \b, \f, a lone surrogate's escape, or a character Go escapes and JSON.stringify does not. */
const GO_REWRITTEN = /\\\\|\\b|\\f|\\ud[89a-f][0-9a-f]{2}|[<>&\u2028\u2029]/g;

function goEscape(match: string): string {
  if (match === "\\\\") return match;
  if (match === "\\b") return "\\u0008";
  if (match === "\\f") return "\\u000c";
  if (match.startsWith("\\u")) return "\ufffd";
  return `\\u${match.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/**
 * A copy of `value` with every object's members in Go's map order (by UTF-8 bytes), and its JSON text as Go writes
 * it. Integer-like keys ("1", "10") are the exception JavaScript objects force: they always come first, in numeric order.
 */
export function goSortedJson(value: unknown): string {
  return goJsonString(sortMembers(value));
}

/** A deep copy of `value` whose objects' members are inserted in Go's map order (by UTF-8 bytes); undefined members dropped. */
export function sortMembers(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortMembers);
  if (!isRecord(value)) return value;
  const keys = Object.keys(value).filter((k) => value[k] !== undefined);
  keys.sort((a, b) => Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = sortMembers(value[k]);
  return out;
}

/**
 * A pod template (core/v1 PodTemplateSpec in its JSON form) as Go's typed structs write it: each field Go writes
 * when unset gets its zero value, at every depth (inside each container, volume, affinity term ...). A typed
 * object's member whose value is null counts as unset, as Go's decoding leaves the field at its zero value. Present
 * values are kept as they are but quantities, which Go writes in canonical form; members are not reordered (see
 * sortMembers).
 */
export function goTypedTemplate(template: unknown): Record<string, unknown> {
  const typed = typedValue(isRecord(template) ? template : {}, GO_ROOT_TEMPLATE);
  return isRecord(typed) ? typed : {};
}

function typedValue(value: unknown, type: string): unknown {
  if (value === null || value === undefined) return value;
  if (type === "quantity") return canonicalOrAsIs(value);
  if (type.startsWith("[]")) return Array.isArray(value) ? value.map((item) => typedValue(item, type.slice(2))) : value;
  if (type.startsWith("{}")) {
    if (!isRecord(value)) return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = typedValue(v, type.slice(2));
    return out;
  }
  const fields = GO_FIELDS[type];
  if (fields === undefined || !isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    // null leaves a Go field at its zero value: written below when Go writes it unset, else omitted.
    if (v === undefined || v === null) continue;
    const field = fields[k];
    out[k] = field === undefined ? v : typedValue(v, field.type);
  }
  for (const [k, field] of Object.entries(fields)) {
    if (field.unset !== undefined && out[k] === undefined) out[k] = unsetValue(field);
  }
  return out;
}

/** A quantity as Go's resource.Quantity writes it (canonical: `1000m` → `1`, `0.5` → `500m`); one that does not parse as is. */
function canonicalOrAsIs(value: unknown): unknown {
  if (typeof value !== "string" && typeof value !== "number") return value;
  try {
    return canonicalQuantity(value);
  } catch {
    return value;
  }
}

/** What Go writes for a field left at its zero value. */
function unsetValue(field: GoField): unknown {
  if (field.unset === "null") return null;
  switch (field.type) {
    case "string":
      return "";
    case "integer":
    case "number":
    case "intorstring":
      return 0;
    case "boolean":
      return false;
    case "time":
      return null;
    case "quantity":
      return "0";
    default:
      // A struct held by value: its own fields as Go writes them unset. Slices and maps are nil: null.
      return isCollectionType(field.type) ? null : typedValue({}, field.type);
  }
}

function isCollectionType(type: string): boolean {
  return type.startsWith("[]") || type.startsWith("{}") || type === "object";
}
