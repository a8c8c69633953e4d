// The objects this process is writing, so that the watch event of a write can take the object it was serialized
// from instead of parsing the value again. Every create and update comes back through the watch cache's etcd watch;
// parsing its value there cost ~13 µs of CPU per pod, plus the garbage of a second copy of the object.
//
// Contract: an event takes an entry only when its value is byte for byte the recorded value and the recorded object
// is one JSON reproduces exactly (isPlainJson); then the object taken equals decodeLenient(value, revision): JSON.parse
// of those bytes gives back the same members in the same order (the value is the object's JSON without
// metadata.resourceVersion: a create's object has none, an update's has the revision it was made against). Whoever
// wrote the bytes, they are the same bytes, so the entry is recorded before the write is sent (an event may overtake
// the write's reply) and forgotten when the write fails. The object taken shares everything below its top level and
// metadata with the written object: the caller must not change the written object afterwards (the registry's writes
// do not: they answer and drop it), and the cache treats what it holds as read-only.
import type { KubeObject } from "../../api/meta.js";

/** A recorded write: its key, the bytes sent to etcd and the object they serialize. */
export interface PendingWrite {
  readonly key: string;
  readonly value: Buffer;
  readonly object: KubeObject;
  /**
   * An object known to be plain JSON (isPlainJson) that `object` was built from, sharing members with it: the
   * object the update started from (the watch cache's, or one parsed from etcd), both read-only. The members they
   * share are not walked again.
   */
  readonly plainBase: KubeObject | undefined;
}

/** Entries kept at most: writes whose event never comes (no watch reached them) go oldest first. */
const DEFAULT_MAX_ENTRIES = 1024;

export class PendingWrites {
  /** One entry per key (a later write of a key replaces the earlier one), in the order they were recorded. */
  private readonly entries = new Map<string, PendingWrite>();
  private readonly maxEntries: number;

  constructor(maxEntries = DEFAULT_MAX_ENTRIES) {
    this.maxEntries = Math.max(1, maxEntries);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Records a write about to be sent; `plainBase`: see PendingWrite. */
  record(key: string, value: Buffer, object: KubeObject, plainBase?: KubeObject): PendingWrite {
    const entry: PendingWrite = { key, value, object, plainBase };
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    return entry;
  }

  /** The write failed: its event will not come. */
  forget(entry: PendingWrite): void {
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
  }

  /**
   * For a put event of `key` at `revision` carrying `value`: the recorded object stamped with the revision, as
   * decodeLenient(value, revision) would give it; undefined (the caller decodes) when no recorded write has these
   * bytes or its object is not plain JSON. A match is taken out.
   */
  take(key: string, value: Buffer, revision: number): KubeObject | undefined {
    const entry = this.entries.get(key);
    if (entry?.value.equals(value) !== true) return undefined;
    this.entries.delete(key);
    if (!isPlainJsonBeside(entry.object, entry.plainBase, 0)) return undefined;
    // The value has no resourceVersion (the storage drops an update's): parsing it and stamping the revision puts
    // the member last in metadata, wherever the written object had it.
    const { resourceVersion: _dropped, ...metadata } = entry.object.metadata;
    return { ...entry.object, metadata: { ...metadata, resourceVersion: String(revision) } };
  }
}

/**
 * isPlainJson(value), for a value built from `known`, which is plain JSON: a member that is the very value `known`
 * has at the same place is plain without a walk (a pods/binding's new pod shares all but a few members with the
 * cached one).
 */
export function isPlainJsonBeside(value: unknown, known: unknown, depth: number): boolean {
  return !objectPrototypeEnumerates() && besideWalk(value, known, depth);
}

function besideWalk(value: unknown, known: unknown, depth: number): boolean {
  if (value === known && known !== undefined) return true;
  if (typeof value !== "object" || value === null || typeof known !== "object" || known === null) return plainWalk(value, depth);
  if (depth > MAX_DEPTH) return false;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    const knownItems: unknown[] = Array.isArray(known) ? known : [];
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) return false; // a hole: JSON writes null
      if (!besideWalk(value[i], i < knownItems.length ? knownItems[i] : undefined, depth + 1)) return false;
    }
    return true;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  const record = value as Record<string, unknown>;
  const knownRecord = known as Record<string, unknown>;
  for (const key in record) {
    if (!besideWalk(record[key], Object.hasOwn(knownRecord, key) ? knownRecord[key] : undefined, depth + 1)) return false;
  }
  return true;
}

/** Deeper than any object the apiserver accepts (request bodies are limited well below): such values are parsed. */
const MAX_DEPTH = 1000;

/**
 * Whether JSON.parse(JSON.stringify(value)) gives back an equal value, member order included: strings, booleans,
 * null, finite numbers other than -0, arrays without holes and objects with Object's own prototype made of those.
 * Anything JSON would drop or change (undefined, functions, NaN, -0, a Date, a class instance) answers false.
 * Own members only: the registry builds its objects from plain literals. False also, whatever the value, when
 * Object.prototype has an enumerable member (never, unless something added one), which the walk would take for own.
 */
export function isPlainJson(value: unknown, depth: number): boolean {
  return !objectPrototypeEnumerates() && plainWalk(value, depth);
}

function plainWalk(value: unknown, depth: number): boolean {
  if (typeof value !== "object") {
    if (typeof value === "string" || typeof value === "boolean") return true;
    return typeof value === "number" && Number.isFinite(value) && !(value === 0 && 1 / value < 0);
  }
  if (value === null) return true;
  if (depth > MAX_DEPTH) return false;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    for (const item of value) if (!plainWalk(item, depth + 1)) return false;
    return true;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return false;
  const record = value as Record<string, unknown>;
  // for...in, without an array of the keys (a quarter of the walk's time): with Object's own prototype, which has
  // no enumerable member (the callers made sure), it visits exactly the own enumerable keys.
  for (const key in record) if (!plainWalk(record[key], depth + 1)) return false;
  return true;
}

/** Whether Object.prototype has an enumerable member (something added one): for...in would then visit it. */
function objectPrototypeEnumerates(): boolean {
  for (const _ in EMPTY) return true;
  return false;
}

const EMPTY = Object.freeze({});
