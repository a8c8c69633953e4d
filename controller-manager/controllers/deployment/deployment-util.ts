// Pure helpers of the Deployment controller (Kubernetes' pkg/controller/deployment/util/deployment_util.go and the
// sort helpers of controller_utils.go): the pod-template hash, revisions and their annotations, maxSurge and
// maxUnavailable, proportional scaling, conditions and the status computation. No I/O; everything is unit tested.
import type { LabelSelector } from "../../../api/meta.js";
import { formatTime, parseTime } from "../../../api/time.js";
import type { AppsCondition, Deployment, DeploymentStatus, ReplicaSet } from "../../../api/types/apps.js";
import type { IntOrString, PodTemplateSpec } from "../../../api/types/core.js";
import { semanticEqual } from "../controller-utils.js";

// ---------------------------------------------------------------------------------------------------------------
// Names Kubernetes gives things

export const POD_TEMPLATE_HASH_LABEL = "pod-template-hash";
export const REVISION_ANNOTATION = "deployment.kubernetes.io/revision";
export const REVISION_HISTORY_ANNOTATION = "deployment.kubernetes.io/revision-history";
export const DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas";
export const MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas";
export const CHANGE_CAUSE_ANNOTATION = "kubernetes.io/change-cause";
export const LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration";
export const DEPRECATED_ROLLBACK_TO_ANNOTATION = "deprecated.deployment.rollback.to";
/** revision-history is trimmed (oldest first) to stay within this many characters. */
export const MAX_REV_HISTORY_LENGTH_IN_CHARS = 2000;

/** Never copied from a Deployment to its ReplicaSets (kubectl's rollout undo skips the same keys the other way). */
const ANNOTATIONS_TO_SKIP: ReadonlySet<string> = new Set([
  LAST_APPLIED_ANNOTATION,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  DEPRECATED_ROLLBACK_TO_ANNOTATION,
]);

export const CONDITION_AVAILABLE = "Available";
export const CONDITION_PROGRESSING = "Progressing";
export const CONDITION_REPLICA_FAILURE = "ReplicaFailure";

export const REASON_REPLICA_SET_UPDATED = "ReplicaSetUpdated";
export const REASON_FAILED_RS_CREATE = "ReplicaSetCreateError";
export const REASON_NEW_REPLICA_SET = "NewReplicaSetCreated";
export const REASON_FOUND_NEW_RS = "FoundNewReplicaSet";
export const REASON_NEW_RS_AVAILABLE = "NewReplicaSetAvailable";
export const REASON_TIMED_OUT = "ProgressDeadlineExceeded";
export const REASON_PAUSED = "DeploymentPaused";
export const REASON_RESUMED = "DeploymentResumed";
export const REASON_MINIMUM_REPLICAS_AVAILABLE = "MinimumReplicasAvailable";
export const REASON_MINIMUM_REPLICAS_UNAVAILABLE = "MinimumReplicasUnavailable";

/** progressDeadlineSeconds of MaxInt32 means "no deadline" (Kubernetes' convention). */
const MAX_INT32 = 2147483647;

// ---------------------------------------------------------------------------------------------------------------
// The pod-template hash

/** k8s.io/apimachinery/pkg/util/rand's alphabet: no vowels (no words), no 0/1/3 (no look-alikes). */
const SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/** rand.SafeEncodeString: each character mapped into SAFE_ALPHABET by its code. */
export function safeEncodeString(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) out += SAFE_ALPHABET[s.charCodeAt(i) % SAFE_ALPHABET.length]!;
  return out;
}

/** 32-bit FNV-1a. */
export function fnv1a32(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let hash = seed >>> 0;
  for (const b of bytes) {
    hash ^= b;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** JSON with object keys sorted at every level and undefined members dropped: one text per value. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record)
    .filter((k) => record[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(",")}}`;
}

/**
 * The pod-template-hash: Kubernetes' ComputeHash idea (FNV-32a of the template, then of collisionCount as 4
 * little-endian bytes when set, printed in decimal and safe-encoded), over a canonical JSON of the template rather
 * than Go's printed struct, so the value differs from Kubernetes' but is just as stable.
 */
export function computeHash(template: Readonly<PodTemplateSpec> | undefined, collisionCount?: number): string {
  const encoder = new TextEncoder();
  let hash = fnv1a32(encoder.encode(canonicalJson(template ?? {})));
  if (collisionCount !== undefined) {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, collisionCount >>> 0, true);
    hash = fnv1a32(bytes, hash);
  }
  return safeEncodeString(String(hash));
}

function withoutHashLabel(template: Readonly<PodTemplateSpec> | undefined): unknown {
  if (!template) return undefined;
  const labels = Object.fromEntries(Object.entries(template.metadata?.labels ?? {}).filter(([k]) => k !== POD_TEMPLATE_HASH_LABEL));
  return { ...template, metadata: { ...template.metadata, labels } };
}

/** Semantic equality of two pod templates ignoring the pod-template-hash label (kubectl's rule too). */
export function equalIgnoreHash(a: Readonly<PodTemplateSpec> | undefined, b: Readonly<PodTemplateSpec> | undefined): boolean {
  return semanticEqual(withoutHashLabel(a), withoutHashLabel(b));
}

/** A copy of `selector` that also requires key=value (CloneSelectorAndAddLabel). */
export function selectorWithLabel(selector: Readonly<LabelSelector> | undefined, key: string, value: string): LabelSelector {
  const out: LabelSelector = structuredClone(selector ?? {});
  out.matchLabels = { ...out.matchLabels, [key]: value };
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Spec accessors, maxSurge and maxUnavailable

export function replicasOf(obj: Readonly<Deployment> | Readonly<ReplicaSet> | undefined): number {
  return obj?.spec?.replicas ?? 1;
}

export function isRollingUpdate(d: Readonly<Deployment>): boolean {
  return (d.spec?.strategy?.type ?? "RollingUpdate") === "RollingUpdate";
}

export function isRecreate(d: Readonly<Deployment>): boolean {
  return d.spec?.strategy?.type === "Recreate";
}

export class InvalidIntOrPercentError extends Error {
  constructor(readonly value: IntOrString) {
    super(`invalid value for IntOrString: invalid value ${JSON.stringify(value)}: must be an integer or a percentage`);
    this.name = "InvalidIntOrPercentError";
  }
}

/**
 * intstr.GetScaledValueFromIntOrPercent: an int is itself; "N%" is N% of total, rounded up or down. Throws
 * InvalidIntOrPercentError for anything else.
 */
export function scaledValue(value: IntOrString, total: number, roundUp: boolean): number {
  if (typeof value === "number") return value;
  const m = /^(-?\d+)%$/.exec(value);
  if (!m) {
    if (/^-?\d+$/.test(value)) return Number(value);
    throw new InvalidIntOrPercentError(value);
  }
  const scaled = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(scaled) : Math.floor(scaled);
}

/**
 * ResolveFenceposts: maxSurge rounds up, maxUnavailable rounds down; if both come out 0 (only possible by rounding,
 * validation refuses two explicit zeros) maxUnavailable becomes 1 so the rollout can progress.
 */
export function resolveFenceposts(maxSurge: IntOrString | undefined, maxUnavailable: IntOrString | undefined, desired: number): { surge: number; unavailable: number } {
  const surge = scaledValue(maxSurge ?? 0, desired, true);
  let unavailable = scaledValue(maxUnavailable ?? 0, desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

function fenceposts(d: Readonly<Deployment>): { surge: number; unavailable: number } {
  const ru = d.spec?.strategy?.rollingUpdate;
  return resolveFenceposts(ru?.maxSurge ?? "25%", ru?.maxUnavailable ?? "25%", replicasOf(d));
}

/** How many pods may be unavailable during a rolling update (0 for Recreate or 0 replicas), capped at replicas. */
export function maxUnavailable(d: Readonly<Deployment>): number {
  const replicas = replicasOf(d);
  if (!isRollingUpdate(d) || replicas === 0) return 0;
  return Math.min(fenceposts(d).unavailable, replicas);
}

/** How many pods above replicas a rolling update may run (0 for Recreate). */
export function maxSurge(d: Readonly<Deployment>): number {
  if (!isRollingUpdate(d)) return 0;
  return fenceposts(d).surge;
}

export function hasProgressDeadline(d: Readonly<Deployment>): boolean {
  const s = d.spec?.progressDeadlineSeconds;
  return s !== undefined && s !== MAX_INT32;
}

export function hasRevisionHistoryLimit(d: Readonly<Deployment>): boolean {
  const l = d.spec?.revisionHistoryLimit;
  return l !== undefined && l !== MAX_INT32;
}

// ---------------------------------------------------------------------------------------------------------------
// Replica set lists

export function filterActive<T extends Readonly<ReplicaSet>>(rss: readonly (T | undefined)[]): T[] {
  return rss.filter((rs): rs is T => rs !== undefined && replicasOf(rs) > 0);
}

function created(rs: Readonly<ReplicaSet>): number {
  return parseTime(rs.metadata.creationTimestamp) ?? 0;
}

/** Older first; ties by name (ReplicaSetsByCreationTimestamp). */
export function byCreationTimestamp(a: Readonly<ReplicaSet>, b: Readonly<ReplicaSet>): number {
  const d = created(a) - created(b);
  if (d !== 0) return d;
  return (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");
}

/** Larger first; among equals older first (ReplicaSetsBySizeOlder: scale-down order). */
export function bySizeOlder(a: Readonly<ReplicaSet>, b: Readonly<ReplicaSet>): number {
  const d = replicasOf(b) - replicasOf(a);
  return d !== 0 ? d : byCreationTimestamp(a, b);
}

/** Larger first; among equals newer first (ReplicaSetsBySizeNewer: scale-up order). */
export function bySizeNewer(a: Readonly<ReplicaSet>, b: Readonly<ReplicaSet>): number {
  const d = replicasOf(b) - replicasOf(a);
  return d !== 0 ? d : byCreationTimestamp(b, a);
}

/** Lower revision first; ties by creation (ReplicaSetsByRevision). Unparseable revisions count as 0. */
export function byRevision(a: Readonly<ReplicaSet>, b: Readonly<ReplicaSet>): number {
  const ra = revisionOrZero(a);
  const rb = revisionOrZero(b);
  const d = ra < rb ? -1 : ra > rb ? 1 : 0;
  return d !== 0 ? d : byCreationTimestamp(a, b);
}

export function sumSpecReplicas(rss: readonly (Readonly<ReplicaSet> | undefined)[]): number {
  return rss.reduce((n, rs) => n + (rs ? replicasOf(rs) : 0), 0);
}

export function sumStatusReplicas(rss: readonly (Readonly<ReplicaSet> | undefined)[]): number {
  return rss.reduce((n, rs) => n + (rs?.status?.replicas ?? 0), 0);
}

export function sumReadyReplicas(rss: readonly (Readonly<ReplicaSet> | undefined)[]): number {
  return rss.reduce((n, rs) => n + (rs?.status?.readyReplicas ?? 0), 0);
}

export function sumAvailableReplicas(rss: readonly (Readonly<ReplicaSet> | undefined)[]): number {
  return rss.reduce((n, rs) => n + (rs?.status?.availableReplicas ?? 0), 0);
}

/** The oldest ReplicaSet whose template equals the Deployment's (ignoring the hash label): the "new" one. */
export function findNewReplicaSet<T extends Readonly<ReplicaSet>>(d: Readonly<Deployment>, rss: readonly T[]): T | undefined {
  return [...rss].sort(byCreationTimestamp).find((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template));
}

/** Everything but the new ReplicaSet. */
export function findOldReplicaSets<T extends Readonly<ReplicaSet>>(rss: readonly T[], newRS: T | undefined): T[] {
  return rss.filter((rs) => rs.metadata.uid !== newRS?.metadata.uid);
}

/**
 * The single ReplicaSet that should get all replicas when there is no rollout in flight: the only active one, or,
 * with none active, the new one (or the newest old one). Undefined when several are active.
 */
export function findActiveOrLatest<T extends Readonly<ReplicaSet>>(newRS: T | undefined, oldRSs: readonly T[]): T | undefined {
  if (!newRS && oldRSs.length === 0) return undefined;
  const newestFirst = [...oldRSs].sort((a, b) => byCreationTimestamp(b, a));
  const active = filterActive([...newestFirst, newRS]);
  if (active.length === 0) return newRS ?? newestFirst[0];
  return active.length === 1 ? active[0] : undefined;
}

// ---------------------------------------------------------------------------------------------------------------
// Revisions and annotations

export class InvalidRevisionError extends Error {
  constructor(
    readonly replicaSet: string,
    readonly value: string,
  ) {
    super(`replica set ${replicaSet} has an invalid ${REVISION_ANNOTATION} annotation ${JSON.stringify(value)}`);
    this.name = "InvalidRevisionError";
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * A revision as Go's strconv.ParseInt(s, 10, 64) reads it, or undefined when it is not one. A bigint: revisions are
 * int64, and conformance tests use ones beyond 2^53 (3546343826724305832), which a double would round.
 */
export function parseRevision(raw: string): bigint | undefined {
  if (!/^[+-]?\d+$/.test(raw)) return undefined;
  const value = BigInt(raw);
  return value < INT64_MIN || value > INT64_MAX ? undefined : value;
}

/** The revision annotation as an integer (absent: 0). Throws InvalidRevisionError for a non-integer. */
export function revisionOf(obj: Readonly<{ metadata: { name?: string; annotations?: Record<string, string> } }>): bigint {
  const raw = obj.metadata.annotations?.[REVISION_ANNOTATION];
  if (raw === undefined) return 0n;
  const revision = parseRevision(raw);
  if (revision === undefined) throw new InvalidRevisionError(obj.metadata.name ?? "", raw);
  return revision;
}

function revisionOrZero(rs: Readonly<ReplicaSet>): bigint {
  try {
    return revisionOf(rs);
  } catch {
    return 0n;
  }
}

/** The highest revision among `rss`; unparseable ones are skipped (Kubernetes' MaxRevision). */
export function maxRevision(rss: readonly Readonly<ReplicaSet>[]): bigint {
  return rss.reduce((max, rs) => {
    const revision = revisionOrZero(rs);
    return revision > max ? revision : max;
  }, 0n);
}

/** Copies the Deployment's annotations onto `rs` except the skip list; true when something changed. */
export function copyDeploymentAnnotations(d: Readonly<Deployment>, rs: ReplicaSet): boolean {
  rs.metadata.annotations ??= {};
  const target = rs.metadata.annotations;
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (ANNOTATIONS_TO_SKIP.has(k) || target[k] === v) continue;
    target[k] = v;
    changed = true;
  }
  return changed;
}

/** Sets desired-replicas and max-replicas; true when either changed. */
export function setReplicasAnnotations(rs: ReplicaSet, desired: number, max: number): boolean {
  rs.metadata.annotations ??= {};
  const a = rs.metadata.annotations;
  let changed = false;
  if (a[DESIRED_REPLICAS_ANNOTATION] !== String(desired)) {
    a[DESIRED_REPLICAS_ANNOTATION] = String(desired);
    changed = true;
  }
  if (a[MAX_REPLICAS_ANNOTATION] !== String(max)) {
    a[MAX_REPLICAS_ANNOTATION] = String(max);
    changed = true;
  }
  return changed;
}

export function replicasAnnotationsNeedUpdate(rs: Readonly<ReplicaSet>, desired: number, max: number): boolean {
  const a = rs.metadata.annotations ?? {};
  return a[DESIRED_REPLICAS_ANNOTATION] !== String(desired) || a[MAX_REPLICAS_ANNOTATION] !== String(max);
}

function intAnnotation(rs: Readonly<ReplicaSet>, key: string): number | undefined {
  const raw = rs.metadata.annotations?.[key];
  if (raw === undefined || !/^-?\d+$/.test(raw)) return undefined;
  return Number(raw);
}

export function desiredReplicasAnnotation(rs: Readonly<ReplicaSet>): number | undefined {
  return intAnnotation(rs, DESIRED_REPLICAS_ANNOTATION);
}

/**
 * SetNewReplicaSetAnnotations: copies the Deployment's annotations, raises the revision to `newRevision` when it is
 * higher (keeping the previous numbers in revision-history when an old template is reused), and on a ReplicaSet
 * about to be created sets desired/max replicas. True when `rs` changed.
 */
export function setNewReplicaSetAnnotations(d: Readonly<Deployment>, rs: ReplicaSet, newRevision: bigint, exists: boolean): boolean {
  let changed = copyDeploymentAnnotations(d, rs);
  const a = (rs.metadata.annotations ??= {});
  const oldRevisionText = a[REVISION_ANNOTATION];
  let oldRevision = 0n;
  // Absent or empty counts as 0; anything else that is no int64 leaves the revision alone.
  if (oldRevisionText !== undefined && oldRevisionText !== "") {
    const parsed = parseRevision(oldRevisionText);
    if (parsed === undefined) return changed;
    oldRevision = parsed;
  }
  if (oldRevision < newRevision) {
    a[REVISION_ANNOTATION] = String(newRevision);
    changed = true;
    // Reusing an old template (a rollback): remember the numbers it had.
    if (oldRevisionText !== undefined && oldRevisionText !== "") {
      const history = a[REVISION_HISTORY_ANNOTATION] ?? "";
      if (history === "") {
        a[REVISION_HISTORY_ANNOTATION] = oldRevisionText;
      } else {
        const parts = history.split(",");
        let total = history.length + oldRevisionText.length + 1;
        let start = 0;
        while (total > MAX_REV_HISTORY_LENGTH_IN_CHARS && start < parts.length) {
          total -= parts[start]!.length + 1;
          start++;
        }
        if (total <= MAX_REV_HISTORY_LENGTH_IN_CHARS) a[REVISION_HISTORY_ANNOTATION] = [...parts.slice(start), oldRevisionText].join(",");
      }
    }
  }
  if (!exists && setReplicasAnnotations(rs, replicasOf(d), replicasOf(d) + maxSurge(d))) changed = true;
  return changed;
}

// ---------------------------------------------------------------------------------------------------------------
// Scaling arithmetic

/** How many replicas the new ReplicaSet may have now: up to replicas + maxSurge in total (rolling), or all (Recreate). */
export function newRSNewReplicas(d: Readonly<Deployment>, allRSs: readonly (Readonly<ReplicaSet> | undefined)[], newRS: Readonly<ReplicaSet>): number {
  const replicas = replicasOf(d);
  if (!isRollingUpdate(d)) return replicas;
  const current = sumSpecReplicas(allRSs);
  const maxTotal = replicas + maxSurge(d);
  if (current >= maxTotal) return replicasOf(newRS);
  const scaleUp = Math.min(maxTotal - current, replicas - replicasOf(newRS));
  return replicasOf(newRS) + scaleUp;
}

/** The new ReplicaSet has all replicas, was created for this size, and all of them are available. */
export function isSaturated(d: Readonly<Deployment>, rs: Readonly<ReplicaSet> | undefined): boolean {
  if (!rs) return false;
  const desired = desiredReplicasAnnotation(rs);
  if (desired === undefined) return false;
  const replicas = replicasOf(d);
  return replicasOf(rs) === replicas && desired === replicas && (rs.status?.availableReplicas ?? 0) === replicas;
}

/** Go's math.Round: halves away from zero. */
function roundHalfAwayFromZero(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

function replicaSetFraction(rs: Readonly<ReplicaSet>, d: Readonly<Deployment>): number {
  const replicas = replicasOf(d);
  if (replicas === 0) return -replicasOf(rs);
  const maxNow = replicas + maxSurge(d);
  let maxBefore = intAnnotation(rs, MAX_REPLICAS_ANNOTATION);
  if (maxBefore === undefined || maxBefore === 0) {
    // No (usable) annotation: fall back to the Deployment's current size.
    maxBefore = d.status?.replicas ?? 0;
    if (maxBefore === 0) return 0;
  }
  return roundHalfAwayFromZero((replicasOf(rs) * maxNow) / maxBefore) - replicasOf(rs);
}

/**
 * GetReplicaSetProportion: this ReplicaSet's share of `toAdd` (its size relative to the size the Deployment had when
 * it was last scaled), never more than what is left to distribute.
 */
export function replicaSetProportion(rs: Readonly<ReplicaSet> | undefined, d: Readonly<Deployment>, toAdd: number, added: number): number {
  if (!rs || replicasOf(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const fraction = replicaSetFraction(rs, d);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

// ---------------------------------------------------------------------------------------------------------------
// Conditions

export function newCondition(type: string, status: AppsCondition["status"], reason: string, message: string, now: number): AppsCondition {
  const t = formatTime(now);
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

export function getCondition(status: Readonly<DeploymentStatus> | undefined, type: string): Readonly<AppsCondition> | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/** Replaces the condition of its type unless status and reason are unchanged; keeps lastTransitionTime when status is. */
export function setCondition(status: DeploymentStatus, condition: AppsCondition): void {
  const current = getCondition(status, condition.type);
  if (current?.status === condition.status && current.reason === condition.reason) return;
  const next = { ...condition };
  if (current?.status === condition.status && current.lastTransitionTime !== undefined) next.lastTransitionTime = current.lastTransitionTime;
  status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== condition.type), next];
}

export function removeCondition(status: DeploymentStatus, type: string): void {
  if (!status.conditions) return;
  status.conditions = status.conditions.filter((c) => c.type !== type);
  if (status.conditions.length === 0) delete status.conditions;
}

// ---------------------------------------------------------------------------------------------------------------
// Status

/** Kubernetes' calculateStatus: counts summed over the ReplicaSets plus the Available condition. */
export function calculateStatus(allRSs: readonly (Readonly<ReplicaSet> | undefined)[], newRS: Readonly<ReplicaSet> | undefined, d: Readonly<Deployment>, now: number): DeploymentStatus {
  const available = sumAvailableReplicas(allRSs);
  const total = sumSpecReplicas(allRSs);
  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation ?? 0,
    replicas: sumStatusReplicas(allRSs),
    updatedReplicas: sumStatusReplicas([newRS]),
    readyReplicas: sumReadyReplicas(allRSs),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, total - available),
  };
  if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
  if (d.status?.conditions) status.conditions = structuredClone<AppsCondition[]>(d.status.conditions);
  if (available >= replicasOf(d) - maxUnavailable(d)) {
    setCondition(status, newCondition(CONDITION_AVAILABLE, "True", REASON_MINIMUM_REPLICAS_AVAILABLE, "Deployment has minimum availability.", now));
  } else {
    setCondition(status, newCondition(CONDITION_AVAILABLE, "False", REASON_MINIMUM_REPLICAS_UNAVAILABLE, "Deployment does not have minimum availability.", now));
  }
  return status;
}

/** Every replica updated and available, nothing old left, and the latest generation observed. */
export function deploymentComplete(d: Readonly<Deployment>, status: Readonly<DeploymentStatus>): boolean {
  const replicas = replicasOf(d);
  return (
    (status.updatedReplicas ?? 0) === replicas &&
    (status.replicas ?? 0) === replicas &&
    (status.availableReplicas ?? 0) === replicas &&
    (status.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
  );
}

/** Some progress since the stored status: more updated, fewer old, more ready or more available replicas. */
export function deploymentProgressing(d: Readonly<Deployment>, next: Readonly<DeploymentStatus>): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (next.replicas ?? 0) - (next.updatedReplicas ?? 0);
  return (
    (next.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (next.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (next.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
  );
}

/** The Progressing condition was last updated more than progressDeadlineSeconds ago (and is not "complete"). */
export function deploymentTimedOut(d: Readonly<Deployment>, status: Readonly<DeploymentStatus>, now: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const cond = getCondition(status, CONDITION_PROGRESSING);
  if (!cond) return false;
  if (cond.reason === REASON_NEW_RS_AVAILABLE) return false;
  if (cond.reason === REASON_TIMED_OUT) return true;
  const from = parseTime(cond.lastUpdateTime);
  if (from === undefined) return false;
  return from + (d.spec?.progressDeadlineSeconds ?? 0) * 1000 < now;
}

/** The status as Kubernetes serializes it (every field omitempty). */
export function deploymentStatusToWire(status: Readonly<DeploymentStatus>): DeploymentStatus {
  const wire: DeploymentStatus = {};
  if (status.observedGeneration) wire.observedGeneration = status.observedGeneration;
  if (status.replicas) wire.replicas = status.replicas;
  if (status.updatedReplicas) wire.updatedReplicas = status.updatedReplicas;
  if (status.readyReplicas) wire.readyReplicas = status.readyReplicas;
  if (status.availableReplicas) wire.availableReplicas = status.availableReplicas;
  if (status.unavailableReplicas) wire.unavailableReplicas = status.unavailableReplicas;
  if (status.terminatingReplicas) wire.terminatingReplicas = status.terminatingReplicas;
  if (status.conditions?.length) wire.conditions = structuredClone<AppsCondition[]>(status.conditions);
  if (status.collisionCount !== undefined) wire.collisionCount = status.collisionCount;
  return wire;
}
