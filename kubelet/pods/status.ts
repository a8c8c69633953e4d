// The pod status the kubelet writes, generated from the pod, what the runtime holds and the last sync's errors:
// Kubernetes' generateAPIPodStatus / convertToAPIContainerStatuses / getPhase (kubelet_pods.go) and the condition
// generators (status/generate.go). Pure: the same inputs give the same status, and facts that did not change keep
// their times (startTime, lastTransitionTime), so an adopted pod yields its own status back and costs no write.
import { qosClassOf } from "../../api/defaults.js";
import { formatTime } from "../../api/time.js";
import type { Container, ContainerState, ContainerStatus, Pod, PodCondition, PodPhase, PodStatus } from "../../api/types/index.js";
import { containerHistory, type ContainerRecord, type PodRuntimeState } from "./runtime-state.js";

/** Why a container is waiting, from the last sync (Kubernetes' reasonCache): ErrImagePull, CrashLoopBackOff, … */
export interface WaitingReason {
  reason: string;
  message: string;
}

export type ProbeResultLookup = (kind: "readiness" | "startup", containerId: string) => "Success" | "Failure" | undefined;

export interface PodStatusInput {
  pod: Readonly<Pod>;
  state: Readonly<PodRuntimeState>;
  /** The runtime's name, the scheme of containerIDs ("kubelab-runtime://<id>"). */
  runtimeName: string;
  hostIP: string;
  nowMs: number;
  waiting: ReadonlyMap<string, WaitingReason>;
  probe: ProbeResultLookup;
  /** Every container of the pod has stopped for good (deleted or finished): the phase becomes Succeeded or Failed. */
  podIsTerminal?: boolean;
}

const TERMINAL: readonly PodPhase[] = ["Succeeded", "Failed"];

export function generatePodStatus(input: PodStatusInput): PodStatus {
  const { pod, state, nowMs } = input;
  const prior = pod.status ?? {};
  const now = formatTime(nowMs);
  const spec = pod.spec;
  const inits = spec?.initContainers ?? [];
  const containers = spec?.containers ?? [];
  const initStatuses = inits.map((c) => containerStatus(input, c, true, "PodInitializing"));
  const initialized = initStatuses.every((s) => s.state?.terminated?.exitCode === 0);
  const appStatuses = containers.map((c) => containerStatus(input, c, false, initialized ? "ContainerCreating" : "PodInitializing"));

  let phase = podPhase(pod, initStatuses, appStatuses, input.podIsTerminal ?? false);
  if (prior.phase !== undefined && TERMINAL.includes(prior.phase)) phase = prior.phase;

  const sandbox = state.sandboxes.find((s) => s.ready) ?? state.sandboxes[0];
  const hostNetwork = spec?.hostNetwork === true;
  const podIPs = hostNetwork ? [input.hostIP] : sandbox && sandbox.ip !== "" ? [sandbox.ip, ...sandbox.additionalIps] : prior.podIPs?.map((p) => p.ip) ?? [];

  const conditions = podConditions(input, initStatuses, appStatuses, phase, sandbox?.ready === true, now);
  const status: PodStatus = { ...prior, phase, conditions, hostIP: input.hostIP, hostIPs: [{ ip: input.hostIP }] };
  if (podIPs.length > 0) {
    status.podIP = podIPs[0]!;
    status.podIPs = podIPs.map((ip) => ({ ip }));
  }
  status.startTime = prior.startTime ?? now;
  if (inits.length > 0) status.initContainerStatuses = initStatuses;
  else delete status.initContainerStatuses;
  status.containerStatuses = appStatuses;
  status.qosClass = prior.qosClass ?? qosClassOf(pod);
  return status;
}

function containerStatus(input: PodStatusInput, c: Readonly<Container>, init: boolean, defaultWaiting: string): ContainerStatus {
  const history = containerHistory(input.state, c.name);
  const latest = history[0];
  const status: ContainerStatus = {
    name: c.name,
    state: { waiting: { reason: defaultWaiting } },
    lastState: {},
    ready: false,
    restartCount: 0,
    image: c.image ?? "",
    imageID: "",
    started: false,
  };
  if (latest) {
    const id = `${input.runtimeName}://${latest.id}`;
    status.containerID = id;
    status.restartCount = latest.restartCount;
    if (latest.image !== "") status.image = latest.image;
    status.imageID = latest.imageRef;
    status.state = stateOf(latest, id);
    const previous = history[1];
    if (previous && previous.state !== "CONTAINER_RUNNING") status.lastState = stateOf(previous, `${input.runtimeName}://${previous.id}`);
  }
  const reason = input.waiting.get(c.name);
  if (reason && latest?.state !== "CONTAINER_RUNNING") {
    if (status.state?.terminated) status.lastState = status.state;
    status.state = { waiting: { reason: reason.reason, ...(reason.message !== "" ? { message: reason.message } : {}) } };
  }
  const running = status.state?.running !== undefined;
  if (init) {
    status.ready = status.state?.terminated?.exitCode === 0;
    status.started = running;
    return status;
  }
  if (running && latest) {
    status.started = c.startupProbe ? input.probe("startup", latest.id) === "Success" : true;
    status.ready = status.started && (c.readinessProbe ? input.probe("readiness", latest.id) === "Success" : true);
  }
  return status;
}

function stateOf(record: ContainerRecord, containerID: string): ContainerState {
  switch (record.state) {
    case "CONTAINER_RUNNING":
      return { running: { startedAt: formatTime(record.startedAtMs) } };
    case "CONTAINER_EXITED": {
      const terminated: NonNullable<ContainerState["terminated"]> = { exitCode: record.exitCode, reason: record.reason !== "" ? record.reason : record.exitCode === 0 ? "Completed" : "Error" };
      if (record.message !== "") terminated.message = record.message;
      terminated.startedAt = formatTime(record.startedAtMs > 0 ? record.startedAtMs : record.createdAtMs);
      terminated.finishedAt = formatTime(record.finishedAtMs);
      terminated.containerID = containerID;
      return { terminated };
    }
    case "CONTAINER_UNKNOWN":
      return { terminated: { exitCode: 137, reason: "ContainerStatusUnknown", message: "The container could not be located when the pod was terminated", containerID } };
    case "CONTAINER_CREATED":
      return { waiting: { reason: "ContainerCreating" } };
  }
}

/** Kubernetes' getPhase. */
export function podPhase(pod: Readonly<Pod>, inits: readonly ContainerStatus[], apps: readonly ContainerStatus[], podIsTerminal: boolean): PodPhase {
  const policy = pod.spec?.restartPolicy ?? "Always";
  let pendingInit = 0;
  let failedInit = 0;
  for (const s of inits) {
    if (s.state?.running) pendingInit++;
    else if (s.state?.terminated) {
      if (s.state.terminated.exitCode !== 0) failedInit++;
    } else if (s.state?.waiting) {
      const last = s.lastState?.terminated;
      if (last) {
        if (last.exitCode !== 0) failedInit++;
      } else pendingInit++;
    } else pendingInit++;
  }
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of apps) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    }
  }
  if (failedInit > 0 && policy === "Never") return "Failed";
  if (pendingInit > 0 || waiting > 0) return "Pending";
  if (running > 0) return "Running";
  if (stopped > 0) {
    if (podIsTerminal) return stopped === succeeded ? "Succeeded" : "Failed";
    if (policy === "Always") return "Running";
    if (stopped === succeeded) return "Succeeded";
    if (policy === "Never") return "Failed";
    return "Running";
  }
  return "Pending";
}

type WantedCondition = Omit<PodCondition, "lastTransitionTime" | "lastProbeTime">;

function podConditions(input: PodStatusInput, inits: readonly ContainerStatus[], apps: readonly ContainerStatus[], phase: PodPhase, sandboxReady: boolean, now: string): PodCondition[] {
  const { pod } = input;
  const prior = pod.status?.conditions ?? [];
  const incompleteInits = inits.filter((s) => s.state?.terminated?.exitCode !== 0).map((s) => s.name);
  const initialized: WantedCondition =
    incompleteInits.length === 0 || phase === "Succeeded"
      ? { type: "Initialized", status: "True" }
      : { type: "Initialized", status: "False", reason: "ContainersNotInitialized", message: `containers with incomplete status: [${incompleteInits.join(" ")}]` };
  const unready = apps.filter((s) => !s.ready).map((s) => s.name);
  let containersReady: WantedCondition;
  if (phase === "Succeeded") containersReady = { type: "ContainersReady", status: "False", reason: "PodCompleted" };
  else if (unready.length > 0) containersReady = { type: "ContainersReady", status: "False", reason: "ContainersNotReady", message: `containers with unready status: [${unready.join(" ")}]` };
  else containersReady = { type: "ContainersReady", status: "True" };
  let ready: WantedCondition = { ...containersReady, type: "Ready" };
  if (containersReady.status === "True") {
    const gates = (pod.spec?.readinessGates ?? []).map((g) => g.conditionType).filter((t) => prior.find((c) => c.type === t)?.status !== "True");
    if (gates.length > 0) ready = { type: "Ready", status: "False", reason: "ReadinessGatesNotReady", message: `corresponding condition of pod readiness gate "${gates[0]!}" does not exist.` };
  }
  const wanted: WantedCondition[] = [
    { type: "PodReadyToStartContainers", status: sandboxReady || pod.spec?.hostNetwork === true ? "True" : "False" },
    initialized,
    ready,
    containersReady,
    { type: "PodScheduled", status: "True" },
  ];
  const out: PodCondition[] = [];
  // Conditions others own (readiness gates, DisruptionTarget, …) stay, ahead of the kubelet's, as Kubernetes keeps them.
  for (const p of prior) if (!wanted.some((w) => w.type === p.type)) out.push({ ...p });
  for (const w of wanted) {
    const prev = prior.find((p) => p.type === w.type);
    // PodScheduled is the scheduler's: kept as it wrote it.
    if (w.type === "PodScheduled" && prev?.status === "True") {
      out.push({ ...prev });
      continue;
    }
    const cond: PodCondition = { type: w.type, status: w.status };
    if (prev?.lastProbeTime !== undefined) cond.lastProbeTime = prev.lastProbeTime;
    cond.lastTransitionTime = prev?.status === w.status && prev.lastTransitionTime ? prev.lastTransitionTime : now;
    if (w.reason !== undefined) cond.reason = w.reason;
    if (w.message !== undefined) cond.message = w.message;
    out.push(cond);
  }
  return out;
}
