// `/openapi/v2`: one Swagger 2.0 document with the definitions of every served kind (openapi-schemas.ts), in JSON
// and in the protobuf form of gnostic's OpenAPI v2 message (proto/openapi-v2.proto) that kubectl up to 1.26 asks
// for before client-side validation (`create -f`, `apply` without --validate=false), apply's patch computation
// and explain. Each form is built once per schema-provider generation and carries its own strong ETag.
//
// `paths` are those of the /openapi/v3 documents (openapi.ts builds the operations once, for both) in Swagger 2.0
// form: one per resource path and method, with Kubernetes' operationId, x-kubernetes-action and
// x-kubernetes-group-version-kind, a `body` parameter where v3 has a requestBody, and consumes/produces lists.
import { createHash } from "node:crypto";
import type protobuf from "protobufjs";
import { protobufModule } from "../lazy-modules.js";
import { protoFilePath } from "../../proto/locate.js";
import { openApiDocument, openApiIndex } from "./openapi.js";
import { buildBuiltinSchemas, extraDefinitionV2, extraListDefinition, extraName, schemaProvider } from "./openapi-schemas.js";
import type { BuiltinSchemas, Json } from "./openapi-schemas.js";

/** The media types kubectl and client-go send for the protobuf form (the second is newer clients' spelling). */
export const OPENAPI_V2_PROTOBUF_TYPES = [
  "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
  "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
] as const;

export interface OpenApiV2Reply {
  body: Buffer;
  etag: string;
}

export interface OpenApiV2 {
  document: Json;
  json: OpenApiV2Reply;
  protobuf: OpenApiV2Reply;
}

const REF_PREFIX = "#/definitions/";

let builtin: BuiltinSchemas | undefined;
let cached: { generation: number | undefined; value: OpenApiV2 } | undefined;

/** The v2 document of the current provider generation, in both forms. */
export function openApiV2(): OpenApiV2 {
  const p = schemaProvider();
  const generation = p?.generation();
  if (cached !== undefined && cached.generation === generation) return cached.value;
  builtin ??= buildBuiltinSchemas(REF_PREFIX);
  const definitions: Record<string, Json> = { ...builtin.definitions };
  for (const extra of p?.schemas() ?? []) {
    definitions[extraName(extra.gvk)] = extraDefinitionV2(extra, REF_PREFIX);
    definitions[extraName({ ...extra.gvk, kind: extra.listKind ?? `${extra.gvk.kind}List` })] = extraListDefinition(extra, REF_PREFIX);
  }
  const paths = v2Paths(definitions);
  const sorted: Record<string, Json> = {};
  for (const name of Object.keys(definitions).sort()) sorted[name] = definitions[name]!;
  const document: Json = {
    swagger: "2.0",
    info: { title: "Kubernetes", version: "v1.32.0" },
    paths,
    definitions: sorted,
    securityDefinitions: { BearerToken: { type: "apiKey", name: "authorization", in: "header", description: "Bearer Token authentication" } },
    security: [{ BearerToken: [] }],
  };
  const value: OpenApiV2 = {
    document,
    json: reply(Buffer.from(JSON.stringify(document))),
    protobuf: reply(encodeOpenApiV2(document)),
  };
  cached = { generation, value };
  return value;
}

// ---- paths ----

const V3_REF_PREFIX = "#/components/schemas/";
const METHODS = ["get", "put", "post", "delete", "patch"] as const;
const OBJECT_MEDIA_TYPES = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"];
const WATCH_MEDIA_TYPES = ["application/json;stream=watch", "application/vnd.kubernetes.protobuf;stream=watch"];

/**
 * Every path of every v3 group-version document, converted. Definitions only a v3 document has (the permissive
 * schemas of kinds without a model) are added to `definitions`, so that every `$ref` resolves.
 */
function v2Paths(definitions: Record<string, Json>): Json {
  const paths: Record<string, Json> = {};
  for (const key of Object.keys(openApiIndex().paths)) {
    const document = openApiDocument(key)?.document;
    if (document === undefined) continue;
    const components = isJson(document.components) && isJson(document.components.schemas) ? document.components.schemas : {};
    for (const [name, schema] of Object.entries(components)) definitions[name] ??= v2Refs(schema) as Json;
    for (const [path, item] of Object.entries(isJson(document.paths) ? document.paths : {})) {
      if (isJson(item)) paths[path] = v2PathItem(item);
    }
  }
  const sorted: Json = {};
  for (const path of Object.keys(paths).sort()) sorted[path] = paths[path];
  return sorted;
}

function v2PathItem(item: Json): Json {
  const out: Json = {};
  for (const method of METHODS) {
    const op = item[method];
    if (isJson(op)) out[method] = v2Operation(op);
  }
  if (Array.isArray(item.parameters)) out.parameters = item.parameters.filter(isJson).map(v2Parameter);
  return out;
}

function v2Operation(op: Json): Json {
  const action = op["x-kubernetes-action"];
  const body = isJson(op.requestBody) ? op.requestBody : undefined;
  const bodyContent = body !== undefined && isJson(body.content) ? body.content : undefined;
  const bodyTypes = bodyContent === undefined ? [] : Object.keys(bodyContent);
  const parameters: Json[] = [];
  if (body !== undefined && bodyContent !== undefined) {
    const first = bodyContent[bodyTypes[0] ?? ""];
    const schema = isJson(first) ? v2Refs(first.schema) : {};
    const optional = isJson(schema) && schema.$ref === "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
    parameters.push({ name: "body", in: "body", ...(optional ? {} : { required: true }), schema });
  }
  if (Array.isArray(op.parameters)) parameters.push(...op.parameters.filter(isJson).map(v2Parameter));
  const connect = action === "connect";
  const streams = action === "list" || action === "watch" || action === "watchlist";
  const out: Json = {
    description: op.description,
    consumes: connect || body === undefined || bodyTypes.includes("*/*") ? ["*/*"] : bodyTypes,
    produces: connect ? ["*/*"] : streams ? [...OBJECT_MEDIA_TYPES, ...WATCH_MEDIA_TYPES] : plainText(op) ? ["text/plain", ...OBJECT_MEDIA_TYPES] : OBJECT_MEDIA_TYPES,
    schemes: ["https"],
    tags: op.tags,
    operationId: op.operationId,
  };
  if (parameters.length > 0) out.parameters = parameters;
  const responses: Json = {};
  for (const [code, response] of Object.entries(isJson(op.responses) ? op.responses : {})) {
    if (!isJson(response)) continue;
    const content = isJson(response.content) ? Object.values(response.content)[0] : undefined;
    responses[code] = isJson(content) ? { description: response.description, schema: v2Refs(content.schema) } : { description: response.description };
  }
  out.responses = responses;
  for (const [key, value] of Object.entries(op)) if (key.startsWith("x-")) out[key] = value;
  return out;
}

/** Whether an operation's OK answer is plain text (pods/log). */
function plainText(op: Json): boolean {
  const ok = isJson(op.responses) ? op.responses["200"] : undefined;
  return isJson(ok) && isJson(ok.content) && ok.content["text/plain"] !== undefined;
}

/** A v3 non-body parameter (its type under `schema`) as v2 writes it (the type inline), as Kubernetes' v2 has it. */
function v2Parameter(param: Json): Json {
  const schema = isJson(param.schema) ? param.schema : {};
  const out: Json = { uniqueItems: true, type: schema.type ?? "string" };
  if (typeof param.description === "string") out.description = param.description;
  out.name = param.name;
  out.in = param.in;
  if (param.required === true) out.required = true;
  return out;
}

/** A value with its v3 `$ref`s pointed at v2's definitions. */
function v2Refs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(v2Refs);
  if (!isJson(value)) return value;
  const out: Json = {};
  for (const [key, v] of Object.entries(value)) {
    out[key] = key === "$ref" && typeof v === "string" && v.startsWith(V3_REF_PREFIX) ? `${REF_PREFIX}${v.slice(V3_REF_PREFIX.length)}` : v2Refs(v);
  }
  return out;
}

function reply(body: Buffer): OpenApiV2Reply {
  return { body, etag: `"${createHash("sha512").update(body).digest("hex").toUpperCase()}"` };
}

/** Whether an Accept header asks for the protobuf form. */
export function wantsOpenApiV2Protobuf(accept: string | undefined): boolean {
  if (accept === undefined) return false;
  return accept.split(",").some((part) => (OPENAPI_V2_PROTOBUF_TYPES as readonly string[]).includes(part.split(";")[0]!.trim()));
}

// ---- protobuf ----

let documentType: protobuf.Type | undefined;

/** gnostic's `openapi.v2.Document` as loaded from proto/openapi-v2.proto. */
export function openApiV2DocumentType(): protobuf.Type {
  if (documentType === undefined) {
    const root = new (protobufModule().Root)();
    root.loadSync(protoFilePath("openapi-v2.proto"), { keepCase: true });
    root.resolveAll();
    documentType = root.lookupType("openapi.v2.Document");
  }
  return documentType;
}

/** Encodes a Swagger 2.0 document (JSON object form) as gnostic's Document message. */
export function encodeOpenApiV2(document: Json): Buffer {
  const definitions = isJson(document.definitions) ? document.definitions : {};
  const info = isJson(document.info) ? document.info : {};
  const message = {
    swagger: typeof document.swagger === "string" ? document.swagger : "2.0",
    info: { title: typeof info.title === "string" ? info.title : "", version: typeof info.version === "string" ? info.version : "" },
    paths: { path: Object.entries(isJson(document.paths) ? document.paths : {}).map(([name, item]) => ({ name, value: pathItemMessage(item) })) },
    definitions: { additional_properties: Object.entries(definitions).map(([name, schema]) => ({ name, value: schemaMessage(schema) })) },
    security: (Array.isArray(document.security) ? document.security : []).filter(isJson).map((requirement) => ({
      additional_properties: Object.entries(requirement).map(([name, scopes]) => ({ name, value: { value: Array.isArray(scopes) ? scopes.map(String) : [] } })),
    })),
    security_definitions: {
      additional_properties: Object.entries(isJson(document.securityDefinitions) ? document.securityDefinitions : {}).map(([name, item]) => ({
        name,
        value: { api_key_security: isJson(item) ? { type: str(item.type), name: str(item.name), in: str(item.in), description: str(item.description) } : {} },
      })),
    },
  };
  const type = openApiV2DocumentType();
  return Buffer.from(type.encode(type.fromObject(message)).finish());
}

/** A v2 path item as gnostic's PathItem message. */
function pathItemMessage(item: unknown): Json {
  if (!isJson(item)) return {};
  const out: Json = {};
  for (const method of METHODS) if (isJson(item[method])) out[method] = operationMessage(item[method]);
  if (Array.isArray(item.parameters)) out.parameters = item.parameters.map(parameterMessage);
  return out;
}

function operationMessage(op: Json): Json {
  const responses = isJson(op.responses) ? op.responses : {};
  return {
    tags: strings(op.tags),
    description: str(op.description),
    operation_id: str(op.operationId),
    produces: strings(op.produces),
    consumes: strings(op.consumes),
    parameters: Array.isArray(op.parameters) ? op.parameters.map(parameterMessage) : [],
    responses: {
      response_code: Object.entries(responses).map(([name, response]) => {
        const r = isJson(response) ? response : {};
        return { name, value: { response: { description: str(r.description), ...(r.schema !== undefined ? { schema: { schema: schemaMessage(r.schema) } } : {}) } } };
      }),
    },
    schemes: strings(op.schemes),
    vendor_extension: Object.entries(op).filter(([key]) => key.startsWith("x-")).map(([name, value]) => ({ name, value: anyOf(value) })),
  };
}

/** A parameter as gnostic's ParametersItem: a body parameter, or a query or path parameter. */
function parameterMessage(value: unknown): Json {
  const p = isJson(value) ? value : {};
  if (p.in === "body") {
    return { parameter: { body_parameter: { name: str(p.name), in: "body", required: p.required === true, schema: schemaMessage(p.schema) } } };
  }
  const common = { ...(p.required === true ? { required: true } : {}), in: str(p.in), description: str(p.description), name: str(p.name), type: str(p.type), unique_items: p.uniqueItems === true };
  const nonBody = p.in === "path" ? { path_parameter_sub_schema: common } : { query_parameter_sub_schema: common };
  return { parameter: { non_body_parameter: nonBody } };
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

interface NamedAny {
  name: string;
  value: { yaml: string };
}

/** A JSON schema as gnostic's Schema message. Unknown keywords are dropped; x- keys become vendor extensions. */
function schemaMessage(value: unknown): Json {
  if (!isJson(value)) return {};
  const out: Json = {};
  const extensions: NamedAny[] = [];
  for (const [key, v] of Object.entries(value)) {
    switch (key) {
      case "$ref":
      case "format":
      case "title":
      case "description":
        if (typeof v === "string") out[key === "$ref" ? "_ref" : key] = v;
        break;
      case "default":
        out.default = anyOf(v);
        break;
      case "required":
        if (Array.isArray(v)) out.required = v.map(String);
        break;
      case "enum":
        if (Array.isArray(v)) out.enum = v.map(anyOf);
        break;
      case "additionalProperties":
        out.additional_properties = typeof v === "boolean" ? { boolean: v } : { schema: schemaMessage(v) };
        break;
      case "type":
        out.type = { value: Array.isArray(v) ? v.map(String) : [String(v)] };
        break;
      case "items":
        out.items = { schema: (Array.isArray(v) ? v : [v]).map(schemaMessage) };
        break;
      case "allOf":
        if (Array.isArray(v)) out.all_of = v.map(schemaMessage);
        break;
      case "properties":
        if (isJson(v)) out.properties = { additional_properties: Object.entries(v).map(([name, s]) => ({ name, value: schemaMessage(s) })) };
        break;
      case "readOnly":
        out.read_only = v === true;
        break;
      default:
        if (key.startsWith("x-")) extensions.push({ name: key, value: anyOf(v) });
    }
  }
  if (extensions.length > 0) out.vendor_extension = extensions;
  return out;
}

/** gnostic carries free-form values as YAML text; JSON is YAML. */
function anyOf(value: unknown): { yaml: string } {
  return { yaml: `${JSON.stringify(value)}\n` };
}

function isJson(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
