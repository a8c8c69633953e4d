// A strict reader of the Prometheus text format for tests: it throws on anything a Prometheus scrape would reject
// or that kube-state-metrics never writes (a second HELP/TYPE for a family, samples outside their family's block,
// a repeated series, a bad escape), and returns the families and samples with unescaped label values.

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedFamily {
  name: string;
  help: string;
  type: string;
  samples: ParsedSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

function unescapeHelp(text: string): string {
  return text.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c === "\\" ? "\\" : `\\${c}`));
}

function parseValue(text: string, line: string): number {
  if (text === "NaN") return NaN;
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new Error(`bad value in ${JSON.stringify(line)}`);
  return Number(text);
}

/** Parses `{a="x",b="y"}` at the start of `text`; returns the labels and the rest. */
function parseLabels(text: string, line: string): { labels: Record<string, string>; rest: string } {
  const labels: Record<string, string> = {};
  let i = 1;
  for (;;) {
    if (text[i] === "}") return { labels, rest: text.slice(i + 1) };
    const m = LABEL_NAME.exec(text.slice(i));
    if (!m) throw new Error(`bad label name in ${JSON.stringify(line)}`);
    const name = m[0];
    i += name.length;
    if (text[i] !== "=" || text[i + 1] !== '"') throw new Error(`expected =" after ${name} in ${JSON.stringify(line)}`);
    i += 2;
    let value = "";
    for (;;) {
      const c = text[i];
      if (c === undefined) throw new Error(`unterminated label value in ${JSON.stringify(line)}`);
      if (c === '"') break;
      if (c === "\\") {
        const next = text[i + 1];
        if (next === "\\") value += "\\";
        else if (next === '"') value += '"';
        else if (next === "n") value += "\n";
        else throw new Error(`bad escape \\${String(next)} in ${JSON.stringify(line)}`);
        i += 2;
        continue;
      }
      value += c;
      i++;
    }
    i++;
    if (Object.hasOwn(labels, name)) throw new Error(`label ${name} repeated in ${JSON.stringify(line)}`);
    labels[name] = value;
    if (text[i] === ",") i++;
    else if (text[i] !== "}") throw new Error(`expected , or } in ${JSON.stringify(line)}`);
  }
}

export function parseExposition(text: string): Map<string, ParsedFamily> {
  const families = new Map<string, ParsedFamily>();
  const series = new Set<string>();
  let current: ParsedFamily | undefined;
  const family = (name: string): ParsedFamily => {
    let f = families.get(name);
    if (!f) {
      f = { name, help: "", type: "untyped", samples: [] };
      families.set(name, f);
    } else if (f !== current) {
      throw new Error(`family ${name} appears in two blocks`);
    }
    current = f;
    return f;
  };
  const seenHelp = new Set<string>();
  const seenType = new Set<string>();
  if (text !== "" && !text.endsWith("\n")) throw new Error("exposition does not end with a line feed");
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const help = /^# HELP (\S+) ?(.*)$/.exec(line);
    if (help) {
      const name = help[1]!;
      if (seenHelp.has(name)) throw new Error(`second HELP for ${name}`);
      seenHelp.add(name);
      family(name).help = unescapeHelp(help[2]!);
      continue;
    }
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      const name = type[1]!;
      if (seenType.has(name)) throw new Error(`second TYPE for ${name}`);
      const f = family(name);
      if (f.samples.length > 0) throw new Error(`TYPE for ${name} after its samples`);
      seenType.add(name);
      f.type = type[2]!;
      continue;
    }
    if (line.startsWith("#")) throw new Error(`unexpected comment ${JSON.stringify(line)}`);
    const m = NAME.exec(line);
    if (!m) throw new Error(`bad metric name in ${JSON.stringify(line)}`);
    const name = m[0];
    let rest = line.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith("{")) ({ labels, rest } = parseLabels(rest, line));
    if (!rest.startsWith(" ")) throw new Error(`expected a space before the value in ${JSON.stringify(line)}`);
    const value = parseValue(rest.slice(1).trim(), line);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (series.has(key)) throw new Error(`series repeated: ${line}`);
    series.add(key);
    if (current?.name !== name) family(name);
    current!.samples.push({ name, labels, value });
  }
  return families;
}

/** The samples of `name` whose labels include `match`. */
export function samplesOf(families: Map<string, ParsedFamily>, name: string, match: Record<string, string> = {}): ParsedSample[] {
  return (families.get(name)?.samples ?? []).filter((s) => Object.entries(match).every(([k, v]) => s.labels[k] === v));
}
