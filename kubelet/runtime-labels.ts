// The labels and annotations the kubelet puts on CRI sandboxes and containers, with Kubernetes' names, so the
// kubelet finds its pods' containers again after a restart (adoption) and its server maps a pod's container to a
// runtime container; `crictl ps` on a kubelab node reads like one on a Kubernetes node.
export const POD_NAME_LABEL = "io.kubernetes.pod.name";
export const POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace";
export const POD_UID_LABEL = "io.kubernetes.pod.uid";
export const CONTAINER_NAME_LABEL = "io.kubernetes.container.name";
/** On sandboxes: "true" marks one the kubelet made (Kubernetes' "io.kubernetes.container.name": "POD" too). */
export const KUBERNETES_MANAGED_LABEL = "io.kubernetes.managed";

export const CONTAINER_HASH_ANNOTATION = "io.kubernetes.container.hash";
export const CONTAINER_RESTART_COUNT_ANNOTATION = "io.kubernetes.container.restartCount";
export const CONTAINER_TERMINATION_MESSAGE_PATH_ANNOTATION = "io.kubernetes.container.terminationMessagePath";
export const CONTAINER_TERMINATION_MESSAGE_POLICY_ANNOTATION = "io.kubernetes.container.terminationMessagePolicy";
export const POD_TERMINATION_GRACE_PERIOD_ANNOTATION = "io.kubernetes.pod.terminationGracePeriod";
export const CONTAINER_PORTS_ANNOTATION = "io.kubernetes.container.ports";
