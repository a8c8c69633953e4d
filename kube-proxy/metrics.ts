// kube-proxy's metrics, Kubernetes' names (pkg/proxy/metrics).
import { counter, exponentialBuckets, gauge, histogram, type Counter, type Gauge, type Histogram, type Registry } from "../component-base/metrics.js";

export interface ProxyMetrics {
  syncProxyRulesLatency: Histogram;
  syncFullProxyRulesLatency: Histogram;
  syncPartialProxyRulesLatency: Histogram;
  networkProgrammingLatency: Histogram;
  syncProxyRulesLastTimestamp: Gauge;
  syncProxyRulesLastQueuedTimestamp: Gauge;
  iptablesRulesTotal: Gauge<"table">;
  iptablesRestoreFailures: Counter;
  syncProxyRulesFailures: Counter;
  serviceChangesPending: Gauge;
  serviceChangesTotal: Counter;
  endpointChangesPending: Gauge;
  endpointChangesTotal: Counter;
}

export function proxyMetrics(registry: Registry): ProxyMetrics {
  return {
    syncProxyRulesLatency: histogram(registry, { name: "kubeproxy_sync_proxy_rules_duration_seconds", help: "SyncProxyRules latency in seconds", buckets: exponentialBuckets(0.001, 2, 15) }),
    syncFullProxyRulesLatency: histogram(registry, { name: "kubeproxy_sync_full_proxy_rules_duration_seconds", help: "SyncProxyRules latency in seconds for full resyncs", buckets: exponentialBuckets(0.001, 2, 15) }),
    syncPartialProxyRulesLatency: histogram(registry, { name: "kubeproxy_sync_partial_proxy_rules_duration_seconds", help: "SyncProxyRules latency in seconds for partial resyncs", buckets: exponentialBuckets(0.001, 2, 15) }),
    networkProgrammingLatency: histogram(registry, {
      name: "kubeproxy_network_programming_duration_seconds",
      help: "In Cluster Network Programming Latency in seconds",
      buckets: [0.25, 0.5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 75, 90, 105, 120, 150, 180, 210, 240, 270, 300],
    }),
    syncProxyRulesLastTimestamp: gauge(registry, { name: "kubeproxy_sync_proxy_rules_last_timestamp_seconds", help: "The last time proxy rules were successfully synced" }),
    syncProxyRulesLastQueuedTimestamp: gauge(registry, { name: "kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds", help: "The last time a sync of proxy rules was queued" }),
    iptablesRulesTotal: gauge(registry, { name: "kubeproxy_sync_proxy_rules_iptables_total", help: "Total number of iptables rules owned by kube-proxy", labelNames: ["table"] }),
    iptablesRestoreFailures: counter(registry, { name: "kubeproxy_sync_proxy_rules_iptables_restore_failures_total", help: "Cumulative proxy iptables restore failures" }),
    syncProxyRulesFailures: counter(registry, { name: "kubeproxy_sync_proxy_rules_failures_total", help: "Cumulative failed syncs of proxy rules (iptables-save, iptables-restore or the userspace proxier)" }),
    serviceChangesPending: gauge(registry, { name: "kubeproxy_sync_proxy_rules_service_changes_pending", help: "Pending proxy rules Service changes" }),
    serviceChangesTotal: counter(registry, { name: "kubeproxy_sync_proxy_rules_service_changes_total", help: "Cumulative proxy rules Service changes" }),
    endpointChangesPending: gauge(registry, { name: "kubeproxy_sync_proxy_rules_endpoint_changes_pending", help: "Pending proxy rules Endpoint changes" }),
    endpointChangesTotal: counter(registry, { name: "kubeproxy_sync_proxy_rules_endpoint_changes_total", help: "Cumulative proxy rules Endpoint changes" }),
  };
}
