// The LimitRanger admission plugin: the LimitRanges of a namespace give containers the requests and limits they do
// not set (type Container: default → limits, defaultRequest → requests, noted in the kubernetes.io/limit-ranger
// annotation), then hold containers, pods (the sum of their containers) and PersistentVolumeClaims to their min,
// max and maxLimitRequestRatio; a breach is 403 Forbidden with Kubernetes' words. Creates only: a pod's resources
// do not change afterwards.
import { forbidden } from "../../api/errors.js";
import { compareQuantities, formatQuantity, parseQuantity, type Quantity } from "../../api/quantity.js";
import type { Container, LimitRange, LimitRangeItem, PersistentVolumeClaim, Pod } from "../../api/types/index.js";
import type { AdmissionAttributes, AdmissionPlugin } from "./admission.js";

export const LIMIT_RANGER_ANNOTATION = "kubernetes.io/limit-ranger";
type Resources = Record<string, string>;

export function limitRangerPlugin(): AdmissionPlugin {
  return {
    name: "LimitRanger",
    enabledByDefault: true,
    async mutate(attributes) {
      if (!isPod(attributes)) return;
      const ranges = await limitRangesOf(attributes);
      for (const range of ranges) applyLimitRangeDefaults(attributes.object, range);
    },
    async validate(attributes) {
      const pod = isPod(attributes);
      const claim = attributes.info.group === "" && attributes.info.resource === "persistentvolumeclaims";
      if (!pod && !claim) return undefined;
      const ranges = await limitRangesOf(attributes);
      const errors = ranges.flatMap((range) => (pod ? podViolations(attributes.object as Pod, range) : claimViolations(attributes.object as PersistentVolumeClaim, range)));
      if (errors.length > 0) {
        throw forbidden(attributes.info.resource, attributes.object.metadata.name ?? "", errors.length === 1 ? (errors[0] ?? "") : `[${errors.join(", ")}]`);
      }
      return undefined;
    },
  };
}

function isPod(attributes: AdmissionAttributes): boolean {
  return attributes.info.group === "" && attributes.info.resource === "pods";
}

async function limitRangesOf(attributes: AdmissionAttributes): Promise<LimitRange[]> {
  const store = attributes.storeFor("", "v1", "limitranges");
  if (!store || !attributes.namespace) return [];
  return (await store.list(attributes.namespace, { resourceVersion: "0" })).items;
}

function itemsOf(range: LimitRange, type: string): LimitRangeItem[] {
  return (range.spec?.limits ?? []).filter((item) => item.type === type);
}

/** The range's Container defaults on every container that lacks them, and the annotation saying what was set. */
export function applyLimitRangeDefaults(pod: Pod, range: LimitRange): void {
  const defaults: { requests: Resources; limits: Resources } = { requests: {}, limits: {} };
  for (const item of itemsOf(range, "Container")) {
    Object.assign(defaults.requests, item.defaultRequest);
    Object.assign(defaults.limits, item.default);
  }
  if (Object.keys(defaults.requests).length === 0 && Object.keys(defaults.limits).length === 0) return;
  const notes: string[] = [];
  const apply = (containers: Container[] | undefined, prefix: string): void => {
    for (const container of containers ?? []) {
      const resources = (container.resources ??= {});
      const setRequests: string[] = [];
      const setLimits: string[] = [];
      for (const [name, value] of Object.entries(defaults.limits)) {
        if (resources.limits?.[name] !== undefined) continue;
        resources.limits = { ...resources.limits, [name]: value };
        setLimits.push(name);
      }
      for (const [name, value] of Object.entries(defaults.requests)) {
        if (resources.requests?.[name] !== undefined) continue;
        resources.requests = { ...resources.requests, [name]: value };
        setRequests.push(name);
      }
      if (setRequests.length > 0) notes.push(`${setRequests.sort().join(", ")} request for ${prefix} ${container.name}`);
      if (setLimits.length > 0) notes.push(`${setLimits.sort().join(", ")} limit for ${prefix} ${container.name}`);
    }
  };
  apply(pod.spec?.containers, "container");
  apply(pod.spec?.initContainers, "init container");
  if (notes.length > 0) pod.metadata.annotations = { ...pod.metadata.annotations, [LIMIT_RANGER_ANNOTATION]: `LimitRanger plugin set: ${notes.join("; ")}` };
}

/** Every breach of the range by the pod's containers and by the pod as a whole, in Kubernetes' words. */
export function podViolations(pod: Pod, range: LimitRange): string[] {
  const errors: string[] = [];
  const containers = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  for (const item of itemsOf(range, "Container")) {
    for (const container of containers) errors.push(...itemViolations("Container", item, container.resources?.requests ?? {}, container.resources?.limits ?? {}));
  }
  for (const item of itemsOf(range, "Pod")) errors.push(...itemViolations("Pod", item, podTotal(pod, "requests"), podTotal(pod, "limits")));
  return errors;
}

/** A claim's requests against the range's PersistentVolumeClaim min and max (its limits are not user input). */
export function claimViolations(claim: PersistentVolumeClaim, range: LimitRange): string[] {
  const errors: string[] = [];
  const requests = claim.spec?.resources?.requests ?? {};
  for (const item of itemsOf(range, "PersistentVolumeClaim")) {
    for (const [name, min] of sortedEntries(item.min)) {
      const error = minViolation("PersistentVolumeClaim", name, min, requests, {});
      if (error) errors.push(error);
    }
    for (const [name, max] of sortedEntries(item.max)) {
      const req = requests[name];
      if (req === undefined) errors.push(`maximum ${name} usage per PersistentVolumeClaim is ${shown(max)}.  No request is specified`);
      else if (compareQuantities(q(req), q(max)) > 0) errors.push(`maximum ${name} usage per PersistentVolumeClaim is ${shown(max)}, but request is ${shown(req)}`);
    }
  }
  return errors;
}

function itemViolations(type: string, item: LimitRangeItem, requests: Resources, limits: Resources): string[] {
  const errors: string[] = [];
  for (const [name, min] of sortedEntries(item.min)) {
    const error = minViolation(type, name, min, requests, limits);
    if (error) errors.push(error);
  }
  for (const [name, max] of sortedEntries(item.max)) {
    const req = requests[name];
    const lim = limits[name];
    if (lim === undefined) errors.push(`maximum ${name} usage per ${type} is ${shown(max)}.  No limit is specified`);
    else if (compareQuantities(q(lim), q(max)) > 0) errors.push(`maximum ${name} usage per ${type} is ${shown(max)}, but limit is ${shown(lim)}`);
    else if (req !== undefined && compareQuantities(q(req), q(max)) > 0) errors.push(`maximum ${name} usage per ${type} is ${shown(max)}, but request is ${shown(req)}`);
  }
  for (const [name, ratio] of sortedEntries(item.maxLimitRequestRatio)) {
    const req = requests[name];
    const lim = limits[name];
    if (req === undefined || q(req).nanos === 0n) {
      errors.push(`${name} max limit to request ratio per ${type} is ${shown(ratio)}, but no request is specified or request is 0`);
    } else if (lim === undefined || q(lim).nanos === 0n) {
      errors.push(`${name} max limit to request ratio per ${type} is ${shown(ratio)}, but no limit is specified or limit is 0`);
    } else {
      const observed = Number(q(lim).nanos) / Number(q(req).nanos);
      const enforced = Number(q(ratio).nanos) / 1e9;
      if (observed > enforced) errors.push(`${name} max limit to request ratio per ${type} is ${shown(ratio)}, but provided ratio is ${observed.toFixed(6)}`);
    }
  }
  return errors;
}

function minViolation(type: string, name: string, min: string, requests: Resources, limits: Resources): string | undefined {
  const req = requests[name];
  const lim = limits[name];
  if (req === undefined) return `minimum ${name} usage per ${type} is ${shown(min)}.  No request is specified`;
  if (compareQuantities(q(req), q(min)) < 0) return `minimum ${name} usage per ${type} is ${shown(min)}, but request is ${shown(req)}`;
  if (lim !== undefined && compareQuantities(q(lim), q(min)) < 0) return `minimum ${name} usage per ${type} is ${shown(min)}, but limit is ${shown(lim)}`;
  return undefined;
}

/** The pod's requests or limits: its containers' sum, or an init container's when that is larger. */
function podTotal(pod: Pod, which: "requests" | "limits"): Resources {
  const total = new Map<string, Quantity>();
  for (const container of pod.spec?.containers ?? []) {
    for (const [name, value] of Object.entries(container.resources?.[which] ?? {})) {
      const prev = total.get(name);
      const add = q(value);
      total.set(name, prev ? { nanos: prev.nanos + add.nanos, format: prev.format } : add);
    }
  }
  for (const container of pod.spec?.initContainers ?? []) {
    for (const [name, value] of Object.entries(container.resources?.[which] ?? {})) {
      const prev = total.get(name);
      if (!prev || compareQuantities(q(value), prev) > 0) total.set(name, q(value));
    }
  }
  return Object.fromEntries([...total].map(([name, value]) => [name, formatQuantity(value)]));
}

function sortedEntries(list: Resources | undefined): [string, string][] {
  return Object.entries(list ?? {}).sort(([a], [b]) => a.localeCompare(b));
}

/** Validation has checked every quantity by now; an unparsable one counts as zero rather than crashing. */
function q(value: string): Quantity {
  try {
    return parseQuantity(value);
  } catch {
    return { nanos: 0n, format: "DecimalSI" };
  }
}

function shown(value: string): string {
  return formatQuantity(q(value));
}
