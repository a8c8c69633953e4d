// kubelab-runtime with the oci backend as a real process (dist/container-runtime/main.js, build first), root only:
// the daemon runs inside a "node" network namespace this test makes, so the pod's veth and route live there and
// never in the host's; it is driven over its unix socket by the typed CRI client the kubelet uses. One bootcamp
// pod goes through its whole life: the offline image is pulled, the sandbox gets an IP from the node's podCIDR,
// the container answers HTTP from the node, logs in the CRI format, runs an exec, survives a SIGKILL of the
// daemon under conmon, then stops with an exit code and is removed with its sandbox. Everything the test and the
// daemon made (processes, containers, namespaces, mounts, cgroups, files) is removed in afterAll and checked gone.
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readFileSync, renameSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CriClient } from "../../client/cri/client.js";
import { codeOf, containerConfig, sandboxConfig } from "../../client/cri/testing.js";
import { imageSpec, type LinuxPodSandboxConfig } from "../../client/cri/types.js";
import { probeCgroups } from "../../container-runtime/oci/cgroups.js";
import type { Component } from "../../lab/components/component.js";
import { containerRuntimeComponent } from "../../lab/components/container-runtime.js";
import { removeDir } from "../../lab/process/owner.js";
import type { ManagedProcess } from "../../lab/process/runner.js";
import { waitFor } from "../support/apiserver.js";
import { testProcesses } from "../support/processes.js";
import { deleteRuncContainers, leftovers, mountsUnder, netnsNames, processesMentioning, removeCgroups } from "../support/runtime-host.js";

const execFileAsync = promisify(execFile);
const RUNC = "/usr/sbin/runc";
const isRoot = process.getuid?.() === 0;
const haveTools = [RUNC, "/usr/bin/conmon", "/usr/lib/cni/ptp", "/usr/lib/cni/host-local", "/bin/busybox", "/usr/bin/nsenter"].every((p) => existsSync(p));
const skip = !isRoot || !haveTools;
if (skip) console.warn("container-runtime-oci.int.test: skipped: needs root and runc, conmon, containernetworking-plugins, busybox-static, nsenter");

const POD_CIDR = "10.244.251.0/24";
const BOOTCAMP = "docker.io/jocatalin/kubernetes-bootcamp:v1";
const cgroups = await probeCgroups();
const cgroupLimits = cgroups.writable && cgroups.memoryController;
if (!skip && !cgroupLimits) console.warn(`container-runtime-oci.int.test: OOM check skipped: ${cgroups.problems.join("; ")}`);

describe.skipIf(skip)("kubelab-runtime --backend oci over the CRI", () => {
  const runId = Math.random().toString(16).slice(2, 8);
  const nodeNetns = `kltest-node-${runId}`;
  const cgroupTop = `kubelab-oci-backend-test-${runId}`;
  let dir = "";
  let socket = "";
  let runtimeRoot = "";
  let daemon: ManagedProcess | undefined;
  let client: CriClient;
  const clients: CriClient[] = [];
  const sandboxIds: string[] = [];

  const connect = (): CriClient => {
    const c = new CriClient(socket, { timeoutMs: 30_000 });
    clients.push(c);
    return c;
  };

  const podLinux = (overrides: Partial<LinuxPodSandboxConfig> = {}): LinuxPodSandboxConfig => ({
    cgroupParent: `/${cgroupTop}/pod`,
    sysctls: {},
    privileged: false,
    supplementalGroups: [],
    readonlyRootfs: false,
    ...overrides,
  });

  /** A command in the node's network namespace (where the pod network's host side is). */
  const inNode = async (...argv: string[]): Promise<string> =>
    (await execFileAsync("ip", ["netns", "exec", nodeNetns, ...argv], { encoding: "utf8", timeout: 10_000 })).stdout;

  beforeAll(async () => {
    dir = testProcesses.tempDir("kubelab-oci-cri-", tmpdir());
    socket = join(dir, "run", "runtime.sock");
    runtimeRoot = join(dir, "runtime");
    execFileSync("ip", ["netns", "add", nodeNetns]);
    execFileSync("ip", ["-n", nodeNetns, "link", "set", "lo", "up"]);
    const component = containerRuntimeComponent({
      name: `container-runtime oci-${runId}`,
      socketPath: socket,
      root: join(dir, "state"),
      backend: "oci",
      runtimeRoot,
      cniConfigDir: join(dir, "cni"),
      podCidr: POD_CIDR,
    });
    if (component.program.kind !== "node") throw new Error("the runtime component is expected to be a Node entry point");
    // nsenter switches only the network namespace: the daemon's pod namespaces and rootfs mounts stay in the
    // host's mount namespace, where its successor after a restart finds them (`ip netns exec` would give it a
    // private mount namespace of its own).
    const inNodeNetns: Component = {
      ...component,
      program: { kind: "binary", path: "nsenter" },
      args: [`--net=/run/netns/${nodeNetns}`, process.execPath, component.program.entry, ...component.args],
    };
    daemon = (await testProcesses.startReady(inNodeNetns, { timeoutMs: 60_000 })).process;
    client = connect();
  }, 90_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await daemon?.stop("SIGKILL");
    await deleteRuncContainers(RUNC, join(runtimeRoot, "runc"));
    if (dir !== "") for (const pid of processesMentioning(dir)) process.kill(pid, "SIGKILL");
    for (const id of sandboxIds) await execFileAsync("ip", ["netns", "delete", `kubelab-${id}`.slice(0, 64)]).catch(() => undefined);
    await execFileAsync("ip", ["netns", "delete", nodeNetns]).catch(() => undefined);
    if (dir !== "") for (const point of mountsUnder(dir)) await execFileAsync("umount", ["-R", "-l", point]).catch(() => undefined);
    removeCgroups(cgroupTop);
    if (dir !== "") removeDir(dir);

    // Nothing may be left behind.
    const names = netnsNames();
    expect(names.filter((name) => name === nodeNetns || sandboxIds.some((id) => name === `kubelab-${id}`.slice(0, 64)))).toEqual([]);
    expect(leftovers(dir, cgroupTop)).toEqual([]);
  }, 60_000);

  it("reports itself ready, with its runtime name and the node's network", async () => {
    expect(await client.version()).toMatchObject({ runtimeName: "kubelab-runtime", runtimeApiVersion: "v1" });
    const status = await client.status();
    expect(status.conditions.map((c) => [c.type, c.status])).toEqual([["RuntimeReady", true], ["NetworkReady", true]]);
    expect(existsSync(join(dir, "cni", "10-kubelab.conflist"))).toBe(true);
  });

  it("runs the bootcamp pod end to end and keeps it running across a SIGKILL of the daemon", async () => {
    const started = Date.now();
    const imageId = await client.pullImage({ image: imageSpec(BOOTCAMP) });
    expect(imageId).toMatch(/^sha256:[0-9a-f]{64}$/);

    const podName = `bootcamp-${runId}`;
    const pod = sandboxConfig(podName, {
      logDirectory: join(dir, "pods", podName),
      dnsConfig: { servers: ["10.96.0.10"], searches: ["default.svc.cluster.local", "svc.cluster.local", "cluster.local"], options: ["ndots:5"] },
      linux: podLinux(),
    });
    const podId = await client.runPodSandbox(pod);
    sandboxIds.push(podId);
    const podStatus = (await client.podSandboxStatus(podId)).status;
    expect(podStatus.state).toBe("SANDBOX_READY");
    const podIp = podStatus.network?.ip ?? "";
    expect(podIp).toMatch(/^10\.244\.251\.\d+$/);
    // The pod's route lives in the node namespace only.
    expect(await inNode("ip", "route", "get", podIp)).toContain(podIp);
    expect(execFileSync("ip", ["route", "show"], { encoding: "utf8" })).not.toContain(podIp);

    const id = await client.createContainer({ podSandboxId: podId, config: containerConfig("bootcamp", BOOTCAMP), sandboxConfig: pod });
    expect((await client.containerStatus(id)).status.state).toBe("CONTAINER_CREATED");
    await client.startContainer(id);
    const running = await client.containerStatus(id);
    expect(running.status).toMatchObject({ id, state: "CONTAINER_RUNNING", imageRef: imageId, logPath: join(dir, "pods", podName, "bootcamp", "0.log") });
    expect(running.status.startedAt).toBeGreaterThan(0n);
    const pid = running.info.pid;
    expect(pid).toMatch(/^\d+$/);

    const answer = await waitFor("the bootcamp app to answer", () => inNode("busybox", "wget", "-qO-", `http://${podIp}:8080`).catch(() => undefined), 20_000);
    expect(answer.trim()).toBe(`Hello Kubernetes bootcamp! | Running on: ${podName} | v=1`);

    const log = await waitFor("the start line in the CRI log", () => {
      const text = readFileSync(running.status.logPath, "utf8");
      return text.includes("Kubernetes Bootcamp App Started At") ? text : undefined;
    });
    expect(log).toMatch(/^\S+ stdout F Kubernetes Bootcamp App Started At: .* \| Running On: +bootcamp-/m);

    const exec = await client.execSync(id, ["cat", "/server.js"], 10);
    expect(exec.exitCode).toBe(0);
    expect(exec.stdout.toString()).toContain("Hello Kubernetes bootcamp!");
    expect((await client.execSync(id, ["sh", "-c", "exit 3"], 10)).exitCode).toBe(3);
    expect((await client.execSync(id, ["cat", "/etc/resolv.conf"], 10)).stdout.toString()).toBe(
      "search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n",
    );
    expect((await client.execSync(id, ["hostname"], 10)).stdout.toString()).toBe(`${podName}\n`);
    expect((await client.listContainers({ state: "CONTAINER_RUNNING" })).map((c) => c.id)).toEqual([id]);
    if (cgroupLimits) expect((await client.containerStats(id)).memory?.workingSetBytes).toBeGreaterThan(0);
    // Rotation: the kubelet renames the log, then has the runtime reopen it; conmon starts a new file.
    renameSync(running.status.logPath, `${running.status.logPath}.1`);
    await client.reopenContainerLog(id);
    await waitFor("conmon to reopen the log", () => existsSync(running.status.logPath) || undefined);

    // The daemon dies; conmon keeps the container, and the next daemon finds it from its records and runc.
    const live = daemon;
    if (live === undefined) throw new Error("no daemon");
    await live.stop("SIGKILL");
    live.start();
    const fresh = connect();
    await waitFor("the restarted runtime to answer", async () => (await fresh.version().catch(() => undefined)) !== undefined || undefined, 30_000);
    client = fresh;
    const after = await client.containerStatus(id);
    expect(after.status).toMatchObject({ id, state: "CONTAINER_RUNNING", startedAt: running.status.startedAt });
    expect(after.info.pid).toBe(pid);
    expect((await inNode("busybox", "wget", "-qO-", `http://${podIp}:8080`)).trim()).toBe(`Hello Kubernetes bootcamp! | Running on: ${podName} | v=1`);

    // The bootcamp server ends on SIGTERM with exit code 0, as the real one's runtime does.
    await client.stopContainer(id, 10);
    const exited = (await client.containerStatus(id)).status;
    expect(exited).toMatchObject({ state: "CONTAINER_EXITED", exitCode: 0, reason: "Completed" });
    expect(exited.finishedAt).toBeGreaterThanOrEqual(exited.startedAt);

    await client.removeContainer(id);
    expect(await client.listContainers({ podSandboxId: podId })).toEqual([]);
    await client.stopPodSandbox(podId);
    expect((await client.podSandboxStatus(podId)).status.state).toBe("SANDBOX_NOTREADY");
    expect(existsSync(`/run/netns/kubelab-${podId}`.slice(0, "/run/netns/".length + 64))).toBe(false);
    await client.removePodSandbox(podId);
    expect(await client.listPodSandbox({ id: podId })).toEqual([]);
    expect(mountsUnder(dir)).toEqual([]);
    console.log(`bootcamp pod lifecycle took ${Date.now() - started} ms`);
  }, 120_000);

  it("runs a host-network pod's container in the node's network namespace", async () => {
    await client.pullImage({ image: imageSpec("busybox") });
    const pod = sandboxConfig(`hostnet-${runId}`, { logDirectory: join(dir, "pods", "hostnet"), linux: podLinux({ namespaceOptions: { network: "NODE", pid: "CONTAINER", ipc: "POD", targetId: "" } }) });
    const podId = await client.runPodSandbox(pod);
    sandboxIds.push(podId);
    expect((await client.podSandboxStatus(podId)).status.network).toEqual({ ip: "", additionalIps: [] });
    const id = await client.createContainer({ podSandboxId: podId, config: containerConfig("sleeper", "busybox", { command: ["sleep", "3600"] }), sandboxConfig: pod });
    await client.startContainer(id);
    const pid = (await client.containerStatus(id)).info.pid ?? "";
    expect(statSync(`/proc/${pid}/ns/net`).ino).toBe(statSync(`/run/netns/${nodeNetns}`).ino);

    // A container that ends by itself is EXITED with its own code, read from conmon's exit file.
    const quitter = await client.createContainer({ podSandboxId: podId, config: containerConfig("quitter", "busybox", { command: ["sh", "-c", "exit 7"] }), sandboxConfig: pod });
    await client.startContainer(quitter);
    const quit = await waitFor("the quitter to exit", async () => {
      const status = (await client.containerStatus(quitter)).status;
      return status.state === "CONTAINER_EXITED" ? status : undefined;
    });
    expect(quit).toMatchObject({ exitCode: 7, reason: "Error" });
    expect((await client.listContainers({ podSandboxId: podId, state: "CONTAINER_RUNNING" })).map((c) => c.id)).toEqual([id]);
    await client.removePodSandbox(podId);
    expect(await client.listContainers({ podSandboxId: podId })).toEqual([]);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
  }, 60_000);

  it.skipIf(!cgroupLimits)("reports OOMKilled for a container over its memory limit", async () => {
    await client.pullImage({ image: imageSpec("busybox") });
    const pod = sandboxConfig(`oom-${runId}`, { logDirectory: join(dir, "pods", "oom"), linux: podLinux() });
    const podId = await client.runPodSandbox(pod);
    sandboxIds.push(podId);
    const resources = { cpuPeriod: 0, cpuQuota: 0, cpuShares: 0, memoryLimitInBytes: 32 << 20, oomScoreAdj: 0, cpusetCpus: "", cpusetMems: "", unified: {}, memorySwapLimitInBytes: 32 << 20 };
    const linux = { resources, privileged: false, runAsUsername: "", readonlyRootfs: false, supplementalGroups: [], noNewPrivs: false, addCapabilities: [], dropCapabilities: [], maskedPaths: [], readonlyPaths: [] };
    const id = await client.createContainer({ podSandboxId: podId, config: containerConfig("hog", "busybox", { command: ["sh", "-c", "head -c 512m /dev/zero | tail"], linux }), sandboxConfig: pod });
    await client.startContainer(id);
    const exited = await waitFor("the hog to be killed", async () => {
      const status = (await client.containerStatus(id)).status;
      return status.state === "CONTAINER_EXITED" ? status : undefined;
    }, 30_000);
    expect(exited).toMatchObject({ exitCode: 137, reason: "OOMKilled" });
    await client.removePodSandbox(podId);
  }, 60_000);

  it("fails the pull of an image that exists nowhere with NOT_FOUND, like the fake backend", async () => {
    expect(await codeOf(client.pullImage({ image: imageSpec("example.invalid/nothing:here") }))).toBe("NOT_FOUND");
    expect(await client.imageStatus(imageSpec("example.invalid/nothing:here"))).toBeUndefined();
  }, 60_000);
});
