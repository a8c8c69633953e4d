// rbac.authorization.k8s.io: Roles, ClusterRoles, and their bindings, stored as written. Enforcement is not done
// yet (kubelab authorizes every request); aggregated ClusterRoles get their rules from the controller-manager's
// clusterrole-aggregation controller, and the bootstrap policy (bootstrap-policy.ts) is reconciled at start.
import type { ResourceDefinition } from "../kind.js";
import { PLAIN_STRATEGY } from "../strategy.js";

const GROUP = "rbac.authorization.k8s.io";

export const RBAC_RESOURCES: readonly ResourceDefinition[] = ["roles", "rolebindings", "clusterroles", "clusterrolebindings"].map((resource) => ({
  group: GROUP,
  resource,
  strategy: () => PLAIN_STRATEGY,
}));
