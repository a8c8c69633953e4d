// The server's Prometheus metrics under CoreDNS's names and labels, so dashboards and alerts written for CoreDNS
// read them: the request/response counters and latency of the server, the forward plugin's, the cache plugin's.
import { counter, exponentialBuckets, gauge, histogram, type Counter, type Gauge, type Histogram, type Registry } from "../component-base/metrics.js";

export interface DnsMetrics {
  requests: Counter<"server" | "zone" | "proto" | "family" | "type">;
  responses: Counter<"server" | "zone" | "rcode" | "plugin">;
  requestDuration: Histogram<"server" | "zone" | "type">;
  forwardRequests: Counter<"to">;
  forwardResponses: Counter<"to" | "rcode">;
  forwardDuration: Histogram<"to" | "rcode">;
  cacheEntries: Gauge<"server" | "type">;
  cacheRequests: Counter<"server">;
  cacheHits: Counter<"server" | "type">;
  cacheMisses: Counter<"server">;
}

/** CoreDNS's duration buckets: 0.25 ms doubling to about 8 s. */
const DURATION_BUCKETS = exponentialBuckets(0.00025, 2, 16);

export function dnsMetrics(registry: Registry): DnsMetrics {
  return {
    requests: counter(registry, {
      name: "coredns_dns_requests_total",
      help: "Counter of DNS requests made per zone, protocol and family.",
      labelNames: ["server", "zone", "proto", "family", "type"],
    }),
    responses: counter(registry, {
      name: "coredns_dns_responses_total",
      help: "Counter of response status codes.",
      labelNames: ["server", "zone", "rcode", "plugin"],
    }),
    requestDuration: histogram(registry, {
      name: "coredns_dns_request_duration_seconds",
      help: "Histogram of the time (in seconds) each request took per zone.",
      labelNames: ["server", "zone", "type"],
      buckets: DURATION_BUCKETS,
    }),
    forwardRequests: counter(registry, { name: "coredns_forward_requests_total", help: "Counter of requests made per upstream.", labelNames: ["to"] }),
    forwardResponses: counter(registry, {
      name: "coredns_forward_responses_total",
      help: "Counter of responses received per upstream.",
      labelNames: ["to", "rcode"],
    }),
    forwardDuration: histogram(registry, {
      name: "coredns_forward_request_duration_seconds",
      help: "Histogram of the time each request took.",
      labelNames: ["to", "rcode"],
      buckets: DURATION_BUCKETS,
    }),
    cacheEntries: gauge(registry, { name: "coredns_cache_entries", help: "The number of elements in the cache.", labelNames: ["server", "type"] }),
    cacheRequests: counter(registry, { name: "coredns_cache_requests_total", help: "The count of cache requests.", labelNames: ["server"] }),
    cacheHits: counter(registry, { name: "coredns_cache_hits_total", help: "The count of cache hits.", labelNames: ["server", "type"] }),
    cacheMisses: counter(registry, { name: "coredns_cache_misses_total", help: "The count of cache misses.", labelNames: ["server"] }),
  };
}
