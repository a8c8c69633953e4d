// Field selectors (k8s.io/apimachinery/pkg/fields) and the fields each kind exposes to them (the registries'
// ToSelectableFields and the field-label conversion functions). kubectl relies on these for `describe` (events by
// involvedObject.*), node pod lists (spec.nodeName, status.phase!=...), and watches by metadata.name.
import { badRequest } from "./errors.js";
import { isRecord, type KubeObject } from "./meta.js";

export interface FieldTerm {
  readonly field: string;
  /** `==` is read as `=`. */
  readonly operator: "=" | "!=";
  /** The unescaped value. */
  readonly value: string;
}

/** A parsed field selector: the AND of its terms. */
export interface FieldSelector {
  readonly terms: readonly FieldTerm[];
  /** True when there are no terms; such a selector matches everything. */
  readonly empty: boolean;
  /** A field absent from `fields` has the value "", so `f=` matches an empty or absent field. */
  matches(fields: Readonly<Record<string, string>>): boolean;
  /** The value `field` must equal (the first `field=value` term), so a server can narrow its search. */
  requiresExactMatch(field: string): string | undefined;
  /** Kubernetes' canonical form: terms sorted, values escaped, `==` written `=`. */
  toString(): string;
}

class TermSelector implements FieldSelector {
  constructor(readonly terms: readonly FieldTerm[]) {}

  get empty(): boolean {
    return this.terms.length === 0;
  }

  matches(fields: Readonly<Record<string, string>>): boolean {
    return this.terms.every((t) => {
      const have = Object.hasOwn(fields, t.field) ? (fields[t.field] ?? "") : "";
      return t.operator === "=" ? have === t.value : have !== t.value;
    });
  }

  requiresExactMatch(field: string): string | undefined {
    return this.terms.find((t) => t.field === field && t.operator === "=")?.value;
  }

  toString(): string {
    return this.terms.map((t) => `${t.field}${t.operator}${escapeFieldValue(t.value)}`).join(",");
  }
}

/**
 * Parses `?fieldSelector=`: terms `k=v`, `k==v`, `k!=v` joined by commas; in values `\,` `\=` `\\` stand for
 * themselves. Field names take no escapes and no trimming, as in Kubernetes. Terms are sorted as written, like
 * fields.ParseSelector. "" selects everything. Throws BadRequest with Kubernetes' message on bad syntax.
 */
export function parseFieldSelector(text: string): FieldSelector {
  const parts = splitTerms(text).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const terms: FieldTerm[] = [];
  for (const part of parts) {
    if (part === "") continue;
    const term = splitTerm(part);
    if (term === undefined) throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`);
    terms.push({ field: term.field, operator: term.operator, value: unescapeFieldValue(term.rawValue) });
  }
  return new TermSelector(terms);
}

/** A selector of `field=value` terms, one per entry (fields.SelectorFromSet). */
export function fieldSelectorFromSet(set: Readonly<Record<string, string>>): FieldSelector {
  const terms = Object.keys(set)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((field): FieldTerm => ({ field, operator: "=", value: set[field] ?? "" }));
  return new TermSelector(terms);
}

/** Escapes `\`, `,` and `=` in a value so it survives parseFieldSelector. */
export function escapeFieldValue(value: string): string {
  return value.replace(/[\\,=]/g, (c) => `\\${c}`);
}

/** Reverses escapeFieldValue. Throws BadRequest for an unknown escape or a bare `,` or `=`. */
export function unescapeFieldValue(value: string): string {
  let out = "";
  let escaped = false;
  for (const c of value) {
    if (escaped) {
      if (c !== "\\" && c !== "," && c !== "=") throw badRequest(`invalid field selector: invalid escape sequence: \\${c}`);
      out += c;
      escaped = false;
    } else if (c === "\\") {
      escaped = true;
    } else if (c === "," || c === "=") {
      throw badRequest(`invalid field selector: unescaped character in value: ${c}`);
    } else {
      out += c;
    }
  }
  if (escaped) throw badRequest("invalid field selector: invalid escape sequence: \\");
  return out;
}

/** Splits on commas that are not escaped; escapes stay in the parts. */
function splitTerms(text: string): string[] {
  if (text === "") return [];
  const parts: string[] = [];
  let start = 0;
  let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (escaped) escaped = false;
    else if (c === "\\") escaped = true;
    else if (c === ",") {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** Splits at the first operator; `!=` and `==` are tried before `=` so no `=` is left on the value. */
function splitTerm(part: string): { field: string; operator: "=" | "!="; rawValue: string } | undefined {
  for (let i = 0; i < part.length; i++) {
    const rest = part.slice(i);
    if (rest.startsWith("!=")) return { field: part.slice(0, i), operator: "!=", rawValue: part.slice(i + 2) };
    if (rest.startsWith("==")) return { field: part.slice(0, i), operator: "=", rawValue: part.slice(i + 2) };
    if (rest.startsWith("=")) return { field: part.slice(0, i), operator: "=", rawValue: part.slice(i + 1) };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Selectable fields per kind.

type Getter = (obj: KubeObject) => string;

/** A string at `path`; numbers and booleans as Go would format them; anything else "". */
function at(obj: unknown, ...path: string[]): string {
  let cur: unknown = obj;
  for (const key of path) {
    if (!isRecord(cur) || !Object.hasOwn(cur, key)) return "";
    cur = cur[key];
  }
  if (typeof cur === "string") return cur;
  if (typeof cur === "number" || typeof cur === "boolean") return String(cur);
  return "";
}

/** A boolean at `path` as "true"/"false"; absent is false (Go's zero value). */
function flag(obj: unknown, ...path: string[]): string {
  return at(obj, ...path) === "true" ? "true" : "false";
}

/** An integer at `path`; absent is "0" (Go's zero value). */
function count(obj: unknown, ...path: string[]): string {
  return at(obj, ...path) || "0";
}

/** status.podIP is the first of status.podIPs, falling back to the single-stack field. */
function podIP(obj: KubeObject): string {
  const status = obj.status;
  if (isRecord(status) && Array.isArray(status.podIPs) && status.podIPs.length > 0) {
    return at(status.podIPs[0], "ip");
  }
  return at(obj, "status", "podIP");
}

const FIELDS_BY_KIND: Readonly<Record<string, Readonly<Record<string, Getter>>>> = {
  Pod: {
    "spec.nodeName": (o) => at(o, "spec", "nodeName"),
    "spec.restartPolicy": (o) => at(o, "spec", "restartPolicy"),
    "spec.schedulerName": (o) => at(o, "spec", "schedulerName"),
    "spec.serviceAccountName": (o) => at(o, "spec", "serviceAccountName"),
    "spec.hostNetwork": (o) => flag(o, "spec", "hostNetwork"),
    "status.phase": (o) => at(o, "status", "phase"),
    "status.podIP": podIP,
    "status.nominatedNodeName": (o) => at(o, "status", "nominatedNodeName"),
  },
  Event: {
    "involvedObject.kind": (o) => at(o, "involvedObject", "kind"),
    "involvedObject.namespace": (o) => at(o, "involvedObject", "namespace"),
    "involvedObject.name": (o) => at(o, "involvedObject", "name"),
    "involvedObject.uid": (o) => at(o, "involvedObject", "uid"),
    "involvedObject.apiVersion": (o) => at(o, "involvedObject", "apiVersion"),
    "involvedObject.resourceVersion": (o) => at(o, "involvedObject", "resourceVersion"),
    "involvedObject.fieldPath": (o) => at(o, "involvedObject", "fieldPath"),
    reason: (o) => at(o, "reason"),
    reportingComponent: (o) => at(o, "reportingComponent"),
    // Events written through events.k8s.io have no source; Kubernetes falls back to the reporting controller.
    source: (o) => at(o, "source", "component") || at(o, "reportingComponent"),
    type: (o) => at(o, "type"),
  },
  Node: { "spec.unschedulable": (o) => flag(o, "spec", "unschedulable") },
  Namespace: { "status.phase": (o) => at(o, "status", "phase") },
  Secret: { type: (o) => at(o, "type") },
  Service: {
    "spec.clusterIP": (o) => at(o, "spec", "clusterIP"),
    "spec.type": (o) => at(o, "spec", "type"),
  },
  ReplicaSet: { "status.replicas": (o) => count(o, "status", "replicas") },
  ReplicationController: { "status.replicas": (o) => count(o, "status", "replicas") },
  Job: { "status.successful": (o) => count(o, "status", "successful") },
  CertificateSigningRequest: { "spec.signerName": (o) => at(o, "spec", "signerName") },
};

const META_FIELDS = ["metadata.name", "metadata.namespace"] as const;

function kindFields(kind: string): Readonly<Record<string, Getter>> {
  return Object.hasOwn(FIELDS_BY_KIND, kind) ? (FIELDS_BY_KIND[kind] ?? {}) : {};
}

/** The field names a selector on `kind` may use. Every kind has metadata.name and metadata.namespace. */
export function supportedFields(kind: string): readonly string[] {
  return [...META_FIELDS, ...Object.keys(kindFields(kind))];
}

/** The selectable fields of `obj` with their values; missing fields are "". */
export function fieldsOf(kind: string, obj: KubeObject): Record<string, string> {
  const fields: Record<string, string> = {
    "metadata.name": obj.metadata.name ?? "",
    "metadata.namespace": obj.metadata.namespace ?? "",
  };
  for (const [name, get] of Object.entries(kindFields(kind))) fields[name] = get(obj);
  return fields;
}

/** Throws BadRequest `field label not supported: <field>` for the first term naming a field `kind` lacks. */
export function validateFieldSelector(kind: string, selector: FieldSelector): void {
  const supported = new Set(supportedFields(kind));
  for (const term of selector.terms) {
    if (!supported.has(term.field)) throw badRequest(`field label not supported: ${term.field}`);
  }
}

/**
 * The field labels of kinds served by one group and stored as another's (Kubernetes' field-label conversion
 * functions): events.k8s.io names the stored core/v1 Event's fields its own way, and accepts only these.
 */
const FIELD_LABEL_CONVERSIONS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  "events.k8s.io/Event": {
    reason: "reason",
    "regarding.kind": "involvedObject.kind",
    "regarding.namespace": "involvedObject.namespace",
    "regarding.name": "involvedObject.name",
    "regarding.uid": "involvedObject.uid",
    "regarding.apiVersion": "involvedObject.apiVersion",
    "regarding.resourceVersion": "involvedObject.resourceVersion",
    "regarding.fieldPath": "involvedObject.fieldPath",
    reportingController: "reportingComponent",
    type: "type",
    "metadata.namespace": "metadata.namespace",
    "metadata.name": "metadata.name",
  },
};

/**
 * `selector` in the stored kind's field names, for a kind `group` serves under names of its own; as it is otherwise.
 * Throws BadRequest `field label not supported: <field>` for a label the group does not map.
 */
export function convertFieldSelector(group: string, kind: string, selector: FieldSelector): FieldSelector {
  const mapping = FIELD_LABEL_CONVERSIONS[`${group}/${kind}`];
  if (mapping === undefined) return selector;
  const terms = selector.terms.map((term) => {
    const field = Object.hasOwn(mapping, term.field) ? mapping[term.field] : undefined;
    if (field === undefined) throw badRequest(`field label not supported: ${term.field}`);
    return { ...term, field };
  });
  return new TermSelector(terms);
}
