// Makes a container's image present before it is created, per its imagePullPolicy (Kubernetes' imageManager):
// events Pulling / Pulled / Failed / BackOff, and the waiting reasons ErrImagePull, ImagePullBackOff (failed pulls
// back off 10 s doubling to 5 min, per pod and image) and ErrImageNeverPull. As in Kubernetes, ErrImagePull's
// waiting message is the runtime's error as the gRPC client prints it ("rpc error: code = NotFound desc = …"), and
// the Failed event quotes it after `Failed to pull image "<image>": `.
import { pullPolicyFor } from "../../api/defaults.js";
import type { Container, Pod } from "../../api/types/index.js";
import type { EventRecorder, ObjectReference } from "../../client/event-recorder.js";
import { CriError, rpcErrorText } from "../../client/cri/errors.js";
import { imageSpec } from "../../client/cri/types.js";
import type { Clock } from "../../component-base/clock.js";
import { IMAGE_BACKOFF, KeyedBackoff } from "./backoff.js";
import type { PodRuntime } from "./runtime.js";
import type { WaitingReason } from "./status.js";

/** How soon after a failed pull the pod syncs again (and reports ImagePullBackOff). */
const ERR_IMAGE_PULL_RESYNC_MS = 1000;

export type EnsureImageResult = { ok: true; image: string } | { ok: false; waiting: WaitingReason; retryInMs: number };

/** Go's time.Duration printing of a duration truncated to milliseconds: "0s", "523ms", "1.204s". */
export function formatPullDuration(ms: number): string {
  const whole = Math.max(0, Math.floor(ms));
  if (whole === 0) return "0s";
  if (whole < 1000) return `${whole}ms`;
  return `${(whole / 1000).toFixed(3).replace(/\.?0+$/, "")}s`;
}

/** A failed pull as the kubelet prints it: a runtime's error in the gRPC status form, anything else as it is. */
function pullErrorText(err: unknown): string {
  if (err instanceof CriError) return rpcErrorText(err.code, err.message);
  return err instanceof Error ? err.message : String(err);
}

export class ImageManager {
  private readonly backoff = new KeyedBackoff(IMAGE_BACKOFF);

  constructor(private readonly opts: { runtime: Pick<PodRuntime, "imageStatus" | "pullImage">; recorder: EventRecorder; clock: Clock }) {}

  async ensureImage(pod: Readonly<Pod>, container: Readonly<Container>, ref: ObjectReference): Promise<EnsureImageResult> {
    const { runtime, recorder, clock } = this.opts;
    const image = container.image ?? "";
    const policy = container.imagePullPolicy ?? pullPolicyFor(image);
    const present = await runtime.imageStatus(imageSpec(image));
    if (present && policy !== "Always") {
      recorder.event(ref, "Normal", "Pulled", `Container image "${image}" already present on machine`);
      return { ok: true, image };
    }
    if (policy === "Never") {
      const message = `Container image "${image}" is not present with pull policy of Never`;
      recorder.event(ref, "Warning", "ErrImageNeverPull", message);
      return { ok: false, waiting: { reason: "ErrImageNeverPull", message }, retryInMs: 0 };
    }
    const key = `${pod.metadata.uid ?? ""}/${image}`;
    const now = clock.now();
    if (this.backoff.isInBackOffSinceUpdate(key, now)) {
      const message = `Back-off pulling image "${image}"`;
      recorder.event(ref, "Normal", "BackOff", message);
      recorder.event(ref, "Warning", "Failed", "Error: ImagePullBackOff");
      return { ok: false, waiting: { reason: "ImagePullBackOff", message }, retryInMs: this.backoff.remainingSinceUpdateMs(key, now) };
    }
    recorder.event(ref, "Normal", "Pulling", `Pulling image "${image}"`);
    const started = clock.now();
    try {
      await runtime.pullImage({ image: imageSpec(image) });
    } catch (err) {
      const message = pullErrorText(err);
      recorder.event(ref, "Warning", "Failed", `Failed to pull image "${image}": ${message}`);
      recorder.event(ref, "Warning", "Failed", "Error: ErrImagePull");
      this.backoff.next(key, clock.now());
      // A sync soon after shows ImagePullBackOff for the rest of the backoff, as Kubernetes' frequent syncs do.
      return { ok: false, waiting: { reason: "ErrImagePull", message }, retryInMs: ERR_IMAGE_PULL_RESYNC_MS };
    }
    this.backoff.reset(key);
    const took = formatPullDuration(clock.now() - started);
    const size = (await runtime.imageStatus(imageSpec(image)).catch(() => undefined))?.size ?? 0;
    recorder.event(ref, "Normal", "Pulled", `Successfully pulled image "${image}" in ${took} (${took} including waiting). Image size: ${size} bytes.`);
    return { ok: true, image };
  }

  forgetPod(uid: string): void {
    this.backoff.resetPrefix(`${uid}/`);
  }
}
