// etcd (Debian's etcd-server binary) as a single-member cluster on loopback: the only state of a kubelab cluster.
import { loopbackUrl, renderFlags, type Component } from "./component.js";

export interface EtcdOptions {
  /** Defaults to "etcd". */
  name?: string;
  dataDir: string;
  clientPort: number;
  peerPort: number;
  /** The etcd executable; defaults to `etcd` on PATH. */
  binary?: string;
  /** --quota-backend-bytes; defaults to 2 GiB, etcd's own default being too small for the benchmarks' lists. */
  quotaBackendBytes?: number;
  /** --log-level; defaults to "error" so that etcd's output is its failures. */
  logLevel?: "debug" | "info" | "warn" | "error";
}

const DEFAULT_QUOTA_BYTES = 2 * 1024 * 1024 * 1024;

export function etcdComponent(options: EtcdOptions): Component {
  const name = options.name ?? "etcd";
  const client = loopbackUrl(options.clientPort);
  const peer = loopbackUrl(options.peerPort);
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
      ["log-level", options.logLevel ?? "error"],
      ["logger", "zap"],
      ["quota-backend-bytes", options.quotaBackendBytes ?? DEFAULT_QUOTA_BYTES],
    ]),
    ports: { client: options.clientPort, peer: options.peerPort },
    readiness: { kind: "http", url: `${client}/health` },
    dataDir: options.dataDir,
    links: [],
  };
}

/** The client URL of an etcd component, as --etcd-servers takes it. */
export function etcdEndpoint(etcd: Component): string {
  return loopbackUrl(etcd.ports.client ?? 0);
}
