import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { RESOURCES } from "../../api/resources.js";
import type { Node, Pod } from "../../api/types/index.js";
import { FakeClient } from "../../client/testing/fake-client.js";
import { FakeRecorder } from "../../client/testing/fake-recorder.js";
import { silentLogger } from "../../component-base/logging.js";
import { createRegistry } from "../../component-base/metrics.js";
import { FakeClock, flushPromises } from "../../component-base/testing/fake-clock.js";
import { ProberManager } from "../prober/prober-manager.js";
import { VolumeManager } from "../volumes/volume-manager.js";
import { FakePodRuntime } from "./fake-runtime.js";
import { PodManager } from "./pod-manager.js";
import { CONFIG_MIRROR_ANNOTATION, staticPodsFromManifest } from "./static-pods.js";
import { T0, testNode, testPod } from "./testing.js";

const PODS = RESOURCES.find((r) => r.group === "" && r.resource === "pods")!;

interface Harness {
  clock: FakeClock;
  client: FakeClient;
  recorder: FakeRecorder;
  runtime: FakePodRuntime;
  manager: PodManager;
  stop: AbortController;
  settle(): Promise<void>;
  pod(name?: string): Pod;
  seed(pod: Pod): Pod;
  /** The Node the manager admits pods against (undefined: not registered yet). */
  node: Node | undefined;
}

const harnesses: Harness[] = [];
/** The kubelet's --root-dir for these tests (volumes, etc-hosts, termination messages). */
const rootDir = mkdtempSync(join(tmpdir(), "kcore-pod-manager-"));
afterAll(() => {
  rmSync(rootDir, { recursive: true, force: true });
});
afterEach(() => {
  for (const h of harnesses.splice(0)) {
    h.stop.abort();
    h.manager.stop();
  }
});

/** The prober's results as a test sets them (the real ProberManager probes; this one only answers). */
class SetProber extends ProberManager {
  readonly answers = new Map<string, "Success" | "Failure">();
  override result(kind: "liveness" | "readiness" | "startup", containerId: string): "Success" | "Failure" | undefined {
    return this.answers.get(`${kind}/${containerId}`);
  }
}

function harness(shared?: { clock: FakeClock; client: FakeClient; runtime: FakePodRuntime }): Harness & { prober: SetProber } {
  const clock = shared?.clock ?? new FakeClock(T0);
  const client = shared?.client ?? new FakeClient({ clock });
  const runtime = shared?.runtime ?? new FakePodRuntime(clock, ["busybox", "nginx:1.25"]);
  const recorder = new FakeRecorder();
  const logger = silentLogger();
  const prober = new SetProber({
    runtime,
    recorder,
    clock,
    logger,
    onResultChange: (uid) => {
      manager.wake(uid);
    },
  });
  const manager: PodManager = new PodManager({
    runtime,
    client,
    recorder,
    clock,
    logger,
    registry: createRegistry(),
    nodeName: "node-1",
    node: () => h.node,
    nodeIP: "192.168.1.2",
    nodeHostname: "node-1",
    rootDir,
    cgroupRoot: "",
    clusterDns: { servers: ["10.96.0.10"], domain: "cluster.local", hostResolvConf: "" },
    envSources: { services: () => [], getConfigMap: () => Promise.resolve(undefined), getSecret: () => Promise.resolve(undefined), nodeName: "node-1", nodeIP: "192.168.1.2" },
    volumes: new VolumeManager({ rootDir, sources: { getConfigMap: () => Promise.resolve(undefined), getSecret: () => Promise.resolve(undefined) }, logger, nodeName: "node-1" }),
    prober,
    memoryCapacity: 1 << 30,
  });
  const m = manager;
  const stop = new AbortController();
  const h: Harness & { prober: SetProber } = {
    node: testNode(),
    prober,
    clock,
    client,
    recorder,
    runtime,
    manager: m,
    stop,
    async settle() {
      for (let i = 0; i < 4; i++) {
        await flushPromises();
        await m.idle();
      }
    },
    pod: (name = "web") => client.object<Pod>(PODS, "default", name)!,
    seed(pod) {
      const stored = client.seed(pod);
      m.upsert(stored);
      return stored;
    },
  };
  harnesses.push(h);
  void m.run(stop.signal);
  return h;
}

describe("PodManager", () => {
  it("runs a pod: sandbox, image, container, events, and a Running status written once", async () => {
    const h = harness();
    h.seed(testPod({ containers: [{ name: "app", image: "nginx:1.25", imagePullPolicy: "IfNotPresent" }] }));
    await h.settle();
    expect(h.runtime.calls.filter((c) => !c.startsWith("Stop"))).toEqual(["RunPodSandbox web 0", expect.stringMatching(/^CreateContainer app 0$/), expect.stringMatching(/^StartContainer c\d+$/)]);
    expect(h.recorder.reasons()).toEqual(["Pulled", "Created", "Started"]);
    const status = h.pod().status!;
    expect(status).toMatchObject({ phase: "Running", podIP: "10.244.0.2", hostIP: "192.168.1.2" });
    expect(status.containerStatuses?.[0]).toMatchObject({ name: "app", ready: true, restartCount: 0 });
    expect(status.containerStatuses?.[0]?.containerID).toMatch(/^fake:\/\/c\d+$/);
    const writes = h.client.actionsFor("update", "pods", "status").length;
    expect(writes).toBe(1);
    await h.clock.advance(61_000);
    await h.settle();
    expect(h.client.actionsFor("update", "pods", "status").length).toBe(writes);
  });

  it("syncs a started pod once: neither the watch echo of its own status (before the write's response) nor the next relist wakes it", async () => {
    const h = harness();
    const update = h.client.updateStatus.bind(h.client);
    // The informer delivers the written status before the PUT's response comes back, as it often does.
    vi.spyOn(h.client, "updateStatus").mockImplementation(async (info, namespace, obj) => {
      const stored = await update(info, namespace, obj);
      h.manager.upsert(stored);
      return stored;
    });
    const lists = vi.spyOn(h.runtime, "listContainers");
    const podReads = (): number => lists.mock.calls.filter(([filter]) => filter?.labelSelector !== undefined).length;
    h.seed(testPod());
    await h.settle();
    expect(h.pod().status?.phase).toBe("Running");
    // One sync reads the pod's state twice: before acting and after.
    expect(podReads()).toBe(2);
    await h.clock.advance(1000);
    await h.settle();
    expect(lists.mock.calls.length).toBeGreaterThan(podReads());
    expect(podReads()).toBe(2);
    // A change the worker did not make still wakes it.
    h.runtime.exit(h.runtime.running("app")[0]!.id, 1);
    await h.clock.advance(1000);
    await h.settle();
    expect(podReads()).toBeGreaterThan(2);
    expect(h.pod().status?.containerStatuses?.[0]).toMatchObject({ restartCount: 1 });
  });

  it("restarts a container that exits before its sync ends: the relist still wakes the worker", async () => {
    const h = harness();
    const start = h.runtime.startContainer.bind(h.runtime);
    // The first container crashes at once, before the worker reads the pod's state after its sync.
    let crashes = 1;
    vi.spyOn(h.runtime, "startContainer").mockImplementation(async (id) => {
      await start(id);
      if (crashes-- > 0) h.runtime.exit(id, 1);
    });
    h.seed(testPod());
    await h.settle();
    expect(h.runtime.running("app")).toHaveLength(0);
    await h.clock.advance(1000);
    await h.settle();
    expect(h.pod().status?.containerStatuses?.[0]).toMatchObject({ restartCount: 1, state: { running: {} }, lastState: { terminated: { exitCode: 1 } } });
  });

  it("restarts a crashing container at once, then backs off (CrashLoopBackOff), then restarts after 10 s", async () => {
    const h = harness();
    h.seed(testPod());
    await h.settle();
    const first = h.runtime.running("app")[0]!;
    h.runtime.exit(first.id, 1);
    await h.clock.advance(1000);
    await h.settle();
    expect(h.pod().status?.containerStatuses?.[0]).toMatchObject({ restartCount: 1, state: { running: {} }, lastState: { terminated: { exitCode: 1, reason: "Error" } } });
    h.runtime.exit(h.runtime.running("app")[0]!.id, 1);
    await h.clock.advance(1000);
    await h.settle();
    const looping = h.pod().status?.containerStatuses?.[0];
    expect(looping).toMatchObject({ restartCount: 1, state: { waiting: { reason: "CrashLoopBackOff" } }, lastState: { terminated: { exitCode: 1 } } });
    expect(looping?.state?.waiting?.message).toBe("back-off 10s restarting failed container=app pod=web_default(uid-web)");
    expect(h.recorder.messages()).toContain("Warning BackOff Back-off restarting failed container app in pod web_default(uid-web)");
    await h.clock.advance(10_000);
    await h.settle();
    expect(h.pod().status?.containerStatuses?.[0]).toMatchObject({ restartCount: 2, state: { running: {} } });
    // Only the newest exited instance is kept, for logs --previous.
    expect([...h.runtime.containers.values()].filter((c) => c.state === "CONTAINER_EXITED")).toHaveLength(1);
  });

  it("finishes a restartPolicy Never pod: Succeeded, sandbox stopped, nothing restarted", async () => {
    const h = harness();
    h.seed(testPod({ restartPolicy: "Never" }));
    await h.settle();
    h.runtime.exit(h.runtime.running("app")[0]!.id, 0);
    await h.clock.advance(1000);
    await h.settle();
    expect(h.pod().status).toMatchObject({ phase: "Succeeded", containerStatuses: [{ state: { terminated: { exitCode: 0, reason: "Completed" } } }] });
    expect([...h.runtime.sandboxes.values()].map((s) => s.state)).toEqual(["SANDBOX_NOTREADY"]);
    await h.clock.advance(61_000);
    await h.settle();
    expect(h.runtime.calls.filter((c) => c.startsWith("CreateContainer"))).toHaveLength(1);
  });

  it("lets a container's command decide its fate: Never + echo Succeeded, Never + exit 3 Failed", async () => {
    const h = harness();
    h.seed(testPod({ restartPolicy: "Never", containers: [{ name: "app", image: "busybox", args: ["echo", "hi"] }] }, "echo"));
    h.seed(testPod({ restartPolicy: "Never", containers: [{ name: "app", image: "busybox", command: ["sh", "-c", "exit 3"] }] }, "fail"));
    await h.clock.advance(1000);
    await h.settle();
    expect(h.pod("echo").status).toMatchObject({ phase: "Succeeded", containerStatuses: [{ state: { terminated: { exitCode: 0, reason: "Completed" } } }] });
    expect(h.pod("fail").status).toMatchObject({ phase: "Failed", containerStatuses: [{ state: { terminated: { exitCode: 3, reason: "Error" } } }] });
  });

  it("runs `sleep N` for N seconds; OnFailure keeps a successful pod Succeeded, Always restarts it", async () => {
    const h = harness();
    h.seed(testPod({ restartPolicy: "OnFailure", containers: [{ name: "app", image: "busybox", command: ["sleep", "5"] }] }, "once"));
    h.seed(testPod({ restartPolicy: "Always", containers: [{ name: "app", image: "busybox", command: ["sleep", "5"] }] }, "again"));
    await h.settle();
    await h.clock.advance(3000);
    await h.settle();
    expect(h.pod("once").status?.phase).toBe("Running");
    await h.clock.advance(3000);
    await h.settle();
    expect(h.pod("once").status?.phase).toBe("Succeeded");
    expect(h.pod("again").status).toMatchObject({ phase: "Running", containerStatuses: [{ restartCount: 1 }] });
  });

  it("restarts a failing command under OnFailure and keeps the pod Running", async () => {
    const h = harness();
    h.seed(testPod({ restartPolicy: "OnFailure", containers: [{ name: "app", image: "busybox", command: ["false"] }] }));
    await h.clock.advance(1000);
    await h.settle();
    expect(h.pod().status?.phase).toBe("Running");
    expect(h.pod().status?.containerStatuses?.[0]?.restartCount).toBeGreaterThanOrEqual(1);
  });

  it("runs init containers in order before the app container", async () => {
    const h = harness();
    h.seed(testPod({ initContainers: [{ name: "one", image: "busybox" }, { name: "two", image: "busybox" }] }));
    await h.settle();
    expect(h.pod().status).toMatchObject({ phase: "Pending", initContainerStatuses: [{ name: "one", state: { running: {} } }, { name: "two", state: { waiting: { reason: "PodInitializing" } } }] });
    h.runtime.exit(h.runtime.running("one")[0]!.id, 0);
    await h.clock.advance(1000);
    await h.settle();
    h.runtime.exit(h.runtime.running("two")[0]!.id, 0);
    await h.clock.advance(1000);
    await h.settle();
    expect(h.runtime.calls.filter((c) => c.startsWith("CreateContainer"))).toEqual(["CreateContainer one 0", "CreateContainer two 0", "CreateContainer app 0"]);
    expect(h.pod().status?.phase).toBe("Running");
    expect(h.pod().status?.conditions?.find((c) => c.type === "Initialized")?.status).toBe("True");
  });

  it("stops a deleted pod within its grace period, then deletes it with grace 0 and its uid, and cleans up", async () => {
    const h = harness();
    h.seed(testPod({ terminationGracePeriodSeconds: 7 }));
    await h.settle();
    const pod = structuredClone(h.pod());
    pod.metadata.deletionTimestamp = "2024-01-01T10:00:30Z";
    pod.metadata.deletionGracePeriodSeconds = 7;
    h.seed(pod);
    await h.settle();
    expect(h.runtime.calls).toContainEqual(expect.stringMatching(/^StopContainer c\d+ 7$/));
    expect(h.recorder.messages()).toContain("Normal Killing Stopping container app");
    const deletes = h.client.actionsFor("delete", "pods");
    expect(deletes.map((d) => d.deleteOptions)).toEqual([{ gracePeriodSeconds: 0, preconditions: { uid: "uid-web" } }]);
    expect(h.runtime.sandboxes.size + h.runtime.containers.size).toBe(0);
  });

  it("adopts running containers after a restart: no new container, no status write", async () => {
    const first = harness();
    first.seed(testPod());
    await first.settle();
    first.stop.abort();
    first.manager.stop();
    const id = first.pod().status?.containerStatuses?.[0]?.containerID;
    const writes = first.client.actionsFor("update", "pods", "status").length;
    const second = harness({ clock: first.clock, client: first.client, runtime: first.runtime });
    second.manager.upsert(first.pod());
    await second.clock.advance(2000);
    await second.settle();
    expect(first.runtime.calls.filter((c) => c.startsWith("CreateContainer"))).toHaveLength(1);
    expect(second.pod().status?.containerStatuses?.[0]?.containerID).toBe(id);
    expect(first.client.actionsFor("update", "pods", "status").length).toBe(writes);
  });

  it("removes what the runtime holds for a pod the API no longer has", async () => {
    const h = harness();
    const pod = h.seed(testPod());
    await h.settle();
    h.manager.remove(pod);
    await h.settle();
    expect(h.runtime.sandboxes.size + h.runtime.containers.size).toBe(0);
    expect(h.client.actionsFor("delete", "pods")).toEqual([]);
  });

  it("reports ErrImageNeverPull for a missing image under pull policy Never", async () => {
    const h = harness();
    h.seed(testPod({ containers: [{ name: "app", image: "missing:v1", imagePullPolicy: "Never" }] }));
    await h.settle();
    expect(h.pod().status?.containerStatuses?.[0]?.state).toEqual({ waiting: { reason: "ErrImageNeverPull", message: 'Container image "missing:v1" is not present with pull policy of Never' } });
  });

  it("cycles ErrImagePull → ImagePullBackOff with pulls 10 s then 20 s apart, and runs the pod once its image is changed to one that exists", async () => {
    const h = harness();
    h.seed(testPod({ containers: [{ name: "app", image: "webserver:404", imagePullPolicy: "IfNotPresent" }] }));
    await h.settle();
    const waiting = () => h.pod().status?.containerStatuses?.[0]?.state?.waiting;
    const pulls = () => h.runtime.calls.filter((c) => c === "PullImage webserver:404").length;
    expect(waiting()).toEqual({ reason: "ErrImagePull", message: "rpc error: code = NotFound desc = webserver:404: not found" });
    expect(h.pod().status?.phase).toBe("Pending");
    expect(h.pod().status?.conditions?.find((c) => c.type === "Ready")).toMatchObject({ status: "False", reason: "ContainersNotReady" });
    await h.clock.advance(1000);
    await h.settle();
    expect(waiting()).toEqual({ reason: "ImagePullBackOff", message: 'Back-off pulling image "webserver:404"' });
    expect(pulls()).toBe(1);
    await h.clock.advance(9000);
    await h.settle();
    expect(pulls()).toBe(2);
    await h.clock.advance(19_000);
    await h.settle();
    expect(pulls()).toBe(2);
    expect(waiting()?.reason).toBe("ImagePullBackOff");
    await h.clock.advance(1000);
    await h.settle();
    expect(pulls()).toBe(3);
    expect(h.recorder.messages().filter((m) => m.includes("Failed") || m.includes("BackOff"))).toEqual(
      expect.arrayContaining(['Warning Failed Failed to pull image "webserver:404": rpc error: code = NotFound desc = webserver:404: not found', "Warning Failed Error: ErrImagePull", 'Normal BackOff Back-off pulling image "webserver:404"', "Warning Failed Error: ImagePullBackOff"]),
    );
    // The pod's image changed to one that exists (kubectl set image on a bare pod): it starts without waiting out the backoff.
    const fixed = structuredClone(h.pod());
    fixed.spec!.containers[0]!.image = "nginx:1.25";
    fixed.metadata.resourceVersion = String(Number(fixed.metadata.resourceVersion ?? "1") + 1);
    h.seed(fixed);
    await h.settle();
    expect(h.pod().status).toMatchObject({ phase: "Running" });
    expect(h.pod().status?.containerStatuses?.[0]).toMatchObject({ image: "nginx:1.25", ready: true });
    expect(h.pod().status?.containerStatuses?.[0]?.state?.running).toBeDefined();
  });

  it("runs a static pod, keeps its mirror pod (made again when deleted) and writes its status there", async () => {
    const h = harness();
    const [staticPod] = staticPodsFromManifest("apiVersion: v1\nkind: Pod\nmetadata: {name: etcd}\nspec:\n  containers: [{name: etcd, image: busybox}]\n", "/m/etcd.yaml", "node-1", "2024-01-01T10:00:00Z");
    h.manager.setStaticPods([staticPod!]);
    await h.settle();
    const mirror = h.pod("etcd-node-1");
    expect(mirror.metadata.annotations?.[CONFIG_MIRROR_ANNOTATION]).toBe(staticPod!.metadata.uid);
    expect(mirror.metadata.uid).not.toBe(staticPod!.metadata.uid);
    // The informer delivers the mirror; its status is the static pod's.
    h.manager.upsert(mirror);
    await h.clock.advance(1000);
    await h.settle();
    expect(h.pod("etcd-node-1").status).toMatchObject({ phase: "Running", containerStatuses: [{ name: "etcd", ready: true }] });

    h.client.remove(PODS, "default", "etcd-node-1");
    h.manager.remove(mirror);
    await h.settle();
    expect(h.pod("etcd-node-1").metadata.uid).not.toBe(mirror.metadata.uid);
    expect(h.runtime.calls.filter((c) => c.startsWith("CreateContainer"))).toHaveLength(1);

    h.manager.upsert(h.pod("etcd-node-1"));
    h.manager.setStaticPods([]);
    await h.settle();
    expect(h.runtime.containers.size + h.runtime.sandboxes.size).toBe(0);
    expect(h.client.object(PODS, "default", "etcd-node-1")).toBeUndefined();
  });

  it("replaces a dead sandbox (attempt + 1), recreates the containers and removes the empty old sandbox", async () => {
    const h = harness();
    h.seed(testPod());
    await h.settle();
    const [old] = [...h.runtime.sandboxes.keys()];
    await h.runtime.stopPodSandbox(old!);
    await h.clock.advance(1000);
    await h.settle();
    expect(h.runtime.calls).toContain("RunPodSandbox web 1");
    expect(h.recorder.reasons()).toContain("SandboxChanged");
    expect(h.pod().status?.containerStatuses?.[0]).toMatchObject({ restartCount: 1, state: { running: {} }, lastState: { terminated: { exitCode: 137 } } });
    // The old sandbox still holds the previous container (logs --previous); once that goes, so does the sandbox.
    expect(h.runtime.sandboxes.has(old!)).toBe(true);
    h.runtime.exit(h.runtime.running("app")[0]!.id, 1);
    await h.clock.advance(1000);
    await h.settle();
    await h.clock.advance(10_000);
    await h.settle();
    expect(h.pod().status?.containerStatuses?.[0]?.restartCount).toBe(2);
    expect(h.runtime.sandboxes.has(old!)).toBe(false);
  });

  it("kills and restarts a container whose liveness probe failed; runs preStop hooks before stopping", async () => {
    const h = harness();
    h.seed(testPod({ containers: [{ name: "app", image: "busybox", livenessProbe: { exec: { command: ["true"] } }, lifecycle: { preStop: { exec: { command: ["sh", "-c", "sleep 1"] } } } }] }));
    await h.settle();
    const first = h.runtime.running("app")[0]!;
    h.prober.answers.set(`liveness/${first.id}`, "Failure");
    h.manager.wake("uid-web");
    await h.settle();
    expect(h.recorder.messages()).toContain("Normal Killing Container app failed liveness probe, will be restarted");
    expect(h.runtime.calls).toContain(`ExecSync ${first.id} sh -c sleep 1`);
    expect(h.runtime.calls).toContain(`StopContainer ${first.id} 30`);
    expect(h.pod().status?.containerStatuses?.[0]).toMatchObject({ restartCount: 1, state: { running: {} }, lastState: { terminated: { exitCode: 143 } } });
  });

  it("fails a pod past its activeDeadlineSeconds (DeadlineExceeded) and stops its containers", async () => {
    const h = harness();
    h.seed(testPod({ activeDeadlineSeconds: 30 }));
    await h.settle();
    await h.clock.advance(31_000);
    await h.settle();
    expect(h.pod().status).toMatchObject({ phase: "Failed", reason: "DeadlineExceeded", message: "Pod was active on the node longer than the specified deadline" });
    expect(h.runtime.running("app")).toEqual([]);
    expect(h.recorder.reasons()).toContain("DeadlineExceeded");
  });

  it("kills a container whose postStart hook failed", async () => {
    const h = harness();
    h.runtime.execSync = (id, cmd) => {
      h.runtime.calls.push(`ExecSync ${id} ${cmd.join(" ")}`);
      return Promise.resolve({ stdout: Buffer.from("no"), stderr: Buffer.alloc(0), exitCode: 1 });
    };
    h.seed(testPod({ containers: [{ name: "app", image: "busybox", lifecycle: { postStart: { exec: { command: ["false"] } } } }] }));
    await h.settle();
    expect(h.recorder.reasons()).toContain("FailedPostStartHook");
    expect(h.runtime.running("app")).toEqual([]);
    expect(h.pod().status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe("PostStartHookError");
  });
});

describe("PodManager admission", () => {
  const withHostPort = (name: string): Pod => testPod({ containers: [{ name: "app", image: "busybox", ports: [{ containerPort: 80, hostPort: 8080 }] }] }, name);

  it("rejects a second pod claiming a host port in use: Failed (NodePorts), a Warning event, never started", async () => {
    const h = harness();
    h.seed(withHostPort("first"));
    await h.settle();
    expect(h.pod("first").status?.phase).toBe("Running");
    h.seed(withHostPort("second"));
    await h.settle();
    const status = h.pod("second").status!;
    expect(status).toMatchObject({ phase: "Failed", reason: "NodePorts", message: "Pod was rejected: Predicate NodePorts failed" });
    expect(status.startTime).toBeDefined();
    expect(status.conditions).toBeUndefined();
    expect(h.recorder.withReason("NodePorts").map((e) => `${e.object.name} ${e.type} ${e.message}`)).toEqual(["second Warning Predicate NodePorts failed"]);
    expect(h.runtime.calls.filter((c) => c.startsWith("RunPodSandbox second"))).toEqual([]);
    // Never reconsidered: the decision stands after the first pod is gone.
    const first = h.pod("first");
    h.client.remove(PODS, "default", "first");
    h.manager.remove(first);
    await h.clock.advance(61_000);
    await h.settle();
    expect(h.pod("second").status?.phase).toBe("Failed");
    expect(h.runtime.calls.filter((c) => c.startsWith("RunPodSandbox second"))).toEqual([]);
  });

  it("does not count admitted pods in a terminal phase", async () => {
    const h = harness();
    h.seed({ ...withHostPort("done"), spec: { ...withHostPort("done").spec!, restartPolicy: "Never" } });
    await h.settle();
    h.runtime.exit(h.runtime.running("app")[0]!.id, 0);
    await h.clock.advance(1000);
    await h.settle();
    expect(h.pod("done").status?.phase).toBe("Succeeded");
    h.seed(withHostPort("next"));
    await h.settle();
    expect(h.pod("next").status?.phase).toBe("Running");
  });

  it("waits while the Node has no allocatable yet (created before the kubelet wrote its status), then admits", async () => {
    const h = harness();
    const node = testNode();
    h.node = { ...node, status: {} };
    h.seed(testPod({ containers: [{ name: "app", image: "busybox" }] }, "early"));
    await h.settle();
    expect(h.pod("early").status?.phase).toBe("Pending");
    expect(h.recorder.messages()).toEqual([]);
    h.node = node;
    await h.clock.advance(1000);
    await h.settle();
    expect(h.pod("early").status?.phase).toBe("Running");
  });

  it("rejects a pod beyond allocatable cpu (OutOfcpu) and waits for the Node before deciding", async () => {
    const h = harness();
    h.node = undefined;
    h.seed(testPod({ containers: [{ name: "app", image: "busybox", resources: { requests: { cpu: "5" } } }] }, "big"));
    await h.settle();
    expect(h.pod("big").status?.phase).toBe("Pending");
    expect(h.runtime.calls).toEqual([]);
    h.node = testNode();
    await h.clock.advance(1000);
    await h.settle();
    expect(h.pod("big").status).toMatchObject({ phase: "Failed", reason: "OutOfcpu", message: "Pod was rejected: Node didn't have enough resource: cpu, requested: 5000, used: 0, capacity: 4000" });
    expect(h.recorder.messages()).toEqual(["Warning OutOfcpu Node didn't have enough resource: cpu, requested: 5000, used: 0, capacity: 4000"]);
  });
});
