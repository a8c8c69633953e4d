// Running the node's tools (iptables-save, iptables-restore, conntrack). A prefix runs them elsewhere, e.g.
// ["ip", "netns", "exec", "<ns>"] runs them in a network namespace (how the integration tests keep the host's
// rules untouched).
import { spawn } from "node:child_process";

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CommandRunner {
  /** Runs argv with `stdin` written to its standard input; resolves with its exit code (never rejects on one). */
  run(argv: readonly string[], stdin?: string): Promise<CommandResult>;
}

export function execRunner(prefix: readonly string[] = []): CommandRunner {
  return {
    run(argv, stdin) {
      const [cmd, ...args] = [...prefix, ...argv];
      return new Promise((resolve, reject) => {
        const child = spawn(cmd ?? "", args, { stdio: ["pipe", "pipe", "pipe"] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (b: Buffer) => out.push(b));
        child.stderr.on("data", (b: Buffer) => err.push(b));
        child.on("error", reject);
        child.on("close", (code, signal) => {
          resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
        });
        child.stdin.on("error", () => {
          // The tool may exit before reading all of stdin; its exit code tells what happened.
        });
        child.stdin.end(stdin ?? "");
      });
    },
  };
}

/** Runs argv and returns stdout; throws with stderr when it exits non-zero. */
export async function runChecked(runner: CommandRunner, argv: readonly string[], stdin?: string): Promise<string> {
  const r = await runner.run(argv, stdin);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}
