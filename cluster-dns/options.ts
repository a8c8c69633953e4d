// kubelab-dns's command line. The DNS side follows CoreDNS's default Corefile for Kubernetes (port 53, `kubernetes
// cluster.local`, `forward . /etc/resolv.conf`, `cache 30`, `health` on 8080, `ready` on 8181, `prometheus` on
// 9153), the API side the other components' flags.
import { defineFlags, loggingFlags } from "../component-base/flags.js";

export const clusterDnsFlags = defineFlags({
  master: { type: "string", help: "The address of the Kubernetes API server (overrides any value in kubeconfig)" },
  kubeconfig: { type: "string", help: "Path to kubeconfig file with authorization and master location information (without it or --master: $KUBECONFIG, ~/.kube/config, then the in-cluster service account)." },
  kubeApiQps: { type: "number", default: 20, help: "QPS to use while talking with kubernetes apiserver (<= 0 disables client-side rate limiting)." },
  kubeApiBurst: { type: "number", default: 30, help: "Burst to use while talking with kubernetes apiserver." },
  domain: { type: "string", default: "cluster.local", help: "The cluster's DNS domain, the zone this server answers for (the kubelet's --cluster-domain)." },
  dnsBindAddress: { type: "string", default: "0.0.0.0", help: "The IP address to serve DNS (UDP and TCP), health, readiness and metrics on." },
  dnsPort: { type: "number", default: 53, help: "The port to serve DNS on, UDP and TCP (0 picks a free port)." },
  healthPort: { type: "number", default: 8080, help: "The port of /health (CoreDNS's health plugin): 200 while the process runs (0 picks a free port)." },
  readinessPort: { type: "number", default: 8181, help: "The port of /ready (CoreDNS's ready plugin): 200 once the caches synced and DNS listens (0 picks a free port)." },
  metricsPort: { type: "number", default: 9153, help: "The port of /metrics (CoreDNS's prometheus plugin) (0 picks a free port)." },
  upstream: { type: "stringArray", help: "An upstream resolver (IP or IP:port) for names outside the cluster domain; repeatable. Default: the nameservers of --resolv-conf, except this server itself." },
  resolvConf: { type: "string", default: "/etc/resolv.conf", help: "The resolv.conf whose nameservers are the upstreams when --upstream is not given." },
  upstreamTimeout: { type: "duration", default: "2s", help: "How long to wait for one upstream's answer before trying the next." },
  ttl: { type: "number", default: 5, help: "The TTL of the cluster's records, in seconds (CoreDNS's kubernetes plugin default)." },
  cacheTtl: { type: "duration", default: "30s", help: "The longest a forwarded answer is cached (CoreDNS's `cache 30`); 0 disables the cache." },
  ...loggingFlags,
});
