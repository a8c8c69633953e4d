// A small in-memory apiserver for unit tests of anything that talks to the API through client/: a node:http server
// on a free loopback port speaking the REST + watch protocol of docs/kubectl-contract.md closely enough for
// clients, informers, leader election and event recorders:
//   - get/list (label and field selectors, limit/continue), create (generateName, AlreadyExists), update (PUT,
//     resourceVersion preconditions → 409 Conflict), patch (merge, strategic ≈ merge, apply ≈ merge, json), delete,
//     deletecollection; status, scale and pods/binding subresources;
//   - watch from "0"/unset (synthetic ADDED first) or from a resourceVersion (replayed from a bounded history;
//     410 Expired in an ERROR event when too old), bookmarks, timeoutSeconds, selector transitions as ADDED/DELETED.
// Test hooks inject faults (failNext), compact history (compact), end or break watches, write objects directly and
// record every request. It is not the real apiserver: no validation, defaulting, admission, finalizers or TTLs.
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { StatusError, alreadyExists, badRequest, conflict, expired, notFound } from "../../api/errors.js";
import { isKubeObject, isRecord, objectKey, type KubeObject, type Status, type StatusReason, type WatchEventType } from "../../api/meta.js";
import { apiVersionOf, GROUP_VERSIONS, qualifiedResource, RESOURCES, type ResourceInfo } from "../../api/resources.js";
import type { ClientConfig } from "../kubeconfig.js";

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

interface StoredEvent {
  rv: number;
  store: string;
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: KubeObject;
  previous: KubeObject | undefined;
}

interface Watcher {
  store: string;
  info: ResourceInfo;
  namespace: string | undefined;
  matches: (obj: KubeObject) => boolean;
  res: ServerResponse;
  bookmarks: boolean;
  closed: boolean;
  timer: NodeJS.Timeout | undefined;
}

interface Route {
  info: ResourceInfo;
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

export class FakeApiserver {
  readonly requests: RecordedRequest[] = [];
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly stores = new Map<string, Map<string, KubeObject>>();
  private readonly history: StoredEvent[] = [];
  private readonly watchers = new Set<Watcher>();
  private readonly faults: { match: FaultMatch; fault: Fault; times: number }[] = [];
  private rv = 1;
  /** Watches and continue tokens from before this revision get 410. */
  private compactedRv = 0;
  private bookmarkTimer: NodeJS.Timeout | undefined;
  private port = 0;

  private constructor(private readonly opts: FakeApiserverOptions) {
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
    return String(this.rv);
  }

  // ---- direct state access for tests ----

  /** Creates or replaces an object without a request (new RV; ADDED or MODIFIED to watchers). */
  put(info: ResourceInfo, obj: KubeObject): KubeObject {
    const store = this.store(info);
    const key = objectKey(obj.metadata);
    const previous = store.get(key);
    const next = this.stamp(info, structuredClone(obj), previous);
    store.set(key, next);
    this.record(info, previous ? "MODIFIED" : "ADDED", next, previous);
    return structuredClone(next);
  }

  /** Deletes without a request (DELETED to watchers). Returns whether it existed. */
  remove(info: ResourceInfo, namespace: string | undefined, name: string): boolean {
    const store = this.store(info);
    const key = objectKey({ name, ...(info.namespaced && namespace ? { namespace } : {}) });
    const previous = store.get(key);
    if (!previous) return false;
    store.delete(key);
    const final = structuredClone(previous);
    final.metadata.resourceVersion = String(++this.rv);
    this.record(info, "DELETED", final, previous);
    return true;
  }

  object(info: ResourceInfo, namespace: string | undefined, name: string): KubeObject | undefined {
    const obj = this.store(info).get(objectKey({ name, ...(info.namespaced && namespace ? { namespace } : {}) }));
    return obj ? structuredClone(obj) : undefined;
  }

  objects(info: ResourceInfo, namespace?: string): KubeObject[] {
    return [...this.store(info).values()].filter((o) => !namespace || o.metadata.namespace === namespace).map((o) => structuredClone(o));
  }

  /** Forgets event history: watches resuming from before now get 410 Expired, as after an etcd compaction. */
  compact(): void {
    this.compactedRv = this.rv;
    this.history.length = 0;
  }

  /** Ends every open watch cleanly (as when timeoutSeconds runs out). */
  closeWatches(): void {
    for (const w of [...this.watchers]) this.endWatch(w);
  }

  /** Destroys every connection (watches see a broken stream; clients a reset). */
  breakConnections(): void {
    for (const w of [...this.watchers]) {
      w.closed = true;
      if (w.timer) clearTimeout(w.timer);
      this.watchers.delete(w);
    }
    for (const s of this.sockets) s.destroy();
  }

  /** Open watch streams, optionally for one resource. */
  watchCount(info?: ResourceInfo): number {
    return [...this.watchers].filter((w) => !info || w.store === storeKey(info)).length;
  }

  /** Sends a BOOKMARK with the current resourceVersion to every watcher that allows them. */
  sendBookmarks(): void {
    for (const w of this.watchers) {
      if (!w.bookmarks) continue;
      this.writeEvent(w, "BOOKMARK", { apiVersion: apiVersionOf(w.info), kind: w.info.kind, metadata: { resourceVersion: String(this.rv) } });
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
    const route = parseRoute(url.pathname);
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

  private serve(method: string, route: Route, query: URLSearchParams, body: unknown, contentType: string): { code: number; body: unknown } {
    const { info, namespace, name, subresource } = route;
    const qualified = qualifiedResource(info);
    if (name === undefined) {
      if (method === "GET") return { code: 200, body: this.listObjects(info, namespace, query) };
      if (method === "POST") return { code: 201, body: this.create(info, namespace, body) };
      if (method === "DELETE") {
        const list = this.listObjects(info, namespace, query);
        for (const item of list.items) this.remove(info, item.metadata.namespace, item.metadata.name ?? "");
        return { code: 200, body: list };
      }
      throw new StatusError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`);
    }
    const key = objectKey({ name, ...(namespace ? { namespace } : {}) });
    const store = this.store(info);
    const current = store.get(key);
    if (subresource === "binding" && method === "POST") return { code: 201, body: this.bind(info, key, name, body) };
    if (subresource === "scale") return { code: 200, body: this.scale(info, key, name, method, body) };
    if (subresource !== undefined && subresource !== "status") throw new StatusError(404, "NotFound", `the server could not find the requested resource`);
    switch (method) {
      case "GET":
        if (!current) throw notFound(qualified, name);
        return { code: 200, body: current };
      case "PUT": {
        if (!isKubeObject(body)) throw badRequest("the body of the request is not an object");
        if (body.metadata.name !== name) throw badRequest(`the name of the object (${body.metadata.name ?? ""}) does not match the name on the URL (${name})`);
        if (!current) throw notFound(qualified, name);
        const rv = body.metadata.resourceVersion;
        if (rv && rv !== current.metadata.resourceVersion) throw conflict(qualified, name);
        let next: KubeObject;
        if (subresource === "status") {
          next = { ...structuredClone(current), status: body.status };
        } else {
          next = structuredClone(body);
          if (info.subresources.some((s) => s.name === "status")) next.status = current.status;
        }
        return { code: 200, body: this.write(info, key, next, current) };
      }
      case "PATCH": {
        if (!current) throw notFound(qualified, name);
        let patched: unknown;
        if (contentType.startsWith("application/json-patch+json")) patched = applyJsonPatch(structuredClone(current), body);
        else patched = mergePatch(structuredClone(current), body);
        if (!isKubeObject(patched)) throw badRequest("the patch removed metadata");
        const rv = isRecord(body) && isRecord(body.metadata) ? body.metadata.resourceVersion : undefined;
        if (typeof rv === "string" && rv !== current.metadata.resourceVersion) throw conflict(qualified, name);
        patched.metadata.name = name;
        return { code: 200, body: this.write(info, key, patched, current) };
      }
      case "DELETE": {
        if (!current) throw notFound(qualified, name);
        const pre = isRecord(body) && isRecord(body.preconditions) ? body.preconditions : {};
        if (typeof pre.uid === "string" && pre.uid !== current.metadata.uid) throw conflict(qualified, name, "Precondition failed: UID in precondition does not match the UID in record");
        if (typeof pre.resourceVersion === "string" && pre.resourceVersion !== current.metadata.resourceVersion)
          throw conflict(qualified, name, "Precondition failed: ResourceVersion in precondition does not match the ResourceVersion in record");
        this.remove(info, namespace, name);
        return { code: 200, body: current };
      }
      default:
        throw new StatusError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`);
    }
  }

  private create(info: ResourceInfo, namespace: string | undefined, body: unknown): KubeObject {
    if (!isKubeObject(body)) throw badRequest("the body of the request is not an object");
    const obj = structuredClone(body);
    if (info.namespaced) {
      if (!namespace) throw badRequest("a namespace is required");
      if (obj.metadata.namespace && obj.metadata.namespace !== namespace) throw badRequest("the namespace of the provided object does not match the namespace sent on the request");
      obj.metadata.namespace = namespace;
    }
    if (!obj.metadata.name && obj.metadata.generateName) obj.metadata.name = `${obj.metadata.generateName}${Math.random().toString(36).slice(2, 7)}`;
    if (!obj.metadata.name) throw new StatusError(422, "Invalid", `${info.kind} "" is invalid: metadata.name: Required value: name or generateName is required`);
    const key = objectKey(obj.metadata);
    if (this.store(info).has(key)) throw alreadyExists(qualifiedResource(info), obj.metadata.name);
    return this.write(info, key, obj, undefined);
  }

  private bind(info: ResourceInfo, key: string, name: string, body: unknown): Status {
    const pod = this.store(info).get(key);
    if (!pod) throw notFound(qualifiedResource(info), name);
    const target = isRecord(body) && isRecord(body.target) ? body.target.name : undefined;
    if (typeof target !== "string" || target === "") throw badRequest("binding target name is required");
    const spec = isRecord(pod.spec) ? pod.spec : {};
    if (typeof spec.nodeName === "string" && spec.nodeName !== "") throw conflict("pods", name, `pod ${name} is already assigned to node "${spec.nodeName}"`);
    const next = structuredClone(pod);
    next.spec = { ...spec, nodeName: target };
    this.write(info, key, next, pod);
    return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 201 };
  }

  private scale(info: ResourceInfo, key: string, name: string, method: string, body: unknown): KubeObject {
    const current = this.store(info).get(key);
    if (!current) throw notFound(qualifiedResource(info), name);
    const toScale = (obj: KubeObject): KubeObject => {
      const spec = isRecord(obj.spec) ? obj.spec : {};
      const status = isRecord(obj.status) ? obj.status : {};
      const replicas = typeof spec.replicas === "number" ? spec.replicas : 1;
      return {
        apiVersion: "autoscaling/v1",
        kind: "Scale",
        metadata: { name, namespace: obj.metadata.namespace ?? "", resourceVersion: obj.metadata.resourceVersion ?? "", uid: obj.metadata.uid ?? "" },
        spec: { replicas },
        status: { replicas: typeof status.replicas === "number" ? status.replicas : 0 },
      };
    };
    if (method === "GET") return toScale(current);
    if (method !== "PUT" && method !== "PATCH") throw new StatusError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
    const patch = method === "PATCH" ? mergePatch(toScale(current), body) : body;
    const spec = isRecord(patch) && isRecord(patch.spec) ? patch.spec : {};
    if (typeof spec.replicas !== "number") throw badRequest("spec.replicas is required");
    const rv = isRecord(patch) && isRecord(patch.metadata) ? patch.metadata.resourceVersion : undefined;
    if (method === "PUT" && typeof rv === "string" && rv !== "" && rv !== current.metadata.resourceVersion) throw conflict(qualifiedResource(info), name);
    const next = structuredClone(current);
    next.spec = { ...(isRecord(current.spec) ? current.spec : {}), replicas: spec.replicas };
    return toScale(this.write(info, key, next, current));
  }

  private write(info: ResourceInfo, key: string, obj: KubeObject, previous: KubeObject | undefined): KubeObject {
    const next = this.stamp(info, obj, previous);
    this.store(info).set(key, next);
    this.record(info, previous ? "MODIFIED" : "ADDED", next, previous);
    return structuredClone(next);
  }

  /** Server-owned fields: type meta, uid, creationTimestamp (kept from `previous`), a new resourceVersion. */
  private stamp(info: ResourceInfo, obj: KubeObject, previous: KubeObject | undefined): KubeObject {
    obj.apiVersion = apiVersionOf(info);
    obj.kind = info.kind;
    obj.metadata.uid = previous?.metadata.uid ?? obj.metadata.uid ?? randomUUID();
    obj.metadata.creationTimestamp = previous?.metadata.creationTimestamp ?? obj.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, "Z");
    obj.metadata.resourceVersion = String(++this.rv);
    if (!info.namespaced) delete obj.metadata.namespace;
    return obj;
  }

  private listObjects(info: ResourceInfo, namespace: string | undefined, query: URLSearchParams): { apiVersion: string; kind: string; metadata: { resourceVersion: string; continue?: string }; items: KubeObject[] } {
    const matches = selectorFor(query);
    let items = [...this.store(info).values()].filter((o) => (!namespace || o.metadata.namespace === namespace) && matches(o));
    items.sort((a, b) => objectKey(a.metadata).localeCompare(objectKey(b.metadata)));
    let listRv = this.rv;
    const token = query.get("continue");
    if (token) {
      const parsed = decodeContinue(token);
      if (parsed.rv < this.compactedRv) throw expired("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.");
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
    const bare = items.map((o) => {
      const copy = structuredClone(o);
      delete copy.apiVersion;
      delete copy.kind;
      return copy;
    });
    return { apiVersion: "v1", kind: info.listKind, metadata, items: bare };
  }

  // ---- watch ----

  private watch(route: Route, query: URLSearchParams, res: ServerResponse): void {
    const { info, namespace } = route;
    const matches = selectorFor(query);
    const w: Watcher = {
      store: storeKey(info),
      info,
      namespace,
      matches: (o) => (!namespace || o.metadata.namespace === namespace) && matches(o),
      res,
      bookmarks: query.get("allowWatchBookmarks") === "true",
      closed: false,
      timer: undefined,
    };
    res.writeHead(200, { "Content-Type": "application/json", "Transfer-Encoding": "chunked" });
    res.flushHeaders();
    res.once("close", () => {
      w.closed = true;
      if (w.timer) clearTimeout(w.timer);
      this.watchers.delete(w);
    });
    const rvParam = query.get("resourceVersion") ?? "";
    if (rvParam === "" || rvParam === "0") {
      for (const obj of this.store(info).values()) if (w.matches(obj)) this.writeEvent(w, "ADDED", obj);
    } else {
      const from = Number(rvParam);
      const oldest = this.history[0]?.rv ?? this.rv + 1;
      if (!Number.isFinite(from) || from < this.compactedRv || (from < oldest - 1 && from < this.rv)) {
        this.writeEvent(w, "ERROR", expired(`too old resource version: ${rvParam} (${this.compactedRv || oldest - 1})`).toStatus());
        this.endWatch(w);
        return;
      }
      for (const ev of this.history) if (ev.rv > from && ev.store === w.store) this.deliver(w, ev);
    }
    this.watchers.add(w);
    const timeout = Number(query.get("timeoutSeconds") ?? "0");
    if (timeout > 0) w.timer = setTimeout(() => { this.endWatch(w); }, timeout * 1000);
  }

  private record(info: ResourceInfo, type: StoredEvent["type"], object: KubeObject, previous: KubeObject | undefined): void {
    const ev: StoredEvent = { rv: this.rv, store: storeKey(info), type, object: structuredClone(object), previous };
    this.history.push(ev);
    const max = this.opts.historySize ?? 1000;
    if (this.history.length > max) this.history.splice(0, this.history.length - max);
    for (const w of this.watchers) if (w.store === ev.store) this.deliver(w, ev);
  }

  /** Selector transitions: an object leaving the selection is DELETED for the watcher, one entering it ADDED. */
  private deliver(w: Watcher, ev: StoredEvent): void {
    const now = w.matches(ev.object);
    const before = ev.previous !== undefined && w.matches(ev.previous);
    if (ev.type === "DELETED") {
      if (before || now) this.writeEvent(w, "DELETED", ev.object);
    } else if (ev.type === "ADDED") {
      if (now) this.writeEvent(w, "ADDED", ev.object);
    } else if (now && before) this.writeEvent(w, "MODIFIED", ev.object);
    else if (now) this.writeEvent(w, "ADDED", ev.object);
    else if (before) this.writeEvent(w, "DELETED", ev.object);
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

  private endWatch(w: Watcher): void {
    if (w.timer) clearTimeout(w.timer);
    this.watchers.delete(w);
    if (!w.closed) {
      w.closed = true;
      w.res.end();
    }
  }

  private store(info: ResourceInfo): Map<string, KubeObject> {
    const key = storeKey(info);
    let store = this.stores.get(key);
    if (!store) {
      store = new Map();
      this.stores.set(key, store);
    }
    return store;
  }
}

/** events.k8s.io and core events share one store, as in Kubernetes. */
function storeKey(info: ResourceInfo): string {
  return `${info.group === "events.k8s.io" ? "" : info.group}/${info.storageResource ?? info.resource}`;
}

function parseRoute(pathname: string): Route | undefined {
  const parts = pathname.split("/").filter((p) => p !== "").map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === "api" && parts.length >= 2) {
    group = "";
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts.length >= 3) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else return undefined;
  if (!GROUP_VERSIONS.some((gv) => gv.group === group && gv.version === version)) return undefined;
  const find = (resource: string | undefined): ResourceInfo | undefined => RESOURCES.find((r) => r.group === group && r.version === version && r.resource === resource);
  let namespace: string | undefined;
  if (rest[0] === "namespaces" && rest.length >= 3 && find(rest[2])?.namespaced) {
    namespace = rest[1];
    rest = rest.slice(2);
  }
  const info = find(rest[0]);
  if (!info || rest.length > 3) return undefined;
  return { info, namespace, name: rest[1], subresource: rest[2] };
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

// ---- selectors ----

function selectorFor(query: URLSearchParams): (obj: KubeObject) => boolean {
  const labels = parseLabelSelector(query.get("labelSelector") ?? "");
  const fields = parseFieldSelector(query.get("fieldSelector") ?? "");
  return (obj) => labels(obj.metadata.labels ?? {}) && fields(obj);
}

/** Label selector syntax: a=b, a==b, a!=b, a in (x,y), a notin (x), a, !a; comma-separated requirements. */
export function parseLabelSelector(text: string): (labels: Readonly<Record<string, string>>) => boolean {
  const reqs: ((labels: Readonly<Record<string, string>>) => boolean)[] = [];
  for (const part of splitTopLevel(text)) {
    const p = part.trim();
    if (p === "") continue;
    let m: RegExpExecArray | null;
    if ((m = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(p))) {
      const key = m[1]!;
      const values = new Set(m[3]!.split(",").map((v) => v.trim()));
      const isIn = m[2] === "in";
      reqs.push((l) => (isIn ? key in l && values.has(l[key]!) : !(key in l) || !values.has(l[key]!)));
    } else if ((m = /^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/.exec(p))) {
      const key = m[1]!;
      const value = m[3]!;
      const eq = m[2] !== "!=";
      reqs.push((l) => (eq ? l[key] === value : l[key] !== value));
    } else if ((m = /^!([\w./-]+)$/.exec(p))) {
      const key = m[1]!;
      reqs.push((l) => !(key in l));
    } else if ((m = /^([\w./-]+)$/.exec(p))) {
      const key = m[1]!;
      reqs.push((l) => key in l);
    } else throw badRequest(`unable to parse requirement: ${JSON.stringify(p)}`);
  }
  return (labels) => reqs.every((r) => r(labels));
}

function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const c of text) {
    if (c === "(") depth++;
    if (c === ")") depth--;
    if (c === "," && depth === 0) {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** Field selectors on any dotted path (metadata.name, spec.nodeName, ...): =, ==, !=. */
function parseFieldSelector(text: string): (obj: KubeObject) => boolean {
  const reqs = text
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "")
    .map((p) => {
      const m = /^([\w.]+)\s*(==|=|!=)\s*(.*)$/.exec(p);
      if (!m) throw badRequest(`invalid field selector: ${JSON.stringify(p)}`);
      const path = m[1]!.split(".");
      const value = m[3]!;
      const eq = m[2] !== "!=";
      return (obj: KubeObject): boolean => {
        let cur: unknown = obj;
        for (const seg of path) cur = isRecord(cur) ? cur[seg] : undefined;
        const actual = typeof cur === "string" || typeof cur === "number" || typeof cur === "boolean" ? String(cur) : cur === undefined || cur === null ? "" : JSON.stringify(cur);
        return eq ? actual === value : actual !== value;
      };
    });
  return (obj) => reqs.every((r) => r(obj));
}

// ---- patches ----

/** RFC 7386 JSON merge patch: null deletes, objects merge, everything else (lists too) replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isRecord(patch)) return patch;
  const out: Record<string, unknown> = isRecord(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith("$")) continue; // strategic-merge directives are not modelled
    if (value === null) Reflect.deleteProperty(out, key);
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

/** RFC 6902 add/remove/replace/test on object members and array indexes ("-" appends). */
function applyJsonPatch(doc: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw badRequest("a JSON patch must be an array of operations");
  let root = doc;
  for (const op of ops) {
    if (!isRecord(op) || typeof op.op !== "string" || typeof op.path !== "string") throw badRequest("invalid JSON patch operation");
    const segments = op.path.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
    if (segments.length === 0) {
      root = op.value;
      continue;
    }
    let parent: unknown = root;
    for (const seg of segments.slice(0, -1)) {
      parent = Array.isArray(parent) ? parent[Number(seg)] : isRecord(parent) ? parent[seg] : undefined;
      if (parent === undefined) throw new StatusError(422, "Invalid", `jsonpatch: path ${op.path} does not exist`);
    }
    const last = segments[segments.length - 1]!;
    const exists = Array.isArray(parent) ? Number(last) < parent.length : isRecord(parent) && last in parent;
    switch (op.op) {
      case "add":
        if (Array.isArray(parent)) parent.splice(last === "-" ? parent.length : Number(last), 0, op.value);
        else if (isRecord(parent)) parent[last] = op.value;
        break;
      case "replace":
        if (!exists) throw new StatusError(422, "Invalid", `jsonpatch replace operation does not apply: doc is missing key: ${op.path}`);
        if (Array.isArray(parent)) parent[Number(last)] = op.value;
        else if (isRecord(parent)) parent[last] = op.value;
        break;
      case "remove":
        if (!exists) throw new StatusError(422, "Invalid", `jsonpatch remove operation does not apply: doc is missing path: ${op.path}`);
        if (Array.isArray(parent)) parent.splice(Number(last), 1);
        else if (isRecord(parent)) Reflect.deleteProperty(parent, last);
        break;
      case "test": {
        const actual: unknown = Array.isArray(parent) ? parent[Number(last)] : isRecord(parent) ? parent[last] : undefined;
        if (JSON.stringify(actual) !== JSON.stringify(op.value)) throw new StatusError(422, "Invalid", `jsonpatch test operation failed at ${op.path}`);
        break;
      }
      default:
        throw badRequest(`unsupported JSON patch operation ${op.op}`);
    }
  }
  return root;
}
