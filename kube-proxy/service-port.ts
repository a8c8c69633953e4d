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
  /**
   * externalTrafficPolicy Local on an externally reachable port (NodePort, LoadBalancer, externalIPs): traffic from
   * outside goes only to this node's endpoints, with its source IP kept (Kubernetes' ExternalPolicyLocal).
   */
  externalPolicyLocal?: boolean;
  /** internalTrafficPolicy Local: ClusterIP traffic goes only to endpoints on the node it starts from. */
  internalPolicyLocal?: boolean;
  /**
   * A LoadBalancer Service's loadBalancerSourceRanges (IPv4 CIDRs): the only sources let in through its
   * load-balancer IPs and, the lab having no cloud load balancer in front, its node ports.
   */
  loadBalancerSourceRanges?: readonly string[];
  /** status.loadBalancer.ingress IPs (none until something plays the cloud's part). */
  loadBalancerVIPs?: readonly string[];
}

/** Whether traffic reaches the port from outside the cluster network: a node port, an external or LB IP. */
export function externallyAccessible(info: ServicePortInfo): boolean {
  return info.nodePort > 0 || info.externalIPs.length > 0 || (info.loadBalancerVIPs?.length ?? 0) > 0;
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
  const loadBalancer = spec.type === "LoadBalancer";
  const externalIPs = (spec.externalIPs ?? []).filter(isIPv4);
  const loadBalancerVIPs = loadBalancer ? (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip ?? "").filter(isIPv4) : [];
  const sourceRanges = loadBalancer ? (spec.loadBalancerSourceRanges ?? []).map((r) => r.trim()).filter(isIPv4CIDR) : [];
  for (const p of spec.ports ?? []) {
    const portName: ServicePortName = { namespace, name, port: p.name ?? "" };
    const info: ServicePortInfo = {
      name: portName,
      protocol: p.protocol ?? "TCP",
      clusterIP,
      port: p.port,
      nodePort: withNodePort ? (p.nodePort ?? 0) : 0,
      externalIPs,
      ...(sticky !== undefined ? { stickyMaxAgeSeconds: sticky } : {}),
      ...(loadBalancerVIPs.length > 0 ? { loadBalancerVIPs } : {}),
      ...(sourceRanges.length > 0 ? { loadBalancerSourceRanges: sourceRanges } : {}),
      ...(spec.internalTrafficPolicy === "Local" ? { internalPolicyLocal: true } : {}),
    };
    if (spec.externalTrafficPolicy === "Local" && externallyAccessible(info)) info.externalPolicyLocal = true;
    out.set(servicePortNameString(portName), info);
  }
  return out;
}

export function isIPv4(ip: string): boolean {
  const parts = ip.split(".");
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** "a.b.c.d/n" with an IPv4 address and a prefix length of at most 32. */
export function isIPv4CIDR(cidr: string): boolean {
  const [ip, bits, ...rest] = cidr.split("/");
  return rest.length === 0 && ip !== undefined && isIPv4(ip) && bits !== undefined && /^\d{1,2}$/.test(bits) && Number(bits) <= 32;
}

/** Structural equality of two ServicePortInfos (a Service update that changes nothing kube-proxy uses is no change). */
export function sameServicePort(a: ServicePortInfo, b: ServicePortInfo): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
