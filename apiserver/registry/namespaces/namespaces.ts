// Namespaces: deleted in two steps (Terminating until the namespace controller has emptied them and cleared
// spec.finalizers through the finalize subresource), and the NamespaceLifecycle admission every namespaced create
// passes.
import { forbidden, methodNotAllowed, notFound, StatusError } from "../../../api/errors.js";
import { isRecord, type KubeObject } from "../../../api/meta.js";
import type { ResourceDefinition, SubresourceHandler } from "../kind.js";
import type { ResourceStore, WriteOptions } from "../store.js";
import { PLAIN_STRATEGY } from "../strategy.js";

/** namespaces/<name>/finalize: a PUT writes only spec.finalizers (a GET reads the namespace). */
const finalizeNamespace: SubresourceHandler = async ({ method, store, name, dryRun, fieldManager, object }) => {
  if (method === "GET") return { code: 200, object: await store.get(undefined, name) };
  if (method !== "PUT") throw methodNotAllowed("the server does not allow this method on the requested resource");
  const body = await object();
  const spec = isRecord(body) && isRecord(body.spec) ? body.spec : {};
  const next: KubeObject = { metadata: {}, spec: { finalizers: Array.isArray(spec.finalizers) ? spec.finalizers : [] } };
  const options: WriteOptions = { dryRun, subresource: "finalize" };
  if (fieldManager !== undefined) options.fieldManager = fieldManager;
  const { object: updated } = await store.update(undefined, name, next, options);
  return { code: 200, object: updated };
};

export const NAMESPACE_RESOURCES: readonly ResourceDefinition[] = [
  {
    group: "",
    resource: "namespaces",
    strategy: () => ({ ...PLAIN_STRATEGY, statusSubresource: true, returnDeletedObject: true, alwaysGraceful: true, prepareForUpdate: keepSpecFinalizers }),
    subresources: { finalize: finalizeNamespace },
  },
];

/** A plain update never changes spec.finalizers: only the finalize subresource does. */
function keepSpecFinalizers(next: KubeObject, prev: KubeObject): void {
  const finalizers = isRecord(prev.spec) ? prev.spec.finalizers : undefined;
  const spec = isRecord(next.spec) ? next.spec : {};
  if (finalizers === undefined) delete spec.finalizers;
  else spec.finalizers = finalizers;
  if (Object.keys(spec).length > 0 || next.spec !== undefined) next.spec = spec;
}

/** The NamespaceLifecycle admission plugin: no new content in a missing or terminating namespace. */
export async function admitToNamespace(namespaces: ResourceStore, namespace: string, qualified: string, name: string): Promise<void> {
  let ns = namespaces.cache.get(namespaces.keyFor(undefined, namespace));
  if (!ns) {
    // The cache may not have seen a namespace created a moment ago.
    try {
      ns = await namespaces.get(undefined, namespace);
    } catch {
      throw notFound("namespaces", namespace);
    }
  }
  const phase = (ns.status as { phase?: string } | undefined)?.phase;
  if (ns.metadata.deletionTimestamp || phase === "Terminating") {
    const err = forbidden(qualified, name, `unable to create new content in namespace ${namespace} because it is being terminated`);
    // The cause clients (the namespace controller, client-go's retries) recognize a terminating namespace by.
    const causes = [{ reason: "NamespaceTerminating", message: `namespace ${namespace} is being terminated`, field: "metadata.namespace" }];
    throw new StatusError(err.code, err.reason, err.message, { ...err.details, causes });
  }
}
