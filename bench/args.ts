// Minimal command-line flags for the benchmarks: `--name value`, `--name=value`, and bare boolean `--name`.

export class UsageError extends Error {}

export interface NumberFlag {
  type: "number";
  help: string;
  /** Smallest accepted value (inclusive). */
  min?: number;
}
export interface BooleanFlag {
  type: "boolean";
  help: string;
}
export interface StringFlag {
  type: "string";
  help: string;
  choices?: readonly string[];
}
export type FlagSpec = NumberFlag | BooleanFlag | StringFlag;

type ValueOf<S extends FlagSpec> = S extends NumberFlag ? number : S extends BooleanFlag ? boolean : string;
/** Parsed flags: only the ones given on the command line are present. */
export type ParsedFlags<T extends Record<string, FlagSpec>> = { -readonly [K in keyof T]?: ValueOf<T[K]> };

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function parseFlags<T extends Record<string, FlagSpec>>(specs: T, argv: readonly string[]): ParsedFlags<T> {
  const byFlag = new Map<string, string>();
  for (const key of Object.keys(specs)) byFlag.set(kebab(key), key);
  const out: Record<string, number | boolean | string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const key = byFlag.get(name);
    const spec = key === undefined ? undefined : specs[key];
    if (key === undefined || spec === undefined) throw new UsageError(`unknown flag --${name}`);
    let raw: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    if (spec.type === "boolean") {
      if (raw === undefined) out[key] = true;
      else if (raw === "true" || raw === "false") out[key] = raw === "true";
      else throw new UsageError(`--${name} takes true or false, not ${JSON.stringify(raw)}`);
      continue;
    }
    if (raw === undefined) {
      raw = argv[i + 1];
      i++;
      if (raw === undefined) throw new UsageError(`--${name} needs a value`);
    }
    if (spec.type === "number") {
      const value = Number(raw.replace(/_/g, ""));
      if (!Number.isFinite(value) || !Number.isInteger(value)) throw new UsageError(`--${name} takes an integer, not ${JSON.stringify(raw)}`);
      if (spec.min !== undefined && value < spec.min) throw new UsageError(`--${name} must be at least ${spec.min}`);
      out[key] = value;
    } else {
      if (spec.choices && !spec.choices.includes(raw)) throw new UsageError(`--${name} takes one of ${spec.choices.join(", ")}`);
      out[key] = raw;
    }
  }
  return out as ParsedFlags<T>;
}

export function flagsHelp(specs: Record<string, FlagSpec>): string {
  const lines = Object.entries(specs).map(([key, spec]) => {
    const value = spec.type === "boolean" ? "" : spec.type === "number" ? " N" : spec.choices ? ` ${spec.choices.join("|")}` : " S";
    return [`  --${kebab(key)}${value}`, spec.help] as const;
  });
  const width = Math.max(...lines.map(([l]) => l.length));
  return lines.map(([l, h]) => `${l.padEnd(width)}  ${h}`).join("\n");
}

/**
 * A benchmark's configuration from its arguments, or the exit code to return at once: 0 after printing the usage
 * for --help, 2 after printing a usage error.
 */
export function configOrExitCode<C>(argv: readonly string[], parse: (argv: readonly string[]) => C | "help", usage: () => string): C | { exitCode: number } {
  try {
    const parsed = parse(argv);
    if (parsed === "help") {
      process.stdout.write(`${usage()}\n`);
      return { exitCode: 0 };
    }
    return parsed;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n\n${usage()}\n`);
      return { exitCode: 2 };
    }
    throw err;
  }
}
