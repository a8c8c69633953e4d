// Starts kubelab's other processes (scheduler, controller-manager, hollow nodes) from dist/ as real child processes,
// with their logs captured, for cross-process tests. Each handle can be killed (a crash) and started again.
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "./apiserver.js";

export interface ComponentProcess {
  readonly name: string;
  readonly process: ChildProcess;
  readonly running: boolean;
  logs(): string;
  /** SIGKILL by default: a crash, no clean-up. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the same command again (after a kill). */
  start(): void;
}

const ENTRIES = {
  "kube-scheduler": ["dist", "scheduler", "main.js"],
  "kube-controller-manager": ["dist", "controller-manager", "main.js"],
  kubelab: ["dist", "lab", "main.js"],
} as const;

export function startComponent(kind: keyof typeof ENTRIES, args: string[], name: string = kind): ComponentProcess {
  const entry = join(REPO_ROOT, ...ENTRIES[kind]);
  let output = "";
  let child: ChildProcess;
  const launch = (): void => {
    child = spawn(process.execPath, [entry, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    const append = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.length > 4_000_000) output = output.slice(-2_000_000);
    };
    child.stdout?.on("data", append);
    child.stderr?.on("data", append);
  };
  launch();
  return {
    name,
    get process() {
      return child;
    },
    get running() {
      return child.exitCode === null && child.signalCode === null;
    },
    logs: () => output,
    async kill(signal: NodeJS.Signals = "SIGKILL") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => { resolve(); }));
      child.kill(signal);
      await exited;
    },
    start() {
      if (child.exitCode === null && child.signalCode === null) throw new Error(`${name} is still running`);
      launch();
    },
  };
}
