// kube-apiserver (dist/apiserver/main.js) serving plain HTTP (the insecure port, which it only opens when asked) on
// loopback in front of etcd; the secure port is off unless `securePort` is given (test clusters run side by side and
// would all want 6443).
import { loopbackUrl, renderFlags, type Component } from "./component.js";
import { distEntry } from "./entries.js";

export interface ApiserverOptions {
  /** Defaults to "kube-apiserver". */
  name?: string;
  /** --etcd-servers: the etcd client URL(s). */
  etcdServers: string;
  /** --insecure-port. */
  port: number;
  /** --insecure-bind-address, and --bind-address when `securePort` is given; defaults to 127.0.0.1. */
  bindAddress?: string;
  /** --secure-port; 0 (no HTTPS) by default. */
  securePort?: number;
  /** Further flags, passed as they are after the typed ones. */
  extraArgs?: readonly string[];
  /** The entry point; defaults to the built dist/apiserver/main.js. */
  entry?: string;
}

export function apiserverComponent(options: ApiserverOptions): Component {
  return {
    name: options.name ?? "kube-apiserver",
    kind: "kube-apiserver",
    program: { kind: "node", entry: options.entry ?? distEntry("apiserver") },
    args: [
      ...renderFlags([
        ["etcd-servers", options.etcdServers],
        ["insecure-port", options.port],
        ["insecure-bind-address", options.bindAddress ?? "127.0.0.1"],
        ["secure-port", options.securePort ?? 0],
        ["bind-address", options.securePort ? (options.bindAddress ?? "127.0.0.1") : undefined],
      ]),
      ...(options.extraArgs ?? []),
    ],
    ports: { http: options.port },
    readiness: { kind: "http", url: `${loopbackUrl(options.port)}/readyz` },
    links: ["etcd"],
  };
}
