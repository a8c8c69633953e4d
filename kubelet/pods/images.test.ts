import { describe, expect, it } from "vitest";
import type { Container } from "../../api/types/index.js";
import { FakeRecorder } from "../../client/testing/fake-recorder.js";
import { notFound } from "../../client/cri/errors.js";
import type * as cri from "../../client/cri/types.js";
import { FakeClock } from "../../component-base/testing/fake-clock.js";
import { formatPullDuration, ImageManager } from "./images.js";
import { testPod } from "./testing.js";

function setup(present: string[], pullable: string[]) {
  const store = new Set(present);
  const pulls: string[] = [];
  const clock = new FakeClock();
  const recorder = new FakeRecorder();
  const runtime = {
    imageStatus: (spec: cri.ImageSpec): Promise<cri.Image | undefined> =>
      Promise.resolve(store.has(spec.image) ? { id: "sha256:1", repoTags: [spec.image], repoDigests: [], size: 4096, username: "", pinned: false } : undefined),
    pullImage: (req: cri.PullImageRequest): Promise<string> => {
      pulls.push(req.image.image);
      clock.step(1500);
      if (!pullable.includes(req.image.image)) return Promise.reject(notFound(`${req.image.image}: not found`));
      store.add(req.image.image);
      return Promise.resolve("sha256:1");
    },
  };
  return { images: new ImageManager({ runtime, recorder, clock }), pulls, clock, recorder };
}

const ref = { kind: "Pod", name: "web", namespace: "default", fieldPath: "spec.containers{app}" };
const container = (image: string, imagePullPolicy?: Container["imagePullPolicy"]): Container => ({ name: "app", image, ...(imagePullPolicy ? { imagePullPolicy } : {}) });

describe("ImageManager", () => {
  it("pulls per policy: IfNotPresent uses a present image, Always (and :latest) pulls", async () => {
    const { images, pulls, recorder } = setup(["nginx:1.25", "busybox"], ["busybox"]);
    expect(await images.ensureImage(testPod(), container("nginx:1.25"), ref)).toEqual({ ok: true, image: "nginx:1.25" });
    expect(recorder.messages()).toEqual(['Normal Pulled Container image "nginx:1.25" already present on machine']);
    expect(await images.ensureImage(testPod(), container("busybox"), ref)).toEqual({ ok: true, image: "busybox" });
    expect(pulls).toEqual(["busybox"]);
    expect(recorder.reasons().slice(1)).toEqual(["Pulling", "Pulled"]);
    expect(recorder.messages()[2]).toBe('Normal Pulled Successfully pulled image "busybox" in 1.5s (1.5s including waiting). Image size: 4096 bytes.');
  });

  it("refuses a missing image under Never with ErrImageNeverPull", async () => {
    const { images, pulls } = setup([], []);
    const result = await images.ensureImage(testPod(), container("app:v1", "Never"), ref);
    expect(result).toEqual({ ok: false, waiting: { reason: "ErrImageNeverPull", message: 'Container image "app:v1" is not present with pull policy of Never' }, retryInMs: 0 });
    expect(pulls).toEqual([]);
  });

  it("reports ErrImagePull, then ImagePullBackOff until the backoff ends, doubling", async () => {
    const { images, pulls, clock, recorder } = setup([], []);
    const pod = testPod();
    const first = await images.ensureImage(pod, container("nothing:here"), ref);
    // The waiting message is the runtime's error as Go's gRPC client prints it; the event adds the image.
    expect(first).toMatchObject({ ok: false, waiting: { reason: "ErrImagePull", message: "rpc error: code = NotFound desc = nothing:here: not found" } });
    expect(recorder.messages()).toEqual([
      'Normal Pulling Pulling image "nothing:here"',
      'Warning Failed Failed to pull image "nothing:here": rpc error: code = NotFound desc = nothing:here: not found',
      "Warning Failed Error: ErrImagePull",
    ]);
    clock.step(1000);
    const second = await images.ensureImage(pod, container("nothing:here"), ref);
    expect(second).toMatchObject({ ok: false, waiting: { reason: "ImagePullBackOff", message: 'Back-off pulling image "nothing:here"' } });
    expect(recorder.messages().slice(3)).toEqual(['Normal BackOff Back-off pulling image "nothing:here"', "Warning Failed Error: ImagePullBackOff"]);
    expect(second.ok ? 0 : second.retryInMs).toBe(9000);
    clock.step(9000);
    expect((await images.ensureImage(pod, container("nothing:here"), ref)).ok).toBe(false);
    expect(pulls).toEqual(["nothing:here", "nothing:here"]);
    clock.step(19_000);
    expect(await images.ensureImage(pod, container("nothing:here"), ref)).toMatchObject({ waiting: { reason: "ImagePullBackOff" } });
  });

  it("prints pull durations like Go", () => {
    expect(formatPullDuration(0.4)).toBe("0s"); // an instant (hollow) pull
    expect(formatPullDuration(523.7)).toBe("523ms");
    expect(formatPullDuration(1204)).toBe("1.204s");
    expect(formatPullDuration(2000)).toBe("2s");
  });
});
