// kubelab-runtime as a real process (dist/container-runtime/main.js, build first) with the fake backend, on a
// unix socket in a temporary directory, driven over real gRPC by the typed CRI client the kubelet will use: the
// whole sandbox and container lifecycle with List filters, the status codes of refused calls, image pulls that
// succeed and fail, and a SIGKILLed daemon that comes back with its sandboxes and containers.
import { existsSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CriClient } from "../../client/cri/client.js";
import { codeOf, containerConfig, sandboxConfig } from "../../client/cri/testing.js";
import { imageSpec } from "../../client/cri/types.js";
import { containerRuntimeComponent } from "../../lab/components/container-runtime.js";
import { removeDir } from "../../lab/process/owner.js";
import { freePort } from "../../lab/process/ports.js";
import type { ManagedProcess } from "../../lab/process/runner.js";
import { waitFor } from "../support/apiserver.js";
import { testProcesses } from "../support/processes.js";

describe("kubelab-runtime over the CRI", () => {
  let dir: string;
  let socket: string;
  let daemon: ManagedProcess;
  let client: CriClient;
  let metricsUrl: string;
  const clients: CriClient[] = [];

  const connect = (): CriClient => {
    const c = new CriClient(socket, { timeoutMs: 10_000 });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    dir = testProcesses.tempDir("kubelab-cri-", tmpdir());
    socket = join(dir, "run", "runtime.sock");
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    const component = containerRuntimeComponent({ name: "container-runtime cri-test", socketPath: socket, root: join(dir, "state"), backend: "fake", podCidr: "10.244.7.0/24", port });
    daemon = (await testProcesses.startReady(component)).process;
    client = connect();
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await daemon.stop("SIGKILL");
    removeDir(dir);
  });

  it("serves Version and Status on a root-only socket", async () => {
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    expect(await client.version()).toEqual({ version: "0.1.0", runtimeName: "kubelab-fake", runtimeVersion: "0.1.0", runtimeApiVersion: "v1" });
    const status = await client.status();
    expect(status.conditions.map((c) => [c.type, c.status])).toEqual([["RuntimeReady", true], ["NetworkReady", true]]);
    expect(await client.runtimeConfig()).toEqual({ cgroupDriver: "CGROUPFS" });
  });

  it("pulls known images, fails an unknown one with NOT_FOUND, and reports the image filesystem", async () => {
    expect(await client.imageStatus(imageSpec("busybox"))).toBeUndefined();
    const ref = await client.pullImage({ image: imageSpec("busybox") });
    expect(ref).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await client.imageStatus(imageSpec("docker.io/library/busybox:latest")))?.id).toBe(ref);
    expect(await codeOf(client.pullImage({ image: imageSpec("example.invalid/nothing:here") }))).toBe("NOT_FOUND");
    expect((await client.listImages()).flatMap((i) => i.repoTags)).toEqual(expect.arrayContaining(["docker.io/library/busybox:latest", "registry.k8s.io/pause:3.10"]));
    expect((await client.imageFsInfo()).imageFilesystems[0]?.usedBytes).toBeGreaterThan(0);
  });

  it("runs a sandbox and a container through their lifecycle", async () => {
    const pod = sandboxConfig("web", { labels: { app: "web" } });
    const podId = await client.runPodSandbox(pod);
    const podStatus = await client.podSandboxStatus(podId);
    expect(podStatus.status).toMatchObject({ id: podId, state: "SANDBOX_READY", metadata: pod.metadata, network: { ip: "10.244.7.2" } });

    const id = await client.createContainer({ podSandboxId: podId, config: containerConfig("app", "busybox", { labels: { role: "main" } }), sandboxConfig: pod });
    expect((await client.containerStatus(id)).status.state).toBe("CONTAINER_CREATED");
    await client.startContainer(id);

    expect((await client.listContainers({ podSandboxId: podId, state: "CONTAINER_RUNNING" })).map((c) => c.id)).toEqual([id]);
    expect((await client.listContainers({ labelSelector: { role: "main" } })).map((c) => c.id)).toEqual([id]);
    expect(await client.listContainers({ labelSelector: { role: "other" } })).toEqual([]);
    expect(await client.listContainers({ state: "CONTAINER_EXITED" })).toEqual([]);
    expect((await client.listPodSandbox({ labelSelector: { app: "web" } })).map((s) => s.id)).toEqual([podId]);

    const running = (await client.containerStatus(id)).status;
    expect(running).toMatchObject({ id, state: "CONTAINER_RUNNING", metadata: { name: "app", attempt: 0 }, exitCode: 0 });
    expect(running.startedAt).toBeGreaterThanOrEqual(running.createdAt);
    expect(running.startedAt).toBeGreaterThan(BigInt(Date.now() - 60_000) * 1_000_000n);
    expect((await client.execSync(id, ["echo", "hello"])).stdout.toString()).toBe("hello\n");
    expect((await client.containerStats(id)).memory?.workingSetBytes).toBeGreaterThan(0);

    await client.stopContainer(id, 2);
    const exited = (await client.containerStatus(id)).status;
    expect(exited).toMatchObject({ state: "CONTAINER_EXITED", exitCode: 143, reason: "Error" });
    expect(exited.finishedAt).toBeGreaterThanOrEqual(exited.startedAt);
    await client.removeContainer(id);
    expect(await client.listContainers({ podSandboxId: podId })).toEqual([]);

    await client.stopPodSandbox(podId);
    expect((await client.podSandboxStatus(podId)).status.state).toBe("SANDBOX_NOTREADY");
    await client.removePodSandbox(podId);
    expect(await client.listPodSandbox({ id: podId })).toEqual([]);
  });

  it("answers unknown ids with NOT_FOUND and malformed requests with INVALID_ARGUMENT", async () => {
    expect(await codeOf(client.containerStatus("0123456789abcdef"))).toBe("NOT_FOUND");
    expect(await codeOf(client.podSandboxStatus("0123456789abcdef"))).toBe("NOT_FOUND");
    expect(await codeOf(client.startContainer(""))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(client.runPodSandbox(sandboxConfig("")))).toBe("INVALID_ARGUMENT");
    const podId = await client.runPodSandbox(sandboxConfig("needs-image"));
    expect(await codeOf(client.createContainer({ podSandboxId: podId, config: containerConfig("c", "nginx:never-pulled"), sandboxConfig: sandboxConfig("needs-image") }))).toBe("NOT_FOUND");
    await client.removePodSandbox(podId);
    const metrics = await (await fetch(metricsUrl)).text();
    expect(metrics).toMatch(/kubelab_runtime_operations_total\{operation="ContainerStatus",code="NOT_FOUND"\} [1-9]/);
    expect(metrics).toMatch(/kubelab_runtime_operations_total\{operation="RunPodSandbox",code="OK"\} [1-9]/);
  });

  it("refuses to start a second daemon on a socket that is in use", async () => {
    const second = containerRuntimeComponent({ name: "container-runtime cri-test-2", socketPath: socket, root: join(dir, "state-2"), backend: "fake" });
    await expect(testProcesses.startReady(second)).rejects.toThrow(/another process is serving on/);
    expect((await client.version()).runtimeName).toBe("kubelab-fake");
  });

  it("recovers its sandboxes and containers after a SIGKILL", async () => {
    const pod = sandboxConfig("survivor");
    const podId = await client.runPodSandbox(pod);
    const id = await client.createContainer({ podSandboxId: podId, config: containerConfig("app", "busybox"), sandboxConfig: pod });
    await client.startContainer(id);
    const before = (await client.containerStatus(id)).status;
    const oldPid = daemon.pid;

    await daemon.stop("SIGKILL");
    expect(existsSync(socket)).toBe(true); // the stale socket a crash leaves behind
    daemon.start();
    const fresh = connect();
    await waitFor("the restarted runtime to answer", async () => (await fresh.version().catch(() => undefined)) !== undefined || undefined, 20_000);
    expect(daemon.pid).not.toBe(oldPid);

    expect((await fresh.containerStatus(id)).status).toEqual(before);
    expect((await fresh.listPodSandbox({ state: "SANDBOX_READY" })).map((s) => s.id)).toEqual([podId]);
    expect((await fresh.imageStatus(imageSpec("busybox")))?.repoTags).toEqual(["docker.io/library/busybox:latest"]);
    client = fresh;
  });

  it("removes its socket when stopped with SIGTERM", async () => {
    await daemon.stop("SIGTERM");
    expect(daemon.exitReason()).toBe("exited with code 0");
    expect(existsSync(socket)).toBe(false);
  });
});
