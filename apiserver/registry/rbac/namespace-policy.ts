// The namespaced part of Kubernetes' bootstrap policy (bootstrappolicy/namespace_policy.go) that kubelab needs:
// kube-system's extension-apiserver-authentication-reader Role (read the one ConfigMap that publishes the
// apiserver's client and front-proxy CAs, for delegated authentication) and its binding
// system::extension-apiserver-authentication-reader to the scheduler and controller-manager users. The leader-locking
// and bootstrap-signer roles are not here. Created when missing, at every start, after kube-system exists.
import { isAlreadyExists, isNotFound } from "../../../api/errors.js";
import type { KubeObject } from "../../../api/meta.js";
import type { Role, RoleBinding } from "../../../api/types/index.js";
import type { ResourceStore } from "../store.js";

const GROUP = "rbac.authorization.k8s.io";
const SYSTEM = "kube-system";
const metadata = (name: string): KubeObject["metadata"] => ({ name, namespace: SYSTEM, labels: { "kubernetes.io/bootstrapping": "rbac-defaults" }, annotations: { "rbac.authorization.kubernetes.io/autoupdate": "true" } });

export const EXTENSION_APISERVER_AUTHENTICATION_READER = "extension-apiserver-authentication-reader";

export const BOOTSTRAP_NAMESPACE_ROLES: readonly Role[] = [
  {
    apiVersion: `${GROUP}/v1`,
    kind: "Role",
    metadata: metadata(EXTENSION_APISERVER_AUTHENTICATION_READER),
    rules: [{ apiGroups: [""], resources: ["configmaps"], resourceNames: ["extension-apiserver-authentication"], verbs: ["get", "list", "watch"] }],
  },
];

export const BOOTSTRAP_NAMESPACE_ROLE_BINDINGS: readonly RoleBinding[] = [
  {
    apiVersion: `${GROUP}/v1`,
    kind: "RoleBinding",
    metadata: metadata(`system::${EXTENSION_APISERVER_AUTHENTICATION_READER}`),
    roleRef: { apiGroup: GROUP, kind: "Role", name: EXTENSION_APISERVER_AUTHENTICATION_READER },
    subjects: [
      { apiGroup: GROUP, kind: "User", name: "system:kube-controller-manager" },
      { apiGroup: GROUP, kind: "User", name: "system:kube-scheduler" },
    ],
  },
];

/** Creates the namespaced bootstrap roles and bindings that are missing; returns how many it created. */
export async function reconcileNamespacePolicy(roles: ResourceStore, roleBindings: ResourceStore): Promise<number> {
  const ensureOne = async (store: ResourceStore, object: KubeObject): Promise<number> => {
    const namespace = object.metadata.namespace ?? SYSTEM;
    const name = object.metadata.name ?? "";
    try {
      await store.get(namespace, name);
      return 0;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    try {
      await store.create(namespace, structuredClone(object));
      return 1;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      return 0;
    }
  };
  const results = await Promise.all([...BOOTSTRAP_NAMESPACE_ROLES.map((r) => ensureOne(roles, r)), ...BOOTSTRAP_NAMESPACE_ROLE_BINDINGS.map((b) => ensureOne(roleBindings, b))]);
  return results.reduce((sum, n) => sum + n, 0);
}
