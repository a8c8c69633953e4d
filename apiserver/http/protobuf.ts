// Decoding `application/vnd.kubernetes.protobuf` request bodies into the JSON form of the object, and encoding
// replies (objects, lists, Status, PartialObjectMetadata, watch frames) from it: the encoder is the decoder's mirror
// over the same schema.
//
// client-go's typed clients send protobuf for Create/Update of built-in kinds, and kubectl's `create <generator>`
// commands use them; a 415 is not retried as JSON, so these bodies must be understood. The schema is
// kubelab's own proto/k8s.proto, loaded once with protobufjs; the conversion to JSON follows the gogo encoding
// rules documented there (zero non-pointer fields dropped, pointer fields kept when present, embedded messages
// inlined, Time/Quantity/IntOrString/bytes in their JSON forms).
import { createRequire } from "node:module";
import type protobuf from "protobufjs";
import { protobufModule } from "../lazy-modules.js";
import type { Field, Type } from "protobufjs";
import { StatusError, badRequest, errorMessage } from "../../api/errors.js";
import type { KubeObject } from "../../api/meta.js";
import { goJsonString } from "../../api/go-json.js";
import { isRecord } from "../../api/meta.js";
import { formatTime } from "../../api/time.js";
import { protoFilePath } from "../../proto/locate.js";

/** "k8s\0": the prefix of every Kubernetes protobuf body. */
export const PROTOBUF_MAGIC: Buffer = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

const PACKAGE = "kubelab.k8s";

/** The legacy discovery documents, unversioned meta types as Kubernetes registers them (apiVersion v1 or empty). */
const DISCOVERY_KINDS: ReadonlySet<string> = new Set(["APIVersions", "APIGroupList", "APIGroup", "APIResourceList"]);

/**
 * The message of `apiVersion`'s `kind`: proto/k8s/<group>-<version>.proto holds each built-in group version in the
 * package kubelab.k8s.<the group's first label>.<version> (core for the legacy group), one message per Go type.
 * DeleteOptions is registered under every group version in Kubernetes, so a typed client's delete body may name any
 * apiVersion.
 */
function messageFor(root: protobuf.Root, apiVersion: string, kind: string): Type | undefined {
  if (kind === "DeleteOptions" || kind === "Status") return root.lookupType(`${PACKAGE}.${kind}`);
  if (DISCOVERY_KINDS.has(kind) && (apiVersion === "v1" || apiVersion === "")) return root.lookupType(`${PACKAGE}.${kind}`);
  if ((kind === "PartialObjectMetadata" || kind === "PartialObjectMetadataList") && (apiVersion === "meta.k8s.io/v1" || apiVersion === "meta.k8s.io/v1beta1")) {
    return root.lookupType(`${PACKAGE}.${kind}`);
  }
  const slash = apiVersion.lastIndexOf("/");
  const group = slash < 0 ? "core" : apiVersion.slice(0, slash).split(".")[0];
  const version = apiVersion.slice(slash + 1);
  if (!/^[a-z0-9]+$/.test(group ?? "") || !/^v\d+\w*$/.test(version) || !/^[A-Z]\w*$/.test(kind)) return undefined;
  // Walked name by name: protobufjs' lookup also matches a relative name inside another package.
  let found: protobuf.ReflectionObject | null = root;
  for (const part of [...PACKAGE.split("."), group ?? "", version, kind]) {
    found = found instanceof protobufModule().Namespace ? found.get(part) : null;
  }
  return found instanceof protobufModule().Type ? found : undefined;
}

/**
 * Decodes a protobuf request body: the magic prefix, then a runtime.Unknown whose typeMeta names the kind and
 * whose raw bytes are the object message. Returns the object with apiVersion and kind set.
 * Throws 400 BadRequest for a body that is not a well-formed Kubernetes protobuf message, and 415
 * UnsupportedMediaType for a kind kubelab has no protobuf schema for (the client can send it as JSON instead).
 */
export function decodeProtobufBody(buf: Buffer): KubeObject {
  if (buf.length < PROTOBUF_MAGIC.length || !buf.subarray(0, PROTOBUF_MAGIC.length).equals(PROTOBUF_MAGIC)) {
    throw badRequest(`provided data does not appear to be a protobuf message, expected prefix [${[...PROTOBUF_MAGIC].join(" ")}]`);
  }
  const schema = loadSchema();
  const unknown = decodeMessage(schema.unknown, buf.subarray(PROTOBUF_MAGIC.length));
  const typeMeta = isRecord(unknown.typeMeta) ? unknown.typeMeta : {};
  const apiVersion = typeof typeMeta.apiVersion === "string" ? typeMeta.apiVersion : "";
  const kind = typeof typeMeta.kind === "string" ? typeMeta.kind : "";
  // The core group's discovery documents are the only bodies Kubernetes writes with an empty apiVersion.
  if ((apiVersion === "" && !DISCOVERY_KINDS.has(kind)) || kind === "") throw badRequest("the protobuf body does not name its apiVersion and kind");
  const contentEncoding = unknown.contentEncoding;
  if (typeof contentEncoding === "string" && contentEncoding !== "") {
    throw new StatusError(415, "UnsupportedMediaType", `protobuf content encoding "${contentEncoding}" is not supported`);
  }
  const contentType = unknown.contentType;
  if (typeof contentType === "string" && contentType !== "" && contentType !== "application/vnd.kubernetes.protobuf") {
    throw new StatusError(415, "UnsupportedMediaType", `protobuf envelope content type "${contentType}" is not supported`);
  }
  const type = messageFor(schema.root, apiVersion, kind);
  if (type === undefined) {
    throw new StatusError(
      415,
      "UnsupportedMediaType",
      `kubelab cannot decode kind "${kind}" in version "${apiVersion}" from application/vnd.kubernetes.protobuf; send it as application/json`,
      { kind, causes: [{ reason: "UnsupportedMediaType", message: `${apiVersion}, Kind=${kind}` }] },
    );
  }
  const rawBytes = unknown.raw;
  const raw = rawBytes instanceof Uint8Array ? rawBytes : new Uint8Array(0);
  const body = convertMessage(type, decodeMessage(type, raw));
  const object: Record<string, unknown> = { apiVersion, kind, ...body };
  if (!isRecord(object.metadata)) object.metadata = {};
  return object as KubeObject;
}


function decodeMessage(type: Type, bytes: Uint8Array): Record<string, unknown> {
  try {
    return type.decode(bytes) as unknown as Record<string, unknown>;
  } catch (err) {
    throw badRequest(`malformed protobuf ${type.name}: ${errorMessage(err)}`);
  }
}

// ---- schema loading ----

interface Schema {
  root: protobuf.Root;
  unknown: Type;
  /** messageFor's answers for the kinds this server replies with, by "apiVersion kind" (see serverMessageFor). */
  replyMessages: Map<string, Type | undefined>;
}

/** More reply kinds than any server serves: past it, answers are looked up without being kept. */
const REPLY_MESSAGES_MAX = 4096;

/**
 * messageFor for an object this server built (a reply): remembered, since every reply asks and a lookup walks the
 * package tree. Kinds from client bodies are looked up with messageFor itself, so that they cannot grow the map.
 */
function serverMessageFor(schema: Schema, apiVersion: string, kind: string): Type | undefined {
  const key = `${apiVersion} ${kind}`;
  if (schema.replyMessages.has(key)) return schema.replyMessages.get(key);
  const type = messageFor(schema.root, apiVersion, kind);
  if (schema.replyMessages.size < REPLY_MESSAGES_MAX) schema.replyMessages.set(key, type);
  return type;
}

let cached: Schema | undefined;

/** Where proto/k8s.proto is (KUBELAB_PROTO_DIR overrides). */
export function resolveProtoPath(): string {
  return protoFilePath("k8s.proto");
}

/** The loaded protobufjs root of proto/k8s.proto (package `kubelab.k8s`); tests encode fixtures with it. */
export function protobufSchema(): protobuf.Root {
  return loadSchema().root;
}

function loadSchema(): Schema {
  if (cached !== undefined) return cached;
  const root = new (protobufModule().Root)();
  // k8s.proto declares its field options against descriptor.proto, which protobufjs ships but does not resolve
  // from an absolute import path by itself.
  const descriptor = createRequire(import.meta.url).resolve("protobufjs/google/protobuf/descriptor.proto");
  const defaultResolve = root.resolvePath.bind(root);
  root.resolvePath = (origin: string, target: string): string | null =>
    target === "google/protobuf/descriptor.proto" ? descriptor : defaultResolve(origin, target);
  root.loadSync(resolveProtoPath(), { keepCase: true });
  addListMessages(root);
  root.resolveAll();
  cached = { root, unknown: root.lookupType(`${PACKAGE}.Unknown`), replyMessages: new Map() };
  return cached;
}

/**
 * Adds `<Kind>List { ListMeta metadata = 1; repeated <Kind> items = 2; }` beside every group-version message with an
 * ObjectMeta `metadata` (the kinds), unless the package already has one: every Kubernetes list has that shape.
 */
function addListMessages(root: protobuf.Root): void {
  const packages = root.lookup(PACKAGE);
  if (!(packages instanceof protobufModule().Namespace)) return;
  for (const group of packages.nestedArray) {
    if (!(group instanceof protobufModule().Namespace) || group instanceof protobufModule().Type) continue;
    for (const version of group.nestedArray) {
      if (!(version instanceof protobufModule().Namespace) || version instanceof protobufModule().Type) continue;
      for (const kind of [...version.nestedArray]) {
        if (!(kind instanceof protobufModule().Type) || kind.fields.metadata?.type !== `.${PACKAGE}.ObjectMeta`) continue;
        if (version.get(`${kind.name}List`) !== null) continue;
        const list = new (protobufModule().Type)(`${kind.name}List`);
        list.add(new (protobufModule().Field)("metadata", 1, `.${PACKAGE}.ListMeta`));
        list.add(new (protobufModule().Field)("items", 2, kind.fullName, "repeated"));
        version.add(list);
      }
    }
  }
}

// ---- conversion to JSON ----

const TIME = `.${PACKAGE}.Time`;
const MICRO_TIME = `.${PACKAGE}.MicroTime`;
const QUANTITY = `.${PACKAGE}.Quantity`;
const INT_OR_STRING = `.${PACKAGE}.IntOrString`;
const FIELDS_V1 = `.${PACKAGE}.FieldsV1`;
const RAW_EXTENSION = `.${PACKAGE}.RawExtension`;
/** apiextensions.k8s.io/v1's JSON, and the unions of a schema or something else, each with its own JSON form. */
const EXTENSIONS_JSON = `.${PACKAGE}.apiextensions.v1.JSON`;
const SCHEMA_OR_ARRAY = `.${PACKAGE}.apiextensions.v1.JSONSchemaPropsOrArray`;
const SCHEMA_OR_BOOL = `.${PACKAGE}.apiextensions.v1.JSONSchemaPropsOrBool`;
const SCHEMA_OR_STRINGS = `.${PACKAGE}.apiextensions.v1.JSONSchemaPropsOrStringArray`;
/** Go's zero time.Time as Unix seconds; metav1.Time{} may be written with it, and it means "unset". */
const GO_ZERO_TIME_SECONDS = -62135596800;

function convertMessage(type: Type, msg: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of type.fieldsArray) {
    if (!Object.hasOwn(msg, field.name)) continue;
    const pointer = option(field, "pointer");
    const value = convertField(field, msg[field.name], pointer);
    if (value === undefined) continue;
    if (option(field, "embedded")) {
      if (isRecord(value)) Object.assign(out, value);
      continue;
    }
    out[jsonName(field)] = value;
  }
  return out;
}

function option(field: Field, name: "pointer" | "embedded"): boolean {
  return field.options?.[`(${name})`] === true;
}

/** The field's JSON name: its (json) option where the JSON name is no proto identifier, else its name. */
function jsonName(field: Field): string {
  const name: unknown = field.options?.["(json)"];
  return typeof name === "string" ? name : field.name;
}

/** The JSON value of one present field, or undefined to leave it out. */
function convertField(field: Field, value: unknown, pointer: boolean): unknown {
  if (field.map) {
    if (!isRecord(value)) return undefined;
    const entries = Object.entries(value);
    if (entries.length === 0) return undefined;
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) out[k] = convertSingle(field, v, true) ?? defaultFor(field);
    return out;
  }
  if (field.repeated) {
    if (!Array.isArray(value) || value.length === 0) return undefined;
    return value.map((v: unknown) => convertSingle(field, v, true) ?? defaultFor(field));
  }
  return convertSingle(field, value, pointer);
}

/**
 * One value of a field's type. `keep` says an empty or zero value is meaningful (a pointer field, or an element of
 * a list or map), so it is returned rather than dropped.
 */
function convertSingle(field: Field, value: unknown, keep: boolean): unknown {
  const resolved = field.resolvedType;
  if (resolved !== null && "fieldsArray" in resolved) {
    if (!isRecord(value)) return undefined;
    return convertTyped(resolved, value, keep);
  }
  if (value instanceof Uint8Array) return value.length > 0 || keep ? Buffer.from(value).toString("base64") : undefined;
  if (typeof value === "string") return value !== "" || keep ? value : undefined;
  if (typeof value === "boolean") return value || keep ? value : undefined;
  const n = toNumber(value);
  if (n !== undefined) return n !== 0 || keep ? n : undefined;
  return undefined;
}

function convertTyped(type: Type, msg: Record<string, unknown>, keep: boolean): unknown {
  switch (type.fullName) {
    case TIME:
    case MICRO_TIME: {
      const seconds = toNumber(msg.seconds) ?? 0;
      const nanos = toNumber(msg.nanos) ?? 0;
      if ((seconds === 0 && nanos === 0) || seconds === GO_ZERO_TIME_SECONDS) return undefined; // zero time: JSON null
      return timestampToWireTime(seconds, nanos, type.fullName === MICRO_TIME);
    }
    case QUANTITY: {
      const s = typeof msg.string === "string" ? msg.string : "";
      return s !== "" || keep ? s : undefined;
    }
    case INT_OR_STRING: {
      const isString = toNumber(msg.type) === 1;
      const v = isString ? (typeof msg.strVal === "string" ? msg.strVal : "") : (toNumber(msg.intVal) ?? 0);
      return v !== 0 && v !== "" ? v : keep ? v : undefined;
    }
    case FIELDS_V1: {
      const raw = msg.Raw;
      if (!(raw instanceof Uint8Array) || raw.length === 0) return keep ? {} : undefined;
      try {
        return JSON.parse(Buffer.from(raw).toString("utf8")) as unknown;
      } catch {
        throw badRequest("malformed protobuf: managedFields fieldsV1 is not JSON");
      }
    }
    case SCHEMA_OR_ARRAY:
    case SCHEMA_OR_BOOL:
    case SCHEMA_OR_STRINGS:
      return convertUnion(type, msg);
    case EXTENSIONS_JSON:
    case RAW_EXTENSION: {
      const raw = msg.raw;
      if (!(raw instanceof Uint8Array) || raw.length === 0) return keep ? {} : undefined;
      try {
        return JSON.parse(Buffer.from(raw).toString("utf8")) as unknown;
      } catch {
        throw badRequest("malformed protobuf: an embedded object (RawExtension) is not JSON");
      }
    }
    default: {
      if (type.options?.["(list)"] === true) {
        const items = type.fields.items;
        return items === undefined ? [] : (convertField(items, msg.items, true) ?? []);
      }
      const out = convertMessage(type, msg);
      return Object.keys(out).length > 0 || keep ? out : undefined;
    }
  }
}

/**
 * A schema-or-something union in its JSON form: the schema when it is set, else the other side (a list of schemas,
 * a boolean, a list of property names), as apiextensions' own marshalling writes them.
 */
function convertUnion(type: Type, msg: Record<string, unknown>): unknown {
  const schemaField = type.fields.schema;
  const schema = schemaField !== undefined && isRecord(msg.schema) ? convertSingle(schemaField, msg.schema, true) : undefined;
  switch (type.fullName) {
    case SCHEMA_OR_ARRAY: {
      const many = type.fields.jSONSchemas;
      const list = many !== undefined && Array.isArray(msg.jSONSchemas) && msg.jSONSchemas.length > 0 ? convertField(many, msg.jSONSchemas, false) : undefined;
      return list ?? schema;
    }
    case SCHEMA_OR_BOOL:
      return schema ?? msg.allows === true;
    default:
      return Array.isArray(msg.property) && msg.property.length > 0 ? msg.property : schema;
  }
}

function defaultFor(field: Field): unknown {
  const resolved = field.resolvedType;
  if (resolved !== null && "fieldsArray" in resolved) return resolved.fullName === QUANTITY ? "" : {};
  if (field.bytes || field.type === "string") return "";
  if (field.type === "bool") return false;
  return 0;
}

/**
 * The JSON form of a protobuf Timestamp (seconds and nanos): seconds precision for metav1.Time, microseconds for
 * MicroTime. The microseconds come from the nanos, which milliseconds could not carry.
 */
function timestampToWireTime(seconds: number, nanos: number, micro: boolean): string {
  const whole = formatTime(seconds * 1000); // 2024-01-02T03:04:05Z
  return micro ? `${whole.slice(0, -1)}.${String(Math.floor(nanos / 1000)).padStart(6, "0")}Z` : whole;
}

interface LongLike {
  toNumber(): number;
}

function isLongLike(value: unknown): value is LongLike {
  return typeof value === "object" && value !== null && typeof (value as { toNumber?: unknown }).toNumber === "function";
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === "number") return value;
  if (isLongLike(value)) return value.toNumber();
  return undefined;
}

// ---- encoding replies ----

/** Whether kubelab has a protobuf message for `kind` in `apiVersion` (every built-in kind and list; no custom resource). */
export function hasProtobufMessage(apiVersion: string, kind: string): boolean {
  return serverMessageFor(loadSchema(), apiVersion, kind) !== undefined;
}

/**
 * A reply body in protobuf: the magic, then runtime.Unknown{typeMeta from the object's apiVersion and kind, raw: the
 * object's message, contentType ""}, as Kubernetes' protobuf serializer writes it. Undefined when there is no message
 * for the kind (the caller answers in JSON, or 406). Fields kubelab has no schema for are left out.
 */
export function encodeProtobufObject(object: Readonly<Record<string, unknown>>): Buffer | undefined {
  const apiVersion = typeof object.apiVersion === "string" ? object.apiVersion : "";
  const kind = typeof object.kind === "string" ? object.kind : "";
  const schema = loadSchema();
  const type = serverMessageFor(schema, apiVersion, kind);
  if (type === undefined) return undefined;
  const raw = type.encode(toMessage(type, object)).finish();
  const body = schema.unknown.encode({ typeMeta: { apiVersion, kind }, raw }).finish();
  return Buffer.concat([PROTOBUF_MAGIC, body], PROTOBUF_MAGIC.length + body.length);
}

/**
 * One frame of a protobuf watch (`application/vnd.kubernetes.protobuf;stream=watch`): a 4-byte big-endian length,
 * then a metav1.WatchEvent{type, object: RawExtension{raw: the object's whole protobuf body}}. The event itself has
 * no magic or envelope (Kubernetes' raw stream serializer); its object does.
 */
export function encodeProtobufWatchFrame(type: string, objectBody: Uint8Array): Buffer {
  const watchEvent = loadSchema().root.lookupType(`${PACKAGE}.WatchEvent`);
  const event = watchEvent.encode({ type, object: { raw: objectBody } }).finish();
  const frame = Buffer.allocUnsafe(4 + event.length);
  frame.writeUInt32BE(event.length, 0);
  frame.set(event, 4);
  return frame;
}

/**
 * How one field is written, worked out once per message type: protobufjs' reflection getters (fullName, options)
 * build strings on every call, which a list of a thousand pods would otherwise pay for at every field.
 */
interface FieldPlan {
  name: string;
  /** The key of the field's value in the JSON object. */
  json: string;
  embedded: boolean;
  shape: "single" | "map" | "repeated";
  value: ValuePlan;
}

type ValuePlan =
  | { kind: "time" | "quantity" | "intOrString" | "json" | "string" | "bool" | "bytes" | "number" | "enum"; jsonField?: "Raw" | "raw" }
  | { kind: "list"; items: FieldPlan }
  | { kind: "union"; type: Type; union: "array" | "bool" | "strings" }
  | { kind: "message"; type: Type };

const plans = new Map<Type, FieldPlan[]>();

function planOf(type: Type): FieldPlan[] {
  let plan = plans.get(type);
  if (plan === undefined) {
    plan = type.fieldsArray.map(fieldPlan);
    plans.set(type, plan);
  }
  return plan;
}

function fieldPlan(field: Field): FieldPlan {
  return { name: field.name, json: jsonName(field), embedded: option(field, "embedded"), shape: field.map ? "map" : field.repeated ? "repeated" : "single", value: valuePlan(field) };
}

function valuePlan(field: Field): ValuePlan {
  const resolved = field.resolvedType;
  if (resolved instanceof protobufModule().Type) {
    switch (resolved.fullName) {
      case TIME:
      case MICRO_TIME:
        return { kind: "time" };
      case QUANTITY:
        return { kind: "quantity" };
      case INT_OR_STRING:
        return { kind: "intOrString" };
      case FIELDS_V1:
        return { kind: "json", jsonField: "Raw" };
      case RAW_EXTENSION:
      case EXTENSIONS_JSON:
        return { kind: "json", jsonField: "raw" };
      case SCHEMA_OR_ARRAY:
        return { kind: "union", type: resolved, union: "array" };
      case SCHEMA_OR_BOOL:
        return { kind: "union", type: resolved, union: "bool" };
      case SCHEMA_OR_STRINGS:
        return { kind: "union", type: resolved, union: "strings" };
      default: {
        const items = resolved.options?.["(list)"] === true ? resolved.fields.items : undefined;
        return items !== undefined ? { kind: "list", items: fieldPlan(items) } : { kind: "message", type: resolved };
      }
    }
  }
  if (resolved !== null) return { kind: "enum" };
  if (field.type === "string" || field.type === "bool" || field.type === "bytes") return { kind: field.type };
  return { kind: "number" };
}

/** The protobufjs message of a JSON value of `type`: the inverse of convertMessage (embedded fields gathered back). */
function toMessage(type: Type, json: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const msg: Record<string, unknown> = {};
  for (const field of planOf(type)) {
    if (field.embedded) {
      if (field.value.kind === "message") msg[field.name] = toMessage(field.value.type, json);
      continue;
    }
    const value = json[field.json];
    if (value === null || value === undefined || !Object.hasOwn(json, field.json)) continue;
    const encoded = encodeField(field, value);
    if (encoded !== undefined) msg[field.name] = encoded;
  }
  return msg;
}

function encodeField(field: FieldPlan, value: unknown): unknown {
  if (field.shape === "map") {
    if (!isRecord(value)) return undefined;
    const out: Record<string, unknown> = {};
    for (const k in value) out[k] = encodeSingle(field.value, value[k]) ?? zeroOf(field.value);
    return out;
  }
  if (field.shape === "repeated") {
    if (!Array.isArray(value)) return undefined;
    return value.map((v: unknown) => encodeSingle(field.value, v) ?? zeroOf(field.value));
  }
  return encodeSingle(field.value, value);
}

/** One value in protobufjs' form, or undefined when the JSON value does not fit the type. */
function encodeSingle(plan: ValuePlan, value: unknown): unknown {
  switch (plan.kind) {
    case "string":
      return typeof value === "string" ? value : undefined;
    case "bool":
      return typeof value === "boolean" ? value : undefined;
    case "bytes":
      return typeof value === "string" ? Buffer.from(value, "base64") : undefined;
    case "number":
      return typeof value === "number" ? value : undefined;
    case "enum":
      return typeof value === "number" || typeof value === "string" ? value : undefined;
    case "time":
      return typeof value === "string" ? wireTimeToTimestamp(value) : undefined;
    case "quantity":
      return typeof value === "string" || typeof value === "number" ? { string: String(value) } : undefined;
    case "intOrString":
      if (typeof value === "number") return { type: 0, intVal: value };
      return typeof value === "string" ? { type: 1, strVal: value } : undefined;
    case "json":
      // Embedded JSON (a ControllerRevision's data) goes out as raw bytes, escaped as Go escapes: Go controllers
      // compare those bytes with their own encoding (the real DaemonSet and StatefulSet controllers took a template
      // holding `&` for a hash collision).
      return { [plan.jsonField ?? "raw"]: Buffer.from(goJsonString(value)) };
    case "list":
      return Array.isArray(value) ? { items: encodeField(plan.items, value) } : undefined;
    case "message":
      return isRecord(value) ? toMessage(plan.type, value) : undefined;
    case "union":
      return encodeUnion(plan.type, plan.union, value);
  }
}

/** A schema-or-something union's message from its JSON form (the inverse of convertUnion). */
function encodeUnion(type: Type, union: "array" | "bool" | "strings", value: unknown): unknown {
  const schemaType = type.fields.schema?.resolvedType;
  if (!(schemaType instanceof protobufModule().Type)) return undefined;
  if (isRecord(value)) return union === "bool" ? { allows: true, schema: toMessage(schemaType, value) } : { schema: toMessage(schemaType, value) };
  if (union === "bool") return typeof value === "boolean" ? { allows: value } : undefined;
  if (!Array.isArray(value)) return undefined;
  if (union === "strings") return { property: value.filter((v): v is string => typeof v === "string") };
  return { jSONSchemas: value.filter(isRecord).map((v) => toMessage(schemaType, v)) };
}

/** A list or map element that does not fit its type is written as the type's zero (lists keep their length). */
function zeroOf(plan: ValuePlan): unknown {
  switch (plan.kind) {
    case "string":
      return "";
    case "bytes":
      return new Uint8Array(0);
    case "bool":
      return false;
    case "number":
    case "enum":
      return 0;
    case "time":
    case "quantity":
    case "intOrString":
    case "json":
    case "list":
    case "message":
    case "union":
      return {};
  }
}

/** An RFC 3339 time as a protobuf Timestamp; the nanos come from the fraction's digits, which Date.parse would round. */
function wireTimeToTimestamp(text: string): { seconds: number; nanos: number } | undefined {
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) return undefined;
  const fraction = /T\d\d:\d\d:\d\d\.(\d+)/.exec(text)?.[1];
  const nanos = fraction === undefined ? 0 : Number(fraction.slice(0, 9).padEnd(9, "0"));
  return { seconds: Math.floor(ms / 1000), nanos };
}
