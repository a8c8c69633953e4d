// The assembled process logic against the in-memory fake apiserver: flags → client → informers → controllers,
// leader election, metrics. The controllers' own behaviour is tested in their folders.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RESOURCES } from "../api/resources.js";
import { newReplicaSet } from "../api/testing/builders.js";
import type { Lease } from "../api/types/index.js";
import { FakeApiserver } from "../client/testing/fake-apiserver.js";
import { silentLogger } from "../component-base/logging.js";
import { LeaderElectionLostError } from "../client/component.js";
import { runControllerManager } from "./app.js";
import { UnknownControllerError } from "./controllers/registry.js";
import { parseControllerManagerFlags } from "./options.js";

const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;
const REPLICASETS = RESOURCES.find((r) => r.group === "apps" && r.resource === "replicasets")!;
const LEASES = RESOURCES.find((r) => r.group === "coordination.k8s.io" && r.resource === "leases")!;

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
  const options = parseControllerManagerFlags(["--master", fake.url, "--port", "0", "--address", "127.0.0.1", "--secure-port", "0", ...args]);
  const done = runControllerManager(options, silentLogger(), abort.signal, { onListening: resolvePort });
  return { done, port };
}

async function metrics(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

describe("runControllerManager", () => {
  it("runs the enabled controllers and serves their workqueue metrics", async () => {
    fake.put(REPLICASETS, newReplicaSet("web", { replicas: 2, meta: { generation: 1 } }));
    const { done, port } = start(["--leader-elect=false", "--controllers=replicaset"]);
    await vi.waitFor(() => {
      expect(fake.objects(PODS, "default")).toHaveLength(2);
    });
    const text = await metrics(await port);
    expect(text).toMatch(/workqueue_adds_total\{name="replicaset"\} [1-9]/);
    expect(text).toContain("rest_client_requests_total");
    expect(text).not.toContain('name="deployment"');
    expect(await (await fetch(`http://127.0.0.1:${await port}/healthz`)).text()).toBe("ok");
    abort.abort();
    await done;
  });

  it("leads through a Lease in kube-system and releases it on shutdown", async () => {
    const { done, port } = start(["--leader-elect-lease-duration=2s", "--leader-elect-renew-deadline=1s", "--leader-elect-retry-period=200ms"]);
    const lease = await vi.waitFor(() => {
      const l = fake.object(LEASES, "kube-system", "kube-controller-manager") as Lease | undefined;
      expect(l?.spec?.holderIdentity).toBeTruthy();
      return l;
    });
    expect(lease?.spec?.leaseDurationSeconds).toBe(2);
    await vi.waitFor(async () => {
      expect(await metrics(await port)).toMatch(/leader_election_master_status\{name="kube-controller-manager"\} 1/);
    });
    abort.abort();
    await done;
    expect((fake.object(LEASES, "kube-system", "kube-controller-manager") as Lease).spec?.holderIdentity).toBe("");
  });

  it("fails once it cannot renew its lease", async () => {
    const { done } = start(["--leader-elect-lease-duration=2s", "--leader-elect-renew-deadline=1s", "--leader-elect-retry-period=200ms", "--controllers=replicaset"]);
    await vi.waitFor(() => {
      expect((fake.object(LEASES, "kube-system", "kube-controller-manager") as Lease | undefined)?.spec?.holderIdentity).toBeTruthy();
    });
    fake.failNext({ path: "/leases/" }, { kind: "status", code: 500, message: "etcd is sad" }, 1000);
    await expect(done).rejects.toBeInstanceOf(LeaderElectionLostError);
  });

  it("refuses unknown controller names before starting anything", async () => {
    await expect(start(["--controllers=*,-bogus"]).done).rejects.toBeInstanceOf(UnknownControllerError);
    expect(fake.requests).toEqual([]);
  });
});
