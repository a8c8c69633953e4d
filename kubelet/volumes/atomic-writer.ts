// Kubernetes' AtomicWriter layout for configMap, secret, downwardAPI and projected volumes, so a container reading
// the volume sees either the old or the new set of files and never a mix:
//
//   <volume>/..2026_12_06_06_10_54.aB3xYz/<paths>   the payload, written whole before it becomes visible
//   <volume>/..data -> ..2026_12_06_06_10_54.aB3xYz  swapped by a rename (atomic) on every update
//   <volume>/<top-level name> -> ..data/<top-level name>
//
// An unchanged payload costs no write: the payload's digest is remembered per directory, and after a restart the
// files on disk are compared instead.
import { createHash } from "node:crypto";
import { chmod, lchown, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import { dirname, join, posix } from "node:path";

export interface FileProjection {
  data: Buffer;
  /** Permission bits, e.g. 0o644. */
  mode: number;
}

/** Relative path → contents. */
export type Payload = Map<string, FileProjection>;

export interface WriteOptions {
  /** The group owning every file and directory of the payload (the pod's fsGroup). */
  gid?: number;
}

const DATA_DIR = "..data";
const DATA_DIR_TMP = "..data_tmp";

/** A payload path the writer refuses (absolute, with `..`, or starting with `..`): Kubernetes' validation rules. */
export function payloadPathError(path: string): string | undefined {
  if (path === "") return "invalid path: must not be empty";
  if (path.startsWith("/")) return `invalid path: must be relative path: ${path}`;
  if (path.split("/").includes("..")) return `invalid path: must not contain '..': ${path}`;
  if (path.startsWith("..")) return `invalid path: must not start with '..': ${path}`;
  return undefined;
}

export class AtomicWriter {
  private readonly digests = new Map<string, string>();

  /** Makes dir hold exactly payload; true when something was written. */
  async write(dir: string, payload: Payload, options: WriteOptions = {}): Promise<boolean> {
    const gid = options.gid;
    for (const path of payload.keys()) {
      const err = payloadPathError(path);
      if (err) throw new Error(err);
    }
    const digest = `${gid ?? ""}:${payloadDigest(payload)}`;
    const current = await readlink(join(dir, DATA_DIR)).catch(() => undefined);
    if (current !== undefined) {
      if (this.digests.get(dir) === digest) return false;
      if (await matchesDisk(join(dir, current), payload, gid)) {
        this.digests.set(dir, digest);
        return false;
      }
    }

    await mkdir(dir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[-T:]/g, "_").replace(/\.\d+Z$/, "");
    const tsDir = await mkdtemp(join(dir, `..${stamp}.`));
    await chmod(tsDir, 0o755);
    if (gid !== undefined) await lchown(tsDir, -1, gid);
    for (const [path, file] of payload) {
      const target = join(tsDir, path);
      const parent = dirname(target);
      const created = await mkdir(parent, { recursive: true, mode: 0o755 });
      if (created !== undefined && gid !== undefined) {
        for (let d = parent; d.length >= created.length; d = dirname(d)) await lchown(d, -1, gid);
      }
      await writeFile(target, file.data, { mode: file.mode });
      if (gid !== undefined) await lchown(target, -1, gid);
      await chmod(target, file.mode);
    }

    const tmpLink = join(dir, DATA_DIR_TMP);
    await rm(tmpLink, { force: true });
    await symlink(posix.basename(tsDir), tmpLink);
    await rename(tmpLink, join(dir, DATA_DIR));

    const visible = new Set([...payload.keys()].map((p) => p.split("/")[0] ?? p));
    for (const name of visible) {
      const link = join(dir, name);
      const want = posix.join(DATA_DIR, name);
      const have = await readlink(link).catch(() => undefined);
      if (have === want) continue;
      await rm(link, { force: true, recursive: true });
      await symlink(want, link);
    }
    for (const entry of await readdir(dir)) {
      if (entry.startsWith("..")) {
        // Old timestamped payloads; the one just written stays.
        if (entry !== DATA_DIR && entry !== posix.basename(tsDir)) await rm(join(dir, entry), { recursive: true, force: true });
      } else if (!visible.has(entry)) {
        await rm(join(dir, entry), { recursive: true, force: true });
      }
    }
    this.digests.set(dir, digest);
    return true;
  }

  /** Forgets what was written under prefix (a torn-down pod). */
  forget(prefix: string): void {
    for (const dir of this.digests.keys()) if (dir.startsWith(prefix)) this.digests.delete(dir);
  }
}

function payloadDigest(payload: Payload): string {
  const hash = createHash("sha256");
  for (const path of [...payload.keys()].sort()) {
    const file = payload.get(path);
    if (!file) continue;
    hash.update(`${path}\0${file.mode}\0${file.data.length}\0`);
    hash.update(file.data);
  }
  return hash.digest("hex");
}

/** True when the files under dir are exactly payload (same paths, bytes and modes). */
async function matchesDisk(dir: string, payload: Payload, gid: number | undefined): Promise<boolean> {
  const onDisk = await listFiles(dir).catch(() => undefined);
  if (onDisk?.length !== payload.size) return false;
  for (const path of onDisk) {
    const want = payload.get(path);
    if (!want) return false;
    const full = join(dir, path);
    const [info, data] = await Promise.all([stat(full), readFile(full)]);
    if ((info.mode & 0o7777) !== want.mode || !data.equals(want.data)) return false;
    if (gid !== undefined && info.gid !== gid) return false;
  }
  return true;
}

async function listFiles(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(dir, prefix))) {
    const rel = prefix === "" ? entry : `${prefix}/${entry}`;
    const info = await lstat(join(dir, rel));
    if (info.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else out.push(rel);
  }
  return out;
}
