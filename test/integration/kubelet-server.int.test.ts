// The kubelet server between the real kubectl and a real runtime: etcd and the apiserver as processes, kubelab-runtime
// --backend fake as a process (dist/, build first), the kubelet server in this process with a pods() provider over a
// Pod the test creates and binds to a Node whose InternalIP and kubelet port point at it. The sandbox and containers
// are made directly in the runtime with the kubelet's labels, and the test writes their CRI log files (the fake
// runtime runs nothing that would). kubectl logs (tail, timestamps, follow across a container's end, previous),
// kubectl exec over WebSocket v5 (apiserver → kubelet → the runtime's streaming server), nodes/proxy, the stats
// endpoints, and Kubernetes' errors for a missing container name and an unreachable kubelet.
import { spawn } from "node:child_process";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pod } from "../../api/types/index.js";
import { CriClient } from "../../client/cri/client.js";
import { sandboxConfig, containerConfig } from "../../client/cri/testing.js";
import { imageSpec } from "../../client/cri/types.js";
import { createRegistry } from "../../component-base/metrics.js";
import { silentLogger } from "../../component-base/logging.js";
import { startKubeletServer, type KubeletServer } from "../../kubelet/server/server.js";
import { CONTAINER_NAME_LABEL, CONTAINER_RESTART_COUNT_ANNOTATION, POD_NAME_LABEL, POD_NAMESPACE_LABEL, POD_UID_LABEL } from "../../kubelet/runtime-labels.js";
import { containerRuntimeComponent } from "../../lab/components/container-runtime.js";
import { removeDir } from "../../lab/process/owner.js";
import { freePort } from "../../lab/process/ports.js";
import type { ManagedProcess } from "../../lab/process/runner.js";
import { startTestCluster, waitFor, type TestCluster } from "../support/apiserver.js";
import { call } from "../support/http.js";
import { testProcesses } from "../support/processes.js";

const NODE = "kserve-node";
const LOST_NODE = "kserve-lost";

function criLine(text: string, stream: "stdout" | "stderr" = "stdout", tag = "F", time = new Date()): string {
  return `${time.toISOString()} ${stream} ${tag} ${text}\n`;
}

describe("the kubelet server behind the apiserver, with the real kubectl", () => {
  let cluster: TestCluster | undefined;
  let daemon: ManagedProcess | undefined;
  let runtime: CriClient | undefined;
  let server: KubeletServer | undefined;
  let dir = "";
  const pods = new Map<string, Pod>();
  let sandboxId = "";
  let sandbox = sandboxConfig("web");
  let firstLog = "";

  const k = (...args: string[]) => {
    if (!cluster) throw new Error("no cluster");
    return cluster.kubectl(args, { allowFailure: true, timeoutMs: 30_000 });
  };
  const api = (method: string, path: string, body?: unknown) => {
    if (!cluster) throw new Error("no cluster");
    return call<Record<string, unknown>>(cluster.api, method, path, body);
  };
  const cri = (): CriClient => {
    if (!runtime) throw new Error("no runtime");
    return runtime;
  };

  /** Creates a pod bound to `node` and marks it Running, as its kubelet would. */
  async function createPod(name: string, containers: string[], node = NODE): Promise<Pod> {
    const created = await api("POST", "/api/v1/namespaces/default/pods", { apiVersion: "v1", kind: "Pod", metadata: { name }, spec: { nodeName: node, containers: containers.map((c) => ({ name: c, image: "busybox" })) } });
    if (created.status !== 201) throw new Error(`create pod ${name}: ${created.text}`);
    const pod = created.body as unknown as Pod;
    const status = { phase: "Running", containerStatuses: containers.map((c) => ({ name: c, ready: true, restartCount: 0, image: "busybox", imageID: "", state: { running: {} } })) };
    const updated = await api("PUT", `/api/v1/namespaces/default/pods/${name}/status`, { ...pod, status });
    if (updated.status !== 200) throw new Error(`pod ${name} status: ${updated.text}`);
    const stored = updated.body as unknown as Pod;
    pods.set(name, stored);
    return stored;
  }

  /** A container of the pod in the runtime with the kubelet's labels, started; its log file made with `lines`. */
  async function runContainer(pod: Pod, name: string, attempt: number, lines: string[]): Promise<{ id: string; logPath: string }> {
    const labels = { [POD_UID_LABEL]: pod.metadata.uid ?? "", [POD_NAME_LABEL]: pod.metadata.name ?? "", [POD_NAMESPACE_LABEL]: "default", [CONTAINER_NAME_LABEL]: name };
    const config = containerConfig(name, "busybox", { metadata: { name, attempt }, labels, annotations: { [CONTAINER_RESTART_COUNT_ANNOTATION]: String(attempt) }, logPath: `${name}/${attempt}.log` });
    const id = await cri().createContainer({ podSandboxId: sandboxId, config, sandboxConfig: sandbox });
    await cri().startContainer(id);
    const { logPath } = (await cri().containerStatus(id)).status;
    mkdirSync(dirname(logPath), { recursive: true });
    writeFileSync(logPath, lines.join(""));
    return { id, logPath };
  }

  beforeAll(async () => {
    cluster = await startTestCluster();
    dir = testProcesses.tempDir("kubelab-kserve-", tmpdir());
    const socket = join(dir, "runtime.sock");
    daemon = (await testProcesses.startReady(containerRuntimeComponent({ name: "container-runtime kserve", socketPath: socket, root: join(dir, "state"), backend: "fake", podCidr: "10.244.31.0/24" }), { timeoutMs: 30_000 })).process;
    runtime = new CriClient(socket, { timeoutMs: 10_000 });
    await runtime.pullImage({ image: imageSpec("busybox") });
    server = await startKubeletServer({
      address: "127.0.0.1",
      port: 0,
      nodeName: NODE,
      pods: () => [...pods.values()],
      runtime,
      registry: createRegistry(),
      logger: silentLogger(),
      healthy: () => true,
      logPollIntervalMs: 50,
    });
    const closedPort = await freePort();
    for (const [name, port] of [[NODE, server.port], [LOST_NODE, closedPort]] as const) {
      const node = await api("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name }, status: { addresses: [{ type: "InternalIP", address: "127.0.0.1" }, { type: "Hostname", address: name }], daemonEndpoints: { kubeletEndpoint: { Port: port } } } });
      if (node.status !== 201) throw new Error(`create node: ${node.text}`);
    }
    const web = await createPod("web", ["app"]);
    sandbox = sandboxConfig("web", {
      metadata: { name: "web", namespace: "default", uid: web.metadata.uid ?? "", attempt: 0 },
      logDirectory: join(dir, "pods", `default_web_${web.metadata.uid ?? ""}`),
      labels: { [POD_UID_LABEL]: web.metadata.uid ?? "", [POD_NAME_LABEL]: "web", [POD_NAMESPACE_LABEL]: "default" },
    });
    sandboxId = await runtime.runPodSandbox(sandbox);
    const t0 = new Date(Date.now() - 60_000);
    const first = await runContainer(web, "app", 0, [criLine("one", "stdout", "F", t0), criLine("tw", "stdout", "P"), criLine("o", "stdout", "F"), criLine("three", "stderr")]);
    firstLog = first.logPath;
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    runtime?.close();
    await daemon?.stop("SIGKILL");
    await cluster?.destroy();
    if (dir !== "") removeDir(dir);
  });

  it("serves /healthz, /pods and the stats through nodes/proxy", async () => {
    const health = await k("get", "--raw", `/api/v1/nodes/${NODE}/proxy/healthz`);
    expect(health.stdout).toBe("ok");
    const listed = await k("get", "--raw", `/api/v1/nodes/${NODE}/proxy/pods`);
    expect(listed.code).toBe(0);
    const list = JSON.parse(listed.stdout) as { kind: string; items: Pod[] };
    expect(list.kind).toBe("PodList");
    expect(list.items.map((p) => p.metadata.name)).toEqual(["web"]);
    const summary = JSON.parse((await k("get", "--raw", `/api/v1/nodes/${NODE}/proxy/stats/summary`)).stdout) as { node: { nodeName: string; memory?: { workingSetBytes?: number } }; pods: { podRef: { name: string }; containers: { name: string; memory?: { workingSetBytes?: number } }[] }[] };
    expect(summary.node.nodeName).toBe(NODE);
    expect(summary.node.memory?.workingSetBytes).toBeGreaterThan(0);
    expect(summary.pods[0]?.podRef.name).toBe("web");
    // The fake runtime's steady usage for this container: the summary and the resource metrics report the same.
    const workingSet = summary.pods[0]?.containers[0]?.memory?.workingSetBytes ?? 0;
    expect(summary.pods[0]?.containers[0]?.name).toBe("app");
    expect(workingSet).toBeGreaterThan(0);
    const resource = (await k("get", "--raw", `/api/v1/nodes/${NODE}/proxy/metrics/resource`)).stdout;
    expect(resource).toMatch(new RegExp(`^container_memory_working_set_bytes\\{container="app",namespace="default",pod="web"\\} ${workingSet} \\d+$`, "m"));
    expect(resource).toMatch(/^node_cpu_usage_seconds_total \d/m);
  }, 60_000);

  it("shows a container's log with kubectl logs, --tail and --timestamps", async () => {
    expect(await k("logs", "web")).toMatchObject({ code: 0, stdout: "one\ntwo\nthree\n" });
    expect((await k("logs", "web", "--tail=2")).stdout).toBe("two\nthree\n");
    expect((await k("logs", "web", "--since=10s")).stdout).toBe("two\nthree\n");
    expect((await k("logs", "web", "--limit-bytes=6")).stdout).toBe("one\ntw");
    const stamped = (await k("logs", "web", "--timestamps")).stdout.split("\n");
    expect(stamped[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z one$/);
    expect(stamped[1]).toMatch(/Z two$/);
  }, 60_000);

  it("refuses --previous before a restart, and a missing container name, with Kubernetes' 400s", async () => {
    const previous = await k("logs", "web", "--previous");
    expect(previous.code).not.toBe(0);
    expect(previous.stderr).toContain('Error from server (BadRequest): previous terminated container "app" in pod "web" not found');
    await createPod("duo", ["a", "b"]);
    const raw = await k("get", "--raw", "/api/v1/namespaces/default/pods/duo/log");
    expect(raw.code).not.toBe(0);
    expect(raw.stderr).toContain("Error from server (BadRequest): a container name must be specified for pod duo, choose one of: [a b]");
    const missing = await api("GET", "/api/v1/namespaces/default/pods/duo/log?container=a");
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ kind: "Status", reason: "BadRequest", message: 'container "a" in pod "duo" is waiting to start: ContainerCreating' });
    const notRunning = await k("exec", "duo", "-c", "a", "--", "echo", "hi");
    expect(notRunning.code).not.toBe(0);
    expect(notRunning.stderr).toContain('container not found ("a")');
    const unbound = await api("POST", "/api/v1/namespaces/default/pods", { apiVersion: "v1", kind: "Pod", metadata: { name: "unbound" }, spec: { containers: [{ name: "app", image: "busybox" }] } });
    expect(unbound.status).toBe(201);
    const nowhere = await k("exec", "unbound", "--", "echo", "hi");
    expect(nowhere.stderr).toContain("Error from server (BadRequest): pod unbound does not have a host assigned");
    expect(await k("logs", "unbound")).toMatchObject({ code: 0, stdout: "" });
  }, 60_000);

  it("runs kubectl exec through the apiserver, the kubelet and the runtime's streaming server", async () => {
    expect(await k("exec", "web", "--", "echo", "hi")).toMatchObject({ code: 0, stdout: "hi\n" });
    const failed = await k("exec", "web", "--", "sh", "-c", "exit 3");
    expect(failed.code).toBe(3);
    expect(failed.stderr).toContain("command terminated with exit code 3");
    if (!cluster) throw new Error("no cluster");
    // stdin crosses both hops too, and its end (v5's close signal) ends `cat`.
    const piped = await cluster.kubectl(["exec", "-i", "web", "--", "cat"], { stdin: "ping\npong\n", allowFailure: true, timeoutMs: 30_000 });
    expect(piped).toMatchObject({ code: 0, stdout: "ping\npong\n" });
  }, 60_000);

  it("follows a log as it grows with kubectl logs -f, until the container exits", async () => {
    if (!cluster) throw new Error("no cluster");
    const child = spawn("kubectl", ["--kubeconfig", cluster.kubeconfig, "logs", "-f", "web", "--tail=1"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => { resolve(code); }));
    try {
      await waitFor("the tail line", () => (out === "three\n" ? true : undefined));
      appendFileSync(firstLog, criLine("four") + criLine("fi", "stdout", "P") + criLine("ve"));
      await waitFor("the appended lines", () => (out === "three\nfour\nfive\n" ? true : undefined));
      appendFileSync(firstLog, criLine("last words"));
      const [id] = (await cri().listContainers({ labelSelector: { [POD_UID_LABEL]: pods.get("web")?.metadata.uid ?? "" } })).map((c) => c.id);
      await cri().stopContainer(id ?? "", 1);
      expect(await exited).toBe(0);
      expect(out).toBe("three\nfour\nfive\nlast words\n");
    } finally {
      child.kill("SIGKILL");
    }
  }, 60_000);

  it("shows the restarted container's log, and the one before it with --previous", async () => {
    const web = pods.get("web");
    if (!web) throw new Error("no pod");
    await runContainer(web, "app", 1, [criLine("again")]);
    expect((await k("logs", "web")).stdout).toBe("again\n");
    expect((await k("logs", "web", "--previous")).stdout).toBe("one\ntwo\nthree\nfour\nfive\nlast words\n");
  }, 60_000);

  it("reports an unreachable kubelet as Kubernetes does", async () => {
    await createPod("lost", ["app"], LOST_NODE);
    const node = await api("GET", `/api/v1/nodes/${LOST_NODE}`);
    const port = (node.body as { status: { daemonEndpoints: { kubeletEndpoint: { Port: number } } } }).status.daemonEndpoints.kubeletEndpoint.Port;
    const logs = await k("logs", "lost");
    expect(logs.code).not.toBe(0);
    expect(logs.stderr).toContain(`Error from server: Get "http://127.0.0.1:${port}/containerLogs/default/lost/app": dial tcp 127.0.0.1:${port}: connect: connection refused`);
    const exec = await k("exec", "lost", "--", "echo", "hi");
    expect(exec.code).not.toBe(0);
    expect(exec.stderr).toContain(`error dialing backend: dial tcp 127.0.0.1:${port}: connect: connection refused`);
  }, 60_000);
});
