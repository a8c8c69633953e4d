// Defaults of the core kinds about storage claims and namespace budgets (SetDefaults_PersistentVolume,
// SetDefaults_PersistentVolumeClaim, SetDefaults_LimitRangeItem). Idempotent, like everything in defaults.ts.
import type { LimitRange, LimitRangeItem, PersistentVolume, PersistentVolumeClaim } from "./types/index.js";

/** Bodies reach defaulting unvalidated: any field may hold anything. */
function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function defaultPersistentVolume(pv: PersistentVolume): void {
  const spec: unknown = pv.spec;
  if (isObject(spec)) {
    if (spec.persistentVolumeReclaimPolicy === undefined || spec.persistentVolumeReclaimPolicy === "") spec.persistentVolumeReclaimPolicy = "Retain";
    if (spec.volumeMode === undefined || spec.volumeMode === "") spec.volumeMode = "Filesystem";
  }
  pv.status = { ...(isObject(pv.status) ? pv.status : {}) };
  pv.status.phase ||= "Pending";
}

export function defaultPersistentVolumeClaim(pvc: PersistentVolumeClaim): void {
  const spec: unknown = pvc.spec;
  if (isObject(spec) && !spec.volumeMode) spec.volumeMode = "Filesystem";
  pvc.status = { ...(isObject(pvc.status) ? pvc.status : {}) };
  pvc.status.phase ||= "Pending";
}

/** A container limit's max is its default limit, and its default limit its default request. */
export function defaultLimitRange(lr: LimitRange): void {
  const limits: unknown = isObject(lr.spec) ? lr.spec.limits : undefined;
  for (const item of Array.isArray(limits) ? (limits as LimitRangeItem[]) : []) {
    if (!isObject(item) || item.type !== "Container") continue;
    if (isObject(item.max) && (item.default === undefined || isObject(item.default))) {
      item.default = { ...item.max, ...item.default };
    }
    if (isObject(item.default) && (item.defaultRequest === undefined || isObject(item.defaultRequest))) {
      item.defaultRequest = { ...item.default, ...item.defaultRequest };
    }
    // A container without a request asks for the minimum when no default says otherwise.
    if (isObject(item.min) && Object.keys(item.min).length > 0 && (item.defaultRequest === undefined || isObject(item.defaultRequest))) {
      item.defaultRequest = { ...item.min, ...item.defaultRequest };
    }
  }
}
