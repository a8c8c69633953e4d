// metrics-server (dist/metrics-server/main.js): scrapes the kubelets and serves metrics.k8s.io for `kubectl top`,
// reached through the apiserver's aggregation layer. Flags with metrics-server's names; readiness is its /readyz on
// --bind-address:--secure-port (ready once it has stored a scrape), so it starts after the nodes.
import { renderFlags, type Component } from "./component.js";
import { distEntry } from "./entries.js";

export interface MetricsServerOptions {
  name?: string;
  master?: string;
  kubeconfig?: string;
  /** --secure-port (plain HTTP without TLS files: the lab has no PKI). */
  securePort: number;
  /** --bind-address; also the host the readiness probe asks. */
  bindAddress: string;
  /** --metric-resolution, a Go duration ("15s"). */
  metricResolution?: string;
  /** --kubelet-preferred-address-types. */
  kubeletPreferredAddressTypes?: string;
  /** --kubelet-use-node-status-port. */
  kubeletUseNodeStatusPort?: boolean;
  verbosity?: number;
  extraArgs?: readonly string[];
  entry?: string;
}

export function metricsServerComponent(options: MetricsServerOptions): Component {
  const args = [
    ...renderFlags([
      ["master", options.master],
      ["kubeconfig", options.kubeconfig],
      ["secure-port", options.securePort],
      ["bind-address", options.bindAddress],
      ["metric-resolution", options.metricResolution],
      ["kubelet-preferred-address-types", options.kubeletPreferredAddressTypes],
      ["kubelet-use-node-status-port", options.kubeletUseNodeStatusPort],
      ["v", options.verbosity !== undefined && options.verbosity > 0 ? options.verbosity : undefined],
    ]),
    ...(options.extraArgs ?? []),
  ];
  return {
    name: options.name ?? "metrics-server",
    kind: "metrics-server",
    program: { kind: "node", entry: options.entry ?? distEntry("metrics-server") },
    args,
    ports: { https: options.securePort },
    readiness: { kind: "http", url: `http://${options.bindAddress}:${options.securePort}/readyz` },
    links: ["kube-apiserver"],
  };
}
