// kube-scheduler as a real process (dist/scheduler/main.js, build first) against a real apiserver process on a real
// etcd: pods get bound and spread, a pod that fits nowhere waits with Kubernetes' FailedScheduling message and
// PodScheduled=False until a big enough node appears, pods that name a node are left alone, two schedulers elect one
// leader and the standby takes over when the leader is SIGKILLed; and a throughput run on 1,000 nodes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RESOURCES } from "../api/resources.js";
import type { Node, Pod } from "../api/types/index.js";
import type { CoreEvent } from "../client/event-recorder.js";
import { RestClient } from "../client/rest.js";
import { clientConfigFor, startTestCluster, waitFor, type TestCluster } from "../test/support/apiserver.js";
import { startComponentOnFreePort } from "../test/support/components.js";
import { metricSum } from "../test/support/http.js";

const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;
const NODES = RESOURCES.find((r) => r.group === "" && r.resource === "nodes")!;
const EVENTS = RESOURCES.find((r) => r.group === "" && r.resource === "events")!;
// The `kubernetes` Endpoints may not hold a loopback address; the apiserver listens on 127.0.0.1 here.
const APISERVER_ARGS = ["--advertise-address", "172.30.0.1"];

interface SchedulerProcess {
  /** http://127.0.0.1:<port> of its healthz/metrics server. */
  url: string;
  logs(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

let schedulersStarted = 0;

/** A scheduler whose health server picks its own port, ready once its /readyz answers. */
async function startScheduler(kubeconfig: string, args: string[] = []): Promise<SchedulerProcess> {
  const scheduler = await startComponentOnFreePort("kube-scheduler", ["--kubeconfig", kubeconfig, ...args], `kube-scheduler-${schedulersStarted++}`);
  const { url } = scheduler;
  await waitFor("the scheduler to be ready", async () => (await fetch(`${url}/readyz`)).ok || undefined, 20_000);
  return {
    url,
    logs: () => scheduler.logs(),
    kill: (signal = "SIGTERM") => scheduler.kill(signal),
  };
}

function node(name: string, allocatable: Record<string, string> = { cpu: "2", memory: "4Gi", pods: "110" }): Node {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name, labels: { "kubernetes.io/hostname": name } },
    status: {
      capacity: { ...allocatable },
      allocatable: { ...allocatable },
      conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status" }],
      addresses: [{ type: "Hostname", address: name }],
    },
  };
}

const OWNER = { apiVersion: "apps/v1", kind: "ReplicaSet", name: "web", uid: "6a1f6c0e-0000-4000-8000-000000000001", controller: true };

function pod(name: string, opts: { cpu?: string; nodeName?: string; owned?: boolean } = {}): Pod {
  const p: Pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", ...(opts.owned ? { ownerReferences: [OWNER] } : {}) },
    spec: { containers: [{ name: "app", image: "nginx", ...(opts.cpu ? { resources: { requests: { cpu: opts.cpu } } } : {}) }] },
  };
  if (opts.nodeName) p.spec!.nodeName = opts.nodeName;
  return p;
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

describe("kube-scheduler on a 3-node cluster", () => {
  let cluster: TestCluster;
  let client: RestClient;
  let scheduler: SchedulerProcess | undefined;
  const started: SchedulerProcess[] = [];

  const getPod = (name: string): Promise<Pod> => client.get<Pod>(PODS, "default", name);
  const eventsFor = async (name: string): Promise<CoreEvent[]> =>
    (await client.list<CoreEvent>(EVENTS, "default", { fieldSelector: `involvedObject.name=${name}` })).items;

  beforeAll(async () => {
    cluster = await startTestCluster(APISERVER_ARGS);
    client = new RestClient(clientConfigFor(cluster.api), { qps: 0 });
    for (const n of ["node-1", "node-2", "node-3"]) await client.create(NODES, undefined, node(n));
    scheduler = await startScheduler(cluster.kubeconfig, ["--leader-elect=false"]);
    started.push(scheduler);
  });

  afterAll(async () => {
    for (const s of started) await s.kill("SIGKILL");
    client?.close();
    await cluster?.destroy();
  });

  it("binds pending pods and spreads the pods of one owner across the nodes", async () => {
    const names = Array.from({ length: 6 }, (_, i) => `web-${i}`);
    for (const n of names) await client.create(PODS, "default", pod(n, { owned: true, cpu: "100m" }));
    const bound = await waitFor("all six pods bound", async () => {
      const pods = await Promise.all(names.map(getPod));
      return pods.every((p) => p.spec?.nodeName) ? pods : undefined;
    });
    const perNode = new Map<string, number>();
    for (const p of bound) perNode.set(p.spec!.nodeName!, (perNode.get(p.spec!.nodeName!) ?? 0) + 1);
    expect([...perNode.values()].sort()).toEqual([2, 2, 2]);
    for (const p of bound) expect(p.status?.conditions?.find((c) => c.type === "PodScheduled")?.status).toBe("True");

    const events = await waitFor("the Scheduled event", async () => {
      const list = await eventsFor("web-0");
      return list.some((e) => e.reason === "Scheduled") ? list : undefined;
    });
    const scheduled = events.find((e) => e.reason === "Scheduled")!;
    expect(scheduled.message).toBe(`Successfully assigned default/web-0 to ${bound[0]!.spec!.nodeName!}`);
    expect(scheduled.type).toBe("Normal");
    expect(scheduled.source.component).toBe("default-scheduler");
    expect(scheduled.reportingComponent).toBe("default-scheduler");
    expect(await metricSum(scheduler!.url, "scheduler_schedule_attempts_total", { result: "scheduled", profile: "default-scheduler" })).toBeGreaterThanOrEqual(6);
  });

  it("keeps a pod that fits nowhere Pending with FailedScheduling, and binds it once a big enough node appears", async () => {
    await client.create(PODS, "default", pod("huge", { cpu: "100" }));
    const failed = await waitFor("the FailedScheduling event", async () => (await eventsFor("huge")).find((e) => e.reason === "FailedScheduling"));
    expect(failed.type).toBe("Warning");
    expect(failed.message).toBe("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.");
    const waiting = await waitFor("PodScheduled=False", async () => {
      const p = await getPod("huge");
      return p.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
    });
    expect(waiting.reason).toBe("Unschedulable");
    expect(waiting.message).toBe("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.");
    expect((await getPod("huge")).spec?.nodeName).toBeUndefined();
    expect(await metricSum(scheduler!.url, "scheduler_pending_pods", { queue: "unschedulable" })).toBe(1);

    const t0 = Date.now();
    await client.create(NODES, undefined, node("node-big", { cpu: "128", memory: "256Gi", pods: "110" }));
    const boundTo = await waitFor("the huge pod bound", async () => (await getPod("huge")).spec?.nodeName);
    expect(boundTo).toBe("node-big");
    // Woken by the node's arrival, not by the 5 min unschedulable timeout.
    expect(Date.now() - t0).toBeLessThan(5000);
    await client.delete(NODES, undefined, "node-big");
    await client.delete(PODS, "default", "huge");
  });

  it("leaves pods that already name a node alone", async () => {
    await client.create(PODS, "default", pod("pinned", { nodeName: "node-2" }));
    await client.create(PODS, "default", pod("ghost-pinned", { nodeName: "no-such-node" }));
    await client.create(PODS, "default", pod("after-pinned"));
    await waitFor("a later pod bound", async () => (await getPod("after-pinned")).spec?.nodeName);
    expect((await getPod("pinned")).spec?.nodeName).toBe("node-2");
    expect((await getPod("ghost-pinned")).spec?.nodeName).toBe("no-such-node");
    expect(await eventsFor("pinned")).toEqual([]);
    expect(await eventsFor("ghost-pinned")).toEqual([]);
  });

  it("elects one leader among two schedulers, and the standby takes over within the lease when the leader is killed", async () => {
    await scheduler!.kill();
    const leaseArgs = ["--leader-elect=true", "--leader-elect-lease-duration=2s", "--leader-elect-renew-deadline=1500ms", "--leader-elect-retry-period=500ms"];
    const a = await startScheduler(cluster.kubeconfig, leaseArgs);
    const b = await startScheduler(cluster.kubeconfig, leaseArgs);
    started.push(a, b);
    const leading = (s: SchedulerProcess): Promise<number> => metricSum(s.url, "leader_election_master_status", { name: "kube-scheduler" });
    const [leader, standby] = await waitFor("one leader", async () => {
      const [la, lb] = await Promise.all([leading(a), leading(b)]);
      if (la + lb !== 1) return undefined;
      return la === 1 ? [a, b] : [b, a];
    });

    const first = Array.from({ length: 4 }, (_, i) => `ha-a-${i}`);
    for (const n of first) await client.create(PODS, "default", pod(n));
    await waitFor("pods bound by the leader", async () => ((await Promise.all(first.map(getPod))).every((p) => p.spec?.nodeName) ? true : undefined));
    expect(await metricSum(leader.url, "scheduler_schedule_attempts_total", { result: "scheduled" })).toBe(4);
    expect(await metricSum(standby.url, "scheduler_schedule_attempts_total")).toBe(0);
    expect(await leading(standby)).toBe(0);

    const killedAt = Date.now();
    await leader.kill("SIGKILL");
    const second = Array.from({ length: 4 }, (_, i) => `ha-b-${i}`);
    for (const n of second) await client.create(PODS, "default", pod(n));
    await waitFor("the standby leading", async () => ((await leading(standby)) === 1 ? true : undefined), 15_000);
    const tookOver = Date.now() - killedAt;
    await waitFor("pods bound by the new leader", async () => ((await Promise.all(second.map(getPod))).every((p) => p.spec?.nodeName) ? true : undefined), 15_000);
    const boundAfter = Date.now() - killedAt;
    // The standby may take the lease once it has seen it unrenewed for leaseDuration (2 s), checking every
    // retryPeriod with jitter (≤ 2.2 × 0.5 s).
    expect(tookOver).toBeLessThan(2000 + 1100 + 1000);
    expect(await metricSum(standby.url, "scheduler_schedule_attempts_total", { result: "scheduled" })).toBe(4);
    console.log(`leader killed → standby leading after ${tookOver} ms, new pods bound after ${boundAfter} ms`);
  });
});

describe("kube-scheduler throughput", () => {
  const NODE_COUNT = Number(process.env.SCHEDULER_PERF_NODES ?? 1000);
  const POD_COUNT = Number(process.env.SCHEDULER_PERF_PODS ?? 2000);
  let cluster: TestCluster;
  let client: RestClient;
  let scheduler: SchedulerProcess | undefined;

  beforeAll(async () => {
    cluster = await startTestCluster(APISERVER_ARGS);
    client = new RestClient(clientConfigFor(cluster.api), { qps: 0 });
  });

  afterAll(async () => {
    await scheduler?.kill("SIGKILL");
    client?.close();
    await cluster?.destroy();
  });

  it(`binds ${POD_COUNT} pods onto ${NODE_COUNT} nodes`, async () => {
    const nodes = Array.from({ length: NODE_COUNT }, (_, i) => node(`hollow-${i}`, { cpu: "32", memory: "128Gi", pods: "110" }));
    await pool(nodes, 32, (n) => client.create(NODES, undefined, n));
    scheduler = await startScheduler(cluster.kubeconfig, ["--leader-elect=false", "--kube-api-qps=0"]);

    const t0 = performance.now();
    let created = 0;
    let createdAt = 0;
    const creating = pool(
      Array.from({ length: POD_COUNT }, (_, i) => pod(`load-${i}`, { cpu: "100m", owned: i % 2 === 0 })),
      64,
      async (p) => {
        await client.create(PODS, "default", p);
        if (++created === POD_COUNT) createdAt = performance.now();
      },
    );
    const url = scheduler.url;
    await waitFor(`${POD_COUNT} pods scheduled`, async () => ((await metricSum(url, "scheduler_schedule_attempts_total", { result: "scheduled" })) >= POD_COUNT ? true : undefined), 110_000, 100);
    const boundAt = performance.now();
    await creating;
    const createRate = POD_COUNT / ((createdAt - t0) / 1000);
    const bindRate = POD_COUNT / ((boundAt - t0) / 1000);
    console.log(
      `${NODE_COUNT} nodes, ${POD_COUNT} pods: created in ${((createdAt - t0) / 1000).toFixed(2)} s (${createRate.toFixed(0)} pods/s), ` +
        `all bound after ${((boundAt - t0) / 1000).toFixed(2)} s (${bindRate.toFixed(0)} pods/s, ${(bindRate / createRate).toFixed(2)} of the create rate)`,
    );
    const pods = await client.listAll<Pod>(PODS, "default");
    expect(pods.items.filter((p) => p.spec?.nodeName).length).toBe(POD_COUNT);
    expect(await metricSum(url, "scheduler_schedule_attempts_total", { result: "error" })).toBe(0);
  });
});
