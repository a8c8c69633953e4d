// The few mount operations the volume manager needs (tmpfs for memory-backed volumes, unmounting a pod's
// volumes on teardown), through mount(8)/umount(8) and /proc/self/mountinfo.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";

const execFileAsync = promisify(execFile);

export interface MountOps {
  /** Mounts a tmpfs on dir; rejects when the host refuses (not root, no CAP_SYS_ADMIN). */
  mountTmpfs(dir: string, sizeBytes?: number): Promise<void>;
  /** Unmounts path (lazily when busy). */
  unmount(path: string): Promise<void>;
  /** The mount points at or below path, deepest first. */
  mountPointsUnder(path: string): string[];
}

/** mountinfo escapes blanks and backslashes in paths as octal. */
function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export const hostMountOps: MountOps = {
  async mountTmpfs(dir, sizeBytes) {
    const options = sizeBytes !== undefined && sizeBytes > 0 ? ["-o", `size=${sizeBytes}`] : [];
    await execFileAsync("mount", ["-t", "tmpfs", ...options, "tmpfs", dir], { timeout: 10_000 });
  },
  async unmount(path) {
    try {
      await execFileAsync("umount", [path], { timeout: 10_000 });
    } catch {
      await execFileAsync("umount", ["-l", path], { timeout: 10_000 });
    }
  },
  mountPointsUnder(path) {
    let text = "";
    try {
      text = readFileSync("/proc/self/mountinfo", "utf8");
    } catch {
      return [];
    }
    const base = path.replace(/\/+$/, "");
    const points = text
      .split("\n")
      .map((line) => unescapeMountPath(line.split(" ")[4] ?? ""))
      .filter((p) => p === base || p.startsWith(`${base}/`));
    return [...new Set(points)].sort((a, b) => b.length - a.length);
  },
};
