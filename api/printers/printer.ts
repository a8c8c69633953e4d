// What a kind's printer gives api/tables.ts: its Table columns (kubectl's, wide ones at priority 1) and the cells
// of one object's row. Kinds are grouped by family in this folder and listed once in tables.ts.
import { selectorFromLabelSelector } from "../labels.js";
import type { KubeObject, LabelSelector } from "../meta.js";

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  /** "name" for the column kubectl decorates with `kind/`. */
  format: string;
  description: string;
  priority: number;
}

export interface KindPrinter {
  readonly columns: readonly PrinterColumn[];
  /** One cell per column, as seen at `now` (ms since the epoch). */
  cells(object: KubeObject, now: number): unknown[];
}

export function column(name: string, type: PrinterColumn["type"], description: string, priority = 0): PrinterColumn {
  return { name, type, format: "", description, priority };
}

export const NAME_COLUMN: PrinterColumn = {
  ...column("Name", "string", "Name must be unique within a namespace. It is required when creating resources and cannot be updated."),
  format: "name",
};
export const AGE_COLUMN: PrinterColumn = column("Age", "string", "CreationTimestamp is a timestamp representing the server time when this object was created, shown as the time since then.");
export const CREATED_AT_COLUMN: PrinterColumn = column("Created At", "date", "CreationTimestamp is a timestamp representing the server time when this object was created.");

/** kubectl's `<none>` for an empty cell. */
export function orNone(text: string): string {
  return text === "" ? "<none>" : text;
}

/**
 * The value at `path` inside `root`, or undefined where any step is not an object. Stored objects are printed
 * whatever they hold (status is written by components, unvalidated), so printers read through these.
 */
export function at(root: unknown, ...path: string[]): unknown {
  let value = root;
  for (const key of path) {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** A string (or number) at `path`; "" otherwise. */
export function textAt(root: unknown, ...path: string[]): string {
  const value = at(root, ...path);
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : "";
}

/** The object elements of the array at `path`. */
export function objectsAt(root: unknown, ...path: string[]): Record<string, unknown>[] {
  const value = at(root, ...path);
  return Array.isArray(value) ? value.filter((v): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v)) : [];
}

/** The string elements of the array at `path`. */
export function stringsAt(root: unknown, ...path: string[]): string[] {
  const value = at(root, ...path);
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : [];
}

/** The keys of the object at `path`. */
export function keysAt(root: unknown, ...path: string[]): string[] {
  const value = at(root, ...path);
  return typeof value === "object" && value !== null && !Array.isArray(value) ? Object.keys(value) : [];
}

/** metav1.FormatLabelSelector: the selector as kubectl prints it, `<none>` when empty and `<error>` when unparsable. */
export function formatLabelSelector(sel: LabelSelector | undefined): string {
  if (!sel) return "<none>";
  try {
    return selectorFromLabelSelector(sel).toString() || "<none>";
  } catch {
    return "<error>";
  }
}
