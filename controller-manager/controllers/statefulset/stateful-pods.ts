// A StatefulSet's pods and claims by identity (Kubernetes' pkg/controller/statefulset/stateful_set_utils.go): the
// ordinal in the name, the identity a pod must carry (name, hostname, subdomain, labels), the claims of an ordinal
// and the status counts. Pure functions.
import { availableInMs, isPodReady } from "../../../api/pod.js";
import type { ControllerRevision } from "../../../api/types/admissionregistration.js";
import type { StatefulSet, StatefulSetStatus } from "../../../api/types/apps.js";
import type { PersistentVolumeClaim } from "../../../api/types/core-claims.js";
import type { Pod, Volume } from "../../../api/types/core.js";
import { newControllerRef } from "../controller-utils.js";
import { CONTROLLER_REVISION_HASH_LABEL, templateOfRevision } from "../history/history.js";

export const POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";
export const POD_INDEX_LABEL = "apps.kubernetes.io/pod-index";

/** The ordinal of a pod named `<set>-<n>` of this set, or undefined for any other name. */
export function ordinalOf(set: Readonly<StatefulSet>, pod: Readonly<Pod>): number | undefined {
  const name = pod.metadata.name ?? "";
  const prefix = `${set.metadata.name ?? ""}-`;
  if (!name.startsWith(prefix)) return undefined;
  const rest = name.slice(prefix.length);
  return /^(0|[1-9]\d*)$/.test(rest) ? Number(rest) : undefined;
}

export function podName(set: Readonly<StatefulSet>, ordinal: number): string {
  return `${set.metadata.name ?? ""}-${ordinal}`;
}

/** `<claim template>-<set>-<ordinal>`. */
export function claimName(set: Readonly<StatefulSet>, template: string, ordinal: number): string {
  return `${template}-${podName(set, ordinal)}`;
}

/** The revision label on a pod: the name of the ControllerRevision it was made from. */
export function podRevision(pod: Readonly<Pod>): string | undefined {
  return pod.metadata.labels?.[CONTROLLER_REVISION_HASH_LABEL];
}

export function isRunningAndReady(pod: Readonly<Pod>): boolean {
  return pod.status?.phase === "Running" && isPodReady(pod);
}

export function isRunningAndAvailable(pod: Readonly<Pod>, minReadySeconds: number, now: number): boolean {
  return pod.status?.phase === "Running" && availableInMs(pod, minReadySeconds, now) === 0;
}

export function isTerminating(pod: Readonly<Pod>): boolean {
  return !!pod.metadata.deletionTimestamp;
}

export function isFinished(pod: Readonly<Pod>): boolean {
  return pod.status?.phase === "Failed" || pod.status?.phase === "Succeeded";
}

/** The claims an ordinal needs, from spec.volumeClaimTemplates (labels: the template's plus the selector's matchLabels). */
export function claimsFor(set: Readonly<StatefulSet>, ordinal: number): PersistentVolumeClaim[] {
  const retention = set.spec?.persistentVolumeClaimRetentionPolicy;
  return (set.spec?.volumeClaimTemplates ?? []).map((t) => {
    const name = claimName(set, t.metadata?.name ?? "", ordinal);
    const labels = { ...(t.metadata?.labels ?? {}), ...(set.spec?.selector?.matchLabels ?? {}) };
    const claim: PersistentVolumeClaim = { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name, labels }, spec: structuredClone(t.spec ?? {}) };
    if (set.metadata.namespace !== undefined) claim.metadata.namespace = set.metadata.namespace;
    // whenDeleted: Delete makes the set an owner (not the controller), so the garbage collector removes the claim with it.
    if (retention?.whenDeleted === "Delete") claim.metadata.ownerReferences = [{ ...newControllerRef(set, "apps/v1", "StatefulSet"), controller: false }];
    return claim;
  });
}

/**
 * The pod of `ordinal` from `revision`'s template (or the set's template if the revision has none): the stable
 * name, hostname and subdomain (the governing Service), the identity labels and the claims as volumes.
 */
export function newStatefulPod(set: Readonly<StatefulSet>, revision: Readonly<ControllerRevision>, ordinal: number): Pod {
  const template = templateOfRevision(revision) ?? set.spec?.template;
  const name = podName(set, ordinal);
  const labels: Record<string, string> = {
    ...(template?.metadata?.labels ?? {}),
    [POD_NAME_LABEL]: name,
    [POD_INDEX_LABEL]: String(ordinal),
    [CONTROLLER_REVISION_HASH_LABEL]: revision.metadata.name ?? "",
  };
  const pod: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels, ownerReferences: [newControllerRef(set, "apps/v1", "StatefulSet")] },
    spec: structuredClone(template?.spec ?? { containers: [] }),
  };
  if (set.metadata.namespace !== undefined) pod.metadata.namespace = set.metadata.namespace;
  if (template?.metadata?.annotations) pod.metadata.annotations = { ...template.metadata.annotations };
  const spec = pod.spec!;
  spec.hostname = name;
  if (set.spec?.serviceName) spec.subdomain = set.spec.serviceName;
  const claims = (set.spec?.volumeClaimTemplates ?? []).map((t) => t.metadata?.name ?? "");
  const volumes: Volume[] = (spec.volumes ?? []).filter((v) => !claims.includes(v.name));
  for (const claim of claims) volumes.push({ name: claim, persistentVolumeClaim: { claimName: claimName(set, claim, ordinal) } });
  if (volumes.length > 0) spec.volumes = volumes;
  return pod;
}

/** The counts of updateStatefulSet over the set's pods (revisions, observedGeneration, collisionCount added by the caller). */
export function statefulCounts(pods: readonly Readonly<Pod>[], currentRevision: string, updateRevision: string, minReadySeconds: number, now: number): Pick<StatefulSetStatus, "replicas" | "readyReplicas" | "availableReplicas" | "currentReplicas" | "updatedReplicas"> {
  let replicas = 0;
  let ready = 0;
  let available = 0;
  let current = 0;
  let updated = 0;
  for (const pod of pods) {
    replicas++;
    if (isRunningAndReady(pod)) ready++;
    if (isRunningAndAvailable(pod, minReadySeconds, now)) available++;
    if (isTerminating(pod)) continue;
    const rev = podRevision(pod);
    if (rev === currentRevision) current++;
    if (rev === updateRevision) updated++;
  }
  return { replicas, readyReplicas: ready, availableReplicas: available, currentReplicas: current, updatedReplicas: updated };
}
