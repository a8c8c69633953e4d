// The Prometheus text exposition format (version 0.0.4), written directly from the informer caches on each scrape as
// kube-state-metrics does, instead of keeping one prom-client series per object: a family is a name, HELP, TYPE and
// the samples every cached object yields; HELP and TYPE are written once per family (even with no samples), label
// values are escaped, and a series an object yields twice is written once. Series of different objects differ by the
// objects' identifying labels (namespace and name), which every family puts first.
//
// Cached objects are immutable and replaced on every change, so an object's lines can be kept per family keyed by
// the object itself (a WeakMap): a scrape then renders only what changed since the last one, as kube-state-metrics
// renders on informer events.

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

/** The lines of one object's series in a family, each series once. */
export function renderObject<T>(family: FamilyGenerator<T>, obj: Readonly<T>): string {
  const seen = new Set<string>();
  let out = "";
  for (const sample of family.generate(obj)) {
    const key = seriesKey(family.name, sample.labels);
    if (seen.has(key)) continue;
    seen.add(key);
    out += `${key} ${formatValue(sample.value)}\n`;
  }
  return out;
}

/** Accumulates families into one exposition text. */
export class ExpositionWriter {
  private readonly chunks: string[] = [];
  private readonly written = new Set<string>();

  /**
   * Writes a family's HELP and TYPE and the series of `objects`; a family name may be written only once. With
   * `cache`, an object's lines are rendered once and reused for as long as the same object is passed.
   */
  writeFamily<T extends object>(family: FamilyGenerator<T>, objects: Iterable<Readonly<T>>, cache?: WeakMap<object, string>): void {
    if (this.written.has(family.name)) throw new Error(`metric family ${family.name} written twice`);
    this.written.add(family.name);
    this.chunks.push(`# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} ${family.type}\n`);
    for (const obj of objects) {
      let lines = cache?.get(obj);
      if (lines === undefined) {
        lines = renderObject(family, obj);
        cache?.set(obj, lines);
      }
      if (lines !== "") this.chunks.push(lines);
    }
  }

  text(): string {
    return this.chunks.join("");
  }
}
