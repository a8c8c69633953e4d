// What kube-proxy keeps of a Service: one ServicePortInfo per service port (Kubernetes' pkg/proxy ServicePort),
// keyed by the port's name "namespace/name:port" (just "namespace/name" for an unnamed port). Services without a
// cluster IP (headless, ExternalName) carry no proxied traffic and yield nothing.
import type { Protocol, Service } from "../api/types/core.js";

/** Kubernetes' default sessionAffinityConfig.clientIP.timeoutSeconds (3 hours). */
export const DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10_800;

export interface ServicePortName {
  namespace: string;
  name: string;
  /** The ServicePort's name ("" for a Service's single unnamed port). */
  port: string;
}

/** "namespace/name:port", or "namespace/name" for an unnamed port: the key, the hash input, the rule comments. */
export function servicePortNameString(n: ServicePortName): string {
  return n.port === "" ? `${n.namespace}/${n.name}` : `${n.namespace}/${n.name}:${n.port}`;
}

export interface ServicePortInfo {
  name: ServicePortName;
  protocol: Protocol;
  clusterIP: string;
  port: number;
  /** 0 when the Service has no NodePort (type ClusterIP). LoadBalancer Services have one: there is no cloud. */
  nodePort: number;
  externalIPs: readonly string[];
  /** Seconds of ClientIP affinity; undefined without sessionAffinity ClientIP. */
  stickyMaxAgeSeconds?: number;
}

export type ServicePortMap = Map<string, ServicePortInfo>;

/** The proxied ports of a Service, by servicePortNameString. */
export function servicePortsOf(svc: Readonly<Service>): ServicePortMap {
  const out: ServicePortMap = new Map();
  const spec = svc.spec;
  const clusterIP = spec?.clusterIP ?? "";
  if (!spec || spec.type === "ExternalName" || clusterIP === "" || clusterIP === "None") return out;
  // IPv4 only: the lab's pod and service networks are IPv4.
  if (!isIPv4(clusterIP)) return out;
  const namespace = svc.metadata.namespace ?? "default";
  const name = svc.metadata.name ?? "";
  const sticky = spec.sessionAffinity === "ClientIP" ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_TIMEOUT_SECONDS) : undefined;
  const withNodePort = spec.type === "NodePort" || spec.type === "LoadBalancer";
  for (const p of spec.ports ?? []) {
    const portName: ServicePortName = { namespace, name, port: p.name ?? "" };
    out.set(servicePortNameString(portName), {
      name: portName,
      protocol: p.protocol ?? "TCP",
      clusterIP,
      port: p.port,
      nodePort: withNodePort ? (p.nodePort ?? 0) : 0,
      externalIPs: (spec.externalIPs ?? []).filter(isIPv4),
      ...(sticky !== undefined ? { stickyMaxAgeSeconds: sticky } : {}),
    });
  }
  return out;
}

export function isIPv4(ip: string): boolean {
  const parts = ip.split(".");
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** Structural equality of two ServicePortInfos (a Service update that changes nothing kube-proxy uses is no change). */
export function sameServicePort(a: ServicePortInfo, b: ServicePortInfo): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
