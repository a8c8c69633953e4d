// ImageLocality: prefers nodes that already hold the pod's images (node.status.images), as Kubernetes scores it:
// each image present adds its size scaled by the share of nodes that have it (so an image everywhere does not
// pull pods to one node), and the sum, clamped to 23 MB .. 1000 MB per container, maps linearly onto 0..100.
import type { Pod } from "../../api/types/index.js";
import { MAX_NODE_SCORE, Status, StateKey, type CycleState, type Handle, type PreScorePlugin, type ScorePlugin } from "../framework/interface.js";
import { normalizedImageName, type NodeInfo } from "../framework/node-info.js";

export const NAME = "ImageLocality";

const MB = 1024 * 1024;
export const MIN_THRESHOLD = 23 * MB;
export const MAX_CONTAINER_THRESHOLD = 1000 * MB;

interface State {
  /** Each container's (init and regular) normalized image name. */
  images: string[];
  /** Image → nodes holding it. */
  spread: Map<string, number>;
  totalNodes: number;
}

const STATE = new StateKey<State>(NAME);

export class ImageLocality implements PreScorePlugin, ScorePlugin {
  readonly name = NAME;

  constructor(private readonly handle: Handle) {}

  preScore(state: CycleState, pod: Readonly<Pod>, feasible: readonly NodeInfo[]): Status {
    const images = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => normalizedImageName(c.image ?? ""));
    const all = this.handle.lister?.nodeInfos() ?? feasible;
    const spread = new Map<string, number>();
    for (const image of new Set(images)) {
      let n = 0;
      for (const info of all) if (info.imageSizes.has(image)) n++;
      spread.set(image, n);
    }
    state.write(STATE, { images, spread, totalNodes: all.length });
    return Status.SUCCESS;
  }

  score(state: CycleState, _pod: Readonly<Pod>, nodeInfo: NodeInfo): number {
    const s = state.read(STATE);
    if (!s || s.totalNodes === 0) return 0;
    let sum = 0;
    for (const image of s.images) {
      const size = nodeInfo.imageSizes.get(image);
      if (size !== undefined) sum += Math.trunc(size * ((s.spread.get(image) ?? 0) / s.totalNodes));
    }
    const max = MAX_CONTAINER_THRESHOLD * s.images.length;
    const clamped = Math.min(Math.max(sum, MIN_THRESHOLD), max);
    return Math.trunc((MAX_NODE_SCORE * (clamped - MIN_THRESHOLD)) / (max - MIN_THRESHOLD));
  }
}

export function create(_args: unknown, handle: Handle): ImageLocality {
  return new ImageLocality(handle);
}
