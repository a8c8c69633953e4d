// Keeps an in-memory view of one resource from its watch cache, as Kubernetes' authorizers keep theirs from
// informers: the current state first (synthetic ADDED events), then every change. When the cache closes the watch
// (etcd came back, a relist) the view is reset and followed again; a cache that is not ready yet is retried.
import type { KubeObject } from "../../api/meta.js";
import type { ResourceStore } from "../registry/store.js";

export interface FollowSink {
  /** The object was added or changed. */
  upsert(object: KubeObject): void;
  /** The object is gone. */
  remove(object: KubeObject): void;
  /** The view starts over: the next events give the whole current state. */
  reset(): void;
}

const RETRY_MS = 100;

/** Follows `store`'s cache into `sink` until the cache stops. */
export function followStore(store: ResourceStore, sink: FollowSink): void {
  const start = (): void => {
    try {
      store.cache.watch(
        { prefix: store.prefixFor(undefined) },
        (event) => {
          if (event.type === "DELETED") sink.remove(event.object);
          else if (event.type !== "BOOKMARK") sink.upsert(event.object);
        },
        (reason) => {
          if (reason.includes("stopped")) return;
          sink.reset();
          setTimeout(start, RETRY_MS).unref();
        },
      );
    } catch (err) {
      // Not ready yet (the first list from etcd is in flight): try again; stopped for good: done.
      if (err instanceof Error && err.message.includes("stopped")) return;
      setTimeout(start, RETRY_MS).unref();
    }
  };
  start();
}
