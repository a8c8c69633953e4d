// kubelab-runtime's flags, named like CRI-O's where CRI-O has one (--listen, --root, --runtime-root,
// --cni-config-dir, --cni-plugin-dir, --pause-image), plus the health/metrics --port and the choice of backend.
import { defineFlags, loggingFlags, type FlagValues } from "../component-base/flags.js";

/**
 * The backends --backend chooses from: "fake" (in memory, the default: it runs anywhere, unprivileged) and "oci"
 * (real containers under runc and conmon on the CNI pod network; needs root).
 */
export const BACKENDS = ["fake", "oci"] as const;
export type BackendName = (typeof BACKENDS)[number];

export const runtimeFlags = defineFlags({
  listen: { type: "string", default: "/run/kubelab/runtime.sock", help: "Path to the CRI-O socket (here: kubelab-runtime's CRI socket)." },
  root: { type: "string", default: "/var/lib/kubelab/runtime", help: "The daemon's state directory: sandboxes, containers and images, kept across restarts." },
  runtimeRoot: { type: "string", default: "/run/kubelab/runc", help: "The OCI runtime's state directory (runc's root under runc/, bundles, exit files, pod network records); kept until reboot, like the containers." },
  cniConfigDir: { type: "string", default: "/etc/cni/net.d", help: "CNI configuration files directory." },
  cniPluginDir: { type: "string", default: "/usr/lib/cni", help: "CNI plugin binaries directory." },
  pauseImage: { type: "string", default: "registry.k8s.io/pause:3.10", help: "Image which contains the pause executable." },
  backend: { type: "string", default: "fake", help: `What runs the containers: ${BACKENDS.join(", ")} ("fake": in memory, no processes, for hollow nodes and tests; "oci": runc, conmon and CNI, as root).` },
  podCidr: { type: "string", help: "The pod CIDR sandboxes take their IPs from until the kubelet sends one (UpdateRuntimeConfig)." },
  port: { type: "number", default: 0, help: "The port of the /healthz and /metrics server; 0 serves none." },
  bindAddress: { type: "string", default: "127.0.0.1", help: "The address of the /healthz and /metrics server." },
  streamingAddress: { type: "string", default: "127.0.0.1", help: "The address of the streaming server that serves exec, attach and port-forward sessions (the URLs Exec, Attach and PortForward return); keep it on loopback unless the node's kubelet is elsewhere." },
  streamingPort: { type: "number", default: 0, help: "The port of the streaming server; 0 picks a free one." },
  ...loggingFlags,
});

export type RuntimeFlags = FlagValues<typeof runtimeFlags>;

export function backendName(value: string): BackendName {
  const found = BACKENDS.find((b) => b === value);
  if (found === undefined) throw new Error(`--backend=${value}: unknown backend; choose one of ${BACKENDS.join(", ")}`);
  return found;
}
