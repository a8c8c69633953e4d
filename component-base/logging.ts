// Structured logging for every process: JSON lines on stderr in the spirit of klog's JSON format
// ({"ts":<unix seconds>,"msg":...,"component":...,<key/values>}). Other code takes the `Logger` type from here and
// never imports pino itself, so the backend can change in one place.
import { destination as pinoDestination, pino } from "pino";
import type { DestinationStream, Level, Logger as PinoLogger } from "pino";

/** A structured logger: `logger.info({ pod: key, node }, "Bound pod")`; `logger.child({ controller: "rs" })`. */
export type Logger = PinoLogger;
export type LogLevel = Level | "silent";

export interface LoggerOptions {
  /** An explicit pino level; wins over `verbosity`. */
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

export function levelForVerbosity(verbosity: number): Level {
  if (verbosity >= 5) return "trace";
  if (verbosity >= 2) return "debug";
  return "info";
}

export function createLogger(component: string, opts: LoggerOptions = {}): Logger {
  const level = opts.level ?? levelForVerbosity(opts.verbosity ?? 0);
  const destination = opts.destination ?? pinoDestination({ fd: 2, sync: true });
  return pino(
    {
      level,
      base: { component, ...opts.base },
      messageKey: "msg",
      // klog JSON stamps "ts" as float seconds since the epoch.
      timestamp: () => `,"ts":${Date.now() / 1000}`,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** A logger that drops everything: a default for libraries and tests that were given none. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
