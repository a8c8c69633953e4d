// What the endpoints and endpointslice controllers share (Kubernetes' pkg/controller/util/endpoint and
// podutil.FindPort): which pods back a Service, how a service port resolves on a pod, and which services a pod
// change concerns. Pure functions over cached objects; nothing here writes.
import { selectorFromSet } from "../../../api/labels.js";
import { isPodTerminal } from "../../../api/pod.js";
import type { Lister } from "../../../client/informer.js";
import type { Pod, Protocol, Service, ServicePort } from "../../../api/types/index.js";

/** Services without a selector get their endpoints from someone else (the apiserver's own `kubernetes`, users). */
export function hasSelector(svc: Readonly<Service>): boolean {
  return Object.keys(svc.spec?.selector ?? {}).length > 0;
}

/** ExternalName services have no endpoints. */
export function wantsEndpoints(svc: Readonly<Service>): boolean {
  return hasSelector(svc) && svc.spec?.type !== "ExternalName";
}

export function isTerminating(pod: Readonly<Pod>): boolean {
  return pod.metadata.deletionTimestamp !== undefined;
}

/**
 * Kubernetes' ShouldPodBeInEndpoints: a pod needs an IP; a terminating pod counts only when `includeTerminating`;
 * a pod that finished for good (Succeeded/Failed under its restart policy) never does.
 */
export function shouldPodBeInEndpoints(pod: Readonly<Pod>, includeTerminating: boolean): boolean {
  if (!pod.status?.podIP) return false;
  if (!includeTerminating && isTerminating(pod)) return false;
  const phase = pod.status.phase;
  switch (pod.spec?.restartPolicy ?? "Always") {
    case "Never":
      return !isPodTerminal(pod);
    case "OnFailure":
      return phase !== "Succeeded";
    case "Always":
      return true;
  }
}

/**
 * podutil.FindPort: a numeric targetPort is used as is (absent: the service port); a named one is the
 * containerPort of the pod's container port with that name and the service port's protocol, or undefined when the
 * pod has none (the pod then backs the other ports only).
 */
export function findPort(pod: Readonly<Pod>, servicePort: Readonly<ServicePort>): number | undefined {
  const target = servicePort.targetPort ?? servicePort.port;
  if (typeof target === "number") return target;
  if (/^\d+$/.test(target)) return Number(target);
  const protocol = servicePort.protocol ?? "TCP";
  for (const container of pod.spec?.containers ?? []) {
    for (const port of container.ports ?? []) {
      if (port.name === target && (port.protocol ?? "TCP") === protocol) return port.containerPort;
    }
  }
  return undefined;
}

export interface ResolvedPort {
  name: string;
  port: number;
  protocol: Protocol;
  appProtocol?: string;
}

/** The service's ports as they resolve on `pod`, in service order; ports the pod cannot serve are left out. */
export function resolvePorts(svc: Readonly<Service>, pod: Readonly<Pod>): ResolvedPort[] {
  const out: ResolvedPort[] = [];
  for (const sp of svc.spec?.ports ?? []) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    const resolved: ResolvedPort = { name: sp.name ?? "", port, protocol: sp.protocol ?? "TCP" };
    if (sp.appProtocol !== undefined) resolved.appProtocol = sp.appProtocol;
    out.push(resolved);
  }
  return out;
}

/** Pods in the service's namespace matched by its selector. */
export function podsForService(svc: Readonly<Service>, pods: Lister<Pod>): Readonly<Pod>[] {
  const selector = selectorFromSet(svc.spec?.selector);
  return pods.listNamespace(svc.metadata.namespace ?? "").filter((p) => selector.matches(p.metadata.labels));
}

/**
 * The keys of services (with a selector) in the pod's namespace that select any of the given label sets: a label
 * change moves a pod out of one service and into another, so both the old and the new labels count.
 */
export function serviceKeysForPod(namespace: string, labelSets: readonly (Readonly<Record<string, string>> | undefined)[], services: Lister<Service>): string[] {
  const keys = new Set<string>();
  for (const svc of services.listNamespace(namespace)) {
    if (!hasSelector(svc)) continue;
    const selector = selectorFromSet(svc.spec?.selector);
    if (labelSets.some((labels) => selector.matches(labels))) keys.add(`${namespace}/${svc.metadata.name ?? ""}`);
  }
  return [...keys];
}

/** Whether a pod update can change any endpoints (status, labels, deletion, node, ports); resyncs are ignored. */
export function podChangeMatters(oldPod: Readonly<Pod>, newPod: Readonly<Pod>): boolean {
  return oldPod.metadata.resourceVersion !== newPod.metadata.resourceVersion;
}

/** Splits "namespace/name". */
export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf("/");
  return i < 0 ? { namespace: "", name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** Keys are the same string for one object, which makes Set/Map look-ups cheap; pods compare by IP then name. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Numeric order for dotted IPv4 addresses, string order otherwise. */
export function compareIPs(a: string, b: string): number {
  const pa = ipv4ToNumber(a);
  const pb = ipv4ToNumber(b);
  if (pa !== undefined && pb !== undefined) return pa - pb;
  return compareStrings(a, b);
}

function ipv4ToNumber(ip: string): number | undefined {
  const parts = ip.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    const v = Number(p);
    if (!/^\d{1,3}$/.test(p) || v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}
