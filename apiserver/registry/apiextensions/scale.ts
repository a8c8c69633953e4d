// The autoscaling/v1 Scale subresource of a custom resource: spec.replicas, status.replicas and status.selector read
// from (and spec.replicas written to) the paths the CRD version's subresources.scale names.
import { badRequest, conflict, invalid, isConflict, methodNotAllowed, retryOnConflict } from "../../../api/errors.js";
import type { KubeObject } from "../../../api/meta.js";
import { isRecord } from "../../../api/meta.js";
import { applyPatch } from "../../../api/patch/apply.js";
import type { SubresourceHandler } from "../kind.js";
import { CONFLICT_ATTEMPTS, type ResourceStore } from "../store.js";
import type { CustomResourceSubresourceScale } from "./types.js";

interface Scale extends KubeObject {
  spec: { replicas?: number };
  status: { replicas: number; selector?: string };
}

/** ".spec.replicas" → ["spec", "replicas"]. */
function fieldsOf(path: string | undefined): string[] {
  return (path ?? "").split(".").filter((p) => p !== "");
}

function read(object: unknown, path: readonly string[]): unknown {
  let value = object;
  for (const key of path) {
    if (!isRecord(value)) return undefined;
    value = value[key];
  }
  return value;
}

function write(object: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = object;
  path.slice(0, -1).forEach((key) => {
    if (!isRecord(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  });
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = value;
}

export function customResourceScale(paths: CustomResourceSubresourceScale): SubresourceHandler {
  const specPath = fieldsOf(paths.specReplicasPath);
  const statusPath = fieldsOf(paths.statusReplicasPath);
  const selectorPath = paths.labelSelectorPath !== undefined ? fieldsOf(paths.labelSelectorPath) : undefined;

  const scaleOf = (object: KubeObject): Scale => {
    const meta = object.metadata;
    const metadata: KubeObject["metadata"] = { name: meta.name ?? "" };
    if (meta.namespace) metadata.namespace = meta.namespace;
    if (meta.uid) metadata.uid = meta.uid;
    if (meta.resourceVersion) metadata.resourceVersion = meta.resourceVersion;
    if (meta.creationTimestamp) metadata.creationTimestamp = meta.creationTimestamp;
    const specReplicas = read(object, specPath);
    const statusReplicas = read(object, statusPath);
    const scale: Scale = { apiVersion: "autoscaling/v1", kind: "Scale", metadata, spec: {}, status: { replicas: typeof statusReplicas === "number" ? statusReplicas : 0 } };
    if (typeof specReplicas === "number") scale.spec.replicas = specReplicas;
    const selector = selectorPath ? read(object, selectorPath) : undefined;
    if (typeof selector === "string" && selector !== "") scale.status.selector = selector;
    return scale;
  };

  const update = async (store: ResourceStore, namespace: string | undefined, name: string, change: { body: unknown } | { patch: unknown; contentType: string }, dryRun: boolean): Promise<Scale> => {
    const bodyMeta = "body" in change && isRecord(change.body) && isRecord(change.body.metadata) ? change.body.metadata : {};
    const rv = typeof bodyMeta.resourceVersion === "string" ? bodyMeta.resourceVersion : undefined;
    return retryOnConflict(async () => {
      const current = await store.get(namespace, name);
      const desired = "body" in change ? change.body : applyPatch(change.contentType, scaleOf(current), change.patch);
      if (!isRecord(desired)) throw badRequest("a Scale must be an object");
      const replicas = isRecord(desired.spec) ? desired.spec.replicas : undefined;
      if (replicas !== undefined && (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0)) {
        throw invalid("Scale", "autoscaling", name, [{ type: "FieldValueInvalid", field: "spec.replicas", message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0` }]);
      }
      if (rv !== undefined && rv !== current.metadata.resourceVersion) throw conflict(store.qualified, name);
      const next = structuredClone(current);
      if (typeof replicas === "number") write(next, specPath, replicas);
      next.metadata.resourceVersion = current.metadata.resourceVersion ?? "";
      const { object } = await store.update(namespace, name, next, { dryRun });
      return scaleOf(object);
    }, { attempts: CONFLICT_ATTEMPTS, retriable: (err) => rv === undefined && isConflict(err) });
  };

  return async (request) => {
    const { store, name, dryRun, namespace } = request;
    switch (request.method) {
      case "GET":
        return { code: 200, body: scaleOf(await store.get(namespace, name)) };
      case "PUT":
        return { code: 200, body: await update(store, namespace, name, { body: await request.json() }, dryRun) };
      case "PATCH": {
        const { contentType, patch } = await request.patch();
        return { code: 200, body: await update(store, namespace, name, { patch, contentType }, dryRun) };
      }
      default:
        throw methodNotAllowed("the server does not allow this method on the requested resource");
    }
  };
}
