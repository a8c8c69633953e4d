// pods/<name>/eviction honouring PodDisruptionBudgets (Kubernetes' EvictionREST):
//   - a pod that is finished, pending or already being deleted is deleted without consulting any budget;
//   - otherwise the budgets of its namespace whose selector matches it decide: none → delete; more than one →
//     500 (the subresource does not support it); one → the budget must have been observed at its generation
//     (else 429, "still being processed") and allow a disruption (else 429 "Cannot evict pod as it would violate
//     the pod's disruption budget.", the answer `kubectl drain` retries on);
//   - an admitted eviction decrements status.disruptionsAllowed and records the pod in status.disruptedPods (so
//     the disruption controller does not count it as healthy any more) before the pod is deleted;
//   - an unready pod may go without a budget when the budget says so (unhealthyPodEvictionPolicy AlwaysAllow, or
//     IfHealthyBudget with the budget currently met).
import { internalError, isConflict, retryOnConflict, StatusError } from "../../../api/errors.js";
import { selectorFromLabelSelector } from "../../../api/labels.js";
import type { KubeObject, Status } from "../../../api/meta.js";
import { isRecord } from "../../../api/meta.js";
import { isPodReady } from "../../../api/pod.js";
import { formatTime } from "../../../api/time.js";
import type { Eviction, Pod, PodDisruptionBudget } from "../../../api/types/index.js";
import type { StoreLookup } from "../kind.js";
import type { DeleteOptions, ResourceStore } from "../store.js";
import { CONFLICT_ATTEMPTS } from "../store.js";

/** More unconfirmed evictions than this in one budget and further ones are refused. */
export const MAX_DISRUPTED_PODS = 2000;
export const DISRUPTION_BUDGET_CAUSE = "DisruptionBudget";
export const EVICTION_BLOCKED_MESSAGE = "Cannot evict pod as it would violate the pod's disruption budget.";

export interface EvictionRequest {
  pods: ResourceStore;
  storeFor: StoreLookup;
  namespace: string;
  name: string;
  body: unknown;
  dryRun: boolean;
  now?: () => number;
}

/** Evicts the pod, or throws the StatusError that says why not (429 when a budget forbids it now). */
export async function evictPodHonouringBudgets(request: EvictionRequest): Promise<Status> {
  const { pods, namespace, name } = request;
  const eviction = (isRecord(request.body) ? request.body : {}) as Eviction;
  const options = deleteOptionsOf(eviction, request.dryRun);
  const budgets = request.storeFor("policy", "v1", "poddisruptionbudgets");
  // A budget written concurrently (by the controller or another eviction) is re-read and re-checked.
  await retryOnConflict(
    async () => {
      const pod = (await pods.get(namespace, name)) as Pod;
      if (!budgets || canIgnoreBudgets(pod)) return;
      const matching = matchingBudgets(pod, (await budgets.list(namespace, {})).items);
      if (matching.length > 1) throw internalError("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.");
      const pdb = matching[0];
      if (!pdb || mayGoWhileUnhealthy(pod, pdb)) return;
      const updated = admitEviction(pdb, name, request.now?.() ?? Date.now());
      if (!request.dryRun) await budgets.update(namespace, pdb.metadata.name ?? "", updated, { subresource: "status" });
    },
    { attempts: CONFLICT_ATTEMPTS, retriable: isConflict },
  );
  await pods.delete(namespace, name, options);
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 };
}

/** Finished, pending and terminating pods never count against a budget. */
function canIgnoreBudgets(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === "Succeeded" || phase === "Failed" || phase === "Pending" || pod.metadata.deletionTimestamp !== undefined;
}

/** The budgets in the pod's namespace that select it (an empty selector selects every pod, as in policy/v1). */
export function matchingBudgets(pod: Pod, budgets: readonly PodDisruptionBudget[]): PodDisruptionBudget[] {
  return budgets.filter((pdb) => {
    try {
      return selectorFromLabelSelector(pdb.spec?.selector ?? {}).matches(pod.metadata.labels);
    } catch {
      return false;
    }
  });
}

function mayGoWhileUnhealthy(pod: Pod, pdb: PodDisruptionBudget): boolean {
  if (isPodReady(pod)) return false;
  if (pdb.spec?.unhealthyPodEvictionPolicy === "AlwaysAllow") return true;
  const status = pdb.status ?? {};
  return (status.currentHealthy ?? 0) >= (status.desiredHealthy ?? 0) && (status.desiredHealthy ?? 0) > 0;
}

/**
 * The budget with one disruption spent on `podName`, or the error that refuses it (Kubernetes'
 * checkAndDecrement). The input is not modified.
 */
export function admitEviction(pdb: PodDisruptionBudget, podName: string, now: number): KubeObject {
  const status = pdb.status ?? {};
  const name = pdb.metadata.name ?? "";
  if ((status.observedGeneration ?? 0) < (pdb.metadata.generation ?? 0)) {
    throw tooManyRequests(10, `The disruption budget ${name} is still being processed by the server.`);
  }
  const allowed = status.disruptionsAllowed ?? 0;
  if (allowed < 0) throw forbiddenBudget(name, "pdb disruptions allowed is negative");
  if (Object.keys(status.disruptedPods ?? {}).length > MAX_DISRUPTED_PODS) {
    throw forbiddenBudget(name, "DisruptedPods map too big - too many evictions not confirmed by PDB controller");
  }
  if (allowed === 0) {
    throw tooManyRequests(0, `The disruption budget ${name} needs ${status.desiredHealthy ?? 0} healthy pods and has ${status.currentHealthy ?? 0} currently`);
  }
  const next = structuredClone(pdb);
  const nextStatus = next.status ?? {};
  nextStatus.disruptionsAllowed = allowed - 1;
  nextStatus.disruptedPods = { ...(nextStatus.disruptedPods ?? {}), [podName]: formatTime(now) };
  if (nextStatus.disruptionsAllowed === 0) {
    nextStatus.conditions = [
      ...(nextStatus.conditions ?? []).filter((c) => c.type !== "DisruptionAllowed"),
      { type: "DisruptionAllowed", status: "False", reason: "InsufficientPods", message: "", observedGeneration: nextStatus.observedGeneration ?? 0, lastTransitionTime: formatTime(now) },
    ];
  }
  next.status = nextStatus;
  return next;
}

function tooManyRequests(retryAfterSeconds: number, cause: string): StatusError {
  const details = { causes: [{ reason: DISRUPTION_BUDGET_CAUSE, message: cause }], ...(retryAfterSeconds > 0 ? { retryAfterSeconds } : {}) };
  return new StatusError(429, "TooManyRequests", EVICTION_BLOCKED_MESSAGE, details);
}

function forbiddenBudget(name: string, why: string): StatusError {
  return new StatusError(403, "Forbidden", `poddisruptionbudget.policy "${name}" is forbidden: ${why}`, { name, group: "policy", kind: "poddisruptionbudget" });
}

function deleteOptionsOf(eviction: Eviction, dryRun: boolean): DeleteOptions {
  const options: DeleteOptions = {};
  const requested = isRecord(eviction.deleteOptions) ? eviction.deleteOptions : {};
  if (typeof requested.gracePeriodSeconds === "number") options.gracePeriodSeconds = requested.gracePeriodSeconds;
  if (isRecord(requested.preconditions)) {
    const pre: NonNullable<DeleteOptions["preconditions"]> = {};
    if (typeof requested.preconditions.uid === "string") pre.uid = requested.preconditions.uid;
    if (typeof requested.preconditions.resourceVersion === "string") pre.resourceVersion = requested.preconditions.resourceVersion;
    options.preconditions = pre;
  }
  if (dryRun || (Array.isArray(requested.dryRun) && requested.dryRun.includes("All"))) options.dryRun = true;
  return options;
}
