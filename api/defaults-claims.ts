// Defaults of the core kinds about storage claims and namespace budgets (SetDefaults_PersistentVolume,
// SetDefaults_PersistentVolumeClaim, SetDefaults_LimitRangeItem). Idempotent, like everything in defaults.ts.
import type { LimitRange, PersistentVolume, PersistentVolumeClaim } from "./types/index.js";

export function defaultPersistentVolume(pv: PersistentVolume): void {
  if (typeof pv.spec === "object") {
    pv.spec.persistentVolumeReclaimPolicy ||= "Retain";
    pv.spec.volumeMode ||= "Filesystem";
  }
  pv.status = { ...(typeof pv.status === "object" ? pv.status : {}) };
  pv.status.phase ||= "Pending";
}

export function defaultPersistentVolumeClaim(pvc: PersistentVolumeClaim): void {
  if (typeof pvc.spec === "object") pvc.spec.volumeMode ||= "Filesystem";
  pvc.status = { ...(typeof pvc.status === "object" ? pvc.status : {}) };
  pvc.status.phase ||= "Pending";
}

/** A container limit's max is its default limit, and its default limit its default request. */
export function defaultLimitRange(lr: LimitRange): void {
  for (const item of Array.isArray(lr.spec?.limits) ? lr.spec.limits : []) {
    if (typeof item !== "object" || item.type !== "Container") continue;
    for (const [resource, max] of Object.entries(item.max ?? {})) {
      item.default ??= {};
      item.default[resource] ??= max;
    }
    for (const [resource, limit] of Object.entries(item.default ?? {})) {
      item.defaultRequest ??= {};
      item.defaultRequest[resource] ??= limit;
    }
  }
}
