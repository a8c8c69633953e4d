import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import { afterEach, describe, expect, it } from "vitest";
import type { APIService, Endpoints, Service } from "../../api/types/index.js";
import { silentLogger } from "../../component-base/logging.js";
import { createRegistry } from "../../component-base/metrics.js";
import { createApiServerMetrics } from "../metrics.js";
import { memoryRegistry } from "../registry/testing/memory-storage.js";
import { createApiServer } from "../server.js";
import { Aggregator } from "./aggregator.js";
import { resolveBackend } from "./resolve.js";

const METRICS_API: APIService = {
  apiVersion: "apiregistration.k8s.io/v1",
  kind: "APIService",
  metadata: { name: "v1beta1.metrics.k8s.io" },
  spec: { group: "metrics.k8s.io", version: "v1beta1", service: { namespace: "kube-system", name: "metrics-server", port: 80 }, insecureSkipTLSVerify: true, groupPriorityMinimum: 100, versionPriority: 100 },
};

function service(port: number, name = "http"): Service {
  return { apiVersion: "v1", kind: "Service", metadata: { name: "metrics-server", namespace: "kube-system" }, spec: { ports: [{ name, port, targetPort: port }] } };
}

function endpoints(ip: string, port: number, name = "http"): Endpoints {
  return { apiVersion: "v1", kind: "Endpoints", metadata: { name: "metrics-server", namespace: "kube-system" }, subsets: [{ addresses: [{ ip }], ports: [{ name, port }] }] };
}

describe("resolving an APIService's backend", () => {
  it("follows the Service port to the Endpoints port of the same name", () => {
    expect(resolveBackend(METRICS_API, service(80), endpoints("10.244.1.5", 4443))).toEqual({ host: "10.244.1.5", port: 4443, scheme: "http" });
    const https = { ...METRICS_API, spec: { ...METRICS_API.spec!, service: { namespace: "kube-system", name: "metrics-server" } } };
    expect(resolveBackend(https, service(443, "https"), endpoints("10.244.1.5", 10250, "https"))).toEqual({ host: "10.244.1.5", port: 10250, scheme: "https" });
  });

  it.each([
    ["ServiceNotFound", undefined, undefined, 'service/metrics-server in "kube-system" is not present'],
    ["ServicePortError", service(81), undefined, 'service/metrics-server in "kube-system" is not listening on port 80'],
    ["EndpointsNotFound", service(80), undefined, 'cannot find endpoints for service/metrics-server in "kube-system"'],
    ["MissingEndpoints", service(80), endpoints("10.0.0.1", 1, "other"), 'endpoints for service/metrics-server in "kube-system" have no addresses with port name "http"'],
  ])("says %s when it cannot", (reason, svc, eps, message) => {
    expect(() => resolveBackend(METRICS_API, svc, eps)).toThrow(expect.objectContaining({ reason, message }) as Error);
  });
});

/** A non-loopback address of this machine: Endpoints may not hold loopback ones. */
function hostAddress(): string | undefined {
  for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) if (a.family === "IPv4" && !a.internal) return a.address;
  return undefined;
}

const servers: Server[] = [];
const aggregators: Aggregator[] = [];
afterEach(async () => {
  for (const a of aggregators.splice(0)) a.stop();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function listen(server: Server, host: string): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, host, r));
  return (server.address() as AddressInfo).port;
}

describe("the aggregation layer", () => {
  const address = hostAddress();

  it.skipIf(address === undefined)("registers local APIServices, proxies a remote group and keeps its Available condition", async () => {
    const { registry } = await memoryRegistry({ namespaces: ["default", "kube-system"] });
    const aggregator = new Aggregator({ registry, logger: silentLogger(), intervalMs: 60_000 });
    aggregators.push(aggregator);
    const promRegistry = createRegistry();
    const apiserver = createApiServer({ registry, storage: undefined as never, metrics: createApiServerMetrics(promRegistry), promRegistry, logger: silentLogger(), serverAddress: "127.0.0.1:0", aggregator });
    const apiPort = await listen(apiserver, "127.0.0.1");
    const api = `http://127.0.0.1:${apiPort}`;
    const seen: string[] = [];
    const backend = createServer((req, res) => {
      seen.push(req.url ?? "");
      res.writeHead(200, { "content-type": "application/json" });
      if (req.url === "/apis/metrics.k8s.io/v1beta1") res.end(JSON.stringify({ kind: "APIResourceList", apiVersion: "v1", groupVersion: "metrics.k8s.io/v1beta1", resources: [{ name: "nodes", singularName: "", namespaced: false, kind: "NodeMetrics", verbs: ["get", "list"] }] }));
      else res.end(JSON.stringify({ kind: "NodeMetricsList", apiVersion: "metrics.k8s.io/v1beta1", metadata: {}, items: [] }));
    });
    const backendPort = await listen(backend, "0.0.0.0");

    await aggregator.start();
    const apiServices = registry.store("apiregistration.k8s.io", "v1", "apiservices")!;
    await registry.core("services").create("kube-system", service(80));
    await registry.core("endpoints").create("kube-system", endpoints(address!, backendPort));
    await apiServices.create(undefined, structuredClone(METRICS_API));
    await aggregator.checkAll();

    const local = (await apiServices.get(undefined, "v1.apps")) as APIService;
    expect(local.status?.conditions?.[0]).toMatchObject({ type: "Available", status: "True", reason: "Local" });
    const remote = (await apiServices.get(undefined, "v1beta1.metrics.k8s.io")) as APIService;
    expect(remote.status?.conditions?.[0]).toMatchObject({ type: "Available", status: "True", reason: "Passed" });

    const groups = (await (await fetch(`${api}/apis`)).json()) as { groups: { name: string }[] };
    expect(groups.groups.map((g) => g.name)).toContain("metrics.k8s.io");
    const aggregated = (await (await fetch(`${api}/apis`, { headers: { accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList" } })).json()) as { items: { metadata: { name: string }; versions: { resources: { resource: string }[] }[] }[] };
    expect(aggregated.items.find((g) => g.metadata.name === "metrics.k8s.io")?.versions[0]?.resources.map((r) => r.resource)).toEqual(["nodes"]);
    const nodes = await fetch(`${api}/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=a%3Db`);
    expect(nodes.status).toBe(200);
    expect(((await nodes.json()) as { kind: string }).kind).toBe("NodeMetricsList");
    expect(seen).toContain("/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=a%3Db");
    expect(await promRegistry.metrics()).toMatch(/apiserver_request_total\{[^}]*verb="LIST",group="metrics\.k8s\.io",version="v1beta1",resource="nodes"[^}]*code="200"\} 1/);

    // The backend goes away: the check marks it unavailable and the proxy answers 503 as Kubernetes does.
    backend.closeAllConnections();
    await new Promise((r) => backend.close(r));
    await aggregator.checkAll();
    const down = (await apiServices.get(undefined, "v1beta1.metrics.k8s.io")) as APIService;
    expect(down.status?.conditions?.[0]).toMatchObject({ status: "False", reason: "FailedDiscoveryCheck" });
    expect(down.status?.conditions?.[0]?.message).toContain(`failing or missing response from http://${address!}:${backendPort}/apis/metrics.k8s.io/v1beta1`);
    const refused = await fetch(`${api}/apis/metrics.k8s.io/v1beta1/nodes`);
    expect(refused.status).toBe(503);
    expect(await refused.text()).toBe("service unavailable\n");
  });
});
