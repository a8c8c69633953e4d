// Webhook configurations: stored and served; kubelab's admission calls no webhooks.
import type { ResourceDefinition } from "../kind.js";
import { PLAIN_STRATEGY } from "../strategy.js";

export const ADMISSIONREGISTRATION_RESOURCES: readonly ResourceDefinition[] = [
  { group: "admissionregistration.k8s.io", resource: "validatingwebhookconfigurations", strategy: () => ({ ...PLAIN_STRATEGY, tracksGeneration: true }) },
  { group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations", strategy: () => ({ ...PLAIN_STRATEGY, tracksGeneration: true }) },
];
