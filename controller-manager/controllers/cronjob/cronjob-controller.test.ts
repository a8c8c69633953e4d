import { describe, expect, it } from "vitest";
import { parseSchedule } from "../../../api/cron.js";
import { findResource } from "../../../api/resources.js";
import { formatTime } from "../../../api/time.js";
import type { CronJob, CronJobSpec, Job } from "../../../api/types/batch.js";
import { FakeClient } from "../../../client/testing/fake-client.js";
import { FakeRecorder } from "../../../client/testing/fake-recorder.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import { CronJobController, mostRecentScheduleTime, SCHEDULED_TIMESTAMP_ANNOTATION } from "./cronjob-controller.js";

const JOBS = findResource("batch", "v1", "jobs")!;
const CRONJOBS = findResource("batch", "v1", "cronjobs")!;
/** 10:00:30 UTC: the every-minute schedule is next due at 10:01. */
const T0 = Date.UTC(2024, 0, 1, 10, 0, 30);
const KEY = "default/tick";

function newCronJob(spec: CronJobSpec = {}): CronJob {
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "tick", namespace: "default", uid: "cj-uid", creationTimestamp: formatTime(T0) },
    spec: {
      schedule: "*/1 * * * *",
      concurrencyPolicy: "Allow",
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
      jobTemplate: { metadata: { labels: { app: "tick" } }, spec: { template: { spec: { restartPolicy: "OnFailure", containers: [{ name: "c", image: "busybox" }] } } } },
      ...spec,
    },
  };
}

function setup(cj: CronJob) {
  const clock = new FakeClock(T0);
  const client = new FakeClient({ clock });
  const recorder = new FakeRecorder();
  const controller = new CronJobController({ client, cronJobInformer: client.informer<CronJob>(CRONJOBS), jobInformer: client.informer<Job>(JOBS), recorder, clock });
  client.seed(cj);
  return {
    clock,
    client,
    recorder,
    controller,
    sync: () => controller.sync(KEY),
    cj: () => client.object<CronJob>(CRONJOBS, "default", "tick")!,
    jobs: () => client.objects<Job>(JOBS, "default").map((j) => j.metadata.name).sort(),
    finish: async (name: string, type: "Complete" | "Failed", at: number) => {
      const job = client.object<Job>(JOBS, "default", name)!;
      job.status = { startTime: formatTime(at - 1000), conditions: [{ type, status: "True", lastTransitionTime: formatTime(at) }], ...(type === "Complete" ? { completionTime: formatTime(at) } : {}) };
      await client.updateStatus(JOBS, "default", job);
    },
  };
}

const minutes = (ms: number): number => Math.floor(ms / 60_000);

describe("CronJobController", () => {
  it("creates the Job of each activation, named by scheduled minutes, and tracks it in status", async () => {
    const h = setup(newCronJob());
    await h.sync();
    expect(h.jobs()).toEqual([]);
    await h.clock.advance(30_000);
    await h.sync();
    const due = Date.UTC(2024, 0, 1, 10, 1);
    expect(h.jobs()).toEqual([`tick-${minutes(due)}`]);
    const job = h.client.object<Job>(JOBS, "default", `tick-${minutes(due)}`)!;
    expect(job.metadata.ownerReferences?.[0]).toMatchObject({ kind: "CronJob", name: "tick", uid: "cj-uid", controller: true });
    expect(job.metadata.annotations?.[SCHEDULED_TIMESTAMP_ANNOTATION]).toBe(formatTime(due));
    expect(job.metadata.labels).toEqual({ app: "tick" });
    expect(h.cj().status).toMatchObject({ lastScheduleTime: formatTime(due), active: [{ name: `tick-${minutes(due)}`, kind: "Job" }] });
    expect(h.recorder.messages()).toEqual([`Normal SuccessfulCreate Created job tick-${minutes(due)}`]);
    // Running the same activation again creates nothing.
    await h.sync();
    expect(h.jobs()).toHaveLength(1);
    await h.finish(`tick-${minutes(due)}`, "Complete", due + 5000);
    await h.sync();
    expect(h.cj().status?.active).toBeUndefined();
    expect(h.cj().status?.lastSuccessfulTime).toBe(formatTime(due + 5000));
    expect(h.recorder.reasons()).toContain("SawCompletedJob");
  });

  it("skips an activation under Forbid while one runs and replaces it under Replace", async () => {
    const forbid = setup(newCronJob({ concurrencyPolicy: "Forbid" }));
    await forbid.clock.advance(30_000);
    await forbid.sync();
    await forbid.clock.advance(60_000);
    await forbid.sync();
    expect(forbid.jobs()).toHaveLength(1);
    expect(forbid.recorder.reasons()).toContain("JobAlreadyActive");

    const replace = setup(newCronJob({ concurrencyPolicy: "Replace" }));
    await replace.clock.advance(30_000);
    await replace.sync();
    const [first] = replace.jobs();
    await replace.clock.advance(60_000);
    await replace.sync();
    expect(replace.recorder.messages()).toContain(`Normal SuccessfulDelete Deleted job ${first!}`);
    expect(replace.client.actionsFor("delete", "jobs")[0]?.deleteOptions).toMatchObject({ propagationPolicy: "Background" });
    expect(replace.cj().status?.active?.map((r) => r.name)).toEqual([`tick-${minutes(Date.UTC(2024, 0, 1, 10, 2))}`]);
  });

  it("runs nothing while suspended and nothing past startingDeadlineSeconds", async () => {
    const suspended = setup(newCronJob({ suspend: true }));
    await suspended.clock.advance(120_000);
    await suspended.sync();
    expect(suspended.jobs()).toEqual([]);

    const late = setup(newCronJob({ startingDeadlineSeconds: 10 }));
    await late.clock.advance(30_000 + 15_000); // due at 10:01:00, looked at 10:01:15
    await late.sync();
    expect(late.jobs()).toEqual([]);
    await late.clock.advance(50_000); // 10:02:05: within 10 s of 10:02
    await late.sync();
    expect(late.jobs()).toEqual([`tick-${minutes(Date.UTC(2024, 0, 1, 10, 2))}`]);
  });

  it("runs only the latest of many missed activations and warns about too many", async () => {
    const h = setup(newCronJob());
    await h.clock.advance(3 * 3_600_000);
    await h.sync();
    expect(h.jobs()).toEqual([`tick-${minutes(Date.UTC(2024, 0, 1, 13, 0))}`]);
    expect(h.recorder.reasons()).toContain("TooManyMissedTimes");
  });

  it("keeps successfulJobsHistoryLimit finished Jobs, deleting the oldest", async () => {
    const h = setup(newCronJob({ successfulJobsHistoryLimit: 1 }));
    for (let i = 1; i <= 3; i++) {
      await h.clock.advance(60_000);
      await h.sync();
      const name = h.cj().status!.active![0]!.name!;
      await h.finish(name, "Complete", h.clock.now() + 1000);
      await h.sync();
    }
    expect(h.jobs()).toEqual([`tick-${minutes(Date.UTC(2024, 0, 1, 10, 3))}`]);
  });

  it("schedules in spec.timeZone", async () => {
    const h = setup(newCronJob({ schedule: "0 11 * * *", timeZone: "Europe/Paris" }));
    await h.clock.advance(29_000); // 10:00:59 UTC is 11:00:59 in Paris: 11:00 Paris (10:00 UTC) already passed before creation
    await h.sync();
    expect(h.jobs()).toEqual([]);
    await h.clock.advance(86_400_000);
    await h.sync();
    const due = Date.UTC(2024, 0, 2, 10, 0);
    const job = h.client.object<Job>(JOBS, "default", `tick-${minutes(due)}`)!;
    expect(job.metadata.annotations?.[SCHEDULED_TIMESTAMP_ANNOTATION]).toBe("2024-01-02T11:00:00+01:00");
  });
});

describe("mostRecentScheduleTime", () => {
  it("counts missed activations since the last one", () => {
    const sched = parseSchedule("0 * * * *");
    if (typeof sched === "string") throw new Error(sched);
    const cj = newCronJob();
    const next = (t: number): number | undefined => sched.next(t, "UTC");
    expect(mostRecentScheduleTime(cj, {}, T0 + 30_000, next)).toEqual({ missed: 0 });
    expect(mostRecentScheduleTime(cj, {}, Date.UTC(2024, 0, 1, 11, 30), next)).toEqual({ scheduled: Date.UTC(2024, 0, 1, 11), missed: 1 });
    expect(mostRecentScheduleTime(cj, {}, Date.UTC(2024, 0, 1, 15, 30), next)).toEqual({ scheduled: Date.UTC(2024, 0, 1, 15), missed: 5 });
  });
});
