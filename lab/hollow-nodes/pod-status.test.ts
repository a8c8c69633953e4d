import { describe, expect, it } from "vitest";
import { newPod } from "../../api/testing/builders.js";
import { formatTime } from "../../api/time.js";
import type { Pod, PodStatus } from "../../api/types/index.js";
import {
  CRASHLOOP_ANNOTATION,
  CRASHLOOP_RESTART_INTERVAL_MS,
  FAIL_ANNOTATION,
  nextCrashRestartInMs,
  pendingPodStatus,
  podBehaviour,
  podStatusEqual,
  runningPodStatus,
  UNREADY_ANNOTATION,
  type PodBehaviour,
} from "./pod-status.js";

const T0 = Date.UTC(2024, 0, 1, 10, 0, 0);
const HOST = "172.30.128.1";
const IP = "10.244.3.2";

/** A pod as the apiserver stores it right after binding: Pending, PodScheduled=True. */
function boundPod(annotations: Record<string, string> = {}, containers = [{ name: "app", image: "nginx" }, { name: "side", image: "busybox" }]): Pod {
  return newPod("web", {
    nodeName: "hollow-0",
    annotations,
    containers,
    meta: { uid: "u-1", resourceVersion: "5" },
    status: { phase: "Pending", qosClass: "BestEffort", conditions: [{ type: "PodScheduled", status: "True", lastTransitionTime: "2024-01-01T09:59:59Z" }] },
  });
}

function withStatus(pod: Pod, status: PodStatus): Pod {
  return { ...pod, status };
}

function run(pod: Pod, nowMs: number, behaviour: PodBehaviour = podBehaviour(pod)): PodStatus {
  return runningPodStatus({ pod, hostIP: HOST, podIP: IP, nowMs, behaviour });
}

const condition = (status: PodStatus, type: string) => status.conditions?.find((c) => c.type === type);

describe("podBehaviour", () => {
  it.each<[Record<string, string>, PodBehaviour]>([
    [{}, "run"],
    [{ [UNREADY_ANNOTATION]: "true" }, "unready"],
    [{ [CRASHLOOP_ANNOTATION]: "true" }, "crashloop"],
    [{ [FAIL_ANNOTATION]: "true" }, "fail"],
    [{ [FAIL_ANNOTATION]: "true", [CRASHLOOP_ANNOTATION]: "true", [UNREADY_ANNOTATION]: "true" }, "fail"],
    [{ [CRASHLOOP_ANNOTATION]: "true", [UNREADY_ANNOTATION]: "true" }, "crashloop"],
    [{ [FAIL_ANNOTATION]: "false", [UNREADY_ANNOTATION]: "yes" }, "run"],
  ])("reads %j as %s", (annotations, behaviour) => {
    expect(podBehaviour(boundPod(annotations))).toBe(behaviour);
  });
});

describe("runningPodStatus", () => {
  it("reports a started pod Running and Ready with IPs, conditions and container statuses", () => {
    const status = run(boundPod(), T0);
    const now = formatTime(T0);
    expect(status).toMatchObject({ phase: "Running", hostIP: HOST, hostIPs: [{ ip: HOST }], podIP: IP, podIPs: [{ ip: IP }], startTime: now, qosClass: "BestEffort" });
    expect(status.conditions?.map((c) => [c.type, c.status])).toEqual([
      ["PodReadyToStartContainers", "True"],
      ["Initialized", "True"],
      ["Ready", "True"],
      ["ContainersReady", "True"],
      ["PodScheduled", "True"],
    ]);
    expect(condition(status, "PodScheduled")?.lastTransitionTime).toBe("2024-01-01T09:59:59Z");
    expect(condition(status, "Ready")?.lastTransitionTime).toBe(now);
    expect(status.containerStatuses).toEqual([
      { name: "app", image: "nginx", imageID: "hollow://nginx", containerID: "hollow://u-1-app", state: { running: { startedAt: now } }, lastState: {}, ready: true, restartCount: 0, started: true },
      { name: "side", image: "busybox", imageID: "hollow://busybox", containerID: "hollow://u-1-side", state: { running: { startedAt: now } }, lastState: {}, ready: true, restartCount: 0, started: true },
    ]);
  });

  it("gives a running pod its own status back later, so an adopted pod is not rewritten", () => {
    const pod = boundPod();
    const first = run(pod, T0);
    const again = run(withStatus(pod, first), T0 + 3_600_000);
    expect(podStatusEqual(first, again)).toBe(true);
    // As it comes back from the apiserver (JSON round trip) it is still equal.
    expect(podStatusEqual(JSON.parse(JSON.stringify(first)) as PodStatus, again)).toBe(true);
  });

  it("turns Ready and ContainersReady False with the unready annotation, and back when it goes", () => {
    const running = withStatus(boundPod(), run(boundPod(), T0));
    const unready = run({ ...running, metadata: { ...running.metadata, annotations: { [UNREADY_ANNOTATION]: "true" } } }, T0 + 10_000);
    expect(unready.phase).toBe("Running");
    expect(condition(unready, "Ready")).toMatchObject({ status: "False", reason: "ContainersNotReady", message: "containers with unready status: [app side]", lastTransitionTime: formatTime(T0 + 10_000) });
    expect(condition(unready, "ContainersReady")).toMatchObject({ status: "False", reason: "ContainersNotReady" });
    expect(unready.containerStatuses?.map((c) => [c.ready, c.started])).toEqual([[false, true], [false, true]]);
    // startedAt stays: the containers kept running.
    expect(unready.containerStatuses?.[0]?.state?.running?.startedAt).toBe(formatTime(T0));

    const readyAgain = run(withStatus(running, unready), T0 + 20_000, "run");
    expect(condition(readyAgain, "Ready")).toEqual({ type: "Ready", status: "True", lastTransitionTime: formatTime(T0 + 20_000) });
    expect(readyAgain.containerStatuses?.every((c) => c.ready)).toBe(true);
  });

  it("fails the pod with the fail annotation: phase Failed, containers terminated with exit code 1", () => {
    const pod = boundPod({ [FAIL_ANNOTATION]: "true" });
    const status = run(pod, T0);
    expect(status.phase).toBe("Failed");
    expect(condition(status, "Ready")).toMatchObject({ status: "False", reason: "PodFailed" });
    expect(condition(status, "ContainersReady")).toMatchObject({ status: "False", reason: "PodFailed" });
    expect(condition(status, "PodReadyToStartContainers")?.status).toBe("False");
    expect(status.containerStatuses?.[0]).toMatchObject({
      ready: false,
      started: false,
      state: { terminated: { exitCode: 1, reason: "Error", finishedAt: formatTime(T0), containerID: "hollow://u-1-app" } },
    });
  });

  it("crash-loops with the crashloop annotation: one more restart every interval, never ready", () => {
    let pod = boundPod({ [CRASHLOOP_ANNOTATION]: "true" });
    let status = run(pod, T0);
    expect(status.phase).toBe("Running");
    expect(status.containerStatuses?.[0]).toMatchObject({
      ready: false,
      started: false,
      restartCount: 1,
      state: { waiting: { reason: "CrashLoopBackOff" } },
      lastState: { terminated: { exitCode: 1, reason: "Error", finishedAt: formatTime(T0) } },
    });
    expect(condition(status, "Ready")?.status).toBe("False");
    pod = withStatus(pod, status);
    // finishedAt has whole seconds: 10:00:00Z may stand for up to 10:00:00.999, and the interval counts from there.
    expect(nextCrashRestartInMs(pod, T0 + 1000)).toBe(CRASHLOOP_RESTART_INTERVAL_MS - 1);

    // Before the interval is up nothing changes.
    expect(podStatusEqual(run(pod, T0 + CRASHLOOP_RESTART_INTERVAL_MS + 998), status)).toBe(true);
    status = run(pod, T0 + CRASHLOOP_RESTART_INTERVAL_MS + 999);
    expect(status.containerStatuses?.map((c) => c.restartCount)).toEqual([2, 2]);
    pod = withStatus(pod, status);
    status = run(pod, T0 + 2 * CRASHLOOP_RESTART_INTERVAL_MS + 1999);
    expect(status.containerStatuses?.[0]?.restartCount).toBe(3);

    // Removing the annotation lets the containers run again; the restarts stay counted.
    const healed = run(withStatus(pod, status), T0 + 30_000, "run");
    expect(healed.containerStatuses?.[0]).toMatchObject({ ready: true, restartCount: 3, state: { running: { startedAt: formatTime(T0 + 30_000) } } });
    expect(nextCrashRestartInMs(withStatus(pod, healed), T0 + 30_000)).toBeUndefined();
  });

  it("reports init containers as completed", () => {
    const pod = boundPod();
    pod.spec!.initContainers = [{ name: "init", image: "busybox" }];
    const status = run(pod, T0);
    expect(status.initContainerStatuses).toEqual([
      {
        name: "init",
        image: "busybox",
        imageID: "hollow://busybox",
        containerID: "hollow://u-1-init",
        state: { terminated: { exitCode: 0, reason: "Completed", startedAt: formatTime(T0), finishedAt: formatTime(T0), containerID: "hollow://u-1-init" } },
        lastState: {},
        ready: true,
        restartCount: 0,
        started: false,
      },
    ]);
  });

  it("keeps conditions others own, such as readiness gates", () => {
    const pod = boundPod();
    pod.status!.conditions!.push({ type: "example.com/gate", status: "True", lastTransitionTime: "2024-01-01T09:00:00Z" });
    expect(condition(run(pod, T0), "example.com/gate")).toEqual({ type: "example.com/gate", status: "True", lastTransitionTime: "2024-01-01T09:00:00Z" });
  });
});

describe("pendingPodStatus", () => {
  it("shows ContainerCreating while the start delay runs, then Running keeps its startTime", () => {
    const pod = boundPod();
    const pending = pendingPodStatus(pod, HOST, T0);
    expect(pending).toMatchObject({ phase: "Pending", hostIP: HOST, startTime: formatTime(T0) });
    expect(pending.podIP).toBeUndefined();
    expect(pending.containerStatuses?.map((c) => c.state)).toEqual([{ waiting: { reason: "ContainerCreating" } }, { waiting: { reason: "ContainerCreating" } }]);
    expect(condition(pending, "Ready")).toMatchObject({ status: "False", reason: "ContainersNotReady" });
    expect(podStatusEqual(pendingPodStatus(withStatus(pod, pending), HOST, T0 + 500), pending)).toBe(true);

    const running = run(withStatus(pod, pending), T0 + 2000);
    expect(running.startTime).toBe(formatTime(T0));
    expect(running.containerStatuses?.[0]?.state?.running?.startedAt).toBe(formatTime(T0 + 2000));
    expect(condition(running, "Initialized")?.lastTransitionTime).toBe(formatTime(T0));
  });
});
