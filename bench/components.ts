// kubelab's other processes (scheduler, controller-manager, hollow nodes) started by a benchmark from their
// descriptors in lab/components, owned by the same ProcessOwner as etcd and the apiserver (cluster.ts): a registered
// teardown step, and a SIGKILL from the exit hook if the bench dies before its cleanup ran.
import type { Component } from "../lab/components/component.js";
import type { ManagedProcess } from "../lab/process/runner.js";
import { benchProcesses } from "./cluster.js";

/** A started component: name, pid, process, spawnedAt, logs(), exitReason(), stop(signal). */
export type BenchComponent = ManagedProcess;

/** The output a bench keeps per component: its last part, so that the bench's own RSS stays small. */
const COMPONENT_LOG_CHARS = 512 * 1024;

/** Spawns the component now (no waiting); its teardown is registered at once. */
export function startBenchComponent(component: Component): BenchComponent {
  return benchProcesses.start(component, { logRingChars: COMPONENT_LOG_CHARS });
}
