// Conversion between autoscaling/v2 HorizontalPodAutoscalers (the stored form) and autoscaling/v1 (the same objects
// through the older schema), as Kubernetes' autoscaling/v1 conversion does it: the CPU utilization metric maps to
// targetCPUUtilizationPercentage (and currentCPUUtilizationPercentage), and what v1 cannot express travels in
// annotations, so that a v1 read-modify-write keeps the other metrics, the behavior and the conditions.
//
// Difference from Kubernetes: the annotations carry the v2 JSON shapes (Kubernetes writes its older v2beta1-style
// shapes there); they round-trip through kubelab alike.
import type { KubeObject } from "./meta.js";
import type { HorizontalPodAutoscalerV1, HorizontalPodAutoscalerV2, MetricSpecV2, MetricStatusV2 } from "./types/index.js";

export const METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/metrics";
export const CURRENT_METRICS_ANNOTATION = "autoscaling.alpha.kubernetes.io/current-metrics";
export const BEHAVIOR_ANNOTATION = "autoscaling.alpha.kubernetes.io/behavior";
export const CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions";

function isCpuUtilization(metric: MetricSpecV2): boolean {
  return metric.type === "Resource" && metric.resource?.name === "cpu" && metric.resource.target.type === "Utilization";
}

/** A stored v2 HPA as autoscaling/v1 serves it. The input is not modified. */
export function toAutoscalingV1(stored: KubeObject): HorizontalPodAutoscalerV1 {
  const v2 = structuredClone(stored) as HorizontalPodAutoscalerV2;
  const metadata = v2.metadata;
  const annotations: Record<string, string> = { ...(metadata.annotations ?? {}) };
  const out: HorizontalPodAutoscalerV1 = { ...v2, apiVersion: "autoscaling/v1", kind: "HorizontalPodAutoscaler", metadata };
  if (v2.spec) {
    const { metrics, behavior, ...rest } = v2.spec;
    const spec: NonNullable<HorizontalPodAutoscalerV1["spec"]> = { ...rest };
    const others: MetricSpecV2[] = [];
    for (const metric of Array.isArray(metrics) ? metrics : []) {
      if (isCpuUtilization(metric) && spec.targetCPUUtilizationPercentage === undefined) spec.targetCPUUtilizationPercentage = metric.resource?.target.averageUtilization ?? 0;
      else others.push(metric);
    }
    if (others.length > 0) annotations[METRICS_ANNOTATION] = JSON.stringify(others);
    if (behavior !== undefined) annotations[BEHAVIOR_ANNOTATION] = JSON.stringify(behavior);
    out.spec = spec;
  }
  if (v2.status) {
    const { currentMetrics, conditions, ...rest } = v2.status;
    const status: NonNullable<HorizontalPodAutoscalerV1["status"]> = { ...rest };
    const others: MetricStatusV2[] = [];
    for (const metric of Array.isArray(currentMetrics) ? currentMetrics : []) {
      const utilization = metric.type === "Resource" && metric.resource?.name === "cpu" ? metric.resource.current.averageUtilization : undefined;
      if (utilization !== undefined && status.currentCPUUtilizationPercentage === undefined) status.currentCPUUtilizationPercentage = utilization;
      else others.push(metric);
    }
    if (others.length > 0) annotations[CURRENT_METRICS_ANNOTATION] = JSON.stringify(others);
    if (Array.isArray(conditions) && conditions.length > 0) annotations[CONDITIONS_ANNOTATION] = JSON.stringify(conditions);
    out.status = status;
  }
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  return out;
}

/** An autoscaling/v1 HPA in the stored v2 form; bodies that are not objects pass through for validation to report. */
export function fromAutoscalingV1(body: unknown): unknown {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return body;
  const v1 = structuredClone(body) as HorizontalPodAutoscalerV1;
  const meta = typeof v1.metadata === "object" && v1.metadata !== null ? v1.metadata : {};
  const {
    [METRICS_ANNOTATION]: metricsText,
    [CURRENT_METRICS_ANNOTATION]: currentText,
    [BEHAVIOR_ANNOTATION]: behaviorText,
    [CONDITIONS_ANNOTATION]: conditionsText,
    ...annotations
  } = meta.annotations ?? {};
  const otherMetrics = parsed(metricsText) as MetricSpecV2[] | undefined;
  const otherCurrent = parsed(currentText) as MetricStatusV2[] | undefined;
  const behavior = parsed(behaviorText) as NonNullable<HorizontalPodAutoscalerV2["spec"]>["behavior"];
  const conditions = parsed(conditionsText) as NonNullable<HorizontalPodAutoscalerV2["status"]>["conditions"];
  const metadata = { ...meta };
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  else delete metadata.annotations;
  const out: HorizontalPodAutoscalerV2 = { ...v1, metadata };
  if (out.apiVersion !== undefined) out.apiVersion = "autoscaling/v2";
  if (v1.spec && typeof v1.spec === "object") {
    const { targetCPUUtilizationPercentage, ...rest } = v1.spec;
    const metrics: MetricSpecV2[] = [];
    if (targetCPUUtilizationPercentage !== undefined) {
      metrics.push({ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: targetCPUUtilizationPercentage } } });
    }
    if (Array.isArray(otherMetrics)) metrics.push(...otherMetrics);
    out.spec = { ...rest, ...(metrics.length > 0 ? { metrics } : {}), ...(behavior ? { behavior } : {}) };
  }
  if (v1.status && typeof v1.status === "object") {
    const { currentCPUUtilizationPercentage, ...rest } = v1.status;
    const currentMetrics: MetricStatusV2[] = [];
    if (currentCPUUtilizationPercentage !== undefined) {
      currentMetrics.push({ type: "Resource", resource: { name: "cpu", current: { averageUtilization: currentCPUUtilizationPercentage } } });
    }
    if (Array.isArray(otherCurrent)) currentMetrics.push(...otherCurrent);
    out.status = { ...rest, ...(currentMetrics.length > 0 ? { currentMetrics } : {}), ...(conditions ? { conditions } : {}) };
  }
  return out;
}

/** An annotation's JSON; undefined when absent or not JSON (a hand-edited annotation is ignored, not fatal). */
function parsed(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
