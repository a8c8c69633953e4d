// kube-scheduler's command line: Kubernetes' flag names and defaults. /healthz, /readyz and /metrics are served twice:
// on the secure port (--secure-port 10259, HTTPS with delegated authentication and authorization, as Kubernetes
// does) and on the plain, unauthenticated --port/--address of Kubernetes before 1.23, which the lab's readiness
// probes, compose's healthchecks and Prometheus still use.
import { defineFlags, leaderElectionFlags, loggingFlags } from "../component-base/flags.js";
import { secureServingFlags } from "../component-base/secure-serving.js";

/** Kubernetes' kube-scheduler secure port. */
export const SCHEDULER_SECURE_PORT = 10259;

export const schedulerFlags = defineFlags({
  master: { type: "string", help: "The address of the Kubernetes API server (overrides any value in kubeconfig)" },
  kubeconfig: { type: "string", help: "Path to kubeconfig file with authorization and master location information." },
  config: { type: "string", help: "The path to a KubeSchedulerConfiguration file (profiles, plugins, weights); its fields win over the flags below." },
  ...leaderElectionFlags("kube-scheduler"),
  schedulerName: { type: "string", default: "default-scheduler", help: "The name of the scheduler profile: pods whose spec.schedulerName is this are scheduled by it." },
  address: { type: "string", default: "0.0.0.0", help: "The IP address on which to serve the plain --port." },
  port: { type: "number", default: 10251, help: "The port on which to serve unsecured, unauthenticated /healthz, /readyz and /metrics (0 picks a free port)." },
  ...secureServingFlags(SCHEDULER_SECURE_PORT),
  kubeApiQps: { type: "number", default: 50, help: "QPS to use while talking with kubernetes apiserver (<= 0 disables client-side rate limiting)." },
  kubeApiBurst: { type: "number", default: 100, help: "Burst to use while talking with kubernetes apiserver." },
  podInitialBackoff: { type: "duration", default: "1s", help: "The initial backoff for unschedulable pods." },
  podMaxBackoff: { type: "duration", default: "10s", help: "The max backoff for unschedulable pods." },
  percentageOfNodesToScore: { type: "number", default: 0, help: "The percentage of feasible nodes to find before scoring (0: adaptive, 50% minus 1% per 125 nodes, at least 5% and 100 nodes)." },
  ...loggingFlags,
});
