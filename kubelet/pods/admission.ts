// Pod admission (Kubernetes' predicateAdmitHandler, pkg/kubelet/lifecycle/predicate.go): before a pod bound to
// this node is started, the kubelet checks it against the Node and the pods it has already admitted — the
// scheduler's GeneralPredicates (resources, node affinity/selector, node name, host ports), untolerated NoExecute
// taints, and the OS. The scheduler checks the same things, but the kubelet is the last word: a pod bound directly
// (spec.nodeName set by its creator) or racing another pod for a host port is rejected here and fails.
import { requiredMatcher } from "../../api/node-selector.js";
import { addResource, emptyResource, hostPortsOf, nodeAllocatable, podRequests, type HostPort, type Resource } from "../../api/pod-resources.js";
import { findUntoleratedTaint } from "../../api/tolerations.js";
import type { Node, Pod } from "../../api/types/index.js";
import { isStaticPod } from "./static-pods.js";

export type AdmitResult = { admit: true } | { admit: false; reason: string; message: string };

/** The label a pod may carry to say which OS it needs (v1.LabelOSStable). */
const OS_LABEL = "kubernetes.io/os";
/** kubelab's kubelet runs on Linux only (Kubernetes compares with runtime.GOOS). */
const NODE_OS = "linux";

/** One failed check, as Kubernetes' PredicateFailureError or InsufficientResourceError. */
type Failure = { predicate: string } | { resource: string; requested: number; used: number; capacity: number };

/**
 * Whether `pod` may run on `node` beside `admitted` (the pods this kubelet admitted before it that are not yet in a
 * terminal phase). When several checks fail, the first is reported, in Kubernetes' order.
 */
export function admitPod(pod: Readonly<Pod>, node: Readonly<Node>, admitted: readonly Readonly<Pod>[]): AdmitResult {
  const failures = generalPredicates(pod, node, admitted);
  const first = failures[0];
  if (first !== undefined) {
    if ("predicate" in first) return { admit: false, reason: first.predicate, message: `Predicate ${first.predicate} failed` };
    return {
      admit: false,
      reason: `OutOf${first.resource}`,
      message: `Node didn't have enough resource: ${first.resource}, requested: ${first.requested}, used: ${first.used}, capacity: ${first.capacity}`,
    };
  }
  const wantedOs = pod.metadata.labels?.[OS_LABEL];
  if (wantedOs !== undefined && wantedOs !== NODE_OS) {
    return { admit: false, reason: "PodOSSelectorNodeLabelDoesNotMatch", message: "Failed to admit pod as the `kubernetes.io/os` label doesn't match node label" };
  }
  const os = pod.spec?.os?.name;
  if (os !== undefined && os !== NODE_OS) {
    return { admit: false, reason: "PodOSNotSupported", message: "Failed to admit pod as the OS field doesn't match node OS" };
  }
  return { admit: true };
}

function generalPredicates(pod: Readonly<Pod>, node: Readonly<Node>, admitted: readonly Readonly<Pod>[]): Failure[] {
  const failures: Failure[] = insufficientResources(pod, node, admitted);
  const matches = requiredMatcher(pod);
  if (matches && !matches(node)) failures.push({ predicate: "NodeAffinity" });
  const nodeName = pod.spec?.nodeName ?? "";
  if (nodeName !== "" && nodeName !== node.metadata.name) failures.push({ predicate: "NodeName" });
  if (hostPortsConflict(hostPortsOf(pod), admitted)) failures.push({ predicate: "NodePorts" });
  // Static pods are not checked against taints (the kubelet itself is their source).
  if (!isStaticPod(pod)) {
    const untolerated = findUntoleratedTaint(node.spec?.taints ?? [], pod.spec?.tolerations ?? [], (t) => t.effect === "NoExecute");
    if (untolerated) failures.push({ predicate: "TaintToleration" });
  }
  return failures;
}

/**
 * NodeResourcesFit: one more pod must fit allocatable pods, and each requested resource what allocatable leaves
 * after the admitted pods' requests. Extended resources (vendor-domain names) the node does not advertise are
 * ignored: they may be cluster-level resources the node knows nothing of.
 */
function insufficientResources(pod: Readonly<Pod>, node: Readonly<Node>, admitted: readonly Readonly<Pod>[]): Failure[] {
  const failures: Failure[] = [];
  const { resources: allocatable, pods: allowedPods } = nodeAllocatable(node);
  if (admitted.length + 1 > allowedPods) failures.push({ resource: "pods", requested: 1, used: admitted.length, capacity: allowedPods });
  const wanted = requestsOf(pod);
  const used = emptyResource();
  for (const p of admitted) addResource(used, requestsOf(p));
  const check = (resource: string, requested: number, usedAmount: number, capacity: number): void => {
    if (requested > 0 && requested > capacity - usedAmount) failures.push({ resource, requested, used: usedAmount, capacity });
  };
  check("cpu", wanted.milliCPU, used.milliCPU, allocatable.milliCPU);
  check("memory", wanted.memory, used.memory, allocatable.memory);
  check("ephemeral-storage", wanted.ephemeralStorage, used.ephemeralStorage, allocatable.ephemeralStorage);
  for (const [name, requested] of wanted.scalar) {
    const capacity = allocatable.scalar.get(name);
    if (capacity === undefined && isExtendedResourceName(name)) continue;
    check(name, requested, used.scalar.get(name) ?? 0, capacity ?? 0);
  }
  return failures;
}

/**
 * The requests of frozen pod specs (the informer's copies), computed once: each admission adds up those of every
 * pod admitted before it. Callers only read the result.
 */
const specRequests = new WeakMap<object, Resource>();

function requestsOf(pod: Readonly<Pod>): Readonly<Resource> {
  const spec = pod.spec;
  const cached = spec ? specRequests.get(spec) : undefined;
  if (cached) return cached;
  const requests = podRequests(spec?.containers ?? [], spec?.initContainers ?? [], false);
  if (spec && Object.isFrozen(spec)) specRequests.set(spec, requests);
  return requests;
}

/** A resource outside the kubernetes.io domain (Kubernetes' IsExtendedResourceName, without the quota prefix case). */
function isExtendedResourceName(name: string): boolean {
  return name.includes("/") && !name.includes("kubernetes.io/") && !name.startsWith("requests.");
}

/** Whether a wanted host port is taken: same protocol and port, and the IPs overlap ("0.0.0.0" overlaps all). */
function hostPortsConflict(wanted: readonly HostPort[], admitted: readonly Readonly<Pod>[]): boolean {
  if (wanted.length === 0) return false;
  for (const other of admitted) {
    for (const used of hostPortsOf(other)) {
      for (const p of wanted) {
        if (p.protocol !== used.protocol || p.port !== used.port) continue;
        if (p.ip === "0.0.0.0" || used.ip === "0.0.0.0" || p.ip === used.ip) return true;
      }
    }
  }
  return false;
}
