// The kubelet (dist/kubelet/main.js, build first) over a real, foreign CRI runtime: Debian's containerd and its CRI
// plugin, against a real etcd and apiserver. containerd runs as root in a "node" network namespace this test makes,
// on a root, state, socket and runc root in a temporary directory, with a CNI configuration (Debian's ptp and
// host-local plugins, a test-only pod CIDR, IPAM state in the temp dir). It has no registry access: the offline
// pause and busybox images (container-runtime/images/offline.ts) are written as OCI archives and imported with
// `ctr images import`, and the CRI plugin's sandbox_image names the imported pause. The kubelet registers its Node
// (--pod-cidr) and runs a busybox pod that goes Running with an IP from the pod CIDR and logs through containerd
// into the kubelet's log directory; deleting the pod removes its sandbox and container from containerd. afterAll
// removes sandboxes through the CRI, then kills and deletes whatever is left (runc containers, shims), the network
// namespaces containerd made (/var/run/netns/cni-*), mounts, cgroups and files, also when a test failed.
import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESOURCES } from "../../api/resources.js";
import type { Node, Pod } from "../../api/types/index.js";
import { CriClient } from "../../client/cri/client.js";
import { imageSpec } from "../../client/cri/types.js";
import { RestClient } from "../../client/rest.js";
import { buildOfflineImages, ociArchive } from "../../container-runtime/images/offline.js";
import { removeDir } from "../../lab/process/owner.js";
import { freePort } from "../../lab/process/ports.js";
import type { ManagedProcess } from "../../lab/process/runner.js";
import { startTestCluster, waitFor, type TestCluster, clientConfigFor } from "../support/apiserver.js";
import { containerdConfig } from "../support/containerd.js";
import { kubeletTestComponent } from "../support/kubelet.js";
import { testProcesses } from "../support/processes.js";
import { deleteRuncContainers, leftovers, mountsUnder, netnsNames, processesMentioning, removeCgroups } from "../support/runtime-host.js";

const execFileAsync = promisify(execFile);
const RUNC = "/usr/sbin/runc";
const REQUIRED = ["/usr/bin/containerd", "/usr/bin/ctr", "/usr/bin/containerd-shim-runc-v2", RUNC, "/usr/lib/cni/ptp", "/usr/lib/cni/host-local", "/usr/lib/cni/loopback", "/bin/busybox", "/usr/bin/nsenter"];
const missing = REQUIRED.filter((p) => !existsSync(p));
const SKIP_REASON = process.getuid?.() !== 0 ? "containerd needs root" : missing.length > 0 ? `missing ${missing.join(", ")} (scripts/setup.sh installs them)` : undefined;
if (SKIP_REASON !== undefined) console.warn(`kubelet-containerd.int.test: skipped: ${SKIP_REASON}`);

const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;
const NODES = RESOURCES.find((r) => r.group === "" && r.resource === "nodes")!;
const POD_CIDR = "10.244.250.0/24";
const PAUSE_IMAGE = "registry.k8s.io/pause:3.10";
const NETNS_DIR = "/var/run/netns";


function cniConfig(dir: string, network: string): string {
  return JSON.stringify({
    cniVersion: "0.4.0",
    name: network,
    plugins: [{ type: "ptp", ipMasq: false, ipam: { type: "host-local", ranges: [[{ subnet: POD_CIDR }]], routes: [{ dst: "0.0.0.0/0" }], dataDir: join(dir, "ipam") } }],
  });
}

function cniNetnsNames(): string[] {
  return existsSync(NETNS_DIR) ? readdirSync(NETNS_DIR).filter((name) => name.startsWith("cni-")) : [];
}

describe.skipIf(SKIP_REASON !== undefined)("kubelet over Debian's containerd (CRI plugin)", () => {
  const runId = Math.random().toString(16).slice(2, 8);
  const nodeName = `ctrd-${runId}`;
  const nodeNetns = `kltest-ctrd-${runId}`;
  const cgroupTop = `kubelab-ctrd-test-${runId}`;
  const network = `kubelab-ctrd-${runId}`;
  const netnsBefore = new Set(cniNetnsNames());
  let cluster: TestCluster | undefined;
  let dir = "";
  let containerd: ManagedProcess | undefined;
  let kubelet: ManagedProcess | undefined;
  let client: RestClient;
  let cri: CriClient | undefined;

  const getPod = (name: string): Promise<Pod> => client.get<Pod>(PODS, "default", name);

  beforeAll(async () => {
    dir = testProcesses.tempDir("kubelab-ctrd-", tmpdir());
    mkdirSync(join(dir, "net.d"));
    writeFileSync(join(dir, "config.toml"), containerdConfig(dir, { sandboxImage: PAUSE_IMAGE, restrictOomScoreAdj: true, runc: { binary: RUNC, root: `${dir}/runc` } }));
    writeFileSync(join(dir, "net.d", "10-kubelab-ctrd.conflist"), cniConfig(dir, network));
    cluster = await startTestCluster();
    client = new RestClient(clientConfigFor(cluster.api));
    execFileSync("ip", ["netns", "add", nodeNetns]);
    execFileSync("ip", ["-n", nodeNetns, "link", "set", "lo", "up"]);
    // Only the network namespace changes: containerd's mounts (and the pods' netns bind mounts) stay in the host's.
    containerd = (
      await testProcesses.startReady(
        {
          name: `containerd ctrd-${runId}`,
          kind: "container-runtime",
          program: { kind: "binary", path: "nsenter" },
          args: [`--net=/run/netns/${nodeNetns}`, "/usr/bin/containerd", "--config", join(dir, "config.toml")],
          ports: {},
          readiness: { kind: "log", pattern: /containerd successfully booted/ },
          dataDir: dir,
          links: [],
        },
        { timeoutMs: 60_000 },
      )
    ).process;
    const socket = join(dir, "containerd.sock");
    for (const image of await buildOfflineImages()) {
      const reference = image.references.find((r) => r === PAUSE_IMAGE || r === "docker.io/library/busybox:latest");
      if (reference === undefined) continue;
      const archive = join(dir, `${reference.replace(/[^a-z0-9]+/g, "_")}.tar`);
      writeFileSync(archive, await ociArchive(image, reference));
      await execFileAsync("/usr/bin/ctr", ["--address", socket, "-n", "k8s.io", "images", "import", archive]);
    }
    cri = new CriClient(socket, { timeoutMs: 30_000 });
    // The CRI plugin learns of imported images from containerd's events.
    await waitFor("the imported images in the CRI", async () => ((await cri!.imageStatus(imageSpec(PAUSE_IMAGE))) !== undefined && (await cri!.imageStatus(imageSpec("busybox"))) !== undefined) || undefined, 20_000, 200);
    const kubeletComponent = kubeletTestComponent({
      name: `kubelet ctrd-${runId}`,
      kubeconfig: cluster.kubeconfig,
      nodeName,
      nodeIp: "127.0.0.1",
      runtimeSocket: socket,
      rootDir: join(dir, "kubelet"),
      port: await freePort(),
      healthzPort: await freePort(),
      extraArgs: [`--cgroup-root=/${cgroupTop}`, `--pod-cidr=${POD_CIDR}`],
    });
    kubelet = (await testProcesses.startReady(kubeletComponent, { timeoutMs: 30_000 })).process;
  }, 180_000);

  afterAll(async () => {
    // KUBELAB_CTRD_DEBUG=FILE keeps the pod's status and the kubelet's and containerd's last output for diagnosis.
    if (process.env.KUBELAB_CTRD_DEBUG !== undefined) {
      const pod = await getPod("hello").catch(() => undefined);
      writeFileSync(process.env.KUBELAB_CTRD_DEBUG, [JSON.stringify(pod?.status, null, 1), kubelet?.logs().slice(-30_000), containerd?.logs().slice(-30_000)].join("\n=====\n"));
    }
    await kubelet?.stop("SIGKILL");
    for (const sandbox of (await cri?.listPodSandbox().catch(() => [])) ?? []) {
      await cri?.stopPodSandbox(sandbox.id).catch(() => undefined);
      await cri?.removePodSandbox(sandbox.id).catch(() => undefined);
    }
    cri?.close();
    client?.close();
    await containerd?.stop("SIGTERM");
    await cluster?.destroy();
    if (dir !== "") {
      // Shims outlive containerd by design; their containers and they themselves go here.
      for (const namespace of existsSync(join(dir, "runc")) ? readdirSync(join(dir, "runc")) : []) await deleteRuncContainers(RUNC, join(dir, "runc", namespace));
      for (const pid of processesMentioning(dir)) process.kill(pid, "SIGKILL");
    }
    const madeNetns = cniNetnsNames().filter((name) => !netnsBefore.has(name));
    for (const name of madeNetns) await execFileAsync("ip", ["netns", "delete", name]).catch(() => undefined);
    await execFileAsync("ip", ["netns", "delete", nodeNetns]).catch(() => undefined);
    if (dir !== "") for (const point of mountsUnder(dir)) await execFileAsync("umount", ["-R", "-l", point]).catch(() => undefined);
    removeCgroups(cgroupTop);
    // libcni caches each attachment's result under /var/lib/cni/results, named after the network.
    const results = "/var/lib/cni/results";
    for (const name of existsSync(results) ? readdirSync(results).filter((n) => n.startsWith(`${network}-`)) : []) rmSync(join(results, name), { force: true });
    if (dir !== "") removeDir(dir);
    expect(netnsNames().filter((name) => name === nodeNetns || madeNetns.includes(name))).toEqual([]);
    if (dir !== "") expect(leftovers(dir, cgroupTop)).toEqual([]);
  }, 90_000);

  it("registers the Node with the runtime's name and version", async () => {
    const node = await waitFor("the Node registered with its runtime", async () => {
      const n = await client.get<Node>(NODES, undefined, nodeName).catch(() => undefined);
      return n?.status?.nodeInfo?.containerRuntimeVersion ? n : undefined;
    }, 30_000, 200);
    expect(node.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^containerd:\/\/1\./);
    expect(node.spec?.podCIDR).toBe(POD_CIDR);
  }, 60_000);

  it("runs a busybox pod with an IP from the pod CIDR, logging through containerd", async () => {
    await client.create<Pod>(PODS, "default", {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "hello", namespace: "default" },
      spec: { nodeName, terminationGracePeriodSeconds: 2, containers: [{ name: "main", image: "busybox", imagePullPolicy: "IfNotPresent", command: ["sh", "-c", "echo hello; sleep 3600"] }] },
    });
    const running = await waitFor("hello Running", async () => {
      const p = await getPod("hello");
      return p.status?.phase === "Running" && p.status.containerStatuses?.[0]?.ready ? p : undefined;
    }, 90_000, 200);
    expect(running.status?.podIP).toMatch(/^10\.244\.250\.\d+$/);
    expect(running.status?.containerStatuses?.[0]?.containerID).toMatch(/^containerd:\/\/[0-9a-f]+$/);
    const id = (running.status?.containerStatuses?.[0]?.containerID ?? "").replace(/^.*:\/\//, "");
    const status = await cri!.containerStatus(id);
    expect(status.status.logPath).toBe(join(dir, "kubelet", "logs", "pods", `default_hello_${running.metadata.uid ?? ""}`, "main", "0.log"));
    await waitFor("hello in the log", () => (readFileSync(status.status.logPath, "utf8").includes(" stdout F hello") ? true : undefined), 10_000);
    expect((await cri!.listPodSandbox()).filter((s) => s.metadata?.name === "hello" && s.state === "SANDBOX_READY")).toHaveLength(1);
  }, 120_000);

  it("stops a deleted pod and removes its sandbox and container from containerd", async () => {
    await client.delete(PODS, "default", "hello");
    await waitFor("hello gone from the API", async () => (await getPod("hello").then(() => false, () => true)) || undefined, 60_000, 200);
    await waitFor("hello gone from containerd", async () => ((await cri!.listPodSandbox()).some((s) => s.metadata?.name === "hello") || (await cri!.listContainers()).length > 0 ? undefined : true), 60_000, 200);
  }, 120_000);
});
