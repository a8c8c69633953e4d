// One serialization per create for both etcd and the reply. A create stores the object's JSON without
// metadata.resourceVersion and answers with the same object carrying the transaction's revision as
// resourceVersion; the second JSON.stringify cost ~6 µs of CPU per defaulted pod (1.9 KB). Here the object is
// serialized once; the reply is the stored bytes with `"resourceVersion":"<revision>"` spliced in before metadata's
// closing brace: exactly the JSON of the object the storage returns. Both stay bytes (Buffers, outside V8's heap):
// building them as strings made ~8 KB of garbage per pod (member texts, then each concatenation flattened again for
// the Buffer, for Content-Length and for the socket).
import type { KubeObject } from "../../api/meta.js";

/** A create's serialization: the stored value, and the reply's JSON once the revision is known. */
export interface CreatedJson {
  /** What etcd stores: JSON.stringify(object), the object having no metadata.resourceVersion. */
  readonly value: Buffer;
  /**
   * JSON.stringify({ ...object, metadata: { ...object.metadata, resourceVersion } }) as UTF-8: the stored bytes with
   * resourceVersion as metadata's last member.
   */
  replyJson(resourceVersion: string): Buffer;
}

/**
 * Serializes `object`, which must have no metadata.resourceVersion (a create's object: the registry removed it;
 * the caller checks). Undefined when its JSON has no metadata object to splice into (not a create's object).
 */
export function encodeCreated(object: KubeObject): CreatedJson | undefined {
  const value = Buffer.from(JSON.stringify(object));
  const end = metadataEnd(value);
  if (end < 0) return undefined;
  const separator = value[end - 1] === OPEN_BRACE ? "" : ",";
  return {
    value,
    replyJson: (resourceVersion) => {
      const member = `${separator}"resourceVersion":${JSON.stringify(resourceVersion)}`;
      const memberLength = Buffer.byteLength(member);
      const reply = Buffer.allocUnsafe(value.length + memberLength);
      value.copy(reply, 0, 0, end);
      reply.write(member, end);
      value.copy(reply, end + memberLength, end);
      return reply;
    },
  };
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
 * Where the top-level member "metadata" closes (the index of its `}`) in JSON as JSON.stringify writes it (no
 * white space), or -1 when there is no such member whose value is an object. Bytes of multi-byte UTF-8 characters
 * are all >= 0x80, so they never pass for the ASCII punctuation looked for.
 */
export function metadataEnd(json: Buffer): number {
  if (json[0] !== OPEN_BRACE) return -1;
  let i = 1;
  while (json[i] === QUOTE) {
    const keyStart = i;
    i = afterString(json, i);
    const isMetadata = i - keyStart === METADATA_KEY.length && json.compare(METADATA_KEY, 0, METADATA_KEY.length, keyStart, i) === 0;
    if (json[i] !== COLON) return -1;
    const valueStart = i + 1;
    i = afterValue(json, valueStart);
    if (isMetadata) return json[valueStart] === OPEN_BRACE && json[i - 1] === CLOSE_BRACE ? i - 1 : -1;
    if (json[i] !== COMMA) return -1;
    i++;
  }
  return -1;
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
 * The reply JSON of objects a create has just returned, by identity. Valid while the object is unchanged: the
 * storage records it only for the fresh object it hands back, and the request that created it answers with it
 * untouched (the registry's create path, then respondObject). Entries go with their objects (a WeakMap).
 */
const replies = new WeakMap<KubeObject, Buffer>();

export function rememberCreatedJson(object: KubeObject, json: Buffer): void {
  replies.set(object, json);
}

/** JSON.stringify(object) as UTF-8, as recorded at its create, or undefined when none was recorded. */
export function createdJsonOf(object: KubeObject): Buffer | undefined {
  return replies.get(object);
}
