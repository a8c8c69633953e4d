// PodDisruptionBudgets: a status the disruption controller (and pods/eviction) writes, and a generation the
// controller reports as observed. The eviction subresource that honours them is eviction.ts.
import type { ResourceDefinition } from "../kind.js";
import { PLAIN_STRATEGY } from "../strategy.js";

export const POLICY_RESOURCES: readonly ResourceDefinition[] = [
  { group: "policy", resource: "poddisruptionbudgets", strategy: () => ({ ...PLAIN_STRATEGY, statusSubresource: true, tracksGeneration: true }) },
];
