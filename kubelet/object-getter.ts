// How the kubelet reads the ConfigMaps and Secrets its pods' environment and volumes refer to: a GET, reused for a
// short while so that the containers of one pod (and a burst of syncs) cost one request per object; lookups of an
// object while its GET is under way share that GET (a burst of pods on many nodes would otherwise each send one).
import { isNotFound } from "../api/errors.js";
import type { ResourceInfo } from "../api/resources.js";
import type { ConfigMap, PersistentVolume, PersistentVolumeClaim, Secret } from "../api/types/index.js";
import type { RestClient } from "../client/rest.js";
import type { Clock } from "../component-base/clock.js";

/** How long an object read is reused. */
const OBJECT_CACHE_TTL_MS = 2000;
/** Past this many entries the cache starts over (a node's pods refer to few objects). */
const MAX_ENTRIES = 1000;

/** A GET of a namespaced object, reused for a short while; undefined when it does not exist. */
export function cachedGetter<T extends ConfigMap | Secret | PersistentVolumeClaim | PersistentVolume>(client: Pick<RestClient, "get">, info: ResourceInfo, clock: Clock): (namespace: string, name: string) => Promise<Readonly<T> | undefined> {
  const cache = new Map<string, { at: number; value: Readonly<T> | undefined }>();
  const inFlight = new Map<string, Promise<Readonly<T> | undefined>>();
  const read = async (key: string, namespace: string, name: string): Promise<Readonly<T> | undefined> => {
    let value: Readonly<T> | undefined;
    try {
      value = await client.get<T>(info, info.namespaced ? namespace : undefined, name);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      value = undefined;
    }
    if (cache.size > MAX_ENTRIES) cache.clear();
    cache.set(key, { at: clock.now(), value });
    return value;
  };
  return (namespace, name) => {
    const key = `${namespace}/${name}`;
    const hit = cache.get(key);
    if (hit && clock.now() - hit.at < OBJECT_CACHE_TTL_MS) return Promise.resolve(hit.value);
    const pending = inFlight.get(key);
    if (pending) return pending;
    const started = read(key, namespace, name).finally(() => {
      inFlight.delete(key);
    });
    inFlight.set(key, started);
    return started;
  };
}
