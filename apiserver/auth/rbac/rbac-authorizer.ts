// --authorization-mode=RBAC: Roles, ClusterRoles and their bindings, read from the registry's watch caches (never
// from etcd per request). Bindings are indexed by subject (a username, which also stands for a ServiceAccount
// subject, or a group) and by namespace, so a request looks at the bindings naming its user and groups only.
// As in Kubernetes, RBAC only allows: a request no rule allows gets no opinion, with the reason naming the roles
// that could not be read; an allow names the binding, role and subject that allowed it.
import type { KubeObject } from "../../../api/meta.js";
import type { ClusterRole, PolicyRule, Role, RoleBinding, Subject, UserInfo } from "../../../api/types/index.js";
import type { Registry } from "../../registry/registry.js";
import type { AuthorizationResult, Attributes, Authorizer, NonResourceRule, ResourceRule, RulesResult } from "../authorizer.js";
import { followStore, type FollowSink } from "../follow.js";
import { describeBinding, ruleAllows, serviceAccountUsername } from "./rules.js";

const GROUP = "rbac.authorization.k8s.io";

interface BindingEntry {
  binding: RoleBinding;
  subject: Subject;
}

/** The state RBAC decides from, kept current by the four caches' events (or set directly in tests). */
export class RbacPolicy {
  private readonly clusterRoles = new Map<string, ClusterRole>();
  private readonly roles = new Map<string, Role>();
  /** Index key (namespace + subject) → the bindings there naming that subject. */
  private readonly index = new Map<string, Set<BindingEntry>>();
  /** Binding key → its entries in the index, to take them out when it changes. */
  private readonly entries = new Map<string, { key: string; entry: BindingEntry }[]>();

  setRole(object: KubeObject): void {
    const ns = object.metadata.namespace ?? "";
    if (ns === "") this.clusterRoles.set(object.metadata.name ?? "", object);
    else this.roles.set(`${ns}/${object.metadata.name ?? ""}`, object);
  }

  removeRole(object: KubeObject): void {
    const ns = object.metadata.namespace ?? "";
    if (ns === "") this.clusterRoles.delete(object.metadata.name ?? "");
    else this.roles.delete(`${ns}/${object.metadata.name ?? ""}`);
  }

  setBinding(object: KubeObject): void {
    this.removeBinding(object);
    const binding = object as RoleBinding;
    const ns = binding.metadata.namespace ?? "";
    const added: { key: string; entry: BindingEntry }[] = [];
    for (const subject of binding.subjects ?? []) {
      const key = subjectKey(ns, subject);
      if (key === undefined) continue;
      const entry = { binding, subject };
      let set = this.index.get(key);
      if (!set) {
        set = new Set();
        this.index.set(key, set);
      }
      set.add(entry);
      added.push({ key, entry });
    }
    this.entries.set(bindingKey(object), added);
  }

  removeBinding(object: KubeObject): void {
    const key = bindingKey(object);
    for (const { key: indexKey, entry } of this.entries.get(key) ?? []) {
      const set = this.index.get(indexKey);
      set?.delete(entry);
      if (set?.size === 0) this.index.delete(indexKey);
    }
    this.entries.delete(key);
  }

  resetRoles(clusterScoped: boolean): void {
    if (clusterScoped) this.clusterRoles.clear();
    else this.roles.clear();
  }

  resetBindings(clusterScoped: boolean): void {
    for (const [key, list] of [...this.entries]) {
      const isCluster = key.startsWith("/");
      if (isCluster !== clusterScoped) continue;
      for (const { key: indexKey, entry } of list) {
        const set = this.index.get(indexKey);
        set?.delete(entry);
        if (set?.size === 0) this.index.delete(indexKey);
      }
      this.entries.delete(key);
    }
  }

  /**
   * Calls `visit` with each rule of each binding that applies to `user`: ClusterRoleBindings first, then the
   * RoleBindings of `namespace`, each in name order; stops when `visit` returns false. Roles that cannot be found
   * are reported to `failed`.
   */
  visitRules(user: UserInfo, namespace: string, visit: (source: BindingEntry, rule: PolicyRule) => boolean, failed: (message: string) => void): void {
    const scopes = namespace === "" ? [""] : ["", namespace];
    for (const scope of scopes) {
      for (const entry of this.applicable(user, scope)) {
        const rules = this.rulesOf(entry.binding, failed);
        for (const rule of rules) if (!visit(entry, rule)) return;
      }
    }
  }

  private applicable(user: UserInfo, namespace: string): BindingEntry[] {
    const found: BindingEntry[] = [];
    const seen = new Set<RoleBinding>();
    const collect = (key: string): void => {
      for (const entry of this.index.get(key) ?? []) {
        if (seen.has(entry.binding)) continue;
        seen.add(entry.binding);
        found.push(entry);
      }
    };
    if (user.username) collect(`${namespace}|u:${user.username}`);
    for (const group of user.groups ?? []) collect(`${namespace}|g:${group}`);
    if (found.length > 1) found.sort((a, b) => (a.binding.metadata.name ?? "").localeCompare(b.binding.metadata.name ?? ""));
    return found;
  }

  private rulesOf(binding: RoleBinding, failed: (message: string) => void): PolicyRule[] {
    const ref = binding.roleRef;
    const name = ref?.name ?? "";
    if (ref?.kind === "ClusterRole") {
      const role = this.clusterRoles.get(name);
      if (role) return role.rules ?? [];
      failed(`clusterrole.${GROUP} ${JSON.stringify(name)} not found`);
      return [];
    }
    const ns = binding.metadata.namespace ?? "";
    if (ref?.kind === "Role" && ns !== "") {
      const role = this.roles.get(`${ns}/${name}`);
      if (role) return role.rules ?? [];
      failed(`role.${GROUP} ${JSON.stringify(name)} not found`);
      return [];
    }
    return [];
  }
}

/** The index key of a subject in a namespace ("" for ClusterRoleBindings); ServiceAccounts are their username. */
function subjectKey(namespace: string, subject: Subject): string | undefined {
  switch (subject.kind) {
    case "User":
      return subject.name ? `${namespace}|u:${subject.name}` : undefined;
    case "Group":
      return subject.name ? `${namespace}|g:${subject.name}` : undefined;
    case "ServiceAccount": {
      const username = serviceAccountUsername(subject, namespace);
      return username === undefined ? undefined : `${namespace}|u:${username}`;
    }
    case undefined:
    default:
      return undefined;
  }
}

function bindingKey(object: KubeObject): string {
  return `${object.metadata.namespace ?? ""}/${object.metadata.name ?? ""}`;
}

/** Answers from an RbacPolicy; see the file's comment. */
export class RbacAuthorizer implements Authorizer {
  constructor(readonly policy: RbacPolicy) {}

  authorize(attributes: Attributes): AuthorizationResult {
    let allowedBy: string | undefined;
    const errors: string[] = [];
    this.policy.visitRules(
      attributes.user,
      attributes.namespace,
      (source, rule) => {
        if (!ruleAllows(attributes, rule)) return true;
        allowedBy = describeBinding(source.binding, source.subject);
        return false;
      },
      (message) => errors.push(message),
    );
    if (allowedBy !== undefined) return { decision: "allow", reason: `RBAC: allowed by ${allowedBy}` };
    return { decision: "noOpinion", reason: errors.length === 0 ? "" : `RBAC: ${aggregate(errors)}` };
  }

  rulesFor(user: UserInfo, namespace: string): RulesResult {
    const resourceRules: ResourceRule[] = [];
    const nonResourceRules: NonResourceRule[] = [];
    const errors: string[] = [];
    this.policy.visitRules(
      user,
      namespace,
      (_source, rule) => {
        if ((rule.nonResourceURLs ?? []).length > 0) {
          nonResourceRules.push({ verbs: [...(rule.verbs ?? [])], nonResourceURLs: [...(rule.nonResourceURLs ?? [])] });
        } else {
          const r: ResourceRule = { verbs: [...(rule.verbs ?? [])] };
          if (rule.apiGroups) r.apiGroups = [...rule.apiGroups];
          if (rule.resources) r.resources = [...rule.resources];
          if (rule.resourceNames) r.resourceNames = [...rule.resourceNames];
          resourceRules.push(r);
        }
        return true;
      },
      (message) => errors.push(message),
    );
    const result: RulesResult = { resourceRules, nonResourceRules, incomplete: false };
    if (errors.length > 0) result.evaluationError = aggregate(errors);
    return result;
  }
}

/** Go's utilerrors.NewAggregate message: one error as it is, several in brackets. */
function aggregate(errors: readonly string[]): string {
  return errors.length === 1 ? errors[0]! : `[${errors.join(", ")}]`;
}

const followed = new WeakMap<Registry, RbacAuthorizer>();

/** The RBAC authorizer over `registry`'s caches; one per registry, however often asked for. */
export function rbacAuthorizerFor(registry: Registry): RbacAuthorizer {
  const known = followed.get(registry);
  if (known) return known;
  const policy = new RbacPolicy();
  const store = (resource: string): NonNullable<ReturnType<Registry["storeOf"]>> => {
    const s = registry.storeOf(GROUP, resource);
    if (!s) throw new Error(`no store for ${resource}.${GROUP}`);
    return s;
  };
  const roleSink = (clusterScoped: boolean): FollowSink => ({
    upsert: (o) => { policy.setRole(o); },
    remove: (o) => { policy.removeRole(o); },
    reset: () => { policy.resetRoles(clusterScoped); },
  });
  const bindingSink = (clusterScoped: boolean): FollowSink => ({
    upsert: (o) => { policy.setBinding(o); },
    remove: (o) => { policy.removeBinding(o); },
    reset: () => { policy.resetBindings(clusterScoped); },
  });
  followStore(store("clusterroles"), roleSink(true));
  followStore(store("roles"), roleSink(false));
  followStore(store("clusterrolebindings"), bindingSink(true));
  followStore(store("rolebindings"), bindingSink(false));
  const authorizer = new RbacAuthorizer(policy);
  followed.set(registry, authorizer);
  return authorizer;
}
