// The CronJob controller (Kubernetes' pkg/controller/cronjob, the informer-based v2). Contract:
//   - at each activation of spec.schedule (in spec.timeZone, else this process's zone) create the Job
//     `<cronjob>-<scheduled time in minutes since the epoch>` from spec.jobTemplate, owned by the CronJob, with the
//     cronjob.kubernetes.io/scheduled-timestamp annotation; only the most recent missed activation is run, and none
//     whose start is later than startingDeadlineSeconds; more than 100 missed activations get a TooManyMissedTimes
//     warning (set or decrease startingDeadlineSeconds);
//   - concurrencyPolicy Allow runs Jobs side by side, Forbid skips an activation while one is active, Replace
//     deletes the active ones (background propagation) first;
//   - status.active lists its unfinished Jobs, lastScheduleTime the latest activation run, lastSuccessfulTime the
//     latest completion; finished Jobs beyond successfulJobsHistoryLimit / failedJobsHistoryLimit are deleted,
//     oldest first;
//   - suspend stops new activations; the key is requeued for the next activation, so no polling is needed.
// The clock is injected, so tests run schedules on a fake clock.
import { parseSchedule } from "../../../api/cron.js";
import { errorMessage, isAlreadyExists, isNotFound, retryOnConflict } from "../../../api/errors.js";
import { objectKey, type ObjectMeta } from "../../../api/meta.js";
import { findResource } from "../../../api/resources.js";
import { formatTime, parseTime } from "../../../api/time.js";
import type { CronJob, CronJobStatus, Job } from "../../../api/types/batch.js";
import type { ObjectReference } from "../../../api/types/core.js";
import { newControllerQueue, runWorkers } from "../../../client/controller-loop.js";
import type { EventRecorder } from "../../../client/event-recorder.js";
import { unwrapTombstone, type Informer } from "../../../client/informer.js";
import type { RestClient } from "../../../client/rest.js";
import type { RateLimitingQueue } from "../../../client/workqueue.js";
import { realClock, type Clock } from "../../../component-base/clock.js";
import { silentLogger, type Logger } from "../../../component-base/logging.js";
import type { Registry } from "../../../component-base/metrics.js";
import { CONTROLLER_UID_INDEX, controllerRefOf, ensureControllerUidIndex, newControllerRef, semanticEqual } from "../controller-utils.js";
import { findCondition, isJobFinished } from "../job/job-util.js";
import type { Controller, ControllerContext } from "../types.js";

const JOBS = findResource("batch", "v1", "jobs")!;
const CRONJOBS = findResource("batch", "v1", "cronjobs")!;
export const COMPONENT = "cronjob-controller";
export const SCHEDULED_TIMESTAMP_ANNOTATION = "cronjob.kubernetes.io/scheduled-timestamp";
/** More missed activations than this since the last one run: the controller warns and runs only the latest. */
export const MAX_MISSED_SCHEDULES = 100;
const NEXT_SCHEDULE_DELTA_MS = 100;

export type CronJobClient = Pick<RestClient, "get" | "create" | "delete" | "updateStatus">;

export interface CronJobControllerOptions {
  client: CronJobClient;
  cronJobInformer: Informer<CronJob>;
  jobInformer: Informer<Job>;
  recorder: EventRecorder;
  clock?: Clock;
  logger?: Logger;
  metrics?: Registry;
  /** --concurrent-cron-job-syncs; default 5. */
  workers?: number;
}

export class CronJobController implements Controller {
  readonly name = "cronjob";
  readonly queue: RateLimitingQueue;
  private readonly client: CronJobClient;
  private readonly cronJobInformer: Informer<CronJob>;
  private readonly jobInformer: Informer<Job>;
  private readonly recorder: EventRecorder;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly workers: number;

  constructor(opts: CronJobControllerOptions) {
    this.client = opts.client;
    this.cronJobInformer = opts.cronJobInformer;
    this.jobInformer = opts.jobInformer;
    this.recorder = opts.recorder;
    this.clock = opts.clock ?? realClock;
    this.logger = opts.logger ?? silentLogger();
    this.workers = opts.workers ?? 5;
    if (!Number.isInteger(this.workers) || this.workers < 1) throw new Error(`cronjob: workers must be a positive integer, got ${this.workers}`);
    this.queue = newControllerQueue("cronjob", { clock: this.clock, metrics: opts.metrics });
    ensureControllerUidIndex(this.jobInformer);
    this.cronJobInformer.addEventHandler({
      onAdd: (cj) => {
        this.queue.add(objectKey(cj.metadata));
      },
      onUpdate: (_old, cj) => {
        this.queue.add(objectKey(cj.metadata));
      },
      onDelete: (obj) => {
        this.queue.add(objectKey(unwrapTombstone(obj).metadata));
      },
    });
    const jobChanged = (job: Readonly<Job>): void => {
      const ref = controllerRefOf(job);
      if (ref?.kind !== "CronJob") return;
      const cj = this.cronJobInformer.lister.getByName(job.metadata.namespace, ref.name);
      if (cj?.metadata.uid === ref.uid) this.queue.add(objectKey(cj.metadata));
    };
    this.jobInformer.addEventHandler({
      onAdd: jobChanged,
      onUpdate: (_old, job) => {
        jobChanged(job);
      },
      onDelete: (obj) => {
        jobChanged(unwrapTombstone(obj));
      },
    });
  }

  run(signal: AbortSignal): Promise<void> {
    return runWorkers({ queue: this.queue, workers: this.workers, sync: (key) => this.sync(key), informers: [this.cronJobInformer, this.jobInformer], logger: this.logger, signal });
  }

  async sync(key: string): Promise<void> {
    const cj = this.cronJobInformer.lister.get(key);
    if (!cj || cj.metadata.deletionTimestamp) return;
    const jobs = cj.metadata.uid ? this.jobInformer.lister.byIndex(CONTROLLER_UID_INDEX, cj.metadata.uid) : [];
    const status: CronJobStatus = structuredClone(cj.status ?? {});
    await this.reconcileActive(cj, jobs, status);
    const requeueMs = await this.schedule(cj, status);
    await this.cleanupFinishedJobs(cj, jobs, status);
    await this.writeStatus(cj, status);
    if (requeueMs !== undefined) this.queue.addAfter(key, requeueMs);
  }

  /** Drops finished and vanished Jobs from status.active and notes the latest success. */
  private async reconcileActive(cj: Readonly<CronJob>, jobs: readonly Readonly<Job>[], status: CronJobStatus): Promise<void> {
    const active = status.active ?? [];
    for (const job of jobs) {
      const listed = active.some((r) => r.uid === job.metadata.uid);
      if (!listed && !isJobFinished(job)) {
        this.recorder.event(cj, "Warning", "UnexpectedJob", `Saw a job that the controller did not create or forgot: ${job.metadata.name ?? ""}`);
        continue;
      }
      if (listed && isJobFinished(job)) {
        const complete = findCondition(job, "Complete")?.status === "True";
        status.active = (status.active ?? []).filter((r) => r.uid !== job.metadata.uid);
        this.recorder.event(cj, "Normal", "SawCompletedJob", `Saw completed job: ${job.metadata.name ?? ""}, condition: ${complete ? "Complete" : "Failed"}`);
        const done = parseTime(job.status?.completionTime);
        if (complete && done !== undefined && (parseTime(status.lastSuccessfulTime) ?? 0) < done) status.lastSuccessfulTime = job.status!.completionTime!;
      }
    }
    // A listed Job the cache does not know: gone unless a fresh read finds it.
    for (const ref of [...(status.active ?? [])]) {
      if (jobs.some((j) => j.metadata.uid === ref.uid)) continue;
      try {
        const fresh = await this.client.get<Job>(JOBS, ref.namespace, ref.name ?? "");
        if (fresh.metadata.uid === ref.uid) continue;
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      this.recorder.event(cj, "Normal", "MissingJob", `Active job went missing: ${ref.name ?? ""}`);
      status.active = (status.active ?? []).filter((r) => r.uid !== ref.uid);
    }
    if (status.active?.length === 0) delete status.active;
  }

  /** Runs the activation due now, if any; returns when to look again (ms), undefined for never. */
  private async schedule(cj: Readonly<CronJob>, status: CronJobStatus): Promise<number | undefined> {
    const spec = cj.spec ?? {};
    const timeZone = spec.timeZone;
    if (timeZone !== undefined && !isTimeZone(timeZone)) {
      this.recorder.event(cj, "Warning", "UnknownTimeZone", `invalid timeZone: "${timeZone}": unknown time zone ${timeZone}`);
      return undefined;
    }
    if (spec.suspend === true) return undefined;
    const sched = parseSchedule(spec.schedule ?? "");
    if (typeof sched === "string") {
      this.recorder.event(cj, "Warning", "UnparseableSchedule", `unparseable schedule: "${spec.schedule ?? ""}" : ${sched}`);
      return undefined;
    }
    const now = this.clock.now();
    const untilNext = (): number | undefined => {
      const next = sched.next(now, timeZone);
      return next === undefined ? undefined : next - now + NEXT_SCHEDULE_DELTA_MS;
    };
    const { scheduled, missed } = mostRecentScheduleTime(cj, status, now, (t) => sched.next(t, timeZone));
    if (missed > MAX_MISSED_SCHEDULES) {
      this.recorder.event(cj, "Warning", "TooManyMissedTimes", "too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew");
    }
    if (scheduled === undefined) return untilNext();
    const deadline = spec.startingDeadlineSeconds;
    if (deadline !== undefined && scheduled + deadline * 1000 < now) {
      this.recorder.event(cj, "Warning", "MissSchedule", `Missed scheduled time to start a job: ${formatTime(scheduled)}`);
      return untilNext();
    }
    const jobName = jobNameFor(cj, scheduled);
    if ((status.active ?? []).some((r) => r.name === jobName) || parseTime(status.lastScheduleTime) === scheduled) return untilNext();
    const policy = spec.concurrencyPolicy ?? "Allow";
    if (policy === "Forbid" && (status.active ?? []).length > 0) {
      this.recorder.event(cj, "Normal", "JobAlreadyActive", "Not starting job because prior execution is running and concurrency policy is Forbid");
      return untilNext();
    }
    if (policy === "Replace") {
      for (const ref of [...(status.active ?? [])]) {
        await this.deleteJob(cj, ref.namespace, ref.name ?? "");
        status.active = (status.active ?? []).filter((r) => r.uid !== ref.uid);
      }
      if (status.active?.length === 0) delete status.active;
    }
    let job: Job;
    try {
      job = await this.client.create<Job>(JOBS, cj.metadata.namespace, jobFromCronJob(cj, scheduled, timeZone));
      this.recorder.event(cj, "Normal", "SuccessfulCreate", `Created job ${job.metadata.name ?? ""}`);
    } catch (err) {
      if (!isAlreadyExists(err)) {
        this.recorder.event(cj, "Warning", "FailedCreate", `Error creating job: ${errorMessage(err)}`);
        throw err;
      }
      // Created by an earlier sync whose status write was lost: take it if it is ours.
      const existing = await this.client.get<Job>(JOBS, cj.metadata.namespace, jobName);
      if (controllerRefOf(existing)?.uid !== cj.metadata.uid) return untilNext();
      job = existing;
    }
    if (!isJobFinished(job) && !(status.active ?? []).some((r) => r.uid === job.metadata.uid)) status.active = [...(status.active ?? []), jobRef(job)];
    status.lastScheduleTime = formatTime(scheduled);
    return untilNext();
  }

  private async deleteJob(cj: Readonly<CronJob>, namespace: string | undefined, name: string): Promise<void> {
    try {
      await this.client.delete(JOBS, namespace, name, { propagationPolicy: "Background" });
      this.recorder.event(cj, "Normal", "SuccessfulDelete", `Deleted job ${name}`);
    } catch (err) {
      if (isNotFound(err)) return;
      this.recorder.event(cj, "Warning", "FailedDelete", `Deleted job: ${errorMessage(err)}`);
      throw err;
    }
  }

  /** Deletes the oldest finished Jobs beyond the history limits. */
  private async cleanupFinishedJobs(cj: Readonly<CronJob>, jobs: readonly Readonly<Job>[], status: CronJobStatus): Promise<void> {
    const spec = cj.spec ?? {};
    const active = new Set((status.active ?? []).map((r) => r.uid));
    const finished = jobs.filter((j) => isJobFinished(j) && !active.has(j.metadata.uid ?? "") && !j.metadata.deletionTimestamp);
    const byStart = (a: Readonly<Job>, b: Readonly<Job>): number => (parseTime(a.status?.startTime) ?? 0) - (parseTime(b.status?.startTime) ?? 0);
    const succeeded = finished.filter((j) => findCondition(j, "Complete")?.status === "True").sort(byStart);
    const failed = finished.filter((j) => findCondition(j, "Failed")?.status === "True").sort(byStart);
    const victims = [
      ...(spec.successfulJobsHistoryLimit !== undefined ? succeeded.slice(0, Math.max(0, succeeded.length - spec.successfulJobsHistoryLimit)) : []),
      ...(spec.failedJobsHistoryLimit !== undefined ? failed.slice(0, Math.max(0, failed.length - spec.failedJobsHistoryLimit)) : []),
    ];
    for (const job of victims) await this.deleteJob(cj, job.metadata.namespace, job.metadata.name ?? "");
  }

  private async writeStatus(cj: Readonly<CronJob>, status: CronJobStatus): Promise<void> {
    if (semanticEqual(cj.status, status)) return;
    await retryOnConflict(async (previous) => {
      const base = previous === undefined ? structuredClone(cj) as CronJob : await this.client.get<CronJob>(CRONJOBS, cj.metadata.namespace, cj.metadata.name ?? "");
      if (base.metadata.uid !== cj.metadata.uid) return;
      base.status = status;
      await this.client.updateStatus<CronJob>(CRONJOBS, cj.metadata.namespace, base);
    }, { attempts: 2 });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Pure helpers (tests use them)

/**
 * The latest activation at or before `now` not yet run (after lastScheduleTime, else creation, and not before
 * now - startingDeadlineSeconds), and how many were missed in that window (Kubernetes' mostRecentScheduleTime).
 */
export function mostRecentScheduleTime(cj: Readonly<CronJob>, status: Readonly<CronJobStatus>, now: number, next: (after: number) => number | undefined): { scheduled?: number; missed: number } {
  let earliest = parseTime(status.lastScheduleTime) ?? parseTime(cj.metadata.creationTimestamp) ?? now;
  const deadline = cj.spec?.startingDeadlineSeconds;
  if (deadline !== undefined) earliest = Math.max(earliest, now - deadline * 1000);
  const t1 = next(earliest);
  if (t1 === undefined || t1 > now) return { missed: 0 };
  const t2 = next(t1);
  if (t2 === undefined || t2 > now) return { scheduled: t1, missed: 1 };
  // Many missed: count them with the period of the first two, and find the latest by walking the last stretch
  // (the whole window only when the schedule is irregular enough that the stretch holds none).
  const period = t2 - t1;
  const missedEstimate = Math.floor((now - t1) / period) + 1;
  const latestFrom = (start: number, limit: number): number | undefined => {
    let latest: number | undefined;
    let steps = 0;
    for (let t = next(start); t !== undefined && t <= now && steps < limit; t = next(t), steps++) latest = t;
    return latest;
  };
  const scheduled = latestFrom(Math.max(t1 - 1, now - 2 * period - 1), 1000) ?? latestFrom(t1 - 1, 100_000) ?? t2;
  return { scheduled, missed: missedEstimate };
}

/** `<cronjob>-<scheduled minutes since the epoch>`, Kubernetes' getJobName. */
export function jobNameFor(cj: Readonly<CronJob>, scheduledMs: number): string {
  return `${cj.metadata.name ?? ""}-${Math.floor(scheduledMs / 60_000)}`;
}

/** The Job of one activation: the template's labels, annotations and spec, owned by the CronJob. */
export function jobFromCronJob(cj: Readonly<CronJob>, scheduledMs: number, timeZone: string | undefined): Job {
  const template = cj.spec?.jobTemplate;
  const meta: ObjectMeta = {
    name: jobNameFor(cj, scheduledMs),
    labels: { ...(template?.metadata?.labels ?? {}) },
    annotations: { ...(template?.metadata?.annotations ?? {}), [SCHEDULED_TIMESTAMP_ANNOTATION]: scheduledTimestamp(scheduledMs, timeZone) },
    ownerReferences: [newControllerRef(cj, "batch/v1", "CronJob")],
  };
  if (cj.metadata.namespace !== undefined) meta.namespace = cj.metadata.namespace;
  return { apiVersion: "batch/v1", kind: "Job", metadata: meta, spec: structuredClone(template?.spec ?? {}) };
}

/** RFC 3339 in the CronJob's zone (UTC when none), as Kubernetes writes the scheduled-timestamp annotation. */
function scheduledTimestamp(ms: number, timeZone: string | undefined): string {
  if (timeZone === undefined || timeZone === "UTC" || timeZone === "Etc/UTC") return formatTime(ms);
  const parts: Record<string, string> = {};
  for (const p of new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(new Date(ms))) parts[p.type] = p.value;
  const wall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
  const offsetMin = Math.round((wall - Math.floor(ms / 1000) * 1000) / 60_000);
  if (offsetMin === 0) return formatTime(ms);
  const sign = offsetMin < 0 ? "-" : "+";
  const abs = Math.abs(offsetMin);
  const pad = (n: number): string => String(n).padStart(2, "0");
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}

function jobRef(job: Readonly<Job>): ObjectReference {
  const ref: ObjectReference = { kind: "Job", apiVersion: "batch/v1", name: job.metadata.name ?? "", uid: job.metadata.uid ?? "" };
  if (job.metadata.namespace !== undefined) ref.namespace = job.metadata.namespace;
  if (job.metadata.resourceVersion !== undefined) ref.resourceVersion = job.metadata.resourceVersion;
  return ref;
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export function createCronJobController(ctx: ControllerContext): Controller {
  return new CronJobController({
    client: ctx.client,
    cronJobInformer: ctx.informers.forResource<CronJob>(CRONJOBS),
    jobInformer: ctx.informers.forResource<Job>(JOBS),
    recorder: ctx.recorder(COMPONENT),
    clock: ctx.clock,
    logger: ctx.logger.child({ controller: "cronjob" }),
    metrics: ctx.metrics,
    workers: ctx.config.concurrentCronJobSyncs,
  });
}
