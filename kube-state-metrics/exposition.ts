// The Prometheus text exposition format (version 0.0.4), written directly from the informer caches on each scrape as
// kube-state-metrics does, instead of keeping one prom-client series per object: a family is a name, HELP, TYPE and
// the samples every cached object yields; HELP and TYPE are written once per family (even with no samples), label
// values are escaped, and a series repeated within a family is written once.

export type MetricType = "gauge" | "counter";

/** Label name/value pairs in the order they are written. */
export type Labels = readonly (readonly [name: string, value: string])[];

export interface Sample {
  labels: Labels;
  value: number;
}

/** One metric family generated from objects of type T. */
export interface FamilyGenerator<T> {
  name: string;
  help: string;
  type: MetricType;
  generate: (obj: Readonly<T>) => Sample[];
}

/** The Content-Type of the text format, as Prometheus' client libraries send it. */
export const TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === "\\" ? "\\\\" : c === '"' ? '\\"' : "\\n"));
}

/** Escapes HELP text: backslash and line feed. */
export function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === "\\" ? "\\\\" : "\\n"));
}

/** A sample value as Prometheus parses it (Go's ParseFloat): NaN, +Inf, -Inf or a decimal. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/** Makes a string a valid label name: every character outside [a-zA-Z0-9_] becomes "_" (kube-state-metrics' rule). */
export function sanitizeLabelName(name: string): string {
  const sanitized = name.replace(/[^a-zA-Z0-9_]/g, "_");
  return /^[0-9]/.test(sanitized) ? `_${sanitized}` : sanitized;
}

/** The series line's name and labels, e.g. `kube_pod_info{namespace="default",pod="a"}`. */
export function seriesKey(name: string, labels: Labels): string {
  if (labels.length === 0) return name;
  return `${name}{${labels.map(([k, v]) => `${k}="${escapeLabelValue(v)}"`).join(",")}}`;
}

/** Accumulates families into one exposition text. */
export class ExpositionWriter {
  private readonly chunks: string[] = [];
  private readonly written = new Set<string>();

  /** Writes a family's HELP and TYPE and the samples of `objects`; a family name may be written only once. */
  writeFamily<T>(family: FamilyGenerator<T>, objects: Iterable<Readonly<T>>): void {
    if (this.written.has(family.name)) throw new Error(`metric family ${family.name} written twice`);
    this.written.add(family.name);
    this.chunks.push(`# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} ${family.type}\n`);
    const seen = new Set<string>();
    for (const obj of objects) {
      for (const sample of family.generate(obj)) {
        const key = seriesKey(family.name, sample.labels);
        if (seen.has(key)) continue;
        seen.add(key);
        this.chunks.push(`${key} ${formatValue(sample.value)}\n`);
      }
    }
  }

  text(): string {
    return this.chunks.join("");
  }
}
