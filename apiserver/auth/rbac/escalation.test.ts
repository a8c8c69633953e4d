import { describe, expect, it } from "vitest";
import { notFound } from "../../../api/errors.js";
import type { ClusterRole, Role, RoleBinding } from "../../../api/types/index.js";
import { aggregateMessage, breakdownRule, compactRules, compactString, covers, escalationRefusal, ruleCovers, type RuleSource } from "./escalation.js";

const G = "rbac.authorization.k8s.io";

function source(objects: { roles?: Role[]; clusterRoles?: ClusterRole[]; bindings?: RoleBinding[] }): RuleSource {
  const bindings = objects.bindings ?? [];
  return {
    listClusterRoleBindings: () => Promise.resolve(bindings.filter((b) => b.metadata.namespace === undefined)),
    listRoleBindings: (ns) => Promise.resolve(bindings.filter((b) => b.metadata.namespace === ns)),
    getRole: (ns, name) => {
      const role = (objects.roles ?? []).find((r) => r.metadata.namespace === ns && r.metadata.name === name);
      return role ? Promise.resolve(role) : Promise.reject(notFound(`roles.${G}`, name));
    },
    getClusterRole: (name) => {
      const role = (objects.clusterRoles ?? []).find((r) => r.metadata.name === name);
      return role ? Promise.resolve(role) : Promise.reject(notFound(`clusterroles.${G}`, name));
    },
  };
}

describe("covering rules", () => {
  it("breaks a rule down into one group, resource, verb and name (or URL and verb) each", () => {
    expect(breakdownRule({ apiGroups: ["", "apps"], resources: ["pods"], verbs: ["get", "list"], resourceNames: ["a"] })).toEqual([
      { apiGroups: [""], resources: ["pods"], verbs: ["get"], resourceNames: ["a"] },
      { apiGroups: [""], resources: ["pods"], verbs: ["list"], resourceNames: ["a"] },
      { apiGroups: ["apps"], resources: ["pods"], verbs: ["get"], resourceNames: ["a"] },
      { apiGroups: ["apps"], resources: ["pods"], verbs: ["list"], resourceNames: ["a"] },
    ]);
    expect(breakdownRule({ nonResourceURLs: ["/a", "/b"], verbs: ["get"] })).toEqual([{ nonResourceURLs: ["/a"], verbs: ["get"] }, { nonResourceURLs: ["/b"], verbs: ["get"] }]);
  });

  it("covers with *, with no resourceNames, and with a URL prefix; not a named rule for every name, nor */sub for a resource", () => {
    expect(ruleCovers({ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }, { apiGroups: ["x"], resources: ["y"], verbs: ["z"] })).toBe(true);
    expect(ruleCovers({ apiGroups: [""], resources: ["pods"], verbs: ["get"] }, { apiGroups: [""], resources: ["pods"], verbs: ["get"], resourceNames: ["a"] })).toBe(true);
    expect(ruleCovers({ apiGroups: [""], resources: ["pods"], verbs: ["get"], resourceNames: ["a"] }, { apiGroups: [""], resources: ["pods"], verbs: ["get"] })).toBe(false);
    expect(ruleCovers({ apiGroups: [""], resources: ["*/log"], verbs: ["get"] }, { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] })).toBe(false);
    expect(ruleCovers({ nonResourceURLs: ["/healthz*"], verbs: ["get"] }, { nonResourceURLs: ["/healthz/etcd"], verbs: ["get"] })).toBe(true);
    expect(ruleCovers({ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }, { nonResourceURLs: ["/metrics"], verbs: ["get"] })).toBe(false);
    const { covered, missing } = covers([{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }], [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "delete"] }]);
    expect(covered).toBe(false);
    expect(missing).toEqual([{ apiGroups: [""], resources: ["pods"], verbs: ["delete"] }]);
  });

  it("compacts pieces of one group, resource and name by verb, and prints them as Kubernetes does", () => {
    const missing = covers([], [{ apiGroups: ["", "apps"], resources: ["pods"], verbs: ["get", "list"] }, { apiGroups: [""], resources: ["secrets"], resourceNames: ["a", "b"], verbs: ["get", "watch"] }, { nonResourceURLs: ["/x"], verbs: ["get", "post"] }]).missing;
    expect(compactRules(missing).map(compactString).sort()).toEqual([
      '{APIGroups:[""], Resources:["pods"], Verbs:["get" "list"]}',
      '{APIGroups:[""], Resources:["secrets"], ResourceNames:["a"], Verbs:["get" "watch"]}',
      '{APIGroups:[""], Resources:["secrets"], ResourceNames:["b"], Verbs:["get" "watch"]}',
      '{APIGroups:["apps"], Resources:["pods"], Verbs:["get" "list"]}',
      '{NonResourceURLs:["/x"], Verbs:["get"]}',
      '{NonResourceURLs:["/x"], Verbs:["post"]}',
    ]);
  });

  it("aggregates errors as Go does: one as it is, several once each in brackets", () => {
    expect(aggregateMessage(["a"])).toBe("a");
    expect(aggregateMessage(["a", "b", "a"])).toBe("[a, b]");
  });
});

describe("the escalation refusal", () => {
  const jane = { username: "jane", groups: ["dev", "system:authenticated"] };
  const objects = {
    roles: [{ metadata: { name: "pods", namespace: "team" }, rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] }] }],
    clusterRoles: [{ metadata: { name: "view-cm" }, rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get"] }] }],
    bindings: [
      { metadata: { name: "jane-pods", namespace: "team" }, roleRef: { apiGroup: G, kind: "Role", name: "pods" }, subjects: [{ kind: "User", name: "jane" }] },
      { metadata: { name: "dev-cm" }, roleRef: { apiGroup: G, kind: "ClusterRole", name: "view-cm" }, subjects: [{ kind: "Group", name: "dev" }] },
    ],
  };

  it("allows rules the user holds through its ClusterRoleBindings and its RoleBindings in the namespace", async () => {
    const rules = [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }, { apiGroups: [""], resources: ["configmaps"], verbs: ["get"], resourceNames: ["x"] }];
    expect(await escalationRefusal(source(objects), jane, "team", rules)).toBeUndefined();
    expect(await escalationRefusal(source(objects), jane, "other", rules)).toBe('user "jane" (groups=["dev" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["pods"], Verbs:["get"]}');
  });

  it("lists what is missing, and the roles that could not be read", async () => {
    const dangling = { metadata: { name: "gone" }, roleRef: { apiGroup: G, kind: "ClusterRole", name: "gone" }, subjects: [{ kind: "User", name: "jane" }] };
    const refusal = await escalationRefusal(source({ ...objects, bindings: [...objects.bindings, dangling] }), jane, "team", [{ apiGroups: ["apps"], resources: ["deployments"], verbs: ["create", "delete"] }]);
    expect(refusal).toBe(`user "jane" (groups=["dev" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:["apps"], Resources:["deployments"], Verbs:["create" "delete"]}; resolution errors: [clusterroles.${G} "gone" not found]`);
  });
});
