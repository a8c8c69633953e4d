// RBAC's matching, as Kubernetes defines it: a rule allows a request when its verbs, API groups, resources (with
// `resource/subresource` and `*/subresource`) and resource names, or its non-resource URLs (a trailing `*` is a
// prefix), all match; `*` matches anything in every list. A binding's subject applies to a user by name (User),
// by group (Group), or by the service account's username system:serviceaccount:<namespace>:<name>.
import type { PolicyRule, RoleBinding, Subject, UserInfo } from "../../../api/types/index.js";
import type { Attributes } from "../authorizer.js";

const ALL = "*";

export function verbMatches(rule: PolicyRule, verb: string): boolean {
  return (rule.verbs ?? []).some((v) => v === ALL || v === verb);
}

export function apiGroupMatches(rule: PolicyRule, group: string): boolean {
  return (rule.apiGroups ?? []).some((g) => g === ALL || g === group);
}

export function resourceMatches(rule: PolicyRule, resource: string, subresource: string): boolean {
  const combined = subresource === "" ? resource : `${resource}/${subresource}`;
  for (const r of rule.resources ?? []) {
    if (r === ALL || r === combined) return true;
    if (subresource !== "" && r === `*/${subresource}`) return true;
  }
  return false;
}

export function resourceNameMatches(rule: PolicyRule, name: string): boolean {
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(name);
}

export function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  for (const url of rule.nonResourceURLs ?? []) {
    if (url === ALL || url === path) return true;
    if (url.endsWith(ALL) && path.startsWith(url.slice(0, -1))) return true;
  }
  return false;
}

/** Whether `rule` allows the request `attributes` describes. */
export function ruleAllows(attributes: Attributes, rule: PolicyRule): boolean {
  if (attributes.resourceRequest) {
    return (
      verbMatches(rule, attributes.verb) &&
      apiGroupMatches(rule, attributes.apiGroup) &&
      resourceMatches(rule, attributes.resource, attributes.subresource) &&
      resourceNameMatches(rule, attributes.name)
    );
  }
  return verbMatches(rule, attributes.verb) && nonResourceURLMatches(rule, attributes.path);
}

export const SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:";

/** The username a ServiceAccount subject stands for; a subject without namespace takes its binding's. */
export function serviceAccountUsername(subject: Subject, bindingNamespace: string): string | undefined {
  const namespace = subject.namespace === undefined || subject.namespace === "" ? bindingNamespace : subject.namespace;
  if (namespace === "" || !subject.name) return undefined;
  return `${SERVICE_ACCOUNT_PREFIX}${namespace}:${subject.name}`;
}

export function subjectAppliesTo(subject: Subject, user: UserInfo, bindingNamespace: string): boolean {
  switch (subject.kind) {
    case "User":
      return subject.name === user.username;
    case "Group":
      return (user.groups ?? []).includes(subject.name ?? "");
    case "ServiceAccount":
      return serviceAccountUsername(subject, bindingNamespace) === user.username;
    case undefined:
    default:
      return false;
  }
}

/** How Kubernetes names a subject in a reason: `User "jane"`, `ServiceAccount "builder/ci"`. */
export function describeSubject(subject: Subject, bindingNamespace: string): string {
  const namespace = subject.namespace === undefined || subject.namespace === "" ? bindingNamespace : subject.namespace;
  const name = subject.kind === "ServiceAccount" ? `${subject.name ?? ""}/${namespace}` : (subject.name ?? "");
  return `${subject.kind ?? ""} ${JSON.stringify(name)}`;
}

/** `ClusterRoleBinding "b" of ClusterRole "r" to User "u"`, or `RoleBinding "b/ns" of Role "r" to ...`. */
export function describeBinding(binding: RoleBinding, subject: Subject): string {
  const namespace = binding.metadata.namespace ?? "";
  const role = `${binding.roleRef?.kind ?? ""} ${JSON.stringify(binding.roleRef?.name ?? "")}`;
  if (namespace === "") return `ClusterRoleBinding ${JSON.stringify(binding.metadata.name ?? "")} of ${role} to ${describeSubject(subject, "")}`;
  return `RoleBinding ${JSON.stringify(`${binding.metadata.name ?? ""}/${namespace}`)} of ${role} to ${describeSubject(subject, namespace)}`;
}
