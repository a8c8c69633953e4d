import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { KubeObject } from "../api/meta.js";
import { RESOURCES, type ResourceInfo } from "../api/resources.js";
import { createRegistry } from "../component-base/metrics.js";
import type { Lease } from "../api/types/index.js";
import { FakeClock } from "../component-base/testing/fake-clock.js";
import { LeaderElector, leaderElectionMetrics, runLeaderElection, type LeaderElectionConfig } from "./leader-election.js";
import { RestClient, type RequestOptions, type WriteOptions } from "./rest.js";
import { FakeApiserver } from "./testing/fake-apiserver.js";

const LEASES = RESOURCES.find((r) => r.resource === "leases")!;

let server: FakeApiserver;
let client: RestClient;
let clock: FakeClock;
/** The candidates' requests not yet answered: time moves only while this is 0. */
let inFlight = 0;
beforeEach(async () => {
  server = await FakeApiserver.start();
  client = new RestClient(server.clientConfig(), { qps: 0 });
  clock = new FakeClock();
  inFlight = 0;
});
afterEach(async () => {
  client.close();
  await server.stop();
});

function counted<T>(request: Promise<T>): Promise<T> {
  inFlight++;
  return request.finally(() => {
    inFlight--;
  });
}

/** The candidates' client: the fake apiserver over HTTP, with every request counted in `inFlight`. */
const countingClient: LeaderElectionConfig["client"] = {
  get: <T extends KubeObject>(info: ResourceInfo, ns: string | undefined, name: string, opts?: RequestOptions) => counted(client.get<T>(info, ns, name, opts)),
  create: <T extends KubeObject>(info: ResourceInfo, ns: string | undefined, obj: T, opts?: WriteOptions) => counted(client.create<T>(info, ns, obj, opts)),
  update: <T extends KubeObject>(info: ResourceInfo, ns: string | undefined, obj: T, opts?: WriteOptions) => counted(client.update<T>(info, ns, obj, opts)),
};

/**
 * Moves the candidates' clock in 10 ms steps until `cond` holds, and returns how much time that took. A step is
 * taken only when no request is in flight, so the fake apiserver's real I/O never lets time run ahead of it.
 */
async function runUntil(cond: () => boolean, what: string, limitMs = 5000): Promise<number> {
  const start = clock.now();
  for (;;) {
    await vi.waitFor(
      () => {
        if (inFlight > 0) throw new Error(`${what}: a request to the fake apiserver is still in flight`);
      },
      { timeout: 5000, interval: 1 },
    );
    if (cond()) return clock.now() - start;
    if (clock.now() - start >= limitMs) throw new Error(`${what}: not within ${limitMs} ms`);
    await clock.advance(10);
  }
}

interface Candidate {
  id: string;
  controller: AbortController;
  election: ReturnType<typeof runLeaderElection>;
  started: number;
  stopped: number;
  leaders: string[];
  leadingSignal: AbortSignal | undefined;
}

function candidate(id: string, extra: Partial<LeaderElectionConfig> = {}): Candidate {
  const controller = new AbortController();
  const c: Omit<Candidate, "election"> = { id, controller, started: 0, stopped: 0, leaders: [], leadingSignal: undefined };
  const election = runLeaderElection(
    {
      client: countingClient,
      clock,
      namespace: "kube-system",
      name: "kube-scheduler",
      identity: id,
      leaseDurationMs: 1000,
      renewDeadlineMs: 600,
      retryPeriodMs: 100,
      onStartedLeading: (signal) => {
        c.started++;
        c.leadingSignal = signal;
      },
      onStoppedLeading: () => {
        c.stopped++;
      },
      onNewLeader: (leader) => c.leaders.push(leader),
      ...extra,
    },
    controller.signal,
  );
  return Object.assign(c, { election });
}

function lease(): Lease {
  return server.object(LEASES, "kube-system", "kube-scheduler") as Lease;
}

describe("leader election", () => {
  it("elects exactly one of two candidates and records it in the Lease", async () => {
    const a = candidate("a");
    const b = candidate("b");
    await runUntil(() => a.election.isLeader() || b.election.isLeader(), "a leader");
    expect(Number(a.election.isLeader()) + Number(b.election.isLeader())).toBe(1);
    const [leader, follower] = a.election.isLeader() ? [a, b] : [b, a];
    const spec = lease().spec!;
    expect(spec.holderIdentity).toBe(leader.id);
    expect(spec.leaseDurationSeconds).toBe(1);
    expect(spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(spec.acquireTime).toMatch(/\.\d{6}Z$/);
    expect(leader.started).toBe(1);
    expect(follower.started).toBe(0);
    await runUntil(() => follower.leaders.includes(leader.id), "follower sees the leader");
    expect(follower.election.leader()).toBe(leader.id);
    // For three lease durations the leader keeps renewing, and the follower, retrying all along, never leads.
    const end = clock.now() + 3000;
    await runUntil(() => clock.now() >= end, "three lease durations");
    expect(lease().spec!.renewTime).not.toBe(spec.renewTime);
    expect(lease().spec!.holderIdentity).toBe(leader.id);
    expect(leader.election.isLeader()).toBe(true);
    expect(follower.election.isLeader()).toBe(false);
    expect([leader.started, follower.started]).toEqual([1, 0]);

    a.controller.abort();
    b.controller.abort();
    await Promise.all([a.election.done, b.election.done]);
  });

  it("hands over at once when the leader releases the lease on shutdown", async () => {
    const a = candidate("a");
    await runUntil(() => a.election.isLeader(), "a leads");
    const b = candidate("b");
    await runUntil(() => b.leaders.includes("a"), "b observes a");
    expect(b.election.isLeader()).toBe(false);

    a.controller.abort();
    await a.election.done;
    expect(a.leadingSignal?.aborted).toBe(true);
    expect(a.stopped).toBe(1);
    expect(a.election.isLeader()).toBe(false);
    const took = await runUntil(() => b.election.isLeader(), "b takes over");
    // Released: b does not wait out the 1 s lease, only its next retry (at most 2.2 × the 100 ms retry period).
    expect(took).toBeLessThanOrEqual(220);
    expect(lease().spec).toMatchObject({ holderIdentity: "b", leaseTransitions: 1 });
    b.controller.abort();
    await b.election.done;
    expect(lease().spec?.holderIdentity).toBe("");
  });

  it("takes over only after the lease expires when the leader vanishes without releasing", async () => {
    const a = candidate("a", { releaseOnCancel: false });
    await runUntil(() => a.election.isLeader(), "a leads");
    const b = candidate("b");
    await runUntil(() => b.leaders.includes("a"), "b observes a");
    a.controller.abort();
    await a.election.done;
    expect(lease().spec?.holderIdentity).toBe("a");
    const took = await runUntil(() => b.election.isLeader(), "b takes over", 4000);
    // a renewed at most one retry period (100 ms) before it vanished; its lease holds for 1 s from then.
    expect(took).toBeGreaterThanOrEqual(900);
    expect(lease().spec).toMatchObject({ holderIdentity: "b", leaseTransitions: 1 });
    b.controller.abort();
    await b.election.done;
  });

  it("stops leading when it cannot renew within the renew deadline", async () => {
    const registry = createRegistry({ defaultMetrics: false });
    const a = candidate("a", { metrics: leaderElectionMetrics(registry) });
    await runUntil(() => a.election.isLeader(), "a leads");
    expect(await registry.metrics()).toContain('leader_election_master_status{name="kube-scheduler"} 1');
    server.failNext({ method: "PUT", path: "/leases/" }, { kind: "status", code: 500, reason: "InternalError" }, 1000);
    const took = await runUntil(() => a.stopped === 1, "a gives up");
    // It gives up within its 600 ms renew deadline (plus the retry period it was sleeping when the failures began).
    expect(took).toBeLessThanOrEqual(700);
    await a.election.done; // returns on its own
    expect(a.election.isLeader()).toBe(false);
    expect(a.leadingSignal?.aborted).toBe(true);
    expect(await registry.metrics()).toContain('leader_election_master_status{name="kube-scheduler"} 0');
  });

  it("validates its timing configuration", () => {
    const base: LeaderElectionConfig = { client, namespace: "ns", name: "n", identity: "i", onStartedLeading: () => undefined };
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 1000, renewDeadlineMs: 1000 })).toThrow(/leaseDuration must be greater/);
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 1000, retryPeriodMs: 900 })).toThrow(/retryPeriod\*1.2/);
    expect(() => new LeaderElector({ ...base, identity: "" })).toThrow(/identity/);
  });
});
