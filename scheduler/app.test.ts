import { afterEach, describe, expect, it, vi } from "vitest";
import { RESOURCES } from "../api/resources.js";
import { newNode, newPod } from "../api/testing/builders.js";
import type { Pod } from "../api/types/index.js";
import { RestClient } from "../client/rest.js";
import { FakeApiserver } from "../client/testing/fake-apiserver.js";
import { parseFlags } from "../component-base/flags.js";
import { silentLogger } from "../component-base/logging.js";
import { createRegistry } from "../component-base/metrics.js";
import { runScheduler } from "./app.js";
import { schedulerFlags } from "./options.js";

const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;
const NODES = RESOURCES.find((r) => r.group === "" && r.resource === "nodes")!;

describe("runScheduler", () => {
  let fake: FakeApiserver | undefined;
  afterEach(async () => {
    await fake?.stop();
  });

  it("wires informers, queue and binder: pending pods get bound, unschedulable ones get the PodScheduled condition", async () => {
    const server = await FakeApiserver.start();
    fake = server;
    server.put(NODES, newNode("n1", { capacity: { cpu: "2", memory: "4Gi", pods: "110" } }));
    const pending = (name: string, cpu: string): Pod => {
      const p = newPod(name, { requests: { cpu }, meta: { uid: `uid-${name}` } });
      p.spec!.schedulerName = "default-scheduler";
      return p;
    };
    server.put(PODS, pending("fits", "1"));
    server.put(PODS, pending("too-big", "8"));
    const flags = parseFlags(schedulerFlags, ["--master", server.url, "--leader-elect=false", "--port", "0", "--address", "127.0.0.1", "--secure-port", "0"], { command: "kube-scheduler" });
    const abort = new AbortController();
    const client = new RestClient(server.clientConfig(), { qps: 0 });
    const running = runScheduler(flags, abort.signal, { client, registry: createRegistry({ defaultMetrics: false }), logger: silentLogger() });

    const pod = (name: string): Pod | undefined => server.object(PODS, "default", name);
    await vi.waitFor(() => { expect(pod("fits")?.spec?.nodeName).toBe("n1"); }, { timeout: 4000 });
    await vi.waitFor(() => {
      expect(pod("too-big")?.status?.conditions?.find((c) => c.type === "PodScheduled")).toMatchObject({ status: "False", reason: "Unschedulable", message: "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod." });
    }, { timeout: 4000 });
    expect(server.requestsTo("POST", "/pods/fits/binding")).toHaveLength(1);

    abort.abort();
    await running;
  });
});
