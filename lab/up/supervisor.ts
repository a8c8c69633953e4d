// `kubelab supervise --home H`: the detached process that `kubelab up` starts and that owns the lab while it runs.
// It makes the host side (bridge, firewall) and each node (namespace, veth), starts every component through
// lab/process with `restart: always` supervision (exponential backoff, restart counts), probes their health, and
// answers the CLI's requests on <home>/control.sock (control.ts). Whatever it makes is recorded in <home>/lab.json
// before it is made, so `kubelab down` can remove it even if this process is killed with SIGKILL.
import { chmodSync, mkdirSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { errorMessage } from "../../api/errors.js";
import type { ComponentKind } from "../components/component.js";
import { ProcessOwner } from "../process/owner.js";
import type { ManagedProcess, RestartPolicy } from "../process/runner.js";
import { ensureLabPki } from "../pki/pki.js";
import { applyLabToolsRbac } from "../pki/rbac.js";
import { labCreate, labRequest } from "./api.js";
import { apiserverUrl, bridgeIp, controlPlane, ipString, parseCidr, pkiDir, metricsServerPlan, nodeComponents, nodeIndex, nodePlan, printableCommand, type LabConfig, type NodePlan, type PlannedComponent } from "./config.js";
import type { ComponentStatus, KillRequest, LabStatus, TargetRequest } from "./control.js";
import { applyDnsAddon, dnsImageArchive, loadImage } from "./dns.js";
import { addFirewall, cleanupNodeRuntime, createBridge, createNodeNetwork, deleteNodeNetwork, LAB_ENV, prepareContainerNode, run } from "./host.js";
import { dnsPods, podCidrRoutes, scrapeTargets, writePrometheusConfig, writeTargets, type DnsPod } from "./prometheus.js";
import { applyMetricsServer } from "./metrics-server.js";
import { applyDefaultStorageClass } from "./storage-class.js";
import { controlSocketPath, logDir, readState, writeState, type LabState } from "./state.js";

/** The lab's `restart: always`: 0.5 s after a crash, doubling to 30 s for a crash loop, reset after 30 s up. */
export const LAB_RESTART_POLICY: RestartPolicy = { initialDelayMs: 500, maxDelayMs: 30_000, resetAfterMs: 30_000 };

const HEALTH_INTERVAL_MS = 2_000;

/** The words `kubelab kill|stop|start` accept for each kind of component. */
const ALIASES: Readonly<Record<string, ComponentKind>> = {
  etcd: "etcd",
  apiserver: "kube-apiserver",
  "kube-apiserver": "kube-apiserver",
  scheduler: "kube-scheduler",
  "kube-scheduler": "kube-scheduler",
  "controller-manager": "kube-controller-manager",
  "kube-controller-manager": "kube-controller-manager",
  runtime: "container-runtime",
  "container-runtime": "container-runtime",
  "kubelab-runtime": "container-runtime",
  kubelet: "kubelet",
  "kube-proxy": "kube-proxy",
  proxy: "kube-proxy",
  "kube-state-metrics": "kube-state-metrics",
  prometheus: "prometheus",
  "metrics-server": "metrics-server",
  ui: "kubelab-ui",
  "kubelab-ui": "kubelab-ui",
};

export function componentKind(word: string): ComponentKind {
  const kind = ALIASES[word];
  if (kind === undefined) throw new UserError(`unknown component "${word}"; one of ${Object.keys(ALIASES).join(", ")}`);
  return kind;
}

/** A request the CLI got wrong (answered 400), as opposed to a failure of the lab (500). */
export class UserError extends Error {}

interface Entry {
  planned: PlannedComponent;
  proc?: ManagedProcess;
  health: "ok" | "failing" | "unknown";
}

export class Supervisor {
  private readonly owner: ProcessOwner;
  private readonly entries: Entry[] = [];
  private readonly progress: string[] = [];
  private phase: LabStatus["phase"] = "starting";
  private error: string | undefined;
  private healthTimer: NodeJS.Timeout | undefined;
  private readonly env: NodeJS.ProcessEnv;
  /** The kubelab/dns image archive (built at most once per supervisor), or why it could not be had. */
  private dnsImage: Promise<string | Error> | undefined;
  /** With --prometheus: the DNS pods last written to targets.json, and the host's pod-network routes made ("cidr via ip"). */
  private scrapedDnsPods: DnsPod[] = [];
  private readonly podRoutes = new Set<string>();

  constructor(private state: LabState) {
    mkdirSync(logDir(state.config.home), { recursive: true });
    this.owner = new ProcessOwner({ logDir: logDir(state.config.home), report: (m) => { this.note(m); } });
    this.env = { ...process.env, [LAB_ENV]: state.config.home };
  }

  get config(): LabConfig {
    return this.state.config;
  }

  /** Makes the lab and starts everything; the status says how far it got (phase "failed" with the reason). */
  async bringUp(): Promise<void> {
    try {
      this.save({ supervisorPid: process.pid });
      // A container node has no bridge or firewall of its own to make: Docker's network is the node network.
      if (this.config.container === undefined) {
        await createBridge(this.config);
        this.note(`bridge ${this.config.bridge} up with ${bridgeIp(this.config)}`);
        await addFirewall(this.config);
        this.note("firewall: the bridge address answers only the host and the nodes; nothing is forwarded off the bridge");
      }
      if (this.config.prometheusPort > 0) {
        this.note(`prometheus: configuration ${writePrometheusConfig(this.config)}`);
        this.writeScrapeTargets();
      }
      // Built while the control plane starts; the nodes load it, then the add-on is applied.
      if (this.config.withKubelet) void this.dnsImageArchive();
      const names = this.config.container === undefined ? Array.from({ length: this.config.nodes }, (_, i) => `node-${i + 1}`) : this.state.nodes;
      await this.ensurePki(names);
      for (const planned of controlPlane(this.config)) {
        await this.startComponent(planned);
        // The tools' bindings exist before the tools start, or they would wait for them failing (403) until ready times out.
        if (this.config.secure && planned.component.kind === "kube-apiserver") this.note(`rbac: ${(await applyLabToolsRbac((path, object) => labCreate(this.config, path, object))).join(", ")}`);
      }
      await Promise.all(names.map((name) => this.addNode(name)));
      // A secure container node has no admin credential: compose's `addons` one-shot creates these as the admin.
      if (this.config.container === undefined || !this.config.secure) {
        if (this.config.withKubelet) await this.applyDns();
        await this.applyStorageClass();
      }
      await this.startMetricsServer();
      this.phase = "up";
      this.note("every component is running and ready");
    } catch (err) {
      this.phase = "failed";
      this.error = errorMessage(err);
      this.note(`failed: ${this.error}`);
    }
    this.healthTimer = setInterval(() => void this.probeAll(), HEALTH_INTERVAL_MS);
  }

  /** Makes node `name` (the next free node-N when undefined) and starts its components. */
  async addNode(name?: string): Promise<NodePlan> {
    const index = name === undefined ? this.nextIndex() : nodeIndex(name);
    if (index === undefined) throw new UserError(`a node is named node-<number>, not ${name ?? ""}`);
    const node = nodePlan(this.config, index);
    if (this.state.nodes.includes(node.name) && this.entries.some((e) => e.planned.node === node.name)) throw new UserError(`${node.name} exists already`);
    if (!this.state.nodes.includes(node.name)) this.save({ nodes: [...this.state.nodes, node.name] });
    mkdirSync(node.dir, { recursive: true });
    await this.ensurePki([...this.state.nodes, node.name]);
    if (this.config.container === undefined) {
      await createNodeNetwork(this.config, node);
      this.note(`${node.name}: network namespace ${node.netns}, ${node.ip} on ${this.config.bridge}`);
    } else {
      await prepareContainerNode(this.config, node);
      this.note(`${node.name}: this container, ${node.ip}; Services routed on the node network, pods masqueraded to it`);
    }
    for (const planned of nodeComponents(this.config, node)) await this.startComponent(planned);
    if (this.config.withKubelet) await this.loadDnsImage(node);
    return node;
  }

  /** The secure lab's PKI for these nodes (made once, then only what a new node adds). */
  private async ensurePki(nodes: readonly string[]): Promise<void> {
    if (!this.config.secure) return;
    const result = await ensureLabPki({
      dir: pkiDir(this.config),
      serviceIp: ipString(parseCidr(this.config.serviceCidr).base + 1),
      apiserverAddresses: [bridgeIp(this.config)],
      server: apiserverUrl(this.config),
      nodes: [...new Set(nodes)].map((name) => ({ name, addresses: [nodePlan(this.config, nodeIndex(name) ?? 0).ip] })),
    });
    if (result.written.length > 0) this.note(`pki: ${result.written.length} files written in ${pkiDir(this.config)} (${Math.round(result.elapsedMs)} ms)`);
  }

  private dnsImageArchive(): Promise<string | Error> {
    this.dnsImage ??= dnsImageArchive().then(
      ({ path, built }) => {
        this.note(`cluster DNS: image ${built ? "built" : "reused"} (${path})`);
        return path;
      },
      (err: unknown) => {
        const error = new Error(`cluster DNS: the kubelab/dns image could not be built: ${errorMessage(err)}`);
        this.note(error.message);
        return error;
      },
    );
    return this.dnsImage;
  }

  /** The DNS pods' image into the node's store; a failure is reported, not fatal (the node works without it). */
  private async loadDnsImage(node: NodePlan): Promise<void> {
    const archive = await this.dnsImageArchive();
    if (archive instanceof Error) return;
    try {
      await loadImage(archive, node);
      this.note(`${node.name}: kubelab/dns image loaded`);
    } catch (err) {
      this.note(`${node.name}: kubelab/dns image not loaded: ${errorMessage(err)}`);
    }
  }

  /** Creates the kube-dns Service and Deployment; reported, not fatal: the lab is usable without names. */
  private async applyDns(): Promise<void> {
    if ((await this.dnsImageArchive()) instanceof Error) return;
    try {
      const done = await applyDnsAddon(this.config);
      this.note(`cluster DNS: ${done.join(", ")} (kube-system, ClusterIP ${this.config.clusterDns})`);
    } catch (err) {
      this.note(`cluster DNS: the add-on was not applied: ${errorMessage(err)}`);
    }
  }

  /** The default StorageClass; reported, not fatal: only claims without a class need it. */
  private async applyStorageClass(): Promise<void> {
    try {
      this.note(`storage: ${await applyDefaultStorageClass(this.config)} (default class, kubelab.dev/local-path)`);
    } catch (err) {
      this.note(`storage: the default StorageClass was not created: ${errorMessage(err)}`);
    }
  }

  /** metrics-server and its registration (Service, Endpoints, APIService); reported, not fatal: only `kubectl top` needs it. */
  private async startMetricsServer(): Promise<void> {
    const planned = metricsServerPlan(this.config);
    if (planned === undefined || this.config.metricsServerPort === undefined) return;
    try {
      const done = await applyMetricsServer(this.config, this.config.metricsServerPort);
      this.note(`metrics-server: ${done.join(", ")}`);
      await this.startComponent(planned);
    } catch (err) {
      this.note(`metrics-server: not started: ${errorMessage(err)}`);
    }
  }

  async removeNode(name: string): Promise<void> {
    const index = nodeIndex(name);
    if (index === undefined || !this.state.nodes.includes(name)) throw new UserError(`no node ${name} in this lab (${this.state.nodes.join(", ")})`);
    const node = nodePlan(this.config, index);
    const mine = this.entries.filter((e) => e.planned.node === name);
    await Promise.all(mine.map((e) => (e.proc ? e.proc.stop("SIGKILL") : Promise.resolve())));
    for (const entry of mine) this.entries.splice(this.entries.indexOf(entry), 1);
    await cleanupNodeRuntime(node, (m) => { this.note(`${name}: ${m}`); });
    await deleteNodeNetwork(node);
    rmSync(node.dir, { recursive: true, force: true });
    // The Node object goes too (`kubectl delete node`), so its pods are replaced elsewhere at once.
    await labRequest(this.config, "DELETE", `/api/v1/nodes/${name}`).catch(() => undefined);
    this.save({ nodes: this.state.nodes.filter((n) => n !== name) });
    this.writeScrapeTargets();
    await this.removePodRoutesVia(node.ip);
    this.note(`${name}: removed`);
  }

  status(): LabStatus {
    return {
      phase: this.phase,
      ...(this.error !== undefined ? { error: this.error } : {}),
      home: this.config.home,
      apiserver: apiserverUrl(this.config),
      supervisorPid: process.pid,
      components: this.ordered().map((e) => this.componentStatus(e)),
      nodes: this.state.nodes.flatMap((name) => {
        const index = nodeIndex(name);
        if (index === undefined) return [];
        const plan = nodePlan(this.config, index);
        return [{ name, ip: plan.ip, netns: plan.netns }];
      }),
      progress: [...this.progress],
    };
  }

  async kill(request: KillRequest): Promise<ComponentStatus[]> {
    const signal = (request.signal ?? "SIGKILL").toUpperCase();
    const name = (signal.startsWith("SIG") ? signal : `SIG${signal}`) as NodeJS.Signals;
    const targets = this.find(request);
    for (const entry of targets) {
      const proc = entry.proc;
      if (!proc?.running) throw new UserError(`${entry.planned.component.name} is not running`);
      if (request.noRestart) {
        await proc.stop(name, 10_000);
      } else {
        try {
          proc.process.kill(name);
        } catch (err) {
          throw new UserError(`cannot send ${name}: ${errorMessage(err)}`);
        }
      }
      entry.health = "unknown";
      this.note(`${entry.planned.component.name}: sent ${name}${request.noRestart ? " (not restarted)" : ""}`);
    }
    return targets.map((e) => this.componentStatus(e));
  }

  async stop(request: TargetRequest): Promise<ComponentStatus[]> {
    const targets = this.find(request);
    await Promise.all(targets.map((e) => (e.proc ? e.proc.stop("SIGTERM", 10_000) : Promise.resolve())));
    for (const entry of targets) {
      entry.health = "unknown";
      this.note(`${entry.planned.component.name}: stopped`);
    }
    return targets.map((e) => this.componentStatus(e));
  }

  async start(request: TargetRequest): Promise<ComponentStatus[]> {
    const targets = this.find(request);
    for (const entry of targets) {
      if (entry.proc?.running) continue;
      entry.proc?.start();
      entry.health = "unknown";
      await entry.proc?.waitReady({ timeoutMs: 60_000 });
      entry.health = "ok";
      this.note(`${entry.planned.component.name}: started (pid ${entry.proc?.pid ?? -1})`);
    }
    return targets.map((e) => this.componentStatus(e));
  }

  /** Stops every process (SIGTERM, then SIGKILL after a grace period) and the control server; the lab's network stays. */
  async shutdown(): Promise<void> {
    this.phase = "stopping";
    if (this.healthTimer) clearInterval(this.healthTimer);
    // Nodes first, all at once, then the control plane newest first (etcd last, so nothing sees it vanish).
    const stop = (e: Entry): Promise<void> => (e.proc ? e.proc.stop("SIGTERM", 5_000) : Promise.resolve());
    await Promise.all(this.entries.filter((e) => e.planned.node !== undefined).map(stop));
    for (const entry of this.entries.filter((e) => e.planned.node === undefined).reverse()) await stop(entry);
    await this.owner.teardown(5_000);
    this.save({ supervisorPid: undefined });
  }

  private async startComponent(planned: PlannedComponent): Promise<void> {
    const entry: Entry = { planned, health: "unknown" };
    this.entries.push(entry);
    const { component } = planned;
    const proc = this.owner.start(component, { supervise: LAB_RESTART_POLICY, env: this.env, logRingChars: 200_000 });
    entry.proc = proc;
    const starting = { done: false };
    let readyMs: number;
    try {
      readyMs = await Promise.race([proc.waitReady({ timeoutMs: 90_000, intervalMs: 100 }), crashLooping(proc, starting)]);
    } finally {
      starting.done = true;
    }
    entry.health = "ok";
    this.writeScrapeTargets();
    this.note(`${component.name}: ready in ${(readyMs / 1000).toFixed(1)} s (pid ${proc.pid})`);
  }

  /** The control plane in start order, then each node's components by node number (nodes start in parallel). */
  private ordered(): Entry[] {
    const rank = (e: Entry): number => (e.planned.node === undefined ? 0 : (nodeIndex(e.planned.node) ?? 0));
    return this.entries.map((e, i) => ({ e, i })).sort((a, b) => rank(a.e) - rank(b.e) || a.i - b.i).map(({ e }) => e);
  }

  private find(request: TargetRequest): Entry[] {
    const kind = componentKind(request.component);
    const ofKind = this.entries.filter((e) => e.planned.component.kind === kind);
    if (ofKind.length === 0) throw new UserError(`this lab runs no ${kind}`);
    const perNode = ofKind.some((e) => e.planned.node !== undefined);
    if (!perNode) {
      if (request.node !== undefined) throw new UserError(`${kind} runs on the host, not on a node: leave out --node`);
      return ofKind;
    }
    if (request.node === undefined) throw new UserError(`${kind} runs on every node: say which with --node (${this.state.nodes.join(", ")})`);
    const found = ofKind.filter((e) => e.planned.node === request.node);
    if (found.length === 0) throw new UserError(`no ${kind} on node ${request.node} (nodes: ${this.state.nodes.join(", ")})`);
    return found;
  }

  private componentStatus(entry: Entry): ComponentStatus {
    const { component, node, metricsUrl } = entry.planned;
    const proc = entry.proc;
    const phase = proc === undefined ? "starting" : proc.phase;
    return {
      name: component.name,
      component: component.kind,
      ...(node !== undefined ? { node } : {}),
      ...(proc?.running ? { pid: proc.pid, uptimeSeconds: Math.round((performance.now() - proc.spawnedAt) / 1000) } : {}),
      state: phase,
      restarts: proc?.restarts ?? 0,
      health: proc?.running ? entry.health : "failing",
      ...(metricsUrl !== undefined ? { metricsUrl } : {}),
      command: printableCommand(component),
    };
  }

  /** targets.json from the components that exist and the DNS pods last seen (with --prometheus; else nothing). */
  private writeScrapeTargets(): void {
    if (this.config.prometheusPort <= 0) return;
    writeTargets(this.config.home, scrapeTargets(this.config, this.entries.map((e) => e.planned), this.scrapedDnsPods));
  }

  /** With --prometheus: the host's routes to each node's podCIDR, and the DNS pods in targets.json when they changed. */
  private async refreshPodTargets(): Promise<void> {
    if (this.config.prometheusPort <= 0 || !this.config.withKubelet) return;
    for (const [cidr, ip] of await podCidrRoutes(this.config)) {
      const route = `${cidr} via ${ip}`;
      if (this.podRoutes.has(route)) continue;
      try {
        await run(["ip", "route", "replace", cidr, "via", ip, "dev", this.config.bridge]);
        this.podRoutes.add(route);
        this.note(`prometheus: the host routes ${cidr} via ${ip} (to scrape pods)`);
      } catch (err) {
        this.note(`prometheus: no route to ${cidr}: ${errorMessage(err)}`);
      }
    }
    const pods = await dnsPods(this.config);
    if (JSON.stringify(pods) === JSON.stringify(this.scrapedDnsPods)) return;
    this.scrapedDnsPods = pods;
    this.writeScrapeTargets();
  }

  /** The host's routes to a removed node's pods (made for Prometheus); a node added later gets its own. */
  private async removePodRoutesVia(ip: string): Promise<void> {
    for (const route of [...this.podRoutes].filter((r) => r.endsWith(` via ${ip}`))) {
      const [cidr = ""] = route.split(" ");
      await run(["ip", "route", "del", cidr, "via", ip, "dev", this.config.bridge]).catch(() => undefined);
      this.podRoutes.delete(route);
    }
  }

  private async probeAll(): Promise<void> {
    void this.refreshPodTargets();
    await Promise.all(
      this.entries.map(async (entry) => {
        if (entry.proc === undefined) return;
        const ok = await entry.proc.probe();
        const health = ok ? "ok" : "failing";
        if (health !== entry.health && entry.health !== "unknown") this.note(`${entry.planned.component.name}: health ${health}`);
        entry.health = health;
      }),
    );
  }

  private nextIndex(): number {
    const used = new Set(this.state.nodes.map(nodeIndex));
    let index = 1;
    while (used.has(index)) index++;
    return index;
  }

  private save(change: Partial<LabState>): void {
    this.state = { ...this.state, ...change };
    writeState(this.state);
  }

  private note(message: string): void {
    const line = `${new Date().toISOString()} ${message}`;
    this.progress.push(line);
    if (this.progress.length > 1_000) this.progress.splice(0, 500);
    process.stdout.write(`${line}\n`);
  }
}

/** Rejects once a component being started has crashed three times (a taken port, a bad flag): no use waiting on. */
async function crashLooping(proc: ManagedProcess, starting: { done: boolean }): Promise<never> {
  while (proc.restarts < 3 && !starting.done) await new Promise((r) => setTimeout(r, 200));
  if (starting.done) return new Promise<never>(() => undefined);
  throw new Error(`${proc.name} keeps crashing (${proc.restarts} restarts); its output ends with:\n${proc.logs().slice(-2_000)}`);
}

/** Runs the supervisor of the lab at `home` until SIGTERM/SIGINT or a POST /shutdown. */
export async function supervise(home: string): Promise<void> {
  const state = readState(home);
  if (state === undefined) throw new Error(`no lab at ${home} (no lab.json): start one with kubelab up`);
  const supervisor = new Supervisor(state);
  const socket = controlSocketPath(home);
  rmSync(socket, { force: true });
  let finishing: Promise<void> | undefined;
  const server = createServer((req, res) => void handle(supervisor, req, res, () => finish()));
  const finish = (): Promise<void> => {
    finishing ??= supervisor.shutdown().finally(() => {
      server.close();
      rmSync(socket, { force: true });
    });
    return finishing;
  };
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  chmodSync(socket, 0o600);
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) process.on(signal, () => void finish().then(() => process.exit(0)));
  await supervisor.bringUp();
  await new Promise<void>((resolve) => server.once("close", resolve));
}

async function handle(supervisor: Supervisor, req: IncomingMessage, res: ServerResponse, finish: () => Promise<void>): Promise<void> {
  const answer = (status: number, body: unknown): void => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  try {
    let text = "";
    for await (const chunk of req) text += String(chunk);
    const body: unknown = text === "" ? {} : JSON.parse(text);
    const route = `${req.method ?? "GET"} ${req.url ?? "/"}`;
    switch (route) {
      case "GET /status":
        { answer(200, supervisor.status()); return; }
      case "POST /kill":
        { answer(200, await supervisor.kill(body as KillRequest)); return; }
      case "POST /stop":
        { answer(200, await supervisor.stop(body as TargetRequest)); return; }
      case "POST /start":
        { answer(200, await supervisor.start(body as TargetRequest)); return; }
      case "POST /add-node": {
        const name = (body as { name?: string }).name;
        const node = await supervisor.addNode(name);
        answer(200, { name: node.name, ip: node.ip, netns: node.netns }); return;
      }
      case "POST /remove-node":
        await supervisor.removeNode((body as { name: string }).name);
        { answer(200, {}); return; }
      case "POST /shutdown":
        answer(200, {});
        await finish();
        return process.exit(0);
      default:
        { answer(404, { error: `no such request: ${route}` }); return; }
    }
  } catch (err) {
    answer(err instanceof UserError ? 400 : 500, { error: errorMessage(err) });
  }
}
