import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { CHANNEL_V5, encodeCloseSignal, encodeFrame, STDIN } from "../../api/streaming/channel-protocol.js";
import { GrpcStatus, isCriError } from "../../client/cri/errors.js";
import { containerConfig, sandboxConfig } from "../../client/cri/testing.js";
import { imageSpec } from "../../client/cri/types.js";
import { FakeImageBackend, normalizeReference } from "./fake-images.js";
import { PORT_FORWARD_V4 } from "../streaming/portforward-protocol.js";
import { StreamingServer } from "../streaming/server.js";
import { channelSession } from "../streaming/testing.js";
import { FakeRuntimeBackend, parseCidr, fakeUsage } from "./fake-runtime.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "fake-runtime-"));
  dirs.push(dir);
  return dir;
}

/** A runtime with a clock that advances 1 ms per reading, and images nginx and busybox present. */
async function newRuntime(stateDir?: string): Promise<{ runtime: FakeRuntimeBackend; images: FakeImageBackend }> {
  let now = 1_700_000_000_000_000_000n;
  const images = new FakeImageBackend(stateDir === undefined ? {} : { stateDir });
  await images.start();
  await images.pullImage({ image: imageSpec("nginx") });
  await images.pullImage({ image: imageSpec("busybox") });
  const runtime = new FakeRuntimeBackend({ images, podCidr: "10.244.1.0/24", nowNs: () => (now += 1_000_000n), ...(stateDir === undefined ? {} : { stateDir }) });
  await runtime.start();
  return { runtime, images };
}

async function expectCode(promise: Promise<unknown>, code: GrpcStatus): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isCriError(err) ? err.codeName : err).toBe(GrpcStatus[code]);
}

describe("FakeRuntimeBackend", () => {
  it("runs a sandbox and a container through their whole lifecycle", async () => {
    const { runtime } = await newRuntime();
    const podId = await runtime.runPodSandbox(sandboxConfig("web"), "");
    const pod = (await runtime.podSandboxStatus(podId)).status;
    expect(pod).toMatchObject({ id: podId, state: "SANDBOX_READY", network: { ip: "10.244.1.2" } });

    const id = await runtime.createContainer({ podSandboxId: podId, config: containerConfig("app", "nginx"), sandboxConfig: sandboxConfig("web") });
    const created = (await runtime.containerStatus(id)).status;
    expect(created).toMatchObject({ state: "CONTAINER_CREATED", startedAt: 0n, finishedAt: 0n, logPath: "/var/log/pods/default_web_uid-web/app/0.log" });
    expect(created.imageRef).toMatch(/^sha256:[0-9a-f]{64}$/);

    await runtime.startContainer(id);
    const running = (await runtime.containerStatus(id)).status;
    expect(running.state).toBe("CONTAINER_RUNNING");
    expect(running.startedAt).toBeGreaterThan(running.createdAt);
    await expectCode(runtime.startContainer(id), GrpcStatus.FAILED_PRECONDITION);

    await runtime.stopContainer(id, 30);
    const exited = (await runtime.containerStatus(id)).status;
    expect(exited).toMatchObject({ state: "CONTAINER_EXITED", exitCode: 143, reason: "Error" });
    expect(exited.finishedAt).toBeGreaterThan(exited.startedAt);
    await runtime.stopContainer(id, 30); // stopping again is fine

    await runtime.removeContainer(id);
    await expectCode(runtime.containerStatus(id), GrpcStatus.NOT_FOUND);
    await runtime.removeContainer(id); // and so is removing again

    await runtime.stopPodSandbox(podId);
    expect((await runtime.podSandboxStatus(podId)).status).toMatchObject({ state: "SANDBOX_NOTREADY" });
    expect((await runtime.podSandboxStatus(podId)).status.network).toBeUndefined();
    await runtime.removePodSandbox(podId);
    await expectCode(runtime.podSandboxStatus(podId), GrpcStatus.NOT_FOUND);
    await runtime.removePodSandbox(podId);
  });

  it("records a container's own exit with its code and reason, and kills running containers with their sandbox", async () => {
    const { runtime } = await newRuntime();
    const podId = await runtime.runPodSandbox(sandboxConfig("job"), "");
    const done = await runtime.createContainer({ podSandboxId: podId, config: containerConfig("done", "busybox"), sandboxConfig: sandboxConfig("job") });
    const oom = await runtime.createContainer({ podSandboxId: podId, config: containerConfig("oom", "busybox"), sandboxConfig: sandboxConfig("job") });
    const still = await runtime.createContainer({ podSandboxId: podId, config: containerConfig("still", "busybox"), sandboxConfig: sandboxConfig("job") });
    for (const id of [done, oom, still]) await runtime.startContainer(id);
    runtime.exitContainer(done, 0);
    runtime.exitContainer(oom, 137, "OOMKilled");
    await runtime.stopPodSandbox(podId);
    expect((await runtime.containerStatus(done)).status).toMatchObject({ exitCode: 0, reason: "Completed" });
    expect((await runtime.containerStatus(oom)).status).toMatchObject({ exitCode: 137, reason: "OOMKilled" });
    expect((await runtime.containerStatus(still)).status).toMatchObject({ state: "CONTAINER_EXITED", exitCode: 137 });
    // A stopped sandbox takes no new containers.
    await expectCode(runtime.createContainer({ podSandboxId: podId, config: containerConfig("late", "busybox"), sandboxConfig: sandboxConfig("job") }), GrpcStatus.FAILED_PRECONDITION);
    await runtime.removePodSandbox(podId);
    expect(await runtime.listContainers({})).toEqual([]);
  });

  it("filters lists by id prefix, state, sandbox and labels", async () => {
    const { runtime } = await newRuntime();
    const a = await runtime.runPodSandbox(sandboxConfig("a", { labels: { app: "web", tier: "front" } }), "");
    const b = await runtime.runPodSandbox(sandboxConfig("b", { labels: { app: "db" } }), "");
    await runtime.stopPodSandbox(b);
    const c1 = await runtime.createContainer({ podSandboxId: a, config: containerConfig("one", "nginx", { labels: { role: "main" } }), sandboxConfig: sandboxConfig("a") });
    const c2 = await runtime.createContainer({ podSandboxId: a, config: containerConfig("two", "nginx", { labels: { role: "side" } }), sandboxConfig: sandboxConfig("a") });
    await runtime.startContainer(c2);

    expect((await runtime.listPodSandbox({})).map((s) => s.id)).toEqual([a, b]);
    expect((await runtime.listPodSandbox({ state: "SANDBOX_READY" })).map((s) => s.id)).toEqual([a]);
    expect((await runtime.listPodSandbox({ labelSelector: { app: "web", tier: "front" } })).map((s) => s.id)).toEqual([a]);
    expect((await runtime.listPodSandbox({ labelSelector: { app: "web", tier: "back" } })).map((s) => s.id)).toEqual([]);
    expect((await runtime.listPodSandbox({ id: b.slice(0, 12) })).map((s) => s.id)).toEqual([b]);

    expect((await runtime.listContainers({ podSandboxId: a })).map((c) => c.id)).toEqual([c1, c2]);
    expect((await runtime.listContainers({ state: "CONTAINER_RUNNING" })).map((c) => c.id)).toEqual([c2]);
    expect((await runtime.listContainers({ state: "CONTAINER_CREATED" })).map((c) => c.id)).toEqual([c1]);
    expect((await runtime.listContainers({ labelSelector: { role: "main" } })).map((c) => c.id)).toEqual([c1]);
    expect((await runtime.listContainers({ podSandboxId: b })).map((c) => c.id)).toEqual([]);
    expect((await runtime.containerStatus(c1.slice(0, 8))).status.id).toBe(c1);
    expect((await runtime.listContainerStats({ podSandboxId: a })).map((s) => s.attributes.id)).toEqual([c2]);
  });

  it("refuses bad requests with the codes CRI runtimes use", async () => {
    const { runtime } = await newRuntime();
    await expectCode(runtime.runPodSandbox(sandboxConfig(""), ""), GrpcStatus.INVALID_ARGUMENT);
    const pod = await runtime.runPodSandbox(sandboxConfig("p"), "");
    await expectCode(runtime.runPodSandbox(sandboxConfig("p"), ""), GrpcStatus.ALREADY_EXISTS);
    await expectCode(runtime.runPodSandbox(sandboxConfig("q"), "kata"), GrpcStatus.NOT_FOUND);
    await expectCode(runtime.createContainer({ podSandboxId: "nope", config: containerConfig("x", "nginx"), sandboxConfig: sandboxConfig("p") }), GrpcStatus.NOT_FOUND);
    await expectCode(runtime.createContainer({ podSandboxId: pod, config: containerConfig("x", "no-such-image"), sandboxConfig: sandboxConfig("p") }), GrpcStatus.NOT_FOUND);
    await expectCode(runtime.createContainer({ podSandboxId: pod, config: containerConfig("", "nginx"), sandboxConfig: sandboxConfig("p") }), GrpcStatus.INVALID_ARGUMENT);
    const id = await runtime.createContainer({ podSandboxId: pod, config: containerConfig("x", "nginx"), sandboxConfig: sandboxConfig("p") });
    await expectCode(runtime.createContainer({ podSandboxId: pod, config: containerConfig("x", "nginx"), sandboxConfig: sandboxConfig("p") }), GrpcStatus.ALREADY_EXISTS);
    await expectCode(runtime.execSync(id, ["true"], 0), GrpcStatus.FAILED_PRECONDITION);
    await expectCode(runtime.containerStatus(""), GrpcStatus.INVALID_ARGUMENT);
    await runtime.startContainer(id);
    expect(await runtime.execSync(id, ["sh", "-c", "exit 3"], 0)).toMatchObject({ exitCode: 3 });
    expect((await runtime.execSync(id, ["echo", "hi", "there"], 0)).stdout.toString()).toBe("hi there\n");
    await expectCode(runtime.exec({ containerId: id, cmd: ["sh"], tty: true, stdin: true, stdout: true, stderr: false }), GrpcStatus.UNIMPLEMENTED);
  });

  it("hands Exec sessions to the streaming server once the container runs", async () => {
    const images = new FakeImageBackend({});
    await images.pullImage({ image: imageSpec("nginx") });
    const registered: string[][] = [];
    const streaming = {
      registerExec: (req: { cmd: string[] }): string => (registered.push(req.cmd), "http://127.0.0.1:1/exec/t"),
      registerAttach: (): string => "http://127.0.0.1:1/attach/t",
      registerPortForward: (): string => "http://127.0.0.1:1/portforward/t",
    };
    const runtime = new FakeRuntimeBackend({ images, streaming });
    const pod = await runtime.runPodSandbox(sandboxConfig("p"), "");
    const id = await runtime.createContainer({ podSandboxId: pod, config: containerConfig("x", "nginx"), sandboxConfig: sandboxConfig("p") });
    const request = { containerId: id, cmd: ["cat"], tty: false, stdin: true, stdout: true, stderr: false };
    await expectCode(runtime.exec(request), GrpcStatus.FAILED_PRECONDITION);
    await expectCode(runtime.exec({ ...request, containerId: "nope" }), GrpcStatus.NOT_FOUND);
    await runtime.startContainer(id);
    await expectCode(runtime.exec({ ...request, cmd: [] }), GrpcStatus.INVALID_ARGUMENT);
    expect(await runtime.exec(request)).toBe("http://127.0.0.1:1/exec/t");
    expect(registered).toEqual([["cat"]]);
  });

  it("serves a simulated attach and an echoing port-forward through a real streaming server", async () => {
    const images = new FakeImageBackend({});
    await images.pullImage({ image: imageSpec("busybox") });
    const streaming = new StreamingServer();
    await streaming.start();
    try {
      const runtime = new FakeRuntimeBackend({ images, streaming });
      const pod = await runtime.runPodSandbox(sandboxConfig("p"), "");
      const cat = await runtime.createContainer({ podSandboxId: pod, config: containerConfig("cat", "busybox", { command: ["cat"], stdin: true }), sandboxConfig: sandboxConfig("p") });
      const sleeper = await runtime.createContainer({ podSandboxId: pod, config: containerConfig("sleep", "busybox", { command: ["sleep", "1d"] }), sandboxConfig: sandboxConfig("p") });
      const attach = { containerId: cat, stdin: true, tty: false, stdout: true, stderr: true };
      await expectCode(runtime.attach(attach), GrpcStatus.FAILED_PRECONDITION);
      await runtime.startContainer(cat);
      await runtime.startContainer(sleeper);

      const echoed = await channelSession(await runtime.attach(attach), [encodeFrame(STDIN, "ping\n"), encodeCloseSignal(STDIN)]);
      expect(echoed.channels.get(1)).toBe("ping\n");
      expect(echoed.status).toMatchObject({ status: "Success" });

      // A container that is not `cat` says nothing; the session lasts until the client detaches.
      const ws = new WebSocket((await runtime.attach({ ...attach, containerId: sleeper })).replace(/^http/, "ws"), [CHANNEL_V5]);
      await new Promise((resolve) => ws.once("open", resolve));
      const received: Buffer[] = [];
      ws.on("message", (data: Buffer) => received.push(data));
      ws.send(encodeFrame(STDIN, "ignored"));
      ws.close();
      await new Promise((resolve) => ws.once("close", resolve));
      expect(received).toEqual([]);

      const forward = await runtime.portForward({ podSandboxId: pod, port: [] });
      const tunnel = new WebSocket(`${forward.replace(/^http/, "ws")}?port=8080`, [PORT_FORWARD_V4]);
      const frames: Buffer[] = [];
      tunnel.on("message", (data: Buffer) => {
        frames.push(data);
        if (frames.length === 2) tunnel.send(Buffer.concat([Buffer.of(0), Buffer.from("hello")]));
        if (frames.length === 3) tunnel.close();
      });
      await new Promise((resolve) => tunnel.once("close", resolve));
      expect(frames.map((f) => [...f.subarray(0, 1)])).toEqual([[0], [1], [0]]);
      expect(frames[0]?.readUInt16LE(1)).toBe(8080);
      expect(frames[2]?.subarray(1).toString()).toBe("hello");
      await runtime.stopPodSandbox(pod);
      await expectCode(runtime.portForward({ podSandboxId: pod, port: [80] }), GrpcStatus.FAILED_PRECONDITION);
    } finally {
      await streaming.close();
    }
  });

  it("gives host-network sandboxes no pod IP and reuses the addresses of stopped sandboxes", async () => {
    const { runtime } = await newRuntime();
    const host = await runtime.runPodSandbox(sandboxConfig("h", { linux: { cgroupParent: "", sysctls: {}, privileged: false, supplementalGroups: [], readonlyRootfs: false, namespaceOptions: { network: "NODE", pid: "POD", ipc: "POD", targetId: "" } } }), "");
    expect((await runtime.podSandboxStatus(host)).status.network?.ip).toBe("");
    const first = await runtime.runPodSandbox(sandboxConfig("one"), "");
    const second = await runtime.runPodSandbox(sandboxConfig("two"), "");
    expect((await runtime.podSandboxStatus(second)).status.network?.ip).toBe("10.244.1.3");
    await runtime.stopPodSandbox(first);
    const third = await runtime.runPodSandbox(sandboxConfig("three"), "");
    expect((await runtime.podSandboxStatus(third)).status.network?.ip).toBe("10.244.1.2");
  });

  it("finds its sandboxes, containers and images again after a restart", async () => {
    const stateDir = tempDir();
    const before = await newRuntime(stateDir);
    const podId = await before.runtime.runPodSandbox(sandboxConfig("web"), "");
    const id = await before.runtime.createContainer({ podSandboxId: podId, config: containerConfig("app", "nginx"), sandboxConfig: sandboxConfig("web") });
    await before.runtime.startContainer(id);
    const status = await before.runtime.containerStatus(id);

    const after = new FakeRuntimeBackend({ stateDir });
    await after.start();
    expect(await after.containerStatus(id)).toEqual(status);
    expect((await after.listPodSandbox({})).map((s) => s.id)).toEqual([podId]);
    const images = new FakeImageBackend({ stateDir });
    await images.start();
    expect(await images.imageStatus(imageSpec("nginx:latest"))).toBeDefined();
    expect(readdirSync(join(stateDir, "containers"))).toEqual([`${id}.json`]);
  });
});

describe("FakeImageBackend", () => {
  it("pulls what its registry holds and fails NOT_FOUND for anything else", async () => {
    const images = new FakeImageBackend({ registry: ["busybox"], pinned: ["registry.k8s.io/pause:3.10"] });
    await images.start();
    expect(await images.imageStatus(imageSpec("busybox"))).toBeUndefined();
    const id = await images.pullImage({ image: imageSpec("docker.io/library/busybox:latest") });
    expect((await images.imageStatus(imageSpec("busybox")))?.id).toBe(id);
    expect((await images.imageStatus(imageSpec(id)))?.repoTags).toEqual(["docker.io/library/busybox:latest"]);
    await expectCode(images.pullImage({ image: imageSpec("nginx:nope") }), GrpcStatus.NOT_FOUND);
    expect((await images.listImages(undefined)).length).toBe(2);
    await images.removeImage(imageSpec("busybox"));
    await images.removeImage(imageSpec("registry.k8s.io/pause:3.10")); // pinned: stays
    expect((await images.listImages(undefined)).map((i) => i.repoTags[0])).toEqual(["registry.k8s.io/pause:3.10"]);
  });

  it.each([
    ["nginx", "docker.io/library/nginx:latest"],
    ["nginx:alpine", "docker.io/library/nginx:alpine"],
    ["jocatalin/kubernetes-bootcamp:v1", "docker.io/jocatalin/kubernetes-bootcamp:v1"],
    ["registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"],
    ["localhost:5000/app", "localhost:5000/app:latest"],
    ["busybox@sha256:abc", "docker.io/library/busybox@sha256:abc"],
  ])("normalizes %s to %s", (reference, normalized) => {
    expect(normalizeReference(reference)).toBe(normalized);
  });
});

describe("parseCidr", () => {
  it("takes IPv4 CIDRs and refuses the rest", () => {
    expect(parseCidr("10.244.1.7/24")).toEqual({ base: (10 * 256 ** 3) + (244 * 256 ** 2) + 256, size: 256 });
    expect(() => parseCidr("10.244.1.0")).toThrow(/not an IPv4 CIDR/);
    expect(() => parseCidr("fd00::/64")).toThrow(/not an IPv4 CIDR/);
  });
});


describe("the fake runtime's usage", () => {
  it("is steady per container and differs between containers, within plausible bounds", () => {
    const a = fakeUsage("c1");
    expect(fakeUsage("c1")).toEqual(a);
    const all = ["c1", "c2", "c3", "c4", "c5"].map(fakeUsage);
    expect(new Set(all.map((u) => u.nanoCores)).size).toBeGreaterThan(1);
    for (const u of all) {
      expect(u.nanoCores).toBeGreaterThanOrEqual(1_000_000);
      expect(u.nanoCores).toBeLessThanOrEqual(20_000_000);
      expect(u.workingSetBytes).toBeGreaterThanOrEqual(4 << 20);
      expect(u.workingSetBytes).toBeLessThan(68 << 20);
    }
  });
});
