// The CRI configs the kubelet asks the runtime for: the pod's sandbox (metadata, hostname, logs, DNS, hostPorts,
// namespaces, labels) and each container (image, command with $(VAR) expansion, environment, mounts, logs,
// resources as cgroup values, security context), labelled so a restarted kubelet finds them again.
import { join } from "node:path";
import { parseQuantity, quantityToMilli, quantityValue } from "../../api/quantity.js";
import type { Container, Pod, PodQOSClass } from "../../api/types/index.js";
import { imageSpec, type ContainerConfig, type DnsConfig, type KeyValue, type LinuxContainerResources, type Mount, type NamespaceOption, type PodSandboxConfig, type PortMapping } from "../../client/cri/types.js";
import {
  CONTAINER_HASH_ANNOTATION,
  CONTAINER_NAME_LABEL,
  CONTAINER_PORTS_ANNOTATION,
  CONTAINER_RESTART_COUNT_ANNOTATION,
  CONTAINER_TERMINATION_MESSAGE_PATH_ANNOTATION,
  CONTAINER_TERMINATION_MESSAGE_POLICY_ANNOTATION,
  KUBERNETES_MANAGED_LABEL,
  POD_NAME_LABEL,
  POD_NAMESPACE_LABEL,
  POD_TERMINATION_GRACE_PERIOD_ANNOTATION,
  POD_UID_LABEL,
} from "../runtime-labels.js";
import { containerHash } from "./runtime-state.js";

export const CPU_PERIOD_US = 100_000;
const MIN_SHARES = 2;
const MAX_SHARES = 262_144;

export function podNamespace(pod: Readonly<Pod>): string {
  return pod.metadata.namespace ?? "default";
}

/** The labels every sandbox and container of the pod carries. */
export function podLabels(pod: Readonly<Pod>): Record<string, string> {
  return { [POD_NAME_LABEL]: pod.metadata.name ?? "", [POD_NAMESPACE_LABEL]: podNamespace(pod), [POD_UID_LABEL]: pod.metadata.uid ?? "" };
}

/** Where the runtime writes the pod's container logs (Kubernetes' /var/log/pods/<ns>_<name>_<uid>, under --root-dir). */
export function podLogDirectory(rootDir: string, pod: Readonly<Pod>): string {
  return join(rootDir, "logs", "pods", `${podNamespace(pod)}_${pod.metadata.name ?? ""}_${pod.metadata.uid ?? ""}`);
}

export function namespaceOptions(pod: Readonly<Pod>): NamespaceOption {
  return {
    network: pod.spec?.hostNetwork ? "NODE" : "POD",
    pid: pod.spec?.hostPID ? "NODE" : "CONTAINER",
    ipc: pod.spec?.hostIPC ? "NODE" : "POD",
    targetId: "",
  };
}

export interface SandboxConfigInput {
  pod: Readonly<Pod>;
  attempt: number;
  rootDir: string;
  dnsConfig: DnsConfig | undefined;
  /** The node's hostname, for host-network pods. */
  nodeHostname: string;
  /** --cgroup-root; "" leaves the pod's cgroup to the runtime. */
  cgroupRoot: string;
}

export function sandboxConfig(input: SandboxConfigInput): PodSandboxConfig {
  const { pod } = input;
  const spec = pod.spec;
  const portMappings: PortMapping[] = [];
  for (const c of spec?.containers ?? []) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort) continue;
      portMappings.push({ protocol: p.protocol ?? "TCP", containerPort: p.containerPort, hostPort: p.hostPort, hostIp: p.hostIP ?? "" });
    }
  }
  const hostname = spec?.hostNetwork ? input.nodeHostname : (spec?.hostname ?? pod.metadata.name ?? "").slice(0, 63);
  const config: PodSandboxConfig = {
    metadata: { name: pod.metadata.name ?? "", uid: pod.metadata.uid ?? "", namespace: podNamespace(pod), attempt: input.attempt },
    hostname,
    logDirectory: podLogDirectory(input.rootDir, pod),
    portMappings,
    labels: { ...(pod.metadata.labels ?? {}), ...podLabels(pod), [KUBERNETES_MANAGED_LABEL]: "true" },
    annotations: { ...(pod.metadata.annotations ?? {}) },
    linux: {
      cgroupParent: input.cgroupRoot !== "" ? `${input.cgroupRoot.replace(/\/$/, "")}/pod${pod.metadata.uid ?? ""}` : "",
      sysctls: Object.fromEntries((spec?.securityContext?.sysctls ?? []).map((s) => [s.name, s.value])),
      namespaceOptions: namespaceOptions(pod),
      privileged: false,
      ...(spec?.securityContext?.runAsUser !== undefined ? { runAsUser: spec.securityContext.runAsUser } : {}),
      ...(spec?.securityContext?.runAsGroup !== undefined ? { runAsGroup: spec.securityContext.runAsGroup } : {}),
      supplementalGroups: spec?.securityContext?.supplementalGroups ?? [],
      readonlyRootfs: false,
    },
  };
  if (input.dnsConfig) config.dnsConfig = input.dnsConfig;
  return config;
}

function quantity(list: Readonly<Record<string, string>> | undefined, name: string): ReturnType<typeof parseQuantity> | undefined {
  const value = list?.[name];
  if (value === undefined) return undefined;
  try {
    return parseQuantity(value);
  } catch {
    return undefined;
  }
}

/** cpu.shares from a cpu request in millicores (Kubernetes' MilliCPUToShares). */
export function milliCpuToShares(milli: number): number {
  if (milli === 0) return MIN_SHARES;
  return Math.min(MAX_SHARES, Math.max(MIN_SHARES, Math.floor((milli * 1024) / 1000)));
}

/** The CFS quota for a cpu limit in millicores over CPU_PERIOD_US (Kubernetes' MilliCPUToQuota, 1 ms minimum). */
export function milliCpuToQuota(milli: number, periodUs = CPU_PERIOD_US): number {
  if (milli === 0) return 0;
  return Math.max(1000, Math.floor((milli * periodUs) / 1000));
}

/** oom_score_adj by QoS (Kubernetes' GetContainerOOMScoreAdjust). */
export function oomScoreAdj(qos: PodQOSClass, container: Readonly<Container>, memoryCapacity: number): number {
  if (qos === "Guaranteed") return -997;
  if (qos === "BestEffort") return 1000;
  const request = quantity(container.resources?.requests, "memory");
  const bytes = request ? quantityValue(request) : 0;
  const adj = memoryCapacity > 0 ? 1000 - Math.floor((1000 * bytes) / memoryCapacity) : 999;
  return Math.min(999, Math.max(2, adj));
}

export function linuxResources(container: Readonly<Container>, qos: PodQOSClass, memoryCapacity: number): LinuxContainerResources {
  const cpuRequest = quantity(container.resources?.requests, "cpu");
  const cpuLimit = quantity(container.resources?.limits, "cpu");
  const memoryLimit = quantity(container.resources?.limits, "memory");
  // As Kubernetes: a container with only a cpu limit gets shares from the limit (the request defaults to it).
  const sharesFrom = cpuRequest ?? cpuLimit;
  const quota = cpuLimit ? milliCpuToQuota(quantityToMilli(cpuLimit)) : 0;
  return {
    cpuPeriod: quota > 0 ? CPU_PERIOD_US : 0,
    cpuQuota: quota,
    cpuShares: milliCpuToShares(sharesFrom ? quantityToMilli(sharesFrom) : 0),
    memoryLimitInBytes: memoryLimit ? quantityValue(memoryLimit) : 0,
    oomScoreAdj: oomScoreAdj(qos, container, memoryCapacity),
    cpusetCpus: "",
    cpusetMems: "",
    unified: {},
    // No swap beyond the limit, as Kubernetes' NoSwap: a container over its memory limit is OOM-killed.
    memorySwapLimitInBytes: memoryLimit ? quantityValue(memoryLimit) : 0,
  };
}

/**
 * Kubernetes' $(VAR) expansion of command and args: $(NAME) becomes the variable's value when defined and stays as
 * written otherwise; $$ escapes a dollar.
 */
export function expandVariables(input: string, env: ReadonlyMap<string, string>): string {
  let out = "";
  for (let i = 0; i < input.length; i++) {
    const ch = input[i]!;
    if (ch !== "$" || i + 1 >= input.length) {
      out += ch;
      continue;
    }
    const next = input[i + 1]!;
    if (next === "$") {
      out += "$";
      i++;
      continue;
    }
    if (next === "(") {
      const close = input.indexOf(")", i + 2);
      if (close >= 0) {
        const name = input.slice(i + 2, close);
        const value = env.get(name);
        out += value ?? `$(${name})`;
        i = close;
        continue;
      }
    }
    out += ch;
  }
  return out;
}

export interface ContainerConfigInput {
  pod: Readonly<Pod>;
  container: Readonly<Container>;
  restartCount: number;
  /** The image reference to run (what the pull resolved). */
  image: string;
  envs: KeyValue[];
  mounts: Mount[];
  qos: PodQOSClass;
  memoryCapacity: number;
}

export function containerConfig(input: ContainerConfigInput): ContainerConfig {
  const { pod, container: c } = input;
  const env = new Map(input.envs.map((e) => [e.key, e.value]));
  const sc = c.securityContext;
  const podSc = pod.spec?.securityContext;
  const runAsUser = sc?.runAsUser ?? podSc?.runAsUser;
  const runAsGroup = sc?.runAsGroup ?? podSc?.runAsGroup;
  return {
    metadata: { name: c.name, attempt: input.restartCount },
    image: { ...imageSpec(input.image), userSpecifiedImage: c.image ?? "" },
    command: (c.command ?? []).map((s) => expandVariables(s, env)),
    args: (c.args ?? []).map((s) => expandVariables(s, env)),
    workingDir: c.workingDir ?? "",
    envs: input.envs,
    mounts: input.mounts,
    labels: { ...podLabels(pod), [CONTAINER_NAME_LABEL]: c.name },
    annotations: {
      [CONTAINER_HASH_ANNOTATION]: containerHash(c),
      [CONTAINER_RESTART_COUNT_ANNOTATION]: String(input.restartCount),
      [CONTAINER_TERMINATION_MESSAGE_PATH_ANNOTATION]: c.terminationMessagePath ?? "/dev/termination-log",
      [CONTAINER_TERMINATION_MESSAGE_POLICY_ANNOTATION]: c.terminationMessagePolicy ?? "File",
      [POD_TERMINATION_GRACE_PERIOD_ANNOTATION]: String(pod.spec?.terminationGracePeriodSeconds ?? 30),
      ...(c.ports && c.ports.length > 0 ? { [CONTAINER_PORTS_ANNOTATION]: JSON.stringify(c.ports) } : {}),
    },
    logPath: `${c.name}/${input.restartCount}.log`,
    stdin: c.stdin ?? false,
    stdinOnce: c.stdinOnce ?? false,
    tty: c.tty ?? false,
    linux: {
      resources: linuxResources(c, input.qos, input.memoryCapacity),
      privileged: sc?.privileged ?? false,
      namespaceOptions: namespaceOptions(pod),
      ...(runAsUser !== undefined ? { runAsUser } : {}),
      ...(runAsGroup !== undefined ? { runAsGroup } : {}),
      runAsUsername: "",
      readonlyRootfs: sc?.readOnlyRootFilesystem ?? false,
      supplementalGroups: podSc?.supplementalGroups ?? [],
      noNewPrivs: sc?.allowPrivilegeEscalation === false,
      addCapabilities: sc?.capabilities?.add ?? [],
      dropCapabilities: sc?.capabilities?.drop ?? [],
      maskedPaths: [],
      readonlyPaths: [],
    },
    stopSignal: "SIGNAL_RUNTIME_DEFAULT",
  };
}
