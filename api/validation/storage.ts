// storage.k8s.io/v1: StorageClasses, CSIDrivers, CSINodes, CSIStorageCapacities, VolumeAttachments
// (pkg/apis/storage/validation).
import type { FieldError } from "../errors.js";
import { isDNS1123Subdomain } from "../labels.js";
import { isQuantity, parseQuantity, quantityToMilli } from "../quantity.js";
import type { CSIDriver, CSINode, CSIStorageCapacity, StorageClass, VolumeAttachment } from "../types/index.js";
import { duplicate, forbidden, immutable, invalid, notSupported, raw, required } from "./field-errors.js";
import { deepEqual, isObj, listOf, objectsOf } from "./helpers.js";
import { validateLabelSelector } from "./label-selectors.js";
import { qualifiedNameErrors } from "./names.js";

const CSI_DRIVER_NAME_MAX = 63;

export function validateStorageClass(sc: StorageClass): FieldError[] {
  const errs: FieldError[] = [];
  if (!sc.provisioner) errs.push(required("provisioner"));
  else errs.push(...qualifiedNameErrors("provisioner", sc.provisioner));
  if (sc.reclaimPolicy !== undefined && sc.reclaimPolicy !== "Delete" && sc.reclaimPolicy !== "Retain") errs.push(notSupported("reclaimPolicy", sc.reclaimPolicy, ["Delete", "Retain"]));
  const mode = sc.volumeBindingMode;
  if (mode === undefined) errs.push(required("volumeBindingMode"));
  else if (mode !== "Immediate" && mode !== "WaitForFirstConsumer") errs.push(notSupported("volumeBindingMode", mode, ["Immediate", "WaitForFirstConsumer"]));
  return errs;
}

export function validateStorageClassUpdate(next: StorageClass, prev: StorageClass): FieldError[] {
  const errs: FieldError[] = [];
  if (!deepEqual(next.parameters, prev.parameters)) errs.push(forbidden("parameters", "updates to parameters are forbidden."));
  if (next.provisioner !== prev.provisioner) errs.push(forbidden("provisioner", "updates to provisioner are forbidden."));
  if (next.reclaimPolicy !== prev.reclaimPolicy) errs.push(forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."));
  if (next.volumeBindingMode !== prev.volumeBindingMode) errs.push(immutable("volumeBindingMode", next.volumeBindingMode));
  return errs;
}

/** CSI driver names: DNS subdomains of at most 63 characters. */
function driverNameErrors(field: string, name: string | undefined): FieldError[] {
  if (!name) return [required(field)];
  const errs = isDNS1123Subdomain(name).map((msg) => invalid(field, name, msg));
  if (name.length > CSI_DRIVER_NAME_MAX) errs.push(invalid(field, name, `must be no more than ${CSI_DRIVER_NAME_MAX} characters`));
  return errs;
}

export function validateCSIDriver(driver: CSIDriver): FieldError[] {
  const errs = driverNameErrors("metadata.name", driver.metadata.name).filter((e) => e.type !== "FieldValueRequired");
  const spec = isObj(driver.spec) ? driver.spec : {};
  listOf(spec.volumeLifecycleModes).forEach((mode, i) => {
    if (mode !== "Persistent" && mode !== "Ephemeral") errs.push(notSupported(`spec.volumeLifecycleModes[${i}]`, mode, ["Ephemeral", "Persistent"]));
  });
  if (spec.fsGroupPolicy !== undefined && !["ReadWriteOnceWithFSType", "File", "None"].includes(spec.fsGroupPolicy)) {
    errs.push(notSupported("spec.fsGroupPolicy", spec.fsGroupPolicy, ["File", "None", "ReadWriteOnceWithFSType"]));
  }
  return errs;
}

export function validateCSIDriverUpdate(next: CSIDriver, prev: CSIDriver): FieldError[] {
  const errs: FieldError[] = [];
  if (next.spec?.attachRequired !== prev.spec?.attachRequired) errs.push(immutable("spec.attachRequired", next.spec?.attachRequired));
  if (next.spec?.fsGroupPolicy !== prev.spec?.fsGroupPolicy) errs.push(immutable("spec.fsGroupPolicy", next.spec?.fsGroupPolicy));
  if (!deepEqual(next.spec?.volumeLifecycleModes, prev.spec?.volumeLifecycleModes)) errs.push(immutable("spec.volumeLifecycleModes", next.spec?.volumeLifecycleModes));
  return errs;
}

export function validateCSINode(node: CSINode): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  objectsOf(node.spec?.drivers).forEach((driver, i) => {
    const path = `spec.drivers[${i}]`;
    errs.push(...driverNameErrors(`${path}.name`, driver.name));
    if (!driver.nodeID) errs.push(required(`${path}.nodeID`));
    if (driver.name && seen.has(driver.name)) errs.push(duplicate(`${path}.name`, driver.name));
    if (driver.name) seen.add(driver.name);
    const count = driver.allocatable?.count;
    if (typeof count === "number" && count < 0) errs.push(invalid(`${path}.allocatable.count`, count, "must be greater than or equal to 0"));
  });
  return errs;
}

export function validateCSIStorageCapacity(capacity: CSIStorageCapacity): FieldError[] {
  const errs: FieldError[] = [];
  if (!capacity.storageClassName) errs.push(required("storageClassName"));
  else errs.push(...isDNS1123Subdomain(capacity.storageClassName).map((msg) => invalid("storageClassName", capacity.storageClassName, msg)));
  errs.push(...validateLabelSelector(capacity.nodeTopology, "nodeTopology"));
  for (const key of ["capacity", "maximumVolumeSize"] as const) {
    const value = capacity[key];
    if (value === undefined) continue;
    if (!isQuantity(value)) errs.push(invalid(key, value, "must be a valid quantity"));
    else if (quantityToMilli(parseQuantity(value)) < 0) errs.push(invalid(key, value, "must be greater than or equal to 0"));
  }
  return errs;
}

export function validateVolumeAttachment(va: VolumeAttachment): FieldError[] {
  const spec = isObj(va.spec) ? va.spec : {};
  const errs: FieldError[] = [];
  if (!spec.attacher) errs.push(required("spec.attacher"));
  else errs.push(...driverNameErrors("spec.attacher", spec.attacher));
  if (!spec.nodeName) errs.push(required("spec.nodeName"));
  const source = isObj(spec.source) ? spec.source : {};
  const sources = [source.persistentVolumeName, source.inlineVolumeSpec].filter((s) => s !== undefined).length;
  if (sources !== 1) errs.push(required("spec.source", "must specify exactly one of inlineVolumeSpec and persistentVolumeName"));
  return errs;
}

export function validateVolumeAttachmentUpdate(next: VolumeAttachment, prev: VolumeAttachment): FieldError[] {
  return deepEqual(next.spec, prev.spec) ? [] : [immutable("spec", raw("storage.VolumeAttachmentSpec{...}"))];
}
