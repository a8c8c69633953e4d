// Printers of PersistentVolumes, PersistentVolumeClaims, ResourceQuotas, LimitRanges, PodTemplates and
// ComponentStatuses: kubectl's columns (pkg/printers/internalversion) and cell texts.
import { ageSince } from "../duration.js";
import { formatLabels } from "../labels.js";
import { canonicalQuantity, isQuantity } from "../quantity.js";
import type { KubeObject } from "../meta.js";
import { AGE_COLUMN, at, column, CREATED_AT_COLUMN, keysAt, NAME_COLUMN, objectsAt, stringsAt, textAt, type KindPrinter } from "./printer.js";

const ACCESS_MODE_ABBREVIATIONS: readonly [string, string][] = [
  ["ReadWriteOnce", "RWO"],
  ["ReadOnlyMany", "ROX"],
  ["ReadWriteMany", "RWX"],
  ["ReadWriteOncePod", "RWOP"],
];

/** RWO,ROX,RWX,RWOP in that order, each once (GetAccessModesAsString). */
export function accessModesText(modes: readonly string[]): string {
  const present = new Set(modes);
  return ACCESS_MODE_ABBREVIATIONS.filter(([mode]) => present.has(mode)).map(([, short]) => short).join(",");
}

function quantityText(value: unknown): string {
  if (!isQuantity(value)) return "";
  try {
    return canonicalQuantity(value);
  } catch {
    return String(value);
  }
}

function storageClassOf(object: KubeObject): string {
  return textAt(object, "spec", "storageClassName") || textAt(object, "metadata", "annotations", "volume.beta.kubernetes.io/storage-class");
}

function orUnset(text: string): string {
  return text === "" ? "<unset>" : text;
}

const STORAGE_CLASS = column("StorageClass", "string", "StorageClassName is the name of the StorageClass the volume belongs to or the claim asks for.");
const VOLUME_ATTRIBUTES_CLASS = column("VolumeAttributesClass", "string", "VolumeAttributesClassName is the name of the VolumeAttributesClass the volume or claim uses.");
const VOLUME_MODE = column("VolumeMode", "string", "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.", 1);

const persistentVolumes: KindPrinter = {
  columns: [
    NAME_COLUMN,
    column("Capacity", "string", "capacity is the description of the persistent volume's resources and capacity."),
    column("Access Modes", "string", "accessModes contains all ways the volume can be mounted."),
    column("Reclaim Policy", "string", "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim."),
    column("Status", "string", "phase indicates if a volume is available, bound to a claim, or released by a claim."),
    column("Claim", "string", "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim."),
    STORAGE_CLASS,
    VOLUME_ATTRIBUTES_CLASS,
    column("Reason", "string", "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI."),
    AGE_COLUMN,
    VOLUME_MODE,
  ],
  cells(pv, now) {
    const claimName = textAt(pv, "spec", "claimRef", "name");
    return [
      pv.metadata.name ?? "",
      quantityText(at(pv, "spec", "capacity", "storage")),
      accessModesText(stringsAt(pv, "spec", "accessModes")),
      textAt(pv, "spec", "persistentVolumeReclaimPolicy"),
      textAt(pv, "status", "phase"),
      claimName ? `${textAt(pv, "spec", "claimRef", "namespace")}/${claimName}` : "",
      storageClassOf(pv),
      orUnset(textAt(pv, "spec", "volumeAttributesClassName")),
      textAt(pv, "status", "reason"),
      ageSince(pv.metadata.creationTimestamp, now),
      orUnset(textAt(pv, "spec", "volumeMode")),
    ];
  },
};

const persistentVolumeClaims: KindPrinter = {
  columns: [
    NAME_COLUMN,
    column("Status", "string", "phase represents the current phase of PersistentVolumeClaim."),
    column("Volume", "string", "volumeName is the binding reference to the PersistentVolume backing this claim."),
    column("Capacity", "string", "capacity represents the actual resources of the underlying volume."),
    column("Access Modes", "string", "accessModes contains the actual access modes the volume backing the PVC has."),
    STORAGE_CLASS,
    VOLUME_ATTRIBUTES_CLASS,
    AGE_COLUMN,
    VOLUME_MODE,
  ],
  cells(pvc, now) {
    const volume = textAt(pvc, "spec", "volumeName");
    return [
      pvc.metadata.name ?? "",
      textAt(pvc, "status", "phase"),
      volume,
      volume ? quantityText(at(pvc, "status", "capacity", "storage")) : "",
      volume ? accessModesText(stringsAt(pvc, "status", "accessModes")) : "",
      storageClassOf(pvc),
      orUnset(textAt(pvc, "spec", "volumeAttributesClassName")),
      ageSince(pvc.metadata.creationTimestamp, now),
      orUnset(textAt(pvc, "spec", "volumeMode")),
    ];
  },
};

const resourceQuotas: KindPrinter = {
  columns: [
    NAME_COLUMN,
    AGE_COLUMN,
    column("Request", "string", "Request represents a minimum amount of cpu/memory that a container may consume."),
    column("Limit", "string", "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."),
  ],
  cells(quota, now) {
    const requests: string[] = [];
    const limits: string[] = [];
    for (const resource of keysAt(quota, "status", "hard").sort()) {
      const text = `${resource}: ${quantityText(at(quota, "status", "used", resource)) || "0"}/${quantityText(at(quota, "status", "hard", resource))}`;
      (resource.startsWith("limits.") ? limits : requests).push(text);
    }
    return [quota.metadata.name ?? "", ageSince(quota.metadata.creationTimestamp, now), requests.join(", "), limits.join(", ")];
  },
};

const limitRanges: KindPrinter = {
  columns: [NAME_COLUMN, CREATED_AT_COLUMN],
  cells: (object) => [object.metadata.name ?? "", object.metadata.creationTimestamp ?? ""],
};

const podTemplates: KindPrinter = {
  columns: [
    NAME_COLUMN,
    column("Containers", "string", "Names of each container in the template."),
    column("Images", "string", "Images referenced by each container in the template."),
    column("Pod Labels", "string", "The labels for the pod template."),
  ],
  cells(object) {
    const containers = objectsAt(object, "template", "spec", "containers");
    const labels = at(object, "template", "metadata", "labels");
    const podLabels = typeof labels === "object" && labels !== null && !Array.isArray(labels) ? Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, typeof v === "string" ? v : ""])) : {};
    return [object.metadata.name ?? "", containers.map((c) => textAt(c, "name")).join(","), containers.map((c) => textAt(c, "image")).join(","), formatLabels(podLabels)];
  },
};

const componentStatuses: KindPrinter = {
  columns: [
    NAME_COLUMN,
    column("Status", "string", "Status of the component conditions"),
    column("Message", "string", "Message of the component conditions"),
    column("Error", "string", "Error of the component conditions"),
  ],
  cells(object) {
    const healthy = objectsAt(object, "conditions").find((c) => c.type === "Healthy");
    const status = healthy === undefined ? "Unknown" : healthy.status === "True" ? "Healthy" : "Unhealthy";
    return [object.metadata.name ?? "", status, textAt(healthy, "message"), textAt(healthy, "error")];
  },
};

export const CORE_CLAIM_PRINTERS: Readonly<Record<string, KindPrinter>> = {
  "/PersistentVolume": persistentVolumes,
  "/PersistentVolumeClaim": persistentVolumeClaims,
  "/ResourceQuota": resourceQuotas,
  "/LimitRange": limitRanges,
  "/PodTemplate": podTemplates,
  "/ComponentStatus": componentStatuses,
};
