import { describe, expect, it } from "vitest";
import type { Container, Pod } from "../../api/types/index.js";
import { emptyRuntimeState } from "./runtime-state.js";
import { generatePodStatus, type PodStatusInput, type WaitingReason } from "./status.js";
import { record, runtimeState, sandbox, T0, testPod } from "./testing.js";

const app: Container = { name: "app", image: "busybox" };
const NOW = T0 + 60_000;

function input(pod: Pod, state = emptyRuntimeState("uid-web"), overrides: Partial<PodStatusInput> = {}): PodStatusInput {
  return { pod, state, runtimeName: "kubelab-runtime", hostIP: "192.168.1.2", nowMs: NOW, waiting: new Map(), probe: () => undefined, ...overrides };
}

describe("generatePodStatus", () => {
  it("reports a pod being created: Pending, ContainerCreating, conditions with Kubernetes' reasons", () => {
    const status = generatePodStatus(input(testPod()));
    expect(status).toMatchObject({ phase: "Pending", hostIP: "192.168.1.2", hostIPs: [{ ip: "192.168.1.2" }], qosClass: "BestEffort", startTime: "2024-01-01T10:01:00Z" });
    expect(status.podIP).toBeUndefined();
    expect(status.containerStatuses).toEqual([{ name: "app", state: { waiting: { reason: "ContainerCreating" } }, lastState: {}, ready: false, restartCount: 0, image: "busybox", imageID: "", started: false }]);
    expect(status.conditions).toEqual([
      { type: "PodReadyToStartContainers", status: "False", lastTransitionTime: "2024-01-01T10:01:00Z" },
      { type: "Initialized", status: "True", lastTransitionTime: "2024-01-01T10:01:00Z" },
      { type: "Ready", status: "False", reason: "ContainersNotReady", message: "containers with unready status: [app]", lastTransitionTime: "2024-01-01T10:01:00Z" },
      { type: "ContainersReady", status: "False", reason: "ContainersNotReady", message: "containers with unready status: [app]", lastTransitionTime: "2024-01-01T10:01:00Z" },
      { type: "PodScheduled", status: "True", lastTransitionTime: "2024-01-01T09:59:00Z" },
    ]);
  });

  it("reports a running pod: IPs, running state, containerID with the runtime's scheme, all conditions True", () => {
    const status = generatePodStatus(input(testPod(), runtimeState([sandbox()], [record(app)])));
    expect(status).toMatchObject({ phase: "Running", podIP: "10.244.1.5", podIPs: [{ ip: "10.244.1.5" }] });
    expect(status.containerStatuses?.[0]).toEqual({
      name: "app",
      state: { running: { startedAt: "2024-01-01T10:00:00Z" } },
      lastState: {},
      ready: true,
      started: true,
      restartCount: 0,
      image: "docker.io/library/busybox:latest",
      imageID: "docker.io/library/busybox@sha256:abc",
      containerID: "kubelab-runtime://app-0",
    });
    expect(status.conditions?.map((c) => c.status)).toEqual(["True", "True", "True", "True", "True"]);
  });

  it("is a fixed point: a pod already reporting its state gets the same status back (no write)", () => {
    const state = runtimeState([sandbox()], [record(app)]);
    const pod = testPod();
    pod.status = generatePodStatus(input(pod, state));
    expect(generatePodStatus(input(pod, state, { nowMs: NOW + 3_600_000 }))).toEqual(pod.status);
  });

  it("waits for readiness and startup probes", () => {
    const pod = testPod({ containers: [{ ...app, readinessProbe: { exec: { command: ["true"] } }, startupProbe: { exec: { command: ["true"] } } }] });
    const state = runtimeState([sandbox()], [record(app)]);
    expect(generatePodStatus(input(pod, state)).containerStatuses?.[0]).toMatchObject({ ready: false, started: false });
    const started = generatePodStatus(input(pod, state, { probe: (kind) => (kind === "startup" ? "Success" : undefined) }));
    expect(started.containerStatuses?.[0]).toMatchObject({ ready: false, started: true });
    expect(generatePodStatus(input(pod, state, { probe: () => "Success" })).containerStatuses?.[0]).toMatchObject({ ready: true, started: true });
  });

  it("reports CrashLoopBackOff with the last termination and the restart count", () => {
    const crashed = record(app, { state: "CONTAINER_EXITED", exitCode: 1, reason: "Error", restartCount: 1 });
    const first = record(app, { state: "CONTAINER_EXITED", exitCode: 1, reason: "Error", restartCount: 0 });
    const waiting = new Map<string, WaitingReason>([["app", { reason: "CrashLoopBackOff", message: "back-off 10s restarting failed container=app pod=web_default(uid-web)" }]]);
    const status = generatePodStatus(input(testPod(), runtimeState([sandbox()], [crashed, first]), { waiting }));
    expect(status.phase).toBe("Running");
    expect(status.containerStatuses?.[0]).toMatchObject({
      state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 10s restarting failed container=app pod=web_default(uid-web)" } },
      lastState: { terminated: { exitCode: 1, reason: "Error", containerID: "kubelab-runtime://app-1", startedAt: "2024-01-01T10:00:01Z", finishedAt: "2024-01-01T10:00:01Z" } },
      restartCount: 1,
      ready: false,
    });
  });

  it("shows the previous instance in lastState while the new one runs (OOMKilled)", () => {
    const now = record(app, { restartCount: 1 });
    const before = record(app, { state: "CONTAINER_EXITED", exitCode: 137, reason: "OOMKilled" });
    const status = generatePodStatus(input(testPod(), runtimeState([sandbox()], [now, before])));
    expect(status.containerStatuses?.[0]).toMatchObject({ state: { running: {} }, lastState: { terminated: { exitCode: 137, reason: "OOMKilled" } }, restartCount: 1 });
  });

  it("reports image pull errors as waiting reasons on a Pending pod", () => {
    const waiting = new Map<string, WaitingReason>([["app", { reason: "ImagePullBackOff", message: 'Back-off pulling image "nothing"' }]]);
    const status = generatePodStatus(input(testPod(), runtimeState([sandbox()], []), { waiting }));
    expect(status.phase).toBe("Pending");
    expect(status.containerStatuses?.[0]?.state).toEqual({ waiting: { reason: "ImagePullBackOff", message: 'Back-off pulling image "nothing"' } });
    expect(status.conditions?.find((c) => c.type === "PodReadyToStartContainers")?.status).toBe("True");
  });

  it("finishes pods per restartPolicy: Succeeded (PodCompleted) and Failed", () => {
    const done = (exitCode: number) => runtimeState([sandbox({ ready: false })], [record(app, { state: "CONTAINER_EXITED", exitCode })]);
    const succeeded = generatePodStatus(input(testPod({ restartPolicy: "OnFailure" }), done(0)));
    expect(succeeded.phase).toBe("Succeeded");
    expect(succeeded.containerStatuses?.[0]?.state?.terminated).toMatchObject({ exitCode: 0, reason: "Completed" });
    expect(succeeded.conditions?.find((c) => c.type === "Ready")).toMatchObject({ status: "False", reason: "PodCompleted" });
    expect(generatePodStatus(input(testPod({ restartPolicy: "Never" }), done(1))).phase).toBe("Failed");
    expect(generatePodStatus(input(testPod({ restartPolicy: "Always" }), done(1))).phase).toBe("Running");
    expect(generatePodStatus(input(testPod({ restartPolicy: "Always" }), done(1), { podIsTerminal: true })).phase).toBe("Failed");
  });

  it("reports init containers: PodInitializing, Initialized False with the incomplete ones", () => {
    const init: Container = { name: "setup", image: "busybox" };
    const pod = testPod({ initContainers: [init] });
    const status = generatePodStatus(input(pod, runtimeState([sandbox()], [record(init)])));
    expect(status.phase).toBe("Pending");
    expect(status.initContainerStatuses?.[0]).toMatchObject({ name: "setup", state: { running: {} }, ready: false, started: true });
    expect(status.containerStatuses?.[0]?.state).toEqual({ waiting: { reason: "PodInitializing" } });
    expect(status.conditions?.find((c) => c.type === "Initialized")).toMatchObject({ status: "False", reason: "ContainersNotInitialized", message: "containers with incomplete status: [setup]" });
    const done = generatePodStatus(input(pod, runtimeState([sandbox()], [record(init, { state: "CONTAINER_EXITED" }), record(app, { createdAtMs: T0 + 5000 })])));
    expect(done.phase).toBe("Running");
    expect(done.initContainerStatuses?.[0]).toMatchObject({ state: { terminated: { exitCode: 0, reason: "Completed" } }, ready: true });
  });

  it("keeps a terminal phase and conditions others own", () => {
    const pod = testPod();
    pod.status = { phase: "Failed", reason: "Evicted", conditions: [{ type: "DisruptionTarget", status: "True" }] };
    const status = generatePodStatus(input(pod, runtimeState([sandbox()], [record(app)])));
    expect(status.phase).toBe("Failed");
    expect(status.reason).toBe("Evicted");
    expect(status.conditions?.[0]).toEqual({ type: "DisruptionTarget", status: "True" });
  });

  it("gives a host-network pod the node's IP", () => {
    const status = generatePodStatus(input(testPod({ hostNetwork: true }), runtimeState([sandbox({ ip: "" })], [record(app)])));
    expect(status.podIPs).toEqual([{ ip: "192.168.1.2" }]);
  });
});
