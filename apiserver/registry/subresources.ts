// Subresources with their own shapes: pods/binding, pods/eviction and the autoscaling/v1 Scale of workloads.
import { badRequest, conflict, invalid } from "../../api/errors.js";
import { selectorFromLabelSelector } from "../../api/labels.js";
import type { KubeObject, LabelSelector, Status } from "../../api/meta.js";
import { isRecord } from "../../api/meta.js";
import { applyPatch } from "../../api/patch/apply.js";
import type { DeleteOptions, ResourceStore } from "./store.js";
import { rfc3339 } from "./store.js";

export interface Scale extends KubeObject {
  spec: { replicas?: number };
  status: { replicas: number; selector?: string };
}

function success(code: number): Status {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code };
}

/** POST pods/<name>/binding: sets spec.nodeName once, as the scheduler's bind does. */
export async function bindPod(pods: ResourceStore, namespace: string, name: string, body: unknown): Promise<Status> {
  const target = isRecord(body) && isRecord(body.target) ? body.target : undefined;
  const nodeName = target && typeof target.name === "string" ? target.name : "";
  if (!nodeName) throw invalid("Binding", "", name, [{ type: "FieldValueRequired", field: "target.name", message: "Required value" }]);
  const bodyName = isRecord(body) && isRecord(body.metadata) ? body.metadata.name : undefined;
  if (bodyName !== undefined && bodyName !== name) throw badRequest(`the name of the object (${typeof bodyName === "string" ? bodyName : JSON.stringify(bodyName)}) does not match the name on the URL (${name})`);
  await pods.mutate(namespace, name, (pod) => {
    const spec = (isRecord(pod.spec) ? pod.spec : {}) as { nodeName?: string };
    if (pod.metadata.deletionTimestamp) throw conflict("pods", name, "pod is being deleted, cannot be assigned to a host");
    if (spec.nodeName) throw conflict("pods", name, `pod ${name} is already assigned to node "${spec.nodeName}"`);
    spec.nodeName = nodeName;
    pod.spec = spec;
    const status = (isRecord(pod.status) ? pod.status : {}) as { conditions?: { type: string; status: string; lastProbeTime: null; lastTransitionTime?: string }[] };
    status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== "PodScheduled"), { type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: rfc3339(new Date()) }];
    pod.status = status;
  });
  return success(201);
}

export async function evictPod(pods: ResourceStore, namespace: string, name: string, body: unknown): Promise<Status> {
  const options: DeleteOptions = {};
  const deleteOptions = isRecord(body) && isRecord(body.deleteOptions) ? body.deleteOptions : undefined;
  if (deleteOptions && typeof deleteOptions.gracePeriodSeconds === "number") options.gracePeriodSeconds = deleteOptions.gracePeriodSeconds;
  await pods.delete(namespace, name, options);
  return success(201);
}

function selectorString(object: KubeObject): string {
  const spec = (object.spec ?? {}) as { selector?: unknown };
  if (!isRecord(spec.selector)) return "";
  // ReplicationControllers carry a plain map; apps/v1 workloads a LabelSelector.
  const selector: LabelSelector = "matchLabels" in spec.selector || "matchExpressions" in spec.selector ? (spec.selector) : { matchLabels: spec.selector as Record<string, string> };
  return selectorFromLabelSelector(selector).toString();
}

export function scaleOf(object: KubeObject): Scale {
  const spec = (object.spec ?? {}) as { replicas?: number };
  const status = (object.status ?? {}) as { replicas?: number };
  const meta = object.metadata;
  const metadata: KubeObject["metadata"] = { name: meta.name ?? "" };
  if (meta.namespace) metadata.namespace = meta.namespace;
  if (meta.uid) metadata.uid = meta.uid;
  if (meta.resourceVersion) metadata.resourceVersion = meta.resourceVersion;
  if (meta.creationTimestamp) metadata.creationTimestamp = meta.creationTimestamp;
  const scale: Scale = { apiVersion: "autoscaling/v1", kind: "Scale", metadata, spec: {}, status: { replicas: status.replicas ?? 0 } };
  if (spec.replicas !== undefined) scale.spec.replicas = spec.replicas;
  const selector = selectorString(object);
  if (selector) scale.status.selector = selector;
  return scale;
}

export async function getScale(store: ResourceStore, namespace: string, name: string): Promise<Scale> {
  return scaleOf(await store.get(namespace, name));
}

/** PUT or PATCH of a Scale: only spec.replicas reaches the object. */
export async function updateScale(store: ResourceStore, namespace: string, name: string, change: { body: unknown } | { patch: unknown; contentType: string }, dryRun: boolean): Promise<Scale> {
  for (let attempt = 0; ; attempt++) {
    const current = await store.get(namespace, name);
    const scale = scaleOf(current);
    const desired = "body" in change ? change.body : applyPatch(change.contentType, scale, change.patch);
    if (!isRecord(desired)) throw badRequest("a Scale must be an object");
    const spec = isRecord(desired.spec) ? desired.spec : {};
    const replicas = spec.replicas;
    if (replicas !== undefined && (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0)) {
      throw invalid("Scale", "autoscaling", name, [{ type: "FieldValueInvalid", field: "spec.replicas", message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0` }]);
    }
    const meta = isRecord(desired.metadata) ? desired.metadata : {};
    const rv = "body" in change && typeof meta.resourceVersion === "string" ? meta.resourceVersion : undefined;
    if (rv !== undefined && rv !== current.metadata.resourceVersion) throw conflict(store.qualified, name);
    const next = structuredClone(current);
    const nextSpec = (isRecord(next.spec) ? next.spec : {}) as { replicas?: number };
    if (typeof replicas === "number") nextSpec.replicas = replicas;
    next.spec = nextSpec;
    next.metadata.resourceVersion = current.metadata.resourceVersion ?? "";
    try {
      const { object } = await store.update(namespace, name, next, { dryRun });
      return scaleOf(object);
    } catch (err) {
      if (rv === undefined && err instanceof Error && "reason" in err && err.reason === "Conflict" && attempt < 8) continue;
      throw err;
    }
  }
}
