// What kube-proxy keeps of EndpointSlices: the endpoints of every service port (Kubernetes' pkg/proxy Endpoint and
// EndpointSliceCache). A Service's slices (label kubernetes.io/service-name) are merged per port name; an address
// listed by two slices counts once.
import type { EndpointSlice } from "../api/types/discovery.js";
import { isIPv4, servicePortNameString } from "./service-port.js";

export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
/** Set by the endpointslice controller: when the change that produced this slice version happened. */
export const LAST_CHANGE_TRIGGER_TIME_ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time";

export interface EndpointInfo {
  ip: string;
  port: number;
  /** Ready: serving and not terminating. A missing condition counts as ready, as Kubernetes says. */
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  nodeName?: string;
}

export function endpointString(ep: Pick<EndpointInfo, "ip" | "port">): string {
  return `${ep.ip}:${ep.port}`;
}

/** Endpoints by servicePortNameString, each list sorted by ip:port. */
export type EndpointsMap = Map<string, readonly EndpointInfo[]>;

/** "namespace/service" a slice belongs to, or undefined for a slice without the service-name label. */
export function serviceKeyOfSlice(slice: Readonly<EndpointSlice>): string | undefined {
  const svc = slice.metadata.labels?.[SERVICE_NAME_LABEL];
  if (svc === undefined || svc === "") return undefined;
  return `${slice.metadata.namespace ?? "default"}/${svc}`;
}

/** The endpoints a Service's slices give each of its port names. */
export function endpointsOfSlices(namespace: string, service: string, slices: Iterable<Readonly<EndpointSlice>>): EndpointsMap {
  const byPort = new Map<string, Map<string, EndpointInfo>>();
  for (const slice of slices) {
    if (slice.addressType !== "IPv4") continue;
    for (const p of slice.ports ?? []) {
      if (p.port === undefined) continue;
      const key = servicePortNameString({ namespace, name: service, port: p.name ?? "" });
      let eps = byPort.get(key);
      if (!eps) byPort.set(key, (eps = new Map<string, EndpointInfo>()));
      for (const e of slice.endpoints ?? []) {
        const ip = e.addresses[0];
        if (ip === undefined || !isIPv4(ip)) continue;
        const ready = e.conditions?.ready ?? true;
        const info: EndpointInfo = {
          ip,
          port: p.port,
          ready,
          serving: e.conditions?.serving ?? ready,
          terminating: e.conditions?.terminating ?? false,
          ...(e.nodeName !== undefined ? { nodeName: e.nodeName } : {}),
        };
        const id = endpointString(info);
        const seen = eps.get(id);
        // The same address in two slices (a move between slices in flight): the readier view wins.
        if (!seen || (!seen.ready && info.ready)) eps.set(id, info);
      }
    }
  }
  const out: EndpointsMap = new Map();
  for (const [key, eps] of byPort) out.set(key, [...eps.values()].sort(compareEndpoints));
  return out;
}

function compareEndpoints(a: EndpointInfo, b: EndpointInfo): number {
  return ipNumber(a.ip) - ipNumber(b.ip) || a.port - b.port;
}

function ipNumber(ip: string): number {
  return ip.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

/**
 * The endpoints that receive a service port's traffic: the ready ones; when none is ready, the serving ones that
 * are terminating (so connections drain instead of failing while a rollout replaces the last pods), as Kubernetes.
 */
export function usableEndpoints(eps: readonly EndpointInfo[]): readonly EndpointInfo[] {
  const ready = eps.filter((e) => e.ready);
  if (ready.length > 0) return ready;
  return eps.filter((e) => e.serving && e.terminating);
}

export interface CategorizedEndpoints {
  /** The endpoints of the Cluster traffic policy: usableEndpoints of all of them. */
  cluster: readonly EndpointInfo[];
  /** The endpoints of the Local traffic policy: the usable ones on this node (ready, else serving terminating). */
  local: readonly EndpointInfo[];
  /** Every endpoint some rule may send traffic to (the union). */
  reachable: readonly EndpointInfo[];
  /** Whether any endpoint in the cluster is usable (ready, or serving and terminating), local or not. */
  hasAnyEndpoints: boolean;
}

/**
 * Kubernetes' CategorizeEndpoints (without topology hints): which endpoints each traffic policy a service port
 * uses may reach. Cluster endpoints are needed when internal traffic is Cluster or when the port takes external
 * traffic at all (even with externalTrafficPolicy Local, pods and the node itself short-circuit to every
 * endpoint); local ones when either policy is Local. An endpoint is local when its nodeName is this node's.
 */
export function categorizeEndpoints(eps: readonly EndpointInfo[], policy: { usesCluster: boolean; usesLocal: boolean }, nodeName: string): CategorizedEndpoints {
  const hasAnyEndpoints = eps.some((e) => e.ready || (e.serving && e.terminating));
  const cluster = policy.usesCluster ? usableEndpoints(eps) : [];
  const local = policy.usesLocal ? usableEndpoints(eps.filter((e) => e.nodeName !== undefined && e.nodeName === nodeName)) : [];
  if (!policy.usesLocal) return { cluster, local, reachable: cluster, hasAnyEndpoints };
  if (!policy.usesCluster) return { cluster, local, reachable: local, hasAnyEndpoints };
  const union = new Map(cluster.map((e) => [endpointString(e), e]));
  for (const e of local) union.set(endpointString(e), e);
  return { cluster, local, reachable: [...union.values()].sort(compareEndpoints), hasAnyEndpoints };
}
