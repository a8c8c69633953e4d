// discovery.k8s.io/v1 EndpointSlice: the endpoints of a Service (label kubernetes.io/service-name), read by
// `kubectl describe svc` and kube-proxy.
import type { KubeObject } from "../meta.js";
import type { ObjectReference, Protocol } from "./core.js";

export type AddressType = "IPv4" | "IPv6" | "FQDN";

export interface EndpointConditions {
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export interface Endpoint {
  addresses: string[];
  conditions?: EndpointConditions;
  hostname?: string;
  targetRef?: ObjectReference;
  nodeName?: string;
  zone?: string;
}

export interface EndpointSlicePort {
  name?: string;
  protocol?: Protocol;
  port?: number;
  appProtocol?: string;
}

export interface EndpointSlice extends KubeObject {
  addressType: AddressType;
  endpoints?: Endpoint[];
  ports?: EndpointSlicePort[];
}
