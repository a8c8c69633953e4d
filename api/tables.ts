// Server-side Table printing (meta.k8s.io/v1 Table), the analog of Kubernetes' pkg/printers/internalversion: what
// `kubectl get` shows. Columns, their order, types and priorities, and the text of every cell follow kubectl's own printers;
// the server always sends the wide (-o wide) columns and kubectl hides those with priority 1.
import { ageSince, humanDuration } from "./duration.js";
import { formatLabels, selectorFromLabelSelector } from "./labels.js";
import { isRecord, type KubeObject, type LabelSelector, type ListMeta, type ObjectMeta } from "./meta.js";
import { apiVersionOf, type ResourceInfo } from "./resources.js";
import { parseTime } from "./time.js";
import type {
  ConfigMap,
  Container,
  ContainerStatus,
  CoreEvent,
  DaemonSet,
  Deployment,
  EndpointSlice,
  Endpoints,
  APIService,
  Lease,
  Namespace,
  Node,
  Pod,
  PodTemplateSpec,
  ReplicaSet,
  ReplicationController,
  Secret,
  Service,
  ServiceAccount,
  StatefulSet,
} from "./types/index.js";
import { toCoreEvent } from "./events-conversion.js";
import { ACCESS_PRINTERS } from "./printers/access.js";
import { GROUP_PRINTERS } from "./printers/groups.js";
import { formatLabelSelector } from "./printers/printer.js";
import { CORE_CLAIM_PRINTERS } from "./printers/core-claims.js";
import type { KindPrinter } from "./printers/printer.js";

export interface TableColumnDefinition {
  /** Shown upper-cased as the header. */
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  /** "name" marks the column kubectl prefixes with `kind/` and decorates; "" otherwise. */
  format: string;
  description: string;
  /** 0 always shown; 1 only with `-o wide`. */
  priority: number;
}

export interface TableRowCondition {
  type: "Completed";
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
}

export interface TableRow {
  cells: unknown[];
  conditions?: TableRowCondition[];
  /** PartialObjectMetadata or the full object, per includeObject; null for None (as Kubernetes writes it). */
  object?: unknown;
}

export interface Table {
  kind: "Table";
  apiVersion: string;
  metadata: ListMeta;
  /** null in watch events after the first (Kubernetes' NoHeaders: a nil slice, `null` in JSON). */
  columnDefinitions: TableColumnDefinition[] | null;
  rows: TableRow[];
}

export interface TableOptions {
  /** What each row carries in `object` (kubectl's includeObject parameter; Metadata by default). */
  includeObject: "Metadata" | "Object" | "None";
  /** False for watch events after the first, which upstream sends with `columnDefinitions: null`. */
  withColumns: boolean;
  resourceVersion?: string;
  continue?: string;
  /** Prints the rows and columns instead of the kind's own printer (custom resources' printer columns). */
  printer?: KindPrinter;
  /** The Table's apiVersion, also that of the rows' PartialObjectMetadata (meta.k8s.io/v1 unless given). */
  apiVersion?: string;
}

// ---------------------------------------------------------------------------------------------------------------
// Column definitions

type ColumnType = TableColumnDefinition["type"];

function col(name: string, type: ColumnType, description: string, priority = 0): TableColumnDefinition {
  return { name, type, format: "", description, priority };
}

const NAME_DOC =
  "Name must be unique within a namespace. It is required when creating resources and cannot be updated.";
const NAME = { ...col("Name", "string", NAME_DOC), format: "name" };
const AGE = col(
  "Age",
  "string",
  "CreationTimestamp is a timestamp representing the server time when this object was created, shown as the time since then.",
);
const CONTAINERS = col("Containers", "string", "Names of each container in the template.", 1);
const IMAGES = col("Images", "string", "Images referenced by each container in the template.", 1);
const SELECTOR = (doc: string): TableColumnDefinition => col("Selector", "string", doc, 1);

const COLUMNS: Readonly<Record<string, readonly TableColumnDefinition[]>> = {
  // printScale's: a Scale subresource asked for as a Table (its Name column has no `name` format).
  "autoscaling/Scale": [
    col("Name", "string", NAME_DOC),
    col("Desired", "integer", "replicas is the desired number of instances for the scaled object."),
    col("Available", "integer", "replicas is the actual number of observed instances of the scaled object."),
    AGE,
  ],
  "/Pod": [
    NAME,
    col("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
    col("Status", "string", "The aggregate status of the containers in this pod."),
    col("Restarts", "string", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
    AGE,
    col("IP", "string", "The IP address allocated to the pod, routable at least within the cluster.", 1),
    col("Node", "string", "The node the pod is bound to.", 1),
    col("Nominated Node", "string", "The node the scheduler preempted other pods on to make room for this pod.", 1),
    col("Readiness Gates", "string", "The readiness gates of the pod, as true conditions over all gates.", 1),
  ],
  "apps/Deployment": [
    NAME,
    col("Ready", "string", "Ready replicas over desired replicas."),
    col("Up-to-date", "integer", "Total number of non-terminated pods targeted by this deployment that have the desired template spec."),
    col("Available", "integer", "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR("Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment."),
  ],
  "apps/ReplicaSet": [
    NAME,
    col("Desired", "integer", "Replicas is the number of desired replicas."),
    col("Current", "integer", "Replicas is the most recently observed number of replicas."),
    col("Ready", "integer", "The number of ready replicas for this replica set."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR("Selector is a label query over pods that should match the replica count."),
  ],
  "/ReplicationController": [
    NAME,
    col("Desired", "integer", "Replicas is the number of desired replicas."),
    col("Current", "integer", "Replicas is the most recently observed number of replicas."),
    col("Ready", "integer", "The number of ready replicas for this replication controller."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR("Selector is a label query over pods that should match the Replicas count."),
  ],
  "/Service": [
    NAME,
    col("Type", "string", "Type determines how the Service is exposed: ClusterIP, NodePort, LoadBalancer or ExternalName."),
    col("Cluster-IP", "string", "The IP address of the service, usually assigned randomly by the master."),
    col("External-IP", "string", "IP addresses for which nodes in the cluster will also accept traffic for this service."),
    col("Port(s)", "string", "The list of ports exposed by this service."),
    AGE,
    SELECTOR("Route service traffic to pods with label keys and values matching this selector."),
  ],
  "/Node": [
    NAME,
    col("Status", "string", "The status of the node"),
    col("Roles", "string", "The roles of the node"),
    AGE,
    col("Version", "string", "Kubelet Version reported by the node."),
    col("Internal-IP", "string", "List of addresses reachable to the node.", 1),
    col("External-IP", "string", "List of addresses reachable to the node.", 1),
    col("OS-Image", "string", "OS Image reported by the node from /etc/os-release.", 1),
    col("Kernel-Version", "string", "Kernel Version reported by the node from 'uname -r'.", 1),
    col("Container-Runtime", "string", "ContainerRuntime Version reported by the node through runtime remote API.", 1),
  ],
  "/Namespace": [NAME, col("Status", "string", "The status of the namespace"), AGE],
  "/Event": eventColumns(),
  "events.k8s.io/Event": eventColumns(),
  "/ConfigMap": [NAME, col("Data", "string", "Number of keys in data and binaryData."), AGE],
  "/Secret": [
    NAME,
    col("Type", "string", "Used to facilitate programmatic handling of secret data."),
    col("Data", "string", "Number of keys in data."),
    AGE,
  ],
  "/ServiceAccount": [NAME, col("Secrets", "string", "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use."), AGE],
  "/Endpoints": [NAME, col("Endpoints", "string", "The set of all endpoints is the union of all subsets."), AGE],
  "apps/DaemonSet": [
    NAME,
    col("Desired", "integer", "The total number of nodes that should be running the daemon pod."),
    col("Current", "integer", "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod."),
    col("Ready", "integer", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready."),
    col("Up-to-date", "integer", "The total number of nodes that are running updated daemon pod."),
    col("Available", "integer", "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available."),
    col("Node Selector", "string", "NodeSelector is a selector which must be true for the pod to fit on a node."),
    AGE,
    CONTAINERS,
    IMAGES,
    SELECTOR("A label query over pods that are managed by the daemon set."),
  ],
  "apps/StatefulSet": [NAME, col("Ready", "string", "Number of the pod with ready state"), AGE, CONTAINERS, IMAGES],
  "apiregistration.k8s.io/APIService": [
    NAME,
    col("Service", "string", "The reference to the service that hosts this API endpoint."),
    col("Available", "string", "Whether this service is available."),
    AGE,
  ],
  "coordination.k8s.io/Lease": [NAME, col("Holder", "string", "HolderIdentity contains the identity of the holder of a current lease."), AGE],
  "discovery.k8s.io/EndpointSlice": [
    NAME,
    col("AddressType", "string", "The type of address carried by this EndpointSlice: IPv4, IPv6 or FQDN."),
    col("Ports", "string", "Ports is the list of network ports exposed by each endpoint in this slice."),
    col("Endpoints", "string", "Endpoints is the list of unique endpoints in this slice."),
    AGE,
  ],
};

/** Core and events.k8s.io events share one layout; the wide columns sit between the others in this exact order. */
function eventColumns(): TableColumnDefinition[] {
  return [
    col("Last Seen", "string", "The time at which the most recent occurrence of this event was recorded."),
    col("Type", "string", "Type of this event (Normal, Warning)."),
    col("Reason", "string", "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
    col("Object", "string", "The object that this event is about."),
    col("Subobject", "string", "The piece of the object this event is about, as a field path (e.g. spec.containers{name}).", 1),
    col("Source", "string", "The component reporting this event.", 1),
    col("Message", "string", "A human-readable description of the status of this operation."),
    col("First Seen", "string", "The time at which the event was first recorded.", 1),
    col("Count", "string", "The number of times this event has occurred.", 1),
    { ...col("Name", "string", NAME_DOC, 1), format: "name" },
  ];
}

/** Kubernetes' default table for kinds without a printer. */
const DEFAULT_COLUMNS: readonly TableColumnDefinition[] = [
  NAME,
  col("Created At", "date", "CreationTimestamp is a timestamp representing the server time when this object was created."),
];

/** Printers of kind families kept in api/printers/, by `group/Kind`. */
const PRINTERS: Readonly<Record<string, KindPrinter>> = {
  ...CORE_CLAIM_PRINTERS,
  ...ACCESS_PRINTERS,
  ...GROUP_PRINTERS,
};

/** The columns of `info`'s table, wide ones included (priority 1). A fresh copy the caller may keep. */
export function tableColumns(info: ResourceInfo): TableColumnDefinition[] {
  const key = `${info.group}/${info.kind}`;
  return (PRINTERS[key]?.columns ?? COLUMNS[key] ?? DEFAULT_COLUMNS).map((c) => ({ ...c }));
}

// ---------------------------------------------------------------------------------------------------------------
// Rows

/** The cells of `obj`'s row, one per column of tableColumns(info), as seen at `now` (ms since the epoch). */
export function tableRow(info: ResourceInfo, obj: KubeObject, now: number): unknown[] {
  const name = obj.metadata.name ?? "";
  const age = ageSince(obj.metadata.creationTimestamp, now);
  const printer = PRINTERS[`${info.group}/${info.kind}`];
  if (printer) return printer.cells(obj, now);
  switch (`${info.group}/${info.kind}`) {
    case "/Pod":
      return podCells(obj, now);
    case "autoscaling/Scale": {
      const scale = obj as { spec?: { replicas?: number }; status?: { replicas?: number } };
      return [name, num(scale.spec?.replicas), num(scale.status?.replicas), age];
    }
    case "apps/Deployment": {
      const d = obj as Deployment;
      const template = templateCells(d.spec?.template);
      return [name, `${num(d.status?.readyReplicas)}/${num(d.spec?.replicas)}`, num(d.status?.updatedReplicas), num(d.status?.availableReplicas), age, ...template, selectorString(d.spec?.selector)];
    }
    case "apps/ReplicaSet": {
      const rs = obj as ReplicaSet;
      return [name, num(rs.spec?.replicas), num(rs.status?.replicas), num(rs.status?.readyReplicas), age, ...templateCells(rs.spec?.template), selectorString(rs.spec?.selector)];
    }
    case "/ReplicationController": {
      const rc = obj as ReplicationController;
      return [name, num(rc.spec?.replicas), num(rc.status?.replicas), num(rc.status?.readyReplicas), age, ...templateCells(rc.spec?.template), formatLabels(rc.spec?.selector)];
    }
    case "/Service":
      return serviceCells(obj, name, age);
    case "/Node":
      return nodeCells(obj, name, age);
    case "/Namespace":
      return [name, (obj as Namespace).status?.phase ?? "", age];
    case "/Event":
      return eventCells(obj as CoreEvent, now);
    case "events.k8s.io/Event":
      return eventCells(toCoreEvent(obj), now);
    case "/ConfigMap": {
      const cm = obj as ConfigMap;
      return [name, keyCount(cm.data) + keyCount(cm.binaryData), age];
    }
    case "/Secret": {
      const s = obj as Secret;
      return [name, s.type ?? "", keyCount(s.data), age];
    }
    case "/ServiceAccount":
      return [name, objs((obj as ServiceAccount).secrets).length, age];
    case "/Endpoints":
      return [name, formatEndpoints(obj), age];
    case "apps/DaemonSet": {
      const ds = obj as DaemonSet;
      const st = ds.status;
      return [
        name,
        num(st?.desiredNumberScheduled),
        num(st?.currentNumberScheduled),
        num(st?.numberReady),
        num(st?.updatedNumberScheduled),
        num(st?.numberAvailable),
        formatLabels(ds.spec?.template?.spec?.nodeSelector),
        age,
        ...templateCells(ds.spec?.template),
        formatLabelSelector(ds.spec?.selector),
      ];
    }
    case "apps/StatefulSet": {
      const sts = obj as StatefulSet;
      return [name, `${num(sts.status?.readyReplicas)}/${num(sts.spec?.replicas)}`, age, ...templateCells(sts.spec?.template)];
    }
    case "apiregistration.k8s.io/APIService": {
      const { spec, status } = obj as APIService;
      const service = spec?.service;
      const conditions: unknown = status?.conditions;
      const available = Array.isArray(conditions) ? (conditions as { type?: unknown; status?: unknown; reason?: unknown }[]).find((c) => isRecord(c) && c.type === "Available") : undefined;
      const availability = available === undefined ? "Unknown" : available.status === "True" ? "True" : `${text(available.status)} (${text(available.reason)})`;
      return [name, isRecord(service) ? `${text(service.namespace)}/${text(service.name)}` : "Local", availability, age];
    }
    case "coordination.k8s.io/Lease":
      return [name, (obj as Lease).spec?.holderIdentity ?? "", age];
    case "discovery.k8s.io/EndpointSlice": {
      const slice = obj as EndpointSlice;
      return [name, slice.addressType ?? "", formatSlicePorts(slice), formatSliceEndpoints(slice), age];
    }
    default:
      return [name, obj.metadata.creationTimestamp ?? ""];
  }
}

/** Row conditions: a finished pod's row is marked Completed, as Kubernetes marks it. */
function rowConditions(info: ResourceInfo, obj: KubeObject): TableRowCondition[] | undefined {
  if (info.group !== "" || info.kind !== "Pod") return undefined;
  const phase = (obj as Pod).status?.phase;
  if (phase === "Succeeded") return [{ type: "Completed", status: "True", reason: "Succeeded", message: "The pod has completed successfully." }];
  if (phase === "Failed") return [{ type: "Completed", status: "True", reason: "Failed", message: "The pod failed." }];
  return undefined;
}

/** A meta.k8s.io/v1 Table of `objects`. Objects without kind/apiVersion get `info`'s. */
export function buildTable(info: ResourceInfo, objects: readonly KubeObject[], now: number, opts: TableOptions): Table {
  const apiVersion = opts.apiVersion ?? "meta.k8s.io/v1";
  const metadata: ListMeta = {};
  if (opts.resourceVersion !== undefined) metadata.resourceVersion = opts.resourceVersion;
  if (opts.continue !== undefined) metadata.continue = opts.continue;
  const rows = objects.map((obj): TableRow => {
    const row: TableRow = { cells: opts.printer ? opts.printer.cells(obj, now) : tableRow(info, obj, now) };
    const conditions = rowConditions(info, obj);
    if (conditions) row.conditions = conditions;
    if (opts.includeObject === "Metadata") row.object = partialObjectMetadata(obj.metadata, apiVersion);
    else if (opts.includeObject === "Object") row.object = { ...obj, apiVersion: obj.apiVersion ?? apiVersionOf(info), kind: obj.kind ?? info.kind };
    else row.object = null;
    return row;
  });
  return {
    kind: "Table",
    apiVersion,
    metadata,
    columnDefinitions: opts.withColumns ? (opts.printer ? opts.printer.columns.map((c) => ({ ...c })) : tableColumns(info)) : null,
    rows,
  };
}

/**
 * The row object kubectl reads labels and namespaces from: the whole ObjectMeta, managedFields included, as
 * Kubernetes 1.26's AsPartialObjectMetadata copies it (for get, list and watch alike).
 */
function partialObjectMetadata(meta: ObjectMeta, apiVersion: string): KubeObject {
  return { kind: "PartialObjectMetadata", apiVersion, metadata: { ...meta } };
}

// ---------------------------------------------------------------------------------------------------------------
// Pods

/**
 * NAME READY STATUS RESTARTS AGE | IP NODE NOMINATED-NODE READINESS-GATES, with printPod's rules: init containers
 * first (`Init:x/y`, `Init:<reason>`), then regular containers from last to first, where a waiting or terminated
 * reason wins; `Terminating` once deletion began on a pod that has not finished.
 */
function podCells(pod: Pod, now: number): unknown[] {
  const spec = pod.spec;
  const status = pod.status ?? {};
  const containers = objs(spec?.containers);
  const initContainers = objs(spec?.initContainers);
  const conditions = objs(status.conditions);
  let total = containers.length;
  let ready = 0;
  let restarts = 0;
  let lastRestart = 0;
  let sidecarRestarts = 0;
  let lastSidecarRestart = 0;
  let reason = firstNonEmpty(status.reason, status.phase);
  if (conditions.some((c) => c.type === "PodScheduled" && c.reason === "SchedulingGated")) reason = "SchedulingGated";

  const sidecars = new Set(initContainers.filter((c) => c.restartPolicy === "Always").map((c) => c.name));
  total += sidecars.size;

  let initializing = false;
  const initStatuses = objs(status.initContainerStatuses);
  for (const [i, cs] of initStatuses.entries()) {
    restarts += num(cs.restartCount);
    lastRestart = Math.max(lastRestart, finishedAt(cs));
    const sidecar = sidecars.has(cs.name);
    if (sidecar) {
      sidecarRestarts += num(cs.restartCount);
      lastSidecarRestart = Math.max(lastSidecarRestart, finishedAt(cs));
    }
    const terminated = cs.state?.terminated;
    const waiting = cs.state?.waiting;
    if (terminated?.exitCode === 0) continue;
    if (sidecar && cs.started === true) {
      if (cs.ready) ready++;
      continue;
    }
    if (terminated) {
      if (terminated.reason) reason = `Init:${terminated.reason}`;
      else reason = terminated.signal ? `Init:Signal:${terminated.signal}` : `Init:ExitCode:${terminated.exitCode}`;
    } else if (waiting?.reason && waiting.reason !== "PodInitializing") {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${initContainers.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || conditions.some((c) => c.type === "Initialized" && c.status === "True")) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = objs(status.containerStatuses);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i];
      if (!cs) continue;
      restarts += num(cs.restartCount);
      lastRestart = Math.max(lastRestart, finishedAt(cs));
      const waiting = cs.state?.waiting;
      const terminated = cs.state?.terminated;
      if (waiting?.reason) reason = waiting.reason;
      else if (terminated?.reason) reason = terminated.reason;
      else if (terminated) reason = terminated.signal ? `Signal:${terminated.signal}` : `ExitCode:${terminated.exitCode}`;
      else if (cs.ready && cs.state?.running) {
        hasRunning = true;
        ready++;
      }
    }
    // A pod whose main container completed while a sidecar still runs is shown by its readiness.
    if (reason === "Completed" && hasRunning) {
      reason = conditions.some((c) => c.type === "Ready" && c.status === "True") ? "Running" : "NotReady";
    }
  }

  if (pod.metadata.deletionTimestamp && status.reason === "NodeLost") reason = "Unknown";
  else if (pod.metadata.deletionTimestamp && status.phase !== "Succeeded" && status.phase !== "Failed") reason = "Terminating";

  const restartsCell = restarts !== 0 && lastRestart > 0 ? `${restarts} (${humanDuration(now - lastRestart)} ago)` : String(restarts);

  const gates = objs(spec?.readinessGates);
  let readinessGates = "<none>";
  if (gates.length > 0) {
    const trueGates = gates.filter((g) => conditions.find((c) => c.type === g.conditionType)?.status === "True").length;
    readinessGates = `${trueGates}/${gates.length}`;
  }
  // Kubernetes reads podIPs only; status.podIP is the fallback for writers that set just the singular field.
  const ip = firstNonEmpty(objs(status.podIPs)[0]?.ip, status.podIP, "<none>");
  return [
    pod.metadata.name ?? "",
    `${ready}/${total}`,
    reason,
    restartsCell,
    ageSince(pod.metadata.creationTimestamp, now),
    ip,
    firstNonEmpty(spec?.nodeName, "<none>"),
    firstNonEmpty(status.nominatedNodeName, "<none>"),
    readinessGates,
  ];
}

/** When the container's previous instance finished, in ms since the epoch; 0 when it never restarted. */
function finishedAt(cs: ContainerStatus): number {
  return parseTime(cs.lastState?.terminated?.finishedAt) ?? 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Services and nodes

function serviceCells(svc: Service, name: string, age: string): unknown[] {
  const spec = svc.spec ?? {};
  const clusterIP = firstNonEmpty(strs(spec.clusterIPs)[0], "<none>");
  const ports = objs(spec.ports)
    .map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? ""}` : `${p.port}/${p.protocol ?? ""}`))
    .join(",");
  return [name, spec.type ?? "", clusterIP, externalIP(svc), ports || "<none>", age, formatLabels(spec.selector)];
}

function externalIP(svc: Service): string {
  const spec = svc.spec ?? {};
  const externalIPs = strs(spec.externalIPs);
  switch (spec.type) {
    case "ClusterIP":
    case "NodePort":
      return externalIPs.length > 0 ? externalIPs.join(",") : "<none>";
    case "LoadBalancer": {
      const ingress = objs(svc.status?.loadBalancer?.ingress)
        .map((i) => firstNonEmpty(i.ip, i.hostname))
        .filter((s) => s !== "");
      const all = [...ingress, ...externalIPs];
      return all.length > 0 ? all.join(",") : "<pending>";
    }
    case "ExternalName":
      return spec.externalName ?? "";
    case undefined:
    default:
      return "<unknown>";
  }
}

function nodeCells(node: Node, name: string, age: string): unknown[] {
  const ready = objs(node.status?.conditions).find((c) => c.type === "Ready");
  const status: string[] = [];
  if (ready) status.push(ready.status === "True" ? "Ready" : "NotReady");
  else status.push("Unknown");
  if (node.spec?.unschedulable) status.push("SchedulingDisabled");

  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
    if (k.startsWith("node-role.kubernetes.io/")) {
      const role = k.slice("node-role.kubernetes.io/".length);
      if (role) roles.add(role);
    } else if (k === "kubernetes.io/role" && v) {
      roles.add(v);
    }
  }
  const addresses = objs(node.status?.addresses);
  const address = (type: string): string => addresses.find((a) => a.type === type)?.address ?? "<none>";
  const info = node.status?.nodeInfo ?? {};
  return [
    name,
    status.join(","),
    roles.size > 0 ? [...roles].sort().join(",") : "<none>",
    age,
    info.kubeletVersion ?? "",
    address("InternalIP"),
    address("ExternalIP"),
    firstNonEmpty(info.osImage, "<unknown>"),
    firstNonEmpty(info.kernelVersion, "<unknown>"),
    firstNonEmpty(info.containerRuntimeVersion, "<unknown>"),
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Events

/** LAST SEEN TYPE REASON OBJECT SUBOBJECT SOURCE MESSAGE FIRST SEEN COUNT NAME. */
function eventCells(ev: CoreEvent, now: number): unknown[] {
  const firstSeen = ev.firstTimestamp ? ageSince(ev.firstTimestamp, now) : ageSince(ev.eventTime, now);
  let lastSeen = ev.lastTimestamp ? ageSince(ev.lastTimestamp, now) : firstSeen;
  let count = ev.count ?? 0;
  if (ev.series) {
    lastSeen = ageSince(ev.series.lastObservedTime, now);
    count = ev.series.count ?? 0;
  } else if (count === 0) {
    // Singleton events of the newer API carry no count.
    count = 1;
  }
  const involved = typeof ev.involvedObject === "object" && ev.involvedObject !== null ? ev.involvedObject : {};
  const kind = text(involved.kind).toLowerCase();
  const target = involved.name ? `${kind}/${involved.name}` : kind;
  const component = firstNonEmpty(ev.source?.component, ev.reportingComponent);
  const host = firstNonEmpty(ev.source?.host, ev.reportingInstance);
  return [
    lastSeen,
    ev.type ?? "",
    ev.reason ?? "",
    target,
    involved.fieldPath ?? "",
    host ? `${component}, ${host}` : component,
    text(ev.message).trim(),
    firstSeen,
    count,
    ev.metadata.name ?? "",
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Endpoints and slices

const MAX_LISTED = 3;

/** `ip:port,...` over every subset, at most three, then ` + N more...` (formatEndpoints). */
function formatEndpoints(ep: Endpoints): string {
  const subsets = objs(ep.subsets);
  if (subsets.length === 0) return "<none>";
  const shown: string[] = [];
  let count = 0;
  let more = false;
  const add = (text: string): void => {
    if (shown.length === MAX_LISTED) more = true;
    else shown.push(text);
  };
  for (const ss of subsets) {
    const addresses = objs(ss.addresses);
    const ports = objs(ss.ports);
    if (ports.length === 0) {
      // Headless services may have no ports.
      count += addresses.length;
      for (const a of addresses) add(text(a.ip));
      continue;
    }
    for (const port of ports) {
      count += addresses.length;
      for (const a of addresses) {
        const ip = text(a.ip);
        add(ip.includes(":") ? `[${ip}]:${text(port.port)}` : `${ip}:${text(port.port)}`);
      }
    }
  }
  const joined = shown.join(",");
  return more ? `${joined} + ${count - MAX_LISTED} more...` : joined;
}

function formatSlicePorts(slice: EndpointSlice): string {
  const ports = objs(slice.ports);
  const shown = ports.slice(0, MAX_LISTED).map((p) => (typeof p.port === "number" ? `${p.port}` : firstNonEmpty(p.name, "*")));
  return withMore(shown, ports.length);
}

function formatSliceEndpoints(slice: EndpointSlice): string {
  const addresses = objs(slice.endpoints).flatMap((e) => strs(e.addresses));
  return withMore(addresses.slice(0, MAX_LISTED), addresses.length);
}

function withMore(shown: string[], count: number): string {
  if (count > MAX_LISTED) return `${shown.join(",")} + ${count - MAX_LISTED} more...`;
  return shown.length > 0 ? shown.join(",") : "<unset>";
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

/** CONTAINERS and IMAGES of a pod template: names and images joined with ",". */
function templateCells(template: PodTemplateSpec | undefined): [string, string] {
  const containers: readonly Container[] = objs(template?.spec?.containers);
  return [containers.map((c) => c.name).join(","), containers.map((c) => c.image ?? "").join(",")];
}

/** A LabelSelector in Kubernetes' canonical string form; "" for none, `<invalid>` when it cannot be parsed. */
function selectorString(sel: LabelSelector | undefined): string {
  if (!sel) return "";
  try {
    return selectorFromLabelSelector(sel).toString();
  } catch {
    return "<invalid>";
  }
}


function num(n: number | undefined): number {
  return typeof n === "number" ? n : 0;
}

function keyCount(map: Record<string, string> | undefined): number {
  return map && typeof map === "object" ? Object.keys(map).length : 0;
}

/**
 * The object elements of an array field. Stored status is written by components, not validated, so a printer
 * must survive absent fields and malformed elements alike.
 */
function objs<T>(value: readonly T[] | undefined | null): readonly T[] {
  return Array.isArray(value) ? (value as readonly T[]).filter((v) => typeof v === "object" && v !== null) : [];
}

/** The string elements of an array field. */
function strs(value: readonly string[] | undefined | null): string[] {
  return Array.isArray(value) ? (value as readonly unknown[]).filter((v): v is string => typeof v === "string") : [];
}

/** A string field that may hold anything in a malformed object. */
function text(value: unknown): string {
  return typeof value === "string" ? value : typeof value === "number" ? `${value}` : "";
}

/** The first value that is a non-empty string; "" when none is (Go's empty-string-means-unset). */
function firstNonEmpty(...values: (string | undefined)[]): string {
  for (const v of values) if (v) return v;
  return "";
}
