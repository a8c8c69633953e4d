// The real kube-apiserver (v1.26.1, built as ../shared/peers/README.md says into a folder with bin/ and pki/), run
// beside kubelab's for comparison: the differential suites and the apiserver bench. On loopback, HTTPS with a
// self-signed serving certificate in `certDir`, the peers' static token file (PEER_ADMIN_TOKEN is in
// system:masters), their service-account keys, and no endpoint reconciler (several may share a machine).
import { join } from "node:path";
import type { Component } from "./component.js";

/** The static admin token ../shared/peers/build.sh writes into pki/tokens.csv. */
export const PEER_ADMIN_TOKEN = "peer-admin-token";

export interface RealApiserverOptions {
  /** The peers folder (KUBELAB_PEERS): bin/kube-apiserver and pki/. */
  peersDir: string;
  etcdServers: string;
  /** --secure-port on 127.0.0.1. */
  port: number;
  /** --cert-dir, where it writes its self-signed serving pair. */
  certDir: string;
  /** --authorization-mode; AlwaysAllow by default. */
  authorizationMode?: string;
  /** Further flags after these. */
  extraArgs?: readonly string[];
  name?: string;
}

export function realApiServerArgs(options: RealApiserverOptions): string[] {
  const pki = join(options.peersDir, "pki");
  return [
    `--etcd-servers=${options.etcdServers}`,
    "--bind-address=127.0.0.1",
    `--secure-port=${options.port}`,
    "--advertise-address=127.0.0.1",
    "--endpoint-reconciler-type=none",
    `--cert-dir=${options.certDir}`,
    `--authorization-mode=${options.authorizationMode ?? "AlwaysAllow"}`,
    `--token-auth-file=${join(pki, "tokens.csv")}`,
    `--client-ca-file=${join(pki, "ca.crt")}`,
    "--service-account-issuer=https://kubernetes.default.svc",
    `--service-account-key-file=${join(pki, "sa.pub")}`,
    `--service-account-signing-key-file=${join(pki, "sa.key")}`,
    "--service-cluster-ip-range=10.96.0.0/12",
    "--profiling=false",
    ...(options.extraArgs ?? []),
  ];
}

/** Its descriptor; readiness is left to the caller, since /readyz needs the token. */
export function realApiserverComponent(options: RealApiserverOptions): Component {
  return {
    name: options.name ?? "real-kube-apiserver",
    kind: "kube-apiserver",
    program: { kind: "binary", path: join(options.peersDir, "bin", "kube-apiserver") },
    args: realApiServerArgs(options),
    ports: { https: options.port },
    links: ["etcd"],
  };
}
