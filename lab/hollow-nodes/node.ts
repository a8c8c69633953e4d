// Pure builders for what a hollow kubelet writes about its node: the Node it registers, the status it posts, and
// the Lease it renews in kube-node-lease. No I/O; times come in as milliseconds.
import { deepEqual } from "../../api/normalize.js";
import { formatMicroTime, formatTime } from "../../api/time.js";
import type { Lease, Node, NodeCondition, NodeStatus } from "../../api/types/index.js";
import { fnv1a } from "./pod-ips.js";

export const KUBELET_VERSION = "v1.32.0-kubelab";
export const CONTAINER_RUNTIME_VERSION = "hollow://1.0";
export const OS_IMAGE = "kubelab hollow node";
export const KERNEL_VERSION = "6.1.0-kubelab-hollow";
export const KUBELET_PORT = 10250;
export const NODE_LEASE_NAMESPACE = "kube-node-lease";
/** Every node this simulator registers carries it, so `kubectl get nodes -l type=hollow` finds them. */
export const HOLLOW_LABELS: Readonly<Record<string, string>> = {
  "kubernetes.io/os": "linux",
  "kubernetes.io/arch": "amd64",
  "node.kubernetes.io/instance-type": "hollow",
  type: "hollow",
};

/** What every node of one process shares. */
export interface NodeTemplate {
  capacity: Readonly<Record<string, string>>;
  /** Extra labels (--labels). */
  labels: Readonly<Record<string, string>>;
  /** Changes when the process restarts (a node that died and came back rebooted). */
  bootID: string;
}

export function nodeNameFor(prefix: string, index: number): string {
  return `${prefix}-${index}`;
}

/**
 * The node's InternalIP: a made-up address in the lab's node network 172.30.0.0/16, starting at 172.30.128.1 so it
 * never collides with real lab nodes at the bottom of the range; 254 per /24 (no .0 or .255). Never routed.
 */
export function internalIPFor(index: number): string {
  const block = Math.floor(index / 254) % 128;
  return `172.30.${128 + block}.${(index % 254) + 1}`;
}

/** The node's labels: the kubelet's well-known ones, the hollow ones, then --labels. */
export function nodeLabels(name: string, template: NodeTemplate): Record<string, string> {
  return { "kubernetes.io/hostname": name, ...HOLLOW_LABELS, ...template.labels };
}

/** The Node to POST at registration. */
export function buildNode(name: string, index: number, template: NodeTemplate, nowMs: number): Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      labels: nodeLabels(name, template),
      annotations: { "node.alpha.kubernetes.io/ttl": "0", "kubelab.io/hollow-node": "true" },
    },
    spec: {},
    status: desiredNodeStatus(name, index, template, nowMs, undefined),
  };
}

const CONDITIONS: readonly Omit<NodeCondition, "lastHeartbeatTime" | "lastTransitionTime">[] = [
  { type: "MemoryPressure", status: "False", reason: "KubeletHasSufficientMemory", message: "kubelet has sufficient memory available" },
  { type: "DiskPressure", status: "False", reason: "KubeletHasNoDiskPressure", message: "kubelet has no disk pressure" },
  { type: "PIDPressure", status: "False", reason: "KubeletHasSufficientPID", message: "kubelet has sufficient PID available" },
  { type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status" },
];

/**
 * The status the kubelet posts: capacity, conditions with heartbeat `nowMs`, addresses, nodeInfo, daemon endpoints.
 * A condition keeps its lastTransitionTime from `current` while its status is unchanged (so a Ready=Unknown left by
 * the node lifecycle controller turns True with a new transition time).
 */
export function desiredNodeStatus(name: string, index: number, template: NodeTemplate, nowMs: number, current: Readonly<NodeStatus> | undefined): NodeStatus {
  const now = formatTime(nowMs);
  const conditions = CONDITIONS.map((c): NodeCondition => {
    const prev = current?.conditions?.find((p) => p.type === c.type);
    return { ...c, lastHeartbeatTime: now, lastTransitionTime: prev?.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : now };
  });
  const hash = fnv1a(name).toString(16).padStart(8, "0");
  const machineID = `${hash}${"0".repeat(24)}`;
  return {
    capacity: { ...template.capacity },
    allocatable: { ...template.capacity },
    conditions,
    addresses: [
      { type: "InternalIP", address: internalIPFor(index) },
      { type: "Hostname", address: name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: KUBELET_PORT } },
    nodeInfo: {
      machineID,
      systemUUID: `${hash}-0000-4000-8000-${String(index).padStart(12, "0").slice(-12)}`,
      bootID: template.bootID,
      kernelVersion: KERNEL_VERSION,
      osImage: OS_IMAGE,
      containerRuntimeVersion: CONTAINER_RUNTIME_VERSION,
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: KUBELET_VERSION,
      operatingSystem: "linux",
      architecture: "amd64",
    },
  };
}

/** The strategic merge patch of nodes/<name>/status that posts `desired` (conditions merge by type). */
export function nodeStatusPatch(desired: NodeStatus): { status: NodeStatus } {
  return { status: desired };
}

/**
 * Whether the stored status differs from what the kubelet would post, heartbeat times aside: the kubelet posts a
 * changed status at once and an unchanged one only every nodeStatusReportFrequency.
 */
export function nodeStatusChanged(stored: Readonly<NodeStatus> | undefined, desired: Readonly<NodeStatus>): boolean {
  if (!stored) return true;
  const strip = (conditions: readonly NodeCondition[] | undefined): unknown =>
    CONDITIONS.map((c) => {
      const found = conditions?.find((x) => x.type === c.type);
      return found ? { type: found.type, status: found.status, reason: found.reason, message: found.message } : undefined;
    });
  return (
    !deepEqual(strip(stored.conditions), strip(desired.conditions)) ||
    !deepEqual(stored.capacity, desired.capacity) ||
    !deepEqual(stored.allocatable, desired.allocatable) ||
    !deepEqual(stored.addresses, desired.addresses) ||
    !deepEqual(stored.nodeInfo, desired.nodeInfo) ||
    !deepEqual(stored.daemonEndpoints, desired.daemonEndpoints)
  );
}

/** Labels from `want` that the node lacks or has with another value (re-asserted on adoption, like the kubelet). */
export function missingLabels(node: Readonly<Node>, want: Readonly<Record<string, string>>): Record<string, string> | undefined {
  const have = node.metadata.labels ?? {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(want)) if (have[k] !== v) out[k] = v;
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * The node's Lease renewed at `nowMs`: holder and name are the node, owned by the Node (so deleting the Node
 * collects it), with `current`'s resourceVersion so a concurrent writer causes a Conflict instead of being overwritten.
 */
export function buildLease(nodeName: string, nodeUID: string, leaseDurationSeconds: number, nowMs: number, current?: Readonly<Lease>): Lease {
  const ownerReferences = [{ apiVersion: "v1", kind: "Node", name: nodeName, uid: nodeUID }];
  const lease: Lease = {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: current
      ? { ...current.metadata, ownerReferences: [...(current.metadata.ownerReferences ?? []).filter((r) => r.kind !== "Node" || r.apiVersion !== "v1"), ...ownerReferences] }
      : { name: nodeName, namespace: NODE_LEASE_NAMESPACE, ownerReferences },
    spec: { ...current?.spec, holderIdentity: nodeName, leaseDurationSeconds, renewTime: formatMicroTime(nowMs) },
  };
  return lease;
}
