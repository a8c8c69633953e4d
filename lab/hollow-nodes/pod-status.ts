// Pure builders for the pod status a hollow kubelet reports, and the annotations tests use to steer a pod. The
// builders are level-based: given the pod as stored (its current status) and the time, they return the status the
// kubelet would write. Unchanged facts keep their times (startTime, startedAt, lastTransitionTime), so a pod
// already in the wanted state yields its own status back and costs no write: this is how a restarted simulator
// adopts running pods without resetting them.
import { deepEqual } from "../../api/normalize.js";
import { formatTime } from "../../api/time.js";
import type { Container, ContainerStatus, Pod, PodCondition, PodStatus } from "../../api/types/index.js";

/** Annotation: "true" makes the pod fail (phase Failed, containers terminated with exit code 1). */
export const FAIL_ANNOTATION = "kubelab.io/hollow-fail";
/** Annotation: "true" makes the containers crash-loop (waiting CrashLoopBackOff, restartCount growing). */
export const CRASHLOOP_ANNOTATION = "kubelab.io/hollow-crashloop";
/** Annotation: "true" keeps the pod Running but not Ready; removing it makes the pod Ready. */
export const UNREADY_ANNOTATION = "kubelab.io/hollow-unready";

/** A crash-looping container "restarts" this often (by default; see PodStatusInput.crashLoopIntervalMs). */
export const CRASHLOOP_RESTART_INTERVAL_MS = 5000;

export type PodBehaviour = "run" | "fail" | "crashloop" | "unready";

/** What the annotations ask for; fail wins over crashloop, which wins over unready. */
export function podBehaviour(pod: Readonly<Pod>): PodBehaviour {
  const a = pod.metadata.annotations ?? {};
  if (a[FAIL_ANNOTATION] === "true") return "fail";
  if (a[CRASHLOOP_ANNOTATION] === "true") return "crashloop";
  if (a[UNREADY_ANNOTATION] === "true") return "unready";
  return "run";
}

export interface PodStatusInput {
  pod: Readonly<Pod>;
  hostIP: string;
  podIP: string;
  nowMs: number;
  behaviour: PodBehaviour;
  /** Default CRASHLOOP_RESTART_INTERVAL_MS. */
  crashLoopIntervalMs?: number;
}

/** The pod's containers' ID as the hollow runtime names it. */
export function containerID(pod: Readonly<Pod>, name: string): string {
  return `hollow://${pod.metadata.uid ?? ""}-${name}`;
}

/** The status of a started pod: Running (Ready or not, or crash-looping) or Failed, per `behaviour`. */
export function runningPodStatus(input: PodStatusInput): PodStatus {
  const { pod, nowMs, behaviour } = input;
  const now = formatTime(nowMs);
  const prior = pod.status ?? {};
  const containers = pod.spec?.containers ?? [];
  const interval = input.crashLoopIntervalMs ?? CRASHLOOP_RESTART_INTERVAL_MS;
  const containerStatuses = containers.map((c) => runningContainerStatus(pod, c, prior.containerStatuses?.find((s) => s.name === c.name), behaviour, nowMs, interval));
  const failed = behaviour === "fail";
  const unready = containerStatuses.filter((s) => !s.ready).map((s) => s.name);
  const ready = !failed && unready.length === 0;
  const notReady = failed ? { reason: "PodFailed" } : { reason: "ContainersNotReady", message: `containers with unready status: [${unready.join(" ")}]` };
  const conditions = mergeConditions(
    prior.conditions,
    [
      { type: "PodReadyToStartContainers", status: failed ? "False" : "True" },
      { type: "Initialized", status: "True" },
      ready ? { type: "Ready", status: "True" } : { type: "Ready", status: "False", ...notReady },
      ready ? { type: "ContainersReady", status: "True" } : { type: "ContainersReady", status: "False", ...notReady },
      { type: "PodScheduled", status: "True" },
    ],
    now,
  );
  const status: PodStatus = {
    ...prior,
    phase: failed ? "Failed" : "Running",
    conditions,
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
    podIP: input.podIP,
    podIPs: [{ ip: input.podIP }],
    startTime: prior.startTime ?? now,
    containerStatuses,
  };
  delete status.reason;
  delete status.message;
  const inits = pod.spec?.initContainers ?? [];
  if (inits.length > 0) status.initContainerStatuses = inits.map((c) => completedInitStatus(pod, c, prior.initContainerStatuses?.find((s) => s.name === c.name), now));
  return status;
}

/** Status while the pod waits out --start-delay: Pending, containers ContainerCreating (PodInitializing for init). */
export function pendingPodStatus(pod: Readonly<Pod>, hostIP: string, nowMs: number): PodStatus {
  const now = formatTime(nowMs);
  const prior = pod.status ?? {};
  const containers = pod.spec?.containers ?? [];
  const inits = pod.spec?.initContainers ?? [];
  const waiting = (c: Readonly<Container>, reason: string): ContainerStatus => ({
    name: c.name,
    state: { waiting: { reason } },
    lastState: {},
    ready: false,
    restartCount: 0,
    image: c.image ?? "",
    imageID: "",
    started: false,
  });
  const names = containers.map((c) => c.name).join(" ");
  const initialized = inits.length === 0;
  const status: PodStatus = {
    ...prior,
    phase: "Pending",
    conditions: mergeConditions(
      prior.conditions,
      [
        { type: "PodReadyToStartContainers", status: "False" },
        initialized ? { type: "Initialized", status: "True" } : { type: "Initialized", status: "False", reason: "ContainersNotInitialized", message: `containers with incomplete status: [${inits.map((c) => c.name).join(" ")}]` },
        { type: "Ready", status: "False", reason: "ContainersNotReady", message: `containers with unready status: [${names}]` },
        { type: "ContainersReady", status: "False", reason: "ContainersNotReady", message: `containers with unready status: [${names}]` },
        { type: "PodScheduled", status: "True" },
      ],
      now,
    ),
    hostIP,
    hostIPs: [{ ip: hostIP }],
    startTime: prior.startTime ?? now,
    containerStatuses: containers.map((c) => waiting(c, initialized ? "ContainerCreating" : "PodInitializing")),
  };
  if (inits.length > 0) status.initContainerStatuses = inits.map((c) => waiting(c, "PodInitializing"));
  return status;
}

/** How long until a crash-looping pod's next restart is due (for requeueing); undefined when none is pending. */
export function nextCrashRestartInMs(pod: Readonly<Pod>, nowMs: number, intervalMs = CRASHLOOP_RESTART_INTERVAL_MS): number | undefined {
  let soonest: number | undefined;
  for (const s of pod.status?.containerStatuses ?? []) {
    if (s.state?.waiting?.reason !== "CrashLoopBackOff") continue;
    const finished = latestInstant(s.lastState?.terminated?.finishedAt);
    const due = Number.isNaN(finished) ? 0 : Math.max(0, finished + intervalMs - nowMs);
    soonest = soonest === undefined ? due : Math.min(soonest, due);
  }
  return soonest;
}

function runningContainerStatus(pod: Readonly<Pod>, c: Readonly<Container>, prior: Readonly<ContainerStatus> | undefined, behaviour: PodBehaviour, nowMs: number, intervalMs: number): ContainerStatus {
  const now = formatTime(nowMs);
  const id = containerID(pod, c.name);
  const base = { name: c.name, image: c.image ?? "", imageID: `hollow://${c.image ?? ""}`, containerID: id };
  const restartCount = prior?.restartCount ?? 0;
  const startedAt = prior?.state?.running?.startedAt ?? now;
  switch (behaviour) {
    case "run":
    case "unready":
      return { ...base, state: { running: { startedAt } }, lastState: prior?.lastState ?? {}, ready: behaviour === "run", restartCount, started: true };
    case "fail":
      return {
        ...base,
        state: { terminated: { exitCode: 1, reason: "Error", startedAt: prior?.state?.terminated?.startedAt ?? startedAt, finishedAt: prior?.state?.terminated?.finishedAt ?? now, containerID: id } },
        lastState: prior?.lastState ?? {},
        ready: false,
        restartCount,
        started: false,
      };
    case "crashloop": {
      const looping = prior?.state?.waiting?.reason === "CrashLoopBackOff";
      const lastCrash = latestInstant(prior?.lastState?.terminated?.finishedAt);
      // Entering the loop is the first crash; after that one more every interval.
      const crashNow = !looping || Number.isNaN(lastCrash) || nowMs - lastCrash >= intervalMs;
      if (!crashNow && prior) return { ...prior, ...base };
      const ranFrom = looping ? (prior?.lastState?.terminated?.finishedAt ?? now) : startedAt;
      return {
        ...base,
        state: { waiting: { reason: "CrashLoopBackOff", message: `back-off ${formatSeconds(intervalMs)} restarting failed container=${c.name} pod=${pod.metadata.name ?? ""}_${pod.metadata.namespace ?? ""}(${pod.metadata.uid ?? ""})` } },
        lastState: { terminated: { exitCode: 1, reason: "Error", startedAt: ranFrom, finishedAt: now, containerID: id } },
        ready: false,
        restartCount: restartCount + 1,
        started: false,
      };
    }
  }
}

function completedInitStatus(pod: Readonly<Pod>, c: Readonly<Container>, prior: Readonly<ContainerStatus> | undefined, now: string): ContainerStatus {
  const id = containerID(pod, c.name);
  const terminated = prior?.state?.terminated;
  return {
    name: c.name,
    image: c.image ?? "",
    imageID: `hollow://${c.image ?? ""}`,
    containerID: id,
    state: { terminated: { exitCode: 0, reason: "Completed", startedAt: terminated?.startedAt ?? now, finishedAt: terminated?.finishedAt ?? now, containerID: id } },
    lastState: {},
    ready: true,
    restartCount: prior?.restartCount ?? 0,
    started: false,
  };
}

/** Conditions in the kubelet's order; one whose status is unchanged keeps its lastTransitionTime. */
function mergeConditions(prior: readonly PodCondition[] | undefined, wanted: readonly Omit<PodCondition, "lastTransitionTime">[], now: string): PodCondition[] {
  const out: PodCondition[] = wanted.map((w) => {
    const prev = prior?.find((p) => p.type === w.type);
    const lastTransitionTime = prev?.status === w.status && prev.lastTransitionTime ? prev.lastTransitionTime : now;
    // PodScheduled belongs to the scheduler's binding: keep it as written when it already says True.
    if (w.type === "PodScheduled" && prev?.status === "True") return { ...prev };
    const cond: PodCondition = { type: w.type, status: w.status, lastTransitionTime };
    if (prev?.lastProbeTime !== undefined) cond.lastProbeTime = prev.lastProbeTime;
    if (w.reason !== undefined) cond.reason = w.reason;
    if (w.message !== undefined) cond.message = w.message;
    return cond;
  });
  // Conditions others own (readiness gates, DisruptionTarget, ...) stay.
  for (const p of prior ?? []) if (!wanted.some((w) => w.type === p.type)) out.push({ ...p });
  return out;
}

/** Whether two statuses are the same as JSON (no write needed). */
export function podStatusEqual(a: Readonly<PodStatus> | undefined, b: Readonly<PodStatus>): boolean {
  return deepEqual(a ?? {}, b);
}

function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))}s`;
}

/**
 * The last millisecond a whole-second timestamp can stand for ("10:00:05Z" → 10:00:05.999), so intervals measured
 * from it are never cut short by the rounding. NaN when absent or unparseable.
 */
function latestInstant(time: string | undefined): number {
  const ms = Date.parse(time ?? "");
  return time !== undefined && !time.includes(".") ? ms + 999 : ms;
}
