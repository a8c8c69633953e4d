// Content negotiation for the apiserver: parsing media types and Accept headers, choosing Table replies, decoding
// request bodies by Content-Type (JSON, YAML, Kubernetes protobuf, the four patch types), duplicate fields, and
// the `fieldValidation=Strict|Warn|Ignore` directive (unknown fields are found by api/unknown-fields.ts).
import type { Node as YamlNode } from "yaml";
import { yaml } from "../../api/yaml.js";
import { StatusError, badRequest, errorMessage, unsupportedMediaType } from "../../api/errors.js";
import { isRecord } from "../../api/meta.js";
import type { KubeObject } from "../../api/meta.js";
import { decodeProtobufBody } from "./protobuf.js";

// ---- media types ----

export const JSON_MEDIA_TYPE = "application/json";
export const YAML_MEDIA_TYPE = "application/yaml";
export const PROTOBUF_MEDIA_TYPE = "application/vnd.kubernetes.protobuf";

export interface MediaType {
  /** Lower-cased, e.g. "application". */
  type: string;
  /** Lower-cased, e.g. "json" or "vnd.kubernetes.protobuf". */
  subtype: string;
  /** Parameters other than q; names lower-cased, values unquoted and case-preserved (`as=Table`). */
  params: Record<string, string>;
  /** The Accept quality, 1 when absent. */
  q: number;
}

/**
 * Parses one media type such as `application/json;as=Table;v=v1;g=meta.k8s.io`. Undefined when it has no
 * `type/subtype`. Parameter order is free; whitespace around `;` and `=` is ignored. The answer is frozen: a
 * request's Content-Type is looked at four or five times on its way (patch type, object media type, decoding,
 * duplicate fields), clients send the same few, and each is parsed once (short ones; the memo is emptied when full).
 */
export function parseMediaType(header: string): Readonly<MediaType> | undefined {
  if (header.length > MAX_MEMO_MEDIA_TYPE_LENGTH) return parseMediaTypeText(header);
  const known = mediaTypeMemo.get(header);
  if (known !== undefined) return known ?? undefined;
  const parsed = parseMediaTypeText(header);
  if (parsed !== undefined) {
    Object.freeze(parsed.params);
    Object.freeze(parsed);
  }
  if (mediaTypeMemo.size >= MAX_MEMO_ENTRIES) mediaTypeMemo.clear();
  mediaTypeMemo.set(header, parsed ?? null);
  return parsed;
}

const MAX_MEMO_MEDIA_TYPE_LENGTH = 256;
/** parseMediaType's answers by header; null for "not a media type". */
const mediaTypeMemo = new Map<string, Readonly<MediaType> | null>();

function parseMediaTypeText(header: string): MediaType | undefined {
  const parts = splitOutsideQuotes(header, ";");
  const essence = (parts[0] ?? "").trim().toLowerCase();
  const slash = essence.indexOf("/");
  if (slash <= 0 || slash === essence.length - 1) return undefined;
  const type = essence.slice(0, slash);
  const subtype = essence.slice(slash + 1);
  if (!TOKEN.test(type) || !TOKEN.test(subtype)) return undefined;
  const params: Record<string, string> = {};
  let q = 1;
  for (const raw of parts.slice(1)) {
    const eq = raw.indexOf("=");
    if (eq < 0) continue;
    const name = raw.slice(0, eq).trim().toLowerCase();
    let value = raw.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1).replace(/\\(.)/g, "$1");
    if (name === "") continue;
    if (name === "q") {
      const parsed = Number(value);
      q = Number.isFinite(parsed) ? Math.min(Math.max(parsed, 0), 1) : 1;
      continue;
    }
    params[name] = value;
  }
  return { type, subtype, params, q };
}

const TOKEN = /^[a-z0-9!#$&^_.+*-]+$/;

/**
 * The offers of an Accept header, best first: sorted by q (stable, so equal q keeps the client's order), with
 * q=0 offers and unparsable entries dropped. A missing or empty header accepts anything.
 */
export function parseAccept(header: string | undefined): MediaType[] {
  if (header === undefined || header.trim() === "") return [{ type: "*", subtype: "*", params: {}, q: 1 }];
  const offers: MediaType[] = [];
  for (const part of splitOutsideQuotes(header, ",")) {
    const mt = parseMediaType(part);
    if (mt !== undefined && mt.q > 0) offers.push(mt);
  }
  return offers.map((mt, i) => ({ mt, i })).sort((a, b) => b.mt.q - a.mt.q || a.i - b.i).map((x) => x.mt);
}

export type TableApiVersion = "meta.k8s.io/v1" | "meta.k8s.io/v1beta1";

/**
 * The Table apiVersion the client asked for, or undefined for a plain object/list reply. kubectl's `get` offers
 * `application/json;as=Table;v=v1;g=meta.k8s.io, …;v=v1beta1…, application/json`; the first
 * acceptable offer wins, so a plain JSON or wildcard offer before any Table offer means "no Table". The reply's
 * apiVersion must follow the version offered.
 */
export function tableVersion(accept: string | undefined): TableApiVersion | undefined {
  for (const offer of parseAccept(accept)) {
    if (offer.type === "application" && offer.subtype === "json" && offer.params.as !== undefined) {
      if (offer.params.as === "Table" && offer.params.g === "meta.k8s.io") {
        if (offer.params.v === "v1") return "meta.k8s.io/v1";
        if (offer.params.v === "v1beta1") return "meta.k8s.io/v1beta1";
      }
      continue; // another `as=` (PartialObjectMetadata, discovery) or an unknown Table version: try the next offer
    }
    if (acceptsJsonOffer(offer)) return undefined;
  }
  return undefined;
}

export type PartialMetadataApiVersion = "meta.k8s.io/v1" | "meta.k8s.io/v1beta1";

/**
 * The PartialObjectMetadata apiVersion the client asked for (`application/json;as=PartialObjectMetadata;g=meta.k8s.io;
 * v=v1`, what client-go's metadata informers of the garbage collector and quota controller send), or undefined for
 * a full reply. As for Tables, the first acceptable offer decides.
 */
export function partialMetadataVersion(accept: string | undefined): PartialMetadataApiVersion | undefined {
  for (const offer of parseAccept(accept)) {
    if (offer.type === "application" && offer.subtype === "json" && offer.params.as !== undefined) {
      const as = offer.params.as;
      if ((as === "PartialObjectMetadata" || as === "PartialObjectMetadataList") && offer.params.g === "meta.k8s.io") {
        if (offer.params.v === "v1") return "meta.k8s.io/v1";
        if (offer.params.v === "v1beta1") return "meta.k8s.io/v1beta1";
      }
      continue;
    }
    if (acceptsJsonOffer(offer)) return undefined;
  }
  return undefined;
}

/** An object reduced to its metadata, as a PartialObjectMetadata of `apiVersion`. */
export function partialObjectMetadata(object: KubeObject, apiVersion: PartialMetadataApiVersion): KubeObject {
  return { apiVersion, kind: "PartialObjectMetadata", metadata: object.metadata };
}

/** The form of an object or list reply: its encoding, and the kind it is transformed to (`as=`), if any. */
export type ReplyForm =
  | { encoding: "json" | "yaml" | "protobuf" }
  | { encoding: "json" | "yaml"; as: "Table"; version: TableApiVersion }
  | {
      encoding: "json" | "protobuf";
      as: "PartialObjectMetadata";
      version: PartialMetadataApiVersion;
      /** The kind asked for: an object answers only `PartialObjectMetadata`, a list only `PartialObjectMetadataList`
       * (anything else is 406 once the request has run, as Kubernetes' transform). */
      asked: "PartialObjectMetadata" | "PartialObjectMetadataList";
    };

/**
 * The reply form of an object or list request, from the client's offers best first (as Kubernetes negotiates):
 * JSON, YAML, protobuf (only when `protobuf` says the kind has a message: custom resources are JSON and YAML only),
 * Tables in JSON or YAML, and PartialObjectMetadata in JSON or protobuf (metadata-only clients offer
 * `application/vnd.kubernetes.protobuf;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1` first). An offer that cannot
 * be answered is passed over; undefined when none can (406 NotAcceptable, notAcceptable()). Table offers are passed
 * over when `table` is false: a resource with no Table conversion (the create-only review kinds) cannot answer one,
 * as Kubernetes' RequestScope without a TableConvertor.
 */
export function negotiateReply(accept: string | undefined, protobuf: boolean, table = true): ReplyForm | undefined {
  // Clients send the same few Accept headers on every request: each answer is worked out once (parsing it twice per
  // request cost ~1.2 µs of CPU). Long headers are not kept, and the memo is emptied when full, so that odd headers
  // cannot grow it.
  if (accept !== undefined && accept.length > MAX_MEMO_ACCEPT_LENGTH) return chooseReply(accept, protobuf, table);
  const key = `${protobuf ? "p" : "-"}${table ? "t" : "-"}${accept ?? ""}`;
  const known = replyMemo.get(key);
  if (known !== undefined) return known ?? undefined;
  const form = chooseReply(accept, protobuf, table);
  if (replyMemo.size >= MAX_MEMO_ENTRIES) replyMemo.clear();
  replyMemo.set(key, form === undefined ? null : Object.freeze(form));
  return form;
}

const MAX_MEMO_ACCEPT_LENGTH = 512;
const MAX_MEMO_ENTRIES = 256;
/** negotiateReply's answers by protobuf, table and Accept header; null for "none can be answered". Frozen: shared. */
const replyMemo = new Map<string, Readonly<ReplyForm> | null>();

function chooseReply(accept: string | undefined, protobuf: boolean, table: boolean): ReplyForm | undefined {
  for (const offer of parseAccept(accept)) {
    if (offer.type === "*" && offer.subtype === "*") return { encoding: "json" };
    if (offer.type !== "application") continue;
    if (offer.subtype === "*") return { encoding: "json" };
    const as = offer.params.as;
    const isProtobuf = offer.subtype === "vnd.kubernetes.protobuf";
    if (offer.subtype !== "json" && offer.subtype !== "yaml" && !isProtobuf) continue;
    if (as === undefined) {
      if (isProtobuf && !protobuf) continue;
      return { encoding: isProtobuf ? "protobuf" : offer.subtype === "yaml" ? "yaml" : "json" };
    }
    if (offer.params.g !== "meta.k8s.io" || (offer.params.v !== "v1" && offer.params.v !== "v1beta1")) continue;
    const version = offer.params.v === "v1" ? "meta.k8s.io/v1" : "meta.k8s.io/v1beta1";
    if (as === "Table" && !isProtobuf && table) return { encoding: offer.subtype === "yaml" ? "yaml" : "json", as: "Table", version };
    if ((as === "PartialObjectMetadata" || as === "PartialObjectMetadataList") && offer.subtype !== "yaml") {
      return { encoding: isProtobuf ? "protobuf" : "json", as: "PartialObjectMetadata", version, asked: as };
    }
  }
  return undefined;
}

/** The media types a resource's replies come in: protobuf for built-in kinds, not for custom resources. */
export function servedMediaTypes(protobuf: boolean): readonly string[] {
  return protobuf ? SERVED_MEDIA_TYPES : SERVED_MEDIA_TYPES.filter((t) => t !== PROTOBUF_MEDIA_TYPE);
}

/** Kubernetes' 406 when no offer of the Accept header can be answered. */
export function notAcceptable(protobuf: boolean): StatusError {
  return new StatusError(406, "NotAcceptable", `only the following media types are accepted: ${servedMediaTypes(protobuf).join(", ")}`);
}

/** Whether the client wants a meta.k8s.io Table (v1 or v1beta1; see tableVersion for which). */
export function wantsTable(accept: string | undefined): boolean {
  return tableVersion(accept) !== undefined;
}

/**
 * Whether a plain JSON reply is acceptable. kubectl's typed clients offer protobuf first and JSON second, which is
 * fine: protobuf replies are never required (every client falls back to JSON). False means 406 NotAcceptable.
 */
export function acceptsJson(accept: string | undefined): boolean {
  return parseAccept(accept).some(acceptsJsonOffer);
}

/** The media types the API's replies come in, as upstream's 406 lists them. */
export const SERVED_MEDIA_TYPES = ["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"] as const;

/**
 * Whether an object reply can be made at all: some offer is JSON (any `as=`), YAML, protobuf or a wildcard. YAML is
 * answered as YAML (wantsYaml), protobuf with JSON (clients that send it fall back to it); anything else is 406.
 */
export function servesAccept(accept: string | undefined): boolean {
  return parseAccept(accept).some((offer) => {
    if (offer.type === "*" && offer.subtype === "*") return true;
    if (offer.type !== "application") return false;
    return offer.subtype === "*" || SERVED_MEDIA_TYPES.some((served) => served === `application/${offer.subtype}`);
  });
}

/**
 * Whether the reply should be YAML: the client's best offer that kubelab can answer is `application/yaml` (kubectl
 * never asks for it; curl users and some tools do). Kubernetes serves YAML for objects, lists and errors.
 */
export function wantsYaml(accept: string | undefined): boolean {
  for (const offer of parseAccept(accept)) {
    if (offer.type === "application" && offer.subtype === "yaml" && offer.params.as === undefined) return true;
    if (acceptsJsonOffer(offer) || (offer.type === "application" && (offer.subtype === "json" || offer.subtype === "vnd.kubernetes.protobuf"))) return false;
  }
  return false;
}

/**
 * A JSON value as Kubernetes writes it in YAML (JSON converted by sigs.k8s.io/yaml): keys sorted, sequences not
 * indented under their key, and YAML 1.1 quoting, so that "yes", "on" or a timestamp stay strings for Go's parser.
 * An object reached twice (a discovery document's preferredVersion is one of its versions) is written out twice, as
 * JSON would be, never as an anchor and alias.
 */
export function toYamlText(value: unknown): string {
  return yaml().stringify(value, { sortMapEntries: true, indentSeq: false, version: "1.1", aliasDuplicateObjects: false });
}

function acceptsJsonOffer(offer: MediaType): boolean {
  if (offer.type === "*" && offer.subtype === "*") return true;
  if (offer.type !== "application") return false;
  return offer.subtype === "*" || (offer.subtype === "json" && offer.params.as === undefined);
}

// ---- request bodies ----

export type PatchType = "json" | "merge" | "strategic" | "apply";

const PATCH_TYPES: Readonly<Record<string, PatchType>> = {
  "application/json-patch+json": "json",
  "application/merge-patch+json": "merge",
  "application/strategic-merge-patch+json": "strategic",
  "application/apply-patch+yaml": "apply",
};

/** The patch type a PATCH request's Content-Type names, or undefined (→ 415 UnsupportedMediaType). */
export function patchTypeOf(contentType: string | undefined): PatchType | undefined {
  if (contentType === undefined) return undefined;
  const mt = parseMediaType(contentType);
  return mt === undefined ? undefined : PATCH_TYPES[`${mt.type}/${mt.subtype}`];
}

/** The 415 of a create or update body no object decoder reads (JSON, YAML, protobuf; never a patch type). */
export function checkObjectMediaType(contentType: string | undefined): void {
  if (contentType === undefined || contentType.trim() === "") return;
  const mt = parseMediaType(contentType);
  const essence = mt === undefined ? "" : `${mt.type}/${mt.subtype}`;
  if (essence !== JSON_MEDIA_TYPE && essence !== YAML_MEDIA_TYPE && essence !== PROTOBUF_MEDIA_TYPE) throw unsupportedMediaType();
}

/**
 * Decodes a request body by its Content-Type:
 * - absent → JSON (Kubernetes negotiates an absent Content-Type to its first serializer, JSON);
 * - `application/json`, `application/yaml` → the object (it must be an object; YAML must be a single document);
 * - `application/vnd.kubernetes.protobuf` → the object as JSON (protobuf.ts); kubectl's `create <generator>` sends it;
 * - the JSON and merge patch types → any JSON value (a json-patch is an array);
 *   `application/apply-patch+yaml` → YAML or JSON (kubectl sends JSON, which is YAML);
 * - anything else → 415 UnsupportedMediaType.
 * Empty and malformed bodies are 400 BadRequest. Callers for which a body is optional (DELETE's DeleteOptions)
 * should check `raw.length` first.
 */
export function decodeBody(contentType: string | undefined, raw: Buffer): unknown {
  return decode(contentType, raw, false).value;
}

/** A request body decoded by decodeBodyFields. */
export interface DecodedBody {
  value: unknown;
  /**
   * The body's duplicate fields, as duplicateFields answers them, when decoding worked them out (JSON bodies, at
   * little cost: see jsonDuplicates); undefined for the other media types (ask duplicateFields).
   */
  duplicate: string[] | undefined;
}

/**
 * decodeBody for a body whose duplicate fields matter (creates, updates, patches under fieldValidation): a JSON body's
 * are found in the same pass, without a second parse of its text.
 */
export function decodeBodyFields(contentType: string | undefined, raw: Buffer): DecodedBody {
  return decode(contentType, raw, true);
}

function decode(contentType: string | undefined, raw: Buffer, withDuplicates: boolean): DecodedBody {
  const mt = contentType === undefined || contentType.trim() === "" ? parseMediaType(JSON_MEDIA_TYPE)! : parseMediaType(contentType);
  if (mt === undefined) throw unsupportedMediaType();
  const essence = `${mt.type}/${mt.subtype}`;
  if (raw.length === 0) throw badRequest("the request body is empty; an object is required");
  switch (essence) {
    case JSON_MEDIA_TYPE: {
      const decoded = decodeJson(raw, withDuplicates);
      requireObject(decoded.value, essence);
      return decoded;
    }
    case YAML_MEDIA_TYPE:
      return { value: requireObject(limitDepth(parseYaml(raw)), essence), duplicate: undefined };
    case PROTOBUF_MEDIA_TYPE:
      // A protobuf message has no duplicate fields (duplicateFields answers [] for it).
      return { value: decodeProtobufBody(raw), duplicate: [] };
    case "application/json-patch+json":
    case "application/merge-patch+json":
    case "application/strategic-merge-patch+json":
      return decodeJson(raw, withDuplicates);
    case "application/apply-patch+yaml":
      return { value: limitDepth(parseYaml(raw)), duplicate: undefined };
    default:
      throw unsupportedMediaType();
  }
}

/** Parses a JSON body, refuses one nested deeper than MAX_DEPTH (400), and with `withDuplicates` finds its duplicate fields. */
function decodeJson(raw: Buffer, withDuplicates: boolean): DecodedBody {
  const text = raw.toString("utf8");
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (err) {
    const detail = errorMessage(err);
    throw badRequest(`couldn't get version/kind; json parse error: ${detail}`);
  }
  const census: JsonCensus = { members: 0, colons: 0 };
  if (!takeCensus(value, 0, census)) throw badRequest("the request body is nested too deeply");
  return { value, duplicate: withDuplicates ? jsonDuplicates(text, census) : undefined };
}

function parseYaml(raw: Buffer): unknown {
  const text = raw.toString("utf8");
  // The yaml library composes documents recursively: a few thousand nested collections exhaust the stack, which
  // can abort the whole process (V8 fails fatally when that happens inside its regexp compiler). Measure first.
  if (yamlNestingExceeds(text, MAX_YAML_DEPTH)) throw badRequest("error converting YAML to JSON: the document is nested too deeply");
  // Duplicate keys are reported by duplicateFields under fieldValidation, not rejected here (Kubernetes' YAML
  // decoding keeps the last value unless strict). Merge keys (`<<`) are YAML 1.1 features go-yaml supports.
  const docs = yaml().parseAllDocuments(text, { uniqueKeys: false, merge: true });
  if (!Array.isArray(docs)) throw badRequest("error converting YAML to JSON: the body is not YAML");
  const nonEmpty = docs.filter((d) => d.contents !== null);
  if (nonEmpty.length > 1) throw badRequest("error converting YAML to JSON: the body holds more than one YAML document; send one object per request");
  const doc = nonEmpty[0] ?? docs[0];
  if (doc === undefined) throw badRequest("error converting YAML to JSON: the body is empty");
  const error = doc.errors[0];
  if (error !== undefined) throw badRequest(`error converting YAML to JSON: yaml: ${error.message}`);
  // JSON has only string keys. Collection keys (`? [a]: b`) would be stringified by toJS, which takes time
  // exponential in their nesting: ten-odd bytes per level block the event loop for minutes.
  if (doc.contents !== null && hasCollectionKey(doc.contents, 0)) throw badRequest("error converting YAML to JSON: yaml: map keys must be scalars");
  try {
    return doc.toJS({ maxAliasCount: 100 }) as unknown;
  } catch (err) {
    throw badRequest(`error converting YAML to JSON: ${errorMessage(err)}`);
  }
}

// Kubernetes manifests nest some 15 levels (a few dozen columns of indentation); the yaml library's recursion
// overflows the stack at several hundred. The estimate below counts indentation columns, so it errs high.
const MAX_YAML_DEPTH = 200;

/**
 * Whether `text` may nest deeper than `limit`, judged from the yaml library's lexer (iterative, so safe on any
 * input) without composing a document: for every line, its indentation plus the block indicators (`-`, `?`, `:`)
 * on it plus the open flow collections. Stops at the first line over the limit.
 */
function yamlNestingExceeds(text: string, limit: number): boolean {
  let flow = 0;
  let lineStart = true;
  let indent = 0;
  let indicators = 0;
  let scalarSource = false;
  const { CST, Lexer } = yaml();
  for (const token of new Lexer().lex(text)) {
    if (scalarSource) {
      // The source of a plain or block scalar: content, whatever characters it holds.
      scalarSource = false;
      lineStart = false;
      continue;
    }
    const type = CST.tokenType(token);
    if (type === "scalar") {
      scalarSource = true;
    } else if (type === "newline") {
      lineStart = true;
      indent = 0;
      indicators = 0;
    } else if (type === "space") {
      if (lineStart) indent += token.length;
    } else {
      lineStart = false;
      if (type === "seq-item-ind" || type === "explicit-key-ind" || type === "map-value-ind") indicators++;
      else if (type === "flow-map-start" || type === "flow-seq-start") flow++;
      else if (type === "flow-map-end" || type === "flow-seq-end") flow = Math.max(0, flow - 1);
    }
    if (indent + indicators + flow > limit) return true;
  }
  return false;
}

/** Whether some mapping in the document has a collection (or an alias) as a key. */
function hasCollectionKey(node: unknown, depth: number): boolean {
  if (depth > MAX_YAML_DEPTH) return true;
  const { isAlias, isCollection, isMap, isSeq } = yaml();
  if (isMap(node)) {
    return node.items.some((pair) => isCollection(pair.key) || isAlias(pair.key) || hasCollectionKey(pair.value, depth + 1));
  }
  if (isSeq(node)) return node.items.some((item) => hasCollectionKey(item, depth + 1));
  return false;
}

function requireObject(value: unknown, essence: string): Record<string, unknown> {
  if (!isRecord(value)) {
    const got = value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`;
    throw badRequest(`the ${essence} request body must be an object, got ${got}`);
  }
  return value;
}

// ---- duplicate fields ----

// Real objects nest a few dozen levels; the cap keeps hostile bodies from exhausting the stack (a 400, not a 500).
const MAX_DEPTH = 1000;

/**
 * Refuses a decoded body nested deeper than MAX_DEPTH (400). Everything downstream of decoding (unknown-field
 * checks, patch application, defaulting, validation, storage) walks bodies recursively, so this runs on every
 * decoded body, patches included.
 */
function limitDepth<T>(value: T): T {
  const tooDeep = (v: unknown, depth: number): boolean => {
    if (depth > MAX_DEPTH) return true;
    if (Array.isArray(v)) return v.some((item) => tooDeep(item, depth + 1));
    if (isRecord(v)) return Object.values(v).some((item) => tooDeep(item, depth + 1));
    return false;
  };
  if (tooDeep(value, 0)) throw badRequest("the request body is nested too deeply");
  return value;
}

/**
 * The paths of keys that appear more than once in the same JSON object, e.g. ["metadata.name",
 * "spec.containers[0].image"]. JSON.parse silently keeps the last value; Kubernetes' strict decoder reports
 * `duplicate field "<path>"`. Call it on bodies that already parsed; malformed input gives a 400.
 */
export function duplicateJsonFields(rawJson: string): string[] {
  const scanner = new JsonScanner(rawJson);
  const found: string[] = [];
  scanner.value("", 0, found);
  return found;
}

/**
 * What takeCensus counts in a decoded JSON value: the members of its objects, and the ':' characters in its strings,
 * object keys included.
 */
interface JsonCensus {
  members: number;
  colons: number;
}

/**
 * Counts `value`'s members and colons into `census`; false (the count left unfinished) when it nests deeper than
 * MAX_DEPTH, counted as limitDepth counts: `value` is at `depth`, its items and members one deeper.
 */
function takeCensus(value: unknown, depth: number, census: JsonCensus): boolean {
  if (depth > MAX_DEPTH) return false;
  if (typeof value === "string") {
    census.colons += colonsIn(value, 0, value.length);
    return true;
  }
  if (typeof value !== "object" || value === null) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (!takeCensus(item, depth + 1, census)) return false;
    return true;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  census.members += keys.length;
  for (const key of keys) {
    census.colons += colonsIn(key, 0, key.length);
    if (!takeCensus(record[key], depth + 1, census)) return false;
  }
  return true;
}

/** The number of ':' in text[from, to). */
function colonsIn(text: string, from: number, to: number): number {
  let count = 0;
  for (let at = text.indexOf(":", from); at >= 0 && at < to; at = text.indexOf(":", at + 1)) count++;
  return count;
}

/**
 * duplicateJsonFields(text), given the census of JSON.parse(text), without a second parse in the common case of no
 * duplicates. In JSON text every member has exactly one ':' outside strings, and the ':' of a decoded string (key or
 * value) are those of its text, unless written as the escape \u003a (or \u003A). JSON.parse keeps one member per
 * distinct key of an object (the last value), dropping the others with their keys and values. So, without such escapes,
 * `colons in the text = members in the text + colons in all its strings`, and that equals the census's
 * `members + colons` exactly when nothing was dropped, that is, when no object repeats a key; otherwise the text has
 * more. Only then (or when the text may hold an escaped colon) does the full scanner run, for the paths.
 */
function jsonDuplicates(text: string, census: JsonCensus): string[] {
  if (!text.includes("\\u003") && colonsIn(text, 0, text.length) === census.members + census.colons) return [];
  return duplicateJsonFields(text);
}

/** Duplicate fields of a JSON or YAML body by Content-Type; [] for protobuf and patch bodies that are not objects. */
export function duplicateFields(contentType: string | undefined, raw: Buffer): string[] {
  const mt = contentType === undefined || contentType.trim() === "" ? undefined : parseMediaType(contentType);
  const essence = mt === undefined ? JSON_MEDIA_TYPE : `${mt.type}/${mt.subtype}`;
  if (essence === YAML_MEDIA_TYPE || essence === "application/apply-patch+yaml") {
    const doc = yaml().parseAllDocuments(raw.toString("utf8"), { uniqueKeys: false });
    const first = Array.isArray(doc) ? doc.find((d) => d.contents !== null) : undefined;
    const found: string[] = [];
    if (first?.contents) yamlDuplicates(first.contents, "", found, 0);
    return found;
  }
  if (essence === PROTOBUF_MEDIA_TYPE) return [];
  return duplicateJsonFields(raw.toString("utf8"));
}

function yamlDuplicates(node: YamlNode, path: string, found: string[], depth: number): void {
  if (depth > MAX_DEPTH) throw badRequest("the request body is nested too deeply");
  const { isMap, isPair, isScalar, isSeq } = yaml();
  if (isMap(node)) {
    const seen = new Set<string>();
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const child = joinPath(path, key);
      if (seen.has(key)) found.push(child);
      seen.add(key);
      if (pair.value !== null && typeof pair.value === "object") yamlDuplicates(pair.value as YamlNode, child, found, depth + 1);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => {
      if (item !== null && typeof item === "object") yamlDuplicates(item as YamlNode, `${path}[${i}]`, found, depth + 1);
    });
  }
}

/** A minimal JSON walker that tracks object keys by path; it assumes input JSON.parse accepts. */
class JsonScanner {
  private pos = 0;
  constructor(private readonly text: string) {}

  value(path: string, depth: number, found: string[]): void {
    if (depth > MAX_DEPTH) throw badRequest("the request body is nested too deeply");
    this.ws();
    const c = this.text[this.pos];
    if (c === "{") this.object(path, depth, found);
    else if (c === "[") this.array(path, depth, found);
    else if (c === '"') this.string();
    else this.literal();
  }

  private object(path: string, depth: number, found: string[]): void {
    this.pos++; // {
    const seen = new Set<string>();
    this.ws();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return;
    }
    for (;;) {
      this.ws();
      const key = this.string();
      const child = joinPath(path, key);
      if (seen.has(key)) found.push(child);
      seen.add(key);
      this.ws();
      this.expect(":");
      this.value(child, depth + 1, found);
      this.ws();
      if (this.text[this.pos] === ",") {
        this.pos++;
        continue;
      }
      this.expect("}");
      return;
    }
  }

  private array(path: string, depth: number, found: string[]): void {
    this.pos++; // [
    this.ws();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return;
    }
    for (let i = 0; ; i++) {
      this.value(`${path}[${i}]`, depth + 1, found);
      this.ws();
      if (this.text[this.pos] === ",") {
        this.pos++;
        continue;
      }
      this.expect("]");
      return;
    }
  }

  /** Reads a string token and returns its decoded value (keys must compare decoded: "a" and "\u0061" collide). */
  private string(): string {
    const start = this.pos;
    this.expect('"');
    let escaped = false;
    while (this.pos < this.text.length) {
      const ch = this.text[this.pos++];
      if (escaped) escaped = false;
      else if (ch === "\\") escaped = true;
      else if (ch === '"') {
        const token = this.text.slice(start, this.pos);
        return token.includes("\\") ? (JSON.parse(token) as string) : token.slice(1, -1);
      }
    }
    throw badRequest("malformed JSON: unterminated string");
  }

  private literal(): void {
    while (this.pos < this.text.length && !",]} \t\r\n".includes(this.text[this.pos]!)) this.pos++;
  }

  private ws(): void {
    while (this.pos < this.text.length && " \t\r\n".includes(this.text[this.pos]!)) this.pos++;
  }

  private expect(ch: string): void {
    if (this.text[this.pos] !== ch) throw badRequest(`malformed JSON: expected '${ch}' at offset ${this.pos}`);
    this.pos++;
  }
}

function joinPath(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

// ---- fieldValidation ----

export type FieldValidation = "Strict" | "Warn" | "Ignore";

/**
 * The `fieldValidation` query parameter. Absent means Warn, the Kubernetes server default; kubectl sends Strict
 * under its default `--validate=strict` and Ignore with `--validate=false`. Other values are a 400.
 */
export function parseFieldValidation(value: string | null | undefined): FieldValidation {
  if (value === null || value === undefined || value === "") return "Warn";
  if (value === "Strict" || value === "Warn" || value === "Ignore") return value;
  throw badRequest(`invalid fieldValidation directive "${value}": must be one of Ignore, Warn, or Strict`);
}

/**
 * A decoded JSON value as Go's `%v` prints the map[string]interface{} it decodes into: `map[a:1 b:[x <nil>]]`, keys
 * sorted, numbers as float64 (`1e+06`). Kubernetes quotes a strategic merge patch this way in its Strict errors.
 */
export function goValueString(value: unknown): string {
  if (value === null || value === undefined) return "<nil>";
  if (Array.isArray(value)) return `[${value.map(goValueString).join(" ")}]`;
  if (typeof value === "number") return goFloatString(value);
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "true" : "false";
  if (isRecord(value)) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${entries.map(([k, v]) => `${k}:${goValueString(v)}`).join(" ")}]`;
  }
  return "<nil>";
}

/** strconv's shortest %g of a float64: plain for exponents from -4 to 5, else `1.5e+06` with two exponent digits. */
function goFloatString(n: number): string {
  if (n === 0 || !Number.isFinite(n)) return String(n);
  const [mantissa = "", exponent = "0"] = n.toExponential().split("e");
  const exp = Number(exponent);
  if (exp >= -4 && exp < 6) return String(n);
  return `${mantissa}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
}

export interface FieldProblems {
  unknown: readonly string[];
  duplicate: readonly string[];
}

/** The per-field messages Kubernetes uses: `unknown field "spec.foo"`, `duplicate field "metadata.name"`. */
export function fieldProblemMessages(problems: FieldProblems): string[] {
  return [...problems.unknown.map((p) => `unknown field "${p}"`), ...problems.duplicate.map((p) => `duplicate field "${p}"`)];
}

/**
 * Applies a fieldValidation directive to the problems found in a body. Strict with problems throws 400 BadRequest
 * `<Kind> in version "<v>" cannot be handled as a <Kind>: strict decoding error: unknown field "spec.foo", …`
 * (kubectl prints it after "Error from server (BadRequest):"). Warn returns the Warning header values to send
 * (`299 - "unknown field \"spec.foo\""`, one per problem). Ignore, or no problems, returns [].
 */
export function applyFieldValidation(directive: FieldValidation, problems: FieldProblems, kind: string, version: string): string[] {
  // Nearly every body has no problems: answered without building the (empty) message list.
  if (problems.unknown.length === 0 && problems.duplicate.length === 0) return [];
  const messages = fieldProblemMessages(problems);
  if (messages.length === 0 || directive === "Ignore") return [];
  if (directive === "Strict") {
    const detail = `strict decoding error: ${messages.join(", ")}`;
    throw new StatusError(400, "BadRequest", `${kind} in version "${version}" cannot be handled as a ${kind}: ${detail}`);
  }
  return limitWarnings(messages).map(warningHeaderValue);
}

// k8s.io/apiserver's warning recorder limits: headers are finite (Node's fetch refuses more than 16 KiB of them), and a
// body with thousands of unknown fields must not turn into thousands of Warning headers.
const WARNINGS_TOTAL_CHARS = 4 * 1024;
const WARNING_ITEM_CHARS = 256;

/** Deduplicates; past 4 KiB in all, truncates each message to 256 characters and drops what still does not fit. */
function limitWarnings(messages: readonly string[]): string[] {
  const unique = [...new Set(messages)];
  const total = (list: readonly string[]): number => list.reduce((n, m) => n + m.length, 0);
  if (total(unique) <= WARNINGS_TOTAL_CHARS) return unique;
  const kept: string[] = [];
  let size = 0;
  for (const message of unique) {
    const item = message.length > WARNING_ITEM_CHARS ? message.slice(0, WARNING_ITEM_CHARS) : message;
    if (size + item.length > WARNINGS_TOTAL_CHARS) break;
    kept.push(item);
    size += item.length;
  }
  return kept;
}

/**
 * A `Warning` header value (RFC 7234 §5.5): code 299, agent "-", the text quoted with `\` and `"` escaped. Characters
 * a header cannot carry (controls, non-ASCII, which Node's setHeader rejects) become `?`.
 */
export function warningHeaderValue(text: string): string {
  let quoted = "";
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === "\\" || ch === '"') quoted += `\\${ch}`;
    else if (code < 0x20 || code > 0x7e) quoted += "?";
    else quoted += ch;
  }
  return `299 - "${quoted}"`;
}

// ---- helpers ----

/** Splits on `sep` except inside double quotes (a quoted parameter value may contain `,` or `;`). */
function splitOutsideQuotes(text: string, sep: string): string[] {
  const parts: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted && ch === "\\" && i + 1 < text.length) {
      current += ch + text[++i]!;
      continue;
    }
    if (ch === '"') quoted = !quoted;
    if (ch === sep && !quoted) {
      parts.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}
