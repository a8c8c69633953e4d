// The one place where CRI messages change shape: protobufjs objects on the wire (camelCase fields, enums as names,
// int64 as decimal strings, bytes as Buffers, wrapper messages such as Int64Value, and `null` for an absent
// sub-message) ⇄ the typed values of types.ts. Each message has a codec whose decode takes `unknown` (whatever the
// decoder produced, or whatever a peer sent) and never throws on a missing or mistyped field — proto3 has no
// required fields, so a missing one is its zero value; encode produces what protobufjs' fromObject accepts.
import type * as cri from "./types.js";
import { CONTAINER_STATES, MOUNT_PROPAGATIONS, NAMESPACE_MODES, POD_SANDBOX_STATES, PROTOCOLS } from "./types.js";

export type WireObject = Record<string, unknown>;

export interface Codec<T> {
  decode(wire: unknown): T;
  encode(value: T): WireObject;
}

// ---- readers over unknown ----

function isObject(v: unknown): v is WireObject {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

function asObject(v: unknown): WireObject {
  return isObject(v) ? v : {};
}

function sub(w: WireObject, key: string): WireObject | undefined {
  const v = w[key];
  return isObject(v) ? v : undefined;
}

function str(w: WireObject, key: string): string {
  const v = w[key];
  return typeof v === "string" ? v : "";
}

function bool(w: WireObject, key: string): boolean {
  return w[key] === true;
}

/** An integer as a number, whether it came as a number or (int64, see proto.ts) as a decimal string. */
function toNumber(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "string" && v !== "") return Number(v);
  return 0;
}

function int(w: WireObject, key: string): number {
  const n = toNumber(w[key]);
  return Number.isFinite(n) ? n : 0;
}

function nanos(w: WireObject, key: string): bigint {
  const v = w[key];
  try {
    if (typeof v === "bigint") return v;
    if (typeof v === "number") return BigInt(Math.trunc(v));
    if (typeof v === "string" && v !== "") return BigInt(v);
  } catch {
    return 0n;
  }
  return 0n;
}

function strings(w: WireObject, key: string): string[] {
  const v = w[key];
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : [];
}

function ints(w: WireObject, key: string): number[] {
  const v = w[key];
  return Array.isArray(v) ? v.map(toNumber) : [];
}

function stringMap(w: WireObject, key: string): cri.Labels {
  const out: cri.Labels = {};
  const v = w[key];
  if (!isObject(v)) return out;
  for (const [k, value] of Object.entries(v)) if (typeof value === "string") out[k] = value;
  return out;
}

function list<T>(w: WireObject, key: string, codec: Codec<T>): T[] {
  const v = w[key];
  return Array.isArray(v) ? v.map((item) => codec.decode(item)) : [];
}

function optional<T>(w: WireObject, key: string, codec: Codec<T>): T | undefined {
  const v = sub(w, key);
  return v === undefined ? undefined : codec.decode(v);
}

function enumName<T extends string>(w: WireObject, key: string, names: readonly T[], unknown: T): T {
  const v = w[key];
  if (typeof v === "string") return names.find((n) => n === v) ?? unknown;
  if (typeof v === "number") return names[v] ?? unknown;
  return unknown;
}

function bytes(w: WireObject, key: string): Buffer {
  const v = w[key];
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v);
  if (typeof v === "string") return Buffer.from(v, "utf8");
  return Buffer.alloc(0);
}

/** int64 values go on the wire as decimal strings, which protobufjs takes without losing precision. */
function int64(n: bigint | number): string {
  return typeof n === "bigint" ? n.toString() : String(Math.trunc(n));
}

/** A wrapper message (Int64Value, UInt64Value) around an optional integer. */
function wrapped(w: WireObject, key: string): number | undefined {
  const v = sub(w, key);
  return v === undefined ? undefined : int(v, "value");
}

function wrap(n: number | undefined): WireObject | undefined {
  return n === undefined ? undefined : { value: int64(n) };
}

/** Drops undefined properties, so absent optional fields stay absent on the wire. */
function compact(o: Record<string, unknown>): WireObject {
  const out: WireObject = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}

function encodeOptional<T>(codec: Codec<T>, value: T | undefined): WireObject | undefined {
  return value === undefined ? undefined : codec.encode(value);
}

/** A codec for a message with only string, bool and plain-number fields of the same names. */
function flat<T extends object>(fields: { [K in keyof T]: "string" | "bool" | "int" }): Codec<T> {
  return {
    decode(wire) {
      const w = asObject(wire);
      const out: Record<string, unknown> = {};
      for (const [k, kind] of Object.entries(fields)) out[k] = kind === "string" ? str(w, k) : kind === "bool" ? bool(w, k) : int(w, k);
      return out as T;
    },
    encode(value) {
      return { ...value } as WireObject;
    },
  };
}

// ---- shared pieces ----

export const imageSpec: Codec<cri.ImageSpec> = {
  decode(wire) {
    const w = asObject(wire);
    return { image: str(w, "image"), annotations: stringMap(w, "annotations"), userSpecifiedImage: str(w, "userSpecifiedImage"), runtimeHandler: str(w, "runtimeHandler") };
  },
  encode: (v) => ({ ...v }),
};

export const portMapping: Codec<cri.PortMapping> = {
  decode(wire) {
    const w = asObject(wire);
    return { protocol: enumName(w, "protocol", PROTOCOLS, "TCP"), containerPort: int(w, "containerPort"), hostPort: int(w, "hostPort"), hostIp: str(w, "hostIp") };
  },
  encode: (v) => ({ ...v }),
};

export const dnsConfig: Codec<cri.DnsConfig> = {
  decode(wire) {
    const w = asObject(wire);
    return { servers: strings(w, "servers"), searches: strings(w, "searches"), options: strings(w, "options") };
  },
  encode: (v) => ({ ...v }),
};

export const mount: Codec<cri.Mount> = {
  decode(wire) {
    const w = asObject(wire);
    return {
      containerPath: str(w, "containerPath"),
      hostPath: str(w, "hostPath"),
      readonly: bool(w, "readonly"),
      selinuxRelabel: bool(w, "selinuxRelabel"),
      propagation: enumName(w, "propagation", MOUNT_PROPAGATIONS, "PROPAGATION_PRIVATE"),
      recursiveReadOnly: bool(w, "recursiveReadOnly"),
    };
  },
  encode: (v) => ({ ...v }),
};

export const namespaceOption: Codec<cri.NamespaceOption> = {
  decode(wire) {
    const w = asObject(wire);
    return {
      network: enumName(w, "network", NAMESPACE_MODES, "POD"),
      pid: enumName(w, "pid", NAMESPACE_MODES, "POD"),
      ipc: enumName(w, "ipc", NAMESPACE_MODES, "POD"),
      targetId: str(w, "targetId"),
    };
  },
  encode: (v) => ({ ...v }),
};

export const linuxContainerResources: Codec<cri.LinuxContainerResources> = {
  decode(wire) {
    const w = asObject(wire);
    return {
      cpuPeriod: int(w, "cpuPeriod"),
      cpuQuota: int(w, "cpuQuota"),
      cpuShares: int(w, "cpuShares"),
      memoryLimitInBytes: int(w, "memoryLimitInBytes"),
      oomScoreAdj: int(w, "oomScoreAdj"),
      cpusetCpus: str(w, "cpusetCpus"),
      cpusetMems: str(w, "cpusetMems"),
      unified: stringMap(w, "unified"),
      memorySwapLimitInBytes: int(w, "memorySwapLimitInBytes"),
    };
  },
  encode(v) {
    return {
      ...v,
      cpuPeriod: int64(v.cpuPeriod),
      cpuQuota: int64(v.cpuQuota),
      cpuShares: int64(v.cpuShares),
      memoryLimitInBytes: int64(v.memoryLimitInBytes),
      oomScoreAdj: int64(v.oomScoreAdj),
      memorySwapLimitInBytes: int64(v.memorySwapLimitInBytes),
    };
  },
};

// ---- pod sandboxes ----

export const podSandboxMetadata: Codec<cri.PodSandboxMetadata> = flat<cri.PodSandboxMetadata>({ name: "string", uid: "string", namespace: "string", attempt: "int" });

export const linuxPodSandboxConfig: Codec<cri.LinuxPodSandboxConfig> = {
  decode(wire) {
    const w = asObject(wire);
    const sc = sub(w, "securityContext") ?? {};
    const runAsUser = wrapped(sc, "runAsUser");
    const runAsGroup = wrapped(sc, "runAsGroup");
    const namespaceOptions = optional(sc, "namespaceOptions", namespaceOption);
    const overhead = optional(w, "overhead", linuxContainerResources);
    const resources = optional(w, "resources", linuxContainerResources);
    return {
      cgroupParent: str(w, "cgroupParent"),
      sysctls: stringMap(w, "sysctls"),
      privileged: bool(sc, "privileged"),
      supplementalGroups: ints(sc, "supplementalGroups"),
      readonlyRootfs: bool(sc, "readonlyRootfs"),
      ...(namespaceOptions ? { namespaceOptions } : {}),
      ...(runAsUser !== undefined ? { runAsUser } : {}),
      ...(runAsGroup !== undefined ? { runAsGroup } : {}),
      ...(overhead ? { overhead } : {}),
      ...(resources ? { resources } : {}),
    };
  },
  encode(v) {
    return compact({
      cgroupParent: v.cgroupParent,
      sysctls: v.sysctls,
      securityContext: compact({
        namespaceOptions: encodeOptional(namespaceOption, v.namespaceOptions),
        runAsUser: wrap(v.runAsUser),
        runAsGroup: wrap(v.runAsGroup),
        readonlyRootfs: v.readonlyRootfs,
        supplementalGroups: v.supplementalGroups.map(int64),
        privileged: v.privileged,
      }),
      overhead: encodeOptional(linuxContainerResources, v.overhead),
      resources: encodeOptional(linuxContainerResources, v.resources),
    });
  },
};

export const podSandboxConfig: Codec<cri.PodSandboxConfig> = {
  decode(wire) {
    const w = asObject(wire);
    const dns = optional(w, "dnsConfig", dnsConfig);
    const linux = optional(w, "linux", linuxPodSandboxConfig);
    return {
      metadata: podSandboxMetadata.decode(w.metadata),
      hostname: str(w, "hostname"),
      logDirectory: str(w, "logDirectory"),
      portMappings: list(w, "portMappings", portMapping),
      labels: stringMap(w, "labels"),
      annotations: stringMap(w, "annotations"),
      ...(dns ? { dnsConfig: dns } : {}),
      ...(linux ? { linux } : {}),
    };
  },
  encode(v) {
    return compact({
      metadata: podSandboxMetadata.encode(v.metadata),
      hostname: v.hostname,
      logDirectory: v.logDirectory,
      dnsConfig: encodeOptional(dnsConfig, v.dnsConfig),
      portMappings: v.portMappings.map((p) => portMapping.encode(p)),
      labels: v.labels,
      annotations: v.annotations,
      linux: encodeOptional(linuxPodSandboxConfig, v.linux),
    });
  },
};

export const podSandboxStatus: Codec<cri.PodSandboxStatus> = {
  decode(wire) {
    const w = asObject(wire);
    const net = sub(w, "network");
    const nsOptions = sub(sub(sub(w, "linux") ?? {}, "namespaces") ?? {}, "options");
    return {
      id: str(w, "id"),
      metadata: podSandboxMetadata.decode(w.metadata),
      state: enumName(w, "state", POD_SANDBOX_STATES, "SANDBOX_NOTREADY"),
      createdAt: nanos(w, "createdAt"),
      labels: stringMap(w, "labels"),
      annotations: stringMap(w, "annotations"),
      runtimeHandler: str(w, "runtimeHandler"),
      ...(net ? { network: { ip: str(net, "ip"), additionalIps: (Array.isArray(net.additionalIps) ? net.additionalIps : []).map((p) => str(asObject(p), "ip")) } } : {}),
      ...(nsOptions ? { namespaceOptions: namespaceOption.decode(nsOptions) } : {}),
    };
  },
  encode(v) {
    return compact({
      id: v.id,
      metadata: podSandboxMetadata.encode(v.metadata),
      state: v.state,
      createdAt: int64(v.createdAt),
      network: v.network ? { ip: v.network.ip, additionalIps: v.network.additionalIps.map((ip) => ({ ip })) } : undefined,
      linux: v.namespaceOptions ? { namespaces: { options: namespaceOption.encode(v.namespaceOptions) } } : undefined,
      labels: v.labels,
      annotations: v.annotations,
      runtimeHandler: v.runtimeHandler,
    });
  },
};

export const podSandbox: Codec<cri.PodSandbox> = {
  decode(wire) {
    const w = asObject(wire);
    return {
      id: str(w, "id"),
      metadata: podSandboxMetadata.decode(w.metadata),
      state: enumName(w, "state", POD_SANDBOX_STATES, "SANDBOX_NOTREADY"),
      createdAt: nanos(w, "createdAt"),
      labels: stringMap(w, "labels"),
      annotations: stringMap(w, "annotations"),
      runtimeHandler: str(w, "runtimeHandler"),
    };
  },
  encode(v) {
    return { ...v, metadata: podSandboxMetadata.encode(v.metadata), createdAt: int64(v.createdAt) };
  },
};

export const podSandboxFilter: Codec<cri.PodSandboxFilter> = {
  decode(wire) {
    const w = asObject(wire);
    const state = sub(w, "state");
    const labelSelector = stringMap(w, "labelSelector");
    return compact({
      id: str(w, "id") || undefined,
      state: state ? enumName(state, "state", POD_SANDBOX_STATES, "SANDBOX_NOTREADY") : undefined,
      labelSelector: Object.keys(labelSelector).length > 0 ? labelSelector : undefined,
    });
  },
  encode(v) {
    return compact({ id: v.id, state: v.state === undefined ? undefined : { state: v.state }, labelSelector: v.labelSelector });
  },
};

// ---- containers ----

export const containerMetadata: Codec<cri.ContainerMetadata> = flat<cri.ContainerMetadata>({ name: "string", attempt: "int" });

export const linuxContainerConfig: Codec<cri.LinuxContainerConfig> = {
  decode(wire) {
    const w = asObject(wire);
    const sc = sub(w, "securityContext") ?? {};
    const caps = sub(sc, "capabilities") ?? {};
    const resources = optional(w, "resources", linuxContainerResources);
    const namespaceOptions = optional(sc, "namespaceOptions", namespaceOption);
    const runAsUser = wrapped(sc, "runAsUser");
    const runAsGroup = wrapped(sc, "runAsGroup");
    return {
      privileged: bool(sc, "privileged"),
      runAsUsername: str(sc, "runAsUsername"),
      readonlyRootfs: bool(sc, "readonlyRootfs"),
      supplementalGroups: ints(sc, "supplementalGroups"),
      noNewPrivs: bool(sc, "noNewPrivs"),
      addCapabilities: strings(caps, "addCapabilities"),
      dropCapabilities: strings(caps, "dropCapabilities"),
      maskedPaths: strings(sc, "maskedPaths"),
      readonlyPaths: strings(sc, "readonlyPaths"),
      ...(resources ? { resources } : {}),
      ...(namespaceOptions ? { namespaceOptions } : {}),
      ...(runAsUser !== undefined ? { runAsUser } : {}),
      ...(runAsGroup !== undefined ? { runAsGroup } : {}),
    };
  },
  encode(v) {
    return compact({
      resources: encodeOptional(linuxContainerResources, v.resources),
      securityContext: compact({
        capabilities: { addCapabilities: v.addCapabilities, dropCapabilities: v.dropCapabilities },
        privileged: v.privileged,
        namespaceOptions: encodeOptional(namespaceOption, v.namespaceOptions),
        runAsUser: wrap(v.runAsUser),
        runAsGroup: wrap(v.runAsGroup),
        runAsUsername: v.runAsUsername,
        readonlyRootfs: v.readonlyRootfs,
        supplementalGroups: v.supplementalGroups.map(int64),
        noNewPrivs: v.noNewPrivs,
        maskedPaths: v.maskedPaths,
        readonlyPaths: v.readonlyPaths,
      }),
    });
  },
};

const keyValue: Codec<cri.KeyValue> = {
  decode(wire) {
    const w = asObject(wire);
    return { key: str(w, "key"), value: bytes(w, "value").toString("utf8") };
  },
  encode: (v) => ({ key: v.key, value: Buffer.from(v.value, "utf8") }),
};

export const containerConfig: Codec<cri.ContainerConfig> = {
  decode(wire) {
    const w = asObject(wire);
    const linux = optional(w, "linux", linuxContainerConfig);
    const stopSignal = w.stopSignal;
    return {
      metadata: containerMetadata.decode(w.metadata),
      image: imageSpec.decode(w.image),
      command: strings(w, "command"),
      args: strings(w, "args"),
      workingDir: str(w, "workingDir"),
      envs: list(w, "envs", keyValue),
      mounts: list(w, "mounts", mount),
      labels: stringMap(w, "labels"),
      annotations: stringMap(w, "annotations"),
      logPath: str(w, "logPath"),
      stdin: bool(w, "stdin"),
      stdinOnce: bool(w, "stdinOnce"),
      tty: bool(w, "tty"),
      stopSignal: typeof stopSignal === "string" ? stopSignal : "SIGNAL_RUNTIME_DEFAULT",
      ...(linux ? { linux } : {}),
    };
  },
  encode(v) {
    return compact({
      ...v,
      metadata: containerMetadata.encode(v.metadata),
      image: imageSpec.encode(v.image),
      envs: v.envs.map((e) => keyValue.encode(e)),
      mounts: v.mounts.map((m) => mount.encode(m)),
      linux: encodeOptional(linuxContainerConfig, v.linux),
    });
  },
};

export const createContainerRequest: Codec<cri.CreateContainerRequest> = {
  decode(wire) {
    const w = asObject(wire);
    return { podSandboxId: str(w, "podSandboxId"), config: containerConfig.decode(w.config), sandboxConfig: podSandboxConfig.decode(w.sandboxConfig) };
  },
  encode(v) {
    return { podSandboxId: v.podSandboxId, config: containerConfig.encode(v.config), sandboxConfig: podSandboxConfig.encode(v.sandboxConfig) };
  },
};

export const containerFilter: Codec<cri.ContainerFilter> = {
  decode(wire) {
    const w = asObject(wire);
    const state = sub(w, "state");
    const labelSelector = stringMap(w, "labelSelector");
    return compact({
      id: str(w, "id") || undefined,
      state: state ? enumName(state, "state", CONTAINER_STATES, "CONTAINER_UNKNOWN") : undefined,
      podSandboxId: str(w, "podSandboxId") || undefined,
      labelSelector: Object.keys(labelSelector).length > 0 ? labelSelector : undefined,
    });
  },
  encode(v) {
    return compact({ id: v.id, state: v.state === undefined ? undefined : { state: v.state }, podSandboxId: v.podSandboxId, labelSelector: v.labelSelector });
  },
};

export const container: Codec<cri.Container> = {
  decode(wire) {
    const w = asObject(wire);
    return {
      id: str(w, "id"),
      podSandboxId: str(w, "podSandboxId"),
      metadata: containerMetadata.decode(w.metadata),
      image: imageSpec.decode(w.image),
      imageRef: str(w, "imageRef"),
      imageId: str(w, "imageId"),
      state: enumName(w, "state", CONTAINER_STATES, "CONTAINER_UNKNOWN"),
      createdAt: nanos(w, "createdAt"),
      labels: stringMap(w, "labels"),
      annotations: stringMap(w, "annotations"),
    };
  },
  encode(v) {
    return { ...v, metadata: containerMetadata.encode(v.metadata), image: imageSpec.encode(v.image), createdAt: int64(v.createdAt) };
  },
};

export const containerStatus: Codec<cri.ContainerStatus> = {
  decode(wire) {
    const w = asObject(wire);
    const resources = optional(sub(w, "resources") ?? {}, "linux", linuxContainerResources);
    return {
      id: str(w, "id"),
      metadata: containerMetadata.decode(w.metadata),
      state: enumName(w, "state", CONTAINER_STATES, "CONTAINER_UNKNOWN"),
      createdAt: nanos(w, "createdAt"),
      startedAt: nanos(w, "startedAt"),
      finishedAt: nanos(w, "finishedAt"),
      exitCode: int(w, "exitCode"),
      image: imageSpec.decode(w.image),
      imageRef: str(w, "imageRef"),
      imageId: str(w, "imageId"),
      reason: str(w, "reason"),
      message: str(w, "message"),
      labels: stringMap(w, "labels"),
      annotations: stringMap(w, "annotations"),
      mounts: list(w, "mounts", mount),
      logPath: str(w, "logPath"),
      ...(resources ? { resources } : {}),
    };
  },
  encode(v) {
    return compact({
      ...v,
      metadata: containerMetadata.encode(v.metadata),
      createdAt: int64(v.createdAt),
      startedAt: int64(v.startedAt),
      finishedAt: int64(v.finishedAt),
      image: imageSpec.encode(v.image),
      mounts: v.mounts.map((m) => mount.encode(m)),
      resources: v.resources ? { linux: linuxContainerResources.encode(v.resources) } : undefined,
    });
  },
};

export const podSandboxStatusResponse: Codec<cri.PodSandboxStatusResponse> = {
  decode(wire) {
    const w = asObject(wire);
    return {
      status: podSandboxStatus.decode(w.status),
      info: stringMap(w, "info"),
      containersStatuses: list(w, "containersStatuses", containerStatus),
      timestamp: nanos(w, "timestamp"),
    };
  },
  encode(v) {
    return {
      status: podSandboxStatus.encode(v.status),
      info: v.info,
      containersStatuses: v.containersStatuses.map((c) => containerStatus.encode(c)),
      timestamp: int64(v.timestamp),
    };
  },
};

export const containerStatusResponse: Codec<cri.ContainerStatusResponse> = {
  decode(wire) {
    const w = asObject(wire);
    return { status: containerStatus.decode(w.status), info: stringMap(w, "info") };
  },
  encode: (v) => ({ status: containerStatus.encode(v.status), info: v.info }),
};

export const execSyncResponse: Codec<cri.ExecSyncResponse> = {
  decode(wire) {
    const w = asObject(wire);
    return { stdout: bytes(w, "stdout"), stderr: bytes(w, "stderr"), exitCode: int(w, "exitCode") };
  },
  encode: (v) => ({ ...v }),
};

export const execRequest: Codec<cri.ExecRequest> = {
  decode(wire) {
    const w = asObject(wire);
    return { containerId: str(w, "containerId"), cmd: strings(w, "cmd"), tty: bool(w, "tty"), stdin: bool(w, "stdin"), stdout: bool(w, "stdout"), stderr: bool(w, "stderr") };
  },
  encode: (v) => ({ ...v }),
};

export const attachRequest: Codec<cri.AttachRequest> = flat<cri.AttachRequest>({ containerId: "string", stdin: "bool", tty: "bool", stdout: "bool", stderr: "bool" });

export const portForwardRequest: Codec<cri.PortForwardRequest> = {
  decode(wire) {
    const w = asObject(wire);
    return { podSandboxId: str(w, "podSandboxId"), port: ints(w, "port") };
  },
  encode: (v) => ({ ...v }),
};

// ---- version and status ----

export const versionResponse: Codec<cri.VersionResponse> = flat<cri.VersionResponse>({ version: "string", runtimeName: "string", runtimeVersion: "string", runtimeApiVersion: "string" });

const runtimeCondition: Codec<cri.RuntimeCondition> = flat<cri.RuntimeCondition>({ type: "string", status: "bool", reason: "string", message: "string" });

export const statusResponse: Codec<cri.StatusResponse> = {
  decode(wire) {
    const w = asObject(wire);
    return { conditions: list(sub(w, "status") ?? {}, "conditions", runtimeCondition), info: stringMap(w, "info") };
  },
  encode(v) {
    return { status: { conditions: v.conditions.map((c) => runtimeCondition.encode(c)) }, info: v.info, runtimeHandlers: [{ name: "", features: {} }] };
  },
};

// ---- stats ----

function usageTimestamp(w: WireObject): bigint {
  return nanos(w, "timestamp");
}

export const filesystemUsage: Codec<cri.FilesystemUsage> = {
  decode(wire) {
    const w = asObject(wire);
    return compact({
      timestamp: usageTimestamp(w),
      mountpoint: str(sub(w, "fsId") ?? {}, "mountpoint"),
      usedBytes: wrapped(w, "usedBytes"),
      inodesUsed: wrapped(w, "inodesUsed"),
    }) as unknown as cri.FilesystemUsage;
  },
  encode(v) {
    return compact({ timestamp: int64(v.timestamp), fsId: { mountpoint: v.mountpoint }, usedBytes: wrap(v.usedBytes), inodesUsed: wrap(v.inodesUsed) });
  },
};

const cpuUsage: Codec<cri.CpuUsage> = {
  decode(wire) {
    const w = asObject(wire);
    return compact({ timestamp: usageTimestamp(w), usageCoreNanoSeconds: wrapped(w, "usageCoreNanoSeconds"), usageNanoCores: wrapped(w, "usageNanoCores") }) as unknown as cri.CpuUsage;
  },
  encode(v) {
    return compact({ timestamp: int64(v.timestamp), usageCoreNanoSeconds: wrap(v.usageCoreNanoSeconds), usageNanoCores: wrap(v.usageNanoCores) });
  },
};

const MEMORY_FIELDS = ["workingSetBytes", "availableBytes", "usageBytes", "rssBytes", "pageFaults", "majorPageFaults"] as const;

const memoryUsage: Codec<cri.MemoryUsage> = {
  decode(wire) {
    const w = asObject(wire);
    const out: cri.MemoryUsage = { timestamp: usageTimestamp(w) };
    for (const field of MEMORY_FIELDS) {
      const n = wrapped(w, field);
      if (n !== undefined) out[field] = n;
    }
    return out;
  },
  encode(v) {
    const out: WireObject = { timestamp: int64(v.timestamp) };
    for (const field of MEMORY_FIELDS) {
      const n = v[field];
      if (n !== undefined) out[field] = wrap(n);
    }
    return out;
  },
};

export const containerStats: Codec<cri.ContainerStats> = {
  decode(wire) {
    const w = asObject(wire);
    const a = sub(w, "attributes") ?? {};
    const cpu = optional(w, "cpu", cpuUsage);
    const memory = optional(w, "memory", memoryUsage);
    const writableLayer = optional(w, "writableLayer", filesystemUsage);
    return {
      attributes: { id: str(a, "id"), metadata: containerMetadata.decode(a.metadata), labels: stringMap(a, "labels"), annotations: stringMap(a, "annotations") },
      ...(cpu ? { cpu } : {}),
      ...(memory ? { memory } : {}),
      ...(writableLayer ? { writableLayer } : {}),
    };
  },
  encode(v) {
    return compact({
      attributes: { ...v.attributes, metadata: containerMetadata.encode(v.attributes.metadata) },
      cpu: encodeOptional(cpuUsage, v.cpu),
      memory: encodeOptional(memoryUsage, v.memory),
      writableLayer: encodeOptional(filesystemUsage, v.writableLayer),
    });
  },
};

export const containerStatsFilter: Codec<cri.ContainerStatsFilter> = {
  decode(wire) {
    const w = asObject(wire);
    const labelSelector = stringMap(w, "labelSelector");
    return compact({
      id: str(w, "id") || undefined,
      podSandboxId: str(w, "podSandboxId") || undefined,
      labelSelector: Object.keys(labelSelector).length > 0 ? labelSelector : undefined,
    });
  },
  encode: (v) => compact({ ...v }),
};

// ---- images ----

export const image: Codec<cri.Image> = {
  decode(wire) {
    const w = asObject(wire);
    const uid = wrapped(w, "uid");
    const spec = optional(w, "spec", imageSpec);
    return {
      id: str(w, "id"),
      repoTags: strings(w, "repoTags"),
      repoDigests: strings(w, "repoDigests"),
      size: int(w, "size"),
      username: str(w, "username"),
      pinned: bool(w, "pinned"),
      ...(uid !== undefined ? { uid } : {}),
      ...(spec ? { spec } : {}),
    };
  },
  encode(v) {
    return compact({ ...v, size: int64(v.size), uid: wrap(v.uid), spec: encodeOptional(imageSpec, v.spec) });
  },
};

const authConfig: Codec<cri.AuthConfig> = flat<cri.AuthConfig>({ username: "string", password: "string", auth: "string", serverAddress: "string", identityToken: "string", registryToken: "string" });

export const pullImageRequest: Codec<cri.PullImageRequest> = {
  decode(wire) {
    const w = asObject(wire);
    const auth = optional(w, "auth", authConfig);
    const sandboxConfig = optional(w, "sandboxConfig", podSandboxConfig);
    return { image: imageSpec.decode(w.image), ...(auth ? { auth } : {}), ...(sandboxConfig ? { sandboxConfig } : {}) };
  },
  encode(v) {
    return compact({ image: imageSpec.encode(v.image), auth: encodeOptional(authConfig, v.auth), sandboxConfig: encodeOptional(podSandboxConfig, v.sandboxConfig) });
  },
};

export const imageFsInfoResponse: Codec<cri.ImageFsInfoResponse> = {
  decode(wire) {
    const w = asObject(wire);
    return { imageFilesystems: list(w, "imageFilesystems", filesystemUsage), containerFilesystems: list(w, "containerFilesystems", filesystemUsage) };
  },
  encode(v) {
    return { imageFilesystems: v.imageFilesystems.map((f) => filesystemUsage.encode(f)), containerFilesystems: v.containerFilesystems.map((f) => filesystemUsage.encode(f)) };
  },
};

// ---- small accessors for the one-field messages ----

/** The string field `key` of a request (container_id, pod_sandbox_id…). */
export function stringField(wire: unknown, key: string): string {
  return str(asObject(wire), key);
}

export function numberField(wire: unknown, key: string): number {
  return int(asObject(wire), key);
}

export function stringsField(wire: unknown, key: string): string[] {
  return strings(asObject(wire), key);
}

/** A sub-message of a request, or undefined when it is absent. */
export function messageField(wire: unknown, key: string): WireObject | undefined {
  return sub(asObject(wire), key);
}

export function decodeList<T>(wire: unknown, key: string, codec: Codec<T>): T[] {
  return list(asObject(wire), key, codec);
}
