// The ClusterRoles and ClusterRoleBindings every Kubernetes cluster starts with (the apiserver's
// rbac/bootstrap-roles post-start hook; names, rules, labels and subjects are Kubernetes 1.32's bootstrap
// policy), with the per-controller roles system:controller:<account> of the controllers kubelab's controller-manager
// runs, each bound to the service account kube-system/<account> it uses with --use-service-account-credentials.
// reconcileBootstrapPolicy creates the missing ones at every start and leaves existing ones as the cluster's admins
// changed them.
import { isAlreadyExists, isNotFound } from "../../../api/errors.js";
import type { KubeObject } from "../../../api/meta.js";
import type { ClusterRole, ClusterRoleBinding, PolicyRule, Subject } from "../../../api/types/index.js";
import type { ResourceStore } from "../store.js";

const GROUP = "rbac.authorization.k8s.io";
const BOOTSTRAP_LABELS = { "kubernetes.io/bootstrapping": "rbac-defaults" };
const AUTOUPDATE = { "rbac.authorization.kubernetes.io/autoupdate": "true" };

const READ = ["get", "list", "watch"];
const WRITE = ["create", "delete", "deletecollection", "patch", "update"];
const READ_WRITE = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
const EVENT_WRITE = ["create", "patch", "update"];

function rule(apiGroups: string[], resources: string[], verbs: string[], resourceNames?: string[]): PolicyRule {
  return resourceNames ? { apiGroups, resources, verbs, resourceNames } : { apiGroups, resources, verbs };
}

function urls(nonResourceURLs: string[], verbs: string[]): PolicyRule {
  return { nonResourceURLs, verbs };
}

function role(name: string, rules: PolicyRule[], labels: Record<string, string> = {}): ClusterRole {
  return { apiVersion: `${GROUP}/v1`, kind: "ClusterRole", metadata: { name, labels: { ...BOOTSTRAP_LABELS, ...labels }, annotations: { ...AUTOUPDATE } }, rules };
}

function aggregated(name: string, selectorLabel: string, labels: Record<string, string> = {}): ClusterRole {
  const { rules: _none, ...withoutRules } = role(name, [], labels);
  return { ...withoutRules, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [selectorLabel]: "true" } }] } };
}

const AGGREGATE_TO = (which: "admin" | "edit" | "view"): Record<string, string> => ({ [`rbac.authorization.k8s.io/aggregate-to-${which}`]: "true" });

const signerApprover = (name: string, signer: string): ClusterRole => role(name, [rule(["certificates.k8s.io"], ["signers"], ["approve"], [signer])]);

export const BOOTSTRAP_CLUSTER_ROLES: readonly ClusterRole[] = [
  aggregated("admin", "rbac.authorization.k8s.io/aggregate-to-admin"),
  role("cluster-admin", [rule(["*"], ["*"], ["*"]), urls(["*"], ["*"])]),
  aggregated("edit", "rbac.authorization.k8s.io/aggregate-to-edit", AGGREGATE_TO("admin")),
  aggregated("view", "rbac.authorization.k8s.io/aggregate-to-view", AGGREGATE_TO("edit")),
  role("system:aggregate-to-admin", [rule(["authorization.k8s.io"], ["localsubjectaccessreviews"], ["create"]), rule([GROUP], ["rolebindings", "roles"], READ_WRITE)], AGGREGATE_TO("admin")),
  role(
    "system:aggregate-to-edit",
    [
      rule([""], ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"], READ),
      rule([""], ["serviceaccounts"], ["impersonate"]),
      rule([""], ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"], WRITE),
      rule([""], ["pods/eviction"], ["create"]),
      rule([""], ["configmaps", "events", "persistentvolumeclaims", "replicationcontrollers", "replicationcontrollers/scale", "secrets", "serviceaccounts", "services", "services/proxy"], WRITE),
      rule([""], ["serviceaccounts/token"], ["create"]),
      rule(["apps"], ["daemonsets", "deployments", "deployments/rollback", "deployments/scale", "replicasets", "replicasets/scale", "statefulsets", "statefulsets/scale"], WRITE),
      rule(["autoscaling"], ["horizontalpodautoscalers"], WRITE),
      rule(["batch"], ["cronjobs", "jobs"], WRITE),
      rule(["extensions"], ["daemonsets", "deployments", "deployments/rollback", "deployments/scale", "ingresses", "networkpolicies", "replicasets", "replicasets/scale", "replicationcontrollers/scale"], WRITE),
      rule(["policy"], ["poddisruptionbudgets"], WRITE),
      rule(["networking.k8s.io"], ["ingresses", "networkpolicies"], WRITE),
      rule(["coordination.k8s.io"], ["leases"], READ_WRITE),
    ],
    AGGREGATE_TO("edit"),
  ),
  role(
    "system:aggregate-to-view",
    [
      rule([""], ["configmaps", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status", "pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services", "services/status"], READ),
      rule([""], ["bindings", "events", "limitranges", "namespaces/status", "pods/log", "pods/status", "replicationcontrollers/status", "resourcequotas", "resourcequotas/status"], READ),
      rule([""], ["namespaces"], READ),
      rule(["discovery.k8s.io"], ["endpointslices"], READ),
      rule(["apps"], ["controllerrevisions", "daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status", "replicasets", "replicasets/scale", "replicasets/status", "statefulsets", "statefulsets/scale", "statefulsets/status"], READ),
      rule(["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"], READ),
      rule(["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"], READ),
      rule(["extensions"], ["daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status", "ingresses", "ingresses/status", "networkpolicies", "replicasets", "replicasets/scale", "replicasets/status", "replicationcontrollers/scale"], READ),
      rule(["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"], READ),
      rule(["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"], READ),
    ],
    AGGREGATE_TO("view"),
  ),
  role("system:auth-delegator", [rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]), rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"])]),
  role("system:basic-user", [rule(["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], ["create"]), rule(["authentication.k8s.io"], ["selfsubjectreviews"], ["create"])]),
  role("system:certificates.k8s.io:certificatesigningrequests:nodeclient", [rule(["certificates.k8s.io"], ["certificatesigningrequests/nodeclient"], ["create"])]),
  role("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", [rule(["certificates.k8s.io"], ["certificatesigningrequests/selfnodeclient"], ["create"])]),
  signerApprover("system:certificates.k8s.io:kube-apiserver-client-approver", "kubernetes.io/kube-apiserver-client"),
  signerApprover("system:certificates.k8s.io:kube-apiserver-client-kubelet-approver", "kubernetes.io/kube-apiserver-client-kubelet"),
  signerApprover("system:certificates.k8s.io:kubelet-serving-approver", "kubernetes.io/kubelet-serving"),
  signerApprover("system:certificates.k8s.io:legacy-unknown-approver", "kubernetes.io/legacy-unknown"),
  role("system:discovery", [urls(["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz", "/version", "/version/"], ["get"])]),
  role("system:heapster", [rule([""], ["events", "namespaces", "nodes", "pods"], READ), rule(["extensions"], ["deployments"], READ)]),
  role("system:kube-aggregator", [rule([""], ["endpoints", "services"], READ)]),
  role("system:kube-controller-manager", [
    rule(["", "events.k8s.io"], ["events"], EVENT_WRITE),
    rule(["coordination.k8s.io"], ["leases"], ["create"]),
    rule(["coordination.k8s.io"], ["leases"], ["get", "update"], ["kube-controller-manager"]),
    rule([""], ["secrets", "serviceaccounts"], ["create"]),
    rule([""], ["secrets"], ["delete"]),
    rule([""], ["configmaps", "namespaces", "secrets", "serviceaccounts"], ["get"]),
    rule([""], ["secrets", "serviceaccounts"], ["update"]),
    rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
    rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"]),
    rule(["*"], ["*"], ["list", "watch"]),
    rule([""], ["serviceaccounts/token"], ["create"]),
  ]),
  role("system:kube-dns", [rule([""], ["endpoints", "services"], ["list", "watch"])]),
  role("system:kube-scheduler", [
    rule(["", "events.k8s.io"], ["events"], EVENT_WRITE),
    rule(["coordination.k8s.io"], ["leases"], ["create"]),
    rule(["coordination.k8s.io"], ["leases"], ["get", "update"], ["kube-scheduler"]),
    rule([""], ["nodes"], READ),
    rule([""], ["pods"], ["delete", "get", "list", "watch"]),
    rule([""], ["bindings", "pods/binding"], ["create"]),
    rule([""], ["pods/status"], ["patch", "update"]),
    rule([""], ["replicationcontrollers", "services"], READ),
    rule(["apps", "extensions"], ["replicasets"], READ),
    rule(["apps"], ["statefulsets"], READ),
    rule(["policy"], ["poddisruptionbudgets"], READ),
    rule([""], ["persistentvolumeclaims", "persistentvolumes"], READ),
    rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
    rule(["authorization.k8s.io"], ["subjectaccessreviews"], ["create"]),
    rule(["storage.k8s.io"], ["csinodes"], READ),
    rule([""], ["namespaces"], READ),
    rule(["storage.k8s.io"], ["csidrivers"], READ),
    rule(["storage.k8s.io"], ["csistoragecapacities"], READ),
  ]),
  role("system:kubelet-api-admin", [rule([""], ["nodes"], READ), rule([""], ["nodes"], ["proxy"]), rule([""], ["nodes/log", "nodes/metrics", "nodes/proxy", "nodes/stats"], ["*"])]),
  role("system:monitoring", [urls(["/healthz", "/healthz/*", "/livez", "/livez/*", "/metrics", "/metrics/slis", "/readyz", "/readyz/*"], ["get"])]),
  role("system:node", [
    rule(["authentication.k8s.io"], ["tokenreviews"], ["create"]),
    rule(["authorization.k8s.io"], ["localsubjectaccessreviews", "subjectaccessreviews"], ["create"]),
    rule([""], ["services"], READ),
    rule([""], ["nodes"], ["create", "get", "list", "watch"]),
    rule([""], ["nodes/status"], ["patch", "update"]),
    rule([""], ["nodes"], ["patch", "update"]),
    rule([""], ["events"], EVENT_WRITE),
    rule([""], ["pods"], READ),
    rule([""], ["pods"], ["create", "delete"]),
    rule([""], ["pods/status"], ["patch", "update"]),
    rule([""], ["pods/eviction"], ["create"]),
    rule([""], ["configmaps", "secrets"], READ),
    rule([""], ["persistentvolumeclaims", "persistentvolumes"], ["get"]),
    rule([""], ["endpoints"], ["get"]),
    rule(["certificates.k8s.io"], ["certificatesigningrequests"], ["create", "get", "list", "watch"]),
    rule(["coordination.k8s.io"], ["leases"], ["create", "delete", "get", "patch", "update"]),
    rule(["storage.k8s.io"], ["volumeattachments"], ["get"]),
    rule([""], ["serviceaccounts/token"], ["create"]),
    rule([""], ["persistentvolumeclaims/status"], ["get", "patch", "update"]),
    rule(["storage.k8s.io"], ["csidrivers"], READ),
    rule(["storage.k8s.io"], ["csinodes"], ["create", "delete", "get", "patch", "update"]),
    rule(["node.k8s.io"], ["runtimeclasses"], READ),
  ]),
  role("system:node-bootstrapper", [rule(["certificates.k8s.io"], ["certificatesigningrequests"], ["create", "get", "list", "watch"])]),
  role("system:node-problem-detector", [rule([""], ["nodes"], ["get"]), rule([""], ["nodes/status"], ["patch"]), rule(["", "events.k8s.io"], ["events"], EVENT_WRITE)]),
  role("system:node-proxier", [
    rule([""], ["endpoints", "services"], ["list", "watch"]),
    rule([""], ["nodes"], READ),
    rule(["", "events.k8s.io"], ["events"], EVENT_WRITE),
    rule(["discovery.k8s.io"], ["endpointslices"], ["list", "watch"]),
  ]),
  role("system:persistent-volume-provisioner", [
    rule([""], ["persistentvolumes"], ["create", "delete", "get", "list", "watch"]),
    rule([""], ["persistentvolumeclaims"], ["get", "list", "update", "watch"]),
    rule(["storage.k8s.io"], ["storageclasses"], READ),
    rule([""], ["events"], ["watch"]),
    rule(["", "events.k8s.io"], ["events"], EVENT_WRITE),
  ]),
  role("system:public-info-viewer", [urls(["/healthz", "/livez", "/readyz", "/version", "/version/"], ["get"])]),
  role("system:service-account-issuer-discovery", [urls(["/.well-known/openid-configuration", "/openid/v1/jwks"], ["get"])]),
  role("system:volume-scheduler", [
    rule([""], ["persistentvolumes"], ["get", "list", "patch", "update", "watch"]),
    rule(["storage.k8s.io"], ["storageclasses"], READ),
    rule([""], ["persistentvolumeclaims"], ["get", "list", "patch", "update", "watch"]),
  ]),
];

/** Kubernetes' rule builder: verbs, groups, resources and names as sorted sets. */
function sortedRule(verbs: string[], apiGroups: string[], resources: string[], resourceNames?: string[]): PolicyRule {
  const set = (values: string[]): string[] => [...new Set(values)].sort();
  return rule(set(apiGroups), set(resources), set(verbs), resourceNames ? set(resourceNames) : undefined);
}

const CONTROLLER_ROLE_PREFIX = "system:controller:";
const CONTROLLER_EVENTS = sortedRule(EVENT_WRITE, ["", "events.k8s.io"], ["events"]);

/**
 * The controllers' roles (Kubernetes' controller_policy.go), by service account, for the controllers kubelab's
 * controller-manager runs. Each is bound to kube-system/<account>.
 */
const CONTROLLER_RULES: Readonly<Record<string, PolicyRule[]>> = {
  "certificate-controller": [
    sortedRule(["delete", "get", "list", "watch"], ["certificates.k8s.io"], ["certificatesigningrequests"]),
    sortedRule(["update"], ["certificates.k8s.io"], ["certificatesigningrequests/approval", "certificatesigningrequests/status"]),
    sortedRule(["approve"], ["certificates.k8s.io"], ["signers"], ["kubernetes.io/kube-apiserver-client-kubelet"]),
    sortedRule(["sign"], ["certificates.k8s.io"], ["signers"], ["kubernetes.io/kube-apiserver-client", "kubernetes.io/kube-apiserver-client-kubelet", "kubernetes.io/kubelet-serving", "kubernetes.io/legacy-unknown"]),
    sortedRule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
    CONTROLLER_EVENTS,
  ],
  "clusterrole-aggregation-controller": [sortedRule(["escalate", "get", "list", "patch", "update", "watch"], [GROUP], ["clusterroles"])],
  "cronjob-controller": [
    sortedRule(["get", "list", "update", "watch"], ["batch"], ["cronjobs"]),
    sortedRule(["create", "delete", "get", "list", "patch", "update", "watch"], ["batch"], ["jobs"]),
    sortedRule(["update"], ["batch"], ["cronjobs/status"]),
    sortedRule(["update"], ["batch"], ["cronjobs/finalizers"]),
    sortedRule(["delete", "list", "watch"], [""], ["pods"]),
    CONTROLLER_EVENTS,
  ],
  "daemon-set-controller": [
    sortedRule(READ, ["apps", "extensions"], ["daemonsets"]),
    sortedRule(["update"], ["apps", "extensions"], ["daemonsets/status"]),
    sortedRule(["update"], ["apps", "extensions"], ["daemonsets/finalizers"]),
    sortedRule(["list", "watch"], [""], ["nodes"]),
    sortedRule(["create", "delete", "list", "patch", "watch"], [""], ["pods"]),
    sortedRule(["create"], [""], ["pods/binding"]),
    sortedRule(["create", "delete", "get", "list", "patch", "update", "watch"], ["apps"], ["controllerrevisions"]),
    CONTROLLER_EVENTS,
  ],
  "deployment-controller": [
    sortedRule(["get", "list", "update", "watch"], ["apps", "extensions"], ["deployments"]),
    sortedRule(["update"], ["apps", "extensions"], ["deployments/status"]),
    sortedRule(["update"], ["apps", "extensions"], ["deployments/finalizers"]),
    sortedRule(["create", "delete", "get", "list", "patch", "update", "watch"], ["apps", "extensions"], ["replicasets"]),
    sortedRule(["get", "list", "update", "watch"], [""], ["pods"]),
    CONTROLLER_EVENTS,
  ],
  "disruption-controller": [
    sortedRule(READ, ["apps", "extensions"], ["deployments"]),
    sortedRule(READ, ["apps", "extensions"], ["replicasets"]),
    sortedRule(READ, [""], ["replicationcontrollers"]),
    sortedRule(READ, ["policy"], ["poddisruptionbudgets"]),
    sortedRule(READ, ["apps"], ["statefulsets"]),
    sortedRule(["update"], ["policy"], ["poddisruptionbudgets/status"]),
    sortedRule(["patch", "update"], [""], ["pods/status"]),
    sortedRule(["get"], ["*"], ["*/scale"]),
    CONTROLLER_EVENTS,
  ],
  "endpoint-controller": [
    sortedRule(READ, [""], ["pods", "services"]),
    sortedRule(["create", "delete", "get", "list", "update", "watch"], [""], ["endpoints"]),
    sortedRule(["create"], [""], ["endpoints/restricted"]),
    CONTROLLER_EVENTS,
  ],
  "endpointslice-controller": [
    sortedRule(READ, [""], ["nodes", "pods", "services"]),
    sortedRule(["update"], [""], ["services/finalizers"]),
    sortedRule(["create", "delete", "get", "list", "update", "watch"], ["discovery.k8s.io"], ["endpointslices"]),
    CONTROLLER_EVENTS,
  ],
  "endpointslicemirroring-controller": [
    sortedRule(READ, [""], ["endpoints", "services"]),
    sortedRule(["update"], [""], ["services/finalizers"]),
    sortedRule(["update"], [""], ["endpoints/finalizers"]),
    sortedRule(["create", "delete", "get", "list", "update"], ["discovery.k8s.io"], ["endpointslices"]),
    CONTROLLER_EVENTS,
  ],
  "generic-garbage-collector": [sortedRule(["delete", "get", "list", "patch", "update", "watch"], ["*"], ["*"]), CONTROLLER_EVENTS],
  "horizontal-pod-autoscaler": [
    sortedRule(READ, ["autoscaling"], ["horizontalpodautoscalers"]),
    sortedRule(["update"], ["autoscaling"], ["horizontalpodautoscalers/status"]),
    sortedRule(["get", "update"], ["*"], ["*/scale"]),
    sortedRule(["list", "watch"], [""], ["pods"]),
    sortedRule(["list", "watch"], ["metrics.k8s.io"], ["pods"]),
    sortedRule(READ, ["custom.metrics.k8s.io"], ["*"]),
    sortedRule(READ, ["external.metrics.k8s.io"], ["*"]),
    CONTROLLER_EVENTS,
  ],
  "job-controller": [
    sortedRule(["get", "list", "patch", "update", "watch"], ["batch"], ["jobs"]),
    sortedRule(["update"], ["batch"], ["jobs/status"]),
    sortedRule(["update"], ["batch"], ["jobs/finalizers"]),
    sortedRule(["create", "delete", "list", "patch", "watch"], [""], ["pods"]),
    CONTROLLER_EVENTS,
  ],
  "namespace-controller": [
    sortedRule(["delete", "get", "list", "watch"], [""], ["namespaces"]),
    sortedRule(["update"], [""], ["namespaces/finalize", "namespaces/status"]),
    sortedRule(["delete", "deletecollection", "get", "list", "watch"], ["*"], ["*"]),
  ],
  "node-controller": [
    sortedRule(["delete", "get", "list", "patch", "update", "watch"], [""], ["nodes"]),
    sortedRule(["patch", "update"], [""], ["nodes/status"]),
    sortedRule(["patch", "update"], [""], ["pods/status"]),
    sortedRule(["delete", "get", "list", "watch"], [""], ["pods"]),
    CONTROLLER_EVENTS,
  ],
  "persistent-volume-binder": [
    sortedRule(["create", "delete", "get", "list", "update", "watch"], [""], ["persistentvolumes"]),
    sortedRule(["update"], [""], ["persistentvolumes/status"]),
    sortedRule(["get", "list", "update", "watch"], [""], ["persistentvolumeclaims"]),
    sortedRule(["update"], [""], ["persistentvolumeclaims/status"]),
    sortedRule(["create", "delete", "get", "list", "watch"], [""], ["pods"]),
    sortedRule(READ, ["storage.k8s.io"], ["storageclasses"]),
    sortedRule(["list", "watch"], [""], ["nodes"]),
    CONTROLLER_EVENTS,
    sortedRule(["watch"], [""], ["events"]),
    sortedRule(["get"], [""], ["services"]),
  ],
  "replicaset-controller": [
    sortedRule(["get", "list", "update", "watch"], ["apps", "extensions"], ["replicasets"]),
    sortedRule(["update"], ["apps", "extensions"], ["replicasets/status"]),
    sortedRule(["update"], ["apps", "extensions"], ["replicasets/finalizers"]),
    sortedRule(["create", "delete", "list", "patch", "watch"], [""], ["pods"]),
    CONTROLLER_EVENTS,
  ],
  "replication-controller": [
    sortedRule(["get", "list", "update", "watch"], [""], ["replicationcontrollers"]),
    sortedRule(["update"], [""], ["replicationcontrollers/status"]),
    sortedRule(["update"], [""], ["replicationcontrollers/finalizers"]),
    sortedRule(["create", "delete", "list", "patch", "watch"], [""], ["pods"]),
    CONTROLLER_EVENTS,
  ],
  "resourcequota-controller": [sortedRule(["list", "watch"], ["*"], ["*"]), sortedRule(["update"], [""], ["resourcequotas/status"]), CONTROLLER_EVENTS],
  "root-ca-cert-publisher": [sortedRule(["create", "update"], [""], ["configmaps"]), CONTROLLER_EVENTS],
  "service-account-controller": [sortedRule(["create"], [""], ["serviceaccounts"]), CONTROLLER_EVENTS],
  "statefulset-controller": [
    sortedRule(["list", "watch"], [""], ["pods"]),
    sortedRule(READ, ["apps"], ["statefulsets"]),
    sortedRule(["update"], ["apps"], ["statefulsets/status"]),
    sortedRule(["update"], ["apps"], ["statefulsets/finalizers"]),
    sortedRule(["create", "delete", "get", "patch", "update"], [""], ["pods"]),
    sortedRule(["create", "delete", "get", "list", "patch", "update", "watch"], ["apps"], ["controllerrevisions"]),
    sortedRule(["create", "get", "list", "watch"], [""], ["persistentvolumeclaims"]),
    sortedRule(["delete", "update"], [""], ["persistentvolumeclaims"]),
    sortedRule(["update"], [""], ["pods/finalizers"]),
    CONTROLLER_EVENTS,
  ],
  "ttl-after-finished-controller": [sortedRule(["delete", "get", "list", "watch"], ["batch"], ["jobs"]), CONTROLLER_EVENTS],
};

/** The system:controller:<account> ClusterRoles, in name order. */
export const CONTROLLER_CLUSTER_ROLES: readonly ClusterRole[] = Object.keys(CONTROLLER_RULES)
  .sort()
  .map((account) => role(`${CONTROLLER_ROLE_PREFIX}${account}`, CONTROLLER_RULES[account] ?? []));

const group = (name: string): Subject => ({ apiGroup: GROUP, kind: "Group", name });
const user = (name: string): Subject => ({ apiGroup: GROUP, kind: "User", name });

function binding(name: string, subjects: Subject[], roleName = name): ClusterRoleBinding {
  const object: ClusterRoleBinding = {
    apiVersion: `${GROUP}/v1`,
    kind: "ClusterRoleBinding",
    metadata: { name, labels: { ...BOOTSTRAP_LABELS }, annotations: { ...AUTOUPDATE } },
    roleRef: { apiGroup: GROUP, kind: "ClusterRole", name: roleName },
  };
  if (subjects.length > 0) object.subjects = subjects;
  return object;
}

export const BOOTSTRAP_CLUSTER_ROLE_BINDINGS: readonly ClusterRoleBinding[] = [
  binding("cluster-admin", [group("system:masters")]),
  binding("system:basic-user", [group("system:authenticated")]),
  binding("system:discovery", [group("system:authenticated")]),
  binding("system:kube-controller-manager", [user("system:kube-controller-manager")]),
  binding("system:kube-dns", [{ kind: "ServiceAccount", name: "kube-dns", namespace: "kube-system" }]),
  binding("system:kube-scheduler", [user("system:kube-scheduler")]),
  binding("system:monitoring", [group("system:monitoring")]),
  binding("system:node", []),
  binding("system:node-proxier", [user("system:kube-proxy")]),
  binding("system:public-info-viewer", [group("system:authenticated"), group("system:unauthenticated")]),
  binding("system:service-account-issuer-discovery", [group("system:serviceaccounts")]),
  binding("system:volume-scheduler", [user("system:kube-scheduler")]),
];

/** Each controller role bound to its service account kube-system/<account>, in name order. */
export const CONTROLLER_CLUSTER_ROLE_BINDINGS: readonly ClusterRoleBinding[] = CONTROLLER_CLUSTER_ROLES.map((r) => {
  const name = r.metadata.name ?? "";
  return binding(name, [{ kind: "ServiceAccount", name: name.slice(CONTROLLER_ROLE_PREFIX.length), namespace: "kube-system" }]);
});

/** Creates the bootstrap roles and bindings that are missing; returns how many it created. */
export async function reconcileBootstrapPolicy(clusterRoles: ResourceStore, clusterRoleBindings: ResourceStore): Promise<number> {
  const pairs: [ResourceStore, readonly KubeObject[]][] = [
    [clusterRoles, [...BOOTSTRAP_CLUSTER_ROLES, ...CONTROLLER_CLUSTER_ROLES]],
    [clusterRoleBindings, [...BOOTSTRAP_CLUSTER_ROLE_BINDINGS, ...CONTROLLER_CLUSTER_ROLE_BINDINGS]],
  ];
  // Each object is independent of the others: all are checked at once (the apiserver's start waits for this).
  const ensureOne = async (store: ResourceStore, object: KubeObject): Promise<number> => {
    const name = object.metadata.name ?? "";
    const exists = await store.get(undefined, name).then(
      () => true,
      (err: unknown) => {
        if (isNotFound(err)) return false;
        throw err;
      },
    );
    if (exists) return 0;
    try {
      await store.create(undefined, structuredClone(object));
      return 1;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      return 0;
    }
  };
  const results = await Promise.all(pairs.flatMap(([store, objects]) => objects.map((object) => ensureOne(store, object))));
  return results.reduce((sum, n) => sum + n, 0);
}
