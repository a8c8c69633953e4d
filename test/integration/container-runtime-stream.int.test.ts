// CRI Attach, PortForward and UpdateContainerResources on kubelab-runtime --backend oci, against real processes
// (dist/container-runtime/main.js, build first), root only. As in container-runtime-oci.int.test.ts the daemon
// runs in a "node" network namespace this test makes, so pod links and routes never touch the host's; its
// streaming server then listens on that namespace's loopback, which this test reaches through a TCP relay entered
// with nsenter (the runtime's own port relay). Sessions are driven by WebSocket clients as kubectl/client-go
// speak the protocols: attach over v5.channel.k8s.io (stdin, stdout, resize, close signal), port-forward over
// v4.channel.k8s.io (a data and an error channel per port, each opened by the port number). Everything made
// (daemon, containers, namespaces, mounts, cgroups, files) is removed in afterAll and checked gone.
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { CHANNEL_V5, decodeFrame, encodeCloseSignal, encodeFrame, encodeResize, STDIN } from "../../api/streaming/channel-protocol.js";
import { CriClient } from "../../client/cri/client.js";
import { containerConfig, sandboxConfig } from "../../client/cri/testing.js";
import { imageSpec, type AttachRequest, type LinuxContainerConfig, type LinuxContainerResources, type LinuxPodSandboxConfig } from "../../client/cri/types.js";
import { probeCgroups } from "../../container-runtime/oci/cgroups.js";
import { spawnPortRelay } from "../../container-runtime/oci/relays.js";
import { PORT_FORWARD_V4 } from "../../container-runtime/streaming/portforward-protocol.js";
import type { Component } from "../../lab/components/component.js";
import { containerRuntimeComponent } from "../../lab/components/container-runtime.js";
import { removeDir } from "../../lab/process/owner.js";
import type { ManagedProcess } from "../../lab/process/runner.js";
import { waitFor } from "../support/apiserver.js";
import { testProcesses } from "../support/processes.js";
import { cgroupDirs, deleteRuncContainers, leftovers, mountsUnder, netnsNames, processesMentioning, removeCgroups } from "../support/runtime-host.js";

const execFileAsync = promisify(execFile);
const RUNC = "/usr/sbin/runc";
const isRoot = process.getuid?.() === 0;
const haveTools = [RUNC, "/usr/bin/conmon", "/usr/lib/cni/ptp", "/usr/lib/cni/host-local", "/bin/busybox", "/usr/bin/nsenter", "/usr/bin/perl"].every((p) => existsSync(p));
const skip = !isRoot || !haveTools;
if (skip) console.warn("container-runtime-stream.int.test: skipped: needs root and runc, conmon, containernetworking-plugins, busybox-static, nsenter, perl");
const cgroups = await probeCgroups();
const cgroupLimits = cgroups.writable && cgroups.memoryController && cgroups.cpuController;
if (!skip && !cgroupLimits) console.warn(`container-runtime-stream.int.test: UpdateContainerResources check skipped: ${cgroups.problems.join("; ")}`);

const POD_CIDR = "10.244.252.0/24";

/** An attach or exec session over v5: sends frames as told, collects output by channel and the Status. */
class ChannelSession {
  readonly ws: WebSocket;
  stdout = "";
  stderr = "";
  status: unknown;
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;

  constructor(url: string) {
    this.ws = new WebSocket(url, [CHANNEL_V5]);
    this.opened = new Promise((resolve, reject) => {
      this.ws.once("open", () => { resolve(); });
      this.ws.once("error", reject);
    });
    this.closed = new Promise((resolve) => this.ws.once("close", (code) => { resolve(code); }));
    this.ws.on("message", (data: Buffer) => {
      const { channel, payload } = decodeFrame(data);
      if (channel === 1) this.stdout += payload.toString("utf8");
      else if (channel === 2) this.stderr += payload.toString("utf8");
      else if (channel === 3) this.status = JSON.parse(payload.toString("utf8"));
    });
  }

  send(frame: Buffer): void {
    this.ws.send(frame);
  }
}

/** A port-forward session over v4 for `ports`: data and errors per port, until the server closes. */
function portForwardSession(url: string, requests: Map<number, string>): Promise<{ data: Map<number, string>; errors: Map<number, string>; prefixes: number[] }> {
  return new Promise((resolve, reject) => {
    const ports = [...requests.keys()];
    const ws = new WebSocket(`${url}?${ports.map((p) => `port=${p}`).join("&")}`, [PORT_FORWARD_V4]);
    const data = new Map<number, string>();
    const errors = new Map<number, string>();
    const prefixes: number[] = [];
    const seen = new Set<number>();
    ws.on("message", (frame: Buffer) => {
      const channel = frame[0] ?? -1;
      const port = ports[Math.floor(channel / 2)] ?? -1;
      if (!seen.has(channel)) {
        // Each channel opens with its port, little-endian; a port's data is sent once its data channel is open.
        seen.add(channel);
        prefixes.push(frame.readUInt16LE(1));
        if (channel % 2 === 0) ws.send(Buffer.concat([Buffer.of(channel), Buffer.from(requests.get(port) ?? "")]));
        return;
      }
      const into = channel % 2 === 0 ? data : errors;
      into.set(port, (into.get(port) ?? "") + frame.subarray(1).toString("latin1"));
    });
    ws.on("close", () => { resolve({ data, errors, prefixes }); });
    ws.on("error", reject);
  });
}

describe.skipIf(skip)("kubelab-runtime --backend oci: attach, port-forward, pod files, resource updates", () => {
  const runId = Math.random().toString(16).slice(2, 8);
  const nodeNetns = `kltest-rstream-${runId}`;
  const cgroupTop = `kubelab-rstream-test-${runId}`;
  let dir = "";
  let runtimeRoot = "";
  let daemon: ManagedProcess | undefined;
  let client: CriClient | undefined;
  let proxy: Server | undefined;
  let podId = "";
  let pod = sandboxConfig("unset");
  const relays = new Set<{ close(): void }>();

  const cri = (): CriClient => {
    if (client === undefined) throw new Error("no client");
    return client;
  };

  const podLinux = (): LinuxPodSandboxConfig => ({ cgroupParent: `/${cgroupTop}/pod`, sysctls: {}, privileged: false, supplementalGroups: [], readonlyRootfs: false });

  /**
   * The daemon's streaming URL as this test reaches it: the same path on a host-loopback port whose connections
   * are relayed into the node namespace (started on first use, for the port the daemon picked).
   */
  const reachable = async (url: string): Promise<string> => {
    const parsed = new URL(url);
    if (proxy === undefined) {
      const target = Number(parsed.port);
      const server = createServer((socket) => {
        const relay = spawnPortRelay(`/run/netns/${nodeNetns}`, target);
        const handle = { close: () => relay.kill("SIGKILL") };
        relays.add(handle);
        relay.once("close", () => {
          relays.delete(handle);
          socket.destroy();
        });
        socket.on("error", () => undefined);
        relay.stdin?.on("error", () => undefined);
        if (relay.stdin !== null) socket.pipe(relay.stdin);
        relay.stdout?.pipe(socket);
        socket.once("close", () => relay.kill("SIGKILL"));
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      proxy = server;
    }
    const address = proxy.address();
    if (address === null || typeof address === "string") throw new Error("the proxy has no port");
    return `ws://127.0.0.1:${address.port}${parsed.pathname}`;
  };

  const startContainer = async (name: string, command: string[], extra: Partial<Parameters<typeof containerConfig>[2]> = {}): Promise<string> => {
    const id = await cri().createContainer({ podSandboxId: podId, config: containerConfig(name, "busybox", { command, ...extra }), sandboxConfig: pod });
    await cri().startContainer(id);
    return id;
  };

  beforeAll(async () => {
    dir = testProcesses.tempDir("kubelab-rstream-", tmpdir());
    runtimeRoot = join(dir, "runtime");
    const socket = join(dir, "run", "runtime.sock");
    execFileSync("ip", ["netns", "add", nodeNetns]);
    execFileSync("ip", ["-n", nodeNetns, "link", "set", "lo", "up"]);
    const component = containerRuntimeComponent({ name: `container-runtime rstream-${runId}`, socketPath: socket, root: join(dir, "state"), backend: "oci", runtimeRoot, cniConfigDir: join(dir, "cni"), podCidr: POD_CIDR });
    if (component.program.kind !== "node") throw new Error("the runtime component is expected to be a Node entry point");
    const inNodeNetns: Component = { ...component, program: { kind: "binary", path: "nsenter" }, args: [`--net=/run/netns/${nodeNetns}`, process.execPath, component.program.entry, ...component.args] };
    daemon = (await testProcesses.startReady(inNodeNetns, { timeoutMs: 60_000 })).process;
    client = new CriClient(socket, { timeoutMs: 30_000 });
    await client.pullImage({ image: imageSpec("busybox") });
    pod = sandboxConfig(`rstream-${runId}`, {
      hostname: `web-${runId}`,
      logDirectory: join(dir, "pods"),
      dnsConfig: { servers: ["10.96.0.10", "10.96.0.11"], searches: ["ns1.svc.cluster.local", "svc.cluster.local"], options: ["ndots:5", "timeout:2"] },
      linux: podLinux(),
    });
    podId = await client.runPodSandbox(pod);
  }, 90_000);

  afterAll(async () => {
    for (const relay of relays) relay.close();
    proxy?.close();
    client?.close();
    await daemon?.stop("SIGKILL");
    await deleteRuncContainers(RUNC, join(runtimeRoot, "runc"));
    if (dir !== "") for (const pid of processesMentioning(dir)) process.kill(pid, "SIGKILL");
    if (podId !== "") await execFileAsync("ip", ["netns", "delete", `kubelab-${podId}`.slice(0, 64)]).catch(() => undefined);
    await execFileAsync("ip", ["netns", "delete", nodeNetns]).catch(() => undefined);
    if (dir !== "") for (const point of mountsUnder(dir)) await execFileAsync("umount", ["-R", "-l", point]).catch(() => undefined);
    removeCgroups(cgroupTop);
    if (dir !== "") removeDir(dir);

    expect(netnsNames().filter((name) => name === nodeNetns || (podId !== "" && name === `kubelab-${podId}`.slice(0, 64)))).toEqual([]);
    expect(leftovers(dir, cgroupTop)).toEqual([]);
  }, 60_000);

  it("gives the pod's containers its resolv.conf and hostname", async () => {
    const id = await startContainer("files", ["sleep", "3600"]);
    expect((await cri().execSync(id, ["cat", "/etc/resolv.conf"], 10)).stdout.toString()).toBe(
      "search ns1.svc.cluster.local svc.cluster.local\nnameserver 10.96.0.10\nnameserver 10.96.0.11\noptions ndots:5 timeout:2\n",
    );
    expect((await cri().execSync(id, ["cat", "/etc/hostname"], 10)).stdout.toString()).toBe(`web-${runId}\n`);
    expect((await cri().execSync(id, ["hostname"], 10)).stdout.toString()).toBe(`web-${runId}\n`);
  }, 30_000);

  it("attaches to a `cat` container: input comes back, detaching leaves it running, and a second attach works", async () => {
    const id = await startContainer("cat", ["cat"], { stdin: true });
    const request: AttachRequest = { containerId: id, stdin: true, tty: false, stdout: true, stderr: true };
    const url = await cri().attach(request);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/attach\/[A-Za-z0-9_-]+$/);
    const first = new ChannelSession(await reachable(url));
    await first.opened;
    first.send(encodeFrame(STDIN, "hello through conmon\n"));
    await waitFor("the echo of the first attach", () => first.stdout === "hello through conmon\n" || undefined, 10_000);
    first.ws.close();
    await first.closed;
    // Without stdin_once, conmon keeps the container's stdin open (--leave-stdin-open): cat lives on.
    expect((await cri().containerStatus(id)).status.state).toBe("CONTAINER_RUNNING");

    const second = new ChannelSession(await reachable(await cri().attach(request)));
    await second.opened;
    second.send(encodeFrame(STDIN, "again\n"));
    await waitFor("the echo of the second attach", () => second.stdout === "again\n" || undefined, 10_000);
    second.ws.close();
    await second.closed;
  }, 30_000);

  it("closes a stdin_once container's stdin at the end of the attach, which ends with Success when it exits", async () => {
    const id = await startContainer("once", ["sh", "-c", "cat; echo done >&2"], { stdin: true, stdinOnce: true });
    // conmon runs with --sync: it stays the daemon's child, so the daemon reaps it as soon as it exits.
    const conmonPid = Number(readFileSync(join(runtimeRoot, "containers", id, "conmon.pid"), "utf8").trim());
    const parentOf = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ")[1]);
    expect(parentOf(conmonPid)).toBe(daemon?.pid);
    const session = new ChannelSession(await reachable(await cri().attach({ containerId: id, stdin: true, tty: false, stdout: true, stderr: true })));
    await session.opened;
    session.send(encodeFrame(STDIN, "only once\n"));
    session.send(encodeCloseSignal(STDIN));
    expect(await session.closed).toBe(1000);
    expect(session.stdout).toBe("only once\n");
    expect(session.stderr).toBe("done\n");
    expect(session.status).toMatchObject({ status: "Success" });
    const exited = await waitFor("the once container to exit", async () => {
      const status = (await cri().containerStatus(id)).status;
      return status.state === "CONTAINER_EXITED" ? status : undefined;
    });
    expect(exited.exitCode).toBe(0);
    await waitFor("conmon to exit and be reaped (no zombie left)", () => !existsSync(`/proc/${conmonPid}`) || undefined, 10_000);
  }, 30_000);

  it("attaches to a tty container and resizes its terminal", async () => {
    const id = await startContainer("tty", ["sh"], { stdin: true, tty: true });
    const session = new ChannelSession(await reachable(await cri().attach({ containerId: id, stdin: true, tty: true, stdout: true, stderr: false })));
    await session.opened;
    const sizeIs = async (rows: number, columns: number): Promise<void> => {
      session.send(encodeResize({ width: columns, height: rows }));
      // The resize travels through conmon's control FIFO, the command through the attach socket: ask until it shows.
      await waitFor(`stty to report ${rows} ${columns}`, () => {
        if (new RegExp(`^${rows} ${columns}\\r?$`, "m").test(session.stdout)) return true;
        session.send(encodeFrame(STDIN, "stty size\n"));
        return undefined;
      }, 10_000);
    };
    await sizeIs(24, 80);
    await sizeIs(50, 132);
    session.send(encodeFrame(STDIN, "exit 0\n"));
    expect(await session.closed).toBe(1000);
    expect(session.status).toMatchObject({ status: "Success" });
  }, 30_000);

  it("forwards a port to a server listening on the pod's loopback, and reports a closed port on its error channel", async () => {
    await startContainer("httpd", ["sh", "-c", "mkdir -p /www && echo hello-from-the-pod > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www"]);
    const get = "GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n";
    const answer = await waitFor("the page through the tunnel", async () => {
      const session = await portForwardSession(await reachable(await cri().portForward({ podSandboxId: podId, port: [8080] })), new Map([[8080, get]]));
      return session.data.get(8080)?.includes("hello-from-the-pod") === true ? session : undefined;
    }, 20_000);
    expect(answer.prefixes).toEqual([8080, 8080]);
    expect(answer.data.get(8080)).toMatch(/^HTTP\/1\.[01] 200 OK\r\n/);
    expect(answer.errors.get(8080)).toBeUndefined();

    const refused = await portForwardSession(await reachable(await cri().portForward({ podSandboxId: podId, port: [] })), new Map([[8081, "hello?"]]));
    expect(refused.errors.get(8081)).toMatch(/error forwarding port 8081: dial tcp4 127\.0\.0\.1:8081: Connection refused/);
  }, 40_000);

  it("forwards a host-network pod's port from the node's loopback, and gives its containers the host's resolv.conf", async () => {
    const hostPod = sandboxConfig(`rstream-host-${runId}`, { logDirectory: join(dir, "pods-host"), linux: { ...podLinux(), namespaceOptions: { network: "NODE", pid: "CONTAINER", ipc: "POD", targetId: "" } } });
    const hostPodId = await cri().runPodSandbox(hostPod);
    try {
      const port = 20_000 + Math.floor(Math.random() * 20_000);
      const id = await cri().createContainer({
        podSandboxId: hostPodId,
        config: containerConfig("httpd", "busybox", { command: ["sh", "-c", `mkdir -p /www && echo hello-from-the-node > /www/index.html && exec httpd -f -p 127.0.0.1:${port} -h /www`] }),
        sandboxConfig: hostPod,
      });
      await cri().startContainer(id);
      expect((await cri().execSync(id, ["cat", "/etc/resolv.conf"], 10)).stdout.toString()).toBe(readFileSync("/etc/resolv.conf", "utf8"));
      const answer = await waitFor("the node's page through the tunnel", async () => {
        const session = await portForwardSession(await reachable(await cri().portForward({ podSandboxId: hostPodId, port: [port] })), new Map([[port, "GET / HTTP/1.0\r\n\r\n"]]));
        return session.data.get(port)?.includes("hello-from-the-node") === true ? session : undefined;
      }, 20_000);
      expect(answer.data.get(port)).toMatch(/^HTTP\/1\.[01] 200 OK\r\n/);
    } finally {
      await cri().removePodSandbox(hostPodId);
    }
  }, 40_000);

  it.skipIf(!cgroupLimits)("updates a running container's CPU and memory limits in its cgroup", async () => {
    const resources = (memory: number, quota: number): LinuxContainerResources => ({ cpuPeriod: 100_000, cpuQuota: quota, cpuShares: 256, memoryLimitInBytes: memory, oomScoreAdj: 0, cpusetCpus: "", cpusetMems: "", unified: {}, memorySwapLimitInBytes: 0 });
    const linux: LinuxContainerConfig = { resources: resources(64 << 20, 50_000), privileged: false, runAsUsername: "", readonlyRootfs: false, supplementalGroups: [], noNewPrivs: false, addCapabilities: [], dropCapabilities: [], maskedPaths: [], readonlyPaths: [] };
    const id = await startContainer("limited", ["sleep", "3600"], { linux });
    const read = (file: string): string => {
      const found = cgroupDirs(join(cgroupTop, "pod", id)).map((d) => join(d, file)).find((path) => existsSync(path));
      if (found === undefined) throw new Error(`no ${file} for container ${id}`);
      return readFileSync(found, "utf8").trim();
    };
    const v2 = existsSync("/sys/fs/cgroup/cgroup.controllers");
    const memory = (): string => read(v2 ? "memory.max" : "memory.limit_in_bytes");
    const quota = (): string => (v2 ? read("cpu.max").split(" ")[0] ?? "" : read("cpu.cfs_quota_us"));
    expect(memory()).toBe(String(64 << 20));
    expect(quota()).toBe("50000");
    await cri().updateContainerResources(id, resources(128 << 20, 150_000));
    expect(memory()).toBe(String(128 << 20));
    expect(quota()).toBe("150000");
    expect((await cri().containerStatus(id)).status.resources).toMatchObject({ memoryLimitInBytes: 128 << 20, cpuQuota: 150_000 });
    // Leaving a limit out lifts it.
    await cri().updateContainerResources(id, resources(0, 0));
    expect(quota()).toBe(v2 ? "max" : "-1");
    expect(Number(memory()) > 1 << 40 || memory() === "max").toBe(true);
  }, 30_000);
});
