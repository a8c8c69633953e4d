// The REST client (client-go's rest + dynamic client): typed HTTP to the apiserver over node:http(s) with a
// keep-alive agent. Paths come from ResourceInfo (/api/v1/... for the core group, /apis/<group>/<version>/...
// otherwise; namespaced or not). Every request passes a client-side token bucket first.
//
// Errors: a non-2xx reply throws a StatusError (ExpiredError for 410) carrying the server's code, reason, message
// and details, so callers branch on `err.reason`/`err.code`; no HTTP answer at all throws ConnectionError; an
// aborted signal rejects with the signal's reason.
//
// node:http rather than global fetch: fetch cannot take a custom CA, client certificate or insecure-skip-tls-verify
// without undici's Agent (not a dependency), and http.Agent gives us an explicit, unbounded keep-alive pool, which
// long-running watches need so they never starve ordinary requests of sockets.
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { StatusError } from "../api/errors.js";
import { isKubeObject, isRecord, type KubeList, type KubeObject, type LabelSelector, type Status, type WatchEvent } from "../api/meta.js";
import { apiVersionOf, qualifiedResource, RESOURCES, type ResourceInfo } from "../api/resources.js";
import { realClock, type Clock } from "../component-base/clock.js";
import type { Logger } from "../component-base/logging.js";
import { counter, histogram, type Registry } from "../component-base/metrics.js";
import { ConnectionError, asStatus, genericResponseError, statusErrorFrom } from "./errors.js";
import { TokenBucket, unlimited, type RateLimiter } from "./flowcontrol.js";
import type { ClientConfig } from "./kubeconfig.js";
import { decodeWatchEvents, WatchDecodeError } from "./watch-decoder.js";

export interface RestClientOptions {
  /** Requests per second; <= 0 disables client-side limiting. Default 50 (client-go's 5 is lifted for the lab). */
  qps?: number;
  /** Default 100. */
  burst?: number;
  /** Sent as User-Agent; default "kubelab". Set it to the component name. */
  userAgent?: string;
  /** Per request (not for watches); 0 means none. Default 0, like client-go. */
  timeoutMs?: number;
  /** How many times a 429/5xx with Retry-After is retried (client-go: 10). */
  maxRetries?: number;
  /**
   * Sockets per host for ordinary requests (default 256: beyond that, opening connections costs more than
   * queueing). Watches use a separate, unbounded pool, so long-lived watches never starve requests of sockets.
   */
  maxSockets?: number;
  clock?: Clock;
  metrics?: RestClientMetrics;
  logger?: Logger;
  /** Replace the token bucket (tests). */
  rateLimiter?: RateLimiter;
  /**
   * Where the bearer token comes from when it changes over time (client-go's oauth2 token source on the
   * transport): asked before every attempt, it wins over config.token. It caches and refreshes on its own.
   */
  tokenSource?: TokenSource;
}

/** A bearer token that may be renewed, such as a service account's token from the TokenRequest API. */
export interface TokenSource {
  token(signal?: AbortSignal): Promise<string>;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface ListOptions extends RequestOptions {
  labelSelector?: string | LabelSelector;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: "Exact" | "NotOlderThan";
  timeoutSeconds?: number;
}

export interface WatchOptions extends RequestOptions {
  labelSelector?: string | LabelSelector;
  fieldSelector?: string;
  resourceVersion?: string;
  allowWatchBookmarks?: boolean;
  /** The server ends the watch cleanly after this long. */
  timeoutSeconds?: number;
}

export interface WriteOptions extends RequestOptions {
  fieldManager?: string;
  dryRun?: boolean;
}

export type PatchType = "merge" | "strategic" | "json" | "apply";

export interface PatchOptions extends WriteOptions {
  /** Server-side apply: take ownership of conflicting fields. */
  force?: boolean;
  /** e.g. "status" or "scale". */
  subresource?: string;
}

export interface DeleteOptions extends RequestOptions {
  propagationPolicy?: "Foreground" | "Background" | "Orphan";
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export interface DeleteCollectionOptions extends DeleteOptions {
  labelSelector?: string | LabelSelector;
  fieldSelector?: string;
}

/** autoscaling/v1 Scale, the body of the scale subresource. */
export interface Scale extends KubeObject {
  spec?: { replicas?: number };
  status?: { replicas: number; selector?: string };
}

/** What raw() returns: the decoded JSON body, or the text when the reply is not JSON. */
export interface RawResponse {
  code: number;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** A response body that is not what the verb promises (e.g. a GET that returned no object). */
export class UnexpectedResponseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnexpectedResponseError";
  }
}

/** Observes requests for Prometheus; see restClientMetrics(). */
export interface RestClientMetrics {
  request(verb: string, host: string, code: string, seconds: number): void;
  rateLimiterWait(verb: string, host: string, seconds: number): void;
}

/** client-go's rest_client_* metrics on a registry. */
export function restClientMetrics(registry: Registry): RestClientMetrics {
  const total = counter(registry, { name: "rest_client_requests_total", help: "Number of HTTP requests, partitioned by status code, method, and host.", labelNames: ["code", "method", "host"] });
  const latency = histogram(registry, {
    name: "rest_client_request_duration_seconds",
    help: "Request latency in seconds. Broken down by verb, and host.",
    labelNames: ["verb", "host"],
    buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
  });
  const limiter = histogram(registry, {
    name: "rest_client_rate_limiter_duration_seconds",
    help: "Client side rate limiter latency in seconds. Broken down by verb, and host.",
    labelNames: ["verb", "host"],
    buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
  });
  return {
    request: (verb, host, code, seconds) => {
      total.inc({ code, method: verb, host });
      latency.observe({ verb, host }, seconds);
    },
    rateLimiterWait: (verb, host, seconds) => {
      limiter.observe({ verb, host }, seconds);
    },
  };
}

const CONTENT_TYPES: Readonly<Record<PatchType, string>> = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
  apply: "application/apply-patch+yaml",
};

const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);

/** `/api/v1/namespaces/ns/pods/web/status`: a namespace is used only for namespaced resources. */
export function resourcePath(info: ResourceInfo, namespace?: string, name?: string, subresource?: string): string {
  let path = info.group === "" ? `/api/${info.version}` : `/apis/${info.group}/${info.version}`;
  if (info.namespaced && namespace) path += `/namespaces/${encodeURIComponent(namespace)}`;
  path += `/${info.resource}`;
  if (name !== undefined) {
    if (name === "") throw new Error(`resource name may not be empty (${qualifiedResource(info)})`);
    path += `/${encodeURIComponent(name)}`;
  }
  if (subresource) path += `/${subresource}`;
  return path;
}

/** A LabelSelector in the query-string syntax: "app=web,tier in (a,b),!legacy". */
export function formatLabelSelector(selector: string | LabelSelector): string {
  if (typeof selector === "string") return selector;
  const parts: string[] = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const req of selector.matchExpressions ?? []) {
    const values = [...(req.values ?? [])].sort().join(",");
    switch (req.operator) {
      case "In":
        parts.push(`${req.key} in (${values})`);
        break;
      case "NotIn":
        parts.push(`${req.key} notin (${values})`);
        break;
      case "Exists":
        parts.push(req.key);
        break;
      case "DoesNotExist":
        parts.push(`!${req.key}`);
        break;
    }
  }
  return parts.join(",");
}

const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;

interface SendOptions {
  verb: string;
  /** "pods web", for generic error messages. */
  what: string;
  query?: URLSearchParams;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal | undefined;
  /** Return the response unread (watch); a non-2xx reply is still read and thrown. */
  stream?: boolean;
}

interface Reply {
  code: number;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export class RestClient {
  readonly config: ClientConfig;
  private readonly base: URL;
  /** Per-request constants derived from `base` once (requests are hot: the scheduler binds every pod). */
  private readonly basePath: string;
  private readonly protocol: string;
  private readonly hostname: string;
  private readonly port: string;
  private readonly origin: string;
  private readonly request: typeof httpRequest;
  private readonly agent: HttpAgent;
  private readonly watchAgent: HttpAgent;
  private readonly limiter: RateLimiter;
  private readonly clock: Clock;
  private readonly userAgent: string;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly metrics: RestClientMetrics | undefined;
  private readonly logger: Logger | undefined;
  private readonly tokenSource: TokenSource | undefined;

  constructor(config: ClientConfig, opts: RestClientOptions = {}) {
    this.config = config;
    this.base = new URL(config.server);
    this.basePath = this.base.pathname.replace(/\/+$/, "");
    this.protocol = this.base.protocol;
    this.hostname = this.base.hostname.replace(/^\[|\]$/g, "");
    this.port = this.base.port;
    this.origin = `${this.base.protocol}//${this.base.host}`;
    this.request = this.base.protocol === "https:" ? httpsRequest : httpRequest;
    this.clock = opts.clock ?? realClock;
    const qps = opts.qps ?? 50;
    this.limiter = opts.rateLimiter ?? (qps > 0 ? new TokenBucket(qps, Math.max(1, opts.burst ?? 100), this.clock) : unlimited);
    this.userAgent = opts.userAgent ?? "kubelab";
    this.timeoutMs = opts.timeoutMs ?? 0;
    this.maxRetries = opts.maxRetries ?? 10;
    this.metrics = opts.metrics;
    this.logger = opts.logger;
    this.tokenSource = opts.tokenSource;
    const makeAgent = (maxSockets: number): HttpAgent => {
      const agentOptions = { keepAlive: true, maxSockets, maxFreeSockets: 256, scheduling: "lifo" as const };
      return this.base.protocol === "https:"
        ? new HttpsAgent({
            ...agentOptions,
            rejectUnauthorized: !config.insecureSkipTLSVerify,
            ...(config.caData !== undefined ? { ca: config.caData } : {}),
            ...(config.clientCertData !== undefined ? { cert: config.clientCertData } : {}),
            ...(config.clientKeyData !== undefined ? { key: config.clientKeyData } : {}),
          })
        : new HttpAgent(agentOptions);
    };
    this.agent = makeAgent(opts.maxSockets ?? 256);
    this.watchAgent = makeAgent(Infinity);
  }

  /** Closes pooled sockets (in-flight requests and watches are destroyed too). */
  close(): void {
    this.agent.destroy();
    this.watchAgent.destroy();
  }

  async get<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, name: string, opts: RequestOptions & { resourceVersion?: string; subresource?: string } = {}): Promise<T> {
    const query = new URLSearchParams();
    if (opts.resourceVersion !== undefined) query.set("resourceVersion", opts.resourceVersion);
    const reply = await this.send("GET", resourcePath(info, this.ns(info, namespace, "get"), name, opts.subresource), {
      verb: "get",
      what: `${qualifiedResource(info)} ${name}`,
      query,
      signal: opts.signal,
    });
    return expectObject<T>(reply.body, "get");
  }

  /** One page (or the whole list when the server does not paginate). A namespaced list without namespace spans all. */
  async list<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, opts: ListOptions = {}): Promise<KubeList<T>> {
    const query = listQuery(opts);
    const reply = await this.send("GET", resourcePath(info, namespace), { verb: "list", what: qualifiedResource(info), query, signal: opts.signal });
    const list = expectList<T>(reply.body);
    // Lists leave kind/apiVersion off their items; fill them so items are self-describing like watch objects.
    for (const item of list.items) {
      item.apiVersion ??= apiVersionOf(info);
      item.kind ??= info.kind;
    }
    return list;
  }

  /** Follows continue tokens (pages of `limit`, default 500) and returns every item with the first page's RV. */
  async listAll<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, opts: ListOptions = {}): Promise<KubeList<T>> {
    const first = await this.list<T>(info, namespace, { limit: 500, ...opts });
    const items = [...first.items];
    let token = first.metadata.continue;
    // Later pages carry only the continue token: it pins the first page's resourceVersion.
    const rest: ListOptions = { limit: opts.limit ?? 500 };
    if (opts.labelSelector !== undefined) rest.labelSelector = opts.labelSelector;
    if (opts.fieldSelector !== undefined) rest.fieldSelector = opts.fieldSelector;
    if (opts.signal !== undefined) rest.signal = opts.signal;
    while (token) {
      const page = await this.list<T>(info, namespace, { ...rest, continue: token });
      items.push(...page.items);
      token = page.metadata.continue;
    }
    const metadata = { ...first.metadata };
    delete metadata.continue;
    delete metadata.remainingItemCount;
    return { ...first, metadata, items };
  }

  async create<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, obj: T, opts: WriteOptions = {}): Promise<T> {
    const ns = this.ns(info, namespace ?? obj.metadata.namespace, "create");
    const reply = await this.send("POST", resourcePath(info, ns), {
      verb: "create",
      what: qualifiedResource(info),
      query: writeQuery(opts),
      body: withTypeMeta(info, obj),
      signal: opts.signal,
    });
    return expectObject<T>(reply.body, "create");
  }

  /** PUT of the whole object; its metadata.resourceVersion makes it conditional (409 Conflict when stale). */
  update<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.put(info, namespace, obj, undefined, opts);
  }

  updateStatus<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, obj: T, opts: WriteOptions = {}): Promise<T> {
    return this.put(info, namespace, obj, "status", opts);
  }

  private async put<T extends KubeObject>(info: ResourceInfo, namespace: string | undefined, obj: T, subresource: string | undefined, opts: WriteOptions): Promise<T> {
    const name = obj.metadata.name;
    if (!name) throw new Error(`update of ${qualifiedResource(info)} needs metadata.name`);
    const ns = this.ns(info, namespace ?? obj.metadata.namespace, "update");
    const reply = await this.send("PUT", resourcePath(info, ns, name, subresource), {
      verb: "update",
      what: `${qualifiedResource(info)} ${name}`,
      query: writeQuery(opts),
      body: withTypeMeta(info, obj),
      signal: opts.signal,
    });
    return expectObject<T>(reply.body, "update");
  }

  /**
   * `body` is the patch document: an object for merge/strategic/apply, an array of operations for json. Apply
   * sends JSON, which is valid YAML, with the apply-patch+yaml content type.
   */
  async patch<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, name: string, patchType: PatchType, body: unknown, opts: PatchOptions = {}): Promise<T> {
    const query = writeQuery(opts);
    if (opts.force !== undefined) query.set("force", String(opts.force));
    const reply = await this.send("PATCH", resourcePath(info, this.ns(info, namespace, "patch"), name, opts.subresource), {
      verb: "patch",
      what: `${qualifiedResource(info)} ${name}`,
      query,
      body,
      contentType: CONTENT_TYPES[patchType],
      signal: opts.signal,
    });
    return expectObject<T>(reply.body, "patch");
  }

  /** Returns the object as the server left it (e.g. with deletionTimestamp while finalizers run) or a Success Status. */
  async delete<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<T | Status> {
    const reply = await this.send("DELETE", resourcePath(info, this.ns(info, namespace, "delete"), name), {
      verb: "delete",
      what: `${qualifiedResource(info)} ${name}`,
      body: deleteOptionsBody(opts),
      signal: opts.signal,
    });
    const status = asStatus(reply.body);
    return status ?? expectObject<T>(reply.body, "delete");
  }

  async deleteCollection<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, opts: DeleteCollectionOptions = {}): Promise<KubeList<T> | Status> {
    const query = new URLSearchParams();
    if (opts.labelSelector !== undefined) query.set("labelSelector", formatLabelSelector(opts.labelSelector));
    if (opts.fieldSelector !== undefined) query.set("fieldSelector", opts.fieldSelector);
    const reply = await this.send("DELETE", resourcePath(info, namespace), {
      verb: "deletecollection",
      what: qualifiedResource(info),
      query,
      body: deleteOptionsBody(opts),
      signal: opts.signal,
    });
    return asStatus(reply.body) ?? expectList<T>(reply.body);
  }

  /** The scheduler's bind: POST pods/<name>/binding with a v1 Binding targeting the node. */
  async bind(namespace: string, podName: string, nodeName: string, opts: RequestOptions & { uid?: string } = {}): Promise<void> {
    const binding = {
      apiVersion: "v1",
      kind: "Binding",
      metadata: { name: podName, namespace, ...(opts.uid !== undefined ? { uid: opts.uid } : {}) },
      target: { apiVersion: "v1", kind: "Node", name: nodeName },
    };
    await this.send("POST", resourcePath(PODS, namespace, podName, "binding"), { verb: "create", what: `pods/binding ${podName}`, body: binding, signal: opts.signal });
  }

  async getScale(info: ResourceInfo, namespace: string | undefined, name: string, opts: RequestOptions = {}): Promise<Scale> {
    const reply = await this.send("GET", resourcePath(info, this.ns(info, namespace, "get"), name, "scale"), {
      verb: "get",
      what: `${qualifiedResource(info)} ${name}`,
      signal: opts.signal,
    });
    return expectObject<Scale>(reply.body, "get scale");
  }

  async updateScale(info: ResourceInfo, namespace: string | undefined, name: string, scale: Scale, opts: WriteOptions = {}): Promise<Scale> {
    const body: Scale = { ...scale, apiVersion: "autoscaling/v1", kind: "Scale", metadata: { ...scale.metadata, name } };
    const reply = await this.send("PUT", resourcePath(info, this.ns(info, namespace, "update"), name, "scale"), {
      verb: "update",
      what: `${qualifiedResource(info)} ${name}`,
      query: writeQuery(opts),
      body,
      signal: opts.signal,
    });
    return expectObject<Scale>(reply.body, "update scale");
  }

  /**
   * Starts a watch. Resolves once the server accepted it (a refused watch, e.g. 410 for a too-old
   * resourceVersion, rejects here with the StatusError); then iterate the stream for events. See WatchStream.
   */
  async watch<T extends KubeObject = KubeObject>(info: ResourceInfo, namespace: string | undefined, opts: WatchOptions = {}): Promise<WatchStream<T>> {
    const query = new URLSearchParams({ watch: "true" });
    if (opts.labelSelector !== undefined) query.set("labelSelector", formatLabelSelector(opts.labelSelector));
    if (opts.fieldSelector !== undefined) query.set("fieldSelector", opts.fieldSelector);
    if (opts.resourceVersion !== undefined) query.set("resourceVersion", opts.resourceVersion);
    if (opts.allowWatchBookmarks) query.set("allowWatchBookmarks", "true");
    if (opts.timeoutSeconds !== undefined) query.set("timeoutSeconds", String(Math.floor(opts.timeoutSeconds)));
    const controller = new AbortController();
    const onAbort = (): void => {
      controller.abort(opts.signal?.reason);
    };
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      const res = await this.sendStream("GET", resourcePath(info, namespace), { verb: "watch", what: qualifiedResource(info), query, signal: controller.signal });
      return new WatchStream<T>(res, `${this.config.server}${resourcePath(info, namespace)}?${query.toString()}`, controller, () => {
        opts.signal?.removeEventListener("abort", onAbort);
      });
    } catch (err) {
      opts.signal?.removeEventListener("abort", onAbort);
      throw err;
    }
  }

  /** Any request by path (e.g. "/version", "/healthz"); non-2xx still throws StatusError. */
  async raw(method: string, path: string, body?: unknown, opts: RequestOptions & { contentType?: string } = {}): Promise<RawResponse> {
    const url = new URL(path, "http://placeholder");
    const reply = await this.send(method.toUpperCase(), url.pathname, {
      verb: method.toLowerCase(),
      what: url.pathname,
      query: url.searchParams,
      body,
      ...(opts.contentType !== undefined ? { contentType: opts.contentType } : {}),
      signal: opts.signal,
    });
    return reply;
  }

  private ns(info: ResourceInfo, namespace: string | undefined, verb: string): string | undefined {
    if (!info.namespaced) return undefined;
    if (!namespace) throw new Error(`${verb} of namespaced ${qualifiedResource(info)} needs a namespace`);
    return namespace;
  }

  private async send(method: string, path: string, opts: SendOptions): Promise<Reply> {
    const { res, body } = await this.exchange(method, path, opts);
    return { code: res.statusCode ?? 0, headers: res.headers, body };
  }

  private async sendStream(method: string, path: string, opts: SendOptions): Promise<IncomingMessage> {
    return (await this.exchange(method, path, { ...opts, stream: true })).res;
  }

  /**
   * Rate limit, send, retry on Retry-After and on a reset of a reused keep-alive socket. Resolves with a 2xx
   * response (its body read and decoded into `body`, unless streaming), or throws the error a non-2xx reply describes.
   */
  private async exchange(method: string, path: string, opts: SendOptions): Promise<{ res: IncomingMessage; body?: unknown }> {
    const query = opts.query?.toString() ?? "";
    const fullPath = `${this.basePath}${path}${query ? `?${query}` : ""}`;
    const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body), "utf8");
    const host = this.base.host;
    for (let attempt = 0; ; attempt++) {
      const waited = await this.limiter.wait(opts.signal);
      this.metrics?.rateLimiterWait(opts.verb, host, waited / 1000);
      if (waited > 1000) this.logger?.debug({ verb: opts.verb, path, waitedMs: Math.round(waited) }, "Waited for client-side throttling");
      const started = this.clock.now();
      let res: IncomingMessage;
      try {
        const token = this.tokenSource ? await this.tokenSource.token(opts.signal) : this.config.token;
        res = await this.dispatch(method, fullPath, payload, token, opts);
      } catch (err) {
        this.metrics?.request(opts.verb, host, "<error>", (this.clock.now() - started) / 1000);
        if (opts.signal?.aborted) throw abortReason(opts.signal);
        if (err instanceof RetryableReset && attempt < this.maxRetries) continue;
        throw err instanceof RetryableReset ? err.connectionError : err;
      }
      const code = res.statusCode ?? 0;
      this.metrics?.request(opts.verb, host, String(code), (this.clock.now() - started) / 1000);
      this.logger?.trace({ verb: opts.verb, path, code, ms: this.clock.now() - started }, "HTTP request");
      if (code >= 200 && code < 300 && opts.stream) return { res };
      const text = await readBody(res, method, fullPath);
      if (code >= 200 && code < 300) {
        // A 2xx Status that is not Success is an error too (kubectl's rule). The body is decoded once, here.
        const body = decodeBody(res.headers, text);
        const status = asStatus(body);
        if (status?.status === "Failure") throw statusErrorFrom(status, code);
        return { res, body };
      }
      const retryAfter = retryAfterMs(res.headers);
      if ((code === 429 || code >= 500) && retryAfter !== undefined && attempt < this.maxRetries) {
        this.logger?.debug({ verb: opts.verb, path, code, retryAfterMs: retryAfter }, "Server asked to retry");
        if (!(await this.clock.sleep(retryAfter, opts.signal))) throw abortReason(opts.signal);
        continue;
      }
      const status = asStatus(decodeBody(res.headers, text));
      throw status ? statusErrorFrom(status, code) : genericResponseError(code, opts.verb, opts.what, text);
    }
  }

  private dispatch(method: string, path: string, payload: Buffer | undefined, token: string | undefined, opts: SendOptions): Promise<IncomingMessage> {
    const headers: Record<string, string | number> = { Accept: "application/json", "User-Agent": this.userAgent };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (payload) {
      headers["Content-Type"] = opts.contentType ?? "application/json";
      headers["Content-Length"] = payload.length;
    }
    const timeout = !opts.stream && this.timeoutMs > 0 ? AbortSignal.timeout(this.timeoutMs) : undefined;
    const signal = opts.signal && timeout ? AbortSignal.any([opts.signal, timeout]) : (opts.signal ?? timeout);
    const request = this.request;
    const url = `${this.origin}${path}`;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({
        protocol: this.protocol,
        hostname: this.hostname,
        port: this.port,
        path,
        method,
        headers,
        agent: opts.stream ? this.watchAgent : this.agent,
        ...(signal ? { signal } : {}),
      });
      req.once("response", resolve);
      req.once("error", (err) => {
        const connErr = new ConnectionError(method, url, isTimeout(signal) ? Object.assign(new Error("request timed out"), { code: "ETIMEDOUT" }) : err);
        // A server may close an idle keep-alive socket just as we reuse it; nothing was processed, so an idempotent
        // request is safe to send again (what Go's net/http does).
        if (req.reusedSocket && isReset(err) && IDEMPOTENT.has(method)) reject(new RetryableReset(connErr));
        else reject(connErr);
      });
      req.end(payload);
    });
  }
}

class RetryableReset extends Error {
  constructor(readonly connectionError: ConnectionError) {
    super(connectionError.message);
  }
}

function isReset(err: unknown): boolean {
  return isRecord(err) && (err.code === "ECONNRESET" || err.code === "EPIPE");
}

function isTimeout(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true && signal.reason instanceof DOMException && signal.reason.name === "TimeoutError";
}

function abortReason(signal: AbortSignal | undefined): unknown {
  return signal?.reason ?? new DOMException("This operation was aborted", "AbortError");
}

function readBody(res: IncomingMessage, method: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (chunk: Buffer) => chunks.push(chunk));
    res.once("end", () => {
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
    res.once("error", (err) => {
      reject(new ConnectionError(method, path, err));
    });
    // Settles the promise even if a broken connection ends the response without an 'error' event.
    res.once("close", () => {
      if (!res.complete) reject(new ConnectionError(method, path, Object.assign(new Error("connection closed before the response completed"), { code: "ECONNRESET" })));
    });
  });
}

function decodeBody(headers: IncomingHttpHeaders, text: string): unknown {
  if (text === "") return undefined;
  const type = headers["content-type"] ?? "";
  if (type.includes("json") || /^\s*[{[]/.test(text)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

function retryAfterMs(headers: IncomingHttpHeaders): number | undefined {
  const value = headers["retry-after"];
  if (value === undefined) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the one place a body becomes the caller's T
function expectObject<T extends KubeObject>(body: unknown, verb: string): T {
  // The client checks the envelope (an object with metadata); the resource's fields are the caller's contract (T).
  if (!isKubeObject(body)) throw new UnexpectedResponseError(`${verb}: the server returned no object`);
  return body as T;
}

function expectList<T extends KubeObject>(body: unknown): KubeList<T> {
  if (!isRecord(body) || !Array.isArray(body.items)) throw new UnexpectedResponseError("list: the server returned no list");
  const items: unknown[] = body.items;
  if (!items.every(isKubeObject)) throw new UnexpectedResponseError("list: an item has no metadata");
  const metadata = isRecord(body.metadata) ? body.metadata : {};
  const list: KubeList<T> = { metadata, items: items as T[] };
  if (typeof body.apiVersion === "string") list.apiVersion = body.apiVersion;
  if (typeof body.kind === "string") list.kind = body.kind;
  return list;
}

function withTypeMeta<T extends KubeObject>(info: ResourceInfo, obj: T): T {
  if (obj.apiVersion !== undefined && obj.kind !== undefined) return obj;
  return { ...obj, apiVersion: obj.apiVersion ?? apiVersionOf(info), kind: obj.kind ?? info.kind };
}

function listQuery(opts: ListOptions): URLSearchParams {
  const query = new URLSearchParams();
  if (opts.labelSelector !== undefined) query.set("labelSelector", formatLabelSelector(opts.labelSelector));
  if (opts.fieldSelector !== undefined) query.set("fieldSelector", opts.fieldSelector);
  if (opts.limit !== undefined && opts.limit > 0) query.set("limit", String(opts.limit));
  if (opts.continue !== undefined && opts.continue !== "") query.set("continue", opts.continue);
  if (opts.resourceVersion !== undefined) query.set("resourceVersion", opts.resourceVersion);
  if (opts.resourceVersionMatch !== undefined) query.set("resourceVersionMatch", opts.resourceVersionMatch);
  if (opts.timeoutSeconds !== undefined) query.set("timeoutSeconds", String(opts.timeoutSeconds));
  return query;
}

function writeQuery(opts: WriteOptions): URLSearchParams {
  const query = new URLSearchParams();
  if (opts.fieldManager !== undefined) query.set("fieldManager", opts.fieldManager);
  if (opts.dryRun) query.set("dryRun", "All");
  return query;
}

function deleteOptionsBody(opts: DeleteOptions): Record<string, unknown> | undefined {
  const body: Record<string, unknown> = { kind: "DeleteOptions", apiVersion: "v1" };
  if (opts.propagationPolicy !== undefined) body.propagationPolicy = opts.propagationPolicy;
  if (opts.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = opts.gracePeriodSeconds;
  if (opts.preconditions !== undefined) body.preconditions = opts.preconditions;
  if (opts.dryRun) body.dryRun = ["All"];
  return Object.keys(body).length > 2 ? body : undefined;
}

/**
 * An open watch: iterate it once (`for await (const ev of stream)`) for ADDED/MODIFIED/DELETED/BOOKMARK events.
 * Iteration ends normally when the server closes the watch (timeoutSeconds ran out) or after stop()/abort; it
 * throws a StatusError for an ERROR event (ExpiredError for 410), ConnectionError when the connection breaks, and
 * WatchDecodeError for a malformed stream. Breaking out of the loop stops the watch.
 */
export class WatchStream<T extends KubeObject = KubeObject> implements AsyncIterable<WatchEvent<T>> {
  private iterated = false;

  constructor(
    private readonly res: IncomingMessage,
    private readonly url: string,
    private readonly controller: AbortController,
    private readonly cleanup: () => void,
  ) {}

  /** Closes the connection; a pending iteration ends without error. Idempotent. */
  stop(): void {
    if (!this.controller.signal.aborted) this.controller.abort();
    this.res.destroy();
    this.cleanup();
  }

  get stopped(): boolean {
    return this.controller.signal.aborted;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<WatchEvent<T>, void, undefined> {
    if (this.iterated) throw new Error("a WatchStream can be iterated only once");
    this.iterated = true;
    try {
      for await (const event of decodeWatchEvents<T>(this.res)) {
        if (this.stopped) return;
        yield event;
      }
    } catch (err) {
      if (this.stopped) return;
      if (err instanceof StatusError || err instanceof WatchDecodeError) throw err;
      throw new ConnectionError("GET", this.url, err);
    } finally {
      this.stop();
    }
  }
}
