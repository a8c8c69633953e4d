// RBAC's privilege-escalation prevention, as Kubernetes' RBAC registry has it: a user may write a Role or
// ClusterRole only with rules it already holds, and may bind a role only when it holds that role's rules. "Holds"
// is decided by the rule resolver over the current Roles and bindings (read from the registry, not from the
// authorizer's caches, as Kubernetes reads them through its registries): each rule asked for is broken down into
// one verb, group, resource and name (or one non-resource URL and verb), and every piece must be covered by one of
// the user's rules. The refusal lists what is missing, compacted and printed as Kubernetes prints it.
import type { ClusterRole, PolicyRule, Role, RoleBinding, RoleRef, UserInfo } from "../../../api/types/index.js";
import { subjectAppliesTo } from "./rules.js";

const ALL = "*";

/** Where the resolver reads roles and bindings; a missing role throws (a NotFound Status from a store). */
export interface RuleSource {
  listClusterRoleBindings(): Promise<RoleBinding[]>;
  listRoleBindings(namespace: string): Promise<RoleBinding[]>;
  getRole(namespace: string, name: string): Promise<Role>;
  getClusterRole(name: string): Promise<ClusterRole>;
}

/** An error from resolving a role reference that is not a Status (an unknown roleRef kind). */
export class RoleReferenceError extends Error {}

/** The rules a binding's roleRef grants; throws what the source throws, or RoleReferenceError for another kind. */
export async function roleReferenceRules(source: RuleSource, ref: RoleRef | undefined, bindingNamespace: string): Promise<PolicyRule[]> {
  switch (ref?.kind) {
    case "Role":
      return (await source.getRole(bindingNamespace, ref.name ?? "")).rules ?? [];
    case "ClusterRole":
      return (await source.getClusterRole(ref.name ?? "")).rules ?? [];
    case undefined:
    default:
      throw new RoleReferenceError(`unsupported role reference kind: ${JSON.stringify(ref?.kind ?? "")}`);
  }
}

/**
 * The rules `user` has in `namespace` ("" for the cluster scope): its ClusterRoleBindings', then its RoleBindings'
 * there. Roles that cannot be read are errors beside the rules found, as Kubernetes' resolver reports them.
 */
export async function rulesFor(source: RuleSource, user: UserInfo, namespace: string): Promise<{ rules: PolicyRule[]; errors: string[] }> {
  const rules: PolicyRule[] = [];
  const errors: string[] = [];
  const collect = async (bindings: RoleBinding[], bindingNamespace: string): Promise<void> => {
    for (const binding of bindings) {
      if (!(binding.subjects ?? []).some((s) => subjectAppliesTo(s, user, bindingNamespace))) continue;
      try {
        rules.push(...(await roleReferenceRules(source, binding.roleRef, bindingNamespace)));
      } catch (err) {
        errors.push(err instanceof Error ? err.message : String(err));
      }
    }
  };
  await collect(await source.listClusterRoleBindings(), "");
  if (namespace !== "") await collect(await source.listRoleBindings(namespace), namespace);
  return { rules, errors };
}

/** Each rule as rules of one group, resource, verb and resource name, and of one non-resource URL and verb. */
export function breakdownRule(rule: PolicyRule): PolicyRule[] {
  const pieces: PolicyRule[] = [];
  for (const group of rule.apiGroups ?? []) {
    for (const resource of rule.resources ?? []) {
      for (const verb of rule.verbs ?? []) {
        const names = rule.resourceNames ?? [];
        if (names.length === 0) pieces.push({ apiGroups: [group], resources: [resource], verbs: [verb] });
        for (const name of names) pieces.push({ apiGroups: [group], resources: [resource], verbs: [verb], resourceNames: [name] });
      }
    }
  }
  for (const url of rule.nonResourceURLs ?? []) {
    for (const verb of rule.verbs ?? []) pieces.push({ nonResourceURLs: [url], verbs: [verb] });
  }
  return pieces;
}

function hasAll(owned: readonly string[] | undefined, wanted: readonly string[] | undefined): boolean {
  const set = new Set(owned ?? []);
  return (wanted ?? []).every((w) => set.has(w));
}

function nonResourceURLCovers(owner: string, path: string): boolean {
  if (owner === path) return true;
  return owner.endsWith(ALL) && path.startsWith(owner.replace(/\*+$/, ""));
}

/** Whether `owner` covers `piece` (one of breakdownRule's): `*` matches any verb, group and resource. */
export function ruleCovers(owner: PolicyRule, piece: PolicyRule): boolean {
  const verbs = (owner.verbs ?? []).includes(ALL) || hasAll(owner.verbs, piece.verbs);
  const groups = (owner.apiGroups ?? []).includes(ALL) || hasAll(owner.apiGroups, piece.apiGroups);
  const resources = (owner.resources ?? []).includes(ALL) || hasAll(owner.resources, piece.resources);
  const urls = (piece.nonResourceURLs ?? []).every((path) => (owner.nonResourceURLs ?? []).some((o) => nonResourceURLCovers(o, path)));
  const ownerNames = owner.resourceNames ?? [];
  const names = (piece.resourceNames ?? []).length === 0 ? ownerNames.length === 0 : ownerNames.length === 0 || hasAll(ownerNames, piece.resourceNames);
  return verbs && groups && resources && names && urls;
}

/** Whether `owners` cover every rule of `servants`, and the broken-down pieces they do not. */
export function covers(owners: readonly PolicyRule[], servants: readonly PolicyRule[]): { covered: boolean; missing: PolicyRule[] } {
  const missing = servants.flatMap(breakdownRule).filter((piece) => !owners.some((owner) => ruleCovers(owner, piece)));
  return { covered: missing.length === 0, missing };
}

/**
 * Merges rules of one group and one resource (and at most one resource name) that differ only in their verbs, as
 * Kubernetes compacts the missing pieces before printing them; other rules stay as they are.
 */
export function compactRules(rules: readonly PolicyRule[]): PolicyRule[] {
  const compacted: PolicyRule[] = [];
  const simple = new Map<string, PolicyRule>();
  for (const rule of rules) {
    const key = simpleKey(rule);
    if (key === undefined) {
      compacted.push(rule);
      continue;
    }
    const existing = simple.get(key);
    if (existing) existing.verbs = [...(existing.verbs ?? []), ...(rule.verbs ?? [])];
    else simple.set(key, structuredClone(rule));
  }
  return [...compacted, ...simple.values()];
}

function simpleKey(rule: PolicyRule): string | undefined {
  const names = rule.resourceNames ?? [];
  if (names.length > 1 || (rule.nonResourceURLs ?? []).length > 0) return undefined;
  if ((rule.apiGroups ?? []).length !== 1 || (rule.resources ?? []).length !== 1) return undefined;
  return JSON.stringify([rule.apiGroups?.[0], rule.resources?.[0], names.length > 0, names[0] ?? ""]);
}

/** Go's `%q` of a []string: `["a" "b"]`. */
export function goQuotedList(values: readonly string[]): string {
  return `[${values.map((v) => JSON.stringify(v)).join(" ")}]`;
}

/** A rule as Kubernetes prints it in an escalation refusal: `{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}`. */
export function compactString(rule: PolicyRule): string {
  const parts: string[] = [];
  const add = (label: string, values: readonly string[] | undefined): void => {
    if (values !== undefined && values.length > 0) parts.push(`${label}:${goQuotedList(values)}`);
  };
  add("APIGroups", rule.apiGroups);
  add("Resources", rule.resources);
  add("NonResourceURLs", rule.nonResourceURLs);
  add("ResourceNames", rule.resourceNames);
  add("Verbs", rule.verbs);
  return `{${parts.join(", ")}}`;
}

/** Go's utilerrors aggregate message: one error as it is, several (each message once) in brackets. */
export function aggregateMessage(errors: readonly string[]): string {
  const unique = [...new Set(errors)];
  return unique.length === 1 ? unique[0]! : `[${unique.join(", ")}]`;
}

/**
 * Undefined when `user`'s rules in `namespace` cover `rules`; otherwise the refusal, worded as Kubernetes words it
 * (the missing rules one a line, sorted, and the roles that could not be read).
 */
export async function escalationRefusal(source: RuleSource, user: UserInfo, namespace: string, rules: readonly PolicyRule[]): Promise<string | undefined> {
  const owned = await rulesFor(source, user, namespace);
  const { covered, missing } = covers(owned.rules, rules);
  if (covered) return undefined;
  const lines = [...new Set(compactRules(missing).map(compactString))].sort();
  let message = `user ${JSON.stringify(user.username ?? "")} (groups=${goQuotedList(user.groups ?? [])}) is attempting to grant RBAC permissions not currently held:\n${lines.join("\n")}`;
  if (owned.errors.length > 0) message += `; resolution errors: [${aggregateMessage(owned.errors)}]`;
  return message;
}

/** Everything, as the aggregationRule check asks for it: `*` on `*.*` and on every non-resource URL. */
export const FULL_AUTHORITY: readonly PolicyRule[] = [
  { verbs: [ALL], apiGroups: [ALL], resources: [ALL] },
  { verbs: [ALL], nonResourceURLs: [ALL] },
];
