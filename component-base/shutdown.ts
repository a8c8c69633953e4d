// Graceful shutdown, as Kubernetes components do it (k8s.io/apiserver/pkg/server.SetupSignalContext): the first
// SIGINT/SIGTERM aborts a signal that the whole process hangs off; a second one exits at once with code 1.
import { whenAborted } from "./clock.js";
import type { Logger } from "./logging.js";

/** The parts of `process` shutdown handling touches; injectable for tests. */
export interface ProcessLike {
  on(event: "SIGINT" | "SIGTERM", listener: (signal: NodeJS.Signals) => void): unknown;
  off(event: "SIGINT" | "SIGTERM", listener: (signal: NodeJS.Signals) => void): unknown;
  exit(code: number): never;
}

export interface ShutdownOptions {
  process?: ProcessLike;
}

/**
 * Returns a signal aborted (reason: the signal name) on the first SIGINT or SIGTERM. The handlers stay installed:
 * a second signal calls exit(1) without waiting for anything.
 */
export function onShutdown(logger: Logger, opts: ShutdownOptions = {}): AbortSignal {
  const proc: ProcessLike = opts.process ?? process;
  const controller = new AbortController();
  const handler = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      logger.warn({ signal }, "Received second signal, exiting immediately");
      proc.exit(1);
    }
    logger.info({ signal }, "Received signal, shutting down (send again to exit immediately)");
    controller.abort(signal);
  };
  proc.on("SIGINT", handler);
  proc.on("SIGTERM", handler);
  return controller.signal;
}

export interface RunOptions extends ShutdownOptions {
  /**
   * After the signal aborts, how long `main` may take to return before the process exits anyway (default 30 s,
   * the kubelet's default termination grace).
   */
  gracePeriodMs?: number;
}

/**
 * The tail of every main.ts: installs onShutdown, runs `main(signal)`, and exits — 0 once main has returned (it
 * should return after the signal aborts; if it returns earlier, the process still waits for the signal, since
 * servers and informers keep running in the background), 1 if main throws, 1 if main outlives the grace period.
 */
export async function runUntilAborted(logger: Logger, main: (signal: AbortSignal) => Promise<void> | void, opts: RunOptions = {}): Promise<never> {
  const proc: ProcessLike = opts.process ?? process;
  const signal = onShutdown(logger, opts);
  const grace = opts.gracePeriodMs ?? 30_000;
  let graceTimer: NodeJS.Timeout | undefined;
  // The timer holds the event loop open: a shutdown waiting on something that can no longer happen (a promise no
  // handle will settle) then ends here, with this message and exit 1, not as Node's bare exit 13 for a top-level
  // await left unsettled.
  void whenAborted(signal).then(() => {
    graceTimer = setTimeout(() => {
      logger.error({ gracePeriodMs: grace }, "Shutdown took longer than the grace period, exiting");
      proc.exit(1);
    }, grace);
  });
  try {
    await main(signal);
    await whenAborted(signal);
  } catch (err) {
    logger.error({ err }, "Exiting on error");
    return proc.exit(1);
  } finally {
    if (graceTimer) clearTimeout(graceTimer);
  }
  logger.info("Shut down cleanly");
  return proc.exit(0);
}
