import { describe, expect, it } from "vitest";
import type { ContainerStatus } from "../../api/types/core.js";
import type * as cri from "../../client/cri/types.js";
import { imageSpec } from "../../client/cri/types.js";
import { CONTAINER_RESTART_COUNT_ANNOTATION } from "../runtime-labels.js";
import { selectLogContainer, sortNewestFirst } from "./server.js";

function container(id: string, restarts: number, state: cri.ContainerState): cri.Container {
  return { id, podSandboxId: "sb", metadata: { name: "app", attempt: restarts }, image: imageSpec("x"), imageRef: "x", imageId: "x", state, createdAt: BigInt(restarts), labels: {}, annotations: { [CONTAINER_RESTART_COUNT_ANNOTATION]: String(restarts) } };
}

const names = { pod: "web", container: "app" };
const status = (state: ContainerStatus["state"]): ContainerStatus => ({ name: "app", ready: false, restartCount: 1, image: "x", imageID: "", state: state ?? {} });

describe("the container a log request reads", () => {
  const running = container("c2", 2, "CONTAINER_RUNNING");
  const exited = container("c1", 1, "CONTAINER_EXITED");

  it("orders the runtime's instances newest first by restart count", () => {
    expect(sortNewestFirst([exited, running, container("c0", 0, "CONTAINER_EXITED")]).map((c) => c.id)).toEqual(["c2", "c1", "c0"]);
  });

  it("reads the current instance, or the one before it with previous", () => {
    expect(selectLogContainer([running, exited], status({ running: {} }), false, names)).toEqual({ id: "c2" });
    expect(selectLogContainer([running, exited], status({ running: {} }), true, names)).toEqual({ id: "c1" });
  });

  it("reads the last exited instance for both while the container waits to restart", () => {
    const crashed = container("c3", 3, "CONTAINER_EXITED");
    const waiting = status({ waiting: { reason: "CrashLoopBackOff" } });
    expect(selectLogContainer([crashed, running], waiting, false, names)).toEqual({ id: "c3" });
    expect(selectLogContainer([crashed, running], waiting, true, names)).toEqual({ id: "c3" });
  });

  it("answers with Kubernetes' messages when there is nothing to read", () => {
    expect(selectLogContainer([running], status({ running: {} }), true, names)).toEqual({ error: 'previous terminated container "app" in pod "web" not found' });
    expect(selectLogContainer([], undefined, false, names)).toEqual({ error: 'container "app" in pod "web" is waiting to start: ContainerCreating' });
    expect(selectLogContainer([], status({ waiting: { reason: "ImagePullBackOff" } }), false, names)).toEqual({ error: 'container "app" in pod "web" is waiting to start: trying and failing to pull image' });
  });
});
