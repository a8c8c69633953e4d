// kube-proxy's command line: Kubernetes' flag names and defaults, except --healthz-bind-address, which listens on
// loopback by default (the lab serves unauthenticated endpoints only locally).
import { defineFlags, loggingFlags } from "../component-base/flags.js";

export const PROXY_MODES = ["iptables", "userspace"] as const;
export type ProxyMode = (typeof PROXY_MODES)[number];

export const kubeProxyFlags = defineFlags({
  master: { type: "string", help: "The address of the Kubernetes API server (overrides any value in kubeconfig)" },
  kubeconfig: { type: "string", help: "Path to kubeconfig file with authorization information (the master location can be overridden by the master flag)." },
  proxyMode: { type: "string", default: "iptables", help: "Which proxy mode to use: 'iptables' (default) or 'userspace' (0.18's: kube-proxy relays connections itself)." },
  hostnameOverride: { type: "string", help: "If non-empty, will use this string as identification instead of the actual hostname." },
  clusterCidr: { type: "string", help: "The CIDR range of pods in the cluster. When configured, traffic sent to a Service cluster IP from outside this range will be masqueraded." },
  iptablesSyncPeriod: { type: "duration", default: "30s", help: "The maximum interval of how often iptables rules are refreshed (e.g. '5s', '1m', '2h22m'). Must be greater than 0." },
  iptablesMinSyncPeriod: { type: "duration", default: "1s", help: "The minimum interval of how often the iptables rules can be refreshed as endpoints and services change (e.g. '5s', '1m', '2h22m')." },
  bindAddress: { type: "string", default: "0.0.0.0", help: "The IP address for the proxy server to serve on (set to 0.0.0.0 for all interfaces). Only applicable for proxy-mode=userspace: the relays listen there, and the node's own traffic to a Service is sent there (to the first non-loopback address for 0.0.0.0)." },
  udpTimeout: { type: "duration", default: "250ms", help: "How long an idle UDP connection will be kept open (e.g. '250ms', '2s'). Only applicable for proxy-mode=userspace." },
  iptablesLocalhostNodeports: { type: "boolean", default: true, help: "If false, NodePort services are not reachable via localhost (127.0.0.1). Only applies to iptables mode. True sets net.ipv4.conf.all.route_localnet=1 in the node's network namespace when --nodeport-addresses includes loopback." },
  masqueradeAll: { type: "boolean", help: "If using the pure iptables proxy, SNAT all traffic sent via Service cluster IPs (this not commonly needed)" },
  nodeportAddresses: { type: "stringArray", help: "A string slice of values which specify the addresses to use for NodePorts. Values may be valid IP blocks (e.g. 1.2.3.0/24, 1.2.3.4/32). The default empty string slice ([]) means to use all local addresses." },
  cleanup: { type: "boolean", help: "If true cleanup iptables rules and exit." },
  healthzBindAddress: { type: "string", default: "127.0.0.1:10256", help: "The IP address with port for the health check server to serve on (set to '0.0.0.0:10256' for all IPv4 interfaces). Port 0 picks a free port." },
  metricsBindAddress: { type: "string", default: "127.0.0.1:10249", help: "The IP address with port for the metrics server to serve on (set to '0.0.0.0:10249' for all IPv4 interfaces). Port 0 picks a free port." },
  kubeApiQps: { type: "number", default: 5, help: "QPS to use while talking with kubernetes apiserver." },
  kubeApiBurst: { type: "number", default: 10, help: "Burst to use while talking with kubernetes apiserver." },
  ...loggingFlags,
});
