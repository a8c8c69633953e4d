// The prober manager on a FakeClock with a scripted runtime for exec probes: timing fields, thresholds, startup
// gating, resets on a new container ID, events, result changes and metrics; one httpGet probe against a real
// local server through a named port.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Container, Pod, Probe } from "../../api/types/index.js";
import { newPod } from "../../api/testing/builders.js";
import { CriError, GrpcStatus } from "../../client/cri/errors.js";
import type * as cri from "../../client/cri/types.js";
import { FakeRecorder } from "../../client/testing/fake-recorder.js";
import { silentLogger } from "../../component-base/logging.js";
import { createRegistry } from "../../component-base/metrics.js";
import { FakeClock } from "../../component-base/testing/fake-clock.js";
import { ProberManager, probeKillMessage, type ProbedContainer, type ProberManagerOptions } from "./prober-manager.js";

/** Exec probes run ["check", <name>]: the answer for <name> decides (exit code, an error, or never). */
class ScriptedRuntime {
  readonly calls: { containerId: string; cmd: readonly string[]; timeoutSeconds: number; atMs: number }[] = [];
  readonly answers = new Map<string, number | Error | "hang">();

  constructor(private readonly clock: FakeClock) {}

  execSync(containerId: string, cmd: readonly string[], timeoutSeconds: number): Promise<cri.ExecSyncResponse> {
    this.calls.push({ containerId, cmd, timeoutSeconds, atMs: this.clock.now() });
    const answer = this.answers.get(cmd[1] ?? "") ?? 0;
    if (answer === "hang") return new Promise(() => undefined);
    if (answer instanceof Error) return Promise.reject(answer);
    return Promise.resolve({ stdout: Buffer.from(answer === 0 ? "ok" : ""), stderr: Buffer.from(answer === 0 ? "" : `exit ${String(answer)}`), exitCode: answer });
  }

  /** Seconds after `startMs` at which `name` was probed. */
  times(name: string, startMs: number): number[] {
    return this.calls.filter((c) => c.cmd[1] === name).map((c) => (c.atMs - startMs) / 1000);
  }
}

const execProbe = (name: string, fields: Partial<Probe> = {}): Probe => ({ exec: { command: ["check", name] }, ...fields });

function podWith(containers: Container[], name = "web"): Pod {
  return newPod(name, { containers, podIP: "10.244.0.5", meta: { uid: `uid-${name}`, resourceVersion: "7" } });
}

function setup(overrides: Partial<ProberManagerOptions> = {}) {
  const clock = new FakeClock();
  const runtime = new ScriptedRuntime(clock);
  const recorder = new FakeRecorder();
  const changes: string[] = [];
  const registry = createRegistry({ defaultMetrics: false });
  const manager = new ProberManager({
    runtime,
    recorder,
    clock,
    logger: silentLogger(),
    onResultChange: (uid) => changes.push(uid),
    registry,
    random: () => 0,
    ...overrides,
  });
  const start = clock.now();
  const running = (name: string, containerId: string, startedAtMs = clock.now()): ProbedContainer => ({ name, containerId, running: true, startedAtMs });
  managers.push(manager);
  return { clock, runtime, recorder, changes, registry, manager, start, running };
}

const managers: ProberManager[] = [];
afterEach(() => {
  for (const m of managers.splice(0)) m.stop();
});

describe("ProberManager timing", () => {
  it("probes every periodSeconds from the start, passing timeoutSeconds to ExecSync", async () => {
    const { clock, runtime, manager, start, running } = setup();
    const pod = podWith([{ name: "app", readinessProbe: execProbe("ready", { periodSeconds: 5, timeoutSeconds: 3 }) }]);
    manager.syncPod(pod, "10.244.0.5", [running("app", "c1")]);
    await clock.advance(16_000);
    expect(runtime.times("ready", start)).toEqual([0, 5, 10, 15]);
    expect(runtime.calls[0]).toMatchObject({ containerId: "c1", cmd: ["check", "ready"], timeoutSeconds: 3 });
  });

  it("uses Kubernetes' defaults: period 10 s, timeout 1 s", async () => {
    const { clock, runtime, manager, start, running } = setup();
    manager.syncPod(podWith([{ name: "app", livenessProbe: execProbe("live") }]), "10.244.0.5", [running("app", "c1")]);
    await clock.advance(25_000);
    expect(runtime.times("live", start)).toEqual([0, 10, 20]);
    expect(runtime.calls.every((c) => c.timeoutSeconds === 1)).toBe(true);
  });

  it("waits initialDelaySeconds from the container's start, probing on the first tick after it", async () => {
    const { clock, runtime, manager, start, running } = setup();
    const pod = podWith([{ name: "app", readinessProbe: execProbe("ready", { initialDelaySeconds: 5, periodSeconds: 2 }) }]);
    manager.syncPod(pod, "10.244.0.5", [running("app", "c1", start - 1000)]);
    await clock.advance(9_000);
    expect(runtime.times("ready", start)).toEqual([4, 6, 8]);
  });

  it("spreads the first probe by a random part of the period while the kubelet has just started", async () => {
    const { clock, runtime, manager, start, running } = setup({ random: () => 0.5 });
    manager.syncPod(podWith([{ name: "app", livenessProbe: execProbe("live") }]), "10.244.0.5", [running("app", "c1")]);
    await clock.advance(4_999);
    expect(runtime.calls).toHaveLength(0);
    await clock.advance(20_000);
    expect(runtime.times("live", start)).toEqual([5, 15]);
    // A worker created a period or more after the manager started probes at once.
    const later = clock.now();
    manager.syncPod(podWith([{ name: "app", livenessProbe: execProbe("late") }], "other"), "10.244.0.6", [running("app", "c2")]);
    await clock.advance(1);
    expect(runtime.times("late", later)).toEqual([0]);
  });

  it("collapses ticks that fall during a long probe into one run right after it", async () => {
    const { clock, runtime, manager, start, running } = setup();
    runtime.answers.set("slow", "hang");
    manager.syncPod(podWith([{ name: "app", readinessProbe: execProbe("slow", { periodSeconds: 1, timeoutSeconds: 3 }) }]), "10.244.0.5", [running("app", "c1")]);
    await clock.advance(7_500);
    // 0 times out at 3 (the ticks at 1 and 2 fold into a run at 3), which times out at 6.
    expect(runtime.times("slow", start)).toEqual([0, 3, 6]);
  });
});

describe("ProberManager results", () => {
  it("keeps readiness Failure until the first success, then follows the thresholds", async () => {
    const { clock, runtime, manager, changes, running, recorder } = setup();
    runtime.answers.set("ready", 1);
    const pod = podWith([{ name: "app", readinessProbe: execProbe("ready", { successThreshold: 2, failureThreshold: 2 }) }]);
    manager.syncPod(pod, "10.244.0.5", [running("app", "c1")]);
    expect(manager.result("readiness", "c1")).toBe("Failure");
    await clock.advance(1);
    expect(manager.result("readiness", "c1")).toBe("Failure");
    expect(changes).toEqual([]);
    expect(recorder.messages()).toEqual(["Warning Unhealthy Readiness probe failed: exit 1"]);

    runtime.answers.set("ready", 0);
    await clock.advance(10_000);
    expect(manager.result("readiness", "c1")).toBe("Failure");
    await clock.advance(10_000);
    expect(manager.result("readiness", "c1")).toBe("Success");
    expect(changes).toEqual(["uid-web"]);

    runtime.answers.set("ready", 1);
    await clock.advance(10_000);
    expect(manager.result("readiness", "c1")).toBe("Success");
    await clock.advance(10_000);
    expect(manager.result("readiness", "c1")).toBe("Failure");
    expect(changes).toEqual(["uid-web", "uid-web"]);
    // Readiness keeps probing after a failure: it does not kill.
    runtime.answers.set("ready", 0);
    await clock.advance(20_000);
    expect(manager.result("readiness", "c1")).toBe("Success");
  });

  it("keeps liveness Success until failureThreshold failures, then holds until a new container", async () => {
    const { clock, runtime, manager, changes, running, recorder, start } = setup();
    runtime.answers.set("live", 2);
    const pod = podWith([{ name: "app", livenessProbe: execProbe("live", { successThreshold: 5 }) }]);
    manager.syncPod(pod, "10.244.0.5", [running("app", "c1")]);
    expect(manager.result("liveness", "c1")).toBe("Success");
    await clock.advance(19_000);
    expect(manager.result("liveness", "c1")).toBe("Success");
    await clock.advance(1_000);
    expect(manager.result("liveness", "c1")).toBe("Failure");
    expect(changes).toEqual(["uid-web"]);
    expect(recorder.messages()).toEqual(Array(3).fill("Warning Unhealthy Liveness probe failed: exit 2"));
    expect(recorder.events[0]?.object).toEqual({ kind: "Pod", apiVersion: "v1", name: "web", namespace: "default", uid: "uid-web", resourceVersion: "7", fieldPath: "spec.containers{app}" });

    await clock.advance(30_000);
    expect(runtime.times("live", start)).toEqual([0, 10, 20]);

    // The pod worker restarted the container: a new ID, a fresh worker state (successThreshold is 1 for liveness).
    runtime.answers.set("live", 0);
    manager.syncPod(pod, "10.244.0.5", [running("app", "c2")]);
    expect(manager.result("liveness", "c1")).toBeUndefined();
    expect(manager.result("liveness", "c2")).toBe("Success");
    await clock.advance(10_000);
    expect(runtime.calls.at(-1)?.containerId).toBe("c2");
    expect(manager.result("liveness", "c2")).toBe("Success");
  });

  it("runs only the startup probe until it succeeds, then readiness at once and liveness on its ticks", async () => {
    const { clock, runtime, manager, running, start, changes } = setup();
    runtime.answers.set("startup", 1);
    const pod = podWith([
      {
        name: "app",
        startupProbe: execProbe("startup", { periodSeconds: 2, failureThreshold: 30 }),
        livenessProbe: execProbe("live"),
        readinessProbe: execProbe("ready"),
      },
    ]);
    manager.syncPod(pod, "10.244.0.5", [running("app", "c1")]);
    expect(manager.result("startup", "c1")).toBeUndefined();
    await clock.advance(5_000);
    expect(runtime.times("startup", start)).toEqual([0, 2, 4]);
    expect(runtime.times("live", start)).toEqual([]);
    expect(runtime.times("ready", start)).toEqual([]);

    runtime.answers.set("startup", 0);
    await clock.advance(1_000);
    expect(manager.result("startup", "c1")).toBe("Success");
    expect(runtime.times("ready", start)).toEqual([6]);
    expect(manager.result("readiness", "c1")).toBe("Success");
    expect(changes).toEqual(["uid-web", "uid-web"]);
    await clock.advance(14_000);
    expect(runtime.times("startup", start)).toEqual([0, 2, 4, 6]);
    expect(runtime.times("live", start)).toEqual([10, 20]);
    expect(runtime.times("ready", start)).toEqual([6, 10, 20]);
  });

  it("sets startup Failure after failureThreshold failures and stops probing", async () => {
    const { clock, runtime, manager, running, start, recorder } = setup();
    runtime.answers.set("startup", 1);
    manager.syncPod(podWith([{ name: "app", startupProbe: execProbe("startup", { periodSeconds: 1, failureThreshold: 3 }), livenessProbe: execProbe("live") }]), "10.244.0.5", [
      running("app", "c1"),
    ]);
    await clock.advance(10_000);
    expect(manager.result("startup", "c1")).toBe("Failure");
    expect(runtime.times("startup", start)).toEqual([0, 1, 2]);
    expect(runtime.times("live", start)).toEqual([]);
    expect(recorder.messages()).toEqual(Array(3).fill("Warning Unhealthy Startup probe failed: exit 1"));
  });

  it("throws away probes that errored, after 3 attempts and a 'probe errored' event", async () => {
    const { clock, runtime, manager, running, recorder, changes } = setup();
    runtime.answers.set("live", new CriError(GrpcStatus.NOT_FOUND, 'container "c1" not found'));
    manager.syncPod(podWith([{ name: "app", livenessProbe: execProbe("live", { failureThreshold: 1 }) }]), "10.244.0.5", [running("app", "c1")]);
    await clock.advance(1);
    expect(runtime.calls).toHaveLength(3);
    expect(manager.result("liveness", "c1")).toBe("Success");
    expect(changes).toEqual([]);
    expect(recorder.messages()).toEqual(['Warning Unhealthy Liveness probe errored: rpc error: code = NotFound desc = container "c1" not found']);
  });

  it("reports liveness and startup Success without probing while the pod is being deleted", async () => {
    const { clock, runtime, manager, running } = setup();
    runtime.answers.set("live", 1);
    const pod = podWith([{ name: "app", livenessProbe: execProbe("live", { failureThreshold: 1 }), readinessProbe: execProbe("ready") }]);
    pod.metadata.deletionTimestamp = "2024-01-01T00:00:00Z";
    manager.syncPod(pod, "10.244.0.5", [running("app", "c1")]);
    await clock.advance(30_000);
    expect(manager.result("liveness", "c1")).toBe("Success");
    expect(runtime.calls.map((c) => c.cmd[1])).toEqual(["ready", "ready", "ready", "ready"]);
  });

  it("counts probes in prober_probe_total and times successes in prober_probe_duration_seconds", async () => {
    const { clock, runtime, manager, running, registry } = setup();
    runtime.answers.set("ready", 1);
    manager.syncPod(podWith([{ name: "app", readinessProbe: execProbe("ready") }]), "10.244.0.5", [running("app", "c1")]);
    await clock.advance(10_000);
    runtime.answers.set("ready", 0);
    await clock.advance(10_000);
    const series = { probe_type: "Readiness", container: "app", pod: "web", namespace: "default" };
    const total = (await registry.getSingleMetric("prober_probe_total")?.get())?.values ?? [];
    expect(total.map((v) => [v.labels, v.value])).toEqual(
      expect.arrayContaining([
        [{ ...series, result: "failed", pod_uid: "uid-web" }, 2],
        [{ ...series, result: "successful", pod_uid: "uid-web" }, 1],
      ]),
    );
    expect(await registry.metrics()).toContain('prober_probe_duration_seconds_count{probe_type="Readiness",container="app",pod="web",namespace="default"} 1');
    manager.removePod("uid-web");
    expect(await registry.metrics()).not.toContain('pod="web"');
  });
});

describe("ProberManager workers", () => {
  it("runs workers only for running containers with probes, including sidecars, and stops them on removePod and stop", async () => {
    const { clock, runtime, manager, running, recorder } = setup();
    runtime.answers.set("side", 1);
    const pod = podWith([
      { name: "app", readinessProbe: execProbe("app") },
      { name: "plain" },
      { name: "later", livenessProbe: execProbe("later") },
    ]);
    pod.spec!.initContainers = [
      { name: "init", readinessProbe: execProbe("init") },
      { name: "side", restartPolicy: "Always", readinessProbe: execProbe("side", { failureThreshold: 1 }) },
    ];
    manager.syncPod(pod, "10.244.0.5", [running("app", "a1"), running("plain", "p1"), running("side", "s1"), { ...running("later", "l1"), running: false }]);
    expect(manager.workerCount("uid-web")).toBe(2);
    await clock.advance(1);
    expect(runtime.calls.map((c) => c.cmd[1]).sort()).toEqual(["app", "side"]);
    expect(recorder.events[0]?.object.fieldPath).toBe("spec.initContainers{side}");

    // The app container exited: its worker stops and its results go.
    manager.syncPod(pod, "10.244.0.5", [{ ...running("app", "a1"), running: false }, running("side", "s1"), running("later", "l1")]);
    expect(manager.workerCount("uid-web")).toBe(2);
    expect(manager.result("readiness", "a1")).toBeUndefined();
    expect(manager.result("liveness", "l1")).toBe("Success");

    manager.removePod("uid-web");
    expect(manager.workerCount()).toBe(0);
    expect(manager.result("liveness", "l1")).toBeUndefined();
    expect(clock.pendingTimers()).toBe(0);

    manager.syncPod(pod, "10.244.0.5", [running("app", "a2")]);
    manager.stop();
    expect(clock.pendingTimers()).toBe(0);
    manager.syncPod(pod, "10.244.0.5", [running("app", "a3")]);
    expect(manager.workerCount()).toBe(0);
  });

  it("ignores a probe result that arrives after its container was replaced", async () => {
    const { clock, runtime, manager, running, changes } = setup();
    runtime.answers.set("live", "hang");
    const pod = podWith([{ name: "app", livenessProbe: execProbe("live", { failureThreshold: 1, timeoutSeconds: 5 }) }]);
    manager.syncPod(pod, "10.244.0.5", [running("app", "c1")]);
    await clock.advance(1_000);
    manager.syncPod(pod, "10.244.0.5", [running("app", "c2")]);
    await clock.advance(4_500);
    expect(manager.result("liveness", "c1")).toBeUndefined();
    expect(manager.result("liveness", "c2")).toBe("Success");
    expect(changes).toEqual([]);
  });

  it("probes httpGet on the pod IP through a named container port", async () => {
    const server = http.createServer((req, res) => {
      res.statusCode = req.url === "/healthz" ? 500 : 200;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const { manager, running, recorder, changes, clock } = setup();
      const pod = podWith([
        {
          name: "app",
          ports: [{ name: "http", containerPort: port }],
          livenessProbe: { httpGet: { port: "http", path: "/healthz" }, failureThreshold: 1 },
          readinessProbe: { httpGet: { port: "http", path: "/ready" } },
        },
      ]);
      manager.syncPod(pod, "127.0.0.1", [running("app", "c1")]);
      await clock.advance(1);
      await vi.waitFor(() => {
        expect(manager.result("liveness", "c1")).toBe("Failure");
        expect(manager.result("readiness", "c1")).toBe("Success");
      });
      expect(recorder.messages()).toEqual(["Warning Unhealthy Liveness probe failed: HTTP probe failed with statuscode: 500"]);
      expect(changes).toEqual(["uid-web", "uid-web"]);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    }
  });

  it("reports an unknown named port as an errored probe", async () => {
    const { manager, running, recorder, clock } = setup();
    manager.syncPod(podWith([{ name: "app", readinessProbe: { tcpSocket: { port: "metrics" } } }]), "10.244.0.5", [running("app", "c1")]);
    await clock.advance(1);
    expect(recorder.messages()).toEqual(["Warning Unhealthy Readiness probe errored: port metrics not found"]);
    expect(manager.result("readiness", "c1")).toBe("Failure");
  });
});

describe("probeKillMessage", () => {
  it("words the Killing event as Kubernetes does", () => {
    expect(probeKillMessage("liveness", "app", true)).toBe("Container app failed liveness probe, will be restarted");
    expect(probeKillMessage("startup", "app", false)).toBe("Container app failed startup probe");
  });
});
