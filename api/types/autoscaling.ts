// autoscaling/v1 Scale: the body of the scale subresource of deployments, replicasets, statefulsets and
// replicationcontrollers (`kubectl scale`).
import type { KubeObject } from "../meta.js";

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
