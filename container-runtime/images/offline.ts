/**
 * The offline tutorial images: real OCI images built in well under a second from Debian's busybox-static and
 * the files under `images/`, then added to the store the same way an imported or pulled image is.
 *
 * Layout of `images/`: each `<name>/image.json` lists images as `{references, layers, files?, config}`.
 * Every image starts from the shared busybox layer (/bin/busybox, its applet links, /etc/passwd, group and hosts,
 * the usual top directories); each entry of `layers` is a directory under `images/` that becomes one more layer
 * (shared by every image that lists it); `files` (path → content) becomes a last small layer; `config` is the
 * image config's container part (Env, Entrypoint, Cmd, WorkingDir, User, ExposedPorts, StopSignal).
 *
 * Layers are deterministic tars (sorted, root-owned, fixed mtimes) compressed with node:zlib, so building again
 * gives the same digests and `ensureOfflineImages` only writes what is missing or changed.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { lstat, mkdir, readdir, readFile, readlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { packDeterministicTar, type TarWriteEntry } from "./layer-tar.js";
import {
  type ContainerConfig,
  type Descriptor,
  hostPlatform,
  MEDIA_TYPE,
  REF_NAME_ANNOTATION,
  sha256Digest,
} from "./oci.js";
import { normalizeReference } from "../../api/image-reference.js";
import { type ImageStore, MemoryAndFileBlobSource } from "./store.js";

const execFileAsync = promisify(execFile);

export const DEFAULT_BUSYBOX_PATH = "/bin/busybox";
const FIXED_CREATED = "1970-01-01T00:00:00Z";

export interface OfflineImageDefinition {
  readonly references: readonly string[];
  /** Directories relative to the images folder, bottom first, each one layer above busybox's. */
  readonly layers: readonly string[];
  readonly files: Readonly<Record<string, string>>;
  readonly config: ContainerConfig;
}

export interface OfflineImagesOptions {
  /** The `images/` folder; by default the one shipped beside this code. */
  readonly imagesDir?: string;
  /** A statically linked busybox; Debian's busybox-static installs /bin/busybox. */
  readonly busyboxPath?: string;
}

/** An offline image ready to add: its manifest descriptor and every blob it needs. */
export interface BuiltImage {
  readonly references: readonly string[];
  readonly manifest: Descriptor;
  readonly blobs: ReadonlyMap<string, Uint8Array>;
}

export interface EnsureResult {
  /** Normalized references written by this call. */
  readonly added: readonly string[];
  /** Normalized references that were already present with the same manifest. */
  readonly present: readonly string[];
}

/** Raised when image.json is malformed; names the file and the field. */
export class InvalidImageDefinitionError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = "InvalidImageDefinitionError";
  }
}

/** The `images/` folder beside this module, from the sources or from the build output. */
export function defaultImagesDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, "../../images"), path.resolve(here, "../../../images")];
  return candidates.find((dir) => existsSync(path.join(dir, "lib"))) ?? (candidates[0] ?? here);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function stringList(file: string, field: string, value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw new InvalidImageDefinitionError(file, `${field} must be a list of strings`);
  }
  return value;
}

function toDefinition(file: string, value: unknown): OfflineImageDefinition {
  if (!isRecord(value)) throw new InvalidImageDefinitionError(file, "an image must be an object");
  const references = stringList(file, "references", value.references);
  if (references.length === 0) throw new InvalidImageDefinitionError(file, "references is empty");
  const layers = stringList(file, "layers", value.layers ?? []);
  const files = value.files ?? {};
  if (!isRecord(files) || !Object.values(files).every((v) => typeof v === "string")) {
    throw new InvalidImageDefinitionError(file, "files must map paths to strings");
  }
  const config = value.config ?? {};
  if (!isRecord(config)) throw new InvalidImageDefinitionError(file, "config must be an object");
  for (const key of ["Env", "Entrypoint", "Cmd"]) if (key in config) stringList(file, `config.${key}`, config[key]);
  for (const key of ["WorkingDir", "User", "StopSignal"]) {
    if (key in config && typeof config[key] !== "string") {
      throw new InvalidImageDefinitionError(file, `config.${key} must be a string`);
    }
  }
  if ("ExposedPorts" in config && !isRecord(config.ExposedPorts)) {
    throw new InvalidImageDefinitionError(file, "config.ExposedPorts must be an object");
  }
  return { references, layers, files: files as Record<string, string>, config: config };
}

/** Reads every `<name>/image.json` under `imagesDir`, in name order. */
export async function loadOfflineDefinitions(imagesDir: string): Promise<OfflineImageDefinition[]> {
  const definitions: OfflineImageDefinition[] = [];
  for (const name of (await readdir(imagesDir)).sort()) {
    const file = path.join(imagesDir, name, "image.json");
    if (!existsSync(file)) continue;
    const doc: unknown = JSON.parse(await readFile(file, "utf8"));
    if (!isRecord(doc) || !Array.isArray(doc.images)) throw new InvalidImageDefinitionError(file, "images must be a list");
    for (const image of doc.images as unknown[]) definitions.push(toDefinition(file, image));
  }
  return definitions;
}

function withParents(entries: TarWriteEntry[]): TarWriteEntry[] {
  const dirs = new Set(entries.filter((e) => e.type === "directory").map((e) => e.name));
  const parents: TarWriteEntry[] = [];
  for (const entry of entries) {
    for (let dir = path.posix.dirname(entry.name); dir !== "."; dir = path.posix.dirname(dir)) {
      if (dirs.has(dir)) continue;
      dirs.add(dir);
      parents.push({ type: "directory", name: dir, mode: 0o755 });
    }
  }
  return [...entries, ...parents];
}

/** The busybox layer: the binary, a link per applet, the account files and the top-level directories. */
export async function busyboxLayerEntries(busyboxPath: string): Promise<TarWriteEntry[]> {
  const { stdout } = await execFileAsync(busyboxPath, ["--list-full"]);
  const applets = stdout
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && line !== "bin/busybox");
  const entries: TarWriteEntry[] = [
    { type: "file", name: "bin/busybox", mode: 0o755, content: await readFile(busyboxPath) },
    ...applets.map((name): TarWriteEntry => ({ type: "symlink", name, target: "/bin/busybox" })),
    { type: "file", name: "etc/passwd", mode: 0o644, content: Buffer.from(PASSWD) },
    { type: "file", name: "etc/group", mode: 0o644, content: Buffer.from(GROUP) },
    { type: "file", name: "etc/hosts", mode: 0o644, content: Buffer.from(HOSTS) },
    { type: "directory", name: "tmp", mode: 0o1777 },
    { type: "directory", name: "root", mode: 0o700 },
    ...["dev", "proc", "sys", "etc", "home", "var", "run", "usr/local/bin", "var/log"].map(
      (name): TarWriteEntry => ({ type: "directory", name, mode: 0o755 }),
    ),
  ];
  return withParents(entries);
}

/** The entries of a directory tree: modes normalized to 0755/0644 by the owner's execute bit. */
export async function directoryLayerEntries(root: string): Promise<TarWriteEntry[]> {
  const entries: TarWriteEntry[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(path.join(root, rel))).sort()) {
      const childRel = rel === "" ? name : `${rel}/${name}`;
      const abs = path.join(root, childRel);
      const info = await lstat(abs);
      if (info.isSymbolicLink()) entries.push({ type: "symlink", name: childRel, target: await readlink(abs) });
      else if (info.isDirectory()) {
        entries.push({ type: "directory", name: childRel, mode: 0o755 });
        await walk(childRel);
      } else if (info.isFile()) {
        const mode = info.mode & 0o100 ? 0o755 : 0o644;
        entries.push({ type: "file", name: childRel, mode, content: await readFile(abs) });
      }
    }
  };
  await walk("");
  return entries;
}

/** A gzip-compressed layer blob with its digests. */
export interface BuiltLayer {
  readonly descriptor: Descriptor;
  readonly diffId: string;
  readonly blob: Uint8Array;
  readonly createdBy: string;
}

/** Packs `entries` into a deterministic, gzip-compressed layer. */
export async function buildLayer(entries: TarWriteEntry[], createdBy: string): Promise<BuiltLayer> {
  const tar = await packDeterministicTar(entries);
  const blob = gzipSync(tar);
  return {
    descriptor: { mediaType: MEDIA_TYPE.layerGzip, digest: sha256Digest(blob), size: blob.length },
    diffId: sha256Digest(tar),
    blob,
    createdBy,
  };
}

/** Builds every offline image in memory (layers shared between images are built once). */
export async function buildOfflineImages(options: OfflineImagesOptions = {}): Promise<BuiltImage[]> {
  const imagesDir = options.imagesDir ?? defaultImagesDir();
  const busyboxPath = options.busyboxPath ?? DEFAULT_BUSYBOX_PATH;
  const definitions = await loadOfflineDefinitions(imagesDir);
  const base = await buildLayer(await busyboxLayerEntries(busyboxPath), "busybox (Debian busybox-static)");
  const dirLayers = new Map<string, Promise<BuiltLayer>>();
  const images: BuiltImage[] = [];
  for (const definition of definitions) {
    const layers: BuiltLayer[] = [base];
    for (const dir of definition.layers) {
      let layer = dirLayers.get(dir);
      if (layer === undefined) {
        layer = directoryLayerEntries(path.join(imagesDir, dir)).then((entries) => buildLayer(entries, `images/${dir}`));
        dirLayers.set(dir, layer);
      }
      layers.push(await layer);
    }
    const fileEntries = Object.entries(definition.files).map(
      ([name, content]): TarWriteEntry => ({ type: "file", name, mode: 0o644, content: Buffer.from(content) }),
    );
    if (fileEntries.length > 0) layers.push(await buildLayer(withParents(fileEntries), "image files"));
    images.push(assembleImage(layers, definition.config, definition.references));
  }
  return images;
}

/**
 * An OCI image (config and manifest for the host platform) over `layers`, bottom first, ready for
 * `ImageStore.addImage`; the same layers and config always give the same manifest digest.
 */
export function assembleImage(
  layers: readonly BuiltLayer[],
  containerConfig: ContainerConfig,
  references: readonly string[],
): BuiltImage {
  const platform = hostPlatform();
  const config = {
    created: FIXED_CREATED,
    architecture: platform.architecture,
    os: platform.os,
    config: containerConfig,
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((l) => ({ created: FIXED_CREATED, created_by: l.createdBy })),
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.manifest,
    config: { mediaType: MEDIA_TYPE.config, digest: sha256Digest(configBytes), size: configBytes.length },
    layers: layers.map((l) => l.descriptor),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestDescriptor = { mediaType: MEDIA_TYPE.manifest, digest: sha256Digest(manifestBytes), size: manifestBytes.length };
  const blobs = new Map<string, Uint8Array>([
    [manifest.config.digest, configBytes],
    [manifestDescriptor.digest, manifestBytes],
    ...layers.map((l): [string, Uint8Array] => [l.descriptor.digest, l.blob]),
  ]);
  return { references: references.map(normalizeReference), manifest: manifestDescriptor, blobs };
}

function layoutFiles(image: BuiltImage, refName: string): { name: string; content: Uint8Array }[] {
  const descriptor = { ...image.manifest, annotations: { [REF_NAME_ANNOTATION]: refName } };
  return [
    { name: "oci-layout", content: Buffer.from(JSON.stringify({ imageLayoutVersion: "1.0.0" })) },
    { name: "index.json", content: Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [descriptor] })) },
    ...[...image.blobs].map(([digest, content]) => ({ name: `blobs/sha256/${digest.slice("sha256:".length)}`, content })),
  ];
}

/**
 * Writes `image` as an OCI image layout in `dir`, its descriptor named `refName` (a tag such as `v1`, as skopeo
 * and umoci expect, or a full reference, as containerd's import reads), e.g. to push or import it elsewhere.
 */
export async function writeOciLayout(image: BuiltImage, dir: string, refName: string): Promise<void> {
  for (const file of layoutFiles(image, refName)) {
    await mkdir(path.dirname(path.join(dir, file.name)), { recursive: true });
    await writeFile(path.join(dir, file.name), file.content);
  }
}

/** The same layout as one deterministic tar, the form `kubelab image load` and `ctr images import` take. */
export function ociArchive(image: BuiltImage, refName: string): Promise<Buffer> {
  return packDeterministicTar(
    layoutFiles(image, refName).map((file): TarWriteEntry => ({ type: "file", name: file.name, mode: 0o644, content: file.content })),
  );
}

/** Adds to `store` each offline image whose references are missing or point elsewhere. */
export async function ensureOfflineImages(store: ImageStore, options: OfflineImagesOptions = {}): Promise<EnsureResult> {
  const added: string[] = [];
  const present: string[] = [];
  for (const image of await buildOfflineImages(options)) {
    const missing: string[] = [];
    for (const reference of image.references) {
      const record = await store.status(reference);
      if (record?.manifestDigest === image.manifest.digest) present.push(reference);
      else missing.push(reference);
    }
    if (missing.length === 0) continue;
    await store.addImage(new MemoryAndFileBlobSource(image.blobs), image.manifest, missing);
    added.push(...missing);
  }
  return { added, present };
}

const PASSWD = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
`;

// Runtimes mount their own /etc/hosts; this one keeps `localhost` working where none does.
const HOSTS = `127.0.0.1 localhost
::1 localhost ip6-localhost ip6-loopback
`;

const GROUP = `root:x:0:
daemon:x:1:
www-data:x:33:
nogroup:x:65534:
`;
