// kubectl port-forward, the real kubectl 1.32, through the apiserver, the kubelet server and the runtime: etcd and the
// apiserver as processes (dist/, build first), kubelab-runtime --backend fake as a process (every forwarded port is
// an in-memory echo server), the kubelet server in this process with a pods() provider over a Pod bound to a Node
// whose InternalIP and kubelet port point at it, and a ready sandbox carrying the pod's uid label. kubectl speaks
// SPDY/3.1 in a WebSocket (its default) or, with KUBECTL_PORT_FORWARD_WEBSOCKETS=false, after a plain SPDY upgrade;
// the apiserver ends the SPDY connection and reaches the kubelet with the v4 channel protocol.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Pod } from "../../api/types/index.js";
import { CriClient } from "../../client/cri/client.js";
import { sandboxConfig } from "../../client/cri/testing.js";
import { createRegistry } from "../../component-base/metrics.js";
import { silentLogger } from "../../component-base/logging.js";
import { startKubeletServer, type KubeletServer } from "../../kubelet/server/server.js";
import { POD_NAME_LABEL, POD_NAMESPACE_LABEL, POD_UID_LABEL } from "../../kubelet/runtime-labels.js";
import { containerRuntimeComponent } from "../../lab/components/container-runtime.js";
import { removeDir } from "../../lab/process/owner.js";
import type { ManagedProcess } from "../../lab/process/runner.js";
import { startTestCluster, waitFor, type TestCluster } from "../support/apiserver.js";
import { call } from "../support/http.js";
import { testProcesses } from "../support/processes.js";

const NODE = "spdy-node";

/** A running `kubectl port-forward` and the local port it listens on. */
interface Forwarding {
  child: ChildProcessWithoutNullStreams;
  localPort: number;
  output(): string;
  stop(): Promise<void>;
}

/** Opens a TCP connection to the local end, sends `text` and resolves with what came back once `expected` bytes did. */
async function roundTrip(port: number, text: string, expected = text.length): Promise<{ socket: Socket; received(): string }> {
  const socket = connect(port, "127.0.0.1");
  socket.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  let received = "";
  socket.on("data", (c: Buffer) => (received += c.toString()));
  socket.write(text);
  await waitFor(`the echo of ${JSON.stringify(text)}`, () => (received.length >= expected ? true : undefined), 20_000);
  return { socket, received: () => received };
}

describe("kubectl port-forward through the apiserver, the kubelet and the runtime", () => {
  let cluster: TestCluster | undefined;
  let daemon: ManagedProcess | undefined;
  let runtime: CriClient | undefined;
  let server: KubeletServer | undefined;
  let dir = "";
  const pods = new Map<string, Pod>();
  const forwardings: Forwarding[] = [];

  const api = (method: string, path: string, body?: unknown) => {
    if (!cluster) throw new Error("no cluster");
    return call<Record<string, unknown>>(cluster.api, method, path, body);
  };

  async function portForward(target: string, ports: string, env: Record<string, string> = {}, extra: string[] = []): Promise<Forwarding> {
    if (!cluster) throw new Error("no cluster");
    const child = spawn("kubectl", ["--kubeconfig", cluster.kubeconfig, "port-forward", target, ports, ...extra], { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, ...env } });
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    const exited = new Promise<void>((resolve) => child.once("exit", () => { resolve(); }));
    const forwarding: Forwarding = {
      child,
      localPort: 0,
      output: () => out,
      stop: async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
        await exited;
      },
    };
    forwardings.push(forwarding);
    const port = await waitFor(`kubectl port-forward to listen (output: ${out})`, () => {
      if (child.exitCode !== null) throw new Error(`kubectl port-forward exited ${child.exitCode}: ${out}`);
      const m = /Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(out);
      return m ? Number(m[1]) : undefined;
    }, 30_000);
    forwarding.localPort = port;
    return forwarding;
  }

  beforeAll(async () => {
    cluster = await startTestCluster();
    dir = testProcesses.tempDir("kubelab-spdy-", tmpdir());
    const socket = join(dir, "runtime.sock");
    daemon = (await testProcesses.startReady(containerRuntimeComponent({ name: "container-runtime spdy", socketPath: socket, root: join(dir, "state"), backend: "fake", podCidr: "10.244.37.0/24" }), { timeoutMs: 30_000 })).process;
    runtime = new CriClient(socket, { timeoutMs: 10_000 });
    server = await startKubeletServer({
      address: "127.0.0.1",
      port: 0,
      nodeName: NODE,
      pods: () => [...pods.values()],
      runtime,
      registry: createRegistry(),
      logger: silentLogger(),
      healthy: () => true,
    });
    const node = await api("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: NODE }, status: { addresses: [{ type: "InternalIP", address: "127.0.0.1" }], daemonEndpoints: { kubeletEndpoint: { Port: server.port } } } });
    if (node.status !== 201) throw new Error(`create node: ${node.text}`);
    const created = await api("POST", "/api/v1/namespaces/default/pods", { apiVersion: "v1", kind: "Pod", metadata: { name: "echo" }, spec: { nodeName: NODE, containers: [{ name: "app", image: "busybox" }] } });
    if (created.status !== 201) throw new Error(`create pod: ${created.text}`);
    const pod = created.body as unknown as Pod;
    const running = await api("PUT", "/api/v1/namespaces/default/pods/echo/status", { ...pod, status: { phase: "Running" } });
    if (running.status !== 200) throw new Error(`pod status: ${running.text}`);
    pods.set("echo", running.body as unknown as Pod);
    const uid = pod.metadata.uid ?? "";
    await runtime.runPodSandbox(sandboxConfig("echo", {
      metadata: { name: "echo", namespace: "default", uid, attempt: 0 },
      logDirectory: join(dir, "pods", `default_echo_${uid}`),
      labels: { [POD_UID_LABEL]: uid, [POD_NAME_LABEL]: "echo", [POD_NAMESPACE_LABEL]: "default" },
    }));
  }, 120_000);

  afterAll(async () => {
    for (const f of forwardings) await f.stop();
    await server?.close();
    runtime?.close();
    await daemon?.stop("SIGKILL");
    await cluster?.destroy();
    if (dir !== "") removeDir(dir);
  });

  for (const [mode, env, upgrade] of [
    ["SPDY tunnelled in a WebSocket (kubectl's default)", {}, "GET"],
    ["plain SPDY/3.1 (KUBECTL_PORT_FORWARD_WEBSOCKETS=false)", { KUBECTL_PORT_FORWARD_WEBSOCKETS: "false" }, "POST"],
  ] as const) {
    it(`forwards local connections to the pod's port over ${mode}`, async () => {
      // -v=6 shows which upgrade kubectl made (a WebSocket is a GET, SPDY a POST) and that it did not fall back.
      const forwarding = await portForward("pod/echo", ":5000", env, ["-v=6"]);
      try {
        const first = await roundTrip(forwarding.localPort, "hello through the tunnel\n");
        expect(first.received()).toBe("hello through the tunnel\n");
        // Two connections at once, each its own stream pair, neither seeing the other's bytes.
        const [a, b] = await Promise.all([roundTrip(forwarding.localPort, "left"), roundTrip(forwarding.localPort, "right")]);
        expect(a.received()).toBe("left");
        expect(b.received()).toBe("right");
        a.socket.write(" again");
        await waitFor("the second echo on a kept connection", () => (a.received() === "left again" ? true : undefined));
        // A larger payload crosses several SPDY and WebSocket frames.
        const big = "x".repeat(200_000);
        const large = await roundTrip(forwarding.localPort, big);
        expect(large.received()).toBe(big);
        for (const s of [first.socket, a.socket, b.socket, large.socket]) s.destroy();
        // Closed connections do not end the forwarding: a new one still works.
        const later = await roundTrip(forwarding.localPort, "later");
        expect(later.received()).toBe("later");
        later.socket.destroy();
        expect(forwarding.child.exitCode).toBeNull();
        expect(forwarding.output()).toMatch(new RegExp(`${upgrade} \\S+/pods/echo/portforward 101 Switching Protocols`));
        expect(forwarding.output()).not.toMatch(/fallback|Unhandled Error|lost connection/);
      } finally {
        await forwarding.stop();
      }
    }, 90_000);
  }

  it("reports the kubelet's failure on the error stream, which ends kubectl's forwarding", async () => {
    // A pod bound to the node but without a sandbox in the runtime: the kubelet cannot find where to forward.
    const created = await api("POST", "/api/v1/namespaces/default/pods", { apiVersion: "v1", kind: "Pod", metadata: { name: "nosandbox" }, spec: { nodeName: NODE, containers: [{ name: "app", image: "busybox" }] } });
    expect(created.status).toBe(201);
    const running = await api("PUT", "/api/v1/namespaces/default/pods/nosandbox/status", { ...(created.body as unknown as Pod), status: { phase: "Running" } });
    expect(running.status).toBe(200);
    pods.set("nosandbox", running.body as unknown as Pod);
    const forwarding = await portForward("pod/nosandbox", ":5000", {}, ["-v=6"]);
    try {
      const socket = connect(forwarding.localPort, "127.0.0.1");
      socket.on("error", () => undefined);
      socket.write("anyone?");
      await waitFor("kubectl to report the failure", () => (/an error occurred forwarding \d+ -> 5000: error upgrading connection to the kubelet: 500 failed to find sandbox for pod \\?"nosandbox/.test(forwarding.output()) ? true : undefined), 20_000);
      await waitFor("kubectl to stop forwarding", () => (forwarding.child.exitCode !== null ? true : undefined), 20_000);
      expect(forwarding.output()).toContain("lost connection to pod");
      socket.destroy();
    } catch (err) {
      throw new Error(`${String(err)}; kubectl said: ${forwarding.output()}`);
    } finally {
      await forwarding.stop();
    }
  }, 90_000);
});
