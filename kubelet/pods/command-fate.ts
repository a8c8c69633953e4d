// What a container's command does on a simulated node (the hollow runtime and the unit tests' fake runtime), so
// that Jobs complete and `kubectl run --restart=Never -- echo hi` ends Completed without any process running:
//   - `sleep N` (N in seconds, GNU suffixes s/m/h/d allowed) runs N seconds and exits 0; `sleep infinity` never ends;
//   - `exit K` exits K (mod 256), `exit` alone 0;
//   - `echo ...`, `printf ...`, `true`, `:` exit 0 at once; `false` exits 1 at once;
//   - `sh -c "<script>"` (also bash, /bin/sh, ...) runs the script's commands, separated by `;` or `&&`, by the same
//     rules: their sleeps add up, `&&` stops at the first failure, the last command's code is the exit code;
//   - anything else (no command, a server, an unknown program) runs until stopped, as before.
// The argv is the container's command followed by its args (the image's entrypoint is unknown, so `args` alone
// are taken as the whole command line, as they are for busybox).

export interface CommandFate {
  exitCode: number;
  /** How long after the start the container exits. */
  afterMs: number;
}

const SHELLS = new Set(["sh", "bash", "ash", "dash"]);

function basename(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

const SLEEP_UNITS: Readonly<Record<string, number>> = { "": 1000, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** The fate of one simple command (argv already split); undefined: it runs forever. */
function simpleFate(argv: readonly string[]): CommandFate | undefined {
  const [first, ...rest] = argv;
  if (first === undefined) return undefined;
  const program = basename(first);
  switch (program) {
    case "true":
    case ":":
    case "echo":
    case "printf":
      return { exitCode: 0, afterMs: 0 };
    case "false":
      return { exitCode: 1, afterMs: 0 };
    case "exit": {
      if (rest.length === 0) return { exitCode: 0, afterMs: 0 };
      if (!/^\d+$/.test(rest[0]!)) return undefined;
      return { exitCode: Number(rest[0]) % 256, afterMs: 0 };
    }
    case "sleep": {
      if (rest.length === 0) return undefined;
      let total = 0;
      for (const arg of rest) {
        const m = /^(\d+(?:\.\d+)?)([smhd]?)$/.exec(arg);
        if (!m) return undefined; // `infinity` and anything unparsable: runs on
        total += Number(m[1]) * SLEEP_UNITS[m[2]!]!;
      }
      return { exitCode: 0, afterMs: Math.round(total) };
    }
    default:
      if (SHELLS.has(program) && rest[0] === "-c" && rest[1] !== undefined) return scriptFate(rest[1]);
      return undefined;
  }
}

/** A shell script of simple commands joined by `;`, `&&` or newlines; undefined when any part runs forever. */
export function scriptFate(script: string): CommandFate | undefined {
  let afterMs = 0;
  let exitCode = 0;
  // Split into (command, the operator before it) pairs; quotes are stripped, not interpreted.
  const parts = script.split(/(;|&&|\n)/);
  let operator = ";";
  let seen = false;
  for (const part of parts) {
    if (part === ";" || part === "&&" || part === "\n") {
      operator = part;
      continue;
    }
    const words = part.trim().split(/\s+/).filter((w) => w !== "").map((w) => w.replace(/^["']|["']$/g, ""));
    if (words.length === 0) continue;
    if (operator === "&&" && exitCode !== 0) continue;
    const fate = simpleFate(words);
    if (!fate) return undefined;
    seen = true;
    afterMs += fate.afterMs;
    exitCode = fate.exitCode;
    if (basename(words[0]!) === "exit") break;
  }
  return seen ? { exitCode, afterMs } : { exitCode: 0, afterMs: 0 };
}

/** The fate of a container whose command line is `command` then `args`; undefined: it runs until stopped. */
export function commandFate(command: readonly string[] | undefined, args: readonly string[] | undefined): CommandFate | undefined {
  return simpleFate([...(command ?? []), ...(args ?? [])]);
}
