import { describe, expect, it } from "vitest";
import type * as cri from "../../client/cri/types.js";
import { FakeClock } from "../../component-base/testing/fake-clock.js";
import { newPod } from "../../api/testing/builders.js";
import { steeringOf, unreadyView } from "./hollow-nodes.js";
import { DEFAULT_MISSING_IMAGES, MissingImages } from "./missing-images.js";
import { parseCIDR } from "./pod-ips.js";
import { HollowRuntime, simulatedExitCode, UNREADY_PROBE_COMMAND } from "./runtime.js";

function sandbox(uid: string, hostNetwork = false): cri.PodSandboxConfig {
  return {
    metadata: { name: uid, uid, namespace: "default", attempt: 0 },
    hostname: uid,
    logDirectory: "",
    portMappings: [],
    labels: { "io.kubernetes.pod.uid": uid },
    annotations: {},
    ...(hostNetwork ? { linux: { cgroupParent: "", sysctls: {}, namespaceOptions: { network: "NODE", pid: "CONTAINER", ipc: "POD", targetId: "" }, privileged: false, supplementalGroups: [], readonlyRootfs: false } } : {}),
  };
}

function runtime(clock: FakeClock, fails = new Set<string>(), fallback = "10.244.0.0/16") {
  return new HollowRuntime({ nodeName: "hn-0", clock, startDelayMs: 0, podCIDRWaitMs: 5000, podCIDRFallback: parseCIDR(fallback), missingImages: new MissingImages(DEFAULT_MISSING_IMAGES), failsAtStart: (uid) => fails.has(uid) });
}

const ipOf = async (rt: HollowRuntime, id: string) => (await rt.podSandboxStatus(id)).status.network?.ip;

describe("HollowRuntime", () => {
  it("gives sandboxes IPs from the podCIDR from .2 on, none to host-network ones, and frees them on removal", async () => {
    const rt = runtime(new FakeClock());
    await rt.updateRuntimeConfig("10.244.5.0/24");
    const a = await rt.runPodSandbox(sandbox("a"));
    const b = await rt.runPodSandbox(sandbox("b"));
    const h = await rt.runPodSandbox(sandbox("h", true));
    expect([await ipOf(rt, a), await ipOf(rt, b), await ipOf(rt, h)]).toEqual(["10.244.5.2", "10.244.5.3", ""]);
    expect(rt.readySandboxes()).toBe(3);
    await rt.removePodSandbox(a);
    expect(rt.readySandboxes()).toBe(2);
  });

  it("waits for a podCIDR, then falls back to a pseudo /24", async () => {
    const clock = new FakeClock();
    const rt = runtime(clock);
    const waiting = rt.runPodSandbox(sandbox("a"));
    await Promise.resolve();
    clock.step(5000);
    const id = await waiting;
    expect(await ipOf(rt, id)).toMatch(/^10\.244\.\d+\.2$/);

    const rt2 = runtime(clock);
    const early = rt2.runPodSandbox(sandbox("b"));
    await rt2.updateRuntimeConfig("10.244.9.0/24");
    expect(await ipOf(rt2, await early)).toBe("10.244.9.2");
  });

  it("runs containers until stopped; a pod steered to fail exits 1 at start", async () => {
    const rt = runtime(new FakeClock(), new Set(["bad"]));
    await rt.updateRuntimeConfig("10.244.5.0/24");
    const start = async (uid: string) => {
      const sb = await rt.runPodSandbox(sandbox(uid));
      const config = { metadata: { name: "c", attempt: 0 }, image: { image: "nginx" }, labels: { "io.kubernetes.pod.uid": uid }, annotations: {}, mounts: [] } as unknown as cri.ContainerConfig;
      const id = await rt.createContainer({ podSandboxId: sb, config, sandboxConfig: sandbox(uid) });
      await rt.startContainer(id);
      return (await rt.containerStatus(id)).status;
    };
    expect(await start("good")).toMatchObject({ state: "CONTAINER_RUNNING" });
    expect(await start("bad")).toMatchObject({ state: "CONTAINER_EXITED", exitCode: 1, reason: "Error" });
  });

  it("ends containers as their command says and announces a timed exit when it is due", async () => {
    const clock = new FakeClock();
    const exited: string[] = [];
    const rt = new HollowRuntime({ nodeName: "hn-0", clock, startDelayMs: 0, podCIDRWaitMs: 0, podCIDRFallback: parseCIDR("10.244.0.0/16"), missingImages: new MissingImages([]), failsAtStart: () => false, onContainerExit: (uid) => exited.push(uid) });
    await rt.updateRuntimeConfig("10.244.5.0/24");
    const start = async (uid: string, command: string[], args: string[] = []) => {
      const sb = await rt.runPodSandbox(sandbox(uid));
      const config: cri.ContainerConfig = { metadata: { name: "c", attempt: 0 }, image: { image: "busybox", annotations: {}, userSpecifiedImage: "busybox", runtimeHandler: "" }, command, args, workingDir: "", envs: [], mounts: [], labels: { "io.kubernetes.pod.uid": uid }, annotations: {}, logPath: "", stdin: false, stdinOnce: false, tty: false, stopSignal: "" };
      const id = await rt.createContainer({ podSandboxId: sb, config, sandboxConfig: sandbox(uid) });
      await rt.startContainer(id);
      return id;
    };
    const echo = await start("echo", [], ["echo", "hi"]);
    const fail = await start("fail", ["sh", "-c", "exit 7"]);
    const sleeper = await start("sleep", ["sleep", "5"]);
    const server = await start("server", ["nginx"]);
    expect((await rt.containerStatus(echo)).status).toMatchObject({ state: "CONTAINER_EXITED", exitCode: 0, reason: "Completed" });
    expect((await rt.containerStatus(fail)).status).toMatchObject({ state: "CONTAINER_EXITED", exitCode: 7, reason: "Error" });
    expect((await rt.containerStatus(sleeper)).status.state).toBe("CONTAINER_RUNNING");
    await clock.advance(5000);
    expect(exited).toEqual(["sleep"]);
    const slept = (await rt.containerStatus(sleeper)).status;
    expect(slept).toMatchObject({ state: "CONTAINER_EXITED", exitCode: 0 });
    expect(slept.finishedAt - slept.startedAt).toBeGreaterThanOrEqual(5000n * 1_000_000n - 1_000_000n);
    expect((await rt.containerStatus(server)).status.state).toBe("CONTAINER_RUNNING");
  });

  it("has every image but the missing ones, whose pulls fail NotFound with containerd's text", async () => {
    const rt = runtime(new FakeClock());
    const spec = (image: string): cri.ImageSpec => ({ image, annotations: {}, userSpecifiedImage: image, runtimeHandler: "" });
    expect(await rt.imageStatus(spec("registry.k8s.io/e2e-test-images/httpd:2.4.38-2"))).toMatchObject({ repoTags: ["registry.k8s.io/e2e-test-images/httpd:2.4.38-2"] });
    expect(await rt.pullImage({ image: spec("nginx:1.25") })).toMatch(/^nginx:1\.25@sha256:[0-9a-f]{64}$/);
    expect(await rt.imageStatus(spec("webserver:404"))).toBeUndefined();
    await expect(rt.pullImage({ image: spec("webserver:404") })).rejects.toMatchObject({
      codeName: "NOT_FOUND",
      message: 'failed to pull and unpack image "docker.io/library/webserver:404": failed to resolve reference "docker.io/library/webserver:404": docker.io/library/webserver:404: not found',
    });
  });

  it("answers exec with simulated exit codes", () => {
    expect(simulatedExitCode(["true"])).toBe(0);
    expect(simulatedExitCode(["false"])).toBe(1);
    expect(simulatedExitCode(["sh", "-c", "exit 3"])).toBe(3);
    expect(simulatedExitCode([UNREADY_PROBE_COMMAND])).toBe(1);
    expect(simulatedExitCode(["cat", "/tmp/healthy"])).toBe(0);
  });
});

describe("steering annotations", () => {
  it("fail and crashloop win over unready; only \"true\" counts", () => {
    const pod = (annotations: Record<string, string>) => ({ ...newPod("p"), metadata: { ...newPod("p").metadata, annotations } });
    expect(steeringOf(pod({ "kubelab.io/hollow-unready": "true", "kubelab.io/hollow-crashloop": "true" }))).toBe("fail");
    expect(steeringOf(pod({ "kubelab.io/hollow-unready": "true" }))).toBe("unready");
    expect(steeringOf(pod({ "kubelab.io/hollow-fail": "yes" }))).toBeUndefined();
  });

  it("an unready pod is seen with a readiness probe that fails", () => {
    const view = unreadyView(newPod("p", { containers: [{ name: "a", image: "nginx" }] }));
    expect(view.spec?.containers[0]?.readinessProbe?.exec?.command).toEqual([UNREADY_PROBE_COMMAND]);
  });
});
