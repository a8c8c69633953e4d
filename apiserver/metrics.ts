// The apiserver's Prometheus metrics, named as Kubernetes names them.
import { counter, gauge, histogram, type Counter, type Gauge, type Histogram, type Registry } from "../component-base/metrics.js";

export interface ApiServerMetrics {
  requests: Counter<"verb" | "group" | "version" | "resource" | "subresource" | "scope" | "component" | "code">;
  requestDuration: Histogram<"verb" | "group" | "version" | "resource" | "subresource" | "scope" | "component">;
  inflight: Gauge<"request_kind">;
  longRunning: Gauge<"verb" | "group" | "version" | "resource" | "subresource" | "scope" | "component">;
  etcdRequestDuration: Histogram<"operation" | "type">;
  registeredWatchers: Gauge<"group" | "version" | "kind">;
  watchEvents: Counter<"group" | "version" | "kind">;
  terminatedWatchers: Counter<"resource">;
}

/**
 * apiserver_storage_objects{resource}: the objects of each resource, read from the watch caches on every scrape
 * (Kubernetes counts etcd keys periodically; the cache holds the same set). `objectCounts` gives resource → count.
 */
export function registerStorageObjects(registry: Registry, objectCounts: () => Iterable<readonly [resource: string, count: number]>): void {
  gauge(registry, {
    name: "apiserver_storage_objects",
    help: "Number of stored objects at the time of last check split by kind.",
    labelNames: ["resource"],
    // Every --workers worker's caches hold the same objects: the apiserver's count is any one's, not their sum.
    aggregator: "max",
    collect() {
      this.reset();
      for (const [resource, count] of objectCounts()) this.set({ resource }, count);
    },
  });
}

export function createApiServerMetrics(registry: Registry): ApiServerMetrics {
  return {
    requests: counter(registry, {
      name: "apiserver_request_total",
      help: "Counter of apiserver requests broken out for each verb, group, version, resource, scope, component, and HTTP response code.",
      labelNames: ["verb", "group", "version", "resource", "subresource", "scope", "component", "code"],
    }),
    requestDuration: histogram(registry, {
      name: "apiserver_request_duration_seconds",
      help: "Response latency distribution in seconds for each verb, group, version, resource, subresource, scope and component.",
      labelNames: ["verb", "group", "version", "resource", "subresource", "scope", "component"],
      buckets: [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60],
    }),
    inflight: gauge(registry, {
      name: "apiserver_current_inflight_requests",
      help: "Maximal number of currently used inflight request limit of this apiserver per request kind in last second.",
      labelNames: ["request_kind"],
    }),
    longRunning: gauge(registry, {
      name: "apiserver_longrunning_requests",
      help: "Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component. Not all requests are tracked this way.",
      labelNames: ["verb", "group", "version", "resource", "subresource", "scope", "component"],
    }),
    etcdRequestDuration: histogram(registry, {
      name: "etcd_request_duration_seconds",
      help: "Etcd request latency in seconds for each operation and object type.",
      labelNames: ["operation", "type"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 10, 15, 30],
    }),
    registeredWatchers: gauge(registry, {
      name: "apiserver_registered_watchers",
      help: "Number of currently registered watchers for a given resources",
      labelNames: ["group", "version", "kind"],
    }),
    watchEvents: counter(registry, {
      name: "apiserver_watch_events_total",
      help: "Number of events sent in watch clients",
      labelNames: ["group", "version", "kind"],
    }),
    terminatedWatchers: counter(registry, {
      name: "apiserver_terminated_watchers_total",
      help: "Counter of watchers closed due to unresponsiveness broken by resource type.",
      labelNames: ["resource"],
    }),
  };
}
