// Prometheus metrics of the node simulator. kubelet_running_pods keeps the kubelet's name (summed over the
// simulated nodes); the hollow_* ones describe the simulator itself.
import { counter, gauge, type Counter, type Registry } from "../../component-base/metrics.js";

export interface HollowMetrics {
  /** result: success | error */
  leaseRenewals: Counter<"result">;
  /** result: success | error */
  nodeStatusPosts: Counter<"result">;
  /** result: success | conflict | error */
  podStatusWrites: Counter<"result">;
  podDeletions: Counter;
}

export interface HollowMetricsSources {
  /** Nodes registered (or adopted) by this process and not deleted since. */
  registeredNodes(): number;
  /** Pods in phase Running on this process's nodes. */
  runningPods(): number;
}

export function hollowMetrics(registry: Registry, sources: HollowMetricsSources): HollowMetrics {
  gauge(registry, {
    name: "hollow_nodes",
    help: "Number of simulated nodes registered by this process.",
    collect() {
      this.set(sources.registeredNodes());
    },
  });
  gauge(registry, {
    name: "kubelet_running_pods",
    help: "Number of pods that have a running pod sandbox, summed over the simulated nodes.",
    collect() {
      this.set(sources.runningPods());
    },
  });
  return {
    leaseRenewals: counter(registry, { name: "hollow_node_lease_renewals_total", help: "Node Lease renewals, by result.", labelNames: ["result"] }),
    nodeStatusPosts: counter(registry, { name: "hollow_node_status_posts_total", help: "Node status posts (registration, adoption, changes, reports), by result.", labelNames: ["result"] }),
    podStatusWrites: counter(registry, { name: "hollow_pod_status_writes_total", help: "Pod status writes, by result.", labelNames: ["result"] }),
    podDeletions: counter(registry, { name: "hollow_pod_deletions_total", help: "Pods whose graceful deletion was finished (DELETE with grace 0)." }),
  };
}
