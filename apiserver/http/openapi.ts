// OpenAPI v3 documents: the `/openapi/v3` index and one document per group version, with the schemas of
// openapi-schemas.ts (generated from the wire models the apiserver validates with) and an operation per verb.
//
// What they are for: `kubectl explain` reads a kind's schema (found by `x-kubernetes-group-version-kind`);
// `kubectl apply` computes strategic merge patches from the list extensions; `create -f`, `apply`, `edit` and
// `replace` validate with the server (`fieldValidation=Strict`) only after finding, in the group version's document,
// a PATCH operation tagged with the object's GVK and carrying a `fieldValidation` query parameter.
//
// Documents are built once per provider generation (built-in kinds never change; CRD schemas come from
// setOpenApiSchemaProvider) and served with a content hash as ETag.
import { createHash } from "node:crypto";
import { GROUP_VERSIONS, RESOURCES } from "../../api/resources.js";
import type { GroupVersionKind, ResourceInfo, SubresourceInfo } from "../../api/resources.js";
import {
  META, buildBuiltinSchemas, definitionName, extraDefinition, extraListDefinition, extraName, gvkKey, reachable, schemaProvider,
} from "./openapi-schemas.js";
import type { BuiltinSchemas, ExtraSchema, Json } from "./openapi-schemas.js";

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
  for (const key of state().keys) {
    const doc = openApiDocument(key)!;
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${doc.hash}` };
  }
  return { paths };
}

interface State {
  generation: number | undefined;
  extras: readonly ExtraSchema[];
  /** Index keys: built-in group versions, then those only extra schemas serve. */
  keys: string[];
  documents: Map<string, OpenApiDocument>;
}

let cached: State | undefined;
let builtin: BuiltinSchemas | undefined;

const REF_PREFIX = "#/components/schemas/";

function builtinSchemas(): BuiltinSchemas {
  builtin ??= buildBuiltinSchemas(REF_PREFIX);
  return builtin;
}

/** The documents of the current provider generation. */
function state(): State {
  const p = schemaProvider();
  const generation = p?.generation();
  if (cached !== undefined && cached.generation === generation) return cached;
  const extras = p?.schemas() ?? [];
  const keys = GROUP_VERSIONS.map((gv) => gvPath(gv.group, gv.version));
  for (const extra of extras) {
    const key = gvPath(extra.gvk.group, extra.gvk.version);
    if (!keys.includes(key)) keys.push(key);
  }
  cached = { generation, extras, keys, documents: new Map() };
  return cached;
}

/**
 * The document for one group version, addressed as in the index (`api/v1`, `apis/apps/v1`; a leading `/` or
 * `/openapi/v3/` prefix is accepted). Undefined (→ 404) for a group version kubelab does not serve.
 */
export function openApiDocument(path: string): OpenApiDocument | undefined {
  const key = path.replace(/^\/?(openapi\/v3\/)?/, "").replace(/\/$/, "");
  const s = state();
  const existing = s.documents.get(key);
  if (existing !== undefined) return existing;
  if (!s.keys.includes(key)) return undefined;
  const parts = key.split("/");
  const group = parts[0] === "api" ? "" : parts[1]!;
  const version = parts[parts.length - 1]!;
  const document = buildDocument(group, version, s.extras.filter((e) => e.gvk.group === group && e.gvk.version === version));
  const body = JSON.stringify(document);
  const hash = createHash("sha512").update(body).digest("hex").toUpperCase();
  const doc: OpenApiDocument = { document, body, hash, etag: `"${hash}"` };
  s.documents.set(key, doc);
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

const PATCH_CONTENT_TYPES = [
  "application/json-patch+json",
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
  "application/apply-patch+yaml",
] as const;

/** Subresources that stream or proxy instead of reading or writing an object (pods/log is a plain-text read). */
const CONNECT_SUBRESOURCES = new Set(["exec", "attach", "portforward", "proxy"]);

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

/**
 * The group's words as Kubernetes' operation names spell them: the group without a `.k8s.io` suffix, one word per
 * DNS label (`core`, `apps`, `rbac`+`authorization`, `stable`+`example`+`com`).
 */
function groupWords(group: string): string[] {
  return group === "" ? ["core"] : group.replace(/\.k8s\.io$/, "").split(".");
}

/** `core_v1`, `apps_v1`, `rbacAuthorization_v1`: the tag Kubernetes groups operations by. */
function tagOf(group: string, version: string): string {
  const [first, ...rest] = groupWords(group);
  return `${first ?? ""}${rest.map(upperFirst).join("")}_${version}`;
}

/** `CoreV1`, `AppsV1`, `RbacAuthorizationV1`: the operationId infix. */
function opInfix(group: string, version: string): string {
  return groupWords(group).map(upperFirst).join("") + upperFirst(version);
}

function upperFirst(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function buildDocument(group: string, version: string, extras: readonly ExtraSchema[]): Json {
  const paths: Json = {};
  const own: Record<string, Json> = {};
  const roots: string[] = [`${META}.Status`, `${META}.DeleteOptions`, `${META}.Patch`, `${META}.WatchEvent`];
  const { definitions, kinds } = builtinSchemas();
  /** The schema name of a kind; kinds without a model (connect options) get a permissive schema. */
  const schemaFor = (gvk: GroupVersionKind): string => {
    const name = kinds.get(gvkKey(gvk));
    if (name !== undefined) {
      roots.push(name);
      return name;
    }
    const fallback = definitionName(gvk);
    own[fallback] ??= {
      type: "object",
      description: `${gvk.kind}: options of a streaming request.`,
      "x-kubernetes-preserve-unknown-fields": true,
      "x-kubernetes-group-version-kind": [{ group: gvk.group, version: gvk.version, kind: gvk.kind }],
    };
    return fallback;
  };

  for (const info of RESOURCES.filter((r) => r.group === group && r.version === version)) {
    const gvk: GroupVersionKind = { group, version, kind: info.kind };
    addResourcePaths(paths, info, schemaFor(gvk), schemaFor({ ...gvk, kind: info.listKind }), schemaFor);
  }
  for (const extra of extras) {
    const name = extraName(extra.gvk);
    const listKind = extra.listKind ?? `${extra.gvk.kind}List`;
    own[name] = extraDefinition(extra, REF_PREFIX);
    own[extraName({ ...extra.gvk, kind: listKind })] = extraListDefinition(extra, REF_PREFIX);
    roots.push(`${META}.ObjectMeta`, `${META}.ListMeta`);
    if (extra.resource === undefined) continue;
    const info: ResourceInfo = {
      group, version, kind: extra.gvk.kind, listKind, resource: extra.resource.plural, singular: extra.gvk.kind.toLowerCase(),
      namespaced: extra.resource.namespaced, shortNames: [], categories: [], verbs: CRD_VERBS, subresources: [],
    };
    addResourcePaths(paths, info, name, extraName({ ...extra.gvk, kind: listKind }), schemaFor);
  }

  const schemas: Json = {};
  for (const name of [...reachable(definitions, roots, REF_PREFIX)].sort()) schemas[name] = definitions[name];
  Object.assign(schemas, own);
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.32.0" },
    paths,
    components: { schemas },
  };
}

const CRD_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"] as const;

/** The collection, item and subresource paths of one resource. */
function addResourcePaths(
  paths: Json, info: ResourceInfo, kindSchema: string, listSchema: string, schemaFor: (gvk: GroupVersionKind) => string,
): void {
  const { group, version } = info;
  const prefix = group === "" ? `/api/${version}` : `/apis/${group}/${version}`;
  const tag = tagOf(group, version);
  const infix = opInfix(group, version);
  {
    const gvk: GroupVersionKind = { group, version, kind: info.kind };

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
        action: "deletecollection", gvk, tag, operationId: `delete${infix}Collection${ns}${info.kind}`,
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

    addWatchPaths(paths, info, prefix, listSchema, tag, infix);

    for (const sub of info.subresources) {
      const subGvk = sub.responseKind ?? gvk;
      const subSchema = schemaFor(subGvk);
      const names = { infix, target: `${ns}${info.kind}${subName(sub.name)}` };
      paths[`${base}/{name}/${sub.name}`] = subresourcePath(info, sub, subGvk, subSchema, itemParams, tag, names);
    }
  }
}

/**
 * The read-only paths Kubernetes serves beside a resource's own: the list across namespaces (namespaced resources)
 * and the deprecated `/watch/` forms of list and get, which stream WatchEvents. Their query parameters are the
 * list's, given on the path.
 */
function addWatchPaths(paths: Json, info: ResourceInfo, prefix: string, listSchema: string, tag: string, infix: string): void {
  const gvk: GroupVersionKind = { group: info.group, version: info.version, kind: info.kind };
  const listParams = [...LIST_PARAMS, P.pretty].sort((a, b) => String(a.name).localeCompare(String(b.name)));
  const watchResponses = jsonResponses(`${META}.WatchEvent`, ["200"]);
  const nsParam = pathParam("namespace", "object name and auth scope, such as for teams and projects");
  const nameParam = pathParam("name", `name of the ${info.kind}`);
  const readOnly = (path: string, parameters: Json[], action: string, operationId: string, description: string, responses: Json): void => {
    // A path the resource's own paths already give (a resource named "watch") keeps its operations.
    if (paths[path] !== undefined) return;
    paths[path] = { parameters, get: operation({ action, gvk, tag, operationId, description, responses }) };
  };
  const canWatch = info.verbs.includes("watch");
  if (info.namespaced) {
    if (info.verbs.includes("list")) {
      readOnly(`${prefix}/${info.resource}`, listParams, "list", `list${infix}${info.kind}ForAllNamespaces`, `list or watch objects of kind ${info.kind}`, jsonResponses(listSchema, ["200"]));
    }
    if (!canWatch) return;
    readOnly(`${prefix}/watch/${info.resource}`, listParams, "watchlist", `watch${infix}${info.kind}ListForAllNamespaces`, `stream the changes to objects of kind ${info.kind} (deprecated form of a list with watch=true)`, watchResponses);
    readOnly(`${prefix}/watch/namespaces/{namespace}/${info.resource}`, [...listParams, nsParam], "watchlist", `watch${infix}Namespaced${info.kind}List`, `stream the changes to objects of kind ${info.kind} (deprecated form of a list with watch=true)`, watchResponses);
    readOnly(`${prefix}/watch/namespaces/{namespace}/${info.resource}/{name}`, [...listParams, nameParam, nsParam], "watch", `watch${infix}Namespaced${info.kind}`, `stream the changes to one ${info.kind} (deprecated form of a list with watch=true and a metadata.name field selector)`, watchResponses);
    return;
  }
  if (!canWatch) return;
  readOnly(`${prefix}/watch/${info.resource}`, listParams, "watchlist", `watch${infix}${info.kind}List`, `stream the changes to objects of kind ${info.kind} (deprecated form of a list with watch=true)`, watchResponses);
  readOnly(`${prefix}/watch/${info.resource}/{name}`, [...listParams, nameParam], "watch", `watch${infix}${info.kind}`, `stream the changes to one ${info.kind} (deprecated form of a list with watch=true and a metadata.name field selector)`, watchResponses);
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
  info: ResourceInfo, sub: SubresourceInfo, gvk: GroupVersionKind, schema: string, itemParams: Json[], tag: string,
  names: { infix: string; target: string },
): Json {
  const path: Json = { parameters: itemParams };
  const idSuffix = `${names.infix}${names.target}`;
  if (sub.name === "log") {
    path.get = operation({
      action: "get", gvk, tag, operationId: `read${idSuffix}`, description: `read the log of the specified ${info.kind}`,
      responses: { "200": { description: "OK", content: { "text/plain": { schema: { type: "string" } } } }, "401": { description: "Unauthorized" } },
    });
    return path;
  }
  if (CONNECT_SUBRESOURCES.has(sub.name)) {
    // Streams and proxies: no object body; responses are whatever the stream carries.
    const verbs: [string, string][] = [["get", "get"], ["create", "post"], ["update", "put"], ["patch", "patch"], ["delete", "delete"]];
    for (const [verb, method] of verbs) {
      if (!sub.verbs.includes(verb)) continue;
      path[method] = operation({
        action: "connect", gvk, tag, operationId: `connect${names.infix}${upperFirst(method)}${names.target}`,
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
