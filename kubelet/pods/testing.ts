// Builders for the pod lifecycle's unit tests: pods and runtime records with every field at a plain default.
import type { Container, Node, Pod } from "../../api/types/index.js";
import type { ContainerRecord, PodRuntimeState, SandboxState } from "./runtime-state.js";
import { containerHash } from "./runtime-state.js";

export const T0 = Date.UTC(2024, 0, 1, 10, 0, 0);

export function testPod(spec: Partial<NonNullable<Pod["spec"]>> = {}, name = "web"): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", uid: `uid-${name}`, resourceVersion: "1" },
    spec: { nodeName: "node-1", containers: [{ name: "app", image: "busybox" }], ...spec },
    status: { phase: "Pending", qosClass: "BestEffort", conditions: [{ type: "PodScheduled", status: "True", lastTransitionTime: "2024-01-01T09:59:00Z" }] },
  };
}

/** The Node "node-1" pods are admitted against: 4 cpu, 8 Gi memory, 110 pods, Linux. */
export function testNode(allocatable: Record<string, string> = {}, labels: Record<string, string> = {}): Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: "node-1", uid: "uid-node-1", labels: { "kubernetes.io/hostname": "node-1", "kubernetes.io/os": "linux", ...labels } },
    spec: {},
    status: { allocatable: { cpu: "4", memory: "8Gi", pods: "110", ...allocatable } },
  };
}

export function sandbox(overrides: Partial<SandboxState> = {}): SandboxState {
  return { id: "sb-0", attempt: 0, ready: true, createdAtMs: T0, ip: "10.244.1.5", additionalIps: [], ...overrides };
}

/** A container record made from `container` (so its hash matches the spec unless overridden). */
export function record(container: Readonly<Container>, overrides: Partial<ContainerRecord> = {}): ContainerRecord {
  const state = overrides.state ?? "CONTAINER_RUNNING";
  return {
    id: `${container.name}-${overrides.restartCount ?? 0}`,
    sandboxId: "sb-0",
    name: container.name,
    attempt: overrides.restartCount ?? 0,
    state,
    createdAtMs: T0 + 1000 * (overrides.restartCount ?? 0),
    startedAtMs: T0 + 1000 * (overrides.restartCount ?? 0) + 100,
    finishedAtMs: state === "CONTAINER_EXITED" ? T0 + 1000 * (overrides.restartCount ?? 0) + 500 : 0,
    exitCode: 0,
    reason: "",
    message: "",
    image: "docker.io/library/busybox:latest",
    imageRef: "docker.io/library/busybox@sha256:abc",
    restartCount: 0,
    hash: containerHash(container),
    logPath: "",
    annotations: {},
    ...overrides,
  };
}

export function runtimeState(sandboxes: SandboxState[], containers: ContainerRecord[], uid = "uid-web"): PodRuntimeState {
  return { uid, sandboxes, containers: [...containers].sort((a, b) => b.createdAtMs - a.createdAtMs) };
}
