// Structured logging for every process: JSON lines on stderr in the spirit of klog's JSON format
// ({"level":...,"ts":<unix seconds>,"component":...,<key/values>,"msg":...}). Other code takes the `Logger` type
// from here, so the backend can change in one place.
//
// Written here rather than with pino, whose lines these keep field for field: loading pino (its transports, worker
// threads, serializers, redaction) cost every process ~30 ms of CPU and ~7 MB at start, a tenth of the apiserver's
// start-up, for the few features used here: levels, child bindings, an `err` serializer, synchronous lines.
import { writeSync } from "node:fs";

export type Level = "trace" | "debug" | "info" | "warn" | "error" | "fatal";
export type LogLevel = Level | "silent";

/** `logger.info({ pod: key, node }, "Bound pod")`, `logger.info("Started")`, or `logger.error(err)`. */
export interface LogFn {
  (fields: object, msg?: string): void;
  (msg: string): void;
}

/** A structured logger: `logger.info({ pod: key, node }, "Bound pod")`; `logger.child({ controller: "rs" })`. */
export interface Logger {
  readonly level: LogLevel;
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  /** A logger whose lines carry `bindings` too (after the parent's). */
  child(bindings: Record<string, unknown>): Logger;
  isLevelEnabled(level: Level): boolean;
}

/** Where lines go: each call gets one complete line, newline included. */
export interface DestinationStream {
  write(line: string): unknown;
}

export interface LoggerOptions {
  /** An explicit level; wins over `verbosity`. */
  level?: LogLevel;
  /**
   * klog's --v. Messages are written with the method matching their klog V-level:
   *   info  → V(0)–V(1) (always on), debug → V(2)–V(4), trace → V(5)+.
   * So --v=0/1 shows info and up, --v=2..4 adds debug, --v≥5 adds trace.
   */
  verbosity?: number;
  /** Where lines go; default stderr (synchronously, so the last lines before a crash are not lost). */
  destination?: DestinationStream;
  /** Extra fields on every line (e.g. { node: "node-1" }). */
  base?: Record<string, unknown>;
}

const LEVELS: Readonly<Record<LogLevel, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity };

export function levelForVerbosity(verbosity: number): Level {
  if (verbosity >= 5) return "trace";
  if (verbosity >= 2) return "debug";
  return "info";
}

export function createLogger(component: string, opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? levelForVerbosity(opts.verbosity ?? 0);
  return new JsonLogger(level, opts.destination ?? stderr, { component, ...opts.base });
}

/** A logger that drops everything: a default for libraries and tests that were given none. */
export function silentLogger(): Logger {
  return new JsonLogger("silent", stderr, {});
}

class JsonLogger implements Logger {
  readonly level: LogLevel;
  readonly trace: LogFn;
  readonly debug: LogFn;
  readonly info: LogFn;
  readonly warn: LogFn;
  readonly error: LogFn;
  readonly fatal: LogFn;
  private readonly destination: DestinationStream;
  private readonly bindings: Record<string, unknown>;

  constructor(level: LogLevel, destination: DestinationStream, bindings: Record<string, unknown>) {
    this.level = level;
    this.destination = destination;
    this.bindings = bindings;
    this.trace = this.method("trace");
    this.debug = this.method("debug");
    this.info = this.method("info");
    this.warn = this.method("warn");
    this.error = this.method("error");
    this.fatal = this.method("fatal");
  }

  child(bindings: Record<string, unknown>): Logger {
    return new JsonLogger(this.level, this.destination, { ...this.bindings, ...serializeErr(bindings) });
  }

  isLevelEnabled(level: Level): boolean {
    return LEVELS[level] >= LEVELS[this.level];
  }

  private method(level: Level): LogFn {
    if (!this.isLevelEnabled(level)) return () => undefined;
    return (first: object | string, msg?: string) => {
      let fields: Record<string, unknown> | undefined;
      let message = msg;
      if (typeof first === "string") message = first;
      else if (first instanceof Error) {
        fields = { err: errorFields(first) };
        message ??= first.message;
      } else fields = serializeErr(first as Record<string, unknown>);
      const record = { level, ts: Date.now() / 1000, ...this.bindings, ...fields, ...(message !== undefined ? { msg: message } : {}) };
      this.destination.write(`${stringify(record)}\n`);
    };
  }
}

/** `fields` with an Error under `err` replaced by its type, message, stack and own fields (pino's err serializer). */
function serializeErr(fields: Record<string, unknown>): Record<string, unknown> {
  const err = fields.err;
  return err instanceof Error ? { ...fields, err: errorFields(err) } : fields;
}

function errorFields(err: Error, seen = new Set<Error>()): Record<string, unknown> {
  seen.add(err);
  const out: Record<string, unknown> = { type: err.constructor.name, message: err.message, stack: err.stack };
  for (const [key, value] of Object.entries(err)) if (!(key in out)) out[key] = value;
  if (err.cause instanceof Error && !seen.has(err.cause)) out.cause = errorFields(err.cause, seen);
  return out;
}

/** JSON.stringify, except that a cycle or a BigInt (which make it throw) never costs the line. */
function stringify(record: Record<string, unknown>): string {
  try {
    return JSON.stringify(record);
  } catch {
    return JSON.stringify(jsonSafe(record, new Set()));
  }
}

/** A copy JSON.stringify accepts: a reference to an ancestor becomes "[Circular]", a BigInt its decimal string. */
function jsonSafe(value: unknown, ancestors: Set<object>): unknown {
  if (typeof value === "bigint") return value.toString();
  if (typeof value !== "object" || value === null) return value;
  if (ancestors.has(value)) return "[Circular]";
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") {
    const converted: unknown = toJSON.call(value);
    if (converted !== value) return jsonSafe(converted, ancestors);
  }
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => jsonSafe(item, ancestors));
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = jsonSafe(item, ancestors);
    return out;
  } finally {
    ancestors.delete(value);
  }
}

/** Synchronous writes to fd 2; a full non-blocking pipe is retried briefly, and a gone reader never throws. */
const stderr: DestinationStream = {
  write(line: string): void {
    let rest = Buffer.from(line);
    for (let attempts = 0; rest.length > 0 && attempts < 100; ) {
      try {
        rest = rest.subarray(writeSync(2, rest));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EAGAIN") return;
        attempts++;
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
      }
    }
  },
};
