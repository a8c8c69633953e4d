// CRI Exec through kubelab-runtime's streaming server, against real processes (dist/container-runtime/main.js,
// build first). The oci backend runs as root with a host-network pod, so no pod network is made and the daemon
// stays in the host's network namespace: its streaming server listens on the host's loopback, where this test's
// WebSocket client reaches it and nothing else can. A busybox container runs `sleep`; each Exec returns a one-time
// URL, and the session speaks v5.channel.k8s.io: stdout and stderr on their channels, the exit code as a Status,
// stdin until the v5 close signal. The fake backend's Exec gives a URL too, over a simulated process. Everything
// made (daemons, containers, mounts, cgroups, files) is removed in afterAll and checked gone.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { CHANNEL_V5, decodeFrame, encodeCloseSignal, encodeFrame, STDIN } from "../../api/streaming/channel-protocol.js";
import { CriClient } from "../../client/cri/client.js";
import { codeOf, containerConfig, sandboxConfig } from "../../client/cri/testing.js";
import { imageSpec, type ExecRequest } from "../../client/cri/types.js";
import { containerRuntimeComponent } from "../../lab/components/container-runtime.js";
import { removeDir } from "../../lab/process/owner.js";
import type { ManagedProcess } from "../../lab/process/runner.js";
import { waitFor } from "../support/apiserver.js";
import { testProcesses } from "../support/processes.js";
import { deleteRuncContainers, leftovers, mountsUnder, processesMentioning, removeCgroups } from "../support/runtime-host.js";

const execFileAsync = promisify(execFile);
const RUNC = "/usr/sbin/runc";
const isRoot = process.getuid?.() === 0;
const haveTools = [RUNC, "/usr/bin/conmon", "/bin/busybox"].every((p) => existsSync(p));
const skipOci = !isRoot || !haveTools;
if (skipOci) console.warn("container-runtime-exec.int.test: oci part skipped: needs root, runc, conmon and busybox-static");

interface Session {
  stdout: string;
  stderr: string;
  status: unknown;
  closeCode: number;
}

/** One streaming session: sends `frames` once open, collects the output and the Status until the server closes. */
function streamSession(url: string, frames: Buffer[] = []): Promise<Session> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, "ws"), [CHANNEL_V5]);
    const got = { stdout: "", stderr: "", status: undefined as unknown };
    ws.on("open", () => {
      expect(ws.protocol).toBe(CHANNEL_V5);
      for (const f of frames) ws.send(f);
    });
    ws.on("message", (data: Buffer) => {
      const { channel, payload } = decodeFrame(data);
      const text = payload.toString("utf8");
      if (channel === 1) got.stdout += text;
      else if (channel === 2) got.stderr += text;
      else if (channel === 3) got.status = JSON.parse(text);
    });
    ws.on("close", (closeCode) => {
      resolve({ ...got, closeCode });
    });
    ws.on("error", reject);
  });
}

/** Pids whose whole command line (NUL-separated) is `cmdline`. */
function processesWithCmdline(cmdline: string): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        return readFileSync(`/proc/${name}/cmdline`, "utf8") === cmdline;
      } catch {
        return false;
      }
    })
    .map(Number);
}

const execRequest = (containerId: string, cmd: string[], stdin = false): ExecRequest => ({ containerId, cmd, tty: false, stdin, stdout: true, stderr: true });

const URL_PATTERN = /^http:\/\/127\.0\.0\.1:\d+\/exec\/[A-Za-z0-9_-]+$/;

describe.skipIf(skipOci)("CRI Exec on kubelab-runtime --backend oci", () => {
  const runId = Math.random().toString(16).slice(2, 8);
  const cgroupTop = `kubelab-exec-test-${runId}`;
  let dir = "";
  let runtimeRoot = "";
  let daemon: ManagedProcess | undefined;
  let client: CriClient | undefined;
  let containerId = "";

  beforeAll(async () => {
    dir = testProcesses.tempDir("kubelab-exec-", tmpdir());
    runtimeRoot = join(dir, "runtime");
    const socket = join(dir, "run", "runtime.sock");
    const component = containerRuntimeComponent({ name: `container-runtime exec-${runId}`, socketPath: socket, root: join(dir, "state"), backend: "oci", runtimeRoot, cniConfigDir: join(dir, "cni") });
    daemon = (await testProcesses.startReady(component, { timeoutMs: 60_000 })).process;
    client = new CriClient(socket, { timeoutMs: 30_000 });
    await client.pullImage({ image: imageSpec("busybox") });
    const linux = { cgroupParent: `/${cgroupTop}/pod`, sysctls: {}, privileged: false, supplementalGroups: [], readonlyRootfs: false, namespaceOptions: { network: "NODE" as const, pid: "CONTAINER" as const, ipc: "POD" as const, targetId: "" } };
    const pod = sandboxConfig(`exec-${runId}`, { logDirectory: join(dir, "pods"), linux });
    const podId = await client.runPodSandbox(pod);
    containerId = await client.createContainer({ podSandboxId: podId, config: containerConfig("sleeper", "busybox", { command: ["sleep", "3600"] }), sandboxConfig: pod });
  }, 90_000);

  afterAll(async () => {
    client?.close();
    await daemon?.stop("SIGKILL");
    await deleteRuncContainers(RUNC, join(runtimeRoot, "runc"));
    if (dir !== "") for (const pid of processesMentioning(dir)) process.kill(pid, "SIGKILL");
    if (dir !== "") for (const point of mountsUnder(dir)) await execFileAsync("umount", ["-R", "-l", point]).catch(() => undefined);
    removeCgroups(cgroupTop);
    if (dir !== "") removeDir(dir);

    expect(leftovers(dir, cgroupTop)).toEqual([]);
  }, 60_000);

  const cri = (): CriClient => {
    if (client === undefined) throw new Error("no client");
    return client;
  };

  it("refuses Exec before the container runs", async () => {
    expect(await codeOf(cri().exec(execRequest(containerId, ["true"])))).toBe("FAILED_PRECONDITION");
    expect(await codeOf(cri().exec(execRequest("no-such-container", ["true"])))).toBe("NOT_FOUND");
    await cri().startContainer(containerId);
  });

  it("streams stdout and stderr, then the exit code as a NonZeroExitCode Status", async () => {
    const url = await cri().exec(execRequest(containerId, ["sh", "-c", "echo out; echo err >&2; exit 3"]));
    expect(url).toMatch(URL_PATTERN);
    const got = await streamSession(url);
    expect(got).toMatchObject({ stdout: "out\n", stderr: "err\n", closeCode: 1000 });
    expect(got.status).toMatchObject({ status: "Failure", reason: "NonZeroExitCode", details: { causes: [{ reason: "ExitCode", message: "3" }] } });
    // The URL was good for one session.
    expect((await fetch(url)).status).toBe(404);
  }, 30_000);

  it("relays stdin to the command until the v5 close signal", async () => {
    const url = await cri().exec(execRequest(containerId, ["cat"], true));
    const got = await streamSession(url, [encodeFrame(STDIN, "hello "), encodeFrame(STDIN, "from stdin\n"), encodeCloseSignal(STDIN)]);
    expect(got).toMatchObject({ stdout: "hello from stdin\n", stderr: "", status: { status: "Success" } });
  }, 30_000);

  it("kills the command when the client goes away before it ends", async () => {
    const marker = `sleep\u0000${4000 + Math.floor(Math.random() * 1000)}`;
    const [program, seconds] = marker.split("\u0000");
    const url = await cri().exec(execRequest(containerId, [program ?? "sleep", seconds ?? "4321"]));
    const ws = new WebSocket(url.replace(/^http/, "ws"), [CHANNEL_V5]);
    const pids = await waitFor("the exec'd sleep to run", () => {
      const found = processesWithCmdline(`${marker}\u0000`);
      return found.length > 0 ? found : undefined;
    });
    ws.terminate();
    await waitFor("the exec'd sleep to be killed", () => pids.every((pid) => !existsSync(`/proc/${pid}`)) || undefined);
  }, 30_000);

  it("answers an unknown token with 404", async () => {
    const url = await cri().exec(execRequest(containerId, ["true"]));
    expect((await fetch(url.replace(/[^/]+$/, "not-a-token"))).status).toBe(404);
  });
});

describe("CRI Exec on kubelab-runtime --backend fake", () => {
  let dir = "";
  let client: CriClient | undefined;
  let daemon: ManagedProcess | undefined;

  beforeAll(async () => {
    dir = testProcesses.tempDir("kubelab-exec-fake-", tmpdir());
    const socket = join(dir, "runtime.sock");
    daemon = (await testProcesses.startReady(containerRuntimeComponent({ name: "container-runtime exec-fake", socketPath: socket, root: join(dir, "state"), backend: "fake", podCidr: "10.244.9.0/24" }), { timeoutMs: 30_000 })).process;
    client = new CriClient(socket, { timeoutMs: 10_000 });
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await daemon?.stop("SIGKILL");
    if (dir !== "") removeDir(dir);
    if (dir !== "") expect(existsSync(dir)).toBe(false);
  });

  it("returns a streaming URL whose session simulates the command", async () => {
    const c = client;
    if (c === undefined) throw new Error("no client");
    await c.pullImage({ image: imageSpec("nginx") });
    const pod = sandboxConfig("fake-exec");
    const podId = await c.runPodSandbox(pod);
    const id = await c.createContainer({ podSandboxId: podId, config: containerConfig("web", "nginx"), sandboxConfig: pod });
    await c.startContainer(id);
    const echo = await c.exec(execRequest(id, ["echo", "hello", "fake"]));
    expect(echo).toMatch(URL_PATTERN);
    expect(await streamSession(echo)).toMatchObject({ stdout: "hello fake\n", status: { status: "Success" } });
    const cat = await c.exec(execRequest(id, ["cat"], true));
    expect(await streamSession(cat, [encodeFrame(STDIN, "echoed\n"), encodeCloseSignal(STDIN)])).toMatchObject({ stdout: "echoed\n", status: { status: "Success" } });
  }, 30_000);
});
