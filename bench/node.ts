// `npm run bench -- node`: a real 3-node `kubelab up` (nodes in network namespaces on a bridge of this run's own,
// runtimes with the OCI backend, kubelets) and, measured in the same run:
//   1. `kubelab up` → every node Ready (the CLI returns then);
//   2. pod start-up latency, POST → phase Running seen through a watch, for a burst of pods over the nodes, against
//      the floor of a raw `runc run` of a busybox container on this host (the ratio is the kubelab overhead);
//   3. replacement Ready after a pod delete under a ReplicaSet;
//   4. memory: the lab's own processes (supervisor and its descendants) idle and with the pods, per node runtime +
//      kubelet, and the containers' processes (conmon and below) apart.
// The lab is taken down at the end, on error, on a signal (main.ts) and at the deadline.
import { execFile } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { errorMessage } from "../api/errors.js";
import { labPrerequisites, TestLab } from "../lab/up/throwaway.js";
import { configOrExitCode, flagsHelp, parseFlags, type FlagSpec } from "./args.js";
import { armDeadline, onCleanup, runCleanups } from "./cluster.js";
import { createClient, runPool, statusMessage, type HttpClient } from "./http.js";
import { fmt, fmtBytes, jsonLine, progress, renderTable, verdict, type ReportRow } from "./report.js";
import { nowMs, roundDeep, summarize, type LatencySummary } from "./stats.js";
import { openWatch, type WatchStream } from "./watch.js";

const execFileAsync = promisify(execFile);

export const nodeBenchFlags = {
  nodes: { type: "number", min: 1, help: "nodes of the lab (default 3)" },
  pods: { type: "number", min: 1, help: "pods created at once for the start-up latency and the loaded memory (default 30)" },
  replacements: { type: "number", min: 1, help: "pod deletes under the ReplicaSet, one at a time (default 10)" },
  serialPods: { type: "number", min: 0, help: "pods created one at a time (each after the previous is Running) for the unloaded start-up latency (default 5)" },
  floorRuns: { type: "number", min: 1, help: "raw `runc run` of busybox for the floor (default 10)" },
  deadline: { type: "number", min: 30, help: "abort (and take the lab down) after this many seconds (default 600)" },
  help: { type: "boolean", help: "print this help" },
} satisfies Record<string, FlagSpec>;

export interface NodeBenchConfig {
  nodes: number;
  pods: number;
  replacements: number;
  serialPods: number;
  floorRuns: number;
  deadlineSeconds: number;
}

export function nodeBenchConfig(argv: readonly string[]): NodeBenchConfig | "help" {
  const f = parseFlags(nodeBenchFlags, argv);
  if (f.help) return "help";
  return { nodes: f.nodes ?? 3, pods: f.pods ?? 30, replacements: f.replacements ?? 10, serialPods: f.serialPods ?? 5, floorRuns: f.floorRuns ?? 10, deadlineSeconds: f.deadline ?? 600 };
}

export function nodeBenchUsage(): string {
  return `usage: npm run bench -- node [flags]   (as root; needs a build: npm run build)\n\n${flagsHelp(nodeBenchFlags)}`;
}

const NAMESPACE = "default";
const IMAGE = "busybox";

// ---------------------------------------------------------------------------------------------------------------
// Processes and memory

interface ProcessInfo {
  pid: number;
  ppid: number;
  rssBytes: number;
  cmdline: string;
}

/** Every process on the host with its parent, RSS and command line (processes that vanish meanwhile are skipped). */
function processTable(): Map<number, ProcessInfo> {
  const table = new Map<number, ProcessInfo>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, "utf8");
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      const rss = Number(/^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1] ?? 0) * 1024;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8").replace(/\0/g, " ").trim();
      table.set(Number(entry), { pid: Number(entry), ppid, rssBytes: rss, cmdline });
    } catch {
      // gone
    }
  }
  return table;
}

function descendants(table: Map<number, ProcessInfo>, roots: readonly number[]): Set<number> {
  const children = new Map<number, number[]>();
  for (const p of table.values()) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p.pid]);
  const out = new Set<number>();
  const stack = [...roots];
  while (stack.length > 0) {
    const pid = stack.pop() ?? 0;
    if (out.has(pid) || !table.has(pid)) continue;
    out.add(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

export interface LabMemory {
  /** The supervisor and every descendant that is not a container's (conmon and below), bytes. */
  labBytes: number;
  /** Per node: its runtime + kubelet (the node programs and their nsenter wrappers), bytes. */
  perNodeBytes: Record<string, number>;
  /** The largest runtime and the largest kubelet, bytes. */
  runtimeMaxBytes: number;
  kubeletMaxBytes: number;
  /** Control plane: etcd, apiserver, scheduler, controller-manager, bytes. */
  controlPlaneBytes: number;
  supervisorBytes: number;
  /** conmon processes and the containers' own processes below them, bytes. */
  containersBytes: number;
  containerProcesses: number;
}

function sum(table: Map<number, ProcessInfo>, pids: Iterable<number>): number {
  let total = 0;
  for (const pid of pids) total += table.get(pid)?.rssBytes ?? 0;
  return total;
}

/** The lab's memory right now, from /proc. */
export function labMemory(supervisorPid: number, home: string, nodes: number): LabMemory {
  const table = processTable();
  const conmons = [...table.values()].filter((p) => /(^|\/)conmon\s/.test(p.cmdline) && p.cmdline.includes(`${home}/`)).map((p) => p.pid);
  const containers = descendants(table, conmons);
  const lab = [...descendants(table, [supervisorPid])].filter((pid) => !containers.has(pid));
  const perNodeBytes: Record<string, number> = {};
  const nodePids = new Set<number>();
  let runtimeMaxBytes = 0;
  let kubeletMaxBytes = 0;
  for (let i = 1; i <= nodes; i++) {
    const node = `node-${i}`;
    const runtime = lab.filter((pid) => (table.get(pid)?.cmdline ?? "").includes(`--listen=${home}/nodes/${node}/runtime.sock`));
    const kubelet = lab.filter((pid) => (table.get(pid)?.cmdline ?? "").includes(`--hostname-override=${node} `));
    for (const pid of [...runtime, ...kubelet]) nodePids.add(pid);
    runtimeMaxBytes = Math.max(runtimeMaxBytes, sum(table, runtime));
    kubeletMaxBytes = Math.max(kubeletMaxBytes, sum(table, kubelet));
    perNodeBytes[node] = sum(table, runtime) + sum(table, kubelet);
  }
  const supervisorBytes = table.get(supervisorPid)?.rssBytes ?? Number.NaN;
  const labBytes = sum(table, lab);
  return {
    labBytes,
    perNodeBytes,
    runtimeMaxBytes,
    kubeletMaxBytes,
    controlPlaneBytes: labBytes - supervisorBytes - sum(table, nodePids),
    supervisorBytes,
    containersBytes: sum(table, containers),
    containerProcesses: containers.size,
  };
}

/** The host's total and idle CPU time so far (jiffies, all cores), from /proc/stat. */
function hostCpu(): { total: number; idle: number } {
  const fields = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "").trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  return { total, idle: (fields[3] ?? 0) + (fields[4] ?? 0) };
}

/** The share of the host's CPU (0..1, all cores) that was busy between two hostCpu() readings. */
function busyShare(before: { total: number; idle: number }, after: { total: number; idle: number }): number {
  const total = after.total - before.total;
  return total > 0 ? 1 - (after.idle - before.idle) / total : Number.NaN;
}

// ---------------------------------------------------------------------------------------------------------------
// The floor: a raw `runc run` of a busybox container

/** Median wall time of `runc run` (create, start, exit, delete) of `busybox true` in a fresh bundle, in ms. */
async function runcFloor(runs: number): Promise<LatencySummary> {
  const dir = mkdtempSync(join(tmpdir(), "kubelab-bench-runc-"));
  const root = join(dir, "state");
  const removeDir = onCleanup("runc floor bundle", () => { rmSync(dir, { recursive: true, force: true }); });
  try {
    const rootfs = join(dir, "rootfs");
    mkdirSync(join(rootfs, "bin"), { recursive: true });
    for (const d of ["proc", "dev", "sys", "tmp"]) mkdirSync(join(rootfs, d));
    copyFileSync("/bin/busybox", join(rootfs, "bin", "busybox"));
    symlinkSync("busybox", join(rootfs, "bin", "true"));
    await execFileAsync("runc", ["spec"], { cwd: dir });
    const spec = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as { process: { terminal: boolean; args: string[] }; root: { readonly: boolean } };
    spec.process.terminal = false;
    spec.process.args = ["/bin/true"];
    writeFileSync(join(dir, "config.json"), JSON.stringify(spec));
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const start = nowMs();
      await execFileAsync("runc", ["--root", root, "run", "--bundle", dir, `kubelab-bench-floor-${process.pid}-${i}`]);
      times.push(nowMs() - start);
    }
    return summarize(Float64Array.from(times).sort());
  } finally {
    await removeDir();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Watching pods

interface PodEvent {
  type: string;
  name: string;
  phase: string;
  ready: boolean;
  deleting: boolean;
}

function parsePodEvent(line: string): PodEvent | undefined {
  const event = JSON.parse(line) as { type: string; object?: { metadata?: { name?: string; deletionTimestamp?: string }; status?: { phase?: string; conditions?: { type: string; status: string }[] } } };
  const name = event.object?.metadata?.name;
  if (name === undefined) return undefined;
  return {
    type: event.type,
    name,
    phase: event.object?.status?.phase ?? "",
    ready: event.object?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
    deleting: event.object?.metadata?.deletionTimestamp !== undefined,
  };
}

/** Watches the namespace's pods from now; `onEvent` sees each event with its receive time. */
function watchPods(baseUrl: string, onEvent: (event: PodEvent, at: number) => void): Promise<WatchStream> {
  return new Promise((resolve, reject) => {
    let opened = false;
    const stream = openWatch(baseUrl, `/api/v1/namespaces/${NAMESPACE}/pods?watch=true&allowWatchBookmarks=false`, {
      line(line, at) {
        const event = parsePodEvent(line);
        if (event) onEvent(event, at);
      },
      ended(reason) {
        if (!opened) reject(new Error(reason));
        else progress(`pod watch ended: ${reason}`);
      },
    });
    // The watch is established once the request is out; a short grace lets the apiserver register it.
    setTimeout(() => {
      opened = true;
      resolve(stream);
    }, 300);
  });
}

function podBody(name: string, labels: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, labels },
    spec: { terminationGracePeriodSeconds: 0, containers: [{ name: "sleep", image: IMAGE, command: ["sleep", "3600"] }] },
  });
}

async function expectOk(client: HttpClient, method: string, path: string, body?: string): Promise<string> {
  const res = await client.request(method, path, body);
  if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status}: ${statusMessage(res.body)}`);
  return res.body;
}

// ---------------------------------------------------------------------------------------------------------------
// The benchmark

interface Results {
  upMs: number;
  podStart?: LatencySummary;
  serialPodStart?: LatencySummary;
  /** Share of the host's CPU busy from the burst's first POST to its last pod Running. */
  burstCpuBusy?: number;
  floor?: LatencySummary;
  replacement?: LatencySummary;
  idle?: LabMemory;
  loaded?: LabMemory;
  podsPerNode?: Record<string, number>;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function runNodeBench(argv: readonly string[]): Promise<number> {
  const config = configOrExitCode(argv, nodeBenchConfig, nodeBenchUsage);
  if ("exitCode" in config) return config.exitCode;
  const prerequisites = labPrerequisites();
  if (!prerequisites.ok) {
    process.stderr.write(`bench node: ${prerequisites.reason}\n`);
    return 1;
  }
  const disarm = armDeadline(config.deadlineSeconds, progress);
  const lab = new TestLab("bench");
  const removeLab = onCleanup("kubelab down", async () => {
    const down = await lab.tearDown();
    if (down.code !== 0) progress(`kubelab down exited ${down.code}: ${down.stderr.trim()}`);
  });
  const results: Results = { upMs: Number.NaN };
  let failure: string | undefined;
  try {
    progress(`kubelab up --nodes ${config.nodes} (home ${lab.home}, bridge ${lab.bridge}, ${lab.nodeNetwork})…`);
    const upStart = nowMs();
    // The 0.18 lab: this bench's HTTP client and pod watch speak plain HTTP to the insecure port.
    await lab.up(config.nodes, ["--insecure"]);
    results.upMs = nowMs() - upStart;
    progress(`every node Ready after ${fmt(results.upMs / 1000, 2)} s`);
    const supervisor = lab.supervisorPid() ?? 0;
    const baseUrl = `http://${lab.nodeNetwork.replace(/\.0\/24$/, ".1")}:${lab.apiserverPort}`;

    // Idle: let the first status updates and image loads pass.
    await delay(3_000);
    results.idle = labMemory(supervisor, lab.home, config.nodes);

    progress(`floor: ${config.floorRuns} × runc run busybox…`);
    results.floor = await runcFloor(config.floorRuns);

    const client = createClient("http", baseUrl, 16);
    onCleanup("http client", () => { client.close(); });
    const listeners = new Set<() => void>();
    /** Resolves once `done()` holds, re-checked on every watch event; rejects after timeoutMs. */
    const until = (what: string, done: () => boolean, timeoutMs: number): Promise<void> =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (!done()) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    const running = new Map<string, number>();
    const ready = new Map<string, number>();
    /** Pods that exist and are not being deleted. */
    const alive = new Set<string>();
    const nodesOf = new Map<string, string>();
    const stream = await watchPods(baseUrl, (event, at) => {
      if (event.type === "DELETED" || event.deleting) alive.delete(event.name);
      else alive.add(event.name);
      if (event.phase === "Running" && !running.has(event.name)) running.set(event.name, at);
      if (event.ready && !event.deleting && !ready.has(event.name)) ready.set(event.name, at);
      for (const check of [...listeners]) check();
    });
    onCleanup("pod watch", () => { stream.close(); });

    // 2. Pod start-up latency: one pod at a time (no queueing), then a burst.
    const serial: number[] = [];
    for (let i = 0; i < config.serialPods; i++) {
      const name = `serial-${i}`;
      const start = nowMs();
      await expectOk(client, "POST", `/api/v1/namespaces/${NAMESPACE}/pods`, podBody(name, { bench: "serial" }));
      await until(`${name} Running`, () => running.has(name), 60_000);
      serial.push((running.get(name) ?? Number.NaN) - start);
    }
    if (serial.length > 0) {
      results.serialPodStart = summarize(Float64Array.from(serial).sort());
      await expectOk(client, "DELETE", `/api/v1/namespaces/${NAMESPACE}/pods?labelSelector=bench%3Dserial`);
    }
    progress(`creating ${config.pods} pods at once…`);
    const created = new Map<string, number>();
    const names = Array.from({ length: config.pods }, (_, i) => `start-${i}`);
    const cpuBefore = hostCpu();
    await runPool(names.length, names.length, async (i) => {
      const name = names[i] ?? "";
      created.set(name, nowMs());
      await expectOk(client, "POST", `/api/v1/namespaces/${NAMESPACE}/pods`, podBody(name, { bench: "start" }));
    });
    await until(`${config.pods} pods Running`, () => names.every((n) => running.has(n)), 120_000);
    results.burstCpuBusy = busyShare(cpuBefore, hostCpu());
    results.podStart = summarize(Float64Array.from(names.map((n) => (running.get(n) ?? Number.NaN) - (created.get(n) ?? Number.NaN))).sort());
    const list = JSON.parse(await expectOk(client, "GET", `/api/v1/namespaces/${NAMESPACE}/pods?labelSelector=bench%3Dstart`)) as { items: { metadata: { name: string }; spec: { nodeName?: string } }[] };
    for (const p of list.items) nodesOf.set(p.metadata.name, p.spec.nodeName ?? "");
    results.podsPerNode = {};
    for (const node of nodesOf.values()) results.podsPerNode[node] = (results.podsPerNode[node] ?? 0) + 1;
    await delay(2_000);
    results.loaded = labMemory(supervisor, lab.home, config.nodes);
    progress(`deleting the ${config.pods} pods…`);
    await expectOk(client, "DELETE", `/api/v1/namespaces/${NAMESPACE}/pods?labelSelector=bench%3Dstart`);

    // 3. Replacement Ready after a delete under a ReplicaSet.
    const replicas = config.nodes;
    await expectOk(client, "POST", `/apis/apps/v1/namespaces/${NAMESPACE}/replicasets`, JSON.stringify({
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: "replace" },
      spec: {
        replicas,
        selector: { matchLabels: { bench: "replace" } },
        template: { metadata: { labels: { bench: "replace" } }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: "sleep", image: IMAGE, command: ["sleep", "3600"] }] } },
      },
    }));
    const replaceAlive = (): string[] => [...alive].filter((n) => n.startsWith("replace-"));
    await until(`${replicas} ReplicaSet pods Ready`, () => replaceAlive().length === replicas && replaceAlive().every((n) => ready.has(n)), 60_000);
    const replacementTimes: number[] = [];
    for (let i = 0; i < config.replacements; i++) {
      const before = new Set(replaceAlive());
      const victim = [...before][i % before.size] ?? "";
      const start = nowMs();
      await expectOk(client, "DELETE", `/api/v1/namespaces/${NAMESPACE}/pods/${victim}?gracePeriodSeconds=0`);
      let replacement: string | undefined;
      await until(`a replacement for ${victim} Ready`, () => {
        replacement = replaceAlive().find((n) => !before.has(n) && ready.has(n));
        return replacement !== undefined;
      }, 60_000);
      replacementTimes.push((ready.get(replacement ?? "") ?? Number.NaN) - start);
      await until(`${replicas} ReplicaSet pods Ready`, () => replaceAlive().length === replicas && replaceAlive().every((n) => ready.has(n)), 60_000);
    }
    results.replacement = summarize(Float64Array.from(replacementTimes).sort());
    listeners.clear();
  } catch (err) {
    failure = errorMessage(err);
    progress(`failed: ${failure}`);
  } finally {
    disarm();
    progress("kubelab down…");
    await removeLab();
    await runCleanups();
    const left = await lab.leftovers();
    if (left.length > 0) progress(`left on the host after kubelab down: ${left.join(", ")}`);
  }
  process.stdout.write(`${report(results, config)}\n`);
  process.stdout.write(`${jsonLine(roundDeep({ bench: "node", config, ...results, failure }))}\n`);
  return failure === undefined ? 0 : 1;
}

function report(r: Results, config: NodeBenchConfig): string {
  const rows: ReportRow[] = [];
  rows.push({ section: "1. up", figure: `kubelab up --nodes ${config.nodes} → all nodes Ready`, value: fmt(r.upMs / 1000, 2, "s"), reference: "kind 14–33 s, k3d 13–20 s", target: "≤ 10 s", verdict: verdict(r.upMs <= 10_000, r.upMs) });
  const start = r.podStart;
  const floor = r.floor;
  if (start) {
    rows.push({ section: "2. pod start", figure: `POST → Running (watch), ${start.count} pods at once, p50`, value: fmt(start.p50, 0, "ms"), reference: "SLO p99 ≤ 5 s", target: "", verdict: "n/a" });
    rows.push({ section: "2. pod start", figure: "p99", value: fmt(start.p99, 0, "ms"), reference: "SLO p99 ≤ 5 s", target: "≤ 1,000 ms", verdict: verdict(start.p99 <= 1_000, start.p99) });
    rows.push({ section: "2. pod start", figure: "min / max", value: `${fmt(start.min, 0)} / ${fmt(start.max, 0, "ms")}` });
    rows.push({ section: "2. pod start", figure: `host CPU busy during the burst (${os.cpus().length} cores)`, value: `${fmt((r.burstCpuBusy ?? Number.NaN) * 100, 0)} %` });
    if (r.podsPerNode) rows.push({ section: "2. pod start", figure: "pods per node", value: Object.entries(r.podsPerNode).sort().map(([n, c]) => `${n}: ${c}`).join(", ") });
  }
  if (r.serialPodStart) rows.push({ section: "2. pod start", figure: `one pod at a time (${r.serialPodStart.count}), p50 / max`, value: `${fmt(r.serialPodStart.p50, 0)} / ${fmt(r.serialPodStart.max, 0, "ms")}` });
  if (floor) {
    rows.push({ section: "2. pod start", figure: `floor: raw runc run busybox true, p50 of ${floor.count}`, value: fmt(floor.p50, 0, "ms"), reference: "same host, same run" });
    if (start) rows.push({ section: "2. pod start", figure: "pod start p50 / runc run p50 (burst; one at a time)", value: `${fmt(start.p50 / floor.p50, 1)}×; ${fmt((r.serialPodStart?.p50 ?? Number.NaN) / floor.p50, 1)}×` });
  }
  if (r.replacement) {
    rows.push({ section: "3. replacement", figure: `delete a ReplicaSet pod → new pod Ready, p50 of ${r.replacement.count}`, value: fmt(r.replacement.p50, 0, "ms"), target: "≤ 1,000 ms", verdict: verdict(r.replacement.p50 <= 1_000, r.replacement.p50) });
    rows.push({ section: "3. replacement", figure: "max", value: fmt(r.replacement.max, 0, "ms") });
  }
  const memoryRows = (label: string, m: LabMemory | undefined): void => {
    if (!m) return;
    const section = `4. memory ${label}`;
    rows.push({ section, figure: "whole lab RSS (supervisor + children, no containers)", value: fmtBytes(m.labBytes), target: "≤ 600 MB", verdict: verdict(m.labBytes <= 600e6, m.labBytes) });
    rows.push({ section, figure: "control plane (etcd, apiserver, scheduler, controller-manager)", value: fmtBytes(m.controlPlaneBytes) });
    rows.push({ section, figure: "supervisor", value: fmtBytes(m.supervisorBytes) });
    const perNode = Object.values(m.perNodeBytes);
    const worst = Math.max(...perNode);
    rows.push({ section, figure: "runtime + kubelet per node (max; all)", value: `${fmtBytes(worst)}; ${perNode.map((b) => fmt(b / 1048576, 0)).join(", ")} MiB`, target: "≤ 60 MB", verdict: verdict(worst <= 60e6, worst) });
    rows.push({ section, figure: "runtime (max) / kubelet (max)", value: `${fmtBytes(m.runtimeMaxBytes)} / ${fmtBytes(m.kubeletMaxBytes)}` });
    rows.push({ section, figure: `containers: conmon + their processes (${m.containerProcesses})`, value: fmtBytes(m.containersBytes) });
  };
  memoryRows("idle", r.idle);
  memoryRows(`with ${config.pods} pods`, r.loaded);
  return renderTable(`kubelab node benchmark (${config.nodes} nodes, real runc/conmon/CNI)`, rows);
}
