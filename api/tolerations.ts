// Which taints a pod's tolerations tolerate (Kubernetes' v1.Toleration.ToleratesTaint and
// component-helpers' FindMatchingUntoleratedTaint). The scheduler's admission of a pod to a node and the node
// lifecycle controller's NoExecute eviction both ask these questions; they must agree.
import type { Taint, Toleration } from "./types/index.js";

/**
 * An empty effect matches every effect; an empty key with operator Exists matches every key. Equal (the default
 * operator) compares values, absent counting as ""; an unknown operator tolerates nothing.
 */
export function toleratesTaint(toleration: Readonly<Toleration>, taint: Readonly<Taint>): boolean {
  if (toleration.effect && toleration.effect !== taint.effect) return false;
  if (toleration.key && toleration.key !== taint.key) return false;
  switch (toleration.operator ?? "Equal") {
    case "Exists":
      return true;
    case "Equal":
      return (toleration.value ?? "") === (taint.value ?? "");
    default:
      return false;
  }
}

/** Some toleration tolerates `taint`. */
export function taintTolerated(taint: Readonly<Taint>, tolerations: readonly Readonly<Toleration>[]): boolean {
  for (const t of tolerations) if (toleratesTaint(t, taint)) return true;
  return false;
}

/** The first taint for which `include` holds that no toleration tolerates. */
export function findUntoleratedTaint(taints: readonly Readonly<Taint>[], tolerations: readonly Readonly<Toleration>[], include: (t: Readonly<Taint>) => boolean): Readonly<Taint> | undefined {
  for (const taint of taints) {
    if (include(taint) && !taintTolerated(taint, tolerations)) return taint;
  }
  return undefined;
}
