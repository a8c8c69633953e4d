// NodeRestriction (off unless --enable-admission-plugins names it): what a kubelet (system:node:<name> in
// system:nodes) may write, as Kubernetes' plugin limits it. Its own Node only, without changing taints or setting
// labels a node must not steer workloads with (node-restriction.kubernetes.io/, and kubernetes.io / k8s.io labels
// other than the kubelet's own); pods only as mirror pods bound to itself that use no secrets, configmaps,
// claims or service account, deletes and status updates only of pods bound to it; its own node lease and
// CSINode. Requests of anyone else pass untouched.
import { forbidden } from "../../api/errors.js";
import type { KubeObject } from "../../api/meta.js";
import { isRecord } from "../../api/meta.js";
import { qualifiedResource } from "../../api/resources.js";
import { deepEqual } from "../../api/normalize.js";
import { nodeIdentity } from "../auth/node/node-authorizer.js";
import { podReferences } from "../auth/node/graph.js";
import type { AdmissionPlugin, WriteAdmissionAttributes } from "./admission.js";

const MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror";
const NODE_LEASE_NAMESPACE = "kube-node-lease";
const NODE_RESTRICTION_LABEL_NAMESPACE = "node-restriction.kubernetes.io";
/** Labels a kubelet may set on its Node (Kubernetes' kubelet well-known labels) and the namespaces it owns. */
const KUBELET_LABELS = new Set([
  "kubernetes.io/hostname",
  "topology.kubernetes.io/zone",
  "topology.kubernetes.io/region",
  "failure-domain.beta.kubernetes.io/zone",
  "failure-domain.beta.kubernetes.io/region",
  "beta.kubernetes.io/instance-type",
  "node.kubernetes.io/instance-type",
  "kubernetes.io/os",
  "kubernetes.io/arch",
  "beta.kubernetes.io/os",
  "beta.kubernetes.io/arch",
]);
const KUBELET_LABEL_NAMESPACES = ["kubelet.kubernetes.io", "node.kubernetes.io"];

function labelNamespace(key: string): string {
  const slash = key.indexOf("/");
  return slash < 0 ? "" : key.slice(0, slash);
}

const within = (namespace: string, domain: string): boolean => namespace === domain || namespace.endsWith(`.${domain}`);

function isKubeletLabel(key: string): boolean {
  return KUBELET_LABELS.has(key) || KUBELET_LABEL_NAMESPACES.some((d) => within(labelNamespace(key), d));
}

/** Labels added, removed or changed between `a` and `b` that a node may not touch, sorted. */
export function forbiddenLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): string[] {
  const before = b ?? {};
  const after = a ?? {};
  const modified = new Set<string>();
  for (const [k, v] of Object.entries(after)) if (before[k] !== v) modified.add(k);
  for (const [k, v] of Object.entries(before)) if (after[k] !== v) modified.add(k);
  const out: string[] = [];
  for (const key of modified) {
    const ns = labelNamespace(key);
    const kubernetes = within(ns, "kubernetes.io") || within(ns, "k8s.io");
    if (within(ns, NODE_RESTRICTION_LABEL_NAMESPACE) || (kubernetes && !isKubeletLabel(key))) out.push(key);
  }
  return out.sort();
}

function specOf(object: KubeObject | undefined): Record<string, unknown> {
  return isRecord(object?.spec) ? object.spec : {};
}

function nodeNameOf(pod: KubeObject | undefined): string {
  const name = specOf(pod).nodeName;
  return typeof name === "string" ? name : "";
}

export function nodeRestrictionPlugin(): AdmissionPlugin {
  return {
    name: "NodeRestriction",
    enabledByDefault: false,
    admitWrite: (a) => {
      admit(a);
      return Promise.resolve();
    },
  };
}

function admit(a: WriteAdmissionAttributes): void {
  if (!a.user) return;
  const node = nodeIdentity(a.user);
  if (node === undefined) return;
  const name = a.name !== "" ? a.name : (a.object?.metadata.name ?? "");
  const refuse = (why: string): never => {
    throw forbidden(qualifiedResource(a.info), name, why);
  };
  if (node === "") refuse(`could not determine node from user ${JSON.stringify(a.user.username ?? "")}`);
  const { group, resource } = a.info;
  if (group === "" && resource === "pods") admitPod(node, a, refuse);
  else if (group === "" && resource === "nodes") admitNode(node, name, a, refuse);
  else if (group === "coordination.k8s.io" && resource === "leases") {
    if (a.namespace !== NODE_LEASE_NAMESPACE) refuse(`can only access leases in the ${JSON.stringify(NODE_LEASE_NAMESPACE)} system namespace`);
    if (name !== node) refuse("can only access node lease with the same name as the requesting node");
  } else if (group === "storage.k8s.io" && resource === "csinodes") {
    if (name !== node) refuse("can only access CSINode with the same name as the requesting node");
  }
}

function admitPod(node: string, a: WriteAdmissionAttributes, refuse: (why: string) => never): void {
  const quoted = JSON.stringify(node);
  if (a.subresource === "status") {
    if (a.operation !== "UPDATE") refuse(`unexpected operation ${JSON.stringify(a.operation)}`);
    if (nodeNameOf(a.oldObject) !== node) refuse(`node ${quoted} can only update pod status for pods with spec.nodeName set to itself`);
    if (!deepEqual(a.object?.metadata.labels ?? {}, a.oldObject?.metadata.labels ?? {})) refuse(`node ${quoted} cannot update labels through pod status`);
    return;
  }
  if (a.subresource !== "") refuse(`unexpected pod subresource ${JSON.stringify(a.subresource)}, only 'status' and 'eviction' are allowed`);
  if (a.operation === "DELETE") {
    if (nodeNameOf(a.oldObject) !== node) refuse(`node ${quoted} can only delete pods with spec.nodeName set to itself`);
    return;
  }
  if (a.operation !== "CREATE") refuse(`unexpected operation ${JSON.stringify(a.operation)}, node ${quoted} can only create and delete mirror pods`);
  const pod = a.object;
  if (pod?.metadata.annotations?.[MIRROR_POD_ANNOTATION] === undefined) refuse(`pod does not have ${JSON.stringify(MIRROR_POD_ANNOTATION)} annotation, node ${quoted} can only create mirror pods`);
  if (nodeNameOf(pod) !== node) refuse(`node ${quoted} can only create pods with spec.nodeName set to itself`);
  const owners = pod?.metadata.ownerReferences ?? [];
  if (owners.length > 1) refuse(`node ${quoted} can only create pods with a single owner reference set to itself`);
  const owner = owners[0];
  if (owner) {
    if (owner.apiVersion !== "v1" || owner.kind !== "Node" || owner.name !== node) refuse(`node ${quoted} can only create pods with an owner reference set to itself`);
    if (owner.controller !== true) refuse(`node ${quoted} can only create pods with a controller owner reference set to itself`);
    if (owner.blockOwnerDeletion === true) refuse(`node ${quoted} must not set blockOwnerDeletion on an owner reference`);
  }
  // A mirror pod must not give its node a path to other objects (the Node authorizer's graph ignores them too).
  // kubelab's pod defaulting names the `default` account on every pod (Kubernetes' ServiceAccount admission skips
  // mirror pods); the graph gives mirror pods nothing anyway, so only another account is refused.
  const refs = (pod ? podReferences(pod) : []).filter((r) => !(r.type === "serviceaccount" && r.name === "default"));
  if (refs.some((r) => r.type === "serviceaccount")) refuse(`node ${quoted} can not create pods that reference a service account`);
  if (refs.some((r) => r.type === "secret")) refuse(`node ${quoted} can not create pods that reference secrets`);
  if (refs.some((r) => r.type === "configmap")) refuse(`node ${quoted} can not create pods that reference configmaps`);
  if (refs.some((r) => r.type === "persistentvolumeclaim")) refuse(`node ${quoted} can not create pods that reference persistentvolumeclaims`);
}

function admitNode(node: string, name: string, a: WriteAdmissionAttributes, refuse: (why: string) => never): void {
  const quoted = JSON.stringify(node);
  if (name !== node) refuse(`node ${quoted} is not allowed to modify node ${JSON.stringify(name)}`);
  if (a.operation === "CREATE") {
    const bad = forbiddenLabels(a.object?.metadata.labels, undefined);
    if (bad.length > 0) refuse(`node ${quoted} is not allowed to set the following labels: ${bad.join(", ")}`);
  }
  if (a.operation === "UPDATE") {
    if (!deepEqual(specOf(a.object).taints ?? [], specOf(a.oldObject).taints ?? [])) refuse(`node ${quoted} is not allowed to modify taints`);
    const bad = forbiddenLabels(a.object?.metadata.labels, a.oldObject?.metadata.labels);
    if (bad.length > 0) refuse(`is not allowed to modify labels: ${bad.join(", ")}`);
  }
}
