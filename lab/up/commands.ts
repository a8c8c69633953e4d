// The lab's commands: `kubelab up`, `status`, `kill`, `stop`, `start`, `node-exec`, `logs`, `add-node`,
// `remove-node`, `down`, and the hidden `supervise` that `up` starts detached. Each parses its own flags; the ones
// acting on a running lab talk to its supervisor over <home>/control.sock (control.ts).
import { spawn, spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { errorMessage } from "../../api/errors.js";
import { processIO, type CommandIO } from "../../component-base/command-io.js";
import { defineFlags, parseCommandLine, type FlagSpecs, type FlagValues } from "../../component-base/flags.js";
import { loadKubeconfig, writeKubeconfigFile } from "../../client/kubeconfig.js";
import { labPkiPaths } from "../pki/pki.js";
import { distEntry, REPO_ROOT, type DistProgram } from "../components/entries.js";
import { logFileName } from "../process/owner.js";
import { freePort } from "../process/ports.js";
import { labGet } from "./api.js";
import { apiserverUrl, DEFAULT_SECURE_PORT, LAB_TIMINGS, pkiDir, METRICS_RESOLUTION, nodeIndex, nodePlan, parseCidr, uiUrl, type LabConfig } from "./config.js";
import { kubeDnsAvailability, type DeploymentAvailability } from "./dns.js";
import { METRICS_API_SERVICE, metricsApiAvailable } from "./metrics-server.js";
import { callSupervisor, type ComponentStatus, type LabStatus } from "./control.js";
import { cleanupNodeRuntime, deleteBridge, deleteNodeNetwork, firewallLeftovers, isAlive, killProcesses, LAB_ENV, labProcesses, linkExists, mountsUnder, netnsExists, removeFirewall, run } from "./host.js";
import { componentKind, supervise } from "./supervisor.js";
import { controlSocketPath, kubeconfigPath, kubeconfigYaml, logDir, readState, statePath, writeState, type LabState } from "./state.js";

const DEFAULT_HOME = process.env.KUBELAB_HOME ?? join(homedir(), ".kubelab");

const homeFlag = defineFlags({
  home: { type: "string", default: DEFAULT_HOME, help: "The lab's directory: its state (lab.json), logs, etcd data, nodes and kubeconfig (default $KUBELAB_HOME or ~/.kubelab)." },
});

export const upFlags = defineFlags({
  ...homeFlag,
  nodes: { type: "number", default: 3, help: "How many nodes to start (node-1..node-N)." },
  proxyMode: { type: "string", default: "iptables", help: "kube-proxy's mode on every node: iptables or userspace." },
  bridge: { type: "string", default: "kubelab0", help: "The lab bridge (the host's side of the node network)." },
  nodeNetwork: { type: "string", default: "172.30.0.0/16", help: "The node network: the host gets its first address on the bridge, node-N the (10+N)th." },
  netnsPrefix: { type: "string", default: "kubelab", help: "Node network namespaces are named <prefix>-node-N." },
  clusterCidr: { type: "string", default: "10.244.0.0/16", help: "The pod network; the controller-manager gives each node a /24 of it." },
  serviceCidr: { type: "string", default: "10.96.0.0/12", help: "The Service ClusterIP range." },
  clusterDns: { type: "string", default: "10.96.0.10", help: "The cluster DNS Service IP the kubelets put in pods' resolv.conf." },
  apiserverPort: { type: "number", default: 8080, help: "The apiserver's insecure port on the bridge address, with --insecure." },
  secure: { type: "boolean", default: false, help: "The default (kept for scripts that pass it): make the lab's PKI in <home>/pki and run it as kubeadm does: the apiserver on HTTPS only (--secure-port, no insecure port) with client certificates and Node,RBAC, every component and the lab's own bookkeeping with its own identity, the kubeconfig with the admin's certificate." },
  insecure: { type: "boolean", default: false, help: "The 0.18 lab instead: no PKI, the apiserver on plain HTTP (--apiserver-port) with no authentication, every client with --master." },
  securePort: { type: "number", default: DEFAULT_SECURE_PORT, help: "The apiserver's secure port on the bridge address (unless --insecure)." },
  withoutKubelet: { type: "boolean", default: false, help: "Nodes run their runtime only and `up` does not wait for Ready Nodes (for kubelab's own tests while no kubelet is built)." },
  prometheus: { type: "boolean", default: false, help: "Also run Prometheus (Debian's /usr/bin/prometheus) on 127.0.0.1, scraping every component; its targets are kept current in <home>/prometheus/targets.json." },
  prometheusPort: { type: "number", default: 9090, help: "Prometheus' port on 127.0.0.1 with --prometheus." },
  uiPort: { type: "number", default: 8484, help: "The live view's port on 127.0.0.1 (kubelab-ui); when it is taken, or 0, a free port is picked (up prints the URL)." },
  noUi: { type: "boolean", default: false, help: "Do not start the live view." },
  controllerManagerArg: { type: "stringArray", help: "An extra kube-controller-manager flag, e.g. --controller-manager-arg=--horizontal-pod-autoscaler-sync-period=5s (repeatable); kept for the lab's restarts." },
  timeout: { type: "duration", default: "3m", help: "How long `up` waits for every component and node to be ready." },
  v: { type: "number", default: 0, help: "Verbosity of every component." },
});

const targetFlags = defineFlags({ ...homeFlag, node: { type: "string", help: "The node (node-N) of a node component (runtime, kubelet)." } });
const killFlags = defineFlags({
  ...targetFlags,
  signal: { type: "string", default: "SIGKILL", help: "The signal to send (SIGKILL is a crash; SIGTERM a clean stop)." },
  noRestart: { type: "boolean", default: false, help: "Do not restart it (until `kubelab start`)." },
});
const statusFlags = defineFlags({ ...homeFlag, output: { type: "string", short: "o", default: "", help: "Output format: json or wide (default: a table)." } });
const logsFlags = defineFlags({ ...targetFlags, follow: { type: "boolean", short: "f", default: false, help: "Keep printing new lines." } });

function parse<S extends FlagSpecs>(spec: S, argv: readonly string[], command: string, io: CommandIO, summary: string): { flags: FlagValues<S>; positionals: string[] } {
  return parseCommandLine(spec, argv, { command: `kubelab ${command}`, summary, allowPositionals: true, stdout: io.stdout, stderr: io.stderr, exit: io.exit });
}

function fail(io: CommandIO, message: string): never {
  io.stderr(`Error: ${message}\n`);
  return io.exit(1);
}

// ------------------------------------------------------------------------------------------------ up

const REQUIRED_TOOLS = ["ip", "iptables", "nsenter", "etcd", "runc", "conmon", "/usr/lib/cni/ptp", "/usr/lib/cni/host-local", "/bin/busybox"];

function missingTools(): string[] {
  return REQUIRED_TOOLS.filter((tool) => (tool.startsWith("/") ? !existsSync(tool) : spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0));
}

export async function upCommand(argv: readonly string[], io: CommandIO = processIO): Promise<void> {
  const { flags } = parse(upFlags, argv, "up", io, "Starts a lab, secure by default (the lab's PKI in <home>/pki, the apiserver on HTTPS only with client certificates and Node,RBAC, the admin's kubeconfig; --insecure: the 0.18 plain-HTTP lab): etcd, the apiserver, scheduler and controller-manager on the host, and N nodes, each a network namespace on the lab bridge running its container runtime, kubelet and kube-proxy, all supervised by a detached `kubelab supervise`, and the cluster DNS add-on (kube-dns). Returns when every node is Ready (and says whether kube-dns is available).");
  if (process.platform !== "linux") fail(io, "kubelab up needs Linux (network namespaces, runc); on another system use docker-compose (see the README)");
  if (process.getuid?.() !== 0) fail(io, "kubelab up needs root (it makes network namespaces, a bridge, firewall rules and containers): run it with sudo");
  if (flags.proxyMode !== "iptables" && flags.proxyMode !== "userspace") fail(io, `--proxy-mode must be iptables or userspace, not ${flags.proxyMode}`);
  if (!(flags.nodes >= 1 && Number.isInteger(flags.nodes))) fail(io, "--nodes must be a positive integer");
  if (flags.bridge.length > 11) fail(io, "--bridge: at most 11 characters (node veths are named <bridge>-nN)");
  try {
    parseCidr(flags.nodeNetwork);
    parseCidr(flags.clusterCidr);
    parseCidr(flags.serviceCidr);
  } catch (err) {
    fail(io, errorMessage(err));
  }

  let missing = missingTools();
  if (missing.length > 0) {
    io.stdout(`Missing ${missing.join(", ")}: running scripts/setup.sh\n`);
    spawnSync("bash", [join(REPO_ROOT, "scripts", "setup.sh")], { stdio: "inherit" });
    missing = missingTools();
    if (missing.length > 0) fail(io, `still missing after scripts/setup.sh: ${missing.join(", ")}`);
  }
  if (flags.prometheus && spawnSync("sh", ["-c", "command -v prometheus"]).status !== 0) fail(io, "--prometheus needs Prometheus (apt-get install prometheus; scripts/setup.sh installs it)");
  if (flags.prometheus && !(await portFree(flags.prometheusPort))) fail(io, `port ${flags.prometheusPort} is taken on this machine: choose --prometheus-port`);
  const programs: DistProgram[] = ["apiserver", "scheduler", "controller-manager", "container-runtime", "kube-state-metrics", "lab", ...(flags.withoutKubelet ? [] : (["kubelet", "kube-proxy", "cluster-dns", "metrics-server"] as const)), ...(flags.noUi ? [] : (["live-view"] as const))];
  const unbuilt = programs.map((p) => distEntry(p)).filter((entry) => !existsSync(entry));
  if (unbuilt.length > 0) fail(io, `not built: ${unbuilt.join(", ")}; run \`npm run build\` first`);

  const home = resolve(flags.home);
  const previous = readState(home);
  if (previous !== undefined) {
    if (previous.supervisorPid !== undefined && isAlive(previous.supervisorPid)) fail(io, `a lab is up at ${home} already (kubelab status --home ${home}); kubelab down --home ${home} removes it`);
    fail(io, `a lab at ${home} was not taken down (its supervisor is gone); run kubelab down --home ${home} first`);
  }
  if (linkExists(flags.bridge)) fail(io, `a network interface named ${flags.bridge} exists already: another lab is up (kubelab down --home <its home>), or choose --bridge`);

  if (flags.secure && flags.insecure) fail(io, "--secure and --insecure exclude each other (secure is the default)");
  const secure = !flags.insecure;
  if (!secure && !(await portFree(flags.apiserverPort))) fail(io, `port ${flags.apiserverPort} is taken on this machine: stop what listens there, or choose --apiserver-port`);
  if (secure && !(await portFree(flags.securePort))) fail(io, `port ${flags.securePort} is taken on this machine: stop what listens there, or choose --secure-port`);
  let uiPort = 0;
  if (!flags.noUi) {
    uiPort = flags.uiPort > 0 && (await portFree(flags.uiPort)) ? flags.uiPort : await freePort();
    if (flags.uiPort > 0 && uiPort !== flags.uiPort) io.stdout(`Port ${flags.uiPort} is taken: the live view gets ${uiPort} instead.\n`);
  }

  const createdHome = !existsSync(home);
  mkdirSync(logDir(home), { recursive: true });
  const config: LabConfig = {
    home,
    bridge: flags.bridge,
    nodeNetwork: flags.nodeNetwork,
    netnsPrefix: flags.netnsPrefix,
    nodes: flags.nodes,
    clusterCidr: flags.clusterCidr,
    serviceCidr: flags.serviceCidr,
    clusterDns: flags.clusterDns,
    proxyMode: flags.proxyMode,
    apiserverPort: flags.apiserverPort,
    etcdClientPort: await freePort(),
    etcdPeerPort: await freePort(),
    // A secure lab's etcd is kubeadm's: TLS with client certificates, /health and /metrics on a plain port of their own.
    ...(secure ? { etcdMetricsPort: await freePort() } : {}),
    schedulerPort: await freePort(),
    controllerManagerPort: await freePort(),
    schedulerSecurePort: (await portFree(10259)) ? 10259 : await freePort(),
    controllerManagerSecurePort: (await portFree(10257)) ? 10257 : await freePort(),
    kubeStateMetricsPort: await freePort(),
    kubeStateMetricsTelemetryPort: await freePort(),
    prometheusPort: flags.prometheus ? flags.prometheusPort : 0,
    metricsServerPort: await freePort(),
    uiPort,
    withKubelet: !flags.withoutKubelet,
    verbosity: flags.v,
    ...(flags.controllerManagerArg.length > 0 ? { controllerManagerArgs: flags.controllerManagerArg } : {}),
    // Recorded either way: a state file without it is a lab made before secure was the default (plain HTTP).
    ...(secure ? { secure: true, securePort: flags.securePort } : { secure: false }),
  };
  writeState({ config, nodes: [], createdHome });

  const started = performance.now();
  io.stdout(`Starting a lab at ${home}: ${flags.nodes} node${flags.nodes === 1 ? "" : "s"} on ${flags.bridge} (${flags.nodeNetwork}), apiserver ${apiserverUrl(config)}\n`);
  io.stdout(`Self-healing timings: apiserver ${LAB_TIMINGS.apiserver.join(" ")}; controller-manager ${LAB_TIMINGS.controllerManager.join(" ")}; scheduler and controller-manager ${LAB_TIMINGS.leaderElection.join(" ")}; kubelet --node-status-update-frequency=${LAB_TIMINGS.kubelet.nodeStatusUpdateFrequency} --node-lease-duration-seconds=${LAB_TIMINGS.kubelet.nodeLeaseDurationSeconds}\n`);
  if (flags.withoutKubelet) io.stdout("Nodes run their container runtime only (--without-kubelet): no Node objects, nothing to wait Ready for.\n");
  const supervisorPid = startSupervisor(home);
  const deadline = started + flags.timeout;

  // Progress: the supervisor's lines as they come, until it has started everything (or failed).
  let printed = 0;
  let status: LabStatus | undefined;
  for (;;) {
    status = await callSupervisor<LabStatus>(home, "GET", "/status", undefined, 5_000).catch(() => undefined);
    if (status !== undefined) {
      for (const line of status.progress.slice(printed)) io.stdout(`  ${line.replace(/^\S+ /, "")}\n`);
      printed = status.progress.length;
      if (status.phase === "up") break;
      if (status.phase === "failed") fail(io, `${status.error ?? "the lab did not come up"}\nLogs: ${logDir(home)}; kubelab down --home ${home} removes what was made.`);
    } else if (!isAlive(supervisorPid)) {
      fail(io, `the supervisor exited; its log ends with:\n${tail(join(logDir(home), "supervisor.log"), 3_000)}\nkubelab down --home ${home} removes what was made.`);
    }
    if (performance.now() > deadline) fail(io, `not up within ${flags.timeout / 1000} s; logs: ${logDir(home)}; kubelab down --home ${home} removes what was made`);
    await sleep(200);
  }

  // Written before the nodes are Ready, so that kubectl can look at a lab that is slow to get there.
  const kubeconfig = kubeconfigPath(home);
  // The secure lab's is kubeadm's admin.conf: TLS, the cluster CA, the admin's certificate (O=system:masters).
  if (config.secure) writeKubeconfigFile(kubeconfig, loadKubeconfig(labPkiPaths(pkiDir(config)).admin.kubeconfig), { cluster: "kubernetes", user: "kubernetes-admin", context: "kubernetes-admin@kubernetes" });
  else writeFileSync(kubeconfig, kubeconfigYaml(apiserverUrl(config)));
  if (config.withKubelet) {
    const names = status.nodes.map((n) => n.name);
    const ready = await waitNodesReady(config, names, deadline, (name) => { io.stdout(`  ${name}: Ready\n`); });
    if (!ready) fail(io, `nodes not Ready within ${flags.timeout / 1000} s; the lab keeps running: KUBECONFIG=${kubeconfig} kubectl describe nodes, kubelab logs kubelet --node N${homeHint(home)}; kubelab down${homeHint(home)} removes it`);
    await waitClusterDns(config, Math.min(deadline, performance.now() + DNS_WAIT_MS), io);
    if (config.metricsServerPort !== undefined) await waitMetricsApi(config, Math.min(deadline, performance.now() + METRICS_WAIT_MS), io);
  }
  io.stdout(upSummary(config, status, (performance.now() - started) / 1000));
}

/** How long `up` waits for the kube-dns Deployment once the nodes are Ready (it then reports, never fails). */
const DNS_WAIT_MS = 60_000;

/** Prints when kube-dns is available, or that it is not yet: the lab is usable without names, so `up` goes on. */
async function waitClusterDns(config: LabConfig, until: number, io: CommandIO): Promise<void> {
  let last: DeploymentAvailability | undefined;
  while (performance.now() < until) {
    last = await kubeDnsAvailability(config);
    if (last !== undefined && last.available >= last.desired) {
      io.stdout(`  cluster DNS: kube-dns available (${last.available}/${last.desired}) at ${config.clusterDns}\n`);
      return;
    }
    await sleep(500);
  }
  const seen = last === undefined ? "no kube-dns Deployment" : `kube-dns ${last.available}/${last.desired} available`;
  io.stdout(`  cluster DNS: not ready yet (${seen}); names may not resolve until it is: kubectl -n kube-system get pods -l k8s-app=kube-dns\n`);
}

/** How long `up` waits for the metrics API to be Available (it then reports, never fails). */
const METRICS_WAIT_MS = 30_000;

async function waitMetricsApi(config: LabConfig, until: number, io: CommandIO): Promise<void> {
  while (performance.now() < until) {
    if (await metricsApiAvailable(config)) {
      io.stdout(`  metrics API: ${METRICS_API_SERVICE} available (kubectl top nodes; pods show up after one --metric-resolution=${METRICS_RESOLUTION})\n`);
      return;
    }
    await sleep(500);
  }
  io.stdout(`  metrics API: not available yet; kubectl top works once it is: kubectl get apiservice ${METRICS_API_SERVICE}\n`);
}

function homeHint(home: string): string {
  return home === resolve(DEFAULT_HOME) ? "" : ` --home ${home}`;
}

function upSummary(config: LabConfig, status: LabStatus, seconds: number): string {
  const homeArg = homeHint(config.home);
  const lines = [
    "",
    `The lab is up in ${seconds.toFixed(1)} s. Use it with:`,
    "",
    `  export KUBECONFIG=${kubeconfigPath(config.home)}`,
    "  kubectl get nodes -o wide",
    "",
    ...(config.uiPort > 0 ? [`  Live view: ${uiUrl(config)}`, ""] : []),
    ...(config.secure
      ? [`  The apiserver is HTTPS only; curl it with the lab's CA and the admin's certificate (or through \`kubectl proxy\`):`, `  curl --cacert ${join(pkiDir(config), "ca.crt")} --cert ${join(pkiDir(config), "admin.crt")} --key ${join(pkiDir(config), "admin.key")} ${apiserverUrl(config)}/version`, ""]
      : ["  The 0.18 lab (--insecure): the apiserver answers anyone on its plain-HTTP port, without authentication.", ""]),
    `  kubelab status${homeArg}                      # what runs, restarts, health`,
    `  kubelab kill runtime --node node-1${homeArg}  # chaos (also stop, start, node-exec, logs)`,
    `  kubelab down${homeArg}                        # removes everything the lab made`,
    "",
    ...(config.prometheusPort > 0 ? [`Prometheus: http://127.0.0.1:${config.prometheusPort} (targets: ${join(config.home, "prometheus", "targets.json")}); metrics URLs: kubelab status -o wide${homeArg}`, ""] : []),
    "Each component's command line (the 0.18-style split, to re-run one by hand after `kubelab stop`; node",
    "components run inside their node's namespace through nsenter):",
    "",
    ...status.components.map((c) => `  # ${c.name}\n  ${c.command}`),
    "",
  ];
  return `${lines.join("\n")}\n`;
}

/** Whether a TCP port is free on every address (the apiserver will take it on the bridge address). */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.once("error", () => { resolveFree(false); });
    server.listen(port, "0.0.0.0", () => server.close(() => { resolveFree(true); }));
  });
}

function startSupervisor(home: string): number {
  const log = openSync(join(logDir(home), "supervisor.log"), "a");
  const child = spawn(process.execPath, [distEntry("lab"), "supervise", "--home", home], {
    detached: true,
    stdio: ["ignore", log, log],
    env: { ...process.env, [LAB_ENV]: home },
  });
  closeSync(log);
  child.unref();
  return child.pid ?? -1;
}

interface NodeList {
  items?: { metadata?: { name?: string }; status?: { conditions?: { type?: string; status?: string }[] } }[];
}

async function readyNodes(config: LabConfig): Promise<Set<string>> {
  const list = (await labGet(config, "/api/v1/nodes")) as NodeList | undefined;
  const ready = (list?.items ?? []).filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
  return new Set(ready.map((n) => n.metadata?.name ?? ""));
}

async function waitNodesReady(config: LabConfig, names: readonly string[], deadline: number, onReady: (name: string) => void): Promise<boolean> {
  const seen = new Set<string>();
  while (performance.now() < deadline) {
    const ready = await readyNodes(config);
    for (const name of names) {
      if (ready.has(name) && !seen.has(name)) {
        seen.add(name);
        onReady(name);
      }
    }
    if (seen.size === names.length) return true;
    await sleep(250);
  }
  return false;
}

// ------------------------------------------------------------------------------------------------ supervise

export async function superviseCommand(argv: readonly string[], io: CommandIO = processIO): Promise<void> {
  const { flags } = parse(homeFlag, argv, "supervise", io, "Runs a lab's processes (started by kubelab up; not meant to be run by hand).");
  await supervise(resolve(flags.home));
}

// ------------------------------------------------------------------------------------------------ status

function requireState(home: string, io: CommandIO): LabState {
  const state = readState(home);
  if (state === undefined) fail(io, `no lab at ${home} (kubelab up starts one; --home names another)`);
  return state;
}

/** A request to the supervisor of the lab at `home`; a missing lab, a dead supervisor or a refusal ends the command. */
async function ask<T>(home: string, io: CommandIO, method: "GET" | "POST", path: string, body?: unknown, timeoutMs?: number): Promise<T> {
  const state = requireState(home, io);
  const pid = state.supervisorPid;
  if (pid === undefined || !isAlive(pid)) {
    return fail(io, `cannot reach the lab at ${home}: its supervisor is not running (crashed or killed?). Its processes may still run: kubelab down --home ${home} removes them.`);
  }
  try {
    return await callSupervisor<T>(home, method, path, body, timeoutMs);
  } catch (err) {
    return fail(io, errorMessage(err));
  }
}

function status(home: string, io: CommandIO): Promise<LabStatus> {
  return ask<LabStatus>(home, io, "GET", "/status", undefined, 10_000);
}

function formatUptime(seconds: number | undefined): string {
  if (seconds === undefined) return "-";
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7_200) return `${Math.floor(seconds / 60)}m`;
  return `${Math.floor(seconds / 3_600)}h`;
}

export function statusTable(components: readonly ComponentStatus[], wide: boolean): string {
  const header = ["COMPONENT", "NODE", "PID", "STATE", "RESTARTS", "UPTIME", "HEALTH", ...(wide ? ["METRICS", "COMMAND"] : [])];
  const rows = components.map((c) => [
    c.component,
    c.node ?? "-",
    c.pid === undefined ? "-" : String(c.pid),
    c.state,
    String(c.restarts),
    formatUptime(c.uptimeSeconds),
    c.health,
    ...(wide ? [c.metricsUrl ?? "-", c.command] : []),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  return [header, ...rows].map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join("   ").trimEnd()).join("\n") + "\n";
}

export async function statusCommand(argv: readonly string[], io: CommandIO = processIO): Promise<void> {
  const { flags } = parse(statusFlags, argv, "status", io, "Every component of the lab: node, pid, state, restarts, uptime, health and metrics URL.");
  const result = await status(resolve(flags.home), io);
  if (flags.output === "json") {
    const { progress: _progress, ...rest } = result;
    io.stdout(`${JSON.stringify(rest, null, 2)}\n`);
    return;
  }
  if (flags.output !== "" && flags.output !== "wide") fail(io, `-o must be json or wide, not ${flags.output}`);
  io.stdout(`Lab at ${result.home}: ${result.phase}${result.error ? ` (${result.error})` : ""}; apiserver ${result.apiserver}; supervisor pid ${result.supervisorPid}\n`);
  io.stdout(statusTable(result.components, flags.output === "wide"));
}

// ------------------------------------------------------------------------------------------------ kill / stop / start

function componentArg(positionals: readonly string[], command: string, io: CommandIO): string {
  const [component, ...extra] = positionals;
  if (component === undefined || extra.length > 0) {
    io.stderr(`Error: kubelab ${command} takes one COMPONENT (etcd, apiserver, scheduler, controller-manager, kube-state-metrics, prometheus, runtime, kubelet, kube-proxy, metrics-server, ui)\n`);
    return io.exit(2);
  }
  return component;
}

function nodeName(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return /^\d+$/.test(value) ? `node-${value}` : value;
}

function printChanged(io: CommandIO, verb: string, changed: readonly ComponentStatus[]): void {
  for (const c of changed) io.stdout(`${c.name}: ${verb} (state ${c.state}, restarts ${c.restarts})\n`);
}

export async function killCommand(argv: readonly string[], io: CommandIO = processIO): Promise<void> {
  const { flags, positionals } = parse(killFlags, argv, "kill", io, "Sends a signal to a component (SIGKILL by default); the supervisor restarts it with backoff unless --no-restart.");
  const component = componentArg(positionals, "kill", io);
  const node = nodeName(flags.node);
  const changed = await ask<ComponentStatus[]>(resolve(flags.home), io, "POST", "/kill", { component, ...(node ? { node } : {}), signal: flags.signal, noRestart: flags.noRestart });
  const signal = flags.signal.toUpperCase();
  printChanged(io, `sent ${signal.startsWith("SIG") ? signal : `SIG${signal}`}`, changed);
}

export async function stopCommand(argv: readonly string[], io: CommandIO = processIO): Promise<void> {
  const { flags, positionals } = parse(targetFlags, argv, "stop", io, "Stops a component (SIGTERM, SIGKILL after 10 s) and keeps it stopped until `kubelab start`.");
  const component = componentArg(positionals, "stop", io);
  const node = nodeName(flags.node);
  const changed = await ask<ComponentStatus[]>(resolve(flags.home), io, "POST", "/stop", { component, ...(node ? { node } : {}) });
  printChanged(io, "stopped", changed);
}

export async function startCommand(argv: readonly string[], io: CommandIO = processIO): Promise<void> {
  const { flags, positionals } = parse(targetFlags, argv, "start", io, "Starts a stopped component again (supervised) and waits until it is ready.");
  const component = componentArg(positionals, "start", io);
  const node = nodeName(flags.node);
  const changed = await ask<ComponentStatus[]>(resolve(flags.home), io, "POST", "/start", { component, ...(node ? { node } : {}) });
  printChanged(io, "started", changed);
}

// ------------------------------------------------------------------------------------------------ node-exec

export async function nodeExecCommand(argv: readonly string[], io: CommandIO = processIO): Promise<void> {
  const dashes = argv.indexOf("--");
  const own = dashes < 0 ? argv : argv.slice(0, dashes);
  const command = dashes < 0 ? [] : argv.slice(dashes + 1);
  const { flags, positionals } = parse(homeFlag, own, "node-exec", io, "Runs a command in a node's network namespace: kubelab node-exec node-1 -- curl -s 10.244.1.2:8080");
  const [given, ...extra] = positionals;
  const name = nodeName(given);
  if (name === undefined || extra.length > 0 || command.length === 0) {
    io.stderr("Error: usage: kubelab node-exec NODE -- COMMAND [ARGS...]\n");
    return io.exit(2);
  }
  const state = requireState(resolve(flags.home), io);
  const index = nodeIndex(name);
  if (index === undefined || !state.nodes.includes(name)) fail(io, `no node ${name} in the lab (nodes: ${state.nodes.join(", ")})`);
  const node = nodePlan(state.config, index);
  const code = await new Promise<number>((resolveCode) => {
    const child = spawn("ip", ["netns", "exec", node.netns, ...command], { stdio: "inherit" });
    child.once("error", (err) => {
      io.stderr(`Error: ${err.message}\n`);
      resolveCode(1);
    });
    child.once("exit", (exitCode, signal) => { resolveCode(exitCode ?? (signal ? 128 + 9 : 1)); });
  });
  io.exit(code);
}

// ------------------------------------------------------------------------------------------------ logs

function tail(file: string, chars: number): string {
  try {
    const text = readFileSync(file, "utf8");
    return text.slice(-chars);
  } catch {
    return "(no log)";
  }
}

export async function logsCommand(argv: readonly string[], io: CommandIO = processIO): Promise<void> {
  const { flags, positionals } = parse(logsFlags, argv, "logs", io, "Prints a component's log (its stdout and stderr across restarts); -f follows it.");
  const word = componentArg(positionals, "logs", io);
  const home = resolve(flags.home);
  requireState(home, io);
  const node = nodeName(flags.node);
  let name: string;
  if (word === "supervisor") name = "supervisor";
  else {
    try {
      name = node === undefined ? componentKind(word) : `${componentKind(word)} ${node}`;
    } catch (err) {
      return fail(io, errorMessage(err));
    }
  }
  const file = join(logDir(home), logFileName(name));
  if (!existsSync(file)) fail(io, `no log ${file}${node === undefined && (word === "runtime" || word === "kubelet" || word === "kube-proxy" || word === "proxy") ? " (node components need --node)" : ""}`);
  let offset = 0;
  const printNew = (): void => {
    const size = statSync(file).size;
    if (size < offset) offset = 0;
    if (size === offset) return;
    const fd = openSync(file, "r");
    const buffer = Buffer.alloc(size - offset);
    readSync(fd, buffer, 0, buffer.length, offset);
    closeSync(fd);
    offset = size;
    io.stdout(buffer.toString("utf8"));
  };
  printNew();
  if (!flags.follow) return;
  for (;;) {
    await sleep(300);
    printNew();
  }
}

// ------------------------------------------------------------------------------------------------ add-node / remove-node

export async function addNodeCommand(argv: readonly string[], io: CommandIO = processIO): Promise<void> {
  const { flags, positionals } = parse(homeFlag, argv, "add-node", io, "Adds a node (the next free node-N, or the NAME given) and waits until it is Ready.");
  const home = resolve(flags.home);
  const state = requireState(home, io);
  const name = nodeName(positionals[0]);
  const node = await ask<{ name: string; ip: string; netns: string }>(home, io, "POST", "/add-node", name ? { name } : {});
  io.stdout(`${node.name}: ${node.ip} in network namespace ${node.netns}\n`);
  if (state.config.withKubelet) {
    const ok = await waitNodesReady(state.config, [node.name], performance.now() + 120_000, (n) => { io.stdout(`${n}: Ready\n`); });
    if (!ok) fail(io, `${node.name} not Ready within 120 s (kubelab logs kubelet --node ${node.name})`);
  }
}

export async function removeNodeCommand(argv: readonly string[], io: CommandIO = processIO): Promise<void> {
  const { flags, positionals } = parse(homeFlag, argv, "remove-node", io, "Removes a node: its processes, pods' containers, namespaces, files, and its Node object.");
  const name = nodeName(positionals[0]);
  if (name === undefined) {
    io.stderr("Error: usage: kubelab remove-node NAME\n");
    return io.exit(2);
  }
  await ask(resolve(flags.home), io, "POST", "/remove-node", { name });
  io.stdout(`${name}: removed\n`);
}

// ------------------------------------------------------------------------------------------------ down

/** What is left of the lab at `home` on this host (empty after a good `down`). */
export async function labLeftovers(state: LabState): Promise<string[]> {
  const { config } = state;
  const found: string[] = [];
  for (const pid of labProcesses(config.home)) found.push(`process ${pid}`);
  for (const name of knownNodes(state)) {
    const index = nodeIndex(name);
    if (index !== undefined && netnsExists(nodePlan(config, index).netns)) found.push(`network namespace ${nodePlan(config, index).netns}`);
  }
  if (linkExists(config.bridge)) found.push(`bridge ${config.bridge}`);
  for (const rule of await firewallLeftovers(config)) found.push(`iptables ${rule}`);
  for (const point of mountsUnder(config.home)) found.push(`mount ${point}`);
  return found;
}

/** The nodes in lab.json plus any node directory left on disk (a node half made when the supervisor died). */
function knownNodes(state: LabState): string[] {
  const names = new Set(state.nodes);
  const dir = join(state.config.home, "nodes");
  if (existsSync(dir)) for (const name of readdirSync(dir)) if (nodeIndex(name) !== undefined) names.add(name);
  for (let index = 1; index <= state.config.nodes; index++) names.add(`node-${index}`);
  return [...names];
}

export async function downCommand(argv: readonly string[], io: CommandIO = processIO): Promise<void> {
  const { flags } = parse(homeFlag, argv, "down", io, "Removes everything the lab made: processes (and pods' containers, and what runs by hand in a node's namespace), network namespaces, the bridge, firewall rules, mounts, cgroups and files. Works after a crash or kill -9 of the supervisor too.");
  const home = resolve(flags.home);
  const state = readState(home);
  if (state === undefined) {
    io.stdout(`No lab at ${home}.\n`);
    return;
  }
  if (process.getuid?.() !== 0) fail(io, "kubelab down needs root, like kubelab up");
  const { config } = state;
  const pid = state.supervisorPid;
  if (pid !== undefined && isAlive(pid)) {
    io.stdout("Stopping the supervisor and its processes…\n");
    await callSupervisor(home, "POST", "/shutdown", {}, 60_000).catch(() => undefined);
    for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(100);
  }
  // Whatever still runs with the lab's mark (after a kill -9 of the supervisor: every component) is killed.
  for (let round = 0; round < 50; round++) {
    const left = labProcesses(home);
    if (left.length === 0) break;
    killProcesses(left);
    await sleep(100);
  }
  const report = (message: string): void => { io.stderr(`warning: ${message}\n`); };
  for (const name of knownNodes(state)) {
    const index = nodeIndex(name);
    if (index === undefined) continue;
    const node = nodePlan(config, index);
    await cleanupNodeRuntime(node, (m) => { report(`${name}: ${m}`); });
    await deleteNodeNetwork(node).catch((err: unknown) => { report(errorMessage(err)); });
    io.stdout(`${name}: removed (namespace ${node.netns})\n`);
  }
  await removeFirewall(config);
  await deleteBridge(config).catch((err: unknown) => { report(errorMessage(err)); });
  for (const point of mountsUnder(home)) await run(["umount", "-R", "-l", point]).catch((err: unknown) => { report(errorMessage(err)); });
  const left = await labLeftovers(state);
  if (left.length > 0) fail(io, `some of the lab is left (run kubelab down again, or remove by hand):\n  ${left.join("\n  ")}`);
  if (state.createdHome) rmSync(home, { recursive: true, force: true });
  else for (const entry of ["nodes", "etcd", "logs", "prometheus", "pki", "kubeconfig", controlSocketPath(home), statePath(home)]) rmSync(resolve(home, entry), { recursive: true, force: true });
  io.stdout(`The lab at ${home} is down: bridge ${config.bridge}, namespaces, firewall rules, processes and files removed.\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
