// kube-state-metrics as a real process (the built dist/kube-state-metrics/main.js; run `npm run build` first) against
// a real apiserver on a real etcd, with the real scheduler, controller-manager and simulated nodes (kubelab
// hollow-nodes): a Deployment of 3 shows up as available in a scrape, nodes' conditions and pods' phases are there,
// deleting the Deployment removes its series, and the exposition passes a strict parser (and `promtool check
// metrics` when Debian's prometheus package is installed).
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESOURCES } from "../../api/resources.js";
import { newDeployment } from "../../api/testing/builders.js";
import { RestClient } from "../../client/rest.js";
import { servingPort } from "../../lab/components/api-client.js";
import type { Component } from "../../lab/components/component.js";
import type { ManagedProcess } from "../../lab/process/runner.js";
import { REPO_ROOT, startTestCluster, waitFor, type TestCluster, clientConfigFor } from "../support/apiserver.js";
import { startComponent, type ComponentProcess } from "../support/components.js";
import { testProcesses } from "../support/processes.js";
import { parseExposition, samplesOf, type ParsedFamily } from "../../kube-state-metrics/testing/parse-exposition.js";

const DEPLOYMENTS = RESOURCES.find((r) => r.group === "apps" && r.resource === "deployments")!;

/** The line the cluster-state server logs once it listens. */
const SERVING = /"port":(\d+)[^\n]*"msg":"Serving kube-state-metrics"/;

/**
 * The process as a lab component; the lab does not run kube-state-metrics yet, so the test describes it here.
 */
function kubeStateMetricsComponent(args: readonly string[]): Component {
  return {
    name: "kube-state-metrics",
    kind: "kube-state-metrics",
    program: { kind: "node", entry: join(REPO_ROOT, "dist", "kube-state-metrics", "main.js") },
    args,
    ports: { http: 0, telemetry: 0 },
    readiness: { kind: "log", pattern: SERVING },
    links: ["kube-apiserver"],
  };
}

describe("kube-state-metrics against a running control plane", () => {
  let cluster: TestCluster;
  let client: RestClient;
  let ksm: ManagedProcess | undefined;
  let metricsUrl = "";
  const components: ComponentProcess[] = [];

  const scrape = async (): Promise<string> => {
    const res = await fetch(`${metricsUrl}/metrics`);
    expect(res.status).toBe(200);
    return res.text();
  };
  const families = async (): Promise<Map<string, ParsedFamily>> => parseExposition(await scrape());

  beforeAll(async () => {
    cluster = await startTestCluster();
    client = new RestClient(clientConfigFor(cluster.api));
    const master = ["--kubeconfig", cluster.kubeconfig, "--port", "0", "--leader-elect=false"];
    components.push(startComponent("kube-scheduler", master, "ksm-scheduler"));
    components.push(startComponent("kube-controller-manager", [...master, "--allocate-node-cidrs"], "ksm-controller-manager"));
    components.push(startComponent("kubelab", ["hollow-nodes", "--kubeconfig", cluster.kubeconfig, "--count", "2", "--name-prefix", "ksm", "--lease-duration=4s", "--lease-renew-interval=1s"], "ksm-hollow-nodes"));
    const started = await testProcesses.startReady(
      kubeStateMetricsComponent(["--kubeconfig", cluster.kubeconfig, "--host", "127.0.0.1", "--port", "0", "--telemetry-host", "127.0.0.1", "--telemetry-port", "0"]),
      { timeoutMs: 30_000 },
    );
    ksm = started.process;
    metricsUrl = `http://127.0.0.1:${SERVING.exec(ksm.logs())![1]!}`;
    await waitFor("kube-state-metrics ready", async () => (await fetch(`${metricsUrl}/readyz`)).status === 200 || undefined, 30_000);
  }, 90_000);

  afterAll(async () => {
    await ksm?.stop("SIGTERM");
    for (const c of components) await c.kill();
    client.close();
    await cluster.destroy();
  });

  it("reports the nodes' Ready condition and capacity", async () => {
    await waitFor(
      "both nodes Ready in a scrape",
      async () => {
        const f = await families();
        return ["ksm-0", "ksm-1"].every((node) => samplesOf(f, "kube_node_status_condition", { node, condition: "Ready", status: "true" })[0]?.value === 1) || undefined;
      },
      30_000,
    );
    const f = await families();
    expect(samplesOf(f, "kube_node_status_condition", { node: "ksm-0", condition: "Ready", status: "false" })[0]?.value).toBe(0);
    expect(samplesOf(f, "kube_node_status_capacity", { node: "ksm-0", resource: "pods", unit: "integer" })[0]?.value).toBe(110);
    expect(samplesOf(f, "kube_node_info", { node: "ksm-1" })).toHaveLength(1);
    // A node's Lease is created after it registers, so it may reach the cache a little later than the node.
    const renewed = await waitFor("ksm-0's lease in a scrape", async () => samplesOf(await families(), "kube_lease_renew_time", { lease: "ksm-0", namespace: "kube-node-lease" })[0], 30_000);
    expect(Math.abs(renewed.value - Date.now() / 1000)).toBeLessThan(60);
  });

  it("shows a Deployment of 3 as available, and its pods Running on the nodes", async () => {
    await client.create(DEPLOYMENTS, "default", newDeployment("x", { replicas: 3 }));
    await waitFor("kube_deployment_status_replicas_available 3", async () => (await scrape()).includes('kube_deployment_status_replicas_available{namespace="default",deployment="x"} 3\n') || undefined, 60_000);
    // The pods and the ReplicaSet come through their own watches, which may trail the Deployment's by a moment.
    const runningPods = (f: Map<string, ParsedFamily>) => samplesOf(f, "kube_pod_status_phase", { namespace: "default", phase: "Running" }).filter((s) => s.labels.pod?.startsWith("x-") && s.value === 1);
    const readyPods = (f: Map<string, ParsedFamily>) => runningPods(f).filter((s) => samplesOf(f, "kube_pod_status_ready", { pod: s.labels.pod!, condition: "true" })[0]?.value === 1);
    const f = await waitFor("3 Running and Ready pods of x in a scrape", async () => {
      const scraped = await families();
      return readyPods(scraped).length === 3 ? scraped : undefined;
    }, 30_000);
    const d = { namespace: "default", deployment: "x" };
    expect(samplesOf(f, "kube_deployment_spec_replicas", d)[0]?.value).toBe(3);
    expect(samplesOf(f, "kube_deployment_status_replicas_updated", d)[0]?.value).toBe(3);
    expect(samplesOf(f, "kube_deployment_status_replicas_unavailable", d)[0]?.value ?? 0).toBe(0);

    const running = runningPods(f);
    expect(running).toHaveLength(3);
    for (const s of running) {
      const info = samplesOf(f, "kube_pod_info", { pod: s.labels.pod! })[0];
      expect(info?.labels.node).toMatch(/^ksm-[01]$/);
      expect(info?.labels.created_by_kind).toBe("ReplicaSet");
      expect(samplesOf(f, "kube_pod_container_status_restarts_total", { pod: s.labels.pod!, container: "app" })[0]?.value).toBe(0);
    }
    const rsReady = await waitFor("x's ReplicaSet with 3 ready replicas", async () => {
      const scraped = await families();
      const [rs] = samplesOf(scraped, "kube_replicaset_owner", { owner_kind: "Deployment", owner_name: "x" });
      return rs ? samplesOf(scraped, "kube_replicaset_status_ready_replicas", { replicaset: rs.labels.replicaset! })[0]?.value === 3 || undefined : undefined;
    }, 30_000);
    expect(rsReady).toBe(true);
    expect(samplesOf(f, "kube_namespace_status_phase", { namespace: "default", phase: "Active" })[0]?.value).toBe(1);
  });

  it("serves an exposition Prometheus accepts", async () => {
    const text = await scrape();
    parseExposition(text);
    if (spawnSync("sh", ["-c", "command -v promtool"]).status !== 0) {
      console.log("promtool check metrics skipped: promtool is not installed (Debian package prometheus); the strict parser in kube-state-metrics/testing checked the text instead");
      return;
    }
    const check = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    // promtool lints as well as parses (e.g. counters not ending in _total); only a parse failure fails the scrape.
    expect(`${check.stdout}${check.stderr}`).not.toMatch(/parsing error/);
  });

  it("serves its own process metrics on --telemetry-port", async () => {
    const port = servingPort(ksm!.logs());
    expect(port).toBeDefined();
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(text).toContain("process_resident_memory_bytes");
    expect(text).toMatch(/rest_client_requests_total\{[^}]*\} [1-9]/);
    expect(text).toMatch(/http_request_duration_seconds_count\{handler="metrics",method="get"\} [1-9]/);
    expect(text).not.toContain("kube_pod_info");
  });

  it("drops a deleted Deployment's series", async () => {
    await client.delete(DEPLOYMENTS, "default", "x");
    await waitFor("deployment x gone from the scrape", async () => !(await scrape()).includes('deployment="x"') || undefined, 30_000);
  });
});
