// The RBAC objects and the writes of the escalation comparison (rbac-escalation.int.test.ts): users esc-jane
// (group esc-devs) who may write roles and bindings in esc-a, esc-eve who also has escalate on the role esc-wide
// and bind on the ClusterRole esc-secret-reader, and esc-dan whose ClusterRoleBinding names a missing ClusterRole.
const G = "rbac.authorization.k8s.io";
const V = `${G}/v1`;
export const NS = "esc-a";
const ROLES = `/apis/${V}/namespaces/${NS}/roles`;
const BINDINGS = `/apis/${V}/namespaces/${NS}/rolebindings`;
const CLUSTER_ROLES = `/apis/${V}/clusterroles`;
const CLUSTER_BINDINGS = `/apis/${V}/clusterrolebindings`;

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

const rule = (apiGroups: string[], resources: string[], verbs: string[], resourceNames?: string[]): Rule => ({ apiGroups, resources, verbs, ...(resourceNames ? { resourceNames } : {}) });
const role = (name: string, rules: Rule[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({ apiVersion: V, kind: "Role", metadata: { name, namespace: NS }, rules, ...extra });
const clusterRole = (name: string, rules: Rule[], extra: Record<string, unknown> = {}): Record<string, unknown> => ({ apiVersion: V, kind: "ClusterRole", metadata: { name }, rules, ...extra });
const subject = (who: string): Record<string, string> => (who.startsWith("group:") ? { apiGroup: G, kind: "Group", name: who.slice(6) } : { apiGroup: G, kind: "User", name: who });
const roleBinding = (name: string, kind: string, roleName: string, who: string): Record<string, unknown> => ({ apiVersion: V, kind: "RoleBinding", metadata: { name, namespace: NS }, roleRef: { apiGroup: G, kind, name: roleName }, subjects: [subject(who)] });
const clusterBinding = (name: string, kind: string, roleName: string, who: string): Record<string, unknown> => ({ apiVersion: V, kind: "ClusterRoleBinding", metadata: { name }, roleRef: { apiGroup: G, kind, name: roleName }, subjects: [subject(who)] });

const PODS_READ = [rule([""], ["pods"], ["get", "list"])];
const WRITE_RBAC = rule([G], ["roles", "rolebindings"], ["create", "update", "patch", "get"]);

/** Created by the admin, in this order, before any case. */
export const SETUP_OBJECTS: Record<string, unknown>[] = [
  { apiVersion: "v1", kind: "Namespace", metadata: { name: NS } },
  role("esc-writer", [WRITE_RBAC, ...PODS_READ, rule([""], ["configmaps"], ["get"], ["cm1"])]),
  roleBinding("esc-jane-writer", "Role", "esc-writer", "esc-jane"),
  role("esc-eve-powers", [WRITE_RBAC, rule([G], ["roles"], ["escalate"], ["esc-wide"]), rule([G], ["clusterroles"], ["bind"], ["esc-secret-reader"])]),
  roleBinding("esc-eve-powers", "Role", "esc-eve-powers", "esc-eve"),
  clusterRole("esc-cr-writer", [rule([G], ["clusterroles", "clusterrolebindings"], ["create", "update", "patch", "get"])]),
  clusterBinding("esc-devs-cr-writer", "ClusterRole", "esc-cr-writer", "group:esc-devs"),
  clusterRole("esc-secret-reader", [rule([""], ["secrets"], ["get"])]),
  // An aggregated ClusterRole with the rules its controller would gather (no controller-manager runs here).
  clusterRole("esc-agg", [rule([""], ["services"], ["get", "list"])], { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { "esc-agg": "true" } }] } }),
  clusterBinding("esc-dan-missing", "ClusterRole", "esc-missing", "esc-dan"),
  role("esc-readers", PODS_READ),
];

/** Kubernetes' impersonation: who makes the request (the admin impersonates them). */
export interface Who {
  user: string;
  groups: string[];
}

export interface EscalationCase {
  id: string;
  as: Who;
  method: "POST" | "PUT" | "PATCH";
  path: string;
  contentType?: string;
  /** The body; "current" PUTs back the object as it is stored (read first by the admin). */
  body: unknown;
}

const JANE: Who = { user: "esc-jane", groups: ["esc-devs"] };
const EVE: Who = { user: "esc-eve", groups: [] };
const DAN: Who = { user: "esc-dan", groups: ["esc-devs"] };
const MERGE = "application/merge-patch+json";
const APPLY = "application/apply-patch+yaml";

export const ESCALATION_CASES: EscalationCase[] = [
  { id: "role with held rules", as: JANE, method: "POST", path: ROLES, body: role("esc-held", PODS_READ) },
  { id: "role with a verb not held", as: JANE, method: "POST", path: ROLES, body: role("esc-deleters", [rule([""], ["pods"], ["get", "delete"])]) },
  {
    id: "role with many missing rules (and URLs a Role cannot have)",
    as: JANE,
    method: "POST",
    path: ROLES,
    body: role("esc-many", [rule(["apps", ""], ["deployments", "pods"], ["create", "delete", "get"]), rule([""], ["configmaps"], ["get", "watch"], ["cm1", "cm2"]), { verbs: ["get", "post"], nonResourceURLs: ["/healthz", "/metrics"] }]),
  },
  { id: "role with a named rule held without its name", as: JANE, method: "POST", path: ROLES, body: role("esc-named", [rule([""], ["pods"], ["get"], ["p1"])]) },
  { id: "role with generateName", as: JANE, method: "POST", path: ROLES, body: { ...role("", [rule([""], ["secrets"], ["get"])]), metadata: { generateName: "esc-gen-", namespace: NS } } },
  { id: "invalid role that escalates", as: JANE, method: "POST", path: ROLES, body: role("Esc_Bad", [rule([""], ["secrets"], ["get"])]) },
  { id: "invalid role with held rules", as: JANE, method: "POST", path: ROLES, body: role("Esc_Bad", PODS_READ) },
  { id: "role that escalates, dry run", as: JANE, method: "POST", path: `${ROLES}?dryRun=All`, body: role("esc-dry", [rule([""], ["secrets"], ["list"])]) },
  { id: "existing name that escalates", as: JANE, method: "POST", path: ROLES, body: role("esc-readers", [rule([""], ["secrets"], ["list"])]) },
  { id: "update adding a verb", as: JANE, method: "PUT", path: `${ROLES}/esc-readers`, body: role("esc-readers", [rule([""], ["pods"], ["get", "list", "delete"])]) },
  { id: "update writing a role with rules not held back unchanged", as: JANE, method: "PUT", path: `${ROLES}/esc-eve-powers`, body: "current" },
  { id: "merge patch adding a finalizer to a role with rules not held", as: JANE, method: "PATCH", path: `${ROLES}/esc-eve-powers`, contentType: MERGE, body: { metadata: { finalizers: ["example.com/esc"] } } },
  { id: "merge patch adding a label to a role with rules not held", as: JANE, method: "PATCH", path: `${ROLES}/esc-eve-powers`, contentType: MERGE, body: { metadata: { labels: { esc: "x" } } } },
  { id: "merge patch of rules", as: JANE, method: "PATCH", path: `${ROLES}/esc-readers`, contentType: MERGE, body: { rules: [rule([""], ["secrets"], ["get"])] } },
  { id: "server-side apply creating a role that escalates", as: JANE, method: "PATCH", path: `${ROLES}/esc-applied?fieldManager=esc`, contentType: APPLY, body: JSON.stringify(role("esc-applied", [rule([""], ["secrets"], ["get"])])) },
  { id: "server-side apply creating a role with held rules", as: JANE, method: "PATCH", path: `${ROLES}/esc-applied?fieldManager=esc`, contentType: APPLY, body: JSON.stringify(role("esc-applied", PODS_READ)) },
  { id: "PUT creating a role that escalates", as: JANE, method: "PUT", path: `${ROLES}/esc-put`, body: role("esc-put", [rule([""], ["secrets"], ["get"])]) },
  { id: "escalate on a name does not cover a POST", as: EVE, method: "POST", path: ROLES, body: role("esc-wide", [rule([""], ["secrets"], ["*"])]) },
  { id: "escalate on a name covers a PUT creating it", as: EVE, method: "PUT", path: `${ROLES}/esc-wide`, body: role("esc-wide", [rule([""], ["secrets"], ["*"])]) },
  { id: "escalate on a name does not cover another", as: EVE, method: "PUT", path: `${ROLES}/esc-narrow`, body: role("esc-narrow", [rule([""], ["secrets"], ["*"])]) },
  { id: "cluster role with rules held only in a namespace", as: JANE, method: "POST", path: CLUSTER_ROLES, body: clusterRole("esc-cr-pods", PODS_READ) },
  { id: "cluster role with an aggregationRule", as: JANE, method: "POST", path: CLUSTER_ROLES, body: clusterRole("esc-cr-agg", [], { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { x: "y" } }] } }) },
  { id: "cluster role with held rules", as: JANE, method: "POST", path: CLUSTER_ROLES, body: clusterRole("esc-cr-held", [rule([G], ["clusterroles"], ["get"])]) },
  { id: "dropping an aggregationRule", as: JANE, method: "PUT", path: `${CLUSTER_ROLES}/esc-agg`, body: clusterRole("esc-agg", []) },
  { id: "resolution errors listed", as: DAN, method: "POST", path: CLUSTER_ROLES, body: clusterRole("esc-dan", [rule([""], ["secrets"], ["get"])]) },
  { id: "binding a role whose rules are held", as: JANE, method: "POST", path: BINDINGS, body: roleBinding("esc-bob-readers", "Role", "esc-readers", "esc-bob") },
  { id: "binding a cluster role whose rules are not held", as: JANE, method: "POST", path: BINDINGS, body: roleBinding("esc-bob-secrets", "ClusterRole", "esc-secret-reader", "esc-bob") },
  { id: "binding a missing role", as: JANE, method: "POST", path: BINDINGS, body: roleBinding("esc-bob-none", "Role", "esc-none", "esc-bob") },
  { id: "binding a role of an unknown kind", as: JANE, method: "POST", path: BINDINGS, body: roleBinding("esc-bob-foo", "Foo", "esc-readers", "esc-bob") },
  { id: "bind verb on the named cluster role", as: EVE, method: "POST", path: BINDINGS, body: roleBinding("esc-eve-secrets", "ClusterRole", "esc-secret-reader", "esc-bob") },
  { id: "binding an aggregated cluster role whose rules are not held", as: EVE, method: "POST", path: BINDINGS, body: roleBinding("esc-eve-agg", "ClusterRole", "esc-agg", "esc-bob") },
  { id: "cluster role binding whose rules are not held", as: JANE, method: "POST", path: CLUSTER_BINDINGS, body: clusterBinding("esc-bob-secrets", "ClusterRole", "esc-secret-reader", "esc-bob") },
  { id: "cluster role binding naming a Role", as: JANE, method: "POST", path: CLUSTER_BINDINGS, body: clusterBinding("esc-bob-role", "Role", "esc-readers", "esc-bob") },
  { id: "cluster role binding of held rules", as: JANE, method: "POST", path: CLUSTER_BINDINGS, body: clusterBinding("esc-bob-cr-writer", "ClusterRole", "esc-cr-writer", "esc-bob") },
];

/** SubjectAccessReviews that are allowed once every setup binding is in the authorizer. */
export const READY_REVIEWS: Record<string, unknown>[] = [
  { user: "esc-eve", resourceAttributes: { verb: "bind", group: G, resource: "clusterroles", name: "esc-secret-reader", namespace: NS } },
  { user: "esc-jane", resourceAttributes: { verb: "create", group: G, resource: "roles", namespace: NS } },
  { user: "esc-x", groups: ["esc-devs"], resourceAttributes: { verb: "create", group: G, resource: "clusterroles" } },
].map((spec) => ({ apiVersion: "authorization.k8s.io/v1", kind: "SubjectAccessReview", spec }));
