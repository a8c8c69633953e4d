// metadata.managedFields: who owns which fields, and how each write changes that (the field manager of
// k8s.io/apiserver and structured-merge-diff's Updater). Pure functions over objects; the apiserver's store calls
// `trackUpdate` for every create/update/patch and `trackApply` for server-side apply.
import { StatusError } from "../errors.js";
import type { KubeObject, ManagedFieldsEntry } from "../meta.js";
import { isRecord } from "../meta.js";
import { deepEqual } from "../normalize.js";
import { FieldSet, formatPath, knownCanonical, type FieldPath } from "./fieldset.js";
import { compare, compareFieldsV1, createdFieldsV1, fieldSetOf, mergeApplied, removePaths, type Scope } from "./structure.js";

/** The longest field manager name Kubernetes accepts. */
export const FIELD_MANAGER_MAX_LENGTH = 128;

export type Operation = "Apply" | "Update";

/** One manager's ownership, decoded. */
export interface Manager {
  manager: string;
  operation: Operation;
  apiVersion: string;
  subresource: string;
  time: string | undefined;
  fields: FieldSet;
}

/** Who is writing, and through which endpoint. */
export interface Writer {
  manager: string;
  /** The apiVersion of the request (apps/v1). */
  apiVersion: string;
  /** "" for the main resource; "status", "scale" ... for a subresource. */
  subresource: string;
  /** RFC 3339 time of the write, stored on the writer's entry. */
  time: string;
}

/**
 * The field manager named by a User-Agent when a request has no fieldManager: what precedes the first "/",
 * unprintable characters dropped, cut at 128 bytes ("kubectl/v1.32.0 (linux/amd64) kubernetes/..." → "kubectl");
 * "unknown" when that leaves nothing (no User-Agent), as Kubernetes names such a manager.
 */
export function managerFromUserAgent(userAgent: string | undefined): string {
  if (userAgent === undefined || userAgent.length > MEMO_USER_AGENT_LENGTH) return managerFromPrefix((userAgent ?? "").split("/")[0] ?? "");
  // Every write without a fieldManager asks, and a cluster's clients send a few User-Agents: each is worked out once
  // (character by character with a Unicode class test, a microsecond or two); the memo is emptied when full.
  let manager = managersByUserAgent.get(userAgent);
  if (manager === undefined) {
    manager = managerFromPrefix(userAgent.split("/")[0] ?? "");
    if (managersByUserAgent.size >= MANAGERS_BY_USER_AGENT_MAX) managersByUserAgent.clear();
    managersByUserAgent.set(userAgent, manager);
  }
  return manager;
}

const managersByUserAgent = new Map<string, string>();
const MANAGERS_BY_USER_AGENT_MAX = 256;
const MEMO_USER_AGENT_LENGTH = 512;

function managerFromPrefix(prefix: string): string {
  let out = "";
  let bytes = 0;
  for (const char of prefix) {
    if (!isPrintable(char)) continue;
    const size = Buffer.byteLength(char);
    if (bytes + size > FIELD_MANAGER_MAX_LENGTH) break;
    out += char;
    bytes += size;
  }
  return out === "" ? "unknown" : out;
}

/** Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space. */
export function isPrintable(char: string): boolean {
  // Printable ASCII (space to "~") is all letters, digits, punctuation and symbols.
  if (char.length === 1 && char >= " " && char <= "~") return true;
  return /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(char);
}

/** Decodes managedFields; entries that are not valid (no manager, unknown operation, bad FieldsV1) are dropped. */
export function decodeManagers(entries: unknown): Manager[] {
  if (!Array.isArray(entries)) return [];
  const out: Manager[] = [];
  for (const entry of entries) {
    if (!isRecord(entry) || typeof entry.manager !== "string" || entry.manager === "") continue;
    if (entry.operation !== "Apply" && entry.operation !== "Update") continue;
    let fields: FieldSet;
    try {
      fields = FieldSet.fromFieldsV1(entry.fieldsV1 ?? {});
    } catch {
      continue;
    }
    out.push({
      manager: entry.manager,
      operation: entry.operation,
      apiVersion: typeof entry.apiVersion === "string" ? entry.apiVersion : "",
      subresource: typeof entry.subresource === "string" ? entry.subresource : "",
      time: typeof entry.time === "string" ? entry.time : undefined,
      fields,
    });
  }
  return out;
}

/** How many Update entries an object keeps; older ones are merged into "ancient-changes" (upstream's cap). */
export const MAX_UPDATE_MANAGERS = 10;
const ANCIENT_CHANGES = "ancient-changes";

/**
 * Keeps at most MAX_UPDATE_MANAGERS Update entries: from the oldest on, entries of an apiVersion already seen are
 * merged into one "ancient-changes" entry for that apiVersion, which takes the time of the newest merged in.
 */
export function capUpdateManagers(managers: readonly Manager[]): Manager[] {
  const out = managers.filter((m) => !m.fields.isEmpty());
  const updaters = out.filter((m) => m.operation === "Update");
  if (updaters.length <= MAX_UPDATE_MANAGERS) return out;
  const seconds = (m: Manager): number => (m.time === undefined ? -Infinity : Date.parse(m.time));
  updaters.sort((a, b) => seconds(a) - seconds(b) || (a.manager < b.manager ? -1 : a.manager > b.manager ? 1 : 0));
  const firstOfVersion = new Map<string, Manager>();
  const buckets = new Map<string, Manager>();
  let length = updaters.length;
  for (const m of updaters) {
    if (length <= MAX_UPDATE_MANAGERS) break;
    const first = firstOfVersion.get(m.apiVersion);
    if (first === undefined) {
      firstOfVersion.set(m.apiVersion, m);
      continue;
    }
    let bucket = buckets.get(m.apiVersion);
    if (bucket === undefined) {
      bucket = { manager: ANCIENT_CHANGES, operation: "Update", apiVersion: m.apiVersion, subresource: "", time: first.time, fields: first.fields };
      buckets.set(m.apiVersion, bucket);
      out.splice(out.indexOf(first), 1, bucket);
    }
    bucket.fields = bucket.fields.union(m.fields);
    bucket.time = m.time;
    out.splice(out.indexOf(m), 1);
    length--;
  }
  return out;
}

/** Entries with no fields are dropped; the rest sorted as upstream sorts them (operation, time, manager, ...). */
export function encodeManagers(managers: readonly Manager[]): ManagedFieldsEntry[] {
  return capUpdateManagers(managers)
    .sort(compareManagers)
    .map((m) => {
      const entry: ManagedFieldsEntry = { manager: m.manager, operation: m.operation, apiVersion: m.apiVersion };
      if (m.time !== undefined) entry.time = m.time;
      entry.fieldsType = "FieldsV1";
      entry.fieldsV1 = m.fields.toFieldsV1();
      if (m.subresource !== "") entry.subresource = m.subresource;
      return entry;
    });
}

function compareManagers(a: Manager, b: Manager): number {
  const byString = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
  if (a.operation !== b.operation) return byString(a.operation, b.operation);
  const at = a.time === undefined ? -Infinity : Date.parse(a.time);
  const bt = b.time === undefined ? -Infinity : Date.parse(b.time);
  if (at !== bt) return at - bt;
  return byString(a.manager, b.manager) || byString(a.apiVersion, b.apiVersion) || byString(a.subresource, b.subresource);
}

/** Whether an entry is the writer's: appliers are one entry whatever the version; updaters one per apiVersion. */
function isWriters(m: Manager, writer: Writer, operation: Operation): boolean {
  return m.manager === writer.manager && m.operation === operation && m.subresource === writer.subresource && (operation === "Apply" || m.apiVersion === writer.apiVersion);
}

/**
 * The managers to start from: those a client sent in the new object when it sent any that differ from the live
 * ones (kubectl moves client-side-apply ownership to its apply manager that way; `[{}]` clears them all), the
 * live ones otherwise.
 */
export function baseManagers(live: unknown, sent: unknown): Manager[] {
  if (Array.isArray(sent) && sent.length > 0 && !deepEqual(sent, live)) return decodeManagers(sent);
  return decodeManagers(live);
}

/**
 * An Update (create, update, non-apply patch, subresource write): the writer comes to own what it added or changed,
 * other managers lose those fields (updates never conflict), and removed fields leave everyone.
 * Returns the new managedFields.
 */
export function trackUpdate(managers: readonly Manager[], before: KubeObject | undefined, after: KubeObject, writer: Writer, scope: Scope): ManagedFieldsEntry[] {
  if (before === undefined && managers.length === 0) return createdByUpdate(after, writer, scope);
  // The comparison as FieldsV1 trees, kept undecoded: the writer's new fields are often the changed tree itself (its
  // first write) or its old tree (a write of fields it owns already), and the other managers' trees are checked
  // against it tree to tree. compare() where the trees step aside.
  const trees = compareFieldsV1(before, after, scope);
  if (trees === undefined) {
    const { added, modified, removed } = compare(before, after, scope);
    return trackChanges(managers, added.union(modified), removed, writer);
  }
  // The changed tree is often the writer's new entry: the next write reads it back without checking it.
  knownCanonical(trees.changed);
  return trackChanges(managers, new FieldSet([], trees.changed), new FieldSet([], trees.removed), writer);
}

/** trackUpdate, from the paths the write added or modified (`changed`) and removed. */
function trackChanges(managers: readonly Manager[], changed: FieldSet, removed: FieldSet, writer: Writer): ManagedFieldsEntry[] {
  const out: Manager[] = [];
  let own: Manager | undefined;
  for (const m of managers) {
    if (isWriters(m, writer, "Update")) own = m;
    // Most managers own none of what changed: their fields stay the very set they are (not decoded, if read canonical).
    else out.push({ ...m, fields: m.fields.intersects(removed) || m.fields.intersects(changed) ? m.fields.difference(removed).difference(changed) : m.fields });
  }
  // Own fields: nothing before this write (none to remove), or all the write changed already owned and nothing removed:
  // the same set, and the same tree when it is one.
  let ownFields: FieldSet;
  if (own === undefined) ownFields = changed;
  else if (removed.isEmpty() && own.fields.covers(changed)) ownFields = own.fields;
  else ownFields = own.fields.difference(removed).union(changed);
  const touched = !changed.isEmpty() || !removed.isEmpty() || own === undefined;
  out.push({
    manager: writer.manager,
    operation: "Update",
    apiVersion: writer.apiVersion,
    subresource: writer.subresource,
    time: touched ? writer.time : own?.time,
    fields: ownFields,
  });
  return encodeManagers(out);
}

/**
 * trackUpdate of a create that starts from no managers (every create but one whose client sent managedFields): the
 * writer's one entry owning every field the object sets, or none when it sets none, without the set operations.
 */
function createdByUpdate(after: KubeObject, writer: Writer, scope: Scope): ManagedFieldsEntry[] {
  const fields = createdFieldsV1(after, scope);
  if (fields === undefined) return [];
  knownCanonical(fields);
  const entry: ManagedFieldsEntry = { manager: writer.manager, operation: "Update", apiVersion: writer.apiVersion, time: writer.time, fieldsType: "FieldsV1", fieldsV1: fields };
  if (writer.subresource !== "") entry.subresource = writer.subresource;
  return [entry];
}

/** A conflict: another manager owns a field the applier would change. */
export interface Conflict {
  readonly manager: Manager;
  readonly path: FieldPath;
}

export interface ApplyResult {
  readonly object: KubeObject;
  readonly managedFields: ManagedFieldsEntry[];
}

/**
 * Server-side apply: merges `config` into `live` (undefined when apply creates the object), checks that no other
 * manager owns a field whose value would change (409 Conflict naming them, unless `force`, which takes the fields),
 * makes the applier own exactly what it applied, and removes what it applied before and no longer does, unless
 * another manager owns it. `config` has already lost the fields outside `scope` and the server-owned metadata.
 */
export function trackApply(managers: readonly Manager[], live: KubeObject | undefined, config: KubeObject, writer: Writer, scope: Scope, force: boolean): ApplyResult {
  const merged = mergeApplied(live ?? { metadata: {} }, config);
  if (!isRecord(merged) || !isRecord(merged.metadata)) throw new StatusError(400, "BadRequest", "the applied configuration must be an object with metadata");
  const object = merged as KubeObject;
  const applied = fieldSetOf(config, scope);
  const { added, modified } = compare(live, object, scope);
  const changed = added.union(modified);

  const others: Manager[] = [];
  const conflicts: Conflict[] = [];
  let previous: Manager | undefined;
  for (const m of managers) {
    if (isWriters(m, writer, "Apply")) {
      previous = m;
      continue;
    }
    const contested = m.fields.intersection(changed);
    for (const path of contested.list()) conflicts.push({ manager: m, path });
    others.push(force ? { ...m, fields: m.fields.difference(contested) } : m);
  }
  if (conflicts.length > 0 && !force) throw applyConflict(conflicts);

  const mine: Manager = { manager: writer.manager, operation: "Apply", apiVersion: writer.apiVersion, subresource: writer.subresource, time: writer.time, fields: applied };
  const owned = others.reduce((all, m) => all.union(m.fields), applied);
  const dropped = (previous?.fields ?? new FieldSet()).difference(applied).list().filter((path) => !owned.hasPrefix(path));
  removePaths(object, dropped);
  const unchanged = previous !== undefined && previous.fields.equals(applied) && changed.isEmpty() && dropped.length === 0;
  if (unchanged) mine.time = previous?.time;
  return { object, managedFields: encodeManagers([...others, mine]) };
}

/** An apply's 409, carrying the conflicts it names. */
export class ApplyConflictError extends StatusError {
  readonly conflicts: readonly Conflict[];

  constructor(conflicts: readonly Conflict[], message: string, causes: { reason: string; message: string; field: string }[]) {
    super(409, "Conflict", message, { causes });
    this.conflicts = conflicts;
  }
}

/** 409 Conflict as Kubernetes words it, one cause per field. */
export function applyConflict(conflicts: readonly Conflict[]): ApplyConflictError {
  const causes = conflicts.map((c) => ({ reason: "FieldManagerConflict", message: `conflict with ${describe(c.manager)}`, field: formatPath(c.path) }));
  let message: string;
  if (conflicts.length === 1) {
    const only = conflicts[0]!;
    message = `Apply failed with 1 conflict: conflict with ${describe(only.manager)}: ${formatPath(only.path)}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const c of conflicts) {
      const who = describe(c.manager);
      byManager.set(who, [...(byManager.get(who) ?? []), formatPath(c.path)]);
    }
    const lines: string[] = [];
    for (const who of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${who}:`);
      for (const path of byManager.get(who) ?? []) lines.push(`- ${path}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join("\n")}`;
  }
  return new ApplyConflictError(conflicts, message, causes);
}

function describe(m: Manager): string {
  let out = JSON.stringify(m.manager);
  if (m.subresource !== "") out += ` with subresource ${JSON.stringify(m.subresource)}`;
  if (m.operation === "Update") out += ` using ${m.apiVersion}`;
  return out;
}

/** Whether a StatusError is an apply conflict (never retried: the client must decide). */
export function isApplyConflict(err: unknown): boolean {
  return err instanceof StatusError && err.code === 409 && (err.details?.causes ?? []).some((c) => c.reason === "FieldManagerConflict");
}
