// How much of a ResourceQuota one object uses, shared by the apiserver's ResourceQuota admission (which charges a
// new object) and the controller-manager's resourcequota controller (which adds up everything in a namespace), so
// that both count alike. Names follow Kubernetes: `pods`, `requests.cpu` (or plain `cpu`), `limits.memory`,
// `count/deployments.apps`, `services.nodeports`, `<class>.storageclass.storage.k8s.io/requests.storage` ...
import type { KubeObject } from "./meta.js";
import { isPodTerminal } from "./pod.js";
import { addQuantities, compareQuantities, formatQuantity, parseQuantity, type Quantity } from "./quantity.js";
import { RESOURCES, type ResourceInfo } from "./resources.js";
import type { PersistentVolumeClaim, Pod, ResourceQuota, Service } from "./types/index.js";

export type Usage = Map<string, Quantity>;

/** Kinds counted under their bare plural as well as count/<plural> (core kinds quota had before count/ existed). */
const LEGACY_COUNTS = new Set(["pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps", "persistentvolumeclaims"]);
/** Compute resources a pod quota may name without the requests. prefix. */
const BARE_REQUESTS = new Set(["cpu", "memory", "ephemeral-storage"]);
const STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/";

/** The object-count name of a resource: count/pods, count/deployments.apps. */
export function countName(group: string, resource: string): string {
  return group === "" ? `count/${resource}` : `count/${resource}.${group}`;
}

/** The resource a quota name is about (what the controller lists to add it up); undefined for unknown names. */
export function resourceForQuotaName(name: string): ResourceInfo | undefined {
  const core = (resource: string): ResourceInfo | undefined => RESOURCES.find((r) => r.group === "" && r.resource === resource);
  if (name.startsWith("count/")) {
    const rest = name.slice("count/".length);
    const dot = rest.indexOf(".");
    const resource = dot < 0 ? rest : rest.slice(0, dot);
    const group = dot < 0 ? "" : rest.slice(dot + 1);
    return RESOURCES.find((r) => r.group === group && r.resource === resource);
  }
  if (LEGACY_COUNTS.has(name)) return core(name);
  if (name.startsWith("services.")) return core("services");
  if (name === "requests.storage" || name.includes(STORAGE_CLASS_SUFFIX)) return core("persistentvolumeclaims");
  if (name.startsWith("requests.") || name.startsWith("limits.") || BARE_REQUESTS.has(name)) return core("pods");
  return undefined;
}

/** Whether the quota's scopes (Terminating, NotTerminating, BestEffort, NotBestEffort) let it count the object. */
export function quotaMatches(quota: Readonly<ResourceQuota>, group: string, resource: string, object: Readonly<KubeObject>): boolean {
  const scopes = quota.spec?.scopes ?? [];
  if (scopes.length === 0) return true;
  if (group !== "" || resource !== "pods") return false;
  const pod = object as Pod;
  return scopes.every((scope) => {
    switch (scope) {
      case "Terminating":
        return pod.spec?.activeDeadlineSeconds !== undefined;
      case "NotTerminating":
        return pod.spec?.activeDeadlineSeconds === undefined;
      case "BestEffort":
        return isBestEffort(pod);
      case "NotBestEffort":
        return !isBestEffort(pod);
      default:
        return false;
    }
  });
}

/** What one object uses, by quota name (every name it counts under, whether or not a quota limits it). */
export function usageOf(group: string, resource: string, object: Readonly<KubeObject>): Usage {
  const usage: Usage = new Map();
  const one = (name: string, value = 1): void => {
    usage.set(name, parseQuantity(value));
  };
  if (group === "" && resource === "pods") {
    const pod = object as Pod;
    // A finished pod holds nothing any more.
    if (isPodTerminal(pod)) return usage;
    one("pods");
    one(countName(group, resource));
    for (const [name, value] of podResources(pod, "requests")) {
      usage.set(`requests.${name}`, value);
      if (BARE_REQUESTS.has(name)) usage.set(name, value);
    }
    for (const [name, value] of podResources(pod, "limits")) usage.set(`limits.${name}`, value);
    return usage;
  }
  one(countName(group, resource));
  if (group !== "") return usage;
  if (LEGACY_COUNTS.has(resource)) one(resource);
  if (resource === "services") {
    const spec = (object as Service).spec;
    const nodePorts = (spec?.ports ?? []).filter((p) => p.nodePort !== undefined || spec?.type === "NodePort" || spec?.type === "LoadBalancer").length;
    if (spec?.type === "NodePort" || spec?.type === "LoadBalancer") one("services.nodeports", nodePorts);
    if (spec?.type === "LoadBalancer") one("services.loadbalancers");
  }
  if (resource === "persistentvolumeclaims") {
    const spec = (object as PersistentVolumeClaim).spec;
    const storage = spec?.resources?.requests?.storage;
    const value = storage !== undefined ? safeQuantity(storage) : undefined;
    if (value) usage.set("requests.storage", value);
    const storageClass = spec?.storageClassName;
    if (storageClass) {
      one(`${storageClass}${STORAGE_CLASS_SUFFIX}persistentvolumeclaims`);
      if (value) usage.set(`${storageClass}${STORAGE_CLASS_SUFFIX}requests.storage`, value);
    }
  }
  return usage;
}

/** a + b, name by name. */
export function addUsage(a: Usage, b: Usage): Usage {
  const sum: Usage = new Map(a);
  for (const [name, value] of b) {
    const prev = sum.get(name);
    sum.set(name, prev ? addQuantities(prev, value) : value);
  }
  return sum;
}

/** a - b, name by name, never below zero. */
export function subtractUsage(a: Usage, b: Usage): Usage {
  const rest: Usage = new Map(a);
  for (const [name, value] of b) {
    const prev = rest.get(name);
    if (!prev) continue;
    const nanos = prev.nanos - value.nanos;
    rest.set(name, { nanos: nanos < 0n ? 0n : nanos, format: prev.format });
  }
  return rest;
}

/** The names in `usage` whose value is above `hard`'s. */
export function exceeded(usage: Usage, hard: Usage): string[] {
  return [...usage.keys()].filter((name) => {
    const limit = hard.get(name);
    const value = usage.get(name);
    return limit !== undefined && value !== undefined && compareQuantities(value, limit) > 0;
  });
}

/** A ResourceList (quota spec/status) as Usage; unparsable entries are left out. */
export function toUsage(list: Readonly<Record<string, string>> | undefined): Usage {
  const usage: Usage = new Map();
  for (const [name, value] of Object.entries(list ?? {})) {
    const q = safeQuantity(value);
    if (q) usage.set(name, q);
  }
  return usage;
}

export function toResourceList(usage: Usage): Record<string, string> {
  return Object.fromEntries([...usage].sort(([a], [b]) => a.localeCompare(b)).map(([name, value]) => [name, formatQuantity(value)]));
}

/** Only the names in `names`. */
export function mask(usage: Usage, names: Iterable<string>): Usage {
  const keep = new Set(names);
  return new Map([...usage].filter(([name]) => keep.has(name)));
}

/** Kubernetes' rendering in quota messages: `pods=1,requests.cpu=500m`, sorted by name. */
export function prettyUsage(usage: Usage): string {
  return [...usage].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([name, value]) => `${name}=${formatQuantity(value)}`).join(",");
}

/** The pod's requests or limits: the sum over its containers, an init container's when larger, plus overhead. */
function podResources(pod: Pod, which: "requests" | "limits"): Usage {
  let total: Usage = new Map();
  for (const container of pod.spec?.containers ?? []) total = addUsage(total, toUsage(container.resources?.[which]));
  for (const container of pod.spec?.initContainers ?? []) {
    for (const [name, value] of toUsage(container.resources?.[which])) {
      const prev = total.get(name);
      if (!prev || compareQuantities(value, prev) > 0) total.set(name, value);
    }
  }
  // Overhead counts towards what is already asked for.
  const overhead = toUsage(pod.spec?.overhead);
  for (const [name, value] of overhead) {
    const prev = total.get(name);
    if (prev) total.set(name, addQuantities(prev, value));
  }
  return total;
}

function isBestEffort(pod: Pod): boolean {
  return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].every(
    (c) => Object.keys(c.resources?.requests ?? {}).length === 0 && Object.keys(c.resources?.limits ?? {}).length === 0,
  );
}

function safeQuantity(value: string): Quantity | undefined {
  try {
    return parseQuantity(value);
  } catch {
    return undefined;
  }
}
