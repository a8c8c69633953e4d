// The store's calls into server-side apply and managedFields (api/managed-fields): the request checks of an apply
// body, which fields each endpoint may own, and the managedFields every write records.
import { badRequest, errorMessage, invalid } from "../../api/errors.js";
import { yaml } from "../../api/yaml.js";
import { FieldSet } from "../../api/managed-fields/fieldset.js";
import { ApplyConflictError, baseManagers, decodeManagers, trackApply, trackUpdate, type Writer } from "../../api/managed-fields/managers.js";
import { members, WHOLE_OBJECT, type Scope } from "../../api/managed-fields/structure.js";
import type { KubeObject, ManagedFieldsEntry } from "../../api/meta.js";
import { isRecord } from "../../api/meta.js";
import { deepEqual, dropNulls } from "../../api/normalize.js";
import { apiVersionOf, type ResourceInfo } from "../../api/resources.js";

/** A write's author and reach, as the store works them out from its WriteOptions. */
export interface ManagedWrite {
  readonly writer: Writer;
  readonly scope: Scope;
  /** Set for apply: the managedFields the apply produced. */
  readonly entries?: ManagedFieldsEntry[];
}

const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

/**
 * The top-level fields an endpoint's writes may own (upstream's reset fields): a status write only status; the main
 * resource everything but status when the kind has a status subresource.
 */
export function managedScope(subresource: string | undefined, statusSubresource: boolean): Scope {
  if (subresource === "status") return (field) => field === "status" || field === "metadata";
  if (subresource === undefined && statusSubresource) return (field) => WHOLE_OBJECT(field) && field !== "status";
  return WHOLE_OBJECT;
}

/** Records an Update by the writer in `after.metadata.managedFields`; `sent` is what the client sent there. */
export function recordUpdate(write: ManagedWrite | undefined, before: KubeObject | undefined, after: KubeObject, sent: unknown): void {
  if (write === undefined) return;
  const managers = baseManagers(before?.metadata.managedFields, sent);
  setEntries(after, trackUpdate(managers, before, after, write.writer, write.scope));
}

function setEntries(object: KubeObject, entries: ManagedFieldsEntry[]): void {
  if (entries.length > 0) object.metadata.managedFields = entries;
  else delete object.metadata.managedFields;
}

/**
 * Server-side apply of `patch` (the decoded apply-patch+yaml body) to `live` (undefined: apply creates the object):
 * the merged object, with its managedFields in `entries`. 400 for a body that is not an object of this resource's
 * kind and version or that carries managedFields; 422 without a field manager; 409 on conflicts unless `force`.
 */
export function applyRequest(
  write: ManagedWrite | undefined,
  info: ResourceInfo,
  name: string,
  namespace: string | undefined,
  live: KubeObject | undefined,
  patch: unknown,
  force: boolean,
): { object: KubeObject; entries: ManagedFieldsEntry[] } {
  if (write === undefined || write.writer.manager === "") {
    throw invalid("PatchOptions", "meta.k8s.io", "", [{ type: "FieldValueRequired", field: "fieldManager", message: "Required value: is required for apply patch" }]);
  }
  const config = decodeApplied(patch);
  const apiVersion = typeof config.apiVersion === "string" ? config.apiVersion : "";
  const kind = typeof config.kind === "string" ? config.kind : "";
  if (apiVersion !== apiVersionOf(info)) {
    throw badRequest(`Incorrect version specified in apply patch. Specified patch version: ${apiVersion}, expected: ${apiVersionOf(info)}`);
  }
  if (kind !== info.kind) {
    // Upstream fails here with a 500 (no type for that kind); the same words, as the client's error it is.
    const gvk = `${info.group}/${info.version}, Kind=${kind}`;
    const where = `${typeof config.metadata === "object" && config.metadata !== null && "namespace" in config.metadata ? String(config.metadata.namespace) : ""}/${name}`;
    throw badRequest(`failed to create typed patch object (${where}; ${gvk}): no corresponding type for ${gvk}`);
  }
  const meta: Record<string, unknown> = isRecord(config.metadata) ? config.metadata : {};
  config.metadata = meta;
  if (meta.managedFields !== undefined) throw badRequest("metadata.managedFields must be nil");
  if (meta.name !== undefined && meta.name !== name) throw badRequest(`the name of the object (${typeof meta.name === "string" ? meta.name : (JSON.stringify(meta.name) ?? "")}) does not match the name on the URL (${name})`);
  if (info.namespaced && namespace && typeof meta.namespace === "string" && meta.namespace !== "" && meta.namespace !== namespace) {
    throw badRequest(`the namespace of the object (${meta.namespace}) does not match the namespace on the request (${namespace})`);
  }
  meta.name = name;
  // Fields this endpoint does not own are not applied (a status in an apply to the main resource).
  for (const field of Object.keys(config)) {
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- dropping a field the endpoint resets
    if (field !== "metadata" && !write.scope(field)) delete config[field];
  }
  const applied = config as KubeObject;
  const managers = decodeManagers(live?.metadata.managedFields);
  let result: ReturnType<typeof trackApply>;
  try {
    result = trackApply(managers, live, applied, write.writer, write.scope, force);
  } catch (err) {
    // kubectl's first server-side apply over a client-side applied object: fields whose live value is still the
    // last client-side applied one may be taken (upstream's lastAppliedManager); kubectl then migrates ownership.
    if (!(err instanceof ApplyConflictError) || write.writer.manager !== "kubectl" || live === undefined) throw err;
    const allowed = lastAppliedUnchanged(live, write.scope);
    if (allowed === undefined || !err.conflicts.every((c) => allowed.has(c.path))) throw err;
    result = trackApply(managers, live, applied, write.writer, write.scope, true);
  }
  // kubectl's own server-side apply keeps a client-side apply annotation in step, so that a later client-side
  // apply computes its patch from what was applied last.
  const annotations = result.object.metadata.annotations;
  if (write.writer.manager === "kubectl" && annotations !== undefined && Object.hasOwn(annotations, LAST_APPLIED)) {
    const lastApplied = structuredClone(applied);
    const own = lastApplied.metadata.annotations;
    if (own !== undefined) {
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- the annotation is not part of what it records
      delete own[LAST_APPLIED];
      if (Object.keys(own).length === 0) delete lastApplied.metadata.annotations;
    }
    annotations[LAST_APPLIED] = JSON.stringify(lastApplied);
  }
  return { object: result.object, entries: result.managedFields };
}

/** The fields of the last client-side applied configuration whose live value is still the applied one. */
function lastAppliedUnchanged(live: KubeObject, scope: Scope): FieldSet | undefined {
  const text = live.metadata.annotations?.[LAST_APPLIED];
  if (text === undefined || text === "") return undefined;
  let lastApplied: unknown;
  try {
    lastApplied = JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
  const liveMembers = members(live, scope);
  const unchanged = new FieldSet();
  for (const [key, member] of members(lastApplied, scope)) {
    const current = liveMembers.get(key);
    if (current !== undefined && deepEqual(current.value, member.value)) unchanged.add(member.path);
  }
  return unchanged;
}

function decodeApplied(patch: unknown): Record<string, unknown> {
  let body = patch;
  if (typeof patch === "string" || patch instanceof Uint8Array) {
    const text = typeof patch === "string" ? patch : new TextDecoder().decode(patch);
    try {
      body = yaml().parse(text) as unknown;
    } catch (err) {
      throw badRequest(`error decoding YAML: ${errorMessage(err)}`);
    }
  }
  if (!isRecord(body)) throw badRequest("error decoding YAML: an apply patch must be an object");
  // dropNulls rebuilds every array and record: the result shares nothing with the patch (YAML aliases included).
  return dropNulls(body);
}
