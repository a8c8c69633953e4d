import { beforeEach, describe, expect, it } from "vitest";
import type { ClusterRole, RoleBinding } from "../../../api/types/index.js";
import type { ResourceStore } from "../store.js";
import { memoryRegistry } from "../testing/memory-storage.js";
import { rejection } from "../testing/rejection.js";
import { BOOTSTRAP_CLUSTER_ROLE_BINDINGS, BOOTSTRAP_CLUSTER_ROLES, CONTROLLER_CLUSTER_ROLE_BINDINGS, CONTROLLER_CLUSTER_ROLES, reconcileBootstrapPolicy } from "./bootstrap-policy.js";

let roles: ResourceStore;
let clusterBindings: ResourceStore;
let bindings: ResourceStore;

beforeEach(async () => {
  const m = await memoryRegistry();
  const store = (resource: string): ResourceStore => {
    const s = m.registry.storeOf("rbac.authorization.k8s.io", resource);
    if (!s) throw new Error(resource);
    return s;
  };
  roles = store("clusterroles");
  clusterBindings = store("clusterrolebindings");
  bindings = store("rolebindings");
});

describe("reconcileBootstrapPolicy", () => {
  it("creates every bootstrap role and binding once, and leaves an admin's changes alone", async () => {
    const all = BOOTSTRAP_CLUSTER_ROLES.length + BOOTSTRAP_CLUSTER_ROLE_BINDINGS.length + CONTROLLER_CLUSTER_ROLES.length + CONTROLLER_CLUSTER_ROLE_BINDINGS.length;
    expect(await reconcileBootstrapPolicy(roles, clusterBindings)).toBe(all);
    const view = (await roles.get(undefined, "view")) as ClusterRole;
    expect(view.aggregationRule).toEqual({ clusterRoleSelectors: [{ matchLabels: { "rbac.authorization.k8s.io/aggregate-to-view": "true" } }] });
    expect(view.metadata.labels).toEqual({ "kubernetes.io/bootstrapping": "rbac-defaults", "rbac.authorization.k8s.io/aggregate-to-edit": "true" });
    const admin = (await clusterBindings.get(undefined, "cluster-admin")) as RoleBinding;
    expect(admin.subjects).toEqual([{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:masters" }]);
    const basic = (await roles.get(undefined, "system:basic-user")) as ClusterRole;
    await roles.update(undefined, "system:basic-user", { ...basic, rules: [] });
    expect(await reconcileBootstrapPolicy(roles, clusterBindings)).toBe(0);
    expect(((await roles.get(undefined, "system:basic-user")) as ClusterRole).rules).toEqual([]);
  });
});

describe("the controllers' bootstrap roles", () => {
  // The service accounts kubelab's controllers run as with --use-service-account-credentials (Kubernetes' names).
  const ACCOUNTS = [
    "certificate-controller", "clusterrole-aggregation-controller", "cronjob-controller", "daemon-set-controller", "deployment-controller",
    "disruption-controller", "endpoint-controller", "endpointslice-controller", "endpointslicemirroring-controller", "generic-garbage-collector", "horizontal-pod-autoscaler",
    "job-controller", "namespace-controller", "node-controller", "persistent-volume-binder", "replicaset-controller", "replication-controller",
    "resourcequota-controller", "root-ca-cert-publisher", "service-account-controller", "statefulset-controller", "ttl-after-finished-controller",
  ];

  it("has one system:controller:<account> role per account, bound to kube-system/<account>, as bootstrap objects", async () => {
    expect(CONTROLLER_CLUSTER_ROLES.map((r) => r.metadata.name)).toEqual(ACCOUNTS.map((a) => `system:controller:${a}`));
    expect(CONTROLLER_CLUSTER_ROLE_BINDINGS.map((b) => [b.metadata.name, b.roleRef?.name, b.subjects])).toEqual(
      ACCOUNTS.map((a) => [`system:controller:${a}`, `system:controller:${a}`, [{ kind: "ServiceAccount", name: a, namespace: "kube-system" }]]),
    );
    await reconcileBootstrapPolicy(roles, clusterBindings);
    const stored = (await roles.get(undefined, "system:controller:replicaset-controller")) as ClusterRole;
    expect(stored.metadata.labels).toEqual({ "kubernetes.io/bootstrapping": "rbac-defaults" });
    expect(stored.metadata.annotations).toEqual({ "rbac.authorization.kubernetes.io/autoupdate": "true" });
    expect(stored.rules).toEqual([
      { apiGroups: ["apps", "extensions"], resources: ["replicasets"], verbs: ["get", "list", "update", "watch"] },
      { apiGroups: ["apps", "extensions"], resources: ["replicasets/status"], verbs: ["update"] },
      { apiGroups: ["apps", "extensions"], resources: ["replicasets/finalizers"], verbs: ["update"] },
      { apiGroups: [""], resources: ["pods"], verbs: ["create", "delete", "list", "patch", "watch"] },
      { apiGroups: ["", "events.k8s.io"], resources: ["events"], verbs: ["create", "patch", "update"] },
    ]);
  });

  it("keeps every rule's lists sorted and free of duplicates, as Kubernetes' rule builder does", () => {
    const sorted = (values: readonly string[] | undefined): boolean => values === undefined || values.join("\0") === [...new Set(values)].sort().join("\0");
    for (const r of CONTROLLER_CLUSTER_ROLES) {
      for (const rule of r.rules ?? []) {
        expect(sorted(rule.verbs) && sorted(rule.apiGroups) && sorted(rule.resources) && sorted(rule.resourceNames), `${r.metadata.name ?? ""} ${JSON.stringify(rule)}`).toBe(true);
      }
    }
  });
});

describe("RBAC validation", () => {
  it("defaults User and Group subjects to the RBAC group and refuses bad references", async () => {
    const created = (await bindings.create("default", { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: { name: "b" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "r" }, subjects: [{ kind: "User", name: "jane" }, { kind: "ServiceAccount", name: "default", namespace: "default" }] })) as RoleBinding;
    expect(created.subjects).toEqual([{ kind: "User", name: "jane", apiGroup: "rbac.authorization.k8s.io" }, { kind: "ServiceAccount", name: "default", namespace: "default" }]);
    const bad = await rejection(clusterBindings.create(undefined, { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", metadata: { name: "c" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "r" }, subjects: [{ kind: "ServiceAccount", name: "x" }, { kind: "Robot", name: "y" }] }));
    expect(bad.message).toBe('ClusterRoleBinding.rbac.authorization.k8s.io "c" is invalid: [roleRef.kind: Unsupported value: "Role": supported values: "ClusterRole", subjects[0].namespace: Required value, subjects[1].kind: Unsupported value: "Robot": supported values: "ServiceAccount", "User", "Group"]');
    const changed = await rejection(bindings.update("default", "b", { ...created, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "other" } }));
    expect(changed.message).toContain("roleRef: Invalid value: ");
    expect(changed.message).toContain("cannot change roleRef");
  });

  it("accepts path-segment names such as system:basic-user and refuses namespaced rules on URLs", async () => {
    const store = roles;
    await store.create(undefined, { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "system:x" }, rules: [{ nonResourceURLs: ["/healthz"], verbs: ["get"] }] });
    const mixed = await rejection(store.create(undefined, { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: "bad/name" }, rules: [{ nonResourceURLs: ["/x"], resources: ["pods"], verbs: ["get"] }] }));
    expect(mixed.message).toContain("metadata.name: Invalid value: \"bad/name\": may not contain '/'");
    expect(mixed.message).toContain("rules cannot apply to both regular resources and non-resource URLs");
  });
});
