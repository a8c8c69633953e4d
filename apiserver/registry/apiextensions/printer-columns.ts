// A CRD version's additionalPrinterColumns as a Table printer: NAME first, then each column's value read with its
// JSONPath (the subset CRDs use: `.a.b`, `['a.b']`, `[0]`, `[*]`), or NAME and AGE when the version has none, as
// Kubernetes' CRD table convertor does. `date` columns show the time since the timestamp, as kubectl shows them.
import { ageSince } from "../../../api/duration.js";
import type { KubeObject } from "../../../api/meta.js";
import { isRecord } from "../../../api/meta.js";
import { AGE_COLUMN, NAME_COLUMN, type KindPrinter, type PrinterColumn } from "../../../api/printers/printer.js";

export interface CustomResourceColumnDefinition {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath: string;
}

type Step = { key: string } | { index: number } | { all: true };

/** Parses the JSONPath subset; undefined for anything else (CRD validation refuses it). */
export function parseJsonPath(path: string): Step[] | undefined {
  const steps: Step[] = [];
  let rest = path.trim();
  if (rest.startsWith("{") && rest.endsWith("}")) rest = rest.slice(1, -1);
  if (!rest.startsWith(".") && !rest.startsWith("[")) return undefined;
  while (rest !== "") {
    let m = /^\.([A-Za-z0-9_-]+)/.exec(rest);
    if (m) {
      steps.push({ key: m[1]! });
      rest = rest.slice(m[0].length);
      continue;
    }
    m = /^\[\s*'([^']*)'\s*\]/.exec(rest) ?? /^\[\s*"([^"]*)"\s*\]/.exec(rest);
    if (m) {
      steps.push({ key: m[1]! });
      rest = rest.slice(m[0].length);
      continue;
    }
    m = /^\[\s*(\d+)\s*\]/.exec(rest);
    if (m) {
      steps.push({ index: Number(m[1]) });
      rest = rest.slice(m[0].length);
      continue;
    }
    m = /^\[\s*\*\s*\]/.exec(rest) ?? /^\.\*/.exec(rest);
    if (m) {
      steps.push({ all: true });
      rest = rest.slice(m[0].length);
      continue;
    }
    return undefined;
  }
  return steps;
}

/** Every value the path reaches in `root`. */
export function evaluateJsonPath(steps: readonly Step[], root: unknown): unknown[] {
  let current: unknown[] = [root];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const value of current) {
      if ("key" in step) {
        if (isRecord(value) && Object.hasOwn(value, step.key)) next.push(value[step.key]);
      } else if ("index" in step) {
        if (Array.isArray(value) && step.index < value.length) next.push(value[step.index]);
      } else if (Array.isArray(value)) next.push(...(value as unknown[]));
      else if (isRecord(value)) next.push(...Object.values(value));
    }
    current = next;
  }
  return current;
}

function columnType(type: string): PrinterColumn["type"] {
  return type === "integer" || type === "number" || type === "boolean" || type === "date" ? type : "string";
}

function cellOf(column: CustomResourceColumnDefinition, steps: readonly Step[] | undefined, object: KubeObject, now: number): unknown {
  // Like Kubernetes' table convertor, only the first value the path reaches is shown.
  const value = steps === undefined ? undefined : evaluateJsonPath(steps, object)[0];
  if (value === undefined || value === null) return null;
  switch (column.type) {
    case "date":
      return typeof value === "string" ? ageSince(value, now) : null;
    case "integer":
      return typeof value === "number" && Number.isInteger(value) ? value : null;
    case "number":
      return typeof value === "number" ? value : null;
    case "boolean":
      return typeof value === "boolean" ? value : null;
    default:
      return typeof value === "string" ? value : JSON.stringify(value);
  }
}

/** The printer of one CRD version. */
export function customResourcePrinter(columns: readonly CustomResourceColumnDefinition[] | undefined): KindPrinter {
  if (columns === undefined || columns.length === 0) {
    return { columns: [NAME_COLUMN, AGE_COLUMN], cells: (o, now) => [o.metadata.name ?? "", ageSince(o.metadata.creationTimestamp, now)] };
  }
  const parsed = columns.map((c) => parseJsonPath(c.jsonPath));
  return {
    columns: [
      NAME_COLUMN,
      ...columns.map((c): PrinterColumn => ({ name: c.name, type: columnType(c.type), format: c.format ?? "", description: c.description ?? "", priority: c.priority ?? 0 })),
    ],
    cells: (o, now) => [o.metadata.name ?? "", ...columns.map((c, i) => cellOf(c, parsed[i], o, now))],
  };
}
