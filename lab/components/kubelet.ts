// The kubelet (dist/kubelet/main.js): one per node, driving that node's runtime over the CRI socket. Its flags are
// the ones agreed in the kubelet's options (Kubernetes' names); readiness is its /healthz on --healthz-port, which
// a lab also needs to see the Node Ready in the API before it calls the node up.
import { renderFlags, type Component } from "./component.js";
import { distEntry } from "./entries.js";

export interface KubeletOptions {
  /** Defaults to "kubelet"; one per node, so a lab names it after the node. */
  name?: string;
  /** --master: the apiserver URL. */
  master?: string;
  /** --kubeconfig (wins over --master in the kubelet when both are given). */
  kubeconfig?: string;
  /** --hostname-override: the Node's name. */
  hostnameOverride?: string;
  /** --node-ip: the Node's InternalIP. */
  nodeIp?: string;
  /** --container-runtime-endpoint, e.g. unix:///run/kubelab/runtime.sock. */
  containerRuntimeEndpoint?: string;
  /** --address: the bind address of the kubelet API (--port). */
  address?: string;
  /** --port: the kubelet API (logs, exec, attach, port-forward, pods, stats). */
  port?: number;
  /** --healthz-port: /healthz, /readyz and /metrics (0 disables them). */
  healthzPort?: number;
  /** --healthz-bind-address. */
  healthzBindAddress?: string;
  /** --node-status-update-frequency, a duration ("10s"). */
  nodeStatusUpdateFrequency?: string;
  /** --sync-frequency, a duration ("1m"): the periodic pod sync (configMap/secret volume refresh). */
  syncFrequency?: string;
  /** --node-lease-duration-seconds. */
  nodeLeaseDurationSeconds?: number;
  /** --pod-cidr; otherwise the Node's spec.podCIDR from the controller-manager. */
  podCidr?: string;
  /** --cluster-dns, comma separated. */
  clusterDns?: string;
  /** --cluster-domain. */
  clusterDomain?: string;
  /** --resolv-conf: the host resolver configuration pods build on ("" for none). */
  resolvConf?: string;
  /** --root-dir: pods' volumes and logs. */
  rootDir?: string;
  /** --max-pods. */
  maxPods?: number;
  /** --pod-manifest-path: static pods. */
  podManifestPath?: string;
  /** --node-labels k=v,... */
  nodeLabels?: string;
  /** --pod-routes: "none" or "host-gw" (routes to the other nodes' podCIDRs via their InternalIP). */
  podRoutes?: "none" | "host-gw";
  kubeApiQps?: number;
  kubeApiBurst?: number;
  /** --v: log verbosity. */
  verbosity?: number;
  /** Further flags, passed as they are after the typed ones. */
  extraArgs?: readonly string[];
  /** The entry point; defaults to the built dist/kubelet/main.js. */
  entry?: string;
}

export function kubeletComponent(options: KubeletOptions): Component {
  const healthzPort = options.healthzPort;
  const healthzHost = options.healthzBindAddress ?? "127.0.0.1";
  return {
    name: options.name ?? "kubelet",
    kind: "kubelet",
    program: { kind: "node", entry: options.entry ?? distEntry("kubelet") },
    args: [
      ...renderFlags([
        ["master", options.master],
        ["kubeconfig", options.kubeconfig],
        ["hostname-override", options.hostnameOverride],
        ["node-ip", options.nodeIp],
        ["container-runtime-endpoint", options.containerRuntimeEndpoint],
        ["address", options.address],
        ["port", options.port],
        ["healthz-port", options.healthzPort],
        ["healthz-bind-address", options.healthzBindAddress],
        ["node-status-update-frequency", options.nodeStatusUpdateFrequency],
        ["sync-frequency", options.syncFrequency],
        ["node-lease-duration-seconds", options.nodeLeaseDurationSeconds],
        ["pod-cidr", options.podCidr],
        ["cluster-dns", options.clusterDns],
        ["cluster-domain", options.clusterDomain],
        ["resolv-conf", options.resolvConf],
        ["root-dir", options.rootDir],
        ["max-pods", options.maxPods],
        ["pod-manifest-path", options.podManifestPath],
        ["node-labels", options.nodeLabels],
        ["pod-routes", options.podRoutes],
        ["kube-api-qps", options.kubeApiQps],
        ["kube-api-burst", options.kubeApiBurst],
        ["v", options.verbosity],
      ]),
      ...(options.extraArgs ?? []),
    ],
    ports: { http: options.port ?? 10250, healthz: healthzPort ?? 10248 },
    ...(healthzPort === 0 ? {} : { readiness: { kind: "http", url: `http://${healthzHost}:${healthzPort ?? 10248}/healthz` } }),
    ...(options.rootDir !== undefined ? { dataDir: options.rootDir } : {}),
    links: ["kube-apiserver", "container-runtime"],
  };
}
