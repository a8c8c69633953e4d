// networking.k8s.io/v1 object types: Ingress, IngressClass, NetworkPolicy. Field names and JSON shapes are Kubernetes'.
import type { KubeObject, LabelSelector } from "../meta.js";
import type { IntOrString } from "./core.js";

export interface ServiceBackendPort {
  name?: string;
  number?: number;
}

export interface TypedLocalObjectReference {
  apiGroup?: string;
  kind: string;
  name: string;
}

export interface IngressBackend {
  service?: { name: string; port?: ServiceBackendPort };
  resource?: TypedLocalObjectReference;
}

export interface HTTPIngressPath {
  path?: string;
  pathType?: "Exact" | "Prefix" | "ImplementationSpecific";
  backend?: IngressBackend;
}

export interface IngressRule {
  host?: string;
  http?: { paths?: HTTPIngressPath[] };
}

export interface IngressTLS {
  hosts?: string[];
  secretName?: string;
}

export interface IngressLoadBalancerIngress {
  ip?: string;
  hostname?: string;
  ports?: { port: number; protocol: string; error?: string }[];
}

export interface Ingress extends KubeObject {
  spec?: {
    ingressClassName?: string;
    defaultBackend?: IngressBackend;
    tls?: IngressTLS[];
    rules?: IngressRule[];
  };
  status?: { loadBalancer?: { ingress?: IngressLoadBalancerIngress[] } };
}

export interface IngressClass extends KubeObject {
  spec?: {
    controller?: string;
    parameters?: TypedLocalObjectReference & { scope?: "Cluster" | "Namespace"; namespace?: string };
  };
}

export interface NetworkPolicyPort {
  protocol?: string;
  port?: IntOrString;
  endPort?: number;
}

export interface NetworkPolicyPeer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

export interface NetworkPolicy extends KubeObject {
  spec?: {
    podSelector?: LabelSelector;
    ingress?: { ports?: NetworkPolicyPort[]; from?: NetworkPolicyPeer[] }[];
    egress?: { ports?: NetworkPolicyPort[]; to?: NetworkPolicyPeer[] }[];
    policyTypes?: ("Ingress" | "Egress")[];
  };
}
