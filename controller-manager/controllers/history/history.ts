// ControllerRevisions as the DaemonSet and StatefulSet controllers keep them (Kubernetes' pkg/controller/history).
// Contract:
//   - a revision snapshots the owner's pod template as the strategic-merge patch kubectl applies on `rollout undo`:
//     {"spec":{"template":{"$patch":"replace",...}}}, byte for byte what Kubernetes' controllers write (Go's typed
//     JSON of the template, with the fields Go writes unset, re-encoded as a map: members sorted at every depth), as
//     Go clients compare those bytes (the e2e tests' daemon.Match, the real controllers' EqualRevision); kubectl
//     lists an owner's revisions by the owner's selector and its controllerRef, so a revision carries the template's
//     labels and a controller reference;
//   - its name is `<owner>-<hash>` with the owner's collisionCount in the hash (a name taken by different data is a
//     collision: the owner's status.collisionCount is bumped and the name changes). A StatefulSet's hash is
//     Kubernetes' (FNV-1 of the data's bytes and the count, so the names are the real controller's); a DaemonSet's
//     is kubelab's own hash of the template (Kubernetes hashes the Go struct's printed form, which only Go has);
//   - a revision equals a template when their data are equal once both have Go's unset fields (a revision written
//     before kubelab added them, or by another controller, still matches);
//   - revision numbers grow: a new revision gets max+1; going back to an old template (undo) renumbers the equal
//     revision to max+1 instead of creating a duplicate;
//   - revisions no pod uses beyond revisionHistoryLimit are deleted, oldest first.
import { isAlreadyExists, isNotFound } from "../../../api/errors.js";
import type { Selector } from "../../../api/labels.js";
import type { KubeObject } from "../../../api/meta.js";
import { findResource } from "../../../api/resources.js";
import type { ControllerRevision } from "../../../api/types/admissionregistration.js";
import type { PodTemplateSpec } from "../../../api/types/core.js";
import type { Informer } from "../../../client/informer.js";
import type { RestClient } from "../../../client/rest.js";
import { parseTime } from "../../../api/time.js";
import { goJsonString, goTypedTemplate, sortMembers } from "../../../api/go-json.js";
import { adoptPatch, claimObjects, CONTROLLER_UID_INDEX, ensureControllerUidIndex, newControllerRef, orphanIndexValue, recheckOwner, releasePatch, semanticEqual } from "../controller-utils.js";

export const CONTROLLER_REVISIONS = findResource("apps", "v1", "controllerrevisions")!;

/** The pod (and DaemonSet revision) label naming the revision a pod was made from. */
export const CONTROLLER_REVISION_HASH_LABEL = "controller-revision-hash";
/** The label StatefulSet revisions carry with their hash (history.ControllerRevisionHashLabel). */
export const REVISION_HASH_LABEL = "controller.kubernetes.io/hash";

/** Kubernetes' rand.SafeEncodeString alphabet: no vowels, no look-alike characters. */
const SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stableJson(record[k])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** FNV-1a (32 bit) of `value` in a key-sorted JSON form plus the collision count, safely encoded (like ComputeHash). */
export function computeHash(value: unknown, collisionCount?: number): string {
  let text = stableJson(value);
  if (collisionCount !== undefined && collisionCount !== 0) text += `#${collisionCount}`;
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, "utf8")) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return safeEncode(String(h));
}

/**
 * The revision data for a template: the patch kubectl applies to roll the owner back to it, as Kubernetes' getPatch
 * builds it (Go's typed JSON of the template, its members sorted at every depth, "$patch" first).
 */
export function templatePatch(template: Readonly<PodTemplateSpec> | undefined): { spec: { template: Record<string, unknown> } } {
  return sortMembers({ spec: { template: { ...goTypedTemplate(template), $patch: "replace" } } }) as { spec: { template: Record<string, unknown> } };
}

/** Whether a revision's data snapshots `template`: equal once the revision's template has Go's unset fields too. */
export function revisionMatches(revision: Readonly<ControllerRevision>, data: ReturnType<typeof templatePatch>): boolean {
  const template = templateOfRevision(revision);
  return template !== undefined && semanticEqual(templatePatch(template), data);
}

/**
 * Kubernetes' history.HashControllerRevision: FNV-1 (32 bit) of the data's bytes, then of the collision count in
 * decimal, safely encoded. The StatefulSet controller always passes the count, 0 included.
 */
export function hashRevisionData(data: unknown, collisionCount: number): string {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(goJsonString(data) + String(collisionCount), "utf8")) {
    h = Math.imul(h, 0x01000193) >>> 0;
    h = (h ^ byte) >>> 0;
  }
  return safeEncode(String(h));
}

/** rand.SafeEncodeString: each character mapped into SAFE_ALPHABET by its code. */
function safeEncode(text: string): string {
  let out = "";
  for (const c of text) out += SAFE_ALPHABET.charAt(c.charCodeAt(0) % SAFE_ALPHABET.length);
  return out;
}

/**
 * kubelab's DaemonSet revision hash: computeHash of the template in the form kubelab's revisions had before they
 * carried Go's unset fields, so that existing revisions (and the controller-revision-hash of running pods) keep
 * their names.
 */
function daemonSetHash(template: Readonly<PodTemplateSpec> | undefined, collisionCount: number | undefined): string {
  return computeHash({ spec: { template: { ...structuredClone(template ?? {}), $patch: "replace" } } }, collisionCount);
}

/** The template a revision snapshots (its data without the patch directive); undefined if the data has none. */
export function templateOfRevision(revision: Readonly<ControllerRevision>): PodTemplateSpec | undefined {
  const data = revision.data;
  if (data === null || typeof data !== "object") return undefined;
  const spec = (data as { spec?: unknown }).spec;
  if (spec === null || typeof spec !== "object") return undefined;
  const template = (spec as { template?: unknown }).template;
  if (template === null || typeof template !== "object") return undefined;
  const copy = structuredClone(template) as Record<string, unknown>;
  delete copy.$patch;
  return copy;
}

/** `<owner>-<hash>` (history.ControllerRevisionName, which keeps the owner part short enough for a name). */
export function revisionName(ownerName: string, hash: string): string {
  const prefix = ownerName.length > 223 ? ownerName.slice(0, 223) : ownerName;
  return `${prefix}-${hash}`;
}

/** Oldest first: by revision number, then creation time, then name (history.SortControllerRevisions). */
export function sortRevisions(revisions: readonly Readonly<ControllerRevision>[]): Readonly<ControllerRevision>[] {
  return [...revisions].sort((a, b) => {
    const byNumber = (a.revision ?? 0) - (b.revision ?? 0);
    if (byNumber !== 0) return byNumber;
    const byTime = (parseTime(a.metadata.creationTimestamp) ?? 0) - (parseTime(b.metadata.creationTimestamp) ?? 0);
    if (byTime !== 0) return byTime;
    return (a.metadata.name ?? "").localeCompare(b.metadata.name ?? "");
  });
}

/** One more than the highest revision number (1 for none). */
export function nextRevisionNumber(revisions: readonly Readonly<ControllerRevision>[]): number {
  return Math.max(0, ...revisions.map((r) => r.revision ?? 0)) + 1;
}

/** The revisions that snapshot the template of `data` (revisionMatches), oldest first. */
export function equalRevisions(revisions: readonly Readonly<ControllerRevision>[], data: ReturnType<typeof templatePatch>): Readonly<ControllerRevision>[] {
  return sortRevisions(revisions.filter((r) => revisionMatches(r, data)));
}

/** The revisions to delete: the oldest of those not in `live`, as many as exceed `limit`. */
export function revisionsToTruncate(revisions: readonly Readonly<ControllerRevision>[], live: ReadonlySet<string>, limit: number): Readonly<ControllerRevision>[] {
  const history = sortRevisions(revisions).filter((r) => !live.has(r.metadata.name ?? ""));
  const excess = history.length - Math.max(0, limit);
  return excess > 0 ? history.slice(0, excess) : [];
}

export interface RevisionOwner {
  apiVersion: string;
  kind: string;
  /** The label the revision's hash goes under (controller-revision-hash for DaemonSets, controller.kubernetes.io/hash for StatefulSets). */
  hashLabel: string;
  /** What the name's hash is of: the template (DaemonSets, kubelab's hash) or the data's bytes (StatefulSets, Kubernetes' hash). */
  hashOf: "template" | "data";
}

/** A new revision object of `owner` (not yet created). */
export function newRevision(owner: Readonly<KubeObject>, kind: RevisionOwner, template: Readonly<PodTemplateSpec> | undefined, number: number, collisionCount: number | undefined): ControllerRevision {
  const data = templatePatch(template);
  const hash = kind.hashOf === "data" ? hashRevisionData(data, collisionCount ?? 0) : daemonSetHash(template, collisionCount);
  const labels: Record<string, string> = { ...(template?.metadata?.labels ?? {}), [kind.hashLabel]: hash };
  const metadata: ControllerRevision["metadata"] = {
    name: revisionName(owner.metadata.name ?? "", hash),
    labels,
    ownerReferences: [newControllerRef(owner, kind.apiVersion, kind.kind)],
  };
  if (owner.metadata.namespace !== undefined) metadata.namespace = owner.metadata.namespace;
  if (owner.metadata.annotations) metadata.annotations = { ...owner.metadata.annotations };
  return { apiVersion: "apps/v1", kind: "ControllerRevision", metadata, data, revision: number };
}

/** The hash part of a revision's name (what DaemonSet pods carry in controller-revision-hash). */
export function revisionHash(revision: Readonly<ControllerRevision>, kind: RevisionOwner): string {
  return revision.metadata.labels?.[kind.hashLabel] ?? "";
}

export type HistoryClient = Pick<RestClient, "get" | "create" | "patch" | "delete">;

export interface ControllerHistoryOptions {
  client: HistoryClient;
  informer: Informer<ControllerRevision>;
  kind: RevisionOwner;
  /** The owner's resource, for the fresh read before adopting orphaned revisions. */
  ownerResource: NonNullable<ReturnType<typeof findResource>>;
}

/** The result of syncing an owner's revisions for its current template. */
export interface RevisionState {
  /** Every revision the owner controls after the sync, oldest first. */
  revisions: Readonly<ControllerRevision>[];
  /** The revision of the current template. */
  update: Readonly<ControllerRevision>;
  /** The collision count the owner's status should carry. */
  collisionCount: number;
}

/** The API side of controller history: claiming, creating, renumbering and deleting an owner's revisions. */
export class ControllerHistory {
  constructor(private readonly opts: ControllerHistoryOptions) {
    ensureControllerUidIndex(opts.informer);
  }

  /** The revisions `owner` controls, after adopting matching orphans and releasing non-matching ones. */
  async claim(owner: Readonly<KubeObject>, selector: Selector): Promise<Readonly<ControllerRevision>[]> {
    const { client, informer, kind, ownerResource } = this.opts;
    const lister = informer.lister;
    const owned = owner.metadata.uid ? lister.byIndex(CONTROLLER_UID_INDEX, owner.metadata.uid) : [];
    const candidates = [...owned, ...lister.byIndex(CONTROLLER_UID_INDEX, orphanIndexValue(owner.metadata.namespace))];
    const ref = newControllerRef(owner, kind.apiVersion, kind.kind);
    const namespace = owner.metadata.namespace;
    return claimObjects(candidates, {
      owner,
      selector,
      canAdopt: recheckOwner(owner, () => client.get(ownerResource, namespace, owner.metadata.name ?? "")),
      adopt: async (cr) => {
        await client.patch(CONTROLLER_REVISIONS, namespace, cr.metadata.name ?? "", "strategic", adoptPatch(ref, cr.metadata.uid));
      },
      release: async (cr) => {
        await client.patch(CONTROLLER_REVISIONS, namespace, cr.metadata.name ?? "", "strategic", releasePatch(owner.metadata.uid ?? "", cr.metadata.uid));
      },
    });
  }

  /**
   * Makes sure a revision of `template` exists and is the newest: an equal revision is reused (renumbered to the
   * top when it is not already), otherwise a new one is created, bumping the collision count on a name collision.
   */
  async sync(owner: Readonly<KubeObject>, template: Readonly<PodTemplateSpec> | undefined, existing: readonly Readonly<ControllerRevision>[], collisionCount: number): Promise<RevisionState> {
    const revisions = sortRevisions(existing);
    const data = templatePatch(template);
    const equal = equalRevisions(revisions, data);
    const next = nextRevisionNumber(revisions);
    const newest = revisions[revisions.length - 1];
    if (equal.length > 0) {
      const found = equal[equal.length - 1]!;
      if (found === newest || found.revision === newest?.revision) return { revisions, update: found, collisionCount };
      const renumbered = await this.opts.client.patch<ControllerRevision>(CONTROLLER_REVISIONS, found.metadata.namespace, found.metadata.name ?? "", "merge", { revision: next });
      return { revisions: sortRevisions(revisions.map((r) => (r === found ? renumbered : r))), update: renumbered, collisionCount };
    }
    let count = collisionCount;
    for (;;) {
      const wanted = newRevision(owner, this.opts.kind, template, next, count);
      try {
        const created = await this.opts.client.create<ControllerRevision>(CONTROLLER_REVISIONS, owner.metadata.namespace, wanted);
        return { revisions: sortRevisions([...revisions, created]), update: created, collisionCount: count };
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        const taken = await this.opts.client.get<ControllerRevision>(CONTROLLER_REVISIONS, owner.metadata.namespace, wanted.metadata.name ?? "");
        const ours = taken.metadata.ownerReferences?.some((r) => r.controller === true && r.uid === owner.metadata.uid) === true;
        // Our own revision of the same data, not in the cache yet: use it.
        if (ours && revisionMatches(taken, data)) return { revisions: sortRevisions([...revisions.filter((r) => r.metadata.name !== taken.metadata.name), taken]), update: taken, collisionCount: count };
        count++;
      }
    }
  }

  /** Deletes the revisions beyond `limit` that are not live; a revision already gone is not an error. */
  async truncate(revisions: readonly Readonly<ControllerRevision>[], live: ReadonlySet<string>, limit: number): Promise<void> {
    for (const cr of revisionsToTruncate(revisions, live, limit)) {
      try {
        await this.opts.client.delete(CONTROLLER_REVISIONS, cr.metadata.namespace, cr.metadata.name ?? "");
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }
}
