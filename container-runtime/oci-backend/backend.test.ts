// OciRuntimeBackend over stand-ins for the OCI layer and the image store: how CRI requests become container
// requests, how runc/conmon states become CRI states, and how the pod network's readiness follows the pod CIDR.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { codeOf, containerConfig, sandboxConfig } from "../../client/cri/testing.js";
import type { ImageRecord } from "../images/store.js";
import { buildRuntimeSpec, ContainerNotFoundError } from "../oci/index.js";
import type { ContainerRequest, ContainerResources, ContainerState, HostCapabilities, SandboxNetwork } from "../oci/index.js";
import type { AttachRequest, LinuxContainerResources, PortForwardRequest } from "../../client/cri/types.js";
import type { StreamRegistrar } from "../streaming/server.js";
import { OciRuntimeBackend, type ImageOperations, type OciOperations } from "./runtime.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const BOOTCAMP: ImageRecord = {
  id: `sha256:${"a".repeat(64)}`,
  manifestDigest: `sha256:${"b".repeat(64)}`,
  repoTags: ["docker.io/jocatalin/kubernetes-bootcamp:v1"],
  repoDigests: [],
  size: 1,
  config: {
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: [] },
    config: { Env: ["PATH=/bin", "NODE_VERSION=6.3.1"], Cmd: ["/usr/local/bin/bootcamp-server"], WorkingDir: "/app" },
  },
};

class StandInOci implements OciOperations {
  readonly created: ContainerRequest[] = [];
  readonly states = new Map<string, ContainerState>();
  readonly tornDown: string[] = [];
  constructor(private readonly dir: string) {}

  hostCapabilities(): Promise<HostCapabilities> {
    return Promise.resolve({ cgroupVersion: 1, cgroupsWritable: false, memoryController: true, cpuController: true, runcVersion: "runc version 1.1.5", conmonVersion: "conmon version 2.1.6", cniPluginsFound: ["ptp", "host-local", "portmap", "loopback"], degraded: [{ reason: "CgroupReadOnly", message: "read-only /sys/fs/cgroup" }] });
  }
  setupPodNetwork(request: { sandboxId: string }): Promise<SandboxNetwork> {
    const netnsPath = join(this.dir, `netns-${request.sandboxId}`);
    writeFileSync(netnsPath, "");
    return Promise.resolve({ sandboxId: request.sandboxId, netnsPath, ips: ["10.244.9.2"], cniResult: { cniVersion: "1.0.0", interfaces: [], ips: [], routes: [], dns: {} } });
  }
  teardownPodNetwork(sandboxId: string): Promise<void> {
    this.tornDown.push(sandboxId);
    return Promise.resolve();
  }
  createContainer(request: ContainerRequest): ReturnType<OciOperations["createContainer"]> {
    this.created.push(request);
    this.states.set(request.id, { id: request.id, status: "created", pid: 0, oomKilled: false });
    return Promise.resolve({ pid: 42, spec: buildRuntimeSpec(request, { swapAccounting: false }) });
  }
  startContainer(id: string): Promise<void> {
    this.states.set(id, { id, status: "running", pid: 42, startedAt: new Date(1_000), oomKilled: false });
    return Promise.resolve();
  }
  stopContainer(id: string): Promise<ContainerState> {
    const state: ContainerState = { id, status: "stopped", pid: 0, exitCode: 137, finishedAt: new Date(2_000), oomKilled: false };
    this.states.set(id, state);
    return Promise.resolve(state);
  }
  removeContainer(id: string): Promise<void> {
    this.states.delete(id);
    return Promise.resolve();
  }
  containerState(id: string): Promise<ContainerState> {
    const state = this.states.get(id);
    return state === undefined ? Promise.reject(new ContainerNotFoundError(id)) : Promise.resolve(state);
  }
  reopenContainerLog(): Promise<void> {
    return Promise.resolve();
  }
  execSync(): ReturnType<OciOperations["execSync"]> {
    return Promise.resolve({ stdout: Buffer.from("out"), stderr: Buffer.alloc(0), exitCode: 0, timedOut: false });
  }
  spawnExec(): ReturnType<OciOperations["spawnExec"]> {
    throw new Error("the stand-in runs no processes");
  }
  spawnAttach(): ReturnType<OciOperations["spawnAttach"]> {
    throw new Error("the stand-in runs no processes");
  }
  resizeTerminal(): Promise<void> {
    return Promise.resolve();
  }
  spawnPortForward(): ReturnType<OciOperations["spawnPortForward"]> {
    throw new Error("the stand-in runs no processes");
  }
  readonly updated: { id: string; resources: ContainerResources | undefined }[] = [];
  updateContainerResources(id: string, resources: ContainerResources | undefined): Promise<void> {
    this.updated.push({ id, resources });
    return Promise.resolve();
  }
  containerStats(): ReturnType<OciOperations["containerStats"]> {
    return Promise.reject(new Error("no cgroup"));
  }
  removePodCgroup(): Promise<void> {
    return Promise.resolve();
  }
}

function standInImages(): ImageOperations {
  return {
    lookup: (reference: string) => Promise.resolve(reference.includes("bootcamp") || reference === BOOTCAMP.id ? BOOTCAMP : undefined),
    store: {
      prepareRootfs: (id: string) => Promise.resolve(`/rootfs/${id}`),
      releaseRootfs: () => Promise.resolve(),
      preparedContainers: () => Promise.resolve([]),
      overlayUnavailableReason: () => Promise.resolve(undefined),
    },
  };
}

/** Records the sessions the backend registers; the URL names the kind. */
class StandInStreaming implements StreamRegistrar {
  readonly attaches: AttachRequest[] = [];
  readonly forwards: PortForwardRequest[] = [];
  registerExec(): string {
    return "http://streaming/exec/t";
  }
  registerAttach(request: AttachRequest): string {
    this.attaches.push(request);
    return "http://streaming/attach/t";
  }
  registerPortForward(request: PortForwardRequest): string {
    this.forwards.push(request);
    return "http://streaming/portforward/t";
  }
}

function setup(podCidr?: string, extra: { streaming?: StreamRegistrar; hostResolvConf?: string } = {}): { backend: OciRuntimeBackend; oci: StandInOci; dir: string; make: () => OciRuntimeBackend } {
  const dir = mkdtempSync(join(tmpdir(), "oci-backend-"));
  dirs.push(dir);
  const oci = new StandInOci(dir);
  const make = (): OciRuntimeBackend =>
    new OciRuntimeBackend({ stateDir: join(dir, "state"), oci, images: standInImages(), cniConfigDir: join(dir, "cni"), ipamDataDir: join(dir, "ipam"), defaultLogDir: join(dir, "logs"), ...(podCidr !== undefined ? { podCidr } : {}), ...extra });
  return { backend: make(), oci, dir, make };
}

describe("OciRuntimeBackend", () => {
  it("has no pod network until it knows the pod CIDR, then writes the node's CNI config", async () => {
    const { backend, dir } = setup();
    await backend.start();
    const before = await backend.status();
    expect(before.network).toMatchObject({ ready: false, reason: "NetworkPluginNotReady" });
    expect(before.network.message).toContain("pod CIDR");
    expect(before.degraded).toMatchObject({ CgroupReadOnly: "read-only /sys/fs/cgroup" });
    expect(await codeOf(backend.runPodSandbox(sandboxConfig("web"), ""))).toBe("FAILED_PRECONDITION");

    await backend.updatePodCidr("10.244.9.0/24");
    expect((await backend.status()).network).toEqual({ ready: true });
    const conflist = JSON.parse(readFileSync(join(dir, "cni", "10-kubelab.conflist"), "utf8")) as { plugins: { ipam?: { ranges?: unknown; dataDir?: string } }[] };
    expect(conflist.plugins[0]?.ipam).toMatchObject({ ranges: [[{ subnet: "10.244.9.0/24" }]], dataDir: join(dir, "ipam") });
    expect(await codeOf(backend.updatePodCidr("not-a-cidr"))).toBe("INVALID_ARGUMENT");
  });

  it("turns a CRI container config into the container request Kubernetes' rules give", async () => {
    const { backend, oci, dir } = setup("10.244.9.0/24");
    await backend.start();
    const pod = sandboxConfig("web", { logDirectory: join(dir, "pods", "web") });
    const podId = await backend.runPodSandbox(pod, "");
    expect((await backend.podSandboxStatus(podId)).status.network).toEqual({ ip: "10.244.9.2", additionalIps: [] });
    const config = containerConfig("app", "jocatalin/kubernetes-bootcamp:v1", {
      args: ["--port", "9090"],
      envs: [{ key: "NODE_VERSION", value: "8" }],
      mounts: [{ containerPath: "/data", hostPath: "/srv/data", readonly: true, selinuxRelabel: false, propagation: "PROPAGATION_PRIVATE", recursiveReadOnly: false }],
    });
    const id = await backend.createContainer({ podSandboxId: podId, config, sandboxConfig: pod });
    const request = oci.created[0];
    expect(request).toMatchObject({
      id,
      sandboxId: podId,
      rootfs: `/rootfs/${id}`,
      args: ["--port", "9090"],
      env: ["PATH=/bin", "NODE_VERSION=8", "HOSTNAME=web"],
      cwd: "/app",
      hostname: "web",
      netnsPath: join(dir, `netns-${podId}`),
      logPath: join(dir, "pods", "web", "app", "0.log"),
    });
    expect(request?.mounts?.map((m) => m.containerPath)).toEqual(["/etc/hostname", "/data"]);
    expect(request?.mounts?.[1]).toEqual({ hostPath: "/srv/data", containerPath: "/data", readOnly: true });
    expect(await codeOf(backend.createContainer({ podSandboxId: podId, config: containerConfig("other", "nginx:never-pulled"), sandboxConfig: pod }))).toBe("NOT_FOUND");
    expect(await codeOf(backend.createContainer({ podSandboxId: podId, config, sandboxConfig: pod }))).toBe("ALREADY_EXISTS");
  });

  it("reports the container's state from the OCI layer, and survives a restart of itself", async () => {
    const { backend, oci, make } = setup("10.244.9.0/24");
    await backend.start();
    const pod = sandboxConfig("web");
    const podId = await backend.runPodSandbox(pod, "");
    const id = await backend.createContainer({ podSandboxId: podId, config: containerConfig("app", "jocatalin/kubernetes-bootcamp:v1"), sandboxConfig: pod });
    expect((await backend.containerStatus(id)).status.state).toBe("CONTAINER_CREATED");
    await backend.startContainer(id);
    expect(await codeOf(backend.startContainer(id))).toBe("FAILED_PRECONDITION");

    const restarted = make();
    await restarted.start();
    expect((await restarted.containerStatus(id)).status).toMatchObject({ state: "CONTAINER_RUNNING", startedAt: 1_000_000_000n });
    expect((await restarted.listContainers({ state: "CONTAINER_RUNNING" })).map((c) => c.id)).toEqual([id]);

    oci.states.set(id, { id, status: "stopped", pid: 0, exitCode: 137, finishedAt: new Date(3_000), oomKilled: true });
    expect((await restarted.containerStatus(id)).status).toMatchObject({ state: "CONTAINER_EXITED", exitCode: 137, reason: "OOMKilled", finishedAt: 3_000_000_000n });
    oci.states.delete(id);
    expect((await restarted.containerStatus(id)).status.state).toBe("CONTAINER_UNKNOWN");
    expect((await restarted.containerStats(id)).cpu).toBeUndefined();

    await restarted.removePodSandbox(podId);
    expect(oci.tornDown).toEqual([podId]);
    expect(await restarted.listContainers({})).toEqual([]);
    expect(await restarted.listPodSandbox({})).toEqual([]);
  });

  it("refuses a second concurrent RunPodSandbox and CreateContainer for the same pod or container and attempt", async () => {
    const { backend } = setup("10.244.9.0/24");
    await backend.start();
    const pod = sandboxConfig("web");
    const codes = await Promise.all([codeOf(backend.runPodSandbox(pod, "")), codeOf(backend.runPodSandbox(pod, ""))]);
    expect(codes.sort()).toEqual(["ALREADY_EXISTS", "OK"]);
    const [podId = ""] = (await backend.listPodSandbox({})).map((s) => s.id);
    const request = { podSandboxId: podId, config: containerConfig("app", "jocatalin/kubernetes-bootcamp:v1"), sandboxConfig: pod };
    const created = await Promise.all([codeOf(backend.createContainer(request)), codeOf(backend.createContainer(request))]);
    expect(created.sort()).toEqual(["ALREADY_EXISTS", "OK"]);
  });

  it("marks a sandbox whose network namespace vanished (a reboot) not ready at start", async () => {
    const { backend, dir, make } = setup("10.244.9.0/24");
    await backend.start();
    const podId = await backend.runPodSandbox(sandboxConfig("web"), "");
    rmSync(join(dir, `netns-${podId}`));
    expect(existsSync(join(dir, `netns-${podId}`))).toBe(false);
    const restarted = make();
    await restarted.start();
    expect((await restarted.podSandboxStatus(podId)).status).toMatchObject({ state: "SANDBOX_NOTREADY" });
  });

  it("gives every container the pod's resolv.conf and hostname, and a host-network pod the host's resolv.conf", async () => {
    const hostResolv = join(tmpdir(), `rstream-resolv-${process.pid}`);
    writeFileSync(hostResolv, "nameserver 192.0.2.53\n");
    try {
      const { backend, oci } = setup("10.244.9.0/24", { hostResolvConf: hostResolv });
      await backend.start();
      const pod = sandboxConfig("web", { hostname: "web-0", dnsConfig: { servers: ["10.96.0.10"], searches: ["default.svc.cluster.local", "svc.cluster.local"], options: ["ndots:5"] } });
      const podId = await backend.runPodSandbox(pod, "");
      await backend.createContainer({ podSandboxId: podId, config: containerConfig("app", "jocatalin/kubernetes-bootcamp:v1"), sandboxConfig: pod });
      const mounts = oci.created[0]?.mounts ?? [];
      const file = (path: string): string => readFileSync(mounts.find((m) => m.containerPath === path)?.hostPath ?? "/nonexistent", "utf8");
      expect(file("/etc/resolv.conf")).toBe("search default.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n");
      expect(file("/etc/hostname")).toBe("web-0\n");

      const hostPod = sandboxConfig("node-agent", { linux: { cgroupParent: "", sysctls: {}, privileged: false, supplementalGroups: [], readonlyRootfs: false, namespaceOptions: { network: "NODE", pid: "POD", ipc: "POD", targetId: "" } } });
      const hostPodId = await backend.runPodSandbox(hostPod, "");
      // The kubelet's own /etc/resolv.conf mount wins over the runtime's.
      const own = { containerPath: "/etc/resolv.conf", hostPath: "/srv/own-resolv", readonly: true, selinuxRelabel: false, propagation: "PROPAGATION_PRIVATE" as const, recursiveReadOnly: false };
      await backend.createContainer({ podSandboxId: hostPodId, config: containerConfig("agent", "jocatalin/kubernetes-bootcamp:v1"), sandboxConfig: hostPod });
      await backend.createContainer({ podSandboxId: hostPodId, config: containerConfig("own", "jocatalin/kubernetes-bootcamp:v1", { mounts: [own] }), sandboxConfig: hostPod });
      const hostMounts = oci.created[1]?.mounts ?? [];
      expect(readFileSync(hostMounts.find((m) => m.containerPath === "/etc/resolv.conf")?.hostPath ?? "/nonexistent", "utf8")).toBe("nameserver 192.0.2.53\n");
      expect(oci.created[2]?.mounts?.filter((m) => m.containerPath === "/etc/resolv.conf")).toEqual([{ hostPath: "/srv/own-resolv", containerPath: "/etc/resolv.conf", readOnly: true }]);
    } finally {
      rmSync(hostResolv, { force: true });
    }
  });

  it("asks conmon for stdin and a terminal as the container config says, and hands attach and port-forward to the streaming server", async () => {
    const streaming = new StandInStreaming();
    const { backend, oci } = setup("10.244.9.0/24", { streaming });
    await backend.start();
    const pod = sandboxConfig("web");
    const podId = await backend.runPodSandbox(pod, "");
    const id = await backend.createContainer({ podSandboxId: podId, config: containerConfig("shell", "jocatalin/kubernetes-bootcamp:v1", { stdin: true, stdinOnce: true, tty: true }), sandboxConfig: pod });
    expect(oci.created[0]).toMatchObject({ stdin: true, stdinOnce: true, tty: true });
    const attach = { containerId: id, stdin: true, tty: true, stdout: true, stderr: false };
    expect(await codeOf(backend.attach(attach))).toBe("FAILED_PRECONDITION");
    await backend.startContainer(id);
    expect(await backend.attach({ ...attach, containerId: id.slice(0, 12) })).toBe("http://streaming/attach/t");
    expect(streaming.attaches).toEqual([attach]);
    expect(await codeOf(backend.attach({ ...attach, containerId: "nope" }))).toBe("NOT_FOUND");

    expect(await backend.portForward({ podSandboxId: podId, port: [8080] })).toBe("http://streaming/portforward/t");
    expect(streaming.forwards).toEqual([{ podSandboxId: podId, port: [8080] }]);
    await backend.stopPodSandbox(podId);
    expect(await codeOf(backend.portForward({ podSandboxId: podId, port: [8080] }))).toBe("FAILED_PRECONDITION");

    const { backend: without } = setup("10.244.9.0/24");
    await without.start();
    const otherPod = await without.runPodSandbox(pod, "");
    expect(await codeOf(without.portForward({ podSandboxId: otherPod, port: [80] }))).toBe("UNIMPLEMENTED");
  });

  it("updates a live container's limits through the OCI layer and keeps them in its record", async () => {
    const { backend, oci } = setup("10.244.9.0/24");
    await backend.start();
    const pod = sandboxConfig("web");
    const podId = await backend.runPodSandbox(pod, "");
    const id = await backend.createContainer({ podSandboxId: podId, config: containerConfig("app", "jocatalin/kubernetes-bootcamp:v1"), sandboxConfig: pod });
    await backend.startContainer(id);
    const resources: LinuxContainerResources = { cpuPeriod: 100_000, cpuQuota: 50_000, cpuShares: 512, memoryLimitInBytes: 64 << 20, oomScoreAdj: 0, cpusetCpus: "", cpusetMems: "", unified: {}, memorySwapLimitInBytes: 0 };
    await backend.updateContainerResources(id, resources);
    expect(oci.updated).toEqual([{ id, resources: { cpuRequestMilli: 500, cpuLimitMilli: 500, memoryLimitBytes: 64 << 20 } }]);
    await backend.stopContainer(id, 0);
    expect(await codeOf(backend.updateContainerResources(id, resources))).toBe("FAILED_PRECONDITION");
  });
});
