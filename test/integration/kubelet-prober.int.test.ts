// Exec probes against a real runtime: kubelab-runtime as a process (dist/container-runtime/main.js, build first)
// with the fake backend, reached over its unix socket by the CRI client the kubelet uses. The fake backend's
// ExecSync answers `true`, `false` and `sh -c "exit N"` with those exit codes, and refuses containers that are not
// running. Ticks come from a FakeClock; the gRPC round trips are real.
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { newPod } from "../../api/testing/builders.js";
import type { Pod } from "../../api/types/index.js";
import { CriClient } from "../../client/cri/client.js";
import { containerConfig, sandboxConfig } from "../../client/cri/testing.js";
import { imageSpec } from "../../client/cri/types.js";
import { FakeRecorder } from "../../client/testing/fake-recorder.js";
import { silentLogger } from "../../component-base/logging.js";
import { FakeClock } from "../../component-base/testing/fake-clock.js";
import { containerRuntimeComponent } from "../../lab/components/container-runtime.js";
import { removeDir } from "../../lab/process/owner.js";
import type { ManagedProcess } from "../../lab/process/runner.js";
import { testProcesses } from "../support/processes.js";
import { ProberManager, type ProbedContainer } from "../../kubelet/prober/prober-manager.js";

describe("exec probes through kubelab-runtime over the CRI", () => {
  let dir: string;
  let daemon: ManagedProcess;
  let client: CriClient;
  let podIP: string;
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    dir = testProcesses.tempDir("kprobe-int-", tmpdir());
    const socket = join(dir, "run", "runtime.sock");
    const component = containerRuntimeComponent({ name: "container-runtime kprobe", socketPath: socket, root: join(dir, "state"), backend: "fake", podCidr: "10.244.9.0/24" });
    daemon = (await testProcesses.startReady(component)).process;
    client = new CriClient(socket, { timeoutMs: 10_000 });
    await client.pullImage({ image: imageSpec("busybox") });
    const sandbox = sandboxConfig("probed");
    const podId = await client.runPodSandbox(sandbox);
    podIP = (await client.podSandboxStatus(podId)).status.network?.ip ?? "";
    for (const name of ["web", "worker"]) {
      ids[name] = await client.createContainer({ podSandboxId: podId, config: containerConfig(name, "busybox"), sandboxConfig: sandbox });
      await client.startContainer(ids[name]);
    }
  });

  afterAll(async () => {
    client.close();
    await daemon.stop("SIGKILL");
    removeDir(dir);
  });

  it("turns exit codes into results and Unhealthy events, and runtime refusals into errored probes", async () => {
    const clock = new FakeClock();
    const recorder = new FakeRecorder();
    const changes: string[] = [];
    const manager = new ProberManager({ runtime: client, recorder, clock, logger: silentLogger(), onResultChange: (uid) => changes.push(uid), random: () => 0 });
    try {
      const pod: Pod = newPod("probed", {
        meta: { uid: "uid-probed" },
        containers: [
          {
            name: "web",
            image: "busybox",
            readinessProbe: { exec: { command: ["true"] }, periodSeconds: 1 },
            livenessProbe: { exec: { command: ["sh", "-c", "exit 3"] }, failureThreshold: 1 },
          },
          { name: "worker", image: "busybox", startupProbe: { exec: { command: ["false"] }, periodSeconds: 1, failureThreshold: 2 }, readinessProbe: { exec: { command: ["true"] } } },
        ],
      });
      const seen = (name: string): ProbedContainer => ({ name, containerId: ids[name] ?? "", running: true, startedAtMs: clock.now() });
      manager.syncPod(pod, podIP, [seen("web"), seen("worker")]);
      const web = ids.web ?? "";
      const worker = ids.worker ?? "";

      await clock.advance(1);
      await vi.waitFor(() => {
        expect(manager.result("readiness", web)).toBe("Success");
        expect(manager.result("liveness", web)).toBe("Failure");
      });
      await clock.advance(1_000);
      await vi.waitFor(() => {
        expect(manager.result("startup", worker)).toBe("Failure");
      });
      expect(manager.result("readiness", worker)).toBe("Failure");
      expect(changes.every((uid) => uid === "uid-probed")).toBe(true);
      expect(changes).toHaveLength(3);
      expect(recorder.events.map((e) => [e.object.fieldPath, e.type, e.reason, e.message])).toEqual([
        ["spec.containers{web}", "Warning", "Unhealthy", "Liveness probe failed: "],
        ["spec.containers{worker}", "Warning", "Unhealthy", "Startup probe failed: "],
        ["spec.containers{worker}", "Warning", "Unhealthy", "Startup probe failed: "],
      ]);

      // The container stops behind the prober's back: ExecSync is refused, the probe errors and keeps its result.
      recorder.clear();
      await client.stopContainer(web, 0);
      await clock.advance(1_000);
      await vi.waitFor(() => {
        expect(recorder.messages()).toEqual([
          `Warning Unhealthy Readiness probe errored: rpc error: code = FailedPrecondition desc = container ${web} is not running`,
        ]);
      });
      expect(manager.result("readiness", web)).toBe("Success");
    } finally {
      manager.stop();
    }
  });
});
