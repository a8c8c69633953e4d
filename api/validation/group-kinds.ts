// The validation of the batch, autoscaling, policy, networking, scheduling, node, storage and admissionregistration
// kinds and apps/v1 ControllerRevisions, keyed by `group/Kind`; index.ts consults this table for kinds its own
// switch does not name.
import type { FieldError } from "../errors.js";
import type { KubeObject } from "../meta.js";
import { validateControllerRevision, validateControllerRevisionUpdate, validateWebhookConfiguration } from "./admissionregistration.js";
import { validateHorizontalPodAutoscaler } from "./autoscaling.js";
import { validateCronJob, validateJob, validateJobUpdate } from "./batch.js";
import { validateIngress, validateIngressClass, validateNetworkPolicy } from "./networking.js";
import { validatePodDisruptionBudget } from "./policy.js";
import { validatePriorityClass, validatePriorityClassUpdate, validateRuntimeClass, validateRuntimeClassUpdate } from "./scheduling.js";
import {
  validateCSIDriver,
  validateCSIDriverUpdate,
  validateCSINode,
  validateCSIStorageCapacity,
  validateStorageClass,
  validateStorageClassUpdate,
  validateVolumeAttachment,
  validateVolumeAttachmentUpdate,
} from "./storage.js";

interface KindRules {
  /** Rules on every write (create and update), after the object-metadata rules. */
  create(obj: KubeObject): FieldError[];
  /** What an update may not change, against the stored object. */
  update?(next: KubeObject, prev: KubeObject): FieldError[];
}

const RULES: Readonly<Record<string, KindRules>> = {
  "batch/Job": { create: validateJob, update: validateJobUpdate },
  "batch/CronJob": { create: validateCronJob },
  "autoscaling/HorizontalPodAutoscaler": { create: validateHorizontalPodAutoscaler },
  "policy/PodDisruptionBudget": { create: validatePodDisruptionBudget },
  "networking.k8s.io/Ingress": { create: validateIngress },
  "networking.k8s.io/IngressClass": { create: validateIngressClass },
  "networking.k8s.io/NetworkPolicy": { create: validateNetworkPolicy },
  "scheduling.k8s.io/PriorityClass": { create: validatePriorityClass, update: validatePriorityClassUpdate },
  "node.k8s.io/RuntimeClass": { create: validateRuntimeClass, update: validateRuntimeClassUpdate },
  "storage.k8s.io/StorageClass": { create: validateStorageClass, update: validateStorageClassUpdate },
  "storage.k8s.io/CSIDriver": { create: validateCSIDriver, update: validateCSIDriverUpdate },
  "storage.k8s.io/CSINode": { create: validateCSINode },
  "storage.k8s.io/CSIStorageCapacity": { create: validateCSIStorageCapacity },
  "storage.k8s.io/VolumeAttachment": { create: validateVolumeAttachment, update: validateVolumeAttachmentUpdate },
  "admissionregistration.k8s.io/ValidatingWebhookConfiguration": { create: (obj) => validateWebhookConfiguration(obj, false) },
  "admissionregistration.k8s.io/MutatingWebhookConfiguration": { create: (obj) => validateWebhookConfiguration(obj, true) },
  "apps/ControllerRevision": { create: validateControllerRevision, update: validateControllerRevisionUpdate },
};

/** The kind rules of `groupKind` for a create; [] for kinds this table does not hold. */
export function validateGroupKind(groupKind: string, obj: KubeObject): FieldError[] {
  return RULES[groupKind]?.create(obj) ?? [];
}

/** The update-only rules of `groupKind`; [] for kinds this table does not hold. */
export function validateGroupKindUpdate(groupKind: string, next: KubeObject, prev: KubeObject): FieldError[] {
  return RULES[groupKind]?.update?.(next, prev) ?? [];
}
