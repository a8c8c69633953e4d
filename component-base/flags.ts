// A small declarative flag layer over node:util parseArgs with pflag's (Kubernetes') conventions:
//   --flag=value, --flag value, --bool, --bool=false, repeated --array=a --array=b, -h/--help.
// Flag names are the spec keys in kebab-case (`bindAddress` → --bind-address); the parsed result keeps the spec's
// keys and its type is inferred from the spec, so call sites never cast.
import { parseArgs } from "node:util";

interface FlagCommon {
  help: string;
  /** One-letter shorthand, e.g. "v" for -v 4. */
  short?: string;
}
export interface StringFlag extends FlagCommon {
  type: "string";
  default?: string;
}
export interface NumberFlag extends FlagCommon {
  type: "number";
  default?: number;
}
export interface BooleanFlag extends FlagCommon {
  type: "boolean";
  /** Booleans without a default are false. */
  default?: boolean;
}
export interface DurationFlag extends FlagCommon {
  type: "duration";
  /** Milliseconds, or a Go duration string such as "15s". The parsed value is always milliseconds. */
  default?: number | string;
}
export interface StringArrayFlag extends FlagCommon {
  type: "stringArray";
  /** Arrays without a default are []. Values are not split on commas (pflag StringArray, not StringSlice). */
  default?: readonly string[];
}
export type FlagSpec = StringFlag | NumberFlag | BooleanFlag | DurationFlag | StringArrayFlag;
export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

type ValueOf<F extends FlagSpec> = F extends StringFlag
  ? string
  : F extends NumberFlag | DurationFlag
    ? number
    : F extends BooleanFlag
      ? boolean
      : string[];

/** Flags with a default (and every boolean and array flag) are always set; others may be undefined. */
export type FlagValues<S extends FlagSpecs> = {
  -readonly [K in keyof S]: S[K] extends BooleanFlag | StringArrayFlag
    ? ValueOf<S[K]>
    : S[K] extends { default: unknown }
      ? ValueOf<S[K]>
      : ValueOf<S[K]> | undefined;
};

/** Identity at runtime; it exists so the spec keeps its literal types (`const`) for FlagValues inference. */
export function defineFlags<const S extends FlagSpecs>(spec: S): S {
  return spec;
}

/** The --v flag every component takes (klog verbosity, see logging.ts). Spread into a component's spec. */
export const loggingFlags = defineFlags({
  v: { type: "number", default: 0, short: "v", help: "number for the log level verbosity" },
});

export interface LeaderElectionFlagSpecs {
  leaderElect: BooleanFlag;
  leaderElectLeaseDuration: DurationFlag & { default: string };
  leaderElectRenewDeadline: DurationFlag & { default: string };
  leaderElectRetryPeriod: DurationFlag & { default: string };
  leaderElectResourceNamespace: StringFlag & { default: string };
  leaderElectResourceName: StringFlag & { default: string };
}

/**
 * The --leader-elect* flags of a replicated component (Kubernetes' component-base leader election options), with
 * the Lease named `resourceName` by default. Spread into a component's spec.
 */
export function leaderElectionFlags(resourceName: string): LeaderElectionFlagSpecs {
  return defineFlags({
    leaderElect: { type: "boolean", default: true, help: "Start a leader election client and gain leadership before executing the main loop. Enable this when running replicated components for high availability." },
    leaderElectLeaseDuration: { type: "duration", default: "15s", help: "The duration that non-leader candidates will wait after observing a leadership renewal until attempting to acquire leadership of a led but unrenewed leader slot." },
    leaderElectRenewDeadline: { type: "duration", default: "10s", help: "The interval between attempts by the acting master to renew a leadership slot before it stops leading. This must be less than the lease duration." },
    leaderElectRetryPeriod: { type: "duration", default: "2s", help: "The duration the clients should wait between attempting acquisition and renewal of a leadership." },
    leaderElectResourceNamespace: { type: "string", default: "kube-system", help: "The namespace of resource object that is used for locking during leader election." },
    leaderElectResourceName: { type: "string", default: resourceName, help: "The name of resource object that is used for locking during leader election." },
  });
}

export interface ParseOptions {
  /** Program name for usage, e.g. "kube-scheduler". */
  command: string;
  /** One-paragraph description printed above the usage. */
  summary?: string;
  allowPositionals?: boolean;
  /** Injected for tests; default process.exit. Must not return. */
  exit?: (code: number) => never;
  /** Where --help goes; default process.stdout. */
  stdout?: (text: string) => void;
  /** Where errors and the usage after them go; default process.stderr. */
  stderr?: (text: string) => void;
}

export interface ParsedCommandLine<S extends FlagSpecs> {
  flags: FlagValues<S>;
  positionals: string[];
}

/** A command-line mistake; parseFlags turns it into "Error: <message>" + usage + exit 2. */
export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FlagError";
  }
}

/** Parses argv (without node and script, i.e. process.argv.slice(2)); exits on --help (0) or a mistake (2). */
/** The long flags a command line names (`--name` or `--name=value`), for rules about a flag being given at all. */
export function givenFlags(argv: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const arg of argv) {
    if (arg === "--") break;
    const match = /^--([a-z0-9][a-z0-9-]*)(=|$)/.exec(arg);
    if (match) names.add(match[1]!);
  }
  return names;
}

export function parseFlags<S extends FlagSpecs>(spec: S, argv: readonly string[], opts: ParseOptions): FlagValues<S> {
  return parseCommandLine(spec, argv, opts).flags;
}

export function parseCommandLine<S extends FlagSpecs>(spec: S, argv: readonly string[], opts: ParseOptions): ParsedCommandLine<S> {
  const exit = opts.exit ?? ((code: number): never => process.exit(code));
  const stdout = opts.stdout ?? ((text: string) => process.stdout.write(text));
  const stderr = opts.stderr ?? ((text: string) => process.stderr.write(text));
  try {
    const parsed = parseOrThrow(spec, argv, opts.allowPositionals ?? false);
    if (parsed === "help") {
      stdout(usage(spec, opts));
      return exit(0);
    }
    return parsed;
  } catch (err) {
    if (!(err instanceof FlagError)) throw err;
    stderr(`Error: ${err.message}\n${usage(spec, opts)}`);
    return exit(2);
  }
}

function parseOrThrow<S extends FlagSpecs>(spec: S, argv: readonly string[], allowPositionals: boolean): ParsedCommandLine<S> | "help" {
  const byName = new Map<string, { key: string; flag: FlagSpec }>();
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const [key, flag] of Object.entries(spec)) {
    const name = flagName(key);
    if (name === "help") throw new Error(`flag spec: "help" is reserved`);
    byName.set(name, { key, flag });
    // Every non-boolean is read as a string and converted here, so "--qps -1" and "--bool=false" both work.
    options[name] = { type: flag.type === "boolean" ? "boolean" : "string", ...(flag.short ? { short: flag.short } : {}) };
  }
  options.help = { type: "boolean", short: "h" };

  // strict:false: parseArgs then reports unknown flags and "--bool=value" as tokens instead of throwing, and we
  // produce pflag's messages ourselves.
  const { tokens } = parseArgs({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const values: Record<string, unknown> = {};
  const arrays = new Map<string, string[]>();
  const positionals: string[] = [];
  let help = false;
  for (const token of tokens) {
    if (token.kind === "positional") {
      if (!allowPositionals) throw new FlagError(`unexpected argument "${token.value}"`);
      positionals.push(token.value);
      continue;
    }
    if (token.kind === "option-terminator") continue;
    if (token.name === "help") {
      help = true;
      continue;
    }
    const entry = byName.get(token.name);
    if (!entry) throw new FlagError(`unknown ${token.rawName.startsWith("--") ? "flag" : "shorthand flag"}: ${token.rawName}`);
    const { key, flag } = entry;
    const display = `--${token.name}`;
    if (flag.type === "boolean") {
      values[key] = token.value === undefined ? true : parseBool(token.value, display);
      continue;
    }
    if (token.value === undefined) throw new FlagError(`flag needs an argument: ${display}`);
    const raw = token.value;
    switch (flag.type) {
      case "string":
        values[key] = raw;
        break;
      case "number": {
        const n = raw.trim() === "" ? Number.NaN : Number(raw);
        if (!Number.isFinite(n)) throw new FlagError(`invalid argument "${raw}" for "${display}" flag: not a number`);
        values[key] = n;
        break;
      }
      case "duration":
        try {
          values[key] = parseDuration(raw);
        } catch (err) {
          throw new FlagError(`invalid argument "${raw}" for "${display}" flag: ${err instanceof Error ? err.message : String(err)}`);
        }
        break;
      case "stringArray": {
        const list = arrays.get(key) ?? [];
        list.push(raw);
        arrays.set(key, list);
        values[key] = list;
        break;
      }
    }
  }
  if (help) return "help";
  for (const [key, flag] of Object.entries(spec)) {
    if (key in values) continue;
    const value = defaultValue(flag);
    if (value !== undefined) values[key] = value;
  }
  // The record was filled from the spec above: every key with a default or boolean/array type is present.
  return { flags: values as FlagValues<S>, positionals };
}

function defaultValue(flag: FlagSpec): unknown {
  switch (flag.type) {
    case "boolean":
      return flag.default ?? false;
    case "stringArray":
      return [...(flag.default ?? [])];
    case "duration":
      return typeof flag.default === "string" ? parseDuration(flag.default) : flag.default;
    case "string":
    case "number":
      return flag.default;
  }
}

/** Go's strconv.ParseBool, which pflag uses. */
function parseBool(raw: string, display: string): boolean {
  if (["1", "t", "T", "true", "TRUE", "True"].includes(raw)) return true;
  if (["0", "f", "F", "false", "FALSE", "False"].includes(raw)) return false;
  throw new FlagError(`invalid argument "${raw}" for "${display}" flag: strconv.ParseBool: parsing "${raw}": invalid syntax`);
}

/** `bindAddress` → `bind-address`; keys already in kebab-case are kept. */
export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, "μs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Go's time.ParseDuration, returning milliseconds: "300ms", "-1.5h", "2h45m", "1h30m10.5s". A unit is required
 * except for "0".
 */
export function parseDuration(text: string): number {
  let s = text;
  let sign = 1;
  if (s.startsWith("-") || s.startsWith("+")) {
    if (s.startsWith("-")) sign = -1;
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") throw new Error(`time: invalid duration "${text}"`);
  let total = 0;
  const part = /^(\d*)(?:\.(\d*))?([a-zµμ]*)/;
  while (s !== "") {
    const m = part.exec(s);
    const whole = m?.[1] ?? "";
    const frac = m?.[2];
    const unit = m?.[3] ?? "";
    if (!m || (whole === "" && (frac === undefined || frac === ""))) throw new Error(`time: invalid duration "${text}"`);
    if (unit === "") throw new Error(`time: missing unit in duration "${text}"`);
    const scale = UNIT_MS[unit];
    if (scale === undefined) throw new Error(`time: unknown unit "${unit}" in duration "${text}"`);
    total += Number(`${whole || "0"}.${frac ?? "0"}`) * scale;
    s = s.slice(m[0].length);
  }
  return sign * total;
}

/** Go's Duration.String for a millisecond count: 0s, 200ms, 1.5s, 1m30s, 1h0m0s. */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  const sign = ms < 0 ? "-" : "";
  let rest = Math.abs(ms);
  if (rest < 1000) {
    if (rest >= 1) return `${sign}${trimFloat(rest)}ms`;
    if (rest >= 1e-3) return `${sign}${trimFloat(rest * 1e3)}µs`;
    return `${sign}${trimFloat(rest * 1e6)}ns`;
  }
  let out = "";
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  if (h > 0) out += `${h}h`;
  if (h > 0 || m > 0) out += `${m}m`;
  return `${sign}${out}${trimFloat(rest / 1000)}s`;
}

function trimFloat(n: number): string {
  return String(Number(n.toFixed(9)));
}

const TYPE_NAMES: Readonly<Record<FlagSpec["type"], string>> = { string: "string", number: "number", boolean: "", duration: "duration", stringArray: "stringArray" };

/** pflag-style usage: every flag, its type, help text and default. */
export function usage(spec: FlagSpecs, opts: Pick<ParseOptions, "command" | "summary">): string {
  const rows: [string, string][] = Object.entries(spec).map(([key, flag]) => {
    const name = flagName(key);
    const short = flag.short ? `-${flag.short}, ` : "    ";
    const type = TYPE_NAMES[flag.type];
    const def = describeDefault(flag);
    return [`  ${short}--${name}${type ? ` ${type}` : ""}`, `${flag.help}${def === undefined ? "" : ` (default ${def})`}`];
  });
  rows.push(["  -h, --help", `help for ${opts.command}`]);
  rows.sort((a, b) => a[0].replace(/^.*--/, "").localeCompare(b[0].replace(/^.*--/, "")));
  const width = Math.max(...rows.map(([left]) => left.length)) + 3;
  const lines = rows.map(([left, right]) => `${left.padEnd(width)}${right}`);
  const head = opts.summary ? `${opts.summary}\n\n` : "";
  return `${head}Usage:\n  ${opts.command} [flags]\n\nFlags:\n${lines.join("\n")}\n`;
}

function describeDefault(flag: FlagSpec): string | undefined {
  switch (flag.type) {
    case "string":
      return flag.default === undefined || flag.default === "" ? undefined : JSON.stringify(flag.default);
    case "number":
      return flag.default === undefined ? undefined : String(flag.default);
    case "boolean":
      return flag.default === true ? "true" : undefined;
    case "duration":
      if (flag.default === undefined) return undefined;
      return formatDuration(typeof flag.default === "string" ? parseDuration(flag.default) : flag.default);
    case "stringArray":
      return flag.default === undefined || flag.default.length === 0 ? undefined : `[${flag.default.join(",")}]`;
  }
}
