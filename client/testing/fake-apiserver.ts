// An in-memory apiserver for unit tests of what talks to the API over HTTP (the REST client, informers, leader
// election, event recorders, and processes started from a kubeconfig): a node:http server on a free loopback port
// that serves an ObjectTracker (the store behind FakeClient, with its server rules) through Kubernetes' REST + watch
// protocol. On top of the tracker it adds what only the wire has: limit/continue paging, watch streams with
// bookmarks and timeoutSeconds, 410 in an ERROR event, pods/binding and scale over HTTP.
// Test hooks inject faults (failNext), compact history (compact), end or break watches, write objects directly and
// record every request. It is not the real apiserver: no validation, defaulting, admission or TTLs.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { StatusError, badRequest, expired, notFound } from "../../api/errors.js";
import { isKubeObject, isRecord, objectKey, type KubeObject, type StatusReason, type WatchEventType } from "../../api/meta.js";
import { apiVersionOf, qualifiedResource, type ResourceInfo } from "../../api/resources.js";
import type { ClientConfig } from "../kubeconfig.js";
import type { DeleteOptions } from "../rest.js";
import { ObjectTracker, parseResourcePath, patchTypeOfContentType, type ResourceRoute } from "./object-tracker.js";

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: unknown;
  headers: IncomingMessage["headers"];
}

/** What an injected fault answers: a Status with a code, a non-Status text body, or a reset connection. */
export type Fault =
  | { kind: "status"; code: number; reason?: StatusReason; message?: string; retryAfterSeconds?: number }
  | { kind: "text"; code: number; text: string }
  | { kind: "reset" };

export interface FaultMatch {
  method?: string;
  /** Substring of, or pattern for, the path (without query). */
  path?: string | RegExp;
  /** Only watch requests (true) or only non-watch requests (false). */
  watch?: boolean;
}

export interface FakeApiserverOptions {
  /** How many past events are kept for watches that resume from a resourceVersion (default 1000). */
  historySize?: number;
  /** Send BOOKMARK events this often to watchers that asked for them; 0 (default) sends none automatically. */
  bookmarkIntervalMs?: number;
  /** Split each watch event into writes of at most this many bytes (exercises client framing). */
  watchChunkBytes?: number;
}

interface Watcher {
  info: ResourceInfo;
  res: ServerResponse;
  bookmarks: boolean;
  closed: boolean;
  timer: NodeJS.Timeout | undefined;
  unsubscribe: () => void;
}

export class FakeApiserver {
  readonly requests: RecordedRequest[] = [];
  readonly tracker: ObjectTracker;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly watchers = new Set<Watcher>();
  private readonly faults: { match: FaultMatch; fault: Fault; times: number }[] = [];
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private port = 0;

  private constructor(private readonly opts: FakeApiserverOptions) {
    this.tracker = new ObjectTracker(opts.historySize !== undefined ? { historySize: opts.historySize } : {});
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        writeStatus(res, err instanceof StatusError ? err : new StatusError(500, "InternalError", String(err)));
      });
    });
    this.server.on("connection", (socket) => {
      this.sockets.add(socket);
      socket.once("close", () => this.sockets.delete(socket));
    });
  }

  static async start(opts: FakeApiserverOptions = {}): Promise<FakeApiserver> {
    const fake = new FakeApiserver(opts);
    await new Promise<void>((resolve) => fake.server.listen(0, "127.0.0.1", resolve));
    const address = fake.server.address();
    fake.port = typeof address === "object" && address !== null ? address.port : 0;
    if (opts.bookmarkIntervalMs) fake.bookmarkTimer = setInterval(() => { fake.sendBookmarks(); }, opts.bookmarkIntervalMs);
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  clientConfig(): ClientConfig {
    return { server: this.url, namespace: "default" };
  }

  async stop(): Promise<void> {
    if (this.bookmarkTimer) clearInterval(this.bookmarkTimer);
    for (const w of this.watchers) this.endWatch(w);
    await new Promise<void>((resolve) => {
      this.server.close(() => { resolve(); });
      for (const s of this.sockets) s.destroy();
    });
  }

  /** The current (latest) resourceVersion. */
  resourceVersion(): string {
    return this.tracker.resourceVersion();
  }

  // ---- direct state access for tests ----

  /** Creates or replaces an object without a request (new RV; ADDED or MODIFIED to watchers). */
  put(info: ResourceInfo, obj: KubeObject): KubeObject {
    return this.tracker.add(obj, info);
  }

  /** Deletes without a request (DELETED to watchers). Returns whether it existed. */
  remove(info: ResourceInfo, namespace: string | undefined, name: string): boolean {
    return this.tracker.remove(info, namespace, name);
  }

  object(info: ResourceInfo, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.tracker.get(info, namespace, name);
  }

  objects(info: ResourceInfo, namespace?: string): KubeObject[] {
    return this.tracker.list(info, namespace);
  }

  /** Forgets event history: watches resuming from before now get 410 Expired, as after an etcd compaction. */
  compact(): void {
    this.tracker.compact();
  }

  /** Ends every open watch cleanly (as when timeoutSeconds runs out). */
  closeWatches(): void {
    for (const w of [...this.watchers]) this.endWatch(w);
  }

  /** Destroys every connection (watches see a broken stream; clients a reset). */
  breakConnections(): void {
    for (const w of [...this.watchers]) this.forget(w);
    for (const s of this.sockets) s.destroy();
  }

  /** Open watch streams, optionally for one resource. */
  watchCount(info?: ResourceInfo): number {
    return [...this.watchers].filter((w) => !info || (w.info.group === info.group && w.info.resource === info.resource)).length;
  }

  /** Sends a BOOKMARK with the current resourceVersion to every watcher that allows them. */
  sendBookmarks(): void {
    for (const w of this.watchers) {
      if (!w.bookmarks) continue;
      this.writeEvent(w, "BOOKMARK", { apiVersion: apiVersionOf(w.info), kind: w.info.kind, metadata: { resourceVersion: this.tracker.resourceVersion() } });
    }
  }

  /** The next `times` requests matching `match` get `fault` instead of being served. */
  failNext(match: FaultMatch, fault: Fault, times = 1): void {
    this.faults.push({ match, fault, times });
  }

  /** Requests matching method and a path substring, e.g. requestsTo("GET", "/pods"). */
  requestsTo(method: string, pathPart: string): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && r.path.includes(pathPart));
  }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const text = await readText(req);
    let body: unknown;
    if (text !== "") {
      try {
        body = JSON.parse(text);
      } catch {
        throw badRequest(`the body of the request was not JSON`);
      }
    }
    const method = req.method ?? "GET";
    const watch = url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1";
    this.requests.push({ method, path: url.pathname, query: url.searchParams, body, headers: req.headers });

    const fault = this.takeFault(method, url.pathname, watch);
    if (fault) {
      this.answerFault(req, res, fault);
      return;
    }
    const route = parseResourcePath(url.pathname);
    if (!route) throw new StatusError(404, "NotFound", "the server could not find the requested resource");
    if (watch && method === "GET") {
      this.watch(route, url.searchParams, res);
      return;
    }
    const result = this.serve(method, route, url.searchParams, body, req.headers["content-type"] ?? "");
    writeJson(res, result.code, result.body);
  }

  private takeFault(method: string, path: string, watch: boolean): Fault | undefined {
    const i = this.faults.findIndex(({ match }) => {
      if (match.method && match.method !== method) return false;
      if (match.watch !== undefined && match.watch !== watch) return false;
      if (match.path instanceof RegExp) return match.path.test(path);
      return match.path === undefined || path.includes(match.path);
    });
    if (i < 0) return undefined;
    const entry = this.faults[i]!;
    if (--entry.times <= 0) this.faults.splice(i, 1);
    return entry.fault;
  }

  private answerFault(req: IncomingMessage, res: ServerResponse, fault: Fault): void {
    switch (fault.kind) {
      case "reset":
        req.socket.destroy();
        return;
      case "text":
        res.writeHead(fault.code, { "Content-Type": "text/plain" });
        res.end(fault.text);
        return;
      case "status": {
        const err = new StatusError(fault.code, fault.reason ?? "InternalError", fault.message ?? `injected ${fault.code}`);
        if (fault.retryAfterSeconds !== undefined) res.setHeader("Retry-After", String(fault.retryAfterSeconds));
        writeStatus(res, err);
        return;
      }
    }
  }

  private serve(method: string, route: ResourceRoute, query: URLSearchParams, body: unknown, contentType: string): { code: number; body: unknown } {
    const { info, namespace, name, subresource } = route;
    const tracker = this.tracker;
    const selection = { labelSelector: query.get("labelSelector") ?? undefined, fieldSelector: query.get("fieldSelector") ?? undefined };
    if (name === undefined) {
      if (method === "GET") return { code: 200, body: this.listPage(info, namespace, query) };
      if (method === "POST") return { code: 201, body: this.create(info, namespace, body) };
      if (method === "DELETE") {
        const items = tracker.deleteCollection(info, namespace, { ...deleteOptionsOf(body), ...selection }).map((r) => r.object);
        return { code: 200, body: { apiVersion: "v1", kind: info.listKind, metadata: {}, items } };
      }
      throw methodNotAllowed();
    }
    if (subresource === "binding") {
      if (method !== "POST") throw methodNotAllowed();
      const target = isRecord(body) && isRecord(body.target) ? body.target.name : undefined;
      tracker.bind(info, namespace, name, typeof target === "string" ? target : "");
      return { code: 201, body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 } };
    }
    if (subresource === "scale") {
      if (method === "GET") return { code: 200, body: tracker.getScale(info, namespace, name) };
      if (method === "PUT") return { code: 200, body: tracker.updateScale(info, namespace, name, body) };
      if (method === "PATCH") {
        const scale = tracker.getScale(info, namespace, name);
        delete scale.metadata.resourceVersion;
        return { code: 200, body: tracker.updateScale(info, namespace, name, mergeScale(scale, body)) };
      }
      throw methodNotAllowed();
    }
    if (subresource !== undefined && subresource !== "status" && subresource !== "finalize") throw new StatusError(404, "NotFound", `the server could not find the requested resource`);
    switch (method) {
      case "GET": {
        const obj = tracker.get(info, namespace, name);
        if (!obj) throw notFound(qualifiedResource(info), name);
        return { code: 200, body: obj };
      }
      case "PUT": {
        if (!isKubeObject(body)) throw badRequest("the body of the request is not an object");
        if (body.metadata.name !== name) throw badRequest(`the name of the object (${body.metadata.name ?? ""}) does not match the name on the URL (${name})`);
        return { code: 200, body: tracker.update(info, namespace, body, subresource) };
      }
      case "PATCH": {
        return { code: 200, body: tracker.patch(info, namespace, name, patchTypeOfContentType(contentType), body, subresource) };
      }
      case "DELETE":
        return { code: 200, body: tracker.delete(info, namespace, name, deleteOptionsOf(body)).object };
      default:
        throw methodNotAllowed();
    }
  }

  private create(info: ResourceInfo, namespace: string | undefined, body: unknown): KubeObject {
    if (!isKubeObject(body)) throw badRequest("the body of the request is not an object");
    if (info.namespaced) {
      if (!namespace) throw badRequest("a namespace is required");
      if (body.metadata.namespace && body.metadata.namespace !== namespace) throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
    return this.tracker.create(info, namespace, body);
  }

  /** A list page: `limit` items after the continue token's key, at the token's resourceVersion. */
  private listPage(info: ResourceInfo, namespace: string | undefined, query: URLSearchParams): { apiVersion: string; kind: string; metadata: { resourceVersion: string; continue?: string }; items: KubeObject[] } {
    let items = this.tracker.list(info, namespace, { labelSelector: query.get("labelSelector") ?? undefined, fieldSelector: query.get("fieldSelector") ?? undefined });
    let listRv = Number(this.tracker.resourceVersion());
    const token = query.get("continue");
    if (token) {
      const parsed = decodeContinue(token);
      if (parsed.rv < this.tracker.compactedResourceVersion()) {
        throw expired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.");
      }
      listRv = parsed.rv;
      items = items.filter((o) => objectKey(o.metadata) > parsed.after);
    }
    const limit = Number(query.get("limit") ?? "0");
    const metadata: { resourceVersion: string; continue?: string } = { resourceVersion: String(listRv) };
    if (limit > 0 && items.length > limit) {
      items = items.slice(0, limit);
      metadata.continue = encodeContinue(listRv, objectKey(items[items.length - 1]!.metadata));
    }
    // Items in a list carry no kind/apiVersion, as in Kubernetes.
    for (const item of items) {
      delete item.apiVersion;
      delete item.kind;
    }
    return { apiVersion: "v1", kind: info.listKind, metadata, items };
  }

  // ---- watch ----

  private watch(route: ResourceRoute, query: URLSearchParams, res: ServerResponse): void {
    const w: Watcher = { info: route.info, res, bookmarks: query.get("allowWatchBookmarks") === "true", closed: false, timer: undefined, unsubscribe: () => undefined };
    res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
    res.flushHeaders();
    res.once("close", () => { this.forget(w); });
    try {
      w.unsubscribe = this.tracker.watch(
        route.info,
        route.namespace,
        { labelSelector: query.get("labelSelector") ?? undefined, fieldSelector: query.get("fieldSelector") ?? undefined, resourceVersion: query.get("resourceVersion") ?? undefined },
        (type, object) => { this.writeEvent(w, type, object); },
      );
    } catch (err) {
      if (!(err instanceof StatusError)) throw err;
      this.writeEvent(w, "ERROR", err.toStatus());
      this.endWatch(w);
      return;
    }
    this.watchers.add(w);
    const timeout = Number(query.get("timeoutSeconds") ?? "0");
    if (timeout > 0) w.timer = setTimeout(() => { this.endWatch(w); }, timeout * 1000);
  }

  private writeEvent(w: Watcher, type: WatchEventType, object: unknown): void {
    if (w.closed) return;
    const line = Buffer.from(`${JSON.stringify({ type, object })}\n`, "utf8");
    const size = this.opts.watchChunkBytes ?? 0;
    if (size <= 0) {
      w.res.write(line);
      return;
    }
    for (let i = 0; i < line.length; i += size) w.res.write(line.subarray(i, i + size));
  }

  /** Stops delivering to `w` without ending its response. */
  private forget(w: Watcher): void {
    w.closed = true;
    if (w.timer) clearTimeout(w.timer);
    w.unsubscribe();
    this.watchers.delete(w);
  }

  private endWatch(w: Watcher): void {
    const open = !w.closed;
    this.forget(w);
    if (open) w.res.end();
  }
}

function methodNotAllowed(): StatusError {
  return new StatusError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`);
}

function deleteOptionsOf(body: unknown): DeleteOptions {
  if (!isRecord(body)) return {};
  const opts: DeleteOptions = {};
  const policy = body.propagationPolicy;
  if (policy === "Foreground" || policy === "Background" || policy === "Orphan") opts.propagationPolicy = policy;
  if (typeof body.gracePeriodSeconds === "number") opts.gracePeriodSeconds = body.gracePeriodSeconds;
  if (isRecord(body.preconditions)) {
    const pre: { uid?: string; resourceVersion?: string } = {};
    if (typeof body.preconditions.uid === "string") pre.uid = body.preconditions.uid;
    if (typeof body.preconditions.resourceVersion === "string") pre.resourceVersion = body.preconditions.resourceVersion;
    opts.preconditions = pre;
  }
  return opts;
}

/** A merge patch of a Scale: only spec.replicas can change. */
function mergeScale(scale: KubeObject, patch: unknown): KubeObject {
  const spec = isRecord(patch) && isRecord(patch.spec) ? patch.spec : {};
  return { ...scale, spec: { ...(isRecord(scale.spec) ? scale.spec : {}), ...spec } };
}

function readText(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.once("end", () => {
      resolve(Buffer.concat(chunks).toString("utf8"));
    });
    req.once("error", reject);
  });
}

function writeJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

function writeStatus(res: ServerResponse, err: StatusError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  writeJson(res, err.code, err.toStatus());
}

function encodeContinue(rv: number, after: string): string {
  return Buffer.from(JSON.stringify({ rv, after })).toString("base64url");
}

function decodeContinue(token: string): { rv: number; after: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (isRecord(value) && typeof value.rv === "number" && typeof value.after === "string") return { rv: value.rv, after: value.after };
  } catch {
    // fall through
  }
  throw badRequest("invalid continue token");
}
