/**
 * Unpacks one layer blob into its own directory, the form overlayfs stacks as a lower layer.
 *
 * Whiteouts (`.wh.NAME` deletes NAME from the layers below; `.wh..wh..opq` hides everything below in its
 * directory) are not kept as files: they are recorded in the result, for the copy fallback, and written in
 * overlayfs's own form (a 0/0 character device, the `trusted.overlay.opaque` xattr) by a WhiteoutWriter. A
 * writer that cannot do that (not root, no setfattr) leaves the layer usable by copy only, and says why.
 *
 * Paths are confined to the destination: names are resolved against the layer's root, so `..` cannot climb
 * above it (as containerd does), and an entry whose parent is a symlink is refused, since writing through it
 * could land outside the layer's directory.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { chmod, lchown, link, lstat, mkdir, open, rm, symlink, utimes } from "node:fs/promises";
import { createWriteStream } from "node:fs";
import path from "node:path";
import { PassThrough, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { createGunzip } from "node:zlib";
import { readTar, type TarEntryHeader } from "./layer-tar.js";

const execFileAsync = promisify(execFile);

export const WHITEOUT_PREFIX = ".wh.";
export const OPAQUE_MARKER = ".wh..wh..opq";

/** Writes whiteouts in the form a union filesystem understands. Paths are absolute, inside the layer directory. */
export interface WhiteoutWriter {
  whiteout(absPath: string): Promise<void>;
  opaque(absDir: string): Promise<void>;
}

/** overlayfs's form, made with coreutils' mknod and attr's setfattr (Node has neither call). */
export const overlayWhiteoutWriter: WhiteoutWriter = {
  async whiteout(absPath) {
    await execFileAsync("mknod", [absPath, "c", "0", "0"]);
  },
  async opaque(absDir) {
    await execFileAsync("setfattr", ["-n", "trusted.overlay.opaque", "-v", "y", absDir]);
  },
};

export interface UnpackedLayer {
  /** sha256 of the uncompressed tar: the layer's diff_id in the image config. */
  readonly diffId: string;
  /** Paths (relative, `/`-separated) this layer deletes from the layers below. */
  readonly deleted: readonly string[];
  /** Directories whose lower contents this layer hides. */
  readonly opaque: readonly string[];
  /** Whether the whiteouts are in overlayfs form; when false, `overlayUnfitReason` says why. */
  readonly overlayFit: boolean;
  readonly overlayUnfitReason?: string;
}

/** A tar entry that would land outside the layer directory, or a malformed archive. */
export class UnsafeLayerError extends Error {
  constructor(
    readonly entry: string,
    reason: string,
  ) {
    super(`layer entry ${JSON.stringify(entry)}: ${reason}`);
    this.name = "UnsafeLayerError";
  }
}

/** Resolves an archive path against the layer root, `..` stopping at the root; "" is the root itself. */
export function safeRelativePath(name: string): string {
  return path.posix.normalize(`/${name}`).slice(1).replace(/\/+$/, "");
}

async function isGzip(file: string): Promise<boolean> {
  const handle = await open(file, "r");
  try {
    const magic = Buffer.alloc(2);
    const { bytesRead } = await handle.read(magic, 0, 2, 0);
    return bytesRead === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/**
 * Unpacks the layer blob at `blobPath` (tar, or gzip-compressed tar) into the empty directory `dest`.
 * Throws UnsafeLayerError for an entry that would escape `dest`.
 */
export async function unpackLayer(
  blobPath: string,
  dest: string,
  writer: WhiteoutWriter = overlayWhiteoutWriter,
): Promise<UnpackedLayer> {
  await mkdir(dest, { recursive: true });
  const hash = createHash("sha256");
  const tarBytes = new PassThrough();
  tarBytes.on("data", (chunk: Buffer) => hash.update(chunk));
  const source = createReadStream(blobPath);
  const decoded: Readable = (await isGzip(blobPath)) ? source.pipe(createGunzip()) : source;
  const feeding = pipeline(decoded, tarBytes);
  // When the archive is refused, reading stops and this pipeline is torn down; that error is only an echo.
  feeding.catch(() => undefined);

  const knownDirs = new Set<string>([""]);
  const deleted: string[] = [];
  const opaque: string[] = [];
  const whiteoutFailures: string[] = [];
  const asRoot = process.getuid?.() === 0;
  const dirModes: [string, TarEntryHeader][] = [];

  async function ensureDir(rel: string, entryName: string): Promise<void> {
    if (knownDirs.has(rel)) return;
    const parent = path.posix.dirname(rel);
    await ensureDir(parent === "." ? "" : parent, entryName);
    const abs = path.join(dest, rel);
    const stat = await lstat(abs).catch(() => undefined);
    if (stat === undefined) await mkdir(abs, { mode: 0o755 });
    else if (stat.isSymbolicLink()) throw new UnsafeLayerError(entryName, `parent ${rel} is a symlink`);
    else if (!stat.isDirectory()) throw new UnsafeLayerError(entryName, `parent ${rel} is not a directory`);
    knownDirs.add(rel);
  }

  // link(2) follows symlinks in every component but the last, so a hard link's original must not pass one.
  async function assertNoSymlinkParents(rel: string, entryName: string): Promise<void> {
    const parts = rel.split("/").slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const info = await lstat(path.join(dest, ...parts.slice(0, i))).catch(() => undefined);
      if (info?.isSymbolicLink()) throw new UnsafeLayerError(entryName, `hard link through symlink ${parts.slice(0, i).join("/")}`);
    }
  }

  async function owner(abs: string, header: TarEntryHeader): Promise<void> {
    if (asRoot) await lchown(abs, header.uid, header.gid);
  }

  async function recordWhiteout(kind: "whiteout" | "opaque", abs: string): Promise<void> {
    try {
      if (kind === "whiteout") await writer.whiteout(abs);
      else await writer.opaque(abs);
    } catch (error: unknown) {
      whiteoutFailures.push(error instanceof Error ? error.message.split("\n")[0] ?? error.message : String(error));
    }
  }

  await readTar(tarBytes, async (header, body) => {
    const rel = safeRelativePath(header.name);
    const base = path.posix.basename(rel);
    const parentRel = path.posix.dirname(rel) === "." ? "" : path.posix.dirname(rel);
    if (rel === "") return;
    await ensureDir(parentRel, header.name);
    const abs = path.join(dest, rel);
    if (base === OPAQUE_MARKER) {
      opaque.push(parentRel);
      await recordWhiteout("opaque", path.join(dest, parentRel));
      return;
    }
    if (base.startsWith(WHITEOUT_PREFIX)) {
      const target = path.posix.join(parentRel, base.slice(WHITEOUT_PREFIX.length));
      deleted.push(target);
      await rm(path.join(dest, target), { recursive: true, force: true });
      await recordWhiteout("whiteout", path.join(dest, target));
      return;
    }
    const existing = await lstat(abs).catch(() => undefined);
    if (existing !== undefined && !(existing.isDirectory() && header.type === "directory")) {
      await rm(abs, { recursive: true, force: true });
      knownDirs.delete(rel);
    }
    switch (header.type) {
      case "directory":
        await ensureDir(rel, header.name);
        await owner(abs, header);
        dirModes.push([abs, header]);
        break;
      case "file":
        await pipeline(body, createWriteStream(abs, { mode: 0o600 }));
        await owner(abs, header);
        await chmod(abs, header.mode & 0o7777);
        await utimes(abs, header.mtime, header.mtime);
        break;
      case "symlink":
        await symlink(header.linkname, abs);
        await owner(abs, header);
        break;
      case "link": {
        const original = safeRelativePath(header.linkname);
        await assertNoSymlinkParents(original, header.name);
        await link(path.join(dest, original), abs);
        break;
      }
      case "other":
        // Device nodes and fifos are left out: a container's /dev comes from the runtime, not its image.
        break;
    }
  });
  await feeding;
  // Directory modes last, so a read-only directory in the archive does not stop its own children being written.
  for (const [abs, header] of dirModes) await chmod(abs, header.mode & 0o7777);
  const overlayFit = whiteoutFailures.length === 0;
  return {
    diffId: `sha256:${hash.digest("hex")}`,
    deleted,
    opaque,
    overlayFit,
    ...(overlayFit ? {} : { overlayUnfitReason: `whiteouts not written for overlayfs: ${whiteoutFailures[0] ?? ""}` }),
  };
}
