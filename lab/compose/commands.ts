// The two commands docker-compose.yml runs besides the components themselves:
// - `kubelab node`: the main process of a node container. It runs the node's runtime, kubelet and kube-proxy under
//   the same supervisor as `kubelab up` (restart: always with backoff, restart counts, `kubelab status|kill|logs`
//   inside the container), with the container's own network namespace as the node's. The node is named after its
//   address, by the lab's plan (node-N is the node network's (10+N)th address), so node-1..node-3 at fixed addresses
//   and nodes added with `--scale node=K` (addresses Docker picks) all get distinct, stable names. Every start is a
//   fresh node, as after a reboot: what a previous run left under the node's directory is removed first.
// - `kubelab publish`: a TCP relay from the host's loopback to the apiserver (run in the host's network namespace),
//   because Docker does not publish ports of a container that is only on an internal network. It writes the host's
//   kubeconfig for the address it listens on.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { errorMessage } from "../../api/errors.js";
import { processIO, type CommandIO } from "../../component-base/command-io.js";
import { defineFlags, parseCommandLine, type FlagSpecs, type FlagValues } from "../../component-base/flags.js";
import { nodePlan, parseCidr, type LabConfig } from "../up/config.js";
import { kubeconfigYaml, logDir, writeState } from "../up/state.js";
import { supervise } from "../up/supervisor.js";

const nodeFlags = defineFlags({
  home: { type: "string", default: process.env.KUBELAB_HOME ?? "/var/lib/kubelab", help: "The node's directory: its state, logs, runtime and kubelet files (a volume: overlay mounts need a real filesystem)." },
  apiserver: { type: "string", default: process.env.KUBELAB_APISERVER ?? "", help: "The apiserver URL (the apiserver container, or the HA load balancer)." },
  nodeNetwork: { type: "string", default: process.env.KUBELAB_NODE_NETWORK ?? "172.30.0.0/16", help: "The compose network's subnet: this container's address in it names the node." },
  clusterCidr: { type: "string", default: "10.244.0.0/16", help: "The pod network (the controller-manager gives each node a /24 of it)." },
  serviceCidr: { type: "string", default: "10.96.0.0/12", help: "The Service ClusterIP range." },
  clusterDns: { type: "string", default: "10.96.0.10", help: "The cluster DNS Service IP." },
  dnsReplicas: { type: "number", default: 2, help: "kube-dns replicas, if this node is the one that creates the add-on." },
  proxyMode: { type: "string", default: "iptables", help: "kube-proxy's mode: iptables or userspace." },
  v: { type: "number", default: 0, help: "Verbosity of every component." },
});

const publishFlags = defineFlags({
  listen: { type: "string", default: "127.0.0.1:8080", help: "host:port to accept connections on (keep it on loopback: the apiserver has no authentication)." },
  to: { type: "string", default: "", help: "host:port of the apiserver on the compose network." },
  kubeconfig: { type: "string", default: "", help: "Where to write a kubeconfig for http://<listen> (a folder mounted from the host)." },
});

function parse<S extends FlagSpecs>(spec: S, argv: readonly string[], command: string, io: CommandIO, summary: string): FlagValues<S> {
  return parseCommandLine(spec, argv, { command: `kubelab ${command}`, summary, stdout: io.stdout, stderr: io.stderr, exit: io.exit }).flags;
}

function fail(io: CommandIO, message: string): never {
  io.stderr(`Error: ${message}\n`);
  return io.exit(1);
}

/** This machine's IPv4 addresses (`ip -o -4 addr`). */
function localAddresses(): string[] {
  const text = execFileSync("ip", ["-o", "-4", "addr", "show"], { encoding: "utf8" });
  return [...text.matchAll(/\binet (\d+\.\d+\.\d+\.\d+)\//g)].map((m) => m[1] ?? "");
}

/** The node index N of the first address inside `network` that the lab's plan gives node-N ((10+N)th), if any. */
export function nodeIndexOf(addresses: readonly string[], network: string): number | undefined {
  const { base, prefix } = parseCidr(network);
  const size = 2 ** (32 - prefix);
  for (const address of addresses) {
    const octets = address.split(".").map(Number);
    if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) continue;
    const offset = octets.reduce((acc, o) => acc * 256 + o, 0) - base;
    if (offset > 10 && offset < size - 1) return offset - 10;
  }
  return undefined;
}

export async function nodeCommand(argv: readonly string[], io: CommandIO = processIO): Promise<void> {
  const flags = parse(nodeFlags, argv, "node", io, "Runs this container as a kubelab node: its runtime, kubelet and kube-proxy, supervised (docker-compose.yml's node service).");
  if (flags.apiserver === "") fail(io, "--apiserver (or KUBELAB_APISERVER) is required");
  if (flags.proxyMode !== "iptables" && flags.proxyMode !== "userspace") fail(io, `--proxy-mode must be iptables or userspace, not ${flags.proxyMode}`);
  let index: number | undefined;
  try {
    index = nodeIndexOf(localAddresses(), flags.nodeNetwork);
  } catch (err) {
    fail(io, errorMessage(err));
  }
  if (index === undefined) fail(io, `this container has no address in ${flags.nodeNetwork} above its (10+1)th (node-1's); addresses: ${localAddresses().join(", ")}`);
  const home = resolve(flags.home);
  const config: LabConfig = {
    home,
    bridge: "",
    nodeNetwork: flags.nodeNetwork,
    netnsPrefix: "",
    nodes: 1,
    clusterCidr: flags.clusterCidr,
    serviceCidr: flags.serviceCidr,
    clusterDns: flags.clusterDns,
    proxyMode: flags.proxyMode,
    apiserverPort: Number(new URL(flags.apiserver).port || 80),
    etcdClientPort: 0,
    etcdPeerPort: 0,
    schedulerPort: 0,
    controllerManagerPort: 0,
    // The control plane, kube-state-metrics and Prometheus run in their own containers, not in a node's.
    kubeStateMetricsPort: 0,
    kubeStateMetricsTelemetryPort: 0,
    prometheusPort: 0,
    uiPort: 0,
    withKubelet: true,
    verbosity: flags.v,
    container: { apiserver: flags.apiserver, dnsReplicas: flags.dnsReplicas },
  };
  const node = nodePlan(config, index);
  // A fresh node on every start: the previous run's containers, mounts and network died with the container.
  rmSync(node.dir, { recursive: true, force: true });
  mkdirSync(logDir(home), { recursive: true });
  writeState({ config, nodes: [node.name], createdHome: false });
  // kubectl inside the container (`docker-compose exec node-1 kubectl get pods`) finds the apiserver here.
  const kubeconfig = join(homedir(), ".kube", "config");
  mkdirSync(dirname(kubeconfig), { recursive: true });
  writeFileSync(kubeconfig, kubeconfigYaml(flags.apiserver));
  io.stdout(`kubelab node: ${node.name} at ${node.ip}, apiserver ${flags.apiserver}, home ${home}\n`);
  await supervise(home);
}

function hostPort(text: string, flag: string, io: CommandIO): { host: string; port: number } {
  const at = text.lastIndexOf(":");
  const port = Number(text.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port <= 0 || port > 65_535) fail(io, `--${flag} must be host:port, not "${text}"`);
  return { host: text.slice(0, at), port };
}

export async function publishCommand(argv: readonly string[], io: CommandIO = processIO): Promise<void> {
  const flags = parse(publishFlags, argv, "publish", io, "Relays TCP from --listen to --to (the apiserver) and writes a kubeconfig for it (docker-compose.yml's apiserver-publish service).");
  const listen = hostPort(flags.listen, "listen", io);
  const target = hostPort(flags.to, "to", io);
  const server = createServer((client) => {
    const upstream = createConnection(target);
    client.pipe(upstream).pipe(client);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", close);
    upstream.on("error", close);
  });
  await new Promise<void>((resolvePromise, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, resolvePromise);
  });
  if (flags.kubeconfig !== "") {
    mkdirSync(dirname(flags.kubeconfig), { recursive: true });
    writeFileSync(flags.kubeconfig, kubeconfigYaml(`http://${flags.listen}`));
  }
  io.stdout(`kubelab publish: ${flags.listen} -> ${flags.to}${flags.kubeconfig === "" ? "" : `; kubeconfig ${flags.kubeconfig}`}\n`);
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => { server.close(); process.exit(0); });
  await new Promise<void>((resolvePromise) => server.once("close", resolvePromise));
}

