// Pure builders for what the kubelet writes about its node (Kubernetes' pkg/kubelet/nodestatus setters and
// kubelet_node_status.go): the Node it registers, the patch that adopts an existing one, the status it posts, whether
// that status changed, the events a change is worth, and the Lease it renews. No I/O; times come in as milliseconds.
import { deepEqual } from "../../api/normalize.js";
import { canonicalQuantity, formatQuantity, parseQuantity, quantityFromValue, subtractQuantities, type Quantity } from "../../api/quantity.js";
import { formatMicroTime, formatTime } from "../../api/time.js";
import type { ConditionStatus, ContainerImage, Lease, Node, NodeCondition, NodeStatus, NodeSystemInfo, ResourceList } from "../../api/types/index.js";
import * as cri from "../../client/cri/types.js";

/** nodeInfo.kubeletVersion (and kubeProxyVersion): Kubernetes' version the project models, marked as kubelab's. */
export const KUBELET_VERSION = "v1.32.0-kubelab";
export const NODE_LEASE_NAMESPACE = "kube-node-lease";
export const LABEL_HOSTNAME = "kubernetes.io/hostname";
export const LABEL_OS = "kubernetes.io/os";
export const LABEL_ARCH = "kubernetes.io/arch";
/** The kubelet sets it at registration: attach/detach of volumes is the controller-manager's job. */
export const ANNOTATION_CONTROLLER_MANAGED_ATTACH_DETACH = "volumes.kubernetes.io/controller-managed-attach-detach";

/** Kubernetes' default hard eviction thresholds; allocatable is capacity minus these (no kube/system reserved). */
export const EVICTION_HARD_MEMORY_AVAILABLE_BYTES = 100 * 1024 * 1024;
export const EVICTION_HARD_NODEFS_AVAILABLE_FRACTION = 0.1;
export const EVICTION_HARD_NODEFS_INODES_FREE_FRACTION = 0.05;

/** The facts about the machine the status reports; read once at start (machine.ts) or injected (hollow nodes). */
export interface MachineInfo {
  cpus: number;
  memoryBytes: number;
  /** Size of the filesystem holding the root dir (ephemeral-storage capacity). */
  rootFsBytes: number;
  kernelVersion: string;
  osImage: string;
  operatingSystem: string;
  architecture: string;
  bootID: string;
  machineID: string;
  systemUUID: string;
}

/** Whether an eviction signal is past its hard threshold. */
export interface NodePressure {
  memory: boolean;
  disk: boolean;
  pid: boolean;
}

export const NO_PRESSURE: Readonly<NodePressure> = { memory: false, disk: false, pid: false };

export interface CapacityOverrides {
  cpu?: string;
  memory?: string;
  ephemeralStorage?: string;
  maxPods: number;
}

/**
 * capacity from the machine unless overridden, and allocatable = capacity minus the hard eviction thresholds
 * (memory.available 100Mi, nodefs.available 10%), as Kubernetes computes it with no reservations configured.
 */
export function nodeResources(machine: Readonly<MachineInfo>, overrides: Readonly<CapacityOverrides>, allocatableOverrides: Readonly<Record<string, string>> = {}): { capacity: ResourceList; allocatable: ResourceList } {
  const cpu = overrides.cpu !== undefined ? parseQuantity(overrides.cpu) : quantityFromValue(machine.cpus, "DecimalSI");
  const memory = overrides.memory !== undefined ? parseQuantity(overrides.memory) : quantityFromValue(machine.memoryBytes, "BinarySI");
  const storage = overrides.ephemeralStorage !== undefined ? parseQuantity(overrides.ephemeralStorage) : quantityFromValue(machine.rootFsBytes, "BinarySI");
  const capacity: ResourceList = {
    cpu: formatQuantity(cpu),
    "ephemeral-storage": formatQuantity(storage),
    "hugepages-1Gi": "0",
    "hugepages-2Mi": "0",
    memory: formatQuantity(memory),
    pods: String(overrides.maxPods),
  };
  const storageReserve = quantityFromValue(BigInt(Math.floor(Number(storage.nanos / 1_000_000_000n) * EVICTION_HARD_NODEFS_AVAILABLE_FRACTION)), "BinarySI");
  const allocatable: ResourceList = {
    ...capacity,
    "ephemeral-storage": formatQuantity(notNegative(subtractQuantities(storage, storageReserve))),
    memory: formatQuantity(notNegative(subtractQuantities(memory, quantityFromValue(EVICTION_HARD_MEMORY_AVAILABLE_BYTES, "BinarySI")))),
  };
  for (const [name, value] of Object.entries(allocatableOverrides)) allocatable[name] = canonicalQuantity(value);
  return { capacity, allocatable };
}

function notNegative(q: Quantity): Quantity {
  return q.nanos < 0n ? { ...q, nanos: 0n } : q;
}

/** The kubelet's own labels (always asserted), then --node-labels. */
export function defaultNodeLabels(nodeName: string, machine: Pick<MachineInfo, "operatingSystem" | "architecture">): Record<string, string> {
  return { [LABEL_ARCH]: machine.architecture, [LABEL_HOSTNAME]: nodeName, [LABEL_OS]: machine.operatingSystem };
}

export interface NodeIdentity {
  name: string;
  /** The kubelet's default labels (defaultNodeLabels). */
  defaultLabels: Readonly<Record<string, string>>;
  /** --node-labels. */
  extraLabels: Readonly<Record<string, string>>;
  annotations: Readonly<Record<string, string>>;
  podCidr: string | undefined;
}

/** The Node POSTed at registration (status follows as a patch of nodes/status, like the kubelet's first update). */
export function buildNode(identity: Readonly<NodeIdentity>): Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: identity.name,
      labels: { ...identity.extraLabels, ...identity.defaultLabels },
      annotations: { [ANNOTATION_CONTROLLER_MANAGED_ATTACH_DETACH]: "true", ...identity.annotations },
    },
    spec: identity.podCidr ? { podCIDR: identity.podCidr, podCIDRs: [identity.podCidr] } : {},
  };
}

/**
 * The merge patch that makes an existing Node ours (kubelet_node_status.go on AlreadyExists): the default labels are
 * set back when missing or different; --node-labels and annotations are added only where the key is missing, so an
 * admin's later edit stands; an empty podCIDR gets --pod-cidr. Undefined when nothing needs writing.
 */
export function adoptionPatch(existing: Readonly<Node>, identity: Readonly<NodeIdentity>): { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: { podCIDR: string; podCIDRs: string[] } } | undefined {
  const have = existing.metadata.labels ?? {};
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(identity.extraLabels)) if (!(k in have)) labels[k] = v;
  for (const [k, v] of Object.entries(identity.defaultLabels)) if (have[k] !== v) labels[k] = v;
  const haveAnnotations = existing.metadata.annotations ?? {};
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries({ [ANNOTATION_CONTROLLER_MANAGED_ATTACH_DETACH]: "true", ...identity.annotations })) if (!(k in haveAnnotations)) annotations[k] = v;
  const patch: ReturnType<typeof adoptionPatch> = {};
  if (Object.keys(labels).length > 0 || Object.keys(annotations).length > 0) {
    patch.metadata = {};
    if (Object.keys(labels).length > 0) patch.metadata.labels = labels;
    if (Object.keys(annotations).length > 0) patch.metadata.annotations = annotations;
  }
  if (identity.podCidr && !existing.spec?.podCIDR && (existing.spec?.podCIDRs ?? []).length === 0) patch.spec = { podCIDR: identity.podCidr, podCIDRs: [identity.podCidr] };
  return patch.metadata || patch.spec ? patch : undefined;
}

// ---- runtime readiness ----

/** What the last runtime Status call gave: a response, or a failure (before or after a first success). */
export type RuntimeStatusResult = { status: cri.StatusResponse } | { error: unknown; everSucceeded: boolean };

function describeRuntimeCondition(c: cri.RuntimeCondition | undefined): string {
  return c ? `${c.type}=${String(c.status)} reason:${c.reason} message:${c.message}` : "<nil>";
}

/** The runtime's reasons the node is not Ready, worded as the kubelet's runtimeState errors; [] when ready. */
export function runtimeErrors(result: RuntimeStatusResult): string[] {
  if (!("status" in result)) return [result.everSucceeded ? "container runtime is down" : "container runtime status check may not have completed yet"];
  const find = (type: string): cri.RuntimeCondition | undefined => result.status.conditions.find((c) => c.type === type);
  const errs: string[] = [];
  const runtime = find(cri.RUNTIME_READY);
  if (!runtime?.status) errs.push(`container runtime not ready: ${describeRuntimeCondition(runtime)}`);
  const network = find(cri.NETWORK_READY);
  if (!network?.status) errs.push(`container runtime network not ready: ${describeRuntimeCondition(network)}`);
  return errs;
}

/** Go's errors.NewAggregate(...).Error(): one error as itself, several as "[a, b]". */
export function aggregateMessage(errs: readonly string[]): string {
  return errs.length === 1 ? (errs[0] ?? "") : `[${errs.join(", ")}]`;
}

// ---- conditions ----

/** A condition without its times: what a source (the kubelet, pod routes) decides. */
export interface ConditionState {
  status: ConditionStatus;
  reason: string;
  message: string;
}

interface ConditionWording {
  type: string;
  /** Reason, message and event when the condition is True / False. */
  whenTrue: { reason: string; message: string; event: string };
  whenFalse: { reason: string; message: string; event: string };
}

const PRESSURE_CONDITIONS: readonly (ConditionWording & { signal: keyof NodePressure })[] = [
  {
    type: "MemoryPressure",
    signal: "memory",
    whenTrue: { reason: "KubeletHasInsufficientMemory", message: "kubelet has insufficient memory available", event: "NodeHasInsufficientMemory" },
    whenFalse: { reason: "KubeletHasSufficientMemory", message: "kubelet has sufficient memory available", event: "NodeHasSufficientMemory" },
  },
  {
    type: "DiskPressure",
    signal: "disk",
    whenTrue: { reason: "KubeletHasDiskPressure", message: "kubelet has disk pressure", event: "NodeHasDiskPressure" },
    whenFalse: { reason: "KubeletHasNoDiskPressure", message: "kubelet has no disk pressure", event: "NodeHasNoDiskPressure" },
  },
  {
    type: "PIDPressure",
    signal: "pid",
    whenTrue: { reason: "KubeletHasInsufficientPID", message: "kubelet has insufficient PID available", event: "NodeHasInsufficientPID" },
    whenFalse: { reason: "KubeletHasSufficientPID", message: "kubelet has sufficient PID available", event: "NodeHasSufficientPID" },
  },
];

export const READY_REASON = "KubeletReady";
export const READY_MESSAGE = "kubelet is posting ready status";
export const NOT_READY_REASON = "KubeletNotReady";

/** The conditions the kubelet owns, in Kubernetes' order (NetworkUnavailable, when given, goes first like the route controller's). */
export function kubeletConditions(pressure: Readonly<NodePressure>, readyErrors: readonly string[]): { type: string; state: ConditionState; event: string }[] {
  const out = PRESSURE_CONDITIONS.map((c) => {
    const on = pressure[c.signal];
    const words = on ? c.whenTrue : c.whenFalse;
    return { type: c.type, state: { status: on ? ("True" as const) : ("False" as const), reason: words.reason, message: words.message }, event: words.event };
  });
  out.push(
    readyErrors.length === 0
      ? { type: "Ready", state: { status: "True", reason: READY_REASON, message: READY_MESSAGE }, event: "NodeReady" }
      : { type: "Ready", state: { status: "False", reason: NOT_READY_REASON, message: aggregateMessage(readyErrors) }, event: "NodeNotReady" },
  );
  return out;
}

export interface StatusInputs {
  resources: { capacity: ResourceList; allocatable: ResourceList };
  nodeName: string;
  nodeIP: string;
  kubeletPort: number;
  nodeInfo: NodeSystemInfo;
  pressure: Readonly<NodePressure>;
  /** Why the node is not Ready ([] when it is): runtimeErrors plus anything else the kubelet knows. */
  readyErrors: readonly string[];
  /** NetworkUnavailable as the pod-routes code last set it; absent: the kubelet leaves the condition alone. */
  networkUnavailable?: Readonly<ConditionState> | undefined;
  /** The images on the node (status.images), when the kubelet reports them; see nodeImages. */
  images?: readonly ContainerImage[] | undefined;
}

/** Kubernetes' nodeStatusMaxImages: the largest 50 images are reported. */
export const NODE_STATUS_MAX_IMAGES = 50;

/** Kubernetes' maxNamesPerImageInNodeStatus. */
export const MAX_NAMES_PER_IMAGE = 5;

/** The runtime's ListImages as node images: digests then tags (at most five names), size in bytes. */
export function imagesFromCri(images: readonly cri.Image[]): ContainerImage[] {
  return images.map((i) => ({ names: [...i.repoDigests, ...i.repoTags].slice(0, MAX_NAMES_PER_IMAGE), sizeBytes: i.size }));
}

/** status.images as the kubelet reports them: largest first, at most NODE_STATUS_MAX_IMAGES, nameless ones left out. */
export function nodeImages(images: readonly ContainerImage[]): ContainerImage[] {
  return images
    .filter((i) => (i.names ?? []).length > 0)
    .sort((a, b) => (b.sizeBytes ?? 0) - (a.sizeBytes ?? 0))
    .slice(0, NODE_STATUS_MAX_IMAGES)
    .map((i) => ({ names: [...(i.names ?? [])], ...(i.sizeBytes !== undefined ? { sizeBytes: i.sizeBytes } : {}) }));
}

export function nodeSystemInfo(machine: Readonly<MachineInfo>, runtime: Pick<cri.VersionResponse, "runtimeName" | "runtimeVersion"> | undefined): NodeSystemInfo {
  return {
    machineID: machine.machineID,
    systemUUID: machine.systemUUID,
    bootID: machine.bootID,
    kernelVersion: machine.kernelVersion,
    osImage: machine.osImage,
    containerRuntimeVersion: runtime ? `${runtime.runtimeName}://${runtime.runtimeVersion}` : "",
    kubeletVersion: KUBELET_VERSION,
    kubeProxyVersion: KUBELET_VERSION,
    operatingSystem: machine.operatingSystem,
    architecture: machine.architecture,
  };
}

/**
 * The status the kubelet posts at `nowMs`. A condition keeps its lastTransitionTime from `current` while its status
 * is unchanged (so a Ready=Unknown left by the node lifecycle controller turns True with a new transition time);
 * every posted condition gets `nowMs` as heartbeat.
 */
export function desiredNodeStatus(inputs: Readonly<StatusInputs>, current: Readonly<NodeStatus> | undefined, nowMs: number): NodeStatus {
  const now = formatTime(nowMs);
  const states: { type: string; state: ConditionState }[] = [];
  if (inputs.networkUnavailable) states.push({ type: "NetworkUnavailable", state: inputs.networkUnavailable });
  states.push(...kubeletConditions(inputs.pressure, inputs.readyErrors));
  const conditions = states.map(({ type, state }): NodeCondition => {
    const prev = current?.conditions?.find((c) => c.type === type);
    const kept = prev?.status === state.status ? prev.lastTransitionTime : undefined;
    return { type, status: state.status, lastHeartbeatTime: now, lastTransitionTime: kept ?? now, reason: state.reason, message: state.message };
  });
  const status: NodeStatus = {
    capacity: { ...inputs.resources.capacity },
    allocatable: { ...inputs.resources.allocatable },
    conditions,
    addresses: [
      { type: "InternalIP", address: inputs.nodeIP },
      { type: "Hostname", address: inputs.nodeName },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: inputs.kubeletPort } },
    nodeInfo: { ...inputs.nodeInfo },
  };
  if (inputs.images) status.images = nodeImages(inputs.images);
  return status;
}

/**
 * Whether posting `desired` would change the stored status, heartbeat times aside (Kubernetes' nodeStatusHasChanged):
 * a changed status is posted at once, an unchanged one only every nodeStatusReportFrequency. Only what the kubelet
 * posts is compared: keys others own (extended resources, other conditions) are not its business.
 */
export function nodeStatusChanged(stored: Readonly<NodeStatus> | undefined, desired: Readonly<NodeStatus>): boolean {
  if (!stored) return true;
  for (const c of desired.conditions ?? []) {
    const s = stored.conditions?.find((x) => x.type === c.type);
    if (s?.status !== c.status || s.reason !== c.reason || s.message !== c.message || s.lastTransitionTime !== c.lastTransitionTime) return true;
  }
  const subset = (want: Readonly<Record<string, string>> | undefined, have: Readonly<Record<string, string>> | undefined): boolean =>
    Object.entries(want ?? {}).every(([k, v]) => have?.[k] !== undefined && canonicalOrSelf(have[k]) === canonicalOrSelf(v));
  if (!subset(desired.capacity, stored.capacity) || !subset(desired.allocatable, stored.allocatable)) return true;
  if (desired.images && !deepEqual(stored.images ?? [], desired.images)) return true;
  return !deepEqual(stored.addresses, desired.addresses) || !deepEqual(stored.nodeInfo, desired.nodeInfo) || !deepEqual(stored.daemonEndpoints, desired.daemonEndpoints);
}

function canonicalOrSelf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    return canonicalQuantity(value);
  } catch {
    return value;
  }
}

/**
 * The events a posted status is worth, as the kubelet's setters record them: for each of its conditions whose status
 * differs from the stored one (or is new), its event (NodeHasSufficientMemory, NodeReady, NodeNotReady, …).
 */
export function conditionEvents(stored: Readonly<NodeStatus> | undefined, pressure: Readonly<NodePressure>, readyErrors: readonly string[]): string[] {
  const events: string[] = [];
  for (const c of kubeletConditions(pressure, readyErrors)) {
    const before = stored?.conditions?.find((x) => x.type === c.type);
    if (before?.status !== c.state.status) events.push(c.event);
  }
  return events;
}

/** The strategic merge patch of nodes/<name>/status: conditions and addresses merge by type. */
export function nodeStatusPatch(desired: NodeStatus): { status: NodeStatus } {
  return { status: desired };
}

// ---- the Lease ----

/**
 * The node's Lease renewed at `nowMs`: holder and name are the node, owned by the Node (so deleting the Node collects
 * it), with `current`'s metadata (resourceVersion) so a concurrent writer causes a Conflict instead of being
 * overwritten. An owner reference to an earlier Node of the same name is replaced.
 */
export function buildLease(nodeName: string, nodeUID: string, leaseDurationSeconds: number, nowMs: number, current?: Readonly<Lease>): Lease {
  const owner = { apiVersion: "v1", kind: "Node", name: nodeName, uid: nodeUID };
  const others = (current?.metadata.ownerReferences ?? []).filter((r) => !(r.kind === "Node" && r.apiVersion === "v1"));
  return {
    apiVersion: "coordination.k8s.io/v1",
    kind: "Lease",
    metadata: current ? { ...current.metadata, ownerReferences: [...others, owner] } : { name: nodeName, namespace: NODE_LEASE_NAMESPACE, ownerReferences: [owner] },
    spec: { ...current?.spec, holderIdentity: nodeName, leaseDurationSeconds, renewTime: formatMicroTime(nowMs) },
  };
}
