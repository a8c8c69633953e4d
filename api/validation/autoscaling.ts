// autoscaling: HorizontalPodAutoscalers, validated in their stored autoscaling/v2 form whichever version the
// client spoke (pkg/apis/autoscaling/validation).
import type { FieldError } from "../errors.js";
import { isQuantity } from "../quantity.js";
import type { HorizontalPodAutoscalerV2, MetricSpecV2, MetricTarget } from "../types/index.js";
import { invalid, notSupported, required } from "./field-errors.js";
import { isObj, objectsOf } from "./helpers.js";
import { pathSegmentErrors } from "./names.js";

const METRIC_TYPES = ["ContainerResource", "External", "Object", "Pods", "Resource"] as const;

export function validateHorizontalPodAutoscaler(hpa: HorizontalPodAutoscalerV2): FieldError[] {
  const spec = isObj(hpa.spec) ? hpa.spec : {};
  const errs: FieldError[] = [];
  const ref = isObj(spec.scaleTargetRef) ? spec.scaleTargetRef : undefined;
  if (!ref) errs.push(required("spec.scaleTargetRef"));
  else {
    if (!ref.kind) errs.push(required("spec.scaleTargetRef.kind"));
    else for (const msg of pathSegmentErrors(ref.kind)) errs.push(invalid("spec.scaleTargetRef.kind", ref.kind, msg));
    if (!ref.name) errs.push(required("spec.scaleTargetRef.name"));
    else for (const msg of pathSegmentErrors(ref.name)) errs.push(invalid("spec.scaleTargetRef.name", ref.name, msg));
  }
  const min = spec.minReplicas;
  if (typeof min === "number" && min < 1) errs.push(invalid("spec.minReplicas", min, "must be greater than or equal to 1"));
  const max = spec.maxReplicas ?? 0;
  if (max < 1) errs.push(invalid("spec.maxReplicas", max, "must be greater than 0"));
  if (typeof min === "number" && max < min) errs.push(invalid("spec.maxReplicas", max, "must be greater than or equal to `minReplicas`"));
  objectsOf(spec.metrics).forEach((metric, i) => { errs.push(...validateMetric(metric, `spec.metrics[${i}]`)); });
  return errs;
}

function validateMetric(metric: MetricSpecV2, path: string): FieldError[] {
  if (!metric.type) return [required(`${path}.type`, "must specify a metric source type")];
  if (!(METRIC_TYPES as readonly string[]).includes(metric.type)) return [notSupported(`${path}.type`, metric.type, METRIC_TYPES)];
  const errs: FieldError[] = [];
  const sourceKeys = { Object: "object", Pods: "pods", Resource: "resource", ContainerResource: "containerResource", External: "external" } as const;
  const key = sourceKeys[metric.type];
  const source = metric[key] as { name?: string; target?: MetricTarget } | undefined;
  if (!isObj(source)) return [required(`${path}.${key}`, `must populate information for the given metric source`)];
  if (metric.type === "Resource" || metric.type === "ContainerResource") {
    if (!source.name) errs.push(required(`${path}.${key}.name`, "must specify a resource name"));
  }
  errs.push(...validateTarget(source.target, `${path}.${key}.target`, metric.type === "Resource" || metric.type === "ContainerResource"));
  return errs;
}

function validateTarget(target: MetricTarget | undefined, path: string, resource: boolean): FieldError[] {
  if (!isObj(target)) return [required(path)];
  const errs: FieldError[] = [];
  const types = resource ? ["AverageValue", "Utilization"] : ["AverageValue", "Utilization", "Value"];
  if (!target.type) errs.push(required(`${path}.type`, "must specify a metric target type"));
  else if (!types.includes(target.type)) errs.push(notSupported(`${path}.type`, target.type, types));
  if (typeof target.averageUtilization === "number" && target.averageUtilization < 1) errs.push(invalid(`${path}.averageUtilization`, target.averageUtilization, "must be greater than 0"));
  for (const key of ["value", "averageValue"] as const) {
    const v = target[key];
    if (v !== undefined && !isQuantity(v)) errs.push(invalid(`${path}.${key}`, v, "must be a valid quantity"));
  }
  if (target.type === "Utilization" && target.averageUtilization === undefined) errs.push(required(`${path}.averageUtilization`, "must set either a target raw value or a target utilization"));
  if (target.type === "AverageValue" && target.averageValue === undefined) errs.push(required(`${path}.averageValue`, "must set either a target value for metric or a per-pod target"));
  return errs;
}

