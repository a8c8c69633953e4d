// kube-state-metrics (dist/kube-state-metrics/main.js): the cluster's objects as Prometheus series on --port, its
// own process metrics on --telemetry-port. Readiness is the cluster-state server's /readyz (its caches synced).
import { loopbackUrl, renderFlags, type Component } from "./component.js";
import { distEntry } from "./entries.js";

export interface KubeStateMetricsOptions {
  /** --apiserver: the apiserver URL. */
  apiserver?: string;
  /** --kubeconfig. */
  kubeconfig?: string;
  /** --host and --telemetry-host (kube-state-metrics' default 0.0.0.0). */
  host?: string;
  /** --port: the cluster-state metrics (kube-state-metrics' default 8080). */
  port: number;
  /** --telemetry-port: its own metrics (default 8081). */
  telemetryPort: number;
  /** --resources, comma-separated (default: every served resource but endpointslices). */
  resources?: string;
  verbosity?: number;
  extraArgs?: readonly string[];
  /** The entry point; defaults to the built dist/kube-state-metrics/main.js. */
  entry?: string;
}

export function kubeStateMetricsComponent(options: KubeStateMetricsOptions): Component {
  const host = options.host ?? "0.0.0.0";
  const probeHost = host === "0.0.0.0" ? loopbackUrl(options.port) : `http://${host}:${options.port}`;
  return {
    name: "kube-state-metrics",
    kind: "kube-state-metrics",
    program: { kind: "node", entry: options.entry ?? distEntry("kube-state-metrics") },
    args: [
      ...renderFlags([
        ["apiserver", options.apiserver],
        ["kubeconfig", options.kubeconfig],
        ["host", options.host],
        ["port", options.port],
        ["telemetry-host", options.host],
        ["telemetry-port", options.telemetryPort],
        ["resources", options.resources],
        ["v", options.verbosity],
      ]),
      ...(options.extraArgs ?? []),
    ],
    ports: { http: options.port, telemetry: options.telemetryPort },
    readiness: { kind: "http", url: `${probeHost}/readyz` },
    links: ["kube-apiserver"],
  };
}
