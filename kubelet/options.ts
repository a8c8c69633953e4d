// The kubelet's command line: Kubernetes' flag names and defaults (see KUBELET-FLAGS.md, agreed with the lab), except
// --address, which binds the kubelet API (unauthenticated unless --anonymous-auth=false and the TLS and
// authorization flags say otherwise) to loopback unless told otherwise.
import { defineFlags, loggingFlags, type FlagValues } from "../component-base/flags.js";

export const kubeletFlags = defineFlags({
  master: { type: "string", help: "The address of the Kubernetes API server (overrides any value in kubeconfig)." },
  apiServers: { type: "string", help: "Deprecated (0.18): a comma-separated list of API servers; the first is used. Use --master or --kubeconfig." },
  kubeconfig: { type: "string", help: "Path to a kubeconfig file, specifying how to connect to the API server (wins over --master)." },
  hostnameOverride: { type: "string", help: "If non-empty, will use this string as identification (the Node's name) instead of the actual hostname." },
  nodeIp: { type: "string", help: "IP address of the node (its InternalIP). Default: the first non-loopback IPv4 address of the network namespace." },
  containerRuntimeEndpoint: { type: "string", default: "unix:///run/kubelab/runtime.sock", help: "The endpoint of the CRI container runtime service (unix socket)." },
  port: { type: "number", default: 10250, help: "The port for the Kubelet to serve on (logs, exec, attach, port-forward, pods, stats, metrics)." },
  address: { type: "string", default: "127.0.0.1", help: "The IP address for the Kubelet to serve on. Kubernetes' default is 0.0.0.0; kubelab's is loopback, since this API is unauthenticated unless the auth flags say otherwise." },
  healthzPort: { type: "number", default: 10248, help: "The port of the localhost healthz endpoint (also /readyz and /metrics; 0 disables)." },
  healthzBindAddress: { type: "string", default: "127.0.0.1", help: "The IP address for the healthz server to serve on." },
  syncFrequency: { type: "duration", default: "1m", help: "Max period between synchronizing running containers and config (how soon a running pod's configMap and secret volumes show an update)." },
  nodeStatusUpdateFrequency: { type: "duration", default: "10s", help: "How often the kubelet computes the node status and posts it to the master when it changed." },
  nodeLeaseDurationSeconds: { type: "number", default: 40, help: "The duration the Kubelet sets on its Lease; renewed every quarter of it." },
  podCidr: { type: "string", help: "The CIDR to use for pod IP addresses (otherwise the Node's spec.podCIDR, set by the controller-manager)." },
  clusterDns: { type: "string", default: "10.96.0.10", help: "Comma-separated list of DNS server IP addresses given to pods with dnsPolicy ClusterFirst." },
  clusterDomain: { type: "string", default: "cluster.local", help: "Domain for this cluster; containers search it in addition to the host's search domains." },
  resolvConf: { type: "string", default: "/etc/resolv.conf", help: "Resolver configuration file used as the basis for the container DNS resolution configuration (nameservers and search domains of dnsPolicy Default pods, search domains added for ClusterFirst). The empty string means none." },
  rootDir: { type: "string", default: "/var/lib/kubelet", help: "Directory path for managing kubelet files (volume mounts, etc-hosts, container logs)." },
  maxPods: { type: "number", default: 110, help: "Number of Pods that can run on this Kubelet." },
  podManifestPath: { type: "string", help: "Path to the directory of static pod manifests to run (mirror pods are created for them)." },
  nodeLabels: { type: "string", default: "", help: "Labels to add when registering the node in the cluster: key=value pairs separated by ','." },
  podRoutes: { type: "string", default: "none", help: "none | host-gw: route every other node's podCIDR via its InternalIP in this network namespace." },
  cgroupRoot: { type: "string", default: "", help: "Optional root cgroup for pods (pod cgroups go below <cgroup-root>/pod<uid>); default: the runtime's." },
  kubeApiQps: { type: "number", default: 50, help: "QPS to use while talking with kubernetes apiserver (<= 0 disables client-side rate limiting)." },
  kubeApiBurst: { type: "number", default: 100, help: "Burst to use while talking with kubernetes apiserver." },
  tlsCertFile: { type: "string", help: "File containing the x509 certificate for HTTPS on --port (with --tls-private-key-file). Without both, kubelab serves plain HTTP (Kubernetes would generate a self-signed pair)." },
  tlsPrivateKeyFile: { type: "string", help: "File containing the x509 private key matching --tls-cert-file." },
  clientCaFile: { type: "string", help: "If set, any request presenting a client certificate signed by one of the authorities in the client-ca-file is authenticated with an identity corresponding to the CommonName of the client certificate (and its Organizations as groups)." },
  anonymousAuth: { type: "boolean", default: true, help: "Enables anonymous requests to the Kubelet server. Requests that are not rejected by another authentication method are treated as anonymous requests (system:anonymous, group system:unauthenticated)." },
  authenticationTokenWebhook: { type: "boolean", default: false, help: "Use the TokenReview API to determine authentication for bearer tokens." },
  authenticationTokenWebhookCacheTtl: { type: "duration", default: "2m", help: "The duration to cache responses from the webhook token authenticator." },
  authorizationMode: { type: "string", default: "AlwaysAllow", help: "Authorization mode for Kubelet server: AlwaysAllow or Webhook (uses the SubjectAccessReview API to determine authorization)." },
  authorizationWebhookCacheAuthorizedTtl: { type: "duration", default: "5m", help: "The duration to cache 'authorized' responses from the webhook authorizer." },
  authorizationWebhookCacheUnauthorizedTtl: { type: "duration", default: "30s", help: "The duration to cache 'unauthorized' responses from the webhook authorizer." },
  ...loggingFlags,
});

export type KubeletFlags = FlagValues<typeof kubeletFlags>;

/** --node-labels "a=b,c=d" as a record; throws on a pair without "=". */
export function parseNodeLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new Error(`--node-labels: "${pair}" is not key=value`);
    labels[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return labels;
}

/** The apiserver URL the flags name: --master, else the first of --api-servers. */
export function masterFromFlags(flags: Pick<KubeletFlags, "master" | "apiServers">): string | undefined {
  if (flags.master !== undefined && flags.master !== "") return flags.master;
  const first = flags.apiServers?.split(",").map((s) => s.trim()).find((s) => s !== "");
  return first;
}
