// Session adapters for the streaming server: child processes (the oci backend's `runc exec`, attach and port
// relays), sockets, and in-memory streams for the fake backend.
import type { ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
import { constants } from "node:os";
import { PassThrough, type Readable } from "node:stream";
import type { TerminalSize } from "../../api/streaming/channel-protocol.js";
import type { ExecProcess, PortConnection } from "./server.js";

/** How long a child may take to end after `killProcess` ended what it started, before it is killed itself. */
const CHILD_GRACE_MS = 5_000;

/**
 * A child process as an ExecProcess; a signal death reads as 128 + the signal's number, as a shell reports it.
 * `killProcess` ends what the child started when killing the child alone would not (a process runc exec
 * placed in a container outlives runc). The child is then left to reap it and exit (SIGKILLed only after a
 * grace period): killed first, it would orphan the process to the container's init, which may never reap it.
 */
export function childExecProcess(child: ChildProcess, killProcess?: () => void): ExecProcess {
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
      if (killProcess === undefined) {
        child.kill("SIGKILL");
        return;
      }
      killProcess();
      const timer = setTimeout(() => child.kill("SIGKILL"), CHILD_GRACE_MS);
      timer.unref();
      child.once("exit", () => { clearTimeout(timer); });
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

/**
 * An attach relay (container-runtime/oci/relays.ts) as an ExecProcess: exit 0 means the container's output ended;
 * any other exit rejects `exited` with what the relay wrote on fd 3. Killing it detaches.
 */
export function childAttachProcess(child: ChildProcess, resize?: (size: TerminalSize) => void): ExecProcess {
  const reason = collect(child.stdio[3] as Readable | null | undefined);
  const proc = childExecProcess(child);
  const exited = proc.exited.then(async (code) => {
    if (code === 0) return 0;
    const text = (await reason).trim();
    throw new Error(text !== "" ? text : `the attach relay exited with ${code}`);
  });
  return { ...proc, exited, ...(resize !== undefined ? { resize } : {}) };
}

/** A port relay child: stdin/stdout are the connection, a non-zero exit fails it with the relay's stderr. */
export function childPortConnection(child: ChildProcess): PortConnection {
  if (child.stdin === null || child.stdout === null) throw new Error("the port relay has no stdio pipes");
  const stderr = collect(child.stderr);
  const done = new Promise<string | undefined>((resolve) => {
    child.once("error", (err) => { resolve(err.message); });
    child.once("close", (code, signal) => {
      void stderr.then((text) => { resolve(code === 0 ? undefined : text.trim() !== "" ? text.trim() : `the port relay exited with ${code ?? signal ?? "?"}`); });
    });
  });
  return {
    input: child.stdin,
    output: child.stdout,
    done,
    close: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

/** A TCP socket (a host-network pod's port, reached from the daemon) as a PortConnection. */
export function socketPortConnection(socket: Socket): PortConnection {
  let failure: string | undefined;
  socket.on("error", (err) => { failure = err.message; });
  const done = new Promise<string | undefined>((resolve) => socket.once("close", () => { resolve(failure); }));
  return { input: socket, output: socket, done, close: () => socket.destroy() };
}

/**
 * An attach simulated in memory: a container whose command is `cat` (no arguments) echoes stdin to stdout until
 * stdin ends, and its output then ends; any other container prints nothing, and the session lasts until the
 * client detaches.
 */
export function simulatedAttachProcess(command: readonly string[]): ExecProcess {
  if (command.length === 1 && command[0] === "cat") return simulatedExecProcess(command, { stdout: new Uint8Array(0), stderr: new Uint8Array(0), exitCode: 0 });
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdin.resume();
  let detached: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => (detached = resolve));
  return {
    stdin,
    stdout,
    stderr,
    exited,
    resize: () => undefined,
    kill: () => {
      stdout.end();
      stderr.end();
      detached(0);
    },
  };
}

/** A port connection simulated in memory: an echo server, which ends when the client's bytes end or it is closed. */
export function echoPortConnection(): PortConnection {
  const stream = new PassThrough();
  const done = new Promise<string | undefined>((resolve) => stream.once("close", () => { resolve(undefined); }));
  return { input: stream, output: stream, done, close: () => stream.destroy() };
}

/** Everything a stream carries, as text, once it ends (empty for no stream). */
function collect(stream: Readable | null | undefined): Promise<string> {
  if (stream === null || stream === undefined) return Promise.resolve("");
  const chunks: Buffer[] = [];
  return new Promise((resolve) => {
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.once("close", () => { resolve(Buffer.concat(chunks).toString("utf8")); });
    stream.once("error", () => { resolve(Buffer.concat(chunks).toString("utf8")); });
  });
}
