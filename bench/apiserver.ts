// `npm run bench -- apiserver`: drives a real apiserver process on a real, throw-away etcd over loopback HTTP and
// prints, all measured in the same run: the raw etcd transaction rate, pod creates/s through the apiserver and
// its ratio to raw etcd, create latency, list latency at scale, watch fan-out, apiserver memory and start time.
// With KUBELAB_PEERS the real kube-apiserver, and with KUBELAB_APISERVER_BASELINE_MAIN a previous kubelab build, take
// the same create load, each on a fresh etcd of its own, and their ratios to this apiserver are printed.
import { Etcd3 } from "etcd3";
import { errorMessage } from "../api/errors.js";
import { formatTime } from "../api/time.js";
import { configOrExitCode, flagsHelp, parseFlags, type FlagSpec } from "./args.js";
import { armDeadline, CpuMeter, processCpuMs, processMemory, processTreeMemory, runCleanups, startBenchApiServer, startBenchEtcd, onCleanup, type BenchApiServer, type CpuCores, type ProcessMemory } from "./cluster.js";
import { startWatchFleet } from "./watch-fleet.js";
import { createClient, NodeHttpClient, runPool, statusMessage, type HttpClient } from "./http.js";
import { baselineApiServerMain, realApiServerPeers, startBaselineApiServer, startPlainApiServer, startRealApiServer, startSecureApiServer, type PeerApiServer } from "./peers.js";
import { fmt, fmtBytes, jsonLine, progress, renderTable, verdict, type ReportRow } from "./report.js";
import { median, nowMs, rate, roundDeep, Samples, wallMs, type LatencySummary } from "./stats.js";

// ---------------------------------------------------------------------------------------------------------------
// Flags and configuration

export const apiServerBenchFlags = {
  count: { type: "number", min: 1, help: "creates timed for both raw etcd and the apiserver (default 4000; --quick 300)" },
  concurrency: { type: "number", min: 1, help: "concurrent clients for the raw etcd and apiserver create runs (default 64)" },
  warmup: { type: "number", min: 0, help: "untimed creates before each timed create run (default 200; --quick 50)" },
  podsForList: { type: "number", min: 0, help: "pods in the namespace when lists are timed; 0 skips lists (default 10000; --quick 1000)" },
  listRuns: { type: "number", min: 1, help: "timed runs of each list; the median is reported (default 5; --quick 3)" },
  watchers: { type: "number", min: 0, help: "concurrent watch streams; 0 skips the watch figure (default 1000; --quick 100)" },
  configmaps: { type: "number", min: 1, help: "configmaps created while the watchers listen (default 200; --quick 50)" },
  watchCreateConcurrency: { type: "number", min: 1, help: "concurrent configmap creates during the watch figure (default 16)" },
  startRuns: { type: "number", min: 0, help: "second-apiserver starts timed on the loaded etcd; 0 skips (default 3; --quick 1)" },
  workers: { type: "number", min: 0, help: "also measure the secure apiserver with --workers=N beside the single-process one, alternating, and against the real one (default 2; 0 skips)" },
  rounds: { type: "number", min: 1, help: "alternated rounds of create runs: ours / the real kube-apiserver, and secure --workers=1 / --workers=N (default 2; --quick 1)" },
  client: { type: "string", choices: ["http", "fetch"], help: "HTTP client for API calls: node:http keep-alive agent, or fetch (default http)" },
  deadline: { type: "number", min: 10, help: "abort (and clean up) after this many seconds (default 900; --quick 120)" },
  quick: { type: "boolean", help: "small numbers for a smoke run (< 30 s)" },
  help: { type: "boolean", help: "print this help" },
} satisfies Record<string, FlagSpec>;

export interface ApiServerBenchConfig {
  count: number;
  concurrency: number;
  warmup: number;
  podsForList: number;
  listRuns: number;
  watchers: number;
  configmaps: number;
  watchCreateConcurrency: number;
  startRuns: number;
  workers: number;
  rounds: number;
  client: "http" | "fetch";
  deadlineSeconds: number;
  quick: boolean;
}

export function apiServerBenchConfig(argv: readonly string[]): ApiServerBenchConfig | "help" {
  const f = parseFlags(apiServerBenchFlags, argv);
  if (f.help) return "help";
  const quick = f.quick ?? false;
  return {
    count: f.count ?? (quick ? 300 : 4000),
    concurrency: f.concurrency ?? 64,
    warmup: f.warmup ?? (quick ? 50 : 200),
    podsForList: f.podsForList ?? (quick ? 1000 : 10_000),
    listRuns: f.listRuns ?? (quick ? 3 : 5),
    watchers: f.watchers ?? (quick ? 100 : 1000),
    configmaps: f.configmaps ?? (quick ? 50 : 200),
    watchCreateConcurrency: f.watchCreateConcurrency ?? 16,
    startRuns: f.startRuns ?? (quick ? 1 : 3),
    workers: f.workers ?? 2,
    rounds: f.rounds ?? (quick ? 1 : 2),
    client: f.client === "fetch" ? "fetch" : "http",
    deadlineSeconds: f.deadline ?? (quick ? 120 : 900),
    quick,
  };
}

export function apiServerBenchUsage(): string {
  return `usage: npm run bench -- apiserver [flags]\n\n${flagsHelp(apiServerBenchFlags)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Payloads

const NAMESPACE = "default";
const WATCH_NAMESPACE = "bench-watch";
const SENT_AT_KEY = "benchSentAtMs";

/** The small valid pod the clients POST. */
function podBody(name: string): string {
  return `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"${name}"},"spec":{"containers":[{"name":"c","image":"nginx"}]}}`;
}

/**
 * What a stored, defaulted pod looks like (about 1 KB): the value of the raw etcd transactions, so that raw
 * etcd writes a value of the size the apiserver writes.
 */
function storedPodValue(name: string, index: number): string {
  const uid = `00000000-0000-4000-8000-${index.toString(16).padStart(12, "0")}`;
  return JSON.stringify({
    kind: "Pod",
    apiVersion: "v1",
    metadata: { name, namespace: NAMESPACE, uid, creationTimestamp: formatTime(Date.now()) },
    spec: {
      volumes: [{ name: "kube-api-access", projected: { sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: "token" } }], defaultMode: 420 } }],
      containers: [{ name: "c", image: "nginx", resources: {}, terminationMessagePath: "/dev/termination-log", terminationMessagePolicy: "File", imagePullPolicy: "Always" }],
      restartPolicy: "Always",
      terminationGracePeriodSeconds: 30,
      dnsPolicy: "ClusterFirst",
      serviceAccountName: "default",
      serviceAccount: "default",
      securityContext: {},
      schedulerName: "default-scheduler",
      tolerations: [
        { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
        { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 },
      ],
      priority: 0,
      enableServiceLinks: true,
      preemptionPolicy: "PreemptLowerPriority",
    },
    status: { phase: "Pending", qosClass: "BestEffort" },
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Results

interface RawEtcdRun {
  count: number;
  concurrency: number;
  valueBytes: number;
  elapsedMs: number;
  txnPerSec: number;
  failed: number;
  latencyMs: LatencySummary;
  /** CPU cores used during the timed run: etcd, apiserver (idle here), bench. */
  cpuCores: CpuCores;
}

/** Raw etcd is measured before and after the apiserver creates; their mean is what the creates compare to. */
interface RawEtcdResult {
  txnPerSec: number;
  before: RawEtcdRun;
  after?: RawEtcdRun;
}

interface CreateResult {
  client: string;
  count: number;
  concurrency: number;
  ok: number;
  errors: number;
  errorSamples: string[];
  elapsedMs: number;
  createsPerSec: number;
  ratioToEtcd: number;
  latencyMs: LatencySummary;
  storedPodBytes: number;
  /** CPU cores used during the timed run: apiserver, etcd, bench (the HTTP clients). */
  cpuCores: CpuCores;
}

interface ListTiming {
  runsMs: number[];
  medianMs: number;
  bytes: number;
  items: number;
  pages: number;
}

interface ListResult {
  pods: number;
  fillPerSec: number;
  consistent: ListTiming;
  cache: ListTiming;
  paginated: ListTiming & { pageLimit: number };
}

interface WatchResult {
  watchers: number;
  established: number;
  establishMs: number;
  configmaps: number;
  createConcurrency: number;
  expectedEvents: number;
  delivered: number;
  completeWatchers: number;
  endedEarly: number;
  errorSamples: string[];
  elapsedMs: number;
  eventsPerSec: number;
  latencyMs: LatencySummary;
  timedOut: boolean;
  /** CPU cores used from the first configmap create until delivery ended: apiserver, etcd, bench, watchers (the child). */
  cpuCores: CpuCores;
  /** RSS of the child process holding the watchers at the end of the figure. */
  benchRssBytes: number;
}

interface StartResult {
  firstMs: number;
  runsMs: number[];
  medianMs: number;
  podsInEtcd: number;
  /** The apiserver's own CPU time (user + system) from spawn to ready: the start-up figure a loaded machine moves least. */
  firstCpuMs: number;
  runsCpuMs: number[];
  medianCpuMs: number;
  /** RSS right at ready. */
  firstRssBytes: number;
  runsRssBytes: number[];
  medianRssBytes: number;
}

interface MemoryResult {
  idle: ProcessMemory;
  afterCreatesAndLists: ProcessMemory;
  withWatchers: ProcessMemory;
  end: ProcessMemory;
}

/** The same raw etcd and create figures for another apiserver, on a fresh etcd of its own. */
interface SideBySideResult {
  server: string;
  startupMs: number;
  rawEtcd: RawEtcdResult;
  creates: CreateResult;
  /** Resident memory of the server's processes (all its workers) right after the creates. */
  rss?: ProcessMemory;
}

interface BenchResult {
  config: ApiServerBenchConfig;
  rawEtcd?: RawEtcdResult;
  creates?: CreateResult;
  /** The real kube-apiserver, or why it was not measured. */
  real?: SideBySideResult | { notMeasured: string };
  /**
   * This build (plain HTTP, as figure 2) and the real kube-apiserver, each on a fresh etcd, in config.rounds
   * alternated pairs: one pair swings ±15 % on a shared 2-core machine, the median of their ratios much less.
   */
  realRounds?: { ours: SideBySideResult; real: SideBySideResult }[];
  /** A previous kubelab build (KUBELAB_APISERVER_BASELINE_MAIN): the regression check. */
  baseline?: SideBySideResult | { notMeasured: string };
  /** This build over TLS with a token and Node,RBAC: what security costs per create. */
  secure?: SideBySideResult | { notMeasured: string };
  /** Secure, --workers=1 and --workers=N, measured alternately (config.rounds pairs): what N workers buy. */
  workerRounds?: { single: SideBySideResult; workers: SideBySideResult; real?: SideBySideResult }[];
  lists?: ListResult;
  watch?: WatchResult;
  /** The same fan-out on the baseline build (KUBELAB_APISERVER_BASELINE_MAIN), on a fresh etcd, right after ours. */
  baselineWatch?: WatchResult | { notMeasured: string };
  start?: StartResult;
  memory: Partial<MemoryResult>;
  errors: Record<string, string>;
}

// ---------------------------------------------------------------------------------------------------------------
// Phases

class ApiError extends Error {}

const REAL_SERVER = "kube-apiserver v1.26.1 (KUBELAB_PEERS), TLS + token";

async function expectStatus(client: HttpClient, method: string, path: string, body: string | undefined, accepted: readonly number[]): Promise<string> {
  const res = await client.request(method, path, body);
  if (!accepted.includes(res.status)) throw new ApiError(`${method} ${path} → ${res.status}: ${statusMessage(res.body)}`);
  return res.body;
}

async function measureRawEtcd(etcd: Etcd3, config: ApiServerBenchConfig, label: string, pids: Pids): Promise<RawEtcdRun> {
  const prefix = `/bench-raw/${label}/pods/default/`;
  let failed = 0;
  const txn = async (name: string, index: number): Promise<void> => {
    const result = await etcd.if(prefix + name, "Create", "==", 0).then(etcd.put(prefix + name).value(storedPodValue(name, index))).commit();
    if (!result.succeeded) failed++;
  };
  await runPool(config.warmup, config.concurrency, (i) => txn(`warm-${i}`, i));
  failed = 0;
  const latency = new Samples(config.count);
  const cpu = new CpuMeter(pids);
  const started = nowMs();
  await runPool(config.count, config.concurrency, async (i) => {
    const t0 = nowMs();
    await txn(`pod-${i}`, i);
    latency.add(nowMs() - t0);
  });
  const elapsedMs = nowMs() - started;
  const cpuCores = cpu.read();
  return {
    count: config.count,
    concurrency: config.concurrency,
    valueBytes: Buffer.byteLength(storedPodValue("pod-0", 0)),
    elapsedMs,
    txnPerSec: rate(config.count - failed, elapsedMs),
    failed,
    latencyMs: latency.summary(),
    cpuCores,
  };
}

/** Processes whose CPU use the figures report. */
type Pids = Record<"apiserver" | "etcd", number>;

interface CreateRun {
  ok: number;
  errors: number;
  errorSamples: string[];
  elapsedMs: number;
  latency: Samples;
}

/** POSTs pods named `${prefix}${i}` for i in [from, to) with `concurrency` clients. */
async function createPods(client: HttpClient, prefix: string, from: number, to: number, concurrency: number): Promise<CreateRun> {
  const path = `/api/v1/namespaces/${NAMESPACE}/pods`;
  const run: CreateRun = { ok: 0, errors: 0, errorSamples: [], elapsedMs: 0, latency: new Samples(Math.max(16, to - from)) };
  const maxErrors = Math.max(50, Math.ceil((to - from) / 10));
  const started = nowMs();
  await runPool(to - from, concurrency, async (i) => {
    const body = podBody(`${prefix}${from + i}`);
    const t0 = nowMs();
    let problem: string | undefined;
    try {
      const res = await client.request("POST", path, body);
      if (res.status === 201) {
        run.ok++;
        run.latency.add(nowMs() - t0);
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
  run.elapsedMs = nowMs() - started;
  return run;
}

/**
 * Creates the `default` ServiceAccount the ServiceAccount admission plugin looks up for every pod (no
 * controller-manager runs here to make it), so that each apiserver does that plugin's work on every create.
 */
async function ensureServiceAccount(client: HttpClient): Promise<void> {
  const body = JSON.stringify({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default" } });
  await expectStatus(client, "POST", `/api/v1/namespaces/${NAMESPACE}/serviceaccounts`, body, [201, 409]);
}

async function measureCreates(client: HttpClient, etcd: Etcd3, config: ApiServerBenchConfig, pids: Pids): Promise<CreateResult> {
  await ensureServiceAccount(client);
  const warm = await createPods(client, "warm-", 0, config.warmup, config.concurrency);
  if (warm.errors > 0) progress(`warm-up creates: ${warm.errors} failed (${warm.errorSamples.join(" | ")})`);
  const cpu = new CpuMeter(pids);
  const run = await createPods(client, "bench-", 0, config.count, config.concurrency);
  const cpuCores = cpu.read();
  const stored = await etcd.get(`/registry/pods/${NAMESPACE}/bench-0`).buffer();
  const createsPerSec = rate(run.ok, run.elapsedMs);
  return {
    client: client.kind,
    count: config.count,
    concurrency: config.concurrency,
    ok: run.ok,
    errors: run.errors,
    errorSamples: run.errorSamples,
    elapsedMs: run.elapsedMs,
    createsPerSec,
    ratioToEtcd: Number.NaN, // set once raw etcd has been measured after the creates too
    latencyMs: run.latency.summary(),
    storedPodBytes: stored ? stored.length : Number.NaN,
    cpuCores,
  };
}

/** The continue token of a list body, read from the list metadata before "items" without parsing it all. */
function continueToken(body: string): string {
  const itemsAt = body.indexOf('"items"');
  const head = itemsAt >= 0 ? body.slice(0, itemsAt) : "";
  const m = /"continue"\s*:\s*"([^"]*)"/.exec(head);
  if (m) return m[1] ?? "";
  if (itemsAt >= 0 && !head.includes('"continue"') && head.includes('"metadata"')) return "";
  // Metadata after the items, or an unusual shape: parse it all.
  const parsed = parseList(body);
  return parsed.continue;
}

function parseList(body: string): { items: number; continue: string; resourceVersion: string } {
  const parsed: unknown = JSON.parse(body);
  if (!parsed || typeof parsed !== "object") throw new ApiError("list response is not an object");
  const items = "items" in parsed && Array.isArray(parsed.items) ? parsed.items.length : Number.NaN;
  let cont = "";
  let rv = "";
  if ("metadata" in parsed && parsed.metadata && typeof parsed.metadata === "object") {
    const md = parsed.metadata;
    if ("continue" in md && typeof md.continue === "string") cont = md.continue;
    if ("resourceVersion" in md && typeof md.resourceVersion === "string") rv = md.resourceVersion;
  }
  return { items, continue: cont, resourceVersion: rv };
}

async function timeFullList(client: HttpClient, query: string): Promise<{ ms: number; bytes: number; body: string }> {
  const path = `/api/v1/namespaces/${NAMESPACE}/pods${query}`;
  const t0 = nowMs();
  const res = await client.request("GET", path, undefined, 120_000);
  const ms = nowMs() - t0;
  if (res.status !== 200) throw new ApiError(`GET ${path} → ${res.status}: ${statusMessage(res.body)}`);
  return { ms, bytes: res.bytes, body: res.body };
}

async function timePaginatedList(client: HttpClient, limit: number): Promise<{ ms: number; bytes: number; pages: number; bodies: string[] }> {
  const base = `/api/v1/namespaces/${NAMESPACE}/pods?limit=${limit}`;
  const bodies: string[] = [];
  let bytes = 0;
  let token = "";
  const t0 = nowMs();
  for (let page = 0; page < 100_000; page++) {
    const path = token ? `${base}&continue=${encodeURIComponent(token)}` : base;
    const res = await client.request("GET", path, undefined, 120_000);
    if (res.status !== 200) throw new ApiError(`GET ${path} → ${res.status}: ${statusMessage(res.body)}`);
    bytes += res.bytes;
    bodies.push(res.body);
    token = continueToken(res.body);
    if (!token) break;
  }
  return { ms: nowMs() - t0, bytes, pages: bodies.length, bodies };
}

async function measureLists(client: HttpClient, etcd: Etcd3, config: ApiServerBenchConfig): Promise<ListResult> {
  const podsPrefix = `/registry/pods/${NAMESPACE}/`;
  const existing = await etcd.getAll().prefix(podsPrefix).count();
  let fillPerSec = Number.NaN;
  if (existing < config.podsForList) {
    progress(`creating ${config.podsForList - existing} more pods for the list figures`);
    const fill = await createPods(client, "list-", 0, config.podsForList - existing, config.concurrency);
    if (fill.errors > 0) progress(`list fill: ${fill.errors} creates failed (${fill.errorSamples.join(" | ")})`);
    fillPerSec = rate(fill.ok, fill.elapsedMs);
  }
  // What the lists must return: every pod in the namespace, as etcd holds them.
  const pods = await etcd.getAll().prefix(podsPrefix).count();
  const pageLimit = 500;
  const consistent: ListTiming = { runsMs: [], medianMs: Number.NaN, bytes: 0, items: 0, pages: 1 };
  const cache: ListTiming = { runsMs: [], medianMs: Number.NaN, bytes: 0, items: 0, pages: 1 };
  const paginated: ListTiming & { pageLimit: number } = { runsMs: [], medianMs: Number.NaN, bytes: 0, items: 0, pages: 0, pageLimit };
  for (let run = 0; run < config.listRuns; run++) {
    const full = await timeFullList(client, "");
    consistent.runsMs.push(full.ms);
    consistent.bytes = full.bytes;
    if (run === 0) consistent.items = parseList(full.body).items;

    const cached = await timeFullList(client, "?resourceVersion=0");
    cache.runsMs.push(cached.ms);
    cache.bytes = cached.bytes;
    if (run === 0) cache.items = parseList(cached.body).items;

    const paged = await timePaginatedList(client, pageLimit);
    paginated.runsMs.push(paged.ms);
    paginated.bytes = paged.bytes;
    paginated.pages = paged.pages;
    if (run === 0) paginated.items = paged.bodies.reduce((n, b) => n + parseList(b).items, 0);
  }
  for (const t of [consistent, cache, paginated]) t.medianMs = median(t.runsMs);
  return { pods, fillPerSec, consistent, cache, paginated };
}

async function measureWatch(client: HttpClient, api: Pick<BenchApiServer, "url" | "pid">, config: ApiServerBenchConfig, memory: Partial<MemoryResult>, pids: Pids): Promise<WatchResult> {
  await expectStatus(client, "POST", "/api/v1/namespaces", JSON.stringify({ apiVersion: "v1", kind: "Namespace", metadata: { name: WATCH_NAMESPACE } }), [200, 201, 409]);
  const collection = `/api/v1/namespaces/${WATCH_NAMESPACE}/configmaps`;
  const listBody = await expectStatus(client, "GET", collection, undefined, [200]);
  const rv = parseList(listBody).resourceVersion;
  if (!rv) throw new ApiError(`GET ${collection} returned no metadata.resourceVersion`);

  const total = config.watchers;
  const expectedPerWatcher = config.configmaps;
  const errorSamples: string[] = [];
  const fleet = startWatchFleet({ baseUrl: api.url, path: `${collection}?watch=true&resourceVersion=${encodeURIComponent(rv)}`, total, expectedPerWatcher, markerKey: SENT_AT_KEY });
  const unregister = onCleanup("watchers", () => { fleet.stop(); });

  try {
    progress(`opening ${total} watchers (in a child process, pid ${fleet.pid})`);
    const { established, establishMs } = await fleet.established;
    if (established < total) progress(`only ${established} of ${total} watchers got response headers within 5 s per batch; continuing`);
    await sleep(200);
    memory.withWatchers = processMemory(api.pid);

    progress(`creating ${config.configmaps} configmaps with ${total} watchers listening`);
    const cpu = new CpuMeter({ ...pids, watchers: fleet.pid });
    const started = wallMs();
    const createErrors: string[] = [];
    await runPool(config.configmaps, config.watchCreateConcurrency, async (i) => {
      const body = JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `cm-${i}` }, data: { [SENT_AT_KEY]: String(wallMs()) } });
      const res = await client.request("POST", collection, body);
      if (res.status !== 201 && createErrors.length < 5) createErrors.push(`${res.status}: ${statusMessage(res.body)}`);
    });
    if (createErrors.length > 0) {
      for (const e of createErrors) if (errorSamples.length < 5) errorSamples.push(`configmap create ${e}`);
      progress(`configmap creates failed: ${createErrors.join(" | ")}`);
    }
    const waitMs = Math.max(15_000, config.configmaps * total * 0.05);
    const timedOut = !(await Promise.race([fleet.complete.then(() => true), sleep(waitMs).then(() => false)]));
    const cpuCores = cpu.read();
    const report = await fleet.report();
    if (timedOut) progress(`not every watcher saw every event within ${Math.round(waitMs / 1000)} s (${report.delivered} of ${total * expectedPerWatcher} delivered)`);
    for (const e of report.errorSamples) if (errorSamples.length < 5) errorSamples.push(e);
    const endAt = timedOut ? wallMs() : report.lastDeliveryAt;
    const elapsedMs = endAt - started;
    return {
      watchers: total,
      established,
      establishMs,
      configmaps: config.configmaps,
      createConcurrency: config.watchCreateConcurrency,
      expectedEvents: total * expectedPerWatcher,
      delivered: report.delivered,
      completeWatchers: report.completeWatchers,
      endedEarly: report.endedEarly,
      errorSamples,
      elapsedMs,
      eventsPerSec: rate(report.delivered, elapsedMs),
      latencyMs: report.latencyMs,
      timedOut,
      cpuCores,
      benchRssBytes: report.rssBytes,
    };
  } finally {
    await unregister();
  }
}

/**
 * Raw etcd, pod creates, raw etcd again — the figures 1 and 2 — for another apiserver started by `start` on a fresh
 * etcd of its own; both are stopped and removed afterwards.
 */
async function measureSideBySide(name: string, config: ApiServerBenchConfig, start: (etcdEndpoint: string) => Promise<PeerApiServer>): Promise<SideBySideResult> {
  const etcd = await startBenchEtcd();
  const etcdClient = new Etcd3({ hosts: etcd.endpoint });
  let server: PeerApiServer | undefined;
  let client: NodeHttpClient | undefined;
  try {
    server = await start(etcd.endpoint);
    client = new NodeHttpClient(server.url, config.concurrency, server.token);
    const pids: Pids = { apiserver: server.process.pid, etcd: etcd.process.pid ?? -1 };
    const before = await measureRawEtcd(etcdClient, config, "before", pids);
    const creates = await measureCreates(client, etcdClient, config, pids);
    const after = await measureRawEtcd(etcdClient, config, "after", pids);
    const rawEtcd: RawEtcdResult = { txnPerSec: (before.txnPerSec + after.txnPerSec) / 2, before, after };
    creates.ratioToEtcd = creates.createsPerSec / rawEtcd.txnPerSec;
    return { server: name, startupMs: server.startupMs, rawEtcd, creates, rss: processTreeMemory(server.process.pid) };
  } finally {
    client?.close();
    await server?.process.stop("SIGKILL");
    etcdClient.close();
    await etcd.destroy();
  }
}

/** The watch fan-out figure on the baseline build, on a fresh etcd of its own. */
async function measureBaselineWatch(main: string, config: ApiServerBenchConfig): Promise<WatchResult> {
  const etcd = await startBenchEtcd();
  let server: PeerApiServer | undefined;
  let client: NodeHttpClient | undefined;
  try {
    server = await startBaselineApiServer(main, etcd.endpoint);
    client = new NodeHttpClient(server.url, config.concurrency, server.token);
    const pid = server.process.pid;
    return await measureWatch(client, { url: server.url, pid }, config, {}, { apiserver: pid, etcd: etcd.process.pid ?? -1 });
  } finally {
    client?.close();
    await server?.process.stop("SIGKILL");
    await etcd.destroy();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------------------------------------------
// Report

const MB = 1024 * 1024;

/** The apiserver's CPU time per event delivered to one watcher, µs. */
function cpuPerDeliveredUs(w: WatchResult): number {
  return ((w.cpuCores.apiserver ?? Number.NaN) * w.elapsedMs * 1000) / w.delivered;
}

function cores(c: CpuCores): string {
  return `${fmt(c.apiserver ?? Number.NaN, 2)} / ${fmt(c.etcd ?? Number.NaN, 2)} / ${fmt(c.bench ?? Number.NaN, 2)}`;
}

function buildRows(r: BenchResult): ReportRow[] {
  const rows: ReportRow[] = [];
  const c = r.config;
  if (r.rawEtcd) {
    const e = r.rawEtcd;
    const b = e.before;
    const a = e.after;
    rows.push(
      { section: "1. raw etcd", figure: `create-if-absent txns, ${b.concurrency} workers`, value: `${fmt(e.txnPerSec, 0)} txn/s${a ? " (mean of before/after)" : ""}` },
      { section: "1. raw etcd", figure: "before / after the apiserver creates", value: `${fmt(b.txnPerSec, 0)} / ${a ? fmt(a.txnPerSec, 0) : "—"} txn/s` },
      { section: "1. raw etcd", figure: "txn latency p50 / p99 (before)", value: `${fmt(b.latencyMs.p50)} / ${fmt(b.latencyMs.p99)} ms` },
      { section: "1. raw etcd", figure: "CPU cores: apiserver / etcd / bench", value: cores(b.cpuCores) },
      { section: "1. raw etcd", figure: "etcd / etcd3 client CPU per txn", value: `${fmt(((b.cpuCores.etcd ?? Number.NaN) * b.elapsedMs) / b.count, 2)} / ${fmt(((b.cpuCores.bench ?? Number.NaN) * b.elapsedMs) / b.count, 2)} ms` },
      { section: "1. raw etcd", figure: "txns per run / value size", value: `${b.count} / ${fmtBytes(b.valueBytes)}${b.failed || a?.failed ? ` (${b.failed + (a?.failed ?? 0)} not created)` : ""}` },
    );
  }
  if (r.creates) {
    const k = r.creates;
    rows.push(
      { section: "2. pod creates", figure: `creates/s, ${k.concurrency} clients (${k.client})`, value: `${fmt(k.createsPerSec, 0)} /s`, reference: "700–880/s" },
      { section: "2. pod creates", figure: "ratio to raw etcd", value: fmt(k.ratioToEtcd, 2), reference: "0.56–0.58", target: "≥ 0.7", verdict: verdict(k.ratioToEtcd >= 0.7 && k.errors === 0, k.ratioToEtcd) },
      { section: "2. pod creates", figure: "create latency p50", value: `${fmt(k.latencyMs.p50)} ms`, reference: "64–80 ms", target: "< 64 ms", verdict: verdict(k.latencyMs.p50 < 64, k.latencyMs.p50) },
      { section: "2. pod creates", figure: "create latency p99", value: `${fmt(k.latencyMs.p99)} ms`, reference: "214–306 ms", target: "< 214 ms", verdict: verdict(k.latencyMs.p99 < 214, k.latencyMs.p99) },
      { section: "2. pod creates", figure: "created / failed", value: `${k.ok} / ${k.errors}`, verdict: k.errors > 0 ? "MISS" : "n/a" },
      { section: "2. pod creates", figure: "stored pod size in etcd", value: fmtBytes(k.storedPodBytes) },
      { section: "2. pod creates", figure: "CPU cores: apiserver / etcd / bench", value: cores(k.cpuCores) },
      { section: "2. pod creates", figure: "apiserver CPU per create", value: `${fmt(((k.cpuCores.apiserver ?? Number.NaN) * k.elapsedMs) / k.ok, 2)} ms` },
    );
  }
  // With alternated rounds, the verdict is theirs; the single run against figure 2's server is shown beside.
  rows.push(...sideBySideRows("2b. real kube-apiserver", "ours ÷ real", r.creates, r.real, r.realRounds?.length ? "(one run; see the rounds)" : "≥ 1.25"));
  rows.push(...realRoundRows(r));
  rows.push(...sideBySideRows("2c. regression check", "ours ÷ baseline", r.creates, r.baseline, "≥ 1.0"));
  rows.push(...sideBySideRows("2d. kubelab secure", "plain HTTP ÷ secure", r.creates, r.secure, "(informative)"));
  rows.push(...workerRows(r));
  if (r.lists) {
    const l = r.lists;
    const itemsNote = (t: ListTiming): string => (t.items === l.pods ? "" : ` (${t.items} items!)`);
    const s = `3. list ${l.pods} pods`;
    rows.push(
      { section: s, figure: "GET …/pods (consistent read)", value: `${fmt(l.consistent.medianMs)} ms, ${fmtBytes(l.consistent.bytes)}${itemsNote(l.consistent)}`, verdict: l.consistent.items === l.pods ? "n/a" : "MISS" },
      { section: s, figure: "GET …/pods?resourceVersion=0 (cache)", value: `${fmt(l.cache.medianMs)} ms, ${fmtBytes(l.cache.bytes)}${itemsNote(l.cache)}`, verdict: l.cache.items === l.pods ? "n/a" : "MISS" },
      { section: s, figure: `GET …/pods?limit=${l.paginated.pageLimit} + continue (kubectl)`, value: `${fmt(l.paginated.medianMs)} ms, ${l.paginated.pages} pages, ${fmtBytes(l.paginated.bytes)}${itemsNote(l.paginated)}`, verdict: l.paginated.items === l.pods ? "n/a" : "MISS" },
      { section: s, figure: `median of`, value: `${c.listRuns} runs each` },
    );
    if (Number.isFinite(l.fillPerSec)) rows.push({ section: s, figure: "fill creates/s (untimed figure)", value: `${fmt(l.fillPerSec, 0)} /s` });
  }
  if (r.watch) {
    const w = r.watch;
    const s = `4. watch ${w.watchers}×`;
    rows.push(
      { section: s, figure: `events/s to all watchers (${w.configmaps} configmaps)`, value: `${fmt(w.eventsPerSec, 0)} /s` },
      { section: s, figure: "delivery latency p50", value: `${fmt(w.latencyMs.p50)} ms` },
      { section: s, figure: "delivery latency p99", value: `${fmt(w.latencyMs.p99)} ms`, reference: "one etcd watch feeds all", target: "≤ 200 ms", verdict: verdict(w.latencyMs.p99 <= 200 && !w.timedOut, w.latencyMs.p99) },
      { section: s, figure: "delivered / expected", value: `${w.delivered} / ${w.expectedEvents}${w.timedOut ? " (timed out)" : ""}`, verdict: w.delivered === w.expectedEvents ? "n/a" : "MISS" },
      { section: s, figure: "CPU cores: apiserver / etcd / bench / watchers", value: `${cores(w.cpuCores)} / ${fmt(w.cpuCores.watchers ?? Number.NaN, 2)}; watchers' process RSS ${fmt(w.benchRssBytes / MB, 0, "MB")}` },
      { section: s, figure: "apiserver CPU per delivered event", value: `${fmt(cpuPerDeliveredUs(w), 1)} µs` },
      { section: s, figure: "watchers established", value: `${w.established} / ${w.watchers} in ${fmt(w.establishMs, 0)} ms${w.endedEarly ? `, ${w.endedEarly} ended early` : ""}` },
    );
  }
  if (r.baselineWatch && "notMeasured" in r.baselineWatch) {
    rows.push({ section: "4b. watch regression", figure: "not measured", value: r.baselineWatch.notMeasured });
  } else if (r.baselineWatch && r.watch) {
    // Ours and the baseline build under the same watchers and creates, one right after the other: the CPU each spends
    // per delivered event is the figure a loaded machine moves least.
    const b = r.baselineWatch;
    const ratio = cpuPerDeliveredUs(r.watch) / cpuPerDeliveredUs(b);
    rows.push(
      { section: "4b. watch regression", figure: "baseline CPU per delivered event", value: `${fmt(cpuPerDeliveredUs(b), 1)} µs (ours ${fmt(cpuPerDeliveredUs(r.watch), 1)} µs)` },
      { section: "4b. watch regression", figure: "baseline delivery latency p50 / p99", value: `${fmt(b.latencyMs.p50)} / ${fmt(b.latencyMs.p99)} ms (ours ${fmt(r.watch.latencyMs.p50)} / ${fmt(r.watch.latencyMs.p99)} ms)` },
      { section: "4b. watch regression", figure: "ours ÷ baseline, CPU per delivered event", value: fmt(ratio, 2), target: "≤ 1.1", verdict: verdict(ratio <= 1.1, ratio) },
    );
  }
  const m = r.memory;
  const rss = (p: ProcessMemory | undefined): string => (p ? fmt(p.rssBytes / MB, 0, "MB") : "—");
  const fullSizeWatch = r.config.podsForList >= 10_000 && r.config.watchers >= 1_000;
  rows.push(
    { section: "apiserver RSS", figure: "idle after start", value: rss(m.idle), reference: "~260 MB", target: "≤ 100 MB", verdict: m.idle ? verdict(m.idle.rssBytes <= 100 * MB, m.idle.rssBytes) : "n/a" },
    { section: "apiserver RSS", figure: "after creates + lists", value: rss(m.afterCreatesAndLists), reference: "340–630 MB under load" },
    // The issue's memory target holds for the full-size figure: 10k pods in the cache and 1,000 watchers open.
    fullSizeWatch
      ? { section: "apiserver RSS", figure: `with ${r.config.podsForList} pods and ${r.config.watchers} watchers open`, value: rss(m.withWatchers), target: "≤ 300 MB", verdict: m.withWatchers ? verdict(m.withWatchers.rssBytes <= 300 * MB, m.withWatchers.rssBytes) : "n/a" }
      : { section: "apiserver RSS", figure: `with ${r.config.podsForList} pods and ${r.config.watchers} watchers open`, value: rss(m.withWatchers) },
    { section: "apiserver RSS", figure: "at the end / peak (VmHWM)", value: `${rss(m.end)} / ${m.end ? fmt(m.end.peakRssBytes / MB, 0, "MB") : "—"}` },
  );
  if (r.start) {
    const st = r.start;
    rows.push(
      { section: "5. start → /readyz", figure: "first apiserver, empty etcd", value: `${fmt(st.firstMs / 1000, 2)} s`, reference: "2.6–3.5 s", target: "≤ 0.5 s", verdict: verdict(st.firstMs <= 500, st.firstMs) },
      { section: "5. start → /readyz", figure: "  its CPU time / RSS at ready", value: `${fmt(st.firstCpuMs, 0, "ms")} / ${fmt(st.firstRssBytes / MB, 0, "MB")}` },
      ...(st.runsMs.length > 0
        ? [
            { section: "5. start → /readyz", figure: `second apiserver, ${st.podsInEtcd} pods in etcd (median of ${st.runsMs.length})`, value: `${fmt(st.medianMs / 1000, 2)} s`, reference: "2.6–3.5 s", target: "≤ 0.5 s", verdict: verdict(st.medianMs <= 500, st.medianMs) } satisfies ReportRow,
            { section: "5. start → /readyz", figure: "  its CPU time / RSS at ready (medians)", value: `${fmt(st.medianCpuMs, 0, "ms")} / ${fmt(st.medianRssBytes / MB, 0, "MB")}` } satisfies ReportRow,
          ]
        : []),
    );
  }
  for (const [phase, message] of Object.entries(r.errors)) {
    rows.push({ section: "errors", figure: phase, value: message.split("\n")[0]?.slice(0, 160) ?? "", verdict: "MISS" });
  }
  return rows;
}

function cpuPerCreateMs(k: CreateResult): number {
  return ((k.cpuCores.apiserver ?? Number.NaN) * k.elapsedMs) / k.ok;
}

/** The alternated rounds of this build and the real kube-apiserver: each pair's ratio, and their median against the target. */
function realRoundRows(r: BenchResult): ReportRow[] {
  const rounds = r.realRounds ?? [];
  if (rounds.length === 0) return [];
  const section = "2b. real kube-apiserver";
  const rows: ReportRow[] = rounds.map((round, i) => ({
    section,
    figure: `round ${i + 1}: creates/s ours / real (p99)`,
    value: `${fmt(round.ours.creates.createsPerSec, 0)} (${fmt(round.ours.creates.latencyMs.p99)} ms) / ${fmt(round.real.creates.createsPerSec, 0)} (${fmt(round.real.creates.latencyMs.p99)} ms); ratio ${fmt(round.ours.creates.createsPerSec / round.real.creates.createsPerSec, 2)}`,
  }));
  const ratio = median(rounds.map((round) => round.ours.creates.createsPerSec / round.real.creates.createsPerSec));
  const cpu = median(rounds.map((round) => cpuPerCreateMs(round.ours.creates) / cpuPerCreateMs(round.real.creates)));
  const p99 = median(rounds.map((round) => round.ours.creates.latencyMs.p99 / round.real.creates.latencyMs.p99));
  rows.push(
    { section, figure: `ours ÷ real, creates/s (median of ${rounds.length} alternated rounds)`, value: fmt(ratio, 2), target: "≥ 1.25", verdict: verdict(ratio >= 1.25, ratio) },
    { section, figure: "ours ÷ real, create p99 (median of rounds)", value: fmt(p99, 2), target: "≤ 1", verdict: verdict(p99 <= 1, p99) },
    { section, figure: "ours ÷ real, apiserver CPU per create (median of rounds)", value: fmt(cpu, 2) },
  );
  return rows;
}

/** The --workers rounds: each pair's ratio, the best --workers=N run against the real apiserver, and memory. */
function workerRows(r: BenchResult): ReportRow[] {
  const rounds = r.workerRounds ?? [];
  if (rounds.length === 0) return [];
  const n = r.config.workers;
  const section = `2e. secure --workers=${n}`;
  const rows: ReportRow[] = rounds.map((round, i) => ({
    section,
    figure: `round ${i + 1}: creates/s --workers=1 / =${n} (p99)`,
    value: `${fmt(round.single.creates.createsPerSec, 0)} (${fmt(round.single.creates.latencyMs.p99)} ms) / ${fmt(round.workers.creates.createsPerSec, 0)} (${fmt(round.workers.creates.latencyMs.p99)} ms); ratio ${fmt(round.workers.creates.createsPerSec / round.single.creates.createsPerSec, 2)}${round.real ? `; real ${fmt(round.real.creates.createsPerSec, 0)} (${fmt(round.real.creates.latencyMs.p99)} ms)` : ""}`,
  }));
  const ratios = rounds.map((round) => round.workers.creates.createsPerSec / round.single.creates.createsPerSec);
  rows.push({ section, figure: `--workers=${n} ÷ --workers=1, creates/s (median of rounds)`, value: fmt(median(ratios), 2), target: "(informative)" });
  const last = rounds[rounds.length - 1]!;
  rows.push({ section, figure: "RSS after creates: --workers=1 / =N (all processes)", value: `${fmtBytes(last.single.rss?.rssBytes ?? Number.NaN)} / ${fmtBytes(last.workers.rss?.rssBytes ?? Number.NaN)}` });
  rows.push({ section, figure: `CPU per create --workers=1 / =${n}`, value: `${fmt(cpuPerCreateMs(last.single.creates), 2)} / ${fmt(cpuPerCreateMs(last.workers.creates), 2)} ms` });
  const withReal = rounds.filter((round) => round.real !== undefined);
  if (withReal.length > 0) {
    const toReal = median(withReal.map((round) => round.workers.creates.createsPerSec / (round.real?.creates.createsPerSec ?? Number.NaN)));
    const singleToReal = median(withReal.map((round) => round.single.creates.createsPerSec / (round.real?.creates.createsPerSec ?? Number.NaN)));
    rows.push({ section, figure: `--workers=${n} ÷ real, creates/s (median of rounds)`, value: fmt(toReal, 2), target: "≥ 1.25", verdict: verdict(toReal >= 1.25, toReal) });
    rows.push({ section, figure: "--workers=1 ÷ real, creates/s (median of rounds)", value: fmt(singleToReal, 2) });
  }
  return rows;
}

function measured(s: SideBySideResult | { notMeasured: string } | undefined): SideBySideResult | undefined {
  return s && "creates" in s ? s : undefined;
}

/** The rows of another apiserver's create figures and the ratio of ours to it (`target`: what that ratio should be). */
function sideBySideRows(section: string, ratioName: string, ours: CreateResult | undefined, other: SideBySideResult | { notMeasured: string } | undefined, target: string): ReportRow[] {
  if (!other) return [];
  if ("notMeasured" in other) return [{ section, figure: "not measured", value: other.notMeasured }];
  const k = other.creates;
  const e = other.rawEtcd;
  const ratio = ours ? ours.createsPerSec / k.createsPerSec : Number.NaN;
  const minimum = Number(/[\d.]+/.exec(target)?.[0] ?? Number.NaN);
  return [
    { section, figure: "server", value: `${other.server}, ready in ${fmt(other.startupMs / 1000, 2)} s` },
    { section, figure: `creates/s, ${k.concurrency} clients`, value: `${fmt(k.createsPerSec, 0)} /s (${k.ok} / ${k.errors} failed)`, verdict: k.errors > 0 ? "MISS" : "n/a" },
    { section, figure: "its raw etcd txn/s (before / after)", value: `${fmt(e.txnPerSec, 0)} (${fmt(e.before.txnPerSec, 0)} / ${e.after ? fmt(e.after.txnPerSec, 0) : "—"})` },
    { section, figure: "ratio to its raw etcd (ours)", value: `${fmt(k.ratioToEtcd, 2)} (${ours ? fmt(ours.ratioToEtcd, 2) : "—"})` },
    { section, figure: "latency p50 / p99 (ours)", value: `${fmt(k.latencyMs.p50)} / ${fmt(k.latencyMs.p99)} ms (${ours ? `${fmt(ours.latencyMs.p50)} / ${fmt(ours.latencyMs.p99)}` : "—"} ms)` },
    { section, figure: "CPU cores: apiserver / etcd / bench", value: `${cores(k.cpuCores)}; ${fmt(cpuPerCreateMs(k), 2)} ms apiserver CPU per create` },
    { section, figure: `${ratioName}, creates/s`, value: fmt(ratio, 2), target, ...(Number.isNaN(minimum) ? {} : { verdict: verdict(ratio >= minimum, ratio) }) },
    { section, figure: `${ratioName}, raw-etcd ratios`, value: fmt(ours ? ours.ratioToEtcd / k.ratioToEtcd : Number.NaN, 2) },
    // CPU per create is steadier than creates/s when other tenants take a varying share of the cores.
    { section, figure: `${ratioName}, apiserver CPU per create`, value: fmt(ours ? cpuPerCreateMs(ours) / cpuPerCreateMs(k) : Number.NaN, 2) },
  ];
}

function jsonSummary(r: BenchResult): unknown {
  return roundDeep({
    bench: "apiserver",
    config: r.config,
    rawEtcdTxnPerSec: r.rawEtcd?.txnPerSec,
    realCreatesPerSec: measured(r.real)?.creates.createsPerSec,
    oursToReal: r.creates && measured(r.real) ? r.creates.createsPerSec / (measured(r.real)?.creates.createsPerSec ?? Number.NaN) : undefined,
    realRounds: r.realRounds?.map((round) => ({ ours: round.ours.creates.createsPerSec, real: round.real.creates.createsPerSec, oursP99Ms: round.ours.creates.latencyMs.p99, realP99Ms: round.real.creates.latencyMs.p99 })),
    oursToRealMedian: r.realRounds?.length ? median(r.realRounds.map((round) => round.ours.creates.createsPerSec / round.real.creates.createsPerSec)) : undefined,
    baselineCreatesPerSec: measured(r.baseline)?.creates.createsPerSec,
    oursToBaseline: r.creates && measured(r.baseline) ? r.creates.createsPerSec / (measured(r.baseline)?.creates.createsPerSec ?? Number.NaN) : undefined,
    secureCreatesPerSec: measured(r.secure)?.creates.createsPerSec,
    workerRounds: r.workerRounds?.map((round) => ({ real: round.real?.creates.createsPerSec, realP99Ms: round.real?.creates.latencyMs.p99, single: round.single.creates.createsPerSec, workers: round.workers.creates.createsPerSec, singleP99Ms: round.single.creates.latencyMs.p99, workersP99Ms: round.workers.creates.latencyMs.p99, singleRssMB: (round.single.rss?.rssBytes ?? Number.NaN) / MB, workersRssMB: (round.workers.rss?.rssBytes ?? Number.NaN) / MB })),
    podCreatesPerSec: r.creates?.createsPerSec,
    createRatioToEtcd: r.creates?.ratioToEtcd,
    createLatencyP50Ms: r.creates?.latencyMs.p50,
    createLatencyP99Ms: r.creates?.latencyMs.p99,
    listConsistentMs: r.lists?.consistent.medianMs,
    listCacheMs: r.lists?.cache.medianMs,
    listPaginatedMs: r.lists?.paginated.medianMs,
    listBytes: r.lists?.consistent.bytes,
    watchEventsPerSec: r.watch?.eventsPerSec,
    watchLatencyP99Ms: r.watch?.latencyMs.p99,
    rssIdleMB: r.memory.idle ? r.memory.idle.rssBytes / MB : undefined,
    rssAfterLoadMB: r.memory.end ? r.memory.end.rssBytes / MB : undefined,
    rssPeakMB: r.memory.end ? r.memory.end.peakRssBytes / MB : undefined,
    startToReadyMs: r.start?.firstMs,
    restartToReadyMs: r.start?.medianMs,
    startCpuMs: r.start?.firstCpuMs,
    restartCpuMs: r.start?.medianCpuMs,
    rssWithWatchersMB: r.memory.withWatchers ? r.memory.withWatchers.rssBytes / MB : undefined,
    details: { rawEtcd: r.rawEtcd, creates: r.creates, real: r.real, baseline: r.baseline, secure: r.secure, lists: r.lists, watch: r.watch, baselineWatch: r.baselineWatch, start: r.start, memory: r.memory },
    errors: r.errors,
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Entry point

/** Runs the apiserver benchmark; returns the process exit code. */
export async function runApiServerBench(argv: readonly string[]): Promise<number> {
  const config = configOrExitCode(argv, apiServerBenchConfig, apiServerBenchUsage);
  if ("exitCode" in config) return config.exitCode;
  const disarmDeadline = armDeadline(config.deadlineSeconds, progress);

  const result: BenchResult = { config, memory: {}, errors: {} };
  let api: BenchApiServer | undefined;
  const phase = async (name: string, fn: () => Promise<void>): Promise<boolean> => {
    progress(`${name}…`);
    try {
      await fn();
      return true;
    } catch (err) {
      const message = errorMessage(err);
      result.errors[name] = message;
      progress(`${name} failed: ${message}`);
      const gone = api?.exitReason();
      if (api && gone) progress(`the apiserver ${gone}; its output ends with:\n${api.logs().slice(-4_000)}`);
      return false;
    }
  };

  try {
    progress(`config ${JSON.stringify(config)}`);
    const etcd = await startBenchEtcd();
    const etcdClient = new Etcd3({ hosts: etcd.endpoint });
    onCleanup("etcd client", () => { etcdClient.close(); });

    const started = await phase("start apiserver", async () => {
      api = await startBenchApiServer(etcd.endpoint);
      result.start = {
        firstMs: api.startupMs,
        runsMs: [],
        medianMs: Number.NaN,
        podsInEtcd: 0,
        firstCpuMs: processCpuMs(api.pid),
        runsCpuMs: [],
        medianCpuMs: Number.NaN,
        firstRssBytes: processMemory(api.pid).rssBytes,
        runsRssBytes: [],
        medianRssBytes: Number.NaN,
      };
    });
    if (!started || !api) throw new Error(`the apiserver did not start: ${result.errors["start apiserver"] ?? "unknown"}`);
    const server = api;
    const pids: Pids = { apiserver: server.pid, etcd: etcd.process.pid ?? -1 };
    const client = createClient(config.client, server.url, config.concurrency);
    onCleanup("http client", () => { client.close(); });
    // No controller-manager runs here, and the ServiceAccount admission plugin refuses pods whose service account
    // is missing: create the one the bench's pods use, as the serviceaccounts controller would.
    await expectStatus(client, "POST", "/api/v1/namespaces/default/serviceaccounts", JSON.stringify({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default" } }), [201, 409]);
    await sleep(config.quick ? 300 : 1_000);
    result.memory.idle = processMemory(server.pid);

    await phase("raw etcd txns", async () => {
      const before = await measureRawEtcd(etcdClient, config, "before", pids);
      result.rawEtcd = { txnPerSec: before.txnPerSec, before };
    });
    await phase("pod creates", async () => {
      result.creates = await measureCreates(client, etcdClient, config, pids);
    });
    // Raw etcd again right after, so that drift on a shared machine shows and the ratio uses the mean of both.
    await phase("raw etcd txns (after)", async () => {
      const after = await measureRawEtcd(etcdClient, config, "after", pids);
      if (result.rawEtcd) {
        result.rawEtcd.after = after;
        result.rawEtcd.txnPerSec = (result.rawEtcd.before.txnPerSec + after.txnPerSec) / 2;
      }
    });
    if (result.creates) result.creates.ratioToEtcd = result.creates.createsPerSec / (result.rawEtcd?.txnPerSec ?? Number.NaN);
    // The same load on the real kube-apiserver and on a previous build, each on a fresh etcd, right after ours.
    const peers = realApiServerPeers();
    if ("missing" in peers) {
      result.real = { notMeasured: `the real kube-apiserver was not measured: ${peers.missing}` };
    } else {
      const measureReal = (): Promise<SideBySideResult> => measureSideBySide(REAL_SERVER, config, (endpoint) => startRealApiServer(peers.dir, endpoint));
      await phase("real kube-apiserver creates", async () => {
        result.real = await measureReal();
      });
      await phase(`ours / real kube-apiserver creates, ${config.rounds} alternated rounds`, async () => {
        const rounds: NonNullable<BenchResult["realRounds"]> = [];
        const measureOurs = (): Promise<SideBySideResult> => measureSideBySide("kubelab, plain HTTP", config, (endpoint) => startPlainApiServer(endpoint));
        for (let i = 0; i < config.rounds; i++) {
          // Each starts first every other round, so that drift in the machine's speed weighs on both alike.
          let ours: SideBySideResult;
          let real: SideBySideResult;
          if (i % 2 === 0) {
            ours = await measureOurs();
            real = await measureReal();
          } else {
            real = await measureReal();
            ours = await measureOurs();
          }
          rounds.push({ ours, real });
          result.realRounds = rounds;
        }
      });
    }
    const baselineMain = baselineApiServerMain();
    if (baselineMain === undefined) {
      result.baseline = { notMeasured: "no baseline: set KUBELAB_APISERVER_BASELINE_MAIN to a previous build's dist/apiserver/main.js" };
    } else {
      await phase("baseline apiserver creates", async () => {
        result.baseline = await measureSideBySide(`kubelab ${baselineMain}`, config, (endpoint) => startBaselineApiServer(baselineMain, endpoint));
      });
    }
    await phase("secure apiserver creates", async () => {
      result.secure = await measureSideBySide("kubelab over TLS, token, Node,RBAC", config, (endpoint) => startSecureApiServer(endpoint));
    });
    if (config.workers > 0) {
      // Alternated, so that whatever else loads the machine weighs on both sides alike.
      await phase(`secure --workers=1 / --workers=${config.workers} creates`, async () => {
        const rounds: NonNullable<BenchResult["workerRounds"]> = [];
        for (let i = 0; i < config.rounds; i++) {
          const real = "missing" in peers ? undefined : await measureSideBySide(REAL_SERVER, config, (endpoint) => startRealApiServer(peers.dir, endpoint));
          const single = await measureSideBySide("kubelab over TLS, --workers=1", config, (endpoint) => startSecureApiServer(endpoint));
          const workers = await measureSideBySide(`kubelab over TLS, --workers=${config.workers}`, config, (endpoint) => startSecureApiServer(endpoint, { workers: config.workers }));
          rounds.push({ single, workers, ...(real ? { real } : {}) });
          result.workerRounds = rounds;
        }
      });
    }
    if (config.podsForList > 0) {
      await phase("lists", async () => {
        result.lists = await measureLists(client, etcdClient, config);
      });
    }
    result.memory.afterCreatesAndLists = processMemory(server.pid);
    if (config.watchers > 0) {
      await phase("watch fan-out", async () => {
        result.watch = await measureWatch(client, server, config, result.memory, pids);
      });
    }
    await sleep(config.quick ? 300 : 1_000);
    result.memory.end = processMemory(server.pid);
    if (config.watchers > 0) {
      if (baselineMain === undefined) {
        result.baselineWatch = { notMeasured: "no baseline: set KUBELAB_APISERVER_BASELINE_MAIN to a previous build's dist/apiserver/main.js" };
      } else {
        await phase("baseline watch fan-out", async () => {
          result.baselineWatch = await measureBaselineWatch(baselineMain, config);
        });
      }
    }

    if (config.startRuns > 0 && result.start) {
      const start = result.start;
      await phase("second apiserver start", async () => {
        const counted = await etcdClient.getAll().prefix(`/registry/pods/`).count();
        start.podsInEtcd = counted;
        for (let i = 0; i < config.startRuns; i++) {
          const second = await startBenchApiServer(etcd.endpoint);
          start.runsMs.push(second.startupMs);
          start.runsCpuMs.push(processCpuMs(second.pid));
          start.runsRssBytes.push(processMemory(second.pid).rssBytes);
          await second.stop("SIGTERM");
        }
        start.medianMs = median(start.runsMs);
        start.medianCpuMs = median(start.runsCpuMs);
        start.medianRssBytes = median(start.runsRssBytes);
      });
    }
    const gone = server.exitReason();
    if (gone) result.errors["apiserver process"] = `${gone} during the run`;

    process.stdout.write(`\n${renderTable(`kubelab apiserver bench${config.quick ? " (--quick)" : ""}`, buildRows(result))}\n\n`);
    process.stdout.write(`${jsonLine(jsonSummary(result))}\n`);
    return Object.keys(result.errors).length > 0 ? 1 : 0;
  } finally {
    disarmDeadline();
    await runCleanups();
  }
}
