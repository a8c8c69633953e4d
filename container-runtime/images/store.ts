/**
 * The image store: an OCI image layout on disk plus the unpacked layers and the containers' root filesystems.
 *
 *   <root>/oci-layout, index.json    the layout; each descriptor names one reference in its ref.name annotation
 *   <root>/blobs/sha256/<hex>        manifests, configs and layer blobs, by content
 *   <root>/layers/<hex>/             a layer unpacked once, named by its diff_id; <hex>.json its whiteouts
 *   <root>/containers/<id>/          a container's rootfs: overlay upper/work/merged, or a copied rootfs/
 *
 * Every image enters through `addImage(source, descriptor, references)`: imports from an OCI layout or a
 * `docker save` archive, the offline images and a registry pull all go that way, so digests are verified and
 * layers unpacked the same for each. Mutations are serialized within the process, and across processes by
 * <root>/store.lock (so `kubelab-runtime image load` beside a running daemon neither loses an index entry nor has
 * its new blobs collected as garbage); readers take no lock and re-read index.json every time, so a running daemon
 * sees what another process added. Writes of index.json and of
 * each blob and layer go to a temporary name first and are renamed into place, so a crash leaves no half-entry.
 */
import { createHash, randomUUID } from "node:crypto";
import { createReadStream, createWriteStream, readFileSync } from "node:fs";
import { lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  CONTAINERD_NAME_ANNOTATION,
  chooseManifest,
  type Descriptor,
  type ImageConfig,
  type ImageManifest,
  isDigest,
  isIndexDocument,
  MEDIA_TYPE,
  parseImageConfig,
  parseImageIndex,
  parseImageManifest,
  REF_NAME_ANNOTATION,
  sha256Digest,
} from "./oci.js";
import { formatReference, normalizeReference, parseImageReference, referenceName } from "../../api/image-reference.js";
import { copyLayers, mountOverlay, probeOverlay, type RootfsLayer, unmountIfMounted } from "./rootfs.js";
import { overlayWhiteoutWriter, unpackLayer, type UnpackedLayer, type WhiteoutWriter } from "./unpack.js";

/** Where `addImage` reads blobs from: a layout on disk, memory, or a registry. */
export interface BlobSource {
  open(descriptor: Descriptor): Promise<Readable>;
}

/** Fetches images from a registry into the store (the distribution protocol); see PullOptions. */
export interface Puller {
  pull(store: ImageStore, reference: string, options?: PullOptions): Promise<ImageRecord>;
}

export interface PullOptions {
  readonly auth?: { readonly username: string; readonly password: string };
  readonly signal?: AbortSignal;
}

/** An image as the runtime reports it. `id` is the config digest, as in the CRI. */
export interface ImageRecord {
  readonly id: string;
  readonly manifestDigest: string;
  /** Normalized tagged references, e.g. `docker.io/library/nginx:latest`. */
  readonly repoTags: readonly string[];
  /** `name@manifestDigest` for each name the image is known by. */
  readonly repoDigests: readonly string[];
  /** Bytes of the blobs (config and layers as stored). */
  readonly size: number;
  readonly config: ImageConfig;
}

export interface ImageFsInfo {
  readonly root: string;
  readonly usedBytes: number;
  readonly inodesUsed: number;
  /** Whether containers get an overlay; when false, `overlayUnavailableReason` says why they get a copy. */
  readonly overlay: boolean;
  readonly overlayUnavailableReason?: string;
}

export interface ImageStoreOptions {
  readonly root: string;
  readonly whiteoutWriter?: WhiteoutWriter;
  /** Skips the overlay probe and copies rootfs trees (e.g. where the store sits on overlayfs itself). */
  readonly disableOverlay?: boolean;
}

/** An image, reference or blob the store does not hold. */
export class ImageNotFoundError extends Error {
  constructor(
    readonly reference: string,
    options?: ErrorOptions,
  ) {
    super(`image ${JSON.stringify(reference)} not found`, options);
    this.name = "ImageNotFoundError";
  }
}

/** Content whose digest or size differs from its descriptor's. */
export class DigestMismatchError extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`content digest ${actual} does not match expected ${expected}`);
    this.name = "DigestMismatchError";
  }
}

interface LayerMeta {
  readonly deleted: readonly string[];
  readonly opaque: readonly string[];
  readonly overlayFit: boolean;
  readonly overlayUnfitReason?: string;
}

interface ContainerRecord {
  readonly imageId: string;
  readonly diffIds: readonly string[];
  readonly mode: "overlay" | "copy";
}

const LOCK_RETRY_MS = 25;

/** The errno name (`EEXIST`, …) of a failed system call. */
function errorCode(error: unknown): unknown {
  return typeof error === "object" && error !== null && "code" in error ? error.code : undefined;
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error: unknown) {
    // EPERM: it runs, as another user.
    return errorCode(error) === "EPERM";
  }
}

/** When the process started, in clock ticks since boot (field 22 of /proc/<pid>/stat); undefined if unknown. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count fields from its closing one.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** The store lock's content for a holder: "<pid> <start time>" (the start time left out where /proc has none). */
export function lockOwner(pid: number): string {
  const started = processStartTime(pid);
  return started === undefined ? String(pid) : `${pid} ${started}`;
}

/**
 * Whether a lock naming `owner` may be taken over: its pid does not run, or runs with another start time (the pid
 * was reused). An empty or unreadable owner is a holder between creating and writing the file: not stale.
 */
export function staleLockOwner(owner: string): boolean {
  const [pidText = "", started] = owner.trim().split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (!processRuns(pid)) return true;
  const now = processStartTime(pid);
  return started !== undefined && now !== undefined && now !== started;
}

const hex = (digest: string): string => digest.slice("sha256:".length);

async function exists(file: string): Promise<boolean> {
  return lstat(file).then(
    () => true,
    () => false,
  );
}

export class ImageStore {
  readonly root: string;
  private readonly whiteoutWriter: WhiteoutWriter;
  private readonly disableOverlay: boolean;
  private overlayProbe: Promise<string | undefined> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: ImageStoreOptions) {
    this.root = path.resolve(options.root);
    this.whiteoutWriter = options.whiteoutWriter ?? overlayWhiteoutWriter;
    this.disableOverlay = options.disableOverlay ?? false;
  }

  private blobPath(digest: string): string {
    return path.join(this.root, "blobs", "sha256", hex(digest));
  }

  private layerDir(diffId: string): string {
    return path.join(this.root, "layers", hex(diffId));
  }

  private containerDir(containerId: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(containerId)) throw new Error(`bad container id ${containerId}`);
    return path.join(this.root, "containers", containerId);
  }

  /** Runs `task` after every earlier mutation finished, whether or not it failed, holding the store's lock. */
  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const locked = (): Promise<T> => this.withStoreLock(task);
    const run = this.queue.then(locked, locked);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Runs `task` holding <root>/store.lock, a file created exclusively that names the holder: its pid and the start
   * time of that process (/proc/<pid>/stat). Another process waits for it to go. A lock whose holder no longer runs
   * (killed mid-write) is taken over, also when its pid was reused by a process started at another time.
   */
  private async withStoreLock<T>(task: () => Promise<T>): Promise<T> {
    await mkdir(this.root, { recursive: true });
    const lockFile = path.join(this.root, "store.lock");
    for (;;) {
      try {
        await writeFile(lockFile, lockOwner(process.pid), { flag: "wx" });
        break;
      } catch (error: unknown) {
        if (errorCode(error) !== "EEXIST") throw error;
      }
      // An empty file is a holder between creating and writing it: alive.
      if (staleLockOwner(await readFile(lockFile, "utf8").catch(() => ""))) await rm(lockFile, { force: true });
      else await new Promise((resolve) => setTimeout(resolve, LOCK_RETRY_MS));
    }
    try {
      return await task();
    } finally {
      await rm(lockFile, { force: true });
    }
  }

  private async ensureLayout(): Promise<void> {
    for (const dir of ["blobs/sha256", "layers", "containers", "tmp"]) {
      await mkdir(path.join(this.root, dir), { recursive: true });
    }
    const layoutFile = path.join(this.root, "oci-layout");
    if (!(await exists(layoutFile))) await writeFile(layoutFile, JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  }

  private tmpPath(): string {
    return path.join(this.root, "tmp", randomUUID());
  }

  private async readIndex(): Promise<Descriptor[]> {
    const bytes = await readFile(path.join(this.root, "index.json")).catch(() => undefined);
    return bytes === undefined ? [] : [...parseImageIndex(bytes).manifests];
  }

  private async writeIndex(manifests: readonly Descriptor[]): Promise<void> {
    const tmp = this.tmpPath();
    const index = { schemaVersion: 2, mediaType: MEDIA_TYPE.index, manifests };
    await writeFile(tmp, `${JSON.stringify(index, null, 2)}\n`);
    await rename(tmp, path.join(this.root, "index.json"));
  }

  /** Stores one blob from `source` unless present, verifying digest and size before it takes its name. */
  private async storeBlob(source: BlobSource, descriptor: Descriptor): Promise<void> {
    const target = this.blobPath(descriptor.digest);
    if (await exists(target)) return;
    const tmp = this.tmpPath();
    const hash = createHash("sha256");
    let size = 0;
    const input = await source.open(descriptor);
    await pipeline(
      input,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          hash.update(chunk);
          size += chunk.length;
          yield chunk;
        }
      },
      createWriteStream(tmp),
    );
    const actual = `sha256:${hash.digest("hex")}`;
    if (actual !== descriptor.digest || size !== descriptor.size) {
      await rm(tmp, { force: true });
      throw new DigestMismatchError(`${descriptor.digest} (${descriptor.size} bytes)`, `${actual} (${size} bytes)`);
    }
    await rename(tmp, target);
  }

  private async readBlob(digest: string): Promise<Buffer> {
    return readFile(this.blobPath(digest)).catch((error: unknown) => {
      throw new ImageNotFoundError(digest, { cause: error });
    });
  }

  private async ensureUnpacked(layer: Descriptor, diffId: string): Promise<void> {
    const dir = this.layerDir(diffId);
    if (await exists(`${dir}.json`)) return;
    const tmp = this.tmpPath();
    let unpacked: UnpackedLayer;
    try {
      unpacked = await unpackLayer(this.blobPath(layer.digest), tmp, this.whiteoutWriter);
    } catch (error: unknown) {
      await rm(tmp, { recursive: true, force: true });
      throw error;
    }
    if (unpacked.diffId !== diffId) {
      await rm(tmp, { recursive: true, force: true });
      throw new DigestMismatchError(diffId, unpacked.diffId);
    }
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    const meta: LayerMeta = {
      deleted: unpacked.deleted,
      opaque: unpacked.opaque,
      overlayFit: unpacked.overlayFit,
      ...(unpacked.overlayUnfitReason !== undefined ? { overlayUnfitReason: unpacked.overlayUnfitReason } : {}),
    };
    await writeFile(`${dir}.json`, JSON.stringify(meta));
  }

  /**
   * Adds the image `descriptor` points at (a manifest, or an index from which the host platform's manifest is
   * taken) with every blob it needs from `source`, unpacks its layers, and points `references` at it, moving
   * them away from any image they named before.
   */
  async addImage(source: BlobSource, descriptor: Descriptor, references: readonly string[]): Promise<ImageRecord> {
    const names = references.map(normalizeReference);
    return this.serialized(async () => {
      await this.ensureLayout();
      try {
        return await this.storeImage(source, descriptor, names);
      } catch (error) {
        // What this attempt stored before it failed (a bad layer, a pull cut short) belongs to no image: drop it.
        await this.collectGarbage().catch(() => undefined);
        throw error;
      }
    });
  }

  private async storeImage(source: BlobSource, descriptor: Descriptor, names: readonly string[]): Promise<ImageRecord> {
    await this.storeBlob(source, descriptor);
    let manifestDescriptor = descriptor;
    let manifestBytes = await this.readBlob(descriptor.digest);
    if (isIndexDocument(manifestBytes)) {
      const chosen = chooseManifest(parseImageIndex(manifestBytes));
      if (chosen === undefined) throw new ImageNotFoundError(`${names.join(", ")} for this platform`);
      await this.storeBlob(source, chosen);
      manifestDescriptor = chosen;
      manifestBytes = await this.readBlob(chosen.digest);
    }
    const manifest = parseImageManifest(manifestBytes);
    await this.storeBlob(source, manifest.config);
    const config = parseImageConfig(await this.readBlob(manifest.config.digest));
    if (config.rootfs.diff_ids.length !== manifest.layers.length) {
      throw new DigestMismatchError(`${manifest.layers.length} diff_ids`, `${config.rootfs.diff_ids.length}`);
    }
    for (const [i, layer] of manifest.layers.entries()) {
      await this.storeBlob(source, layer);
      await this.ensureUnpacked(layer, config.rootfs.diff_ids[i] ?? "");
    }
    const kept = (await this.readIndex()).filter((d) => {
      const name = d.annotations?.[REF_NAME_ANNOTATION];
      return name === undefined || !names.includes(name);
    });
    const added: Descriptor[] = names.map((name) => ({
      mediaType: manifestDescriptor.mediaType === MEDIA_TYPE.dockerManifest ? MEDIA_TYPE.dockerManifest : MEDIA_TYPE.manifest,
      digest: manifestDescriptor.digest,
      size: manifestDescriptor.size,
      annotations: { [REF_NAME_ANNOTATION]: name },
    }));
    await this.writeIndex([...kept, ...added]);
    return this.recordFor(manifestDescriptor.digest, [...kept, ...added]);
  }

  private async recordFor(manifestDigest: string, index: readonly Descriptor[]): Promise<ImageRecord> {
    const manifest = parseImageManifest(await this.readBlob(manifestDigest));
    const configBytes = await this.readBlob(manifest.config.digest);
    const refs = index
      .filter((d) => d.digest === manifestDigest)
      .map((d) => d.annotations?.[REF_NAME_ANNOTATION])
      .filter((name): name is string => name !== undefined);
    const repoTags = refs.filter((name) => !name.includes("@")).sort();
    const repoNames = [...new Set(refs.map((name) => referenceName(parseImageReference(name))))].sort();
    return {
      id: manifest.config.digest,
      manifestDigest,
      repoTags,
      repoDigests: repoNames.map((name) => `${name}@${manifestDigest}`),
      size: manifest.config.size + manifest.layers.reduce((sum, layer) => sum + layer.size, 0),
      config: parseImageConfig(configBytes),
    };
  }

  /** Every image, one record per manifest, sorted by first tag. */
  async list(): Promise<ImageRecord[]> {
    const index = await this.readIndex();
    const digests = [...new Set(index.map((d) => d.digest))];
    const records = await Promise.all(digests.map((digest) => this.recordFor(digest, index)));
    return records.sort((a, b) => (a.repoTags[0] ?? a.id).localeCompare(b.repoTags[0] ?? b.id));
  }

  /**
   * The image `ref` names: a reference in any familiar form (`nginx`, `name:tag`, `name@sha256:…`), or an
   * image id (`sha256:<config hex>`). Undefined when the store does not hold it.
   */
  async status(ref: string): Promise<ImageRecord | undefined> {
    const index = await this.readIndex();
    if (isDigest(ref)) {
      for (const digest of new Set(index.map((d) => d.digest))) {
        const record = await this.recordFor(digest, index);
        if (record.id === ref || record.manifestDigest === ref) return record;
      }
      return undefined;
    }
    const parsed = parseImageReference(ref);
    const wanted = formatReference(parsed);
    const byName = index.find((d) => d.annotations?.[REF_NAME_ANNOTATION] === wanted);
    if (byName !== undefined) return this.recordFor(byName.digest, index);
    if (parsed.digest !== undefined) {
      const name = referenceName(parsed);
      const byDigest = index.find(
        (d) =>
          d.digest === parsed.digest &&
          referenceName(parseImageReference(d.annotations?.[REF_NAME_ANNOTATION] ?? "invalid/")) === name,
      );
      if (byDigest !== undefined) return this.recordFor(byDigest.digest, index);
    }
    return undefined;
  }

  /**
   * Removes the image `ref` names (every tag of it when `ref` is an id or digest, the one tag otherwise), then
   * deletes blobs and layers no image and no prepared container uses. Throws ImageNotFoundError.
   */
  remove(ref: string): Promise<void> {
    return this.serialized(async () => {
      const record = await this.status(ref);
      if (record === undefined) throw new ImageNotFoundError(ref);
      const index = await this.readIndex();
      const dropAll = isDigest(ref) || parseImageReference(ref).digest !== undefined;
      const dropName = dropAll ? undefined : formatReference(parseImageReference(ref));
      await this.writeIndex(
        index.filter(
          (d) =>
            d.digest !== record.manifestDigest ||
            (dropName !== undefined && d.annotations?.[REF_NAME_ANNOTATION] !== dropName),
        ),
      );
      await this.collectGarbage();
    });
  }

  private async collectGarbage(): Promise<void> {
    const index = await this.readIndex();
    const liveBlobs = new Set<string>();
    const liveLayers = new Set<string>();
    for (const digest of new Set(index.map((d) => d.digest))) {
      const manifest: ImageManifest = parseImageManifest(await this.readBlob(digest));
      const config = parseImageConfig(await this.readBlob(manifest.config.digest));
      liveBlobs.add(hex(digest)).add(hex(manifest.config.digest));
      for (const layer of manifest.layers) liveBlobs.add(hex(layer.digest));
      for (const diffId of config.rootfs.diff_ids) liveLayers.add(hex(diffId));
    }
    for (const id of await readdir(path.join(this.root, "containers")).catch(() => [])) {
      const record = await this.readContainerRecord(id);
      for (const diffId of record?.diffIds ?? []) liveLayers.add(hex(diffId));
    }
    for (const name of await readdir(path.join(this.root, "blobs", "sha256")).catch(() => [])) {
      if (!liveBlobs.has(name)) await rm(path.join(this.root, "blobs", "sha256", name), { force: true });
    }
    for (const name of await readdir(path.join(this.root, "layers")).catch(() => [])) {
      if (!liveLayers.has(name.replace(/\.json$/, ""))) {
        await rm(path.join(this.root, "layers", name), { recursive: true, force: true });
      }
    }
  }

  /** Space and inodes the image content uses (blobs and unpacked layers), and whether containers get overlays. */
  async fsInfo(): Promise<ImageFsInfo> {
    let usedBytes = 0;
    let inodesUsed = 0;
    const walk = async (dir: string): Promise<void> => {
      for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
        const abs = path.join(dir, entry.name);
        const info = await lstat(abs).catch(() => undefined);
        if (info === undefined) continue;
        inodesUsed += 1;
        usedBytes += info.isFile() ? info.size : 0;
        if (entry.isDirectory()) await walk(abs);
      }
    };
    for (const top of ["blobs", "layers"]) await walk(path.join(this.root, top));
    const overlayReason = await this.overlayUnavailableReason();
    return {
      root: this.root,
      usedBytes,
      inodesUsed,
      overlay: overlayReason === undefined,
      ...(overlayReason !== undefined ? { overlayUnavailableReason: overlayReason } : {}),
    };
  }

  /** Undefined when overlayfs mounts work here; otherwise the reason (probed once). */
  overlayUnavailableReason(): Promise<string | undefined> {
    if (this.disableOverlay) return Promise.resolve("overlay disabled by configuration");
    this.overlayProbe ??= (async () => {
      await this.ensureLayout();
      return probeOverlay(this.tmpPath());
    })();
    return this.overlayProbe;
  }

  /** The image config of `ref` (env, entrypoint, cmd, working dir, user, ports). Throws ImageNotFoundError. */
  async imageConfig(ref: string): Promise<ImageConfig> {
    const record = await this.status(ref);
    if (record === undefined) throw new ImageNotFoundError(ref);
    return record.config;
  }

  private async readContainerRecord(containerId: string): Promise<ContainerRecord | undefined> {
    const bytes = await readFile(path.join(this.containerDir(containerId), "image.json"), "utf8").catch(() => undefined);
    if (bytes === undefined) return undefined;
    const value: unknown = JSON.parse(bytes);
    if (typeof value !== "object" || value === null) return undefined;
    const { imageId, diffIds, mode } = value as Record<string, unknown>;
    if (typeof imageId !== "string" || !Array.isArray(diffIds) || !diffIds.every(isDigest)) return undefined;
    return { imageId, diffIds, mode: mode === "copy" ? "copy" : "overlay" };
  }

  /**
   * Gives container `containerId` a root filesystem from `imageRef` and returns its path: an overlay when the
   * host allows it and every layer's whiteouts are in overlay form, else a private copy. Calling it again for
   * a prepared container returns the same path. Throws ImageNotFoundError.
   */
  prepareRootfs(containerId: string, imageRef: string): Promise<string> {
    return this.serialized(async () => {
      const dir = this.containerDir(containerId);
      const existing = await this.readContainerRecord(containerId);
      if (existing !== undefined) {
        return path.join(dir, existing.mode === "overlay" ? "merged" : "rootfs");
      }
      const record = await this.status(imageRef);
      if (record === undefined) throw new ImageNotFoundError(imageRef);
      const diffIds = record.config.rootfs.diff_ids;
      const layers: RootfsLayer[] = [];
      let overlayFit = (await this.overlayUnavailableReason()) === undefined;
      for (const diffId of diffIds) {
        const meta = JSON.parse(await readFile(`${this.layerDir(diffId)}.json`, "utf8")) as LayerMeta;
        overlayFit &&= meta.overlayFit;
        layers.push({ dir: this.layerDir(diffId), deleted: meta.deleted, opaque: meta.opaque });
      }
      await mkdir(dir, { recursive: true });
      let mode: ContainerRecord["mode"] = "copy";
      if (overlayFit && layers.length > 0) {
        try {
          await mountOverlay(
            layers.map((l) => l.dir),
            path.join(dir, "upper"),
            path.join(dir, "work"),
            path.join(dir, "merged"),
          );
          mode = "overlay";
        } catch {
          // The probe passed but this mount did not (e.g. too many layers for one mount option): copy instead.
          await rm(dir, { recursive: true, force: true });
          await mkdir(dir, { recursive: true });
        }
      }
      if (mode === "copy") await copyLayers(layers, path.join(dir, "rootfs"));
      const containerRecord: ContainerRecord = { imageId: record.id, diffIds, mode };
      await writeFile(path.join(dir, "image.json"), JSON.stringify(containerRecord));
      return path.join(dir, mode === "overlay" ? "merged" : "rootfs");
    });
  }

  /** Unmounts and deletes a container's rootfs; a container never prepared is not an error. */
  releaseRootfs(containerId: string): Promise<void> {
    return this.serialized(async () => {
      const dir = this.containerDir(containerId);
      await unmountIfMounted(path.join(dir, "merged"));
      await rm(dir, { recursive: true, force: true });
    });
  }

  /** Containers with a prepared rootfs, e.g. to release the ones a restarted runtime no longer knows. */
  async preparedContainers(): Promise<string[]> {
    return (await readdir(path.join(this.root, "containers")).catch(() => [])).sort();
  }

  /**
   * Imports every image of the OCI image layout at `source` (a directory, or a tar of one). A descriptor's
   * name comes from containerd's image-name annotation or the layout's ref.name annotation; a bare tag there
   * (as skopeo writes) is joined to `name`. Returns the records added.
   */
  async importOciLayout(source: string, name?: string): Promise<ImageRecord[]> {
    return this.withUnpackedArchive(source, async (dir) => {
      const indexBytes = await readFile(path.join(dir, "index.json"));
      const blobs: BlobSource = {
        open: (d) => Promise.resolve(createReadStream(path.join(dir, "blobs", "sha256", hex(d.digest)))),
      };
      const records: ImageRecord[] = [];
      for (const descriptor of parseImageIndex(indexBytes).manifests) {
        const annotated = descriptor.annotations?.[CONTAINERD_NAME_ANNOTATION] ?? descriptor.annotations?.[REF_NAME_ANNOTATION];
        let reference: string | undefined;
        if (annotated !== undefined && (annotated.includes("/") || name === undefined)) reference = annotated;
        else if (name !== undefined) {
          const base = referenceName(parseImageReference(name));
          reference = annotated !== undefined ? `${base}:${annotated}` : normalizeReference(name);
        }
        if (reference === undefined) {
          throw new ImageNotFoundError(`a name for ${descriptor.digest} (the layout names none; pass one)`);
        }
        records.push(await this.addImage(blobs, descriptor, [reference]));
      }
      return records;
    });
  }

  /** Imports the images of a `docker save` archive (its manifest.json lists config, layers and tags). */
  async importDockerSave(source: string): Promise<ImageRecord[]> {
    return this.withUnpackedArchive(source, async (dir) => {
      const raw: unknown = JSON.parse(await readFile(path.join(dir, "manifest.json"), "utf8"));
      if (!Array.isArray(raw)) throw new Error("docker save manifest.json is not a list");
      const records: ImageRecord[] = [];
      for (const entry of raw as unknown[]) {
        if (typeof entry !== "object" || entry === null) throw new Error("docker save manifest entry is not an object");
        const { Config, RepoTags, Layers } = entry as Record<string, unknown>;
        if (typeof Config !== "string" || !Array.isArray(Layers) || !Layers.every((l) => typeof l === "string")) {
          throw new Error("docker save manifest entry needs Config and Layers");
        }
        const tags = Array.isArray(RepoTags) ? RepoTags.filter((t): t is string => typeof t === "string") : [];
        const files = new Map<string, string>();
        const describe = async (file: string, mediaType: string): Promise<Descriptor> => {
          const abs = path.join(dir, path.posix.normalize(`/${file}`));
          const digest = await fileDigest(abs);
          files.set(digest, abs);
          return { mediaType, digest, size: (await stat(abs)).size };
        };
        const config = await describe(Config, MEDIA_TYPE.config);
        const layers: Descriptor[] = [];
        for (const layer of Layers) layers.push(await describe(layer, MEDIA_TYPE.layerTar));
        const manifestBytes = Buffer.from(
          JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE.manifest, config, layers }),
        );
        const manifest: Descriptor = {
          mediaType: MEDIA_TYPE.manifest,
          digest: sha256Digest(manifestBytes),
          size: manifestBytes.length,
        };
        const blobs = new MemoryAndFileBlobSource(new Map([[manifest.digest, manifestBytes]]), files);
        records.push(await this.addImage(blobs, manifest, tags));
      }
      return records;
    });
  }

  /** `kubelab image load FILE`: an OCI layout tar (it has `oci-layout`) or a `docker save` tar. */
  async importArchive(source: string, name?: string): Promise<ImageRecord[]> {
    return this.withUnpackedArchive(source, async (dir) =>
      (await exists(path.join(dir, "manifest.json"))) && !(await exists(path.join(dir, "index.json")))
        ? this.importDockerSave(dir)
        : this.importOciLayout(dir, name),
    );
  }

  private async withUnpackedArchive<T>(source: string, use: (dir: string) => Promise<T>): Promise<T> {
    if ((await stat(source)).isDirectory()) return use(source);
    const dir = await mkdtempIn(os.tmpdir());
    try {
      await unpackLayer(source, dir, { whiteout: () => Promise.resolve(), opaque: () => Promise.resolve() });
      return await use(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

/** Blobs from memory by digest, else from files by digest. */
export class MemoryAndFileBlobSource implements BlobSource {
  constructor(
    private readonly memory: ReadonlyMap<string, Uint8Array>,
    private readonly files: ReadonlyMap<string, string> = new Map(),
  ) {}

  open(descriptor: Descriptor): Promise<Readable> {
    const bytes = this.memory.get(descriptor.digest);
    if (bytes !== undefined) return Promise.resolve(Readable.from([Buffer.from(bytes)]));
    const file = this.files.get(descriptor.digest);
    if (file !== undefined) return Promise.resolve(createReadStream(file));
    return Promise.reject(new ImageNotFoundError(descriptor.digest));
  }
}

async function fileDigest(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return `sha256:${hash.digest("hex")}`;
}

function mkdtempIn(parent: string): Promise<string> {
  return mkdtemp(path.join(parent, "kubelab-image-"));
}
