/**
 * A container's root filesystem from an image's unpacked layers: an overlayfs mount (the layers read-only
 * below, a per-container upper and work directory above), or, where overlayfs is refused, a private copy of
 * the layers applied in order with their whiteouts. Mounting goes through mount(8)/umount(8): Node has no
 * mount call.
 */
import { execFile } from "node:child_process";
import { mkdir, readdir, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

/** One unpacked layer with the whiteouts it carries. */
export interface RootfsLayer {
  readonly dir: string;
  readonly deleted: readonly string[];
  readonly opaque: readonly string[];
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? (("stderr" in error && String(error.stderr)) || error.message) : String(error);
  return message.trim().split("\n")[0] ?? message;
}

/** Mounts `layers` (bottom first) as an overlay at `merged`. Throws with mount's own message on refusal. */
export async function mountOverlay(
  layers: readonly string[],
  upper: string,
  work: string,
  merged: string,
): Promise<void> {
  if (layers.length === 0) throw new Error("an overlay needs at least one layer");
  for (const dir of [upper, work, merged]) await mkdir(dir, { recursive: true });
  // overlayfs lists lower directories topmost first.
  const lowerdir = [...layers].reverse().join(":");
  try {
    await execFileAsync("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${lowerdir},upperdir=${upper},workdir=${work}`, merged]);
  } catch (error: unknown) {
    throw new Error(`overlay mount refused: ${firstLine(error)}`, { cause: error });
  }
}

/** Whether `target` is a mount point in this process's mount namespace. */
export async function isMountPoint(target: string): Promise<boolean> {
  const mountinfo = await readFile("/proc/self/mountinfo", "utf8");
  const resolved = path.resolve(target);
  // Field 5 is the mount point, with spaces and the like written as octal escapes.
  return mountinfo.split("\n").some((line) => {
    const field = line.split(" ")[4];
    return field?.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8))) === resolved;
  });
}

/** Unmounts `target` if it is mounted; lazily when busy, so a stuck process does not pin the store. */
export async function unmountIfMounted(target: string): Promise<void> {
  if (!(await isMountPoint(target))) return;
  try {
    await execFileAsync("umount", [target]);
  } catch {
    await execFileAsync("umount", ["-l", target]);
  }
}

/**
 * Builds a plain directory tree at `target` from `layers` (bottom first): for each layer, opaque directories are
 * emptied, the layer is copied over with cp(1) (ownership, modes, links and times kept), and the paths it
 * deletes are removed (they were whiteout device nodes in the layer, now copied over the files they hide).
 */
export async function copyLayers(layers: readonly RootfsLayer[], target: string): Promise<void> {
  await mkdir(target, { recursive: true });
  for (const layer of layers) {
    for (const dir of layer.opaque) {
      const abs = path.join(target, dir);
      const children = await readdir(abs).catch(() => []);
      for (const child of children) await rm(path.join(abs, child), { recursive: true, force: true });
    }
    await execFileAsync("cp", ["-a", "--", `${layer.dir}/.`, `${target}/`]);
    for (const deleted of layer.deleted) await rm(path.join(target, deleted), { recursive: true, force: true });
  }
}

/** Tries an overlay mount of one empty layer under `scratch`; undefined when it works, else the reason. */
export async function probeOverlay(scratch: string): Promise<string | undefined> {
  const lower = path.join(scratch, "lower");
  const merged = path.join(scratch, "merged");
  await mkdir(lower, { recursive: true });
  try {
    await mountOverlay([lower], path.join(scratch, "upper"), path.join(scratch, "work"), merged);
    await unmountIfMounted(merged);
    return undefined;
  } catch (error: unknown) {
    return firstLine(error);
  } finally {
    await unmountIfMounted(merged).catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
  }
}
