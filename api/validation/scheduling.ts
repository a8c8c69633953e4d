// scheduling.k8s.io/v1 PriorityClasses and node.k8s.io/v1 RuntimeClasses (pkg/apis/scheduling/validation,
// pkg/apis/node/validation).
import type { FieldError } from "../errors.js";
import { isDNS1123Label } from "../labels.js";
import { isQuantity, parseQuantity, quantityToMilli } from "../quantity.js";
import type { PriorityClass, RuntimeClass } from "../types/index.js";
import { forbidden, immutable, invalid, notSupported } from "./field-errors.js";
import { deepEqual, isObj, sortedEntries, str } from "./helpers.js";
import { validateLabels } from "./object-meta.js";

/** The highest priority a user-defined class may have; above it are the system classes. */
export const HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000;
export const SYSTEM_PRIORITY_CLASS_PREFIX = "system-";

/** The classes every cluster has (created by the apiserver at start), with their fixed values. */
export const SYSTEM_PRIORITY_CLASSES: readonly PriorityClass[] = [
  {
    apiVersion: "scheduling.k8s.io/v1",
    kind: "PriorityClass",
    metadata: { name: "system-node-critical" },
    value: 2 * HIGHEST_USER_DEFINABLE_PRIORITY + 1000,
    description: "Used for system critical pods that must not be moved from their current node.",
  },
  {
    apiVersion: "scheduling.k8s.io/v1",
    kind: "PriorityClass",
    metadata: { name: "system-cluster-critical" },
    value: 2 * HIGHEST_USER_DEFINABLE_PRIORITY,
    description: "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
  },
];

export function validatePriorityClass(pc: PriorityClass): FieldError[] {
  const errs: FieldError[] = [];
  const name = str(pc.metadata.name);
  const system = SYSTEM_PRIORITY_CLASSES.find((s) => s.metadata.name === name);
  if (system) {
    if (pc.value !== system.value) errs.push(forbidden("metadata.name", `value of ${name} PriorityClass must be ${system.value}`));
    if (pc.globalDefault === true) errs.push(forbidden("metadata.name", `globalDefault of ${name} PriorityClass must be false`));
  } else if (name.startsWith(SYSTEM_PRIORITY_CLASS_PREFIX)) {
    errs.push(forbidden("metadata.name", `priority class names with '${SYSTEM_PRIORITY_CLASS_PREFIX}' prefix are reserved for system use only`));
  } else if (typeof pc.value === "number" && pc.value > HIGHEST_USER_DEFINABLE_PRIORITY) {
    errs.push(forbidden("value", `maximum allowed value of a user defined priority is ${HIGHEST_USER_DEFINABLE_PRIORITY}`));
  }
  const policy = pc.preemptionPolicy;
  if (policy !== undefined && policy !== "PreemptLowerPriority" && policy !== "Never") errs.push(notSupported("preemptionPolicy", policy, ["Never", "PreemptLowerPriority"]));
  return errs;
}

export function validatePriorityClassUpdate(next: PriorityClass, prev: PriorityClass): FieldError[] {
  const errs: FieldError[] = [];
  if (next.value !== prev.value) errs.push(forbidden("value", "may not be changed in an update."));
  if (next.preemptionPolicy !== prev.preemptionPolicy) errs.push(forbidden("preemptionPolicy", "may not be changed in an update."));
  return errs;
}

export function validateRuntimeClass(rc: RuntimeClass): FieldError[] {
  const errs = isDNS1123Label(rc.handler ?? "").map((msg) => invalid("handler", rc.handler ?? "", msg));
  const podFixed = isObj(rc.overhead) ? rc.overhead.podFixed : undefined;
  for (const [resource, value] of sortedEntries(podFixed)) {
    const path = `overhead.podFixed[${resource}]`;
    if (!isQuantity(value)) errs.push(invalid(path, value, "must be a valid quantity"));
    else if (quantityToMilli(parseQuantity(value)) < 0) errs.push(invalid(path, value, "must be greater than or equal to 0"));
  }
  if (isObj(rc.scheduling)) errs.push(...validateLabels(rc.scheduling.nodeSelector, "scheduling.nodeSelector"));
  return errs;
}

export function validateRuntimeClassUpdate(next: RuntimeClass, prev: RuntimeClass): FieldError[] {
  const errs: FieldError[] = [];
  if (next.handler !== prev.handler) errs.push(immutable("handler", next.handler));
  if (!deepEqual(next.overhead, prev.overhead)) errs.push(immutable("overhead", next.overhead));
  return errs;
}
