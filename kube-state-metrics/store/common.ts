// What several resources' families share: creation timestamps, owners, label allow-lists, condition triples and
// resource quantities with kube-state-metrics' `resource`/`unit` labels.
import type { ObjectMeta, OwnerReference } from "../../api/meta.js";
import { parseQuantity, quantityToMilli, quantityValue } from "../../api/quantity.js";
import { parseTime } from "../../api/time.js";
import type { ResourceList } from "../../api/types/index.js";
import { sanitizeLabelName, type FamilyGenerator, type Labels, type MetricType, type Sample } from "../exposition.js";

/** One sample. */
export function sample(value: number, ...labels: (readonly [string, string])[]): Sample {
  return { labels, value };
}

/**
 * A family whose every sample starts with the object's identifying labels (namespace and name, and uid for pods
 * and services), the way kube-state-metrics prefixes each resource's default labels.
 */
export function family<T>(name: string, help: string, type: MetricType, base: (obj: Readonly<T>) => Labels, generate: (obj: Readonly<T>) => Sample[]): FamilyGenerator<T> {
  return {
    name,
    help,
    type,
    generate: (obj) => {
      const prefix = base(obj);
      return generate(obj).map((s) => ({ labels: [...prefix, ...s.labels], value: s.value }));
    },
  };
}

/** Options every resource's families take. */
export interface FamilyOptions {
  /** Kubernetes label keys to expose as label_<key> on kube_<resource>_labels; ["*"] for all; [] for none. */
  labelsAllowList: readonly string[];
  /** The same for annotations on kube_<resource>_annotations. */
  annotationsAllowList: readonly string[];
}

/** A metadata timestamp as Unix seconds, or undefined. */
export function unixSeconds(time: string | undefined | null): number | undefined {
  const ms = parseTime(time);
  return ms === undefined ? undefined : Math.floor(ms / 1000);
}

/** kube_<resource>_created: the creation time in Unix seconds, when known. */
export function createdSamples(meta: ObjectMeta): Sample[] {
  const created = unixSeconds(meta.creationTimestamp);
  return created === undefined ? [] : [sample(created)];
}

/**
 * The allowed keys of `map` as sanitized label names with a prefix ("label_app"), sorted by name; two keys that
 * sanitize alike keep the first.
 */
export function mapLabels(prefix: string, map: Readonly<Record<string, string>> | undefined, allowList: readonly string[]): [string, string][] {
  if (!map || allowList.length === 0) return [];
  const all = allowList.includes("*");
  const out = new Map<string, string>();
  for (const key of Object.keys(map).sort()) {
    if (!all && !allowList.includes(key)) continue;
    const name = `${prefix}_${sanitizeLabelName(key)}`;
    if (!out.has(name)) out.set(name, map[key] ?? "");
  }
  return [...out];
}

/** kube_<resource>_labels and _annotations families for a resource (`kind` is kube-state-metrics' word for it). */
export function metadataMapFamilies<T extends { metadata: ObjectMeta }>(kind: string, base: (obj: Readonly<T>) => Labels, opts: FamilyOptions): FamilyGenerator<T>[] {
  return [
    family<T>(`kube_${kind}_annotations`, "Kubernetes annotations converted to Prometheus labels.", "gauge", base, (o) => [sample(1, ...mapLabels("annotation", o.metadata.annotations, opts.annotationsAllowList))]),
    family<T>(`kube_${kind}_labels`, "Kubernetes labels converted to Prometheus labels.", "gauge", base, (o) => [sample(1, ...mapLabels("label", o.metadata.labels, opts.labelsAllowList))]),
  ];
}

/** The owner references as owner_kind/owner_name/owner_is_controller samples; "<none>" for all three when none. */
export function ownerSamples(refs: readonly OwnerReference[] | undefined): Sample[] {
  if (!refs || refs.length === 0) return [sample(1, ["owner_kind", "<none>"], ["owner_name", "<none>"], ["owner_is_controller", "<none>"])];
  return refs.map((r) => sample(1, ["owner_kind", r.kind], ["owner_name", r.name], ["owner_is_controller", String(r.controller === true)]));
}

/** The controlling owner reference, if any (metav1.GetControllerOf). */
export function controllerOf(meta: ObjectMeta): OwnerReference | undefined {
  return meta.ownerReferences?.find((r) => r.controller === true);
}

/**
 * A condition's status as three samples, `label`="true"|"false"|"unknown", the one matching the status 1 and the
 * others 0 (kube-state-metrics' addConditionMetrics).
 */
export function conditionSamples(status: string, label: string, ...before: (readonly [string, string])[]): Sample[] {
  return (["True", "False", "Unknown"] as const).map((s) => sample(status === s ? 1 : 0, ...before, [label, s.toLowerCase()]));
}

/**
 * A resource list as samples with `resource` (sanitized: "ephemeral_storage", "nvidia_com_gpu") and `unit`: cpu in
 * cores, memory, storage and hugepages in bytes, everything else (pods, extended resources) an integer.
 */
export function resourceSamples(list: Readonly<ResourceList> | undefined, ...before: (readonly [string, string])[]): Sample[] {
  if (!list) return [];
  const out: Sample[] = [];
  for (const name of Object.keys(list).sort()) {
    const raw = list[name];
    if (raw === undefined) continue;
    let q;
    try {
      q = parseQuantity(raw);
    } catch {
      continue;
    }
    const resource = sanitizeLabelName(name);
    if (name === "cpu") out.push(sample(quantityToMilli(q) / 1000, ...before, ["resource", resource], ["unit", "core"]));
    else if (name === "memory" || name === "storage" || name === "ephemeral-storage" || name.startsWith("hugepages-")) out.push(sample(quantityValue(q), ...before, ["resource", resource], ["unit", "byte"]));
    else out.push(sample(quantityValue(q), ...before, ["resource", resource], ["unit", "integer"]));
  }
  return out;
}

/** A boolean as 1 or 0. */
export function boolValue(b: boolean | undefined): number {
  return b ? 1 : 0;
}
