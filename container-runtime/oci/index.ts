// The OCI layer's public surface: what the CRI backend calls to run pods and containers on this host.
export { OciRuntime, ContainerError, ContainerNotFoundError, waitFor } from "./runtime.js";
export type { OciRuntimeOptions } from "./runtime.js";
export { CniError, nodeConfigList, writeNodeConfigList, loopbackConfigList, podIPs } from "./cni.js";
export type { CniConfigList, NodeCniOptions } from "./cni.js";
export { buildRuntimeSpec, cpuSharesForRequest, cpuQuotaForLimit } from "./spec.js";
export type { OciSpec } from "./spec.js";
export type * from "./types.js";
