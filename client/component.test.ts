import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { silentLogger } from "../component-base/logging.js";
import { createRegistry } from "../component-base/metrics.js";
import { runComponent, type ComponentFlags } from "./component.js";
import { RestClient } from "./rest.js";
import { FakeApiserver } from "./testing/fake-apiserver.js";

let fake: FakeApiserver;
beforeEach(async () => {
  fake = await FakeApiserver.start();
});
afterEach(async () => {
  await fake.stop();
});

function flags(): ComponentFlags {
  return { master: fake.url, kubeApiQps: 0, kubeApiBurst: 0, port: 0, bindAddress: "127.0.0.1" };
}

describe("runComponent", () => {
  it("serves the component's readyz checks beside shutdown, runs it until the signal aborts, then tears down", async () => {
    const steps: string[] = [];
    const abort = new AbortController();
    let port = 0;
    const client = new RestClient(fake.clientConfig(), { qps: 0 });
    const close = vi.spyOn(client, "close");
    const done = runComponent(abort.signal, {
      name: "test-component",
      flags: flags(),
      client,
      logger: silentLogger(),
      registry: createRegistry({ defaultMetrics: false }),
      onListening: (p) => (port = p),
      build: (ctx) => {
        steps.push("build");
        ctx.signal.addEventListener("abort", () => steps.push("context aborted"));
        return {
          readyzChecks: [{ name: "warm", check: () => steps.includes("prepare") }],
          prepare: () => {
            steps.push("prepare");
            return true;
          },
          run: async (signal) => {
            steps.push("run");
            await new Promise((resolve) => { signal.addEventListener("abort", resolve); });
          },
          close: () => {
            steps.push("close");
          },
        };
      },
    });
    await vi.waitFor(() => { expect(steps).toContain("run"); });
    const readyz = await (await fetch(`http://127.0.0.1:${port}/readyz?verbose`)).text();
    expect(readyz).toMatch(/\[\+\]shutdown ok[\s\S]*\[\+\]warm ok/);
    abort.abort();
    await done;
    expect(steps).toEqual(["build", "prepare", "run", "context aborted", "close"]);
    expect(close).toHaveBeenCalledOnce();
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
  });

  it("does not run a component whose preparation gives up, and serves nothing when told not to", async () => {
    const run = vi.fn(() => Promise.resolve());
    const onListening = vi.fn();
    await runComponent(new AbortController().signal, {
      name: "test-component",
      flags: flags(),
      logger: silentLogger(),
      registry: createRegistry({ defaultMetrics: false }),
      serve: false,
      onListening,
      build: () => ({ prepare: () => false, run }),
    });
    expect(run).not.toHaveBeenCalled();
    expect(onListening).not.toHaveBeenCalled();
  });
});
