import { describe, expect, it } from "vitest";
import type { Container } from "../../api/types/index.js";
import { computePodActions, findNextInitContainer, type ProbeLookup } from "./actions.js";
import { emptyRuntimeState } from "./runtime-state.js";
import { record, runtimeState, sandbox, testPod } from "./testing.js";

const noProbes: ProbeLookup = () => undefined;
const app: Container = { name: "app", image: "busybox" };
const init1: Container = { name: "init1", image: "busybox" };
const init2: Container = { name: "init2", image: "busybox" };

describe("computePodActions", () => {
  it("creates the sandbox and starts every container of a new pod", () => {
    const actions = computePodActions(testPod(), emptyRuntimeState("uid-web"), noProbes);
    expect(actions).toMatchObject({ createSandbox: true, sandboxAttempt: 0, containersToStart: ["app"], containersToKill: [] });
    expect(actions.initToStart).toBeUndefined();
  });

  it("keeps a running container (adoption: nothing to do)", () => {
    const actions = computePodActions(testPod(), runtimeState([sandbox()], [record(app)]), noProbes);
    expect(actions).toMatchObject({ killPod: false, createSandbox: false, sandboxId: "sb-0", containersToStart: [], containersToKill: [] });
  });

  it("restarts an exited container per restartPolicy", () => {
    const exited = (exitCode: number) => runtimeState([sandbox()], [record(app, { state: "CONTAINER_EXITED", exitCode })]);
    expect(computePodActions(testPod({ restartPolicy: "Always" }), exited(0), noProbes).containersToStart).toEqual(["app"]);
    expect(computePodActions(testPod({ restartPolicy: "OnFailure" }), exited(1), noProbes).containersToStart).toEqual(["app"]);
    // Nothing left to run: the pod is done, its sandbox is stopped.
    expect(computePodActions(testPod({ restartPolicy: "OnFailure" }), exited(0), noProbes)).toMatchObject({ containersToStart: [], killPod: true, createSandbox: false });
    expect(computePodActions(testPod({ restartPolicy: "Never" }), exited(1), noProbes)).toMatchObject({ containersToStart: [], killPod: true });
  });

  it("kills and restarts a container whose liveness probe failed", () => {
    const running = record(app);
    const actions = computePodActions(testPod(), runtimeState([sandbox()], [running]), (kind, id) => (kind === "liveness" && id === running.id ? "Failure" : undefined));
    expect(actions.containersToKill).toEqual([{ id: running.id, name: "app", message: "Container app failed liveness probe, will be restarted" }]);
    expect(actions.containersToStart).toEqual(["app"]);
    expect(actions.killPod).toBe(false);
  });

  it("restarts a container whose spec changed (a new image)", () => {
    const pod = testPod({ containers: [{ name: "app", image: "busybox:1.36" }] });
    const actions = computePodActions(pod, runtimeState([sandbox()], [record(app)]), noProbes);
    expect(actions.containersToKill[0]?.message).toBe("Container app definition changed, will be restarted");
    expect(actions.containersToStart).toEqual(["app"]);
  });

  it("makes a new sandbox (attempt + 1) when the sandbox died, and kills what is left", () => {
    const actions = computePodActions(testPod(), runtimeState([sandbox({ ready: false })], [record(app, { state: "CONTAINER_EXITED", exitCode: 137 })]), noProbes);
    expect(actions).toMatchObject({ killPod: true, createSandbox: true, sandboxAttempt: 1, containersToStart: ["app"] });
  });

  it("never makes a second sandbox for a restartPolicy Never pod whose containers ran", () => {
    const actions = computePodActions(testPod({ restartPolicy: "Never" }), runtimeState([sandbox({ ready: false })], [record(app, { state: "CONTAINER_EXITED" })]), noProbes);
    expect(actions).toMatchObject({ killPod: true, createSandbox: false });
  });

  it("runs init containers one at a time, in order, before the app containers", () => {
    const pod = testPod({ initContainers: [init1, init2] });
    expect(computePodActions(pod, emptyRuntimeState("uid-web"), noProbes)).toMatchObject({ createSandbox: true, initToStart: "init1", containersToStart: [] });
    const running = runtimeState([sandbox()], [record(init1)]);
    expect(computePodActions(pod, running, noProbes)).toMatchObject({ killPod: false, containersToStart: [] });
    expect(computePodActions(pod, running, noProbes).initToStart).toBeUndefined();
    const first = runtimeState([sandbox()], [record(init1, { state: "CONTAINER_EXITED" })]);
    expect(computePodActions(pod, first, noProbes)).toMatchObject({ initToStart: "init2" });
    const both = runtimeState([sandbox()], [record(init1, { state: "CONTAINER_EXITED" }), record(init2, { state: "CONTAINER_EXITED", createdAtMs: Date.UTC(2024, 0, 1, 11) })]);
    expect(computePodActions(pod, both, noProbes)).toMatchObject({ containersToStart: ["app"] });
    expect(computePodActions(pod, both, noProbes).initToStart).toBeUndefined();
  });

  it("restarts a failed init container, or fails the pod under restartPolicy Never", () => {
    const failed = runtimeState([sandbox()], [record(init1, { state: "CONTAINER_EXITED", exitCode: 2 })]);
    expect(computePodActions(testPod({ initContainers: [init1] }), failed, noProbes)).toMatchObject({ initToStart: "init1", killPod: false });
    const never = computePodActions(testPod({ initContainers: [init1], restartPolicy: "Never" }), failed, noProbes);
    expect(never.killPod).toBe(true);
    expect(never.initToStart).toBeUndefined();
    expect(findNextInitContainer(testPod({ initContainers: [init1] }), failed).failed?.exitCode).toBe(2);
  });

  it("starts nothing for a pod being deleted", () => {
    const pod = testPod();
    pod.metadata.deletionTimestamp = "2024-01-01T10:00:00Z";
    const actions = computePodActions(pod, runtimeState([sandbox()], [record(app, { state: "CONTAINER_EXITED", exitCode: 1 })]), noProbes);
    expect(actions.containersToStart).toEqual([]);
  });
});
