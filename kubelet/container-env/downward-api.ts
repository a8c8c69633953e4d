// The downward API's values, shared by env valueFrom and downwardAPI/projected volumes: a pod field by its path
// (fieldpath.ExtractFieldPathAsString plus the kubelet's own status/spec fields) and a container resource divided
// by a divisor and rounded up (resource.ExtractContainerResourceValue), with limits a container does not set taken
// from the node's allocatable, as the kubelet's defaultPodLimitsForDownwardAPI does.
import { cpus, totalmem } from "node:os";
import { statfsSync } from "node:fs";
import type { Container, Pod, ResourceFieldSelector, ResourceList } from "../../api/types/index.js";
import { parseQuantity, quantityToMilli, quantityValue } from "../../api/quantity.js";
import { validateLabelKey } from "../../api/labels.js";

/** What the pod object does not hold but the kubelet knows: the sandbox's and the node's addresses. */
export interface DownwardContext {
  podIPs: readonly string[];
  hostIPs: readonly string[];
}

/** A value the downward API cannot produce (an unsupported path or resource): the container cannot be configured. */
export class DownwardAPIError extends Error {
  override name = "DownwardAPIError";
}

/** Go's %q for the strings labels and annotations hold: double quotes, backslash escapes, \x for other controls. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (code === 7) out += "\\a";
    else if (code === 8) out += "\\b";
    else if (code === 12) out += "\\f";
    else if (code === 11) out += "\\v";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** `key="value"` lines in key order, as a downward API file or variable shows all labels or annotations. */
export function formatMap(map: Readonly<Record<string, string>> | undefined): string {
  return Object.keys(map ?? {})
    .sort()
    .map((k) => `${k}=${goQuote(map?.[k] ?? "")}`)
    .join("\n");
}

const SUBSCRIPTED = /^(metadata\.(?:labels|annotations))\['(.*)'\]$/;

/** The value of a pod field path (`metadata.name`, `metadata.labels['app']`, `status.podIP`, …). */
export function podFieldValue(pod: Readonly<Pod>, fieldPath: string, ctx: DownwardContext): string {
  const sub = SUBSCRIPTED.exec(fieldPath);
  if (sub) {
    const [, path = "", key = ""] = sub;
    const errs = validateLabelKey(key.toLowerCase());
    if (errs.length > 0) throw new DownwardAPIError(`invalid key subscript in ${fieldPath}: ${errs.join(";")}`);
    const map = path === "metadata.labels" ? pod.metadata.labels : pod.metadata.annotations;
    return map?.[key] ?? "";
  }
  switch (fieldPath) {
    case "metadata.name":
      return pod.metadata.name ?? "";
    case "metadata.namespace":
      return pod.metadata.namespace ?? "";
    case "metadata.uid":
      return pod.metadata.uid ?? "";
    case "metadata.labels":
      return formatMap(pod.metadata.labels);
    case "metadata.annotations":
      return formatMap(pod.metadata.annotations);
    case "spec.nodeName":
      return pod.spec?.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec?.serviceAccountName ?? "";
    case "spec.restartPolicy":
      return pod.spec?.restartPolicy ?? "";
    case "spec.schedulerName":
      return pod.spec?.schedulerName ?? "";
    case "status.phase":
      return pod.status?.phase ?? "";
    case "status.hostIP":
      return ctx.hostIPs[0] ?? "";
    case "status.hostIPs":
      return ctx.hostIPs.join(",");
    case "status.podIP":
      return ctx.podIPs[0] ?? "";
    case "status.podIPs":
      return ctx.podIPs.join(",");
    default:
      throw new DownwardAPIError(`unsupported fieldPath: ${fieldPath}`);
  }
}

const DEFAULTED_LIMITS = ["cpu", "memory", "ephemeral-storage"] as const;

/** The machine's cpu, memory and root filesystem size: the allocatable to assume when the kubelet was given none. */
export function machineAllocatable(): ResourceList {
  const list: ResourceList = { cpu: String(cpus().length), memory: String(totalmem()) };
  try {
    const fs = statfsSync("/");
    list["ephemeral-storage"] = String(fs.blocks * fs.bsize);
  } catch {
    // Without a size the limit reads as 0, which is what Kubernetes shows for an unknown capacity.
  }
  return list;
}

/**
 * The value of a resourceFieldRef for `container` (or the container it names), divided by the divisor (default 1)
 * and rounded up. Limits the container does not set are the node's allocatable.
 */
export function containerResourceValue(
  selector: Readonly<ResourceFieldSelector>,
  pod: Readonly<Pod>,
  container: Readonly<Container> | undefined,
  nodeAllocatable: Readonly<ResourceList>,
): string {
  let target = container;
  if (selector.containerName) {
    const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
    target = all.find((c) => c.name === selector.containerName);
    if (!target) throw new DownwardAPIError(`container ${selector.containerName} not found`);
  }
  if (!target) throw new DownwardAPIError(`resourceFieldRef ${selector.resource} needs a containerName`);

  const dot = selector.resource.indexOf(".");
  const kind = selector.resource.slice(0, dot);
  const name = selector.resource.slice(dot + 1);
  if (dot < 0 || (kind !== "limits" && kind !== "requests") || !isSupportedResource(name)) {
    throw new DownwardAPIError(`unsupported container resource : ${selector.resource}`);
  }
  let raw: string | undefined;
  if (kind === "limits") {
    raw = target.resources?.limits?.[name];
    if (raw === undefined && (DEFAULTED_LIMITS as readonly string[]).includes(name)) raw = nodeAllocatable[name];
  } else {
    raw = target.resources?.requests?.[name];
  }
  const value = parseQuantity(raw ?? "0");
  const divisor = parseQuantity(selector.divisor === undefined || parseQuantity(selector.divisor).nanos === 0n ? "1" : selector.divisor);
  if (name === "cpu") return String(Math.ceil(quantityToMilli(value) / quantityToMilli(divisor)));
  return String(Math.ceil(quantityValue(value) / quantityValue(divisor)));
}

function isSupportedResource(name: string): boolean {
  return name === "cpu" || name === "memory" || name === "ephemeral-storage" || name.startsWith("hugepages-");
}
