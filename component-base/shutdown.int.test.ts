import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
const SHUTDOWN_JS = join(REPO_ROOT, "dist/component-base/shutdown.js");
const LOGGING_JS = join(REPO_ROOT, "dist/component-base/logging.js");

describe("runUntilAborted in a real process", () => {
  it("ends a shutdown stuck on a promise nothing will settle with its grace-period error and exit 1, not Node's exit 13", async () => {
    // main waits, after the signal, on a promise that no handle holds: without a timer holding the event loop the
    // process would drain and Node would end it with 13 (unsettled top-level await) and no word why.
    const script = `
      import { runUntilAborted } from ${JSON.stringify(SHUTDOWN_JS)};
      import { createLogger } from ${JSON.stringify(LOGGING_JS)};
      await runUntilAborted(createLogger("stuck"), async (signal) => {
        const keepAlive = setInterval(() => {}, 1000);
        console.log("ready");
        await new Promise((resolve) => { signal.addEventListener("abort", resolve, { once: true }); });
        clearInterval(keepAlive);
        await new Promise(() => {});
      }, { gracePeriodMs: 300 });
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => { output += d.toString(); });
    child.stderr.on("data", (d: Buffer) => { output += d.toString(); });
    const exited = new Promise<number | null>((resolve) => { child.on("close", resolve); });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", () => { if (output.includes("ready")) resolve(); });
      child.on("close", () => { reject(new Error(`exited before it was ready: ${output}`)); });
    });
    child.kill("SIGTERM");
    expect(await exited).toBe(1);
    expect(output).toContain("Shutdown took longer than the grace period");
  }, 20_000);
});
