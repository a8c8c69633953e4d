import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, request, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import type { ContainerStatus } from "../../api/types/core.js";
import type { Pod } from "../../api/types/index.js";
import type { CriClient } from "../../client/cri/client.js";
import type * as cri from "../../client/cri/types.js";
import { imageSpec } from "../../client/cri/types.js";
import { silentLogger } from "../../component-base/logging.js";
import { createRegistry } from "../../component-base/metrics.js";
import { CONTAINER_NAME_LABEL, CONTAINER_RESTART_COUNT_ANNOTATION, POD_UID_LABEL } from "../runtime-labels.js";
import { createCertificateAuthority, issueCertificate, type CertificateAndKey } from "../../component-base/pki/certificates.js";
import { KubeletAuth } from "./auth.js";
import { selectLogContainer, sortNewestFirst, startKubeletServer, type KubeletServerOptions } from "./server.js";

function container(id: string, restarts: number, state: cri.ContainerState): cri.Container {
  return { id, podSandboxId: "sb", metadata: { name: "app", attempt: restarts }, image: imageSpec("x"), imageRef: "x", imageId: "x", state, createdAt: BigInt(restarts), labels: {}, annotations: { [CONTAINER_RESTART_COUNT_ANNOTATION]: String(restarts) } };
}

const names = { pod: "web", container: "app" };
const status = (state: ContainerStatus["state"]): ContainerStatus => ({ name: "app", ready: false, restartCount: 1, image: "x", imageID: "", state: state ?? {} });

describe("the container a log request reads", () => {
  const running = container("c2", 2, "CONTAINER_RUNNING");
  const exited = container("c1", 1, "CONTAINER_EXITED");

  it("orders the runtime's instances newest first by restart count", () => {
    expect(sortNewestFirst([exited, running, container("c0", 0, "CONTAINER_EXITED")]).map((c) => c.id)).toEqual(["c2", "c1", "c0"]);
  });

  it("reads the current instance, or the one before it with previous", () => {
    expect(selectLogContainer([running, exited], status({ running: {} }), false, names)).toEqual({ id: "c2" });
    expect(selectLogContainer([running, exited], status({ running: {} }), true, names)).toEqual({ id: "c1" });
  });

  it("reads the last exited instance for both while the container waits to restart", () => {
    const crashed = container("c3", 3, "CONTAINER_EXITED");
    const waiting = status({ waiting: { reason: "CrashLoopBackOff" } });
    expect(selectLogContainer([crashed, running], waiting, false, names)).toEqual({ id: "c3" });
    expect(selectLogContainer([crashed, running], waiting, true, names)).toEqual({ id: "c3" });
  });

  it("answers with Kubernetes' messages when there is nothing to read", () => {
    expect(selectLogContainer([running], status({ running: {} }), true, names)).toEqual({ error: 'previous terminated container "app" in pod "web" not found' });
    expect(selectLogContainer([], undefined, false, names)).toEqual({ error: 'container "app" in pod "web" is waiting to start: ContainerCreating' });
    expect(selectLogContainer([], status({ waiting: { reason: "ImagePullBackOff" } }), false, names)).toEqual({ error: 'container "app" in pod "web" is waiting to start: trying and failing to pull image' });
  });
});

describe("the kubelet server", () => {
  const uid = "uid-web";
  const dirs: string[] = [];
  const closers: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  /** A stand-in streaming server: accepts any upgrade, says which path it was given, then echoes. */
  async function streamingStandIn(): Promise<{ url: string; paths: string[] }> {
    const paths: string[] = [];
    const server = createServer((_req, res) => res.end());
    server.on("upgrade", (req: IncomingMessage, socket: Duplex) => {
      paths.push(req.url ?? "");
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${req.headers.upgrade ?? ""}\r\n\r\n${req.url ?? ""}`);
      socket.on("end", () => socket.end());
      socket.on("error", () => socket.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    closers.push(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    });
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, paths };
  }

  async function start(healthy = true, extra: Pick<KubeletServerOptions, "tls" | "auth"> = {}): Promise<{ base: string; streaming: { paths: string[] } }> {
    const dir = await mkdtemp(join(tmpdir(), "kserve-server-"));
    dirs.push(dir);
    await mkdir(join(dir, "app"));
    await writeFile(join(dir, "app", "0.log"), "2026-01-01T00:00:00.5Z stdout F hello\n");
    const streaming = await streamingStandIn();
    const running = { ...container("c1", 0, "CONTAINER_RUNNING"), labels: { [POD_UID_LABEL]: uid, [CONTAINER_NAME_LABEL]: "app" } };
    // Only what the server calls; everything else would throw.
    const runtime = {
      listContainers: (filter?: cri.ContainerFilter) => Promise.resolve(filter?.labelSelector?.[CONTAINER_NAME_LABEL] === "app" ? [running] : []),
      containerStatus: () => Promise.resolve({ status: { state: "CONTAINER_RUNNING", logPath: join(dir, "app", "0.log") }, info: {} }),
      listContainerStats: () => Promise.resolve([]),
      listPodSandbox: () => Promise.resolve([{ id: "sb1", state: "SANDBOX_READY", createdAt: 1n }]),
      exec: (req: cri.ExecRequest) => Promise.resolve(`${streaming.url}/exec/${req.containerId}?cmd=${req.cmd.join("+")}`),
      attach: (req: cri.AttachRequest) => Promise.resolve(`${streaming.url}/attach/${req.containerId}?tty=${String(req.tty)}`),
      portForward: (req: cri.PortForwardRequest) => Promise.resolve(`${streaming.url}/portforward/${req.podSandboxId}`),
    } as unknown as CriClient;
    const pod: Pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "web", namespace: "default", uid }, spec: { containers: [{ name: "app", image: "x" }, { name: "other", image: "x" }] }, status: { phase: "Running" } };
    const server = await startKubeletServer({ address: "127.0.0.1", port: 0, nodeName: "n1", pods: () => [pod], runtime, registry: createRegistry(), logger: silentLogger(), healthy: () => healthy, nodeUsage: () => Promise.resolve({ timeMs: Date.now(), usageCoreNanoSeconds: 1e9, workingSetBytes: 1024 }), ...extra });
    closers.push(() => server.close());
    return { base: `${extra.tls ? "https" : "http"}://127.0.0.1:${server.port}`, streaming };
  }

  function upgrade(url: string, protocol: string): Promise<{ code: number; first: string }> {
    return new Promise((resolve, reject) => {
      const req = request(url, { method: "POST", headers: { Connection: "Upgrade", Upgrade: protocol } });
      req.on("upgrade", (res, socket, head) => {
        const done = (chunk: Buffer): void => {
          socket.destroy();
          resolve({ code: res.statusCode ?? 0, first: chunk.toString() });
        };
        if (head.length > 0) done(head);
        else socket.once("data", done);
      });
      req.on("response", (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => { resolve({ code: res.statusCode ?? 0, first: body }); });
      });
      req.on("error", reject);
      req.end();
    });
  }

  it("serves healthz, pods, logs and the resource metrics", async () => {
    const { base } = await start();
    expect(await (await fetch(`${base}/healthz`)).text()).toBe("ok");
    const pods = (await (await fetch(`${base}/pods`)).json()) as { kind: string; items: Pod[] };
    expect(pods.kind).toBe("PodList");
    expect(pods.items[0]?.metadata.name).toBe("web");
    expect(await (await fetch(`${base}/containerLogs/default/web/app?timestamps=true`)).text()).toBe("2026-01-01T00:00:00.5Z hello\n");
    expect(await (await fetch(`${base}/metrics/resource`)).text()).toContain("node_memory_working_set_bytes 1024 ");
  });

  it("answers with the kubelet's errors", async () => {
    const { base } = await start(false);
    expect((await fetch(`${base}/healthz`)).status).toBe(500);
    const missingPod = await fetch(`${base}/containerLogs/default/nope/app`);
    expect([missingPod.status, await missingPod.text()]).toEqual([404, 'pod "nope" does not exist']);
    const missingContainer = await fetch(`${base}/containerLogs/default/web/zz`);
    expect([missingContainer.status, await missingContainer.text()]).toEqual([404, 'container "zz" not found in pod "web"']);
    const previous = await fetch(`${base}/containerLogs/default/web/app?previous=true`);
    expect([previous.status, await previous.text()]).toEqual([400, 'previous terminated container "app" in pod "web" not found']);
    const badTail = await fetch(`${base}/containerLogs/default/web/app?tailLines=-2`);
    expect([badTail.status, await badTail.text()]).toEqual([422, '{"message": "Invalid request."}']);
    expect((await fetch(`${base}/containerLogs/default/web/app?tailLines=x`)).status).toBe(400);
    expect((await fetch(`${base}/exec/default/web/app?command=ls`)).status).toBe(400);
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
  });

  it("forwards exec, attach and port-forward upgrades to the runtime's streaming URLs, whatever the protocol", async () => {
    const { base, streaming } = await start();
    expect(await upgrade(`${base}/exec/default/web/app?command=echo&command=hi&output=1`, "websocket")).toEqual({ code: 101, first: "/exec/c1?cmd=echo+hi" });
    expect(await upgrade(`${base}/attach/default/web/${uid}/app?tty=1&input=1`, "SPDY/3.1")).toEqual({ code: 101, first: "/attach/c1?tty=true" });
    expect(await upgrade(`${base}/portForward/default/web`, "websocket")).toEqual({ code: 101, first: "/portforward/sb1" });
    expect(streaming.paths).toHaveLength(3);
    expect(await upgrade(`${base}/exec/default/web/other?command=ls`, "websocket")).toEqual({ code: 500, first: 'container not found ("other")' });
    expect(await upgrade(`${base}/exec/default/web/wrong-uid/app?command=ls`, "websocket")).toEqual({ code: 404, first: 'pod "web" does not exist' });
  });

  describe("over HTTPS with authentication and authorization", () => {
    let pki: { ca: CertificateAndKey; serving: CertificateAndKey; admin: CertificateAndKey; viewer: CertificateAndKey; stranger: CertificateAndKey };

    async function certificates(): Promise<typeof pki> {
      if (pki !== undefined) return pki;
      const ca = await createCertificateAuthority("kubeletauth-test-ca");
      const other = await createCertificateAuthority("kubeletauth-other-ca");
      pki = {
        ca,
        serving: await issueCertificate(ca, { commonName: "n1", ipAddresses: ["127.0.0.1"], usage: "server" }),
        admin: await issueCertificate(ca, { commonName: "kube-apiserver-kubelet-client", organizations: ["system:masters"], usage: "client" }),
        viewer: await issueCertificate(ca, { commonName: "viewer", usage: "client" }),
        stranger: await issueCertificate(other, { commonName: "kube-apiserver-kubelet-client", organizations: ["system:masters"], usage: "client" }),
      };
      return pki;
    }

    function get(url: string, client: CertificateAndKey | undefined, method = "GET", headers: Record<string, string> = {}): Promise<{ code: number; body: string }> {
      return new Promise((resolve, reject) => {
        const req = httpsRequest(url, { method, headers, ca: pki.ca.certPem, ...(client ? { cert: client.certPem, key: client.keyPem } : {}) }, (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString()));
          res.on("end", () => { resolve({ code: res.statusCode ?? 0, body }); });
        });
        req.on("upgrade", (res, socket) => {
          socket.destroy();
          resolve({ code: res.statusCode ?? 0, body: "" });
        });
        req.on("error", reject);
        req.end();
      });
    }

    it("answers 401 without credentials, 403 to a user the authorizer denies, and serves a verified client certificate's user", async () => {
      const { ca, serving, admin, viewer, stranger } = await certificates();
      const asked: string[] = [];
      const auth = new KubeletAuth({
        nodeName: "n1",
        anonymous: false,
        clientCertificates: true,
        accessReviewer: (a) => {
          asked.push(`${a.user.username ?? ""} ${a.verb} ${a.subresource}`);
          return Promise.resolve({ allowed: (a.user.groups ?? []).includes("system:masters"), reason: "" });
        },
      });
      const { base } = await start(true, { tls: { certPem: serving.certPem, keyPem: serving.keyPem, clientCaPem: ca.certPem }, auth });
      expect(base.startsWith("https://")).toBe(true);
      expect(await get(`${base}/pods`, undefined)).toEqual({ code: 401, body: "Unauthorized" });
      expect(await get(`${base}/healthz`, undefined)).toEqual({ code: 401, body: "Unauthorized" });
      expect(await get(`${base}/pods`, stranger)).toEqual({ code: 401, body: "Unauthorized" });
      const pods = await get(`${base}/pods`, admin);
      expect(pods.code).toBe(200);
      expect((JSON.parse(pods.body) as { kind: string }).kind).toBe("PodList");
      expect(await get(`${base}/stats/summary`, viewer)).toEqual({ code: 403, body: "Forbidden (user=viewer, verb=get, resource=nodes, subresource=stats)" });
      expect(asked).toEqual(["kube-apiserver-kubelet-client get proxy", "viewer get stats"]);
      // Streams are checked before they reach the runtime.
      const upgradeHeaders = { Connection: "Upgrade", Upgrade: "websocket" };
      expect(await get(`${base}/exec/default/web/app?command=ls&output=1`, undefined, "POST", upgradeHeaders)).toEqual({ code: 401, body: "Unauthorized" });
      expect(await get(`${base}/exec/default/web/app?command=ls&output=1`, viewer, "POST", upgradeHeaders)).toEqual({ code: 403, body: "Forbidden (user=viewer, verb=create, resource=nodes, subresource=proxy)" });
      expect((await get(`${base}/exec/default/web/app?command=ls&output=1`, admin, "POST", upgradeHeaders)).code).toBe(101);
    });
  });
});
