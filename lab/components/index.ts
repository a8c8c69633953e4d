// Every kubelab component as data; see component.ts for the descriptor and lab/process/runner.ts for launching one.
// A new component is one file here: its typed options and a builder returning a Component (program, args rendered
// from the options, ports, readiness probe, links), plus its kind in ComponentKind and, for a program built into
// dist/, its folder in DIST_ENTRIES; apiserver clients build on apiClientComponent for the shared flags.
export { commandLine, loopbackUrl, renderFlags, type Component, type ComponentKind, type FlagValue, type Program, type ReadinessProbe } from "./component.js";
export { apiClientComponent, SERVING_LOG_PROBE, servingPort, type ApiClientOptions } from "./api-client.js";
export { containerRuntimeComponent, type ContainerRuntimeOptions } from "./container-runtime.js";
export { DIST_ENTRIES, distEntry, REPO_ROOT, type DistProgram } from "./entries.js";
export { etcdComponent, etcdEndpoint, etcdMetricsUrl, type EtcdOptions } from "./etcd.js";
export { hollowNodesComponent, type HollowNodesOptions } from "./hollow-nodes.js";
export { kubeletComponent, type KubeletOptions } from "./kubelet.js";
export { kubeProxyComponent, type KubeProxyOptions } from "./kube-proxy.js";
export { apiserverComponent, type ApiserverOptions } from "./kube-apiserver.js";
export { controllerManagerComponent, type ControllerManagerOptions } from "./kube-controller-manager.js";
export { schedulerComponent, type SchedulerOptions } from "./kube-scheduler.js";
export { kubeStateMetricsComponent, type KubeStateMetricsOptions } from "./kube-state-metrics.js";
export { prometheusComponent, type PrometheusOptions } from "./prometheus.js";
export { metricsServerComponent, type MetricsServerOptions } from "./metrics-server.js";
export { kubelabUiComponent, type KubelabUiOptions } from "./kubelab-ui.js";
