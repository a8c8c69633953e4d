// What the apiserver's ports answer before the request handlers are loaded, and the parts of the request pipeline
// both share: the health checks (/healthz, /readyz, /livez, polled from the first moment), admission of a request
// (authentication, authorization), and the 500 for a handler that failed.
//
// server.ts and the modules only it imports (resource requests, tables, OpenAPI, watch streams: ~15 modules and a
// seventh of the apiserver's code) are not needed to get ready, so deferredApiHandlers loads them once the server
// is ready, or at the first other request if that comes sooner; requests that arrive meanwhile wait for the load.
// A load that fails is logged, answers every other request with a 500, and fails /readyz and /healthz.
import type { IncomingMessage, ServerResponse, Server } from "node:http";
import type { Duplex } from "node:stream";
import { errorMessage, StatusError } from "../../api/errors.js";
import type { RequestInfo } from "../request-info.js";
import type { ApiHandlers, ApiServerDeps } from "../server.js";
import { sendStatus } from "./status.js";

export type HealthCheck = "healthz" | "readyz" | "livez";

/** "/readyz", "/readyz/", "/readyz?verbose" → "readyz"; undefined for other paths. */
export function healthCheckOf(url: string): HealthCheck | undefined {
  const q = url.indexOf("?");
  const path = q === -1 ? url : url.slice(0, q);
  const name = path.endsWith("/") ? path.slice(1, -1) : path.slice(1);
  return name === "healthz" || name === "readyz" || name === "livez" ? name : undefined;
}

/** `handlersFailed`: the request handlers could not be loaded (deferredApiHandlers); the server cannot serve. */
export async function healthReply(req: IncomingMessage, res: ServerResponse, deps: ApiServerDeps, check: HealthCheck, handlersFailed = false): Promise<void> {
  const checks: [string, boolean][] = [["ping", true], ["log", true]];
  if (check !== "livez") {
    checks.push(["etcd", await deps.storage.healthy()]);
    checks.push(["informer-sync", deps.registry.ready]);
    if (deps.bootstrapped) checks.push(["poststarthook/bootstrap-controller", deps.bootstrapped()]);
    // kubelab's own check, listed only when it fails (Kubernetes' list has no such entry).
    if (handlersFailed) checks.push(["api-handlers", false]);
  }
  // kubelab's --workers: one apiserver is ready when all its workers are (any of them may get the next connection).
  if (check === "readyz" && deps.workers) checks.push(["workers", deps.workers.allReady()]);
  const ok = checks.every(([, passed]) => passed);
  const verbose = (req.url ?? "").includes("verbose");
  const lines = checks.map(([name, passed]) => (passed ? `[+]${name} ok` : `[-]${name} failed: reason withheld`));
  const body = ok && !verbose ? "ok" : `${lines.join("\n")}\n${ok ? "livez check passed" : "healthz check failed"}\n`;
  res.writeHead(ok ? 200 : 500, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(body) });
  res.end(req.method === "HEAD" ? undefined : body);
}

/**
 * Answers 500 for a request whose handler failed unexpectedly (a bug, not a refusal: those are sent as Statuses by
 * the handlers), as Kubernetes' panic recovery does: the request fails, the apiserver keeps serving.
 */
export function recovered(req: IncomingMessage, res: ServerResponse, deps: Pick<ApiServerDeps, "logger">, work: Promise<unknown>): void {
  work.catch((err: unknown) => {
    handlerFailed(req, res, deps, err);
  });
}

/** recovered's answer to a handler's failure: logged, then a 500 (or the connection dropped once the reply began). */
function handlerFailed(req: IncomingMessage, res: ServerResponse, deps: Pick<ApiServerDeps, "logger">, err: unknown): void {
  deps.logger.error({ err: String(err), path: req.url }, "request handler failed");
  if (!res.headersSent) sendStatus(res, new StatusError(500, "InternalError", `Internal error occurred: ${errorMessage(err)}`));
  else res.destroy();
}

/** Runs the request pipeline; false when it refused the request (and the refusal has been sent). */
export async function admitted(req: IncomingMessage, res: ServerResponse, deps: Pick<ApiServerDeps, "auth" | "logger">, info: RequestInfo | undefined): Promise<boolean> {
  if (!deps.auth) return true;
  try {
    await deps.auth.admit(req, info, new URL(req.url ?? "/", "http://apiserver").pathname);
    return true;
  } catch (err) {
    if (!(err instanceof StatusError)) deps.logger.error({ err: String(err), path: req.url }, "authentication failed");
    if (!res.headersSent) sendStatus(res, err);
    else res.end();
    return false;
  }
}

/** Attaches the handlers to a server (node:http's or node:https'). */
export function serveOn<S extends Server>(server: S, handlers: ApiHandlers): S {
  server.on("request", handlers.request);
  server.on("upgrade", handlers.upgrade);
  server.keepAliveTimeout = 65_000;
  return server;
}

export interface DeferredApiHandlers {
  /** Serve these: the health checks at once, everything else through the loaded handlers. */
  readonly handlers: ApiHandlers;
  /** Starts loading the handlers (idempotent); resolves once they are loaded or the load failed. */
  load(): Promise<void>;
}

/** `create` imports server.ts and builds the handlers; it is called once, by the first of load() and a request. */
export function deferredApiHandlers(deps: ApiServerDeps, create: () => Promise<ApiHandlers>): DeferredApiHandlers {
  let loading: Promise<ApiHandlers> | undefined;
  // The handlers once loaded: requests then go to them at once, not a promise's turn later each.
  let ready: ApiHandlers | undefined;
  let failed = false;
  const loaded = (): Promise<ApiHandlers> => {
    loading ??= create().then(
      (handlers) => {
        ready = handlers;
        return handlers;
      },
      (err: unknown) => {
        failed = true;
        deps.logger.error({ err }, "loading the API request handlers failed: the apiserver cannot serve requests");
        throw err;
      },
    );
    return loading;
  };
  const request = (req: IncomingMessage, res: ServerResponse): void => {
    if (ready !== undefined) {
      // What a handler throws is answered as recovered() answers it (a 500), never thrown at the server.
      try {
        ready.request(req, res);
      } catch (err) {
        handlerFailed(req, res, deps, err);
      }
      return;
    }
    const check = req.method === "GET" || req.method === "HEAD" ? healthCheckOf(req.url ?? "/") : undefined;
    if (check !== undefined && (loading === undefined || failed)) {
      // Before the handlers exist (and after they failed to load) the health checks are answered here.
      recovered(req, res, deps, admitted(req, res, deps, undefined).then((ok) => (ok ? healthReply(req, res, deps, check, failed) : undefined)));
      return;
    }
    recovered(req, res, deps, loaded().then((h) => { h.request(req, res); }));
  };
  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    loaded().then(
      (h) => { h.upgrade(req, socket, head); },
      () => { socket.destroy(); },
    );
  };
  return {
    handlers: { request, upgrade },
    load: () => loaded().then(() => undefined, () => undefined),
  };
}
