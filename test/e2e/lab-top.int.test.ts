// `kubectl top` on a real `kubelab up --nodes 2`: the kubelets' resource metrics from the containers' cgroups,
// metrics-server scraping them, the apiserver's aggregation layer proxying metrics.k8s.io to it. A busybox pod that
// burns cpu shows it in `kubectl top pod`; killing metrics-server makes the API unavailable (503, as Kubernetes
// answers) and starting it again brings it back. The lab is taken down in afterAll even when a test failed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitFor } from "../support/apiserver.js";
import { labPrerequisites, TestLab } from "../../lab/up/throwaway.js";
import { call } from "../support/http.js";

const prerequisites = labPrerequisites();
if (!prerequisites.ok) console.warn(`lab-top.int.test: skipped: ${prerequisites.reason}`);

const lab = new TestLab("e2etop");
/** Two scrapes at the lab's --metric-resolution=15s, and some slack for a loaded machine. */
const METRICS_MS = 60_000;

/** kubectl's cpu column ("250m", "1", "0") in millicores. */
function millicores(cell: string): number {
  return cell.endsWith("m") ? Number(cell.slice(0, -1)) : Number(cell) * 1000;
}

/** kubectl's memory column ("12Mi", "1024Ki", "0") in bytes. */
function bytes(cell: string): number {
  const units: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };
  const match = /^(\d+)(Ki|Mi|Gi)?$/.exec(cell);
  return match ? Number(match[1]) * (units[match[2] ?? ""] ?? 1) : NaN;
}

/** `kubectl top ...` rows as cells, once it succeeds and `ready` accepts them. */
function topRows(args: string[], what: string, ready: (rows: string[][]) => boolean): Promise<string[][]> {
  return waitFor(what, async () => {
    const result = await lab.kubectl(["top", ...args, "--no-headers"]);
    if (result.code !== 0) return undefined;
    const rows = result.stdout.trim().split("\n").filter((l) => l !== "").map((l) => l.trim().split(/\s+/));
    return ready(rows) ? rows : undefined;
  }, METRICS_MS, 1_000);
}

/** A node's InternalIP, as the Node reports it. */
async function nodeIp(node: string): Promise<string> {
  return lab.kubectlOk("get", "node", node, "-o", "jsonpath={.status.addresses[?(@.type=='InternalIP')].address}");
}

describe.skipIf(!prerequisites.ok)("kubectl top on a 2-node kubelab", () => {
  beforeAll(async () => {
    await lab.startOrTearDown(async () => {
      const out = await lab.up(2);
      expect(out).toContain("metrics API: v1beta1.metrics.k8s.io available");
    });
  }, 200_000);

  afterAll(async () => {
    await lab.kubectl(["delete", "pod", "burn", "--grace-period=0", "--force"]).catch(() => undefined);
    const down = await lab.tearDown();
    expect(down.code, `${down.stdout}\n${down.stderr}`).toBe(0);
    expect(await lab.leftovers()).toEqual([]);
  }, 180_000);

  it("registers metrics.k8s.io with an APIService that is Available", async () => {
    const out = await lab.kubectlOk("get", "apiservice", "v1beta1.metrics.k8s.io");
    expect(out).toMatch(/NAME\s+SERVICE\s+AVAILABLE\s+AGE/);
    expect(out).toMatch(/v1beta1\.metrics\.k8s\.io\s+kube-system\/metrics-server\s+True/);
    expect(await lab.kubectlOk("get", "apiservice", "v1.apps")).toMatch(/v1\.apps\s+Local\s+True/);
    expect(await lab.kubectlOk("api-versions")).toContain("metrics.k8s.io/v1beta1");
  });

  it("shows every node's cpu and memory in kubectl top nodes", async () => {
    const rows = await topRows(["nodes"], "kubectl top nodes with both nodes", (r) => r.length === 2);
    for (const [name, cpu, cpuPercent, memory, memoryPercent] of rows) {
      expect(name).toMatch(/^node-[12]$/);
      expect(millicores(cpu ?? "")).toBeGreaterThan(0);
      expect(cpuPercent).toMatch(/^\d+%$/);
      expect(bytes(memory ?? "")).toBeGreaterThan(1024 ** 2);
      expect(memoryPercent).toMatch(/^\d+%$/);
    }
  }, METRICS_MS + 5_000);

  it("shows a pod that burns cpu with rising cpu, per container with --containers", async () => {
    await lab.kubectlOk("run", "burn", "--image=busybox", "--restart=Never", "--", "sh", "-c", "while :; do :; done");
    await waitFor("pod burn Running", async () => ((await lab.kubectl(["get", "pod", "burn", "-o", "jsonpath={.status.phase}"])).stdout === "Running" ? true : undefined), 60_000, 250);
    const rows = await topRows(["pod", "burn"], "kubectl top pod burn at 200m or more", (r) => millicores(r[0]?.[1] ?? "0") >= 200);
    expect(rows[0]?.[0]).toBe("burn");
    const containers = await topRows(["pod", "burn", "--containers"], "kubectl top pod burn --containers", (r) => r.length === 1);
    expect(containers[0]?.slice(0, 2)).toEqual(["burn", "burn"]);
    expect(millicores(containers[0]?.[2] ?? "0")).toBeGreaterThanOrEqual(200);
    // A shell loop's working set is a few hundred KiB, which kubectl prints as 0Mi: the API has the exact figure.
    expect(bytes(containers[0]?.[3] ?? "")).toBeGreaterThanOrEqual(0);
    const raw = JSON.parse(await lab.kubectlOk("get", "--raw", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/burn")) as { containers: { name: string; usage: { cpu: string; memory: string } }[] };
    expect(raw.containers[0]?.name).toBe("burn");
    expect(raw.containers[0]?.usage.cpu).toMatch(/^\d+n$/);
    expect(bytes(raw.containers[0]?.usage.memory ?? "")).toBeGreaterThan(0);
  }, 3 * METRICS_MS);

  it("lists pods of every namespace with their containers (kubectl top pods -A --containers)", async () => {
    const rows = await topRows(["pods", "-A", "--containers"], "kube-dns and burn in kubectl top pods -A --containers", (r) => r.some((c) => c[0] === "kube-system" && c[1]?.startsWith("kube-dns") === true) && r.some((c) => c[1] === "burn"));
    for (const row of rows) {
      expect(row).toHaveLength(5);
      expect(bytes(row[4] ?? "")).toBeGreaterThanOrEqual(0);
    }
  }, METRICS_MS + 5_000);

  it("serves cAdvisor's container metrics and the resource metrics on the kubelet (and measures their cost)", async () => {
    const pod = JSON.parse(await lab.kubectlOk("get", "pod", "burn", "-o", "json")) as { spec: { nodeName: string } };
    // The kubelet's API is HTTPS with authentication and authorization: the admin's certificate, the lab's CA.
    const kubelet = { ...lab.api, url: `https://${await nodeIp(pod.spec.nodeName)}:10250` };
    const get = async (path: string): Promise<string> => (await call(kubelet, "GET", path, undefined, { accept: "text/plain" })).text;
    const cadvisor = await get("/metrics/cadvisor");
    expect(cadvisor).toMatch(/container_cpu_usage_seconds_total\{container="burn",cpu="total",id="[^"]+",image="[^"]*busybox[^"]*",name="[0-9a-f]+",namespace="default",pod="burn"\} \d/);
    expect(cadvisor).toMatch(/container_memory_working_set_bytes\{container="burn",id="[^"]+",image="[^"]+",name="[0-9a-f]+",namespace="default",pod="burn"\} \d+ \d+/);
    const costs: number[] = [];
    let size = 0;
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const text = await get("/metrics/resource");
      costs.push(performance.now() - started);
      size = Buffer.byteLength(text);
      expect(text).toMatch(/container_cpu_usage_seconds_total\{container="burn",namespace="default",pod="burn"\} [\d.]+ \d+/);
      expect(text).toContain("resource_scrape_error 0");
    }
    costs.sort((a, b) => a - b);
    console.log(`/metrics/resource on ${pod.spec.nodeName}: ${size} bytes, median ${costs[2]?.toFixed(1) ?? "?"} ms (min ${costs[0]?.toFixed(1) ?? "?"}, max ${costs[4]?.toFixed(1) ?? "?"})`);
  });

  it("answers 503 while metrics-server is down, and recovers when it is back", async () => {
    await lab.kubelab(["kill", "metrics-server", "--no-restart"]);
    const refused = await waitFor("kubectl top nodes refused", async () => {
      const result = await lab.kubectl(["top", "nodes"]);
      return result.code !== 0 && result.stderr.includes("ServiceUnavailable") ? result.stderr : undefined;
    }, 30_000, 500);
    expect(refused).toContain("the server is currently unable to handle the request");
    await lab.kubelab(["start", "metrics-server"]);
    await topRows(["nodes"], "kubectl top nodes back", (r) => r.length === 2);
  }, 2 * METRICS_MS);
});
