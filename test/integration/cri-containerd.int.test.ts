// The CRI client kubelab's kubelet will use, against a real CRI runtime: Debian's containerd (its CRI plugin),
// started as root on sockets and directories in a temporary directory, with an empty CNI configuration directory
// and no registry access. What passes here is Kubernetes' own wire format as containerd speaks it: Version, the
// Status conditions (NetworkReady false with containerd's reason, since no CNI network is configured), empty
// lists, the image filesystem, an absent image and NOT_FOUND for an unknown container. Nothing is pulled.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CriClient } from "../../client/cri/client.js";
import { isCriError } from "../../client/cri/errors.js";
import { imageSpec } from "../../client/cri/types.js";
import { removeDir } from "../../lab/process/owner.js";
import type { ManagedProcess } from "../../lab/process/runner.js";
import { containerdConfig } from "../support/containerd.js";
import { testProcesses } from "../support/processes.js";

function containerdPath(): string | undefined {
  try {
    return execFileSync("sh", ["-c", "command -v containerd"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

const CONTAINERD = containerdPath();
const IS_ROOT = process.getuid?.() === 0;
const SKIP_REASON = CONTAINERD === undefined ? "containerd is not installed (scripts/setup.sh installs it)" : IS_ROOT ? undefined : "containerd needs root";
if (SKIP_REASON !== undefined) console.log(`skipping the containerd CRI test: ${SKIP_REASON}`);


describe.skipIf(SKIP_REASON !== undefined)("the CRI client against Debian's containerd", () => {
  let dir: string;
  let containerd: ManagedProcess;
  let client: CriClient;

  beforeAll(async () => {
    dir = testProcesses.tempDir("kubelab-containerd-", tmpdir());
    mkdirSync(join(dir, "net.d"));
    writeFileSync(join(dir, "config.toml"), containerdConfig(dir));
    containerd = (
      await testProcesses.startReady({
        name: "containerd cri-test",
        kind: "container-runtime",
        program: { kind: "binary", path: CONTAINERD ?? "containerd" },
        args: ["--config", join(dir, "config.toml")],
        ports: {},
        readiness: { kind: "log", pattern: /containerd successfully booted/ },
        dataDir: dir,
        links: [],
      })
    ).process;
    client = new CriClient(join(dir, "containerd.sock"), { timeoutMs: 10_000 });
  });

  afterAll(async () => {
    client.close();
    await containerd.stop("SIGKILL");
    removeDir(dir);
  });

  it("reads containerd's Version and Status conditions", async () => {
    const version = await client.version();
    expect(version).toMatchObject({ runtimeName: "containerd", runtimeApiVersion: "v1" });
    expect(version.runtimeVersion).not.toBe("");
    const status = await client.status();
    const byType = Object.fromEntries(status.conditions.map((c) => [c.type, c]));
    expect(byType.RuntimeReady?.status).toBe(true);
    expect(byType.NetworkReady).toMatchObject({ status: false, reason: "NetworkPluginNotReady" });
    expect(byType.NetworkReady?.message).toMatch(/cni/i);
  });

  it("lists nothing, reports its image filesystem and answers NOT_FOUND for an unknown container", async () => {
    expect(await client.listPodSandbox()).toEqual([]);
    expect(await client.listContainers({ state: "CONTAINER_RUNNING" })).toEqual([]);
    expect(await client.listImages()).toEqual([]);
    expect(await client.imageStatus(imageSpec("busybox"))).toBeUndefined();
    const fs = await client.imageFsInfo();
    expect(fs.imageFilesystems[0]?.mountpoint).toContain(dir);
    const err = await client.containerStatus("0123456789abcdef").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isCriError(err) ? err.codeName : err).toBe("NOT_FOUND");
  });
});
