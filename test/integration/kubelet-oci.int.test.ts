// The kubelet as a real process (dist/kubelet/main.js, build first) over kubelab-runtime --backend oci (real runc,
// conmon and CNI; root only), against a real etcd and apiserver. The runtime runs in a "node" network namespace this
// test makes and gets its pod CIDR from the kubelet (UpdateRuntimeConfig, from the Node's spec.podCIDR); the
// kubelet puts its pods' cgroups under a test-only --cgroup-root. A busybox pod runs with an IP from the pod CIDR
// and logs through conmon; a container that exits 1 is restarted and goes CrashLoopBackOff; a container over its
// memory limit is OOMKilled; a restartPolicy Never pod fails with its exit code and termination message (or its
// log's tail). Everything (processes, containers, namespaces, mounts, cgroups, files) is removed in afterAll, also
// when a test failed. The test creates the Node first (with its podCIDR), so the kubelet adopts it.
import { execFile, execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESOURCES } from "../../api/resources.js";
import type { Node, Pod } from "../../api/types/index.js";
import { CriClient } from "../../client/cri/client.js";
import { RestClient } from "../../client/rest.js";
import { probeCgroups } from "../../container-runtime/oci/cgroups.js";
import type { Component } from "../../lab/components/component.js";
import { containerRuntimeComponent } from "../../lab/components/container-runtime.js";
import { removeDir } from "../../lab/process/owner.js";
import { freePort } from "../../lab/process/ports.js";
import type { ManagedProcess } from "../../lab/process/runner.js";
import { startTestCluster, waitFor, type TestCluster, clientConfigFor } from "../support/apiserver.js";
import { kubeletTestComponent } from "../support/kubelet.js";
import { testProcesses } from "../support/processes.js";
import { deleteRuncContainers, leftovers, mountsUnder, netnsNames, processesMentioning, removeCgroups } from "../support/runtime-host.js";

const execFileAsync = promisify(execFile);
const RUNC = "/usr/sbin/runc";
const isRoot = process.getuid?.() === 0;
const haveTools = [RUNC, "/usr/bin/conmon", "/usr/lib/cni/ptp", "/usr/lib/cni/host-local", "/bin/busybox", "/usr/bin/nsenter"].every((p) => existsSync(p));
const skip = !isRoot || !haveTools;
if (skip) console.warn("kubelet-oci.int.test: skipped: needs root and runc, conmon, containernetworking-plugins, busybox-static, nsenter");
const cgroups = await probeCgroups();
const cgroupLimits = cgroups.writable && cgroups.memoryController;
if (!skip && !cgroupLimits) console.warn(`kubelet-oci.int.test: OOM check skipped: ${cgroups.problems.join("; ")}`);

const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;
const NODES = RESOURCES.find((r) => r.group === "" && r.resource === "nodes")!;
const POD_CIDR = "10.244.252.0/24";

describe.skipIf(skip)("kubelet over kubelab-runtime --backend oci", () => {
  const runId = Math.random().toString(16).slice(2, 8);
  const nodeName = `kcore-oci-${runId}`;
  const nodeNetns = `kltest-kcore-${runId}`;
  const cgroupTop = `kubelab-kcore-test-${runId}`;
  let cluster: TestCluster | undefined;
  let dir = "";
  let runtimeRoot = "";
  let runtime: ManagedProcess | undefined;
  let kubelet: ManagedProcess | undefined;
  let client: RestClient;
  let cri: CriClient | undefined;
  const sandboxIds = new Set<string>();

  const getPod = (name: string): Promise<Pod> => client.get<Pod>(PODS, "default", name);
  const busyboxPod = (name: string, script: string, extra: Partial<NonNullable<Pod["spec"]>["containers"][number]> = {}): Pod => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: { nodeName, terminationGracePeriodSeconds: 2, containers: [{ name: "main", image: "busybox", imagePullPolicy: "IfNotPresent", command: ["sh", "-c", script], ...extra }] },
  });

  beforeAll(async () => {
    dir = testProcesses.tempDir("kubelab-kcore-oci-", tmpdir());
    runtimeRoot = join(dir, "runtime");
    cluster = await startTestCluster();
    client = new RestClient(clientConfigFor(cluster.api));
    execFileSync("ip", ["netns", "add", nodeNetns]);
    execFileSync("ip", ["-n", nodeNetns, "link", "set", "lo", "up"]);
    const socket = join(dir, "run", "runtime.sock");
    const component = containerRuntimeComponent({ name: `container-runtime kcore-oci-${runId}`, socketPath: socket, root: join(dir, "state"), backend: "oci", runtimeRoot, cniConfigDir: join(dir, "cni") });
    if (component.program.kind !== "node") throw new Error("the runtime component is expected to be a Node entry point");
    // Only the network namespace changes: the runtime's mounts stay in the host's mount namespace.
    const inNodeNetns: Component = { ...component, program: { kind: "binary", path: "nsenter" }, args: [`--net=/run/netns/${nodeNetns}`, process.execPath, component.program.entry, ...component.args] };
    runtime = (await testProcesses.startReady(inNodeNetns, { timeoutMs: 60_000 })).process;
    cri = new CriClient(socket, { timeoutMs: 30_000 });
    await client.create<Node>(NODES, undefined, { apiVersion: "v1", kind: "Node", metadata: { name: nodeName }, spec: { podCIDR: POD_CIDR, podCIDRs: [POD_CIDR] } });
    const kubeletComponent = kubeletTestComponent({
      name: `kubelet kcore-oci-${runId}`,
      kubeconfig: cluster.kubeconfig,
      nodeName,
      nodeIp: "127.0.0.1",
      runtimeSocket: socket,
      rootDir: join(dir, "kubelet"),
      port: await freePort(),
      healthzPort: await freePort(),
      extraArgs: [`--cgroup-root=/${cgroupTop}`],
    });
    kubelet = (await testProcesses.startReady(kubeletComponent, { timeoutMs: 30_000 })).process;
  }, 120_000);

  afterAll(async () => {
    for (const s of (await cri?.listPodSandbox().catch(() => [])) ?? []) sandboxIds.add(s.id);
    cri?.close();
    client?.close();
    await kubelet?.stop("SIGKILL");
    await runtime?.stop("SIGKILL");
    await cluster?.destroy();
    if (dir !== "") {
      await deleteRuncContainers(RUNC, join(runtimeRoot, "runc"));
      for (const pid of processesMentioning(dir)) process.kill(pid, "SIGKILL");
    }
    for (const id of sandboxIds) await execFileAsync("ip", ["netns", "delete", `kubelab-${id}`.slice(0, 64)]).catch(() => undefined);
    await execFileAsync("ip", ["netns", "delete", nodeNetns]).catch(() => undefined);
    if (dir !== "") for (const point of mountsUnder(dir)) await execFileAsync("umount", ["-R", "-l", point]).catch(() => undefined);
    removeCgroups(cgroupTop);
    if (dir !== "") removeDir(dir);
    expect(netnsNames().filter((name) => name === nodeNetns || [...sandboxIds].some((id) => name === `kubelab-${id}`.slice(0, 64)))).toEqual([]);
    if (dir !== "") expect(leftovers(dir, cgroupTop)).toEqual([]);
  }, 60_000);

  it("runs a busybox pod with an IP from the node's pod CIDR, logging through conmon", async () => {
    await client.create(PODS, "default", busyboxPod("hello", "echo hi; sleep 3600"));
    const running = await waitFor("hello Running", async () => {
      const p = await getPod("hello");
      return p.status?.phase === "Running" && p.status.containerStatuses?.[0]?.ready ? p : undefined;
    }, 60_000, 200);
    expect(running.status?.podIP).toMatch(/^10\.244\.252\.\d+$/);
    expect(running.status?.containerStatuses?.[0]?.containerID).toMatch(/^kubelab-runtime:\/\/[0-9a-f]+$/);
    const id = (running.status?.containerStatuses?.[0]?.containerID ?? "").replace(/^.*:\/\//, "");
    const status = await cri!.containerStatus(id);
    expect(status.status.logPath).toBe(join(dir, "kubelet", "logs", "pods", `default_hello_${running.metadata.uid ?? ""}`, "main", "0.log"));
    await waitFor("hi in the log", () => (readFileSync(status.status.logPath, "utf8").includes(" stdout F hi") ? true : undefined), 10_000);
  }, 90_000);

  it("restarts a container that exits 1, then backs off with CrashLoopBackOff", async () => {
    await client.create(PODS, "default", busyboxPod("crasher", "echo crash; exit 1"));
    const looping = await waitFor("crasher in CrashLoopBackOff", async () => {
      const p = await getPod("crasher");
      const c = p.status?.containerStatuses?.[0];
      return c?.state?.waiting?.reason === "CrashLoopBackOff" ? p : undefined;
    }, 60_000, 200);
    const c = looping.status!.containerStatuses![0]!;
    expect(c.restartCount).toBeGreaterThanOrEqual(1);
    expect(c.lastState?.terminated).toMatchObject({ exitCode: 1, reason: "Error" });
    expect(c.state?.waiting?.message).toMatch(/^back-off (10|20)s restarting failed container=main pod=crasher_default\(/);
    expect(looping.status?.phase).toBe("Running");
    expect(looping.status?.conditions?.find((x) => x.type === "Ready")).toMatchObject({ status: "False", reason: "ContainersNotReady", message: "containers with unready status: [main]" });
  }, 90_000);

  it.skipIf(!cgroupLimits)("reports OOMKilled in lastState for a container over its memory limit", async () => {
    await client.create(PODS, "default", busyboxPod("hog", "head -c 512m /dev/zero | tail", { resources: { limits: { memory: "32Mi" } } }));
    const oom = await waitFor("hog OOMKilled", async () => {
      const p = await getPod("hog");
      const c = p.status?.containerStatuses?.[0];
      return c?.lastState?.terminated?.reason === "OOMKilled" || c?.state?.terminated?.reason === "OOMKilled" ? c : undefined;
    }, 60_000, 200);
    expect(oom.lastState?.terminated ?? oom.state?.terminated).toMatchObject({ reason: "OOMKilled", exitCode: 137 });
  }, 90_000);

  it("fails a restartPolicy Never pod with the container's exit code and termination message", async () => {
    const pod = busyboxPod("quitter", "echo $(WORD) > /dev/termination-log; exit 3", { env: [{ name: "WORD", value: "bye" }] });
    pod.spec!.restartPolicy = "Never";
    await client.create(PODS, "default", pod);
    const failed = await waitFor("quitter Failed", async () => {
      const p = await getPod("quitter");
      return p.status?.phase === "Failed" ? p : undefined;
    }, 60_000, 200);
    expect(failed.status?.containerStatuses?.[0]).toMatchObject({ restartCount: 0, ready: false, state: { terminated: { exitCode: 3, reason: "Error", message: "bye\n" } } });
    expect(failed.status?.conditions?.find((c) => c.type === "Ready")).toMatchObject({ status: "False" });

    const fallback = busyboxPod("logger", "echo first; echo last words; exit 2", { terminationMessagePolicy: "FallbackToLogsOnError" });
    fallback.spec!.restartPolicy = "Never";
    await client.create(PODS, "default", fallback);
    const logged = await waitFor("logger Failed", async () => {
      const p = await getPod("logger");
      return p.status?.phase === "Failed" ? p : undefined;
    }, 60_000, 200);
    expect(logged.status?.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 2, message: "first\nlast words" });
  }, 90_000);

  it("stops a deleted pod and deletes it for good", async () => {
    await client.delete(PODS, "default", "hello");
    await waitFor("hello gone from the API", async () => (await getPod("hello").then(() => false, () => true)) || undefined, 30_000, 200);
  }, 60_000);
});
