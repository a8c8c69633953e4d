// OpenAPI v3 documents generated from api/resources.ts: the `/openapi/v3` index and one document per group version.
//
// What they are for: kubectl's `create -f`, `apply`, `edit` and `replace` validate with the server
// (`fieldValidation=Strict`) only after finding, in the group version's document, a PATCH operation tagged with
// the object's `x-kubernetes-group-version-kind` and carrying a `fieldValidation` query parameter; without that they
// fall back to /openapi/v2 and fail. Every served group version therefore gets a document with such an operation
// for each kind (and the other verbs, so the documents read as an API description).
//
// Deliberately absent: `x-kubernetes-group-version-kind` on components.schemas. kubectl's apply computes a
// strategic merge patch from a schema carrying that extension (pkg/cmd/apply/patcher.go,
// buildStrategicMergePatchFromOpenAPIV3); kubelab's schemas are minimal and lack the patch merge keys, so kubectl
// would replace whole lists (containers, ports) instead of merging them. Without the extension it uses its
// compiled-in types for built-in kinds, which is correct.
import { createHash } from "node:crypto";
import { GROUP_VERSIONS, RESOURCES, apiVersionOf } from "../../api/resources.js";
import type { GroupVersionKind, ResourceInfo, SubresourceInfo } from "../../api/resources.js";

export interface OpenApiIndex {
  paths: Record<string, { serverRelativeURL: string }>;
}

export interface OpenApiDocument {
  /** The document, for callers that want the object. */
  document: Record<string, unknown>;
  /** The serialized document, byte-for-byte what the hash covers; send this. */
  body: string;
  /** Stable hash of `body`: the `hash` query parameter of the index URL. */
  hash: string;
  /** Strong ETag (`"<hash>"`) for If-None-Match. */
  etag: string;
}

/** `index.paths` keys: `api/v1`, `apis/apps/v1`. */
function gvPath(group: string, version: string): string {
  return group === "" ? `api/${version}` : `apis/${group}/${version}`;
}

/** `GET /openapi/v3`: every served group version, with a URL whose `hash` changes whenever the document does. */
export function openApiIndex(): OpenApiIndex {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const gv of GROUP_VERSIONS) {
    const key = gvPath(gv.group, gv.version);
    const doc = openApiDocument(key)!;
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${doc.hash}` };
  }
  return { paths };
}

const documents = new Map<string, OpenApiDocument>();

/**
 * The document for one group version, addressed as in the index (`api/v1`, `apis/apps/v1`; a leading `/` or
 * `/openapi/v3/` prefix is accepted). Undefined (→ 404) for a group version kubelab does not serve.
 * Documents are built once: RESOURCES is static for the life of the process.
 */
export function openApiDocument(path: string): OpenApiDocument | undefined {
  const key = path.replace(/^\/?(openapi\/v3\/)?/, "").replace(/\/$/, "");
  const existing = documents.get(key);
  if (existing !== undefined) return existing;
  const gv = GROUP_VERSIONS.find((g) => gvPath(g.group, g.version) === key);
  if (gv === undefined) return undefined;
  const document = buildDocument(gv.group, gv.version);
  const body = JSON.stringify(document);
  const hash = createHash("sha512").update(body).digest("hex").toUpperCase();
  const doc: OpenApiDocument = { document, body, hash, etag: `"${hash}"` };
  documents.set(key, doc);
  return doc;
}

/**
 * Headers for a document reply. A request whose `hash` matches may be cached forever (the URL changes with the
 * content), which lets kubectl's disk HTTP cache skip refetching; any other request must revalidate.
 */
export function openApiHeaders(doc: OpenApiDocument, queryHash: string | undefined): Record<string, string> {
  return {
    "Content-Type": "application/json",
    ETag: doc.etag,
    "Cache-Control": queryHash !== undefined && queryHash === doc.hash ? "public, immutable" : "no-cache, private",
  };
}

// ---- document construction ----

type Json = Record<string, unknown>;

const PATCH_CONTENT_TYPES = [
  "application/json-patch+json",
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
  "application/apply-patch+yaml",
] as const;

const META = "io.k8s.apimachinery.pkg.apis.meta.v1";
/** Subresources that stream or proxy instead of reading or writing an object. */
const CONNECT_SUBRESOURCES = new Set(["log", "exec", "attach", "portforward", "proxy"]);

function schemaName(gvk: GroupVersionKind): string {
  // Kubernetes' names: io.k8s.api.<first label of the group, or "core">.<version>.<Kind>.
  const group = gvk.group === "" ? "core" : gvk.group.split(".")[0]!;
  return `io.k8s.api.${group}.${gvk.version}.${gvk.kind}`;
}

function ref(name: string): Json {
  return { $ref: `#/components/schemas/${name}` };
}

function queryParam(name: string, type: "string" | "boolean" | "integer", description: string): Json {
  return { name, in: "query", description, schema: { type } };
}

const P = {
  pretty: queryParam("pretty", "string", "If 'true', the output is pretty printed."),
  dryRun: queryParam("dryRun", "string", "When present (All), the change is validated but not persisted."),
  fieldManager: queryParam("fieldManager", "string", "The name of the actor making the change."),
  fieldValidation: queryParam(
    "fieldValidation",
    "string",
    "How to handle unknown or duplicate fields in the body: Ignore, Warn (the default) or Strict (reject with 400 BadRequest).",
  ),
  force: queryParam("force", "boolean", "Apply requests only: take ownership of conflicting fields."),
  labelSelector: queryParam("labelSelector", "string", "Restrict the list to objects whose labels match."),
  fieldSelector: queryParam("fieldSelector", "string", "Restrict the list to objects whose fields match."),
  limit: queryParam("limit", "integer", "The maximum number of items to return."),
  continue: queryParam("continue", "string", "The continue token of the previous page."),
  resourceVersion: queryParam("resourceVersion", "string", "The resource version to list or watch from."),
  resourceVersionMatch: queryParam("resourceVersionMatch", "string", "How resourceVersion applies to a list."),
  watch: queryParam("watch", "boolean", "Stream ADDED, MODIFIED and DELETED events instead of returning a list."),
  allowWatchBookmarks: queryParam("allowWatchBookmarks", "boolean", "Ask for BOOKMARK events while watching."),
  timeoutSeconds: queryParam("timeoutSeconds", "integer", "Close a list or watch after this many seconds."),
  sendInitialEvents: queryParam("sendInitialEvents", "boolean", "Begin a watch with the current state."),
  gracePeriodSeconds: queryParam("gracePeriodSeconds", "integer", "Seconds before the object is deleted."),
  propagationPolicy: queryParam("propagationPolicy", "string", "Orphan, Background or Foreground garbage collection."),
  orphanDependents: queryParam("orphanDependents", "boolean", "Deprecated: use propagationPolicy."),
};

const WRITE_PARAMS = [P.dryRun, P.fieldManager, P.fieldValidation];
const LIST_PARAMS = [
  P.allowWatchBookmarks, P.continue, P.fieldSelector, P.labelSelector, P.limit, P.resourceVersion,
  P.resourceVersionMatch, P.sendInitialEvents, P.timeoutSeconds, P.watch,
];
const DELETE_PARAMS = [P.dryRun, P.gracePeriodSeconds, P.orphanDependents, P.propagationPolicy];

function pathParam(name: string, description: string): Json {
  return { name, in: "path", required: true, description, schema: { type: "string" } };
}

function jsonBody(schema: string): Json {
  return { required: true, content: { "*/*": { schema: ref(schema) } } };
}

function jsonResponses(schema: string, codes: readonly string[]): Json {
  const responses: Json = {};
  for (const code of codes) {
    responses[code] = {
      description: code === "201" ? "Created" : code === "202" ? "Accepted" : "OK",
      content: { "application/json": { schema: ref(schema) }, "application/yaml": { schema: ref(schema) } },
    };
  }
  responses["401"] = { description: "Unauthorized" };
  return responses;
}

interface OpParts {
  action: string;
  gvk: GroupVersionKind;
  operationId: string;
  description: string;
  tag: string;
  params?: readonly Json[];
  requestBody?: Json;
  responses: Json;
}

function operation(p: OpParts): Json {
  const op: Json = {
    tags: [p.tag],
    description: p.description,
    operationId: p.operationId,
    "x-kubernetes-action": p.action,
    "x-kubernetes-group-version-kind": { group: p.gvk.group, version: p.gvk.version, kind: p.gvk.kind },
  };
  if (p.params !== undefined && p.params.length > 0) op.parameters = [...p.params];
  if (p.requestBody !== undefined) op.requestBody = p.requestBody;
  op.responses = p.responses;
  return op;
}

/** `core_v1`, `apps_v1`, `coordination_v1`: the tag Kubernetes groups operations by. */
function tagOf(group: string, version: string): string {
  return `${group === "" ? "core" : group.split(".")[0]!}_${version}`;
}

/** `CoreV1`, `AppsV1`, `CoordinationV1`: the operationId infix. */
function opInfix(group: string, version: string): string {
  const g = group === "" ? "core" : group.split(".")[0]!;
  return upperFirst(g) + upperFirst(version);
}

function upperFirst(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function buildDocument(group: string, version: string): Json {
  const paths: Json = {};
  const schemas: Json = {};
  const apiVersion = apiVersionOf({ group, version });
  const prefix = group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
  const tag = tagOf(group, version);
  const infix = opInfix(group, version);

  addSharedSchemas(schemas);
  for (const info of RESOURCES.filter((r) => r.group === group && r.version === version)) {
    const gvk: GroupVersionKind = { group, version, kind: info.kind };
    const kindSchema = schemaName(gvk);
    const listSchema = schemaName({ ...gvk, kind: info.listKind });
    schemas[kindSchema] = objectSchema(`${info.kind} (${apiVersion}).`, apiVersion, info.kind, false);
    schemas[listSchema] = objectSchema(`A list of ${info.kind} objects.`, apiVersion, info.listKind, true, kindSchema);

    const ns = info.namespaced ? "Namespaced" : "";
    const base = info.namespaced ? `${prefix}/namespaces/{namespace}/${info.resource}` : `${prefix}/${info.resource}`;
    const scopeParams = info.namespaced ? [pathParam("namespace", "object name and auth scope, such as for teams and projects")] : [];
    const has = (verb: string): boolean => info.verbs.includes(verb);

    // Collection: list (and watch via ?watch=true), create, deletecollection.
    const collection: Json = { parameters: [...scopeParams, P.pretty] };
    if (has("list")) {
      collection.get = operation({
        action: "list", gvk, tag, operationId: `list${infix}${ns}${info.kind}`,
        description: `list or watch objects of kind ${info.kind}`, params: LIST_PARAMS,
        responses: jsonResponses(listSchema, ["200"]),
      });
    }
    if (has("create")) {
      collection.post = operation({
        action: "post", gvk, tag, operationId: `create${infix}${ns}${info.kind}`,
        description: `create a ${info.kind}`, params: WRITE_PARAMS, requestBody: jsonBody(kindSchema),
        responses: jsonResponses(kindSchema, ["200", "201", "202"]),
      });
    }
    if (has("deletecollection")) {
      collection.delete = operation({
        action: "deletecollection", gvk, tag, operationId: `deletecollection${infix}${ns}${info.kind}`,
        description: `delete collection of ${info.kind}`, params: [...DELETE_PARAMS, ...LIST_PARAMS],
        requestBody: jsonBody(`${META}.DeleteOptions`), responses: jsonResponses(`${META}.Status`, ["200"]),
      });
    }
    paths[base] = collection;

    // Item: read, replace, patch (the operation kubectl's fieldValidation check looks for), delete.
    const itemParams = [pathParam("name", `name of the ${info.kind}`), ...scopeParams, P.pretty];
    const item: Json = { parameters: itemParams };
    if (has("get")) {
      item.get = operation({
        action: "get", gvk, tag, operationId: `read${infix}${ns}${info.kind}`,
        description: `read the specified ${info.kind}`, responses: jsonResponses(kindSchema, ["200"]),
      });
    }
    if (has("update")) {
      item.put = operation({
        action: "put", gvk, tag, operationId: `replace${infix}${ns}${info.kind}`,
        description: `replace the specified ${info.kind}`, params: WRITE_PARAMS, requestBody: jsonBody(kindSchema),
        responses: jsonResponses(kindSchema, ["200", "201"]),
      });
    }
    if (has("patch")) {
      const description = `partially update the specified ${info.kind}`;
      item.patch = patchOperation(gvk, tag, `patch${infix}${ns}${info.kind}`, description, kindSchema);
    }
    if (has("delete")) {
      item.delete = operation({
        action: "delete", gvk, tag, operationId: `delete${infix}${ns}${info.kind}`,
        description: `delete a ${info.kind}`, params: DELETE_PARAMS, requestBody: jsonBody(`${META}.DeleteOptions`),
        responses: jsonResponses(`${META}.Status`, ["200", "202"]),
      });
    }
    paths[`${base}/{name}`] = item;

    for (const sub of info.subresources) {
      const subGvk = sub.responseKind ?? gvk;
      const subSchema = schemaName(subGvk);
      const subApiVersion = apiVersionOf(subGvk);
      schemas[subSchema] ??= objectSchema(`${subGvk.kind} (${subApiVersion}).`, subApiVersion, subGvk.kind, false);
      const idSuffix = `${infix}${ns}${info.kind}${subName(sub.name)}`;
      paths[`${base}/{name}/${sub.name}`] = subresourcePath(info, sub, subGvk, subSchema, itemParams, tag, idSuffix);
    }
  }

  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.32.0" },
    paths,
    components: { schemas },
  };
}

function subName(name: string): string {
  return name === "log" ? "Log" : upperFirst(name);
}

function patchOperation(gvk: GroupVersionKind, tag: string, operationId: string, description: string, schema: string): Json {
  const content: Json = {};
  for (const type of PATCH_CONTENT_TYPES) content[type] = { schema: ref(`${META}.Patch`) };
  return operation({
    action: "patch", gvk, tag, operationId, description,
    params: [...WRITE_PARAMS, P.force],
    requestBody: { required: true, content },
    responses: jsonResponses(schema, ["200", "201"]),
  });
}

function subresourcePath(
  info: ResourceInfo, sub: SubresourceInfo, gvk: GroupVersionKind, schema: string, itemParams: Json[], tag: string, idSuffix: string,
): Json {
  const path: Json = { parameters: itemParams };
  if (CONNECT_SUBRESOURCES.has(sub.name)) {
    // Streams and proxies: no object body; responses are whatever the stream carries.
    const verbs: [string, string][] = [["get", "get"], ["create", "post"], ["update", "put"], ["patch", "patch"], ["delete", "delete"]];
    for (const [verb, method] of verbs) {
      if (!sub.verbs.includes(verb)) continue;
      path[method] = operation({
        action: "connect", gvk, tag, operationId: `connect${upperFirst(method)}${idSuffix}`,
        description: `connect ${method.toUpperCase()} requests to ${sub.name} of ${info.kind}`,
        responses: { "200": { description: "OK", content: { "*/*": { schema: { type: "string" } } } }, "401": { description: "Unauthorized" } },
      });
    }
    return path;
  }
  if (sub.verbs.includes("get")) {
    path.get = operation({
      action: "get", gvk, tag, operationId: `read${idSuffix}`, description: `read ${sub.name} of the specified ${info.kind}`,
      responses: jsonResponses(schema, ["200"]),
    });
  }
  if (sub.verbs.includes("update")) {
    path.put = operation({
      action: "put", gvk, tag, operationId: `replace${idSuffix}`, description: `replace ${sub.name} of the specified ${info.kind}`,
      params: WRITE_PARAMS, requestBody: jsonBody(schema), responses: jsonResponses(schema, ["200", "201"]),
    });
  }
  if (sub.verbs.includes("patch")) {
    const description = `partially update ${sub.name} of the specified ${info.kind}`;
    path.patch = patchOperation(gvk, tag, `patch${idSuffix}`, description, schema);
  }
  if (sub.verbs.includes("create")) {
    path.post = operation({
      action: "post", gvk, tag, operationId: `create${idSuffix}`, description: `create ${sub.name} of a ${info.kind}`,
      params: WRITE_PARAMS, requestBody: jsonBody(schema), responses: jsonResponses(schema, ["200", "201", "202"]),
    });
  }
  return path;
}

/**
 * A permissive object schema: apiVersion, kind and metadata are described, everything else is accepted as is.
 * Server-side validation (fieldValidation) is what checks the rest.
 */
function objectSchema(description: string, apiVersion: string, kind: string, isList: boolean, itemSchema?: string): Json {
  const properties: Json = {
    apiVersion: { type: "string", description: `APIVersion: ${apiVersion}` },
    kind: { type: "string", description: `Kind: ${kind}` },
    metadata: { allOf: [ref(isList ? `${META}.ListMeta` : `${META}.ObjectMeta`)], default: {} },
  };
  if (isList && itemSchema !== undefined) properties.items = { type: "array", items: { allOf: [ref(itemSchema)], default: {} } };
  const schema: Json = { type: "object", description, properties, "x-kubernetes-preserve-unknown-fields": true };
  if (isList) schema.required = ["items"];
  return schema;
}

function addSharedSchemas(schemas: Json): void {
  schemas[`${META}.ObjectMeta`] = {
    type: "object",
    description: "Standard object metadata.",
    properties: {
      name: { type: "string" }, generateName: { type: "string" }, namespace: { type: "string" }, uid: { type: "string" },
      resourceVersion: { type: "string" }, generation: { type: "integer", format: "int64" },
      creationTimestamp: { type: "string", format: "date-time" }, deletionTimestamp: { type: "string", format: "date-time" },
      labels: { type: "object", additionalProperties: { type: "string", default: "" } },
      annotations: { type: "object", additionalProperties: { type: "string", default: "" } },
      ownerReferences: { type: "array", items: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
      finalizers: { type: "array", items: { type: "string", default: "" } },
    },
  };
  schemas[`${META}.ListMeta`] = {
    type: "object",
    description: "Standard list metadata.",
    properties: { resourceVersion: { type: "string" }, continue: { type: "string" }, remainingItemCount: { type: "integer", format: "int64" } },
  };
  schemas[`${META}.Status`] = {
    type: "object",
    description: "Status is the return value for calls that don't return other objects.",
    properties: {
      apiVersion: { type: "string" }, kind: { type: "string" }, status: { type: "string" }, message: { type: "string" },
      reason: { type: "string" }, code: { type: "integer", format: "int32" },
      details: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
      metadata: { allOf: [ref(`${META}.ListMeta`)], default: {} },
    },
  };
  schemas[`${META}.DeleteOptions`] = {
    type: "object",
    description: "DeleteOptions may be provided when deleting an API object.",
    properties: {
      apiVersion: { type: "string" }, kind: { type: "string" }, dryRun: { type: "array", items: { type: "string", default: "" } },
      gracePeriodSeconds: { type: "integer", format: "int64" }, propagationPolicy: { type: "string" },
      orphanDependents: { type: "boolean" },
      preconditions: { type: "object", properties: { uid: { type: "string" }, resourceVersion: { type: "string" } } },
    },
  };
  schemas[`${META}.Patch`] = {
    type: "object",
    description: "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
  };
}
