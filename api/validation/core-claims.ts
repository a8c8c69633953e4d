// PersistentVolumes, PersistentVolumeClaims, ResourceQuotas, LimitRanges and PodTemplates
// (pkg/apis/core/validation): the rules a user meets writing them by hand.
import type { FieldError } from "../errors.js";
import { quantityError } from "../quantity.js";
import type { LimitRange, PersistentVolume, PersistentVolumeClaim, PodTemplate, ResourceQuota } from "../types/index.js";
import { forbidden, invalid, notSupported, required } from "./field-errors.js";
import { deepEqual, isObj, listOf, objectsOf, sortedEntries } from "./helpers.js";
import { validatePodSpec } from "./pod-spec.js";

const ACCESS_MODES = ["ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod"];
const RECLAIM_POLICIES = ["Delete", "Recycle", "Retain"];
const VOLUME_MODES = ["Block", "Filesystem"];
const PV_SOURCES = ["hostPath", "local", "nfs", "csi", "iscsi", "fc", "rbd", "cephfs", "cinder", "azureDisk", "azureFile", "gcePersistentDisk", "awsElasticBlockStore", "glusterfs", "flexVolume", "portworxVolume", "scaleIO", "storageos", "vsphereVolume", "quobyte", "photonPersistentDisk"];
const LIMIT_TYPES = ["Container", "PersistentVolumeClaim", "Pod"];

function quantities(map: Record<string, unknown> | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [name, value] of sortedEntries(isObj(map) ? map : {})) {
    const problem = quantityError(value);
    if (problem) errs.push(invalid(`${path}[${name}]`, value, problem));
  }
  return errs;
}

function accessModes(modes: readonly string[], path: string, requiredDetail: string): FieldError[] {
  const errs: FieldError[] = [];
  if (modes.length === 0) errs.push(required(path, requiredDetail));
  for (const mode of modes) if (!ACCESS_MODES.includes(mode)) errs.push(notSupported(path, mode, ACCESS_MODES));
  if (modes.includes("ReadWriteOncePod") && modes.length > 1) errs.push(forbidden(path, "may not use ReadWriteOncePod with other access modes"));
  return errs;
}

export function validatePersistentVolume(pv: PersistentVolume): FieldError[] {
  const spec = isObj(pv.spec) ? pv.spec : {};
  const errs = accessModes(listOf(spec.accessModes), "spec.accessModes", "");
  if (!isObj(spec.capacity) || Object.keys(spec.capacity).length === 0) errs.push(required("spec.capacity"));
  else if (!("storage" in spec.capacity)) errs.push(notSupported("spec.capacity", Object.keys(spec.capacity)[0], ["storage"]));
  errs.push(...quantities(spec.capacity, "spec.capacity"));
  if (spec.persistentVolumeReclaimPolicy && !RECLAIM_POLICIES.includes(spec.persistentVolumeReclaimPolicy)) {
    errs.push(notSupported("spec.persistentVolumeReclaimPolicy", spec.persistentVolumeReclaimPolicy, RECLAIM_POLICIES));
  }
  if (spec.volumeMode && !VOLUME_MODES.includes(spec.volumeMode)) errs.push(notSupported("spec.volumeMode", spec.volumeMode, VOLUME_MODES));
  const sources = PV_SOURCES.filter((s) => (spec as Record<string, unknown>)[s] !== undefined);
  if (sources.length === 0) errs.push(required("spec", "must specify a volume type"));
  if (sources.length > 1) errs.push(forbidden(`spec.${sources[1] ?? ""}`, "may not specify more than 1 volume type"));
  if (spec.hostPath && !spec.hostPath.path) errs.push(required("spec.hostPath.path"));
  if (spec.local && !spec.local.path) errs.push(required("spec.local.path"));
  if (spec.local && !spec.nodeAffinity) errs.push(required("spec.nodeAffinity", "Local volume requires node affinity"));
  return errs;
}

export function validatePersistentVolumeClaim(pvc: PersistentVolumeClaim): FieldError[] {
  const spec = isObj(pvc.spec) ? pvc.spec : {};
  const errs = accessModes(listOf(spec.accessModes), "spec.accessModes", "at least 1 access mode is required");
  const requests = isObj(spec.resources?.requests) ? spec.resources.requests : {};
  if (!("storage" in requests)) errs.push(required("spec.resources[storage]"));
  errs.push(...quantities(requests, "spec.resources.requests"));
  if (spec.volumeMode && !VOLUME_MODES.includes(spec.volumeMode)) errs.push(notSupported("spec.volumeMode", spec.volumeMode, VOLUME_MODES));
  return errs;
}

/** A claim's spec is fixed once created, but for its storage request and volume (the binder sets volumeName). */
export function validatePersistentVolumeClaimUpdate(next: PersistentVolumeClaim, prev: PersistentVolumeClaim): FieldError[] {
  const strip = (pvc: PersistentVolumeClaim): unknown => ({ ...pvc.spec, resources: { ...pvc.spec?.resources, requests: undefined }, volumeName: prev.spec?.volumeName ? pvc.spec?.volumeName : undefined, volumeAttributesClassName: undefined });
  if (deepEqual(JSON.parse(JSON.stringify(strip(next))), JSON.parse(JSON.stringify(strip(prev))))) return [];
  return [forbidden("spec", "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims")];
}

export function validateResourceQuota(quota: ResourceQuota): FieldError[] {
  return [...quantities(quota.spec?.hard, "spec.hard"), ...quantities(quota.status?.hard, "status.hard"), ...quantities(quota.status?.used, "status.used")];
}

export function validateLimitRange(lr: LimitRange): FieldError[] {
  const errs: FieldError[] = [];
  objectsOf(lr.spec?.limits).forEach((item, i) => {
    const path = `spec.limits[${i}]`;
    if (!item.type) errs.push(required(`${path}.type`));
    else if (!LIMIT_TYPES.includes(item.type)) errs.push(notSupported(`${path}.type`, item.type, LIMIT_TYPES));
    for (const key of ["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"] as const) errs.push(...quantities(item[key], `${path}.${key}`));
    if (item.type === "Pod" && (item.default || item.defaultRequest)) errs.push(forbidden(`${path}.default`, "may not be specified when `type` is 'Pod'"));
  });
  return errs;
}

export function validatePodTemplate(template: PodTemplate): FieldError[] {
  if (!isObj(template.template)) return [required("template")];
  return validatePodSpec(template.template.spec, "template.spec");
}
