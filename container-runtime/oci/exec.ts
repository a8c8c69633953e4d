// One way to run a host program and collect its output: argv only (never a shell), optional stdin, a timeout
// that kills the process. Errors carry the command and stderr, so a caller's log says what the host answered.
import { spawn } from "node:child_process";

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export interface RunResult {
  code: number;
  /** The signal that ended the process, when one did (e.g. after a timeout). */
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
  timedOut: boolean;
}

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly result: RunResult,
  ) {
    const detail = result.stderr.toString().trim() || result.stdout.toString().trim();
    super(`${command} exited ${result.signal ?? result.code}${detail === "" ? "" : `: ${detail}`}`);
    this.name = "CommandError";
  }
}

/** Runs argv[0] with argv[1..]; resolves with whatever the exit code was (callers decide what is a failure). */
export function run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const [command, ...args] = argv;
  if (command === undefined) return Promise.reject(new Error("run: empty argv"));
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"], env: options.env ?? process.env });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
          }, options.timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    child.on("error", (err) => {
      if (timer !== undefined) clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      if (timer !== undefined) clearTimeout(timer);
      resolve({ code: code ?? -1, signal, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr), timedOut });
    });
    // A program that exits without reading stdin makes the write fail with EPIPE; its exit code tells the story.
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input);
  });
}

/** Runs and throws CommandError unless the exit code is 0; returns stdout as text. */
export async function runChecked(argv: readonly string[], options: RunOptions = {}): Promise<string> {
  const result = await run(argv, options);
  if (result.code !== 0) throw new CommandError(argv.join(" "), result);
  return result.stdout.toString();
}
