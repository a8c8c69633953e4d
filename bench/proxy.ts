// `npm run bench -- proxy`: kube-proxy's iptables mode in a throw-away network namespace (its own iptables, deleted
// at the end, on error and on Ctrl-C), all measured in the same run:
//   - a full sync of --services Services × --endpoints endpoints, against the time `iptables-restore --noflush`
//     alone takes to load the same ruleset on the same node (the ratio), with where the sync's time goes
//     (iptables-save, parsing it, rendering, iptables-restore);
//   - one incremental change at that size (one Service's endpoints: a partial sync);
//   - network programming latency under churn: a real etcd and apiserver, the kube-proxy process in the namespace,
//     EndpointSlices updated at --churn-rate/s with endpoints.kubernetes.io/last-change-trigger-time = the write's
//     time; kube-proxy's own figures (what kubeproxy_network_programming_duration_seconds observes, read unbucketed
//     from its --v=2 "Synced iptables rules" lines).
// The proxier of the first two figures runs in this process (kube-proxy's IptablesProxier, driven directly, its
// commands run through `ip netns exec`); the third is the real binary.
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, rmSync } from "node:fs";
import { createServer, connect as connectTcp, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findResource } from "../api/resources.js";
import type { Service } from "../api/types/core.js";
import type { EndpointSlice } from "../api/types/discovery.js";
import { RestClient } from "../client/rest.js";
import { realClock } from "../component-base/clock.js";
import { silentLogger } from "../component-base/logging.js";
import { createRegistry } from "../component-base/metrics.js";
import { execRunner, type CommandResult, type CommandRunner } from "../kube-proxy/exec.js";
import { ProxierHealth } from "../kube-proxy/healthz.js";
import { IptablesProxier } from "../kube-proxy/iptables/proxier.js";
import { isLargeCluster, renderRules } from "../kube-proxy/iptables/rules.js";
import { parseIptablesSave } from "../kube-proxy/iptables/save.js";
import { proxyMetrics } from "../kube-proxy/metrics.js";
import type { Component } from "../lab/components/component.js";
import { REPO_ROOT } from "../lab/components/entries.js";
import type { ManagedProcess } from "../lab/process/runner.js";
import { configOrExitCode, flagsHelp, parseFlags, type FlagSpec } from "./args.js";
import { armDeadline, benchProcesses, onCleanup, runCleanups, startBenchApiServer, startBenchEtcd } from "./cluster.js";
import { runPool } from "./http.js";
import { fmt, jsonLine, progress, renderTable, verdict, type ReportRow } from "./report.js";
import { median, nowMs, roundDeep, Samples, summarize, type LatencySummary } from "./stats.js";

const SERVICES = findResource("", "v1", "services")!;
const ENDPOINT_SLICES = findResource("discovery.k8s.io", "v1", "endpointslices")!;
const NAMESPACE = "default";
const TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time";
/** Where the apiserver appears inside the namespace (relayed through a unix socket). */
const NETNS_APISERVER_PORT = 16443;

/** The issue's targets. */
const FULL_SYNC_TARGET_MS = 1000;
const INCREMENTAL_TARGET_MS = 100;

export const proxyBenchFlags = {
  services: { type: "number", min: 1, help: "Services, one port each (default 1000; --quick 100)" },
  endpoints: { type: "number", min: 1, help: "ready endpoints per Service (default 10)" },
  fullRuns: { type: "number", min: 1, help: "timed full syncs and restores; medians are reported (default 5; --quick 3)" },
  incrementalRuns: { type: "number", min: 1, help: "timed incremental syncs (default 10; --quick 5)" },
  churn: { type: "number", min: 0, help: "EndpointSlice updates for the latency figure; 0 skips it (default 300; --quick 40)" },
  churnRate: { type: "number", min: 1, help: "EndpointSlice updates per second (default 20)" },
  minSyncPeriod: { type: "number", min: 0, help: "kube-proxy's --iptables-min-sync-period in ms for the latency figure (default 1000, kube-proxy's default)" },
  deadline: { type: "number", min: 10, help: "abort (and clean up) after this many seconds (default 600; --quick 180)" },
  quick: { type: "boolean", help: "small numbers for a smoke run" },
  help: { type: "boolean", help: "print this help" },
} satisfies Record<string, FlagSpec>;

export interface ProxyBenchConfig {
  services: number;
  endpoints: number;
  fullRuns: number;
  incrementalRuns: number;
  churn: number;
  churnRate: number;
  minSyncPeriodMs: number;
  deadlineSeconds: number;
  quick: boolean;
}

export function proxyBenchConfig(argv: readonly string[]): ProxyBenchConfig | "help" {
  const f = parseFlags(proxyBenchFlags, argv);
  if (f.help) return "help";
  const quick = f.quick ?? false;
  return {
    services: f.services ?? (quick ? 100 : 1000),
    endpoints: f.endpoints ?? 10,
    fullRuns: f.fullRuns ?? (quick ? 3 : 5),
    incrementalRuns: f.incrementalRuns ?? (quick ? 5 : 10),
    churn: f.churn ?? (quick ? 40 : 300),
    churnRate: f.churnRate ?? 20,
    minSyncPeriodMs: f.minSyncPeriod ?? 1000,
    deadlineSeconds: f.deadline ?? (quick ? 180 : 600),
    quick,
  };
}

function usage(): string {
  return `usage: npm run bench -- proxy [flags]   (needs root: ip netns, iptables)\n\n${flagsHelp(proxyBenchFlags)}`;
}

// ---------------------------------------------------------------------------------------------------------------
// The cluster's objects

function ipOf(n: number): string {
  return [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** Endpoint `j` of Service `i` (10.128.0.0/9); `generation` moves it to another address. */
function endpointIP(i: number, j: number, endpoints: number, generation = 0): string {
  return ipOf(((10 << 24) | (128 << 16)) + (i * endpoints + j) * 4 + (generation % 4) + 1);
}

function serviceObject(i: number, clusterIP?: string): Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: `svc-${i}`, namespace: NAMESPACE },
    spec: { ...(clusterIP ? { clusterIP } : {}), ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }], selector: { app: `a${i}` } },
  };
}

function sliceObject(i: number, endpoints: number, generation = 0, triggerTime?: string): EndpointSlice {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      name: `svc-${i}-bench`,
      namespace: NAMESPACE,
      labels: { "kubernetes.io/service-name": `svc-${i}` },
      ...(triggerTime ? { annotations: { [TRIGGER_TIME]: triggerTime } } : {}),
    },
    addressType: "IPv4",
    ports: [{ name: "http", port: 8080, protocol: "TCP" }],
    // One endpoint moves per generation: a real change, the others stay.
    endpoints: Array.from({ length: endpoints }, (_, j) => ({ addresses: [endpointIP(i, j, endpoints, j === 0 ? generation : 0)], conditions: { ready: true, serving: true, terminating: false } })),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The namespace

function createNetns(): string {
  const name = `kubelab-pbench-${randomBytes(3).toString("hex")}`;
  execFileSync("ip", ["netns", "add", name]);
  onCleanup(`delete netns ${name}`, () => {
    execFileSync("ip", ["netns", "delete", name]);
  });
  execFileSync("ip", ["netns", "exec", name, "ip", "link", "set", "lo", "up"]);
  return name;
}

/**
 * A runner that times the commands, by program, since the last reset: the wall time from the first start to the
 * last end (parallel calls count once), and keeps the last iptables-restore input.
 */
class TimingRunner implements CommandRunner {
  private readonly spans = new Map<string, { start: number; end: number }>();
  lastRestoreInput = "";

  constructor(private readonly inner: CommandRunner) {}

  async run(argv: readonly string[], stdin?: string): Promise<CommandResult> {
    const started = nowMs();
    const result = await this.inner.run(argv, stdin);
    const program = argv[0] ?? "";
    const span = this.spans.get(program);
    this.spans.set(program, { start: Math.min(span?.start ?? started, started), end: nowMs() });
    if (program === "iptables-restore" && stdin !== undefined) this.lastRestoreInput = stdin;
    return result;
  }

  /** Milliseconds spent running `program` since the last reset (0 if it did not run). */
  ms(program: string): number {
    const span = this.spans.get(program);
    return span ? span.end - span.start : 0;
  }

  reset(): void {
    this.spans.clear();
  }
}

function newProxier(runner: CommandRunner, syncPeriodMs: number): IptablesProxier {
  return new IptablesProxier({
    runner,
    clock: realClock,
    logger: silentLogger(),
    metrics: proxyMetrics(createRegistry()),
    health: new ProxierHealth(realClock, 3_600_000),
    syncPeriodMs,
    minSyncPeriodMs: 0,
    clusterCIDR: "10.128.0.0/9",
    masqueradeAll: false,
    nodePortAddresses: [],
  });
}

function loadState(proxier: IptablesProxier, config: ProxyBenchConfig): void {
  const services = proxier.serviceHandler();
  const slices = proxier.endpointSliceHandler();
  for (let i = 0; i < config.services; i++) {
    services.onAdd?.(serviceObject(i, ipOf(((10 << 24) | (96 << 16)) + i + 10)), true);
    slices.onAdd?.(sliceObject(i, config.endpoints), true);
  }
}

async function timedSync(proxier: IptablesProxier, runner: TimingRunner): Promise<SyncProfile> {
  runner.reset();
  const started = nowMs();
  if (!(await proxier.syncProxyRules())) throw new Error("syncProxyRules failed (see iptables-restore in the namespace)");
  const totalMs = nowMs() - started;
  const saveMs = runner.ms("iptables-save");
  const listMs = runner.ms("iptables");
  const restoreMs = runner.ms("iptables-restore");
  return { totalMs, saveMs, listMs, restoreMs, inProcessMs: Math.max(0, totalMs - saveMs - listMs - restoreMs), restoreLines: runner.lastRestoreInput.split("\n").length };
}

interface SyncProfile {
  totalMs: number;
  saveMs: number;
  /** `iptables -S <built-in chain>` calls (in parallel). */
  listMs: number;
  restoreMs: number;
  /** Everything not spent waiting on iptables-save / iptables-restore: parsing, rendering, bookkeeping. */
  inProcessMs: number;
  restoreLines: number;
}

function medianOf(runs: readonly SyncProfile[], key: keyof SyncProfile): number {
  return median(runs.map((r) => r[key]));
}

interface SyncFigures {
  rules: { filter: number; nat: number };
  firstSyncMs: number;
  /** A fresh proxier's first sync on the loaded node (iptables-save of everything, then the restore). */
  restart: { totalMs: number; saveMs: number };
  full: { totalMs: number; saveMs: number; listMs: number; parseMs: number; renderMs: number; restoreMs: number; inProcessMs: number; restoreLines: number };
  restoreAloneMs: number;
  ratio: number;
  incremental: { totalMs: number; restoreMs: number; inProcessMs: number; restoreLines: number };
}

async function measureSyncs(config: ProxyBenchConfig, netns: string): Promise<SyncFigures> {
  const inner = execRunner(["ip", "netns", "exec", netns]);
  const runner = new TimingRunner(inner);
  // A sync period of 0: every sync is a full one.
  const full = newProxier(runner, 0);
  loadState(full, config);
  progress(`first sync of ${config.services} Services × ${config.endpoints} endpoints on an empty node…`);
  const first = await timedSync(full, runner);
  const fullRuns: SyncProfile[] = [];
  for (let r = 0; r < config.fullRuns; r++) fullRuns.push(await timedSync(full, runner));
  const ruleset = runner.lastRestoreInput;

  progress("iptables-restore alone, the same ruleset…");
  const restoreAlone: number[] = [];
  for (let r = 0; r < config.fullRuns; r++) {
    const started = nowMs();
    const result = await inner.run(["iptables-restore", "--noflush"], ruleset);
    if (result.code !== 0) throw new Error(`iptables-restore failed: ${result.stderr}`);
    restoreAlone.push(nowMs() - started);
  }

  // The in-process parts, timed on their own.
  const saved = (await inner.run(["iptables-save"])).stdout;
  const parseMs: number[] = [];
  const renderMs: number[] = [];
  let ruleCounts = { filter: 0, nat: 0 };
  for (let r = 0; r < config.fullRuns; r++) {
    let started = nowMs();
    const existing = parseIptablesSave(saved);
    parseMs.push(nowMs() - started);
    started = nowMs();
    const rendered = renderRules({ services: full.serviceMap, endpoints: full.endpointsMap, clusterCIDR: "10.128.0.0/9", masqueradeAll: false, nodePortAddresses: [], existing, largeClusterMode: isLargeCluster(full.serviceMap, full.endpointsMap) });
    renderMs.push(nowMs() - started);
    ruleCounts = rendered.ruleCounts;
  }

  progress("incremental syncs (one Service's endpoints change)…");
  const partial = newProxier(runner, 3_600_000);
  loadState(partial, config);
  // A fresh proxier on the loaded node: a restarted kube-proxy's first sync, which reads the whole node.
  const restart = await timedSync(partial, runner);
  const slices = partial.endpointSliceHandler();
  const incrementalRuns: SyncProfile[] = [];
  for (let r = 0; r < config.incrementalRuns; r++) {
    const i = (r * 7919) % config.services;
    slices.onUpdate?.(sliceObject(i, config.endpoints), sliceObject(i, config.endpoints, 1 + r));
    incrementalRuns.push(await timedSync(partial, runner));
  }

  const fullMs = medianOf(fullRuns, "totalMs");
  const aloneMs = median(restoreAlone);
  return {
    rules: ruleCounts,
    firstSyncMs: first.totalMs,
    restart: { totalMs: restart.totalMs, saveMs: restart.saveMs },
    full: {
      totalMs: fullMs,
      saveMs: medianOf(fullRuns, "saveMs"),
      listMs: medianOf(fullRuns, "listMs"),
      parseMs: median(parseMs),
      renderMs: median(renderMs),
      restoreMs: medianOf(fullRuns, "restoreMs"),
      inProcessMs: medianOf(fullRuns, "inProcessMs"),
      restoreLines: medianOf(fullRuns, "restoreLines"),
    },
    restoreAloneMs: aloneMs,
    ratio: fullMs / aloneMs,
    incremental: {
      totalMs: medianOf(incrementalRuns, "totalMs"),
      restoreMs: medianOf(incrementalRuns, "restoreMs"),
      inProcessMs: medianOf(incrementalRuns, "inProcessMs"),
      restoreLines: medianOf(incrementalRuns, "restoreLines"),
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Network programming latency: the kube-proxy process against a real apiserver

interface LatencyFigures {
  updates: number;
  observed: number;
  latencyMs: LatencySummary;
  syncs: number;
  syncMs: LatencySummary;
}

const RELAY = `
const net = require("node:net");
net.createServer((c) => {
  const u = net.connect(process.argv[1]);
  c.pipe(u).pipe(c);
  c.on("error", () => u.destroy());
  u.on("error", () => c.destroy());
}).listen(${NETNS_APISERVER_PORT}, "127.0.0.1", () => console.log("relay listening"));
`;

function inNetns(netns: string, name: string, args: readonly string[], readiness: RegExp): Component {
  return {
    name,
    kind: "kube-proxy",
    program: { kind: "binary", path: "ip" },
    args: ["netns", "exec", netns, process.execPath, ...args],
    ports: {},
    readiness: { kind: "log", pattern: readiness },
    links: [],
  };
}

/** The sync lines kube-proxy has logged so far (--v=2 and up). */
function syncLines(proc: ManagedProcess): { ms: number; full: boolean; networkProgrammingMs?: number[] }[] {
  const out: { ms: number; full: boolean; networkProgrammingMs?: number[] }[] = [];
  for (const line of proc.logs().split("\n")) {
    if (!line.includes("Synced iptables rules")) continue;
    try {
      out.push(JSON.parse(line) as { ms: number; full: boolean; networkProgrammingMs?: number[] });
    } catch {
      // A line cut by the log ring.
    }
  }
  return out;
}

async function measureLatency(config: ProxyBenchConfig, netns: string): Promise<LatencyFigures> {
  progress("starting etcd and the apiserver…");
  const etcd = await startBenchEtcd();
  const apiserver = await startBenchApiServer(etcd.endpoint);
  const client = new RestClient({ server: apiserver.url, namespace: NAMESPACE }, { qps: 0 });
  onCleanup("close the client", () => {
    client.close();
  });
  progress(`creating ${config.services} Services and their EndpointSlices…`);
  const current = new Map<number, EndpointSlice>();
  await runPool(config.services, 32, async (i) => {
    await client.create<Service>(SERVICES, NAMESPACE, serviceObject(i));
    current.set(i, await client.create<EndpointSlice>(ENDPOINT_SLICES, NAMESPACE, sliceObject(i, config.endpoints)));
  });

  // The apiserver inside the namespace: 127.0.0.1:16443 there → a unix socket → the apiserver's port here.
  const socketDir = join(tmpdir(), `kubelab-pbench-${randomBytes(3).toString("hex")}`);
  mkdirSync(socketDir, { recursive: true });
  onCleanup("remove the relay socket", () => {
    rmSync(socketDir, { recursive: true, force: true });
  });
  const socket = join(socketDir, "apiserver.sock");
  const apiPort = Number(new URL(apiserver.url).port);
  const relay: Server = createServer((c) => {
    const t = connectTcp(apiPort, "127.0.0.1");
    c.pipe(t).pipe(c);
    c.on("error", () => t.destroy());
    t.on("error", () => c.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(socket, resolve));
  onCleanup("close the apiserver relay", () => {
    relay.close();
  });
  const relayProc = benchProcesses.start(inNetns(netns, "apiserver-relay", ["-e", RELAY, socket], /relay listening/), { logRingChars: 64 * 1024 });
  await relayProc.waitReady({ timeoutMs: 30_000 });

  progress("starting kube-proxy in the namespace…");
  const proxy = benchProcesses.start(
    inNetns(
      netns,
      "kube-proxy",
      [
        join(REPO_ROOT, "dist", "kube-proxy", "main.js"),
        `--master=http://127.0.0.1:${NETNS_APISERVER_PORT}`,
        `--iptables-min-sync-period=${config.minSyncPeriodMs}ms`,
        "--metrics-bind-address=127.0.0.1:0",
        "--healthz-bind-address=127.0.0.1:0",
        "--hostname-override=pbench",
        "--cluster-cidr=10.128.0.0/9",
        "--v=2",
      ],
      /Synced iptables rules/,
    ),
    { logRingChars: 16 * 1024 * 1024 },
  );
  await proxy.waitReady({ timeoutMs: 120_000 });
  const before = syncLines(proxy).length;

  progress(`churn: ${config.churn} EndpointSlice updates at ${config.churnRate}/s…`);
  const started = nowMs();
  for (let u = 0; u < config.churn; u++) {
    const wait = started + (u * 1000) / config.churnRate - nowMs();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const i = (u * 7919) % config.services;
    const previous = current.get(i)!;
    const next = sliceObject(i, config.endpoints, u + 1, new Date().toISOString());
    if (previous.metadata.resourceVersion !== undefined) next.metadata.resourceVersion = previous.metadata.resourceVersion;
    current.set(i, await client.update<EndpointSlice>(ENDPOINT_SLICES, NAMESPACE, next));
  }
  // Every update observed, or give up after 30 s (the missing ones are reported).
  const deadline = nowMs() + 30_000;
  let lines = syncLines(proxy).slice(before);
  const observed = (): number => lines.reduce((n, l) => n + (l.networkProgrammingMs?.length ?? 0), 0);
  while (observed() < config.churn && nowMs() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    lines = syncLines(proxy).slice(before);
  }
  const latency = new Samples(config.churn);
  for (const l of lines) for (const ms of l.networkProgrammingMs ?? []) latency.add(ms);
  const syncMs = lines.map((l) => l.ms).sort((a, b) => a - b);
  return { updates: config.churn, observed: latency.count, latencyMs: latency.summary(), syncs: lines.length, syncMs: summarize(syncMs) };
}

// ---------------------------------------------------------------------------------------------------------------

export async function runProxyBench(argv: readonly string[]): Promise<number> {
  const config = configOrExitCode(argv, proxyBenchConfig, usage);
  if ("exitCode" in config) return config.exitCode;
  const disarm = armDeadline(config.deadlineSeconds, progress);
  try {
    const netns = createNetns();
    const syncs = await measureSyncs(config, netns);
    const latency = config.churn > 0 ? await measureLatency(config, netns) : undefined;

    const size = `${fmt(config.services, 0)} Services × ${config.endpoints} endpoints`;
    const rules = `${fmt(syncs.rules.nat, 0)} nat + ${fmt(syncs.rules.filter, 0)} filter rules`;
    const rows: ReportRow[] = [];
    const fullSection = `full sync (${rules})`;
    rows.push({ section: fullSection, figure: "first sync, empty node", value: fmt(syncs.firstSyncMs, 0, "ms") });
    rows.push({ section: fullSection, figure: "restart: first sync, loaded node", value: `${fmt(syncs.restart.totalMs, 0, "ms")} (iptables-save ${fmt(syncs.restart.saveMs, 0, "ms")})` });
    rows.push({ section: fullSection, figure: "full sync (median)", value: fmt(syncs.full.totalMs, 0, "ms"), target: `≤ ${fmt(FULL_SYNC_TARGET_MS, 0)} ms`, verdict: verdict(syncs.full.totalMs <= FULL_SYNC_TARGET_MS, syncs.full.totalMs) });
    rows.push({ section: fullSection, figure: "iptables-restore alone, same ruleset", value: fmt(syncs.restoreAloneMs, 0, "ms"), reference: "the floor" });
    rows.push({ section: fullSection, figure: "ratio full sync / restore alone", value: `${fmt(syncs.ratio, 2)}×` });
    rows.push({ section: fullSection, figure: "  of which reading the node", value: `${fmt(syncs.full.saveMs + syncs.full.listMs, 0, "ms")} (iptables-save ${fmt(syncs.full.saveMs, 0)}, iptables -S ${fmt(syncs.full.listMs, 0)})` });
    rows.push({ section: fullSection, figure: "  the rest (parse, render, bookkeeping)", value: fmt(syncs.full.inProcessMs, 0, "ms") });
    rows.push({ section: fullSection, figure: "    parse iptables-save / render (alone)", value: `${fmt(syncs.full.parseMs, 1)} / ${fmt(syncs.full.renderMs, 1)} ms` });
    rows.push({ section: fullSection, figure: "  of which iptables-restore", value: fmt(syncs.full.restoreMs, 0, "ms") });
    rows.push({ section: fullSection, figure: "restore input", value: `${fmt(syncs.full.restoreLines, 0)} lines` });
    const incSection = "incremental (one Service's endpoints)";
    rows.push({ section: incSection, figure: "partial sync (median)", value: fmt(syncs.incremental.totalMs, 1, "ms"), target: `≤ ${INCREMENTAL_TARGET_MS} ms`, verdict: verdict(syncs.incremental.totalMs <= INCREMENTAL_TARGET_MS, syncs.incremental.totalMs) });
    rows.push({ section: incSection, figure: "  of which iptables-restore", value: fmt(syncs.incremental.restoreMs, 1, "ms") });
    rows.push({ section: incSection, figure: "restore input", value: `${fmt(syncs.incremental.restoreLines, 0)} lines` });
    if (latency) {
      const latSection = `network programming (churn ${config.churnRate}/s, min sync ${config.minSyncPeriodMs} ms)`;
      rows.push({ section: latSection, figure: "latency p50 / p99", value: `${fmt(latency.latencyMs.p50, 0)} / ${fmt(latency.latencyMs.p99, 0)} ms`, reference: "Kubernetes SLO: p99 ≤ 30 s" });
      rows.push({ section: latSection, figure: "updates observed", value: `${latency.observed} / ${latency.updates}`, verdict: latency.observed === latency.updates ? "n/a" : "MISS" });
      rows.push({ section: latSection, figure: "syncs; sync time p50 / p99", value: `${latency.syncs}; ${fmt(latency.syncMs.p50, 0)} / ${fmt(latency.syncMs.p99, 0)} ms` });
    }
    process.stdout.write(`\n${renderTable(`kubelab proxy bench${config.quick ? " (--quick)" : ""}: ${size}, iptables in a throw-away netns`, rows)}\n\n`);
    process.stdout.write(`${jsonLine(roundDeep({ config, syncs, latency }))}\n`);
    const missed = syncs.full.totalMs > FULL_SYNC_TARGET_MS || syncs.incremental.totalMs > INCREMENTAL_TARGET_MS || (latency !== undefined && latency.observed < latency.updates);
    return missed ? 1 : 0;
  } finally {
    disarm();
    await runCleanups();
  }
}
