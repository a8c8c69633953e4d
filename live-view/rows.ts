// The rows the page shows, computed from API objects: pure functions, one per kind, so a row changes exactly when
// something a user would see changed (the diffing in cluster-state.ts compares rows, not objects: a pod's status
// heartbeat that changes nothing visible costs no message).
import type { Deployment, ReplicaSet } from "../api/types/apps.js";
import type { CoreEvent, Endpoints, Node, Pod, Service } from "../api/types/core.js";
import { isPodReady } from "../api/pod.js";
import type { DeploymentRow, EventRow, NodeRow, PodRow, ServiceRow } from "./web/protocol.js";

/** Looks up a ReplicaSet by namespace and name (the pod's owner), to name its Deployment. */
export type ReplicaSetLookup = (namespace: string, name: string) => Readonly<ReplicaSet> | undefined;

/** The controlling owner reference as "Kind/name"; a ReplicaSet owned by a Deployment shows as the Deployment. */
export function podOwner(pod: Readonly<Pod>, replicaSet: ReplicaSetLookup): string {
  const ref = pod.metadata.ownerReferences?.find((r) => r.controller === true) ?? pod.metadata.ownerReferences?.[0];
  if (ref === undefined) return "";
  if (ref.kind === "ReplicaSet") {
    const rs = replicaSet(pod.metadata.namespace ?? "", ref.name);
    const deployment = rs?.metadata.ownerReferences?.find((r) => r.controller === true && r.kind === "Deployment");
    if (deployment !== undefined) return `Deployment/${deployment.name}`;
  }
  return `${ref.kind}/${ref.name}`;
}

/** kubectl's STATUS word when it says more than the phase: Terminating, or a container's waiting/terminated reason. */
export function podReason(pod: Readonly<Pod>): string {
  if (pod.metadata.deletionTimestamp) return "Terminating";
  for (const status of pod.status?.containerStatuses ?? []) {
    const waiting = status.state?.waiting?.reason;
    if (waiting !== undefined && waiting !== "" && waiting !== "ContainerCreating") return waiting;
    const terminated = status.state?.terminated?.reason;
    if (terminated !== undefined && terminated !== "" && pod.status?.phase === "Running") return terminated;
  }
  return pod.status?.reason ?? "";
}

export function podRow(pod: Readonly<Pod>, replicaSet: ReplicaSetLookup): PodRow {
  const statuses = pod.status?.containerStatuses ?? [];
  return {
    namespace: pod.metadata.namespace ?? "",
    name: pod.metadata.name ?? "",
    node: pod.spec?.nodeName ?? "",
    phase: pod.status?.phase ?? "Pending",
    ready: isPodReady(pod),
    readyContainers: statuses.filter((s) => s.ready).length,
    containers: pod.spec?.containers.length ?? statuses.length,
    restarts: statuses.reduce((sum, s) => sum + s.restartCount, 0),
    ip: pod.status?.podIP ?? "",
    owner: podOwner(pod, replicaSet),
    reason: podReason(pod),
    createdAt: pod.metadata.creationTimestamp ?? "",
  };
}

export function nodeRow(node: Readonly<Node>): NodeRow {
  return {
    name: node.metadata.name ?? "",
    ready: node.status?.conditions?.find((c) => c.type === "Ready")?.status ?? "Unknown",
    unschedulable: node.spec?.unschedulable === true,
    ip: node.status?.addresses?.find((a) => a.type === "InternalIP")?.address ?? "",
    podCidr: node.spec?.podCIDR ?? "",
    kubeletVersion: node.status?.nodeInfo?.kubeletVersion ?? "",
  };
}

export function deploymentRow(deployment: Readonly<Deployment>): DeploymentRow {
  const status = deployment.status ?? {};
  return {
    namespace: deployment.metadata.namespace ?? "",
    name: deployment.metadata.name ?? "",
    desired: deployment.spec?.replicas ?? 1,
    updated: status.updatedReplicas ?? 0,
    ready: status.readyReplicas ?? 0,
    available: status.availableReplicas ?? 0,
    progress: status.conditions?.find((c) => c.type === "Progressing")?.reason ?? "",
    observed: (status.observedGeneration ?? 0) >= (deployment.metadata.generation ?? 0),
  };
}

/** A Service with the addresses of its Endpoints (undefined while the endpoints controller has not written them). */
export function serviceRow(service: Readonly<Service>, endpoints: Readonly<Endpoints> | undefined): ServiceRow {
  const address = (a: { ip: string; targetRef?: { name?: string } }): string => (a.targetRef?.name ? `${a.ip} (${a.targetRef.name})` : a.ip);
  const subsets = endpoints?.subsets ?? [];
  return {
    namespace: service.metadata.namespace ?? "",
    name: service.metadata.name ?? "",
    type: service.spec?.type ?? "ClusterIP",
    clusterIp: service.spec?.clusterIP ?? "",
    ports: (service.spec?.ports ?? []).map((p) => {
      const target = p.targetPort !== undefined && String(p.targetPort) !== String(p.port) ? `→${String(p.targetPort)}` : "";
      const node = p.nodePort !== undefined ? ` node:${p.nodePort}` : "";
      return `${p.port}/${p.protocol ?? "TCP"}${target}${node}`;
    }),
    ready: subsets.flatMap((s) => (s.addresses ?? []).map(address)).sort(),
    notReady: subsets.flatMap((s) => (s.notReadyAddresses ?? []).map(address)).sort(),
  };
}

/** The time of an event's last occurrence in ms (series, lastTimestamp, eventTime, creation, in that order). */
export function eventTime(event: Readonly<CoreEvent>): number {
  const text = event.series?.lastObservedTime ?? event.lastTimestamp ?? event.eventTime ?? event.firstTimestamp ?? event.metadata.creationTimestamp;
  const ms = text === undefined ? Number.NaN : Date.parse(text);
  return Number.isNaN(ms) ? 0 : ms;
}

export function eventRow(event: Readonly<CoreEvent>): EventRow {
  const involved = event.involvedObject;
  return {
    namespace: event.metadata.namespace ?? "",
    time: eventTime(event),
    type: event.type ?? "Normal",
    reason: event.reason ?? "",
    object: `${involved.kind ?? ""}/${involved.name ?? ""}`,
    message: event.message ?? "",
    count: event.series?.count ?? event.count ?? 1,
    source: event.reportingComponent ?? event.source?.component ?? "",
  };
}
