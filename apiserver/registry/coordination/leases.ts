// Leases: leader election and node heartbeats, upserted by PUT.
import type { ResourceDefinition } from "../kind.js";
import { PLAIN_STRATEGY } from "../strategy.js";

export const LEASE_RESOURCES: readonly ResourceDefinition[] = [
  { group: "coordination.k8s.io", resource: "leases", strategy: () => ({ ...PLAIN_STRATEGY, allowCreateOnUpdate: true }) },
];
