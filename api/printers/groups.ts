// Table printing for the batch, autoscaling, policy, networking, scheduling, node, storage and admissionregistration
// kinds and apps/v1 ControllerRevisions: kubectl's columns and cells (pkg/printers/internalversion/printers.go),
// keyed by `group/Kind` and listed once in tables.ts.
import { ageSince, humanDuration } from "../duration.js";
import { fromAutoscalingV1 } from "../hpa-conversion.js";
import type { KubeObject } from "../meta.js";
import { canonicalQuantity } from "../quantity.js";
import { parseTime } from "../time.js";
import type {
  Container,
  ControllerRevision,
  CronJob,
  CSIDriver,
  CSINode,
  CSIStorageCapacity,
  HorizontalPodAutoscalerV2,
  Ingress,
  IngressClass,
  Job,
  MetricSpecV2,
  MetricStatusV2,
  MetricTarget,
  MetricValueStatus,
  NetworkPolicy,
  PodDisruptionBudget,
  PodTemplateSpec,
  PriorityClass,
  RuntimeClass,
  StorageClass,
  VolumeAttachment,
  WebhookConfiguration,
} from "../types/index.js";
import { AGE_COLUMN, column, formatLabelSelector, NAME_COLUMN, type KindPrinter } from "./printer.js";

const col = column;
const NAME = NAME_COLUMN;
const AGE = AGE_COLUMN;
const CONTAINERS = col("Containers", "string", "Names of each container in the template.", 1);
const IMAGES = col("Images", "string", "Images referenced by each container in the template.", 1);
const SELECTOR = col("Selector", "string", "A label query over pods that should match the pod count.", 1);

const STORAGE_CLASS_DEFAULT_ANNOTATIONS = ["storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class"];

export const GROUP_PRINTERS: Readonly<Record<string, KindPrinter>> = {
  "batch/Job": {
    columns: [
      NAME,
      col("Status", "string", "Status of the job."),
      col("Completions", "string", "The number of pods which reached phase Succeeded, out of those the job needs."),
      col("Duration", "string", "Time required to complete the job."),
      AGE,
      CONTAINERS,
      IMAGES,
      SELECTOR,
    ],
    cells: (obj, now) => jobCells(obj, now),
  },
  "batch/CronJob": {
    columns: [
      NAME,
      col("Schedule", "string", "The schedule in Cron format."),
      col("Timezone", "string", "The time zone name for the given schedule."),
      col("Suspend", "boolean", "Whether the controller suspends subsequent executions."),
      col("Active", "integer", "The number of currently running jobs."),
      col("Last Schedule", "string", "The last time the job was successfully scheduled."),
      AGE,
      CONTAINERS,
      IMAGES,
      SELECTOR,
    ],
    cells: (obj, now) => {
      const cj = obj as CronJob;
      const spec = cj.spec ?? {};
      const last = cj.status?.lastScheduleTime;
      return [
        name(obj),
        spec.schedule ?? "",
        spec.timeZone ?? "<none>",
        spec.suspend === undefined ? "<unset>" : spec.suspend ? "True" : "False",
        list(cj.status?.active).length,
        last ? ageSince(last, now) : "<none>",
        ageSince(obj.metadata.creationTimestamp, now),
        ...templateCells(spec.jobTemplate?.spec?.template),
        formatLabelSelector(spec.jobTemplate?.spec?.selector),
      ];
    },
  },
  "autoscaling/HorizontalPodAutoscaler": {
    columns: [
      NAME,
      col("Reference", "string", "The target resource scaled by the autoscaler."),
      col("Targets", "string", "The metrics used to compute the desired replica count, current and target."),
      col("MinPods", "string", "The lower limit for the number of replicas."),
      col("MaxPods", "string", "The upper limit for the number of replicas."),
      col("Replicas", "string", "The current number of replicas of the scaled object."),
      AGE,
    ],
    cells: (obj, now) => {
      // Tables print the stored (v2) form, whichever version the client reads.
      const hpa = (obj.apiVersion === "autoscaling/v1" ? fromAutoscalingV1(obj) : obj) as HorizontalPodAutoscalerV2;
      const spec = hpa.spec ?? {};
      return [
        name(obj),
        `${spec.scaleTargetRef?.kind ?? ""}/${spec.scaleTargetRef?.name ?? ""}`,
        formatHPAMetrics(list(spec.metrics), list(hpa.status?.currentMetrics)),
        spec.minReplicas === undefined ? "<unset>" : `${spec.minReplicas}`,
        spec.maxReplicas ?? 0,
        hpa.status?.currentReplicas ?? 0,
        ageSince(obj.metadata.creationTimestamp, now),
      ];
    },
  },
  "policy/PodDisruptionBudget": {
    columns: [
      NAME,
      col("Min Available", "string", "The minimum number of pods that must be available."),
      col("Max Unavailable", "string", "The maximum number of pods that may be unavailable."),
      col("Allowed Disruptions", "integer", "Calculated number of pods that may be disrupted at this time."),
      AGE,
    ],
    cells: (obj, now) => {
      const pdb = obj as PodDisruptionBudget;
      const spec = pdb.spec ?? {};
      return [name(obj), spec.minAvailable === undefined ? "N/A" : `${spec.minAvailable}`, spec.maxUnavailable === undefined ? "N/A" : `${spec.maxUnavailable}`, pdb.status?.disruptionsAllowed ?? 0, ageSince(obj.metadata.creationTimestamp, now)];
    },
  },
  "networking.k8s.io/Ingress": {
    columns: [
      NAME,
      col("Class", "string", "The name of the IngressClass resource that should be used for additional configuration"),
      col("Hosts", "string", "Hosts that incoming requests are matched against before the ingress rule"),
      col("Address", "string", "Address is a list containing ingress points for the load-balancer"),
      col("Ports", "string", "Ports of TLS configurations that open"),
      AGE,
    ],
    cells: (obj, now) => {
      const ing = obj as Ingress;
      const spec = ing.spec ?? {};
      return [name(obj), spec.ingressClassName ?? "<none>", formatHosts(list(spec.rules).map((r) => r.host ?? "")), ingressAddress(ing), list(spec.tls).length > 0 ? "80, 443" : "80", ageSince(obj.metadata.creationTimestamp, now)];
    },
  },
  "networking.k8s.io/IngressClass": {
    columns: [
      NAME,
      col("Controller", "string", "Controller that is responsible for handling this class"),
      col("Parameters", "string", "A reference to a resource with additional parameters"),
      AGE,
    ],
    cells: (obj, now) => {
      const spec = (obj as IngressClass).spec ?? {};
      const p = spec.parameters;
      const parameters = p ? `${p.kind}${p.apiGroup ? `.${p.apiGroup}` : ""}/${p.name}` : "<none>";
      return [name(obj), spec.controller ?? "", parameters, ageSince(obj.metadata.creationTimestamp, now)];
    },
  },
  "networking.k8s.io/NetworkPolicy": {
    columns: [NAME, col("Pod-Selector", "string", "Selects the pods to which this NetworkPolicy object applies."), AGE],
    cells: (obj, now) => [name(obj), formatLabelSelector((obj as NetworkPolicy).spec?.podSelector ?? {}), ageSince(obj.metadata.creationTimestamp, now)],
  },
  "scheduling.k8s.io/PriorityClass": {
    columns: [
      NAME,
      col("Value", "integer", "The value of this priority class."),
      col("Global-Default", "boolean", "Whether this priority class is the default for pods without a priority class."),
      AGE,
      col("PreemptionPolicy", "string", "The policy for preempting pods with lower priority."),
    ],
    cells: (obj, now) => {
      const pc = obj as PriorityClass;
      return [name(obj), pc.value ?? 0, pc.globalDefault ?? false, ageSince(obj.metadata.creationTimestamp, now), pc.preemptionPolicy ?? ""];
    },
  },
  "node.k8s.io/RuntimeClass": {
    columns: [NAME, col("Handler", "string", "The underlying runtime and configuration that the CRI implementation uses."), AGE],
    cells: (obj, now) => [name(obj), (obj as RuntimeClass).handler ?? "", ageSince(obj.metadata.creationTimestamp, now)],
  },
  "storage.k8s.io/StorageClass": {
    columns: [
      NAME,
      col("Provisioner", "string", "The type of the provisioner."),
      col("ReclaimPolicy", "string", "What happens to a dynamically provisioned volume when its claim is released."),
      col("VolumeBindingMode", "string", "When volumes are provisioned and bound."),
      col("AllowVolumeExpansion", "string", "Whether volumes of this class may be expanded."),
      AGE,
    ],
    cells: (obj, now) => {
      const sc = obj as StorageClass;
      const annotations = obj.metadata.annotations ?? {};
      const isDefault = STORAGE_CLASS_DEFAULT_ANNOTATIONS.some((key) => annotations[key] === "true");
      return [`${name(obj)}${isDefault ? " (default)" : ""}`, sc.provisioner ?? "", sc.reclaimPolicy ?? "Delete", sc.volumeBindingMode ?? "Immediate", sc.allowVolumeExpansion ?? false, ageSince(obj.metadata.creationTimestamp, now)];
    },
  },
  "storage.k8s.io/CSINode": {
    columns: [NAME, col("Drivers", "integer", "Drivers indicates the number of CSI drivers registered on the node"), AGE],
    cells: (obj, now) => [name(obj), list((obj as CSINode).spec?.drivers).length, ageSince(obj.metadata.creationTimestamp, now)],
  },
  "storage.k8s.io/CSIDriver": {
    columns: [
      NAME,
      col("AttachRequired", "boolean", "Whether the driver needs an attach operation."),
      col("PodInfoOnMount", "boolean", "Whether the driver needs pod information on mount."),
      col("StorageCapacity", "boolean", "Whether the driver reports storage capacity."),
      col("TokenRequests", "string", "The audiences of the service account tokens the driver receives."),
      col("RequiresRepublish", "boolean", "Whether the driver wants NodePublishVolume called periodically."),
      col("Modes", "string", "The volume modes this driver supports."),
      AGE,
    ],
    cells: (obj, now) => {
      const spec = (obj as CSIDriver).spec ?? {};
      const modes = list(spec.volumeLifecycleModes).join(",");
      const tokens = spec.tokenRequests === undefined ? "<unset>" : list(spec.tokenRequests).map((t) => t.audience).join(",");
      return [name(obj), spec.attachRequired ?? true, spec.podInfoOnMount ?? false, spec.storageCapacity ?? false, tokens, spec.requiresRepublish ?? false, modes || "<none>", ageSince(obj.metadata.creationTimestamp, now)];
    },
  },
  "storage.k8s.io/CSIStorageCapacity": {
    columns: [NAME, col("StorageClassName", "string", "The name of the StorageClass the capacity applies to."), col("Capacity", "string", "The capacity reported by the driver.")],
    cells: (obj) => {
      const c = obj as CSIStorageCapacity;
      return [name(obj), c.storageClassName ?? "", c.capacity === undefined ? "<unset>" : quantityText(c.capacity)];
    },
  },
  "storage.k8s.io/VolumeAttachment": {
    columns: [
      NAME,
      { ...col("Attacher", "string", "The name of the volume driver that handles the request."), format: "name" },
      col("PV", "string", "The name of the persistent volume to attach."),
      col("Node", "string", "The node the volume is attached to."),
      col("Attached", "boolean", "Whether the attach operation succeeded."),
      AGE,
    ],
    cells: (obj, now) => {
      const va = obj as VolumeAttachment;
      return [name(obj), va.spec?.attacher ?? "", va.spec?.source?.persistentVolumeName ?? "", va.spec?.nodeName ?? "", va.status?.attached ?? false, ageSince(obj.metadata.creationTimestamp, now)];
    },
  },
  "admissionregistration.k8s.io/ValidatingWebhookConfiguration": webhookPrinter(),
  "admissionregistration.k8s.io/MutatingWebhookConfiguration": webhookPrinter(),
  "apps/ControllerRevision": {
    columns: [NAME, col("Controller", "string", "Controller of the object"), col("Revision", "string", "Revision indicates the revision of the state represented by Data."), AGE],
    cells: (obj, now) => {
      const owner = list(obj.metadata.ownerReferences).find((ref) => ref.controller === true);
      const group = owner?.apiVersion.includes("/") ? owner.apiVersion.split("/")[0] : "";
      const controller = owner ? `${owner.kind.toLowerCase()}${group ? `.${group}` : ""}/${owner.name}` : "<none>";
      return [name(obj), controller, (obj as ControllerRevision).revision ?? 0, ageSince(obj.metadata.creationTimestamp, now)];
    },
  },
};

function webhookPrinter(): KindPrinter {
  return {
    columns: [NAME, col("Webhooks", "integer", "Webhooks indicates the number of webhooks registered in this configuration"), AGE],
    cells: (obj, now) => [name(obj), list((obj as WebhookConfiguration).webhooks).length, ageSince(obj.metadata.creationTimestamp, now)],
  };
}

/** printJob: STATUS from the conditions, COMPLETIONS as succeeded/wanted, DURATION from start to completion (or now). */
function jobCells(obj: KubeObject, now: number): unknown[] {
  const job = obj as Job;
  const spec = job.spec ?? {};
  const status = job.status ?? {};
  const succeeded = status.succeeded ?? 0;
  let completions: string;
  if (spec.completions !== undefined) completions = `${succeeded}/${spec.completions}`;
  else completions = (spec.parallelism ?? 0) > 1 ? `${succeeded}/1 of ${spec.parallelism}` : `${succeeded}/1`;
  const start = parseTime(status.startTime);
  const end = parseTime(status.completionTime);
  const duration = start === undefined ? "" : humanDuration((end ?? now) - start);
  const has = (type: string): boolean => list(status.conditions).find((c) => c.type === type)?.status === "True";
  let state = "Running";
  if (has("Complete")) state = "Complete";
  else if (has("Failed")) state = "Failed";
  else if (obj.metadata.deletionTimestamp) state = "Terminating";
  else if (has("Suspended")) state = "Suspended";
  else if (has("FailureTarget")) state = "FailureTarget";
  else if (has("SuccessCriteriaMet")) state = "SuccessCriteriaMet";
  return [name(obj), state, completions, duration, ageSince(obj.metadata.creationTimestamp, now), ...templateCells(spec.template), formatLabelSelector(spec.selector)];
}

const MAX_LISTED_METRICS = 2;

/** formatHPAMetrics: `cpu: <unknown>/80%`, at most two metrics then `+ N more...`. */
export function formatHPAMetrics(specs: readonly MetricSpecV2[], statuses: readonly MetricStatusV2[]): string {
  if (specs.length === 0) return "<none>";
  const shown = specs.map((spec, i) => formatMetric(spec, statuses[i]));
  if (shown.length <= MAX_LISTED_METRICS) return shown.join(", ");
  return `${shown.slice(0, MAX_LISTED_METRICS).join(", ")} + ${shown.length - MAX_LISTED_METRICS} more...`;
}

function formatMetric(spec: MetricSpecV2, status: MetricStatusV2 | undefined): string {
  const current = (value: MetricValueStatus | undefined, key: "value" | "averageValue"): string => {
    const v = value?.[key];
    return v === undefined ? "<unknown>" : quantityText(v);
  };
  switch (spec.type) {
    case "External":
    case "Object": {
      const source = spec.type === "External" ? spec.external : spec.object;
      const observed = spec.type === "External" ? status?.external?.current : status?.object?.current;
      const target: MetricTarget | undefined = source?.target;
      if (target?.averageValue !== undefined) return `${status && observed?.averageValue !== undefined ? current(observed, "averageValue") : "<unknown>"}/${quantityText(target.averageValue)} (avg)`;
      return `${status && observed ? current(observed, "value") : "<unknown>"}/${quantityText(target?.value ?? "0")}`;
    }
    case "Pods":
      return `${current(status?.pods?.current, "averageValue")}/${quantityText(spec.pods?.target.averageValue ?? "0")}`;
    case "Resource":
    case "ContainerResource": {
      const source = spec.type === "Resource" ? spec.resource : spec.containerResource;
      const observed = spec.type === "Resource" ? status?.resource?.current : status?.containerResource?.current;
      const target = source?.target;
      const resource = source?.name ?? "";
      if (target?.averageValue !== undefined) return `${resource}: ${current(observed, "averageValue")}/${quantityText(target.averageValue)}`;
      const now = observed?.averageUtilization === undefined ? "<unknown>" : `${observed.averageUtilization}%`;
      const want = target?.averageUtilization === undefined ? "<auto>" : `${target.averageUtilization}%`;
      return `${resource}: ${now}/${want}`;
    }
    default:
      return "<unknown type>";
  }
}

/** formatHosts: up to three hosts, `*` when no rule names one. */
function formatHosts(hosts: readonly string[]): string {
  const named = hosts.filter((h) => h !== "");
  if (named.length === 0) return "*";
  const shown = named.slice(0, 3).join(",");
  return hosts.length > 3 ? `${shown} + ${hosts.length - 3} more...` : shown;
}

/** The load balancer's IPs or hostnames, sorted and de-duplicated, clipped to 16 characters as kubectl clips them. */
function ingressAddress(ing: Ingress): string {
  const entries = new Set<string>();
  for (const lb of list(ing.status?.loadBalancer?.ingress)) {
    if (lb.ip) entries.add(lb.ip);
    else if (lb.hostname) entries.add(lb.hostname);
  }
  const joined = [...entries].sort().join(",");
  return joined.length > 16 ? `${joined.slice(0, 13)}...` : joined;
}

function templateCells(template: PodTemplateSpec | undefined): [string, string] {
  const containers: readonly Container[] = list(template?.spec?.containers);
  return [containers.map((c) => c.name).join(","), containers.map((c) => c.image ?? "").join(",")];
}


function quantityText(value: string | number): string {
  try {
    return canonicalQuantity(value);
  } catch {
    return `${value}`;
  }
}

function name(obj: KubeObject): string {
  return obj.metadata.name ?? "";
}

function list<T>(value: readonly T[] | undefined | null): readonly T[] {
  return Array.isArray(value) ? (value as readonly T[]).filter((v) => typeof v !== "object" || v !== null) : [];
}
