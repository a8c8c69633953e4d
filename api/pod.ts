// What a Pod's status says about it, as every component reads it (Kubernetes' pkg/api/v1/pod helpers): active,
// ready, available. Pure functions of the object (and the time, for availability).
import { parseTime } from "./time.js";
import type { Pod, PodCondition } from "./types/core.js";

/** Finished for good: its phase is Succeeded or Failed. */
export function isPodTerminal(pod: Readonly<Pod>): boolean {
  const phase = pod.status?.phase;
  return phase === "Succeeded" || phase === "Failed";
}

/** Counts toward a controller's replicas: not terminal (Succeeded/Failed) and not being deleted. */
export function isPodActive(pod: Readonly<Pod>): boolean {
  return !isPodTerminal(pod) && !pod.metadata.deletionTimestamp;
}

export function podReadyCondition(pod: Readonly<Pod>): Readonly<PodCondition> | undefined {
  return pod.status?.conditions?.find((c) => c.type === "Ready");
}

export function isPodReady(pod: Readonly<Pod>): boolean {
  return podReadyCondition(pod)?.status === "True";
}

/**
 * Ready for at least minReadySeconds (Kubernetes' podutil.IsPodAvailable). With minReadySeconds 0 a ready pod is
 * available at once; otherwise the Ready condition's lastTransitionTime must be known and old enough.
 */
export function isPodAvailable(pod: Readonly<Pod>, minReadySeconds: number, now: number): boolean {
  return availableInMs(pod, minReadySeconds, now) === 0;
}

/**
 * 0 when the pod is available now, the milliseconds until it will be when it is ready but not yet for long enough,
 * undefined when it is not ready (or readiness has no transition time to count from).
 */
export function availableInMs(pod: Readonly<Pod>, minReadySeconds: number, now: number): number | undefined {
  const ready = podReadyCondition(pod);
  if (ready?.status !== "True") return undefined;
  if (minReadySeconds <= 0) return 0;
  const since = parseTime(ready.lastTransitionTime);
  if (since === undefined) return undefined;
  return Math.max(0, since + minReadySeconds * 1000 - now);
}

/** The pod's namespace/name, as expectations, queues and logs key it. */
export function podKey(pod: Readonly<Pod>): string {
  return `${pod.metadata.namespace ?? ""}/${pod.metadata.name ?? ""}`;
}
