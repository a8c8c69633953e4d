// A lab configuration for unit tests (no I/O is done with it).
import type { LabConfig } from "./config.js";

export const TEST_CONFIG: LabConfig = {
  home: "/h",
  bridge: "kubelab0",
  nodeNetwork: "172.30.0.0/16",
  netnsPrefix: "kubelab",
  nodes: 3,
  clusterCidr: "10.244.0.0/16",
  serviceCidr: "10.96.0.0/12",
  clusterDns: "10.96.0.10",
  proxyMode: "iptables",
  apiserverPort: 8080,
  etcdClientPort: 12379,
  etcdPeerPort: 12380,
  schedulerPort: 10251,
  controllerManagerPort: 10252,
  kubeStateMetricsPort: 18080,
  kubeStateMetricsTelemetryPort: 18081,
  prometheusPort: 0,
  uiPort: 8484,
  withKubelet: true,
  verbosity: 0,
};
