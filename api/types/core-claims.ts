// core/v1 kinds about storage claims and namespace budgets: PersistentVolumes and their claims, ResourceQuotas,
// LimitRanges, PodTemplates, and the computed ComponentStatus.
import type { KubeObject, LabelSelector } from "../meta.js";
import type { ObjectReference, PodTemplateSpec } from "./core.js";

export interface PersistentVolumeSpec {
  /** Quantities by resource name ("storage"). */
  capacity?: Record<string, string>;
  accessModes?: string[];
  claimRef?: ObjectReference;
  persistentVolumeReclaimPolicy?: string;
  storageClassName?: string;
  mountOptions?: string[];
  volumeMode?: string;
  hostPath?: { path?: string; type?: string };
  local?: { path?: string; fsType?: string };
  nfs?: { server?: string; path?: string; readOnly?: boolean };
  csi?: { driver?: string; volumeHandle?: string };
  nodeAffinity?: Record<string, unknown>;
  volumeAttributesClassName?: string;
}

export interface PersistentVolume extends KubeObject {
  spec?: PersistentVolumeSpec;
  status?: { phase?: string; message?: string; reason?: string; lastPhaseTransitionTime?: string };
}

export interface PersistentVolumeClaimSpec {
  accessModes?: string[];
  selector?: LabelSelector;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeName?: string;
  storageClassName?: string;
  volumeMode?: string;
  dataSource?: Record<string, unknown>;
  dataSourceRef?: Record<string, unknown>;
  volumeAttributesClassName?: string;
}

export interface PersistentVolumeClaim extends KubeObject {
  spec?: PersistentVolumeClaimSpec;
  status?: { phase?: string; accessModes?: string[]; capacity?: Record<string, string>; conditions?: unknown[] };
}

export interface ResourceQuota extends KubeObject {
  spec?: { hard?: Record<string, string>; scopes?: string[]; scopeSelector?: Record<string, unknown> };
  status?: { hard?: Record<string, string>; used?: Record<string, string> };
}

export interface LimitRangeItem {
  /** Container, Pod or PersistentVolumeClaim. */
  type?: string;
  max?: Record<string, string>;
  min?: Record<string, string>;
  default?: Record<string, string>;
  defaultRequest?: Record<string, string>;
  maxLimitRequestRatio?: Record<string, string>;
}

export interface LimitRange extends KubeObject {
  spec?: { limits?: LimitRangeItem[] };
}

export interface PodTemplate extends KubeObject {
  template?: PodTemplateSpec;
}

export interface ComponentCondition {
  type: "Healthy";
  status: "True" | "False" | "Unknown";
  message?: string;
  error?: string;
}

export interface ComponentStatus extends KubeObject {
  conditions?: ComponentCondition[];
}
