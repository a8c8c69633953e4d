// The HPA's replica arithmetic for resource metrics (Kubernetes' pkg/controller/podautoscaler/replica_calculator.go).
//
// Contract:
//   - Utilization: the selected pods' summed usage over their summed requests, as an integer percentage; the ratio
//     to the target times the ready pods, rounded up, is the proposal. AverageValue: the mean usage (milli-units)
//     over the target the same way.
//   - Within the tolerance (|1 - ratio| <= tolerance) the current replica count stands.
//   - Pods being deleted, failed or pending are ignored. For cpu, a pod that is not yet ready (or whose sample may
//     predate its readiness, within the cpu initialization period; or that never became ready within the initial
//     readiness delay) is "unready": left out, and counted at 0% when the ratio says scale up. A running pod without
//     a metric is "missing": counted at 100% of its request (at the target for AverageValue) on a scale-down and 0%
//     on a scale-up. If those assumptions flip the direction or land within the tolerance, nothing changes.
//   - Every pod needs a request for the resource (Utilization only); no pods, no metrics or no usable metric is an
//     error with Kubernetes' message.
import type { Selector } from "../../../api/labels.js";
import { parseQuantity, quantityToMilli } from "../../../api/quantity.js";
import type { Pod } from "../../../api/types/index.js";
import { parseTime } from "../../../api/time.js";

/** One pod's usage of a resource, in milli-units, and the sample's time and window (ms). */
export interface PodMetric {
  timestampMs: number;
  windowMs: number;
  value: number;
}

/** Pod name → metric. */
export type PodMetricsInfo = Map<string, PodMetric>;

/** Where resource usage comes from: the metrics API (metrics-client.ts), or a fake in tests. */
export interface MetricsClient {
  /** The usage of `resource` by the pods `selector` picks in `namespace`, and the time of the first sample. */
  getResourceMetric(resource: string, namespace: string, selector: Selector): Promise<{ metrics: PodMetricsInfo; timestampMs: number }>;
}

export interface ReplicaCalculatorOptions {
  metrics: MetricsClient;
  /** The pods of `namespace` that `selector` picks (from the pod informer). */
  pods: (namespace: string, selector: Selector) => readonly Readonly<Pod>[];
  /** --horizontal-pod-autoscaler-tolerance. */
  tolerance: number;
  /** --horizontal-pod-autoscaler-cpu-initialization-period. */
  cpuInitializationPeriodMs: number;
  /** --horizontal-pod-autoscaler-initial-readiness-delay. */
  delayOfInitialReadinessStatusMs: number;
  now: () => number;
}

export interface UtilizationProposal {
  replicas: number;
  /** Integer percentage of the request. */
  utilization: number;
  /** The mean usage per pod in milli-units. */
  rawUtilization: number;
  timestampMs: number;
}

export interface ValueProposal {
  replicas: number;
  /** The mean usage per pod in milli-units. */
  usage: number;
  timestampMs: number;
}

export class ReplicaCalculator {
  constructor(private readonly opts: ReplicaCalculatorOptions) {}

  /** The proposal for a Utilization target of `targetUtilization` percent. */
  async getResourceReplicas(currentReplicas: number, targetUtilization: number, resource: string, namespace: string, selector: Selector): Promise<UtilizationProposal> {
    const { metrics, timestampMs } = await this.fetch(resource, namespace, selector);
    const pods = this.podsOf(namespace, selector);
    const groups = groupPods(pods, metrics, resource, this.opts.cpuInitializationPeriodMs, this.opts.delayOfInitialReadinessStatusMs, this.opts.now());
    for (const name of [...groups.ignored, ...groups.unready]) metrics.delete(name);
    if (metrics.size === 0) throw new Error("did not receive metrics for targeted pods (pods might be unready)");
    const requests = podRequests(pods, resource);
    const { ratio, utilization, rawUtilization } = utilizationRatio(metrics, requests, targetUtilization);
    const unchanged = { replicas: currentReplicas, utilization, rawUtilization, timestampMs };
    const scaleUpWithUnready = groups.unready.size > 0 && ratio > 1;
    if (!scaleUpWithUnready && groups.missing.size === 0) {
      if (Math.abs(1 - ratio) <= this.opts.tolerance) return unchanged;
      return { replicas: Math.ceil(ratio * groups.readyCount), utilization, rawUtilization, timestampMs };
    }
    if (groups.missing.size > 0) {
      // A scale-down assumes the silent pods use all of their request (or the target, above 100%); a scale-up none.
      const fallback = Math.max(100, targetUtilization);
      for (const name of groups.missing) {
        if (ratio < 1) metrics.set(name, { timestampMs, windowMs: 0, value: Math.trunc(((requests.get(name) ?? 0) * fallback) / 100) });
        else if (ratio > 1) metrics.set(name, { timestampMs, windowMs: 0, value: 0 });
      }
    }
    if (scaleUpWithUnready) for (const name of groups.unready) metrics.set(name, { timestampMs, windowMs: 0, value: 0 });
    const adjusted = utilizationRatio(metrics, requests, targetUtilization).ratio;
    if (Math.abs(1 - adjusted) <= this.opts.tolerance || (ratio < 1 && adjusted > 1) || (ratio > 1 && adjusted < 1)) return unchanged;
    const replicas = Math.ceil(adjusted * metrics.size);
    if ((adjusted < 1 && replicas > currentReplicas) || (adjusted > 1 && replicas < currentReplicas)) return unchanged;
    return { replicas, utilization, rawUtilization, timestampMs };
  }

  /** The proposal for an AverageValue target of `targetUsage` milli-units per pod. */
  async getRawResourceReplicas(currentReplicas: number, targetUsage: number, resource: string, namespace: string, selector: Selector): Promise<ValueProposal> {
    const { metrics, timestampMs } = await this.fetch(resource, namespace, selector);
    const pods = this.podsOf(namespace, selector);
    const groups = groupPods(pods, metrics, resource, this.opts.cpuInitializationPeriodMs, this.opts.delayOfInitialReadinessStatusMs, this.opts.now());
    for (const name of [...groups.ignored, ...groups.unready]) metrics.delete(name);
    if (metrics.size === 0) throw new Error("did not receive metrics for targeted pods (pods might be unready)");
    const { ratio, usage } = usageRatio(metrics, targetUsage);
    const unchanged = { replicas: currentReplicas, usage, timestampMs };
    const scaleUpWithUnready = groups.unready.size > 0 && ratio > 1;
    if (!scaleUpWithUnready && groups.missing.size === 0) {
      if (Math.abs(1 - ratio) <= this.opts.tolerance) return unchanged;
      return { replicas: Math.ceil(ratio * groups.readyCount), usage, timestampMs };
    }
    for (const name of groups.missing) {
      if (ratio < 1) metrics.set(name, { timestampMs, windowMs: 0, value: targetUsage });
      else metrics.set(name, { timestampMs, windowMs: 0, value: 0 });
    }
    if (scaleUpWithUnready) for (const name of groups.unready) metrics.set(name, { timestampMs, windowMs: 0, value: 0 });
    const adjusted = usageRatio(metrics, targetUsage).ratio;
    if (Math.abs(1 - adjusted) <= this.opts.tolerance || (ratio < 1 && adjusted > 1) || (ratio > 1 && adjusted < 1)) return unchanged;
    const replicas = Math.ceil(adjusted * metrics.size);
    if ((adjusted < 1 && replicas > currentReplicas) || (adjusted > 1 && replicas < currentReplicas)) return unchanged;
    return { replicas, usage, timestampMs };
  }

  private async fetch(resource: string, namespace: string, selector: Selector): Promise<{ metrics: PodMetricsInfo; timestampMs: number }> {
    try {
      return await this.opts.metrics.getResourceMetric(resource, namespace, selector);
    } catch (err) {
      throw new Error(`unable to get metrics for resource ${resource}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private podsOf(namespace: string, selector: Selector): readonly Readonly<Pod>[] {
    const pods = this.opts.pods(namespace, selector);
    if (pods.length === 0) throw new Error("no pods returned by selector while calculating replica count");
    return pods;
  }
}

export interface PodGroups {
  readyCount: number;
  unready: Set<string>;
  missing: Set<string>;
  ignored: Set<string>;
}

/** Sorts the selected pods as the file comment says (Kubernetes' groupPods). */
export function groupPods(pods: readonly Readonly<Pod>[], metrics: PodMetricsInfo, resource: string, cpuInitializationPeriodMs: number, delayOfInitialReadinessStatusMs: number, now: number): PodGroups {
  const groups: PodGroups = { readyCount: 0, unready: new Set(), missing: new Set(), ignored: new Set() };
  for (const pod of pods) {
    const name = pod.metadata.name ?? "";
    const phase = pod.status?.phase;
    if (pod.metadata.deletionTimestamp !== undefined || phase === "Failed" || phase === "Pending") {
      groups.ignored.add(name);
      continue;
    }
    const metric = metrics.get(name);
    if (!metric) {
      groups.missing.add(name);
      continue;
    }
    if (resource === "cpu" && cpuUnready(pod, metric, cpuInitializationPeriodMs, delayOfInitialReadinessStatusMs, now)) {
      groups.unready.add(name);
      continue;
    }
    groups.readyCount++;
  }
  return groups;
}

function cpuUnready(pod: Readonly<Pod>, metric: PodMetric, cpuInitializationPeriodMs: number, delayOfInitialReadinessStatusMs: number, now: number): boolean {
  const ready = pod.status?.conditions?.find((c) => c.type === "Ready");
  const started = parseTime(pod.status?.startTime);
  if (!ready || started === undefined) return true;
  const transition = parseTime(ready.lastTransitionTime) ?? 0;
  if (started + cpuInitializationPeriodMs > now) {
    // Young pod: its sample must cover a whole window after it became ready.
    return ready.status === "False" || metric.timestampMs < transition + metric.windowMs;
  }
  // Older pod: unready only if it has never been ready since it started.
  return ready.status === "False" && started + delayOfInitialReadinessStatusMs > transition;
}

/** Each pod's summed container requests (and restartable init containers') for `resource`, in milli-units. */
export function podRequests(pods: readonly Readonly<Pod>[], resource: string): Map<string, number> {
  const requests = new Map<string, number>();
  for (const pod of pods) {
    const spec = pod.spec;
    const containers = [...(spec?.containers ?? []), ...(spec?.initContainers ?? []).filter((c) => c.restartPolicy === "Always")];
    let sum = 0;
    for (const c of containers) {
      const request = c.resources?.requests?.[resource];
      if (request === undefined) throw new Error(`missing request for ${resource} in container ${c.name} of Pod ${pod.metadata.name ?? ""}`);
      sum += quantityToMilli(parseQuantity(request));
    }
    requests.set(pod.metadata.name ?? "", sum);
  }
  return requests;
}

/** Usage over requests of the pods that have both, as a ratio to the target and an integer percentage. */
export function utilizationRatio(metrics: PodMetricsInfo, requests: ReadonlyMap<string, number>, targetUtilization: number): { ratio: number; utilization: number; rawUtilization: number } {
  let usage = 0;
  let requested = 0;
  let counted = 0;
  for (const [name, metric] of metrics) {
    const request = requests.get(name);
    if (request === undefined) continue;
    usage += metric.value;
    requested += request;
    counted++;
  }
  if (requested === 0) throw new Error("no metrics returned matched known pods");
  const utilization = Math.trunc((usage * 100) / requested);
  return { ratio: utilization / targetUtilization, utilization, rawUtilization: Math.trunc(usage / counted) };
}

/** The mean usage per pod and its ratio to the target (GetMetricUsageRatio). */
export function usageRatio(metrics: PodMetricsInfo, targetUsage: number): { ratio: number; usage: number } {
  let total = 0;
  for (const metric of metrics.values()) total += metric.value;
  const usage = Math.trunc(total / metrics.size);
  return { ratio: usage / targetUsage, usage };
}
