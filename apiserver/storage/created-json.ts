// One serialization per create for both etcd and the reply. A create stores the object's JSON without
// metadata.resourceVersion and answers with the same object carrying the transaction's revision as
// resourceVersion; the second JSON.stringify cost ~6 µs of CPU per defaulted pod (1.9 KB). Here the object is
// serialized once, in two halves around metadata's closing brace, so that the reply is the stored text with
// `"resourceVersion":"<revision>"` spliced in: exactly the JSON.stringify of the object the storage returns.
import type { KubeObject } from "../../api/meta.js";

/** A create's serialization: the stored value, and the reply's JSON once the revision is known. */
export interface CreatedJson {
  /** What etcd stores: JSON.stringify(object), the object having no metadata.resourceVersion. */
  readonly value: Buffer;
  /**
   * JSON.stringify({ ...object, metadata: { ...object.metadata, resourceVersion } }): the stored text with
   * resourceVersion as metadata's last member.
   */
  replyJson(resourceVersion: string): string;
}

/**
 * Serializes `object`, which must have no metadata.resourceVersion (a create's object: the registry removed it;
 * the caller checks), member by member: JSON.stringify of each top-level value is what JSON.stringify of the
 * whole writes for it, members whose value serializes to nothing (undefined) are left out as it leaves them out.
 */
export function encodeCreated(object: KubeObject): CreatedJson {
  let head = "{"; // up to metadata's members, without its closing brace
  let tail = ""; // from metadata's closing brace to the end
  let metadataEmpty = true;
  let inTail = false;
  let first = true;
  const members = object as Record<string, unknown>;
  for (const key of Object.keys(members)) {
    const text = JSON.stringify(members[key]);
    if (text === undefined) continue;
    const member = `${first ? "" : ","}${JSON.stringify(key)}:`;
    first = false;
    if (key === "metadata" && !inTail) {
      head += member + text.slice(0, -1);
      metadataEmpty = text === "{}";
      tail = "}";
      inTail = true;
    } else if (inTail) {
      tail += member + text;
    } else {
      head += member + text;
    }
  }
  tail += "}";
  const stored = head + tail;
  return {
    value: Buffer.from(stored),
    replyJson: (resourceVersion) => `${head}${metadataEmpty ? "" : ","}"resourceVersion":${JSON.stringify(resourceVersion)}${tail}`,
  };
}

/**
 * The reply JSON of objects a create has just returned, by identity. Valid while the object is unchanged: the
 * storage records it only for the fresh object it hands back, and the request that created it answers with it
 * untouched (the registry's create path, then respondObject). Entries go with their objects (a WeakMap).
 */
const replies = new WeakMap<KubeObject, string>();

export function rememberCreatedJson(object: KubeObject, json: string): void {
  replies.set(object, json);
}

/** JSON.stringify(object) as recorded at its create, or undefined when none was recorded. */
export function createdJsonOf(object: KubeObject): string | undefined {
  return replies.get(object);
}
