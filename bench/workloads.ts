// `npm run bench -- workloads`: the DaemonSet and Job controllers on hollow nodes, kubelab's controller-manager and
// (with KUBELAB_PEERS) the real kube-controller-manager v1.26.1 each driving a fresh cluster of the same build —
// etcd, kubelab's apiserver and scheduler, N hollow nodes — in one run, so that the ratios compare like with like.
// Per controller-manager: a DaemonSet created → numberReady = desiredNumberScheduled = N, then an image change rolled
// (RollingUpdate, maxUnavailable) → every pod updated and available, then M Jobs of one `echo` pod each → all Complete
// (Jobs/s). Times are read from the objects' status as `kubectl rollout status` reads them, polled every 100 ms.
import { tmpdir } from "node:os";
import { errorMessage } from "../api/errors.js";
import { controllerManagerComponent } from "../lab/components/kube-controller-manager.js";
import { realControllerManagerComponent, realControllerManagerKubeconfig } from "../lab/components/real-kube-controller-manager.js";
import { configOrExitCode, flagsHelp, parseFlags, type FlagSpec } from "./args.js";
import { armDeadline, benchProcesses, CpuMeter, onCleanup, processMemory, runCleanups, startBenchApiServer, startBenchEtcd, type CpuCores } from "./cluster.js";
import { startBenchComponent, type BenchComponent } from "./components.js";
import { createClient, runPool, type HttpClient } from "./http.js";
import { realApiServerPeers } from "./peers.js";
import { fmt, jsonLine, progress, renderTable, type ReportRow } from "./report.js";
import {
  apiJson,
  asObject,
  componentGone,
  errorLines,
  isPodReady,
  listItems,
  nodesReady,
  sleep,
  Stalled,
  startHollowNodes,
  startScheduler,
  waitProgress,
  type Json,
} from "./scheduler.js";
import { nowMs, rate, roundDeep } from "./stats.js";

// ---------------------------------------------------------------------------------------------------------------
// Flags

export const workloadsBenchFlags = {
  nodes: { type: "number", min: 1, help: "hollow nodes, one DaemonSet pod each (default 1000; --quick 100)" },
  jobs: { type: "number", min: 1, help: "Jobs of completions 1 created at once (default 200; --quick 50)" },
  maxUnavailable: { type: "string", help: "the DaemonSet's rollingUpdate.maxUnavailable (default 10%)" },
  rounds: { type: "number", min: 1, help: "rounds; each runs both controller-managers, the order alternating (default 1)" },
  skipReal: { type: "boolean", help: "measure kubelab's controller-manager only, even with KUBELAB_PEERS" },
  stallSeconds: { type: "number", min: 5, help: "fail a wait when nothing progresses for this long (default 90; --quick 45)" },
  deadline: { type: "number", min: 10, help: "abort (and clean up) after this many seconds (default 1800; --quick 400)" },
  quick: { type: "boolean", help: "small numbers for a smoke run" },
  help: { type: "boolean", help: "print this help" },
} satisfies Record<string, FlagSpec>;

export interface WorkloadsBenchConfig {
  nodes: number;
  jobs: number;
  maxUnavailable: string;
  rounds: number;
  skipReal: boolean;
  stallSeconds: number;
  deadlineSeconds: number;
  quick: boolean;
}

export function workloadsBenchConfig(argv: readonly string[]): WorkloadsBenchConfig | "help" {
  const f = parseFlags(workloadsBenchFlags, argv);
  if (f.help) return "help";
  const quick = f.quick ?? false;
  return {
    nodes: f.nodes ?? (quick ? 100 : 1000),
    jobs: f.jobs ?? (quick ? 50 : 200),
    maxUnavailable: f.maxUnavailable ?? "10%",
    rounds: f.rounds ?? 1,
    skipReal: f.skipReal ?? false,
    stallSeconds: f.stallSeconds ?? (quick ? 45 : 90),
    deadlineSeconds: f.deadline ?? (quick ? 400 : 1800),
    quick,
  };
}

export function workloadsBenchUsage(): string {
  return `usage: npm run bench -- workloads [flags]   (KUBELAB_PEERS=<folder with bin/kube-controller-manager> adds the real one)\n\n${flagsHelp(workloadsBenchFlags)}`;
}

/** The controller-managers run the same two controllers with the same client rate (unlimited in effect). */
const CONTROLLERS = ["daemonset", "job"];
const REAL_QPS = 100_000;

// ---------------------------------------------------------------------------------------------------------------
// Payloads

const NAMESPACE = "default";
const DS_PATH = `/apis/apps/v1/namespaces/${NAMESPACE}/daemonsets`;
const JOBS_PATH = `/apis/batch/v1/namespaces/${NAMESPACE}/jobs`;
const PODS_PATH = `/api/v1/namespaces/${NAMESPACE}/pods`;
const NODE_PREFIX = "wl-node";
const DS = "bench-ds";
const RESOURCES = { requests: { cpu: "10m", memory: "10Mi" } };

function daemonSetBody(name: string, maxUnavailable: string, nodeSelector?: Record<string, string>): string {
  const mu: string | number = /^\d+$/.test(maxUnavailable) ? Number(maxUnavailable) : maxUnavailable;
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name },
    spec: {
      selector: { matchLabels: { app: name } },
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: mu } },
      template: {
        metadata: { labels: { app: name } },
        spec: { ...(nodeSelector ? { nodeSelector } : {}), automountServiceAccountToken: false, containers: [{ name: "c", image: "nginx:1", resources: RESOURCES }] },
      },
    },
  });
}

function jobBody(name: string): string {
  return JSON.stringify({
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name },
    spec: {
      completions: 1,
      template: { spec: { restartPolicy: "Never", automountServiceAccountToken: false, containers: [{ name: "c", image: "busybox", command: ["echo", "hi"], resources: RESOURCES }] } },
    },
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Results

type Side = "kubelab" | "real";

interface SideRun {
  side: Side;
  round: number;
  nodes: number;
  nodesReadyMs: number;
  /** controller-manager spawn → the warm-up Job Complete and the warm-up DaemonSet observed. */
  warmupMs: number;
  /** POST → numberReady = desiredNumberScheduled = nodes. */
  dsReadyMs: number;
  /** Image PATCH → observedGeneration current, updatedNumberScheduled = numberAvailable = nodes. */
  dsRolloutMs: number;
  /** Pods of the DaemonSet Ready on the new image after the rollout (a list, cross-checking the status). */
  dsPodsUpdatedReady: number;
  jobs: number;
  /** First POST → every Job Complete. */
  jobsCompleteMs: number;
  jobsPerSec: number;
  jobsFailed: number;
  cpuCores: { daemonset: CpuCores; jobs: CpuCores };
  cmRssBytes: number;
  error?: string;
}

interface WorkloadsResult {
  config: WorkloadsBenchConfig;
  runs: SideRun[];
  realMissing?: string;
  componentErrors: Record<string, string[]>;
}

// ---------------------------------------------------------------------------------------------------------------
// Status readers

function num(value: unknown): number {
  return typeof value === "number" ? value : 0;
}

function conditionTrue(obj: Json, type: string): boolean {
  const conditions = asObject(obj.status)?.conditions;
  return Array.isArray(conditions) && conditions.some((c) => asObject(c)?.type === type && asObject(c)?.status === "True");
}

interface DsStatus {
  generation: number;
  observedGeneration: number;
  desired: number;
  ready: number;
  updated: number;
  available: number;
}

function dsStatus(ds: Json): DsStatus {
  const s = asObject(ds.status) ?? {};
  return {
    generation: num(asObject(ds.metadata)?.generation),
    observedGeneration: num(s.observedGeneration),
    desired: num(s.desiredNumberScheduled),
    ready: num(s.numberReady),
    updated: num(s.updatedNumberScheduled),
    available: num(s.numberAvailable),
  };
}

/** Polls `read` every `intervalMs` in the background while waitProgress watches what it last returned. */
async function pollUntil<T>(
  what: string,
  read: () => Promise<T>,
  opts: { done: (v: T) => boolean; progressed: (v: T) => number; describe: (v: T) => string; stallMs: number; timeoutMs: number; check: () => string | undefined; intervalMs: number; initial: T },
): Promise<void> {
  let last = opts.initial;
  let lastError: string | undefined;
  let stop = false;
  const loop = (async () => {
    while (!stop) {
      try {
        last = await read();
        lastError = undefined;
      } catch (err) {
        lastError = errorMessage(err);
      }
      if (opts.done(last)) return;
      await sleep(opts.intervalMs);
    }
  })();
  try {
    await waitProgress(what, {
      done: () => opts.done(last),
      progressed: () => opts.progressed(last),
      describe: () => `${opts.describe(last)}${lastError ? `; last read failed: ${lastError}` : ""}`,
      stallMs: opts.stallMs,
      timeoutMs: opts.timeoutMs,
      check: opts.check,
      intervalMs: 10,
    });
  } finally {
    stop = true;
    await loop;
  }
}

/** The template's container image changed by a read-modify-write PUT (again on a 409 Conflict). */
async function setImage(client: HttpClient, path: string, image: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const obj = await apiJson(client, "GET", path, undefined, [200]);
    const containers = asObject(asObject(asObject(asObject(obj.spec)?.template)?.spec))?.containers;
    const first = Array.isArray(containers) ? asObject(containers[0]) : undefined;
    if (!first) throw new Error(`${path} has no container`);
    first.image = image;
    const res = await client.request("PUT", path, JSON.stringify(obj), 60_000);
    if (res.status === 200) return;
    if (res.status !== 409 || attempt >= 5) throw new Error(`PUT ${path} → ${res.status}: ${res.body.slice(0, 300)}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// One side: a fresh cluster, one controller-manager

function startControllerManager(side: Side, apiUrl: string, peersDir: string | undefined): BenchComponent {
  if (side === "kubelab") {
    return startBenchComponent(
      controllerManagerComponent({
        name: "controller-manager",
        master: apiUrl,
        port: 0,
        bindAddress: "127.0.0.1",
        leaderElect: false,
        kubeApiQps: 0,
        kubeApiBurst: 10_000,
        extraArgs: [`--controllers=${CONTROLLERS.join(",")}`],
      }),
    );
  }
  if (peersDir === undefined) throw new Error("no peers folder for the real kube-controller-manager");
  const dir = benchProcesses.tempDir("kubelab-bench-kcm-", tmpdir());
  const kubeconfig = realControllerManagerKubeconfig(dir, apiUrl);
  return startBenchComponent(realControllerManagerComponent({ peersDir, kubeconfig, controllers: CONTROLLERS, kubeApiQps: REAL_QPS, kubeApiBurst: REAL_QPS }));
}

async function runSide(side: Side, round: number, config: WorkloadsBenchConfig, peersDir: string | undefined, result: WorkloadsResult): Promise<SideRun> {
  const stallMs = config.stallSeconds * 1000;
  const N = config.nodes;
  const etcd = await startBenchEtcd();
  const api = await startBenchApiServer(etcd.endpoint);
  const client = createClient("http", api.url, 16);
  onCleanup(`http client (${side})`, () => { client.close(); });
  const hollow = startHollowNodes(api.url, NODE_PREFIX, N, ["--pod-cidr-wait=0s"]);
  const scheduler = startScheduler(api.url, 0, `scheduler (${side})`);
  const components: BenchComponent[] = [hollow, scheduler];
  const check = (): string | undefined => componentGone(components, api);
  const run: SideRun = {
    side, round, nodes: N, nodesReadyMs: Number.NaN, warmupMs: Number.NaN, dsReadyMs: Number.NaN, dsRolloutMs: Number.NaN, dsPodsUpdatedReady: 0,
    jobs: config.jobs, jobsCompleteMs: Number.NaN, jobsPerSec: Number.NaN, jobsFailed: 0, cpuCores: { daemonset: {}, jobs: {} }, cmRssBytes: Number.NaN,
  };
  try {
    progress(`[${side}] waiting for ${N} hollow nodes to be Ready`);
    run.nodesReadyMs = await nodesReady(client, NODE_PREFIX, N, components, api, stallMs);

    // The default ServiceAccount (the serviceaccount controller's work, not measured here) for the pods' admission.
    await apiJson(client, "POST", `/api/v1/namespaces/${NAMESPACE}/serviceaccounts`, JSON.stringify({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default" } }), [201, 409]);
    const cmStart = nowMs();
    const cm = startControllerManager(side, api.url, peersDir);
    components.push(cm);
    const pids = { "controller-manager": cm.pid, apiserver: api.pid, etcd: etcd.process.pid ?? -1, scheduler: scheduler.pid, hollow: hollow.pid };

    progress(`[${side}] warm-up: a Job to Complete and a DaemonSet for no node to be observed`);
    await apiJson(client, "POST", JOBS_PATH, jobBody("bench-warmup"), [201]);
    await apiJson(client, "POST", DS_PATH, daemonSetBody("bench-warmup", config.maxUnavailable, { "kubelab.dev/bench": "none" }), [201]);
    await pollUntil("warm-up", async () => {
      const job = await apiJson(client, "GET", `${JOBS_PATH}/bench-warmup`, undefined, [200]);
      const ds = await apiJson(client, "GET", `${DS_PATH}/bench-warmup`, undefined, [200]);
      return { complete: conditionTrue(job, "Complete"), observed: dsStatus(ds).observedGeneration >= 1 };
    }, {
      initial: { complete: false, observed: false },
      done: (v) => v.complete && v.observed,
      progressed: (v) => Number(v.complete) + Number(v.observed),
      describe: (v) => `Job Complete ${v.complete}, DaemonSet observed ${v.observed}`,
      stallMs: 120_000, timeoutMs: 180_000, check, intervalMs: 100,
    });
    run.warmupMs = nowMs() - cmStart;

    progress(`[${side}] DaemonSet ${DS} on ${N} nodes`);
    let cpu = new CpuMeter(pids);
    let t0 = nowMs();
    await apiJson(client, "POST", DS_PATH, daemonSetBody(DS, config.maxUnavailable), [201]);
    const readDs = async (): Promise<DsStatus> => dsStatus(await apiJson(client, "GET", `${DS_PATH}/${DS}`, undefined, [200]));
    const zero: DsStatus = { generation: 0, observedGeneration: 0, desired: 0, ready: 0, updated: 0, available: 0 };
    const dsTimeout = Math.max(180_000, N * 600);
    await pollUntil(`DaemonSet ${DS} ready`, readDs, {
      initial: zero,
      done: (s) => s.desired === N && s.ready === N,
      progressed: (s) => s.desired + s.ready,
      describe: (s) => `desired ${s.desired}, ready ${s.ready}`,
      stallMs, timeoutMs: dsTimeout, check, intervalMs: 100,
    });
    run.dsReadyMs = nowMs() - t0;
    progress(`[${side}] DaemonSet ready after ${fmt(run.dsReadyMs / 1000, 2)} s; rolling nginx:1 → nginx:2 (maxUnavailable ${config.maxUnavailable})`);

    t0 = nowMs();
    await setImage(client, `${DS_PATH}/${DS}`, "nginx:2");
    await pollUntil(`DaemonSet ${DS} rolled out`, readDs, {
      initial: zero,
      done: (s) => s.generation >= 2 && s.observedGeneration >= s.generation && s.updated === N && s.available === N && s.ready === N && s.desired === N,
      progressed: (s) => s.updated * 3 + s.available + s.ready,
      describe: (s) => `observed generation ${s.observedGeneration} of ${s.generation}, updated ${s.updated}, available ${s.available}, ready ${s.ready} of ${N}`,
      stallMs, timeoutMs: dsTimeout, check, intervalMs: 100,
    });
    run.dsRolloutMs = nowMs() - t0;
    run.cpuCores.daemonset = cpu.read();
    const pods = listItems(await apiJson(client, "GET", `${PODS_PATH}?labelSelector=app%3D${DS}`, undefined, [200], 120_000));
    run.dsPodsUpdatedReady = pods.filter((p) => {
      const containers = asObject(p.spec)?.containers;
      const image = Array.isArray(containers) ? asObject(containers[0])?.image : undefined;
      return image === "nginx:2" && isPodReady(p) && !asObject(p.metadata)?.deletionTimestamp;
    }).length;
    progress(`[${side}] rolled out after ${fmt(run.dsRolloutMs / 1000, 2)} s (${run.dsPodsUpdatedReady} pods Ready on nginx:2 in a list)`);

    progress(`[${side}] ${config.jobs} Jobs of one echo pod each`);
    cpu = new CpuMeter(pids);
    t0 = nowMs();
    await runPool(config.jobs, 16, async (i) => {
      await apiJson(client, "POST", JOBS_PATH, jobBody(`bench-job-${i}`), [201]);
    });
    await pollUntil("Jobs Complete", async () => {
      const jobs = listItems(await apiJson(client, "GET", JOBS_PATH, undefined, [200])).filter((j) => asObject(j.metadata)?.name !== "bench-warmup");
      return { complete: jobs.filter((j) => conditionTrue(j, "Complete")).length, failed: jobs.filter((j) => conditionTrue(j, "Failed")).length };
    }, {
      initial: { complete: 0, failed: 0 },
      done: (v) => v.complete + v.failed >= config.jobs,
      progressed: (v) => v.complete + v.failed,
      describe: (v) => `${v.complete} Complete, ${v.failed} Failed of ${config.jobs}`,
      stallMs, timeoutMs: Math.max(180_000, config.jobs * 1_000), check, intervalMs: 200,
    }).then(async () => {
      const jobs = listItems(await apiJson(client, "GET", JOBS_PATH, undefined, [200]));
      run.jobsFailed = jobs.filter((j) => conditionTrue(j, "Failed")).length;
    });
    run.jobsCompleteMs = nowMs() - t0;
    run.jobsPerSec = rate(config.jobs - run.jobsFailed, run.jobsCompleteMs);
    run.cpuCores.jobs = cpu.read();
    run.cmRssBytes = processMemory(cm.pid).rssBytes;
    progress(`[${side}] ${config.jobs} Jobs done after ${fmt(run.jobsCompleteMs / 1000, 2)} s (${fmt(run.jobsPerSec, 1)} Jobs/s, ${run.jobsFailed} Failed)`);
  } catch (err) {
    run.error = err instanceof Stalled ? err.message : errorMessage(err);
    progress(`[${side}] failed: ${run.error}`);
  } finally {
    for (const c of [...components, api]) {
      const lines = errorLines(c.logs());
      if (lines.length > 0) result.componentErrors[`${c.name} (${side}, round ${round})`] = lines;
    }
  }
  return run;
}

// ---------------------------------------------------------------------------------------------------------------
// Report

function ratio(kubelab: number, real: number): string {
  return Number.isFinite(kubelab) && Number.isFinite(real) && real > 0 ? `${fmt(kubelab / real, 2)}×` : "n/a";
}

function cpuText(c: CpuCores): string {
  return ["controller-manager", "apiserver", "etcd", "scheduler", "hollow"].map((n) => fmt(c[n] ?? Number.NaN, 2)).join(" / ");
}

function buildRows(r: WorkloadsResult): ReportRow[] {
  const rows: ReportRow[] = [];
  for (const run of r.runs) {
    const s = `${run.side === "kubelab" ? "kubelab controller-manager" : "real kube-controller-manager v1.26.1"} (round ${run.round + 1})`;
    rows.push(
      { section: s, figure: `${run.nodes} hollow nodes Ready (spawn → all Ready)`, value: `${fmt(run.nodesReadyMs / 1000, 1)} s` },
      { section: s, figure: "controller-manager spawn → warm-up Job Complete", value: `${fmt(run.warmupMs / 1000, 2)} s` },
      { section: s, figure: `DaemonSet POST → numberReady = desired = ${run.nodes}`, value: `${fmt(run.dsReadyMs / 1000, 2)} s` },
      { section: s, figure: `RollingUpdate (maxUnavailable ${r.config.maxUnavailable}) → all updated and available`, value: `${fmt(run.dsRolloutMs / 1000, 2)} s` },
      { section: s, figure: "  pods Ready on the new image (a list after the rollout)", value: `${run.dsPodsUpdatedReady} of ${run.nodes}` },
      { section: s, figure: "  CPU cores: CM / apiserver / etcd / scheduler / hollow", value: cpuText(run.cpuCores.daemonset) },
      { section: s, figure: `${run.jobs} Jobs (completions 1, echo) → all Complete`, value: `${fmt(run.jobsCompleteMs / 1000, 2)} s = ${fmt(run.jobsPerSec, 1)} Jobs/s${run.jobsFailed > 0 ? `, ${run.jobsFailed} Failed` : ""}` },
      { section: s, figure: "  CPU cores: CM / apiserver / etcd / scheduler / hollow", value: cpuText(run.cpuCores.jobs) },
      { section: s, figure: "controller-manager RSS at the end", value: `${fmt(run.cmRssBytes / (1024 * 1024), 0)} MB` },
    );
    if (run.error) rows.push({ section: s, figure: "error", value: run.error.slice(0, 200) });
  }
  const median = (side: Side, pick: (run: SideRun) => number): number => {
    const values = r.runs.filter((x) => x.side === side && !x.error).map(pick).sort((a, b) => a - b);
    return values.length === 0 ? Number.NaN : values[Math.floor(values.length / 2)]!;
  };
  const s = "ratios kubelab ÷ real (same run; > 1 means kubelab takes longer)";
  if (r.realMissing) {
    rows.push({ section: s, figure: "real kube-controller-manager", value: `not measured: ${r.realMissing}` });
  } else {
    rows.push(
      { section: s, figure: "DaemonSet POST → all ready", value: ratio(median("kubelab", (x) => x.dsReadyMs), median("real", (x) => x.dsReadyMs)) },
      { section: s, figure: "DaemonSet RollingUpdate → all updated and available", value: ratio(median("kubelab", (x) => x.dsRolloutMs), median("real", (x) => x.dsRolloutMs)) },
      { section: s, figure: "Jobs → all Complete (time)", value: ratio(median("kubelab", (x) => x.jobsCompleteMs), median("real", (x) => x.jobsCompleteMs)) },
      { section: s, figure: "controller-manager RSS", value: ratio(median("kubelab", (x) => x.cmRssBytes), median("real", (x) => x.cmRssBytes)) },
    );
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------------------------
// Entry point

export async function runWorkloadsBench(argv: readonly string[]): Promise<number> {
  const config = configOrExitCode(argv, workloadsBenchConfig, workloadsBenchUsage);
  if ("exitCode" in config) return config.exitCode;
  const disarmDeadline = armDeadline(config.deadlineSeconds, progress);
  const result: WorkloadsResult = { config, runs: [], componentErrors: {} };
  const peers = realApiServerPeers();
  let peersDir: string | undefined;
  if (config.skipReal) result.realMissing = "--skip-real";
  else if ("missing" in peers) result.realMissing = peers.missing;
  else peersDir = peers.dir;
  try {
    progress(`config ${JSON.stringify(config)}`);
    for (let round = 0; round < config.rounds; round++) {
      const sides: Side[] = peersDir === undefined ? ["kubelab"] : round % 2 === 0 ? ["kubelab", "real"] : ["real", "kubelab"];
      for (const side of sides) {
        result.runs.push(await runSide(side, round, config, peersDir, result));
        progress(`stopping the ${side} cluster`);
        await runCleanups();
      }
    }
    process.stdout.write(`\n${renderTable(`kubelab workloads bench${config.quick ? " (--quick)" : ""} — upper bounds on a shared machine`, buildRows(result))}\n\n`);
    process.stdout.write(`${jsonLine(roundDeep(result))}\n`);
    return result.runs.some((r) => r.error) ? 1 : 0;
  } finally {
    disarmDeadline();
    await runCleanups();
  }
}
