import { describe, expect, it } from "vitest";
import { StatusError } from "../../../api/errors.js";
import { findResource } from "../../../api/resources.js";
import { formatTime } from "../../../api/time.js";
import type { Job, JobSpec } from "../../../api/types/batch.js";
import type { Pod } from "../../../api/types/core.js";
import { FakeClient } from "../../../client/testing/fake-client.js";
import { FakeRecorder } from "../../../client/testing/fake-recorder.js";
import { createRegistry, type Registry } from "../../../component-base/metrics.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import { JobController } from "./job-controller.js";
import { formatIndexes, JOB_COMPLETION_INDEX_ANNOTATION, JOB_INDEX_FAILURE_COUNT_ANNOTATION, JOB_TRACKING_FINALIZER, matchSuccessPolicy, parseIndexes, podFailureBackoffMs } from "./job-util.js";

const PODS = findResource("", "v1", "pods")!;
const JOBS = findResource("batch", "v1", "jobs")!;
const T0 = Date.UTC(2024, 0, 1);
const KEY = "default/pi";

function newJob(spec: JobSpec = {}): Job {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "pi", namespace: "default", uid: "job-uid", creationTimestamp: formatTime(T0) },
    spec: {
      completions: 1,
      parallelism: 1,
      backoffLimit: 6,
      completionMode: "NonIndexed",
      selector: { matchLabels: { "batch.kubernetes.io/controller-uid": "job-uid" } },
      template: { metadata: { labels: { "batch.kubernetes.io/controller-uid": "job-uid", "batch.kubernetes.io/job-name": "pi" } }, spec: { restartPolicy: "Never", containers: [{ name: "app", image: "busybox" }] } },
      ...spec,
    },
  };
}

function setup(job: Job, metrics?: Registry) {
  const clock = new FakeClock(T0);
  const client = new FakeClient({ clock });
  const recorder = new FakeRecorder();
  const controller = new JobController({ client, jobInformer: client.informer<Job>(JOBS), podInformer: client.informer<Pod>(PODS), recorder, clock, ...(metrics ? { metrics } : {}) });
  client.seed(job);
  const h = {
    clock,
    client,
    recorder,
    controller,
    sync: () => controller.sync(KEY),
    job: () => client.object<Job>(JOBS, "default", "pi")!,
    pods: () => client.objects<Pod>(PODS, "default"),
    active: () => h.pods().filter((p) => !p.metadata.deletionTimestamp && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed"),
    /** The pod ends as the kubelet would report it. */
    finish: async (pod: Pod, exitCode: number, extra: Partial<NonNullable<Pod["status"]>> = {}) => {
      const next = structuredClone(pod);
      next.status = {
        phase: exitCode === 0 ? "Succeeded" : "Failed",
        containerStatuses: [{ name: "app", ready: false, restartCount: 0, image: "busybox", imageID: "", state: { terminated: { exitCode, reason: exitCode === 0 ? "Completed" : "Error", finishedAt: formatTime(clock.now()) } } }],
        ...extra,
      };
      await client.updateStatus(PODS, "default", next);
    },
  };
  return h;
}

describe("JobController", () => {
  it("runs completions 3 with parallelism 2 to Complete, counting through uncountedTerminatedPods and the finalizer", async () => {
    const h = setup(newJob({ completions: 3, parallelism: 2 }));
    await h.sync();
    expect(h.pods()).toHaveLength(2);
    const first = h.pods()[0]!;
    expect(first.metadata.finalizers).toEqual([JOB_TRACKING_FINALIZER]);
    expect(first.metadata.ownerReferences?.[0]).toMatchObject({ kind: "Job", name: "pi", uid: "job-uid", controller: true });
    expect(first.metadata.generateName).toBe("pi-");
    expect(h.job().status).toMatchObject({ active: 2, succeeded: 0, failed: 0, startTime: formatTime(T0) });
    await h.finish(first, 0);
    await h.sync();
    const statusWrites = h.client.actionsFor("update", "jobs", "status").map((a) => (a.object as Job).status);
    // The uid is stored as uncounted before the finalizer goes, then counted.
    expect(statusWrites.some((s) => s?.uncountedTerminatedPods?.succeeded?.includes(first.metadata.uid!))).toBe(true);
    expect(h.client.object<Pod>(PODS, "default", first.metadata.name!)?.metadata.finalizers ?? []).toEqual([]);
    expect(h.job().status).toMatchObject({ succeeded: 1, active: 2, uncountedTerminatedPods: {} });
    for (const pod of h.active()) await h.finish(pod, 0);
    await h.sync();
    expect(h.pods().length).toBe(3);
    const conditions = h.job().status?.conditions?.map((c) => `${c.type}=${c.status}/${c.reason ?? ""}`);
    expect(conditions).toEqual(["SuccessCriteriaMet=True/CompletionsReached", "Complete=True/CompletionsReached"]);
    expect(h.job().status).toMatchObject({ succeeded: 3, active: 0, completionTime: formatTime(T0) });
    expect(h.recorder.messages()).toContain("Normal Completed Job completed");
    expect(h.recorder.reasons().filter((r) => r === "SuccessfulCreate")).toHaveLength(3);
  });

  it("replaces a failed pod after the 10 s backoff and fails with BackoffLimitExceeded past backoffLimit", async () => {
    const h = setup(newJob({ backoffLimit: 1 }));
    await h.sync();
    await h.finish(h.pods()[0]!, 1);
    await h.sync();
    expect(h.job().status).toMatchObject({ failed: 1, active: 0 });
    expect(h.active()).toHaveLength(0);
    await h.clock.advance(9_000);
    await h.sync();
    expect(h.active()).toHaveLength(0);
    await h.clock.advance(1_500);
    await h.sync();
    expect(h.active()).toHaveLength(1);
    await h.finish(h.active()[0]!, 1);
    await h.sync();
    const failed = h.job().status?.conditions?.find((c) => c.type === "Failed");
    expect(failed).toMatchObject({ status: "True", reason: "BackoffLimitExceeded", message: "Job has reached the specified backoff limit" });
    expect(h.job().status?.failed).toBe(2);
    expect(h.recorder.messages()).toContain("Warning BackoffLimitExceeded Job has reached the specified backoff limit");
  });

  it("runs Indexed pods with the index as annotation, label, hostname and JOB_COMPLETION_INDEX", async () => {
    const h = setup(newJob({ completions: 3, parallelism: 2, completionMode: "Indexed" }));
    await h.sync();
    const pods = h.pods().sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
    expect(pods.map((p) => p.metadata.annotations?.[JOB_COMPLETION_INDEX_ANNOTATION])).toEqual(["0", "1"]);
    expect(pods[1]!.metadata.labels?.[JOB_COMPLETION_INDEX_ANNOTATION]).toBe("1");
    expect(pods[1]!.metadata.generateName).toBe("pi-1-");
    expect(pods[1]!.spec?.hostname).toBe("pi-1");
    expect(pods[1]!.spec?.containers[0]?.env).toEqual([{ name: "JOB_COMPLETION_INDEX", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } }]);
    await h.finish(pods[1]!, 0);
    await h.sync();
    expect(h.job().status).toMatchObject({ completedIndexes: "1", succeeded: 1 });
    expect(h.active().map((p) => p.metadata.annotations?.[JOB_COMPLETION_INDEX_ANNOTATION]).sort()).toEqual(["0", "2"]);
    for (const p of h.active()) await h.finish(p, 0);
    await h.sync();
    expect(h.job().status).toMatchObject({ completedIndexes: "0-2", succeeded: 3 });
    expect(h.job().status?.conditions?.find((c) => c.type === "Complete")?.status).toBe("True");
  });

  it("fails with DeadlineExceeded after activeDeadlineSeconds, deleting the active pods first", async () => {
    const h = setup(newJob({ activeDeadlineSeconds: 30 }));
    await h.sync();
    await h.clock.advance(31_000);
    await h.sync();
    expect(h.job().status?.conditions?.map((c) => c.type)).toEqual(["FailureTarget"]);
    expect(h.pods()[0]!.metadata.deletionTimestamp).toBeDefined();
    expect(h.recorder.reasons()).toContain("SuccessfulDelete");
    await h.sync();
    expect(h.pods()).toHaveLength(0);
    await h.sync(); // the pod's deletion event brings the Job back: nothing is left running
    expect(h.job().status?.conditions?.find((c) => c.type === "Failed")).toMatchObject({ status: "True", reason: "DeadlineExceeded", message: "Job was active longer than specified deadline" });
  });

  it("applies the pod failure policy: FailJob on an exit code, Ignore on DisruptionTarget", async () => {
    const policy: JobSpec["podFailurePolicy"] = {
      rules: [
        { action: "FailJob", onExitCodes: { operator: "In", values: [42] } },
        { action: "Ignore", onPodConditions: [{ type: "DisruptionTarget" }] },
      ],
    };
    const h = setup(newJob({ podFailurePolicy: policy, podReplacementPolicy: "Failed" }));
    await h.sync();
    await h.finish(h.pods()[0]!, 137, { conditions: [{ type: "DisruptionTarget", status: "True" }] });
    await h.sync();
    expect(h.job().status?.failed).toBe(0);
    expect(h.active()).toHaveLength(1); // replaced at once: an ignored failure starts no backoff
    const pod = h.active()[0]!;
    await h.finish(pod, 42);
    await h.sync();
    expect(h.job().status?.conditions?.find((c) => c.type === "Failed")).toMatchObject({
      reason: "PodFailurePolicy",
      message: `Container app for pod default/${pod.metadata.name!} failed with exit code 42 matching FailJob rule at index 0`,
    });
  });

  it("counts container restarts of an OnFailure Job toward backoffLimit", async () => {
    const job = newJob({ backoffLimit: 2 });
    job.spec!.template!.spec!.restartPolicy = "OnFailure";
    const h = setup(job);
    await h.sync();
    const pod = structuredClone(h.pods()[0]!);
    pod.status = { phase: "Running", containerStatuses: [{ name: "app", ready: false, restartCount: 3, image: "busybox", imageID: "", state: { waiting: { reason: "CrashLoopBackOff" } } }] };
    await h.client.updateStatus(PODS, "default", pod);
    await h.sync();
    expect(h.job().status?.conditions?.find((c) => c.type === "FailureTarget")).toMatchObject({ reason: "BackoffLimitExceeded" });
    expect(h.pods()[0]!.metadata.deletionTimestamp).toBeDefined();
  });

  it("does not count a finished pod twice when its status write conflicts", async () => {
    const h = setup(newJob({ completions: 2, parallelism: 2 }));
    await h.sync();
    await h.finish(h.pods()[0]!, 0);
    h.client.failNext("update", "jobs", new StatusError(409, "Conflict", "the object has been modified"));
    await expect(h.sync()).rejects.toThrow();
    await h.sync();
    await h.sync();
    expect(h.job().status).toMatchObject({ succeeded: 1, uncountedTerminatedPods: {} });
  });

  it("suspends (no pods, Suspended=True, no startTime) and resumes", async () => {
    const h = setup(newJob({ suspend: true }));
    await h.sync();
    expect(h.pods()).toHaveLength(0);
    expect(h.job().status?.conditions?.[0]).toMatchObject({ type: "Suspended", status: "True", reason: "JobSuspended" });
    expect(h.job().status?.startTime).toBeUndefined();
    const resumed = structuredClone(h.job());
    resumed.spec!.suspend = false;
    await h.client.update(JOBS, "default", resumed);
    await h.clock.advance(5000);
    await h.sync();
    expect(h.pods()).toHaveLength(1);
    expect(h.job().status?.conditions?.[0]).toMatchObject({ type: "Suspended", status: "False", reason: "JobResumed" });
    expect(h.job().status?.startTime).toBe(formatTime(T0 + 5000));
    expect(h.recorder.reasons()).toEqual(["Suspended", "Resumed", "SuccessfulCreate"]);
  });

  it("removes the finalizer from pods of a deleted Job", async () => {
    const h = setup(newJob());
    await h.sync();
    const pod = h.pods()[0]!;
    h.client.remove(JOBS, "default", "pi");
    await h.client.delete(PODS, "default", pod.metadata.name!);
    await h.controller.sync(`pod:default/${pod.metadata.name!}`);
    expect(h.pods()).toHaveLength(0);
  });
});

describe("JobController: successPolicy, backoffLimitPerIndex, metrics", () => {
  const indexOf = (p: Pod): string | undefined => p.metadata.annotations?.[JOB_COMPLETION_INDEX_ANNOTATION];
  const conditions = (job: Job): string[] => (job.status?.conditions ?? []).map((c) => `${c.type}=${c.status}/${c.reason ?? ""}`);

  it("completes by a success policy rule: SuccessCriteriaMet, the remaining pods deleted, then Complete", async () => {
    const h = setup(newJob({ completionMode: "Indexed", completions: 3, parallelism: 3, successPolicy: { rules: [{ succeededIndexes: "0-1" }] } }));
    await h.sync();
    expect(h.active()).toHaveLength(3);
    const byIndex = (i: string): Pod => h.active().find((p) => indexOf(p) === i)!;
    await h.finish(byIndex("0"), 0);
    await h.sync();
    expect(conditions(h.job())).toEqual([]);
    await h.finish(byIndex("1"), 0);
    await h.sync();
    expect(conditions(h.job())).toEqual(["SuccessCriteriaMet=True/SuccessPolicy"]);
    expect(h.job().status?.conditions?.[0]?.message).toBe("Matched rules at index 0");
    const leftover = h.pods().find((p) => indexOf(p) === "2")!;
    expect(leftover.metadata.deletionTimestamp).toBeDefined();
    await h.sync();
    expect(h.pods().some((p) => indexOf(p) === "2")).toBe(false);
    await h.sync();
    expect(conditions(h.job())).toEqual(["SuccessCriteriaMet=True/SuccessPolicy", "Complete=True/SuccessPolicy"]);
    expect(h.job().status).toMatchObject({ completedIndexes: "0,1", succeeded: 2, active: 0 });
  });

  it("retries an index backoffLimitPerIndex times with the count annotation and its own backoff, then fails the Job with FailedIndexes", async () => {
    const h = setup(newJob({ completionMode: "Indexed", completions: 2, parallelism: 2, backoffLimitPerIndex: 1, backoffLimit: 2_147_483_647 }));
    await h.sync();
    expect(h.active().map((p) => p.metadata.annotations?.[JOB_INDEX_FAILURE_COUNT_ANNOTATION])).toEqual(["0", "0"]);
    const first = h.active().find((p) => indexOf(p) === "0")!;
    await h.finish(first, 1);
    await h.sync();
    expect(h.job().status).toMatchObject({ failed: 1, failedIndexes: "" });
    expect(h.active().map(indexOf)).toEqual(["1"]);
    await h.clock.advance(10_500);
    await h.sync();
    const retry = h.active().find((p) => indexOf(p) === "0")!;
    expect(retry.metadata.annotations?.[JOB_INDEX_FAILURE_COUNT_ANNOTATION]).toBe("1");
    await h.finish(retry, 1);
    await h.sync();
    expect(h.job().status).toMatchObject({ failed: 2, failedIndexes: "0" });
    await h.clock.advance(60_000);
    await h.sync();
    expect(h.active().map(indexOf)).toEqual(["1"]); // a failed index is not retried
    await h.finish(h.active()[0]!, 0);
    await h.sync();
    expect(conditions(h.job())).toEqual(["FailureTarget=True/FailedIndexes", "Failed=True/FailedIndexes"]);
    expect(h.job().status?.conditions?.[1]?.message).toBe("Job has failed indexes");
    expect(h.job().status).toMatchObject({ completedIndexes: "1", failedIndexes: "0", succeeded: 1 });
  });

  it("fails an index at once on a FailIndex rule and the Job with MaxFailedIndexesExceeded", async () => {
    const h = setup(
      newJob({
        completionMode: "Indexed",
        completions: 3,
        parallelism: 3,
        backoffLimitPerIndex: 5,
        maxFailedIndexes: 0,
        podReplacementPolicy: "Failed",
        podFailurePolicy: { rules: [{ action: "FailIndex", onExitCodes: { operator: "In", values: [42] } }] },
      }),
    );
    await h.sync();
    await h.finish(h.active().find((p) => indexOf(p) === "1")!, 42);
    await h.sync();
    expect(h.job().status?.failedIndexes).toBe("1");
    expect(conditions(h.job())).toEqual(["FailureTarget=True/MaxFailedIndexesExceeded"]);
    expect(h.job().status?.conditions?.[0]?.message).toBe("Job has exceeded the specified maximal number of failed indexes");
    expect(h.pods().filter((p) => p.metadata.deletionTimestamp)).toHaveLength(2);
    await h.sync();
    await h.sync();
    expect(conditions(h.job())).toEqual(["FailureTarget=True/MaxFailedIndexesExceeded", "Failed=True/MaxFailedIndexesExceeded"]);
  });

  it("reports Kubernetes' job_controller_* metrics", async () => {
    const registry = createRegistry({ defaultMetrics: false });
    const h = setup(newJob({ completions: 1 }), registry);
    await h.sync();
    await h.finish(h.pods()[0]!, 0);
    await h.sync();
    const text = await registry.metrics();
    expect(text).toContain('job_controller_job_syncs_total{completion_mode="NonIndexed",result="success",action="pods_created"} 1');
    expect(text).toContain('job_controller_jobs_finished_total{completion_mode="NonIndexed",result="succeeded",reason="CompletionsReached"} 1');
    expect(text).toContain('job_controller_job_pods_finished_total{completion_mode="NonIndexed",result="succeeded"} 1');
    expect(text).toContain('job_controller_job_pods_creation_total{reason="new",status="succeeded"} 1');
    expect(text).toContain('job_controller_terminated_pods_tracking_finalizer_total{event="add"} 1');
    expect(text).toContain('job_controller_terminated_pods_tracking_finalizer_total{event="delete"} 1');
    expect(text).toMatch(/job_controller_job_sync_duration_seconds_count\{completion_mode="NonIndexed",result="success",action="tracking"\} [1-9]/);
  });

  it("matches success policy rules as Kubernetes does", () => {
    const ok = new Set([0, 1, 2, 4]);
    expect(matchSuccessPolicy({ rules: [{ succeededIndexes: "3" }, { succeededIndexes: "0-2" }] }, 5, ok)).toBe("Matched rules at index 1");
    expect(matchSuccessPolicy({ rules: [{ succeededIndexes: "2-4", succeededCount: 2 }] }, 5, ok)).toBe("Matched rules at index 0");
    expect(matchSuccessPolicy({ rules: [{ succeededCount: 5 }] }, 5, ok)).toBeUndefined();
    expect(matchSuccessPolicy({ rules: [{ succeededCount: 1 }] }, 5, new Set())).toBeUndefined();
  });
});

describe("job utilities", () => {
  it("doubles the pod failure backoff from 10 s up to 6 minutes", () => {
    expect([0, 1, 2, 3, 6, 20].map(podFailureBackoffMs)).toEqual([0, 10_000, 20_000, 40_000, 320_000, 360_000]);
  });

  it("reads and writes completedIndexes in interval notation", () => {
    expect(formatIndexes(parseIndexes("0,2-4,7,8", 8))).toBe("0,2-4,7");
    expect(formatIndexes(new Set([1, 2, 5, 6, 7]))).toBe("1,2,5-7");
  });
});
