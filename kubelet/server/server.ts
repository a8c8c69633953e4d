// The kubelet's HTTP API on --port (10250), with Kubernetes' kubelet server paths: /healthz, /metrics, /pods,
// /containerLogs, /exec, /attach, /portForward, /stats/summary, /metrics/resource and /metrics/cadvisor. Streams are not served here:
// an exec, attach or port-forward asks the runtime (CRI Exec/Attach/PortForward) for a URL on its streaming
// server and forwards the client's upgraded connection there byte for byte, as Kubernetes' kubelet does when it
// proxies streams instead of redirecting, so whatever protocol the client and the runtime agree on (WebSocket
// channels, SPDY, port-forward tunnels) passes through. Errors are plain text with the status codes Kubernetes'
// kubelet uses; the apiserver turns them into Status objects.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { isAbsolute, join } from "node:path";
import type { Duplex } from "node:stream";
import type { Registry } from "../../component-base/metrics.js";
import type { CriClient } from "../../client/cri/client.js";
import type { Pod } from "../../api/types/index.js";
import type { ContainerStatus } from "../../api/types/core.js";
import type { Logger } from "../../component-base/logging.js";
import { healthHandler } from "../../component-base/server.js";
import { BackendDialError, proxyUpgrade } from "../../component-base/http-proxy.js";
import { GrpcStatus, isCriError } from "../../client/cri/errors.js";
import type * as cri from "../../client/cri/types.js";
import { CONTAINER_NAME_LABEL, CONTAINER_RESTART_COUNT_ANNOTATION, POD_UID_LABEL } from "../runtime-labels.js";
import type { KubeletAuth } from "./auth.js";
import { LogOptionsError, parseLogOptions, writeContainerLogs } from "./logs.js";
import { parseKubeletPath, parseStreamOptions, type KubeletRoute } from "./routes.js";
import { CgroupStatsProvider, type NodeUsageSample, type StatsProvider, type StatsSample } from "../stats/provider.js";
import { buildSummary, cadvisorMetricsText, CpuRates, resourceMetricsText, type Summary } from "./stats.js";

export interface KubeletServerOptions {
  address: string;
  port: number;
  nodeName: string;
  /** The pods bound to this node, as the kubelet knows them (status included). */
  pods(): readonly Readonly<Pod>[];
  runtime: CriClient;
  registry: Registry;
  logger: Logger;
  /** /healthz: false while the kubelet's sync loop is unhealthy. */
  healthy(): boolean;
  /** The node's own usage; the host's /proc figures by default. Used by the default stats provider only. */
  nodeUsage?: () => Promise<NodeUsageSample>;
  /** Where the resource figures come from; by default the containers' cgroups (CgroupStatsProvider over `runtime`). */
  stats?: StatsProvider;
  /** Where pod log directories live, for a runtime that reports log paths relative to them; /var/log/pods by default. */
  podLogsDirectory?: string;
  /** How often a followed log is polled for new lines (ms); 100 by default. */
  logPollIntervalMs?: number;
  /**
   * --tls-cert-file / --tls-private-key-file (PEM): serve HTTPS; `clientCaPem` (--client-ca-file) asks clients for
   * a certificate, verified against it. Without, plain HTTP (Kubernetes' kubelet would self-sign a pair instead).
   */
  tls?: { certPem: string; keyPem: string; clientCaPem?: string };
  /** Authentication and authorization of every request; everything is allowed without it. */
  auth?: KubeletAuth;
}

export interface KubeletServer {
  readonly port: number;
  close(): Promise<void>;
}

/** A refusal with the kubelet's status code and plain-text message. */
class KubeletError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = "KubeletError";
  }
}

const STATUS_TEXT: Record<number, string> = { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 422: "Unprocessable Entity", 500: "Internal Server Error", 502: "Bad Gateway" };

export async function startKubeletServer(options: KubeletServerOptions): Promise<KubeletServer> {
  const handler = new KubeletHandler(options);
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    void handler.serve(req, res);
  };
  const tls = options.tls;
  // A client certificate is asked for but not required: unverified ones are refused by the auth filter (401),
  // so a request with a bearer token, or an anonymous one, still gets through the handshake.
  const server: Server = tls
    ? createHttpsServer({ cert: tls.certPem, key: tls.keyPem, ...(tls.clientCaPem !== undefined ? { ca: tls.clientCaPem, requestCert: true, rejectUnauthorized: false } : {}) }, onRequest)
    : createServer(onRequest);
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    void handler.upgrade(req, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.address, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  options.logger.info({ address: options.address, port, scheme: tls ? "https" : "http" }, "Starting to listen");
  return {
    port,
    close: async () => {
      handler.closing.abort();
      server.closeAllConnections();
      for (const socket of handler.upgraded) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    },
  };
}

class KubeletHandler {
  readonly closing = new AbortController();
  readonly upgraded = new Set<Duplex>();
  private readonly rates = new CpuRates();
  private readonly startedMs = Date.now();
  private readonly health: ReturnType<typeof healthHandler>;
  private readonly stats: StatsProvider;

  constructor(private readonly options: KubeletServerOptions) {
    this.stats = options.stats ?? new CgroupStatsProvider({ runtime: options.runtime, ...(options.nodeUsage ? { nodeUsage: options.nodeUsage } : {}) });
    this.health = healthHandler("healthz", [{ name: "log", check: () => true }, { name: "syncloop", check: () => options.healthy() }], options.logger);
  }

  async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://kubelet");
    const route = parseKubeletPath(url.pathname);
    try {
      await this.checkAccess(req, url.pathname);
      if (route === undefined) throw new KubeletError(404, "404 page not found");
      if (route.kind === "healthz") {
        this.health(req, res);
        return;
      }
      if (route.kind === "exec" || route.kind === "attach" || route.kind === "portForward") throw new KubeletError(400, "Upgrade request required");
      if (req.method !== "GET" && req.method !== "HEAD") throw new KubeletError(405, "Method Not Allowed");
      await this.serveGet(route, url.searchParams, res);
    } catch (err) {
      this.fail(res, err);
    }
  }

  private async serveGet(route: Exclude<KubeletRoute, { kind: "healthz" | "exec" | "attach" | "portForward" }>, query: URLSearchParams, res: ServerResponse): Promise<void> {
    switch (route.kind) {
      case "metrics": {
        const text = await this.options.registry.metrics();
        send(res, 200, this.options.registry.contentType, text);
        return;
      }
      case "pods":
        send(res, 200, "application/json", JSON.stringify({ kind: "PodList", apiVersion: "v1", metadata: {}, items: this.options.pods() }));
        return;
      case "statsSummary":
        send(res, 200, "application/json", JSON.stringify((await this.summary()).summary));
        return;
      case "metricsResource": {
        const { summary, failed } = await this.summary();
        send(res, 200, "text/plain; version=0.0.4; charset=utf-8", resourceMetricsText(summary, failed));
        return;
      }
      case "metricsCadvisor":
        send(res, 200, "text/plain; version=0.0.4; charset=utf-8", cadvisorMetricsText(await this.sample()));
        return;
      case "containerLogs":
        await this.containerLogs(route, query, res);
        return;
    }
  }

  private sample(): Promise<StatsSample> {
    return this.stats.sample();
  }

  private async summary(): Promise<{ summary: Summary; failed: boolean }> {
    const sample = await this.sample();
    if (sample.failed) this.options.logger.warn("Failed to list the containers for their stats");
    const summary = buildSummary({ nodeName: this.options.nodeName, nodeStartTimeMs: this.startedMs, pods: this.options.pods(), sample, rates: this.rates });
    return { summary, failed: sample.failed };
  }

  private findPod(namespace: string, name: string, uid?: string): Readonly<Pod> {
    const pod = this.options.pods().find((p) => p.metadata.namespace === namespace && p.metadata.name === name && (uid === undefined || p.metadata.uid === uid));
    if (!pod) throw new KubeletError(404, `pod "${name}" does not exist`);
    return pod;
  }

  private async containersOf(pod: Readonly<Pod>, container: string): Promise<cri.Container[]> {
    const found = await this.options.runtime.listContainers({ labelSelector: { [POD_UID_LABEL]: pod.metadata.uid ?? "", [CONTAINER_NAME_LABEL]: container } });
    return sortNewestFirst(found);
  }

  private async containerLogs(route: { namespace: string; pod: string; container: string }, query: URLSearchParams, res: ServerResponse): Promise<void> {
    const pod = this.findPod(route.namespace, route.pod);
    const specs = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? []), ...((pod.spec as { ephemeralContainers?: { name: string }[] } | undefined)?.ephemeralContainers ?? [])];
    if (!specs.some((c) => c.name === route.container)) throw new KubeletError(404, `container "${route.container}" not found in pod "${route.pod}"`);
    let options;
    try {
      options = parseLogOptions(query, Date.now());
    } catch (err) {
      // Kubernetes' kubelet answers these with fixed texts; the apiserver has already given the details.
      if (err instanceof LogOptionsError) throw err.kind === "decode" ? new KubeletError(400, '{"message": "Unable to decode query."}') : new KubeletError(422, '{"message": "Invalid request."}');
      throw err;
    }
    const statuses = [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])];
    const selected = selectLogContainer(await this.containersOf(pod, route.container), statuses.find((s) => s.name === route.container), options.previous, route);
    if ("error" in selected) throw new KubeletError(400, selected.error);
    const { status } = await this.options.runtime.containerStatus(selected.id);
    const path = isAbsolute(status.logPath)
      ? status.logPath
      : join(this.options.podLogsDirectory ?? "/var/log/pods", `${route.namespace}_${route.pod}_${pod.metadata.uid ?? ""}`, status.logPath);
    res.writeHead(200, { "Content-Type": "text/plain", "Cache-Control": "no-cache, private" });
    res.flushHeaders();
    const gone = new AbortController();
    const abort = (): void => { gone.abort(); };
    res.once("close", abort);
    this.closing.signal.addEventListener("abort", abort, { once: true });
    try {
      const pollIntervalMs = this.options.logPollIntervalMs ?? 100;
      await writeContainerLogs(path, options, res, {
        signal: gone.signal,
        pollIntervalMs,
        runningCheckIntervalMs: Math.max(pollIntervalMs, 500),
        isRunning: async () => (await this.options.runtime.containerStatus(selected.id)).status.state === "CONTAINER_RUNNING",
      });
    } finally {
      this.closing.signal.removeEventListener("abort", abort);
      res.end();
    }
  }

  async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? "/", "http://kubelet");
    const route = parseKubeletPath(url.pathname);
    socket.on("error", () => undefined);
    try {
      await this.checkAccess(req, url.pathname);
      if (route === undefined) throw new KubeletError(404, "404 page not found");
      const target = await this.streamUrl(route, url.searchParams);
      this.upgraded.add(socket);
      socket.once("close", () => this.upgraded.delete(socket));
      await proxyUpgrade(req, socket, head, target);
    } catch (err) {
      const { code, message } = this.describe(err);
      socket.end(`HTTP/1.1 ${code} ${STATUS_TEXT[code] ?? "Error"}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(message)}\r\nConnection: close\r\n\r\n${message}`);
    }
  }

  /** The auth filter in front of every path of this port: throws the 401, 403 or 500 the kubelet answers. */
  private async checkAccess(req: IncomingMessage, path: string): Promise<void> {
    const auth = this.options.auth;
    if (!auth) return;
    const verdict = await auth.check(req, path);
    if (verdict.ok) return;
    const level = verdict.code === 500 ? "error" : "info";
    this.options.logger[level]({ path, method: req.method, code: verdict.code, reason: verdict.reason }, verdict.code === 401 ? "Unable to authenticate the request" : verdict.message);
    throw new KubeletError(verdict.code, verdict.message);
  }

  /** The runtime's streaming URL for an exec, attach or port-forward route. */
  private async streamUrl(route: KubeletRoute, query: URLSearchParams): Promise<URL> {
    const runtime = this.options.runtime;
    if (route.kind === "exec" || route.kind === "attach") {
      const pod = this.findPod(route.namespace, route.pod, route.uid);
      const streams = parseStreamOptions(query);
      const running = (await this.containersOf(pod, route.container)).find((c) => c.state === "CONTAINER_RUNNING");
      if (!running) throw new KubeletError(500, `container not found ("${route.container}")`);
      if (route.kind === "exec") {
        if (streams.command.length === 0) throw new KubeletError(400, "you must specify at least 1 command");
        return new URL(await runtime.exec({ containerId: running.id, cmd: streams.command, tty: streams.tty, stdin: streams.stdin, stdout: streams.stdout, stderr: streams.stderr }));
      }
      return new URL(await runtime.attach({ containerId: running.id, tty: streams.tty, stdin: streams.stdin, stdout: streams.stdout, stderr: streams.stderr }));
    }
    if (route.kind === "portForward") {
      const pod = this.findPod(route.namespace, route.pod, route.uid);
      const sandboxes = await runtime.listPodSandbox({ labelSelector: { [POD_UID_LABEL]: pod.metadata.uid ?? "" } });
      const ready = sandboxes.filter((s) => s.state === "SANDBOX_READY").sort((a, b) => Number(b.createdAt - a.createdAt))[0];
      if (!ready) throw new KubeletError(500, `failed to find sandbox for pod "${route.pod}"`);
      // The ports travel in the query (?port=80&port=443), as in Kubernetes' kubelet; the runtime's URL gets them too.
      const ports = query.getAll("port").map(Number).filter((p) => Number.isInteger(p) && p > 0 && p < 65536);
      const url = new URL(await runtime.portForward({ podSandboxId: ready.id, port: ports }));
      for (const p of ports) url.searchParams.append("port", String(p));
      return url;
    }
    throw new KubeletError(400, "Upgrade request required");
  }

  private describe(err: unknown): { code: number; message: string } {
    if (err instanceof KubeletError) return { code: err.code, message: err.message };
    if (err instanceof BackendDialError) return { code: 502, message: `error dialing backend: ${err.message}` };
    if (isCriError(err)) return { code: err.code === GrpcStatus.NOT_FOUND ? 404 : 500, message: err.message };
    this.options.logger.error({ err: String(err) }, "Kubelet server request failed");
    return { code: 500, message: err instanceof Error ? err.message : String(err) };
  }

  private fail(res: ServerResponse, err: unknown): void {
    const { code, message } = this.describe(err);
    if (res.headersSent) {
      res.end();
      return;
    }
    send(res, code, "text/plain; charset=utf-8", message);
  }
}

function send(res: ServerResponse, code: number, contentType: string, body: string): void {
  res.writeHead(code, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

function restartCountOf(c: cri.Container): number {
  const n = Number(c.annotations[CONTAINER_RESTART_COUNT_ANNOTATION] ?? c.metadata.attempt);
  return Number.isFinite(n) ? n : c.metadata.attempt;
}

/** Newest first: by restart count (the kubelet's attempt), then creation time. */
export function sortNewestFirst(containers: readonly cri.Container[]): cri.Container[] {
  return [...containers].sort((a, b) => restartCountOf(b) - restartCountOf(a) || Number(b.createdAt - a.createdAt));
}

/**
 * Which runtime container a log request reads, as Kubernetes' kubelet picks it from the container's status: the
 * current instance (running, or the last to have run), or with `previous` the one before it. While the container
 * waits to be restarted (CrashLoopBackOff), the last exited instance is both. `containers` is newest first.
 */
export function selectLogContainer(
  containers: readonly cri.Container[],
  status: ContainerStatus | undefined,
  previous: boolean,
  names: { pod: string; container: string },
): { id: string } | { error: string } {
  const [newest, before] = containers;
  const exited = (c: cri.Container | undefined): c is cri.Container => c?.state === "CONTAINER_EXITED";
  if (previous) {
    const waitingToRestart = status?.state?.waiting !== undefined || (status?.state === undefined && status?.lastState?.terminated !== undefined);
    const candidate = exited(newest) && waitingToRestart ? newest : before;
    if (!exited(candidate)) return { error: `previous terminated container "${names.container}" in pod "${names.pod}" not found` };
    return { id: candidate.id };
  }
  if (newest) return { id: newest.id };
  const reason = status?.state?.waiting?.reason;
  if (reason === "ErrImagePull") return { error: `container "${names.container}" in pod "${names.pod}" is waiting to start: image can't be pulled` };
  if (reason === "ImagePullBackOff") return { error: `container "${names.container}" in pod "${names.pod}" is waiting to start: trying and failing to pull image` };
  if (status?.state?.terminated !== undefined) return { error: `container "${names.container}" in pod "${names.pod}" is terminated` };
  return { error: `container "${names.container}" in pod "${names.pod}" is waiting to start: ${reason ?? "ContainerCreating"}` };
}
