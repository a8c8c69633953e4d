import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../component-base/logging.js";
import { FakeClock } from "../../component-base/testing/fake-clock.js";
import { CONFIG_HASH_ANNOTATION, CONFIG_SOURCE_ANNOTATION, isStaticPod, StaticPodSource, staticPodsFromManifest } from "./static-pods.js";

const MANIFEST = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: nginx\n    image: nginx\n";

describe("staticPodsFromManifest", () => {
  it("names the pod for the node, binds it, and derives a stable uid from node, file and content", () => {
    const [pod] = staticPodsFromManifest(MANIFEST, "/etc/kubelab/manifests/web.yaml", "node-1", "2024-01-01T00:00:00Z");
    expect(pod?.metadata).toMatchObject({ name: "web-node-1", namespace: "default" });
    expect(pod?.spec).toMatchObject({ nodeName: "node-1", restartPolicy: "Always", containers: [{ name: "nginx", imagePullPolicy: "Always" }] });
    expect(pod?.metadata.annotations).toMatchObject({ [CONFIG_SOURCE_ANNOTATION]: "file", [CONFIG_HASH_ANNOTATION]: pod?.metadata.uid });
    expect(isStaticPod(pod!)).toBe(true);
    const again = staticPodsFromManifest(MANIFEST, "/etc/kubelab/manifests/web.yaml", "node-1", "2024-01-02T00:00:00Z")[0];
    expect(again?.metadata.uid).toBe(pod?.metadata.uid);
    expect(staticPodsFromManifest(MANIFEST.replace("nginx\n", "nginx:1.25\n"), "/etc/kubelab/manifests/web.yaml", "node-1", "")[0]?.metadata.uid).not.toBe(pod?.metadata.uid);
    expect(staticPodsFromManifest(MANIFEST, "/etc/kubelab/manifests/web.yaml", "node-2", "")[0]?.metadata.uid).not.toBe(pod?.metadata.uid);
  });

  it("refuses what is not a Pod", () => {
    expect(() => staticPodsFromManifest("kind: Service\nmetadata: {name: x}\n", "f.yaml", "n", "")).toThrow(/not a Pod manifest/);
  });
});

describe("StaticPodSource", () => {
  let dir = "";
  afterEach(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("reads every manifest of the directory and skips bad ones", () => {
    dir = mkdtempSync(join(tmpdir(), "kcore-static-"));
    writeFileSync(join(dir, "web.yaml"), MANIFEST);
    writeFileSync(join(dir, "broken.yaml"), "kind: [");
    writeFileSync(join(dir, "notes.txt"), "not a manifest");
    const source = new StaticPodSource({ dir, nodeName: "node-1", clock: new FakeClock(), logger: silentLogger(), onPods: () => undefined });
    expect(source.read().map((p) => p.metadata.name)).toEqual(["web-node-1"]);
  });
});
