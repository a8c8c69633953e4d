// rbac.authorization.k8s.io: Roles, ClusterRoles, and their bindings. A user's writes are checked for privilege
// escalation (escalation-guard.ts); aggregated ClusterRoles get their rules from the controller-manager's
// clusterrole-aggregation controller, and the bootstrap policy (bootstrap-policy.ts) is reconciled at start. As
// in Kubernetes, a PUT of a missing object creates it.
import type { ResourceDefinition } from "../kind.js";
import { PLAIN_STRATEGY, type Strategy } from "../strategy.js";
import { bindingGuard, roleGuard } from "./escalation-guard.js";

const GROUP = "rbac.authorization.k8s.io";

const RBAC_STRATEGY: Strategy = { ...PLAIN_STRATEGY, allowCreateOnUpdate: true };

export const RBAC_RESOURCES: readonly ResourceDefinition[] = [
  { group: GROUP, resource: "roles", strategy: () => RBAC_STRATEGY, hooks: (config) => ({ guardWrite: roleGuard("roles", config) }) },
  { group: GROUP, resource: "clusterroles", strategy: () => RBAC_STRATEGY, hooks: (config) => ({ guardWrite: roleGuard("clusterroles", config) }) },
  { group: GROUP, resource: "rolebindings", strategy: () => RBAC_STRATEGY, hooks: (config) => ({ guardWrite: bindingGuard("rolebindings", config) }) },
  { group: GROUP, resource: "clusterrolebindings", strategy: () => RBAC_STRATEGY, hooks: (config) => ({ guardWrite: bindingGuard("clusterrolebindings", config) }) },
];
