// The real kube-controller-manager (v1.26.1, from the peers folder's bin/, see ../shared/peers/README.md), run
// against a kubelab apiserver for comparison with kubelab's controller-manager: the workloads bench. It reads the
// apiserver from a kubeconfig (it has no --master for a URL alone that works with TLS), serves no HTTPS of its own
// (--secure-port=0: no port to collide on, no delegated authentication to set up) and runs only the controllers asked.
import { join } from "node:path";
import { writeKubeconfigFile } from "../../client/kubeconfig.js";
import type { Component } from "./component.js";

export interface RealControllerManagerOptions {
  /** The peers folder (KUBELAB_PEERS): bin/kube-controller-manager. */
  peersDir: string;
  /** A kubeconfig for the apiserver (realControllerManagerKubeconfig writes one). */
  kubeconfig: string;
  /** --controllers; every on-by-default controller when absent. */
  controllers?: readonly string[];
  /** --kube-api-qps and --kube-api-burst; the binary's defaults (20 and 30) when absent. */
  kubeApiQps?: number;
  kubeApiBurst?: number;
  /** Further flags after these. */
  extraArgs?: readonly string[];
  name?: string;
}

export function realControllerManagerArgs(options: RealControllerManagerOptions): string[] {
  return [
    `--kubeconfig=${options.kubeconfig}`,
    "--leader-elect=false",
    "--secure-port=0",
    ...(options.controllers ? [`--controllers=${options.controllers.join(",")}`] : []),
    ...(options.kubeApiQps !== undefined ? [`--kube-api-qps=${options.kubeApiQps}`] : []),
    ...(options.kubeApiBurst !== undefined ? [`--kube-api-burst=${options.kubeApiBurst}`] : []),
    ...(options.extraArgs ?? []),
  ];
}

/** Its descriptor; it has no probe of its own (no serving port), so readiness is what the caller observes. */
export function realControllerManagerComponent(options: RealControllerManagerOptions): Component {
  return {
    name: options.name ?? "real-kube-controller-manager",
    kind: "kube-controller-manager",
    program: { kind: "binary", path: join(options.peersDir, "bin", "kube-controller-manager") },
    args: realControllerManagerArgs(options),
    ports: {},
    links: ["kube-apiserver"],
  };
}

/**
 * Writes `<dir>/kubeconfig` for the apiserver at `server`: a bearer token when given, and for https the server's
 * certificate unchecked (the peers' apiservers serve self-signed pairs on loopback). Returns its path.
 */
export function realControllerManagerKubeconfig(dir: string, server: string, token?: string): string {
  const path = join(dir, "kubeconfig");
  writeKubeconfigFile(path, { server, namespace: "default", ...(server.startsWith("https:") ? { insecureSkipTLSVerify: true } : {}), ...(token !== undefined ? { token } : {}) });
  return path;
}
