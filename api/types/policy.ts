// policy/v1 object types: PodDisruptionBudget and the Eviction body of pods/eviction.
import type { KubeObject, LabelSelector } from "../meta.js";
import type { IntOrString } from "./core.js";

export interface PodDisruptionBudgetSpec {
  /** Absolute number or percentage ("50%") of pods that must stay available; exclusive with maxUnavailable. */
  minAvailable?: IntOrString;
  maxUnavailable?: IntOrString;
  selector?: LabelSelector;
  unhealthyPodEvictionPolicy?: "IfHealthyBudget" | "AlwaysAllow";
}

export interface PodDisruptionBudgetCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  observedGeneration?: number;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface PodDisruptionBudgetStatus {
  observedGeneration?: number;
  /** Pods being evicted (name → time the eviction was admitted), not yet seen deleted by the controller. */
  disruptedPods?: Record<string, string>;
  disruptionsAllowed?: number;
  currentHealthy?: number;
  desiredHealthy?: number;
  expectedPods?: number;
  conditions?: PodDisruptionBudgetCondition[];
}

export interface PodDisruptionBudget extends KubeObject {
  spec?: PodDisruptionBudgetSpec;
  status?: PodDisruptionBudgetStatus;
}

export interface Eviction extends KubeObject {
  deleteOptions?: { gracePeriodSeconds?: number; preconditions?: { uid?: string; resourceVersion?: string }; dryRun?: string[] };
}
