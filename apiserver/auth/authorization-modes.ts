// --authorization-mode: the authorizers a comma-separated list of modes names, asked in that order.
import { badRequest } from "../../api/errors.js";
import type { UserInfo } from "../../api/types/index.js";
import type { Registry } from "../registry/registry.js";
import { ALWAYS_ALLOW, ALWAYS_DENY, type Attributes, type AuthorizationResult, type Authorizer, type RulesResult } from "./authorizer.js";
import { nodeAuthorizerFor } from "./node/node-authorizer.js";
import { rbacAuthorizerFor } from "./rbac/rbac-authorizer.js";

export interface AuthorizerDeps {
  registry: Registry;
}

export const AUTHORIZATION_MODES = ["AlwaysAllow", "AlwaysDeny", "RBAC", "Node"] as const;

/** The group Kubernetes allows everything, before any mode is asked (kube-apiserver's privileged-groups authorizer). */
export const SYSTEM_PRIVILEGED_GROUP = "system:masters";

/** Allows every request of a member of system:masters, with no reason; no opinion otherwise. Lists no rules. */
const PRIVILEGED_GROUPS: Authorizer = {
  authorize: (attributes) => ({ decision: (attributes.user.groups ?? []).includes(SYSTEM_PRIVILEGED_GROUP) ? "allow" : "noOpinion", reason: "" }),
  rulesFor: () => ({ resourceRules: [], nonResourceRules: [], incomplete: false }),
};

/**
 * The authorizer for `modes` (e.g. "Node,RBAC"); an unknown mode is an error naming the known ones. As in
 * kube-apiserver, members of system:masters are allowed before any mode is asked.
 */
export function authorizerFor(modes: string, deps: AuthorizerDeps): Authorizer {
  const names = modes.split(",").map((m) => m.trim()).filter((m) => m !== "");
  const authorizers = names.map((name): Authorizer => {
    switch (name) {
      case "AlwaysAllow":
        return ALWAYS_ALLOW;
      case "AlwaysDeny":
        return ALWAYS_DENY;
      // MARK authz modes
      case "RBAC":
        return rbacAuthorizerFor(deps.registry);
      case "Node":
        return nodeAuthorizerFor(deps.registry);
      default:
        throw badRequest(`unknown authorization mode "${name}" (known: ${AUTHORIZATION_MODES.join(", ")})`);
    }
  });
  return unionOf([PRIVILEGED_GROUPS, ...authorizers]);
}

/** The first allow or deny decides; no opinion from every authorizer is a denial with no reason. */
function unionOf(authorizers: readonly Authorizer[]): Authorizer {
  return {
    async authorize(attributes: Attributes): Promise<AuthorizationResult> {
      const reasons: string[] = [];
      for (const authorizer of authorizers) {
        const result = await authorizer.authorize(attributes);
        if (result.decision !== "noOpinion") return result;
        if (result.reason !== "") reasons.push(result.reason);
      }
      return { decision: "noOpinion", reason: reasons.join("; ") };
    },
    async rulesFor(user: UserInfo, namespace: string): Promise<RulesResult> {
      const merged: RulesResult = { resourceRules: [], nonResourceRules: [], incomplete: false };
      const errors: string[] = [];
      for (const authorizer of authorizers) {
        const rules = await authorizer.rulesFor(user, namespace);
        merged.resourceRules.push(...rules.resourceRules);
        merged.nonResourceRules.push(...rules.nonResourceRules);
        merged.incomplete ||= rules.incomplete;
        if (rules.evaluationError) errors.push(rules.evaluationError);
      }
      if (errors.length > 0) merged.evaluationError = errors.join("; ");
      return merged;
    },
  };
}
