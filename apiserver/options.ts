// kube-apiserver's flags, with Kubernetes' names and defaults (and 0.18's --insecure-port for plain HTTP).
import { defineFlags, loggingFlags, type FlagValues } from "../component-base/flags.js";

export const apiServerFlags = defineFlags({
  etcdServers: { type: "string", default: "http://127.0.0.1:2379", help: "List of etcd servers to connect with (scheme://ip:port), comma separated." },
  etcdPrefix: { type: "string", default: "/registry", help: "The prefix to prepend to all resource paths in etcd." },
  bindAddress: { type: "string", default: "0.0.0.0", help: "The IP address on which to listen for the --insecure-port port." },
  insecurePort: { type: "number", default: 8080, help: "The port on which to serve unsecured, unauthenticated HTTP (0 picks a free port)." },
  advertiseAddress: { type: "string", help: "The IP address on which to advertise the apiserver to members of the cluster (the `kubernetes` Service endpoints). Defaults to --bind-address, or the first non-loopback IPv4 address when that is 0.0.0.0 or loopback." },
  serviceClusterIpRange: { type: "string", default: "10.96.0.0/12", help: "A CIDR notation IP range from which to assign service cluster IPs. The first IP is the `kubernetes` Service." },
  serviceNodePortRange: { type: "string", default: "30000-32767", help: "A port range to reserve for services with NodePort visibility. Example: '30000-32767'. Inclusive at both ends of the range." },
  defaultNotReadyTolerationSeconds: { type: "number", default: 300, help: "Indicates the tolerationSeconds of the toleration for notReady:NoExecute that is added by default to every pod that does not already have such a toleration." },
  defaultUnreachableTolerationSeconds: { type: "number", default: 300, help: "Indicates the tolerationSeconds of the toleration for unreachable:NoExecute that is added by default to every pod that does not already have such a toleration." },
  eventTtl: { type: "duration", default: "1h", help: "Amount of time to retain events." },
  watchCacheSize: { type: "number", default: 10000, help: "Number of recent watch events each resource's watch cache keeps for clients resuming from a resourceVersion." },
  ...loggingFlags,
});

export type ApiServerOptions = FlagValues<typeof apiServerFlags>;
