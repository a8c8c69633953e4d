// Named network namespaces for pods, made with iproute2's `ip netns add`: it creates /run/netns/<name> as a
// bind mount of a fresh namespace, and makes /run/netns a shared mount point first so that the name stays
// valid in other mount namespaces (conmon's, runc's). Hand-rolling unshare + bind mount would have to redo that.
import { access } from "node:fs/promises";
import { CommandError, run } from "./exec.js";

export const NETNS_DIR = "/run/netns";

export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

/** Creates the namespace; an existing one with the same name is reused (the call is idempotent). */
export async function createNetns(name: string): Promise<string> {
  const path = netnsPath(name);
  if (await pathExists(path)) return path;
  const result = await run(["ip", "netns", "add", name]);
  if (result.code !== 0 && !(await pathExists(path))) throw new CommandError(`ip netns add ${name}`, result);
  // The loopback CNI plugin brings lo up too; doing it here keeps a namespace usable even without CNI.
  await run(["ip", "-n", name, "link", "set", "lo", "up"]);
  return path;
}

/** Removes the namespace; a missing one is not an error. */
export async function deleteNetns(name: string): Promise<void> {
  if (!(await pathExists(netnsPath(name)))) return;
  const result = await run(["ip", "netns", "delete", name]);
  if (result.code !== 0 && (await pathExists(netnsPath(name)))) throw new CommandError(`ip netns delete ${name}`, result);
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
