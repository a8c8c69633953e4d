// kube-apiserver (dist/apiserver/main.js) serving plain HTTP on loopback in front of etcd.
import { loopbackUrl, renderFlags, type Component } from "./component.js";
import { distEntry } from "./entries.js";

export interface ApiserverOptions {
  /** Defaults to "kube-apiserver". */
  name?: string;
  /** --etcd-servers: the etcd client URL(s). */
  etcdServers: string;
  /** --insecure-port. */
  port: number;
  /** --bind-address; defaults to 127.0.0.1. */
  bindAddress?: string;
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
        ["bind-address", options.bindAddress ?? "127.0.0.1"],
      ]),
      ...(options.extraArgs ?? []),
    ],
    ports: { http: options.port },
    readiness: { kind: "http", url: `${loopbackUrl(options.port)}/readyz` },
    links: ["etcd"],
  };
}
