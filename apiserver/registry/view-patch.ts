// Patches of a resource served as a view of another's storage (autoscaling/v1 HPAs over v2, events.k8s.io events
// over core events): the patch is applied to the object as the client's version shows it, then the result is
// converted back and written with the read resourceVersion as a precondition, retried on conflict. Applying a
// v1 patch to the stored v2 object would touch fields the stored form does not have.
import { badRequest, isConflict, retryOnConflict } from "../../api/errors.js";
import type { KubeObject } from "../../api/meta.js";
import { isRecord } from "../../api/meta.js";
import { dropNulls } from "../../api/normalize.js";
import { applyPatch } from "../../api/patch/apply.js";
import type { ServedResource } from "./registry.js";
import { CONFLICT_ATTEMPTS, type WriteOptions } from "./store.js";

export async function patchThroughView(
  r: ServedResource,
  namespace: string | undefined,
  name: string,
  contentType: string,
  patch: unknown,
  options: WriteOptions & { force?: boolean },
): Promise<{ object: KubeObject; created: boolean }> {
  // Apply patches are whole objects, already converted to the stored form by the caller.
  if (contentType.startsWith("application/apply-patch")) return r.store.patch(namespace, name, contentType, patch, options);
  const patchRv = isRecord(patch) && isRecord(patch.metadata) ? patch.metadata.resourceVersion : undefined;
  return retryOnConflict(
    async () => {
      const stored = await r.store.get(namespace, name);
      const patched = applyPatch(contentType, r.toApi(stored), patch);
      if (!isRecord(patched) || !isRecord(patched.metadata)) throw badRequest("the patch produced an object without metadata");
      const next = r.fromApi(dropNulls(patched)) as KubeObject;
      next.metadata.resourceVersion = typeof patchRv === "string" ? patchRv : (stored.metadata.resourceVersion ?? "");
      return r.store.update(namespace, name, next, options);
    },
    { attempts: CONFLICT_ATTEMPTS, retriable: (err) => patchRv === undefined && isConflict(err) },
  );
}
