// kubelab's other processes (scheduler, controller-manager, hollow nodes) started by a benchmark as real child
// processes from dist/, with the same teardown guarantees as etcd and the apiserver in cluster.ts: a registered
// cleanup step, and a SIGKILL from an exit hook if the bench dies before its cleanup ran.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { onCleanup } from "./cluster.js";
import { nowMs } from "./stats.js";

export type ComponentKind = "scheduler" | "controller-manager" | "lab";

const ENV_OVERRIDE: Record<ComponentKind, string> = {
  scheduler: "KUBELAB_SCHEDULER_MAIN",
  "controller-manager": "KUBELAB_CONTROLLER_MANAGER_MAIN",
  lab: "KUBELAB_LAB_MAIN",
};

/** dist/<kind>/main.js, found from dist/bench/ when compiled or from bench/ when run from source. */
export function componentMain(kind: ComponentKind): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const fromEnv = process.env[ENV_OVERRIDE[kind]];
  const candidates = [
    ...(fromEnv ? [resolve(fromEnv)] : []),
    resolve(here, "..", kind, "main.js"),
    resolve(here, "..", "dist", kind, "main.js"),
  ];
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`cannot find the built ${kind} (looked for ${candidates.join(", ")}); run \`npm run build\` first`);
  return found;
}

const children = new Set<ChildProcess>();
let hookInstalled = false;

function installExitHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.on("exit", () => {
    for (const child of children) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  });
}

export interface BenchComponent {
  readonly name: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** performance.now() just before the spawn. */
  readonly spawnedAt: number;
  /** The last part of what the process wrote to stdout/stderr. */
  logs(): string;
  /** Why the process is gone ("exited with code 1", "killed by SIGSEGV"), or undefined while it runs. */
  exitReason(): string | undefined;
  /** Stops it (SIGTERM, then SIGKILL after 5 s) and unregisters its cleanup. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const LOG_TAIL = 256 * 1024;

/** Spawns `node dist/<kind>/main.js ...args`; its teardown is registered at once. */
export function startBenchComponent(kind: ComponentKind, args: readonly string[], name: string = kind): BenchComponent {
  installExitHook();
  const main = componentMain(kind);
  let output = "";
  const append = (chunk: Buffer): void => {
    output += chunk.toString();
    if (output.length > 2 * LOG_TAIL) output = output.slice(-LOG_TAIL);
  };
  const spawnedAt = nowMs();
  const child = spawn(process.execPath, [main, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  child.stdout.on("data", append);
  child.stderr.on("data", append);
  child.on("error", (err) => { append(Buffer.from(`\n[bench] spawn error: ${err.message}\n`)); });
  const exitReason = (): string | undefined => {
    if (child.signalCode !== null) return `killed by ${child.signalCode}`;
    if (child.exitCode !== null) return `exited with code ${child.exitCode}`;
    return undefined;
  };
  const kill = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once("exit", () => { r(); }));
      child.kill(signal);
      const timer = setTimeout(() => { child.kill("SIGKILL"); }, 5_000);
      await exited;
      clearTimeout(timer);
    }
    children.delete(child);
  };
  const unregister = onCleanup(name, () => kill("SIGKILL"));
  return {
    name,
    pid: child.pid ?? -1,
    process: child,
    spawnedAt,
    logs: () => output,
    exitReason,
    stop: async (signal: NodeJS.Signals = "SIGTERM") => {
      await kill(signal);
      await unregister();
    },
  };
}
