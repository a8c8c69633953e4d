// The assembled process against the in-memory fake apiserver: flags → client → informers → the cluster-state
// server on --port and the telemetry server on --telemetry-port; changes reach the next scrape.
import { get } from "node:http";
import { gunzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RESOURCES } from "../api/resources.js";
import { newDeployment, newNode, newPod } from "../api/testing/builders.js";
import { FakeApiserver } from "../client/testing/fake-apiserver.js";
import { parseFlags } from "../component-base/flags.js";
import { silentLogger } from "../component-base/logging.js";
import { createRegistry } from "../component-base/metrics.js";
import { runKubeStateMetrics } from "./app.js";
import { ConfigError, configFromFlags, parseAllowList } from "./config.js";
import { kubeStateMetricsFlags } from "./options.js";
import { parseExposition, samplesOf } from "./testing/parse-exposition.js";

const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;
const NODES = RESOURCES.find((r) => r.group === "" && r.resource === "nodes")!;
const DEPLOYMENTS = RESOURCES.find((r) => r.group === "apps" && r.resource === "deployments")!;

const flagsOf = (args: string[]) =>
  parseFlags(kubeStateMetricsFlags, args, {
    command: "kube-state-metrics",
    exit: (code) => {
      throw new Error(`exit ${code}`);
    },
    stderr: () => undefined,
  });

/** A GET with exactly these headers: the raw body and its Content-Encoding. */
function request(url: string, headers: Record<string, string>): Promise<{ encoding: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        resolve({ encoding: res.headers["content-encoding"], body: Buffer.concat(chunks) });
      });
    }).on("error", reject);
  });
}

let fake: FakeApiserver;
let abort: AbortController;

beforeEach(async () => {
  fake = await FakeApiserver.start();
  abort = new AbortController();
});

afterEach(async () => {
  abort.abort();
  await fake.stop();
});

function start(args: string[]): { done: Promise<void>; port: Promise<number> } {
  let resolvePort: (port: number) => void = () => undefined;
  const port = new Promise<number>((resolve) => {
    resolvePort = resolve;
  });
  const flags = flagsOf(["--apiserver", fake.url, "--port", "0", "--host", "127.0.0.1", "--telemetry-port", "0", "--telemetry-host", "127.0.0.1", ...args]);
  const done = runKubeStateMetrics(flags, abort.signal, { registry: createRegistry(), logger: silentLogger(), onListening: resolvePort });
  return { done, port };
}

describe("runKubeStateMetrics", () => {
  it("serves the caches' state on --port and follows changes", async () => {
    fake.put(NODES, newNode("node-a"));
    fake.put(PODS, newPod("web-1", { phase: "Pending" }));
    const { done, port } = start([]);
    const url = `http://127.0.0.1:${await port}`;
    await vi.waitFor(async () => {
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
    }, { timeout: 10_000 });
    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const first = parseExposition(await res.text());
    expect(samplesOf(first, "kube_pod_status_phase", { pod: "web-1", phase: "Pending" }).map((s) => s.value)).toEqual([1]);
    expect(samplesOf(first, "kube_node_status_condition", { node: "node-a", condition: "Ready", status: "true" }).map((s) => s.value)).toEqual([1]);

    const deploy = newDeployment("x", { replicas: 3 });
    deploy.status = { replicas: 3, availableReplicas: 3 };
    fake.put(DEPLOYMENTS, deploy);
    fake.remove(PODS, "default", "web-1");
    await vi.waitFor(async () => {
      const text = await (await fetch(`${url}/metrics`)).text();
      expect(text).toContain('kube_deployment_status_replicas_available{namespace="default",deployment="x"} 3\n');
      expect(text).not.toContain('pod="web-1"');
    }, { timeout: 10_000 });
    expect(await (await fetch(`${url}/healthz`)).text()).toBe("ok");
    // fetch asks for gzip and inflates; a client that does not ask gets plain text.
    const plain = await request(`${url}/metrics`, {});
    expect(plain.encoding).toBeUndefined();
    const gzipped = await request(`${url}/metrics`, { "accept-encoding": "gzip" });
    expect(gzipped.encoding).toBe("gzip");
    expect(gunzipSync(gzipped.body).toString()).toContain("# TYPE kube_pod_info gauge\n");
    expect(plain.body.toString()).toContain("# TYPE kube_pod_info gauge\n");
    abort.abort();
    await done;
  });

  it("watches only --resources and --namespaces, and drops --metric-denylist families", async () => {
    fake.put(PODS, newPod("a", { namespace: "team-a", phase: "Running" }));
    fake.put(PODS, newPod("b", { namespace: "team-b", phase: "Running" }));
    const { done, port } = start(["--resources=pods", "--namespaces=team-a", "--metric-denylist=kube_pod_container_.*"]);
    const url = `http://127.0.0.1:${await port}`;
    await vi.waitFor(async () => {
      expect((await fetch(`${url}/readyz`)).status).toBe(200);
    }, { timeout: 10_000 });
    const families = parseExposition(await (await fetch(`${url}/metrics`)).text());
    expect(samplesOf(families, "kube_pod_info").map((s) => s.labels.pod)).toEqual(["a"]);
    expect([...families.keys()].some((n) => n.startsWith("kube_node_") || n.startsWith("kube_pod_container_"))).toBe(false);
    expect(fake.requests.some((r) => r.path.includes("/nodes"))).toBe(false);
    abort.abort();
    await done;
  });
});

describe("configFromFlags", () => {
  it("defaults to every served resource but endpointslices, like kube-state-metrics", () => {
    const names = configFromFlags(flagsOf([])).stores.map((s) => s.name);
    expect(names).toContain("pods");
    expect(names).toContain("statefulsets");
    expect(names).not.toContain("endpointslices");
  });

  it("rejects unknown resources, bad allow-lists and allow+deny together", () => {
    expect(() => configFromFlags(flagsOf(["--resources=pods,ingresses"]))).toThrow(ConfigError);
    expect(() => configFromFlags(flagsOf(["--metric-labels-allowlist=pods=app"]))).toThrow(ConfigError);
    expect(() => configFromFlags(flagsOf(["--metric-allowlist=a", "--metric-denylist=b"]))).toThrow(/mutually exclusive/);
  });

  it("parses label allow-lists per resource", () => {
    expect([...parseAllowList("pods=[app,tier],deployments=[*], *=[team]", "x")]).toEqual([
      ["pods", ["app", "tier"]],
      ["deployments", ["*"]],
      ["*", ["team"]],
    ]);
    const config = configFromFlags(flagsOf(["--metric-labels-allowlist=pods=[app],*=[team]"]));
    expect(config.familyOptions("pods").labelsAllowList).toEqual(["app"]);
    expect(config.familyOptions("nodes").labelsAllowList).toEqual(["team"]);
  });
});
