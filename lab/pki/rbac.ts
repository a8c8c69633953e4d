// What the lab's tools may do in a secure lab: each has its own identity (system:kubelab:<tool>, lab/pki/pki.ts)
// bound by the lab's own ClusterRoles and ClusterRoleBindings, made by the supervisor once the apiserver is up.
//   - kube-state-metrics reads every object: kubelab:read-only (get, list, watch on everything).
//   - metrics-server reads nodes, pods and the kubelets' metrics (the rules of metrics-server's own
//     system:metrics-server role) and checks its callers' tokens and access (system:auth-delegator), as it does
//     when deployed from its manifest.
//   - prometheus (`up --prometheus`) scrapes the kubelets (/metrics, /metrics/cadvisor: nodes/metrics, nodes/proxy)
//     and the apiserver's /metrics, what kube-prometheus grants its Prometheus.
//   - kubelab-ui, the live view, acts for the lab's owner (scale, delete, exec) on loopback only: cluster-admin.
// The controller-manager needs no binding of the lab's: it runs with --use-service-account-credentials, so its own
// identity (system:kube-controller-manager, Kubernetes' bootstrap role) only reads and gets tokens, and each
// controller writes as kube-system/<controller> with its bootstrap role system:controller:<controller>.
import { toolUser, type LabTool } from "./pki.js";

type Manifest = Record<string, unknown>;
const RBAC = "rbac.authorization.k8s.io";

export const READ_ONLY_ROLE = "kubelab:read-only";
export const METRICS_SERVER_ROLE = "kubelab:metrics-server";
export const PROMETHEUS_ROLE = "kubelab:prometheus";

function clusterRole(name: string, rules: Manifest[]): Manifest {
  return { apiVersion: `${RBAC}/v1`, kind: "ClusterRole", metadata: { name, labels: { "app.kubernetes.io/managed-by": "kubelab" } }, rules };
}

function binding(name: string, role: string, tool: LabTool): Manifest {
  const user = toolUser(tool);
  return {
    apiVersion: `${RBAC}/v1`,
    kind: "ClusterRoleBinding",
    metadata: { name, labels: { "app.kubernetes.io/managed-by": "kubelab" } },
    roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: role },
    subjects: [{ apiGroup: RBAC, kind: "User", name: user }],
  };
}

/** The ClusterRoles, then the ClusterRoleBindings, in the order they are created. */
export function labToolsRbac(): Manifest[] {
  return [
    clusterRole(READ_ONLY_ROLE, [{ apiGroups: ["*"], resources: ["*"], verbs: ["get", "list", "watch"] }, { nonResourceURLs: ["*"], verbs: ["get"] }]),
    clusterRole(METRICS_SERVER_ROLE, [
      { apiGroups: [""], resources: ["nodes/metrics"], verbs: ["get"] },
      { apiGroups: [""], resources: ["pods", "nodes"], verbs: ["get", "list", "watch"] },
    ]),
    clusterRole(PROMETHEUS_ROLE, [
      { apiGroups: [""], resources: ["nodes/metrics", "nodes/proxy"], verbs: ["get"] },
      { apiGroups: [""], resources: ["nodes", "pods", "services", "endpoints"], verbs: ["get", "list", "watch"] },
      { nonResourceURLs: ["/metrics", "/metrics/cadvisor"], verbs: ["get"] },
    ]),
    binding("kubelab:kube-state-metrics", READ_ONLY_ROLE, "kube-state-metrics"),
    binding("kubelab:metrics-server", METRICS_SERVER_ROLE, "metrics-server"),
    binding("kubelab:metrics-server:auth-delegator", "system:auth-delegator", "metrics-server"),
    binding("kubelab:kubelab-ui", "cluster-admin", "kubelab-ui"),
    binding("kubelab:prometheus", PROMETHEUS_ROLE, "prometheus"),
  ];
}

/** Creates them with `create` (the lab's own client: POST, "exists" for a 409); ones that exist are left as they are. */
export async function applyLabToolsRbac(create: (path: string, object: Manifest) => Promise<"created" | "exists">): Promise<string[]> {
  const done: string[] = [];
  for (const object of labToolsRbac()) {
    const kind = object.kind === "ClusterRole" ? "clusterroles" : "clusterrolebindings";
    await create(`/apis/${RBAC}/v1/${kind}`, object);
    const metadata = object.metadata as { name: string };
    done.push(`${kind.slice(0, -1)}/${metadata.name}`);
  }
  return done;
}
