import { describe, expect, it } from "vitest";
import { silentLogger } from "../../component-base/logging.js";
import { FakeClock } from "../../component-base/testing/fake-clock.js";
import { POD_UID_LABEL } from "../runtime-labels.js";
import { Pleg } from "./pleg.js";
import type { PodRuntime } from "./runtime.js";

type Lists = Pick<PodRuntime, "listPodSandbox" | "listContainers">;

function runtimeWith(sandboxes: { id: string; state: string; uid: string }[]): Lists {
  return {
    listPodSandbox: () => Promise.resolve(sandboxes.map((s) => ({ id: s.id, state: s.state, labels: { [POD_UID_LABEL]: s.uid } }))),
    listContainers: () => Promise.resolve([]),
  } as unknown as Lists;
}

describe("Pleg", () => {
  it("reports each relist's duration, and the interval from the previous one after the first", async () => {
    const timings: { duration: number; interval: number | undefined }[] = [];
    const pleg = new Pleg({
      runtime: runtimeWith([{ id: "s1", state: "SANDBOX_READY", uid: "u1" }]),
      clock: new FakeClock(),
      logger: silentLogger(),
      periodMs: 1000,
      onPodChanged: () => undefined,
      onRelistTimed: (duration, interval) => timings.push({ duration, interval }),
    });
    await pleg.relist();
    await pleg.relist();
    expect(timings).toHaveLength(2);
    expect(timings[0]?.interval).toBeUndefined();
    expect(timings[1]?.interval).toBeGreaterThanOrEqual(0);
    for (const t of timings) expect(t.duration).toBeGreaterThanOrEqual(0);
  });

  it("wakes no worker for the state it saw at the end of its sync, and wakes it for any change after", async () => {
    const sandboxes = [{ id: "s1", state: "SANDBOX_READY", uid: "u1" }];
    const changed: string[] = [];
    const pleg = new Pleg({ runtime: runtimeWith(sandboxes), clock: new FakeClock(), logger: silentLogger(), periodMs: 1000, onPodChanged: (uid) => changed.push(uid) });
    pleg.observed({ uid: "u1", sandboxes: [{ id: "s1", attempt: 0, ready: true, createdAtMs: 0, ip: "10.0.0.2", additionalIps: [] }], containers: [] });
    await pleg.relist();
    expect(changed).toEqual([]);
    sandboxes[0] = { id: "s1", state: "SANDBOX_NOTREADY", uid: "u1" };
    await pleg.relist();
    expect(changed).toEqual(["u1"]);
    // What the worker saw is older than what the runtime holds now: the relist still tells it.
    pleg.observed({ uid: "u1", sandboxes: [{ id: "s1", attempt: 0, ready: true, createdAtMs: 0, ip: "10.0.0.2", additionalIps: [] }], containers: [] });
    await pleg.relist();
    expect(changed).toEqual(["u1", "u1"]);
  });
});
