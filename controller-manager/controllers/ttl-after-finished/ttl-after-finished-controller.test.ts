import { describe, expect, it } from "vitest";
import { findResource } from "../../../api/resources.js";
import { formatTime } from "../../../api/time.js";
import type { Job } from "../../../api/types/batch.js";
import { FakeClient } from "../../../client/testing/fake-client.js";
import { FakeClock } from "../../../component-base/testing/fake-clock.js";
import { timeLeftMs, TtlAfterFinishedController } from "./ttl-after-finished-controller.js";

const JOBS = findResource("batch", "v1", "jobs")!;
const T0 = Date.UTC(2024, 0, 1);

function finishedJob(ttl: number | undefined, finishedAt = T0): Job {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "pi", namespace: "default", uid: "job-uid" },
    spec: { ...(ttl !== undefined ? { ttlSecondsAfterFinished: ttl } : {}) },
    status: { completionTime: formatTime(finishedAt), conditions: [{ type: "Complete", status: "True", lastTransitionTime: formatTime(finishedAt) }] },
  };
}

function setup(job: Job) {
  const clock = new FakeClock(T0);
  const client = new FakeClient({ clock });
  const controller = new TtlAfterFinishedController({ client, jobInformer: client.informer<Job>(JOBS), clock });
  client.seed(job);
  return { clock, client, controller };
}

describe("TtlAfterFinishedController", () => {
  it("deletes a finished Job once its TTL ran out, with foreground propagation and its uid", async () => {
    const h = setup(finishedJob(60));
    await h.controller.sync("default/pi");
    expect(h.client.actionsFor("delete", "jobs")).toHaveLength(0);
    await h.clock.advance(60_000);
    await h.controller.sync("default/pi");
    const deletes = h.client.actionsFor("delete", "jobs");
    expect(deletes).toHaveLength(1);
    expect(deletes[0]?.deleteOptions).toMatchObject({ propagationPolicy: "Foreground", preconditions: { uid: "job-uid" } });
  });

  it("leaves Jobs without a TTL or not finished alone", async () => {
    const none = setup(finishedJob(undefined));
    await none.controller.sync("default/pi");
    const running: Job = { ...finishedJob(0), status: {} };
    const notDone = setup(running);
    await notDone.controller.sync("default/pi");
    expect([...none.client.actionsFor("delete", "jobs"), ...notDone.client.actionsFor("delete", "jobs")]).toHaveLength(0);
  });

  it("computes the time left from completionTime or the Failed condition", () => {
    expect(timeLeftMs(finishedJob(10), T0 + 4000)).toBe(6000);
    const failed: Job = { ...finishedJob(10), status: { conditions: [{ type: "Failed", status: "True", lastTransitionTime: formatTime(T0) }] } };
    expect(timeLeftMs(failed, T0 + 11_000)).toBe(-1000);
  });
});
