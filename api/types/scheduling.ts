// scheduling.k8s.io/v1 PriorityClass and node.k8s.io/v1 RuntimeClass: the cluster-scoped classes pods name.
import type { KubeObject } from "../meta.js";
import type { Quantity, Toleration } from "./core.js";

export interface PriorityClass extends KubeObject {
  value?: number;
  globalDefault?: boolean;
  description?: string;
  preemptionPolicy?: "PreemptLowerPriority" | "Never";
}

export interface RuntimeClass extends KubeObject {
  handler?: string;
  overhead?: { podFixed?: Record<string, Quantity> };
  scheduling?: { nodeSelector?: Record<string, string>; tolerations?: Toleration[] };
}
