// Which PersistentVolume suits which claim, and on which nodes a volume can be used (Kubernetes'
// pkg/volume/util FindMatchingVolume and CheckNodeAffinity): the persistentvolume-binder controller and the
// scheduler's VolumeBinding plugin must agree, so both use these.
import { selectorFromLabelSelector } from "./labels.js";
import { isRecord } from "./meta.js";
import { compileNodeSelector, type NodeMatcher } from "./node-selector.js";
import { compareQuantities, parseQuantity } from "./quantity.js";
import type { Node, NodeSelectorTerm, PersistentVolume, PersistentVolumeClaim, Pod, StorageClass } from "./types/index.js";

/** The claim's annotation naming the node its WaitForFirstConsumer volume is to be provisioned for. */
export const ANN_SELECTED_NODE = "volume.kubernetes.io/selected-node";
export const ANN_BIND_COMPLETED = "pv.kubernetes.io/bind-completed";
export const ANN_BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller";
/** A class with this provisioner has only static volumes. */
export const NO_PROVISIONER = "kubernetes.io/no-provisioner";

/** Whether `volume`'s claimRef names `claim` (a claimRef without uid is a pre-binding by name). */
export function isVolumeBoundTo(volume: Readonly<PersistentVolume>, claim: Readonly<PersistentVolumeClaim>): boolean {
  const ref = volume.spec?.claimRef;
  if (!ref || ref.namespace !== claim.metadata.namespace || ref.name !== claim.metadata.name) return false;
  return !ref.uid || ref.uid === claim.metadata.uid;
}

/** A claim of a class with volumeBindingMode WaitForFirstConsumer; a claim without class binds immediately. */
export function isDelayBinding(claim: Readonly<PersistentVolumeClaim>, storageClass: Readonly<StorageClass> | undefined): boolean {
  if (!claim.spec?.storageClassName) return false;
  return storageClass?.volumeBindingMode === "WaitForFirstConsumer";
}

/** The names of the claims a pod's volumes use. */
export function podClaimNames(pod: Readonly<Pod>): string[] {
  const names: string[] = [];
  for (const v of pod.spec?.volumes ?? []) if (v.persistentVolumeClaim?.claimName) names.push(v.persistentVolumeClaim.claimName);
  return names;
}

/** The volume's required node affinity as a matcher; undefined when the volume may be used on any node. */
export function volumeNodeMatcher(volume: Readonly<PersistentVolume>): NodeMatcher | undefined {
  const required = volume.spec?.nodeAffinity?.required;
  if (!isRecord(required)) return undefined;
  const terms = required.nodeSelectorTerms;
  // A required selector without terms matches no node, as Kubernetes' NodeSelector does.
  return compileNodeSelector(Array.isArray(terms) ? (terms as NodeSelectorTerm[]) : []);
}

export function volumeFitsNode(volume: Readonly<PersistentVolume>, node: Readonly<Node>): boolean {
  const m = volumeNodeMatcher(volume);
  return m === undefined || m(node);
}

/** Whether a class's allowedTopologies (none: anywhere) admit `node`. */
export function topologyAllows(storageClass: Readonly<StorageClass>, node: Readonly<Node>): boolean {
  const terms = storageClass.allowedTopologies ?? [];
  if (terms.length === 0) return true;
  return terms.some((t) => (t.matchLabelExpressions ?? []).every((e) => e.values.includes(node.metadata.labels?.[e.key] ?? "\u0000")));
}

export interface MatchOptions {
  /** Only volumes usable on this node (their node affinity admits it). */
  node?: Readonly<Node>;
  /**
   * The claim waits for its first consumer and no node is known: only a volume pre-bound to it may be chosen
   * (the scheduler picks the others, knowing the node).
   */
  delayBinding?: boolean;
  /** Volumes already promised to other claims. */
  exclude?: ReadonlySet<string>;
}

/**
 * The volume for `claim`: one pre-bound to it (its claimRef names the claim) wins; else the smallest Available
 * volume of the claim's class ("" matches a volume without class) that is not being deleted, whose capacity covers
 * the request, whose access modes include the claim's and whose labels its selector matches.
 */
export function findMatchingVolume(claim: Readonly<PersistentVolumeClaim>, volumes: readonly Readonly<PersistentVolume>[], opts: MatchOptions = {}): Readonly<PersistentVolume> | undefined {
  const wanted = claim.spec?.resources?.requests?.storage;
  const request = parseQuantity(wanted ?? 0);
  const className = claim.spec?.storageClassName ?? "";
  const modes = claim.spec?.accessModes ?? [];
  const selector = claim.spec?.selector ? selectorFromLabelSelector(claim.spec.selector) : undefined;
  let best: Readonly<PersistentVolume> | undefined;
  let bestPreBound = false;
  for (const v of volumes) {
    if (v.metadata.deletionTimestamp) continue;
    if (opts.exclude?.has(v.metadata.name ?? "")) continue;
    if (opts.node && !volumeFitsNode(v, opts.node)) continue;
    const preBound = v.spec?.claimRef !== undefined;
    if (preBound) {
      if (!isVolumeBoundTo(v, claim)) continue;
    } else {
      if (opts.delayBinding && !opts.node) continue;
      if (v.status?.phase === "Released" || v.status?.phase === "Failed") continue;
      if ((v.spec?.storageClassName ?? "") !== className) continue;
      if (!modes.every((m) => v.spec?.accessModes?.includes(m))) continue;
      if (selector && !selector.matches(v.metadata.labels)) continue;
      const capacity = v.spec?.capacity?.storage;
      if (capacity === undefined || compareQuantities(parseQuantity(capacity), request) < 0) continue;
    }
    if (best === undefined || (preBound && !bestPreBound) || (preBound === bestPreBound && compareQuantities(capacityOf(v), capacityOf(best)) < 0)) {
      best = v;
      bestPreBound = preBound;
    }
  }
  return best;
}

function capacityOf(v: Readonly<PersistentVolume>): ReturnType<typeof parseQuantity> {
  return parseQuantity(v.spec?.capacity?.storage ?? "0");
}
