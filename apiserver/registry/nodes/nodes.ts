// Nodes: registered by their kubelet with their status, which create keeps.
import type { ResourceDefinition } from "../kind.js";
import { PLAIN_STRATEGY } from "../strategy.js";

export const NODE_RESOURCES: readonly ResourceDefinition[] = [
  { group: "", resource: "nodes", strategy: () => ({ ...PLAIN_STRATEGY, statusSubresource: true, statusOnCreate: true }) },
];
