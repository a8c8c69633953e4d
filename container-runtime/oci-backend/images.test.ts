// OciImageBackend's pulls over a real (empty) store and a stand-in registry: what the store lacks goes to the
// puller, and every way a pull can fail reaches the kubelet as the status code the fake backend uses.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { isCriError } from "../../client/cri/errors.js";
import { codeOf } from "../../client/cri/testing.js";
import { imageSpec } from "../../client/cri/types.js";
import { InvalidReferenceError } from "../../api/image-reference.js";
import { ImageNotFoundError, ImageStore, type ImageRecord, type Puller } from "../images/store.js";
import { OciImageBackend } from "./images.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function backendWith(pull: Puller["pull"]): { backend: OciImageBackend; pulled: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "oci-images-"));
  dirs.push(dir);
  const pulled: string[] = [];
  const puller: Puller = {
    pull: (store, reference, options) => {
      pulled.push(reference);
      return pull(store, reference, options);
    },
  };
  return { backend: new OciImageBackend({ store: new ImageStore({ root: dir }), puller, offlineImages: false }), pulled };
}

describe("OciImageBackend", () => {
  it("asks the registry for an absent image and answers NOT_FOUND when it has none", async () => {
    const { backend, pulled } = backendWith((_store, reference) => Promise.reject(new ImageNotFoundError(reference)));
    await backend.start();
    expect(await codeOf(backend.pullImage({ image: imageSpec("example.invalid/nothing:here") }))).toBe("NOT_FOUND");
    expect(pulled).toEqual(["example.invalid/nothing:here"]);
  });

  it("answers NOT_FOUND when the registry cannot be reached, and INVALID_ARGUMENT for a malformed reference", async () => {
    const unreachable = backendWith(() => Promise.reject(new TypeError("fetch failed", { cause: new Error("ENETUNREACH") })));
    const err = await unreachable.backend.pullImage({ image: imageSpec("nginx:1.0") }).catch((e: unknown) => e);
    expect(isCriError(err) && err.codeName).toBe("NOT_FOUND");
    expect(String(err)).toContain("ENETUNREACH");
    const malformed = backendWith((_store, reference) => Promise.reject(new InvalidReferenceError(reference, "bad")));
    expect(await codeOf(malformed.backend.pullImage({ image: imageSpec("nginx:1.0") }))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(malformed.backend.pullImage({ image: imageSpec("") }))).toBe("INVALID_ARGUMENT");
  });

  it("hands back the pulled image's id and lists nothing it does not hold", async () => {
    const record: ImageRecord = {
      id: `sha256:${"c".repeat(64)}`,
      manifestDigest: `sha256:${"d".repeat(64)}`,
      repoTags: ["docker.io/library/nginx:1.0"],
      repoDigests: [],
      size: 1,
      config: { architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } },
    };
    const { backend } = backendWith(() => Promise.resolve(record));
    expect(await backend.pullImage({ image: imageSpec("nginx:1.0") })).toBe(record.id);
    expect(await backend.listImages(undefined)).toEqual([]);
    expect(await backend.imageStatus(imageSpec("nginx:1.0"))).toBeUndefined();
    await backend.removeImage(imageSpec("nginx:1.0"));
  });
});
