// Lease-based leader election (client-go tools/leaderelection with a coordination.k8s.io/v1 Lease lock).
//
// Contract, as in client-go:
//   - A candidate takes the lease when it is free (no holder, or released) or when the holder has not renewed it
//     for leaseDurationSeconds as measured on *our* clock from when we last saw the record change (so clock skew
//     between candidates does not matter). Every write is a PUT conditional on the resourceVersion read, so two
//     candidates never both succeed (409 → try again next period).
//   - The leader renews every retryPeriod; if it cannot renew within renewDeadline, it stops leading.
//   - leaseDuration > renewDeadline > 1.2 · retryPeriod, so a leader gives up before anyone may take over.
//   - On cancel (the run signal aborts) the leader releases the lease (holder "", leaseDurationSeconds 1), so a
//     successor does not wait out the lease — client-go's ReleaseOnCancel.
// run() returns once leadership is lost or the signal aborts; Kubernetes components then exit (and are restarted)
// rather than campaign again with possibly stale state.
import { setMaxListeners } from "node:events";
import { isNotFound } from "../api/errors.js";
import { RESOURCES } from "../api/resources.js";
import { formatMicroTime } from "../api/time.js";
import type { Lease, LeaseSpec } from "../api/types/index.js";
import { realClock, type Clock } from "../component-base/clock.js";
import { silentLogger, type Logger } from "../component-base/logging.js";
import { gauge, type Registry } from "../component-base/metrics.js";
import type { RestClient } from "./rest.js";

const LEASES = RESOURCES.find((r) => r.group === "coordination.k8s.io" && r.resource === "leases")!;

/** Publishes leader_election_master_status{name} (1 while leading). */
export interface LeaderElectionMetrics {
  setLeading(name: string, leading: boolean): void;
}

export function leaderElectionMetrics(registry: Registry): LeaderElectionMetrics {
  const status = gauge(registry, {
    name: "leader_election_master_status",
    help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease. Please make sure to group by name.",
    labelNames: ["name"],
  });
  return {
    setLeading: (name, leading) => {
      status.set({ name }, leading ? 1 : 0);
    },
  };
}

export interface LeaderElectionConfig {
  client: Pick<RestClient, "get" | "create" | "update">;
  /** Where the Lease lives, e.g. "kube-system". */
  namespace: string;
  /** The Lease name, e.g. "kube-scheduler". */
  name: string;
  /** Unique per candidate, e.g. "<hostname>_<uuid>". */
  identity: string;
  /** How long a lease is valid without renewal (default 15 s; stored rounded to whole seconds, at least 1). */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before giving up (default 10 s). */
  renewDeadlineMs?: number;
  /** Between attempts (default 2 s). */
  retryPeriodMs?: number;
  /** Runs while leading; `signal` aborts when leadership ends. Its promise is awaited (bounded) before release. */
  onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  onStoppedLeading?: () => void;
  /** Called when a different holder is observed (including ourselves); never with "". */
  onNewLeader?: (identity: string) => void;
  /** Release the lease when the run signal aborts (default true). */
  releaseOnCancel?: boolean;
  clock?: Clock;
  logger?: Logger;
  metrics?: LeaderElectionMetrics;
}

export class LeaderElector {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observed: LeaseSpec | undefined;
  private observedTime = 0;
  private reportedLeader = "";
  private leading = false;

  constructor(private readonly config: LeaderElectionConfig) {
    this.clock = config.clock ?? realClock;
    this.logger = (config.logger ?? silentLogger()).child({ lease: `${config.namespace}/${config.name}`, identity: config.identity });
    this.leaseDurationMs = config.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = config.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = config.retryPeriodMs ?? 2_000;
    if (!config.identity) throw new Error("leader election: identity is required");
    if (this.leaseDurationMs <= this.renewDeadlineMs) throw new Error("leader election: leaseDuration must be greater than renewDeadline");
    if (this.renewDeadlineMs <= 1.2 * this.retryPeriodMs) throw new Error("leader election: renewDeadline must be greater than retryPeriod*1.2");
    if (this.retryPeriodMs < 1) throw new Error("leader election: retryPeriod must be positive");
  }

  /** True while this candidate holds the lease and is leading. */
  isLeader(): boolean {
    return this.leading;
  }

  /** The last holder seen in the lease ("" if none). */
  getLeader(): string {
    return this.observed?.holderIdentity ?? "";
  }

  /** Campaigns until leading, leads until leadership is lost or `signal` aborts, then returns. */
  async run(signal: AbortSignal): Promise<void> {
    this.config.metrics?.setLeading(this.config.name, false);
    if (!(await this.acquire(signal))) return;
    this.leading = true;
    this.config.metrics?.setLeading(this.config.name, true);
    this.logger.info("Acquired lease; started leading");
    const leadership = new AbortController();
    // The leader's informers and workers all listen on it at once: that is its use, not a leak.
    setMaxListeners(0, leadership.signal);
    const onAbort = (): void => {
      leadership.abort(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    const work = (async () => {
      try {
        await this.config.onStartedLeading(leadership.signal);
      } catch (err) {
        this.logger.error({ err }, "onStartedLeading failed");
      }
    })();
    try {
      await this.renewLoop(signal);
    } finally {
      signal.removeEventListener("abort", onAbort);
      this.leading = false;
      leadership.abort(new Error("leadership lost"));
      this.config.metrics?.setLeading(this.config.name, false);
    }
    if (signal.aborted && (this.config.releaseOnCancel ?? true)) {
      // Let the leader's work wind down (bounded) before anyone else may start it.
      await Promise.race([work, this.clock.sleep(this.renewDeadlineMs)]);
      await this.release();
    } else {
      this.logger.warn("Failed to renew lease; stopped leading");
    }
    try {
      this.config.onStoppedLeading?.();
    } catch (err) {
      this.logger.error({ err }, "onStoppedLeading failed");
    }
  }

  private async acquire(signal: AbortSignal): Promise<boolean> {
    this.logger.info("Attempting to acquire leader lease");
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew(signal)) return true;
      // client-go's JitterUntil(retryPeriod, 1.2): spread candidates out.
      await this.clock.sleep(this.retryPeriodMs * (1 + Math.random() * 1.2), signal);
    }
    return false;
  }

  /** Returns when a renewal round fails past renewDeadline (leadership lost) or the signal aborts. */
  private async renewLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const deadline = this.clock.now() + this.renewDeadlineMs;
      let renewed = false;
      while (!signal.aborted) {
        const remaining = deadline - this.clock.now();
        if (remaining <= 0) break;
        if (await this.tryAcquireOrRenew(signal, remaining)) {
          renewed = true;
          break;
        }
        if (this.clock.now() + this.retryPeriodMs >= deadline) break;
        await this.clock.sleep(this.retryPeriodMs, signal);
      }
      if (signal.aborted || !renewed) return;
      await this.clock.sleep(this.retryPeriodMs, signal);
    }
  }

  /** One attempt; true when we hold the lease afterwards. Errors are logged and count as failure. */
  private async tryAcquireOrRenew(signal: AbortSignal, timeoutMs?: number): Promise<boolean> {
    const { client, namespace, name, identity } = this.config;
    const attempt = this.deadlineSignal(signal, timeoutMs);
    try {
      const now = this.clock.now();
      const durationSeconds = Math.max(1, Math.round(this.leaseDurationMs / 1000));
      let lease: Lease;
      try {
        lease = await client.get<Lease>(LEASES, namespace, name, { signal: attempt.signal });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        const spec: LeaseSpec = { holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: formatMicroTime(now), renewTime: formatMicroTime(now), leaseTransitions: 0 };
        await client.create<Lease>(LEASES, namespace, { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name, namespace }, spec }, { signal: attempt.signal });
        this.observe(spec);
        return true;
      }
      const old = lease.spec ?? {};
      this.observe(old);
      const holder = old.holderIdentity ?? "";
      if (holder !== "" && holder !== identity && this.observedTime + (old.leaseDurationSeconds ?? 0) * 1000 > now) {
        this.logger.debug({ holder }, "Lease is held by another candidate and has not expired");
        return false;
      }
      const ours = holder === identity;
      const spec: LeaseSpec = {
        holderIdentity: identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: ours && old.acquireTime ? old.acquireTime : formatMicroTime(now),
        renewTime: formatMicroTime(now),
        leaseTransitions: (old.leaseTransitions ?? 0) + (ours ? 0 : 1),
      };
      // Conditional on the resourceVersion we read: a concurrent writer makes this a 409.
      await client.update<Lease>(LEASES, namespace, { ...lease, spec }, { signal: attempt.signal });
      this.observe(spec);
      return true;
    } catch (err) {
      if (!signal.aborted) this.logger.debug({ err }, "Lease acquire/renew attempt failed");
      return false;
    } finally {
      attempt.dispose();
    }
  }

  /** Gives the lease up so a successor can take it at once (holder "", duration 1 s). */
  private async release(): Promise<void> {
    const { client, namespace, name, identity } = this.config;
    const attempt = this.deadlineSignal(undefined, this.renewDeadlineMs);
    try {
      const lease = await client.get<Lease>(LEASES, namespace, name, { signal: attempt.signal });
      if ((lease.spec?.holderIdentity ?? "") !== identity) return;
      const now = formatMicroTime(this.clock.now());
      const spec: LeaseSpec = { holderIdentity: "", leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: lease.spec?.leaseTransitions ?? 0 };
      await client.update<Lease>(LEASES, namespace, { ...lease, spec }, { signal: attempt.signal });
      this.observe(spec);
      this.logger.info("Released leader lease");
    } catch (err) {
      this.logger.warn({ err }, "Failed to release leader lease");
    } finally {
      attempt.dispose();
    }
  }

  /** Records the lease as seen now (on our clock) when it changed, and reports a new holder. */
  private observe(spec: LeaseSpec): void {
    const prev = this.observed;
    const changed = !prev || prev.holderIdentity !== spec.holderIdentity || prev.renewTime !== spec.renewTime || prev.leaseTransitions !== spec.leaseTransitions;
    if (!changed) return;
    this.observed = { ...spec };
    this.observedTime = this.clock.now();
    const holder = spec.holderIdentity ?? "";
    if (holder === this.reportedLeader) return;
    this.reportedLeader = holder;
    if (holder === "") return;
    this.logger.info({ leader: holder }, "New leader observed");
    try {
      this.config.onNewLeader?.(holder);
    } catch (err) {
      this.logger.error({ err }, "onNewLeader failed");
    }
  }

  /** A signal aborted by `parent` or after `timeoutMs` on our clock. */
  private deadlineSignal(parent: AbortSignal | undefined, timeoutMs: number | undefined): { signal: AbortSignal; dispose: () => void } {
    const controller = new AbortController();
    const onAbort = (): void => {
      controller.abort(parent?.reason);
    };
    parent?.addEventListener("abort", onAbort, { once: true });
    if (parent?.aborted) controller.abort(parent.reason);
    const timer = timeoutMs === undefined ? undefined : this.clock.setTimeout(() => { controller.abort(new DOMException("renew deadline exceeded", "TimeoutError")); }, timeoutMs);
    return {
      signal: controller.signal,
      dispose: () => {
        timer?.cancel();
        parent?.removeEventListener("abort", onAbort);
      },
    };
  }
}

export interface LeaderElection {
  isLeader(): boolean;
  /** The last observed holder. */
  leader(): string;
  /** Settles when run() returns (leadership lost or signal aborted). */
  done: Promise<void>;
}

/** Starts a LeaderElector in the background; see LeaderElector for the contract. */
export function runLeaderElection(config: LeaderElectionConfig, signal: AbortSignal): LeaderElection {
  const elector = new LeaderElector(config);
  const done = elector.run(signal);
  return { isLeader: () => elector.isLeader(), leader: () => elector.getLeader(), done };
}
