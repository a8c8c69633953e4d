import { createServer } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "./logging.js";
import { counter, createRegistry, gauge, histogram } from "./metrics.js";
import { healthHandler, shutdownCheck, startHealthServer, type HealthServer } from "./server.js";

let server: HealthServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function get(path: string): Promise<{ code: number; body: string; type: string | null }> {
  const res = await fetch(`http://127.0.0.1:${server!.port}${path}`);
  return { code: res.status, body: await res.text(), type: res.headers.get("content-type") };
}

describe("startHealthServer", () => {
  it("answers ok on /healthz, /livez and /readyz when every check passes", async () => {
    server = await startHealthServer({ port: 0, bindAddress: "127.0.0.1", registry: createRegistry(), logger: silentLogger(), checks: [{ name: "informers", check: () => true }] });
    for (const path of ["/healthz", "/livez", "/readyz"]) expect(await get(path)).toMatchObject({ code: 200, body: "ok" });
  });

  it("lists each check with ?verbose", async () => {
    server = await startHealthServer({ port: 0, bindAddress: "127.0.0.1", registry: createRegistry(), logger: silentLogger(), checks: [{ name: "informers", check: () => Promise.resolve(true) }] });
    const res = await get("/readyz?verbose");
    expect(res.code).toBe(200);
    expect(res.body).toBe("[+]ping ok\n[+]informers ok\nreadyz check passed\n");
  });

  it("answers 500 listing the failed checks, counting a throwing check as failed", async () => {
    let healthy = false;
    server = await startHealthServer({
      port: 0,
      bindAddress: "127.0.0.1",
      registry: createRegistry(),
      logger: silentLogger(),
      checks: [{ name: "etcd", check: () => healthy }],
      readyzChecks: [{ name: "broken", check: () => Promise.reject(new Error("boom")) }],
    });
    const ready = await get("/readyz");
    expect(ready.code).toBe(500);
    expect(ready.body).toBe("[+]ping ok\n[-]etcd failed: reason withheld\n[-]broken failed: reason withheld\nreadyz check failed\n");
    const live = await get("/livez");
    expect(live.code).toBe(500);
    expect(live.body).toContain("[-]etcd failed");
    expect(live.body).not.toContain("broken");
    healthy = true;
    expect(await get("/livez")).toMatchObject({ code: 200, body: "ok" });
    expect(await get("/readyz?exclude=broken")).toMatchObject({ code: 200, body: "ok" });
    expect(await get("/readyz/etcd")).toMatchObject({ code: 200, body: "ok" });
    expect((await get("/readyz/broken")).code).toBe(500);
    expect((await get("/readyz/nope")).code).toBe(404);
  });

  it("accepts checks as a record from name to function", async () => {
    server = await startHealthServer({ port: 0, bindAddress: "127.0.0.1", registry: createRegistry({ defaultMetrics: false }), logger: silentLogger(), checks: { informers: () => false } });
    expect(await get("/healthz")).toMatchObject({ code: 500, body: expect.stringContaining("[-]informers failed") as unknown });
  });

  it("fails /readyz once shutdown begins", async () => {
    const controller = new AbortController();
    server = await startHealthServer({ port: 0, bindAddress: "127.0.0.1", registry: createRegistry(), logger: silentLogger(), readyzChecks: [shutdownCheck(controller.signal)] });
    expect((await get("/readyz")).code).toBe(200);
    controller.abort();
    expect(await get("/readyz")).toMatchObject({ code: 500 });
    expect((await get("/livez")).code).toBe(200);
  });

  it("serves the registry on /metrics with default process metrics and custom ones", async () => {
    const registry = createRegistry();
    counter(registry, { name: "demo_total", help: "demo", labelNames: ["kind"] }).inc({ kind: "a" }, 3);
    gauge(registry, { name: "demo_depth", help: "depth" }).set(7);
    histogram(registry, { name: "demo_seconds", help: "latency", buckets: [0.1, 1] }).observe(0.5);
    server = await startHealthServer({ port: 0, bindAddress: "127.0.0.1", registry, logger: silentLogger() });
    const res = await get("/metrics");
    expect(res.code).toBe(200);
    expect(res.type).toContain("text/plain");
    expect(res.body).toContain('demo_total{kind="a"} 3');
    expect(res.body).toContain("demo_depth 7");
    expect(res.body).toContain('demo_seconds_bucket{le="1"} 1');
    expect(res.body).toContain("process_cpu_user_seconds_total");
    expect(res.body).toContain("nodejs_heap_size_used_bytes");
  });

  it("answers 404 for other paths", async () => {
    server = await startHealthServer({ port: 0, bindAddress: "127.0.0.1", registry: createRegistry({ defaultMetrics: false }), logger: silentLogger() });
    expect((await get("/debug")).code).toBe(404);
  });
});

describe("healthHandler", () => {
  it("mounts on any node:http server", async () => {
    const handler = healthHandler("livez", []);
    const plain = createServer(handler);
    await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
    const address = plain.address();
    const port = typeof address === "object" && address ? address.port : 0;
    const res = await fetch(`http://127.0.0.1:${port}/livez?verbose`);
    expect(await res.text()).toBe("[+]ping ok\nlivez check passed\n");
    await new Promise<void>((resolve) => plain.close(() => { resolve(); }));
  });
});

describe("metric helpers", () => {
  it("return the existing metric for a repeated name and refuse a different type", () => {
    const registry = createRegistry({ defaultMetrics: false });
    const a = counter(registry, { name: "x_total", help: "x", labelNames: ["name"] });
    expect(counter(registry, { name: "x_total", help: "x", labelNames: ["name"] })).toBe(a);
    expect(() => gauge(registry, { name: "x_total", help: "x" })).toThrow(/another type/);
  });
});
