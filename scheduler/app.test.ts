import { afterEach, describe, expect, it } from "vitest";
import { newNode, newPod } from "../api/testing/builders.js";
import { RESOURCES } from "../api/resources.js";
import type { Pod } from "../api/types/index.js";
import { FakeApiserver } from "../client/testing/fake-apiserver.js";
import { RestClient } from "../client/rest.js";
import { parseFlags } from "../component-base/flags.js";
import { silentLogger } from "../component-base/logging.js";
import { createRegistry } from "../component-base/metrics.js";
import { runScheduler } from "./app.js";
import { schedulerFlags } from "./options.js";

const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;
const NODES = RESOURCES.find((r) => r.group === "" && r.resource === "nodes")!;

async function until<T>(probe: () => T | undefined): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const v = probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("timed out");
}

describe("runScheduler", () => {
  let fake: FakeApiserver | undefined;
  afterEach(async () => {
    await fake?.stop();
  });

  it("wires informers, queue and binder: pending pods get bound, unschedulable ones get the PodScheduled condition", async () => {
    fake = await FakeApiserver.start();
    fake.put(NODES, newNode("n1", { capacity: { cpu: "2", memory: "4Gi", pods: "110" } }));
    const pending = (name: string, cpu: string): Pod => {
      const p = newPod(name, { requests: { cpu }, meta: { uid: `uid-${name}` } });
      p.spec!.schedulerName = "default-scheduler";
      return p;
    };
    fake.put(PODS, pending("fits", "1"));
    fake.put(PODS, pending("too-big", "8"));
    const flags = parseFlags(schedulerFlags, ["--master", fake.url, "--leader-elect=false", "--port", "0", "--bind-address", "127.0.0.1"], { command: "kube-scheduler" });
    const abort = new AbortController();
    const client = new RestClient(fake.clientConfig(), { qps: 0 });
    const running = runScheduler(flags, abort.signal, { client, registry: createRegistry({ defaultMetrics: false }), logger: silentLogger() });

    const bound = await until(() => (fake!.object(PODS, "default", "fits") as Pod | undefined)?.spec?.nodeName);
    expect(bound).toBe("n1");
    const condition = await until(() => (fake!.object(PODS, "default", "too-big") as Pod | undefined)?.status?.conditions?.find((c) => c.type === "PodScheduled"));
    expect(condition).toMatchObject({ status: "False", reason: "Unschedulable", message: "0/1 nodes are available: 1 Insufficient cpu." });
    expect(fake.requestsTo("POST", "/pods/fits/binding")).toHaveLength(1);

    abort.abort();
    await running;
  });
});
