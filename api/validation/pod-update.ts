// What a pod update may change: only a few spec fields (images, activeDeadlineSeconds, tolerations added).
import type { FieldError } from "../errors.js";
import type { Container, Pod, PodSpec } from "../types/index.js";
import { forbidden, invalid } from "./field-errors.js";
import { deepEqual, isObj, objectsOf } from "./helpers.js";
import { MAX_INT32 } from "./pod-spec.js";

const POD_UPDATE_FORBIDDEN =
  "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/**
 * A pod's spec is immutable except for container images, activeDeadlineSeconds (set or lowered), tolerations
 * (additions), a negative grace period becoming 1, and scheduling gates being removed. Binding a pod (setting
 * nodeName once) is also allowed: kubelab's pods/binding subresource writes through this same path.
 */
export function validatePodUpdate(next: Pod, prev: Pod): FieldError[] {
  const errs: FieldError[] = [];
  const ns: Partial<PodSpec> = isObj(next.spec) ? next.spec : {};
  const ps: Partial<PodSpec> = isObj(prev.spec) ? prev.spec : {};
  if (ns.activeDeadlineSeconds !== undefined) {
    if (ns.activeDeadlineSeconds < 0 || ns.activeDeadlineSeconds > MAX_INT32) {
      return [invalid("spec.activeDeadlineSeconds", ns.activeDeadlineSeconds, `must be between 0 and ${MAX_INT32}, inclusive`)];
    }
    if (ps.activeDeadlineSeconds !== undefined && ps.activeDeadlineSeconds < ns.activeDeadlineSeconds) {
      return [invalid("spec.activeDeadlineSeconds", ns.activeDeadlineSeconds, "must be less than or equal to previous value")];
    }
  } else if (ps.activeDeadlineSeconds !== undefined) {
    errs.push(invalid("spec.activeDeadlineSeconds", null, "must not update from a positive integer to nil value"));
  }
  // Only additions to tolerations; an existing one may change only its tolerationSeconds.
  for (const old of objectsOf(ps.tolerations)) {
    const kept = objectsOf(ns.tolerations).some((t) => deepEqual({ ...old, tolerationSeconds: t.tolerationSeconds }, t));
    if (!kept) {
      errs.push(forbidden("spec.tolerations", "existing toleration can not be modified except its tolerationSeconds"));
      break;
    }
  }
  // Compare everything else: copy the mutable fields from the old spec and require the rest to be equal.
  const munged = structuredClone(ns);
  const copyImages = (to: readonly Container[] | undefined, from: readonly Container[] | undefined): void => {
    objectsOf(to).forEach((c, i) => {
      const old = objectsOf(from)[i];
      if (isObj(c) && isObj(old)) setOrDelete(c, "image", old.image);
    });
  };
  copyImages(munged.containers, ps.containers);
  copyImages(munged.initContainers, ps.initContainers);
  setOrDelete(munged, "activeDeadlineSeconds", ps.activeDeadlineSeconds);
  setOrDelete(munged, "tolerations", ps.tolerations);
  if (typeof ps.terminationGracePeriodSeconds === "number" && ps.terminationGracePeriodSeconds < 0 && munged.terminationGracePeriodSeconds === 1) {
    munged.terminationGracePeriodSeconds = ps.terminationGracePeriodSeconds;
  }
  if (objectsOf(munged.schedulingGates).every((g) => objectsOf(ps.schedulingGates).some((o) => deepEqual(o, g)))) {
    setOrDelete(munged, "schedulingGates", ps.schedulingGates);
  }
  if (!ps.nodeName && munged.nodeName) delete munged.nodeName;
  if (!deepEqual(munged, ps)) errs.push(forbidden("spec", POD_UPDATE_FORBIDDEN));
  return errs;
}

function setOrDelete<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value === undefined) Reflect.deleteProperty(target, key);
  else target[key] = value;
}
