import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  buildOfflineImages,
  type BuiltImage,
  DEFAULT_BUSYBOX_PATH,
  ensureOfflineImages,
  ociArchive,
  writeOciLayout,
} from "./offline.js";
import { MEDIA_TYPE, parseImageConfig, parseImageManifest, REF_NAME_ANNOTATION, sha256Digest } from "./oci.js";
import { DigestMismatchError, ImageNotFoundError, ImageStore, MemoryAndFileBlobSource } from "./store.js";

const noBusybox = !existsSync(DEFAULT_BUSYBOX_PATH);
if (noBusybox) console.log(`skipping offline image tests: ${DEFAULT_BUSYBOX_PATH} missing (apt-get install busybox-static)`);

const noWhiteouts = { whiteout: () => Promise.resolve(), opaque: () => Promise.resolve() };

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "kubelab-offline-"));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

function blob(image: BuiltImage, digest: string): Buffer {
  const bytes = image.blobs.get(digest);
  if (bytes === undefined) throw new Error(`blob ${digest} missing`);
  return Buffer.from(bytes);
}

function find(images: readonly BuiltImage[], reference: string): BuiltImage {
  const image = images.find((i) => i.references.includes(reference));
  if (image === undefined) throw new Error(`${reference} not built`);
  return image;
}

describe.skipIf(noBusybox)("offline images", () => {
  it("builds the same digests every time", async () => {
    const first = await buildOfflineImages();
    const second = await buildOfflineImages();
    expect(second.map((i) => i.manifest.digest)).toEqual(first.map((i) => i.manifest.digest));
  });

  it("writes manifests and configs in the OCI image-spec shape, with the busybox layer shared", async () => {
    const images = await buildOfflineImages();
    const bootcamp = find(images, "docker.io/jocatalin/kubernetes-bootcamp:v1");
    const manifestBytes = blob(bootcamp, bootcamp.manifest.digest);
    expect(sha256Digest(manifestBytes)).toBe(bootcamp.manifest.digest);
    const manifest = parseImageManifest(manifestBytes);
    expect(manifest.mediaType).toBe(MEDIA_TYPE.manifest);
    expect(manifest.config.mediaType).toBe(MEDIA_TYPE.config);
    expect(manifest.layers.every((l) => l.mediaType === MEDIA_TYPE.layerGzip)).toBe(true);
    const config = parseImageConfig(blob(bootcamp, manifest.config.digest));
    expect(config.os).toBe("linux");
    expect(config.config).toMatchObject({ Cmd: ["/usr/local/bin/bootcamp-server"], ExposedPorts: { "8080/tcp": {} } });
    expect(config.rootfs.diff_ids).toHaveLength(manifest.layers.length);
    for (const [i, layer] of manifest.layers.entries()) {
      const compressed = blob(bootcamp, layer.digest);
      expect(compressed.length).toBe(layer.size);
      expect(sha256Digest(gunzipSync(compressed))).toBe(config.rootfs.diff_ids[i]);
    }
    const busybox = find(images, "docker.io/library/busybox:latest");
    const busyboxManifest = parseImageManifest(blob(busybox, busybox.manifest.digest));
    expect(busyboxManifest.layers).toHaveLength(1);
    expect(manifest.layers[0]).toEqual(busyboxManifest.layers[0]);
  });

  it("names every tutorial image", async () => {
    const references = (await buildOfflineImages()).flatMap((i) => i.references);
    expect(references).toEqual(
      expect.arrayContaining([
        "docker.io/jocatalin/kubernetes-bootcamp:v1",
        "docker.io/jocatalin/kubernetes-bootcamp:v2",
        "docker.io/library/nginx:latest",
        "docker.io/library/nginx:alpine",
        "docker.io/library/busybox:latest",
        "registry.k8s.io/pause:3.10",
        "docker.io/fedora/apache:latest",
        "registry.k8s.io/e2e-test-images/agnhost:2.53",
        "docker.io/spring2go/spring-petclinic:1.0.0.RELEASE",
        "docker.io/spring2go/spring-petclinic:1.0.1.RELEASE",
        "docker.io/library/mysql:5.7",
      ]),
    );
  });

  it("adds what is missing once, then finds everything present", async () => {
    const store = new ImageStore({ root: path.join(work, "store"), whiteoutWriter: noWhiteouts });
    const first = await ensureOfflineImages(store);
    expect(first.present).toEqual([]);
    const second = await ensureOfflineImages(store);
    expect(second.added).toEqual([]);
    expect([...second.present].sort()).toEqual([...first.added].sort());
    const nginx = await store.status("nginx");
    expect(nginx?.repoTags).toEqual(["docker.io/library/nginx:alpine", "docker.io/library/nginx:latest"]);
    expect(nginx?.repoDigests).toEqual([`docker.io/library/nginx@${nginx?.manifestDigest ?? ""}`]);
    expect(await store.status(nginx?.id ?? "")).toEqual(nginx);
    expect(await store.status(`nginx@${nginx?.manifestDigest ?? ""}`)).toEqual(nginx);
    const index: unknown = JSON.parse(await readFile(path.join(work, "store", "index.json"), "utf8"));
    expect(JSON.stringify(index)).toContain(`"${REF_NAME_ANNOTATION}":"docker.io/library/nginx:latest"`);
  });

  it("removes one tag, then the image, collecting its unshared blobs and layers", async () => {
    const store = new ImageStore({ root: path.join(work, "store"), whiteoutWriter: noWhiteouts });
    await ensureOfflineImages(store);
    const mysql = await store.status("mysql:5.7");
    if (mysql === undefined) throw new Error("mysql missing");
    const mysqlOnlyLayer = mysql.config.rootfs.diff_ids.at(-1) ?? "";
    await store.remove("nginx:alpine");
    expect((await store.status("nginx"))?.repoTags).toEqual(["docker.io/library/nginx:latest"]);
    await store.remove("mysql:5.7");
    expect(await store.status("mysql:5.7")).toBeUndefined();
    expect(existsSync(path.join(work, "store", "layers", mysqlOnlyLayer.slice(7)))).toBe(false);
    expect(existsSync(path.join(work, "store", "blobs", "sha256", mysql.manifestDigest.slice(7)))).toBe(false);
    expect(await store.status("busybox")).toBeDefined();
    await expect(store.remove("mysql:5.7")).rejects.toThrow(ImageNotFoundError);
  });

  it("refuses a blob whose content does not match its digest", async () => {
    const store = new ImageStore({ root: path.join(work, "store"), whiteoutWriter: noWhiteouts });
    const [image] = await buildOfflineImages();
    if (image === undefined) throw new Error("no image");
    const tampered = new Map(image.blobs);
    const manifest = parseImageManifest(blob(image, image.manifest.digest));
    tampered.set(manifest.config.digest, Buffer.from("{}"));
    await expect(store.addImage(new MemoryAndFileBlobSource(tampered), image.manifest, ["x/y:z"])).rejects.toThrow(
      DigestMismatchError,
    );
    expect(await store.status("x/y:z")).toBeUndefined();
  });

  it("imports an OCI layout whose ref.name is a bare tag, and a docker save directory", async () => {
    const images = await buildOfflineImages();
    const bootcamp = find(images, "docker.io/jocatalin/kubernetes-bootcamp:v2");
    const layout = path.join(work, "layout");
    await writeOciLayout(bootcamp, layout, "v2");
    const store = new ImageStore({ root: path.join(work, "store"), whiteoutWriter: noWhiteouts });
    const [imported] = await store.importOciLayout(layout, "example.com/bootcamp");
    expect(imported?.repoTags).toEqual(["example.com/bootcamp:v2"]);
    expect(imported?.manifestDigest).toBe(bootcamp.manifest.digest);

    const manifest = parseImageManifest(blob(bootcamp, bootcamp.manifest.digest));
    const save = path.join(work, "save");
    await mkdir(save);
    await writeFile(path.join(save, "config.json"), blob(bootcamp, manifest.config.digest));
    const layers: string[] = [];
    for (const [i, layer] of manifest.layers.entries()) {
      await writeFile(path.join(save, `layer${String(i)}.tar`), gunzipSync(blob(bootcamp, layer.digest)));
      layers.push(`layer${String(i)}.tar`);
    }
    await writeFile(
      path.join(save, "manifest.json"),
      JSON.stringify([{ Config: "config.json", RepoTags: ["saved/bootcamp:v2"], Layers: layers }]),
    );
    const archive = path.join(work, "bootcamp.tar");
    await writeFile(archive, await ociArchive(bootcamp, "docker.io/jocatalin/kubernetes-bootcamp:v2"));
    const [loaded] = await store.importArchive(archive);
    // The same manifest as the layout's, so one image known by both names.
    expect(loaded?.repoTags).toEqual(["docker.io/jocatalin/kubernetes-bootcamp:v2", "example.com/bootcamp:v2"]);

    const [saved] = await store.importArchive(save);
    expect(saved?.repoTags).toEqual(["docker.io/saved/bootcamp:v2"]);
    expect(saved?.id).toBe(imported?.id);
  });

  it("gives a container a copied rootfs when overlay is disabled, and releases it", async () => {
    const store = new ImageStore({ root: path.join(work, "store"), whiteoutWriter: noWhiteouts, disableOverlay: true });
    await ensureOfflineImages(store);
    expect(await store.fsInfo()).toMatchObject({ overlay: false, overlayUnavailableReason: "overlay disabled by configuration" });
    const rootfs = await store.prepareRootfs("c1", "jocatalin/kubernetes-bootcamp:v2");
    expect(rootfs).toBe(path.join(work, "store", "containers", "c1", "rootfs"));
    expect(await readFile(path.join(rootfs, "app", "version"), "utf8")).toBe("2\n");
    expect(await store.prepareRootfs("c1", "jocatalin/kubernetes-bootcamp:v2")).toBe(rootfs);
    await store.releaseRootfs("c1");
    expect(existsSync(path.join(work, "store", "containers", "c1"))).toBe(false);
  });
});
