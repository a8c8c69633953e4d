// kube-proxy (dist/kube-proxy/main.js): one per node, programming that node's iptables for Services. Readiness is
// its /healthz (Kubernetes' JSON, 200 once the first sync applied the rules), on --healthz-bind-address.
import { renderFlags, type Component } from "./component.js";
import { distEntry } from "./entries.js";

export interface KubeProxyOptions {
  /** Defaults to "kube-proxy"; one per node, so a lab names it after the node. */
  name?: string;
  /** --master: the apiserver URL. */
  master?: string;
  /** --kubeconfig. */
  kubeconfig?: string;
  /** --hostname-override: the Node's name. */
  hostnameOverride?: string;
  /** --cluster-cidr: traffic to a ClusterIP from outside it is masqueraded. */
  clusterCidr?: string;
  /** --proxy-mode: "iptables" or "userspace". */
  proxyMode?: "iptables" | "userspace";
  /** --bind-address (userspace mode: where the relays listen). */
  bindAddress?: string;
  /** --healthz-bind-address, host:port (kube-proxy's default 127.0.0.1:10256). */
  healthzBindAddress?: string;
  /** --metrics-bind-address, host:port (kube-proxy's default 127.0.0.1:10249). */
  metricsBindAddress?: string;
  /** --iptables-sync-period, a duration ("30s"). */
  iptablesSyncPeriod?: string;
  /** --iptables-min-sync-period, a duration ("250ms"). */
  iptablesMinSyncPeriod?: string;
  /** --masquerade-all. */
  masqueradeAll?: boolean;
  verbosity?: number;
  extraArgs?: readonly string[];
  /** The entry point; defaults to the built dist/kube-proxy/main.js. */
  entry?: string;
}

export function kubeProxyComponent(options: KubeProxyOptions): Component {
  const healthz = options.healthzBindAddress ?? "127.0.0.1:10256";
  const metrics = options.metricsBindAddress ?? "127.0.0.1:10249";
  return {
    name: options.name ?? "kube-proxy",
    kind: "kube-proxy",
    program: { kind: "node", entry: options.entry ?? distEntry("kube-proxy") },
    args: [
      ...renderFlags([
        ["master", options.master],
        ["kubeconfig", options.kubeconfig],
        ["hostname-override", options.hostnameOverride],
        ["cluster-cidr", options.clusterCidr],
        ["proxy-mode", options.proxyMode],
        ["bind-address", options.bindAddress],
        ["healthz-bind-address", options.healthzBindAddress],
        ["metrics-bind-address", options.metricsBindAddress],
        ["iptables-sync-period", options.iptablesSyncPeriod],
        ["iptables-min-sync-period", options.iptablesMinSyncPeriod],
        ["masquerade-all", options.masqueradeAll],
        ["v", options.verbosity],
      ]),
      ...(options.extraArgs ?? []),
    ],
    ports: { healthz: portOf(healthz), metrics: portOf(metrics) },
    readiness: { kind: "http", url: `http://${healthz}/healthz` },
    links: ["kube-apiserver"],
  };
}

function portOf(hostPort: string): number {
  return Number(hostPort.slice(hostPort.lastIndexOf(":") + 1));
}
