// Authorization as Kubernetes does it: every request, once its user is known, becomes a set of attributes (who,
// which verb, on which resource or non-resource path), and the configured authorizers are asked in order
// (--authorization-mode); the first that allows or denies decides, and no opinion from all of them is a denial.
import type { UserInfo } from "../../api/types/index.js";

export interface Attributes {
  user: UserInfo;
  /** Resource verbs (get, list, watch, create, update, patch, delete, deletecollection, and impersonate, bind,
   * escalate, approve, sign, use ...) or, for a non-resource path, the lower-cased HTTP method (get, post, ...). */
  verb: string;
  /** True for /api/... and /apis/... paths naming a resource; false for /healthz, /version, /apis, /metrics ... */
  resourceRequest: boolean;
  /** The request path (non-resource requests are authorized by it). */
  path: string;
  apiGroup: string;
  apiVersion: string;
  namespace: string;
  resource: string;
  subresource: string;
  name: string;
}

export type Decision = "allow" | "deny" | "noOpinion";

export interface AuthorizationResult {
  decision: Decision;
  /** Why: appended to a 403's message, and the status.reason of an access review. */
  reason: string;
}

/** The rules a user has in a namespace, as a SelfSubjectRulesReview reports them. */
export interface ResourceRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
}

export interface NonResourceRule {
  verbs: string[];
  nonResourceURLs?: string[];
}

export interface RulesResult {
  resourceRules: ResourceRule[];
  nonResourceRules: NonResourceRule[];
  /** True when an authorizer could not list every rule (the Node authorizer's rules are not listable). */
  incomplete: boolean;
  evaluationError?: string;
}

export interface Authorizer {
  authorize(attributes: Attributes): AuthorizationResult | Promise<AuthorizationResult>;
  /** The user's rules in `namespace`; an authorizer that cannot list them reports incomplete. */
  rulesFor(user: UserInfo, namespace: string): RulesResult | Promise<RulesResult>;
}

/** --authorization-mode=AlwaysAllow: the 0.18 lab, and the kube-apiserver binary's default. */
export const ALWAYS_ALLOW: Authorizer = {
  authorize: () => ({ decision: "allow", reason: "" }),
  rulesFor: () => ({
    resourceRules: [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }],
    nonResourceRules: [{ verbs: ["*"], nonResourceURLs: ["*"] }],
    incomplete: false,
  }),
};

/** --authorization-mode=AlwaysDeny. */
export const ALWAYS_DENY: Authorizer = {
  authorize: () => ({ decision: "deny", reason: "" }),
  rulesFor: () => ({ resourceRules: [], nonResourceRules: [], incomplete: false }),
};
