// rbac.authorization.k8s.io: policy rules, role references and subjects (pkg/apis/rbac/validation).
import type { FieldError } from "../errors.js";
import type { PolicyRule, Role, RoleBinding, RoleRef, Subject } from "../types/index.js";
import { invalid, notSupported, required } from "./field-errors.js";
import { deepEqual, isObj, listOf, objectsOf, str } from "./helpers.js";

const RBAC_GROUP = "rbac.authorization.k8s.io";

export function validateRole(role: Role, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  objectsOf(role.rules).forEach((rule, i) => errs.push(...validatePolicyRule(rule, namespaced, `rules[${i}]`)));
  return errs;
}

function validatePolicyRule(rule: PolicyRule, namespaced: boolean, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (listOf(rule.verbs).length === 0) errs.push(required(`${path}.verbs`, "verbs must contain at least one value"));
  const urls = listOf(rule.nonResourceURLs);
  if (urls.length > 0) {
    if (namespaced) errs.push(invalid(`${path}.nonResourceURLs`, urls, "namespaced rules cannot apply to non-resource URLs"));
    if (listOf(rule.apiGroups).length > 0 || listOf(rule.resources).length > 0) {
      errs.push(invalid(`${path}.nonResourceURLs`, urls, "rules cannot apply to both regular resources and non-resource URLs"));
    }
    return errs;
  }
  if (listOf(rule.apiGroups).length === 0) errs.push(required(`${path}.apiGroups`, "resource rules must supply at least one api group"));
  if (listOf(rule.resources).length === 0) errs.push(required(`${path}.resources`, "resource rules must supply at least one resource"));
  return errs;
}

/** A RoleBinding may refer to a Role or ClusterRole; a ClusterRoleBinding only to a ClusterRole. */
export function validateRoleBinding(binding: RoleBinding, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const ref: RoleRef = isObj(binding.roleRef) ? binding.roleRef : {};
  if (ref.apiGroup !== RBAC_GROUP) errs.push(notSupported("roleRef.apiGroup", str(ref.apiGroup), [RBAC_GROUP]));
  const kinds = namespaced ? ["Role", "ClusterRole"] : ["ClusterRole"];
  if (!kinds.includes(str(ref.kind))) errs.push(notSupported("roleRef.kind", str(ref.kind), kinds));
  if (!ref.name) errs.push(required("roleRef.name"));
  objectsOf(binding.subjects).forEach((subject, i) => errs.push(...validateSubject(subject, namespaced, `subjects[${i}]`)));
  return errs;
}

function validateSubject(subject: Subject, namespaced: boolean, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!subject.name) errs.push(required(`${path}.name`));
  switch (subject.kind) {
    case "ServiceAccount":
      if (subject.apiGroup) errs.push(notSupported(`${path}.apiGroup`, subject.apiGroup, [""]));
      if (!namespaced && !subject.namespace) errs.push(required(`${path}.namespace`));
      break;
    case "User":
    case "Group":
      if (subject.apiGroup !== RBAC_GROUP) errs.push(notSupported(`${path}.apiGroup`, str(subject.apiGroup), [RBAC_GROUP]));
      break;
    case undefined:
    default:
      errs.push(notSupported(`${path}.kind`, str(subject.kind), ["ServiceAccount", "User", "Group"]));
  }
  return errs;
}

export function validateRoleBindingUpdate(next: RoleBinding, prev: RoleBinding): FieldError[] {
  return deepEqual(next.roleRef, prev.roleRef) ? [] : [invalid("roleRef", next.roleRef, "cannot change roleRef")];
}
