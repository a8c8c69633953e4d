// Ingresses (with a status the ingress controller writes), IngressClasses and NetworkPolicies: stored and served;
// kubelab runs no ingress controller and enforces no network policy.
import type { ResourceDefinition } from "../kind.js";
import { PLAIN_STRATEGY } from "../strategy.js";

export const NETWORKING_RESOURCES: readonly ResourceDefinition[] = [
  { group: "networking.k8s.io", resource: "ingresses", strategy: () => ({ ...PLAIN_STRATEGY, statusSubresource: true, tracksGeneration: true }) },
  { group: "networking.k8s.io", resource: "ingressclasses", strategy: () => PLAIN_STRATEGY },
  { group: "networking.k8s.io", resource: "networkpolicies", strategy: () => ({ ...PLAIN_STRATEGY, tracksGeneration: true }) },
];
