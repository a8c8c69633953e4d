import { beforeEach, describe, expect, it } from "vitest";
import type { KubeObject } from "../../../api/meta.js";
import type { UserInfo } from "../../../api/types/index.js";
import type { ResourceStore } from "../../registry/store.js";
import { memoryRegistry, type MemoryRegistry } from "../../registry/testing/memory-storage.js";
import { authorizerFor } from "../authorization-modes.js";
import type { Attributes, Authorizer } from "../authorizer.js";
import { rbacAuthorizerFor } from "./rbac-authorizer.js";
import { nonResourceURLMatches, resourceMatches, ruleAllows } from "./rules.js";

const G = "rbac.authorization.k8s.io";
const jane: UserInfo = { username: "jane", groups: ["system:authenticated"] };

function resource(user: UserInfo, verb: string, resourceName: string, extra: Partial<Attributes> = {}): Attributes {
  return { user, verb, resourceRequest: true, path: "", apiGroup: "", apiVersion: "v1", namespace: "", resource: resourceName, subresource: "", name: "", ...extra };
}

function nonResource(user: UserInfo, verb: string, path: string): Attributes {
  return { user, verb, resourceRequest: false, path, apiGroup: "", apiVersion: "", namespace: "", resource: "", subresource: "", name: "" };
}

describe("rule matching", () => {
  it("matches resource/subresource, */subresource and * (which covers subresources)", () => {
    expect(resourceMatches({ resources: ["pods"] }, "pods", "log")).toBe(false);
    expect(resourceMatches({ resources: ["pods/log"] }, "pods", "log")).toBe(true);
    expect(resourceMatches({ resources: ["*/log"] }, "pods", "log")).toBe(true);
    expect(resourceMatches({ resources: ["*/log"] }, "pods", "")).toBe(false);
    expect(resourceMatches({ resources: ["*/status"] }, "pods", "log")).toBe(false);
    expect(resourceMatches({ resources: ["*"] }, "pods", "exec")).toBe(true);
  });

  it("matches non-resource URLs exactly or by a trailing * prefix", () => {
    expect(nonResourceURLMatches({ nonResourceURLs: ["/healthz"] }, "/healthz")).toBe(true);
    expect(nonResourceURLMatches({ nonResourceURLs: ["/healthz"] }, "/healthz/etcd")).toBe(false);
    expect(nonResourceURLMatches({ nonResourceURLs: ["/healthz/*"] }, "/healthz/etcd")).toBe(true);
    expect(nonResourceURLMatches({ nonResourceURLs: ["/api*"] }, "/apis/apps")).toBe(true);
    expect(nonResourceURLMatches({ nonResourceURLs: ["*"] }, "/anything")).toBe(true);
  });

  it("needs verb, group, resource and name to match; resourceNames limit to those names", () => {
    const rule = { verbs: ["get"], apiGroups: ["apps"], resources: ["deployments"], resourceNames: ["web"] };
    expect(ruleAllows(resource(jane, "get", "deployments", { apiGroup: "apps", name: "web" }), rule)).toBe(true);
    expect(ruleAllows(resource(jane, "get", "deployments", { apiGroup: "apps", name: "db" }), rule)).toBe(false);
    expect(ruleAllows(resource(jane, "list", "deployments", { apiGroup: "apps" }), rule)).toBe(false);
    expect(ruleAllows(resource(jane, "get", "deployments", { name: "web" }), rule)).toBe(false);
    expect(ruleAllows(resource(jane, "delete", "anything", { apiGroup: "x" }), { verbs: ["*"], apiGroups: ["*"], resources: ["*"] })).toBe(true);
    expect(ruleAllows(nonResource(jane, "get", "/version"), { verbs: ["get"], nonResourceURLs: ["/version"] })).toBe(true);
    expect(ruleAllows(nonResource(jane, "post", "/version"), { verbs: ["get"], nonResourceURLs: ["/version"] })).toBe(false);
  });
});

describe("the RBAC authorizer over the registry's caches", () => {
  let m: MemoryRegistry;
  let authorizer: Authorizer;
  const store = (resource: string): ResourceStore => {
    const s = m.registry.storeOf(G, resource);
    if (!s) throw new Error(resource);
    return s;
  };
  const create = (resource: string, namespace: string | undefined, object: Record<string, unknown>): Promise<KubeObject> =>
    store(resource).create(namespace, { apiVersion: `${G}/v1`, kind: "X", metadata: {}, ...object });
  /** Caches deliver on a microtask: let them. */
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

  beforeEach(async () => {
    m = await memoryRegistry({ namespaces: ["default", "team"] });
    authorizer = rbacAuthorizerFor(m.registry);
    await create("roles", "team", { kind: "Role", metadata: { name: "pod-reader" }, rules: [{ verbs: ["get", "list"], apiGroups: [""], resources: ["pods", "pods/log"] }] });
    await create("clusterroles", undefined, { kind: "ClusterRole", metadata: { name: "node-reader" }, rules: [{ verbs: ["get"], apiGroups: [""], resources: ["nodes"] }, { verbs: ["get"], nonResourceURLs: ["/metrics"] }] });
  });

  it("allows through a RoleBinding in its namespace only, naming binding, role and subject", async () => {
    await create("rolebindings", "team", { kind: "RoleBinding", metadata: { name: "read" }, roleRef: { apiGroup: G, kind: "Role", name: "pod-reader" }, subjects: [{ kind: "User", name: "jane" }] });
    await settle();
    expect(await authorizer.authorize(resource(jane, "get", "pods", { namespace: "team", name: "p" }))).toEqual({ decision: "allow", reason: 'RBAC: allowed by RoleBinding "read/team" of Role "pod-reader" to User "jane"' });
    expect((await authorizer.authorize(resource(jane, "get", "pods", { namespace: "team", subresource: "log" }))).decision).toBe("allow");
    expect(await authorizer.authorize(resource(jane, "get", "pods", { namespace: "default" }))).toEqual({ decision: "noOpinion", reason: "" });
    expect((await authorizer.authorize(resource(jane, "delete", "pods", { namespace: "team" }))).decision).toBe("noOpinion");
    expect((await authorizer.authorize(resource({ username: "joe" }, "get", "pods", { namespace: "team" }))).decision).toBe("noOpinion");
  });

  it("binds groups and service accounts (a subject without namespace takes the binding's), and follows deletes", async () => {
    await create("clusterrolebindings", undefined, { kind: "ClusterRoleBinding", metadata: { name: "ops" }, roleRef: { apiGroup: G, kind: "ClusterRole", name: "node-reader" }, subjects: [{ kind: "Group", name: "ops" }, { kind: "ServiceAccount", name: "ci", namespace: "team" }] });
    await settle();
    const ops: UserInfo = { username: "x", groups: ["ops"] };
    const ci: UserInfo = { username: "system:serviceaccount:team:ci", groups: ["system:serviceaccounts"] };
    expect(await authorizer.authorize(resource(ops, "get", "nodes"))).toEqual({ decision: "allow", reason: 'RBAC: allowed by ClusterRoleBinding "ops" of ClusterRole "node-reader" to Group "ops"' });
    expect(await authorizer.authorize(resource(ci, "get", "nodes"))).toEqual({ decision: "allow", reason: 'RBAC: allowed by ClusterRoleBinding "ops" of ClusterRole "node-reader" to ServiceAccount "ci/team"' });
    expect((await authorizer.authorize(nonResource(ops, "get", "/metrics"))).decision).toBe("allow");
    expect((await authorizer.authorize(resource({ username: "system:serviceaccount:default:ci" }, "get", "nodes"))).decision).toBe("noOpinion");
    await store("clusterrolebindings").delete(undefined, "ops");
    await settle();
    expect((await authorizer.authorize(resource(ops, "get", "nodes"))).decision).toBe("noOpinion");
  });

  it("sees rule changes, reports a missing role as the reason, and lists the rules a user has", async () => {
    await create("rolebindings", "team", { kind: "RoleBinding", metadata: { name: "sa" }, roleRef: { apiGroup: G, kind: "ClusterRole", name: "node-reader" }, subjects: [{ kind: "ServiceAccount", name: "ci" }] });
    await create("rolebindings", "team", { kind: "RoleBinding", metadata: { name: "dangling" }, roleRef: { apiGroup: G, kind: "Role", name: "gone" }, subjects: [{ kind: "ServiceAccount", name: "ci" }] });
    await settle();
    const ci: UserInfo = { username: "system:serviceaccount:team:ci" };
    expect(await authorizer.authorize(resource(ci, "list", "nodes", { namespace: "team" }))).toEqual({ decision: "noOpinion", reason: 'RBAC: role.rbac.authorization.k8s.io "gone" not found' });
    const role = await store("clusterroles").get(undefined, "node-reader");
    await store("clusterroles").update(undefined, "node-reader", { ...role, rules: [{ verbs: ["list"], apiGroups: [""], resources: ["nodes"] }] });
    await settle();
    expect((await authorizer.authorize(resource(ci, "list", "nodes", { namespace: "team" }))).decision).toBe("allow");
    const rules = await authorizer.rulesFor(ci, "team");
    expect(rules).toEqual({ resourceRules: [{ verbs: ["list"], apiGroups: [""], resources: ["nodes"] }], nonResourceRules: [], incomplete: false, evaluationError: 'role.rbac.authorization.k8s.io "gone" not found' });
  });

  it("lets system:masters do anything before RBAC is asked, and is one authorizer per registry", async () => {
    const modes = authorizerFor("RBAC", { registry: m.registry });
    expect(await modes.authorize(resource({ username: "admin", groups: ["system:masters"] }, "delete", "nodes"))).toEqual({ decision: "allow", reason: "" });
    expect((await modes.authorize(resource(jane, "delete", "nodes"))).decision).toBe("noOpinion");
    expect(rbacAuthorizerFor(m.registry)).toBe(authorizer);
    expect(() => authorizerFor("RBAC,Bogus", { registry: m.registry })).toThrow(/unknown authorization mode "Bogus"/);
  });
});
