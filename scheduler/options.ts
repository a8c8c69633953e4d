// kube-scheduler's command line: Kubernetes' flag names and defaults (the 0.18-era insecure --port for healthz and
// metrics, since kubelab serves no TLS on components).
import { defineFlags, loggingFlags } from "../component-base/flags.js";

export const schedulerFlags = defineFlags({
  master: { type: "string", help: "The address of the Kubernetes API server (overrides any value in kubeconfig)" },
  kubeconfig: { type: "string", help: "Path to kubeconfig file with authorization and master location information." },
  config: { type: "string", help: "The path to a KubeSchedulerConfiguration file (profiles, plugins, weights); its fields win over the flags below." },
  leaderElect: { type: "boolean", default: true, help: "Start a leader election client and gain leadership before executing the main loop. Enable this when running replicated components for high availability." },
  leaderElectLeaseDuration: { type: "duration", default: "15s", help: "The duration that non-leader candidates will wait after observing a leadership renewal until attempting to acquire leadership of a led but unrenewed leader slot." },
  leaderElectRenewDeadline: { type: "duration", default: "10s", help: "The interval between attempts by the acting master to renew a leadership slot before it stops leading. This must be less than the lease duration." },
  leaderElectRetryPeriod: { type: "duration", default: "2s", help: "The duration the clients should wait between attempting acquisition and renewal of a leadership." },
  leaderElectResourceNamespace: { type: "string", default: "kube-system", help: "The namespace of resource object that is used for locking during leader election." },
  leaderElectResourceName: { type: "string", default: "kube-scheduler", help: "The name of resource object that is used for locking during leader election." },
  schedulerName: { type: "string", default: "default-scheduler", help: "The name of the scheduler profile: pods whose spec.schedulerName is this are scheduled by it." },
  bindAddress: { type: "string", default: "0.0.0.0", help: "The IP address on which to serve /healthz, /readyz and /metrics." },
  port: { type: "number", default: 10251, help: "The port on which to serve /healthz, /readyz and /metrics (0 picks a free port)." },
  kubeApiQps: { type: "number", default: 50, help: "QPS to use while talking with kubernetes apiserver (<= 0 disables client-side rate limiting)." },
  kubeApiBurst: { type: "number", default: 100, help: "Burst to use while talking with kubernetes apiserver." },
  podInitialBackoff: { type: "duration", default: "1s", help: "The initial backoff for unschedulable pods." },
  podMaxBackoff: { type: "duration", default: "10s", help: "The max backoff for unschedulable pods." },
  percentageOfNodesToScore: { type: "number", default: 0, help: "The percentage of feasible nodes to find before scoring (0: adaptive, 50% minus 1% per 125 nodes, at least 5% and 100 nodes)." },
  ...loggingFlags,
});
