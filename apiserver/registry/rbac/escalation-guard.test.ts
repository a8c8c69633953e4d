import { beforeEach, describe, expect, it } from "vitest";
import type { KubeObject } from "../../../api/meta.js";
import type { UserInfo } from "../../../api/types/index.js";
import { authorizerFor } from "../../auth/authorization-modes.js";
import { ALWAYS_ALLOW } from "../../auth/authorizer.js";
import type { ResourceStore } from "../store.js";
import { memoryRegistry, type MemoryRegistry } from "../testing/memory-storage.js";
import { rejection } from "../testing/rejection.js";

const G = "rbac.authorization.k8s.io";
const jane: UserInfo = { username: "jane", groups: ["system:authenticated"] };
const PODS_READ = [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] }];

let m: MemoryRegistry;
const store = (resource: string): ResourceStore => {
  const s = m.registry.store(G, "v1", resource);
  if (!s) throw new Error(resource);
  return s;
};
const role = (name: string, rules: unknown[], extra: Record<string, unknown> = {}): KubeObject => ({ apiVersion: `${G}/v1`, kind: "Role", metadata: { name }, rules, ...extra });
const clusterRole = (name: string, rules: unknown[], extra: Record<string, unknown> = {}): KubeObject => ({ apiVersion: `${G}/v1`, kind: "ClusterRole", metadata: { name }, rules, ...extra });
const binding = (kind: "RoleBinding" | "ClusterRoleBinding", name: string, roleKind: string, roleName: string, user = "jane"): KubeObject => ({
  apiVersion: `${G}/v1`,
  kind,
  metadata: { name },
  roleRef: { apiGroup: G, kind: roleKind, name: roleName },
  subjects: [{ apiGroup: G, kind: "User", name: user }],
});

describe("privilege escalation checks on RBAC writes (RBAC authorizer)", () => {
  beforeEach(async () => {
    m = await memoryRegistry({ namespaces: ["default", "team"], authorizer: (registry) => authorizerFor("RBAC", { registry }) });
    // jane may write roles and bindings in team, and reads pods there.
    await store("roles").create("team", role("rbac-writer", [{ apiGroups: [G], resources: ["roles", "rolebindings"], verbs: ["create", "update", "patch"] }, ...PODS_READ]));
    await store("rolebindings").create("team", binding("RoleBinding", "jane-writer", "Role", "rbac-writer"));
  });

  it("lets a user create a Role with rules it holds, and refuses one with more, in Kubernetes' words", async () => {
    await store("roles").create("team", role("readers", PODS_READ), { user: jane });
    const err = await rejection(store("roles").create("team", role("deleters", [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "delete"] }]), { user: jane }));
    expect(err.code).toBe(403);
    expect(err.reason).toBe("Forbidden");
    expect(err.message).toBe(`roles.${G} "deleters" is forbidden: user "jane" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}`);
    expect(err.details).toEqual({ name: "deleters", group: G, kind: "roles" });
    // The check comes before validation, as upstream's: an invalid role that escalates is a 403, not a 422.
    expect((await rejection(store("roles").create("team", role("Bad_Name", [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }]), { user: jane }))).code).toBe(403);
  });

  it("checks updates, lets unchanged and garbage-collector-only changes through, and lets system:masters and the server do anything", async () => {
    await store("roles").create("team", role("readers", PODS_READ), { user: jane });
    const current = await store("roles").get("team", "readers");
    expect((await rejection(store("roles").update("team", "readers", { ...current, rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }] }, { user: jane }))).code).toBe(403);
    await store("roles").update("team", "readers", { ...current, metadata: { ...current.metadata, finalizers: ["example.com/x"] } }, { user: jane });
    await store("roles").create("team", role("admin-ish", [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }]), { user: { username: "root", groups: ["system:masters"] } });
    await store("roles").create("team", role("server-made", [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }]));
    // jane now holds nothing more, yet the unchanged admin-ish role can be written back.
    const adminish = await store("roles").get("team", "admin-ish");
    await store("roles").update("team", "admin-ish", adminish, { user: jane });
  });

  it("allows with escalate, by the name in the URL: a POST to the collection matches no resourceNames", async () => {
    await store("roles").create("team", role("escalator", [{ apiGroups: [G], resources: ["roles"], verbs: ["escalate"], resourceNames: ["wide"] }]));
    await store("rolebindings").create("team", binding("RoleBinding", "jane-escalator", "Role", "escalator"));
    const wide = role("wide", [{ apiGroups: [""], resources: ["secrets"], verbs: ["*"] }]);
    expect((await rejection(store("roles").create("team", wide, { user: jane }))).code).toBe(403);
    // A PUT of a missing role creates it (as upstream's RBAC strategies allow), and names it in its URL.
    const { created } = await store("roles").update("team", "wide", wide, { user: jane });
    expect(created).toBe(true);
  });

  it("allows a binding with bind on the role or when the user holds its rules; a missing role is its NotFound", async () => {
    await store("roles").create("team", role("readers", PODS_READ));
    await store("roles").create("team", role("secret-reader", [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }]));
    await store("rolebindings").create("team", binding("RoleBinding", "bob-readers", "Role", "readers", "bob"), { user: jane });
    const err = await rejection(store("rolebindings").create("team", binding("RoleBinding", "bob-secrets", "Role", "secret-reader", "bob"), { user: jane }));
    expect(err.code).toBe(403);
    expect(err.message).toBe(`rolebindings.${G} "bob-secrets" is forbidden: user "jane" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}`);
    expect((await rejection(store("rolebindings").create("team", binding("RoleBinding", "bob-none", "Role", "none", "bob"), { user: jane }))).code).toBe(404);
    await store("roles").create("team", role("binder", [{ apiGroups: [G], resources: ["roles"], verbs: ["bind"], resourceNames: ["secret-reader"] }]));
    await store("rolebindings").create("team", binding("RoleBinding", "jane-binder", "Role", "binder"));
    await store("rolebindings").create("team", binding("RoleBinding", "bob-secrets", "Role", "secret-reader", "bob"), { user: jane });
  });

  it("asks cluster-admin powers for an aggregationRule, and checks bindings against an aggregated role's gathered rules", async () => {
    await store("clusterroles").create(undefined, clusterRole("cr-writer", [{ apiGroups: [G], resources: ["clusterroles", "clusterrolebindings"], verbs: ["create", "update"] }]));
    await store("clusterrolebindings").create(undefined, binding("ClusterRoleBinding", "jane-cr-writer", "ClusterRole", "cr-writer"));
    const aggregated = clusterRole("gathered", [], { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { x: "y" } }] } });
    const err = await rejection(store("clusterroles").create(undefined, aggregated, { user: jane }));
    expect(err.message).toBe(`clusterroles.${G} "gathered" is forbidden: must have cluster-admin privileges to use the aggregationRule`);
    await store("clusterroles").create(undefined, { ...aggregated, rules: [{ apiGroups: [""], resources: ["nodes"], verbs: ["get"] }] });
    const crb = binding("ClusterRoleBinding", "bob-gathered", "ClusterRole", "gathered", "bob");
    expect((await rejection(store("clusterrolebindings").create(undefined, crb, { user: jane }))).message).toContain('{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}');
  });
});

describe("under AlwaysAllow", () => {
  it("refuses nothing: escalate and bind are allowed", async () => {
    m = await memoryRegistry({ authorizer: () => ALWAYS_ALLOW });
    await store("roles").create("default", role("all", [{ apiGroups: ["*"], resources: ["*"], verbs: ["*"] }]), { user: jane });
    await store("rolebindings").create("default", binding("RoleBinding", "all", "Role", "all", "bob"), { user: jane });
  });
});
