// The last resort behind every teardown: children still running and throw-away directories still present when
// this process exits (an uncaught error, process.exit() from a deadline, a test runner ending a worker) are
// SIGKILLed and removed synchronously from an exit hook, so nothing outlives the process that started it.
import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";

const liveChildren = new Set<ChildProcess>();
const throwAwayDirs = new Set<string>();
let hookInstalled = false;

function installHook(): void {
  if (hookInstalled) return;
  hookInstalled = true;
  process.on("exit", () => {
    for (const child of liveChildren) {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    for (const dir of throwAwayDirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** Tracks a child until it exits. */
export function trackChild(child: ChildProcess): void {
  installHook();
  liveChildren.add(child);
  child.once("exit", () => liveChildren.delete(child));
}

export function untrackChild(child: ChildProcess): void {
  liveChildren.delete(child);
}

export function trackDir(dir: string): void {
  installHook();
  throwAwayDirs.add(dir);
}

export function untrackDir(dir: string): void {
  throwAwayDirs.delete(dir);
}

/** How many children and directories would be cleaned up if the process exited now. */
export function trackedCount(): number {
  let running = 0;
  for (const child of liveChildren) if (child.exitCode === null && child.signalCode === null) running++;
  return running + throwAwayDirs.size;
}
