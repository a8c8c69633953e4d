// Builds one ResourceStore per served resource over shared storage and one watch cache per etcd key prefix, each
// store following its kind module's definition (kinds.ts).
import type { KubeObject } from "../../api/meta.js";
import type { KindPrinter } from "../../api/printers/printer.js";
import { findResource, RESOURCES, type ResourceInfo } from "../../api/resources.js";
import { withAdmission, type AdmissionChain } from "../admission/admission.js";
import type { Storage, WatchCache } from "../storage/interfaces.js";
import type { ComputedResource, KindConfig, ResourceDefinition, SubresourceHandler } from "./kind.js";
import { definitionFor } from "./kinds.js";
import { admitToNamespace } from "./namespaces/namespaces.js";
import { ResourceStore } from "./store.js";

export interface RegistryOptions extends KindConfig {
  storage: Storage;
  prefix: string;
  /** Creates (and starts) the watch cache for an etcd key prefix such as "/registry/pods/". */
  createCache: (prefix: string, resource: string) => WatchCache;
  /** The admission plugins the flags enabled (apiserver/admission/); none when absent. */
  admission?: AdmissionChain;
}

/** A resource as the HTTP layer serves it: the store holding its objects and the conversion to and from it. */
export interface ServedResource {
  info: ResourceInfo;
  store: ResourceStore;
  /** Converts objects between the stored form and this API's form (events.k8s.io/v1 over core/v1 events). */
  toApi: (object: KubeObject) => KubeObject;
  fromApi: (object: unknown) => unknown;
  /** True when the resource is a view of another's storage, so stored objects are converted before they are sent. */
  converted: boolean;
  subresources: Readonly<Record<string, SubresourceHandler>>;
  /** Present for resources answered rather than stored (reviews, ComponentStatus). */
  computed?: ComputedResource;
  /** The Table printer when it is not api/tables.ts's for the kind (custom resources' printer columns). */
  printer?: KindPrinter;
  /** The patch content types accepted, when not every one (custom resources refuse strategic merge patch). */
  patchTypes?: readonly string[];
  /** The unknown fields of a request body, when not found from the generated wire models (custom resources' schemas). */
  unknownFields?: (body: unknown) => string[];
}

export class Registry {
  private readonly stores = new Map<string, ResourceStore>();
  private readonly definitions = new Map<ResourceStore, ResourceDefinition>();
  private readonly handlers = new Map<ResourceStore, { subresources: Readonly<Record<string, SubresourceHandler>>; computed?: ComputedResource }>();
  readonly caches = new Map<string, WatchCache>();

  constructor(options: RegistryOptions) {
    const config: KindConfig = { ...options, storeFor: (group, version, resource) => this.store(group, version, resource) };
    for (const info of RESOURCES) {
      const definition = definitionFor(info.group, info.resource, info.version);
      if (!definition) throw new Error(`no registry module defines ${info.resource}.${info.group}`);
      const segment = info.storageResource ?? info.resource;
      const cachePrefix = `${options.prefix}/${segment}/`;
      let cache = this.caches.get(cachePrefix);
      if (!cache) {
        cache = options.createCache(cachePrefix, segment);
        this.caches.set(cachePrefix, cache);
      }
      const store = new ResourceStore({
        info,
        storage: options.storage,
        cache,
        prefix: options.prefix,
        strategy: definition.strategy(config),
        hooks: withAdmission(definition.hooks?.(config), options.admission, info, config.storeFor ?? (() => undefined)),
        checkNamespace: (ns, qualified, name) => admitToNamespace(this.core("namespaces"), ns, qualified, name),
      });
      this.stores.set(storeKey(info.group, info.version, info.resource), store);
      this.definitions.set(store, definition);
      const computed = definition.computed?.(options);
      const subresources = { ...definition.subresources, ...definition.configuredSubresources?.(options) };
      this.handlers.set(store, computed ? { subresources, computed } : { subresources });
    }
  }

  store(group: string, version: string, resource: string): ResourceStore | undefined {
    return this.stores.get(storeKey(group, version, resource));
  }

  /** The store of `resource` in `group`, whatever version serves it. */
  storeOf(group: string, resource: string): ResourceStore | undefined {
    const info = RESOURCES.find((r) => r.group === group && r.resource === resource);
    return info ? this.store(info.group, info.version, info.resource) : undefined;
  }

  /** The core/v1 store for a resource name; throws when absent (a programming error). */
  core(resource: string): ResourceStore {
    const store = this.store("", "v1", resource);
    if (!store) throw new Error(`no core store for ${resource}`);
    return store;
  }

  /** The resource a request path names, with the store that holds it; undefined when not served. */
  served(group: string, version: string, resource: string): ServedResource | undefined {
    const info = findResource(group, version, resource);
    const own = info ? this.store(info.group, info.version, info.resource) : undefined;
    const definition = own ? this.definitions.get(own) : undefined;
    if (!info || !own || !definition) return undefined;
    const { subresources, computed } = this.handlers.get(own) ?? { subresources: {} };
    const view = definition.view;
    if (!view) return { info, store: own, toApi: (o) => o, fromApi: (o) => o, converted: false, subresources, ...(computed ? { computed } : {}) };
    const store = this.store(view.storedAs.group, view.storedAs.version, view.storedAs.resource);
    if (!store) return undefined;
    return { info, store, toApi: (o) => view.toApi(o), fromApi: (o) => view.fromApi(o), converted: true, subresources };
  }

  get allStores(): ResourceStore[] {
    return [...this.stores.values()];
  }

  get ready(): boolean {
    return [...this.caches.values()].every((c) => c.ready);
  }

  stop(): void {
    for (const cache of this.caches.values()) cache.stop();
  }
}

function storeKey(group: string, version: string, resource: string): string {
  return `${group}/${version}/${resource}`;
}
