/**
 * A pull over the real distribution protocol: Debian's docker-registry on a loopback port, an offline image
 * pushed into it by skopeo, then pulled into a fresh store by RegistryPuller. Nothing leaves loopback.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, open, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildOfflineImages, DEFAULT_BUSYBOX_PATH, writeOciLayout } from "./offline.js";
import { parseImageManifest } from "./oci.js";
import { RegistryPuller } from "./registry-puller.js";
import { ImageNotFoundError, ImageStore } from "./store.js";

const execFileAsync = promisify(execFile);

function missingPrerequisite(): string | undefined {
  for (const tool of ["/usr/bin/docker-registry", "/usr/bin/skopeo", DEFAULT_BUSYBOX_PATH]) {
    if (!existsSync(tool)) return `${tool} missing`;
  }
  return undefined;
}
const skipReason = missingPrerequisite();
if (skipReason !== undefined) console.log(`skipping registry pull tests: ${skipReason}`);

let dir: string | undefined;
let registry: ChildProcess | undefined;

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

beforeEach(async () => {
  if (skipReason !== undefined) return;
  dir = await mkdtemp(path.join(os.tmpdir(), "kubelab-registry-int-"));
});

afterEach(async () => {
  const child = registry;
  registry = undefined;
  if (child?.exitCode === null && child.pid !== undefined) {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

/** Starts docker-registry on a free loopback port and waits until /v2/ answers; returns host:port. */
async function startRegistry(root: string): Promise<string> {
  const port = await freeLoopbackPort();
  const config = path.join(root, "registry.yml");
  await writeFile(
    config,
    `version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(root, "registry-data")}\nhttp:\n  addr: 127.0.0.1:${String(port)}\n`,
  );
  const log = await open(path.join(root, "registry.log"), "w");
  registry = spawn("/usr/bin/docker-registry", ["serve", config], { stdio: ["ignore", log.fd, log.fd] });
  await log.close();
  const address = `127.0.0.1:${String(port)}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ok = await fetch(`http://${address}/v2/`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return address;
    if (registry.exitCode !== null || Date.now() > deadline) {
      throw new Error(`docker-registry did not come up: ${await readFile(path.join(root, "registry.log"), "utf8")}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(skipReason !== undefined)("RegistryPuller against docker-registry", () => {
  it("pulls an image skopeo pushed, by tag and by digest, and fails for an unknown tag", async () => {
    if (dir === undefined) throw new Error("no dir");
    const address = await startRegistry(dir);
    const bootcamp = (await buildOfflineImages()).find((i) => i.references.includes("docker.io/jocatalin/kubernetes-bootcamp:v1"));
    if (bootcamp === undefined) throw new Error("bootcamp not built");
    const layout = path.join(dir, "layout");
    await writeOciLayout(bootcamp, layout, "v1");
    await execFileAsync("skopeo", [
      "--insecure-policy",
      "copy",
      "--dest-tls-verify=false",
      `oci:${layout}:v1`,
      `docker://${address}/kubelab/bootcamp:v1`,
    ]);

    const store = new ImageStore({ root: path.join(dir, "store") });
    const puller = new RegistryPuller();
    const pulled = await puller.pull(store, `${address}/kubelab/bootcamp:v1`);
    expect(pulled.repoTags).toEqual([`${address}/kubelab/bootcamp:v1`]);
    const offlineManifest = parseImageManifest(bootcamp.blobs.get(bootcamp.manifest.digest) ?? Buffer.alloc(0));
    expect(pulled.id).toBe(offlineManifest.config.digest);
    const rootfs = await store.prepareRootfs("pulled", `${address}/kubelab/bootcamp:v1`);
    try {
      expect(await readFile(path.join(rootfs, "app", "version"), "utf8")).toBe("1\n");
    } finally {
      await store.releaseRootfs("pulled");
    }

    const byDigest = await puller.pull(store, `${address}/kubelab/bootcamp@${pulled.manifestDigest}`);
    expect(byDigest.manifestDigest).toBe(pulled.manifestDigest);
    await expect(puller.pull(store, `${address}/kubelab/bootcamp:v9`)).rejects.toThrow(ImageNotFoundError);
    await expect(puller.pull(store, `${address}/kubelab/nothing:v1`)).rejects.toThrow(ImageNotFoundError);
  });
});
