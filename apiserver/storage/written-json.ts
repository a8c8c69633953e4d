// One serialization per write for both etcd and the reply. A write stores the object's JSON without
// metadata.resourceVersion and answers with the same object carrying the transaction's revision as resourceVersion;
// a second JSON.stringify cost ~6 µs of CPU per defaulted pod (1.9 KB), more for a pod with a status. Here the object
// is serialized once; the reply is the stored bytes with `"resourceVersion":"<revision>"` spliced in where the
// returned object has it: exactly the JSON of the object the storage returns. A create's object has no
// resourceVersion, so it goes last in metadata; an update's object has one (the registry set it to the revision the
// update was made against), so it goes where that member was, as `{ ...metadata, resourceVersion }` keeps a
// member's place. Both stay bytes (Buffers, outside V8's heap): building them as strings made ~8 KB of garbage per
// pod (member texts, then each concatenation flattened again for the Buffer, for Content-Length and for the socket).
import type { KubeObject } from "../../api/meta.js";

/** A write's serialization: the stored value, and the reply's JSON once the revision is known. */
export interface WrittenJson {
  /** What etcd stores: JSON.stringify(object) without metadata.resourceVersion (etcd-storage.ts's encode). */
  readonly value: Buffer;
  /**
   * JSON.stringify({ ...object, metadata: { ...object.metadata, resourceVersion } }) as UTF-8: the stored bytes with
   * resourceVersion in metadata at the place the object has it, last when it has none.
   */
  replyJson(resourceVersion: string): Buffer;
}

/**
 * Serializes `object` for a write. Undefined when its JSON cannot be told apart cheaply (no metadata object to splice
 * into; a toJSON method, a prototype other than Object's on the object or its metadata): the caller encodes it and the
 * reply is serialized when sent.
 */
export function encodeWritten(object: KubeObject): WrittenJson | undefined {
  const metadata = object.metadata;
  if (!isPlainRecord(object) || !isPlainRecord(metadata)) return undefined;
  if (!("resourceVersion" in metadata)) {
    const value = Buffer.from(JSON.stringify(object));
    const end = metadataEnd(value);
    if (end < 0) return undefined;
    return splicing(value, end, value[end - 1] === OPEN_BRACE ? "" : ",", "");
  }
  const before = membersBefore(metadata, "resourceVersion");
  if (before === undefined) return undefined;
  const { resourceVersion: _replaced, ...stored } = metadata;
  const value = Buffer.from(JSON.stringify({ ...object, metadata: stored }));
  const start = metadataStart(value);
  if (start < 0) return undefined;
  if (before === 0) return splicing(value, start + 1, "", value[start + 1] === CLOSE_BRACE ? "" : ",");
  const at = afterMembers(value, start, before);
  return at < 0 ? undefined : splicing(value, at, ",", "");
}

/** `value` and a reply made of it with the resourceVersion member (between `prefix` and `suffix`) inserted at `at`. */
function splicing(value: Buffer, at: number, prefix: string, suffix: string): WrittenJson {
  return {
    value,
    replyJson: (resourceVersion) => {
      const member = `${prefix}"resourceVersion":${JSON.stringify(resourceVersion)}${suffix}`;
      const memberLength = Buffer.byteLength(member);
      const reply = Buffer.allocUnsafe(value.length + memberLength);
      value.copy(reply, 0, 0, at);
      reply.write(member, at);
      value.copy(reply, at + memberLength, at);
      return reply;
    },
  };
}

/** An object JSON.stringify writes member by member: Object's own prototype, no toJSON method. */
function isPlainRecord(value: unknown): value is object {
  return typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype && typeof (value as { toJSON?: unknown }).toJSON !== "function";
}

/**
 * How many members JSON.stringify writes for `record` before its member `key` (members whose values it skips,
 * undefined, functions and symbols, do not count); undefined when `key` is absent or an earlier value has a toJSON
 * method (which decides for itself whether it is written).
 */
function membersBefore(record: object, key: string): number | undefined {
  let count = 0;
  for (const [name, value] of Object.entries(record)) {
    if (name === key) return count;
    if (value === undefined || typeof value === "function" || typeof value === "symbol") continue;
    if (typeof value === "object" && value !== null && typeof (value as { toJSON?: unknown }).toJSON === "function") return undefined;
    count++;
  }
  return undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const METADATA_KEY = Buffer.from('"metadata"');

/**
 * Where the value of the top-level member "metadata" starts (the index of its `{`) in JSON as JSON.stringify writes
 * it (no white space), or -1 when there is no such member whose value is an object. Bytes of multi-byte UTF-8
 * characters are all >= 0x80, so they never pass for the ASCII punctuation looked for.
 */
export function metadataStart(json: Buffer): number {
  if (json[0] !== OPEN_BRACE) return -1;
  let i = 1;
  while (json[i] === QUOTE) {
    const keyStart = i;
    i = afterString(json, i);
    const isMetadata = i - keyStart === METADATA_KEY.length && json.compare(METADATA_KEY, 0, METADATA_KEY.length, keyStart, i) === 0;
    if (json[i] !== COLON) return -1;
    const valueStart = i + 1;
    if (isMetadata) return json[valueStart] === OPEN_BRACE ? valueStart : -1;
    i = afterValue(json, valueStart);
    if (json[i] !== COMMA) return -1;
    i++;
  }
  return -1;
}

/** Where the top-level member "metadata" closes (the index of its `}`), or -1 (see metadataStart). */
export function metadataEnd(json: Buffer): number {
  const start = metadataStart(json);
  if (start < 0) return -1;
  const end = afterValue(json, start);
  return json[end - 1] === CLOSE_BRACE ? end - 1 : -1;
}

/**
 * The index right after the first `count` (> 0) members of the object whose `{` is at `start` (the `,` or `}` that
 * follows them), or -1 when it has fewer members or is cut short.
 */
function afterMembers(json: Buffer, start: number, count: number): number {
  let i = start + 1;
  for (let member = 0; member < count; member++) {
    if (json[i] !== QUOTE) return -1;
    i = afterString(json, i);
    if (json[i] !== COLON) return -1;
    i = afterValue(json, i + 1);
    if (member < count - 1) {
      if (json[i] !== COMMA) return -1;
      i++;
    }
  }
  return json[i] === COMMA || json[i] === CLOSE_BRACE ? i : -1;
}

/** The index after the string starting (with its quote) at `start`. */
function afterString(json: Buffer, start: number): number {
  for (let i = start + 1; i < json.length; i++) {
    const byte = json[i];
    if (byte === BACKSLASH) i++;
    else if (byte === QUOTE) return i + 1;
  }
  return json.length;
}

/** The index after the value starting at `start`: after its closing bracket or quote, or at the `,`/`}` ending a scalar. */
function afterValue(json: Buffer, start: number): number {
  let depth = 0;
  for (let i = start; i < json.length; i++) {
    const byte = json[i];
    if (byte === QUOTE) {
      i = afterString(json, i) - 1;
      if (depth === 0) return i + 1;
    } else if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
      depth++;
    } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
      if (depth === 0) return i;
      depth--;
      if (depth === 0) return i + 1;
    } else if (byte === COMMA && depth === 0) {
      return i;
    }
  }
  return json.length;
}

/**
 * The reply JSON of objects a write has just returned, by identity. Valid while the object is unchanged: the storage
 * records it only for the fresh object it hands back (a copy of the written object's top level and metadata), and
 * the request that wrote it answers with it untouched (the registry's create, update and patch paths, then
 * respondObject). Entries go with their objects (a WeakMap).
 */
const replies = new WeakMap<KubeObject, { readonly written: WrittenJson; readonly resourceVersion: string }>();

/**
 * Records that `object` is the returned object of the write `written` serialized, at `resourceVersion`. The reply
 * is spliced only when asked for (a pods/binding answers with a Status, not with the pod).
 */
export function rememberReplyJson(object: KubeObject, written: WrittenJson, resourceVersion: string): void {
  replies.set(object, { written, resourceVersion });
}

/** JSON.stringify(object) as UTF-8, as recorded at its write, or undefined when none was recorded. */
export function replyJsonOf(object: KubeObject): Buffer | undefined {
  const reply = replies.get(object);
  return reply?.written.replyJson(reply.resourceVersion);
}
