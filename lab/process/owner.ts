// A ProcessOwner is what guarantees teardown: it starts components (through ManagedProcess), makes throw-away
// directories, and records a teardown step for each, plus any step its user adds (closing a client, say).
// teardown() runs the steps newest first, each bounded in time, and never throws; processes are SIGKILLed (a
// throw-away cluster needs no graceful shutdown). If teardown never runs, the exit hook in exit-cleanup.ts still
// kills the children and removes the directories, and teardownOnSignals() makes SIGINT/SIGTERM/SIGHUP run it.
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { errorMessage } from "../../api/errors.js";
import type { Component } from "../components/component.js";
import { trackDir, trackedCount, untrackDir } from "./exit-cleanup.js";
import { ManagedProcess, type StartOptions, type WaitReadyOptions } from "./runner.js";

interface TeardownStep {
  name: string;
  run: () => Promise<void> | void;
}

export interface OwnerOptions {
  /** Each process started also writes its output to <logDir>/<name>.log. */
  logDir?: string;
  /** Where teardown reports a step that failed; stderr by default. */
  report?: (message: string) => void;
}

const owners = new Set<ProcessOwner>();

/** A component name made safe as a file name ("hollow-nodes hn" → "hollow-nodes-hn"). */
export function logFileName(componentName: string): string {
  const safe = componentName.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "");
  return `${safe || "component"}.log`;
}

export class ProcessOwner {
  private readonly steps: TeardownStep[] = [];

  constructor(private readonly options: OwnerOptions = {}) {
    owners.add(this);
  }

  /** Starts a component now; it is SIGKILLed on teardown. */
  start(component: Component, options: StartOptions = {}): ManagedProcess {
    const logFile = this.options.logDir ? join(this.options.logDir, logFileName(component.name)) : undefined;
    const proc = new ManagedProcess(component, { ...(logFile ? { logFile } : {}), ...options });
    this.onTeardown(`stop ${component.name}`, () => proc.stop("SIGKILL"));
    return proc;
  }

  /** Starts a component and waits until it is ready; if it never is, it is killed before the error is thrown. */
  async startReady(component: Component, options: StartOptions & WaitReadyOptions = {}): Promise<{ process: ManagedProcess; readyMs: number }> {
    const proc = this.start(component, options);
    try {
      return { process: proc, readyMs: await proc.waitReady(options) };
    } catch (err) {
      await proc.stop("SIGKILL");
      throw err;
    }
  }

  /** A new empty directory (under `base`, the system's tmpdir by default) removed on teardown. */
  tempDir(prefix: string, base: string): string {
    const dir = mkdtempSync(join(base, prefix));
    trackDir(dir);
    this.onTeardown(`remove ${dir}`, () => {
      removeDir(dir);
    });
    return dir;
  }

  /** Registers a teardown step; returns a function that runs it now (once) and unregisters it. */
  onTeardown(name: string, run: () => Promise<void> | void): () => Promise<void> {
    const step: TeardownStep = { name, run };
    this.steps.push(step);
    return async () => {
      const index = this.steps.indexOf(step);
      if (index < 0) return;
      this.steps.splice(index, 1);
      await step.run();
    };
  }

  /** How many teardown steps are pending. */
  get pending(): number {
    return this.steps.length;
  }

  /** Runs every teardown step, newest first, each bounded by `timeoutMs`; never throws. */
  async teardown(timeoutMs = 10_000): Promise<void> {
    const report = this.options.report ?? ((message: string) => process.stderr.write(`${message}\n`));
    for (let step = this.steps.pop(); step; step = this.steps.pop()) {
      let timer: NodeJS.Timeout | undefined;
      const { name, run } = step;
      try {
        await Promise.race([
          Promise.resolve().then(run),
          new Promise<void>((_, reject) => {
            timer = setTimeout(() => { reject(new Error(`timed out after ${timeoutMs} ms`)); }, timeoutMs);
          }),
        ]);
      } catch (err) {
        report(`teardown step "${name}" failed: ${errorMessage(err)}`);
      } finally {
        if (timer) clearTimeout(timer);
      }
    }
  }
}

/** Removes a throw-away directory now and forgets it. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  untrackDir(dir);
}

/** Tears down every owner in this process. */
export async function teardownAll(timeoutMs = 10_000): Promise<void> {
  await Promise.all([...owners].map((owner) => owner.teardown(timeoutMs)));
}

const SIGNAL_EXIT_CODES: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };
let signalsHandled = false;

/**
 * On SIGINT, SIGTERM or SIGHUP, tears down every owner (each step bounded by `graceMs`) and exits 128 + the signal's
 * number; a second signal exits at once (the exit hook still kills children). While no started process runs and no
 * throw-away directory is left, the signal keeps its default effect, so a process that only sometimes starts
 * components behaves as it did.
 */
export function teardownOnSignals(report: (message: string) => void = (m) => process.stderr.write(`${m}\n`), graceMs = 5_000): void {
  if (signalsHandled) return;
  signalsHandled = true;
  let tearingDown = false;
  const handler = (signal: NodeJS.Signals): void => {
    const code = SIGNAL_EXIT_CODES[signal] ?? 1;
    if (tearingDown) process.exit(code);
    if (trackedCount() === 0) {
      for (const s of Object.keys(SIGNAL_EXIT_CODES)) process.removeListener(s, handler);
      signalsHandled = false;
      // Other listeners have had this signal already; without any, re-raise it for its default effect.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      return;
    }
    tearingDown = true;
    report(`${signal}: stopping the processes this one started…`);
    void teardownAll(graceMs).finally(() => process.exit(code));
  };
  for (const s of Object.keys(SIGNAL_EXIT_CODES)) process.on(s, handler);
}
