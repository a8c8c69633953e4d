// rbac.authorization.k8s.io/v1: Roles and ClusterRoles (sets of allowed verbs on resources or non-resource URLs)
// and the bindings that grant them to users, groups and service accounts.
import type { KubeObject, LabelSelector } from "../meta.js";

export interface PolicyRule {
  verbs?: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

export interface AggregationRule {
  clusterRoleSelectors?: LabelSelector[];
}

export interface Role extends KubeObject {
  rules?: PolicyRule[];
}

export interface ClusterRole extends KubeObject {
  rules?: PolicyRule[];
  /** When set, the clusterrole-aggregation controller owns `rules`: the union of the selected ClusterRoles' rules. */
  aggregationRule?: AggregationRule;
}

export interface Subject {
  /** User, Group or ServiceAccount. */
  kind?: string;
  apiGroup?: string;
  name?: string;
  namespace?: string;
}

export interface RoleRef {
  apiGroup?: string;
  kind?: string;
  name?: string;
}

export interface RoleBinding extends KubeObject {
  subjects?: Subject[];
  roleRef?: RoleRef;
}

export type ClusterRoleBinding = RoleBinding;
