// The writes of Roles, ClusterRoles and their bindings a user may make, as Kubernetes' RBAC storage decides them
// (its policybased storages), before the write is validated:
// - a Role or ClusterRole: members of system:masters; users the authorizer allows `escalate` on it (the name of
//   the request's URL, so a POST to the collection matches no resourceNames); users who already hold every rule
//   it grants (in its namespace for a Role). Setting, changing or dropping a ClusterRole's aggregationRule needs
//   everything (`*` on `*.*` and every URL), since it can gather any rule.
// - a binding: members of system:masters; users the authorizer allows `bind` on the role it references (in the
//   binding's namespace, "" for a ClusterRoleBinding, resourceNames honoured); users who hold the role's rules
//   (an aggregated ClusterRole's rules are the ones its controller gathered).
// An update that changes only ownerReferences or finalizers (the garbage collector's fields) is never refused.
// Writes with no user (the apiserver's own) are not checked; under --authorization-mode=AlwaysAllow (or with no
// authorizer) escalate and bind are always allowed, so nothing is refused.
import { forbidden as forbiddenError, badRequest, StatusError } from "../../../api/errors.js";
import type { KubeObject } from "../../../api/meta.js";
import { deepEqual } from "../../../api/normalize.js";
import type { ClusterRole, PolicyRule, RoleBinding, UserInfo } from "../../../api/types/index.js";
import type { Authorizer } from "../../auth/authorizer.js";
import { escalationRefusal, FULL_AUTHORITY, RoleReferenceError, roleReferenceRules, type RuleSource } from "../../auth/rbac/escalation.js";
import type { KindConfig, StoreLookup } from "../kind.js";
import type { GuardedWrite, StoreHooks } from "../store.js";

const GROUP = "rbac.authorization.k8s.io";
const SYSTEM_PRIVILEGED_GROUP = "system:masters";

/** The resolver's reads, through the registry's stores (consistent reads, as Kubernetes' registries give). */
export function storeRuleSource(storeFor: StoreLookup): RuleSource {
  const store = (resource: string): NonNullable<ReturnType<StoreLookup>> => {
    const s = storeFor(GROUP, "v1", resource);
    if (!s) throw new Error(`no store for ${resource}.${GROUP}`);
    return s;
  };
  return {
    listClusterRoleBindings: async () => (await store("clusterrolebindings").list(undefined, {})).items,
    listRoleBindings: async (namespace) => (await store("rolebindings").list(namespace, {})).items,
    // A Role looked up with no namespace (a ClusterRoleBinding naming a Role) is the registry's 400.
    getRole: (namespace, name) => (namespace === "" ? Promise.reject(badRequest("Namespace parameter required.")) : store("roles").get(namespace, name)),
    getClusterRole: (name) => store("clusterroles").get(undefined, name),
  };
}

/** 403 as Kubernetes' NewForbidden words it, without quotes when there is no name yet (a generateName create). */
function forbidden(resource: string, name: string, why: string): Error {
  const error = forbiddenError(`${resource}.${GROUP}`, name, why);
  if (name !== "") return error;
  error.message = `${resource}.${GROUP} is forbidden: ${why}`;
  return error;
}

function privileged(user: UserInfo): boolean {
  return (user.groups ?? []).includes(SYSTEM_PRIVILEGED_GROUP);
}

/** Whether the configured authorizer allows `verb` on `resource` `name`; no authorizer is AlwaysAllow. */
async function authorized(authorizer: Authorizer | undefined, user: UserInfo, verb: string, apiGroup: string, resource: string, namespace: string, name: string, apiVersion: string): Promise<boolean> {
  if (authorizer === undefined) return true;
  const result = await authorizer.authorize({ user, verb, resourceRequest: true, path: "", apiGroup, apiVersion, namespace, resource, subresource: "", name });
  return result.decision === "allow";
}

/** Kubernetes' IsOnlyMutatingGCFields: the objects are equal once ownerReferences and finalizers are the old ones. */
export function onlyGarbageCollectorFields(next: KubeObject, prev: KubeObject): boolean {
  const strip = (o: KubeObject): unknown => {
    const { ownerReferences: _o, finalizers: _f, managedFields: _m, selfLink: _s, ...meta } = o.metadata as KubeObject["metadata"] & { selfLink?: string };
    return { ...o, metadata: meta };
  };
  return deepEqual(strip(next), strip(prev));
}

function hasAggregationRule(object: KubeObject | undefined): boolean {
  return ((object as ClusterRole | undefined)?.aggregationRule?.clusterRoleSelectors ?? []).length > 0;
}

/** The guard of roles ("roles") or cluster roles ("clusterroles"). */
export function roleGuard(resource: "roles" | "clusterroles", config: KindConfig): NonNullable<StoreHooks["guardWrite"]> {
  return async (write: GuardedWrite) => {
    const user = write.user;
    if (user === undefined || privileged(user)) return;
    const namespace = write.namespace ?? "";
    if (await authorized(config.authorizer?.(), user, "escalate", GROUP, resource, namespace, write.requestName, "*")) return;
    if (write.oldObject !== undefined && onlyGarbageCollectorFields(write.object, write.oldObject)) return;
    const source = storeRuleSource(config.storeFor ?? (() => undefined));
    const rules = ((write.object as { rules?: PolicyRule[] }).rules ?? []);
    const refusal = await escalationRefusal(source, user, namespace, rules);
    if (refusal !== undefined) throw forbidden(resource, write.name, refusal);
    if (resource === "clusterroles" && (hasAggregationRule(write.object) || hasAggregationRule(write.oldObject))) {
      if ((await escalationRefusal(source, user, namespace, FULL_AUTHORITY)) !== undefined) {
        throw forbidden(resource, write.name, "must have cluster-admin privileges to use the aggregationRule");
      }
    }
  };
}

/** The guard of role bindings ("rolebindings") or cluster role bindings ("clusterrolebindings"). */
export function bindingGuard(resource: "rolebindings" | "clusterrolebindings", config: KindConfig): NonNullable<StoreHooks["guardWrite"]> {
  return async (write: GuardedWrite) => {
    const user = write.user;
    if (user === undefined || privileged(user)) return;
    if (write.oldObject !== undefined && onlyGarbageCollectorFields(write.object, write.oldObject)) return;
    const namespace = write.namespace ?? "";
    const ref = (write.object as RoleBinding).roleRef;
    const referenced = ref?.kind === "ClusterRole" ? "clusterroles" : ref?.kind === "Role" ? "roles" : undefined;
    if (referenced !== undefined && (await authorized(config.authorizer?.(), user, "bind", ref?.apiGroup ?? "", referenced, namespace, ref?.name ?? "", ""))) return;
    const source = storeRuleSource(config.storeFor ?? (() => undefined));
    let rules: PolicyRule[];
    try {
      rules = await roleReferenceRules(source, ref, namespace);
    } catch (err) {
      // Not a Status: Kubernetes answers it as a 500 with no reason and the error's own words.
      if (err instanceof RoleReferenceError) throw new StatusError(500, "", err.message, undefined, { cause: err });
      throw err;
    }
    const refusal = await escalationRefusal(source, user, namespace, rules);
    if (refusal !== undefined) throw forbidden(resource, write.name, refusal);
  };
}
