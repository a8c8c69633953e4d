// The HPA controller in a real kube-controller-manager process against a real etcd + apiserver, with a small
// stand-in for metrics-server on loopback registered through an APIService (as the lab registers the real one), so
// the controller reads metrics.k8s.io through the apiserver's aggregator. No nodes: the test marks the Deployment's
// pods Running and Ready itself and decides their cpu usage. The real-node version is test/e2e/lab-hpa.int.test.ts.
// Endpoints may not name a loopback address, so the stand-in listens on one of this host's own non-loopback
// addresses and answers only connections from that same address (this host's processes); without one it skips.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findResource } from "../../../api/resources.js";
import { formatTime } from "../../../api/time.js";
import type { Pod } from "../../../api/types/index.js";
import { RestClient } from "../../../client/rest.js";
import { clientConfigFor, startTestCluster, waitFor, type TestCluster } from "../../../test/support/apiserver.js";
import { startComponentOnFreePort, type ComponentProcess } from "../../../test/support/components.js";

const PODS = findResource("", "v1", "pods")!;
const GROUP_VERSION = "metrics.k8s.io/v1beta1";
/** A non-loopback IPv4 address of this host, for the stand-in's Endpoints. */
const HOST_IP = Object.values(networkInterfaces()).flatMap((list) => list ?? []).find((a) => a.family === "IPv4" && !a.internal)?.address;
if (HOST_IP === undefined) console.warn("hpa.int.test: skipped: the host has no non-loopback IPv4 address for the metrics stand-in's Endpoints");

let cluster: TestCluster;
let client: RestClient;
let metricsServer: Server;
let controllerManager: ComponentProcess | undefined;
/** Every pod's cpu usage in millicores; undefined: the stand-in lists no pods (metrics not there yet). */
let usage: number | undefined;

/** PodMetricsList for the pods the apiserver has under the selector, each using `usage`. */
async function podMetrics(namespace: string, selector: string): Promise<unknown> {
  const pods = usage === undefined ? [] : (await client.list<Pod>(PODS, namespace, { labelSelector: selector })).items;
  const now = Date.now();
  return {
    kind: "PodMetricsList",
    apiVersion: GROUP_VERSION,
    metadata: {},
    items: pods.map((p) => ({
      kind: "PodMetrics",
      apiVersion: GROUP_VERSION,
      metadata: { name: p.metadata.name, namespace },
      timestamp: formatTime(now - 1_000),
      window: "15s",
      containers: [{ name: "app", usage: { cpu: `${usage ?? 0}m`, memory: "1Mi" } }],
    })),
  };
}

function startMetricsStandIn(): Promise<number> {
  metricsServer = createServer((req, res) => {
    if (req.socket.remoteAddress !== HOST_IP && req.socket.remoteAddress !== `::ffff:${HOST_IP ?? ""}`) {
      res.writeHead(403);
      res.end();
      return;
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    const reply = (body: unknown): void => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const pods = /^\/apis\/metrics\.k8s\.io\/v1beta1\/namespaces\/([^/]+)\/pods$/.exec(url.pathname);
    if (pods) {
      podMetrics(decodeURIComponent(pods[1] ?? ""), url.searchParams.get("labelSelector") ?? "").then(reply, (err: unknown) => {
        res.writeHead(500);
        res.end(String(err));
      });
      return;
    }
    reply({ kind: "APIResourceList", apiVersion: "v1", groupVersion: GROUP_VERSION, resources: [{ name: "pods", singularName: "", namespaced: true, kind: "PodMetrics", verbs: ["get", "list"] }] });
  });
  return new Promise((resolve) => metricsServer.listen(0, HOST_IP, () => { resolve((metricsServer.address() as AddressInfo).port); }));
}

/** Marks every pod of app=web Running and Ready since ten minutes ago (what a kubelet would report). */
async function markPodsReady(): Promise<number> {
  const pods = (await client.list<Pod>(PODS, "default", { labelSelector: "app=web" })).items.filter((p) => !p.metadata.deletionTimestamp);
  const since = formatTime(Date.now() - 10 * 60_000);
  for (const pod of pods) {
    if (pod.status?.phase === "Running") continue;
    pod.status = { ...pod.status, phase: "Running", startTime: since, conditions: [{ type: "Ready", status: "True", lastTransitionTime: since }] };
    await client.updateStatus(PODS, "default", pod).catch(() => undefined);
  }
  return pods.length;
}

async function replicas(): Promise<number> {
  return Number((await cluster.kubectl(["get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"])).stdout);
}

describe.skipIf(HOST_IP === undefined)("the HPA controller against a real apiserver and an aggregated metrics API", () => {
  beforeAll(async () => {
    cluster = await startTestCluster();
    client = new RestClient(clientConfigFor(cluster.api));
    const port = await startMetricsStandIn();
    await cluster.kubectl(["apply", "-f", "-"], {
      stdin: `apiVersion: v1
kind: Service
metadata: {name: hpa-metrics, namespace: kube-system}
spec:
  ports: [{name: http, port: 80, targetPort: ${port}}]
---
apiVersion: v1
kind: Endpoints
metadata: {name: hpa-metrics, namespace: kube-system}
subsets: [{addresses: [{ip: ${HOST_IP ?? ""}}], ports: [{name: http, port: ${port}}]}]
---
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.metrics.k8s.io}
spec: {group: metrics.k8s.io, version: v1beta1, service: {name: hpa-metrics, namespace: kube-system, port: 80}, insecureSkipTLSVerify: true, groupPriorityMinimum: 100, versionPriority: 100}
`,
    });
    await waitFor("the metrics APIService Available", async () => ((/\sTrue\s/.exec((await cluster.kubectl(["get", "apiservice", "v1beta1.metrics.k8s.io"], { allowFailure: true })).stdout)) ? true : undefined), 30_000, 250);
    controllerManager = await startComponentOnFreePort("kube-controller-manager", [
      `--kubeconfig=${cluster.kubeconfig}`,
      "--controllers=horizontalpodautoscaling,deployment,replicaset",
      "--leader-elect=false",
      "--horizontal-pod-autoscaler-sync-period=1s",
      "--horizontal-pod-autoscaler-downscale-stabilization=3s",
    ]);
  }, 120_000);

  afterAll(async () => {
    await controllerManager?.kill();
    const server = metricsServer as Server | undefined;
    if (server) await new Promise((resolve) => { server.close(resolve); });
    client.close();
    await cluster.destroy();
  }, 60_000);

  it("reports missing metrics, scales up to max under load, and back to min when the load is gone", async () => {
    await cluster.kubectl(["apply", "-f", "-"], {
      stdin: `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: busybox, resources: {requests: {cpu: 50m}}}]
`,
    });
    await waitFor("the Deployment's pod", async () => ((await markPodsReady()) === 1 ? true : undefined), 30_000, 200);
    await cluster.kubectl(["autoscale", "deployment", "web", "--cpu-percent=50", "--min=1", "--max=3"]);

    // No metrics yet: the controller says so and the table shows <unknown>.
    const missing = await waitFor("FailedGetResourceMetric", async () => {
      const out = (await cluster.kubectl(["describe", "hpa", "web"])).stdout;
      return out.includes("FailedGetResourceMetric") ? out : undefined;
    }, 30_000, 500);
    expect(missing).toMatch(/ScalingActive\s+False\s+FailedGetResourceMetric\s+the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource metrics API/);
    expect((await cluster.kubectl(["get", "hpa", "web"])).stdout).toMatch(/web\s+Deployment\/web\s+cpu: <unknown>\/50%\s+1\s+3\s+1\s/);

    usage = 100; // 200% of the 50m request
    await waitFor("web scaled to 3", async () => {
      await markPodsReady();
      return (await replicas()) === 3 ? true : undefined;
    }, 30_000, 300);
    await waitFor("TARGETS at 200%", async () => {
      await markPodsReady();
      const out = (await cluster.kubectl(["get", "hpa", "web"])).stdout;
      return /web\s+Deployment\/web\s+cpu: 200%\/50%\s+1\s+3\s+3\s/.test(out) ? true : undefined;
    }, 30_000, 300);
    const up = (await cluster.kubectl(["describe", "hpa", "web"])).stdout;
    expect(up).toMatch(/resource cpu on pods\s+\(as a percentage of request\):\s+200% \(100m\) \/ 50%/);
    expect(up).toMatch(/ScalingLimited\s+True\s+TooManyReplicas\s+the desired replica count is more than the maximum replica count/);
    expect(up).toMatch(/SuccessfulRescale\s+.*New size: 3; reason: cpu resource utilization \(percentage of request\) above target/);

    usage = 5; // 10%: one pod would do, once the 3 s window has passed
    const lowered = Date.now();
    await waitFor("web scaled back to 1", async () => ((await replicas()) === 1 ? true : undefined), 30_000, 300);
    expect(Date.now() - lowered).toBeGreaterThanOrEqual(2_000);
    const down = (await cluster.kubectl(["describe", "hpa", "web"])).stdout;
    expect(down).toMatch(/New size: 1; reason: All metrics below target/);
  }, 120_000);
});
