import { spawn, type ChildProcess } from "node:child_process";
import { Worker } from "node:cluster";
import { createPrivateKey } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseFlags } from "../component-base/flags.js";
import { createLogger } from "../component-base/logging.js";
import { apiServerFlags } from "./options.js";
import { liveWorkers, sharedWorkerFlags } from "./workers.js";

const logger = createLogger("test", { level: "silent" });
const PARSE = { command: "kube-apiserver", summary: "" };

describe("sharedWorkerFlags", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("makes one service account signing key for all workers when none is given, and removes it on cleanup", async () => {
    const options = parseFlags(apiServerFlags, ["--secure-port=0", "--workers=2"], PARSE);
    const shared = await sharedWorkerFlags(options, logger);
    expect(shared.args).toHaveLength(1);
    const file = shared.args[0]!.replace("--service-account-signing-key-file=", "");
    const key = createPrivateKey(readFileSync(file, "utf8"));
    // The kind of key a single apiserver generates: ECDSA P-256 (ES256).
    expect([key.asymmetricKeyType, key.asymmetricKeyDetails?.namedCurve]).toEqual(["ec", "prime256v1"]);
    shared.cleanup();
    expect(existsSync(file)).toBe(false);
  });

  it("removes the key folders left by primaries that are gone (a SIGKILL), not those of live ones", async () => {
    // Above Linux's largest pid_max (2^22): no process can have it.
    const gone = mkdtempSync(join(tmpdir(), `kube-apiserver-workers-${2 ** 22 + 1}-`));
    const live = mkdtempSync(join(tmpdir(), `kube-apiserver-workers-${process.ppid}-`));
    dirs.push(gone, live);
    const shared = await sharedWorkerFlags(parseFlags(apiServerFlags, ["--secure-port=0", "--workers=2"], PARSE), logger);
    expect(existsSync(gone)).toBe(false);
    expect(existsSync(live)).toBe(true);
    expect(shared.args[0]).toContain(`kube-apiserver-workers-${process.pid}-`);
    shared.cleanup();
  });

  it("adds nothing when a signing key is given, and writes the self-signed serving pair the workers then share", async () => {
    const certDir = mkdtempSync(join(tmpdir(), "workers-unit-"));
    dirs.push(certDir);
    const first = await sharedWorkerFlags(parseFlags(apiServerFlags, ["--secure-port=0", "--workers=2"], PARSE), logger);
    const keyFile = first.args[0]!.replace("--service-account-signing-key-file=", "");
    try {
      const options = parseFlags(apiServerFlags, [`--cert-dir=${certDir}`, `--service-account-signing-key-file=${keyFile}`, "--workers=2"], PARSE);
      const shared = await sharedWorkerFlags(options, logger);
      expect(shared.args).toEqual([]);
      const cert = readFileSync(join(certDir, "apiserver.crt"), "utf8");
      expect(cert).toContain("BEGIN CERTIFICATE");
      // A second call (a restarted primary) keeps the pair.
      await sharedWorkerFlags(options, logger);
      expect(readFileSync(join(certDir, "apiserver.crt"), "utf8")).toBe(cert);
    } finally {
      first.cleanup();
    }
  });
});

describe("liveWorkers", () => {
  it("leaves out a worker that has exited but is still listed (its exit seen before its IPC channel closed)", async () => {
    const exited = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    await new Promise((resolve) => exited.once("exit", resolve));
    const running: ChildProcess = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    try {
      const dead = Object.assign(new Worker(), { id: 1, process: exited });
      const alive = Object.assign(new Worker(), { id: 2, process: running });
      expect(liveWorkers({ 1: dead, 2: alive, 3: undefined }).map((w) => w.id)).toEqual([2]);
      expect(liveWorkers(undefined)).toEqual([]);
    } finally {
      running.kill("SIGKILL");
    }
  });
});
