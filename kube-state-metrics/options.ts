// kube-state-metrics' command line: its flag names and defaults (--apiserver, with kubelab's --master as an alias;
// --port/--host for the cluster-state metrics, --telemetry-port/--telemetry-host for its own process metrics).
import { defineFlags, loggingFlags } from "../component-base/flags.js";

export const kubeStateMetricsFlags = defineFlags({
  apiserver: { type: "string", help: "The URL of the apiserver to use as a master" },
  master: { type: "string", help: "Alias of --apiserver, as kubelab's other components spell it." },
  kubeconfig: { type: "string", help: "Absolute path to the kubeconfig file" },
  host: { type: "string", default: "0.0.0.0", help: "Host to expose metrics on." },
  port: { type: "number", default: 8080, help: "Port to expose metrics on (0 picks a free port)." },
  telemetryHost: { type: "string", default: "0.0.0.0", help: "Host to expose kube-state-metrics self metrics on." },
  telemetryPort: { type: "number", default: 8081, help: "Port to expose kube-state-metrics self metrics on (0 picks a free port)." },
  resources: { type: "string", default: "", help: "Comma-separated list of Resources to be enabled (default: every served resource but endpointslices)." },
  namespaces: { type: "string", default: "", help: "Comma-separated list of namespaces to be enabled (default: all)." },
  namespacesDenylist: { type: "string", default: "", help: "Comma-separated list of namespaces not to be enabled. If namespaces and namespaces-denylist are both set, only namespaces that are excluded in namespaces-denylist will be used." },
  metricAllowlist: { type: "string", default: "", help: "Comma-separated list of metrics to be exposed (regular expressions, matched against the whole name). Mutually exclusive with --metric-denylist." },
  metricDenylist: { type: "string", default: "", help: "Comma-separated list of metrics not to be enabled (regular expressions, matched against the whole name). Mutually exclusive with --metric-allowlist." },
  metricLabelsAllowlist: {
    type: "string",
    default: "",
    help: "Comma-separated list of additional Kubernetes label keys that will be used in the resource' labels metric, e.g. 'pods=[app,tier],deployments=[*]' ('*' for every key, '*=[...]' for every resource). By default the labels metrics carry no label_ labels.",
  },
  metricAnnotationsAllowlist: { type: "string", default: "", help: "The same as --metric-labels-allowlist for annotations and the annotations metrics." },
  kubeApiQps: { type: "number", default: 50, help: "QPS to use while talking with the apiserver (<= 0 disables client-side rate limiting)." },
  kubeApiBurst: { type: "number", default: 100, help: "Burst to use while talking with the apiserver." },
  ...loggingFlags,
});
