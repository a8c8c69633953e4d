// What a lab is made of, as plain data computed from `kubelab up`'s flags: the addresses (DESIGN.md's node model:
// node network 172.30.0.0/16 with the host at .1 on the lab bridge and node-N at .(10+N); pod network
// 10.244.0.0/16, a /24 per node from the controller-manager's IPAM; services 10.96.0.0/12, DNS at 10.96.0.10), where
// each node keeps its files, and every component's descriptor. No I/O here, so the plan is unit-tested as is.
import { join } from "node:path";
import type { Component } from "../components/component.js";
import { containerRuntimeComponent } from "../components/container-runtime.js";
import { etcdComponent, etcdEndpoint, etcdMetricsUrl } from "../components/etcd.js";
import { apiserverComponent, apiserverSecureOptionsFromPki } from "../components/kube-apiserver.js";
import { controllerManagerComponent } from "../components/kube-controller-manager.js";
import { schedulerComponent } from "../components/kube-scheduler.js";
import { kubeProxyComponent } from "../components/kube-proxy.js";
import { kubeletComponent } from "../components/kubelet.js";
import { kubeStateMetricsComponent } from "../components/kube-state-metrics.js";
import { prometheusComponent } from "../components/prometheus.js";
import { metricsServerComponent } from "../components/metrics-server.js";
import { kubelabUiComponent } from "../components/kubelab-ui.js";
import { labPkiPaths, type LabPkiPaths } from "../pki/pki.js";

export interface LabConfig {
  /** Absolute; everything the lab writes is under it. */
  home: string;
  /** The host side of the node network (a Linux bridge, at most 15 characters). */
  bridge: string;
  /** The node network, e.g. 172.30.0.0/16: the host is its first address, node-N its (10+N)th. */
  nodeNetwork: string;
  /** Node network namespaces are named <netnsPrefix>-<node name>. */
  netnsPrefix: string;
  /** How many nodes `up` starts (node-1..node-N); more come and go with add-node/remove-node. */
  nodes: number;
  clusterCidr: string;
  serviceCidr: string;
  clusterDns: string;
  proxyMode: "iptables" | "userspace";
  /** The 0.18 lab's insecure port on the bridge address; a secure lab has none (the port is kept only as recorded). */
  apiserverPort: number;
  /** Host ports on loopback, picked free at `up`. */
  etcdClientPort: number;
  etcdPeerPort: number;
  /**
   * etcd's plain-HTTP /health and /metrics port on loopback (kubeadm's --listen-metrics-urls): set in a secure lab,
   * whose etcd serves clients over TLS with client certificates. Absent (an insecure lab, or one made before): plain etcd.
   */
  etcdMetricsPort?: number;
  schedulerPort: number;
  controllerManagerPort: number;
  /**
   * The secure ports of the scheduler and controller-manager on loopback (HTTPS, delegated authentication and
   * authorization): Kubernetes' 10259 and 10257 when free at `up`, else free ones. Absent (no HTTPS) in labs made
   * before they were part of them.
   */
  schedulerSecurePort?: number;
  controllerManagerSecurePort?: number;
  /** kube-state-metrics' cluster-state and own (telemetry) metrics ports, on loopback. */
  kubeStateMetricsPort: number;
  kubeStateMetricsTelemetryPort: number;
  /** Prometheus' port on loopback (`up --prometheus`); 0: the lab runs no Prometheus. */
  prometheusPort: number;
  /** metrics-server's --secure-port on the bridge address; absent in labs made before it was part of them. */
  metricsServerPort?: number;
  /** The live view's port on 127.0.0.1 (kubelab-ui); 0: no live view. */
  uiPort: number;
  /** False only for the lab's own tests until a kubelet is built: nodes then run their runtime alone. */
  withKubelet: boolean;
  /** Verbosity passed to every kubelab component. */
  verbosity: number;
  /** Extra kube-controller-manager flags (`up --controller-manager-arg`), after the lab's own. */
  controllerManagerArgs?: string[];
  /**
   * True (`up`'s default): the lab's PKI in <home>/pki (lab/pki), the apiserver on HTTPS only (no insecure port) with
   * client certificates and Node,RBAC, every component and the lab itself with its own identity. False (`up
   * --insecure`) or absent (state files of labs made before secure was the default, which were plain HTTP unless
   * made with --secure): the 0.18 plain-HTTP lab.
   */
  secure?: boolean;
  /** The apiserver's --secure-port on the bridge address (with secure; kubeadm's 6443). */
  securePort?: number;
  /** Set when the supervisor runs one node inside its own container (`kubelab node`, docker-compose.yml). */
  container?: ContainerNodeConfig;
}

/**
 * A node that is a container: the container's network namespace is the node's (no bridge, veth or nsenter), its
 * address is the one Docker gave it, and the control plane runs in other containers.
 */
export interface ContainerNodeConfig {
  /** The apiserver URL the node's components and pods use (the apiserver container, or the HA load balancer). */
  apiserver: string;
  /** How many kube-dns replicas the add-on asks for (every node applies it; the first one creates it). */
  dnsReplicas: number;
}

/** Per-node ports, inside the node's own network namespace (so every node uses the same ones). */
export const NODE_PORTS = { kubelet: 10250, kubeletHealthz: 10248, runtimeHealthz: 10359, proxyHealthz: 10256, proxyMetrics: 10249 } as const;

/**
 * The lab's short self-healing timings, as the flags that set them (printed at start). A node's Lease lasts 10 s
 * and is renewed every 2.5 s; the controller-manager calls it NotReady after 10 s without one and pods leave it
 * 5 s later; a standby scheduler or controller-manager takes over within 4 s.
 */
export const LAB_TIMINGS = {
  apiserver: ["--default-not-ready-toleration-seconds=5", "--default-unreachable-toleration-seconds=5"],
  leaderElection: ["--leader-elect-lease-duration=4s", "--leader-elect-renew-deadline=3s", "--leader-elect-retry-period=1s"],
  controllerManager: ["--node-monitor-period=1s", "--node-monitor-grace-period=10s"],
  kubelet: { nodeStatusUpdateFrequency: "4s", nodeLeaseDurationSeconds: 10, syncFrequency: "10s" },
} as const;

export interface Cidr {
  /** The network address as a 32-bit number. */
  base: number;
  prefix: number;
}

export function parseCidr(text: string): Cidr {
  const match = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(text);
  if (!match) throw new Error(`${text} is not an IPv4 CIDR (a.b.c.d/n)`);
  const octets = match.slice(1, 5).map(Number);
  const prefix = Number(match[5]);
  if (octets.some((o) => o > 255) || prefix < 8 || prefix > 28) throw new Error(`${text}: octets must be 0-255 and the prefix 8-28`);
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  const size = 2 ** (32 - prefix);
  return { base: address - (address % size), prefix };
}

export function ipString(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

/** The host's address on the bridge: the network's first address. */
export function bridgeIp(config: Pick<LabConfig, "nodeNetwork">): string {
  return ipString(parseCidr(config.nodeNetwork).base + 1);
}

export function prefixLength(config: Pick<LabConfig, "nodeNetwork">): number {
  return parseCidr(config.nodeNetwork).prefix;
}

/** node-N's index, or undefined for a name that is not node-<positive integer>. */
export function nodeIndex(name: string): number | undefined {
  const match = /^node-([1-9]\d*)$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

export interface NodePlan {
  name: string;
  index: number;
  ip: string;
  netns: string;
  /** The host end of the node's veth, on the bridge (the node's end is renamed eth0). */
  hostVeth: string;
  dir: string;
  runtimeSocket: string;
  runtimeRoot: string;
  runcStateDir: string;
  cniConfigDir: string;
  kubeletRootDir: string;
}

export function nodePlan(config: LabConfig, index: number): NodePlan {
  const network = parseCidr(config.nodeNetwork);
  const offset = 10 + index;
  if (offset >= 2 ** (32 - network.prefix) - 1) throw new Error(`node-${index} does not fit in the node network ${config.nodeNetwork}`);
  const name = `node-${index}`;
  const dir = join(config.home, "nodes", name);
  return {
    name,
    index,
    ip: ipString(network.base + offset),
    netns: `${config.netnsPrefix}-${name}`,
    hostVeth: `${config.bridge}-n${index}`.slice(-15),
    dir,
    runtimeSocket: join(dir, "runtime.sock"),
    runtimeRoot: join(dir, "runtime"),
    runcStateDir: join(dir, "run"),
    cniConfigDir: join(dir, "cni"),
    kubeletRootDir: join(dir, "kubelet"),
  };
}

/** The URL the cluster's components and users reach the apiserver at (https on the secure port with secure). */
export function apiserverUrl(config: LabConfig): string {
  if (config.container !== undefined) return config.container.apiserver;
  if (config.secure) return `https://${bridgeIp(config)}:${config.securePort ?? DEFAULT_SECURE_PORT}`;
  return `http://${bridgeIp(config)}:${config.apiserverPort}`;
}

/** kubeadm's --secure-port. */
export const DEFAULT_SECURE_PORT = 6443;

/** The lab's PKI directory (with secure). */
export function pkiDir(config: Pick<LabConfig, "home">): string {
  return join(config.home, "pki");
}

/** The PKI's paths when the lab is secure, else undefined. */
function pkiOf(config: LabConfig): LabPkiPaths | undefined {
  return config.secure ? labPkiPaths(pkiDir(config)) : undefined;
}

/** --master for an insecure lab, --kubeconfig with the identity's file for a secure one. */
function clientFlags(config: LabConfig, kubeconfig: string | undefined): { master: string } | { kubeconfig: string } {
  return kubeconfig === undefined ? { master: apiserverUrl(config) } : { kubeconfig };
}

/** A component together with the node it belongs to (undefined: the control plane in the host namespace). */
export interface PlannedComponent {
  component: Component;
  node?: string;
  /** Its Prometheus endpoint, as `kubelab status` shows it. */
  metricsUrl?: string;
}

/** The control plane `kubelab up` runs on the host; none in a container node (it runs in containers of its own). */
export function controlPlane(config: LabConfig): PlannedComponent[] {
  if (config.container !== undefined) return [];
  const master = apiserverUrl(config);
  const pki = pkiOf(config);
  const leaderElection = [...LAB_TIMINGS.leaderElection];
  const etcdPki = pki !== undefined && config.etcdMetricsPort !== undefined ? pki.etcd : undefined;
  const etcd = etcdComponent({
    dataDir: join(config.home, "etcd"),
    clientPort: config.etcdClientPort,
    peerPort: config.etcdPeerPort,
    ...(etcdPki && config.etcdMetricsPort !== undefined ? { tls: { pki: etcdPki, metricsPort: config.etcdMetricsPort } } : {}),
  });
  const apiserver = apiserverComponent({
    etcdServers: etcdEndpoint(etcd),
    ...(etcdPki ? { etcdPki } : {}),
    // kubeadm's apiserver: no insecure port at all; readiness is probed over HTTPS with the lab's CA.
    ...(pki ? {} : { port: config.apiserverPort }),
    bindAddress: bridgeIp(config),
    ...(pki
      ? {
          secure: {
            ...apiserverSecureOptionsFromPki(pki, config.securePort ?? DEFAULT_SECURE_PORT, bridgeIp(config)),
            kubeletCertificateAuthority: pki.caCert,
            authenticationConfigFile: pki.authenticationConfig,
          },
        }
      : {}),
    extraArgs: [`--advertise-address=${bridgeIp(config)}`, `--service-cluster-ip-range=${config.serviceCidr}`, ...LAB_TIMINGS.apiserver, ...verbosity(config)],
  });
  // The secure ports on loopback, as kubeadm binds them (--bind-address=127.0.0.1).
  const secureServing = (port: number | undefined): { securePort?: number; secureBindAddress?: string } => (port !== undefined && port > 0 ? { securePort: port, secureBindAddress: "127.0.0.1" } : {});
  const scheduler = schedulerComponent({ ...clientFlags(config, pki?.scheduler.kubeconfig), port: config.schedulerPort, bindAddress: "127.0.0.1", ...secureServing(config.schedulerSecurePort), verbosity: config.verbosity, extraArgs: leaderElection });
  // kubeadm's controller-manager flags: the CA signs CSRs and is published as kube-root-ca.crt, and each controller
  // runs as its own service account (system:controller:* roles). (kubeadm also passes
  // --service-account-private-key-file, for the legacy token controller kubelab's controller-manager does not have.)
  const signing = pki ? [`--cluster-signing-cert-file=${pki.caCert}`, `--cluster-signing-key-file=${pki.caKey}`, `--root-ca-file=${pki.caCert}`, "--use-service-account-credentials=true"] : [];
  const controllerManager = controllerManagerComponent({
    ...clientFlags(config, pki?.controllerManager.kubeconfig),
    port: config.controllerManagerPort,
    bindAddress: "127.0.0.1",
    ...secureServing(config.controllerManagerSecurePort),
    verbosity: config.verbosity,
    extraArgs: ["--allocate-node-cidrs", `--cluster-cidr=${config.clusterCidr}`, "--node-cidr-mask-size=24", ...signing, ...LAB_TIMINGS.controllerManager, ...leaderElection, ...(config.controllerManagerArgs ?? [])],
  });
  const kubeStateMetrics = kubeStateMetricsComponent({
    ...(pki ? { kubeconfig: pki.tools["kube-state-metrics"].kubeconfig } : { apiserver: master }),
    host: "127.0.0.1",
    port: config.kubeStateMetricsPort,
    telemetryPort: config.kubeStateMetricsTelemetryPort,
    ...(config.verbosity > 0 ? { verbosity: config.verbosity } : {}),
  });
  const prometheus: PlannedComponent[] =
    config.prometheusPort > 0
      ? [
          {
            component: prometheusComponent({ configFile: join(config.home, "prometheus", "prometheus.yml"), dataDir: join(config.home, "prometheus", "data"), port: config.prometheusPort }),
            metricsUrl: `http://127.0.0.1:${config.prometheusPort}/metrics`,
          },
        ]
      : [];
  const planned: PlannedComponent[] = [
    { component: etcd, metricsUrl: `${etcdMetricsUrl(etcd)}/metrics` },
    // Bound to the bridge address, so its readiness is probed there rather than on loopback.
    pki ? { component: apiserver, metricsUrl: `${master}/metrics` } : { component: { ...apiserver, readiness: { kind: "http", url: `${master}/readyz` } }, metricsUrl: `${master}/metrics` },
    { component: scheduler, metricsUrl: `http://127.0.0.1:${config.schedulerPort}/metrics` },
    { component: controllerManager, metricsUrl: `http://127.0.0.1:${config.controllerManagerPort}/metrics` },
    { component: kubeStateMetrics, metricsUrl: `http://127.0.0.1:${config.kubeStateMetricsPort}/metrics` },
    ...prometheus,
  ];
  if (config.uiPort > 0) {
    const ui = kubelabUiComponent({ ...clientFlags(config, pki?.tools["kubelab-ui"].kubeconfig), address: "127.0.0.1", port: config.uiPort, labHome: config.home, verbosity: config.verbosity });
    planned.push({ component: ui, metricsUrl: `${uiUrl(config)}metrics` });
  }
  return planned;
}

/** The live view's page, or undefined when the lab runs without one. */
export function uiUrl(config: Pick<LabConfig, "uiPort">): string {
  return `http://127.0.0.1:${config.uiPort}/`;
}

/** The lab's metrics-server: the lab's --metric-resolution is 15 s, as metrics-server's own manifest sets it. */
export const METRICS_RESOLUTION = "15s";

/**
 * metrics-server, run on the host beside the control plane (it starts after the nodes: it is ready once it has
 * scraped them), serving on the bridge address so the apiserver reaches it through its Service's Endpoints.
 */
export function metricsServerPlan(config: LabConfig): PlannedComponent | undefined {
  if (!config.withKubelet || config.metricsServerPort === undefined) return undefined;
  const pki = pkiOf(config);
  const component = metricsServerComponent({
    ...clientFlags(config, pki?.tools["metrics-server"].kubeconfig),
    securePort: config.metricsServerPort,
    bindAddress: bridgeIp(config),
    metricResolution: METRICS_RESOLUTION,
    kubeletPreferredAddressTypes: "InternalIP,Hostname",
    verbosity: config.verbosity,
    // The secure lab's kubelets serve HTTPS with certificates of the lab's CA and ask who scrapes them: metrics-server
    // shows its kubeconfig's certificate. The plain-HTTP lab's kubelets have no certificate to verify.
    extraArgs: pki ? ["--kubelet-scheme=https", `--kubelet-certificate-authority=${pki.caCert}`] : ["--kubelet-insecure-tls"],
  });
  return { component, metricsUrl: `http://${bridgeIp(config)}:${config.metricsServerPort}/metrics` };
}

function verbosity(config: LabConfig): string[] {
  return config.verbosity > 0 ? [`--v=${config.verbosity}`] : [];
}

/** The node's runtime and (unless withKubelet is off) its kubelet and kube-proxy, as they run inside the node's namespace. */
export function nodeComponents(config: LabConfig, node: NodePlan): PlannedComponent[] {
  // A container node's processes run in the container's own namespaces, as they are.
  const place = (component: Component): Component => (config.container === undefined ? inNetns(component, node.netns) : component);
  const runtime = containerRuntimeComponent({
    name: `container-runtime ${node.name}`,
    socketPath: node.runtimeSocket,
    root: node.runtimeRoot,
    backend: "oci",
    runtimeRoot: node.runcStateDir,
    cniConfigDir: node.cniConfigDir,
    port: NODE_PORTS.runtimeHealthz,
    // With a kubelet the pod CIDR comes from the Node (the controller-manager's IPAM, UpdateRuntimeConfig); without
    // one (the lab's own tests) the runtime is given the /24 a node-N would get first, 10.244.N.0/24.
    ...(config.withKubelet ? {} : { podCidr: fallbackPodCidr(config, node.index) }),
    extraArgs: [`--bind-address=${node.ip}`, ...verbosity(config)],
  });
  const planned: PlannedComponent[] = [{ component: place(runtime), node: node.name, metricsUrl: `http://${node.ip}:${NODE_PORTS.runtimeHealthz}/metrics` }];
  if (!config.withKubelet) return planned;
  const pki = pkiOf(config);
  const nodeFiles = pki?.node(node.name);
  const kubelet = kubeletComponent({
    name: `kubelet ${node.name}`,
    ...clientFlags(config, nodeFiles?.client.kubeconfig),
    hostnameOverride: node.name,
    nodeIp: node.ip,
    containerRuntimeEndpoint: `unix://${node.runtimeSocket}`,
    // Lab-internal addresses only: the apiserver (on the host) reaches the kubelet API over the bridge.
    address: node.ip,
    port: NODE_PORTS.kubelet,
    healthzPort: NODE_PORTS.kubeletHealthz,
    healthzBindAddress: node.ip,
    nodeStatusUpdateFrequency: LAB_TIMINGS.kubelet.nodeStatusUpdateFrequency,
    nodeLeaseDurationSeconds: LAB_TIMINGS.kubelet.nodeLeaseDurationSeconds,
    syncFrequency: LAB_TIMINGS.kubelet.syncFrequency,
    clusterDns: config.clusterDns,
    clusterDomain: "cluster.local",
    // No host resolvers: nothing outside the lab is reachable from a node, so an upstream taken from the host's
    // resolv.conf could only time out; without one, cluster DNS answers names outside the cluster at once (SERVFAIL).
    resolvConf: "",
    rootDir: node.kubeletRootDir,
    podRoutes: "host-gw",
    ...(config.verbosity > 0 ? { verbosity: config.verbosity } : {}),
    ...(pki && nodeFiles
      ? { extraArgs: [`--tls-cert-file=${nodeFiles.servingCert}`, `--tls-private-key-file=${nodeFiles.servingKey}`, `--client-ca-file=${pki.caCert}`, "--anonymous-auth=false", "--authentication-token-webhook", "--authorization-mode=Webhook"] }
      : {}),
  });
  // A secure kubelet's metrics are on its API port, behind authentication and authorization (nodes/metrics).
  const kubeletMetrics = pki ? `https://${node.ip}:${NODE_PORTS.kubelet}/metrics` : `http://${node.ip}:${NODE_PORTS.kubeletHealthz}/metrics`;
  planned.push({ component: place(kubelet), node: node.name, metricsUrl: kubeletMetrics });
  // Its rules live in the node's namespace's own tables, so they go with the namespace; the host's stay untouched.
  const proxy = kubeProxyComponent({
    name: `kube-proxy ${node.name}`,
    ...clientFlags(config, pki?.kubeProxy.kubeconfig),
    hostnameOverride: node.name,
    clusterCidr: config.clusterCidr,
    proxyMode: config.proxyMode,
    healthzBindAddress: `${node.ip}:${NODE_PORTS.proxyHealthz}`,
    metricsBindAddress: `${node.ip}:${NODE_PORTS.proxyMetrics}`,
    ...(config.proxyMode === "userspace" ? { bindAddress: node.ip } : {}),
    iptablesMinSyncPeriod: "250ms",
    ...(config.verbosity > 0 ? { verbosity: config.verbosity } : {}),
  });
  planned.push({ component: place(proxy), node: node.name, metricsUrl: `http://${node.ip}:${NODE_PORTS.proxyMetrics}/metrics` });
  return planned;
}

/**
 * The component run inside a node's network namespace. nsenter switches only the network namespace (it execs the
 * program, so the PID is the component's own): mounts the runtime and kubelet make (rootfs overlays, pod
 * namespaces, volumes) stay in the host's mount namespace, where a restarted runtime finds them and `kubelab down`
 * removes them. (`ip netns exec` would give each run a private mount namespace of its own.)
 */
export function inNetns(component: Component, netns: string): Component {
  const { program } = component;
  const command = program.kind === "node" ? [process.execPath, program.entry] : [program.path];
  return { ...component, program: { kind: "binary", path: "nsenter" }, args: [`--net=/run/netns/${netns}`, "--", ...command, ...component.args] };
}

export function fallbackPodCidr(config: Pick<LabConfig, "clusterCidr">, index: number): string {
  const cluster = parseCidr(config.clusterCidr);
  return `${ipString(cluster.base + (index % 256) * 256)}/24`;
}

/** The entry point a component runs (for the "build first" check). */
export function entryOf(component: Component): string | undefined {
  if (component.program.kind === "node") return component.program.entry;
  const dashes = component.args.indexOf("--");
  const entry = dashes >= 0 ? component.args[dashes + 2] : undefined;
  return entry?.endsWith(".js") ? entry : undefined;
}

/** How a component's command line is printed: one line a user can paste (arguments quoted when they must be). */
export function printableCommand(component: Component): string {
  const argv = component.program.kind === "node" ? ["node", component.program.entry, ...component.args] : [component.program.path, ...component.args];
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(" ");
}
