// The live view's HTTP side, on the host's loopback: the page and its scripts (all served from this process, no
// CDN), the actions (POST /api/...), /healthz /readyz /metrics, /ws, the WebSocket that sends a page the whole
// state on connect and then every change (flushed at most every flushIntervalMs, one message for all), and /exec,
// a terminal relayed to the apiserver's exec (exec-relay.ts).
//
// A loopback port is reachable from any web page the user opens, so the server answers only requests whose Host
// is its own (no DNS rebinding), refuses WebSockets and actions from another Origin, and takes actions only with
// the ACTION_HEADER (which a cross-site form cannot send).
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type NextFunction, type Request, type Response } from "express";
import { WebSocketServer, type WebSocket } from "ws";
import { errorMessage } from "../api/errors.js";
import type { Logger } from "../component-base/logging.js";
import type { Registry } from "../component-base/metrics.js";
import { healthRequestListener, type HealthCheck } from "../component-base/server.js";
import type { ClientConfig } from "../client/kubeconfig.js";
import { ActionError, type Actions, type ComponentVerb } from "./actions.js";
import { execTarget, relayExec } from "./exec-relay.js";
import type { ClusterState } from "./cluster-state.js";
import { ACTION_HEADER, type ActionReply, type LabInfo, type Sample, type ServerMessage } from "./web/protocol.js";

export interface LiveViewServerOptions {
  address: string;
  /** 0 picks a free port. */
  port: number;
  state: ClusterState;
  samples: () => Sample[];
  lab: () => LabInfo;
  actions: Actions;
  /** Where the page's terminals connect (the apiserver, with the client's credentials). */
  apiserver: ClientConfig;
  /** The compiled page: index.html, style.css and the scripts. */
  webDir: string;
  /** Files served under /vendor/ by name (uPlot's module and stylesheet). */
  vendor: Readonly<Record<string, string>>;
  readyzChecks: readonly HealthCheck[];
  registry: Registry;
  logger: Logger;
  /** The shortest time between two change messages (default 20 ms: a burst of watch events becomes one message). */
  flushIntervalMs?: number;
}

export class LiveViewServer {
  private readonly server: Server;
  private readonly sockets: WebSocketServer;
  /** Exec sessions (/exec), kept apart from the state sockets that broadcasts go to. */
  private readonly terminals: WebSocketServer;
  private flushTimer: NodeJS.Timeout | undefined;
  private lastFlush = 0;
  private boundPort = 0;

  constructor(private readonly opts: LiveViewServerOptions) {
    const app = express();
    app.disable("x-powered-by");
    app.use((req, res, next) => {
      if (!this.ownHost(req.headers.host)) {
        res.status(421).type("text/plain").send("this server answers only to its own address\n");
        return;
      }
      next();
    });
    app.use(express.static(opts.webDir, { index: "index.html", maxAge: 0 }));
    for (const [name, file] of Object.entries(opts.vendor)) app.get(`/vendor/${name}`, (_req, res) => { res.sendFile(file); });
    app.get("/api/pods/:namespace/:name/log", (req, res) => {
      void this.answer(res, async () => ({ ok: true, message: await opts.actions.podLog(req.params.namespace, req.params.name, req.query.container) }));
    });
    app.use("/api", express.json({ limit: "16kb" }), (req: Request, res: Response, next: NextFunction) => {
      if (req.method !== "POST") { next(); return; }
      if (req.headers[ACTION_HEADER] !== "1" || !this.sameOrigin(req)) {
        res.status(403).json({ ok: false, error: `actions need the ${ACTION_HEADER} header and this page's origin` } satisfies ActionReply);
        return;
      }
      next();
    });
    const body = (req: Request): Record<string, unknown> => (typeof req.body === "object" && req.body !== null ? (req.body as Record<string, unknown>) : {});
    app.post("/api/pods/:namespace/:name/delete", (req, res) => {
      void this.answer(res, async () => ({ ok: true, message: await opts.actions.deletePod(req.params.namespace, req.params.name) }));
    });
    app.post("/api/deployments/:namespace/:name/scale", (req, res) => {
      void this.answer(res, async () => ({ ok: true, message: await opts.actions.scaleDeployment(req.params.namespace, req.params.name, body(req).replicas) }));
    });
    app.post("/api/nodes/:name/cordon", (req, res) => {
      void this.answer(res, async () => ({ ok: true, message: await opts.actions.cordonNode(req.params.name, body(req).unschedulable) }));
    });
    app.post("/api/components/:verb", (req, res) => {
      const verb = req.params.verb;
      if (verb !== "kill" && verb !== "stop" && verb !== "start") {
        res.status(404).json({ ok: false, error: `no action ${verb}` } satisfies ActionReply);
        return;
      }
      void this.answer(res, async () => ({ ok: true, message: await opts.actions.component(verb satisfies ComponentVerb, body(req).component, body(req).node) }));
    });
    const health = healthRequestListener({ registry: opts.registry, readyzChecks: opts.readyzChecks, logger: opts.logger });
    app.use((req, res) => { health(req, res); });

    this.server = createServer(app);
    this.sockets = new WebSocketServer({ noServer: true, maxPayload: 4096 });
    this.terminals = new WebSocketServer({ noServer: true, maxPayload: 1 << 20 });
    this.server.on("upgrade", (req, socket, head) => {
      const path = new URL(req.url ?? "/", "http://localhost").pathname;
      if ((path !== "/ws" && path !== "/exec") || !this.ownHost(req.headers.host) || !this.sameOrigin(req)) {
        socket.end("HTTP/1.1 403 Forbidden\r\n\r\n");
        return;
      }
      if (path === "/exec") {
        const target = execTarget(new URL(req.url ?? "/", "http://localhost"));
        if (typeof target === "string") {
          socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\n\r\n${target}\n`);
          return;
        }
        this.terminals.handleUpgrade(req, socket, head, (ws) => { relayExec(ws, opts.apiserver, target); });
        return;
      }
      this.sockets.handleUpgrade(req, socket, head, (ws) => { this.welcome(ws); });
    });
  }

  get port(): number {
    return this.boundPort;
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.opts.port, this.opts.address, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    this.boundPort = (this.server.address() as AddressInfo).port;
    return this.boundPort;
  }

  /** Sends the pending changes now if the last flush is long enough ago, else when it will be. */
  scheduleFlush(): void {
    if (this.flushTimer !== undefined) return;
    const wait = Math.max(0, this.lastFlush + (this.opts.flushIntervalMs ?? 20) - Date.now());
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flush();
    }, wait);
  }

  broadcast(message: ServerMessage): void {
    const text = JSON.stringify(message);
    for (const ws of this.sockets.clients) if (ws.readyState === ws.OPEN) ws.send(text);
  }

  async close(): Promise<void> {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    for (const ws of [...this.sockets.clients, ...this.terminals.clients]) ws.terminate();
    this.sockets.close();
    this.terminals.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => { resolve(); }));
  }

  private flush(): void {
    this.lastFlush = Date.now();
    const changes = this.opts.state.takeChanges();
    if (changes.length > 0) this.broadcast({ type: "changes", changes, sentAt: Date.now() });
  }

  private welcome(ws: WebSocket): void {
    const message: ServerMessage = { type: "snapshot", rows: this.opts.state.snapshot(), samples: this.opts.samples(), lab: this.opts.lab(), sentAt: Date.now() };
    ws.send(JSON.stringify(message));
    ws.on("error", (err) => { this.opts.logger.debug({ err }, "A page's WebSocket failed"); });
  }

  private async answer(res: Response, act: () => Promise<ActionReply>): Promise<void> {
    try {
      res.json(await act());
    } catch (err) {
      const code = err instanceof ActionError ? err.code : 500;
      res.status(code >= 400 && code < 600 ? code : 500).json({ ok: false, error: errorMessage(err) } satisfies ActionReply);
    }
  }

  private ownHost(host: string | undefined): boolean {
    if (host === undefined) return false;
    const port = this.boundPort;
    return [`${this.opts.address}:${port}`, `127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host.toLowerCase());
  }

  /** A request without an Origin (curl, kubectl-style clients) or from this server's own page. */
  private sameOrigin(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    return origin === undefined || origin === `http://${req.headers.host ?? ""}`;
  }
}
