// The resources CustomResourceDefinitions define, served at runtime: each apiserver follows the CRDs in its watch
// cache (so several apiservers see a CRD created through another), and for every CRD whose names are accepted
// serves each served version with a generic ResourceStore over etcd keys /registry/<group>/<plural>/..., a strategy
// built from the version's schema (prune, default, validate), its status and scale subresources, and a Table
// printer from its additionalPrinterColumns. It also lists them in discovery and runs the CRD controllers Kubernetes
// runs in its apiextensions-apiserver: naming (NamesAccepted, acceptedNames), establishing (Established), and the
// finalizer that deletes a deleted CRD's objects (Terminating) before letting the CRD go.
import { invalid as invalidObject, isConflict, isNotFound, retryOnConflict } from "../../../api/errors.js";
import type { KubeObject } from "../../../api/meta.js";
import { isRecord } from "../../../api/meta.js";
import type { KindPrinter } from "../../../api/printers/printer.js";
import { customResourceInfo } from "../../../api/custom-resources.js";
import type { ResourceInfo } from "../../../api/resources.js";
import { formatTime } from "../../../api/time.js";
import type { Logger } from "../../../component-base/logging.js";
import { resourceDiscovery, resourceListFor, type APIGroup, type APIGroupDiscovery, type APIResourceList } from "../../http/discovery.js";
import type { Storage, WatchCache, CacheWatcher } from "../../storage/interfaces.js";
import { admitToNamespace } from "../namespaces/namespaces.js";
import type { ServedResource } from "../registry.js";
import type { Registry } from "../registry.js";
import { ResourceStore } from "../store.js";
import type { Strategy } from "../strategy.js";
import { terminatingCreate } from "./crds.js";
import { customResourcePrinter } from "./printer-columns.js";
import { customResourceScale } from "./scale.js";
import { applySchemaDefaults, pruneObject, schemaHasDefaults, validateValue, withSchemaDefaults, type JSONSchemaProps } from "./schema.js";
import { CLEANUP_FINALIZER, CRD_GROUP, type CustomResourceDefinition, type CustomResourceDefinitionCondition, type CustomResourceDefinitionNames, type CustomResourceDefinitionVersion } from "./types.js";

export interface CustomResourcesOptions {
  registry: Registry;
  storage: Storage;
  /** etcd key prefix, e.g. "/registry". */
  prefix: string;
  createCache: (prefix: string, resource: string) => WatchCache;
  logger: Logger;
}

/** One served version of a CRD. */
interface ServedVersion {
  served: ServedResource;
  schema: JSONSchemaProps | undefined;
}

interface Entry {
  crd: CustomResourceDefinition;
  versions: Map<string, ServedVersion>;
  terminating: boolean;
}

/** The patch types Kubernetes accepts for custom resources: no strategic merge patch (415 otherwise). */
const CUSTOM_RESOURCE_PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"];

export class CustomResources {
  private readonly crds = new Map<string, CustomResourceDefinition>();
  private readonly entries = new Map<string, Entry>();
  private readonly caches = new Map<string, WatchCache>();
  private watcher: CacheWatcher | undefined;
  private stopped = false;
  private readonly pending = new Set<string>();
  private reconciling: Promise<void> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: CustomResourcesOptions) {}

  private get crdStore(): ResourceStore {
    const store = this.options.registry.store(CRD_GROUP, "v1", "customresourcedefinitions");
    if (!store) throw new Error("apiextensions.k8s.io/v1 customresourcedefinitions are not served");
    return store;
  }

  /** Starts following CRDs (serving their resources and keeping their status). */
  async start(): Promise<void> {
    if (this.watcher) return;
    this.follow(await this.refresh());
    for (const name of this.crds.keys()) this.enqueue(name);
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.stop();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    for (const cache of this.caches.values()) cache.stop();
    this.caches.clear();
  }

  /** Re-reads every CRD with a consistent read: a request that missed sees a CRD written a moment ago elsewhere. */
  async refresh(): Promise<number> {
    const { items, resourceVersion } = await this.crdStore.list(undefined, {});
    const names = new Set<string>();
    for (const item of items) {
      const name = item.metadata.name ?? "";
      names.add(name);
      const known = this.crds.get(name);
      if (known?.metadata.resourceVersion !== item.metadata.resourceVersion) this.crds.set(name, item);
    }
    for (const name of [...this.crds.keys()]) if (!names.has(name)) this.crds.delete(name);
    this.rebuild();
    return Number(resourceVersion);
  }

  /** Follows CRD events after `revision` (that of the list the state was built from). */
  private follow(revision: number): void {
    if (this.stopped) return;
    const store = this.crdStore;
    this.watcher = store.cache.watch(
      { prefix: store.prefixFor(undefined), fromRevision: revision },
      (event) => {
        if (event.type === "BOOKMARK") return;
        const name = event.object.metadata.name ?? "";
        if (event.type === "DELETED") this.crds.delete(name);
        else this.crds.set(name, event.object);
        this.rebuild();
        this.enqueue(name);
      },
      () => {
        setTimeout(() => {
          void this.refresh().then(
            (revision) => {
              this.follow(revision);
            },
            () => {
              this.follow(this.crdStore.cache.revision);
            },
          );
        }, 1_000).unref();
      },
    );
  }

  // ---- serving ----

  /** The custom resource a request path names; undefined when no established CRD serves it. */
  served(group: string, version: string, resource: string): ServedResource | undefined {
    for (const entry of this.entries.values()) {
      const spec = entry.crd.spec;
      if (spec?.group === group && spec.names?.plural === resource) return entry.versions.get(version)?.served;
    }
    return undefined;
  }

  /** Served CRD versions with their schemas, for OpenAPI (`kubectl explain`, client-side validation). */
  openApiSchemas(): { gvk: { group: string; version: string; kind: string }; schema: Record<string, unknown>; listKind: string; resource: { plural: string; namespaced: boolean } }[] {
    const out = [];
    for (const entry of this.entries.values()) {
      for (const [version, served] of entry.versions) {
        if (!served.schema) continue;
        const { info } = served.served;
        // A structural schema is plain JSON; OpenAPI takes it as such.
        const schema = served.schema as Record<string, unknown>;
        out.push({ gvk: { group: info.group, version, kind: info.kind }, schema, listKind: info.listKind, resource: { plural: info.resource, namespaced: info.namespaced } });
      }
    }
    return out;
  }

  /** Changes whenever the set of served CRD versions (and so openApiSchemas()) changes. */
  get generation(): number {
    return this.servedGeneration;
  }

  private servedGeneration = 0;

  private rebuild(): void {
    const accepted = acceptedCRDs([...this.crds.values()]);
    for (const [name, entry] of [...this.entries]) {
      const crd = this.crds.get(name);
      if (!crd || !accepted.has(name)) {
        this.servedGeneration++;
        this.entries.delete(name);
        if (!crd || !this.usesCache(crd)) this.dropCache(entry.crd);
      }
    }
    for (const name of accepted) {
      const crd = this.crds.get(name);
      if (!crd) continue;
      const existing = this.entries.get(name);
      if (existing?.crd.metadata.resourceVersion === crd.metadata.resourceVersion) continue;
      this.servedGeneration++;
      this.entries.set(name, this.buildEntry(crd));
    }
  }

  private usesCache(crd: CustomResourceDefinition): boolean {
    return [...this.entries.values()].some((e) => e.crd.spec?.group === crd.spec?.group && e.crd.spec?.names?.plural === crd.spec?.names?.plural);
  }

  private cachePrefix(crd: CustomResourceDefinition): string {
    return `${this.options.prefix}/${crd.spec?.group ?? ""}/${crd.spec?.names?.plural ?? ""}/`;
  }

  private dropCache(crd: CustomResourceDefinition): void {
    const prefix = this.cachePrefix(crd);
    this.caches.get(prefix)?.stop();
    this.caches.delete(prefix);
  }

  private buildEntry(crd: CustomResourceDefinition): Entry {
    const prefix = this.cachePrefix(crd);
    let cache = this.caches.get(prefix);
    if (!cache) {
      cache = this.options.createCache(prefix, `${crd.spec?.names?.plural ?? ""}.${crd.spec?.group ?? ""}`);
      this.caches.set(prefix, cache);
    }
    const entry: Entry = { crd, versions: new Map(), terminating: crd.metadata.deletionTimestamp !== undefined };
    for (const v of crd.spec?.versions ?? []) {
      if (v.served !== true || typeof v.name !== "string") continue;
      const info = customResourceInfo(crd, v);
      const schema = v.schema?.openAPIV3Schema;
      const store = new ResourceStore({
        info,
        storage: this.options.storage,
        cache,
        prefix: this.options.prefix,
        strategy: customResourceStrategy(info, v, schema, () => entry.terminating),
        checkNamespace: (ns, qualified, name) => admitToNamespace(this.options.registry.core("namespaces"), ns, qualified, name),
      });
      const printer: KindPrinter = customResourcePrinter(v.additionalPrinterColumns);
      const scale = v.subresources?.scale;
      const served: ServedResource = {
        info,
        store,
        toApi: (o) => o,
        fromApi: (o) => o,
        converted: false,
        subresources: scale ? { scale: customResourceScale(scale) } : {},
        printer,
        patchTypes: CUSTOM_RESOURCE_PATCH_TYPES,
        unknownFields: (body) => (isRecord(body) ? pruneObject(schema, structuredClone(body)) : []),
      };
      entry.versions.set(v.name, { served, schema });
    }
    return entry;
  }

  // ---- discovery ----

  /** The groups CRDs add, each with its versions by Kubernetes' version priority (legacy /apis and /apis/<group>). */
  groups(): APIGroup[] {
    const groups: APIGroup[] = [];
    for (const [group, versions] of this.groupVersions()) {
      const list = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
      groups.push({ kind: "APIGroup", apiVersion: "v1", name: group, versions: list, preferredVersion: list[0]! });
    }
    return groups;
  }

  group(name: string): APIGroup | undefined {
    return this.groups().find((g) => g.name === name);
  }

  /** `GET /apis/<group>/<version>` for a CRD group version. */
  resourceList(group: string, version: string): APIResourceList | undefined {
    const infos = this.infosOf(group, version);
    return infos.length > 0 ? resourceListFor(group, version, infos) : undefined;
  }

  /** The aggregated discovery entries of the CRD groups. */
  aggregated(): APIGroupDiscovery[] {
    return [...this.groupVersions()].map(([group, versions]) => ({
      metadata: { name: group },
      versions: versions.map((version) => ({ version, resources: this.infosOf(group, version).map(resourceDiscovery), freshness: "Current" as const })),
    }));
  }

  private infosOf(group: string, version: string): ResourceInfo[] {
    const infos: ResourceInfo[] = [];
    for (const entry of this.entries.values()) {
      const served = entry.crd.spec?.group === group ? entry.versions.get(version) : undefined;
      if (served) infos.push(served.served.info);
    }
    return infos.sort((a, b) => a.resource.localeCompare(b.resource));
  }

  private groupVersions(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const entry of this.entries.values()) {
      const group = entry.crd.spec?.group ?? "";
      const list = out.get(group) ?? [];
      for (const version of entry.versions.keys()) if (!list.includes(version)) list.push(version);
      out.set(group, list);
    }
    for (const list of out.values()) list.sort(compareKubeVersions);
    return new Map([...out].sort(([a], [b]) => a.localeCompare(b)));
  }

  // ---- controllers: naming, establishing, finalizing ----

  private enqueue(name: string): void {
    if (this.stopped) return;
    this.pending.add(name);
    this.reconciling ??= this.drain().finally(() => {
      this.reconciling = undefined;
      if (this.pending.size > 0) this.enqueue([...this.pending][0]!);
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.size > 0 && !this.stopped) {
      const name = [...this.pending][0]!;
      this.pending.delete(name);
      try {
        await this.reconcile(name);
      } catch (err) {
        if (!isNotFound(err)) {
          this.options.logger.warn({ err: String(err), crd: name }, "CustomResourceDefinition reconcile failed; retrying");
          this.retryLater(name);
        }
      }
    }
  }

  private retryLater(name: string): void {
    if (this.stopped) return;
    this.retryTimer = setTimeout(() => {
      this.enqueue(name);
    }, 1_000);
    this.retryTimer.unref();
  }

  private async reconcile(name: string): Promise<void> {
    const crd = this.crds.get(name);
    if (!crd) return;
    if (crd.metadata.deletionTimestamp !== undefined) {
      await this.finalize(crd);
      return;
    }
    const accepted = acceptedCRDs([...this.crds.values()]).has(name);
    await this.writeStatus(name, (status) => {
      const names = crd.spec?.names ?? {};
      status.acceptedNames = accepted ? { ...names } : status.acceptedNames ?? { plural: "", kind: "" };
      setCondition(status, accepted
        ? { type: "NamesAccepted", status: "True", reason: "NoConflicts", message: "no conflicts found" }
        : { type: "NamesAccepted", status: "False", reason: "NameConflict", message: `one of the names of ${name} is already in use` });
      setCondition(status, accepted
        ? { type: "Established", status: "True", reason: "InitialNamesAccepted", message: "the initial names have been accepted" }
        : { type: "Established", status: "False", reason: "NotAccepted", message: "not all names are accepted" });
    });
  }

  /** Terminating: delete every custom resource, then drop the cleanup finalizer so the CRD goes. */
  private async finalize(crd: CustomResourceDefinition): Promise<void> {
    const name = crd.metadata.name ?? "";
    if (!(crd.metadata.finalizers ?? []).includes(CLEANUP_FINALIZER)) return;
    await this.writeStatus(name, (status) => {
      setCondition(status, { type: "Terminating", status: "True", reason: "InstanceDeletionInProgress", message: "CustomResource deletion is in progress" });
    });
    const store = this.storeForCleanup(crd);
    if (store) {
      const { items } = await store.list(undefined, {});
      for (const item of items) {
        if (item.metadata.deletionTimestamp !== undefined) continue;
        try {
          await store.delete(item.metadata.namespace, item.metadata.name ?? "", {});
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      const left = await store.list(undefined, {});
      if (left.items.length > 0) {
        await this.writeStatus(name, (status) => {
          setCondition(status, { type: "Terminating", status: "True", reason: "InstanceDeletionCheck", message: `could not confirm zero CustomResources remaining: ${left.items.length} remaining` });
        });
        this.retryLater(name);
        return;
      }
    }
    await retryOnConflict(async () => {
      const current = (await this.crdStore.get(undefined, name)) as CustomResourceDefinition;
      const next = structuredClone(current);
      next.metadata.finalizers = (next.metadata.finalizers ?? []).filter((f) => f !== CLEANUP_FINALIZER);
      await this.crdStore.update(undefined, name, next);
    }, { retriable: isConflict, attempts: 5 });
  }

  /** A store over the CRD's keys, whether or not the CRD is served right now (its names may be refused). */
  private storeForCleanup(crd: CustomResourceDefinition): ResourceStore | undefined {
    const served = [...(this.entries.get(crd.metadata.name ?? "")?.versions.values() ?? [])][0];
    if (served) return served.served.store;
    const version = crd.spec?.versions?.find((v) => v.storage === true);
    if (!version) return undefined;
    const info = customResourceInfo(crd, version);
    let cache = this.caches.get(this.cachePrefix(crd));
    if (!cache) {
      cache = this.options.createCache(this.cachePrefix(crd), info.resource);
      this.caches.set(this.cachePrefix(crd), cache);
    }
    return new ResourceStore({ info, storage: this.options.storage, cache, prefix: this.options.prefix, strategy: customResourceStrategy(info, version, undefined, () => true) });
  }

  private async writeStatus(name: string, change: (status: NonNullable<CustomResourceDefinition["status"]>) => void): Promise<void> {
    await retryOnConflict(async () => {
      const current = (await this.crdStore.get(undefined, name)) as CustomResourceDefinition;
      const next = structuredClone(current);
      const status = next.status ?? {};
      change(status);
      next.status = status;
      if (JSON.stringify(next.status) === JSON.stringify(current.status)) return;
      await this.crdStore.update(undefined, name, next, { subresource: "status" });
    }, { retriable: isConflict, attempts: 5 });
  }
}

/** Sets a condition, keeping lastTransitionTime when its status does not change. */
function setCondition(status: NonNullable<CustomResourceDefinition["status"]>, condition: Omit<CustomResourceDefinitionCondition, "lastTransitionTime">): void {
  const conditions = status.conditions ?? [];
  const existing = conditions.find((c) => c.type === condition.type);
  if (existing?.status === condition.status && existing.reason === condition.reason && existing.message === condition.message) return;
  const next: CustomResourceDefinitionCondition = { ...condition, lastTransitionTime: existing?.status === condition.status ? existing.lastTransitionTime ?? formatTime(Date.now()) : formatTime(Date.now()) };
  status.conditions = [...conditions.filter((c) => c.type !== condition.type), next];
}

/**
 * The CRDs whose names are accepted: within a group, a CRD whose plural, singular, kind or a short name is
 * already taken by an older CRD (by creation time, then name) is refused, as Kubernetes' naming controller does.
 */
export function acceptedCRDs(crds: readonly CustomResourceDefinition[]): Set<string> {
  const sorted = [...crds].sort((a, b) => (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "") || (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
  const taken = new Map<string, Set<string>>();
  const accepted = new Set<string>();
  for (const crd of sorted) {
    const group = crd.spec?.group ?? "";
    const names = namesOf(crd.spec?.names);
    const used = taken.get(group) ?? new Set<string>();
    if (names.some((n) => used.has(n))) continue;
    for (const n of names) used.add(n);
    taken.set(group, used);
    accepted.add(crd.metadata.name ?? "");
  }
  return accepted;
}

function namesOf(names: CustomResourceDefinitionNames | undefined): string[] {
  if (!names) return [];
  const out = [names.plural, names.singular, ...(names.shortNames ?? [])].filter((n): n is string => typeof n === "string" && n !== "");
  if (names.kind) out.push(`kind:${names.kind}`);
  return out;
}

/** A custom resource's REST rules: the schema prunes, defaults and validates every write, and defaults every read. */
function customResourceStrategy(info: ResourceInfo, version: CustomResourceDefinitionVersion, schema: JSONSchemaProps | undefined, terminating: () => boolean): Strategy {
  const statusSubresource = version.subresources?.status !== undefined;
  const admit = (object: KubeObject): void => {
    pruneObject(schema, object);
    applySchemaDefaults(schema, object);
    const errs = validateValue(schema, object);
    if (errs.length > 0) throw invalidObject(info.kind, info.group, object.metadata.name ?? "", errs);
  };
  const defaulted = schemaHasDefaults(schema);
  return {
    statusSubresource,
    statusOnCreate: false,
    unstructured: true,
    // Defaults added to the schema after an object was stored show on every read, as in Kubernetes.
    ...(defaulted ? { decodeStored: (object: KubeObject) => withSchemaDefaults(schema, object) } : {}),
    tracksGeneration: true,
    allowCreateOnUpdate: false,
    returnDeletedObject: true,
    prepareForCreate(object) {
      if (terminating()) throw terminatingCreate();
      admit(object);
    },
    prepareForUpdate(next) {
      admit(next);
    },
    prepareForStatusUpdate(next) {
      admit(next);
    },
  };
}

/** Kubernetes' version priority: GA before beta before alpha, higher numbers first, other names last by name. */
export function compareKubeVersions(a: string, b: string): number {
  const parse = (v: string): [number, number, number] | undefined => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return undefined;
    const stage = m[2] === undefined ? 3 : m[2] === "beta" ? 2 : 1;
    return [stage, Number(m[1]), Number(m[3] ?? 0)];
  };
  const pa = parse(a);
  const pb = parse(b);
  if (pa && pb) {
    if (pa[0] !== pb[0]) return pb[0] - pa[0];
    if (pa[1] !== pb[1]) return pb[1] - pa[1];
    return pb[2] - pa[2];
  }
  if (pa) return -1;
  if (pb) return 1;
  return a.localeCompare(b);
}
