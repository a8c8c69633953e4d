// The aggregation layer (Kubernetes' kube-aggregator, folded into this apiserver): APIService objects say which
// group versions another server serves. For those this apiserver
//   - lists the group in discovery (legacy /apis and /apis/<group> from the APIService objects, whether available
//     or not, as Kubernetes does; aggregated discovery with the resources last fetched from an available backend);
//   - proxies every request under /apis/<group>/<version> (its discovery document included) to an endpoint of the
//     APIService's Service (resolve.ts), answering 503 "service unavailable" while the APIService is not Available,
//     and 503 with the dial error when the backend cannot be reached, as Kubernetes' proxy does;
//   - keeps each APIService's Available condition (the availability controller): Local for the built-in group
//     versions (registered here at start, like Kubernetes' autoregistration), else Passed once the backend answers
//     its discovery document, or the reason it does not. Checked every intervalMs and when an APIService changes.
// Backends are dialled over HTTPS when the Service port is named https (verified with spec.caBundle, or not at all
// with spec.insecureSkipTLSVerify), over plain HTTP otherwise. Over HTTPS the aggregator presents its front-proxy
// client certificate (--proxy-client-cert-file) and, as Kubernetes' auth proxy round tripper, names the request's
// user in X-Remote-User, X-Remote-Group and X-Remote-Extra-* (any such header the client sent is dropped); the
// availability check speaks as system:kube-aggregator in system:masters.
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from "node:http";
import { request as httpsRequest } from "node:https";
import { isAlreadyExists, isConflict, isNotFound } from "../../api/errors.js";
import type { KubeObject } from "../../api/meta.js";
import { isRecord } from "../../api/meta.js";
import { GROUP_VERSIONS } from "../../api/resources.js";
import { formatTime } from "../../api/time.js";
import type { APIService, APIServiceCondition, Endpoints, Service } from "../../api/types/index.js";
import type { Logger } from "../../component-base/logging.js";
import { dropAuthProxyHeaders, setAuthProxyHeaders } from "../../component-base/requestheader.js";
import { requestUserOf } from "../auth/request-user.js";
import type { APIGroup, APIGroupDiscovery, APIResourceList } from "../http/discovery.js";
import type { Registry } from "../registry/registry.js";
import type { ResourceStore } from "../registry/store.js";
import type { CacheWatcher } from "../storage/interfaces.js";
import { AvailabilityProblem, resolveBackend, type Backend } from "./resolve.js";

export interface AggregatorOptions {
  registry: Registry;
  logger: Logger;
  /** How often every APIService is checked (Kubernetes re-checks on changes and every 30 s); 5 s by default. */
  intervalMs?: number;
  /** How long a backend gets to answer its discovery check; 5 s by default, as in Kubernetes. */
  checkTimeoutMs?: number;
  /** --proxy-client-cert-file/--proxy-client-key-file: presented to HTTPS backends. */
  proxyClient?: { certPem: string; keyPem: string };
}

/** Who the availability check is, as Kubernetes' availability controller says. */
const AGGREGATOR_USER = { username: "system:kube-aggregator", groups: ["system:masters"] } as const;

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer", "host"]);

/** Kubernetes' priorities for its built-in group versions (the order kubectl prefers groups in). */
function localPriority(group: string): { groupPriorityMinimum: number; versionPriority: number } {
  if (group === "") return { groupPriorityMinimum: 18000, versionPriority: 1 };
  if (group === "apps") return { groupPriorityMinimum: 17800, versionPriority: 15 };
  if (group === "events.k8s.io") return { groupPriorityMinimum: 17750, versionPriority: 15 };
  return { groupPriorityMinimum: 16000, versionPriority: 15 };
}

export function localAPIServiceName(group: string, version: string): string {
  return `${version}.${group}`;
}

export class Aggregator {
  private readonly apiServices = new Map<string, APIService>();
  /** The discovery document each available backend last gave, by APIService name. */
  private readonly resourceLists = new Map<string, APIResourceList>();
  private watcher: CacheWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private checking: Promise<void> | undefined;
  private again = false;
  private stopped = false;

  constructor(private readonly options: AggregatorOptions) {}

  private get store(): ResourceStore {
    const store = this.options.registry.store("apiregistration.k8s.io", "v1", "apiservices");
    if (!store) throw new Error("apiregistration.k8s.io/v1 apiservices are not served");
    return store;
  }

  /** Registers the built-in group versions, starts following APIServices and checking them. */
  async start(): Promise<void> {
    if (this.timer) return;
    // One create per group version, all at once: the apiserver's start waits for them.
    await Promise.all(GROUP_VERSIONS.map(async (gv) => {
      const name = localAPIServiceName(gv.group, gv.version);
      try {
        await this.store.create(undefined, { apiVersion: "apiregistration.k8s.io/v1", kind: "APIService", metadata: { name, labels: { "kube-aggregator.kubernetes.io/automanaged": "onstart" } }, spec: { group: gv.group, version: gv.version, ...localPriority(gv.group) } });
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
      }
    }));
    this.follow();
    this.timer = setInterval(() => {
      this.trigger();
    }, this.options.intervalMs ?? 5_000);
    this.timer.unref();
    this.trigger();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.watcher?.stop();
  }

  private follow(): void {
    if (this.stopped) return;
    this.watcher = this.store.cache.watch(
      { prefix: this.store.prefixFor(undefined) },
      (event) => {
        const name = event.object.metadata.name ?? "";
        if (event.type === "DELETED") {
          this.apiServices.delete(name);
          this.resourceLists.delete(name);
        } else if (event.type !== "BOOKMARK") {
          const before = this.apiServices.get(name);
          this.apiServices.set(name, event.object);
          if (JSON.stringify(before?.spec) !== JSON.stringify((event.object as APIService).spec)) this.trigger();
        }
      },
      () => {
        // The cache restarted (etcd came back): follow again, from its current state.
        setTimeout(() => {
          this.follow();
        }, 1_000).unref();
      },
    );
  }

  /** The APIService served elsewhere for a group version, if any. */
  remote(group: string, version: string): Readonly<APIService> | undefined {
    for (const s of this.apiServices.values()) if (s.spec?.service && s.spec.group === group && s.spec.version === version) return s;
    return undefined;
  }

  /** The APIService for a /apis/<group>/<version>[/...] path served elsewhere. */
  remoteForPath(path: string): Readonly<APIService> | undefined {
    const [apis, group, version] = path.split("?", 1)[0]!.split("/").filter((p) => p !== "");
    if (apis !== "apis" || group === undefined || version === undefined) return undefined;
    return this.remote(group, version);
  }

  /** Legacy discovery of the groups served elsewhere (versions by descending versionPriority). */
  groups(): APIGroup[] {
    const byGroup = new Map<string, APIService[]>();
    for (const s of this.apiServices.values()) {
      if (!s.spec?.service) continue;
      const group = s.spec.group ?? "";
      byGroup.set(group, [...(byGroup.get(group) ?? []), s]);
    }
    const out: APIGroup[] = [];
    for (const [name, services] of [...byGroup].sort((a, b) => a[0].localeCompare(b[0]))) {
      const versions = services.sort((a, b) => (b.spec?.versionPriority ?? 0) - (a.spec?.versionPriority ?? 0)).map((s) => ({ groupVersion: `${name}/${s.spec?.version ?? ""}`, version: s.spec?.version ?? "" }));
      out.push({ kind: "APIGroup", apiVersion: "v1", name, versions, preferredVersion: versions[0]! });
    }
    return out;
  }

  group(name: string): APIGroup | undefined {
    return this.groups().find((g) => g.name === name);
  }

  /** Aggregated discovery of the groups served elsewhere, from the documents their backends last gave. */
  aggregated(): APIGroupDiscovery[] {
    const out: APIGroupDiscovery[] = [];
    for (const group of this.groups()) {
      const versions = group.versions.flatMap((v) => {
        const service = this.remote(group.name, v.version);
        const list = service === undefined ? undefined : this.resourceLists.get(service.metadata.name ?? "");
        if (list === undefined) return [];
        return [{ version: v.version, freshness: "Current" as const, resources: discoveryResources(group.name, v.version, list) }];
      });
      if (versions.length > 0) out.push({ metadata: { name: group.name }, versions });
    }
    return out;
  }

  private trigger(): void {
    if (this.checking) {
      this.again = true;
      return;
    }
    this.checking = this.checkAll()
      .catch((err: unknown) => {
        this.options.logger.warn({ err: String(err) }, "APIService availability check failed");
      })
      .finally(() => {
        this.checking = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.trigger();
        }
      });
  }

  /** Checks every APIService once and writes the Available conditions that changed. */
  async checkAll(): Promise<void> {
    await Promise.all([...this.apiServices.values()].map((s) => this.check(s)));
  }

  private async check(apiService: Readonly<APIService>): Promise<void> {
    const name = apiService.metadata.name ?? "";
    let condition: Omit<APIServiceCondition, "lastTransitionTime">;
    if (!apiService.spec?.service) {
      condition = { type: "Available", status: "True", reason: "Local", message: "Local APIServices are always available" };
    } else {
      try {
        const backend = await this.backendOf(apiService);
        const path = `/apis/${apiService.spec.group ?? ""}/${apiService.spec.version ?? ""}`;
        const url = `${backend.scheme}://${backend.host}:${backend.port}${path}`;
        const list = await this.fetchDiscovery(apiService, backend, path).catch((err: unknown) => {
          throw new AvailabilityProblem("FailedDiscoveryCheck", `failing or missing response from ${url}: ${err instanceof Error ? err.message : String(err)}`);
        });
        this.resourceLists.set(name, list);
        condition = { type: "Available", status: "True", reason: "Passed", message: "all checks passed" };
      } catch (err) {
        if (!(err instanceof AvailabilityProblem)) throw err;
        this.resourceLists.delete(name);
        condition = { type: "Available", status: "False", reason: err.reason, message: err.message };
      }
    }
    await this.writeCondition(name, condition);
  }

  private async writeCondition(name: string, condition: Omit<APIServiceCondition, "lastTransitionTime">): Promise<void> {
    let current: KubeObject;
    try {
      current = await this.store.get(undefined, name);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    const apiService = current as APIService;
    const previous = apiService.status?.conditions?.find((c) => c.type === "Available");
    if (previous?.status === condition.status && previous.reason === condition.reason && previous.message === condition.message) return;
    const next: APIService = structuredClone(apiService);
    const lastTransitionTime = previous?.status === condition.status && previous.lastTransitionTime !== undefined ? previous.lastTransitionTime : formatTime(Date.now());
    next.status = { ...next.status, conditions: [...(next.status?.conditions ?? []).filter((c) => c.type !== "Available"), { ...condition, lastTransitionTime }] };
    try {
      await this.store.update(undefined, name, next, { subresource: "status" });
      if (previous?.status !== condition.status) this.options.logger.info({ apiService: name, available: condition.status, reason: condition.reason, message: condition.message }, "APIService availability changed");
    } catch (err) {
      // Someone else wrote it meanwhile; the next check writes again.
      if (!isConflict(err) && !isNotFound(err)) throw err;
    }
  }

  private async backendOf(apiService: Readonly<APIService>): Promise<Backend> {
    const ref = apiService.spec?.service ?? {};
    const get = async <T>(resource: string): Promise<T | undefined> => {
      try {
        return (await this.options.registry.core(resource).get(ref.namespace ?? "", ref.name ?? "")) as T;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    };
    const [service, endpoints] = await Promise.all([get<Service>("services"), get<Endpoints>("endpoints")]);
    return resolveBackend(apiService, service, endpoints, (n) => Math.floor(Math.random() * n));
  }

  private fetchDiscovery(apiService: Readonly<APIService>, backend: Backend, path: string): Promise<APIResourceList> {
    return new Promise((resolve, reject) => {
      const headers: OutgoingHttpHeaders = { accept: "application/json" };
      setAuthProxyHeaders(headers, AGGREGATOR_USER);
      const req = this.dial(apiService, backend, { method: "GET", path, headers, timeout: this.options.checkTimeoutMs ?? 5_000 }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => {
          if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) > 299) {
            reject(new Error(`bad status from ${backend.scheme}://${backend.host}:${backend.port}${path}: ${res.statusCode ?? 0}`));
            return;
          }
          try {
            const body: unknown = JSON.parse(text);
            if (!isRecord(body) || !Array.isArray(body.resources)) throw new Error("not an APIResourceList");
            resolve(body as unknown as APIResourceList);
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
      });
      req.on("timeout", () => req.destroy(new Error("Client.Timeout exceeded while awaiting headers")));
      req.on("error", reject);
      req.end();
    });
  }

  private dial(apiService: Readonly<APIService>, backend: Backend, init: { method: string; path: string; headers: OutgoingHttpHeaders; timeout?: number }, onResponse: (res: IncomingMessage) => void): ReturnType<typeof httpRequest> {
    const base = { host: backend.host, port: backend.port, ...init };
    if (backend.scheme === "http") return httpRequest(base, onResponse);
    const ca = apiService.spec?.caBundle;
    const client = this.options.proxyClient;
    return httpsRequest({ ...base, rejectUnauthorized: apiService.spec?.insecureSkipTLSVerify !== true, ...(ca ? { ca: Buffer.from(ca, "base64") } : {}), ...(client ? { cert: client.certPem, key: client.keyPem } : {}) }, onResponse);
  }

  /** Relays one request under /apis/<group>/<version> to the APIService's backend. */
  async proxy(req: IncomingMessage, res: ServerResponse, apiService: Readonly<APIService>): Promise<void> {
    const name = apiService.metadata.name ?? "";
    const current = this.apiServices.get(name) ?? apiService;
    const available = current.status?.conditions?.find((c) => c.type === "Available")?.status === "True";
    let backend: Backend | undefined;
    if (available) backend = await this.backendOf(current).catch(() => undefined);
    if (backend === undefined) {
      proxyError(res, 503, "service unavailable");
      return;
    }
    const headers: OutgoingHttpHeaders = {};
    for (const [key, value] of Object.entries(req.headers)) if (value !== undefined && !HOP_BY_HOP.has(key)) headers[key] = value;
    const forwarded = req.socket.remoteAddress;
    if (forwarded !== undefined) headers["x-forwarded-for"] = forwarded;
    // The user authentication and impersonation settled on (none only where no filter chain runs, in unit tests).
    const user = requestUserOf(req);
    if (user !== undefined) setAuthProxyHeaders(headers, user);
    else dropAuthProxyHeaders(headers);
    await new Promise<void>((resolve) => {
      const upstream = this.dial(current, backend, { method: req.method ?? "GET", path: req.url ?? "/", headers }, (answer) => {
        const out: Record<string, string | string[]> = {};
        for (const [key, value] of Object.entries(answer.headers)) if (value !== undefined && !HOP_BY_HOP.has(key)) out[key] = value;
        res.writeHead(answer.statusCode ?? 502, out);
        answer.pipe(res);
        answer.on("end", resolve);
        answer.on("error", () => {
          res.destroy();
          resolve();
        });
      });
      upstream.on("error", (err) => {
        if (!res.headersSent) proxyError(res, 503, `Error trying to reach service: '${err.message}'`);
        else res.destroy();
        resolve();
      });
      res.once("close", () => upstream.destroy());
      req.pipe(upstream);
    });
  }
}

/** Kubernetes' aggregator answers proxy failures as plain text (kubectl shows them as ServiceUnavailable). */
function proxyError(res: ServerResponse, code: number, message: string): void {
  const body = `${message}\n`;
  res.writeHead(code, { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

/** A backend's APIResourceList as aggregated-discovery resources (subresources folded into their parents). */
function discoveryResources(group: string, version: string, list: APIResourceList): APIGroupDiscovery["versions"][number]["resources"] {
  const top = list.resources.filter((r) => !r.name.includes("/"));
  return top.map((r) => {
    const entry: APIGroupDiscovery["versions"][number]["resources"][number] = {
      resource: r.name,
      responseKind: { group: r.group ?? group, version: r.version ?? version, kind: r.kind },
      scope: r.namespaced ? "Namespaced" : "Cluster",
      singularResource: r.singularName,
      verbs: [...r.verbs],
    };
    if (r.shortNames && r.shortNames.length > 0) entry.shortNames = [...r.shortNames];
    if (r.categories && r.categories.length > 0) entry.categories = [...r.categories];
    const subs = list.resources.filter((s) => s.name.startsWith(`${r.name}/`));
    if (subs.length > 0) entry.subresources = subs.map((s) => ({ subresource: s.name.slice(r.name.length + 1), responseKind: { group: s.group ?? group, version: s.version ?? version, kind: s.kind }, verbs: [...s.verbs] }));
    return entry;
  });
}
