// What one sync must do to bring a pod's runtime state to its spec: Kubernetes' computePodActions
// (kuberuntime_manager.go), a pure function of the pod, what the runtime holds and the probe results.
import type { Container, Pod } from "../../api/types/index.js";
import { containerHash, latestContainer, type ContainerRecord, type PodRuntimeState } from "./runtime-state.js";

export interface ContainerToKill {
  id: string;
  name: string;
  /** The Killing event's message ("Container app failed liveness probe, will be restarted"). */
  message: string;
}

export interface PodActions {
  /** Stop every container and sandbox of the pod (a new sandbox follows when createSandbox). */
  killPod: boolean;
  createSandbox: boolean;
  /** The attempt of the sandbox to create. */
  sandboxAttempt: number;
  /** The ready sandbox to start containers in, when one is kept. */
  sandboxId?: string;
  /** The next init container to start (init containers run one at a time, in order). */
  initToStart?: string;
  /** App containers to start, in spec order. */
  containersToStart: string[];
  containersToKill: ContainerToKill[];
}

export type ProbeLookup = (kind: "liveness" | "startup", containerId: string) => "Success" | "Failure" | undefined;

function shouldRestartOnFailure(pod: Readonly<Pod>): boolean {
  return (pod.spec?.restartPolicy ?? "Always") !== "Never";
}

function succeeded(record: ContainerRecord | undefined): boolean {
  return record?.state === "CONTAINER_EXITED" && record.exitCode === 0;
}

function initFailed(record: ContainerRecord): boolean {
  return (record.state === "CONTAINER_EXITED" && record.exitCode !== 0) || record.state === "CONTAINER_UNKNOWN";
}

/** Whether a container that is not running should be (re)started (Kubernetes' ShouldContainerBeRestarted). */
export function shouldContainerBeRestarted(pod: Readonly<Pod>, record: ContainerRecord | undefined): boolean {
  if (pod.metadata.deletionTimestamp) return false;
  if (!record) return true;
  if (record.state === "CONTAINER_RUNNING") return false;
  if (record.state === "CONTAINER_UNKNOWN" || record.state === "CONTAINER_CREATED") return true;
  const policy = pod.spec?.restartPolicy ?? "Always";
  if (policy === "Never") return false;
  if (policy === "OnFailure" && record.exitCode === 0) return false;
  return true;
}

export interface NextInit {
  /** All init containers completed (or there are none). */
  done: boolean;
  next?: Readonly<Container>;
  /** The last failed init container's record, when one failed. */
  failed?: ContainerRecord;
}

/** Kubernetes' findNextInitContainerToRun. */
export function findNextInitContainer(pod: Readonly<Pod>, state: Readonly<PodRuntimeState>): NextInit {
  const inits = pod.spec?.initContainers ?? [];
  if (inits.length === 0) return { done: true };
  // A running app container means initialization finished earlier (init containers may have been removed since).
  for (const c of pod.spec?.containers ?? []) if (latestContainer(state, c.name)?.state === "CONTAINER_RUNNING") return { done: true };
  for (let i = inits.length - 1; i >= 0; i--) {
    const record = latestContainer(state, inits[i]!.name);
    if (record && initFailed(record)) return { done: false, next: inits[i]!, failed: record };
  }
  for (let i = inits.length - 1; i >= 0; i--) {
    const record = latestContainer(state, inits[i]!.name);
    if (!record) continue;
    if (record.state === "CONTAINER_RUNNING") return { done: false };
    if (record.state === "CONTAINER_EXITED") return i === inits.length - 1 ? { done: true } : { done: false, next: inits[i + 1]! };
  }
  return { done: false, next: inits[0]! };
}

/** Kubernetes' podSandboxChanged: create a sandbox when none is ready (or several are). */
function sandboxChanged(state: Readonly<PodRuntimeState>): { create: boolean; attempt: number; sandboxId?: string } {
  const latest = state.sandboxes[0];
  if (!latest) return { create: true, attempt: 0 };
  const ready = state.sandboxes.filter((s) => s.ready).length;
  if (ready > 1 || !latest.ready) return { create: true, attempt: latest.attempt + 1 };
  return { create: false, attempt: latest.attempt, sandboxId: latest.id };
}

export function computePodActions(pod: Readonly<Pod>, state: Readonly<PodRuntimeState>, probe: ProbeLookup): PodActions {
  const containers = pod.spec?.containers ?? [];
  const inits = pod.spec?.initContainers ?? [];
  const sandbox = sandboxChanged(state);
  const actions: PodActions = { killPod: sandbox.create, createSandbox: sandbox.create, sandboxAttempt: sandbox.attempt, containersToStart: [], containersToKill: [] };
  if (sandbox.sandboxId !== undefined) actions.sandboxId = sandbox.sandboxId;

  if (sandbox.create) {
    // With restartPolicy Never, a pod whose containers ran once never gets a second sandbox.
    if (!shouldRestartOnFailure(pod) && sandbox.attempt !== 0 && state.containers.length > 0) {
      actions.createSandbox = false;
      return actions;
    }
    const toStart = containers.filter((c) => !((pod.spec?.restartPolicy ?? "Always") === "OnFailure" && succeeded(latestContainer(state, c.name)))).map((c) => c.name);
    if (toStart.length === 0 && findNextInitContainer(pod, state).done) {
      actions.createSandbox = false;
      return actions;
    }
    if (inits.length > 0) actions.initToStart = inits[0]!.name;
    else actions.containersToStart = toStart;
    return actions;
  }

  const init = findNextInitContainer(pod, state);
  if (!init.done) {
    if (init.next) {
      if (init.failed && !shouldRestartOnFailure(pod)) actions.killPod = true;
      else actions.initToStart = init.next.name;
    }
    return actions;
  }

  let keep = 0;
  for (const c of containers) {
    const record = latestContainer(state, c.name);
    if (record?.state !== "CONTAINER_RUNNING") {
      if (shouldContainerBeRestarted(pod, record)) actions.containersToStart.push(c.name);
      continue;
    }
    let message: string;
    let restart = shouldRestartOnFailure(pod);
    if (record.hash !== "" && record.hash !== containerHash(c)) {
      message = `Container ${c.name} definition changed`;
      restart = true;
    } else if (probe("liveness", record.id) === "Failure") {
      message = `Container ${c.name} failed liveness probe`;
    } else if (probe("startup", record.id) === "Failure") {
      message = `Container ${c.name} failed startup probe`;
    } else {
      keep++;
      continue;
    }
    if (restart) {
      message += ", will be restarted";
      actions.containersToStart.push(c.name);
    }
    actions.containersToKill.push({ id: record.id, name: c.name, message });
  }
  if (keep === 0 && actions.containersToStart.length === 0) actions.killPod = true;
  return actions;
}
