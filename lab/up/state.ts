// <home>/lab.json: the lab's configuration and a record of what exists, so that every command (and `kubelab down`
// after a crash or kill -9 of the supervisor) knows what to act on and what to remove. Written atomically (a
// rename), by `up` first and then only by the supervisor while it runs; `down` deletes it last.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LabConfig } from "./config.js";

export interface LabState {
  config: LabConfig;
  /** The nodes made (their namespace may be half made): names node-N. */
  nodes: string[];
  /** The supervisor's PID while it runs. */
  supervisorPid?: number | undefined;
  /** Whether `up` created the home directory (then `down` removes it whole; otherwise only what the lab wrote). */
  createdHome: boolean;
}

export function statePath(home: string): string {
  return join(home, "lab.json");
}

export function controlSocketPath(home: string): string {
  return join(home, "control.sock");
}

export function logDir(home: string): string {
  return join(home, "logs");
}

export function kubeconfigPath(home: string): string {
  return join(home, "kubeconfig");
}

export function readState(home: string): LabState | undefined {
  const path = statePath(home);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, "utf8")) as LabState;
}

export function writeState(state: LabState): void {
  const path = statePath(state.config.home);
  const temp = `${path}.tmp-${process.pid}`;
  writeFileSync(temp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(temp, path);
}

/** A kubeconfig for the lab's apiserver (plain HTTP, no credentials, like the 0.18 insecure port). */
export function kubeconfigYaml(server: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: kubelab",
    "  cluster:",
    `    server: ${server}`,
    "users:",
    "- name: kubelab",
    "  user: {}",
    "contexts:",
    "- name: kubelab",
    "  context: {cluster: kubelab, user: kubelab, namespace: default}",
    "current-context: kubelab",
    "",
  ].join("\n");
}
