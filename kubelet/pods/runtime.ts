// The part of the CRI the kubelet's pod lifecycle uses. CriClient (client/cri/client.ts) on
// --container-runtime-endpoint is the real one; hollow nodes can pass an in-process fake runtime instead.
import type { CriClient } from "../../client/cri/client.js";
import { toCriError } from "../../client/cri/errors.js";
import type { Registry } from "../../component-base/metrics.js";
import { counter, histogram } from "../../component-base/metrics.js";

export type PodRuntime = Pick<
  CriClient,
  | "version"
  | "status"
  | "updateRuntimeConfig"
  | "runPodSandbox"
  | "stopPodSandbox"
  | "removePodSandbox"
  | "podSandboxStatus"
  | "listPodSandbox"
  | "createContainer"
  | "startContainer"
  | "stopContainer"
  | "removeContainer"
  | "listContainers"
  | "containerStatus"
  | "execSync"
  | "pullImage"
  | "imageStatus"
>;

const METHODS = [
  "version",
  "status",
  "updateRuntimeConfig",
  "runPodSandbox",
  "stopPodSandbox",
  "removePodSandbox",
  "podSandboxStatus",
  "listPodSandbox",
  "createContainer",
  "startContainer",
  "stopContainer",
  "removeContainer",
  "listContainers",
  "containerStatus",
  "execSync",
  "pullImage",
  "imageStatus",
] as const satisfies readonly (keyof PodRuntime)[];

/** Kubernetes' operation_type names (snake_case of the CRI method). */
function operationType(method: string): string {
  return method.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * `runtime` with kubelet_runtime_operations_total, kubelet_runtime_operations_errors_total and
 * kubelet_runtime_operations_duration_seconds by operation_type, as Kubernetes' instrumented runtime service.
 */
export function instrumentedRuntime(runtime: PodRuntime, registry: Registry): PodRuntime {
  const total = counter(registry, { name: "kubelet_runtime_operations_total", help: "Cumulative number of runtime operations by operation type.", labelNames: ["operation_type"] });
  const errors = counter(registry, { name: "kubelet_runtime_operations_errors_total", help: "Cumulative number of runtime operation errors by operation type.", labelNames: ["operation_type"] });
  const duration = histogram(registry, {
    name: "kubelet_runtime_operations_duration_seconds",
    help: "Duration in seconds of runtime operations. Broken down by operation type.",
    labelNames: ["operation_type"],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  });
  const wrapped: Partial<Record<(typeof METHODS)[number], unknown>> = {};
  for (const method of METHODS) {
    const op = operationType(method);
    const fn = runtime[method] as (...args: unknown[]) => Promise<unknown>;
    // One labels object per method, never changed: every call of every pod's sync comes through here.
    const labels = { operation_type: op };
    wrapped[method] = async (...args: unknown[]): Promise<unknown> => {
      const started = performance.now();
      total.inc(labels);
      try {
        return await fn.apply(runtime, args);
      } catch (err) {
        errors.inc(labels);
        throw toCriError(err);
      } finally {
        duration.observe(labels, (performance.now() - started) / 1000);
      }
    };
  }
  return wrapped as PodRuntime;
}
