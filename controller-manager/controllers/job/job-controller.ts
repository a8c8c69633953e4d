// The Job controller (Kubernetes' pkg/controller/job, as of 1.32). Contract:
//   - run pods from the template until `completions` succeed (NonIndexed), every index 0..completions-1 succeeded
//     (Indexed), or, without completions, one succeeded and the rest ended; never more than `parallelism` active;
//   - pods carry the batch.kubernetes.io/job-tracking finalizer; a finished pod is first recorded in
//     status.uncountedTerminatedPods, then its finalizer is removed, then it moves into succeeded/failed (and, for
//     Indexed Jobs, completedIndexes), so no pod is counted twice or lost when the pod is deleted early;
//   - a failed pod is replaced after 10 s · 2^(consecutive failures - 1), at most 6 minutes;
//   - the Job fails (FailureTarget, then Failed once no pod is left running) with BackoffLimitExceeded when more pods
//     failed (OnFailure: plus container restarts) than backoffLimit, DeadlineExceeded after activeDeadlineSeconds,
//     PodFailurePolicy when a FailJob rule matched; Ignore rules do not count a failure; it completes
//     (SuccessCriteriaMet, then Complete with completionTime) with reason CompletionsReached, or SuccessPolicy
//     when a successPolicy rule is met first (the remaining pods are then deleted);
//   - with backoffLimitPerIndex (Indexed only) each index has its own retries: a replacement pod carries the
//     index's failure count in an annotation and waits out the index's own backoff; an index that failed more often
//     than the limit (or whose pod matched a FailIndex rule) is listed in status.failedIndexes and not retried; the
//     Job fails with MaxFailedIndexesExceeded once more than maxFailedIndexes failed, else with FailedIndexes when
//     every index has either succeeded or failed;
//   - suspend deletes the active pods, sets Suspended=True and clears startTime; resuming restarts the clock;
//   - pods of a gone or finished Job lose their finalizer, so nothing stays stuck.
import { errorMessage, isNotFound, toError } from "../../../api/errors.js";
import { selectorFromLabelSelector, type Selector } from "../../../api/labels.js";
import { objectKey } from "../../../api/meta.js";
import { isPodActive, isPodReady, isPodTerminal, podKey } from "../../../api/pod.js";
import { findResource } from "../../../api/resources.js";
import { formatTime, parseTime } from "../../../api/time.js";
import type { Job, JobCondition, JobStatus } from "../../../api/types/batch.js";
import type { Pod } from "../../../api/types/core.js";
import { newControllerQueue, runWorkers } from "../../../client/controller-loop.js";
import type { EventRecorder } from "../../../client/event-recorder.js";
import { unwrapTombstone, type Informer } from "../../../client/informer.js";
import type { RestClient } from "../../../client/rest.js";
import type { RateLimitingQueue } from "../../../client/workqueue.js";
import { realClock, type Clock } from "../../../component-base/clock.js";
import { silentLogger, type Logger } from "../../../component-base/logging.js";
import type { Registry } from "../../../component-base/metrics.js";
import { jobMetrics, type JobMetrics, type JobSyncAction } from "./job-metrics.js";
import {
  adoptPatch,
  claimObjects,
  CONTROLLER_UID_INDEX,
  ControllerExpectations,
  controllerRefOf,
  ensureControllerUidIndex,
  newControllerRef,
  orphanIndexValue,
  recheckOwner,
  releasePatch,
  semanticEqual,
} from "../controller-utils.js";
import { podsToDelete, slowStartBatch } from "../replicaset/replicaset-controller.js";
import type { Controller, ControllerContext } from "../types.js";
import {
  findCondition,
  formatIndexes,
  hasTrackingFinalizer,
  hasTrueCondition,
  indexFailureCounts,
  isJobFinished,
  JOB_INDEX_FAILURE_COUNT_ANNOTATION,
  JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION,
  matchPodFailurePolicy,
  matchSuccessPolicy,
  newPodForJob,
  parseIndexes,
  podFailureBackoffMs,
  podFinishTime,
  podIndex,
  removeFinalizerPatch,
  setCondition,
} from "./job-util.js";

const PODS = findResource("", "v1", "pods")!;
const JOBS = findResource("batch", "v1", "jobs")!;
export const COMPONENT = "job-controller";
/** spec.managedBy of the Jobs this controller reconciles (or none). */
export const JOB_CONTROLLER_MANAGER = "kubernetes.io/job-controller";
const ORPHAN_POD_PREFIX = "pod:";
/** backoffLimit's default with backoffLimitPerIndex (the per-index limits decide instead). */
const MAX_INT32 = 2_147_483_647;
const BURST = 500;

export type JobClient = Pick<RestClient, "get" | "create" | "patch" | "delete" | "updateStatus">;

export interface JobControllerOptions {
  client: JobClient;
  jobInformer: Informer<Job>;
  podInformer: Informer<Pod>;
  recorder: EventRecorder;
  clock?: Clock;
  logger?: Logger;
  metrics?: Registry;
  /** --concurrent-job-syncs; default 5. */
  workers?: number;
}

interface BackoffRecord {
  failuresAfterLastSuccess: number;
  lastFailureTime: number;
}

export class JobController implements Controller {
  readonly name = "job";
  readonly queue: RateLimitingQueue;
  readonly expectations: ControllerExpectations;
  private readonly backoffs = new Map<string, BackoffRecord>();
  private readonly client: JobClient;
  private readonly jobInformer: Informer<Job>;
  private readonly podInformer: Informer<Pod>;
  private readonly recorder: EventRecorder;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly workers: number;
  /** @internal */
  readonly metrics: JobMetrics;

  constructor(opts: JobControllerOptions) {
    this.client = opts.client;
    this.jobInformer = opts.jobInformer;
    this.podInformer = opts.podInformer;
    this.recorder = opts.recorder;
    this.clock = opts.clock ?? realClock;
    this.logger = opts.logger ?? silentLogger();
    this.workers = opts.workers ?? 5;
    if (!Number.isInteger(this.workers) || this.workers < 1) throw new Error(`job: workers must be a positive integer, got ${this.workers}`);
    this.queue = newControllerQueue("job", { clock: this.clock, metrics: opts.metrics });
    this.metrics = jobMetrics(opts.metrics);
    this.expectations = new ControllerExpectations(this.clock);
    ensureControllerUidIndex(this.podInformer);
    this.jobInformer.addEventHandler({
      onAdd: (job) => {
        const managedBy = job.spec?.managedBy;
        if (managedBy !== undefined && managedBy !== JOB_CONTROLLER_MANAGER) this.metrics.jobsByExternalController.inc({ controller_name: managedBy });
        this.queue.add(objectKey(job.metadata));
      },
      onUpdate: (oldJob, job) => {
        if (oldJob.metadata.uid !== job.metadata.uid) this.forget(objectKey(job.metadata));
        this.queue.add(objectKey(job.metadata));
      },
      onDelete: (obj) => {
        const job = unwrapTombstone(obj);
        this.forget(objectKey(job.metadata));
        this.queue.add(objectKey(job.metadata));
        // Its pods may still carry the finalizer: they are orphans to clean up now.
        if (job.metadata.uid) for (const pod of this.podInformer.lister.byIndex(CONTROLLER_UID_INDEX, job.metadata.uid)) this.enqueueOrphan(pod);
      },
    });
    this.podInformer.addEventHandler({
      onAdd: (pod) => {
        if (terminalWithFinalizer(pod)) this.metrics.terminatedPodsTrackingFinalizer.inc({ event: "add" });
        this.podChanged(pod, "add");
      },
      onUpdate: (oldPod, pod) => {
        if (oldPod.metadata.resourceVersion === pod.metadata.resourceVersion) return;
        const was = terminalWithFinalizer(oldPod);
        const is = terminalWithFinalizer(pod);
        if (was !== is) this.metrics.terminatedPodsTrackingFinalizer.inc({ event: is ? "add" : "delete" });
        this.podChanged(pod, "update");
      },
      onDelete: (obj) => {
        const pod = unwrapTombstone(obj);
        if (terminalWithFinalizer(pod)) this.metrics.terminatedPodsTrackingFinalizer.inc({ event: "delete" });
        this.podChanged(pod, "delete");
      },
    });
  }

  run(signal: AbortSignal): Promise<void> {
    return runWorkers({ queue: this.queue, workers: this.workers, sync: (key) => this.sync(key), informers: [this.jobInformer, this.podInformer], logger: this.logger, signal });
  }

  private forget(key: string): void {
    this.expectations.delete(key);
    this.backoffs.delete(key);
  }

  private enqueueOrphan(pod: Readonly<Pod>): void {
    if (hasTrackingFinalizer(pod)) this.queue.add(`${ORPHAN_POD_PREFIX}${podKey(pod)}`);
  }

  private podChanged(pod: Readonly<Pod>, how: "add" | "update" | "delete"): void {
    const ref = controllerRefOf(pod);
    const job = ref?.kind === "Job" ? this.jobInformer.lister.getByName(pod.metadata.namespace, ref.name) : undefined;
    if (!ref || job?.metadata.uid !== ref.uid) {
      // A pod whose Job is gone keeps no finalizer once it is done.
      if (ref?.kind === "Job" && how !== "delete" && (isPodTerminal(pod) || pod.metadata.deletionTimestamp)) this.enqueueOrphan(pod);
      if (!ref && how !== "delete") for (const j of this.jobsSelecting(pod)) this.queue.add(objectKey(j.metadata));
      return;
    }
    const key = objectKey(job.metadata);
    if (how === "add" && !pod.metadata.deletionTimestamp) this.expectations.creationObserved(key);
    if (how === "delete" || (how !== "add" && pod.metadata.deletionTimestamp)) this.expectations.deletionObserved(key, podKey(pod));
    this.queue.add(key);
  }

  private jobsSelecting(pod: Readonly<Pod>): Readonly<Job>[] {
    const labels = pod.metadata.labels;
    if (!labels || Object.keys(labels).length === 0) return [];
    return this.jobInformer.lister.listNamespace(pod.metadata.namespace ?? "").filter((job) => selectorOf(job)?.matches(labels) === true);
  }

  // ---- sync ----------------------------------------------------------------------------------------------------

  async sync(key: string): Promise<void> {
    if (key.startsWith(ORPHAN_POD_PREFIX)) return this.syncOrphanPod(key.slice(ORPHAN_POD_PREFIX.length));
    const job = this.jobInformer.lister.get(key);
    if (!job) {
      this.forget(key);
      return;
    }
    if (job.spec?.managedBy !== undefined && job.spec.managedBy !== JOB_CONTROLLER_MANAGER) return;
    const selector = selectorOf(job);
    if (!selector) {
      this.logger.warn({ key }, "Job has an empty or invalid selector; ignoring it");
      return;
    }
    const started = performance.now();
    const labels = { completion_mode: job.spec?.completionMode === "Indexed" ? "Indexed" : "NonIndexed", result: "success", action: "tracking" as JobSyncAction };
    try {
      const pods = await this.claimPods(job, selector);
      if (isJobFinished(job) || job.metadata.deletionTimestamp) {
        await this.removeFinalizers(pods.filter(hasTrackingFinalizer));
        return;
      }
      const jobSync = new JobSync(this, key, job, pods);
      try {
        await jobSync.run();
      } finally {
        labels.action = jobSync.action;
      }
    } catch (err) {
      labels.result = "error";
      throw err;
    } finally {
      this.metrics.syncDuration.observe(labels, (performance.now() - started) / 1000);
      this.metrics.syncs.inc(labels);
    }
  }

  /** A pod whose Job is gone (or not its controller any more) loses the tracking finalizer once it is done. */
  private async syncOrphanPod(podKeyText: string): Promise<void> {
    const pod = this.podInformer.lister.get(podKeyText);
    if (!pod || !hasTrackingFinalizer(pod)) return;
    const ref = controllerRefOf(pod);
    if (ref?.kind === "Job") {
      const job = this.jobInformer.lister.getByName(pod.metadata.namespace, ref.name);
      if (job?.metadata.uid === ref.uid && !isJobFinished(job)) return;
    }
    if (ref?.kind === "Job" && !isPodTerminal(pod) && !pod.metadata.deletionTimestamp) return;
    await this.removeFinalizers([pod]);
  }

  private async claimPods(job: Readonly<Job>, selector: Selector): Promise<Readonly<Pod>[]> {
    const lister = this.podInformer.lister;
    const uid = job.metadata.uid ?? "";
    const candidates = [...(uid ? lister.byIndex(CONTROLLER_UID_INDEX, uid) : []), ...lister.byIndex(CONTROLLER_UID_INDEX, orphanIndexValue(job.metadata.namespace))];
    const namespace = job.metadata.namespace;
    const ref = newControllerRef(job, "batch/v1", "Job");
    return claimObjects(candidates, {
      owner: job,
      selector,
      canAdopt: recheckOwner(job, () => this.client.get(JOBS, namespace, job.metadata.name ?? "")),
      adopt: async (pod) => {
        await this.client.patch(PODS, namespace, pod.metadata.name ?? "", "strategic", adoptPatch(ref, pod.metadata.uid));
      },
      release: async (pod) => {
        await this.client.patch(PODS, namespace, pod.metadata.name ?? "", "strategic", releasePatch(uid, pod.metadata.uid));
      },
    });
  }

  /** Removes the tracking finalizer; returns the uids it is gone from (a pod already gone counts as done). */
  async removeFinalizers(pods: readonly Readonly<Pod>[]): Promise<Set<string>> {
    const done = new Set<string>();
    let firstError: unknown;
    await Promise.all(
      pods.map(async (pod) => {
        try {
          await this.client.patch(PODS, pod.metadata.namespace, pod.metadata.name ?? "", "strategic", removeFinalizerPatch(pod));
          done.add(pod.metadata.uid ?? "");
        } catch (err) {
          if (isNotFound(err)) done.add(pod.metadata.uid ?? "");
          else firstError ??= err;
        }
      }),
    );
    if (firstError !== undefined) this.logger.warn({ err: errorMessage(firstError) }, "Removing the job-tracking finalizer failed");
    return done;
  }

  // ---- what JobSync uses -----------------------------------------------------------------------------------------

  /** @internal */
  backoffFor(key: string): BackoffRecord {
    let record = this.backoffs.get(key);
    if (!record) {
      record = { failuresAfterLastSuccess: 0, lastFailureTime: 0 };
      this.backoffs.set(key, record);
    }
    return record;
  }

  /** @internal */
  async createPods(key: string, job: Readonly<Job>, indexes: readonly (number | undefined)[], reason: string, annotationsFor: (index: number | undefined) => Record<string, string> = () => ({})): Promise<void> {
    if (indexes.length === 0) return;
    this.expectations.expectCreations(key, indexes.length);
    let next = 0;
    const { successes, error } = await slowStartBatch(indexes.length, 1, async () => {
      const index = indexes[next++];
      try {
        const created = await this.client.create<Pod>(PODS, job.metadata.namespace, newPodForJob(job, index, annotationsFor(index)));
        this.metrics.podsCreation.inc({ reason, status: "succeeded" });
        this.recorder.event(job, "Normal", "SuccessfulCreate", `Created pod: ${created.metadata.name ?? ""}`);
      } catch (err) {
        this.metrics.podsCreation.inc({ reason, status: "failed" });
        this.recorder.event(job, "Warning", "FailedCreate", `Error creating: ${errorMessage(err)}`);
        throw err;
      }
    });
    for (let i = successes; i < indexes.length; i++) this.expectations.creationObserved(key);
    if (error !== undefined) throw toError(error);
  }

  /** @internal */
  async deletePods(key: string, job: Readonly<Job>, pods: readonly Readonly<Pod>[]): Promise<void> {
    if (pods.length === 0) return;
    this.expectations.expectDeletions(key, pods.map(podKey));
    let firstError: unknown;
    await Promise.all(
      pods.map(async (pod) => {
        const name = pod.metadata.name ?? "";
        try {
          await this.client.delete(PODS, pod.metadata.namespace, name, { preconditions: { uid: pod.metadata.uid ?? "" } });
          this.recorder.event(job, "Normal", "SuccessfulDelete", `Deleted pod: ${name}`);
        } catch (err) {
          this.expectations.deletionObserved(key, podKey(pod));
          if (!isNotFound(err)) {
            this.recorder.event(job, "Warning", "FailedDelete", `Error deleting: ${errorMessage(err)}`);
            firstError ??= err;
          }
        }
      }),
    );
    if (firstError !== undefined) throw toError(firstError);
  }

  /**
   * @internal Writes `status` unless equal to the stored one. A conflict is not retried on a fresh read: the
   * status was computed from the cached Job, and the requeue recomputes it once the cache caught up (so a pod is
   * never counted twice).
   */
  async writeStatus(job: Readonly<Job>, status: JobStatus): Promise<Readonly<Job>> {
    if (semanticEqual(job.status, status)) return job;
    const next = structuredClone(job) as Job;
    next.status = status;
    return this.client.updateStatus<Job>(JOBS, job.metadata.namespace, next);
  }

  /** @internal */
  event(job: Readonly<Job>, type: "Normal" | "Warning", reason: string, message: string): void {
    this.recorder.event(job, type, reason, message);
  }

  /** @internal */
  now(): number {
    return this.clock.now();
  }

  /** @internal */
  requeueAfter(key: string, ms: number): void {
    this.queue.addAfter(key, Math.max(ms, 0) + 100);
  }
}

interface Target {
  type: "FailureTarget" | "SuccessCriteriaMet";
  reason: string;
  message: string;
}

/** One reconciliation of one Job (the state of syncJob, split into steps). */
class JobSync {
  /** What this sync did, for the sync metrics' action label. */
  action: JobSyncAction = "tracking";
  private readonly indexed: boolean;
  private readonly perIndex: boolean;
  private readonly completions: number | undefined;
  private readonly parallelism: number;
  private readonly now: number;
  private status: JobStatus;
  private finished: Target | undefined;
  private newlyFinished = { succeeded: 0, failed: 0 };

  constructor(
    private readonly c: JobController,
    private readonly key: string,
    private job: Readonly<Job>,
    private readonly pods: readonly Readonly<Pod>[],
  ) {
    const spec = job.spec ?? {};
    this.indexed = spec.completionMode === "Indexed";
    this.perIndex = this.indexed && spec.backoffLimitPerIndex !== undefined;
    this.completions = spec.completions;
    this.parallelism = spec.parallelism ?? 1;
    this.now = c.now();
    this.status = structuredClone(job.status ?? {});
  }

  private get completionMode(): string {
    return this.indexed ? "Indexed" : "NonIndexed";
  }

  async run(): Promise<void> {
    const failJobMessage = await this.trackFinishedPods();
    const active = this.pods.filter(isPodActive);
    const terminating = this.pods.filter((p) => !isPodTerminal(p) && p.metadata.deletionTimestamp);
    const conditions = this.status.conditions ?? [];
    this.status.conditions = conditions;
    const spec = this.job.spec ?? {};

    // Why the Job ends, if it does: a target set earlier stands; failures are weighed before successes.
    let target = this.existingTarget();
    if (!target && failJobMessage) target = { type: "FailureTarget", reason: "PodFailurePolicy", message: failJobMessage };
    if (!target && this.pastBackoffLimit(active)) target = { type: "FailureTarget", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" };
    if (!target && this.pastActiveDeadline()) target = { type: "FailureTarget", reason: "DeadlineExceeded", message: "Job was active longer than specified deadline" };
    if (!target && this.perIndex) target = this.failedIndexesTarget();
    if (!target && this.indexed) {
      const message = matchSuccessPolicy(spec.successPolicy, this.completions ?? 0, parseIndexes(this.status.completedIndexes, this.completions ?? 0));
      if (message !== undefined) target = { type: "SuccessCriteriaMet", reason: "SuccessPolicy", message };
    }
    if (!target && this.completed(active)) target = { type: "SuccessCriteriaMet", reason: "CompletionsReached", message: "Reached expected number of succeeded pods" };

    let manageError: unknown;
    let activeDelta = 0;
    if (!this.c.expectations.satisfied(this.key)) this.action = "reconciling";
    if (target) {
      setCondition(conditions, target.type, "True", target.reason, target.message, this.now);
      try {
        if (active.length > 0) this.action = "pods_deleted";
        await this.c.deletePods(this.key, this.job, active);
      } catch (err) {
        manageError = err;
      }
      const uncounted = (this.status.uncountedTerminatedPods?.succeeded?.length ?? 0) + (this.status.uncountedTerminatedPods?.failed?.length ?? 0);
      // The terminal condition waits until no pod of the Job runs any more.
      if (active.length === 0 && terminating.length === 0 && uncounted === 0) this.finish(target);
    } else if (spec.suspend === true) {
      if (setCondition(conditions, "Suspended", "True", "JobSuspended", "Job suspended", this.now)) this.c.event(this.job, "Normal", "Suspended", "Job suspended");
      try {
        if (active.length > 0) this.action = "pods_deleted";
        await this.c.deletePods(this.key, this.job, active);
      } catch (err) {
        manageError = err;
      }
      delete this.status.startTime;
    } else {
      if (hasTrueCondition(this.job, "Suspended")) {
        setCondition(conditions, "Suspended", "False", "JobResumed", "Job resumed", this.now);
        this.c.event(this.job, "Normal", "Resumed", "Job resumed");
        this.status.startTime = formatTime(this.now);
      }
      this.status.startTime ??= formatTime(this.now);
      if (this.c.expectations.satisfied(this.key)) {
        try {
          activeDelta = await this.manage(active, terminating.length);
        } catch (err) {
          manageError = err;
        }
      }
      const deadline = spec.activeDeadlineSeconds;
      const started = parseTime(this.status.startTime);
      if (deadline !== undefined && started !== undefined) this.c.requeueAfter(this.key, started + deadline * 1000 - this.now);
    }

    this.status.active = active.length + activeDelta;
    this.status.ready = active.filter(isPodReady).length;
    this.status.terminating = terminating.length;
    this.status.succeeded ??= 0;
    this.status.failed ??= 0;
    if (conditions.length === 0) delete this.status.conditions;
    await this.c.writeStatus(this.job, this.status);
    // Reported only now: a sync from a stale cache fails its write instead of counting twice.
    const { succeeded, failed } = this.newlyFinished;
    if (succeeded > 0) this.c.metrics.podsFinished.inc({ completion_mode: this.completionMode, result: "succeeded" }, succeeded);
    if (failed > 0) this.c.metrics.podsFinished.inc({ completion_mode: this.completionMode, result: "failed" }, failed);
    if (this.finished) this.reportFinished(this.finished);
    if (manageError !== undefined) throw toError(manageError);
  }

  private existingTarget(): Target | undefined {
    for (const type of ["FailureTarget", "SuccessCriteriaMet"] as const) {
      const cond = findCondition(this.job, type);
      if (cond?.status === "True") return { type, reason: cond.reason ?? "", message: cond.message ?? "" };
    }
    return undefined;
  }

  /** With backoffLimitPerIndex: too many failed indexes, or every index either succeeded or failed. */
  private failedIndexesTarget(): Target | undefined {
    const completions = this.completions ?? 0;
    const failed = parseIndexes(this.status.failedIndexes, completions).size;
    const max = this.job.spec?.maxFailedIndexes;
    if (max !== undefined && failed > max) return { type: "FailureTarget", reason: "MaxFailedIndexesExceeded", message: "Job has exceeded the specified maximal number of failed indexes" };
    const succeeded = parseIndexes(this.status.completedIndexes, completions).size;
    if (failed > 0 && failed + succeeded >= completions) return { type: "FailureTarget", reason: "FailedIndexes", message: "Job has failed indexes" };
    return undefined;
  }

  /** Sets the terminal condition; its event and metric follow once the status write went through (once per Job). */
  private finish(target: Target): void {
    const conditions = this.status.conditions!;
    if (target.type === "SuccessCriteriaMet") {
      setCondition(conditions, "Complete", "True", target.reason, target.message, this.now);
      this.status.completionTime = formatTime(this.now);
    } else {
      setCondition(conditions, "Failed", "True", target.reason, target.message, this.now);
    }
    this.finished = target;
  }

  private reportFinished(target: Target): void {
    const succeeded = target.type === "SuccessCriteriaMet";
    if (succeeded) this.c.event(this.job, "Normal", "Completed", "Job completed");
    else this.c.event(this.job, "Warning", target.reason, target.message);
    this.c.metrics.jobsFinished.inc({ completion_mode: this.completionMode, result: succeeded ? "succeeded" : "failed", reason: target.reason });
  }

  /** Without a failure policy a pod being deleted already counts as failed (podReplacementPolicy TerminatingOrFailed). */
  private countsAsFailed(pod: Readonly<Pod>): boolean {
    const phase = pod.status?.phase;
    if (phase === "Failed") return true;
    if (phase === "Succeeded" || this.job.spec?.podFailurePolicy !== undefined || this.job.spec?.podReplacementPolicy === "Failed") return false;
    return pod.metadata.deletionTimestamp !== undefined;
  }

  /**
   * Records newly finished pods in uncountedTerminatedPods (written before any finalizer goes, together with the
   * indexes they completed or failed), removes their finalizers, and moves the ones without a finalizer into the
   * counters. Returns a FailJob rule's message.
   */
  private async trackFinishedPods(): Promise<string | undefined> {
    const uncounted = { succeeded: new Set(this.status.uncountedTerminatedPods?.succeeded ?? []), failed: new Set(this.status.uncountedTerminatedPods?.failed ?? []) };
    const completions = this.completions ?? 0;
    const completed = parseIndexes(this.status.completedIndexes, completions);
    const failedIndexes = parseIndexes(this.status.failedIndexes, completions);
    const completedBefore = completed.size;
    const failedBefore = failedIndexes.size;
    const ignored: Readonly<Pod>[] = [];
    let failJobMessage: string | undefined;
    let added = false;
    const hasPolicy = this.job.spec?.podFailurePolicy !== undefined;
    const ending = this.existingTarget();
    // Counted once the status recording these pods is written (a stale cache makes that write conflict instead).
    const policyActions = new Map<string, number>();
    const limitPerIndex = this.job.spec?.backoffLimitPerIndex ?? 0;
    for (const pod of this.pods) {
      const uid = pod.metadata.uid ?? "";
      if (!hasTrackingFinalizer(pod) || uncounted.succeeded.has(uid) || uncounted.failed.has(uid)) continue;
      const phase = pod.status?.phase;
      if (phase === "Succeeded") {
        uncounted.succeeded.add(uid);
        added = true;
        if (this.indexed) {
          const index = podIndex(pod, completions);
          if (index !== undefined && !failedIndexes.has(index)) completed.add(index);
        }
        continue;
      }
      if (!this.countsAsFailed(pod)) {
        // Once the Job is ending, pods it deleted lose the finalizer: failures when it fails, uncounted when it succeeds.
        if (!ending || !pod.metadata.deletionTimestamp) continue;
        if (ending.type === "SuccessCriteriaMet") {
          ignored.push(pod);
          continue;
        }
      }
      const verdict = hasPolicy && phase === "Failed" ? matchPodFailurePolicy(this.job, pod) : undefined;
      if (verdict) policyActions.set(verdict.action, (policyActions.get(verdict.action) ?? 0) + 1);
      if (verdict?.action === "Ignore") {
        ignored.push(pod);
        continue;
      }
      if (verdict?.action === "FailJob") failJobMessage ??= verdict.message;
      if (this.perIndex) {
        const index = podIndex(pod, completions);
        // The pod's annotation counts the index's earlier failures: this one is past the limit when they reach it.
        if (index !== undefined && !completed.has(index) && (verdict?.action === "FailIndex" || indexFailureCounts(pod).failed >= limitPerIndex)) failedIndexes.add(index);
      }
      uncounted.failed.add(uid);
      added = true;
      const record = this.c.backoffFor(this.key);
      record.failuresAfterLastSuccess++;
      record.lastFailureTime = Math.max(record.lastFailureTime, podFinishTime(pod, this.now));
    }
    if (this.indexed) {
      this.status.completedIndexes = formatIndexes(completed);
      this.status.succeeded = completed.size;
    }
    if (this.perIndex) this.status.failedIndexes = formatIndexes(failedIndexes);
    if (added) {
      this.status.uncountedTerminatedPods = { succeeded: [...uncounted.succeeded], failed: [...uncounted.failed] };
      this.job = await this.c.writeStatus(this.job, this.status);
      this.status = structuredClone(this.job.status ?? this.status);
      for (const [action, n] of policyActions) this.c.metrics.podFailuresHandledByFailurePolicy.inc({ action }, n);
      const backoffLimit = this.perIndex ? "perIndex" : "global";
      if (completed.size > completedBefore) this.c.metrics.finishedIndexes.inc({ status: "succeeded", backoffLimit }, completed.size - completedBefore);
      if (failedIndexes.size > failedBefore) this.c.metrics.finishedIndexes.inc({ status: "failed", backoffLimit }, failedIndexes.size - failedBefore);
    }
    // Finalizers go only after the uids are stored; a pod without one (or gone) is counted.
    const byUid = new Map(this.pods.map((p) => [p.metadata.uid ?? "", p]));
    const needRemoval = [...uncounted.succeeded, ...uncounted.failed].map((uid) => byUid.get(uid)).filter((p): p is Readonly<Pod> => p !== undefined && hasTrackingFinalizer(p));
    const removed = await this.c.removeFinalizers([...needRemoval, ...ignored]);
    const isDone = (uid: string): boolean => removed.has(uid) || !byUid.has(uid) || !hasTrackingFinalizer(byUid.get(uid)!);
    let newSucceeded = 0;
    let newFailed = 0;
    for (const uid of [...uncounted.succeeded]) {
      if (!isDone(uid)) continue;
      uncounted.succeeded.delete(uid);
      newSucceeded++;
    }
    for (const uid of [...uncounted.failed]) {
      if (!isDone(uid)) continue;
      uncounted.failed.delete(uid);
      newFailed++;
    }
    if (newSucceeded > 0) this.c.backoffFor(this.key).failuresAfterLastSuccess = 0;
    this.newlyFinished = { succeeded: newSucceeded, failed: newFailed };
    if (!this.indexed) this.status.succeeded = (this.status.succeeded ?? 0) + newSucceeded;
    this.status.failed = (this.status.failed ?? 0) + newFailed;
    this.status.uncountedTerminatedPods = { succeeded: [...uncounted.succeeded], failed: [...uncounted.failed] };
    if (uncounted.succeeded.size === 0) delete this.status.uncountedTerminatedPods.succeeded;
    if (uncounted.failed.size === 0) delete this.status.uncountedTerminatedPods.failed;
    if (Object.keys(this.status.uncountedTerminatedPods).length === 0) this.status.uncountedTerminatedPods = {};
    return failJobMessage;
  }

  private pastBackoffLimit(active: readonly Readonly<Pod>[]): boolean {
    const limit = this.job.spec?.backoffLimit ?? (this.perIndex ? MAX_INT32 : 6);
    let failures = (this.status.failed ?? 0) + (this.status.uncountedTerminatedPods?.failed?.length ?? 0);
    if (this.job.spec?.template?.spec?.restartPolicy === "OnFailure") {
      // Container restarts are failures too when the kubelet restarts in place.
      for (const pod of active) for (const s of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) failures += s.restartCount;
      if (limit === 0) return failures > 0;
    }
    return failures > limit;
  }

  private pastActiveDeadline(): boolean {
    const deadline = this.job.spec?.activeDeadlineSeconds;
    const started = parseTime(this.status.startTime);
    if (deadline === undefined || started === undefined || this.job.spec?.suspend === true) return false;
    return this.now - started >= deadline * 1000;
  }

  private completed(active: readonly Readonly<Pod>[]): boolean {
    const succeeded = (this.status.succeeded ?? 0) + (this.indexed ? 0 : (this.status.uncountedTerminatedPods?.succeeded?.length ?? 0));
    if (this.completions === undefined) return succeeded > 0 && active.length === 0;
    return succeeded >= this.completions;
  }

  /** The latest failed pod of each index (whose annotation and finish time drive that index's retries). */
  private lastFailedPerIndex(): Map<number, Readonly<Pod>> {
    const completions = this.completions ?? 0;
    const last = new Map<number, Readonly<Pod>>();
    for (const pod of this.pods) {
      if (!this.countsAsFailed(pod)) continue;
      const index = podIndex(pod, completions);
      if (index === undefined) continue;
      const prev = last.get(index);
      if (!prev || podFinishTime(pod, this.now) >= podFinishTime(prev, this.now)) last.set(index, pod);
    }
    return last;
  }

  /** The failure-count annotations of an index's next pod: one more than its last failed pod's, counted or ignored. */
  private indexAnnotations(lastFailed: Readonly<Pod> | undefined): Record<string, string> {
    let { failed, ignored } = lastFailed ? indexFailureCounts(lastFailed) : { failed: 0, ignored: 0 };
    if (lastFailed) {
      if (matchPodFailurePolicy(this.job, lastFailed)?.action === "Ignore" && lastFailed.status?.phase === "Failed") ignored++;
      else failed++;
    }
    const out: Record<string, string> = { [JOB_INDEX_FAILURE_COUNT_ANNOTATION]: String(failed) };
    if (ignored > 0) out[JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION] = String(ignored);
    return out;
  }

  /**
   * Creates or deletes pods toward the wanted number active, waiting out the failure backoff before creating (per
   * index with backoffLimitPerIndex). Returns the change in active pods it asked for (as Kubernetes reports them).
   */
  private async manage(active: readonly Readonly<Pod>[], terminating: number): Promise<number> {
    const succeeded = (this.status.succeeded ?? 0) + (this.indexed ? 0 : (this.status.uncountedTerminatedPods?.succeeded?.length ?? 0));
    let toCreate: (number | undefined)[] = [];
    let toDelete: Readonly<Pod>[] = [];
    let perIndexWait = Infinity;
    const lastFailed = this.perIndex ? this.lastFailedPerIndex() : new Map<number, Readonly<Pod>>();
    if (this.indexed) {
      const completions = this.completions ?? 0;
      const completed = parseIndexes(this.status.completedIndexes, completions);
      const failed = parseIndexes(this.status.failedIndexes, completions);
      const byIndex = new Map<number, Readonly<Pod>[]>();
      for (const pod of active) {
        const index = podIndex(pod, completions);
        // Pods with a bad, completed or failed index, and duplicates of an index, go.
        if (index === undefined || completed.has(index) || failed.has(index)) {
          toDelete.push(pod);
          continue;
        }
        const list = byIndex.get(index) ?? [];
        list.push(pod);
        byIndex.set(index, list);
      }
      for (const list of byIndex.values()) if (list.length > 1) toDelete.push(...list.slice(1));
      const running = [...byIndex.keys()].sort((a, b) => a - b);
      if (running.length > this.parallelism) for (const index of running.slice(this.parallelism)) toDelete.push(byIndex.get(index)![0]!);
      const room = Math.max(0, this.parallelism - running.length);
      for (let i = 0; i < completions && toCreate.length < room; i++) {
        if (completed.has(i) || failed.has(i) || byIndex.has(i)) continue;
        const last = lastFailed.get(i);
        if (last) {
          const counts = indexFailureCounts(last);
          const wait = podFinishTime(last, this.now) + podFailureBackoffMs(counts.failed + counts.ignored + 1) - this.now;
          if (wait > 0) {
            perIndexWait = Math.min(perIndexWait, wait);
            continue;
          }
        }
        toCreate.push(i);
      }
    } else {
      let want: number;
      if (this.completions === undefined) want = succeeded > 0 ? active.length : this.parallelism;
      else want = Math.min(this.parallelism, Math.max(0, this.completions - succeeded));
      const diff = active.length - want;
      if (diff > 0) toDelete = podsToDelete(active, Math.min(diff, BURST));
      else if (diff < 0) toCreate = new Array<undefined>(Math.min(-diff, BURST)).fill(undefined);
    }
    if (perIndexWait !== Infinity) this.c.requeueAfter(this.key, perIndexWait);
    if (toDelete.length > 0) {
      this.action = "pods_deleted";
      await this.c.deletePods(this.key, this.job, toDelete);
      return -toDelete.length;
    }
    if (toCreate.length === 0) return 0;
    const record = this.c.backoffFor(this.key);
    const wait = record.lastFailureTime + podFailureBackoffMs(record.failuresAfterLastSuccess) - this.now;
    if (!this.perIndex && record.failuresAfterLastSuccess > 0 && wait > 0) {
      this.c.requeueAfter(this.key, wait);
      return 0;
    }
    const batch = toCreate.slice(0, BURST);
    const failedSoFar = this.status.failed ?? 0;
    const reason = this.job.spec?.podReplacementPolicy === "Failed" && failedSoFar > 0 ? "recreate_failed" : failedSoFar > 0 || terminating > 0 ? "recreate_terminating_or_failed" : "new";
    this.action = "pods_created";
    await this.c.createPods(this.key, this.job, batch, reason, (index) => (this.perIndex ? this.indexAnnotations(index === undefined ? undefined : lastFailed.get(index)) : {}));
    return batch.length;
  }
}

/** A finished pod still holding the job-tracking finalizer (job_controller_terminated_pods_tracking_finalizer_total). */
function terminalWithFinalizer(pod: Readonly<Pod>): boolean {
  return isPodTerminal(pod) && hasTrackingFinalizer(pod);
}

function selectorOf(job: Readonly<Job>): Selector | undefined {
  const sel = job.spec?.selector;
  if (!sel || (Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0)) return undefined;
  try {
    return selectorFromLabelSelector(sel);
  } catch {
    return undefined;
  }
}

/** For tests: the condition of a type, if any. */
export function jobCondition(job: Readonly<Job>, type: string): Readonly<JobCondition> | undefined {
  return job.status?.conditions?.find((c) => c.type === type);
}

export function createJobController(ctx: ControllerContext): Controller {
  return new JobController({
    client: ctx.client,
    jobInformer: ctx.informers.forResource<Job>(JOBS),
    podInformer: ctx.informers.forResource<Pod>(PODS),
    recorder: ctx.recorder(COMPONENT),
    clock: ctx.clock,
    logger: ctx.logger.child({ controller: "job" }),
    metrics: ctx.metrics,
    workers: ctx.config.concurrentJobSyncs,
  });
}
