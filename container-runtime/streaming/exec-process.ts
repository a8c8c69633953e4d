// ExecProcess adapters: a child process (the oci backend's `runc exec`), and in-memory streams for the fake
// backend.
import type { ChildProcess } from "node:child_process";
import { constants } from "node:os";
import { PassThrough } from "node:stream";
import type { ExecProcess } from "./server.js";

/**
 * A child process as an ExecProcess; a signal death reads as 128 + the signal's number, as a shell reports it.
 * `killProcess` ends what the child started when killing the child alone would not (a process runc exec
 * placed in a container outlives runc).
 */
export function childExecProcess(child: ChildProcess, killProcess: () => void = () => undefined): ExecProcess {
  const exited = new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      resolve(code ?? 128 + (signal !== null ? (constants.signals[signal] ?? 0) : 0));
    });
  });
  return {
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    exited,
    kill: () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      killProcess();
      child.kill("SIGKILL");
    },
  };
}

/**
 * A process simulated in memory: `cat` with no arguments copies stdin to stdout and exits 0 at stdin's end;
 * any other command prints `output` and exits with `exitCode` at once, without reading stdin.
 */
export function simulatedExecProcess(cmd: readonly string[], output: { stdout: Uint8Array; stderr: Uint8Array; exitCode: number }): ExecProcess {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let killed: (code: number) => void = () => undefined;
  const drained = (stream: PassThrough): Promise<void> => new Promise((resolve) => stream.once("end", resolve));
  const outputDone = Promise.all([drained(stdout), drained(stderr)]);
  let exitCode = output.exitCode;
  if (cmd.length === 1 && cmd[0] === "cat") {
    exitCode = 0;
    stdin.pipe(stdout);
    stdin.once("end", () => stderr.end());
  } else {
    stdin.resume();
    stdout.end(output.stdout);
    stderr.end(output.stderr);
  }
  // The exit is reported once the reader has taken all the output, as a real process's pipes are drained first.
  const exited = Promise.race([outputDone.then(() => exitCode), new Promise<number>((resolve) => (killed = resolve))]);
  return {
    stdin,
    stdout,
    stderr,
    exited,
    kill: () => {
      stdin.end();
      killed(137);
    },
  };
}
