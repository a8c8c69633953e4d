// etcd (Debian's etcd-server binary) as a single-member cluster on loopback: the only state of a kubelab cluster.
// Plain HTTP by default; with `tls` kubeadm's setup: client and peer URLs over https with certificates from etcd's CA,
// client certificates required (--client-cert-auth), and /health and /metrics on a plain-HTTP loopback port of their
// own (kubeadm's --listen-metrics-urls=http://127.0.0.1:2381), where readiness is probed without a certificate.
import type { EtcdPkiPaths } from "../pki/etcd.js";
import { loopbackUrl, renderFlags, type Component } from "./component.js";

export interface EtcdOptions {
  /** Defaults to "etcd". */
  name?: string;
  dataDir: string;
  clientPort: number;
  peerPort: number;
  /** The executable; defaults to `etcd` on PATH. */
  binary?: string;
  /** --quota-backend-bytes; defaults to 2 GiB, etcd's own default being too small for the benchmarks' lists. */
  quotaBackendBytes?: number;
  /** --log-level; defaults to "error" so that etcd's output is its failures. */
  logLevel?: "debug" | "info" | "warn" | "error";
  /** kubeadm's TLS with etcd's files of the lab PKI, and the plain-HTTP port for /health and /metrics. */
  tls?: { pki: EtcdPkiPaths; metricsPort: number };
}

const DEFAULT_QUOTA_BYTES = 2 * 1024 * 1024 * 1024;

export function etcdComponent(options: EtcdOptions): Component {
  const name = options.name ?? "etcd";
  const tls = options.tls;
  const scheme = tls ? "https" : "http";
  const client = `${scheme}://127.0.0.1:${options.clientPort}`;
  const peer = `${scheme}://127.0.0.1:${options.peerPort}`;
  const metrics = tls ? loopbackUrl(tls.metricsPort) : client;
  return {
    name,
    kind: "etcd",
    program: { kind: "binary", path: options.binary ?? "etcd" },
    args: renderFlags([
      ["name", name],
      ["data-dir", options.dataDir],
      ["listen-client-urls", client],
      ["advertise-client-urls", client],
      ["listen-peer-urls", peer],
      ["initial-advertise-peer-urls", peer],
      ["initial-cluster", `${name}=${peer}`],
      ...(tls
        ? ([
            ["client-cert-auth", "true"],
            ["trusted-ca-file", tls.pki.ca.cert],
            ["cert-file", tls.pki.server.cert],
            ["key-file", tls.pki.server.key],
            ["peer-client-cert-auth", "true"],
            ["peer-trusted-ca-file", tls.pki.ca.cert],
            ["peer-cert-file", tls.pki.peer.cert],
            ["peer-key-file", tls.pki.peer.key],
            ["listen-metrics-urls", metrics],
          ] as const)
        : []),
      ["log-level", options.logLevel ?? "error"],
      ["logger", "zap"],
      ["quota-backend-bytes", options.quotaBackendBytes ?? DEFAULT_QUOTA_BYTES],
    ]),
    ports: { client: options.clientPort, peer: options.peerPort, ...(tls ? { metrics: tls.metricsPort } : {}) },
    readiness: { kind: "http", url: `${metrics}/health` },
    dataDir: options.dataDir,
    links: [],
  };
}

/** The client URL an etcd component advertises (https with TLS), as --etcd-servers takes it. */
export function etcdEndpoint(etcd: Component): string {
  const advertised = etcd.args.find((arg) => arg.startsWith("--advertise-client-urls="));
  return advertised?.slice("--advertise-client-urls=".length) ?? loopbackUrl(etcd.ports.client ?? 0);
}

/** Where an etcd component serves /metrics and /health without a client certificate. */
export function etcdMetricsUrl(etcd: Component): string {
  return etcd.ports.metrics !== undefined ? loopbackUrl(etcd.ports.metrics) : etcdEndpoint(etcd);
}
