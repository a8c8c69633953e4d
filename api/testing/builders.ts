// Test builders: small, valid objects with kind and apiVersion, shaped like what a client sends (defaulting and
// server-set metadata are left to the code under test, or to `meta`). Every builder takes an options object;
// `meta` is merged into metadata last, so a test can set uid, resourceVersion, ownerReferences or anything else.
import type { LabelSelector, ObjectMeta } from "../meta.js";
import type {
  ConfigMap,
  Container,
  DaemonSet,
  Deployment,
  Namespace,
  Node,
  NodeCondition,
  Pod,
  PodPhase,
  PodStatus,
  ReplicaSet,
  ResourceList,
  Service,
  ServicePort,
  ServiceType,
  StatefulSet,
  Taint,
  Toleration,
} from "../types/index.js";

export const DEFAULT_IMAGE = "registry.k8s.io/pause:3.10";

interface CommonOptions {
  /** Defaults to "default" for namespaced kinds. */
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Merged into metadata after everything else. */
  meta?: Partial<ObjectMeta>;
}

function metaFor(name: string, opts: CommonOptions, namespaced: boolean): ObjectMeta {
  const meta: ObjectMeta = { name };
  if (namespaced) meta.namespace = opts.namespace ?? "default";
  if (opts.labels) meta.labels = { ...opts.labels };
  if (opts.annotations) meta.annotations = { ...opts.annotations };
  return { ...meta, ...opts.meta };
}

// ---------------------------------------------------------------------------------------------------------------
// Pods

export interface PodOptions extends CommonOptions {
  /** The image of the single default container (named "app"); ignored when `containers` is given. */
  image?: string;
  containers?: Container[];
  nodeName?: string;
  /** cpu/memory requests of the default container. */
  requests?: ResourceList;
  limits?: ResourceList;
  tolerations?: Toleration[];
  nodeSelector?: Record<string, string>;
  restartPolicy?: "Always" | "OnFailure" | "Never";
  /** Sets status.phase; with "Running", containers are running. */
  phase?: PodPhase;
  /** Running and ready: Ready condition True and every container ready (implies phase Running). */
  ready?: boolean;
  podIP?: string;
  /** Extra status fields, merged last. */
  status?: Partial<PodStatus>;
}

export function newPod(name: string, opts: PodOptions = {}): Pod {
  const container: Container = { name: "app", image: opts.image ?? DEFAULT_IMAGE };
  if (opts.requests || opts.limits) {
    container.resources = {};
    if (opts.requests) container.resources.requests = { ...opts.requests };
    if (opts.limits) container.resources.limits = { ...opts.limits };
  }
  const containers = opts.containers ?? [container];
  const pod: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: metaFor(name, opts, true),
    spec: { containers: structuredClone(containers) },
  };
  const spec = pod.spec!;
  if (opts.nodeName !== undefined) spec.nodeName = opts.nodeName;
  if (opts.tolerations) spec.tolerations = structuredClone(opts.tolerations);
  if (opts.nodeSelector) spec.nodeSelector = { ...opts.nodeSelector };
  if (opts.restartPolicy) spec.restartPolicy = opts.restartPolicy;

  const phase = opts.ready ? "Running" : opts.phase;
  if (phase !== undefined || opts.podIP !== undefined || opts.status) {
    const status: PodStatus = {};
    if (phase !== undefined) status.phase = phase;
    if (opts.podIP !== undefined) {
      status.podIP = opts.podIP;
      status.podIPs = [{ ip: opts.podIP }];
    }
    if (phase === "Running") {
      const ready = opts.ready === true;
      status.conditions = [{ type: "Ready", status: ready ? "True" : "False" }];
      status.containerStatuses = containers.map((c) => ({
        name: c.name,
        ready,
        restartCount: 0,
        image: c.image ?? "",
        imageID: "",
        started: true,
        state: { running: { startedAt: "2024-01-01T00:00:00Z" } },
      }));
    }
    pod.status = { ...status, ...opts.status };
  }
  return pod;
}

// ---------------------------------------------------------------------------------------------------------------
// Services

export interface ServiceOptions extends CommonOptions {
  selector?: Record<string, string>;
  /** Port numbers (TCP, targetPort = port) or full ServicePorts. Defaults to [80]. */
  ports?: (number | ServicePort)[];
  type?: ServiceType;
  clusterIP?: string;
}

export function newService(name: string, opts: ServiceOptions = {}): Service {
  const ports = (opts.ports ?? [80]).map((p, i, all): ServicePort => {
    if (typeof p !== "number") return { ...p };
    const port: ServicePort = { port: p, protocol: "TCP", targetPort: p };
    if (all.length > 1) port.name = `port-${i}`;
    return port;
  });
  const svc: Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: metaFor(name, opts, true),
    spec: { ports, selector: { ...(opts.selector ?? { app: name }) } },
  };
  if (opts.type) svc.spec!.type = opts.type;
  if (opts.clusterIP !== undefined) svc.spec!.clusterIP = opts.clusterIP;
  return svc;
}

// ---------------------------------------------------------------------------------------------------------------
// Workloads

export interface WorkloadOptions extends CommonOptions {
  replicas?: number;
  /** The selector's matchLabels and the template's labels. Defaults to {app: name}. */
  selectorLabels?: Record<string, string>;
  image?: string;
  /** The container name; defaults to "app". */
  containerName?: string;
}

function workloadSpec(name: string, opts: WorkloadOptions): { selector: LabelSelector; template: { metadata: ObjectMeta; spec: { containers: Container[] } } } {
  const labels = opts.selectorLabels ?? { app: name };
  return {
    selector: { matchLabels: { ...labels } },
    template: {
      metadata: { labels: { ...labels } },
      spec: { containers: [{ name: opts.containerName ?? "app", image: opts.image ?? DEFAULT_IMAGE }] },
    },
  };
}

export function newDeployment(name: string, opts: WorkloadOptions = {}): Deployment {
  const labels = opts.labels ?? opts.selectorLabels ?? { app: name };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: metaFor(name, { ...opts, labels }, true),
    spec: { replicas: opts.replicas ?? 1, ...workloadSpec(name, opts) },
  };
}

export function newReplicaSet(name: string, opts: WorkloadOptions = {}): ReplicaSet {
  const labels = opts.labels ?? opts.selectorLabels ?? { app: name };
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: metaFor(name, { ...opts, labels }, true),
    spec: { replicas: opts.replicas ?? 1, ...workloadSpec(name, opts) },
  };
}

/** A DaemonSet; `replicas` is ignored (daemon sets run one pod per node). */
export function newDaemonSet(name: string, opts: WorkloadOptions = {}): DaemonSet {
  const labels = opts.labels ?? opts.selectorLabels ?? { app: name };
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: metaFor(name, { ...opts, labels }, true),
    spec: workloadSpec(name, opts),
  };
}

export function newStatefulSet(name: string, opts: WorkloadOptions & { serviceName?: string } = {}): StatefulSet {
  const labels = opts.labels ?? opts.selectorLabels ?? { app: name };
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: metaFor(name, { ...opts, labels }, true),
    spec: { replicas: opts.replicas ?? 1, serviceName: opts.serviceName ?? name, ...workloadSpec(name, opts) },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Nodes, namespaces, config maps

export interface NodeOptions extends Omit<CommonOptions, "namespace"> {
  /** The Ready condition: true (default), false, or "Unknown". */
  ready?: boolean | "Unknown";
  unschedulable?: boolean;
  taints?: Taint[];
  podCIDR?: string;
  internalIP?: string;
  /** Defaults to {cpu: "4", memory: "8Gi", pods: "110"}. */
  capacity?: ResourceList;
  allocatable?: ResourceList;
  kubeletVersion?: string;
}

export function newNode(name: string, opts: NodeOptions = {}): Node {
  const ready = opts.ready ?? true;
  const condition: NodeCondition = {
    type: "Ready",
    status: ready === "Unknown" ? "Unknown" : ready ? "True" : "False",
    reason: ready === true ? "KubeletReady" : ready === false ? "KubeletNotReady" : "NodeStatusUnknown",
  };
  const capacity = opts.capacity ?? { cpu: "4", memory: "8Gi", pods: "110" };
  const node: Node = {
    apiVersion: "v1",
    kind: "Node",
    metadata: metaFor(name, { ...opts, labels: { "kubernetes.io/hostname": name, ...opts.labels } }, false),
    spec: {},
    status: {
      capacity: { ...capacity },
      allocatable: { ...(opts.allocatable ?? capacity) },
      conditions: [condition],
      addresses: [
        { type: "InternalIP", address: opts.internalIP ?? "172.30.0.2" },
        { type: "Hostname", address: name },
      ],
      nodeInfo: { kubeletVersion: opts.kubeletVersion ?? "v1.32.0", operatingSystem: "linux", architecture: "amd64" },
    },
  };
  const spec = node.spec!;
  if (opts.unschedulable) spec.unschedulable = true;
  if (opts.taints) spec.taints = structuredClone(opts.taints);
  if (opts.podCIDR) {
    spec.podCIDR = opts.podCIDR;
    spec.podCIDRs = [opts.podCIDR];
  }
  return node;
}

export interface NamespaceOptions extends Omit<CommonOptions, "namespace"> {
  phase?: "Active" | "Terminating";
}

export function newNamespace(name: string, opts: NamespaceOptions = {}): Namespace {
  const ns: Namespace = { apiVersion: "v1", kind: "Namespace", metadata: metaFor(name, opts, false) };
  if (opts.phase) ns.status = { phase: opts.phase };
  return ns;
}

export interface ConfigMapOptions extends CommonOptions {
  data?: Record<string, string>;
}

export function newConfigMap(name: string, opts: ConfigMapOptions = {}): ConfigMap {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: metaFor(name, opts, true), data: { ...(opts.data ?? {}) } };
}
