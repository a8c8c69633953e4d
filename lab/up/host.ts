// Everything `kubelab up` changes on the host, and how it is undone: the lab bridge with the host's address on it,
// each node's network namespace and veth, the firewall rules that keep the lab's addresses inside the machine, and
// (on the way down) what a node's runtime leaves behind it: runc containers and their conmon, pod network
// namespaces, overlay mounts, cgroups. Every step is idempotent and tolerant of a half-made or half-removed lab,
// so `kubelab down` works after a crash or a kill -9 of the supervisor as well as after a clean stop.
//
// Addresses and forwarding. The host's ip_forward is left as it is. Nodes get a route to the node network (their
// veth's subnet) and to the Service range via the host, and nothing else: no default route, no NAT, so a node or a
// pod cannot send anything off the machine. Pod networks are routed between node namespaces by the kubelets
// (--pod-routes host-gw) over the bridge, which never touches the host's routing. Two sets of iptables rules, each
// tagged with the lab's home in a comment, close what remains: the host's address on the bridge (where the
// apiserver listens) answers only from the bridge and from the host itself, and the host never forwards a packet
// into or out of the bridge (if it routes at all, e.g. with Docker's ip_forward=1) except between two of the lab's
// own ports on it, which br_netfilter may show to the FORWARD chain.
import { execFile } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { errorMessage } from "../../api/errors.js";
import { bridgeIp, prefixLength, type LabConfig, type NodePlan } from "./config.js";

const execFileAsync = promisify(execFile);

/** Runs a command; rejects with its stderr. */
export async function run(argv: readonly string[], timeoutMs = 20_000): Promise<string> {
  const [command, ...args] = argv;
  if (command === undefined) throw new Error("empty command");
  try {
    return (await execFileAsync(command, args, { encoding: "utf8", timeout: timeoutMs })).stdout;
  } catch (err) {
    const stderr = typeof err === "object" && err !== null && "stderr" in err ? String(err.stderr).trim() : "";
    throw new Error(`${argv.join(" ")}: ${stderr || errorMessage(err)}`);
  }
}

/** Runs a command whose failure is expected when the thing is already gone. */
async function tryRun(argv: readonly string[]): Promise<boolean> {
  return run(argv).then(
    () => true,
    () => false,
  );
}

export function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

export function netnsExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`);
}

// ------------------------------------------------------------------------------------------------ bridge

export async function createBridge(config: LabConfig): Promise<void> {
  if (linkExists(config.bridge)) throw new Error(`a network interface named ${config.bridge} exists already; is another lab up? (kubelab down, or --bridge)`);
  await run(["ip", "link", "add", config.bridge, "type", "bridge"]);
  await run(["ip", "addr", "add", `${bridgeIp(config)}/${prefixLength(config)}`, "dev", config.bridge]);
  await run(["ip", "link", "set", config.bridge, "up"]);
}

export async function deleteBridge(config: Pick<LabConfig, "bridge">): Promise<void> {
  if (linkExists(config.bridge)) await run(["ip", "link", "delete", config.bridge]);
}

// ------------------------------------------------------------------------------------------------ firewall

/** One rule as iptables takes it after -I/-A/-D and the chain name. */
export interface FirewallRule {
  chain: string;
  spec: string[];
}

function inputChain(config: Pick<LabConfig, "bridge">): string {
  return `KUBELAB-IN-${config.bridge}`.slice(0, 28);
}

/** The rules keeping the lab's addresses inside the machine (see the top of this file), in the order they apply. */
export function firewallRules(config: LabConfig): { chain: string; chainRules: string[][]; rules: FirewallRule[] } {
  const comment = ["-m", "comment", "--comment", `kubelab lab ${config.home}`.slice(0, 255)];
  const chain = inputChain(config);
  const br = config.bridge;
  return {
    chain,
    chainRules: [
      ["-i", "lo", ...comment, "-j", "RETURN"],
      ["-i", br, ...comment, "-j", "RETURN"],
      [...comment, "-j", "DROP"],
    ],
    rules: [
      { chain: "INPUT", spec: ["-d", `${bridgeIp(config)}/32`, ...comment, "-j", chain] },
      { chain: "FORWARD", spec: ["-i", br, "-o", br, ...comment, "-j", "ACCEPT"] },
      { chain: "FORWARD", spec: ["-i", br, "!", "-o", br, ...comment, "-j", "DROP"] },
      { chain: "FORWARD", spec: ["!", "-i", br, "-o", br, ...comment, "-j", "DROP"] },
    ],
  };
}

export async function addFirewall(config: LabConfig): Promise<void> {
  const { chain, chainRules, rules } = firewallRules(config);
  await removeFirewall(config);
  await run(["iptables", "-w", "-N", chain]);
  for (const spec of chainRules) await run(["iptables", "-w", "-A", chain, ...spec]);
  // Inserted at the top, last first, so that they apply in the order listed.
  for (const rule of [...rules].reverse()) await run(["iptables", "-w", "-I", rule.chain, "1", ...rule.spec]);
}

export async function removeFirewall(config: LabConfig): Promise<void> {
  const { chain, rules } = firewallRules(config);
  for (const rule of rules) {
    while (await tryRun(["iptables", "-w", "-D", rule.chain, ...rule.spec])) {
      // A rule added twice (an interrupted up) is deleted twice.
    }
  }
  await tryRun(["iptables", "-w", "-F", chain]);
  await tryRun(["iptables", "-w", "-X", chain]);
}

/** The lab's rules still in the host's tables (for the tests and `kubelab down`'s check). */
export async function firewallLeftovers(config: Pick<LabConfig, "bridge" | "home">): Promise<string[]> {
  const rules = await run(["iptables", "-w", "-S"]).catch(() => "");
  return rules.split("\n").filter((line) => line.includes(inputChain(config)) || line.includes(`kubelab lab ${config.home}`));
}

// ------------------------------------------------------------------------------------------------ nodes

/** The node's namespace: loopback up, a veth to the bridge with the node's IP, forwarding on inside it. */
export async function createNodeNetwork(config: LabConfig, node: NodePlan): Promise<void> {
  if (netnsExists(node.netns)) throw new Error(`network namespace ${node.netns} exists already (kubelab down removes a lab's leftovers)`);
  await run(["ip", "netns", "add", node.netns]);
  await run(["ip", "-n", node.netns, "link", "set", "lo", "up"]);
  if (linkExists(node.hostVeth)) await run(["ip", "link", "delete", node.hostVeth]);
  await run(["ip", "link", "add", node.hostVeth, "type", "veth", "peer", "name", "eth0", "netns", node.netns]);
  await run(["ip", "link", "set", node.hostVeth, "master", config.bridge]);
  await run(["ip", "link", "set", node.hostVeth, "up"]);
  await run(["ip", "-n", node.netns, "addr", "add", `${node.ip}/${prefixLength(config)}`, "dev", "eth0"]);
  await run(["ip", "-n", node.netns, "link", "set", "eth0", "up"]);
  // Services are DNATed inside the node; the route only lets a connect() to a ClusterIP reach that rule.
  await run(["ip", "-n", node.netns, "route", "add", config.serviceCidr, "via", bridgeIp(config)]);
  // The node routes between its pods' veths and the bridge (this namespace's own setting; the host's is untouched).
  await run(["ip", "netns", "exec", node.netns, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
  // Pods reach the apiserver (and the host) as their node: the host has no routes to the pod network, and the
  // rule lives in the node's own tables, so it goes with the namespace.
  await run(["ip", "netns", "exec", node.netns, ...podsToHostMasquerade(config)]);
}

/**
 * The network of a node that is a container (docker-compose.yml): Docker gave it its address on the node network.
 * connect() to a ClusterIP needs a route before kube-proxy's DNAT applies; it is on-link on the node network, so a
 * Service address without a rule goes nowhere (no gateway forwards it). Pods reach the rest of the node network
 * (the apiserver, etcd, other nodes' addresses) as their node, since no other container routes the pod network.
 * Forwarding (net.ipv4.ip_forward) is the container's own sysctl, set by compose. Idempotent.
 */
export async function prepareContainerNode(config: LabConfig, node: NodePlan): Promise<void> {
  const device = (await run(["ip", "-o", "-4", "addr", "show"])).split("\n").find((line) => line.includes(` ${node.ip}/`))?.split(/\s+/)[1];
  if (device === undefined) throw new Error(`no interface of this container has the address ${node.ip}`);
  await run(["ip", "route", "replace", config.serviceCidr, "dev", device]);
  const masquerade = ["POSTROUTING", "-s", config.clusterCidr, "-d", config.nodeNetwork, "-m", "comment", "--comment", "kubelab: pods reach the node network as their node", "-j", "MASQUERADE"];
  if (!(await tryRun(["iptables", "-w", "-t", "nat", "-C", ...masquerade]))) await run(["iptables", "-w", "-t", "nat", "-A", ...masquerade]);
}

/** The node-namespace rule that masquerades pods' traffic to the host's bridge address (iptables argv). */
export function podsToHostMasquerade(config: LabConfig): string[] {
  return ["iptables", "-w", "-t", "nat", "-A", "POSTROUTING", "-s", config.clusterCidr, "-d", `${bridgeIp(config)}/32`, "-m", "comment", "--comment", "kubelab: pods reach the host as their node", "-j", "MASQUERADE"];
}

/** Stops everything a node's runtime left running, then removes its namespaces, mounts, cgroups. */
export async function cleanupNodeRuntime(node: NodePlan, report: (message: string) => void): Promise<void> {
  const runcRoot = join(node.runcStateDir, "runc");
  if (existsSync(runcRoot)) {
    const listed = await run(["runc", "--root", runcRoot, "list", "-q"]).catch(() => "");
    for (const id of listed.split("\n").filter((line) => line !== "")) {
      if (!(await tryRun(["runc", "--root", runcRoot, "delete", "--force", id]))) report(`runc delete --force ${id} failed`);
    }
  }
  // The trailing slash keeps node-1 from matching node-10.
  killProcesses(processesMentioning(`${node.dir}/`));
  const { netns, cgroups } = podLeftovers(node);
  for (const name of netns) await tryRun(["ip", "netns", "delete", name]);
  for (const point of mountsUnder(node.dir)) {
    if (!(await tryRun(["umount", "-R", "-l", point]))) report(`umount ${point} failed`);
  }
  for (const cgroup of cgroups) await removeCgroups(cgroup);
}

/**
 * Deletes a node's namespace and veth. What still runs in the namespace was started there by hand (a node component
 * from its printed command line): it is killed first, else it would run on, unseen, in a namespace nothing reaches.
 */
export async function deleteNodeNetwork(node: NodePlan): Promise<void> {
  if (netnsExists(node.netns)) {
    killProcesses(processesInNetns(`/run/netns/${node.netns}`));
    await run(["ip", "netns", "delete", node.netns]);
  }
  if (linkExists(node.hostVeth)) await tryRun(["ip", "link", "delete", node.hostVeth]);
}

/**
 * The pod network namespaces and pod cgroups a node's runtime made, from its records: its sandboxes (under
 * <runtime root>/oci/sandboxes) and its pod network records (under <runc state>/networks).
 */
export function podLeftovers(node: NodePlan): { netns: string[]; cgroups: string[] } {
  const netns = new Set<string>();
  const cgroups = new Set<string>();
  const addNetns = (path: unknown): void => {
    if (typeof path === "string" && path.startsWith("/run/netns/")) netns.add(basename(path));
  };
  for (const record of jsonFiles(join(node.runtimeRoot, "oci", "sandboxes"))) {
    addNetns(field(record, ["netnsPath"]));
    const id = field(record, ["id"]);
    const parent = field(record, ["config", "linux", "cgroupParent"]);
    if (typeof parent === "string" && parent !== "") cgroups.add(parent);
    else if (typeof id === "string") cgroups.add(`/kubelab/pod-${id.slice(0, 12)}`);
  }
  for (const record of jsonFiles(join(node.runcStateDir, "networks"))) addNetns(field(record, ["attachment", "netnsPath"]));
  return { netns: [...netns], cgroups: [...cgroups] };
}

function jsonFiles(dir: string): unknown[] {
  if (!existsSync(dir)) return [];
  const out: unknown[] = [];
  for (const file of readdirSync(dir)) {
    if (!file.endsWith(".json")) continue;
    try {
      out.push(JSON.parse(readFileSync(join(dir, file), "utf8")));
    } catch {
      // A torn or foreign file: nothing to learn from it.
    }
  }
  return out;
}

function field(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== "object" || current === null) return undefined;
    current = Reflect.get(current, key);
  }
  return current;
}

// ------------------------------------------------------------------------------------------------ processes, mounts, cgroups

/** The environment variable every lab process carries (inherited by what it starts), naming the lab's home. */
export const LAB_ENV = "KUBELAB_LAB_HOME";

function readProc(pid: string, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8");
  } catch {
    return "";
  }
}

function pids(): string[] {
  return readdirSync("/proc").filter((name) => /^\d+$/.test(name) && Number(name) !== process.pid);
}

/** Processes started by the lab at `home` (they carry LAB_ENV=home), the supervisor included. */
export function labProcesses(home: string): number[] {
  const marker = `${LAB_ENV}=${home}\0`;
  return pids()
    .filter((pid) => `${readProc(pid, "environ")}\0`.includes(marker))
    .map(Number);
}

/** Processes whose command line mentions `marker` (a node's directory: conmon, runc, the node's daemons). */
export function processesMentioning(marker: string): number[] {
  return pids()
    .filter((pid) => readProc(pid, "cmdline").includes(marker))
    .map(Number);
}

/**
 * Processes (but this one) whose network namespace is the one bound at `netnsFile` (/run/netns/NAME): in a node's
 * namespace, whatever a user started there by hand, such as a node component run from the command line `up` prints,
 * which carries no lab mark. None when the file does not exist.
 */
export function processesInNetns(netnsFile: string): number[] {
  let target: { dev: number; ino: number };
  try {
    target = statSync(netnsFile);
  } catch {
    return [];
  }
  return pids()
    .filter((pid) => {
      try {
        const ns = statSync(`/proc/${pid}/ns/net`);
        return ns.ino === target.ino && ns.dev === target.dev;
      } catch {
        return false;
      }
    })
    .map(Number);
}

export function killProcesses(list: readonly number[], signal: NodeJS.Signals = "SIGKILL"): void {
  for (const pid of list) {
    try {
      process.kill(pid, signal);
    } catch {
      // Gone already.
    }
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Mount points at or below `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
  return readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((line) => (line.split(" ")[1] ?? "").replace(/\\040/g, " "))
    .filter((point) => point === dir || point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

/** The directories of cgroup `path` in every hierarchy (v1: one per controller; v2: the unified one). */
export function cgroupDirs(path: string): string[] {
  const root = "/sys/fs/cgroup";
  const relative = path.replace(/^\/+/, "");
  if (relative === "" || !existsSync(root)) return [];
  const hierarchies = existsSync(join(root, "cgroup.controllers")) ? [root] : readdirSync(root).map((name) => join(root, name));
  return hierarchies.map((h) => join(h, relative)).filter((dir) => existsSync(dir));
}

/** Removes a cgroup and its children, deepest first, in every hierarchy (they must hold no process). */
export async function removeCgroups(path: string): Promise<void> {
  for (const dir of cgroupDirs(path)) {
    await execFileAsync("find", [dir, "-depth", "-type", "d", "-exec", "rmdir", "{}", ";"]).catch(() => undefined);
  }
}
