// The RBAC objects and SubjectAccessReview cases the access-review comparison sends to kubelab and to the real
// kube-apiserver v1.26.1, both run with --authorization-mode=Node,RBAC. The objects cover every kind of RBAC
// matching (resource/subresource, */subresource, resourceNames, non-resource URLs with a trailing *, `*`), every
// subject kind, a binding to a missing role; a pod bound to node authz-n1 gives the Node authorizer its graph.
import type { ResourceAttributes, NonResourceAttributes } from "../../api/types/index.js";

const RBAC = "rbac.authorization.k8s.io/v1";

export const SETUP_OBJECTS: readonly Record<string, unknown>[] = [
  { apiVersion: "v1", kind: "Namespace", metadata: { name: "authz-a" } },
  { apiVersion: "v1", kind: "Namespace", metadata: { name: "authz-b" } },
  { apiVersion: RBAC, kind: "Role", metadata: { name: "pod-reader", namespace: "authz-a" }, rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }, { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] }] },
  { apiVersion: RBAC, kind: "Role", metadata: { name: "cm-one", namespace: "authz-a" }, rules: [{ apiGroups: [""], resources: ["configmaps"], resourceNames: ["cfg1"], verbs: ["get"] }] },
  { apiVersion: RBAC, kind: "ClusterRole", metadata: { name: "authz-batch-all" }, rules: [{ apiGroups: ["batch"], resources: ["*"], verbs: ["*"] }] },
  { apiVersion: RBAC, kind: "ClusterRole", metadata: { name: "authz-urls" }, rules: [{ nonResourceURLs: ["/logs/*", "/metrics"], verbs: ["get"] }] },
  { apiVersion: RBAC, kind: "ClusterRole", metadata: { name: "authz-status-writer" }, rules: [{ apiGroups: ["apps"], resources: ["*/status"], verbs: ["update"] }] },
  { apiVersion: RBAC, kind: "ClusterRole", metadata: { name: "authz-scale" }, rules: [{ apiGroups: ["apps"], resources: ["deployments/scale"], verbs: ["get", "update"] }] },
  { apiVersion: RBAC, kind: "RoleBinding", metadata: { name: "jane-reads", namespace: "authz-a" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pod-reader" }, subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "jane" }] },
  { apiVersion: RBAC, kind: "RoleBinding", metadata: { name: "jane-cm", namespace: "authz-a" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "cm-one" }, subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "jane" }] },
  { apiVersion: RBAC, kind: "RoleBinding", metadata: { name: "devs-batch", namespace: "authz-b" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "authz-batch-all" }, subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "devs" }] },
  { apiVersion: RBAC, kind: "RoleBinding", metadata: { name: "kim-missing", namespace: "authz-a" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "nope" }, subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "kim" }] },
  { apiVersion: RBAC, kind: "RoleBinding", metadata: { name: "ci-scale", namespace: "authz-a" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "authz-scale" }, subjects: [{ kind: "ServiceAccount", name: "ci", namespace: "authz-a" }] },
  { apiVersion: RBAC, kind: "ClusterRoleBinding", metadata: { name: "authz-urls" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "authz-urls" }, subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "monitoring-team" }] },
  { apiVersion: RBAC, kind: "ClusterRoleBinding", metadata: { name: "authz-ci-status" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "authz-status-writer" }, subjects: [{ kind: "ServiceAccount", name: "ci", namespace: "authz-a" }] },
  { apiVersion: "v1", kind: "PersistentVolume", metadata: { name: "authz-pv" }, spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], hostPath: { path: "/tmp/authz-pv" }, claimRef: { namespace: "authz-a", name: "claim" } } },
  {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web", namespace: "authz-a" },
    spec: {
      nodeName: "authz-n1",
      serviceAccountName: "ci",
      containers: [{ name: "c", image: "nginx", envFrom: [{ configMapRef: { name: "env" } }] }],
      volumes: [{ name: "s", secret: { secretName: "s1" } }, { name: "d", persistentVolumeClaim: { claimName: "claim" } }],
    },
  },
  // Created last: the comparison starts once this binding allows, so every object above is in the caches.
  { apiVersion: RBAC, kind: "ClusterRoleBinding", metadata: { name: "authz-ready" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "authz-urls" }, subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: "ready" }] },
];

export interface ReviewCase {
  id: string;
  user: string;
  groups?: string[];
  resource?: ResourceAttributes;
  nonResource?: NonResourceAttributes;
}

const node = (name: string): { user: string; groups: string[] } => ({ user: `system:node:${name}`, groups: ["system:nodes", "system:authenticated"] });
const ci = (namespace: string): string => `system:serviceaccount:${namespace}:ci`;
/** A controller's service account, with the groups its token authenticates with. */
const controllerSa = (name: string): { user: string; groups: string[] } => ({
  user: `system:serviceaccount:kube-system:${name}`,
  groups: ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
});

export const READY_CASE: ReviewCase = { id: "ready", user: "ready", nonResource: { verb: "get", path: "/metrics" } };

export const REVIEW_CASES: readonly ReviewCase[] = [
  { id: "role-get", user: "jane", resource: { verb: "get", resource: "pods", namespace: "authz-a", name: "p" } },
  { id: "role-list", user: "jane", resource: { verb: "list", resource: "pods", namespace: "authz-a" } },
  { id: "role-other-namespace", user: "jane", resource: { verb: "get", resource: "pods", namespace: "authz-b" } },
  { id: "role-other-verb", user: "jane", resource: { verb: "delete", resource: "pods", namespace: "authz-a", name: "p" } },
  { id: "role-subresource", user: "jane", resource: { verb: "get", resource: "pods", subresource: "log", namespace: "authz-a", name: "p" } },
  { id: "role-other-subresource", user: "jane", resource: { verb: "get", resource: "pods", subresource: "exec", namespace: "authz-a", name: "p" } },
  { id: "role-cluster-scope", user: "jane", resource: { verb: "list", resource: "pods" } },
  { id: "resource-name", user: "jane", resource: { verb: "get", resource: "configmaps", namespace: "authz-a", name: "cfg1" } },
  { id: "resource-name-other", user: "jane", resource: { verb: "get", resource: "configmaps", namespace: "authz-a", name: "cfg2" } },
  { id: "resource-name-list", user: "jane", resource: { verb: "list", resource: "configmaps", namespace: "authz-a" } },
  { id: "group-star-resources", user: "bob", groups: ["devs"], resource: { verb: "create", group: "batch", resource: "jobs", namespace: "authz-b" } },
  { id: "group-star-verbs", user: "bob", groups: ["devs"], resource: { verb: "deletecollection", group: "batch", resource: "cronjobs", namespace: "authz-b" } },
  { id: "group-star-subresource", user: "bob", groups: ["devs"], resource: { verb: "patch", group: "batch", resource: "jobs", subresource: "status", namespace: "authz-b", name: "j" } },
  { id: "group-other-namespace", user: "bob", groups: ["devs"], resource: { verb: "create", group: "batch", resource: "jobs", namespace: "authz-a" } },
  { id: "group-other-group", user: "bob", groups: ["devs"], resource: { verb: "get", group: "apps", resource: "deployments", namespace: "authz-b" } },
  { id: "url-exact", user: "carol", groups: ["monitoring-team"], nonResource: { verb: "get", path: "/metrics" } },
  { id: "url-prefix", user: "carol", groups: ["monitoring-team"], nonResource: { verb: "get", path: "/logs/kube-apiserver.log" } },
  { id: "url-prefix-bare", user: "carol", groups: ["monitoring-team"], nonResource: { verb: "get", path: "/logs" } },
  { id: "url-other-verb", user: "carol", groups: ["monitoring-team"], nonResource: { verb: "post", path: "/metrics" } },
  { id: "sa-star-subresource", user: ci("authz-a"), groups: ["system:serviceaccounts", "system:serviceaccounts:authz-a"], resource: { verb: "update", group: "apps", resource: "deployments", subresource: "status", namespace: "authz-a", name: "d" } },
  { id: "sa-star-subresource-other-kind", user: ci("authz-a"), resource: { verb: "update", group: "apps", resource: "statefulsets", subresource: "status", namespace: "authz-b", name: "s" } },
  { id: "sa-star-subresource-main-resource", user: ci("authz-a"), resource: { verb: "update", group: "apps", resource: "deployments", namespace: "authz-a", name: "d" } },
  { id: "sa-star-subresource-other-group", user: ci("authz-a"), resource: { verb: "update", resource: "pods", subresource: "status", namespace: "authz-a", name: "p" } },
  { id: "sa-rolebinding", user: ci("authz-a"), resource: { verb: "get", group: "apps", resource: "deployments", subresource: "scale", namespace: "authz-a", name: "d" } },
  { id: "sa-rolebinding-other-namespace", user: ci("authz-a"), resource: { verb: "get", group: "apps", resource: "deployments", subresource: "scale", namespace: "authz-b", name: "d" } },
  { id: "sa-same-name-other-namespace", user: ci("authz-b"), resource: { verb: "update", group: "apps", resource: "deployments", subresource: "status", namespace: "authz-a", name: "d" } },
  { id: "missing-role", user: "kim", resource: { verb: "get", resource: "pods", namespace: "authz-a", name: "p" } },
  { id: "masters", user: "root", groups: ["system:masters"], resource: { verb: "delete", resource: "nodes", name: "n" } },
  { id: "anonymous-healthz", user: "system:anonymous", groups: ["system:unauthenticated"], nonResource: { verb: "get", path: "/healthz" } },
  { id: "anonymous-version-slash", user: "system:anonymous", groups: ["system:unauthenticated"], nonResource: { verb: "get", path: "/version/" } },
  { id: "anonymous-api", user: "system:anonymous", groups: ["system:unauthenticated"], nonResource: { verb: "get", path: "/api" } },
  { id: "authenticated-discovery", user: "x", groups: ["system:authenticated"], nonResource: { verb: "get", path: "/apis/apps/v1" } },
  { id: "authenticated-self-review", user: "x", groups: ["system:authenticated"], resource: { verb: "create", group: "authorization.k8s.io", resource: "selfsubjectaccessreviews" } },
  { id: "authenticated-pods", user: "x", groups: ["system:authenticated"], resource: { verb: "list", resource: "pods", namespace: "default" } },
  { id: "scheduler-binding", user: "system:kube-scheduler", resource: { verb: "create", resource: "pods", subresource: "binding", namespace: "default", name: "p" } },
  { id: "scheduler-lease-other", user: "system:kube-scheduler", resource: { verb: "update", group: "coordination.k8s.io", resource: "leases", namespace: "kube-system", name: "kube-controller-manager" } },
  { id: "proxier-endpointslices", user: "system:kube-proxy", resource: { verb: "watch", group: "discovery.k8s.io", resource: "endpointslices" } },
  { id: "controller-manager-list-anything", user: "system:kube-controller-manager", resource: { verb: "list", group: "apps", resource: "deployments" } },
  { id: "kube-dns-sa", user: "system:serviceaccount:kube-system:kube-dns", resource: { verb: "list", resource: "services" } },
  // The controllers' bootstrap roles (system:controller:*), as --use-service-account-credentials uses them.
  { id: "controller-node-patch", ...controllerSa("node-controller"), resource: { verb: "patch", resource: "nodes", name: "n" } },
  { id: "controller-replicaset-create-pods", ...controllerSa("replicaset-controller"), resource: { verb: "create", resource: "pods", namespace: "authz-a" } },
  { id: "controller-replicaset-secrets", ...controllerSa("replicaset-controller"), resource: { verb: "get", resource: "secrets", namespace: "authz-a", name: "s1" } },
  { id: "controller-deployment-patch", ...controllerSa("deployment-controller"), resource: { verb: "patch", group: "apps", resource: "deployments", namespace: "authz-a", name: "d" } },
  { id: "controller-deployment-update", ...controllerSa("deployment-controller"), resource: { verb: "update", group: "apps", resource: "deployments", namespace: "authz-a", name: "d" } },
  { id: "controller-gc-delete", ...controllerSa("generic-garbage-collector"), resource: { verb: "delete", group: "batch", resource: "jobs", namespace: "authz-a", name: "j" } },
  { id: "controller-namespace-finalize", ...controllerSa("namespace-controller"), resource: { verb: "update", resource: "namespaces", subresource: "finalize", name: "authz-a" } },
  { id: "controller-hpa-scale", ...controllerSa("horizontal-pod-autoscaler"), resource: { verb: "update", group: "apps", resource: "deployments", subresource: "scale", namespace: "authz-a", name: "d" } },
  { id: "controller-csr-sign", ...controllerSa("certificate-controller"), resource: { verb: "sign", group: "certificates.k8s.io", resource: "signers", name: "kubernetes.io/kube-apiserver-client" } },
  { id: "controller-csr-sign-other", ...controllerSa("certificate-controller"), resource: { verb: "sign", group: "certificates.k8s.io", resource: "signers", name: "example.com/other" } },
  { id: "controller-aggregation-escalate", ...controllerSa("clusterrole-aggregation-controller"), resource: { verb: "escalate", group: "rbac.authorization.k8s.io", resource: "clusterroles", name: "admin" } },
  { id: "node-secret-of-its-pod", ...node("authz-n1"), resource: { verb: "get", resource: "secrets", namespace: "authz-a", name: "s1" } },
  { id: "node-secret-of-another-node", ...node("authz-n2"), resource: { verb: "get", resource: "secrets", namespace: "authz-a", name: "s1" } },
  { id: "node-secret-unused", ...node("authz-n1"), resource: { verb: "get", resource: "secrets", namespace: "authz-a", name: "s2" } },
  { id: "node-secret-list", ...node("authz-n1"), resource: { verb: "list", resource: "secrets", namespace: "authz-a" } },
  { id: "node-secret-update", ...node("authz-n1"), resource: { verb: "update", resource: "secrets", namespace: "authz-a", name: "s1" } },
  { id: "node-configmap", ...node("authz-n1"), resource: { verb: "get", resource: "configmaps", namespace: "authz-a", name: "env" } },
  { id: "node-pvc", ...node("authz-n1"), resource: { verb: "get", resource: "persistentvolumeclaims", namespace: "authz-a", name: "claim" } },
  { id: "node-pv", ...node("authz-n1"), resource: { verb: "get", resource: "persistentvolumes", name: "authz-pv" } },
  { id: "node-pv-other-node", ...node("authz-n2"), resource: { verb: "get", resource: "persistentvolumes", name: "authz-pv" } },
  { id: "node-token", ...node("authz-n1"), resource: { verb: "create", resource: "serviceaccounts", subresource: "token", namespace: "authz-a", name: "ci" } },
  { id: "node-get-serviceaccount", ...node("authz-n1"), resource: { verb: "get", resource: "serviceaccounts", namespace: "authz-a", name: "ci" } },
  { id: "node-own-lease", ...node("authz-n1"), resource: { verb: "update", group: "coordination.k8s.io", resource: "leases", namespace: "kube-node-lease", name: "authz-n1" } },
  { id: "node-other-lease", ...node("authz-n1"), resource: { verb: "update", group: "coordination.k8s.io", resource: "leases", namespace: "kube-node-lease", name: "authz-n2" } },
  { id: "node-status", ...node("authz-n1"), resource: { verb: "patch", resource: "nodes", subresource: "status", name: "authz-n1" } },
  { id: "node-delete-node", ...node("authz-n1"), resource: { verb: "delete", resource: "nodes", name: "authz-n1" } },
  { id: "node-without-group", user: "system:node:authz-n1", resource: { verb: "get", resource: "secrets", namespace: "authz-a", name: "s1" } },
];

/** The SubjectAccessReview a case sends. */
export function reviewOf(c: ReviewCase): Record<string, unknown> {
  const spec: Record<string, unknown> = { user: c.user };
  if (c.groups) spec.groups = c.groups;
  if (c.resource) spec.resourceAttributes = c.resource;
  if (c.nonResource) spec.nonResourceAttributes = c.nonResource;
  return { apiVersion: "authorization.k8s.io/v1", kind: "SubjectAccessReview", spec };
}
