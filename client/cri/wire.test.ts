import { describe, expect, it } from "vitest";
import { criSchema, criService, roundTrip } from "./proto.js";
import { containerConfig, sandboxConfig } from "./testing.js";
import type * as cri from "./types.js";
import * as wire from "./wire.js";

/** Encodes with the codec, goes through protobuf bytes as a peer would, and decodes again. */
function viaWire<T>(typeName: string, codec: wire.Codec<T>, value: T): T {
  return codec.decode(roundTrip(typeName, codec.encode(value)));
}

const NOW = 1_765_000_000_123_456_789n;

describe("the CRI schema", () => {
  it("keeps Kubernetes' package, method paths and field numbers", () => {
    const root = criSchema();
    const field = (type: string, name: string): number | undefined => root.lookupType(`runtime.v1.${type}`).fields[name]?.id;
    expect(criService("RuntimeService").RunPodSandbox?.path).toBe("/runtime.v1.RuntimeService/RunPodSandbox");
    expect(criService("ImageService").PullImage?.path).toBe("/runtime.v1.ImageService/PullImage");
    expect(field("ContainerStatus", "exitCode")).toBe(7);
    expect(field("ContainerStatus", "imageId")).toBe(17);
    expect(field("ContainerConfig", "linux")).toBe(15);
    expect(field("ContainerConfig", "stopSignal")).toBe(18);
    expect(field("PodSandboxConfig", "linux")).toBe(8);
    expect(field("LinuxSandboxSecurityContext", "runAsGroup")).toBe(8);
    expect(field("LinuxContainerSecurityContext", "noNewPrivs")).toBe(11);
    expect(field("ImageSpec", "userSpecifiedImage")).toBe(18);
    expect(field("Container", "imageId")).toBe(10);
    expect(field("PodSandboxStatusResponse", "containersStatuses")).toBe(3);
  });

  it("serves every method the kubelet needs", () => {
    const runtime = Object.keys(criService("RuntimeService"));
    for (const m of ["Version", "Status", "RunPodSandbox", "StopPodSandbox", "RemovePodSandbox", "PodSandboxStatus", "ListPodSandbox", "CreateContainer", "StartContainer", "StopContainer", "RemoveContainer", "ListContainers", "ContainerStatus", "ExecSync", "Exec", "Attach", "PortForward", "ContainerStats", "ListContainerStats", "ReopenContainerLog", "UpdateRuntimeConfig"]) {
      expect(runtime).toContain(m);
    }
    expect(Object.keys(criService("ImageService")).sort()).toEqual(["ImageFsInfo", "ImageStatus", "ListImages", "PullImage", "RemoveImage"]);
  });
});

describe("wire codecs", () => {
  it("carry a full pod sandbox config through protobuf bytes", () => {
    const config = sandboxConfig("web", {
      dnsConfig: { servers: ["10.96.0.10"], searches: ["default.svc.cluster.local"], options: ["ndots:5"] },
      portMappings: [{ protocol: "UDP", containerPort: 53, hostPort: 5353, hostIp: "127.0.0.1" }],
      linux: {
        cgroupParent: "/kubepods/besteffort/pod1",
        sysctls: { "net.ipv4.ip_unprivileged_port_start": "0" },
        namespaceOptions: { network: "NODE", pid: "CONTAINER", ipc: "POD", targetId: "" },
        privileged: false,
        runAsUser: 1000,
        supplementalGroups: [2000],
        readonlyRootfs: true,
        resources: { cpuPeriod: 100_000, cpuQuota: 50_000, cpuShares: 512, memoryLimitInBytes: 2 ** 33, oomScoreAdj: -997, cpusetCpus: "", cpusetMems: "", unified: {}, memorySwapLimitInBytes: 0 },
      },
    });
    expect(viaWire("PodSandboxConfig", wire.podSandboxConfig, config)).toEqual(config);
  });

  it("carry a container config with env bytes, mounts and security context", () => {
    const config = containerConfig("app", "nginx", {
      command: ["/bin/sh", "-c"],
      args: ["echo ü"],
      envs: [{ key: "GREETING", value: "grüß dich" }],
      mounts: [{ containerPath: "/data", hostPath: "/var/lib/data", readonly: true, selinuxRelabel: false, propagation: "PROPAGATION_HOST_TO_CONTAINER", recursiveReadOnly: false }],
      stopSignal: "SIGNAL_SIGQUIT",
      linux: {
        privileged: false,
        runAsUsername: "",
        runAsGroup: 0,
        readonlyRootfs: false,
        supplementalGroups: [],
        noNewPrivs: true,
        addCapabilities: ["NET_ADMIN"],
        dropCapabilities: ["ALL"],
        maskedPaths: ["/proc/kcore"],
        readonlyPaths: ["/proc/sys"],
      },
    });
    const request: cri.CreateContainerRequest = { podSandboxId: "abc", config, sandboxConfig: sandboxConfig("web") };
    expect(viaWire("CreateContainerRequest", wire.createContainerRequest, request)).toEqual(request);
  });

  it("keep nanosecond timestamps exact and states as names", () => {
    const status: cri.ContainerStatus = {
      id: "c1",
      metadata: { name: "app", attempt: 3 },
      state: "CONTAINER_EXITED",
      createdAt: NOW,
      startedAt: NOW + 1n,
      finishedAt: NOW + 2n,
      exitCode: 137,
      image: { image: "docker.io/library/nginx:latest", annotations: {}, userSpecifiedImage: "nginx", runtimeHandler: "" },
      imageRef: "sha256:aa",
      imageId: "sha256:aa",
      reason: "OOMKilled",
      message: "",
      labels: { a: "b" },
      annotations: { c: "d" },
      mounts: [],
      logPath: "/var/log/pods/x/app/3.log",
      resources: { cpuPeriod: 0, cpuQuota: 0, cpuShares: 2, memoryLimitInBytes: 0, oomScoreAdj: 1000, cpusetCpus: "", cpusetMems: "", unified: {}, memorySwapLimitInBytes: 0 },
    };
    expect(viaWire("ContainerStatusResponse", wire.containerStatusResponse, { status, info: {} })).toEqual({ status, info: {} });
  });

  it("carry filters, leaving absent fields absent", () => {
    expect(viaWire("ContainerFilter", wire.containerFilter, { state: "CONTAINER_CREATED" })).toEqual({ state: "CONTAINER_CREATED" });
    expect(viaWire("ContainerFilter", wire.containerFilter, { podSandboxId: "p", labelSelector: { app: "web" } })).toEqual({ podSandboxId: "p", labelSelector: { app: "web" } });
    expect(viaWire("PodSandboxFilter", wire.podSandboxFilter, {})).toEqual({});
    // SANDBOX_READY is enum value 0; it must still arrive as a filter on state.
    expect(viaWire("PodSandboxFilter", wire.podSandboxFilter, { state: "SANDBOX_READY" })).toEqual({ state: "SANDBOX_READY" });
  });

  it("carry stats with optional wrapped values, images and sandbox statuses", () => {
    const stats: cri.ContainerStats = {
      attributes: { id: "c", metadata: { name: "app", attempt: 0 }, labels: {}, annotations: {} },
      cpu: { timestamp: NOW, usageCoreNanoSeconds: 5_000_000_000, usageNanoCores: 1000 },
      memory: { timestamp: NOW, workingSetBytes: 4096 },
      writableLayer: { timestamp: NOW, mountpoint: "/var/lib", usedBytes: 0 },
    };
    expect(viaWire("ContainerStats", wire.containerStats, stats)).toEqual(stats);
    const image: cri.Image = { id: "sha256:1", repoTags: ["docker.io/library/busybox:latest"], repoDigests: [], size: 1234, uid: 0, username: "", pinned: true };
    expect(viaWire("Image", wire.image, image)).toEqual(image);
    const sandbox: cri.PodSandboxStatus = {
      id: "s",
      metadata: { name: "web", uid: "u", namespace: "default", attempt: 1 },
      state: "SANDBOX_NOTREADY",
      createdAt: NOW,
      network: { ip: "10.244.1.2", additionalIps: ["fd00::2"] },
      namespaceOptions: { network: "POD", pid: "CONTAINER", ipc: "POD", targetId: "" },
      labels: {},
      annotations: {},
      runtimeHandler: "",
    };
    const response: cri.PodSandboxStatusResponse = { status: sandbox, info: { k: "v" }, containersStatuses: [], timestamp: NOW };
    expect(viaWire("PodSandboxStatusResponse", wire.podSandboxStatusResponse, response)).toEqual(response);
  });

  it("decode garbage and missing fields as zero values instead of throwing", () => {
    expect(wire.container.decode(undefined)).toMatchObject({ id: "", state: "CONTAINER_UNKNOWN", createdAt: 0n, labels: {} });
    expect(wire.container.decode({ id: 5, state: 99, createdAt: "not a number", labels: { a: 1, b: "x" } })).toMatchObject({ id: "", state: "CONTAINER_UNKNOWN", createdAt: 0n, labels: { b: "x" } });
    expect(wire.podSandboxStatus.decode({ state: 1 }).state).toBe("SANDBOX_NOTREADY");
  });
});
