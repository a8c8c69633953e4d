// APIServices: which server serves each group version. Status (the Available condition) is written by the
// aggregator's availability controller (apiserver/aggregator/) through the status subresource.
import type { ResourceDefinition } from "../kind.js";
import { PLAIN_STRATEGY } from "../strategy.js";

export const APIREGISTRATION_RESOURCES: readonly ResourceDefinition[] = [
  { group: "apiregistration.k8s.io", resource: "apiservices", strategy: () => ({ ...PLAIN_STRATEGY, statusSubresource: true, tracksGeneration: true }) },
];
