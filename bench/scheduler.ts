// `npm run bench -- scheduler`: drives real kubelab processes (etcd, apiserver, hollow nodes, scheduler,
// controller-manager) over loopback and prints, all measured in the same run: the apiserver's pod-create rate (the
// reference), the scheduler's throughput on 1,000 Ready nodes with 5,000 pending pods and its ratio to that create
// rate, per-pod scheduling latency at a steady create rate, the scheduler's memory, and the time a Deployment of
// 1,000 replicas on 50 simulated nodes takes from POST to all available.
import { errorMessage } from "../api/errors.js";
import { hollowNodesComponent } from "../lab/components/hollow-nodes.js";
import { controllerManagerComponent } from "../lab/components/kube-controller-manager.js";
import { schedulerComponent } from "../lab/components/kube-scheduler.js";
import { configOrExitCode, flagsHelp, parseFlags, type FlagSpec } from "./args.js";
import { armDeadline, CpuMeter, onCleanup, processMemory, runCleanups, startBenchApiServer, startBenchEtcd, type BenchApiServer, type CpuCores, type ProcessMemory } from "./cluster.js";
import { startBenchComponent, type BenchComponent } from "./components.js";
import { createClient, runPool, statusMessage, type HttpClient } from "./http.js";
import { fmt, jsonLine, progress, renderTable, verdict, type ReportRow } from "./report.js";
import { nowMs, rate, roundDeep, Samples, type LatencySummary } from "./stats.js";
import { eventType, openWatch, type WatchStream } from "./watch.js";

// ---------------------------------------------------------------------------------------------------------------
// Flags and configuration

export const schedulerBenchFlags = {
  nodes: { type: "number", min: 1, help: "hollow nodes for the throughput, latency and memory figures (default 1000; --quick 100)" },
  pods: { type: "number", min: 1, help: "pending pods created before the scheduler starts (default 5000; --quick 500)" },
  concurrency: { type: "number", min: 1, help: "concurrent keep-alive clients creating the pending pods (default 64)" },
  warmup: { type: "number", min: 0, help: "untimed pod creates (then deleted) before the timed creates warm the apiserver up (default 200; --quick 50)" },
  latencyPods: { type: "number", min: 0, help: "pods created at a steady rate with the scheduler running; 0 skips latency (default 500; --quick 100)" },
  latencyRate: { type: "number", min: 1, help: "creates per second for the latency figure (default 100)" },
  withDefaultQps: { type: "boolean", help: "also schedule --pods more pods with the scheduler at its default --kube-api-qps (50)" },
  skipPlugins: { type: "boolean", help: "skip the run with PodTopologySpread and InterPodAffinity pods (figure 1b)" },
  replicas: { type: "number", min: 1, help: "replicas of the timed Deployment (default 1000; --quick 200)" },
  deploymentNodes: { type: "number", min: 1, help: "hollow nodes of the Deployment cluster (default 50)" },
  skipThroughput: { type: "boolean", help: "skip the throughput, latency and memory figures (1–3)" },
  skipDeployment: { type: "boolean", help: "skip the Deployment figure (4)" },
  stallSeconds: { type: "number", min: 5, help: "fail a wait when nothing progresses for this long (default 60; --quick 30)" },
  deadline: { type: "number", min: 10, help: "abort (and clean up) after this many seconds (default 1500; --quick 150)" },
  quick: { type: "boolean", help: "small numbers for a smoke run (< 60 s)" },
  help: { type: "boolean", help: "print this help" },
} satisfies Record<string, FlagSpec>;

export interface SchedulerBenchConfig {
  nodes: number;
  pods: number;
  concurrency: number;
  warmup: number;
  latencyPods: number;
  latencyRate: number;
  withDefaultQps: boolean;
  skipPlugins: boolean;
  replicas: number;
  deploymentNodes: number;
  skipThroughput: boolean;
  skipDeployment: boolean;
  stallSeconds: number;
  deadlineSeconds: number;
  quick: boolean;
}

export function schedulerBenchConfig(argv: readonly string[]): SchedulerBenchConfig | "help" {
  const f = parseFlags(schedulerBenchFlags, argv);
  if (f.help) return "help";
  const quick = f.quick ?? false;
  return {
    nodes: f.nodes ?? (quick ? 100 : 1000),
    pods: f.pods ?? (quick ? 500 : 5000),
    concurrency: f.concurrency ?? 64,
    warmup: f.warmup ?? (quick ? 50 : 200),
    latencyPods: f.latencyPods ?? (quick ? 100 : 500),
    latencyRate: f.latencyRate ?? 100,
    withDefaultQps: f.withDefaultQps ?? false,
    skipPlugins: f.skipPlugins ?? false,
    replicas: f.replicas ?? (quick ? 200 : 1000),
    deploymentNodes: f.deploymentNodes ?? 50,
    skipThroughput: f.skipThroughput ?? false,
    skipDeployment: f.skipDeployment ?? false,
    stallSeconds: f.stallSeconds ?? (quick ? 30 : 60),
    deadlineSeconds: f.deadline ?? (quick ? 150 : 1500),
    quick,
  };
}

export function schedulerBenchUsage(): string {
  return `usage: npm run bench -- scheduler [flags]\n\n${flagsHelp(schedulerBenchFlags)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Constants and payloads

const NAMESPACE = "default";
const PODS_PATH = `/api/v1/namespaces/${NAMESPACE}/pods`;
const DEPLOYMENTS_PATH = `/apis/apps/v1/namespaces/${NAMESPACE}/deployments`;
const THROUGHPUT_NODE_PREFIX = "sched-node";
const DEPLOY_NODE_PREFIX = "deploy-node";
/** Pod name prefixes: pre-created pending pods, steady-rate latency pods, pods for the default-QPS run. */
const PREFIX = { throughput: "tp-", latency: "lp-", defaultQps: "qp-", plugins: "sp-" } as const;
const WARMUP_PREFIX = "wp-";
const BENCH_POD_NAME = /"name":"((?:tp|lp|qp|sp)-\d+)"/;
/** Pods per label group in the PodTopologySpread / InterPodAffinity run. */
const PLUGIN_GROUP_SIZE = 50;
const HAS_NODE_NAME = /"nodeName":"[^"]/;
const DEPLOYMENT = "bench-deploy";
const WARMUP_DEPLOYMENT = "bench-warmup";
const REQUESTS = `"resources":{"requests":{"cpu":"10m","memory":"10Mi"}}`;
/** Scheduler's default --kube-api-qps, and kube-scheduler's, for the optional capped run. */
const DEFAULT_SCHEDULER_QPS = 50;

function podBody(name: string): string {
  return `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"${name}"},"spec":{"containers":[{"name":"c","image":"nginx",${REQUESTS}}]}}`;
}

/**
 * A pod in the spirit of scheduler_perf's TopologySpreading and PreferredPodAntiAffinity cases: groups of
 * PLUGIN_GROUP_SIZE pods, each spread over hostnames (maxSkew 1, DoNotSchedule) and preferring not to share a node
 * with its group (preferred anti-affinity, weight 1).
 */
function spreadPodBody(name: string, index: number): string {
  const app = `sp-group-${Math.floor(index / PLUGIN_GROUP_SIZE)}`;
  const selector = { matchLabels: { app } };
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels: { app } },
    spec: {
      containers: [{ name: "c", image: "nginx", resources: { requests: { cpu: "10m", memory: "10Mi" } } }],
      topologySpreadConstraints: [{ maxSkew: 1, topologyKey: "kubernetes.io/hostname", whenUnsatisfiable: "DoNotSchedule", labelSelector: selector }],
      affinity: { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, podAffinityTerm: { labelSelector: selector, topologyKey: "kubernetes.io/hostname" } }] } },
    },
  });
}

function deploymentBody(name: string, replicas: number): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "c", image: "nginx", resources: { requests: { cpu: "10m", memory: "10Mi" } } }] },
      },
    },
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Results

interface CreateRun {
  count: number;
  ok: number;
  errors: number;
  errorSamples: string[];
  elapsedMs: number;
  perSec: number;
  latencyMs: LatencySummary;
}

interface ScheduleRun {
  schedulerQps: string;
  pods: number;
  bound: number;
  /** Scheduler spawn → the last of the pods seen bound on the watch. */
  elapsedMs: number;
  podsPerSec: number;
  /** Scheduler spawn → first binding seen. */
  firstBindingMs: number;
  /** First → last binding, and the rate over that span (steady state, without start-up). */
  bindingSpanMs: number;
  steadyPodsPerSec: number;
  /** Pods bound per node: min / max (how evenly they were spread). */
  perNodeMin: number;
  perNodeMax: number;
  cpuCores: CpuCores;
  timedOut: boolean;
}

interface ThroughputResult {
  nodes: number;
  nodesReadyMs: number;
  creates: CreateRun;
  schedule?: ScheduleRun;
  ratio: number;
  defaultQps?: { creates: CreateRun; schedule: ScheduleRun; ratio: number };
  /** Pods with PodTopologySpread and InterPodAffinity terms; ratio = its pods/s ÷ the plain run's. */
  plugins?: { creates: CreateRun; schedule: ScheduleRun; ratioToPlain: number };
  watchReconnects: number;
}

interface LatencyResult {
  pods: number;
  targetRate: number;
  achievedRate: number;
  createErrors: number;
  bound: number;
  /** create acknowledged (201 read) → binding seen on the watch. */
  ackToBoundMs: LatencySummary;
  /** create request sent → binding seen on the watch. */
  sentToBoundMs: LatencySummary;
  /** Bindings seen on the watch before the create's response was read (counted as 0 ms in ackToBound). */
  boundBeforeAck: number;
  cpuCores: CpuCores;
}

interface MemoryResult {
  /** Scheduler RSS after the pre-created pods are all bound (and a short settle). */
  afterThroughput?: ProcessMemory;
  afterLatency?: ProcessMemory;
  podsAtThroughput: number;
  podsAtLatency: number;
}

interface DeploymentResult {
  replicas: number;
  nodes: number;
  nodesReadyMs: number;
  warmupMs: number;
  /** POST → status.availableReplicas == replicas seen on the deployments watch. */
  availableMs: number;
  /** POST → milestones seen on the pods watch. */
  firstPodMs: number;
  allCreatedMs: number;
  allBoundMs: number;
  allReadyMs: number;
  podsCreated: number;
  podsBound: number;
  podsReady: number;
  available: number;
  timedOut: boolean;
  cpuCores: CpuCores;
  rss: Record<string, ProcessMemory>;
  /** Every second after the POST: [seconds, pods created, bound, Ready, availableReplicas]. */
  timeline: [number, number, number, number, number][];
  /** apiserver_request_total between the POST and availability, per "VERB resource[/subresource]", non-watch verbs. */
  requests: Record<string, number>;
}

interface BenchResult {
  config: SchedulerBenchConfig;
  throughput?: ThroughputResult;
  latency?: LatencyResult;
  memory: MemoryResult;
  deployment?: DeploymentResult;
  errors: Record<string, string>;
  /** Lines of component logs that look like errors (first few per component), for the report. */
  componentErrors: Record<string, string[]>;
}

// ---------------------------------------------------------------------------------------------------------------
// API helpers

export class ApiError extends Error {}

export type Json = Record<string, unknown>;

export function asObject(value: unknown): Json | undefined {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Json) : undefined;
}

export async function apiJson(client: HttpClient, method: string, path: string, body: string | undefined, accepted: readonly number[], timeoutMs = 60_000): Promise<Json> {
  const res = await client.request(method, path, body, timeoutMs);
  if (!accepted.includes(res.status)) throw new ApiError(`${method} ${path} → ${res.status}: ${statusMessage(res.body)}`);
  const parsed = asObject(JSON.parse(res.body));
  if (!parsed) throw new ApiError(`${method} ${path}: response is not a JSON object`);
  return parsed;
}

export function listItems(list: Json): Json[] {
  const items = list.items;
  return Array.isArray(items) ? items.map(asObject).filter((i): i is Json => i !== undefined) : [];
}

function listResourceVersion(list: Json): string {
  const rv = asObject(list.metadata)?.resourceVersion;
  if (typeof rv !== "string" || rv === "") throw new ApiError("list without metadata.resourceVersion");
  return rv;
}

export function nameOf(obj: Json): string {
  const name = asObject(obj.metadata)?.name;
  return typeof name === "string" ? name : "";
}

function isNodeReady(node: Json): boolean {
  const conditions = asObject(node.status)?.conditions;
  if (!Array.isArray(conditions)) return false;
  return conditions.some((c) => {
    const o = asObject(c);
    return o?.type === "Ready" && o.status === "True";
  });
}

function podNodeName(pod: Json): string {
  const n = asObject(pod.spec)?.nodeName;
  return typeof n === "string" ? n : "";
}

export function isPodReady(pod: Json): boolean {
  return isNodeReady(pod); // same shape: status.conditions[type=Ready].status == "True"
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export class Stalled extends Error {}

/**
 * Polls `progressed()` (a counter that only grows) until `done()`; fails when nothing moved for `stallMs`, when
 * `timeoutMs` passed, or when `check()` reports a problem (a process died). Logs every 5 s.
 */
export async function waitProgress(what: string, opts: { done: () => boolean; progressed: () => number; describe: () => string; stallMs: number; timeoutMs: number; check?: () => string | undefined; intervalMs?: number }): Promise<void> {
  const started = nowMs();
  let lastValue = opts.progressed();
  let lastChange = started;
  let lastLog = started;
  while (!opts.done()) {
    const problem = opts.check?.();
    if (problem) throw new ApiError(`${what} (${opts.describe()}): ${problem}`);
    const now = nowMs();
    const value = opts.progressed();
    if (value !== lastValue) {
      lastValue = value;
      lastChange = now;
    }
    if (now - lastChange > opts.stallMs) throw new Stalled(`${what}: no progress for ${Math.round(opts.stallMs / 1000)} s (${opts.describe()})`);
    if (now - started > opts.timeoutMs) throw new Stalled(`${what}: not done within ${Math.round(opts.timeoutMs / 1000)} s (${opts.describe()})`);
    if (now - lastLog >= 5_000) {
      lastLog = now;
      progress(`  ${what}: ${opts.describe()} after ${fmt((now - started) / 1000, 1)} s`);
    }
    await sleep(opts.intervalMs ?? 10);
  }
}

/** Lines of a component's log that look like errors, de-duplicated, at most `max`. */
export function errorLines(log: string, max = 5): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const line of log.split("\n")) {
    if (!/(\berror\b|error:|"level":(50|60)|\bE\d{4} |panic|unhandled|exception|fatal)/i.test(line)) continue;
    const key = line.replace(/\d+/g, "#").slice(0, 160);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(line.slice(0, 400));
    if (out.length >= max) break;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Cluster pieces

export function componentGone(components: readonly BenchComponent[], api: BenchApiServer): string | undefined {
  const describe = (name: string, gone: string, log: string): string => {
    const tail = log.slice(-4_000);
    const first = errorLines(tail, 1)[0];
    return `${name} ${gone}${first ? ` (${first.trim().slice(0, 200)})` : ""}; its output ends with:\n${tail.slice(-2_000)}`;
  };
  const apiGone = api.exitReason();
  if (apiGone) return describe("the apiserver", apiGone, api.logs());
  for (const c of components) {
    const gone = c.exitReason();
    if (gone) return describe(c.name, gone, c.logs());
  }
  return undefined;
}

/** Waits until `count` nodes named `<prefix>-*` are Ready in a node list; waitProgress' predicates are synchronous,
 *  so the list is refreshed by a background loop (every second for large counts) that stops when the wait ends. */
export async function nodesReady(client: HttpClient, prefix: string, count: number, components: readonly BenchComponent[], api: BenchApiServer, stallMs: number): Promise<number> {
  const started = nowMs();
  let ready = 0;
  let registered = 0;
  let stop = false;
  let pollError: string | undefined;
  const interval = count > 200 ? 1_000 : 250;
  const poll = (async () => {
    while (!stop) {
      try {
        const list = await apiJson(client, "GET", "/api/v1/nodes", undefined, [200]);
        const mine = listItems(list).filter((n) => nameOf(n).startsWith(`${prefix}-`));
        registered = mine.length;
        ready = mine.filter(isNodeReady).length;
        pollError = undefined;
      } catch (err) {
        pollError = errorMessage(err);
      }
      if (ready >= count) return;
      await sleep(interval);
    }
  })();
  try {
    await waitProgress(`${count} nodes Ready`, {
      done: () => ready >= count,
      progressed: () => ready * 1_000_000 + registered,
      describe: () => `${registered} registered, ${ready} Ready${pollError ? `; last list failed: ${pollError}` : ""}`,
      stallMs,
      timeoutMs: Math.max(120_000, count * 200),
      check: () => componentGone(components, api),
      intervalMs: 20,
    });
  } finally {
    stop = true;
    await poll;
  }
  return nowMs() - started;
}

/** Creates pods named `${prefix}${i}`, i in [0, count), with `concurrency` keep-alive clients. */
async function createPods(client: HttpClient, prefix: string, count: number, concurrency: number, body: (name: string, index: number) => string = podBody): Promise<CreateRun> {
  const run = { ok: 0, errors: 0, errorSamples: [] as string[] };
  const latency = new Samples(count);
  const maxErrors = Math.max(50, Math.ceil(count / 10));
  const started = nowMs();
  await runPool(count, concurrency, async (i) => {
    const t0 = nowMs();
    let problem: string;
    try {
      const res = await client.request("POST", PODS_PATH, body(`${prefix}${i}`, i));
      if (res.status === 201) {
        run.ok++;
        latency.add(nowMs() - t0);
        return;
      }
      problem = `${res.status}: ${statusMessage(res.body)}`;
    } catch (err) {
      problem = errorMessage(err);
    }
    run.errors++;
    if (run.errorSamples.length < 5) run.errorSamples.push(problem);
    if (run.errors > maxErrors) throw new ApiError(`too many failed creates (${run.errors}); first: ${run.errorSamples.join(" | ")}`);
  });
  const elapsedMs = nowMs() - started;
  return { count, ...run, elapsedMs, perSec: rate(run.ok, elapsedMs), latencyMs: latency.summary() };
}

/**
 * Follows bindings of the bench's pods on one pod watch: the first time an event of a bench pod carries a
 * spec.nodeName, the pod counts as bound at that event's receive time. If the stream ends, it relists (pods bound
 * meanwhile count as bound at the relist) and watches again from the list's resourceVersion.
 */
class BindingTracker {
  readonly boundAt = new Map<string, number>();
  readonly nodeOf = new Map<string, string>();
  private readonly counts = new Map<string, number>();
  private stream: WatchStream | undefined;
  private stopped = false;
  reconnects = 0;
  lastError: string | undefined;

  constructor(private readonly baseUrl: string, private readonly client: HttpClient) {}

  bound(prefix: string): number {
    return this.counts.get(prefix) ?? 0;
  }

  /** Lists the namespace's pods (noting those already bound) and watches from the list's resourceVersion. */
  async start(): Promise<void> {
    const list = await apiJson(this.client, "GET", PODS_PATH, undefined, [200], 120_000);
    const at = nowMs();
    for (const pod of listItems(list)) {
      const node = podNodeName(pod);
      if (node) this.mark(nameOf(pod), node, at);
    }
    this.open(listResourceVersion(list));
  }

  stop(): void {
    this.stopped = true;
    this.stream?.close();
  }

  private mark(name: string, node: string, at: number): void {
    if (this.boundAt.has(name)) return;
    const prefix = Object.values(PREFIX).find((p) => name.startsWith(p));
    if (!prefix) return;
    this.boundAt.set(name, at);
    this.nodeOf.set(name, node);
    this.counts.set(prefix, (this.counts.get(prefix) ?? 0) + 1);
  }

  private open(rv: string): void {
    this.stream = openWatch(this.baseUrl, `${PODS_PATH}?watch=true&resourceVersion=${encodeURIComponent(rv)}&allowWatchBookmarks=true`, {
      line: (line, at) => {
        if (!HAS_NODE_NAME.test(line)) {
          if (line.startsWith('{"type":"ERROR"')) this.lastError = line.slice(0, 300);
          return;
        }
        const m = BENCH_POD_NAME.exec(line);
        const name = m?.[1];
        if (!name || this.boundAt.has(name)) return;
        const node = /"nodeName":"([^"]+)"/.exec(line)?.[1] ?? "";
        this.mark(name, node, at);
      },
      ended: (reason) => {
        if (this.stopped) return;
        this.lastError = reason;
        this.reconnects++;
        progress(`pod watch ended (${reason}); relisting and watching again`);
        void sleep(100)
          .then(() => this.start())
          .catch((err: unknown) => {
            this.lastError = `relist failed: ${errorMessage(err)}`;
            if (!this.stopped) setTimeout(() => { this.stream = undefined; void this.start().catch(() => undefined); }, 1_000);
          });
      },
    });
  }
}

export function startScheduler(url: string, qps: number | undefined, name: string): BenchComponent {
  return startBenchComponent(
    schedulerComponent({ name, master: url, port: 0, bindAddress: "127.0.0.1", leaderElect: false, ...(qps !== undefined ? { kubeApiQps: qps } : {}) }),
  );
}

/** Hollow nodes in both clusters run without a client-side limit, so that the simulator is not what is measured. */
export function startHollowNodes(url: string, prefix: string, count: number, extra: readonly string[]): BenchComponent {
  return startBenchComponent(
    hollowNodesComponent({ name: `hollow-nodes ${prefix}`, master: url, count, namePrefix: prefix, kubeApiQps: 0, verbosity: 0, extraArgs: extra }),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Figures 1–3: throughput, latency, memory

async function measureSchedule(
  tracker: BindingTracker,
  scheduler: BenchComponent,
  prefix: string,
  pods: number,
  qpsLabel: string,
  ctx: { components: BenchComponent[]; api: BenchApiServer; pids: Record<string, number>; stallMs: number; timeoutMs: number },
): Promise<ScheduleRun> {
  const cpu = new CpuMeter({ ...ctx.pids, scheduler: scheduler.pid });
  let timedOut = false;
  try {
    await waitProgress(`scheduling ${pods} pods (${qpsLabel})`, {
      done: () => tracker.bound(prefix) >= pods,
      progressed: () => tracker.bound(prefix),
      describe: () => `${tracker.bound(prefix)} of ${pods} bound${tracker.lastError ? `; watch: ${tracker.lastError}` : ""}`,
      stallMs: ctx.stallMs,
      timeoutMs: ctx.timeoutMs,
      check: () => componentGone([...ctx.components, scheduler], ctx.api),
    });
  } catch (err) {
    if (!(err instanceof Stalled)) throw err;
    timedOut = true;
    progress(`${err.message}; the scheduler's output ends with:\n${scheduler.logs().slice(-3_000)}`);
  }
  const cpuCores = cpu.read();
  let first = Number.POSITIVE_INFINITY;
  let last = 0;
  const perNode = new Map<string, number>();
  for (const [name, at] of tracker.boundAt) {
    if (!name.startsWith(prefix)) continue;
    first = Math.min(first, at);
    last = Math.max(last, at);
    const node = tracker.nodeOf.get(name) ?? "";
    perNode.set(node, (perNode.get(node) ?? 0) + 1);
  }
  const bound = tracker.bound(prefix);
  const elapsedMs = (timedOut ? nowMs() : last) - scheduler.spawnedAt;
  const span = last - first;
  const counts = [...perNode.values()];
  return {
    schedulerQps: qpsLabel,
    pods,
    bound,
    elapsedMs,
    podsPerSec: timedOut ? Number.NaN : rate(bound, elapsedMs),
    firstBindingMs: Number.isFinite(first) ? first - scheduler.spawnedAt : Number.NaN,
    bindingSpanMs: span,
    steadyPodsPerSec: bound > 1 ? rate(bound - 1, span) : Number.NaN,
    perNodeMin: counts.length > 0 ? Math.min(...counts) : Number.NaN,
    perNodeMax: counts.length > 0 ? Math.max(...counts) : Number.NaN,
    cpuCores,
    timedOut,
  };
}

async function measureLatency(
  client: HttpClient,
  tracker: BindingTracker,
  config: SchedulerBenchConfig,
  ctx: { components: BenchComponent[]; api: BenchApiServer; pids: Record<string, number>; stallMs: number },
): Promise<LatencyResult> {
  const n = config.latencyPods;
  const sentAt = new Float64Array(n).fill(Number.NaN);
  const ackAt = new Float64Array(n).fill(Number.NaN);
  const errors: string[] = [];
  let createErrors = 0;
  const inFlight = new Set<Promise<void>>();
  const cpu = new CpuMeter(ctx.pids);
  const started = nowMs();
  const intervalMs = 1000 / config.latencyRate;
  for (let i = 0; i < n; i++) {
    const due = started + i * intervalMs;
    const wait = due - nowMs();
    if (wait > 1) await sleep(wait);
    while (inFlight.size >= config.concurrency) await Promise.race(inFlight);
    sentAt[i] = nowMs();
    const p = client.request("POST", PODS_PATH, podBody(`${PREFIX.latency}${i}`)).then(
      (res) => {
        if (res.status === 201) ackAt[i] = nowMs();
        else {
          createErrors++;
          if (errors.length < 5) errors.push(`${res.status}: ${statusMessage(res.body)}`);
        }
      },
      (err: unknown) => {
        createErrors++;
        if (errors.length < 5) errors.push(errorMessage(err));
      },
    );
    const tracked = p.finally(() => { inFlight.delete(tracked); });
    inFlight.add(tracked);
  }
  await Promise.all(inFlight);
  const createSpan = nowMs() - started;
  if (createErrors > 0) progress(`latency creates: ${createErrors} failed (${errors.join(" | ")})`);
  const expected = n - createErrors;
  try {
    await waitProgress(`binding ${expected} latency pods`, {
      done: () => tracker.bound(PREFIX.latency) >= expected,
      progressed: () => tracker.bound(PREFIX.latency),
      describe: () => `${tracker.bound(PREFIX.latency)} of ${expected} bound`,
      stallMs: ctx.stallMs,
      timeoutMs: Math.max(60_000, ctx.stallMs),
      check: () => componentGone(ctx.components, ctx.api),
    });
  } catch (err) {
    if (!(err instanceof Stalled)) throw err;
    progress(err.message);
  }
  const cpuCores = cpu.read();
  const ackToBound = new Samples(n);
  const sentToBound = new Samples(n);
  let boundBeforeAck = 0;
  for (let i = 0; i < n; i++) {
    const at = tracker.boundAt.get(`${PREFIX.latency}${i}`);
    const ack = ackAt[i] ?? Number.NaN;
    const sent = sentAt[i] ?? Number.NaN;
    if (at === undefined || !Number.isFinite(ack)) continue;
    if (at < ack) boundBeforeAck++;
    ackToBound.add(Math.max(0, at - ack));
    sentToBound.add(at - sent);
  }
  return {
    pods: n,
    targetRate: config.latencyRate,
    achievedRate: rate(n, createSpan),
    createErrors,
    bound: tracker.bound(PREFIX.latency),
    ackToBoundMs: ackToBound.summary(),
    sentToBoundMs: sentToBound.summary(),
    boundBeforeAck,
    cpuCores,
  };
}

async function runThroughputCluster(config: SchedulerBenchConfig, result: BenchResult, phase: PhaseRunner): Promise<void> {
  const stallMs = config.stallSeconds * 1000;
  const etcd = await startBenchEtcd();
  const api = await startBenchApiServer(etcd.endpoint);
  const client = createClient("http", api.url, config.concurrency);
  onCleanup("http client (throughput)", () => { client.close(); });
  const components: BenchComponent[] = [];
  const hollow = startHollowNodes(api.url, THROUGHPUT_NODE_PREFIX, config.nodes, []);
  components.push(hollow);
  const pids: Record<string, number> = { apiserver: api.pid, etcd: etcd.process.pid ?? -1, hollow: hollow.pid };
  let scheduler: BenchComponent | undefined;
  const tracker = new BindingTracker(api.url, client);
  onCleanup("pod watch", () => { tracker.stop(); });
  try {
    progress(`waiting for ${config.nodes} hollow nodes to be Ready`);
    const nodesReadyMs = await nodesReady(client, THROUGHPUT_NODE_PREFIX, config.nodes, components, api, stallMs);
    progress(`${config.nodes} nodes Ready after ${fmt(nodesReadyMs / 1000, 1)} s`);

    if (config.warmup > 0) {
      progress(`warm-up: ${config.warmup} untimed pod creates, then their deletion`);
      const warm = await createPods(client, WARMUP_PREFIX, config.warmup, config.concurrency);
      if (warm.errors > 0) progress(`warm-up creates: ${warm.errors} failed (${warm.errorSamples.join(" | ")})`);
      await runPool(config.warmup, config.concurrency, async (i) => {
        const res = await client.request("DELETE", `${PODS_PATH}/${WARMUP_PREFIX}${i}?gracePeriodSeconds=0`);
        if (res.status !== 200 && res.status !== 202 && res.status !== 404) throw new ApiError(`DELETE ${WARMUP_PREFIX}${i} → ${res.status}: ${statusMessage(res.body)}`);
      });
    }
    progress(`creating ${config.pods} pending pods with ${config.concurrency} clients (no scheduler running)`);
    const creates = await createPods(client, PREFIX.throughput, config.pods, config.concurrency);
    progress(`created ${creates.ok} pods at ${fmt(creates.perSec, 0)}/s${creates.errors ? ` (${creates.errors} failed: ${creates.errorSamples.join(" | ")})` : ""}`);
    const t: ThroughputResult = { nodes: config.nodes, nodesReadyMs, creates, ratio: Number.NaN, watchReconnects: 0 };
    result.throughput = t;

    await tracker.start();
    if (tracker.bound(PREFIX.throughput) > 0) throw new ApiError(`${tracker.bound(PREFIX.throughput)} pods were bound before any scheduler ran`);

    await phase("scheduler throughput", async () => {
      progress(`starting the scheduler (--kube-api-qps=0) on ${config.nodes} nodes with ${creates.ok} pending pods`);
      scheduler = startScheduler(api.url, 0, "scheduler (qps 0)");
      const s = scheduler;
      const run = await measureSchedule(tracker, s, PREFIX.throughput, creates.ok, "--kube-api-qps=0", {
        components, api, pids, stallMs, timeoutMs: Math.max(120_000, creates.ok * 100),
      });
      t.schedule = run;
      t.ratio = run.podsPerSec / creates.perSec;
      progress(`${run.bound} pods bound ${fmt(run.elapsedMs / 1000, 2)} s after the scheduler was spawned: ${fmt(run.podsPerSec, 0)} pods/s (ratio ${fmt(t.ratio, 2)})`);
      if (run.timedOut) throw new ApiError(`only ${run.bound} of ${run.pods} pods were bound`);
      await sleep(config.quick ? 500 : 2_000);
      result.memory.afterThroughput = processMemory(s.pid);
      result.memory.podsAtThroughput = tracker.bound(PREFIX.throughput);
    });

    const running = scheduler;
    if (config.latencyPods > 0 && running && !running.exitReason()) {
      await phase("scheduling latency", async () => {
        progress(`creating ${config.latencyPods} pods at ${config.latencyRate}/s with the scheduler running`);
        const latency = await measureLatency(client, tracker, config, { components: [...components, running], api, pids: { ...pids, scheduler: running.pid }, stallMs });
        result.latency = latency;
        progress(`latency create-ack → bound p50 ${fmt(latency.ackToBoundMs.p50)} ms, p99 ${fmt(latency.ackToBoundMs.p99)} ms`);
        await sleep(config.quick ? 500 : 2_000);
        result.memory.afterLatency = processMemory(running.pid);
        result.memory.podsAtLatency = tracker.bound(PREFIX.throughput) + tracker.bound(PREFIX.latency);
      });
    }
    if (running) {
      collectErrors(result, running);
      await running.stop("SIGTERM");
    }

    if (!config.skipPlugins) {
      await phase("scheduler with PodTopologySpread and InterPodAffinity", async () => {
        progress(`creating ${config.pods} pending pods with topology spread constraints and pod anti-affinity (no scheduler running)`);
        const creates3 = await createPods(client, PREFIX.plugins, config.pods, config.concurrency, spreadPodBody);
        progress(`created ${creates3.ok} pods; starting a scheduler (--kube-api-qps=0)`);
        const withPlugins = startScheduler(api.url, 0, "scheduler (spread + affinity)");
        const run = await measureSchedule(tracker, withPlugins, PREFIX.plugins, creates3.ok, "--kube-api-qps=0, spread + affinity", {
          components, api, pids, stallMs, timeoutMs: Math.max(120_000, creates3.ok * 200),
        });
        const plain = t.schedule?.podsPerSec ?? Number.NaN;
        t.plugins = { creates: creates3, schedule: run, ratioToPlain: run.podsPerSec / plain };
        progress(`spread + affinity: ${run.bound} pods bound at ${fmt(run.podsPerSec, 0)} pods/s (${fmt(t.plugins.ratioToPlain, 2)} of the plain run)`);
        collectErrors(result, withPlugins);
        await withPlugins.stop("SIGTERM");
        if (run.timedOut) throw new ApiError(`only ${run.bound} of ${run.pods} pods were bound`);
      });
    }

    if (config.withDefaultQps) {
      await phase("scheduler at default QPS", async () => {
        progress(`creating ${config.pods} more pending pods (no scheduler running)`);
        const creates2 = await createPods(client, PREFIX.defaultQps, config.pods, config.concurrency);
        progress(`created ${creates2.ok} pods at ${fmt(creates2.perSec, 0)}/s; starting the scheduler at its default --kube-api-qps (${DEFAULT_SCHEDULER_QPS})`);
        const capped = startScheduler(api.url, undefined, "scheduler (default qps)");
        const run = await measureSchedule(tracker, capped, PREFIX.defaultQps, creates2.ok, `default (${DEFAULT_SCHEDULER_QPS})`, {
          components, api, pids, stallMs, timeoutMs: Math.max(120_000, (creates2.ok / DEFAULT_SCHEDULER_QPS) * 2_000),
        });
        t.defaultQps = { creates: creates2, schedule: run, ratio: run.podsPerSec / creates2.perSec };
        progress(`default QPS: ${run.bound} pods bound at ${fmt(run.podsPerSec, 0)} pods/s`);
        collectErrors(result, capped);
        await capped.stop("SIGTERM");
        if (run.timedOut) throw new ApiError(`only ${run.bound} of ${run.pods} pods were bound`);
      });
    }
    t.watchReconnects = tracker.reconnects;
  } finally {
    tracker.stop();
    collectErrors(result, hollow);
    const apiErrors = errorLines(api.logs());
    if (apiErrors.length > 0) result.componentErrors["apiserver (throughput cluster)"] = apiErrors;
  }
}

function collectErrors(result: BenchResult, component: BenchComponent): void {
  const lines = errorLines(component.logs());
  if (lines.length > 0) result.componentErrors[component.name] = lines;
}

// ---------------------------------------------------------------------------------------------------------------
// Figure 4: Deployment of 1,000 replicas on 50 nodes

const REQUEST_SAMPLE = /^apiserver_request_total\{([^}]*)\} (\S+)$/;

/** The apiserver's apiserver_request_total summed per "VERB resource[/subresource]" (watches and the bench's own
 *  GETs included; the caller takes a difference). */
async function apiRequestCounts(client: HttpClient): Promise<Map<string, number>> {
  const res = await client.request("GET", "/metrics", undefined, 30_000);
  const counts = new Map<string, number>();
  if (res.status !== 200) return counts;
  for (const line of res.body.split("\n")) {
    const m = REQUEST_SAMPLE.exec(line);
    if (!m) continue;
    const labels = new Map<string, string>();
    for (const l of (m[1] ?? "").matchAll(/(\w+)="([^"]*)"/g)) labels.set(l[1] ?? "", l[2] ?? "");
    const verb = labels.get("verb") ?? "";
    if (verb === "WATCH" || verb === "CONNECT") continue;
    const sub = labels.get("subresource") ?? "";
    const key = `${verb} ${labels.get("resource") ?? ""}${sub ? `/${sub}` : ""}`;
    counts.set(key, (counts.get(key) ?? 0) + Number(m[2]));
  }
  return counts;
}

function countsDelta(after: Map<string, number>, before: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, n] of after) {
    const d = n - (before.get(key) ?? 0);
    if (d > 0) out[key] = d;
  }
  return out;
}

async function waitDeploymentAvailable(client: HttpClient, name: string, replicas: number, timeoutMs: number, components: readonly BenchComponent[], api: BenchApiServer): Promise<void> {
  let available = 0;
  let stop = false;
  const poll = (async () => {
    while (!stop) {
      try {
        const d = await apiJson(client, "GET", `${DEPLOYMENTS_PATH}/${name}`, undefined, [200]);
        const a = asObject(d.status)?.availableReplicas;
        available = typeof a === "number" ? a : 0;
      } catch {
        // not there yet
      }
      if (available >= replicas) return;
      await sleep(100);
    }
  })();
  try {
    await waitProgress(`Deployment ${name} available`, {
      done: () => available >= replicas,
      progressed: () => available,
      describe: () => `${available} of ${replicas} available`,
      stallMs: timeoutMs,
      timeoutMs,
      check: () => componentGone(components, api),
      intervalMs: 20,
    });
  } finally {
    stop = true;
    await poll;
  }
}

async function runDeploymentCluster(config: SchedulerBenchConfig, result: BenchResult): Promise<void> {
  const stallMs = config.stallSeconds * 1000;
  const etcd = await startBenchEtcd();
  const api = await startBenchApiServer(etcd.endpoint);
  const client = createClient("http", api.url, 16);
  onCleanup("http client (deployment)", () => { client.close(); });
  const hollow = startHollowNodes(api.url, DEPLOY_NODE_PREFIX, config.deploymentNodes, ["--max-pods", "110", "--cpu", "64", "--memory", "256Gi", "--pod-cidr-wait=0s"]);
  const scheduler = startScheduler(api.url, 0, "scheduler (deployment cluster)");
  const cm = startBenchComponent(
    controllerManagerComponent({ name: "controller-manager", master: api.url, port: 0, bindAddress: "127.0.0.1", leaderElect: false, kubeApiQps: 0, kubeApiBurst: 10_000 }),
  );
  const components = [hollow, scheduler, cm];
  const pids: Record<string, number> = { apiserver: api.pid, etcd: etcd.process.pid ?? -1, scheduler: scheduler.pid, "controller-manager": cm.pid, hollow: hollow.pid };
  const streams: WatchStream[] = [];
  onCleanup("deployment watches", () => { for (const s of streams) s.close(); });
  try {
    progress(`waiting for ${config.deploymentNodes} hollow nodes to be Ready`);
    const nodesReadyMs = await nodesReady(client, DEPLOY_NODE_PREFIX, config.deploymentNodes, components, api, stallMs);

    progress("warm-up: a 1-replica Deployment, until available (the controllers and the scheduler are running)");
    const warmStart = nowMs();
    await apiJson(client, "POST", DEPLOYMENTS_PATH, deploymentBody(WARMUP_DEPLOYMENT, 1), [201]);
    await waitDeploymentAvailable(client, WARMUP_DEPLOYMENT, 1, 60_000, components, api);
    const warmupMs = nowMs() - warmStart;
    progress(`warm-up Deployment available after ${fmt(warmupMs / 1000, 2)} s`);

    // Watches from the current lists, opened before the POST.
    const podList = await apiJson(client, "GET", PODS_PATH, undefined, [200]);
    const depList = await apiJson(client, "GET", DEPLOYMENTS_PATH, undefined, [200]);
    const created = new Set<string>();
    const bound = new Set<string>();
    const ready = new Set<string>();
    let t0 = Number.NaN;
    let firstPodAt = Number.NaN;
    let allCreatedAt = Number.NaN;
    let allBoundAt = Number.NaN;
    let allReadyAt = Number.NaN;
    let availableAt = Number.NaN;
    let available = 0;
    let watchProblem: string | undefined;
    const R = config.replicas;
    const podPrefix = `${DEPLOYMENT}-`;
    streams.push(openWatch(api.url, `${PODS_PATH}?watch=true&resourceVersion=${listResourceVersion(podList)}`, {
      line: (line, at) => {
        if (!line.includes(podPrefix)) return;
        const ev = asObject(JSON.parse(line));
        const pod = asObject(ev?.object);
        if (!pod || ev?.type === "DELETED") return;
        const name = nameOf(pod);
        if (!name.startsWith(podPrefix)) return;
        if (!created.has(name)) {
          created.add(name);
          if (created.size === 1) firstPodAt = at;
          if (created.size === R) allCreatedAt = at;
        }
        if (!bound.has(name) && podNodeName(pod)) {
          bound.add(name);
          if (bound.size === R) allBoundAt = at;
        }
        if (!ready.has(name) && isPodReady(pod)) {
          ready.add(name);
          if (ready.size === R) allReadyAt = at;
        }
      },
      ended: (reason) => { watchProblem = `pods: ${reason}`; },
    }));
    streams.push(openWatch(api.url, `${DEPLOYMENTS_PATH}?watch=true&resourceVersion=${listResourceVersion(depList)}`, {
      line: (line, at) => {
        if (eventType(line) === "ERROR") {
          watchProblem = `deployments: ${line.slice(0, 300)}`;
          return;
        }
        const d = asObject(asObject(JSON.parse(line))?.object);
        if (!d || nameOf(d) !== DEPLOYMENT) return;
        const a = asObject(d.status)?.availableReplicas;
        available = typeof a === "number" ? a : 0;
        if (available >= R && !Number.isFinite(availableAt)) availableAt = at;
      },
      ended: (reason) => { watchProblem = `deployments: ${reason}`; },
    }));
    await sleep(200);

    progress(`POST Deployment ${DEPLOYMENT} with ${R} replicas on ${config.deploymentNodes} nodes`);
    const requestsBefore = await apiRequestCounts(client);
    const cpu = new CpuMeter(pids);
    t0 = nowMs();
    await apiJson(client, "POST", DEPLOYMENTS_PATH, deploymentBody(DEPLOYMENT, R), [201]);
    const timeoutMs = config.quick ? 60_000 : Math.max(120_000, R * 120);
    const timeline: [number, number, number, number, number][] = [];
    const sampler = setInterval(() => {
      timeline.push([Math.round((nowMs() - t0) / 1000), created.size, bound.size, ready.size, available]);
    }, 1_000);
    let timedOut = false;
    try {
      await waitProgress(`Deployment ${DEPLOYMENT} available`, {
        done: () => Number.isFinite(availableAt),
        progressed: () => created.size + bound.size + ready.size + available,
        describe: () => `pods created ${created.size}, bound ${bound.size}, Ready ${ready.size}; availableReplicas ${available} of ${R}${watchProblem ? `; watch: ${watchProblem}` : ""}`,
        stallMs,
        timeoutMs,
        check: () => componentGone(components, api),
      });
    } catch (err) {
      if (!(err instanceof Stalled)) throw err;
      timedOut = true;
      progress(err.message);
    } finally {
      clearInterval(sampler);
    }
    const cpuCores = cpu.read();
    const requests = countsDelta(await apiRequestCounts(client), requestsBefore);
    const since = (at: number): number => at - t0;
    result.deployment = {
      replicas: R,
      nodes: config.deploymentNodes,
      nodesReadyMs,
      warmupMs,
      availableMs: since(availableAt),
      firstPodMs: since(firstPodAt),
      allCreatedMs: since(allCreatedAt),
      allBoundMs: since(allBoundAt),
      allReadyMs: since(allReadyAt),
      podsCreated: created.size,
      podsBound: bound.size,
      podsReady: ready.size,
      available,
      timedOut,
      cpuCores,
      rss: { scheduler: processMemory(scheduler.pid), "controller-manager": processMemory(cm.pid), apiserver: processMemory(api.pid), hollow: processMemory(hollow.pid) },
      timeline,
      requests,
    };
    progress(`Deployment available after ${fmt(result.deployment.availableMs / 1000, 2)} s`);
    if (timedOut) throw new ApiError(`Deployment not available: ${created.size} pods created, ${bound.size} bound, ${ready.size} Ready, availableReplicas ${available} of ${R}`);
  } finally {
    for (const s of streams) s.close();
    for (const c of components) collectErrors(result, c);
    const apiErrors = errorLines(api.logs());
    if (apiErrors.length > 0) result.componentErrors["apiserver (deployment cluster)"] = apiErrors;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Report

const MB = 1024 * 1024;

function cpuText(c: CpuCores, names: readonly string[]): string {
  return names.map((n) => fmt(c[n] ?? Number.NaN, 2)).join(" / ");
}

/** "2.01 total: 1.00 POST pods, 1.00 POST pods/binding, …", largest first; the /metrics scrape left out. */
function requestsText(requests: Record<string, number>, replicas: number): string {
  const entries = Object.entries(requests).filter(([k]) => k !== "GET ").sort((a, b) => b[1] - a[1]);
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  const per = (n: number): string => fmt(n / replicas, 2);
  return `${per(total)} total: ${entries.map(([k, n]) => `${per(n)} ${k}`).join(", ")}`;
}

function buildRows(r: BenchResult): ReportRow[] {
  const rows: ReportRow[] = [];
  const t = r.throughput;
  if (t) {
    const s = `1. throughput, ${t.nodes} nodes`;
    const k = t.creates;
    rows.push(
      { section: s, figure: "nodes Ready (hollow-nodes spawn → all Ready in a list)", value: `${fmt(t.nodesReadyMs / 1000, 1)} s` },
      { section: s, figure: `pod creates/s, ${r.config.concurrency} clients, no scheduler (reference)`, value: `${fmt(k.perSec, 0)} /s (${k.ok} pods, p50 ${fmt(k.latencyMs.p50, 0)} / p99 ${fmt(k.latencyMs.p99, 0)} ms)`, verdict: k.errors > 0 ? "MISS" : "n/a" },
    );
    if (k.errors > 0) rows.push({ section: s, figure: "failed creates", value: `${k.errors}: ${k.errorSamples[0] ?? ""}`.slice(0, 120), verdict: "MISS" });
    const run = t.schedule;
    if (run) {
      rows.push(
        { section: s, figure: `scheduled pods/s, --kube-api-qps=0 (spawn → all ${run.pods} bound)`, value: `${fmt(run.podsPerSec, 0)} /s (${fmt(run.elapsedMs / 1000, 2)} s)`, reference: "148/s (limits lifted)", target: "≥ 300/s", verdict: verdict(run.podsPerSec >= 300 && !run.timedOut, run.podsPerSec) },
        { section: s, figure: "ratio scheduled/s ÷ created/s", value: fmt(t.ratio, 2) },
        { section: s, figure: "spawn → first binding / first → last binding", value: `${fmt(run.firstBindingMs / 1000, 2)} s / ${fmt(run.bindingSpanMs / 1000, 2)} s (${fmt(run.steadyPodsPerSec, 0)} /s)` },
        { section: s, figure: "bound / pods; pods per node min–max", value: `${run.bound} / ${run.pods}; ${run.perNodeMin}–${run.perNodeMax}`, verdict: run.bound === run.pods ? "n/a" : "MISS" },
        { section: s, figure: "CPU cores: scheduler / apiserver / etcd / hollow / bench", value: cpuText(run.cpuCores, ["scheduler", "apiserver", "etcd", "hollow", "bench"]) },
      );
    }
    const sp = t.plugins;
    if (sp) {
      rows.push(
        { section: s, figure: `scheduled pods/s with PodTopologySpread + InterPodAffinity (spawn → all ${sp.schedule.pods} bound)`, value: `${fmt(sp.schedule.podsPerSec, 0)} /s (${fmt(sp.schedule.elapsedMs / 1000, 2)} s; steady ${fmt(sp.schedule.steadyPodsPerSec, 0)} /s)`, verdict: sp.schedule.bound === sp.schedule.pods ? "n/a" : "MISS" },
        { section: s, figure: "  ratio to the plain run above; pods per node min–max", value: `${fmt(sp.ratioToPlain, 2)}; ${sp.schedule.perNodeMin}–${sp.schedule.perNodeMax}` },
        { section: s, figure: "  CPU cores: scheduler / apiserver / etcd / hollow / bench", value: cpuText(sp.schedule.cpuCores, ["scheduler", "apiserver", "etcd", "hollow", "bench"]) },
      );
    }
    const d = t.defaultQps;
    if (d) {
      rows.push(
        { section: s, figure: `scheduled pods/s, default --kube-api-qps (${DEFAULT_SCHEDULER_QPS})`, value: `${fmt(d.schedule.podsPerSec, 0)} /s (${d.schedule.bound} of ${d.schedule.pods} in ${fmt(d.schedule.elapsedMs / 1000, 1)} s)`, reference: "51/s at QPS 50" },
        { section: s, figure: "  its reference creates/s; ratio", value: `${fmt(d.creates.perSec, 0)} /s; ${fmt(d.ratio, 2)}` },
      );
    }
  }
  const l = r.latency;
  if (l) {
    const s = `2. latency, ${l.pods} pods`;
    rows.push(
      { section: s, figure: `create rate (target ${l.targetRate}/s), scheduler running`, value: `${fmt(l.achievedRate, 0)} /s${l.createErrors ? `, ${l.createErrors} failed` : ""}`, verdict: l.createErrors ? "MISS" : "n/a" },
      { section: s, figure: "create acked → binding seen on watch, p50", value: `${fmt(l.ackToBoundMs.p50)} ms` },
      { section: s, figure: "create acked → binding seen on watch, p99", value: `${fmt(l.ackToBoundMs.p99)} ms` },
      { section: s, figure: "create sent → binding seen, p50 / p99 / max", value: `${fmt(l.sentToBoundMs.p50)} / ${fmt(l.sentToBoundMs.p99)} / ${fmt(l.sentToBoundMs.max)} ms` },
      { section: s, figure: "bound / created; bound before the 201 was read", value: `${l.bound} / ${l.pods - l.createErrors}; ${l.boundBeforeAck}`, verdict: l.bound === l.pods - l.createErrors ? "n/a" : "MISS" },
      { section: s, figure: "CPU cores: scheduler / apiserver / etcd / hollow / bench", value: cpuText(l.cpuCores, ["scheduler", "apiserver", "etcd", "hollow", "bench"]) },
    );
  }
  const m = r.memory;
  if (m.afterThroughput) {
    const s = "3. scheduler RSS";
    rows.push({
      section: s,
      figure: `at ${t?.nodes ?? "?"} nodes / ${m.podsAtThroughput} bound pods`,
      value: fmt(m.afterThroughput.rssBytes / MB, 0, "MB"),
      reference: "~200 MB",
      target: "≤ 150 MB",
      verdict: verdict(m.afterThroughput.rssBytes <= 150 * MB, m.afterThroughput.rssBytes),
    });
    if (m.afterLatency) rows.push({ section: s, figure: `after the latency pods (${m.podsAtLatency} pods)`, value: fmt(m.afterLatency.rssBytes / MB, 0, "MB") });
    const peak = m.afterLatency ?? m.afterThroughput;
    rows.push({ section: s, figure: "peak (VmHWM)", value: fmt(peak.peakRssBytes / MB, 0, "MB") });
  }
  const d = r.deployment;
  if (d) {
    const s = `4. Deployment ${d.replicas}×`;
    const sec = (ms: number): string => `${fmt(ms / 1000, 2)} s`;
    rows.push(
      { section: s, figure: `POST → availableReplicas = ${d.replicas} (${d.nodes} nodes)`, value: sec(d.availableMs), reference: "50 s (CM QPS 20); 18.5 s lifted", target: "≤ 4 s", verdict: verdict(d.availableMs <= 4_000 && !d.timedOut, d.availableMs) },
      { section: s, figure: "POST → first pod / all created / all bound / all Ready", value: `${sec(d.firstPodMs)} / ${sec(d.allCreatedMs)} / ${sec(d.allBoundMs)} / ${sec(d.allReadyMs)}` },
      ...(d.timeline.length > 0
        ? [{ section: s, figure: "pods created by second 1, 2, 3, …", value: d.timeline.slice(0, 20).map((p) => p[1]).join(" ") + (d.timeline.length > 20 ? " …" : "") } satisfies ReportRow,
           { section: s, figure: "availableReplicas by second 1, 2, 3, …", value: d.timeline.slice(0, 20).map((p) => p[4]).join(" ") + (d.timeline.length > 20 ? " …" : "") } satisfies ReportRow]
        : []),
      { section: s, figure: "apiserver requests per pod (POST → available; GET /metrics and the bench's own excluded)", value: requestsText(d.requests, d.replicas) },
      { section: s, figure: "pods created / bound / Ready; available", value: `${d.podsCreated} / ${d.podsBound} / ${d.podsReady}; ${d.available}`, verdict: d.available >= d.replicas ? "n/a" : "MISS" },
      { section: s, figure: "CPU cores: CM / scheduler / apiserver / etcd / hollow / bench", value: cpuText(d.cpuCores, ["controller-manager", "scheduler", "apiserver", "etcd", "hollow", "bench"]) },
      { section: s, figure: "RSS: CM / scheduler / apiserver / hollow", value: ["controller-manager", "scheduler", "apiserver", "hollow"].map((n) => fmt((d.rss[n]?.rssBytes ?? Number.NaN) / MB, 0)).join(" / ") + " MB" },
      { section: s, figure: "nodes Ready / 1-replica warm-up Deployment", value: `${sec(d.nodesReadyMs)} / ${sec(d.warmupMs)}` },
    );
  }
  for (const [phase, message] of Object.entries(r.errors)) {
    rows.push({ section: "errors", figure: phase, value: message.split("\n")[0]?.slice(0, 160) ?? "", verdict: "MISS" });
  }
  for (const [component, lines] of Object.entries(r.componentErrors)) {
    if (lines.length === 0) continue;
    rows.push({ section: "component logs", figure: `${component}: ${lines.length}${lines.length >= 5 ? "+" : ""} error-like lines; first`, value: (lines[0] ?? "").slice(0, 160) });
  }
  return rows;
}

function jsonSummary(r: BenchResult): unknown {
  const t = r.throughput;
  return roundDeep({
    bench: "scheduler",
    config: r.config,
    nodes: t?.nodes,
    podCreatesPerSec: t?.creates.perSec,
    scheduledPodsPerSec: t?.schedule?.podsPerSec,
    scheduledToCreatedRatio: t?.ratio,
    scheduledPodsPerSecDefaultQps: t?.defaultQps?.schedule.podsPerSec,
    scheduledPodsPerSecSpreadAffinity: t?.plugins?.schedule.podsPerSec,
    spreadAffinityToPlainRatio: t?.plugins?.ratioToPlain,
    schedulingLatencyP50Ms: r.latency?.ackToBoundMs.p50,
    schedulingLatencyP99Ms: r.latency?.ackToBoundMs.p99,
    schedulerRssMB: r.memory.afterThroughput ? r.memory.afterThroughput.rssBytes / MB : undefined,
    schedulerPeakRssMB: (r.memory.afterLatency ?? r.memory.afterThroughput)?.peakRssBytes !== undefined ? ((r.memory.afterLatency ?? r.memory.afterThroughput)?.peakRssBytes ?? Number.NaN) / MB : undefined,
    deploymentReplicas: r.deployment?.replicas,
    deploymentAvailableMs: r.deployment?.availableMs,
    details: { throughput: t, latency: r.latency, memory: r.memory, deployment: r.deployment, componentErrors: r.componentErrors },
    errors: r.errors,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Entry point

type PhaseRunner = (name: string, fn: () => Promise<void>) => Promise<boolean>;

/** Runs the scheduler benchmark; returns the process exit code. */
export async function runSchedulerBench(argv: readonly string[]): Promise<number> {
  const config = configOrExitCode(argv, schedulerBenchConfig, schedulerBenchUsage);
  if ("exitCode" in config) return config.exitCode;
  const disarmDeadline = armDeadline(config.deadlineSeconds, progress);

  const result: BenchResult = { config, memory: { podsAtThroughput: 0, podsAtLatency: 0 }, errors: {}, componentErrors: {} };
  const phase: PhaseRunner = async (name, fn) => {
    progress(`${name}…`);
    try {
      await fn();
      return true;
    } catch (err) {
      const message = errorMessage(err);
      result.errors[name] = message;
      progress(`${name} failed: ${message}`);
      return false;
    }
  };

  try {
    progress(`config ${JSON.stringify(config)}`);
    if (!config.skipThroughput) {
      await phase("throughput cluster", () => runThroughputCluster(config, result, phase));
      progress("stopping the throughput cluster");
      await runCleanups();
    }
    if (!config.skipDeployment) {
      await phase("deployment", () => runDeploymentCluster(config, result));
      progress("stopping the deployment cluster");
      await runCleanups();
    }
    process.stdout.write(`\n${renderTable(`kubelab scheduler bench${config.quick ? " (--quick)" : ""}`, buildRows(result))}\n\n`);
    process.stdout.write(`${jsonLine(jsonSummary(result))}\n`);
    return Object.keys(result.errors).length > 0 ? 1 : 0;
  } finally {
    disarmDeadline();
    await runCleanups();
  }
}
