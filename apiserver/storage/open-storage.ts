// The apiserver's etcd storage, opened before the rest of the apiserver is loaded: main.ts opens it and starts
// reading the workload's prefixes, then imports app.ts (most of the start-up's CPU is compiling modules), so etcd
// pages out 10k pods while this process compiles instead of after. This module stays small for that reason.
import type { ApiServerOptions } from "../options.js";
import { EtcdStorage } from "./etcd-storage.js";
import { etcdEndpoints, etcdTlsAtStart } from "./etcd-tls.js";

/** The resources whose caches grow with the workload: read ahead at start, and synced beside the post-start steps. */
export const WORKLOAD_CACHE_RESOURCES: readonly string[] = ["pods", "events"];

/** The storage, and where its etcd request durations go: `observe` sets that once the metrics exist (and gets the earlier ones). */
export interface OpenedStorage {
  storage: EtcdStorage;
  observe(sink: (operation: string, type: string, seconds: number) => void): void;
}

/**
 * Checks the etcd TLS flags (a bad file or a refused handshake fails here, see etcd-tls.ts) and opens the storage;
 * with `prefetch`, starts reading the workload caches' prefixes at once (EtcdStorage.prefetchList).
 */
export async function openEtcdStorage(options: Pick<ApiServerOptions, "etcdServers" | "etcdCafile" | "etcdCertfile" | "etcdKeyfile" | "etcdPrefix">, prefetch = false): Promise<OpenedStorage> {
  const etcdTls = await etcdTlsAtStart(options);
  let sink: ((operation: string, type: string, seconds: number) => void) | undefined;
  // The requests made before the metrics exist (the prefetch's pages): a few dozen at most.
  const early: [string, string, number][] = [];
  const storage = new EtcdStorage({
    endpoints: etcdEndpoints(options.etcdServers),
    ...(etcdTls ? { tls: etcdTls } : {}),
    prefix: options.etcdPrefix,
    observe: (operation, type, seconds) => {
      if (sink) sink(operation, type, seconds);
      else early.push([operation, type, seconds]);
    },
  });
  if (prefetch) for (const resource of WORKLOAD_CACHE_RESOURCES) storage.prefetchList(`${options.etcdPrefix}/${resource}/`);
  return {
    storage,
    observe: (next) => {
      sink = next;
      for (const [operation, type, seconds] of early.splice(0)) next(operation, type, seconds);
    },
  };
}
