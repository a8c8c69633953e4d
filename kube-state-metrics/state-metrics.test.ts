// The cluster-state HTTP listener on its own: /metrics from the render function, health endpoints from the checks,
// errors, and the scrape histogram in the process registry.
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../component-base/logging.js";
import { createRegistry } from "../component-base/metrics.js";
import { startMetricsServer, type MetricsServer } from "./state-metrics.js";

let server: MetricsServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("startMetricsServer", () => {
  it("serves /metrics, HEAD without a body, 405 for other methods, and /readyz from its checks", async () => {
    let synced = false;
    let text = "# HELP a A.\n# TYPE a gauge\na 1\n";
    const registry = createRegistry({ defaultMetrics: false });
    server = await startMetricsServer({ host: "127.0.0.1", port: 0, render: () => text, readyzChecks: [{ name: "informer-sync", check: () => synced }], registry, logger: silentLogger() });
    const url = `http://127.0.0.1:${server.port}`;
    expect(await (await fetch(`${url}/metrics`)).text()).toBe(text);
    text = "# HELP a A.\n# TYPE a gauge\na 2\n";
    expect(await (await fetch(`${url}/metrics`)).text()).toContain("a 2\n");
    const head = await fetch(`${url}/metrics`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
    expect((await fetch(`${url}/metrics`, { method: "POST" })).status).toBe(405);
    expect((await fetch(`${url}/readyz`)).status).toBe(500);
    synced = true;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect((await fetch(`${url}/nope`)).status).toBe(404);
    expect(await registry.metrics()).toMatch(/http_request_duration_seconds_count\{handler="metrics",method="get"\} 2/);
  });

  it("answers 500 when rendering throws", async () => {
    server = await startMetricsServer({
      host: "127.0.0.1",
      port: 0,
      render: () => {
        throw new Error("boom");
      },
      readyzChecks: [],
      registry: createRegistry({ defaultMetrics: false }),
      logger: silentLogger(),
    });
    expect((await fetch(`http://127.0.0.1:${server.port}/metrics`)).status).toBe(500);
  });
});
