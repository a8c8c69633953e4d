import { describe, expect, it } from "vitest";
import { newNode, newPod } from "../../api/testing/builders.js";
import type { Node } from "../../api/types/index.js";
import { normalizedImageName } from "../framework/node-info.js";
import { handleFor, nodeInfoOf, runScore } from "../framework/testing.js";
import { create } from "./image-locality.js";

const MB = 1024 * 1024;

function withImages(name: string, images: [string, number][]): Node {
  const n = newNode(name);
  n.status!.images = images.map(([image, mb]) => ({ names: [image], sizeBytes: mb * MB }));
  return n;
}

describe("ImageLocality", () => {
  it("normalizes image names without a tag to :latest", () => {
    expect(normalizedImageName("nginx")).toBe("nginx:latest");
    expect(normalizedImageName("registry:5000/app")).toBe("registry:5000/app:latest");
    expect(normalizedImageName("nginx:1.27")).toBe("nginx:1.27");
  });

  it("scores the image size scaled by its spread, clamped to 23 MB .. 1000 MB per container", () => {
    const nodes = [
      nodeInfoOf(withImages("big", [["app:1", 800]])),
      nodeInfoOf(withImages("small", [["app:2", 800], ["nginx:latest", 10]])),
      nodeInfoOf(withImages("both", [["app:1", 800], ["nginx:latest", 500]])),
      nodeInfoOf(newNode("none")),
    ];
    const plugin = create(undefined, handleFor({ nodes }));
    // app:1 is on 2 of 4 nodes → 400 MB; (400 − 23) / (1000 − 23) · 100 = 38.
    expect(runScore(plugin, newPod("p", { image: "app:1" }), nodes)).toEqual([38, 0, 38, 0]);
    // Two containers: max 2000 MB. both: 400 + 500·(2/4) = 650 → (650 − 23) / 1977 → 31; big: 400 → 19; small: 5 → 0.
    const two = newPod("p", { containers: [{ name: "a", image: "app:1" }, { name: "b", image: "nginx" }] });
    expect(runScore(plugin, two, nodes)).toEqual([19, 0, 31, 0]);
  });
});
