// Every kubelab component as data; see component.ts for the descriptor and lab/process/runner.ts for launching one.
export { commandLine, loopbackUrl, renderFlags, type Component, type ComponentKind, type FlagValue, type Program, type ReadinessProbe } from "./component.js";
export { apiClientComponent, type ApiClientOptions } from "./api-client.js";
export { DIST_ENTRIES, distEntry, REPO_ROOT, type DistProgram } from "./entries.js";
export { etcdComponent, etcdEndpoint, type EtcdOptions } from "./etcd.js";
export { hollowNodesComponent, type HollowNodesOptions } from "./hollow-nodes.js";
export { apiserverComponent, type ApiserverOptions } from "./kube-apiserver.js";
export { controllerManagerComponent, type ControllerManagerOptions } from "./kube-controller-manager.js";
export { schedulerComponent, type SchedulerOptions } from "./kube-scheduler.js";
