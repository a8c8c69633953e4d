// The apiserver's HTTP surface: non-resource endpoints (health, version, discovery, OpenAPI, metrics) and the
// resource API dispatched from the request path to the registry, with Table output and watch streams.
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:http";
import type { Duplex } from "node:stream";
import type { Express } from "express";
import type { Registry as PromRegistry } from "../component-base/metrics.js";
import { badRequest, invalid, isExpired, methodNotAllowed, serviceUnavailable, StatusError, unsupportedMediaType } from "../api/errors.js";
import { convertFieldSelector, parseFieldSelector } from "../api/fields.js";
import type { KubeObject } from "../api/meta.js";
import type { UserInfo } from "../api/types/index.js";
import type { KindPrinter } from "../api/printers/printer.js";
import { isKubeObject, isRecord } from "../api/meta.js";
import { apiVersionOf, type ResourceInfo } from "../api/resources.js";
import { buildTable } from "../api/tables.js";
import { findUnknownFields, pruneUnknownFields } from "../api/unknown-fields.js";
import { applyPatch } from "../api/patch/apply.js";
import { bytesDecodeError } from "../api/validation/config.js";
import type { Logger } from "../component-base/logging.js";
import { readBody } from "./http/body.js";
import { aggregatedDiscovery, AGGREGATED_DISCOVERY_CONTENT_TYPE, apiGroup, apiResourceList, legacyApiGroupList, legacyApiVersions, versionInfo, wantsAggregated } from "./http/discovery.js";
import type { PartialMetadataApiVersion, ReplyForm } from "./http/negotiate.js";
import { applyFieldValidation as fieldValidationWarnings, checkObjectMediaType, decodeBody, decodeBodyFields, duplicateFields, goValueString, negotiateReply, notAcceptable, parseFieldValidation, partialMetadataVersion, partialObjectMetadata, patchTypeOf, PROTOBUF_MEDIA_TYPE, toYamlText } from "./http/negotiate.js";
import { encodeProtobufObject, hasProtobufMessage } from "./http/protobuf.js";
import { openApiDocument, openApiHeaders, openApiIndex } from "./http/openapi.js";
import { openApiV2, wantsOpenApiV2Protobuf } from "./http/openapi-v2.js";
import { dryRunErrors, isWriteMethod, writeParams, type WriteParams } from "./http/write-options.js";
import { sendStatus, toStatus } from "./http/status.js";
import { admitted, healthCheckOf, healthReply, recovered, serveOn } from "./http/front.js";
import { acceptWatchWebSocket, chunkedWatchWriter, sharedSerializedEvent, type WatchStreamEvent, type WatchWriter } from "./http/watch-stream.js";
import type { Aggregator } from "./aggregator/aggregator.js";
import type { CustomResources } from "./registry/apiextensions/custom-resources.js";
import type { ApiServerMetrics } from "./metrics.js";
import { parseRequestInfo, requestTarget, type RequestInfo } from "./request-info.js";
import { createdJsonOf } from "./storage/created-json.js";
import { insecureUser } from "./auth/identity.js";
import type { RequestAuth } from "./auth/filters.js";
import { requestUserOf } from "./auth/request-user.js";
import type { ComputedRequest, ComputedResource, SubresourceReply, SubresourceRequest } from "./registry/kind.js";
import type { Registry, ServedResource } from "./registry/registry.js";
import { patchThroughView } from "./registry/view-patch.js";
import type { DeleteOptions, ListParams, WatchParams } from "./registry/store.js";
import type { CacheWatcher, Storage } from "./storage/interfaces.js";
import { expressModule } from "./lazy-modules.js";

export interface ApiServerDeps {
  registry: Registry;
  storage: Storage;
  metrics: ApiServerMetrics;
  promRegistry: PromRegistry;
  logger: Logger;
  /** host:port advertised in legacy discovery. */
  serverAddress: string;
  /** Answers pods/log, exec, attach, portforward by proxying to the pod's kubelet; absent until nodes exist. */
  kubeletProxy?: KubeletProxy;
  /**
   * True once the bootstrap objects (system namespaces, the `kubernetes` Service) exist; readyz and healthz fail
   * until then, so that a client that waited for readiness can create objects in "default".
   */
  bootstrapped?: () => boolean;
  /** The aggregation layer: group versions served by other servers (APIServices), proxied and listed in discovery. */
  aggregator?: Aggregator;
  /** The resources CustomResourceDefinitions define, served and listed in discovery beside the built-in ones. */
  customResources?: CustomResources;
  /** Authentication, impersonation and authorization of every request; absent, requests run as nobody in particular. */
  auth?: RequestAuth;
  /** With --workers above 1: this worker's view of its siblings (aggregated /metrics, readiness of all of them). */
  workers?: WorkerGroup;
}

/** What a worker of a --workers=N apiserver knows of the whole group (apiserver/workers.ts). */
export interface WorkerGroup {
  /** The Prometheus text of every worker's registry, aggregated as one apiserver. */
  metrics(): Promise<string>;
  /** True while every worker the primary runs has reported ready. */
  allReady(): boolean;
}

export interface KubeletProxy {
  log(pod: KubeObject, query: URLSearchParams, res: ServerResponse): Promise<void>;
  upgrade(pod: KubeObject, subresource: string, req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void>;
  /** nodes/<name>/proxy/<path>: any method, relayed to the node's kubelet at /<path>. */
  nodeProxy(node: KubeObject, path: string, query: URLSearchParams, req: IncomingMessage, res: ServerResponse): Promise<void>;
}

const JSON_TYPE = "application/json";

export function createApiHandlers(deps: ApiServerDeps): ApiHandlers {
  // express is loaded and its routes built on the first request that needs them, not at start.
  let app: Express | undefined;
  const nonResource = (): Express => {
    app ??= nonResourceApp(deps);
    return app;
  };

  // Resource requests (nearly all traffic) skip express's router; everything else goes through the app. Resource
  // requests are admitted (authenticated, authorized) inside handleResourceRequest, so that refusals are counted.
  const request = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? "/";
    const remote = url.startsWith("/apis/") ? deps.aggregator?.remoteForPath(url) : undefined;
    if (remote !== undefined && deps.aggregator !== undefined) {
      const aggregator = deps.aggregator;
      const info = countProxied(req, res, deps);
      recovered(req, res, deps, admitted(req, res, deps, info).then((ok) => (ok ? aggregator.proxy(req, res, remote) : undefined)));
      return;
    }
    if ((url.startsWith("/api/") || url.startsWith("/apis/")) && isResourcePath(url)) recovered(req, res, deps, handleResourceRequest(req, res, deps));
    else if (deps.auth) recovered(req, res, deps, admitted(req, res, deps, undefined).then((ok) => { if (ok) serveNonResource(req, res, deps, nonResource); }));
    else serveNonResource(req, res, deps, nonResource);
  };
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    handleUpgrade(req, socket, head, deps).catch((err: unknown) => {
      deps.logger.error({ err: String(err), path: req.url }, "upgrade failed");
      socket.destroy();
    });
  };
  return { request, upgrade };
}

/**
 * The health checks, answered without express (they are polled from the first moment, and readiness should not wait
 * for express to load); every other non-resource path goes to the express app.
 */
function serveNonResource(req: IncomingMessage, res: ServerResponse, deps: ApiServerDeps, app: () => Express): void {
  const check = req.method === "GET" || req.method === "HEAD" ? healthCheckOf(req.url ?? "/") : undefined;
  if (check !== undefined) recovered(req, res, deps, healthReply(req, res, deps, check));
  else app()(req, res);
}

/** Discovery, version, metrics, OpenAPI and 404s: the non-resource endpoints served through express. */
function nonResourceApp(deps: ApiServerDeps): Express {
  const app = expressModule()();
  app.disable("x-powered-by");
  app.disable("etag");
  app.set("query parser", (q: string) => new URLSearchParams(q));

  app.get("/healthz", (req, res) => {
    recovered(req, res, deps, healthReply(req, res, deps, "healthz"));
  });
  app.get("/readyz", (req, res) => {
    recovered(req, res, deps, healthReply(req, res, deps, "readyz"));
  });
  app.get("/livez", (req, res) => {
    recovered(req, res, deps, healthReply(req, res, deps, "livez"));
  });
  app.get("/version", (_req, res) => {
    sendJson(res, 200, versionInfo());
  });
  app.get("/metrics", (_req, res) => {
    void (deps.workers?.metrics() ?? deps.promRegistry.metrics()).then(
      (text) => {
        res.status(200).type(deps.promRegistry.contentType).send(text);
      },
      (err: unknown) => {
        sendStatus(res, new StatusError(500, "InternalError", `collecting metrics: ${String(err)}`));
      },
    );
  });
  app.get("/api", (req, res) => {
    if (wantsAggregated(req.headers.accept ?? "")) sendJson(res, 200, aggregatedDiscovery("api"), AGGREGATED_DISCOVERY_CONTENT_TYPE);
    else sendDiscovery(req, res, legacyApiVersions(deps.serverAddress));
  });
  app.get("/apis", (req, res) => {
    recovered(req, res, deps, refreshCustomResources(deps).then(() => {
      const crds = deps.customResources;
      if (wantsAggregated(req.headers.accept ?? "")) sendJson(res, 200, aggregatedDiscovery("apis", [...(deps.aggregator?.aggregated() ?? []), ...(crds?.aggregated() ?? [])]), AGGREGATED_DISCOVERY_CONTENT_TYPE);
      else sendDiscovery(req, res, legacyApiGroupList([...(deps.aggregator?.groups() ?? []), ...(crds?.groups() ?? [])]));
    }));
  });
  app.get("/api/v1", (req, res) => {
    sendDiscovery(req, res, apiResourceList("", "v1") ?? {});
  });
  app.get("/apis/:group", (req, res) => {
    recovered(req, res, deps, orRefreshed(deps, () => groupOf(deps, req.params.group)).then((group) => {
      if (isRecord(group)) sendDiscovery(req, res, group);
      else sendPageNotFound(res);
    }));
  });
  app.get("/apis/:group/:version", (req, res) => {
    const find = (): unknown => apiResourceList(req.params.group, req.params.version) ?? deps.customResources?.resourceList(req.params.group, req.params.version);
    recovered(req, res, deps, orRefreshed(deps, find).then((list) => {
      if (isRecord(list)) sendDiscovery(req, res, list);
      else if (groupOf(deps, req.params.group)) sendStatus(res, notFoundPath());
      else sendPageNotFound(res);
    }));
  });
  // The discovery documents served by Kubernetes' REST container answer other methods with 405.
  app.all(["/api", "/api/v1", "/apis/:group/:version", "/version"], (_req, res) => {
    sendStatus(res, methodNotAllowed("the server does not allow this method on the requested resource"));
  });
  app.get("/openapi/v2", (req, res) => {
    // JSON unless the client asks for gnostic's protobuf (kubectl <= 1.26); a matching If-None-Match gets 304. The
    // protobuf reply is labelled application/octet-stream: Go's media-type parser rejects the requested type's "@".
    const v2 = openApiV2();
    const proto = wantsOpenApiV2Protobuf(req.headers.accept);
    const reply = proto ? v2.protobuf : v2.json;
    const headers = { ETag: reply.etag, Vary: "Accept", "Cache-Control": "no-cache, private" };
    if (req.headers["if-none-match"] === reply.etag) {
      res.writeHead(304, headers);
      res.end();
      return;
    }
    res.writeHead(200, { ...headers, "Content-Type": proto ? "application/octet-stream" : "application/json" });
    res.end(reply.body);
  });
  app.get("/openapi/v3", (_req, res) => {
    sendJson(res, 200, openApiIndex());
  });
  app.get(/^\/openapi\/v3\/(.+)$/, (req, res) => {
    const path = (req.params as Record<string, string>)["0"] ?? "";
    const found = openApiDocument(path);
    if (!found) {
      sendStatus(res, notFoundPath());
      return;
    }
    const hash = new URL(req.originalUrl, "http://x").searchParams.get("hash") ?? undefined;
    if (req.headers["if-none-match"] === found.etag) {
      res.writeHead(304, openApiHeaders(found, hash));
      res.end();
      return;
    }
    res.writeHead(200, openApiHeaders(found, hash));
    res.end(found.body);
  });

  app.use((req, res) => {
    recovered(req, res, deps, handleResourceRequest(req, res, deps));
  });
  return app;
}

/** The apiserver's request and upgrade handlers: one set serves both the insecure and the secure port. */
export interface ApiHandlers {
  readonly request: (req: IncomingMessage, res: ServerResponse) => void;
  readonly upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}

/** The apiserver over plain HTTP (the insecure port, and tests). */
export function createApiServer(deps: ApiServerDeps): Server {
  return serveOn(createServer(), createApiHandlers(deps));
}

function sendJson(res: ServerResponse, code: number, body: unknown, contentType = JSON_TYPE): void {
  sendJsonText(res, code, JSON.stringify(body), contentType);
}

function sendJsonText(res: ServerResponse, code: number, text: string, contentType: string): void {
  res.statusCode = code;
  res.setHeader("Content-Type", contentType);
  res.setHeader("Content-Length", Buffer.byteLength(text));
  res.end(text);
}

/** A JSON body already encoded (UTF-8). */
function sendJsonBytes(res: ServerResponse, code: number, body: Buffer): void {
  res.statusCode = code;
  res.setHeader("Content-Type", JSON_TYPE);
  res.setHeader("Content-Length", body.length);
  res.end(body);
}

/**
 * A legacy discovery document in the form the Accept header asks for: JSON, YAML, or protobuf (the real apiserver
 * offers all three here; client-go's discovery client asks for protobuf first when configured for it), else 406.
 * As Kubernetes writes them, the core group's documents (/api, /api/v1) carry an empty apiVersion in protobuf.
 */
function sendDiscovery(req: IncomingMessage, res: ServerResponse, document: object): void {
  const form = negotiateReply(req.headers.accept, true);
  if (form === undefined) {
    sendStatus(res, notAcceptable(true));
    return;
  }
  if (form.encoding === "protobuf" && !("as" in form)) {
    const doc: Record<string, unknown> = { ...document };
    const core = doc.kind === "APIVersions" || (doc.kind === "APIResourceList" && doc.groupVersion === "v1");
    const body = encodeProtobufObject({ ...doc, apiVersion: core ? "" : doc.apiVersion });
    if (body !== undefined) {
      res.writeHead(200, { "Content-Type": PROTOBUF_MEDIA_TYPE, "Content-Length": body.length });
      res.end(body);
      return;
    }
  }
  if (form.encoding === "yaml") {
    const text = toYamlText(document);
    res.writeHead(200, { "Content-Type": "application/yaml", "Content-Length": Buffer.byteLength(text) });
    res.end(text);
    return;
  }
  sendJson(res, 200, document);
}

/** A group served here: built in, aggregated (an APIService) or defined by a CRD. */
function groupOf(deps: ApiServerDeps, group: string): unknown {
  return apiGroup(group) ?? deps.aggregator?.group(group) ?? deps.customResources?.group(group);
}

/** What Kubernetes answers for a path no handler serves (an unknown group, a path outside the API): plain text. */
function sendPageNotFound(res: ServerResponse): void {
  const text = "404 page not found\n";
  res.statusCode = 404;
  res.setHeader("Content-Type", "text/plain; charset=utf-8");
  res.setHeader("X-Content-Type-Options", "nosniff");
  res.setHeader("Content-Length", Buffer.byteLength(text));
  res.end(text);
}

function notFoundPath(): StatusError {
  return new StatusError(404, "NotFound", "the server could not find the requested resource", {});
}

function resolve(deps: ApiServerDeps, req: RequestInfo): ServedResource | undefined {
  return deps.registry.served(req.group, req.version, req.resource) ?? deps.customResources?.served(req.group, req.version, req.resource);
}

// ---- custom resources (crd helper) ----

/** Re-reads the CRDs (a consistent read) so that one created a moment ago, here or on another apiserver, is served. */
async function refreshCustomResources(deps: ApiServerDeps): Promise<void> {
  try {
    await deps.customResources?.refresh();
  } catch (err) {
    deps.logger.warn({ err: String(err) }, "could not refresh CustomResourceDefinitions");
  }
}

/** `find()`, or after a refresh of the CRDs when it finds nothing. */
async function orRefreshed<T>(deps: ApiServerDeps, find: () => T | undefined): Promise<T | undefined> {
  const found = find();
  if (found !== undefined || !deps.customResources) return found;
  await refreshCustomResources(deps);
  return find();
}

/** The Table options of a resource with its own printer (custom resources). */
function printerOf(r: ServedResource): { printer?: KindPrinter } {
  return r.printer ? { printer: r.printer } : {};
}

/** The unknown fields of a request body: from the resource's schema (custom resources) or the wire models. */
function unknownFieldsOf(r: ServedResource, body: unknown): string[] {
  return r.unknownFields ? r.unknownFields(body) : findUnknownFields(apiVersionOf(r.info), r.info.kind, body);
}

// ---- end custom resources ----

/** /api/v1/<something> or /apis/<group>/<version>/<something>: not a discovery document. */
function isResourcePath(url: string): boolean {
  const mark = url.indexOf("?");
  const end = mark < 0 ? url.length : mark;
  // The number of non-empty segments, counted without splitting (every request asks).
  let depth = 0;
  for (let i = 0; i < end; i++) if (url.charCodeAt(i) !== SLASH && (i === 0 || url.charCodeAt(i - 1) === SLASH)) depth++;
  return url.startsWith("/api/") ? depth >= 3 : depth >= 4;
}

const SLASH = 0x2f;

/** apiserver_current_inflight_requests' two series (prom-client only reads the labels it is given). */
const READ_ONLY_INFLIGHT = Object.freeze({ request_kind: "readOnly" });
const MUTATING_INFLIGHT = Object.freeze({ request_kind: "mutating" });

async function handleResourceRequest(req: IncomingMessage, res: ServerResponse, deps: ApiServerDeps): Promise<void> {
  const started = process.hrtime.bigint();
  const url = requestTarget(req.url ?? "/");
  const method = req.method ?? "GET";
  const info = parseRequestInfo(method, url.pathname, url.searchParams);
  // A resource served already is found without a round through the event loop; only a miss refreshes the CRDs.
  const served = info ? resolve(deps, info) : undefined;
  const resolved = served ?? (info ? await orRefreshed(deps, () => resolve(deps, info)) : undefined);
  const labels = {
    verb: info ? metricVerb(info, method) : "",
    group: info?.group ?? "",
    version: info?.version ?? "",
    resource: info?.resource ?? "",
    subresource: info?.subresource ?? "",
    scope: info?.name ? "resource" : info?.namespace ? "namespace" : "cluster",
    component: "apiserver",
  };
  const readOnly = req.method === "GET" || req.method === "HEAD";
  const inflightLabels = readOnly ? READ_ONLY_INFLIGHT : MUTATING_INFLIGHT;
  const longRunning = labels.verb === "WATCH" || labels.verb === "CONNECT";
  deps.metrics.inflight.inc(inflightLabels);
  if (longRunning) deps.metrics.longRunning.inc(labels);
  // "close" comes once per response: a plain listener, without once()'s wrapper.
  res.on("close", () => {
    deps.metrics.inflight.dec(inflightLabels);
    if (longRunning) deps.metrics.longRunning.dec(labels);
    // The labels in the metric's order, written out rather than spread (every request counts).
    const { verb, group, version, resource, subresource, scope, component } = labels;
    deps.metrics.requests.inc({ verb, group, version, resource, subresource, scope, component, code: String(res.statusCode) });
    if (!longRunning) {
      deps.metrics.requestDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    }
  });
  try {
    await deps.auth?.admit(req, info, url.pathname);
    if (info && info.group !== "" && !resolved && !groupOf(deps, info.group)) {
      sendPageNotFound(res);
      return;
    }
    if (!info || !resolved) throw notFoundPath();
    checkScope(resolved.info, info);
    await dispatch(req, res, url.searchParams, info, resolved, deps);
  } catch (err) {
    if (!(err instanceof StatusError)) deps.logger.error({ err: String(err), path: url.pathname }, "request failed");
    if (!res.headersSent) sendStatus(res, err);
    else res.end();
  }
}

/** Aggregated requests count in apiserver_request_total and its latency like local ones, as in Kubernetes. Returns what the request addresses. */
function countProxied(req: IncomingMessage, res: ServerResponse, deps: ApiServerDeps): RequestInfo | undefined {
  const started = process.hrtime.bigint();
  const url = new URL(req.url ?? "/", "http://apiserver");
  const method = req.method ?? "GET";
  const info = parseRequestInfo(method, url.pathname, url.searchParams);
  const labels = {
    verb: info ? metricVerb(info, method) : method,
    group: info?.group ?? "",
    version: info?.version ?? "",
    resource: info?.resource ?? "",
    subresource: info?.subresource ?? "",
    scope: info?.name ? "resource" : info?.namespace ? "namespace" : "cluster",
    component: "apiserver",
  };
  res.once("close", () => {
    deps.metrics.requests.inc({ ...labels, code: String(res.statusCode) });
    if (labels.verb !== "WATCH") deps.metrics.requestDuration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
  });
  return info;
}

function metricVerb(info: RequestInfo, method: string): string {
  if (info.verb === "connect") return "CONNECT";
  if (info.verb === "watch") return "WATCH";
  if (info.verb === "list") return "LIST";
  if (method === "POST") return "POST";
  return method;
}

function checkScope(resource: ResourceInfo, info: RequestInfo): void {
  if (!resource.namespaced && info.namespace !== undefined) throw notFoundPath();
  if (resource.namespaced && info.namespace === undefined && info.name !== undefined) throw notFoundPath();
  if (resource.namespaced && info.namespace === undefined && (info.verb === "create" || info.verb === "deletecollection")) throw notFoundPath();
}

async function dispatch(req: IncomingMessage, res: ServerResponse, query: URLSearchParams, info: RequestInfo, r: ServedResource, deps: ApiServerDeps): Promise<void> {
  const ns = info.namespace;
  const name = info.name ?? "";
  const method = req.method ?? "GET";
  // As upstream's PATCH handler: an unsupported patch type is a 415 before the options are looked at.
  if (method === "PATCH" && info.verb !== "connect" && patchTypeOf(req.headers["content-type"]) === undefined) throw unsupportedPatchType();
  // The write options are checked (422) after the body's media type (415), as upstream does.
  let checked: WriteParams | undefined;
  const writeOptions = (): WriteParams => {
    checked ??= isWriteMethod(method) && info.verb !== "connect" ? writeParams(method, query, req.headers["user-agent"], patchTypeOf(req.headers["content-type"])) : { dryRun: false, fieldManager: "", force: false };
    return checked;
  };
  const sub = info.subresource;
  if (info.verb !== "connect") checkAcceptable(req, r, sub);
  // A verb the resource does not have (deletecollection of namespaces, a watch of componentstatuses) is refused
  // before anything is read or written, as upstream's router has no route for it.
  if (sub === undefined && info.verb !== "connect" && !r.info.verbs.includes(info.verb)) {
    throw methodNotAllowed("the server does not allow this method on the requested resource");
  }
  if (r.computed) {
    await dispatchComputed(req, res, query, info, r, r.computed, deps);
    return;
  }
  if (sub !== undefined) {
    await dispatchSubresource(req, res, query, info, r, deps, sub, writeOptions());
    return;
  }
  switch (info.verb) {
    case "get":
      respondObject(req, res, r, 200, await r.store.get(ns, name), query);
      return;
    case "list": {
      const result = await r.store.list(ns, listParams(query, r.info));
      respondList(req, res, r, result, query);
      return;
    }
    case "watch":
      await serveWatch(req, res, query, info, r, deps);
      return;
    case "create": {
      // A POST names a collection; an object's own URL does not take one.
      if (info.name !== undefined) throw methodNotAllowed("the server does not allow this method on the requested resource");
      // As upstream: the body's media type (415), then the options (422), then the body itself.
      checkObjectMediaType(req.headers["content-type"]);
      const { dryRun, fieldManager } = writeOptions();
      const body = await requestObject(req, r, query, res);
      const created = await r.store.create(ns, r.fromApi(body) as KubeObject, { dryRun, fieldManager, ...userOption(req) });
      respondObject(req, res, r, 201, created, query);
      return;
    }
    case "update": {
      // PUT names an object; a collection has no update (405, as upstream's router answers).
      if (info.name === undefined) throw methodNotAllowed("the server does not allow this method on the requested resource");
      checkObjectMediaType(req.headers["content-type"]);
      const { dryRun, fieldManager } = writeOptions();
      const body = await requestObject(req, r, query, res);
      const { object, created } = await r.store.update(ns, name, r.fromApi(body) as KubeObject, { dryRun, fieldManager, ...userOption(req) });
      respondObject(req, res, r, created ? 201 : 200, object, query);
      return;
    }
    case "patch": {
      if (info.name === undefined) throw methodNotAllowed("the server does not allow this method on the requested resource");
      const { dryRun, force, fieldManager } = writeOptions();
      const { contentType, patch } = await requestPatch(req, r, query, res, async () => r.toApi(await r.store.get(ns, name)));
      const options = { dryRun, force, fieldManager, ...userOption(req) };
      const { object, created } = r.converted ? await patchThroughView(r, ns, name, contentType, patch, options) : await r.store.patch(ns, name, contentType, patch, options);
      respondObject(req, res, r, created ? 201 : 200, object, query);
      return;
    }
    case "delete": {
      const options = { ...(await deleteOptions(req, query, writeOptions().dryRun)), user: requestUserOf(req) };
      const { result, removed } = await r.store.deleteWithOutcome(ns, name, options);
      // Kubernetes answers 200 whether the object is gone or only marked for deletion (grace period, finalizers);
      // 202 Accepted only when it stays and the client asked for cascading with the legacy orphanDependents=false.
      const accepted = !removed && options.orphanDependents === false;
      if (isKubeObject(result)) respondObject(req, res, r, accepted ? 202 : 200, result, query);
      else sendObject(req, res, 200, result);
      return;
    }
    case "deletecollection": {
      const options = { ...(await deleteOptions(req, query, writeOptions().dryRun)), user: requestUserOf(req) };
      const deleted = await r.store.deleteCollection(ns, listParams(query, r.info), options);
      respondList(req, res, r, deleted, query);
      return;
    }
    case "connect":
      throw methodNotAllowed(`${info.resource} does not support connect`);
  }
}

/** The authenticated user as a write option (kinds that record their creator read it). */
function userOption(req: IncomingMessage): { user?: UserInfo } {
  const user = requestUserOf(req);
  return user ? { user } : {};
}

/** A resource answered rather than stored: the review kinds (create) and ComponentStatus (get, list). */
async function dispatchComputed(req: IncomingMessage, res: ServerResponse, query: URLSearchParams, info: RequestInfo, r: ServedResource, computed: ComputedResource, deps: ApiServerDeps): Promise<void> {
  if (computed.warning !== undefined) res.setHeader("Warning", `299 - ${JSON.stringify(computed.warning)}`);
  const request: ComputedRequest = {
    namespace: info.namespace,
    name: info.name,
    authorization: req.headers.authorization,
    user: requestUserOf(req) ?? insecureUser(),
    object: () => requestObject(req, r, query, res),
    storeFor: (group, version, resource) => deps.registry.store(group, version, resource),
  };
  const refuse = (): never => {
    throw methodNotAllowed("the server does not allow this method on the requested resource");
  };
  if (info.subresource !== undefined) throw notFoundPath();
  switch (info.verb) {
    case "create":
      respondObject(req, res, r, 201, await (computed.create ?? refuse)(request), query);
      return;
    case "get":
      respondObject(req, res, r, 200, await (computed.get ?? refuse)(request), query);
      return;
    case "list":
      respondList(req, res, r, { items: await (computed.list ?? refuse)(request), resourceVersion: "" }, query);
      return;
    case "watch":
    case "update":
    case "patch":
    case "delete":
    case "deletecollection":
    case "connect":
      refuse();
  }
}

async function dispatchSubresource(req: IncomingMessage, res: ServerResponse, query: URLSearchParams, info: RequestInfo, r: ServedResource, deps: ApiServerDeps, sub: string, params: WriteParams): Promise<void> {
  const { dryRun, fieldManager } = params;
  const ns = info.namespace ?? "";
  const name = info.name ?? "";
  const declared = r.info.subresources.find((s) => s.name === sub);
  if (!declared || !info.name) throw notFoundPath();
  const method = req.method;
  const handler = Object.hasOwn(r.subresources, sub) ? r.subresources[sub] : undefined;
  if (handler) {
    const request: SubresourceRequest = {
      method: method ?? "GET",
      namespace: info.namespace,
      name,
      dryRun,
      fieldManager,
      store: r.store,
      storeFor: (group, version, resource) => deps.registry.store(group, version, resource),
      object: () => requestObject(req, r, query, res),
      json: () => readJson(req),
      patch: () => requestPatch(req, r, query, res),
    };
    sendSubresourceReply(req, res, r, await handler(request), query, printsTables(sub));
    return;
  }
  if (sub === "status") {
    if (method === "GET") {
      respondObject(req, res, r, 200, await r.store.get(info.namespace, name), query);
      return;
    }
    if (method === "PUT") {
      const body = await requestObject(req, r, query, res);
      const { object } = await r.store.update(info.namespace, name, r.fromApi(body) as KubeObject, { dryRun, subresource: "status", fieldManager, user: requestUserOf(req) });
      respondObject(req, res, r, 200, object, query);
      return;
    }
    if (method === "PATCH") {
      const { contentType, patch } = await requestPatch(req, r, query, res, () => r.store.get(info.namespace, name));
      const { object } = await r.store.patch(info.namespace, name, contentType, patch, { dryRun, subresource: "status", fieldManager, force: params.force, user: requestUserOf(req) });
      respondObject(req, res, r, 200, object, query);
      return;
    }
    throw methodNotAllowed(`the server does not allow this method on the requested resource`);
  }
  if (sub === "log" && method === "GET") {
    const pod = await r.store.get(ns, name);
    if (!deps.kubeletProxy) throw serviceUnavailable(noKubeletMessage(pod, "logs"));
    await deps.kubeletProxy.log(pod, query, res);
    return;
  }
  if (sub === "proxy") {
    // As Kubernetes: the target object is looked up first, so a missing one is 404 NotFound naming it.
    const object = await r.store.get(info.namespace, proxyTargetName(r.info.resource, name));
    if (r.info.resource === "nodes" && deps.kubeletProxy) {
      await deps.kubeletProxy.nodeProxy(object, proxyPath(req, r.info.resource, name), query, req, res);
      return;
    }
    throw serviceUnavailable(`${r.info.resource}/proxy is not available in this cluster yet`);
  }
  if (sub === "exec" || sub === "attach" || sub === "portforward") {
    const pod = r.info.resource === "pods" ? await r.store.get(ns, name) : undefined;
    if (pod && deps.kubeletProxy) throw badRequest("Upgrade request required");
    throw serviceUnavailable(pod ? noKubeletMessage(pod, sub) : `${r.info.resource}/${sub} is not available in this cluster yet`);
  }
  throw methodNotAllowed("the server does not allow this method on the requested resource");
}

/**
 * The object a proxy subresource's id names: `<name>`, `<name>:<port>` or `<scheme>:<name>:<port>` (scheme http or
 * https), as Kubernetes' SplitSchemeNamePort reads it; any other id is 400 BadRequest ("invalid service request").
 */
export function proxyTargetName(resource: string, id: string): string {
  const parts = id.split(":");
  const scheme = parts.length === 3 ? parts[0] : "";
  const name = parts.length === 3 ? parts[1] : parts.length <= 2 ? parts[0] : "";
  if (name === undefined || name === "" || !["", "http", "https"].includes(scheme ?? "")) {
    throw badRequest(`invalid ${resource.replace(/s$/, "")} request ${JSON.stringify(id)}`);
  }
  return name;
}

/** The path after `<name>/proxy` in a proxy subresource request ("/" when there is none). */
function proxyPath(req: IncomingMessage, resource: string, name: string): string {
  const path = new URL(req.url ?? "/", "http://apiserver").pathname;
  const marker = `/${resource}/${encodeURIComponent(name)}/proxy`;
  const at = path.indexOf(marker);
  const rest = at < 0 ? "" : path.slice(at + marker.length);
  return rest === "" ? "/" : rest;
}

/**
 * A subresource's reply: the resource's own object, or another kind's (a Scale, a TokenRequest, a CSR's approval)
 * as it is, both in the negotiated form; a Status (a binding's, an eviction's) is never transformed.
 */
function sendSubresourceReply(req: IncomingMessage, res: ServerResponse, r: ServedResource, reply: SubresourceReply, query: URLSearchParams, table: boolean): void {
  if ("object" in reply) respondObject(req, res, r, reply.code, reply.object, query, { table });
  else if (isKubeObject(reply.body) && reply.body.kind !== "Status") respondObject(req, res, r, reply.code, reply.body, query, { table, asIs: true });
  else sendObject(req, res, reply.code, reply.body, r);
}

function noKubeletMessage(pod: KubeObject, what: string): string {
  const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
  return nodeName
    ? `unable to reach the kubelet of node "${nodeName}" for ${what} of pod "${pod.metadata.name ?? ""}": no kubelet connection is configured`
    : `pod "${pod.metadata.name ?? ""}" is not scheduled to a node yet, so it has no ${what}`;
}

/**
 * The ListOptions checks upstream makes before a list or watch: `timeoutSeconds` must be an integer (400), and
 * `resourceVersionMatch` needs a `resourceVersion` and is NotOlderThan or Exact (Exact not with "0"), else 422
 * naming ListOptions.
 */
function checkListOptions(query: URLSearchParams): void {
  checkTimeoutSeconds(query);
  const match = query.get("resourceVersionMatch");
  if (match === null || match === "") return;
  const rv = query.get("resourceVersion") ?? "";
  const field = "resourceVersionMatch";
  if (rv === "") throw invalid("ListOptions", "meta.k8s.io", "", [{ type: "FieldValueForbidden", field, message: "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided" }]);
  if (match !== "NotOlderThan" && match !== "Exact") {
    throw invalid("ListOptions", "meta.k8s.io", "", [{ type: "FieldValueNotSupported", field, message: `Unsupported value: ${JSON.stringify(match)}: supported values: "Exact", "NotOlderThan"` }]);
  }
  if (match === "Exact" && rv === "0") throw invalid("ListOptions", "meta.k8s.io", "", [{ type: "FieldValueForbidden", field, message: `Forbidden: resourceVersionMatch "exact" is forbidden for resourceVersion "0"` }]);
}

function checkTimeoutSeconds(query: URLSearchParams): void {
  const timeout = query.get("timeoutSeconds");
  if (timeout !== null && timeout !== "" && !/^-?\d+$/.test(timeout)) throw badRequest(`unable to parse timeoutSeconds "${timeout}": not an integer`);
}

/**
 * A field selector in the stored kind's field names: a kind served under another group's names (events.k8s.io's
 * Event) maps its own labels and refuses the rest, as Kubernetes' field-label conversion functions do.
 */
function storedFieldSelector(served: { group: string; kind: string }, text: string): string {
  const parsed = parseFieldSelector(text);
  const converted = convertFieldSelector(served.group, served.kind, parsed);
  return converted === parsed ? text : converted.toString();
}

function listParams(query: URLSearchParams, served: { group: string; kind: string }): ListParams {
  checkListOptions(query);
  const params: ListParams = {};
  const label = query.get("labelSelector");
  const field = query.get("fieldSelector");
  const limit = query.get("limit");
  const cont = query.get("continue");
  const rv = query.get("resourceVersion");
  if (label) params.labelSelector = label;
  if (field) params.fieldSelector = storedFieldSelector(served, field);
  if (limit !== null && limit !== "") {
    const n = Number(limit);
    if (!Number.isInteger(n) || n < 0) throw badRequest(`limit: Invalid value: "${limit}": must be a non-negative integer`);
    params.limit = n;
  }
  if (cont) params.continue = cont;
  if (rv !== null) params.resourceVersion = rv;
  return params;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const raw = await readBody(req);
  const contentType = req.headers["content-type"];
  if (patchTypeOf(contentType) !== undefined) throw unsupportedMediaType();
  return decodeBody(contentType, raw);
}

/** Decodes a create/update body and applies kubectl's fieldValidation directive (Strict: 400, Warn: a Warning header). */
async function requestObject(req: IncomingMessage, r: ServedResource, query: URLSearchParams, res: ServerResponse): Promise<unknown> {
  const raw = await readBody(req);
  const contentType = req.headers["content-type"];
  // A create or update body is an object, never a patch: Kubernetes has no decoder for patch types here (415).
  if (patchTypeOf(contentType) !== undefined) throw unsupportedMediaType();
  if (raw.length === 0) throw badRequest("the request body is empty: an object is required");
  const decoded = decodeBodyFields(contentType, raw);
  const body = decoded.value;
  if (!isRecord(body)) throw badRequest(`the body must be a JSON object`);
  if (!isRecord(body.metadata)) {
    if (body.metadata !== undefined) throw badRequest("metadata must be an object");
    body.metadata = {};
  }
  if (r.info.group === "") {
    const undecodable = bytesDecodeError(r.info.kind, body);
    if (undecodable !== undefined) throw badRequest(`${r.info.kind} in version "${r.info.version}" cannot be handled as a ${r.info.kind}: ${undecodable}`);
  }
  const problems = { unknown: unknownFieldsOf(r, body), duplicate: decoded.duplicate ?? duplicateFields(contentType, raw) };
  applyFieldValidation(query, r.info, problems, res);
  // As Kubernetes' decoder does, unknown fields are dropped (after a Warning, or silently under Ignore).
  if (problems.unknown.length > 0) pruneUnknownFields(apiVersionOf(r.info), r.info.kind, body);
  return body;
}

const PATCH_MEDIA_TYPES = ["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json", "application/apply-patch+yaml"];

function unsupportedPatchType(accepted: readonly string[] = PATCH_MEDIA_TYPES): StatusError {
  return new StatusError(415, "UnsupportedMediaType", `the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`);
}

async function requestPatch(req: IncomingMessage, r: ServedResource, query: URLSearchParams, res: ServerResponse, current?: () => Promise<KubeObject>): Promise<{ contentType: string; patch: unknown }> {
  const contentType = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  const known = r.patchTypes ?? PATCH_MEDIA_TYPES;
  if (!known.includes(contentType)) throw unsupportedPatchType(known);
  const raw = await readBody(req);
  if (raw.length === 0) throw badRequest("the patch body is empty");
  const decoded = decodeBodyFields(contentType, raw);
  const patch = decoded.value;
  if (isRecord(patch) && contentType !== "application/json-patch+json") {
    const problems = { unknown: unknownFieldsOf(r, withoutDirectives(patch)), duplicate: decoded.duplicate ?? duplicateFields(contentType, raw) };
    // Under Strict, upstream refuses a merge patch's result with unknown fields, like a JSON patch's, and a strategic
    // merge patch with them quoting the patch itself (as Go prints a map): 422 on the field `patch`.
    if (problems.unknown.length > 0 && parseFieldValidation(query.get("fieldValidation")) === "Strict") {
      if (contentType === "application/merge-patch+json" && current !== undefined) throw await strictPatchError(contentType, patch, problems.unknown, current);
      if (contentType === "application/strategic-merge-patch+json") throw strictPatchInvalid(goValueString(patch), problems.unknown);
    }
    applyFieldValidation(query, r.info, problems, res);
    if (problems.unknown.length > 0) pruneUnknownFields(apiVersionOf(r.info), r.info.kind, patch);
  } else if (Array.isArray(patch) && contentType === "application/json-patch+json") {
    await checkJsonPatchFields(query, r.info, patch, res, current);
  }
  return { contentType, patch: r.converted && contentType === "application/apply-patch+yaml" ? r.fromApi(patch) : patch };
}

/**
 * fieldValidation for a JSON patch: the values its operations write, placed at their paths, are checked for unknown
 * fields. Strict refuses them as upstream does after decoding the patched object: 422 Invalid on the field `patch`,
 * quoting that object (`Invalid value: "{...}": strict decoding error: unknown field "spec"`).
 */
async function checkJsonPatchFields(query: URLSearchParams, info: ResourceInfo, operations: readonly unknown[], res: ServerResponse, current: (() => Promise<KubeObject>) | undefined): Promise<void> {
  const directive = parseFieldValidation(query.get("fieldValidation"));
  if (directive === "Ignore") return;
  const unknown: string[] = [];
  for (const op of operations) {
    if (!isRecord(op) || typeof op.path !== "string" || !(op.op === "add" || op.op === "replace")) continue;
    const segments = op.path.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
    let placed: unknown = op.value;
    for (let i = segments.length - 1; i >= 0; i--) {
      const segment = segments[i]!;
      const wrapper: Record<string, unknown> = {};
      if (/^(\d+|-)$/.test(segment)) placed = [placed];
      else {
        Object.defineProperty(wrapper, segment, { value: placed, enumerable: true });
        placed = wrapper;
      }
    }
    if (isRecord(placed)) unknown.push(...findUnknownFields(apiVersionOf(info), info.kind, placed));
  }
  if (unknown.length === 0) return;
  if (directive === "Strict") {
    if (current === undefined) throw badRequest(`strict decoding error: ${[...new Set(unknown)].map((p) => `unknown field "${p}"`).join(", ")}`);
    throw await strictPatchError("application/json-patch+json", operations, unknown, current);
  }
  applyFieldValidation(query, info, { unknown, duplicate: [] }, res);
}

/**
 * The 422 Invalid on the field `patch` that upstream answers when the object a JSON or merge patch leaves has
 * unknown fields under fieldValidation=Strict, quoting that object
 * (`Invalid value: "{...}": strict decoding error: unknown field "spec"`).
 */
async function strictPatchError(contentType: string, patch: unknown, unknown: readonly string[], current: () => Promise<KubeObject>): Promise<StatusError> {
  // The object as the patch would leave it (a patch that does not apply fails here with its own error).
  const patched = applyPatch(contentType, await current(), patch);
  const sorted = isRecord(patched) ? Object.fromEntries(Object.entries(patched).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : patched;
  return strictPatchInvalid(JSON.stringify(sorted), unknown);
}

/** `"" is invalid: patch: Invalid value: "<quoted>": strict decoding error: unknown field "a", ...` (422). */
function strictPatchInvalid(quoted: string, unknown: readonly string[]): StatusError {
  const detail = `strict decoding error: ${[...new Set(unknown)].sort().map((p) => `unknown field "${p}"`).join(", ")}`;
  const message = `Invalid value: ${JSON.stringify(quoted)}: ${detail}`;
  return new StatusError(422, "Invalid", ` "" is invalid: patch: ${message}`, { causes: [{ reason: "FieldValueInvalid", message, field: "patch" }] });
}

function withoutDirectives(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutDirectives);
  if (!isRecord(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (!k.startsWith("$")) out[k] = withoutDirectives(v);
  return out;
}

/** kubectl's fieldValidation directive: Strict refuses unknown or duplicate fields (400), Warn sends Warning headers. */
function applyFieldValidation(query: URLSearchParams, info: ResourceInfo, problems: { unknown: string[]; duplicate: string[] }, res: ServerResponse): void {
  const warnings = fieldValidationWarnings(parseFieldValidation(query.get("fieldValidation")), problems, info.kind, info.version);
  if (warnings.length > 0) res.setHeader("Warning", warnings);
}

async function deleteOptions(req: IncomingMessage, query: URLSearchParams, dryRun: boolean): Promise<DeleteOptions & { orphanDependents?: boolean }> {
  const options: DeleteOptions & { orphanDependents?: boolean } = {};
  const raw = await readBody(req);
  const body = raw.length > 0 ? decodeBody(req.headers["content-type"], raw) : {};
  const source = isRecord(body) ? body : {};
  const grace = query.get("gracePeriodSeconds") ?? source.gracePeriodSeconds;
  if (grace !== undefined && grace !== null) {
    const n = Number(grace);
    if (!Number.isInteger(n)) throw badRequest(`gracePeriodSeconds: Invalid value: ${JSON.stringify(grace)}: must be an integer`);
    options.gracePeriodSeconds = Math.max(0, n);
  }
  const policy = query.get("propagationPolicy") ?? source.propagationPolicy;
  const orphan = query.get("orphanDependents") ?? source.orphanDependents;
  if (policy !== undefined && policy !== null && orphan !== undefined && orphan !== null) {
    throw invalid("DeleteOptions", "meta.k8s.io", "", [{ type: "FieldValueInvalid", field: "propagationPolicy", message: `Invalid value: ${JSON.stringify(policy)}: orphanDependents and deletionPropagation cannot be both set` }]);
  }
  if (Array.isArray(source.dryRun)) {
    const errors = dryRunErrors(source.dryRun.map((v) => String(v)));
    if (errors.length > 0) throw invalid("DeleteOptions", "meta.k8s.io", "", errors);
  }
  if (policy !== undefined && policy !== null) {
    if (policy !== "Background" && policy !== "Foreground" && policy !== "Orphan") {
      throw invalid("DeleteOptions", "meta.k8s.io", "", [{ type: "FieldValueNotSupported", field: "propagationPolicy", message: `Unsupported value: ${JSON.stringify(policy)}: supported values: "Foreground", "Background", "Orphan", "nil"` }]);
    }
    options.propagationPolicy = policy;
  } else if (source.orphanDependents === true || query.get("orphanDependents") === "true") {
    options.propagationPolicy = "Orphan";
  }
  if (source.orphanDependents === false || query.get("orphanDependents") === "false") options.orphanDependents = false;
  const pre = source.preconditions;
  if (isRecord(pre)) {
    options.preconditions = {};
    if (typeof pre.uid === "string") options.preconditions.uid = pre.uid;
    if (typeof pre.resourceVersion === "string") options.preconditions.resourceVersion = pre.resourceVersion;
  }
  const bodyDryRun = Array.isArray(source.dryRun) && source.dryRun.includes("All");
  if (dryRun || bodyDryRun) options.dryRun = true;
  return options;
}

type IncludeObject = "Metadata" | "Object" | "None";

/**
 * The TableOptions of a Table reply: `includeObject` is Metadata (also when empty), Object or None; anything else is
 * 400 BadRequest, raised where the reply is made (after the request ran), as upstream's transform does.
 */
function tableOptions(query: URLSearchParams): { includeObject: IncludeObject } {
  const include = query.get("includeObject") ?? "";
  if (include === "" || include === "Metadata") return { includeObject: "Metadata" };
  if (include === "Object" || include === "None") return { includeObject: include };
  throw badRequest(`Unable to convert to Table as requested: includeObject: Invalid value: ${JSON.stringify(include)}: must be 'Metadata', 'Object', 'None', or empty`);
}

/**
 * An object reply in the form the Accept header negotiated, for every verb alike (Kubernetes transforms what get,
 * create, update, patch, delete and the status and scale subresources answer): the object; a Table of one row
 * (its metadata.resourceVersion the object's, a Scale printed with printScale's columns); or its
 * PartialObjectMetadata. Asking for a PartialObjectMetadataList of one object is 406 NotAcceptable, once the request
 * has run, as upstream's transform. A Status (what a delete answers once the object is gone) is never transformed.
 * `table` is false for subresources that have no Table conversion (dispatch has refused Table-only requests);
 * `asIs` marks an object already in its API form that is not the resource's kind (a subresource's Scale).
 */
function respondObject(req: IncomingMessage, res: ServerResponse, r: ServedResource, code: number, object: KubeObject, query: URLSearchParams, options: { table?: boolean; asIs?: boolean } = {}): void {
  const apiObject = object.kind === "Status" || options.asIs === true ? object : r.toApi(object);
  const form = replyForm(req, r, options.table ?? true);
  if (!("as" in form) || apiObject.kind === "Status") {
    // An object a create has just stored comes with its JSON (the stored text plus resourceVersion): sent as is.
    const json = form.encoding === "json" ? createdJsonOf(apiObject) : undefined;
    if (json !== undefined) {
      sendJsonBytes(res, code, json);
      return;
    }
    sendEncoded(res, code, apiObject, form.encoding);
    return;
  }
  if (form.as === "Table") {
    const scale = apiObject.kind === "Scale" && apiObject.apiVersion === "autoscaling/v1";
    const info = scale ? { ...r.info, group: "autoscaling", version: "v1", kind: "Scale" } : r.info;
    const opts: Parameters<typeof buildTable>[3] = { ...tableOptions(query), withColumns: true, apiVersion: form.version, ...(scale ? {} : printerOf(r)) };
    if (apiObject.metadata.resourceVersion !== undefined) opts.resourceVersion = apiObject.metadata.resourceVersion;
    sendEncoded(res, code, buildTable(info, [apiObject], Date.now(), opts), form.encoding);
    return;
  }
  if (form.asked === "PartialObjectMetadataList") {
    throw new StatusError(406, "NotAcceptable", `you requested PartialObjectMetadataList, but the requested object is not a list (${goTypeName(r, apiObject.kind ?? r.info.kind, options.asIs === true ? groupOfApiVersion(apiObject.apiVersion) : r.info.group)})`);
  }
  sendEncoded(res, code, partialObjectMetadata(apiObject, form.version), form.encoding);
}

/** The group of an apiVersion (`apps/v1` → apps, `v1` → the legacy group ""). */
function groupOfApiVersion(apiVersion: string | undefined): string {
  const slash = (apiVersion ?? "").indexOf("/");
  return slash < 0 ? "" : apiVersion!.slice(0, slash);
}

/** Subresources whose replies can be Tables: status and scale (their REST storage converts to Tables); no other. */
function printsTables(subresource: string | undefined): boolean {
  return subresource === undefined || subresource === "status" || subresource === "scale";
}

/**
 * The 406 NotAcceptable of a request no offer of whose Accept header can be answered, raised before anything is read
 * or written, as upstream negotiates first. Tables are answered for objects, lists and the status and scale
 * subresources only: other subresources (binding, eviction, token, finalize, approval, log) refuse a Table-only
 * request. Beyond that, such subresources keep their own media types (a log's text): only Table offers are judged.
 */
function checkAcceptable(req: IncomingMessage, r: ServedResource, subresource: string | undefined): void {
  const accept = req.headers.accept;
  const table = tableCapable(r) && printsTables(subresource);
  const protobuf = protobufOffered(accept, r);
  if (negotiateReply(accept, protobuf, table) !== undefined) return;
  if (printsTables(subresource) || negotiateReply(accept, protobuf, true) !== undefined) throw notAcceptable(protobufCapable(r));
}

/**
 * The Go type Kubernetes names in its NotAcceptable messages: the internal package of the kind's group (`core` for
 * the legacy group and events.k8s.io) and the kind, `*core.ConfigMap`; custom resources are `*unstructured.Unstructured`
 * (their Scale `*v1.Scale`).
 */
function goTypeName(r: ServedResource, kind: string, group = r.info.group): string {
  const list = kind.endsWith("List");
  // A custom resource's own objects are unstructured; its scale subresource answers autoscaling/v1's typed Scale.
  if (!protobufCapable(r)) return kind === "Scale" && group === "autoscaling" ? "*v1.Scale" : list ? "*unstructured.UnstructuredList" : "*unstructured.Unstructured";
  const pkg = group === "" || group === "events.k8s.io" ? "core" : group === "internal.apiserver.k8s.io" ? "apiserverinternal" : group.split(".")[0]!;
  return `*${pkg}.${kind}`;
}

/** Whether a resource's replies can be protobuf: built-in kinds can; custom resources are JSON and YAML only. */
function protobufCapable(r: ServedResource): boolean {
  let capable = protobufCapability.get(r);
  if (capable === undefined) {
    capable = hasProtobufMessage(apiVersionOf(r.info), r.info.kind);
    protobufCapability.set(r, capable);
  }
  return capable;
}

/** protobufCapable's answers: asking needs the protobuf schema, loaded (once) by the first request that does. */
const protobufCapability = new WeakMap<ServedResource, boolean>();

/**
 * negotiateReply's `protobuf` for a request to `r` (undefined: a reply of no resource, which can be protobuf). It
 * only matters when an offer is protobuf, so it is worked out only then: a client that never offers protobuf (kubelab's
 * own components) never makes the apiserver load protobufjs and the schema (lazy-modules.ts).
 */
function protobufOffered(accept: string | undefined, r: ServedResource | undefined): boolean {
  if (accept === undefined || !PROTOBUF_IN_ACCEPT.test(accept)) return false;
  return r === undefined || protobufCapable(r);
}

/** Matches every Accept header with a protobuf offer (media types are case-insensitive), and a few others. */
const PROTOBUF_IN_ACCEPT = /protobuf/i;

/**
 * Whether a resource's objects can be answered as a Table: every resource that lists, not the create-only review
 * kinds (Kubernetes' RequestScope has no TableConvertor for them, so an `as=Table` request is 406 NotAcceptable).
 */
function tableCapable(r: ServedResource): boolean {
  return r.computed === undefined || r.computed.list !== undefined;
}

/** The reply form the request's Accept header asks for (JSON when nothing fits: dispatch has answered 406 by then). */
function replyForm(req: IncomingMessage, r?: ServedResource, table = true): ReplyForm {
  const accept = req.headers.accept;
  return negotiateReply(accept, protobufOffered(accept, r), table && (r === undefined || tableCapable(r))) ?? { encoding: "json" };
}

/** A reply that is never transformed (a Status: a delete's, a binding's) in the negotiated encoding. */
function sendObject(req: IncomingMessage, res: ServerResponse, code: number, body: unknown, r?: ServedResource): void {
  sendEncoded(res, code, body, replyForm(req, r).encoding);
}

/** A reply body as JSON, YAML or protobuf; a body protobuf has no message for goes out as JSON. */
function sendEncoded(res: ServerResponse, code: number, body: unknown, encoding: ReplyForm["encoding"]): void {
  if (encoding === "protobuf" && isRecord(body)) {
    const encoded = encodeProtobufObject(body);
    if (encoded !== undefined) {
      res.statusCode = code;
      res.setHeader("Content-Type", PROTOBUF_MEDIA_TYPE);
      res.setHeader("Content-Length", encoded.length);
      res.end(encoded);
      return;
    }
  }
  if (encoding !== "yaml") {
    sendJson(res, code, body);
    return;
  }
  const text = toYamlText(body);
  res.statusCode = code;
  res.setHeader("Content-Type", "application/yaml");
  res.setHeader("Content-Length", Buffer.byteLength(text));
  res.end(text);
}

/**
 * A list reply (a list's, a deletecollection's) in the negotiated form: the list, a Table, or a
 * PartialObjectMetadataList; asking for a PartialObjectMetadata of a list is 406 NotAcceptable, once the request has
 * run, as upstream's transform.
 */
function respondList(req: IncomingMessage, res: ServerResponse, r: ServedResource, result: { items: KubeObject[]; resourceVersion?: string; continue?: string; remainingItemCount?: number }, query: URLSearchParams): void {
  const items = result.items.map(r.toApi);
  const form = replyForm(req, r);
  const metadata: Record<string, unknown> = result.resourceVersion === undefined ? {} : { resourceVersion: result.resourceVersion };
  if (result.continue) metadata.continue = result.continue;
  if (result.remainingItemCount !== undefined) metadata.remainingItemCount = result.remainingItemCount;
  if ("as" in form && form.as === "Table") {
    const opts: Parameters<typeof buildTable>[3] = { ...tableOptions(query), withColumns: true, apiVersion: form.version, ...printerOf(r) };
    if (result.resourceVersion !== undefined) opts.resourceVersion = result.resourceVersion;
    if (result.continue) opts.continue = result.continue;
    sendEncoded(res, 200, buildTable(r.info, items, Date.now(), opts), form.encoding);
    return;
  }
  if ("as" in form && form.asked === "PartialObjectMetadata") {
    throw new StatusError(406, "NotAcceptable", `you requested PartialObjectMetadata, but the requested object is a list (${goTypeName(r, r.info.listKind)})`);
  }
  if ("as" in form) {
    // Kubernetes builds this list item by item, so an empty one is `"items": null` in JSON (a nil slice).
    const partials = items.length === 0 && form.encoding === "json" ? null : items.map((item) => partialObjectMetadata(item, form.version));
    sendEncoded(res, 200, { apiVersion: form.version, kind: "PartialObjectMetadataList", metadata, items: partials }, form.encoding);
    return;
  }
  if (form.encoding === "json" && items.length > LIST_ITEMS_PER_CHUNK) {
    sendJsonListInChunks(res, apiVersionOf(r.info), r.info.listKind, metadata, items);
    return;
  }
  sendEncoded(res, 200, { apiVersion: apiVersionOf(r.info), kind: r.info.listKind, metadata, items }, form.encoding);
}

/** Items per piece of a JSON list written in pieces (~90 KB for pods: below V8's large-object size). */
const LIST_ITEMS_PER_CHUNK = 50;

/**
 * A JSON list written a few items at a time, chunked (as Go's server sends a large list), with the bytes
 * JSON.stringify would give the whole list. One string for 10,000 pods is ~18 MB that lives in V8's large-object
 * space until the next full collection: a few lists grew the apiserver's RSS by hundreds of MB. Pieces below the
 * large-object size die young instead.
 */
function sendJsonListInChunks(res: ServerResponse, apiVersion: string, kind: string, metadata: Record<string, unknown>, items: readonly unknown[]): void {
  res.statusCode = 200;
  res.setHeader("Content-Type", JSON_TYPE);
  res.write(`{"apiVersion":${JSON.stringify(apiVersion)},"kind":${JSON.stringify(kind)},"metadata":${JSON.stringify(metadata)},"items":[`);
  for (let start = 0; start < items.length; start += LIST_ITEMS_PER_CHUNK) {
    let piece = start === 0 ? "" : ",";
    const end = Math.min(items.length, start + LIST_ITEMS_PER_CHUNK);
    for (let i = start; i < end; i++) piece += (i === start ? "" : ",") + JSON.stringify(items[i]);
    res.write(piece);
  }
  res.end("]}");
}

/**
 * A watch's options. A watch of one object (the legacy /watch/.../NAME path) is a watch with the field selector
 * metadata.name=NAME; a fieldSelector that does not require that same name is a 400, as upstream.
 */
function watchParams(query: URLSearchParams, served: { group: string; kind: string }, name?: string): WatchParams {
  checkTimeoutSeconds(query);
  const params: WatchParams = {};
  const label = query.get("labelSelector");
  let field = query.get("fieldSelector");
  const rv = query.get("resourceVersion");
  if (name !== undefined) {
    if (field !== null && field !== "") {
      if (!fieldSelectorRequiresName(field, name)) throw badRequest("fieldSelector metadata.name doesn't match requested name");
    } else {
      field = `metadata.name=${name}`;
    }
  }
  if (label) params.labelSelector = label;
  if (field) params.fieldSelector = storedFieldSelector(served, field);
  if (rv !== null) params.resourceVersion = rv;
  if (query.get("allowWatchBookmarks") === "true") params.allowWatchBookmarks = true;
  return params;
}

/** Whether a field selector holds the term metadata.name=NAME (or ==), as upstream's RequiresExactMatch. */
function fieldSelectorRequiresName(selector: string, name: string): boolean {
  return selector.split(",").some((term) => {
    const match = /^\s*metadata\.name\s*==?\s*(.*?)\s*$/.exec(term);
    return match !== null && match[1] === name;
  });
}

/**
 * A watch as a chunked HTTP stream of JSON events; ends after timeoutSeconds or when the cache ends it. A watch
 * from a compacted revision gets 200 and a single ERROR event (410 Expired), as Kubernetes answers it; other
 * refusals (429 while the cache initializes, 400 for a bad selector) are plain Status replies.
 */
async function serveWatch(req: IncomingMessage, res: ServerResponse, query: URLSearchParams, info: RequestInfo, r: ServedResource, deps: ApiServerDeps): Promise<void> {
  const form = replyForm(req, r);
  const table = "as" in form && form.as === "Table" ? form.version : undefined;
  const partial = "as" in form && form.as === "PartialObjectMetadata" ? form.version : undefined;
  // Watch events are JSON or protobuf only; Kubernetes refuses a YAML watch.
  if (form.encoding === "yaml") throw new StatusError(406, "NotAcceptable", `only the following media types are accepted: ${protobufCapable(r) ? "application/json;stream=watch, application/vnd.kubernetes.protobuf;stream=watch" : "application/json;stream=watch"}`);
  const encoding = form.encoding === "protobuf" ? "protobuf" : "json";
  // A Table watch's options are checked (400) before it starts, as upstream's serveWatch.
  if (table !== undefined) tableOptions(query);
  const params = watchParams(query, r.info, info.name);
  const encode = eventEncoder(r, table, query, partial);
  const gvk = { group: r.info.group, version: r.info.version, kind: r.info.kind };
  const sentEvents = watchEventTally(deps.metrics, gvk);
  // Events the cache delivers synchronously while the watch starts wait here until the response head is out.
  const early: WatchStreamEvent[] = [];
  // Set once the watch has started; the cache may call the sink synchronously before that.
  const stream: { writer?: WatchWriter } = {};
  // Returns whether the client keeps up (see WatchWriter.send); events before the head is out always wait in `early`.
  const deliver = (event: WatchStreamEvent): boolean => {
    if (stream.writer) return stream.writer.send(event);
    early.push(event);
    return true;
  };
  let watcher: CacheWatcher | undefined;
  let endedByCache = false;
  try {
    watcher = r.store.watch(
      info.namespace,
      params,
      (type, object) => {
        sentEvents.count();
        const keepingUp = stream.writer && !table && !partial && !r.converted ? stream.writer.sendSerialized(sharedSerializedEvent(type, object, encoding)) : deliver({ type, object: encode(type, object) });
        // A client not reading holds its events in the cache until its socket drains; if they pile up there the
        // cache closes the watch ("overflow") and the client re-watches, as Kubernetes does with slow watchers.
        return keepingUp ? undefined : stream.writer?.drained();
      },
      (reason) => {
        endedByCache = true;
        if (reason === "overflow") deps.metrics.terminatedWatchers.inc({ resource: r.info.resource });
        stream.writer?.close();
      },
    );
  } catch (err) {
    if (!(err instanceof StatusError && isExpired(err))) throw err;
    const expiredWriter = chunkedWatchWriter(res, encoding);
    expiredWriter.send({ type: "ERROR", object: err.toStatus() });
    expiredWriter.close();
    return;
  }
  const activeWatcher = watcher;
  const activeWriter = chunkedWatchWriter(res, encoding);
  stream.writer = activeWriter;
  for (const event of early) activeWriter.send(event);
  early.length = 0;
  deps.metrics.registeredWatchers.inc(gvk);
  const timeoutSeconds = Number(query.get("timeoutSeconds") ?? "0");
  const limitMs = timeoutSeconds > 0 ? timeoutSeconds * 1000 : (1800 + Math.random() * 1800) * 1000;
  const timer = setTimeout(() => {
    activeWriter.close();
  }, limitMs);
  activeWriter.onClose(() => {
    clearTimeout(timer);
    activeWatcher.stop();
    deps.metrics.registeredWatchers.dec(gvk);
  });
  if (endedByCache) activeWriter.close();
  await Promise.resolve();
}

/** Watch events sent for one kind, added to apiserver_watch_events_total once per burst, not once per watcher. */
interface WatchEventTally {
  count(): void;
}

interface WatchEventTallies {
  byKind: Map<string, { labels: { group: string; version: string; kind: string }; n: number }>;
  flushScheduled: boolean;
}

const watchEventTallies = new WeakMap<ApiServerMetrics, WatchEventTallies>();

function watchEventTally(metrics: ApiServerMetrics, labels: { group: string; version: string; kind: string }): WatchEventTally {
  let tallies = watchEventTallies.get(metrics);
  if (tallies === undefined) {
    tallies = { byKind: new Map(), flushScheduled: false };
    watchEventTallies.set(metrics, tallies);
  }
  const key = `${labels.group}/${labels.version}/${labels.kind}`;
  let tally = tallies.byKind.get(key);
  if (tally === undefined) {
    tally = { labels, n: 0 };
    tallies.byKind.set(key, tally);
  }
  const all = tallies;
  const mine = tally;
  const flush = (): void => {
    all.flushScheduled = false;
    for (const pending of all.byKind.values()) {
      if (pending.n === 0) continue;
      metrics.watchEvents.inc(pending.labels, pending.n);
      pending.n = 0;
    }
  };
  return {
    count: () => {
      mine.n++;
      if (all.flushScheduled) return;
      all.flushScheduled = true;
      setImmediate(flush);
    },
  };
}

function eventEncoder(r: ServedResource, table: string | undefined, query: URLSearchParams, partial?: PartialMetadataApiVersion): (type: string, object: KubeObject) => KubeObject {
  let first = true;
  return (type, object) => {
    // A bookmark names the kind the client decodes into, so a metadata-only watch gets PartialObjectMetadata ones.
    if (type === "BOOKMARK") return partial ? partialObjectMetadata(object, partial) : object;
    if (partial) return partialObjectMetadata(r.toApi(object), partial);
    if (!table) return r.toApi(object);
    const withColumns = first;
    first = false;
    const apiObject = r.toApi(object);
    const opts: Parameters<typeof buildTable>[3] = { ...tableOptions(query), withColumns, apiVersion: table, ...printerOf(r) };
    if (apiObject.metadata.resourceVersion !== undefined) opts.resourceVersion = apiObject.metadata.resourceVersion;
    return { ...buildTable(r.info, [apiObject], Date.now(), opts) };
  };
}

/** WebSocket upgrades: watches over WebSocket, and exec/attach/portforward handed to the kubelet proxy. */
async function handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, deps: ApiServerDeps): Promise<void> {
  const url = new URL(req.url ?? "/", "http://apiserver");
  const info = parseRequestInfo(req.method ?? "GET", url.pathname, url.searchParams);
  const resolved = info ? await orRefreshed(deps, () => resolve(deps, info)) : undefined;
  try {
    await deps.auth?.admit(req, info, url.pathname);
    if (!info || !resolved) throw notFoundPath();
    checkScope(resolved.info, info);
    if (info.verb === "watch") {
      const partial = partialMetadataVersion(req.headers.accept ?? "");
      const encode = eventEncoder(resolved, undefined, url.searchParams, partial);
      acceptWatchWebSocket(req, socket, head, (writer) => {
        try {
          const serialized = !partial && !resolved.converted;
          const watcher = resolved.store.watch(info.namespace, watchParams(url.searchParams, resolved.info, info.name), (type, object) => {
            const keepingUp = serialized ? writer.sendSerialized(sharedSerializedEvent(type, object)) : writer.send({ type, object: encode(type, object) });
            return keepingUp ? undefined : writer.drained();
          }, (reason) => {
            if (reason === "overflow") deps.metrics.terminatedWatchers.inc({ resource: resolved.info.resource });
            writer.close();
          });
          writer.onClose(() => {
            watcher.stop();
          });
        } catch (err) {
          writer.send({ type: "ERROR", object: toStatus(err) });
          writer.close();
        }
      });
      return;
    }
    const sub = info.subresource;
    if (info.name && sub && ["exec", "attach", "portforward"].includes(sub) && resolved.info.resource === "pods") {
      const pod = await resolved.store.get(info.namespace, info.name);
      if (!deps.kubeletProxy) throw serviceUnavailable(noKubeletMessage(pod, sub));
      await deps.kubeletProxy.upgrade(pod, sub, req, socket, head);
      return;
    }
    throw badRequest("this resource does not support upgrades");
  } catch (err) {
    // Only a StatusError's text reaches the client; anything else is logged here and answered as a plain 500.
    if (!(err instanceof StatusError)) deps.logger.error({ err: String(err), path: req.url }, "upgrade failed");
    const status = toStatus(err);
    const body = JSON.stringify(status);
    socket.end(`HTTP/1.1 ${status.code} ${status.reason ?? "InternalError"}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
}
