// The List* filters and id lookups every backend answers the same way: an id may be given as a unique prefix
// (crictl and people type short ids, like `docker ps`), a label selector matches when every pair is present.
import { randomBytes } from "node:crypto";
import { invalidArgument, notFound } from "../client/cri/errors.js";
import type { Labels } from "../client/cri/types.js";

/** A new 64-hex-digit id, the form containerd and CRI-O use for sandboxes and containers. */
export function newId(): string {
  return randomBytes(32).toString("hex");
}

export function matchesLabels(labels: Labels, selector: Labels | undefined): boolean {
  if (selector === undefined) return true;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Whether `id` is the full id or a prefix of it (an absent filter id matches everything). */
export function matchesId(id: string, filter: string | undefined): boolean {
  return filter === undefined || filter === "" || id.startsWith(filter);
}

/**
 * The one record an id or unique id prefix names; NOT_FOUND when none does, INVALID_ARGUMENT for an empty id or
 * an ambiguous prefix.
 */
export function resolveId<T>(records: ReadonlyMap<string, T>, id: string, what: string): { id: string; record: T } {
  if (id === "") throw invalidArgument(`${what} ID must not be empty`);
  const exact = records.get(id);
  if (exact !== undefined) return { id, record: exact };
  const matches = [...records.entries()].filter(([key]) => key.startsWith(id));
  if (matches.length > 1) throw invalidArgument(`${what} ID "${id}" is ambiguous: it is a prefix of ${matches.length} IDs`);
  const only = matches[0];
  if (only === undefined) throw notFound(`${what} "${id}" not found`);
  return { id: only[0], record: only[1] };
}
