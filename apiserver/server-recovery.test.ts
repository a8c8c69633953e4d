import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createRegistry } from "../component-base/metrics.js";
import { silentLogger } from "../component-base/logging.js";
import { createApiServerMetrics } from "./metrics.js";
import { memoryRegistry } from "./registry/testing/memory-storage.js";
import { createApiServer } from "./server.js";
import type { Storage } from "./storage/interfaces.js";

const servers: { close(): void }[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

describe("a handler that fails unexpectedly", () => {
  it("fails its request with 500 InternalError and the apiserver keeps serving", async () => {
    const { registry, storage } = await memoryRegistry({ namespaces: ["default"] });
    // A storage whose health probe throws instead of answering false: a bug in the probe, met by every /readyz.
    const broken: Storage = Object.assign(Object.create(storage) as Storage, {
      healthy: (): Promise<boolean> => Promise.reject(new Error("probe exploded")),
    });
    const promRegistry = createRegistry();
    const apiserver = createApiServer({ registry, storage: broken, metrics: createApiServerMetrics(promRegistry), promRegistry, logger: silentLogger(), serverAddress: "127.0.0.1:0" });
    servers.push(apiserver);
    await new Promise<void>((resolve) => apiserver.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(apiserver.address() as AddressInfo).port}`;

    const readyz = await fetch(`${base}/readyz`);
    expect(readyz.status).toBe(500);
    expect(await readyz.json()).toMatchObject({ kind: "Status", code: 500, reason: "InternalError", message: "Internal error occurred: probe exploded" });
    const livez = await fetch(`${base}/livez`);
    expect(livez.status).toBe(200);
    const list = await fetch(`${base}/api/v1/namespaces`);
    expect(list.status).toBe(200);
  });
});
