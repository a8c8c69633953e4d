// The table of API resources kubelab serves: the single source for routing, discovery, OpenAPI, storage keys and
// clients. Names, short names, categories, verbs and subresources are Kubernetes'.

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface SubresourceInfo {
  name: string;
  /** The kind a GET/PUT/PATCH of the subresource speaks; absent for connect-style subresources (log, exec). */
  responseKind?: GroupVersionKind;
  verbs: readonly string[];
}

export interface ResourceInfo {
  group: string;
  version: string;
  kind: string;
  listKind: string;
  /** The plural, lower-case resource name used in URLs and etcd keys. */
  resource: string;
  singular: string;
  namespaced: boolean;
  shortNames: readonly string[];
  categories: readonly string[];
  verbs: readonly string[];
  subresources: readonly SubresourceInfo[];
  /** The etcd key segment when it differs from `resource` (events.k8s.io events share core events' storage). */
  storageResource?: string;
}

const ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"] as const;

function gvk(group: string, version: string, kind: string): GroupVersionKind {
  return { group, version, kind };
}

function statusOf(group: string, version: string, kind: string): SubresourceInfo {
  return { name: "status", responseKind: gvk(group, version, kind), verbs: ["get", "patch", "update"] };
}

const SCALE: SubresourceInfo = { name: "scale", responseKind: gvk("autoscaling", "v1", "Scale"), verbs: ["get", "patch", "update"] };

function resource(
  group: string,
  version: string,
  kind: string,
  plural: string,
  opts: {
    namespaced?: boolean;
    shortNames?: string[];
    all?: boolean;
    subresources?: SubresourceInfo[];
    verbs?: readonly string[];
    storageResource?: string;
  } = {},
): ResourceInfo {
  const info: ResourceInfo = {
    group,
    version,
    kind,
    listKind: `${kind}List`,
    resource: plural,
    singular: kind.toLowerCase(),
    namespaced: opts.namespaced ?? true,
    shortNames: opts.shortNames ?? [],
    categories: opts.all ? ["all"] : [],
    verbs: opts.verbs ?? ALL_VERBS,
    subresources: opts.subresources ?? [],
  };
  if (opts.storageResource !== undefined) info.storageResource = opts.storageResource;
  return info;
}

export const RESOURCES: readonly ResourceInfo[] = [
  // core/v1
  resource("", "v1", "Namespace", "namespaces", {
    namespaced: false,
    shortNames: ["ns"],
    verbs: ["create", "delete", "get", "list", "patch", "update", "watch"],
    subresources: [statusOf("", "v1", "Namespace"), { name: "finalize", responseKind: gvk("", "v1", "Namespace"), verbs: ["update"] }],
  }),
  resource("", "v1", "Pod", "pods", {
    shortNames: ["po"],
    all: true,
    subresources: [
      statusOf("", "v1", "Pod"),
      { name: "binding", responseKind: gvk("", "v1", "Binding"), verbs: ["create"] },
      { name: "eviction", responseKind: gvk("policy", "v1", "Eviction"), verbs: ["create"] },
      { name: "log", responseKind: gvk("", "v1", "Pod"), verbs: ["get"] },
      { name: "exec", responseKind: gvk("", "v1", "PodExecOptions"), verbs: ["create", "get"] },
      { name: "attach", responseKind: gvk("", "v1", "PodAttachOptions"), verbs: ["create", "get"] },
      { name: "portforward", responseKind: gvk("", "v1", "PodPortForwardOptions"), verbs: ["create", "get"] },
      { name: "proxy", responseKind: gvk("", "v1", "PodProxyOptions"), verbs: ["create", "delete", "get", "patch", "update"] },
    ],
  }),
  resource("", "v1", "Service", "services", {
    shortNames: ["svc"],
    all: true,
    subresources: [statusOf("", "v1", "Service"), { name: "proxy", responseKind: gvk("", "v1", "ServiceProxyOptions"), verbs: ["create", "delete", "get", "patch", "update"] }],
  }),
  resource("", "v1", "Endpoints", "endpoints", { shortNames: ["ep"] }),
  resource("", "v1", "Node", "nodes", {
    namespaced: false,
    shortNames: ["no"],
    subresources: [statusOf("", "v1", "Node"), { name: "proxy", responseKind: gvk("", "v1", "NodeProxyOptions"), verbs: ["create", "delete", "get", "patch", "update"] }],
  }),
  resource("", "v1", "Event", "events", { shortNames: ["ev"] }),
  resource("", "v1", "ConfigMap", "configmaps", { shortNames: ["cm"] }),
  resource("", "v1", "Secret", "secrets"),
  resource("", "v1", "ServiceAccount", "serviceaccounts", { shortNames: ["sa"], subresources: [{ name: "token", responseKind: gvk("authentication.k8s.io", "v1", "TokenRequest"), verbs: ["create"] }] }),
  resource("", "v1", "ReplicationController", "replicationcontrollers", {
    shortNames: ["rc"],
    all: true,
    subresources: [SCALE, statusOf("", "v1", "ReplicationController")],
  }),
  // apps/v1
  resource("apps", "v1", "Deployment", "deployments", {
    shortNames: ["deploy"],
    all: true,
    subresources: [SCALE, statusOf("apps", "v1", "Deployment")],
  }),
  resource("apps", "v1", "ReplicaSet", "replicasets", {
    shortNames: ["rs"],
    all: true,
    subresources: [SCALE, statusOf("apps", "v1", "ReplicaSet")],
  }),
  resource("apps", "v1", "DaemonSet", "daemonsets", {
    shortNames: ["ds"],
    all: true,
    subresources: [statusOf("apps", "v1", "DaemonSet")],
  }),
  resource("apps", "v1", "StatefulSet", "statefulsets", {
    shortNames: ["sts"],
    all: true,
    subresources: [SCALE, statusOf("apps", "v1", "StatefulSet")],
  }),
  // coordination.k8s.io/v1
  resource("coordination.k8s.io", "v1", "Lease", "leases"),
  // discovery.k8s.io/v1
  resource("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
  // events.k8s.io/v1: the same stored events as core/v1, seen through the newer schema.
  resource("events.k8s.io", "v1", "Event", "events", { shortNames: ["ev"], storageResource: "events" }),
  // MARK api-a resources (batch, autoscaling, policy, networking, scheduling, node, storage, admissionregistration, apps controllerrevisions)
  // batch/v1
  resource("batch", "v1", "Job", "jobs", { all: true, subresources: [statusOf("batch", "v1", "Job")] }),
  resource("batch", "v1", "CronJob", "cronjobs", { shortNames: ["cj"], all: true, subresources: [statusOf("batch", "v1", "CronJob")] }),
  // autoscaling/v2 (stored) and autoscaling/v1 (converted)
  resource("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", {
    shortNames: ["hpa"],
    all: true,
    subresources: [statusOf("autoscaling", "v2", "HorizontalPodAutoscaler")],
  }),
  resource("autoscaling", "v1", "HorizontalPodAutoscaler", "horizontalpodautoscalers", {
    shortNames: ["hpa"],
    all: true,
    subresources: [statusOf("autoscaling", "v1", "HorizontalPodAutoscaler")],
    storageResource: "horizontalpodautoscalers",
  }),
  // policy/v1
  resource("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", { shortNames: ["pdb"], subresources: [statusOf("policy", "v1", "PodDisruptionBudget")] }),
  // networking.k8s.io/v1
  resource("networking.k8s.io", "v1", "Ingress", "ingresses", { shortNames: ["ing"], subresources: [statusOf("networking.k8s.io", "v1", "Ingress")] }),
  resource("networking.k8s.io", "v1", "IngressClass", "ingressclasses", { namespaced: false }),
  resource("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", { shortNames: ["netpol"] }),
  // scheduling.k8s.io/v1
  resource("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", { namespaced: false, shortNames: ["pc"] }),
  // node.k8s.io/v1
  resource("node.k8s.io", "v1", "RuntimeClass", "runtimeclasses", { namespaced: false }),
  // storage.k8s.io/v1
  resource("storage.k8s.io", "v1", "StorageClass", "storageclasses", { namespaced: false, shortNames: ["sc"] }),
  resource("storage.k8s.io", "v1", "CSINode", "csinodes", { namespaced: false }),
  resource("storage.k8s.io", "v1", "CSIDriver", "csidrivers", { namespaced: false }),
  resource("storage.k8s.io", "v1", "CSIStorageCapacity", "csistoragecapacities"),
  resource("storage.k8s.io", "v1", "VolumeAttachment", "volumeattachments", { namespaced: false, subresources: [statusOf("storage.k8s.io", "v1", "VolumeAttachment")] }),
  // admissionregistration.k8s.io/v1 (stored only: kubelab calls no webhooks)
  { ...resource("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", { namespaced: false }), categories: ["api-extensions"] },
  { ...resource("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", { namespaced: false }), categories: ["api-extensions"] },
  // apps/v1 ControllerRevisions (the history of DaemonSets and StatefulSets)
  resource("apps", "v1", "ControllerRevision", "controllerrevisions"),

  // MARK api-b resources (core extras, rbac, certificates, authentication, authorization)
  resource("", "v1", "PersistentVolume", "persistentvolumes", { namespaced: false, shortNames: ["pv"], subresources: [statusOf("", "v1", "PersistentVolume")] }),
  resource("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", { shortNames: ["pvc"], subresources: [statusOf("", "v1", "PersistentVolumeClaim")] }),
  resource("", "v1", "ResourceQuota", "resourcequotas", { shortNames: ["quota"], subresources: [statusOf("", "v1", "ResourceQuota")] }),
  resource("", "v1", "LimitRange", "limitranges", { shortNames: ["limits"] }),
  resource("", "v1", "PodTemplate", "podtemplates"),
  resource("", "v1", "ComponentStatus", "componentstatuses", { namespaced: false, shortNames: ["cs"], verbs: ["get", "list"] }),
  resource("rbac.authorization.k8s.io", "v1", "Role", "roles"),
  resource("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
  resource("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", { namespaced: false }),
  resource("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", { namespaced: false }),
  resource("certificates.k8s.io", "v1", "CertificateSigningRequest", "certificatesigningrequests", {
    namespaced: false,
    shortNames: ["csr"],
    subresources: [statusOf("certificates.k8s.io", "v1", "CertificateSigningRequest"), { name: "approval", responseKind: gvk("certificates.k8s.io", "v1", "CertificateSigningRequest"), verbs: ["get", "patch", "update"] }],
  }),
  resource("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", { namespaced: false, verbs: ["create"] }),
  resource("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", { namespaced: false, verbs: ["create"] }),
  resource("authorization.k8s.io", "v1", "LocalSubjectAccessReview", "localsubjectaccessreviews", { verbs: ["create"] }),
  resource("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", { namespaced: false, verbs: ["create"] }),
  resource("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", { namespaced: false, verbs: ["create"] }),
  resource("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews", { namespaced: false, verbs: ["create"] }),

  // MARK top resources (apiregistration.k8s.io)
  resource("apiregistration.k8s.io", "v1", "APIService", "apiservices", { namespaced: false, subresources: [statusOf("apiregistration.k8s.io", "v1", "APIService")] }),

  // apiextensions.k8s.io/v1 (crd helper): the resources CRDs define are served at runtime (apiserver/registry/apiextensions/)
  { ...resource("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", { namespaced: false, shortNames: ["crd", "crds"], subresources: [statusOf("apiextensions.k8s.io", "v1", "CustomResourceDefinition")] }), categories: ["api-extensions"] },
];

/** Group versions in the order discovery lists them ("" is the legacy core group under /api). */
export const GROUP_VERSIONS: readonly { group: string; version: string }[] = [
  { group: "", version: "v1" },
  { group: "apps", version: "v1" },
  { group: "coordination.k8s.io", version: "v1" },
  { group: "discovery.k8s.io", version: "v1" },
  { group: "events.k8s.io", version: "v1" },
  // MARK api-a group versions
  { group: "batch", version: "v1" },
  { group: "autoscaling", version: "v2" },
  { group: "autoscaling", version: "v1" },
  { group: "policy", version: "v1" },
  { group: "networking.k8s.io", version: "v1" },
  { group: "scheduling.k8s.io", version: "v1" },
  { group: "node.k8s.io", version: "v1" },
  { group: "storage.k8s.io", version: "v1" },
  { group: "admissionregistration.k8s.io", version: "v1" },

  // MARK api-b group versions
  { group: "rbac.authorization.k8s.io", version: "v1" },
  { group: "certificates.k8s.io", version: "v1" },
  { group: "authentication.k8s.io", version: "v1" },
  { group: "authorization.k8s.io", version: "v1" },

  // MARK top group versions
  { group: "apiregistration.k8s.io", version: "v1" },

  { group: "apiextensions.k8s.io", version: "v1" },
];

export function apiVersionOf(info: Pick<ResourceInfo, "group" | "version">): string {
  return info.group === "" ? info.version : `${info.group}/${info.version}`;
}

export function findResource(group: string, version: string, resourceName: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resourceName);
}

export function findResourceByKind(apiVersion: string, kind: string): ResourceInfo | undefined {
  return resourcesByKind().get(kind)?.find((r) => apiVersionOf(r) === apiVersion);
}

/** RESOURCES by kind, in RESOURCES' order: controllers resolve an ownerReference on every event. */
let byKind: Map<string, ResourceInfo[]> | undefined;

function resourcesByKind(): Map<string, ResourceInfo[]> {
  if (byKind) return byKind;
  const m = new Map<string, ResourceInfo[]>();
  for (const r of RESOURCES) {
    const list = m.get(r.kind);
    if (list) list.push(r);
    else m.set(r.kind, [r]);
  }
  byKind = m;
  return m;
}

/** `pods`, or `deployments.apps`: the form Kubernetes uses in error messages ("deployments.apps \"x\" not found"). */
export function qualifiedResource(info: Pick<ResourceInfo, "group" | "resource">): string {
  return info.group === "" ? info.resource : `${info.resource}.${info.group}`;
}
