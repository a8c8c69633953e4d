// The process runner on real (tiny) child processes: readiness, fail-fast with the output quoted, logs to a file,
// supervision with a restart count, and an owner's teardown that kills what it started and removes its directories.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Component, ReadinessProbe } from "../components/component.js";
import { ProcessOwner } from "./owner.js";
import { freePort } from "./ports.js";

/** A component that runs `script` in this Node. */
function nodeScript(name: string, script: string, readiness?: ReadinessProbe): Component {
  return { name, kind: "hollow-nodes", program: { kind: "binary", path: process.execPath }, args: ["-e", script], ports: {}, ...(readiness ? { readiness } : {}), links: [] };
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("the process runner", () => {
  const logDir = mkdtempSync(join(tmpdir(), "kubelab-runner-test-"));
  const owner = new ProcessOwner({ logDir });
  afterAll(async () => {
    await owner.teardown();
    rmSync(logDir, { recursive: true, force: true });
  });

  it("waits for an HTTP probe, captures output in memory and in a log file, and stops on a signal", async () => {
    const port = await freePort();
    const script = `console.log("hello"); setTimeout(() => require("node:http").createServer((q, s) => s.end("ok")).listen(${port}, "127.0.0.1"), 200);`;
    const { process: proc, readyMs } = await owner.startReady(nodeScript("web server", script, { kind: "http", url: `http://127.0.0.1:${port}/` }));
    expect(readyMs).toBeGreaterThanOrEqual(150);
    expect(proc.running).toBe(true);
    expect(proc.logs()).toContain("hello");
    await proc.stop("SIGTERM");
    expect(proc.running).toBe(false);
    expect(proc.exitReason()).toBe("killed by SIGTERM");
    expect(readFileSync(join(logDir, "web-server.log"), "utf8")).toContain("hello");
  });

  it("fails fast, quoting the output, when the process exits before it is ready", async () => {
    const started = performance.now();
    const failing = owner.startReady(nodeScript("crasher", `console.error("bad flag --nope"); process.exit(3);`, { kind: "log", pattern: /never/ }), { timeoutMs: 20_000 });
    await expect(failing).rejects.toThrow(/crasher exited with code 3 before it was ready; its output ends with:\n.*bad flag --nope/s);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it("gives up at the deadline, naming the probe", async () => {
    const hang = owner.startReady(nodeScript("sleeper", `setInterval(() => {}, 1000);`, { kind: "log", pattern: /ready/ }), { timeoutMs: 300 });
    await expect(hang).rejects.toThrow(/sleeper not ready within 300 ms \(output matching \/ready\/\)/);
  });

  it("reports a program that cannot be started", async () => {
    const missing: Component = { name: "ghost", kind: "etcd", program: { kind: "binary", path: "/nonexistent/etcd" }, args: [], ports: {}, links: [] };
    await expect(owner.startReady(missing)).rejects.toThrow(/ghost could not be started/);
  });

  it("restarts a supervised process whenever it exits, counting restarts, until stopped", async () => {
    const proc = owner.start(nodeScript("flaky", `console.log("run"); setTimeout(() => process.exit(1), 50);`), {
      supervise: { initialDelayMs: 20, maxDelayMs: 40, resetAfterMs: 60_000 },
    });
    const until = performance.now() + 10_000;
    while (proc.restarts < 3 && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(proc.restarts).toBeGreaterThanOrEqual(3);
    expect(proc.logs().match(/^run$/gm)?.length).toBeGreaterThanOrEqual(3);
    await proc.stop("SIGKILL");
    const count = proc.restarts;
    await new Promise((r) => setTimeout(r, 200));
    expect(proc.restarts).toBe(count);
    expect(proc.running).toBe(false);
  });

  it("tells its phase (running, backoff, stopped, exited) and probes the current run", async () => {
    const proc = owner.start(nodeScript("phased", `console.log("up"); setTimeout(() => process.exit(1), 100);`, { kind: "log", pattern: /^up$/m }), {
      supervise: { initialDelayMs: 400, maxDelayMs: 400, resetAfterMs: 60_000 },
    });
    expect(proc.phase).toBe("running");
    await expect.poll(() => proc.probe()).toBe(true);
    await expect.poll(() => proc.phase).toBe("backoff");
    expect(await proc.probe()).toBe(false);
    await expect.poll(() => proc.phase).toBe("running");
    await proc.stop("SIGKILL");
    expect(proc.phase).toBe("stopped");
    const once = owner.start(nodeScript("once", `process.exit(0);`));
    await expect.poll(() => once.phase).toBe("exited");
  });

  it("after a restart, waits for the new run's readiness line rather than the previous run's", async () => {
    // The second run prints its line only after a file appears, so a probe that matched the first run's output
    // would resolve while the file is still absent.
    const flag = join(logDir, "second-run-may-start");
    const script = `const fs = require("node:fs"); const go = () => { console.log("serving"); setInterval(() => {}, 1000); };
      if (!fs.existsSync(${JSON.stringify(flag + ".seen")})) { fs.writeFileSync(${JSON.stringify(flag + ".seen")}, ""); go(); }
      else { const t = setInterval(() => { if (fs.existsSync(${JSON.stringify(flag)})) { clearInterval(t); go(); } }, 20); }`;
    const { process: proc } = await owner.startReady(nodeScript("restarted", script, { kind: "log", pattern: /serving/ }));
    const firstPid = proc.pid;
    let restartedReady = false;
    const restarted = proc.restart({ timeoutMs: 20_000 }).then(() => (restartedReady = true));
    // The second run is up and its readiness is being polled: a probe over the old output would have passed by now.
    await expect.poll(() => proc.running && proc.pid !== firstPid && proc.logs().split("serving").length === 2).toBe(true);
    expect(restartedReady).toBe(false);
    const { writeFileSync } = await import("node:fs");
    writeFileSync(flag, "");
    await restarted;
    expect(restartedReady).toBe(true);
    await proc.stop("SIGTERM");
  });

  it("tears down everything an owner started, newest first, and removes its directories", async () => {
    const local = new ProcessOwner();
    const dir = local.tempDir("kubelab-owner-test-", tmpdir());
    const order: string[] = [];
    local.onTeardown("first", () => { order.push("first"); });
    const a = local.start(nodeScript("a", `setInterval(() => {}, 1000);`));
    const b = local.start(nodeScript("b", `process.on("SIGTERM", () => {}); setInterval(() => {}, 1000);`));
    local.onTeardown("last", () => { order.push("last"); });
    const pids = [a.pid, b.pid];
    expect(pids.every(isAlive)).toBe(true);
    await local.teardown();
    expect(order).toEqual(["last", "first"]);
    expect(pids.some(isAlive)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(local.pending).toBe(0);
  });
});
