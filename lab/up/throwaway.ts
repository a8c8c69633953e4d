// A throw-away `kubelab up` for tests and benchmarks: the built CLI (dist/lab/main.js) on its own home, bridge,
// node network and namespace prefix (random, so it never meets a user's lab or another run's), driven only through
// the CLI and the real kubectl. tearDown() runs `kubelab down` and then removes by hand whatever that left, so a
// failed run still leaves the host clean.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { distEntry } from "../components/entries.js";
import { labPkiPaths } from "../pki/pki.js";
import { freePort } from "../process/ports.js";
import { apiserverUrl, pkiDir } from "./config.js";
import { firewallLeftovers, killProcesses, labProcesses, linkExists, mountsUnder, netnsExists, processesInNetns, processesMentioning, removeFirewall, run } from "./host.js";
import { readState, type LabState } from "./state.js";

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Whether this host can run a lab with kubelets: root, the node tools and a build with every program `up` starts. */
export function labPrerequisites(): { ok: boolean; reason: string } {
  const isRoot = process.getuid?.() === 0;
  const tools = ["/usr/sbin/runc", "/usr/bin/conmon", "/usr/lib/cni/ptp", "/bin/busybox", "/usr/bin/nsenter"].filter((p) => !existsSync(p));
  const programs = (["lab", "apiserver", "scheduler", "controller-manager", "container-runtime", "kubelet", "kube-proxy", "cluster-dns"] as const).filter((p) => !existsSync(distEntry(p)));
  const missing = [...(isRoot ? [] : ["root"]), ...tools, ...programs.map((p) => `${distEntry(p)} (npm run build)`)];
  return { ok: missing.length === 0, reason: `needs ${missing.join(", ")}` };
}

/**
 * Runs a program to its end and resolves with its exit code and output (never rejects); after timeoutMs it is
 * killed. `detached` puts it in its own process group, out of reach of a terminal's Ctrl-C.
 */
function exec(file: string, args: readonly string[], timeoutMs: number, detached = false): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: ["ignore", "pipe", "pipe"], detached });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMs} ms)`;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve({ code: 1, stdout, stderr: `${stderr}${err.message}` });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
  });
}

/**
 * Where and as whom a test reaches the lab's apiserver (test/support/http.ts's ApiTarget): the URL, the CA of its
 * serving certificate and the admin's client certificate; the URL alone for an `up --insecure` lab.
 */
export interface LabApiTarget {
  url: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

/** One lab's names, all unique to this run (`tag` names the test or bench that made it). */
export class TestLab {
  readonly id = Math.random().toString(16).slice(2, 6);
  readonly home: string;
  readonly bridge: string;
  readonly netnsPrefix: string;
  readonly subnet = 100 + Math.floor(Math.random() * 150);
  readonly nodeNetwork = `172.28.${this.subnet}.0/24`;
  /** The insecure port (`up --insecure`), or the secure port (the default); both picked free at up(). */
  apiserverPort = 0;
  securePort = 0;
  nodes = 0;
  private state: LabState | undefined;

  constructor(tag: string) {
    this.home = `/tmp/kubelab-${tag}-${this.id}`;
    this.bridge = `k${tag.slice(0, 4)}${this.id}`;
    this.netnsPrefix = this.bridge;
  }

  get kubeconfig(): string {
    return join(this.home, "kubeconfig");
  }

  /** The host's address on the lab bridge (where the apiserver listens). */
  get bridgeIp(): string {
    return `172.28.${this.subnet}.1`;
  }

  /** Whether the lab runs secure (the default; false after `up --insecure`). */
  get secure(): boolean {
    return this.labState().config.secure === true;
  }

  /** The apiserver as the lab's admin (kubeadm's admin.conf: the CA and the admin's certificate), for raw requests. */
  get api(): LabApiTarget {
    const { config } = this.labState();
    if (config.secure !== true) return { url: apiserverUrl(config) };
    const pki = labPkiPaths(pkiDir(config));
    return { url: apiserverUrl(config), caFile: pki.caCert, certFile: pki.admin.cert, keyFile: pki.admin.key };
  }

  private labState(): LabState {
    this.state ??= readState(this.home);
    if (this.state === undefined) throw new Error(`no lab at ${this.home}: up() first`);
    return this.state;
  }

  nodeIp(index: number): string {
    return `172.28.${this.subnet}.${10 + index}`;
  }

  /** `kubelab ARGS --home HOME`; never rejects on a non-zero exit. */
  kubelab(args: readonly string[], timeoutMs = 180_000, detached = false): Promise<CommandResult> {
    // --home goes before a `--` (after it, everything is the node command's).
    const dashes = args.indexOf("--");
    const withHome = dashes < 0 ? [...args, "--home", this.home] : [...args.slice(0, dashes), "--home", this.home, ...args.slice(dashes)];
    return exec(process.execPath, [distEntry("lab"), ...withHome], timeoutMs, detached);
  }

  async ok(args: readonly string[], timeoutMs?: number): Promise<string> {
    const result = await this.kubelab(args, timeoutMs);
    if (result.code !== 0) throw new Error(`kubelab ${args.join(" ")} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
    return result.stdout;
  }

  /** `kubelab up --nodes N` with this lab's names; resolves with its output once every node is Ready. */
  async up(nodes: number, extra: readonly string[] = []): Promise<string> {
    this.apiserverPort = await freePort();
    this.securePort = await freePort();
    this.nodes = nodes;
    // The live view on a free port unless the caller picks one: labs of parallel runs must not race for 8484.
    const ui = extra.some((a) => a.startsWith("--ui-port") || a === "--no-ui") ? [] : ["--ui-port", "0"];
    const args = ["up", "--nodes", String(nodes), "--bridge", this.bridge, "--node-network", this.nodeNetwork, "--netns-prefix", this.netnsPrefix, "--apiserver-port", String(this.apiserverPort), ...(extra.includes("--secure-port") ? [] : ["--secure-port", String(this.securePort)]), "--timeout", "150s", ...ui, ...extra];
    const result = await this.kubelab(args);
    this.state = readState(this.home);
    if (result.code !== 0) throw new Error(`kubelab up exited ${result.code}:\n${result.stdout}\n${result.stderr}\n${this.log("supervisor.log")}`);
    return result.stdout;
  }

  log(file: string): string {
    try {
      return readFileSync(join(this.home, "logs", file), "utf8").slice(-4_000);
    } catch {
      return "";
    }
  }

  /** The supervisor's pid (the parent of every lab component), from the lab's state file. */
  supervisorPid(): number | undefined {
    return readState(this.home)?.supervisorPid;
  }

  /** `kubelab node-exec NODE -- COMMAND...`; never rejects on a non-zero exit. */
  nodeExec(node: string, command: readonly string[], timeoutMs = 30_000): Promise<CommandResult> {
    return this.kubelab(["node-exec", node, "--", ...command], timeoutMs);
  }

  /** The real kubectl against this lab; never rejects on a non-zero exit. */
  kubectl(args: readonly string[], timeoutMs = 60_000): Promise<CommandResult> {
    return exec("kubectl", ["--kubeconfig", this.kubeconfig, "--cache-dir", join(this.home, "kubectl-cache"), ...args], timeoutMs);
  }

  async kubectlOk(...args: string[]): Promise<string> {
    const result = await this.kubectl(args);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(" ")} exited ${result.code}:\n${result.stdout}\n${result.stderr}`);
    return result.stdout;
  }

  /**
   * `kubelab down`, then by hand whatever it left. `kubelab down` runs in its own process group, so that it finishes
   * even when a Ctrl-C reached this process (whose clean-up may give up waiting and exit).
   */
  async tearDown(): Promise<CommandResult> {
    const result = await this.kubelab(["down"], 120_000, true);
    killProcesses(labProcesses(this.home));
    for (let i = 1; i <= Math.max(this.nodes, 1) + 1; i++) {
      killProcesses(processesInNetns(`/run/netns/${this.netnsPrefix}-node-${i}`));
      await run(["ip", "netns", "delete", `${this.netnsPrefix}-node-${i}`]).catch(() => undefined);
    }
    if (linkExists(this.bridge)) await run(["ip", "link", "delete", this.bridge]).catch(() => undefined);
    if (this.state) await removeFirewall(this.state.config).catch(() => undefined);
    for (const point of mountsUnder(this.home)) await run(["umount", "-R", "-l", point]).catch(() => undefined);
    await run(["rm", "-rf", this.home]).catch(() => undefined);
    return result;
  }

  /** What is left on the host of this lab: processes, namespaces, the bridge, firewall rules, mounts, files. */
  async leftovers(): Promise<string[]> {
    const found = [...new Set([...labProcesses(this.home), ...processesMentioning(`${this.home}/`)])].map((pid) => `process ${pid}`);
    for (let i = 1; i <= Math.max(this.nodes, 1) + 1; i++) if (netnsExists(`${this.netnsPrefix}-node-${i}`)) found.push(`netns ${this.netnsPrefix}-node-${i}`);
    if (linkExists(this.bridge)) found.push(`bridge ${this.bridge}`);
    found.push(...(await firewallLeftovers({ bridge: this.bridge, home: this.home })).map((r) => `iptables ${r}`));
    found.push(...mountsUnder(this.home).map((m) => `mount ${m}`));
    if (existsSync(this.home)) found.push(`directory ${this.home}`);
    return found;
  }

  /** Runs `start` (bringing the lab up for a suite); if it fails, the lab is torn down before the error goes on. */
  async startOrTearDown<T>(start: () => Promise<T>): Promise<T> {
    try {
      return await start();
    } catch (err) {
      await this.tearDown();
      throw err;
    }
  }

  /** Tears the lab down and fails unless `kubelab down` exited 0 and nothing of the lab is left on the host. */
  async downCleanly(): Promise<CommandResult> {
    const down = await this.tearDown();
    if (down.code !== 0) throw new Error(`kubelab down exited ${down.code}:\n${down.stdout}\n${down.stderr}`);
    const left = await this.leftovers();
    if (left.length > 0) throw new Error(`kubelab down left behind: ${left.join(", ")}`);
    return down;
  }
}
