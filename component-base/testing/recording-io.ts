// A CommandIO for unit tests: output is kept in `out` and `err`, and exit(code) throws ExitCalled, so a test awaits
// the command and expects the rejection `new ExitCalled(code)`.
import type { CommandIO } from "../command-io.js";

export class ExitCalled extends Error {
  constructor(readonly code: number) {
    super(`exit ${String(code)}`);
  }
}

export function recordingIO(): CommandIO & { out: string; err: string } {
  const io = {
    out: "",
    err: "",
    stdout: (text: string) => {
      io.out += text;
    },
    stderr: (text: string) => {
      io.err += text;
    },
    exit: (code: number): never => {
      throw new ExitCalled(code);
    },
  };
  return io;
}
