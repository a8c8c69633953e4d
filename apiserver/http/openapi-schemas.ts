// The schemas of the OpenAPI documents (/openapi/v2 definitions, /openapi/v3 components.schemas), derived from the
// same generated wire models that type-check and prune request bodies (api/wire-types.gen.ts), so what kubectl
// validates and explains is what the apiserver accepts. On top of the models:
//  - formats: int32/int64, date-time for metav1.Time, int-or-string, quantity for resource.Quantity;
//  - `x-kubernetes-group-version-kind` on each kind's (and list kind's) top-level schema, which kubectl's explain,
//    client-side validation and apply look schemas up by;
//  - the list strategies of the server's strategic merge patch (api/patch/strategic-merge-patch.ts) as
//    `x-kubernetes-patch-strategy`/`x-kubernetes-patch-merge-key` and `x-kubernetes-list-type`/`list-map-keys`, so
//    kubectl apply computes patches the way this server merges them.
//
// Extra schemas (CustomResourceDefinitions) plug in through setOpenApiSchemaProvider: the provider returns the
// schemas by GVK with a generation number, and the documents are rebuilt only when the generation changes. A CRD
// registry would install one at apiserver start, bumping the generation whenever an established CRD version's
// schema is added, changed or removed; each ExtraSchema with `resource` set also gets REST operations in its group
// version's v3 document (that group version is added to the /openapi/v3 index), and every one is a v2 definition.
// Nothing here depends on the CRD code; schemas() must be cheap to call but is called once per generation.
import { RESOURCES, apiVersionOf } from "../../api/resources.js";
import type { GroupVersionKind } from "../../api/resources.js";
import { listStrategyFor } from "../../api/patch/strategic-merge-patch.js";
import { WIRE_DOCS, WIRE_MODELS, WIRE_ROOTS } from "../../api/wire-types.gen.js";

export type Json = Record<string, unknown>;

/** A schema another component serves (a CRD's version): its kind's top-level schema, refs-free. */
export interface ExtraSchema {
  gvk: GroupVersionKind;
  /** The kind's schema (OpenAPI v3 structural schema, no $ref); the GVK extension is added here. */
  schema: Json;
  /** The kind's list kind (`<Kind>List` when absent). */
  listKind?: string;
  /** When set, the group version's v3 document gets the kind's REST operations (kubectl's fieldValidation check). */
  resource?: { plural: string; namespaced: boolean };
}

/** The seam for schemas that are not built in: `generation` changes whenever `schemas()` would answer differently. */
export interface OpenApiSchemaProvider {
  generation(): number;
  schemas(): readonly ExtraSchema[];
}

let provider: OpenApiSchemaProvider | undefined;

/** Installs (or, with undefined, removes) the provider of extra schemas. One provider per process. */
export function setOpenApiSchemaProvider(p: OpenApiSchemaProvider | undefined): void {
  provider = p;
}

export function schemaProvider(): OpenApiSchemaProvider | undefined {
  return provider;
}

export const META = "io.k8s.apimachinery.pkg.apis.meta.v1";

/** Models that are apimachinery's meta/v1 types, named as Kubernetes names them. */
const META_MODELS: Readonly<Record<string, string>> = {
  V1ObjectMeta: "ObjectMeta",
  V1ListMeta: "ListMeta",
  V1LabelSelector: "LabelSelector",
  V1LabelSelectorRequirement: "LabelSelectorRequirement",
  V1OwnerReference: "OwnerReference",
  V1ManagedFieldsEntry: "ManagedFieldsEntry",
  V1Condition: "Condition",
  V1Status: "Status",
  V1StatusDetails: "StatusDetails",
  V1StatusCause: "StatusCause",
};

/** io.k8s.api.<first label of the group, or core>.<version>.<Kind>: Kubernetes' definition names. */
export function definitionName(gvk: GroupVersionKind): string {
  const group = gvk.group === "" ? "core" : gvk.group.split(".")[0]!;
  return `io.k8s.api.${group}.${gvk.version}.${gvk.kind}`;
}

/** V1PodSpec → PodSpec, CoreV1Event → Event, V2MetricTarget → MetricTarget. */
function structName(model: string): string {
  return model.replace(/^[A-Z][a-z]*V\d+(?:alpha\d+|beta\d+)?(?=[A-Z])/, "").replace(/^V\d+(?:alpha\d+|beta\d+)?(?=[A-Z])/, "");
}

/** The built-in definitions, refs written as `<refPrefix><name>`, plus which definitions each kind reaches. */
export interface BuiltinSchemas {
  definitions: Record<string, Json>;
  /** GVK key (`apps/v1/Deployment`) → the kind's definition name. */
  kinds: Map<string, string>;
  /** (model.field) pairs that two paths give different list strategies; empty when the table is consistent. */
  conflicts: string[];
}

export function gvkKey(gvk: GroupVersionKind): string {
  return `${apiVersionOf(gvk)}/${gvk.kind}`;
}

interface Strategy {
  mergeKey: string | undefined;
}

/**
 * Builds every built-in definition. Each model gets a name on first reach: meta models their apimachinery name,
 * root models their kind's name, others the struct name in the group version of the first kind reaching them (the
 * model name when that is taken).
 */
export function buildBuiltinSchemas(refPrefix: string): BuiltinSchemas {
  const names = new Map<string, string>();
  const taken = new Set<string>();
  const strategies = new Map<string, Strategy | null>();
  const conflicts: string[] = [];
  const kinds = new Map<string, string>();
  const kindOf = new Map<string, GroupVersionKind>();

  const rootGvks: GroupVersionKind[] = [];
  for (const key of Object.keys(WIRE_ROOTS)) {
    const parts = key.split("/");
    const kind = parts.pop()!;
    const version = parts.pop()!;
    rootGvks.push({ group: parts.join("/"), version, kind });
  }
  const nameOf = (model: string, gv: { group: string; version: string }): string => {
    const existing = names.get(model);
    if (existing !== undefined) return existing;
    const meta = META_MODELS[model];
    let name = meta !== undefined ? `${META}.${meta}` : definitionName({ ...gv, kind: structName(model) });
    if (taken.has(name)) name = definitionName({ ...gv, kind: model });
    names.set(model, name);
    taken.add(name);
    return name;
  };
  // Roots first, so kinds own their names.
  for (const gvk of rootGvks) {
    const model = WIRE_ROOTS[gvkKey(gvk)]!;
    kinds.set(gvkKey(gvk), nameOf(model, gvk));
    kindOf.set(model, gvk);
  }
  // Walk every root with the field path, for names and list strategies.
  const walk = (model: string, gv: GroupVersionKind, path: string[], stack: Set<string>): void => {
    if (stack.has(model)) return;
    stack.add(model);
    nameOf(model, gv);
    for (const [field, type] of Object.entries(WIRE_MODELS[model] ?? {})) {
      const fieldPath = [...path, field];
      if (type.startsWith("[]")) {
        const found = listStrategyFor(fieldPath);
        const strategy: Strategy | null = found === undefined ? null : { mergeKey: found.mergeKey };
        const key = `${model}.${field}`;
        const before = strategies.get(key);
        if (before === undefined) strategies.set(key, strategy);
        else if (before?.mergeKey !== strategy?.mergeKey || (before === null) !== (strategy === null)) {
          if (!conflicts.includes(key)) conflicts.push(key);
        }
      }
      const inner = type.replace(/^(\[\]|\{\})+/, "");
      if (Object.hasOwn(WIRE_MODELS, inner)) walk(inner, gv, fieldPath, stack);
    }
    stack.delete(model);
  };
  for (const gvk of rootGvks) walk(WIRE_ROOTS[gvkKey(gvk)]!, gvk, [], new Set());

  const ref = (model: string): Json => ({ $ref: `${refPrefix}${names.get(model)!}` });
  const schemaOfType = (type: string): Json => {
    if (type.startsWith("[]")) return { type: "array", items: schemaOfType(type.slice(2)) };
    if (type.startsWith("{}")) return { type: "object", additionalProperties: schemaOfType(type.slice(2)) };
    switch (type) {
      case "string":
        return { type: "string" };
      case "int32":
      case "int64":
        return { type: "integer", format: type };
      case "number":
        return { type: "number", format: "double" };
      case "boolean":
        return { type: "boolean" };
      case "time":
        return { type: "string", format: "date-time" };
      case "intorstring":
        return { type: "string", format: "int-or-string", "x-kubernetes-int-or-string": true };
      case "quantity":
        return { type: "string", format: "quantity" };
      case "any":
        return { "x-kubernetes-preserve-unknown-fields": true };
      default:
        return ref(type);
    }
  };

  const definitions: Record<string, Json> = {};
  for (const [model, name] of names) {
    const properties: Json = {};
    const docs = WIRE_DOCS[model];
    for (const [field, type] of Object.entries(WIRE_MODELS[model] ?? {})) {
      const schema = schemaOfType(type);
      const values = docs?.enums?.[field];
      if (values !== undefined) {
        const target = type.startsWith("[]") && isJson(schema.items) ? schema.items : schema;
        if (target.type === "string") target.enum = [...values];
      }
      const fieldDoc = docs?.fields?.[field];
      // OpenAPI v3 ignores a $ref's siblings, so there a described reference is wrapped in allOf, as Kubernetes
      // does; Swagger 2.0 readers (kubectl's v2 parser) take the description beside the $ref and know no allOf.
      if (fieldDoc !== undefined && schema.$ref !== undefined && !refPrefix.startsWith("#/definitions/")) {
        properties[field] = { allOf: [schema], description: fieldDoc };
        continue;
      }
      if (fieldDoc !== undefined) schema.description = fieldDoc;
      const strategy = strategies.get(`${model}.${field}`);
      if (type.startsWith("[]") && strategy !== undefined && strategy !== null) {
        schema["x-kubernetes-patch-strategy"] = "merge";
        if (strategy.mergeKey !== undefined) {
          schema["x-kubernetes-patch-merge-key"] = strategy.mergeKey;
          schema["x-kubernetes-list-type"] = "map";
          schema["x-kubernetes-list-map-keys"] = [strategy.mergeKey];
        } else {
          schema["x-kubernetes-list-type"] = "set";
        }
      }
      properties[field] = schema;
    }
    const gvk = kindOf.get(model);
    const definition: Json = { type: "object", description: docs?.description ?? describeModel(model, gvk), properties };
    if (docs?.required !== undefined) definition.required = [...docs.required];
    if (gvk !== undefined) {
      const apiVersion = apiVersionOf(gvk);
      properties.apiVersion = { type: "string", description: `The schema version of this object: ${apiVersion}.` };
      properties.kind = { type: "string", description: `The kind of this object: ${gvk.kind}.` };
      definition["x-kubernetes-group-version-kind"] = [{ group: gvk.group, version: gvk.version, kind: gvk.kind }];
    }
    definitions[name] = definition;
  }
  // List kinds: not separate models; every list is apiVersion, kind, ListMeta and items.
  for (const info of RESOURCES) {
    const gvk: GroupVersionKind = { group: info.group, version: info.version, kind: info.kind };
    const itemName = kinds.get(gvkKey(gvk));
    if (itemName === undefined) continue;
    const listGvk = { ...gvk, kind: info.listKind };
    definitions[definitionName(listGvk)] = listSchema(listGvk, `${refPrefix}${itemName}`, `${refPrefix}${META}.ListMeta`);
    kinds.set(gvkKey(listGvk), definitionName(listGvk));
  }
  Object.assign(definitions, sharedDefinitions(refPrefix));
  return { definitions, kinds, conflicts };
}

function listSchema(gvk: GroupVersionKind, itemRef: string, listMetaRef: string): Json {
  const apiVersion = apiVersionOf(gvk);
  const kind = gvk.kind.replace(/List$/, "");
  return {
    type: "object",
    description: `A list of ${kind} objects (${apiVersion}).`,
    required: ["items"],
    properties: {
      apiVersion: { type: "string", description: `The schema version of this object: ${apiVersion}.` },
      kind: { type: "string", description: `The kind of this object: ${gvk.kind}.` },
      metadata: { $ref: listMetaRef },
      items: { type: "array", items: { $ref: itemRef } },
    },
    "x-kubernetes-group-version-kind": [{ group: gvk.group, version: gvk.version, kind: gvk.kind }],
  };
}

function describeModel(model: string, gvk: GroupVersionKind | undefined): string {
  if (gvk !== undefined) return `${gvk.kind} (${apiVersionOf(gvk)}), as kubelab stores and serves it.`;
  return `${structName(model)}.`;
}

/** The request/response types of the REST operations that are not kinds of a group version. */
function sharedDefinitions(refPrefix: string): Record<string, Json> {
  return {
    [`${META}.ListMeta`]: {
      type: "object",
      description: "Metadata of a list: the resource version it was read at and the token of the next page.",
      properties: {
        resourceVersion: { type: "string" }, continue: { type: "string" }, remainingItemCount: { type: "integer", format: "int64" },
        selfLink: { type: "string" },
      },
    },
    [`${META}.Status`]: {
      type: "object",
      description: "The answer to a request that returns no object: success of a delete, or an error.",
      properties: {
        apiVersion: { type: "string" }, kind: { type: "string" }, status: { type: "string" }, message: { type: "string" },
        reason: { type: "string" }, code: { type: "integer", format: "int32" },
        details: { "x-kubernetes-preserve-unknown-fields": true },
        metadata: { $ref: `${refPrefix}${META}.ListMeta` },
      },
      "x-kubernetes-group-version-kind": [{ group: "", version: "v1", kind: "Status" }],
    },
    [`${META}.DeleteOptions`]: {
      type: "object",
      description: "Options of a delete request.",
      properties: {
        apiVersion: { type: "string" }, kind: { type: "string" }, dryRun: { type: "array", items: { type: "string" } },
        gracePeriodSeconds: { type: "integer", format: "int64" }, propagationPolicy: { type: "string" },
        orphanDependents: { type: "boolean" },
        preconditions: { type: "object", properties: { uid: { type: "string" }, resourceVersion: { type: "string" } } },
      },
    },
    [`${META}.Patch`]: { type: "object", description: "The body of a PATCH request, in the patch type's format." },
    [`${META}.WatchEvent`]: {
      type: "object",
      description: "One event of a watch: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR, and the object (a Status for ERROR).",
      required: ["type", "object"],
      properties: { type: { type: "string" }, object: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
    },
  };
}

/** The names of the definitions `roots` reach through `$ref`s (the roots included). */
export function reachable(definitions: Record<string, Json>, roots: readonly string[], refPrefix: string): Set<string> {
  const seen = new Set<string>();
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (typeof value !== "object" || value === null) return;
    for (const [key, child] of Object.entries(value)) {
      if (key === "$ref" && typeof child === "string" && child.startsWith(refPrefix)) addName(child.slice(refPrefix.length));
      else visit(child);
    }
  };
  const addName = (name: string): void => {
    if (seen.has(name) || definitions[name] === undefined) return;
    seen.add(name);
    visit(definitions[name]);
  };
  for (const root of roots) addName(root);
  return seen;
}

/**
 * An extra (CRD) schema as an /openapi/v3 definition: the schema as written, with apiVersion, kind and metadata
 * described at the root and in every embedded resource (as apiextensions-apiserver does; `kubectl explain` shows them).
 * The metadata reference is wrapped in allOf so that its description is not a sibling OpenAPI 3 ignores.
 */
export function extraDefinition(extra: ExtraSchema, refPrefix: string): Json {
  const root: Json = structuredClone(extra.schema);
  root.properties = { ...(isJson(root.properties) ? root.properties : {}), ...typeMetaProperties(refPrefix) };
  describeEmbeddedResources(root, refPrefix, { evenKeepingUnknownFields: true });
  return { ...root, "x-kubernetes-group-version-kind": [{ group: extra.gvk.group, version: extra.gvk.version, kind: extra.gvk.kind }] };
}

/**
 * An extra (CRD) schema as a /openapi/v2 definition, as Kubernetes' apiextensions-apiserver publishes it there: for
 * kubectl's client-side validation and `explain`, which refuse any field a schema does not list and know neither
 * x-kubernetes-preserve-unknown-fields nor nullable nor the junctors. So a schema that keeps unknown fields at its
 * root is a bare `type: object`; elsewhere allOf/anyOf/oneOf/not and defaults are dropped, a nullable node loses its
 * type, items and properties (and its name leaves its parent's `required`), a node keeping unknown fields loses its
 * items and properties (and `type: object`), an array without items its type; apiVersion, kind and metadata are
 * described at the root and in every embedded resource that does not keep unknown fields.
 */
export function extraDefinitionV2(extra: ExtraSchema, refPrefix: string): Json {
  const gvkExtension = [{ group: extra.gvk.group, version: extra.gvk.version, kind: extra.gvk.kind }];
  if (extra.schema["x-kubernetes-preserve-unknown-fields"] === true) return { type: "object", "x-kubernetes-group-version-kind": gvkExtension };
  const root = kubectlV2Schema(extra.schema);
  root.properties = { ...(isJson(root.properties) ? root.properties : {}), ...typeMetaProperties(refPrefix) };
  describeEmbeddedResources(root, refPrefix);
  return { ...root, "x-kubernetes-group-version-kind": gvkExtension };
}

function typeMetaProperties(refPrefix: string): Json {
  const metadataRef = { $ref: `${refPrefix}${META}.ObjectMeta` };
  const metadataDescription = "Standard object's metadata.";
  return {
    apiVersion: { type: "string", description: "APIVersion defines the versioned schema of this representation of an object." },
    kind: { type: "string", description: "Kind is a string value representing the REST resource this object represents, in CamelCase." },
    metadata: refPrefix.startsWith("#/definitions/")
      ? { ...metadataRef, description: metadataDescription }
      : { allOf: [metadataRef], description: metadataDescription },
  };
}

/** One schema node and those below it, filtered for kubectl (extraDefinitionV2); the input is not changed. */
function kubectlV2Schema(schema: Json): Json {
  const { allOf: _allOf, anyOf: _anyOf, oneOf: _oneOf, not: _not, default: _default, nullable: _nullable, ...kept } = schema;
  const out: Json = kept;
  if (schema.nullable === true) {
    delete out.type;
    delete out.items;
    delete out.properties;
  }
  const preserves = schema["x-kubernetes-preserve-unknown-fields"] === true;
  if (preserves) {
    delete out.items;
    delete out.properties;
  }
  if (out.items === undefined && out.type === "array") delete out.type;
  if (preserves && out.type === "object") delete out.type;
  if (Array.isArray(out.required) && isJson(out.properties)) {
    const properties = out.properties;
    const required = out.required.filter((name) => !(typeof name === "string" && isJson(properties[name]) && properties[name].nullable === true));
    if (required.length > 0) out.required = required;
    else delete out.required;
  }
  if (isJson(out.additionalProperties) && out.additionalProperties.nullable === true) delete out.required;
  if (isJson(out.properties)) {
    const properties: Json = {};
    for (const [name, child] of Object.entries(out.properties)) properties[name] = isJson(child) ? kubectlV2Schema(child) : child;
    out.properties = properties;
  }
  if (isJson(out.items)) out.items = kubectlV2Schema(out.items);
  if (isJson(out.additionalProperties)) out.additionalProperties = kubectlV2Schema(out.additionalProperties);
  return out;
}

/**
 * Adds, in place, apiVersion, kind and metadata to every x-kubernetes-embedded-resource below `schema` (and requires the
 * first two) — in /openapi/v2 not to one that keeps unknown fields (kubectl 1.20's validation would then refuse them).
 */
function describeEmbeddedResources(schema: Json, refPrefix: string, options: { evenKeepingUnknownFields: boolean } = { evenKeepingUnknownFields: false }): void {
  const below = (child: unknown): void => {
    if (isJson(child)) describeEmbeddedResources(child, refPrefix, options);
  };
  if (isJson(schema.properties)) for (const child of Object.values(schema.properties)) below(child);
  below(schema.items);
  below(schema.additionalProperties);
  if (schema["x-kubernetes-preserve-unknown-fields"] === true && !options.evenKeepingUnknownFields) return;
  if (schema["x-kubernetes-embedded-resource"] !== true) return;
  schema.properties = { ...(isJson(schema.properties) ? schema.properties : {}), ...typeMetaProperties(refPrefix) };
  const required = Array.isArray(schema.required) ? [...(schema.required as unknown[])] : [];
  for (const name of ["kind", "apiVersion"]) if (!required.includes(name)) required.push(name);
  schema.required = required;
}

export function extraListDefinition(extra: ExtraSchema, refPrefix: string): Json {
  const listGvk = { ...extra.gvk, kind: extra.listKind ?? `${extra.gvk.kind}List` };
  return listSchema(listGvk, `${refPrefix}${extraName(extra.gvk)}`, `${refPrefix}${META}.ListMeta`);
}

/** CRD definition names follow Kubernetes: the reversed group, then version and kind (com.example.stable.v1.CronTab). */
export function extraName(gvk: GroupVersionKind): string {
  return `${gvk.group.split(".").reverse().join(".")}.${gvk.version}.${gvk.kind}`;
}

function isJson(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
