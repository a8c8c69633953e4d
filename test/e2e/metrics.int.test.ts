// Metrics and dashboards on ONE `kubelab up --nodes 2 --prometheus` (Debian's prometheus, supervised by the lab,
// its targets in the lab's file_sd list). First every component's /metrics is read directly and must carry its core
// series with Kubernetes' names and labels (its scrape cost is printed). Then, with a workload running (a
// Deployment, a pod whose readiness probe fails, DNS lookups, a deleted pod, a 404), every PromQL query of every
// panel in dashboards/grafana/dashboards/*.json must evaluate to data through Prometheus' HTTP API, except the few
// listed in NEEDS_AN_EVENT with the reason. The lab (and with it Prometheus and its data directory, under the lab's
// home) is taken down in afterAll even when a test failed.
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, distEntry } from "../../lab/components/entries.js";
import { freePort } from "../../lab/process/ports.js";
import { labPrerequisites, TestLab } from "../../lab/up/throwaway.js";
import { labPkiPaths } from "../../lab/pki/pki.js";
import { waitFor } from "../support/apiserver.js";
import { call, type ApiTarget } from "../support/http.js";

const prerequisites = labPrerequisites();
const hasPrometheus = existsSync("/usr/bin/prometheus");
const runnable = prerequisites.ok && hasPrometheus && existsSync(distEntry("kube-state-metrics"));
if (!runnable) console.warn(`metrics.int.test: skipped: ${prerequisites.ok ? "needs /usr/bin/prometheus and a built kube-state-metrics" : prerequisites.reason}`);

const lab = new TestLab("metrics");
let prometheusUrl = "";

interface StatusComponent {
  component: string;
  node?: string;
  metricsUrl?: string;
}

/** Metric name → the label names seen on its samples (union over samples). */
type Exposition = Map<string, Set<string>>;

/** Reads the Prometheus text format: sample names and their label names (values are not needed here). */
function parseExposition(text: string): Exposition {
  const series: Exposition = new Map();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s/.exec(line);
    if (!match?.[1]) continue;
    const labels = series.get(match[1]) ?? new Set<string>();
    for (const pair of (match[3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g)) if (pair[1]) labels.add(pair[1]);
    series.set(match[1], labels);
  }
  return series;
}

/** Node.js processes' own series (prom-client's defaults), which every kubelab program must serve. */
const NODE_PROCESS = ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds", "nodejs_heap_size_used_bytes", "nodejs_eventloop_lag_seconds"].map((n) => [n] as const);

/** Each component's core series, [name, ...label names it must carry], as Kubernetes names them. */
const CORE_SERIES: Record<string, readonly (readonly string[])[]> = {
  etcd: [["etcd_server_has_leader"], ["etcd_mvcc_db_total_size_in_bytes"]],
  "metrics-server": [["metrics_server_kubelet_request_duration_seconds_bucket", "node", "le"], ["metrics_server_manager_tick_duration_seconds_bucket", "le"], ...NODE_PROCESS],
  // The live view serves only its process's series.
  "kubelab-ui": NODE_PROCESS,
  "kube-apiserver": [
    ["apiserver_request_total", "verb", "group", "version", "resource", "subresource", "scope", "component", "code"],
    ["apiserver_request_duration_seconds_bucket", "verb", "group", "version", "resource", "subresource", "scope", "component", "le"],
    ["apiserver_current_inflight_requests", "request_kind"],
    ["apiserver_longrunning_requests", "verb", "group", "version", "resource", "scope", "component"],
    ["apiserver_registered_watchers", "group", "version", "kind"],
    ["apiserver_watch_events_total", "group", "version", "kind"],
    ["etcd_request_duration_seconds_bucket", "operation", "type", "le"],
    ["apiserver_storage_objects", "resource"],
    ...NODE_PROCESS,
  ],
  "kube-scheduler": [
    ["scheduler_schedule_attempts_total", "result", "profile"],
    ["scheduler_scheduling_attempt_duration_seconds_bucket", "result", "profile", "le"],
    ["scheduler_pod_scheduling_duration_seconds_bucket", "le"],
    ["scheduler_pending_pods", "queue"],
    ["scheduler_queue_incoming_pods_total", "queue", "event"],
    ["leader_election_master_status", "name"],
    ["rest_client_requests_total", "code", "method", "host"],
    ...NODE_PROCESS,
  ],
  "kube-controller-manager": [
    ["workqueue_adds_total", "name"],
    ["workqueue_depth", "name"],
    ["workqueue_work_duration_seconds_bucket", "name", "le"],
    ["workqueue_queue_duration_seconds_bucket", "name", "le"],
    ["workqueue_retries_total", "name"],
    ["workqueue_unfinished_work_seconds", "name"],
    ["workqueue_longest_running_processor_seconds", "name"],
    ["leader_election_master_status", "name"],
    ["taint_eviction_controller_pod_deletions_total"],
    ...NODE_PROCESS,
  ],
  kubelet: [
    ["kubelet_running_pods"],
    ["kubelet_running_containers", "container_state"],
    ["kubelet_pod_start_duration_seconds_bucket", "le"],
    ["kubelet_pod_worker_duration_seconds_bucket", "operation_type", "le"],
    ["kubelet_runtime_operations_total", "operation_type"],
    ["kubelet_runtime_operations_duration_seconds_bucket", "operation_type", "le"],
    ["kubelet_pleg_relist_duration_seconds_bucket", "le"],
    ["kubelet_pleg_relist_interval_seconds_bucket", "le"],
    ["prober_probe_total", "probe_type", "result", "container", "pod", "namespace"],
    ...NODE_PROCESS,
  ],
  "kube-proxy": [
    ["kubeproxy_sync_proxy_rules_duration_seconds_bucket", "le"],
    ["kubeproxy_network_programming_duration_seconds_bucket", "le"],
    ["kubeproxy_sync_proxy_rules_last_timestamp_seconds"],
    ["kubeproxy_sync_proxy_rules_iptables_total", "table"],
    ...NODE_PROCESS,
  ],
  "container-runtime": [["kubelab_runtime_operations_total", "operation", "code"], ["kubelab_runtime_operations_duration_seconds_bucket", "operation", "le"], ...NODE_PROCESS],
  "kube-state-metrics": [
    ["kube_pod_status_phase", "namespace", "pod", "uid", "phase"],
    ["kube_pod_info", "namespace", "pod", "node"],
    ["kube_pod_container_status_restarts_total", "namespace", "pod", "container"],
    ["kube_node_status_condition", "node", "condition", "status"],
    ["kube_deployment_spec_replicas", "namespace", "deployment"],
    ["kube_deployment_status_replicas_available", "namespace", "deployment"],
    ["kube_endpoint_address", "namespace", "endpoint", "ip", "ready"],
  ],
  "cluster-dns": [
    ["coredns_dns_requests_total", "server", "zone", "proto", "family", "type"],
    ["coredns_dns_responses_total", "server", "zone", "rcode"],
    ["coredns_dns_request_duration_seconds_bucket", "server", "zone", "type", "le"],
    ...NODE_PROCESS,
  ],
  prometheus: [["prometheus_tsdb_head_series"]],
};

/**
 * Panels whose queries have no data until something happens that this test does not cause, each with the reason.
 * The test produces the rest: a pod deletion, a failing readiness probe, DNS lookups, a 404.
 */
const NEEDS_AN_EVENT: Readonly<Record<string, string>> = {
  "DNS/Forwarded requests by upstream": "the lab is offline: no name is forwarded to an upstream server",
  "DNS/Cache hits and misses": "kubelab-dns caches forwarded answers only, and the lab forwards none",
  "DNS/Cache entries": "kubelab-dns caches forwarded answers only, and the lab forwards none",
};

/** Panels fed by the kubelet's /metrics/cadvisor, allowed empty while the kubelet does not serve it. */
const CADVISOR_PANELS = ["Kubelet/Container CPU by pod (cores)", "Kubelet/Container memory (working set) by pod"];

interface Panel {
  title: string;
  targets?: { expr: string }[];
}

function dashboardQueries(): { panel: string; expr: string }[] {
  const dir = join(REPO_ROOT, "dashboards", "grafana", "dashboards");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .flatMap((file) => {
      const dashboard = JSON.parse(readFileSync(join(dir, file), "utf8")) as { title: string; panels: Panel[] };
      return dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: `${dashboard.title}/${p.title}`, expr: t.expr })));
    });
}

async function query(expr: string): Promise<{ status: string; error?: string; data?: { result: unknown[] } }> {
  const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return (await response.json()) as { status: string; error?: string; data?: { result: unknown[] } };
}

/**
 * A scrape as the lab's Prometheus does it: plain HTTP, or (the secure lab's apiserver and kubelets) HTTPS verified
 * with the lab's CA, showing Prometheus' own client certificate (system:kubelab:prometheus, nodes/metrics).
 */
async function scrape(url: string): Promise<{ ok: boolean; text: string }> {
  const parsed = new URL(url);
  const pki = labPkiPaths(join(lab.home, "pki"));
  const target: ApiTarget = parsed.protocol === "https:" ? { url: parsed.origin, caFile: pki.caCert, certFile: pki.tools.prometheus.cert, keyFile: pki.tools.prometheus.key } : { url: parsed.origin };
  const reply = await call(target, "GET", parsed.pathname, undefined, { accept: "text/plain" });
  return { ok: reply.status === 200, text: reply.text };
}

async function components(): Promise<StatusComponent[]> {
  return (JSON.parse(await lab.ok(["status", "-o", "json"])) as { components: StatusComponent[] }).components;
}

async function dnsPodIps(): Promise<string[]> {
  const out = await lab.kubectlOk("-n", "kube-system", "get", "pods", "-l", "k8s-app=kube-dns", "-o", "jsonpath={.items[*].status.podIP}");
  return out.split(" ").filter((ip) => ip !== "");
}

describe.skipIf(!runnable)("metrics and dashboards on a lab with Prometheus", () => {
  beforeAll(async () => {
    const port = await freePort();
    prometheusUrl = `http://127.0.0.1:${port}`;
    await lab.up(2, ["--prometheus", "--prometheus-port", String(port)]);
    // A workload: a Deployment, a pod whose readiness probe fails, and a pod that asks the cluster DNS names.
    await lab.kubectlOk("create", "deployment", "web", "--image=jocatalin/kubernetes-bootcamp:v1", "--replicas=2");
    const manifest = `apiVersion: v1
kind: Pod
metadata: {name: never-ready}
spec:
  containers:
  - name: app
    image: busybox
    command: ["sleep", "3600"]
    readinessProbe: {exec: {command: ["false"]}, periodSeconds: 1}
---
apiVersion: v1
kind: Pod
metadata: {name: asker}
spec:
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "while true; do nslookup kubernetes.default.svc.cluster.local 10.96.0.10; nslookup no-such-name.default.svc.cluster.local 10.96.0.10; sleep 1; done"]
`;
    const dir = mkdtempSync(join(lab.home, "manifests-"));
    writeFileSync(join(dir, "workload.yaml"), manifest);
    await lab.kubectlOk("apply", "-f", join(dir, "workload.yaml"));
    await waitFor("deployment web available", async () => (await lab.kubectlOk("get", "deployment", "web", "-o", "jsonpath={.status.availableReplicas}")) === "2", 90_000, 500);
    // A deletion (the ReplicaSet replaces the pod) and a 404.
    const pod = (await lab.kubectlOk("get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}")).trim();
    await lab.kubectlOk("delete", "pod", pod, "--wait=false");
    await lab.kubectl(["get", "pod", "no-such-pod"]);
  }, 300_000);

  afterAll(async () => {
    const result = await lab.tearDown();
    if (result.code !== 0) console.warn(`kubelab down: ${result.stdout}\n${result.stderr}`);
    expect(await lab.leftovers()).toEqual([]);
  }, 180_000);

  it("answers on every component's /metrics with its core series, names and labels as Kubernetes has them", async () => {
    const targets = (await components()).filter((c) => c.metricsUrl !== undefined).map((c) => ({ kind: c.component, node: c.node, url: c.metricsUrl ?? "" }));
    // The cluster DNS pods' metrics port, reached over the route `--prometheus` gives the host to each node's pods.
    await waitFor("kube-dns pod IPs", async () => (await dnsPodIps()).length > 0, 60_000, 500);
    for (const ip of await dnsPodIps()) targets.push({ kind: "cluster-dns", node: ip, url: `http://${ip}:9153/metrics` });
    expect(new Set(targets.map((t) => t.kind))).toEqual(new Set(Object.keys(CORE_SERIES)));

    const missing: string[] = [];
    const costs: string[] = [];
    for (const target of targets) {
      const expected = CORE_SERIES[target.kind] ?? [];
      // Counters and histograms appear with their first event; the workload makes them, so wait a little for them.
      let text = "";
      let exposition: Exposition = new Map();
      const absent = (): string[] =>
        expected.filter(([name, ...labels]) => {
          const seen = exposition.get(name ?? "");
          return seen === undefined || labels.some((l) => !seen.has(l));
        }).map(([name, ...labels]) => `${name ?? ""}{${labels.join(",")}}`);
      let ms = 0;
      await waitFor(`core series of ${target.url}`, async () => {
        const started = performance.now();
        const response = await scrape(target.url);
        text = response.text;
        ms = performance.now() - started;
        exposition = parseExposition(text);
        return response.ok && absent().length === 0;
      }, 30_000, 1_000).catch(() => undefined);
      for (const series of absent()) missing.push(`${target.kind} ${target.node ?? ""} ${target.url}: ${series}`);
      const samples = text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length;
      costs.push(`${target.kind.padEnd(24)} ${(target.node ?? "").padEnd(12)} ${String(Buffer.byteLength(text)).padStart(8)} B ${String(samples).padStart(6)} series ${ms.toFixed(1).padStart(7)} ms`);
    }
    console.log(`scrape cost per component (one scrape, the lab idle but for the workload):\n${costs.join("\n")}`);
    expect(missing).toEqual([]);
  }, 240_000);

  it("keeps Prometheus' file_sd targets current and every target healthy", async () => {
    const targets = JSON.parse(readFileSync(join(lab.home, "prometheus", "targets.json"), "utf8")) as { labels: { job: string } }[];
    const jobs = new Set(targets.map((t) => t.labels.job));
    for (const job of ["etcd", "apiserver", "scheduler", "controller-manager", "kube-state-metrics", "kubelet", "cadvisor", "kube-proxy", "container-runtime", "kube-dns", "prometheus"]) expect(jobs).toContain(job);
    interface Target {
      labels: { job: string; instance: string };
      scrapeUrl: string;
      health: string;
      lastError: string;
    }
    let down: string[] = [];
    let active: Target[] = [];
    await waitFor("healthy targets", async () => {
      const answer = (await (await fetch(`${prometheusUrl}/api/v1/targets`)).json()) as { data: { activeTargets: Target[] } };
      active = answer.data.activeTargets;
      down = active.filter((t) => t.health !== "up").map((t) => `${t.labels.job} ${t.labels.instance}: ${t.health} ${t.lastError}`);
      return active.length >= targets.length && down.length === 0;
    }, 60_000, 1_000).catch(() => undefined);
    expect(down).toEqual([]);
    // The secure lab's apiserver and kubelets are scraped over HTTPS, with the lab's CA and Prometheus' own certificate.
    for (const job of ["apiserver", "kubelet", "cadvisor"]) {
      const urls = active.filter((t) => t.labels.job === job).map((t) => t.scrapeUrl);
      expect(urls.length, job).toBeGreaterThan(0);
      for (const url of urls) expect(url).toMatch(/^https:\/\//);
    }

    // Prometheus' own view of the cost, and the lab's memory while it scrapes every 5 s.
    const perJob = async (expr: string): Promise<string> => {
      const result = ((await query(expr)).data?.result ?? []) as { metric: { job?: string }; value: [number, string] }[];
      return result.map((r) => `${r.metric.job ?? "?"}=${Number(r.value[1]).toPrecision(3)}`).sort().join(" ");
    };
    const rss = (await components()).flatMap((c) => {
      const pid = (c as StatusComponent & { pid?: number }).pid;
      const status = pid === undefined ? "" : readFileSync(`/proc/${pid}/status`, "utf8");
      const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      return [{ name: `${c.component}${c.node ? ` ${c.node}` : ""}`, mb: kb / 1024 }];
    });
    console.log(
      [
        `scrape_duration_seconds by job (avg): ${await perJob("avg by (job) (scrape_duration_seconds)")}`,
        `scrape_samples_scraped by job (avg): ${await perJob("avg by (job) (scrape_samples_scraped)")}`,
        `lab RSS with Prometheus scraping: ${rss.reduce((a, r) => a + r.mb, 0).toFixed(0)} MiB in ${rss.length} processes; ${rss.map((r) => `${r.name} ${r.mb.toFixed(0)}`).join(", ")}`,
      ].join("\n"),
    );
  }, 90_000);

  it("adds a new node's targets to the file_sd list and removes them with the node", async () => {
    const nodesOf = (): Set<string> => {
      const groups = JSON.parse(readFileSync(join(lab.home, "prometheus", "targets.json"), "utf8")) as { labels: { job: string; node?: string } }[];
      return new Set(groups.filter((g) => g.labels.job === "kubelet").map((g) => g.labels.node ?? ""));
    };
    expect(nodesOf()).toEqual(new Set(["node-1", "node-2"]));
    await lab.ok(["add-node"], 150_000);
    lab.nodes = 3;
    expect(nodesOf()).toEqual(new Set(["node-1", "node-2", "node-3"]));
    await lab.ok(["remove-node", "node-3"], 60_000);
    expect(nodesOf()).toEqual(new Set(["node-1", "node-2"]));
  }, 240_000);

  it("shows a killed component's restart on the self-healing timeline", async () => {
    const restarts = 'sum(changes(process_start_time_seconds{job="scheduler"}[5m]))';
    const before = Number(((await query(restarts)).data?.result[0] as { value: [number, string] } | undefined)?.value[1] ?? 0);
    await lab.ok(["kill", "scheduler"]);
    const after = await waitFor("Prometheus to see the scheduler's new start time", async () => {
      const value = Number(((await query(restarts)).data?.result[0] as { value: [number, string] } | undefined)?.value[1] ?? 0);
      return value > before ? value : undefined;
    }, 60_000, 1_000);
    expect(after).toBe(before + 1);
  }, 90_000);

  it("has data for every dashboard panel's PromQL in Prometheus", async () => {
    const cadvisorUp = (await query('up{job="cadvisor"} == 1')).data?.result.length ?? 0;
    const allowed = new Map(Object.entries(NEEDS_AN_EVENT));
    if (cadvisorUp === 0) for (const panel of CADVISOR_PANELS) allowed.set(panel, "the kubelet serves no /metrics/cadvisor yet");
    const queries = dashboardQueries();
    expect(queries.length).toBeGreaterThan(50);
    let empty: string[] = [];
    const errors: string[] = [];
    // rate() needs two scrapes in its window, and some series need the workload's events: poll until all answer.
    await waitFor("data for every panel", async () => {
      empty = [];
      for (const { panel, expr } of queries) {
        const answer = await query(expr);
        if (answer.status !== "success") errors.push(`${panel}: ${expr}: ${answer.error ?? answer.status}`);
        else if ((answer.data?.result.length ?? 0) === 0) empty.push(`${panel}: ${expr}`);
      }
      return errors.length > 0 || empty.every((e) => allowed.has(e.split(": ")[0] ?? ""));
    }, 120_000, 2_000).catch(() => undefined);
    expect(errors).toEqual([]);
    const unexpected = empty.filter((e) => !allowed.has(e.split(": ")[0] ?? ""));
    const allowedEmpty = empty.filter((e) => allowed.has(e.split(": ")[0] ?? ""));
    if (allowedEmpty.length > 0) console.log(`panels without data, allowed:\n${allowedEmpty.map((e) => `  ${e} (${allowed.get(e.split(": ")[0] ?? "") ?? ""})`).join("\n")}`);
    expect(unexpected).toEqual([]);
  }, 180_000);
});
