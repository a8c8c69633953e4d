// `kubelab up --prometheus`: Prometheus on the host's loopback scraping every component of the lab. Its
// configuration (<home>/prometheus/prometheus.yml) names one file_sd list, <home>/prometheus/targets.json, which the
// supervisor rewrites whenever a component or node comes or goes and, every few seconds, for the cluster DNS pods.
// Job names are the ones dashboards/prometheus/prometheus.yml gives the same components under compose, so the
// Grafana dashboards' queries work on both. The cluster DNS pods live on the pod network, which the host does not
// route; with --prometheus the lab routes each node's podCIDR via that node on the lab bridge (the routes go with the
// bridge at `kubelab down`).
//
// In a secure lab the apiserver and the kubelets (their /metrics and /metrics/cadvisor on the kubelet API port) are
// HTTPS and ask who scrapes them: Prometheus verifies them with the lab's CA and shows its own client certificate,
// system:kubelab:prometheus, bound to a ClusterRole granting nodes/metrics, nodes/proxy and /metrics (lab/pki/rbac.ts;
// kube-prometheus uses a service account's token for the same). Those targets carry __scheme__=https; the job's
// tls_config only applies to them.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ComponentKind } from "../components/component.js";
import { labPkiPaths } from "../pki/pki.js";
import { labGet } from "./api.js";
import { pkiDir, type LabConfig, type PlannedComponent } from "./config.js";

/** The Prometheus job of each kind of component, as in dashboards/prometheus/prometheus.yml. */
export const SCRAPE_JOBS: Readonly<Partial<Record<ComponentKind, string>>> = {
  etcd: "etcd",
  "kube-apiserver": "apiserver",
  "kube-scheduler": "scheduler",
  "kube-controller-manager": "controller-manager",
  "container-runtime": "container-runtime",
  kubelet: "kubelet",
  "kube-proxy": "kube-proxy",
  "kube-state-metrics": "kube-state-metrics",
  prometheus: "prometheus",
};

/** The kubelet API port, where /metrics/cadvisor is served (job "cadvisor"): HTTPS in a secure lab. */
const KUBELET_PORT = 10250;
/** kubelab-dns's metrics port (CoreDNS' 9153), job "kube-dns". */
const DNS_METRICS_PORT = 9153;

/** One file_sd target group. */
export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

export interface DnsPod {
  name: string;
  node: string;
  podIP: string;
}

export function prometheusDir(home: string): string {
  return join(home, "prometheus");
}

export function targetsFile(home: string): string {
  return join(prometheusDir(home), "targets.json");
}

/** The lab's prometheus.yml: one job whose targets (and their job labels) all come from targets.json. */
export function prometheusConfigYaml(config: Pick<LabConfig, "home" | "secure">): string {
  const pki = config.secure ? labPkiPaths(pkiDir(config)) : undefined;
  const tls = pki
    ? ["    tls_config:", `      ca_file: ${JSON.stringify(pki.caCert)}`, `      cert_file: ${JSON.stringify(pki.tools.prometheus.cert)}`, `      key_file: ${JSON.stringify(pki.tools.prometheus.key)}`]
    : [];
  return [
    "# Written by kubelab up --prometheus; the targets are in targets.json, kept current by the lab.",
    "global:",
    "  scrape_interval: 5s",
    "  evaluation_interval: 5s",
    "  external_labels: {cluster: kubelab}",
    "scrape_configs:",
    "  - job_name: kubelab",
    "    scrape_timeout: 4s",
    "    file_sd_configs:",
    `      - files: [${JSON.stringify(targetsFile(config.home))}]`,
    "        refresh_interval: 10s",
    ...tls,
    "",
  ].join("\n");
}

/** "http://172.30.0.11:10248/metrics" → the group scraping it. */
function groupFor(url: string, labels: Record<string, string>): TargetGroup {
  const parsed = new URL(url);
  return { targets: [parsed.host], labels: { ...labels, __metrics_path__: parsed.pathname, ...(parsed.protocol === "https:" ? { __scheme__: "https" } : {}) } };
}

/** Every scrape target of the lab: its components' metrics endpoints, each node's cAdvisor endpoint, the DNS pods. */
export function scrapeTargets(config: LabConfig, planned: readonly PlannedComponent[], dnsPods: readonly DnsPod[]): TargetGroup[] {
  const groups: TargetGroup[] = [];
  for (const { component, node, metricsUrl } of planned) {
    const job = SCRAPE_JOBS[component.kind];
    if (job === undefined || metricsUrl === undefined) continue;
    groups.push(groupFor(metricsUrl, { job, ...(node !== undefined ? { node } : {}) }));
    if (component.kind === "kubelet" && node !== undefined) {
      groups.push(groupFor(`${config.secure ? "https" : "http"}://${new URL(metricsUrl).hostname}:${KUBELET_PORT}/metrics/cadvisor`, { job: "cadvisor", node }));
    }
    if (component.kind === "kube-state-metrics") {
      groups.push(groupFor(`http://127.0.0.1:${config.kubeStateMetricsTelemetryPort}/metrics`, { job: "kube-state-metrics-telemetry" }));
    }
  }
  for (const pod of dnsPods) groups.push(groupFor(`http://${pod.podIP}:${DNS_METRICS_PORT}/metrics`, { job: "kube-dns", node: pod.node, pod: pod.name }));
  return groups;
}

/** Replaces targets.json at once (a rename), so Prometheus never reads half a list. */
export function writeTargets(home: string, groups: readonly TargetGroup[]): void {
  mkdirSync(prometheusDir(home), { recursive: true });
  const path = targetsFile(home);
  const temp = `${path}.tmp-${process.pid}`;
  writeFileSync(temp, `${JSON.stringify(groups, null, 2)}\n`);
  renameSync(temp, path);
}

export function writePrometheusConfig(config: LabConfig): string {
  mkdirSync(prometheusDir(config.home), { recursive: true });
  const path = join(prometheusDir(config.home), "prometheus.yml");
  writeFileSync(path, prometheusConfigYaml(config));
  return path;
}

interface PodList {
  items?: { metadata?: { name?: string }; spec?: { nodeName?: string }; status?: { phase?: string; podIP?: string } }[];
}

interface NodeList {
  items?: { metadata?: { name?: string }; spec?: { podCIDR?: string }; status?: { addresses?: { type?: string; address?: string }[] } }[];
}

/** The running kube-dns pods with an IP, from the apiserver; empty when it does not answer. */
export async function dnsPods(config: LabConfig): Promise<DnsPod[]> {
  const list = (await labGet(config, "/api/v1/namespaces/kube-system/pods?labelSelector=k8s-app%3Dkube-dns", 2_000)) as PodList | undefined;
  if (list === undefined) return [];
  return (list.items ?? []).flatMap((pod) => {
    const { name } = pod.metadata ?? {};
    const podIP = pod.status?.podIP;
    const node = pod.spec?.nodeName;
    return name && podIP && node && pod.status?.phase === "Running" ? [{ name, podIP, node }] : [];
  });
}

/** Each Node's podCIDR and InternalIP ("10.244.1.0/24" → "172.30.0.11"), for the host's routes to the pod network. */
export async function podCidrRoutes(config: LabConfig): Promise<Map<string, string>> {
  const list = (await labGet(config, "/api/v1/nodes", 2_000)) as NodeList | undefined;
  const routes = new Map<string, string>();
  for (const node of list?.items ?? []) {
    const cidr = node.spec?.podCIDR;
    const ip = node.status?.addresses?.find((a) => a.type === "InternalIP")?.address;
    if (cidr && ip) routes.set(cidr, ip);
  }
  return routes;
}
