// autoscaling object types. Scale: the body of the scale subresource of deployments, replicasets, statefulsets and
// replicationcontrollers (`kubectl scale`).
import type { KubeObject, LabelSelector } from "../meta.js";

export interface ScaleSpec {
  replicas?: number;
}

export interface ScaleStatus {
  replicas: number;
  /** The label selector of the scaled object in string form ("app=web"). */
  selector?: string;
}

export interface Scale extends KubeObject {
  spec?: ScaleSpec;
  status?: ScaleStatus;
}

// ---------------------------------------------------------------------------------------------------------------
// HorizontalPodAutoscaler: autoscaling/v2 (the stored form) and autoscaling/v1 (served by conversion).

export interface CrossVersionObjectReference {
  kind: string;
  name: string;
  apiVersion?: string;
}

export interface MetricTarget {
  type: "Utilization" | "Value" | "AverageValue";
  value?: string;
  averageValue?: string;
  averageUtilization?: number;
}

export interface MetricValueStatus {
  value?: string;
  averageValue?: string;
  averageUtilization?: number;
}

export interface MetricIdentifier {
  name: string;
  selector?: LabelSelector;
}

export interface MetricSpecV2 {
  type: "Object" | "Pods" | "Resource" | "ContainerResource" | "External";
  resource?: { name: string; target: MetricTarget };
  containerResource?: { name: string; container: string; target: MetricTarget };
  pods?: { metric: MetricIdentifier; target: MetricTarget };
  object?: { describedObject: CrossVersionObjectReference; metric: MetricIdentifier; target: MetricTarget };
  external?: { metric: MetricIdentifier; target: MetricTarget };
}

export interface MetricStatusV2 {
  type: MetricSpecV2["type"];
  resource?: { name: string; current: MetricValueStatus };
  containerResource?: { name: string; container: string; current: MetricValueStatus };
  pods?: { metric: MetricIdentifier; current: MetricValueStatus };
  object?: { describedObject: CrossVersionObjectReference; metric: MetricIdentifier; current: MetricValueStatus };
  external?: { metric: MetricIdentifier; current: MetricValueStatus };
}

export interface HPAScalingPolicy {
  type: "Pods" | "Percent";
  value: number;
  periodSeconds: number;
}

export interface HPAScalingRules {
  stabilizationWindowSeconds?: number;
  selectPolicy?: "Max" | "Min" | "Disabled";
  policies?: HPAScalingPolicy[];
  tolerance?: string;
}

export interface HorizontalPodAutoscalerBehavior {
  scaleUp?: HPAScalingRules;
  scaleDown?: HPAScalingRules;
}

export interface HorizontalPodAutoscalerCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface HorizontalPodAutoscalerV2 extends KubeObject {
  spec?: {
    scaleTargetRef?: CrossVersionObjectReference;
    minReplicas?: number;
    maxReplicas?: number;
    metrics?: MetricSpecV2[];
    behavior?: HorizontalPodAutoscalerBehavior;
  };
  status?: {
    observedGeneration?: number;
    lastScaleTime?: string;
    currentReplicas?: number;
    desiredReplicas?: number;
    currentMetrics?: MetricStatusV2[];
    conditions?: HorizontalPodAutoscalerCondition[];
  };
}

export interface HorizontalPodAutoscalerV1 extends KubeObject {
  spec?: {
    scaleTargetRef?: CrossVersionObjectReference;
    minReplicas?: number;
    maxReplicas?: number;
    targetCPUUtilizationPercentage?: number;
  };
  status?: {
    observedGeneration?: number;
    lastScaleTime?: string;
    currentReplicas?: number;
    desiredReplicas?: number;
    currentCPUUtilizationPercentage?: number;
  };
}
