// `/openapi/v2`: one Swagger 2.0 document with the definitions of every served kind (openapi-schemas.ts), in JSON
// and in the protobuf form of gnostic's OpenAPI v2 message (proto/openapi-v2.proto) that kubectl up to 1.26 asks
// for before client-side validation (`create -f`, `apply` without --validate=false), apply's patch computation
// and explain. Each form is built once per schema-provider generation and carries its own strong ETag.
//
// Deliberately different from Kubernetes: `paths` is empty. kubectl reads v2 definitions by their
// `x-kubernetes-group-version-kind`; the operations are served in /openapi/v3, which newer clients use.
import { createHash } from "node:crypto";
import type protobuf from "protobufjs";
import { protobufModule } from "../lazy-modules.js";
import { protoFilePath } from "../../proto/locate.js";
import { buildBuiltinSchemas, extraDefinition, extraListDefinition, extraName, schemaProvider } from "./openapi-schemas.js";
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
    definitions[extraName(extra.gvk)] = extraDefinition(extra, REF_PREFIX);
    definitions[extraName({ ...extra.gvk, kind: extra.listKind ?? `${extra.gvk.kind}List` })] = extraListDefinition(extra, REF_PREFIX);
  }
  const sorted: Record<string, Json> = {};
  for (const name of Object.keys(definitions).sort()) sorted[name] = definitions[name]!;
  const document: Json = { swagger: "2.0", info: { title: "Kubernetes", version: "v1.32.0" }, paths: {}, definitions: sorted };
  const value: OpenApiV2 = {
    document,
    json: reply(Buffer.from(JSON.stringify(document))),
    protobuf: reply(encodeOpenApiV2(document)),
  };
  cached = { generation, value };
  return value;
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
    paths: {},
    definitions: { additional_properties: Object.entries(definitions).map(([name, schema]) => ({ name, value: schemaMessage(schema) })) },
  };
  const type = openApiV2DocumentType();
  return Buffer.from(type.encode(type.fromObject(message)).finish());
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
