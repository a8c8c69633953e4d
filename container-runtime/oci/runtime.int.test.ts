// The OCI layer against the real thing: runc, conmon and the CNI plugins from Debian, a busybox rootfs, real
// network namespaces and cgroups. Root only. The pod network lives in a "node" network namespace the test makes
// (10.244.250.0/24, no route or NAT anywhere else), so the host's own namespace is never touched. Everything made
// here (containers, namespaces, veths, cgroups, files) is removed in afterEach/afterAll, also when a test fails.
// The conmon test needs the built dist/ (run `npm run build` first).
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { probeCgroups } from "./cgroups.js";
import type { CgroupProbe } from "./cgroups.js";
import { writeNodeConfigList } from "./cni.js";
import { run } from "./exec.js";
import { OciRuntime, waitFor } from "./runtime.js";
import type { OciRuntimeOptions } from "./runtime.js";
import type { ContainerRequest, SandboxNetwork } from "./types.js";

const isRoot = process.getuid?.() === 0;
const haveTools = ["/usr/sbin/runc", "/usr/bin/conmon", "/usr/lib/cni/ptp", "/bin/busybox"].every((p) => existsSync(p));
if (!isRoot || !haveTools) console.warn("runtime.int.test: skipped: needs root and runc, conmon, containernetworking-plugins, busybox-static");

const APPLETS = ["sh", "echo", "sleep", "cat", "ip", "head", "tail", "true", "false", "env", "ls", "hostname", "dd", "yes"];
const POD_CIDR = "10.244.250.0/24";
const runId = `${process.pid}`;
const distRuntime = resolve("dist/container-runtime/oci/runtime.js");

describe.skipIf(!isRoot || !haveTools)("OciRuntime on this host", () => {
  let tmp: string;
  let rootfs: string;
  let options: OciRuntimeOptions;
  let runtime: OciRuntime;
  let cgroups: CgroupProbe;
  const nodeNetns = `kltest-node-${runId}`;
  const cgroupTop = `/kubelab-oci-test-${runId}`;
  const containers = new Set<string>();
  const sandboxes = new Set<string>();
  let seq = 0;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), "kubelab-oci-"));
    rootfs = join(tmp, "rootfs");
    for (const dir of ["bin", "proc", "sys", "dev", "etc", "tmp"]) mkdirSync(join(rootfs, dir), { recursive: true });
    copyFileSync("/bin/busybox", join(rootfs, "bin", "busybox"));
    for (const applet of APPLETS) symlinkSync("busybox", join(rootfs, "bin", applet));
    execFileSync("ip", ["netns", "add", nodeNetns]);
    execFileSync("ip", ["-n", nodeNetns, "link", "set", "lo", "up"]);
    await writeNodeConfigList(join(tmp, "cni"), { podCIDR: POD_CIDR, networkName: `kltest-${runId}`, ipamDataDir: join(tmp, "ipam") });
    options = {
      stateDir: join(tmp, "state"),
      cniConfigDir: join(tmp, "cni"),
      hostNetnsPath: `/run/netns/${nodeNetns}`,
      netnsPrefix: `kltest-${runId}-`,
    };
    runtime = new OciRuntime(options);
    cgroups = await probeCgroups();
  });

  afterEach(async () => {
    for (const id of containers) await runtime.removeContainer(id).catch((err: unknown) => { console.error("cleanup", id, err); });
    containers.clear();
    for (const id of sandboxes) await runtime.teardownPodNetwork(id).catch((err: unknown) => { console.error("cleanup", id, err); });
    sandboxes.clear();
  });

  afterAll(async () => {
    // Anything a failed afterEach left: containers under our runc root, then namespaces, cgroups and files.
    if (tmp === undefined) return;
    for (const id of await runtime.listContainerIds()) await run(["/usr/sbin/runc", "--root", join(tmp, "state", "runc"), "delete", "--force", id]);
    await run(["ip", "netns", "delete", nodeNetns]);
    const listed = await run(["ip", "netns", "list"]);
    for (const line of listed.stdout.toString().split("\n")) {
      const name = line.split(" ")[0] ?? "";
      if (name.startsWith(`kltest-${runId}-`)) await run(["ip", "netns", "delete", name]);
    }
    await runtime.removePodCgroup(`${cgroupTop}/pod`);
    rmSync(tmp, { recursive: true, force: true });
  });

  function request(args: string[], extra: Partial<ContainerRequest> = {}): ContainerRequest {
    const id = `kltest-${runId}-c${++seq}`;
    containers.add(id);
    return {
      id,
      sandboxId: `sb-${runId}`,
      rootfs,
      args,
      logPath: join(tmp, "logs", `${id}.log`),
      cgroupParent: `${cgroupTop}/pod`,
      ...extra,
    };
  }

  async function podNetwork(): Promise<SandboxNetwork> {
    const sandboxId = `sb-${runId}-${++seq}`;
    sandboxes.add(sandboxId);
    return runtime.setupPodNetwork({ sandboxId });
  }

  async function runToExit(req: ContainerRequest): Promise<Awaited<ReturnType<OciRuntime["containerState"]>>> {
    await runtime.createContainer(req);
    await runtime.startContainer(req.id);
    expect(await waitFor(async () => (await runtime.containerState(req.id)).status === "stopped", 30_000)).toBe(true);
    return runtime.containerState(req.id);
  }

  it("reports what the host allows", async () => {
    const caps = await runtime.hostCapabilities();
    expect(caps.runcVersion).toMatch(/runc version/);
    expect(caps.conmonVersion).toMatch(/conmon version/);
    expect(caps.cniPluginsFound).toEqual(["ptp", "host-local", "portmap", "loopback"]);
    expect(caps.cgroupVersion).toBe(cgroups.version);
    if (caps.degraded.length > 0) console.warn("host degrades:", caps.degraded);
  });

  it("records the exit code and writes the CRI log format", async () => {
    const req = request(["sh", "-c", "echo hello from stdout; echo oops >&2; exit 3"]);
    const state = await runToExit(req);
    expect(state.exitCode).toBe(3);
    expect(state.oomKilled).toBe(false);
    expect(state.finishedAt).toBeInstanceOf(Date);
    expect(state.startedAt).toBeInstanceOf(Date);
    expect(state.createdAt?.getTime()).toBeLessThanOrEqual(state.startedAt?.getTime() ?? 0);
    expect(state.startedAt?.getTime()).toBeLessThanOrEqual(state.finishedAt?.getTime() ?? 0);
    const lines = readFileSync(req.logPath, "utf8").trim().split("\n");
    expect(lines).toContainEqual(expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(Z|[+-]\d\d:\d\d) stdout F hello from stdout$/));
    expect(lines).toContainEqual(expect.stringMatching(/ stderr F oops$/));
  });

  it("gives the container its pod IP in the pod's network namespace, and teardown removes the host side", async () => {
    const network = await podNetwork();
    expect(network.ips).toHaveLength(1);
    expect(network.ips[0]).toMatch(/^10\.244\.250\.\d+$/);
    await runtime.checkPodNetwork(network.sandboxId);
    const afterRestart = new OciRuntime(options);
    expect(await afterRestart.listPodNetworkIds()).toContain(network.sandboxId);
    expect(await afterRestart.podNetwork(network.sandboxId)).toEqual(network);
    const hostLinks = async (): Promise<string> => (await run(["ip", "-n", nodeNetns, "-o", "link"])).stdout.toString();
    expect((await hostLinks()).split("\n").filter((l) => l.includes("veth"))).toHaveLength(1);

    const hostsFile = join(tmp, `hosts-${network.sandboxId}`);
    writeFileSync(hostsFile, `${network.ips[0] ?? "?"}\tmy-pod\n`);
    const req = request(["sh", "-c", "ip -o -4 addr show eth0; cat /etc/hosts; echo x > /etc/hosts || echo read-only"], {
      netnsPath: network.netnsPath,
      mounts: [{ hostPath: hostsFile, containerPath: "/etc/hosts", readOnly: true }],
    });
    const state = await runToExit(req);
    expect(state.exitCode).toBe(0);
    const log = readFileSync(req.logPath, "utf8");
    expect(log).toContain(`inet ${network.ips[0] ?? "?"}/24`);
    expect(log).toContain(`stdout F ${network.ips[0] ?? "?"}\tmy-pod`);
    expect(log).toContain("stdout F read-only");

    await runtime.removeContainer(req.id);
    containers.delete(req.id);
    await runtime.teardownPodNetwork(network.sandboxId);
    sandboxes.delete(network.sandboxId);
    expect(existsSync(network.netnsPath)).toBe(false);
    expect(await runtime.podNetwork(network.sandboxId)).toBeUndefined();
    expect((await hostLinks()).includes("veth")).toBe(false);
    await runtime.teardownPodNetwork(network.sandboxId); // idempotent
  });

  it("undoes a half-made pod network when a plugin fails", async () => {
    const badDir = join(tmp, "cni-bad");
    mkdirSync(badDir, { recursive: true });
    // ptp succeeds, then the chain's second plugin does not exist: ptp's veth and lease must be undone.
    writeFileSync(
      join(badDir, "10-bad.conflist"),
      JSON.stringify({
        cniVersion: "1.0.0",
        name: `kltest-bad-${runId}`,
        plugins: [
          { type: "ptp", ipam: { type: "host-local", dataDir: join(tmp, "ipam-bad"), ranges: [[{ subnet: "10.244.251.0/24" }]] } },
          { type: "kltest-no-such-plugin" },
        ],
      }),
    );
    const broken = new OciRuntime({ ...options, cniConfigDir: badDir });
    const sandboxId = `sb-${runId}-bad`;
    await expect(broken.setupPodNetwork({ sandboxId })).rejects.toThrow(/CNI kltest-no-such-plugin ADD/);
    expect(existsSync(`/run/netns/${broken.netnsName(sandboxId)}`)).toBe(false);
    expect((await run(["ip", "-n", nodeNetns, "-o", "link"])).stdout.toString()).not.toContain("veth");
    const leases = await run(["ls", join(tmp, "ipam-bad", `kltest-bad-${runId}`)]);
    expect(leases.stdout.toString()).not.toMatch(/10\.244\.251\./);
  });

  it("stops with SIGTERM when the process handles it (143) and with SIGKILL after the timeout (137)", async () => {
    const polite = request(["sh", "-c", 'trap "exit 143" TERM; echo trapping; sleep 1000 & wait']);
    await runtime.createContainer(polite);
    expect((await runtime.containerState(polite.id)).status).toBe("created");
    await runtime.startContainer(polite.id);
    const running = await runtime.containerState(polite.id);
    expect(running.status).toBe("running");
    expect(running.pid).toBeGreaterThan(0);
    // The trap must be in place before SIGTERM comes: the script says so in its log.
    expect(await waitFor(() => Promise.resolve(existsSync(polite.logPath) && readFileSync(polite.logPath, "utf8").includes("trapping")), 10_000)).toBe(true);
    expect((await runtime.stopContainer(polite.id, 30)).exitCode).toBe(143);

    // sleep as pid 1 of its namespace has no SIGTERM handler, so the kernel drops SIGTERM.
    const stubborn = request(["sleep", "1000"]);
    await runtime.createContainer(stubborn);
    await runtime.startContainer(stubborn.id);
    // Until runc's init has exec'd sleep, SIGTERM would hit runc's own code instead of an unhandled pid 1.
    const { pid } = await runtime.containerState(stubborn.id);
    expect(await waitFor(() => Promise.resolve(readFileSync(`/proc/${pid}/cmdline`, "utf8").startsWith("sleep")), 10_000)).toBe(true);
    const started = Date.now();
    const stopped = await runtime.stopContainer(stubborn.id, 1);
    expect(stopped.exitCode).toBe(137);
    expect(stopped.oomKilled).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(await runtime.stopContainer(stubborn.id, 1)).toMatchObject({ status: "stopped", exitCode: 137 });
  });

  it("runs exec sync with output, exit code and timeout", async () => {
    const req = request(["sleep", "1000"], { env: ["GREETING=hi"] });
    await runtime.createContainer(req);
    await runtime.startContainer(req.id);
    const result = await runtime.execSync(req.id, ["sh", "-c", 'echo "$GREETING out"; echo err >&2; exit 5'], 10_000);
    expect(result).toMatchObject({ exitCode: 5, timedOut: false });
    expect(result.stdout.toString()).toBe("hi out\n");
    expect(result.stderr.toString()).toBe("err\n");
    const slow = await runtime.execSync(req.id, ["sleep", "100"], 300);
    expect(slow.timedOut).toBe(true);
    expect(slow.exitCode).not.toBe(0);
    expect((await runtime.containerState(req.id)).status).toBe("running");

    const streaming = runtime.spawnExec(req.id, ["sh", "-c", "read line; echo got $line; exit 4"], { stdin: true });
    let out = "";
    streaming.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()));
    streaming.stdin?.end("abc\n");
    expect(await new Promise<number | null>((done) => streaming.on("close", done))).toBe(4);
    expect(out).toBe("got abc\n");

    const withTty = runtime.spawnExec(req.id, ["sh", "-c", "tty; echo \"it's $GREETING\"; exit 6"], { tty: true });
    let ttyOut = "";
    withTty.stdout?.on("data", (chunk: Buffer) => (ttyOut += chunk.toString()));
    expect(await new Promise<number | null>((done) => withTty.on("close", done))).toBe(6);
    expect(ttyOut).toMatch(/^\/dev\/pts\/\d+\r\nit's hi\r\n/);
    withTty.stdin?.destroy();

    // Removing a running container leaves nothing behind, not even a late exit file from conmon.
    await runtime.removeContainer(req.id);
    containers.delete(req.id);
    expect(await runtime.listContainerIds()).not.toContain(req.id);
    expect(existsSync(join(tmp, "state", "containers", req.id))).toBe(false);
    expect(existsSync(join(tmp, "state", "exits", req.id))).toBe(false);
  });

  it("reopens the log after rotation", async () => {
    const req = request(["sh", "-c", "while true; do echo tick; sleep 0.1; done"]);
    await runtime.createContainer(req);
    await runtime.startContainer(req.id);
    expect(await waitFor(() => Promise.resolve(existsSync(req.logPath) && readFileSync(req.logPath, "utf8").includes("tick")), 10_000)).toBe(true);
    renameSync(req.logPath, `${req.logPath}.1`);
    await runtime.reopenContainerLog(req.id);
    expect(await waitFor(() => Promise.resolve(existsSync(req.logPath) && / stdout F tick$/m.test(readFileSync(req.logPath, "utf8"))), 10_000)).toBe(true);
    await runtime.stopContainer(req.id, 0);
    await expect(runtime.reopenContainerLog(req.id)).rejects.toThrow(/conmon is not running/);
  });

  it("puts requests and limits into the container's cgroup and reads its stats", async (ctx) => {
    if (!cgroups.writable || cgroups.version === undefined) {
      console.warn("skipping cgroup limits:", cgroups.problems.join("; "));
      ctx.skip();
      return;
    }
    const req = request(["sh", "-c", "yes > /dev/null & sleep 1000"], {
      resources: { cpuRequestMilli: 250, cpuLimitMilli: 500, memoryLimitBytes: 64 * 1024 * 1024 },
    });
    await runtime.createContainer(req);
    await runtime.startContainer(req.id);
    const path = runtime.cgroupsPathOf(req).slice(1);
    if (cgroups.version === 1) {
      expect(readFileSync(`/sys/fs/cgroup/cpu/${path}/cpu.shares`, "utf8").trim()).toBe("256");
      expect(readFileSync(`/sys/fs/cgroup/cpu/${path}/cpu.cfs_quota_us`, "utf8").trim()).toBe("50000");
      expect(readFileSync(`/sys/fs/cgroup/memory/${path}/memory.limit_in_bytes`, "utf8").trim()).toBe(String(64 * 1024 * 1024));
    } else {
      expect(readFileSync(`/sys/fs/cgroup/${path}/cpu.max`, "utf8").trim()).toBe("50000 100000");
      expect(readFileSync(`/sys/fs/cgroup/${path}/memory.max`, "utf8").trim()).toBe(String(64 * 1024 * 1024));
    }
    expect(await waitFor(async () => (await runtime.containerStats(req.id)).cpuUsageNanos > 10_000_000, 10_000)).toBe(true);
    const stats = await runtime.containerStats(req.id);
    expect(stats.memoryWorkingSetBytes).toBeGreaterThan(0);
    expect(stats.memoryWorkingSetBytes).toBeLessThanOrEqual(64 * 1024 * 1024);
  });

  it("detects OOMKilled when the container exceeds its memory limit", async (ctx) => {
    if (!cgroups.writable || !cgroups.memoryController) {
      console.warn("skipping OOM test:", cgroups.problems.join("; "));
      ctx.skip();
      return;
    }
    // tail keeps the last line in memory, and /dev/zero has no newline: it grows until the OOM killer comes.
    const req = request(["sh", "-c", "head -c 200000000 /dev/zero | tail"], { resources: { memoryLimitBytes: 16 * 1024 * 1024 } });
    const state = await runToExit(req);
    expect(state.exitCode).toBe(137);
    expect(state.oomKilled).toBe(true);
  });

  it("runs containers without cgroups when they are unavailable, and says so", async () => {
    const degraded = new OciRuntime({ ...options, stateDir: join(tmp, "state-nocgroups"), cgroups: "disabled" });
    const caps = await degraded.hostCapabilities();
    expect(caps.cgroupsWritable).toBe(false);
    expect(caps.degraded.map((d) => d.reason)).toContain("CgroupsDisabled");
    const req = request(["sh", "-c", "echo unconfined; exit 7"], { resources: { memoryLimitBytes: 16 * 1024 * 1024 } });
    containers.delete(req.id);
    try {
      await degraded.createContainer(req);
      await degraded.startContainer(req.id);
      expect(await waitFor(async () => (await degraded.containerState(req.id)).status === "stopped", 30_000)).toBe(true);
      expect((await degraded.containerState(req.id)).exitCode).toBe(7);
      await expect(degraded.containerStats(req.id)).rejects.toThrow(/without a cgroup/);
      expect(existsSync(`/sys/fs/cgroup/memory${degraded.cgroupsPathOf(req)}`)).toBe(false);
    } finally {
      await degraded.removeContainer(req.id);
    }
  });

  it("keeps the container running after the process that started it exits (conmon holds it)", async () => {
    if (!existsSync(distRuntime)) throw new Error(`${distRuntime} missing: run npm run build first`);
    const req = request(["sleep", "1000"]);
    const script = `
      import { OciRuntime } from ${JSON.stringify(distRuntime)};
      const [options, req] = JSON.parse(process.argv[1]);
      const runtime = new OciRuntime(options);
      await runtime.createContainer(req);
      await runtime.startContainer(req.id);
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script, JSON.stringify([options, req])], { stdio: "inherit" });
    const code = await new Promise<number | null>((done) => child.on("exit", done));
    expect(code).toBe(0);
    const state = await runtime.containerState(req.id);
    expect(state.status).toBe("running");
    expect(() => process.kill(state.pid, 0)).not.toThrow();
    expect(await runtime.listContainerIds()).toContain(req.id);
    expect((await runtime.stopContainer(req.id, 0)).exitCode).toBe(137);
  });
});
