// The one way kubelab starts a component: spawn it from its descriptor with its output captured (a memory ring, and
// a log file when asked), wait until its readiness probe passes (failing fast, with its last output, if it exits
// first), optionally restart it whenever it exits (with backoff, counting restarts), and stop it by signal.
// A ManagedProcess only ever signals the child it spawned itself, by that child's PID, and only while it runs.
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, createWriteStream, existsSync, type WriteStream } from "node:fs";
import { commandLine, type Component, type ReadinessProbe } from "../components/component.js";
import { trackChild, untrackChild } from "./exit-cleanup.js";
import { LogRing } from "./log-ring.js";
import { httpOk } from "./probe.js";

/** Restart-always with exponential backoff, like a container's `restart: always`. */
export interface RestartPolicy {
  /** Delay before the first restart after a crash. */
  initialDelayMs: number;
  /** The delay doubles with each crash in a row, up to this. */
  maxDelayMs: number;
  /** A run at least this long counts as healthy: the next crash starts again from initialDelayMs. */
  resetAfterMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { initialDelayMs: 100, maxDelayMs: 10_000, resetAfterMs: 10_000 };

/** The delay before restart number `crashesInARow` (1 for the first crash after a healthy run). */
export function restartDelayMs(crashesInARow: number, policy: RestartPolicy): number {
  const doublings = Math.max(0, crashesInARow - 1);
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(doublings, 30));
}

export interface StartOptions {
  /** Appends the process's stdout and stderr to this file as well. */
  logFile?: string;
  /** How much recent output logs() keeps (characters); 4 M by default, trimmed to half when exceeded. */
  logRingChars?: number;
  /** Restart the process whenever it exits on its own. */
  supervise?: RestartPolicy;
  /** Environment of the process; this process's by default. */
  env?: NodeJS.ProcessEnv;
  /** The Node that runs Node entry points; this one by default. */
  nodePath?: string;
}

export interface WaitReadyOptions {
  timeoutMs?: number;
  /** Pause between probes; short when the time to ready is itself measured. */
  intervalMs?: number;
}

const DEFAULT_LOG_RING_CHARS = 4_000_000;
/** How much of a process's output an error message quotes. */
export const ERROR_LOG_TAIL_CHARS = 4_000;

/** Why a process is gone, as a sentence fragment ("exited with code 1", "killed by SIGKILL"), or undefined. */
export function describeExit(exitCode: number | null, signalCode: NodeJS.Signals | null): string | undefined {
  if (signalCode !== null) return `killed by ${signalCode}`;
  if (exitCode !== null) return `exited with code ${exitCode}`;
  return undefined;
}

export function describeProbe(probe: ReadinessProbe): string {
  switch (probe.kind) {
    case "http":
      return `GET ${probe.url}`;
    case "log":
      return `output matching ${String(probe.pattern)}`;
  }
}

export class ManagedProcess {
  readonly name: string;
  private child!: ChildProcess;
  private spawnError: Error | undefined;
  private exited!: Promise<void>;
  private readonly ring: LogRing;
  private spawnedAtMs = 0;
  /** Where the current child's output starts in the ring, so a log probe never matches a previous run's lines. */
  private spawnedAtOutput = 0;
  private stopRequested = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private crashesInARow = 0;
  private restartCount = 0;

  /** Spawns the component at once. */
  constructor(
    readonly component: Component,
    private readonly options: StartOptions = {},
  ) {
    this.name = component.name;
    this.ring = new LogRing(options.logRingChars ?? DEFAULT_LOG_RING_CHARS);
    const { program } = component;
    if (program.kind === "node" && !existsSync(program.entry)) {
      throw new Error(`cannot find ${program.entry} for ${component.name}; run \`npm run build\` first`);
    }
    this.spawnChild();
  }

  /** The child process of the current run. */
  get process(): ChildProcess {
    return this.child;
  }

  /** PID of the current run; -1 if it could not be spawned. */
  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.pid !== undefined && this.spawnError === undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** performance.now() just before the current run was spawned. */
  get spawnedAt(): number {
    return this.spawnedAtMs;
  }

  /** How many times supervision has restarted the process. */
  get restarts(): number {
    return this.restartCount;
  }

  /**
   * Where the process is in its life: "running", "backoff" (crashed, a supervised restart is pending), "stopped"
   * (stop() was called) or "exited" (gone on its own, not supervised).
   */
  get phase(): "running" | "backoff" | "stopped" | "exited" {
    if (this.running) return "running";
    if (this.restartTimer !== undefined) return "backoff";
    return this.stopRequested ? "stopped" : "exited";
  }

  /** One run of the readiness probe against the current run; false while it is not running. */
  async probe(): Promise<boolean> {
    if (!this.running) return false;
    const probe = this.component.readiness;
    return probe === undefined ? true : this.probeOnce(probe);
  }

  /** The process's recent stdout and stderr, interleaved as they arrived, across restarts. */
  logs(): string {
    return this.ring.contents();
  }

  /** Why the current run is gone ("exited with code 1", "killed by SIGSEGV"), or undefined while it runs. */
  exitReason(): string | undefined {
    if (this.spawnError) return `could not be started (${this.spawnError.message})`;
    return describeExit(this.child.exitCode, this.child.signalCode);
  }

  /**
   * Polls the component's readiness probe until it passes; resolves with the milliseconds from spawn to ready.
   * Rejects, quoting the end of the output, on the deadline or, unless supervised, as soon as the process exits.
   * A component without a probe is ready once spawned.
   */
  async waitReady(options: WaitReadyOptions = {}): Promise<number> {
    const probe = this.component.readiness;
    const timeoutMs = options.timeoutMs ?? 20_000;
    const intervalMs = options.intervalMs ?? 50;
    const until = performance.now() + timeoutMs;
    // A spawn that failed (no such binary) has no PID at once; its error event, with the reason, follows shortly.
    if (this.child.pid === undefined) await this.exited;
    for (;;) {
      const gone = this.exitReason();
      if (gone && !this.options.supervise) throw new Error(`${this.name} ${gone} before it was ready; ${this.outputTail()}`);
      if (!gone && (probe === undefined || (await this.probeOnce(probe)))) return performance.now() - this.spawnedAtMs;
      if (performance.now() >= until) {
        const what = probe ? ` (${describeProbe(probe)})` : "";
        throw new Error(`${this.name} not ready within ${timeoutMs} ms${what}; ${this.outputTail()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  }

  /**
   * Stops the process and its supervision: `signal`, then SIGKILL if it is still running after `graceMs`.
   * Resolves once it has exited; a process that is not running is left alone.
   */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000): Promise<void> {
    this.stopRequested = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    if (!this.running) return;
    this.child.kill(signal);
    const escalate = signal === "SIGKILL" ? undefined : setTimeout(() => { if (this.running) this.child.kill("SIGKILL"); }, graceMs);
    await this.exited;
    if (escalate) clearTimeout(escalate);
  }

  /** Starts the same command again, after it stopped or crashed; supervision (if any) resumes. */
  start(): void {
    if (this.running) throw new Error(`${this.name} is still running`);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.stopRequested = false;
    this.spawnChild();
  }

  /** stop(), start() and waitReady() on the same ports and data. */
  async restart(options: WaitReadyOptions = {}): Promise<number> {
    await this.stop();
    this.start();
    return this.waitReady(options);
  }

  private spawnChild(): void {
    const { command, args } = commandLine(this.component, this.options.nodePath ?? process.execPath);
    this.spawnError = undefined;
    this.spawnedAtMs = performance.now();
    this.spawnedAtOutput = this.ring.mark();
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], env: this.options.env ?? process.env });
    this.child = child;
    trackChild(child);
    const file: WriteStream | undefined = this.options.logFile ? createWriteStream(this.options.logFile, { flags: "a" }) : undefined;
    const append = (chunk: Buffer): void => {
      this.ring.append(chunk.toString());
      file?.write(chunk);
    };
    child.stdout?.on("data", append);
    child.stderr?.on("data", append);
    this.exited = new Promise<void>((resolve) => {
      child.once("exit", () => {
        resolve();
        this.onExit(child);
      });
      child.once("error", (err) => {
        // Only a failed spawn leaves the child without a PID; other errors (a failed kill) change nothing here.
        if (child.pid !== undefined) return;
        this.spawnError = err;
        this.ring.append(`\n[runner] cannot start ${command}: ${err.message}\n`);
        untrackChild(child);
        resolve();
        this.onExit(child);
      });
    });
    child.once("close", () => file?.end());
    if (file && child.pid === undefined) file.end();
  }

  private onExit(child: ChildProcess): void {
    const policy = this.options.supervise;
    if (!policy || this.stopRequested || child !== this.child) return;
    const ranForMs = performance.now() - this.spawnedAtMs;
    this.crashesInARow = ranForMs >= policy.resetAfterMs ? 1 : this.crashesInARow + 1;
    const delay = restartDelayMs(this.crashesInARow, policy);
    this.note(`${this.name} ${this.exitReason() ?? "exited"}; restarting in ${delay} ms`);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopRequested) return;
      this.restartCount++;
      this.spawnChild();
    }, delay);
  }

  /** A line of the runner's own (a restart and its reason) in the output and the log file, between the process's lines. */
  private note(message: string): void {
    const line = `\n[runner] ${message}\n`;
    this.ring.append(line);
    if (this.options.logFile !== undefined) {
      try {
        appendFileSync(this.options.logFile, line);
      } catch {
        // The log file is a convenience; the ring still has the line.
      }
    }
  }

  private async probeOnce(probe: ReadinessProbe): Promise<boolean> {
    switch (probe.kind) {
      case "http":
        return httpOk(probe.url, undefined, probe.caFile);
      case "log":
        return probe.pattern.test(this.ring.since(this.spawnedAtOutput));
    }
  }

  private outputTail(): string {
    return `its output ends with:\n${this.ring.tail(ERROR_LOG_TAIL_CHARS)}`;
  }
}
