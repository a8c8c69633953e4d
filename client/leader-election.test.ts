import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { RESOURCES } from "../api/resources.js";
import { createRegistry } from "../component-base/metrics.js";
import { formatMicroTime, LeaderElector, leaderElectionMetrics, runLeaderElection, type Lease, type LeaderElectionConfig } from "./leader-election.js";
import { RestClient } from "./rest.js";
import { FakeApiserver } from "./testing/fake-apiserver.js";

const LEASES = RESOURCES.find((r) => r.resource === "leases")!;

/** Resolves once `cond` holds. The fake apiserver's I/O is real, so this polls rather than moving a clock. */
function waitFor(cond: () => boolean, what: string, timeout = 5000): Promise<void> {
  return vi.waitFor(() => {
    if (!cond()) throw new Error(`timed out waiting for ${what}`);
  }, { timeout, interval: 5 });
}

let server: FakeApiserver;
let client: RestClient;
beforeEach(async () => {
  server = await FakeApiserver.start();
  client = new RestClient(server.clientConfig(), { qps: 0 });
});
afterEach(async () => {
  client.close();
  await server.stop();
});

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
      client,
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
    await waitFor(() => a.election.isLeader() || b.election.isLeader(), "a leader");
    expect(Number(a.election.isLeader()) + Number(b.election.isLeader())).toBe(1);
    const [leader, follower] = a.election.isLeader() ? [a, b] : [b, a];
    const spec = lease().spec!;
    expect(spec.holderIdentity).toBe(leader.id);
    expect(spec.leaseDurationSeconds).toBe(1);
    expect(spec.renewTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(spec.acquireTime).toMatch(/\.\d{6}Z$/);
    expect(leader.started).toBe(1);
    expect(follower.started).toBe(0);
    await waitFor(() => follower.leaders.includes(leader.id), "follower sees the leader");
    expect(follower.election.leader()).toBe(leader.id);
    // Renewals keep moving renewTime, and the follower, retrying all along, never starts leading.
    const renewed = spec.renewTime;
    await waitFor(() => lease().spec!.renewTime !== renewed, "a renewal");
    expect(leader.election.isLeader()).toBe(true);
    expect(follower.election.isLeader()).toBe(false);
    expect(follower.started).toBe(0);

    a.controller.abort();
    b.controller.abort();
    await Promise.all([a.election.done, b.election.done]);
  });

  it("hands over at once when the leader releases the lease on shutdown", async () => {
    const a = candidate("a");
    await waitFor(() => a.election.isLeader(), "a leads");
    const b = candidate("b");
    await waitFor(() => b.leaders.includes("a"), "b observes a");
    expect(b.election.isLeader()).toBe(false);

    const released = Date.now();
    a.controller.abort();
    await a.election.done;
    expect(a.leadingSignal?.aborted).toBe(true);
    expect(a.stopped).toBe(1);
    expect(a.election.isLeader()).toBe(false);
    await waitFor(() => b.election.isLeader(), "b takes over");
    // Released: b does not wait out the 1 s lease (only its ≤ 2.2 × retry period poll).
    expect(Date.now() - released).toBeLessThan(700);
    expect(lease().spec).toMatchObject({ holderIdentity: "b", leaseTransitions: 1 });
    b.controller.abort();
    await b.election.done;
    expect(lease().spec?.holderIdentity).toBe("");
  });

  it("takes over only after the lease expires when the leader vanishes without releasing", async () => {
    const a = candidate("a", { releaseOnCancel: false });
    await waitFor(() => a.election.isLeader(), "a leads");
    const b = candidate("b");
    await waitFor(() => b.leaders.includes("a"), "b observes a");
    a.controller.abort();
    await a.election.done;
    const vanished = Date.now();
    expect(lease().spec?.holderIdentity).toBe("a");
    await waitFor(() => b.election.isLeader(), "b takes over", 4000);
    expect(Date.now() - vanished).toBeGreaterThanOrEqual(700);
    expect(lease().spec).toMatchObject({ holderIdentity: "b", leaseTransitions: 1 });
    b.controller.abort();
    await b.election.done;
  });

  it("stops leading when it cannot renew within the renew deadline", async () => {
    const registry = createRegistry({ defaultMetrics: false });
    const a = candidate("a", { metrics: leaderElectionMetrics(registry) });
    await waitFor(() => a.election.isLeader(), "a leads");
    expect(await registry.metrics()).toContain('leader_election_master_status{name="kube-scheduler"} 1');
    server.failNext({ method: "PUT", path: "/leases/" }, { kind: "status", code: 500, reason: "InternalError" }, 1000);
    await a.election.done; // returns on its own
    expect(a.election.isLeader()).toBe(false);
    expect(a.leadingSignal?.aborted).toBe(true);
    expect(a.stopped).toBe(1);
    expect(await registry.metrics()).toContain('leader_election_master_status{name="kube-scheduler"} 0');
  });

  it("validates its timing configuration", () => {
    const base: LeaderElectionConfig = { client, namespace: "ns", name: "n", identity: "i", onStartedLeading: () => undefined };
    expect(() => new LeaderElector({ ...base, leaseDurationMs: 1000, renewDeadlineMs: 1000 })).toThrow(/leaseDuration must be greater/);
    expect(() => new LeaderElector({ ...base, renewDeadlineMs: 1000, retryPeriodMs: 900 })).toThrow(/retryPeriod\*1.2/);
    expect(() => new LeaderElector({ ...base, identity: "" })).toThrow(/identity/);
  });
});

describe("formatMicroTime", () => {
  it("writes RFC 3339 with microseconds", () => {
    expect(formatMicroTime(Date.UTC(2024, 0, 2, 3, 4, 5, 678))).toBe("2024-01-02T03:04:05.678000Z");
  });
});
