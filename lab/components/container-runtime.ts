// kubelab-runtime (dist/container-runtime/main.js): a node's CRI runtime daemon on a unix socket. It is ready when
// it logs that it serves the CRI (its socket is not an HTTP port a probe could fetch).
import { renderFlags, type Component } from "./component.js";
import { distEntry } from "./entries.js";

export interface ContainerRuntimeOptions {
  /** Defaults to "container-runtime"; one per node, so a lab names it after the node. */
  name?: string;
  /** --listen: the CRI socket path. */
  socketPath: string;
  /** --root: the state directory kept across restarts. */
  root: string;
  /** --backend: "fake" (the default, in memory) or "oci" (runc, conmon and CNI; root). */
  backend?: string;
  runtimeRoot?: string;
  cniConfigDir?: string;
  cniPluginDir?: string;
  pauseImage?: string;
  podCidr?: string;
  /** --port of /healthz and /metrics; 0 (the default) serves none. */
  port?: number;
  verbosity?: number;
  extraArgs?: readonly string[];
  entry?: string;
}

export function containerRuntimeComponent(options: ContainerRuntimeOptions): Component {
  const port = options.port ?? 0;
  return {
    name: options.name ?? "container-runtime",
    kind: "container-runtime",
    program: { kind: "node", entry: options.entry ?? distEntry("container-runtime") },
    args: [
      ...renderFlags([
        ["listen", options.socketPath],
        ["root", options.root],
        ["backend", options.backend],
        ["runtime-root", options.runtimeRoot],
        ["cni-config-dir", options.cniConfigDir],
        ["cni-plugin-dir", options.cniPluginDir],
        ["pause-image", options.pauseImage],
        ["pod-cidr", options.podCidr],
        ["port", options.port],
        ["v", options.verbosity],
      ]),
      ...(options.extraArgs ?? []),
    ],
    ports: { http: port },
    readiness: { kind: "log", pattern: /"msg":"Serving the CRI"/ },
    dataDir: options.root,
    links: [],
  };
}
