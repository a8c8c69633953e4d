// The autoscaling/v1 Scale subresource of workloads: a view of spec.replicas, status.replicas and the selector.
import { badRequest, conflict, invalid, isConflict, isNotFound, methodNotAllowed, notFound, retryOnConflict } from "../../../api/errors.js";
import { selectorFromLabelSelector } from "../../../api/labels.js";
import type { KubeObject, LabelSelector } from "../../../api/meta.js";
import { isRecord } from "../../../api/meta.js";
import { applyPatch } from "../../../api/patch/apply.js";
import { qualifiedResource } from "../../../api/resources.js";
import type { SubresourceHandler } from "../kind.js";
import { CONFLICT_ATTEMPTS, type ResourceStore, type WriteOptions } from "../store.js";

export interface Scale extends KubeObject {
  spec: { replicas?: number };
  status: { replicas: number; selector?: string };
}

/** GET, PUT or PATCH of <workload>/scale. */
export const scaleSubresource: SubresourceHandler = async (request) => {
  const namespace = request.namespace ?? "";
  const { store, name, dryRun, fieldManager } = request;
  switch (request.method) {
    case "GET":
      return { code: 200, body: await getScale(store, namespace, name) };
    case "PUT":
      return { code: 200, body: await updateScale(store, namespace, name, { body: await request.json() }, dryRun, fieldManager) };
    case "PATCH": {
      const { contentType, patch } = await request.patch();
      return { code: 200, body: await updateScale(store, namespace, name, { patch, contentType }, dryRun, fieldManager) };
    }
    default:
      throw methodNotAllowed("the server does not allow this method on the requested resource");
  }
};

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
  return scaleOf(await workloadOf(store, namespace, name));
}

/** The workload behind a Scale; a missing one is NotFound on `<resource>/scale`, as upstream names it. */
async function workloadOf(store: ResourceStore, namespace: string, name: string): Promise<KubeObject> {
  try {
    return await store.get(namespace, name);
  } catch (err) {
    if (isNotFound(err)) throw notFound(qualifiedResource({ group: store.info.group, resource: `${store.info.resource}/scale` }), name);
    throw err;
  }
}

/** PUT or PATCH of a Scale: only spec.replicas reaches the object. */
export async function updateScale(store: ResourceStore, namespace: string, name: string, change: { body: unknown } | { patch: unknown; contentType: string }, dryRun: boolean, fieldManager?: string): Promise<Scale> {
  // A resourceVersion in a PUT body is a precondition; without one, a conflicting write is retried.
  const bodyMeta = "body" in change && isRecord(change.body) && isRecord(change.body.metadata) ? change.body.metadata : {};
  const rv = typeof bodyMeta.resourceVersion === "string" ? bodyMeta.resourceVersion : undefined;
  return retryOnConflict(async () => {
    const current = await workloadOf(store, namespace, name);
    const scale = scaleOf(current);
    const desired = "body" in change ? change.body : applyPatch(change.contentType, scale, change.patch);
    if (!isRecord(desired)) throw badRequest("a Scale must be an object");
    const spec = isRecord(desired.spec) ? desired.spec : {};
    const replicas = spec.replicas;
    if (replicas !== undefined && (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0)) {
      throw invalid("Scale", "autoscaling", name, [{ type: "FieldValueInvalid", field: "spec.replicas", message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0` }]);
    }
    if (rv !== undefined && rv !== current.metadata.resourceVersion) throw conflict(store.qualified, name);
    const next = structuredClone(current);
    const nextSpec = (isRecord(next.spec) ? next.spec : {}) as { replicas?: number };
    if (typeof replicas === "number") nextSpec.replicas = replicas;
    next.spec = nextSpec;
    next.metadata.resourceVersion = current.metadata.resourceVersion ?? "";
    const options: WriteOptions = { dryRun, managedSubresource: "scale" };
    if (fieldManager !== undefined) options.fieldManager = fieldManager;
    const { object } = await store.update(namespace, name, next, options);
    return scaleOf(object);
  }, { attempts: CONFLICT_ATTEMPTS, retriable: (err) => rv === undefined && isConflict(err) });
}
