// The TTL-after-finished controller (Kubernetes' pkg/controller/ttlafterfinished). Contract: a finished Job
// (Complete or Failed) with spec.ttlSecondsAfterFinished is deleted that many seconds after it finished (its
// completionTime, else the finishing condition's lastTransitionTime), with foreground propagation, so its pods go
// before it; a fresh read rechecks the TTL first, because a user may have changed it; the key is requeued for the
// moment the TTL runs out.
import { isNotFound } from "../../../api/errors.js";
import { objectKey } from "../../../api/meta.js";
import { findResource } from "../../../api/resources.js";
import { parseTime } from "../../../api/time.js";
import type { Job } from "../../../api/types/batch.js";
import { newControllerQueue, runWorkers } from "../../../client/controller-loop.js";
import type { Informer } from "../../../client/informer.js";
import type { RestClient } from "../../../client/rest.js";
import type { RateLimitingQueue } from "../../../client/workqueue.js";
import { realClock, type Clock } from "../../../component-base/clock.js";
import { silentLogger, type Logger } from "../../../component-base/logging.js";
import type { Registry } from "../../../component-base/metrics.js";
import { findCondition, isJobFinished } from "../job/job-util.js";
import type { Controller, ControllerContext } from "../types.js";

const JOBS = findResource("batch", "v1", "jobs")!;

export type TtlClient = Pick<RestClient, "get" | "delete">;

export interface TtlAfterFinishedOptions {
  client: TtlClient;
  jobInformer: Informer<Job>;
  clock?: Clock;
  logger?: Logger;
  metrics?: Registry;
  /** --concurrent-ttl-after-finished-syncs; default 5. */
  workers?: number;
}

/** When the Job finished, if it did. */
export function jobFinishTime(job: Readonly<Job>): number | undefined {
  if (!isJobFinished(job)) return undefined;
  const completed = parseTime(job.status?.completionTime);
  if (completed !== undefined) return completed;
  const cond = findCondition(job, "Complete")?.status === "True" ? findCondition(job, "Complete") : findCondition(job, "Failed");
  return parseTime(cond?.lastTransitionTime);
}

/** Milliseconds until the Job's TTL runs out (≤ 0: expired); undefined when it has none or is not finished. */
export function timeLeftMs(job: Readonly<Job>, now: number): number | undefined {
  const ttl = job.spec?.ttlSecondsAfterFinished;
  if (ttl === undefined || job.metadata.deletionTimestamp) return undefined;
  const finished = jobFinishTime(job);
  if (finished === undefined) return undefined;
  return finished + ttl * 1000 - now;
}

export class TtlAfterFinishedController implements Controller {
  readonly name = "ttl-after-finished";
  readonly queue: RateLimitingQueue;
  private readonly client: TtlClient;
  private readonly jobInformer: Informer<Job>;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly workers: number;

  constructor(opts: TtlAfterFinishedOptions) {
    this.client = opts.client;
    this.jobInformer = opts.jobInformer;
    this.clock = opts.clock ?? realClock;
    this.logger = opts.logger ?? silentLogger();
    this.workers = opts.workers ?? 5;
    if (!Number.isInteger(this.workers) || this.workers < 1) throw new Error(`ttl-after-finished: workers must be a positive integer, got ${this.workers}`);
    this.queue = newControllerQueue("ttl_jobs_to_delete", { clock: this.clock, metrics: opts.metrics });
    const consider = (job: Readonly<Job>): void => {
      if (job.spec?.ttlSecondsAfterFinished !== undefined && !job.metadata.deletionTimestamp && isJobFinished(job)) this.queue.add(objectKey(job.metadata));
    };
    this.jobInformer.addEventHandler({
      onAdd: consider,
      onUpdate: (_old, job) => {
        consider(job);
      },
    });
  }

  run(signal: AbortSignal): Promise<void> {
    return runWorkers({ queue: this.queue, workers: this.workers, sync: (key) => this.sync(key), informers: [this.jobInformer], logger: this.logger, signal });
  }

  async sync(key: string): Promise<void> {
    const cached = this.jobInformer.lister.get(key);
    if (!cached) return;
    const left = timeLeftMs(cached, this.clock.now());
    if (left === undefined) return;
    if (left > 0) {
      this.queue.addAfter(key, left);
      return;
    }
    // The cache may be stale: the TTL is checked again on a fresh read before deleting.
    let fresh: Job;
    try {
      fresh = await this.client.get<Job>(JOBS, cached.metadata.namespace, cached.metadata.name ?? "");
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    const freshLeft = timeLeftMs(fresh, this.clock.now());
    if (freshLeft === undefined) return;
    if (freshLeft > 0) {
      this.queue.addAfter(key, freshLeft);
      return;
    }
    this.logger.debug({ key }, "Cleaning up Job whose TTL after finished ran out");
    try {
      await this.client.delete(JOBS, fresh.metadata.namespace, fresh.metadata.name ?? "", { propagationPolicy: "Foreground", preconditions: { uid: fresh.metadata.uid ?? "", ...(fresh.metadata.resourceVersion ? { resourceVersion: fresh.metadata.resourceVersion } : {}) } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

export function createTtlAfterFinishedController(ctx: ControllerContext): Controller {
  return new TtlAfterFinishedController({
    client: ctx.client,
    jobInformer: ctx.informers.forResource<Job>(JOBS),
    clock: ctx.clock,
    logger: ctx.logger.child({ controller: "ttl-after-finished" }),
    metrics: ctx.metrics,
    workers: ctx.config.concurrentTtlAfterFinishedSyncs,
  });
}
