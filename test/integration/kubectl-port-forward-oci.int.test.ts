// kubectl port-forward (the real kubectl 1.32) to busybox httpd in a real pod: etcd and the apiserver as processes,
// kubelab-runtime --backend oci (runc, conmon, CNI) as a process in a "node" network namespace this test makes (as
// container-runtime-stream.int.test.ts does, so pod links and routes never touch the host's), and the kubelet
// server in this process. The runtime's streaming server listens on that namespace's loopback, so the kubelet here
// is given a CRI client whose PortForward URLs point at a host-loopback port relayed into the namespace (the
// runtime's own nsenter relay). Root only. Everything made is removed in afterAll and checked gone.
import { execFile, execFileSync, spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pod } from "../../api/types/index.js";
import { CriClient } from "../../client/cri/client.js";
import { containerConfig, sandboxConfig } from "../../client/cri/testing.js";
import { imageSpec, type PortForwardRequest } from "../../client/cri/types.js";
import { createRegistry } from "../../component-base/metrics.js";
import { silentLogger } from "../../component-base/logging.js";
import { spawnPortRelay } from "../../container-runtime/oci/relays.js";
import { startKubeletServer, type KubeletServer } from "../../kubelet/server/server.js";
import { POD_NAME_LABEL, POD_NAMESPACE_LABEL, POD_UID_LABEL } from "../../kubelet/runtime-labels.js";
import type { Component } from "../../lab/components/component.js";
import { containerRuntimeComponent } from "../../lab/components/container-runtime.js";
import { removeDir } from "../../lab/process/owner.js";
import type { ManagedProcess } from "../../lab/process/runner.js";
import { startTestCluster, waitFor, type TestCluster } from "../support/apiserver.js";
import { call } from "../support/http.js";
import { testProcesses } from "../support/processes.js";
import { deleteRuncContainers, leftovers, mountsUnder, netnsNames, processesMentioning, removeCgroups } from "../support/runtime-host.js";

const execFileAsync = promisify(execFile);
const RUNC = "/usr/sbin/runc";
const isRoot = process.getuid?.() === 0;
const haveTools = [RUNC, "/usr/bin/conmon", "/usr/lib/cni/ptp", "/usr/lib/cni/host-local", "/bin/busybox", "/usr/bin/nsenter"].every((p) => existsSync(p));
const skip = !isRoot || !haveTools;
if (skip) console.warn("kubectl-port-forward-oci.int.test: skipped: needs root and runc, conmon, containernetworking-plugins, busybox-static, nsenter");

const NODE = "spdy-oci-node";
const POD_CIDR = "10.244.253.0/24";

/** One HTTP/1.0 GET through the local end of the forwarding: the whole answer, once the server closed. */
function httpGet(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let answer = "";
    socket.on("data", (c: Buffer) => (answer += c.toString("latin1")));
    socket.once("error", reject);
    socket.once("close", () => { resolve(answer); });
    socket.write(`GET ${path} HTTP/1.0\r\nHost: localhost\r\n\r\n`);
  });
}

describe.skipIf(skip)("kubectl port-forward to busybox httpd in a pod of kubelab-runtime --backend oci", () => {
  const runId = Math.random().toString(16).slice(2, 8);
  const nodeNetns = `kltest-spdy-${runId}`;
  const cgroupTop = `kubelab-spdy-test-${runId}`;
  let cluster: TestCluster | undefined;
  let dir = "";
  let runtimeRoot = "";
  let daemon: ManagedProcess | undefined;
  let client: CriClient | undefined;
  let server: KubeletServer | undefined;
  let relayServer: Server | undefined;
  let podId = "";
  let kubectl: ChildProcessWithoutNullStreams | undefined;
  const pods = new Map<string, Pod>();
  const relays = new Set<{ close(): void }>();

  const api = (method: string, path: string, body?: unknown) => {
    if (!cluster) throw new Error("no cluster");
    return call<Record<string, unknown>>(cluster.api, method, path, body);
  };

  /** The streaming URL on a host-loopback port whose connections are relayed into the node namespace. */
  const reachable = async (url: string): Promise<string> => {
    const parsed = new URL(url);
    if (relayServer === undefined) {
      const target = Number(parsed.port);
      const relaying = createServer((socket) => {
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
      await new Promise<void>((resolve) => relaying.listen(0, "127.0.0.1", resolve));
      relayServer = relaying;
    }
    const address = relayServer.address();
    if (address === null || typeof address === "string") throw new Error("the relay has no port");
    return `http://127.0.0.1:${address.port}${parsed.pathname}${parsed.search}`;
  };

  beforeAll(async () => {
    cluster = await startTestCluster();
    dir = testProcesses.tempDir("kubelab-spdy-oci-", tmpdir());
    runtimeRoot = join(dir, "runtime");
    const socket = join(dir, "run", "runtime.sock");
    execFileSync("ip", ["netns", "add", nodeNetns]);
    execFileSync("ip", ["-n", nodeNetns, "link", "set", "lo", "up"]);
    const component = containerRuntimeComponent({ name: `container-runtime spdy-${runId}`, socketPath: socket, root: join(dir, "state"), backend: "oci", runtimeRoot, cniConfigDir: join(dir, "cni"), podCidr: POD_CIDR });
    if (component.program.kind !== "node") throw new Error("the runtime component is expected to be a Node entry point");
    const inNodeNetns: Component = { ...component, program: { kind: "binary", path: "nsenter" }, args: [`--net=/run/netns/${nodeNetns}`, process.execPath, component.program.entry, ...component.args] };
    daemon = (await testProcesses.startReady(inNodeNetns, { timeoutMs: 60_000 })).process;
    client = new CriClient(socket, { timeoutMs: 30_000 });
    await client.pullImage({ image: imageSpec("busybox") });

    // The kubelet's CRI client, with PortForward answering the relayed URL.
    const relayed = client;
    const kubeletRuntime = Object.create(relayed, {
      portForward: { value: async (request: PortForwardRequest): Promise<string> => reachable(await relayed.portForward(request)) },
    }) as CriClient;
    server = await startKubeletServer({ address: "127.0.0.1", port: 0, nodeName: NODE, pods: () => [...pods.values()], runtime: kubeletRuntime, registry: createRegistry(), logger: silentLogger(), healthy: () => true });
    const node = await api("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: NODE }, status: { addresses: [{ type: "InternalIP", address: "127.0.0.1" }], daemonEndpoints: { kubeletEndpoint: { Port: server.port } } } });
    if (node.status !== 201) throw new Error(`create node: ${node.text}`);
    const created = await api("POST", "/api/v1/namespaces/default/pods", { apiVersion: "v1", kind: "Pod", metadata: { name: "web" }, spec: { nodeName: NODE, containers: [{ name: "httpd", image: "busybox" }] } });
    if (created.status !== 201) throw new Error(`create pod: ${created.text}`);
    const pod = created.body as unknown as Pod;
    const running = await api("PUT", "/api/v1/namespaces/default/pods/web/status", { ...pod, status: { phase: "Running" } });
    if (running.status !== 200) throw new Error(`pod status: ${running.text}`);
    pods.set("web", running.body as unknown as Pod);
    const uid = pod.metadata.uid ?? "";
    const sandbox = sandboxConfig(`web-${runId}`, {
      metadata: { name: "web", namespace: "default", uid, attempt: 0 },
      logDirectory: join(dir, "pods"),
      labels: { [POD_UID_LABEL]: uid, [POD_NAME_LABEL]: "web", [POD_NAMESPACE_LABEL]: "default" },
      linux: { cgroupParent: `/${cgroupTop}/pod`, sysctls: {}, privileged: false, supplementalGroups: [], readonlyRootfs: false },
    });
    podId = await client.runPodSandbox(sandbox);
    const command = ["sh", "-c", "mkdir -p /www && echo hello-through-kubectl > /www/index.html && exec httpd -f -p 127.0.0.1:8080 -h /www"];
    const id = await client.createContainer({ podSandboxId: podId, config: containerConfig("httpd", "busybox", { command }), sandboxConfig: sandbox });
    await client.startContainer(id);
  }, 180_000);

  afterAll(async () => {
    if (kubectl?.exitCode === null) kubectl.kill("SIGKILL");
    for (const relay of relays) relay.close();
    relayServer?.close();
    await server?.close();
    client?.close();
    await daemon?.stop("SIGKILL");
    await cluster?.destroy();
    await deleteRuncContainers(RUNC, join(runtimeRoot, "runc"));
    if (dir !== "") for (const pid of processesMentioning(dir)) process.kill(pid, "SIGKILL");
    if (podId !== "") await execFileAsync("ip", ["netns", "delete", `kubelab-${podId}`.slice(0, 64)]).catch(() => undefined);
    await execFileAsync("ip", ["netns", "delete", nodeNetns]).catch(() => undefined);
    if (dir !== "") for (const point of mountsUnder(dir)) await execFileAsync("umount", ["-R", "-l", point]).catch(() => undefined);
    removeCgroups(cgroupTop);
    if (dir !== "") removeDir(dir);

    expect(netnsNames().filter((name) => name === nodeNetns || (podId !== "" && name === `kubelab-${podId}`.slice(0, 64)))).toEqual([]);
    expect(leftovers(dir, cgroupTop)).toEqual([]);
  }, 90_000);

  it("serves the pod's page on the local port, request after request, and reports a closed port", async () => {
    if (!cluster) throw new Error("no cluster");
    const child = spawn("kubectl", ["--kubeconfig", cluster.kubeconfig, "port-forward", "pod/web", ":8080", ":8081"], { stdio: ["pipe", "pipe", "pipe"] });
    kubectl = child;
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    try {
      const ports = await waitFor("kubectl port-forward to listen", () => {
        if (child.exitCode !== null) throw new Error(`kubectl port-forward exited ${child.exitCode}: ${out}`);
        const local = [...out.matchAll(/Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)/g)].map((m) => [Number(m[2]), Number(m[1])] as const);
        return local.length === 2 ? new Map(local) : undefined;
      }, 30_000);
      const httpd = ports.get(8080) ?? 0;
      // httpd may still be starting: the first answers can be the pod's "connection refused".
      const page = await waitFor("the page through kubectl", async () => {
        const answer = await httpGet(httpd, "/index.html");
        return answer.includes("hello-through-kubectl") ? answer : undefined;
      }, 30_000).catch((err: unknown) => { throw new Error(`${String(err)}; kubectl said: ${out}`); });
      expect(page).toMatch(/^HTTP\/1\.[01] 200 OK\r\n/);
      const [again, missing] = await Promise.all([httpGet(httpd, "/index.html"), httpGet(httpd, "/nothing-here")]);
      expect(again).toContain("hello-through-kubectl");
      expect(missing).toMatch(/^HTTP\/1\.[01] 404 /);
      expect(child.exitCode).toBeNull();

      // Nothing listens on 8081 in the pod: the runtime's error reaches kubectl, which stops forwarding (as 1.32 does).
      await httpGet(ports.get(8081) ?? 0, "/").catch(() => "");
      await waitFor("kubectl to report the refused port", () => (/an error occurred forwarding \d+ -> 8081: error forwarding port 8081: .*[Cc]onnection refused/.test(out) ? true : undefined), 20_000)
        .catch((err: unknown) => { throw new Error(`${String(err)}; kubectl said: ${out}`); });
    } finally {
      child.kill("SIGKILL");
    }
  }, 120_000);
});
