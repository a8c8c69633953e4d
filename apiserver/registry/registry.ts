// Builds one ResourceStore per served resource over shared storage and one watch cache per etcd key prefix.
import { defaultTolerations } from "../../api/defaults.js";
import { forbidden, notFound } from "../../api/errors.js";
import type { KubeObject } from "../../api/meta.js";
import { RESOURCES, type ResourceInfo } from "../../api/resources.js";
import type { Storage, WatchCache } from "../storage/interfaces.js";
import { serviceHooks, type ServiceAllocators } from "./services/allocation.js";
import { ResourceStore, type StoreHooks } from "./store.js";
import { strategyFor } from "./strategy.js";

export interface RegistryOptions {
  storage: Storage;
  prefix: string;
  /** Creates (and starts) the watch cache for an etcd key prefix such as "/registry/pods/". */
  createCache: (prefix: string, resource: string) => WatchCache;
  allocators: ServiceAllocators;
  eventTtlSeconds: number;
  defaultNotReadyTolerationSeconds: number;
  defaultUnreachableTolerationSeconds: number;
}

export class Registry {
  private readonly stores = new Map<string, ResourceStore>();
  readonly caches = new Map<string, WatchCache>();

  constructor(options: RegistryOptions) {
    for (const info of RESOURCES) {
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
        strategy: strategyFor(info, { eventTtlSeconds: options.eventTtlSeconds }),
        hooks: this.hooksFor(info, options),
        checkNamespace: (ns, qualified, name) => this.checkNamespace(ns, qualified, name),
      });
      this.stores.set(storeKey(info.group, info.version, info.resource), store);
    }
  }

  store(group: string, version: string, resource: string): ResourceStore | undefined {
    return this.stores.get(storeKey(group, version, resource));
  }

  /** The core/v1 store for a resource name; throws when absent (a programming error). */
  core(resource: string): ResourceStore {
    const store = this.store("", "v1", resource);
    if (!store) throw new Error(`no core store for ${resource}`);
    return store;
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

  private hooksFor(info: ResourceInfo, options: RegistryOptions): StoreHooks | undefined {
    if (info.group === "" && info.resource === "services") return serviceHooks(options.allocators);
    if (info.group === "" && info.resource === "pods") {
      return {
        // The DefaultTolerationSeconds admission plugin: pods tolerate a not-ready or unreachable node for a while.
        admitCreate: (pod: KubeObject) => {
          defaultTolerations(pod, options.defaultNotReadyTolerationSeconds, options.defaultUnreachableTolerationSeconds);
          return Promise.resolve();
        },
      };
    }
    return undefined;
  }

  /** The NamespaceLifecycle admission plugin: no new content in a missing or terminating namespace. */
  private async checkNamespace(namespace: string, qualified: string, name: string): Promise<void> {
    const namespaces = this.core("namespaces");
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
      throw forbidden(qualified, name, `unable to create new content in namespace ${namespace} because it is being terminated`);
    }
  }
}

function storeKey(group: string, version: string, resource: string): string {
  return `${group}/${version}/${resource}`;
}
