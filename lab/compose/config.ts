// The LabConfig of a compose node container (lab/up/config.ts): one node in the container's own network namespace,
// the control plane in containers of its own. Secure (the lab's PKI in <home>/pki, the `pki` volume) when the
// apiserver URL is https, the 0.18 plain-HTTP lab when it is http (docker-compose.insecure.yml).
import type { LabConfig } from "../up/config.js";

export interface ComposeNodeSettings {
  home: string;
  apiserver: string;
  nodeNetwork: string;
  clusterCidr: string;
  serviceCidr: string;
  clusterDns: string;
  dnsReplicas: number;
  proxyMode: "iptables" | "userspace";
  verbosity: number;
}

export function composeLabConfig(settings: ComposeNodeSettings): LabConfig {
  const url = new URL(settings.apiserver);
  const secure = url.protocol === "https:";
  return {
    home: settings.home,
    bridge: "",
    nodeNetwork: settings.nodeNetwork,
    netnsPrefix: "",
    nodes: 1,
    clusterCidr: settings.clusterCidr,
    serviceCidr: settings.serviceCidr,
    clusterDns: settings.clusterDns,
    proxyMode: settings.proxyMode,
    apiserverPort: secure ? 0 : Number(url.port || 80),
    etcdClientPort: 0,
    etcdPeerPort: 0,
    schedulerPort: 0,
    controllerManagerPort: 0,
    // The control plane, kube-state-metrics and Prometheus run in their own containers, not in a node's.
    kubeStateMetricsPort: 0,
    kubeStateMetricsTelemetryPort: 0,
    prometheusPort: 0,
    uiPort: 0,
    withKubelet: true,
    verbosity: settings.verbosity,
    ...(secure ? { secure: true, securePort: Number(url.port || 443) } : {}),
    container: { apiserver: settings.apiserver, dnsReplicas: settings.dnsReplicas },
  };
}

/** docker-compose.yml's networks and add-on settings, the flags' defaults. */
export const COMPOSE_DEFAULTS = {
  clusterCidr: "10.244.0.0/16",
  serviceCidr: "10.96.0.0/12",
  clusterDns: "10.96.0.10",
  dnsReplicas: 2,
  proxyMode: "iptables",
  verbosity: 0,
} as const;
