// Starts kubelab's other processes (scheduler, controller-manager, hollow nodes) from dist/ as real child processes,
// with their logs captured, for cross-process tests. Each handle can be killed (a crash) and started again.
import type { ChildProcess } from "node:child_process";
import { SERVING_LOG_PROBE, servingPort } from "../../lab/components/api-client.js";
import type { Component } from "../../lab/components/component.js";
import { hollowNodesComponent } from "../../lab/components/hollow-nodes.js";
import { controllerManagerComponent } from "../../lab/components/kube-controller-manager.js";
import { schedulerComponent } from "../../lab/components/kube-scheduler.js";
import type { ManagedProcess } from "../../lab/process/runner.js";
import { testProcesses } from "./processes.js";

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

/** The programs by their command name; `args` are the command line after it, exactly as a user would type it. */
const COMPONENTS = {
  "kube-scheduler": (name: string, args: readonly string[]): Component => schedulerComponent({ name, extraArgs: args }),
  "kube-controller-manager": (name: string, args: readonly string[]): Component => controllerManagerComponent({ name, extraArgs: args }),
  kubelab: (name: string, args: readonly string[]): Component => {
    const [subcommand, ...rest] = args;
    if (subcommand !== "hollow-nodes") throw new Error(`kubelab ${String(subcommand)}: only hollow-nodes runs as a component`);
    return hollowNodesComponent({ name, extraArgs: rest });
  },
} as const;

export function startComponent(kind: keyof typeof COMPONENTS, args: string[], name: string = kind): ComponentProcess {
  return handle(name, testProcesses.start(COMPONENTS[kind](name, args)));
}

/**
 * Starts a component whose health and metrics server picks its own loopback port (`args`, then `--port=0` and
 * `--address=127.0.0.1`, `--bind-address` for hollow nodes), and resolves once it has logged that port, with its URL. Its /readyz may not
 * answer 200 yet.
 */
export async function startComponentOnFreePort(kind: keyof typeof COMPONENTS, args: string[], name: string = kind): Promise<ComponentProcess & { url: string }> {
  // The scheduler's and controller-manager's plain port listens on --address (their --bind-address is the secure port's).
  const addressFlag = kind === "kubelab" ? "--bind-address" : "--address";
  const component = COMPONENTS[kind](name, [...args, "--port=0", `${addressFlag}=127.0.0.1`]);
  const { process: managed } = await testProcesses.startReady({ ...component, readiness: SERVING_LOG_PROBE });
  const port = servingPort(managed.logs());
  if (port === undefined) throw new Error(`${name} was ready without logging its port`);
  // Object.assign keeps the handle's getters live (a spread would copy their values once).
  return Object.assign(handle(name, managed), { url: `http://127.0.0.1:${port}` });
}

function handle(name: string, managed: ManagedProcess): ComponentProcess {
  return {
    name,
    get process() {
      return managed.process;
    },
    get running() {
      return managed.running;
    },
    logs: () => managed.logs(),
    kill: (signal: NodeJS.Signals = "SIGKILL") => managed.stop(signal),
    start() {
      managed.start();
    },
  };
}
