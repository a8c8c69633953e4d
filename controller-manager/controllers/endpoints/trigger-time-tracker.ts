// Kubernetes' TriggerTimeTracker (pkg/controller/util/endpoint): the value of the
// endpoints.kubernetes.io/last-change-trigger-time annotation that the Endpoints and EndpointSlice controllers put
// on what they write, from which kube-proxy measures kubeproxy_network_programming_duration_seconds.
//
// Contract: per Service it remembers the trigger times seen at its last sync (each pod's Ready condition
// lastTransitionTime, the Service's creationTimestamp). A sync's trigger time is the earliest of those that moved
// forward since the previous sync (the oldest change not yet reflected), the Service's creationTimestamp the first
// time a Service is seen, undefined when nothing moved. Times are ms since the epoch.
import type { Pod, Service } from "../../../api/types/index.js";
import { parseTime } from "../../../api/time.js";

export const LAST_CHANGE_TRIGGER_TIME_ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time";

interface ServiceState {
  podTriggerTimes: Map<string, number>;
  serviceTriggerTime: number | undefined;
}

/** A pod's trigger time: when its readiness last changed. */
export function podTriggerTime(pod: Readonly<Pod>): number | undefined {
  return parseTime(pod.status?.conditions?.find((c) => c.type === "Ready")?.lastTransitionTime);
}

export class TriggerTimeTracker {
  private readonly states = new Map<string, ServiceState>();

  /** The trigger time for a sync of service `key` over `pods` (the selected ones), and records them as seen. */
  compute(key: string, svc: Readonly<Service>, pods: readonly Readonly<Pod>[]): number | undefined {
    const previous = this.states.get(key);
    const next: ServiceState = { podTriggerTimes: new Map(), serviceTriggerTime: parseTime(svc.metadata.creationTimestamp) };
    let earliestChanged: number | undefined;
    const changed = (t: number): void => {
      earliestChanged = earliestChanged === undefined ? t : Math.min(earliestChanged, t);
    };
    for (const pod of pods) {
      const t = podTriggerTime(pod);
      if (t === undefined) continue;
      const name = pod.metadata.name ?? "";
      next.podTriggerTimes.set(name, t);
      if (t > (previous?.podTriggerTimes.get(name) ?? Number.NEGATIVE_INFINITY)) changed(t);
    }
    if (next.serviceTriggerTime !== undefined && next.serviceTriggerTime > (previous?.serviceTriggerTime ?? Number.NEGATIVE_INFINITY)) changed(next.serviceTriggerTime);
    this.states.set(key, next);
    return previous === undefined ? next.serviceTriggerTime : earliestChanged;
  }

  /** The Service is gone. */
  forget(key: string): void {
    this.states.delete(key);
  }
}

/** The annotation's value: RFC 3339 with the fraction Go's RFC3339Nano prints (trailing zeros dropped). */
export function formatTriggerTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0+Z$/, "Z");
}

/** `annotations` with the trigger time set, or unchanged (the same object) when there is none. */
export function withTriggerTime(annotations: Readonly<Record<string, string>> | undefined, triggerTime: number | undefined): Record<string, string> | undefined {
  if (triggerTime === undefined) return annotations ? { ...annotations } : undefined;
  return { ...annotations, [LAST_CHANGE_TRIGGER_TIME_ANNOTATION]: formatTriggerTime(triggerTime) };
}
