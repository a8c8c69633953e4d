import { describe, expect, it } from "vitest";
import { silentLogger } from "../component-base/logging.js";
import { FakeClock } from "../component-base/testing/fake-clock.js";
import { ProxierHealth, splitHostPort, startHealthzServer } from "./healthz.js";

describe("ProxierHealth", () => {
  it("is healthy until a queued sync stays unapplied for the health timeout", () => {
    const clock = new FakeClock(Date.UTC(2024, 0, 1));
    const h = new ProxierHealth(clock, 60_000);
    expect(h.healthy()).toBe(true);
    h.queued();
    clock.step(59_999);
    expect(h.healthy()).toBe(true);
    h.queued();
    clock.step(1);
    expect(h.healthy()).toBe(false);
    h.updated();
    expect(h.healthy()).toBe(true);
    expect(h.status("node-a")).toEqual({ lastUpdated: "2024-01-01T00:01:00.000Z", currentTime: "2024-01-01T00:01:00.000Z", nodeName: "node-a", nodeHealthy: true });
  });
});

describe("healthz server", () => {
  it("answers /healthz and /livez with 200 or 503 and Kubernetes' JSON", async () => {
    const clock = new FakeClock(Date.UTC(2024, 0, 1));
    const h = new ProxierHealth(clock, 1000);
    const server = await startHealthzServer("127.0.0.1:0", h, "node-a", silentLogger());
    try {
      const ok = await fetch(`http://127.0.0.1:${server.port}/healthz`);
      expect(ok.status).toBe(200);
      expect(await ok.json()).toMatchObject({ nodeName: "node-a", nodeHealthy: true });
      h.queued();
      clock.step(1000);
      expect((await fetch(`http://127.0.0.1:${server.port}/livez`)).status).toBe(503);
      expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it("splits host:port", () => {
    expect(splitHostPort("127.0.0.1:10256")).toEqual({ host: "127.0.0.1", port: 10256 });
    expect(splitHostPort("0.0.0.0")).toEqual({ host: "0.0.0.0", port: 0 });
    expect(splitHostPort(":10249")).toEqual({ host: "0.0.0.0", port: 10249 });
  });
});
