// The kubelet's authenticated port with real processes: etcd, an apiserver started with
// --kubelet-client-certificate/--kubelet-client-key/--kubelet-certificate-authority, kubelab-runtime --backend fake,
// and a kubelet (dist/, build first) serving HTTPS with --client-ca-file, --anonymous-auth=false,
// --authentication-token-webhook and --authorization-mode=Webhook (the apiserver answers the TokenReviews and
// SubjectAccessReviews; it allows everything today, so the 403 path is covered by kubelet/server's unit tests).
// No credentials → 401; a client certificate or a service account's token → /pods; kubectl logs, exec and
// nodes/proxy and port-forward through the apiserver over HTTPS with its kubelet-client identity.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESOURCES } from "../../api/resources.js";
import type { Node, Pod } from "../../api/types/index.js";
import { CriClient } from "../../client/cri/client.js";
import { RestClient } from "../../client/rest.js";
import { createCertificateAuthority, issueCertificate, type CertificateAndKey } from "../../component-base/pki/certificates.js";
import { POD_UID_LABEL } from "../../kubelet/runtime-labels.js";
import { containerRuntimeComponent } from "../../lab/components/container-runtime.js";
import { removeDir } from "../../lab/process/owner.js";
import { freePort } from "../../lab/process/ports.js";
import type { ManagedProcess } from "../../lab/process/runner.js";
import { startTestCluster, waitFor, type TestCluster, clientConfigFor } from "../support/apiserver.js";
import { kubeletTestComponent } from "../support/kubelet.js";
import { testProcesses } from "../support/processes.js";

const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;
const NODES = RESOURCES.find((r) => r.group === "" && r.resource === "nodes")!;

describe("the kubelet's HTTPS port with authentication and Webhook authorization", () => {
  const runId = Math.random().toString(16).slice(2, 8);
  const nodeName = `kubeletauth-node-${runId}`;
  let cluster: TestCluster | undefined;
  let dir = "";
  let runtime: ManagedProcess | undefined;
  let kubelet: ManagedProcess | undefined;
  let client: RestClient | undefined;
  let cri: CriClient | undefined;
  let ca: CertificateAndKey;
  let user: CertificateAndKey;
  let stranger: CertificateAndKey;
  let base = "";

  const k = (...args: string[]) => {
    if (!cluster) throw new Error("no cluster");
    return cluster.kubectl(args, { allowFailure: true, timeoutMs: 30_000 });
  };

  /** A request to the kubelet, verifying its serving certificate against the lab CA. */
  function kubeletGet(path: string, auth: { cert?: CertificateAndKey; token?: string } = {}): Promise<{ code: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(`${base}${path}`, { ca: ca.certPem, ...(auth.cert ? { cert: auth.cert.certPem, key: auth.cert.keyPem } : {}), headers: auth.token ? { authorization: `Bearer ${auth.token}` } : {} }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => { resolve({ code: res.statusCode ?? 0, body }); });
      });
      req.on("error", reject);
      req.end();
    });
  }

  beforeAll(async () => {
    dir = testProcesses.tempDir("kubelab-kubeletauth-", tmpdir());
    ca = await createCertificateAuthority("kubeletauth-ca");
    const other = await createCertificateAuthority("kubeletauth-other-ca");
    const serving = await issueCertificate(ca, { commonName: nodeName, ipAddresses: ["127.0.0.1"], dnsNames: [nodeName], usage: "server" });
    const apiserverClient = await issueCertificate(ca, { commonName: "kube-apiserver-kubelet-client", organizations: ["system:masters"], usage: "client" });
    user = await issueCertificate(ca, { commonName: "kubeletauth-user", organizations: ["kubeletauth-testers"], usage: "client" });
    stranger = await issueCertificate(other, { commonName: "kube-apiserver-kubelet-client", organizations: ["system:masters"], usage: "client" });
    const file = (name: string, text: string): string => {
      const path = join(dir, name);
      writeFileSync(path, text, { mode: 0o600 });
      return path;
    };
    const caFile = file("ca.crt", ca.certPem);
    // The kubelet's own authentication is under test; the apiserver answers its SubjectAccessReviews with AlwaysAllow
    // (over TLS, as every test apiserver), so a client the kubelet authenticated is allowed.
    cluster = await startTestCluster([
      "--authorization-mode=AlwaysAllow",
      `--kubelet-client-certificate=${file("apiserver-kubelet-client.crt", apiserverClient.certPem)}`,
      `--kubelet-client-key=${file("apiserver-kubelet-client.key", apiserverClient.keyPem)}`,
      `--kubelet-certificate-authority=${caFile}`,
    ]);
    client = new RestClient(clientConfigFor(cluster.api));
    const socket = join(dir, "run", "runtime.sock");
    runtime = (await testProcesses.startReady(containerRuntimeComponent({ name: `container-runtime kubeletauth-${runId}`, socketPath: socket, root: join(dir, "runtime"), backend: "fake" }))).process;
    cri = new CriClient(socket, { timeoutMs: 10_000 });
    await client.create<Node>(NODES, undefined, { apiVersion: "v1", kind: "Node", metadata: { name: nodeName }, spec: { podCIDR: "10.244.79.0/24", podCIDRs: ["10.244.79.0/24"] } });
    const port = await freePort();
    base = `https://127.0.0.1:${port}`;
    kubelet = (
      await testProcesses.startReady(
        kubeletTestComponent({
          name: `kubelet kubeletauth-${runId}`,
          kubeconfig: cluster.kubeconfig,
          nodeName,
          nodeIp: "127.0.0.1",
          runtimeSocket: socket,
          rootDir: join(dir, "kubelet"),
          port,
          healthzPort: await freePort(),
          extraArgs: [
            `--tls-cert-file=${file("kubelet.crt", serving.certPem)}`,
            `--tls-private-key-file=${file("kubelet.key", serving.keyPem)}`,
            `--client-ca-file=${caFile}`,
            "--anonymous-auth=false",
            "--authentication-token-webhook",
            "--authorization-mode=Webhook",
          ],
        }),
        { timeoutMs: 30_000 },
      )
    ).process;
    await waitFor("the kubelet's HTTPS port", async () => ((await kubeletGet("/healthz").catch(() => ({ code: 0 }))).code === 401 ? true : undefined), 20_000);
  }, 120_000);

  afterAll(async () => {
    cri?.close();
    client?.close();
    if (process.env.KUBELETAUTH_LOGS) console.log(kubelet?.logs());
    await kubelet?.stop("SIGKILL");
    await runtime?.stop("SIGKILL");
    await cluster?.destroy();
    if (dir !== "") removeDir(dir);
  }, 60_000);

  it("answers 401 without credentials and to a certificate of another CA", async () => {
    expect(await kubeletGet("/pods")).toEqual({ code: 401, body: "Unauthorized" });
    expect(await kubeletGet("/exec/default/web/app?command=ls")).toEqual({ code: 401, body: "Unauthorized" });
    expect(await kubeletGet("/pods", { cert: stranger })).toEqual({ code: 401, body: "Unauthorized" });
    expect(await kubeletGet("/pods", { token: "not-a-token" })).toEqual({ code: 401, body: "Unauthorized" });
  });

  it("serves /pods to a client certificate and to a service account token checked with a TokenReview", async () => {
    const byCert = await kubeletGet("/pods", { cert: user });
    expect(byCert.code).toBe(200);
    expect((JSON.parse(byCert.body) as { kind: string }).kind).toBe("PodList");
    expect((await k("create", "serviceaccount", "kubeletauth-reader")).code).toBe(0);
    const token = (await k("create", "token", "kubeletauth-reader")).stdout.trim();
    expect(token.split(".")).toHaveLength(3);
    const byToken = await kubeletGet("/stats/summary", { token });
    expect(byToken.code).toBe(200);
    expect((JSON.parse(byToken.body) as { node: { nodeName: string } }).node.nodeName).toBe(nodeName);
  });

  it("is reached by the apiserver over HTTPS for kubectl logs, exec and nodes/proxy", async () => {
    await client!.create<Pod>(PODS, "default", { apiVersion: "v1", kind: "Pod", metadata: { name: "web", namespace: "default" }, spec: { nodeName, containers: [{ name: "app", image: "busybox", command: ["sh", "-c", "sleep 3600"] }], terminationGracePeriodSeconds: 1 } });
    const running = await waitFor("web Running", async () => {
      const p = await client!.get<Pod>(PODS, "default", "web");
      return p.status?.phase === "Running" ? p : undefined;
    }, 30_000);
    expect(await k("exec", "web", "--", "echo", "hi")).toMatchObject({ code: 0, stdout: "hi\n" });
    // The fake runtime writes no output: the container's CRI log file gets a line here.
    const [container] = await cri!.listContainers({ labelSelector: { [POD_UID_LABEL]: running.metadata.uid ?? "" } });
    const { logPath } = (await cri!.containerStatus(container!.id)).status;
    mkdirSync(dirname(logPath), { recursive: true });
    writeFileSync(logPath, `${new Date().toISOString()} stdout F hello over https\n`);
    expect(await k("logs", "web")).toMatchObject({ code: 0, stdout: "hello over https\n" });
    const pods = await k("get", "--raw", `/api/v1/nodes/${nodeName}/proxy/pods`);
    expect(pods.code).toBe(0);
    expect((JSON.parse(pods.stdout) as { items: Pod[] }).items.map((p) => p.metadata.name)).toEqual(["web"]);
  }, 60_000);

  it("carries kubectl port-forward to the kubelet over TLS (wss)", async () => {
    const child = spawn("kubectl", ["--kubeconfig", cluster!.kubeconfig, "port-forward", "pod/web", ":5000"], { stdio: ["ignore", "pipe", "pipe"] });
    const exited = new Promise<void>((resolve) => child.once("exit", () => { resolve(); }));
    let out = "";
    child.stdout.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr.on("data", (c: Buffer) => (out += c.toString()));
    try {
      const localPort = await waitFor("kubectl port-forward to listen", () => {
        if (child.exitCode !== null) throw new Error(`kubectl port-forward exited ${child.exitCode}: ${out}`);
        const m = /Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(out);
        return m ? Number(m[1]) : undefined;
      }, 30_000);
      // The fake runtime's forwarded ports echo.
      const socket = connect(localPort, "127.0.0.1");
      socket.on("error", () => undefined);
      let received = "";
      socket.on("data", (c: Buffer) => (received += c.toString()));
      socket.write("ping over wss");
      await waitFor(`the echo (kubectl: ${out})`, () => (received === "ping over wss" ? true : undefined), 20_000);
      socket.destroy();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    }
  }, 60_000);
});
