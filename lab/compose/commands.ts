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
import { chmodSync, chownSync, mkdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { homedir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { errorMessage } from "../../api/errors.js";
import { processIO, type CommandIO } from "../../component-base/command-io.js";
import { defineFlags, parseCommandLine, type FlagSpecs, type FlagValues } from "../../component-base/flags.js";
import { kubeconfigYaml as clientKubeconfigYaml, loadKubeconfig } from "../../client/kubeconfig.js";
import { ensureLabPki, labPkiPaths } from "../pki/pki.js";
import { applyLabToolsRbac } from "../pki/rbac.js";
import { labCreate } from "../up/api.js";
import { applyDnsAddon } from "../up/dns.js";
import { nodePlan, parseCidr, pkiDir } from "../up/config.js";
import { kubeconfigYaml, logDir, writeState } from "../up/state.js";
import { applyDefaultStorageClass } from "../up/storage-class.js";
import { supervise } from "../up/supervisor.js";
import { COMPOSE_DEFAULTS, composeLabConfig } from "./config.js";
import { composePkiOptions, credentialRelay, givePrometheusItsKey } from "./secure.js";

const nodeFlags = defineFlags({
  home: { type: "string", default: process.env.KUBELAB_HOME ?? "/var/lib/kubelab", help: "The node's directory: its state, logs, runtime and kubelet files (a volume: overlay mounts need a real filesystem)." },
  apiserver: { type: "string", default: process.env.KUBELAB_APISERVER ?? "", help: "The apiserver URL (the apiserver container, or the HA load balancer): https for the secure cluster (the PKI in <home>/pki, the `pki` volume), http for the 0.18 plain-HTTP one." },
  nodeNetwork: { type: "string", default: process.env.KUBELAB_NODE_NETWORK ?? "172.30.0.0/16", help: "The compose network's subnet: this container's address in it names the node." },
  clusterCidr: { type: "string", default: COMPOSE_DEFAULTS.clusterCidr, help: "The pod network (the controller-manager gives each node a /24 of it)." },
  serviceCidr: { type: "string", default: COMPOSE_DEFAULTS.serviceCidr, help: "The Service ClusterIP range." },
  clusterDns: { type: "string", default: COMPOSE_DEFAULTS.clusterDns, help: "The cluster DNS Service IP." },
  dnsReplicas: { type: "number", default: COMPOSE_DEFAULTS.dnsReplicas, help: "kube-dns replicas, if this node is the one that creates the add-on." },
  proxyMode: { type: "string", default: "iptables", help: "kube-proxy's mode: iptables or userspace." },
  v: { type: "number", default: 0, help: "Verbosity of every component." },
});

const publishFlags = defineFlags({
  listen: { type: "string", default: "127.0.0.1:6443", help: "host:port to accept connections on (loopback: the host's port is for the host)." },
  to: { type: "string", default: "", help: "host:port of the apiserver on the compose network." },
  kubeconfig: { type: "string", default: "", help: "Where to write the host's kubeconfig for <listen> (a folder mounted from the host)." },
  adminKubeconfig: { type: "string", default: "", help: "The cluster admin's kubeconfig (the PKI's admin.conf): the host's kubeconfig is it with https://<listen> as the server. Empty: a plain http://<listen> kubeconfig with no credentials (the 0.18 cluster)." },
});

const pkiFlags = defineFlags({
  dir: { type: "string", default: "/etc/kubernetes/pki", help: "Where the PKI goes (kubeadm's /etc/kubernetes/pki and its kubeconfigs; the `pki` volume)." },
  server: { type: "string", default: process.env.KUBELAB_APISERVER ?? "", help: "The apiserver URL every kubeconfig points at (the nodes' KUBELAB_APISERVER)." },
  nodeNetwork: { type: "string", default: process.env.KUBELAB_NODE_NETWORK ?? "172.30.0.0/16", help: "The compose network's subnet (node-N's address is its (10+N)th)." },
  serviceCidr: { type: "string", default: COMPOSE_DEFAULTS.serviceCidr, help: "The Service ClusterIP range (its first address, the kubernetes Service, is in the apiserver's certificate)." },
  node: { type: "stringArray", default: ["node-1", "node-2", "node-3"], help: "A node whose kubelet certificates are made now (repeatable); other nodes make theirs at start." },
  apiserverSan: { type: "stringArray", help: "Another name or address for the apiserver's serving certificate (repeatable)." },
});

const addonsFlags = defineFlags({
  kubeconfig: { type: "string", default: "/etc/kubernetes/pki/admin.conf", help: "The admin's kubeconfig the add-ons are created with." },
  nodeNetwork: { type: "string", default: process.env.KUBELAB_NODE_NETWORK ?? "172.30.0.0/16", help: "The compose network's subnet." },
  clusterDns: { type: "string", default: COMPOSE_DEFAULTS.clusterDns, help: "The cluster DNS Service IP." },
  dnsReplicas: { type: "number", default: COMPOSE_DEFAULTS.dnsReplicas, help: "kube-dns replicas." },
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
  const proxyMode = flags.proxyMode;
  if (proxyMode !== "iptables" && proxyMode !== "userspace") fail(io, `--proxy-mode must be iptables or userspace, not ${proxyMode}`);
  if (!/^https?:\/\//.test(flags.apiserver)) fail(io, `--apiserver must be an http:// or https:// URL, not ${flags.apiserver}`);
  let index: number | undefined;
  try {
    index = nodeIndexOf(localAddresses(), flags.nodeNetwork);
  } catch (err) {
    fail(io, errorMessage(err));
  }
  if (index === undefined) fail(io, `this container has no address in ${flags.nodeNetwork} above its (10+1)th (node-1's); addresses: ${localAddresses().join(", ")}`);
  const home = resolve(flags.home);
  const config = composeLabConfig({ ...flags, home, proxyMode, verbosity: flags.v });
  const node = nodePlan(config, index);
  // A fresh node on every start: the previous run's containers, mounts and network died with the container.
  rmSync(node.dir, { recursive: true, force: true });
  mkdirSync(logDir(home), { recursive: true });
  writeState({ config, nodes: [node.name], createdHome: false });
  // kubectl inside the container (`docker-compose exec node-1 kubectl get pods`) finds the apiserver here; in the
  // secure cluster it acts as the node (the kubelet's kubeconfig, which the supervisor keeps in the PKI).
  const kubeconfig = join(homedir(), ".kube", "config");
  mkdirSync(dirname(kubeconfig), { recursive: true });
  rmSync(kubeconfig, { force: true });
  if (config.secure) symlinkSync(labPkiPaths(pkiDir(config)).node(node.name).client.kubeconfig, kubeconfig);
  else writeFileSync(kubeconfig, kubeconfigYaml(flags.apiserver));
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
    try {
      writeHostKubeconfig(flags.kubeconfig, flags.listen, flags.adminKubeconfig);
    } catch (err) {
      server.close();
      fail(io, `the host's kubeconfig: ${errorMessage(err)}`);
    }
  }
  io.stdout(`kubelab publish: ${flags.listen} -> ${flags.to}${flags.kubeconfig === "" ? "" : `; kubeconfig ${flags.kubeconfig}`}\n`);
  for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => { server.close(); process.exit(0); });
  await new Promise<void>((resolvePromise) => server.once("close", resolvePromise));
}


/**
 * The host's kubeconfig: the admin's, with the published port as its server (the apiserver's certificate names
 * 127.0.0.1). It holds the admin's key, so it is 0600 and belongs to whoever owns the folder it is written to.
 */
function writeHostKubeconfig(path: string, listen: string, adminKubeconfig: string): void {
  mkdirSync(dirname(path), { recursive: true });
  if (adminKubeconfig === "") {
    writeFileSync(path, kubeconfigYaml(`http://${listen}`));
    return;
  }
  const admin = loadKubeconfig(adminKubeconfig);
  rmSync(path, { force: true });
  writeFileSync(path, clientKubeconfigYaml({ ...admin, server: `https://${listen}` }, { cluster: "kubelab", user: "kubernetes-admin", context: "kubernetes-admin@kubelab" }), { mode: 0o600 });
  chmodSync(path, 0o600);
  const owner = statSync(dirname(path));
  if (process.getuid?.() === 0 && owner.uid !== 0) chownSync(path, owner.uid, owner.gid);
}

export async function pkiCommand(argv: readonly string[], io: CommandIO = processIO): Promise<void> {
  const flags = parse(pkiFlags, argv, "pki", io, "Makes the cluster's PKI in kubeadm's layout, or what is missing of it (docker-compose.yml's one-shot pki service).");
  if (!flags.server.startsWith("https://")) fail(io, `--server (or KUBELAB_APISERVER) must be an https:// URL, not "${flags.server}"`);
  try {
    const options = composePkiOptions({ dir: resolve(flags.dir), server: flags.server, nodeNetwork: flags.nodeNetwork, serviceCidr: flags.serviceCidr, nodes: flags.node, extraAddresses: flags.apiserverSan });
    const result = await ensureLabPki(options);
    givePrometheusItsKey(options.dir);
    const written = result.written.length;
    io.stdout(`kubelab pki: ${written === 0 ? "every file was there and right" : `${written} files written`} in ${options.dir} (${Math.round(result.elapsedMs)} ms); kubeconfigs point at ${flags.server}\n`);
  } catch (err) {
    fail(io, errorMessage(err));
  }
}

export async function addonsCommand(argv: readonly string[], io: CommandIO = processIO): Promise<void> {
  const flags = parse(addonsFlags, argv, "addons", io, "Creates, as the admin, the lab tools' and Prometheus' RBAC, the cluster DNS add-on and the default StorageClass (docker-compose.yml's one-shot addons service).");
  let relay: Awaited<ReturnType<typeof credentialRelay>> | undefined;
  try {
    relay = await credentialRelay(flags.kubeconfig);
    // The add-ons as a node's supervisor would apply them, but with the admin's credentials (through the relay).
    const config = { ...composeLabConfig({ ...COMPOSE_DEFAULTS, home: "/var/lib/kubelab", apiserver: relay.url, nodeNetwork: flags.nodeNetwork, clusterDns: flags.clusterDns, dnsReplicas: flags.dnsReplicas }), secure: true };
    const done = await applyLabToolsRbac((path, object) => labCreate(config, path, object));
    io.stdout(`kubelab addons: rbac: ${done.join(", ")}\n`);
    io.stdout(`kubelab addons: cluster DNS: ${(await applyDnsAddon(config)).join(", ")}\n`);
    io.stdout(`kubelab addons: storage: ${await applyDefaultStorageClass(config)}\n`);
  } catch (err) {
    fail(io, errorMessage(err));
  } finally {
    await relay?.close();
  }
}
