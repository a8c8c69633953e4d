// `kubelab image load FILE` as a real process (dist/lab/main.js, build first), which runs `kubelab-runtime image
// load` (dist/container-runtime/main.js) on a node's store: an OCI layout tarball and a `docker save` tarball, both
// built offline here, load into a temporary --root; `kubelab image ls` lists them; a kubelab-runtime --backend oci
// daemon already running on that root lists them over the CRI without a restart (root only: the oci backend needs
// it); a file that is not an image, and a layout whose layer does not match its digest, fail with exit code 1 and
// leave the store as it was.
import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CriClient } from "../../client/cri/client.js";
import { packDeterministicTar } from "../../container-runtime/images/layer-tar.js";
import { parseImageManifest } from "../../container-runtime/images/oci.js";
import { assembleImage, buildLayer, ociArchive, type BuiltImage } from "../../container-runtime/images/offline.js";
import { containerRuntimeComponent } from "../../lab/components/container-runtime.js";
import { distEntry } from "../../lab/components/entries.js";
import { removeDir } from "../../lab/process/owner.js";
import type { ManagedProcess } from "../../lab/process/runner.js";
import { testProcesses } from "../support/processes.js";

const isRoot = process.getuid?.() === 0;
const haveTools = ["/usr/sbin/runc", "/usr/bin/conmon", "/usr/lib/cni/ptp", "/usr/lib/cni/host-local", "/bin/busybox"].every((p) => existsSync(p));
const withDaemon = isRoot && haveTools;
if (!withDaemon) console.warn("image-load.int.test: the running-daemon check is skipped: the oci backend needs root, runc, conmon, the CNI plugins and busybox-static");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** A built kubelab program run to its end (killed after 60 s). */
function run(entry: string, args: readonly string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [entry, ...args], { encoding: "utf8", timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

const kubelab = (...args: string[]): Promise<Run> => run(distEntry("lab"), args);
const runtime = (...args: string[]): Promise<Run> => run(distEntry("container-runtime"), args);

function blob(image: BuiltImage, digest: string): Uint8Array {
  const bytes = image.blobs.get(digest);
  if (bytes === undefined) throw new Error(`no blob ${digest}`);
  return bytes;
}

/** `image` as `docker save` writes it: manifest.json naming the config and uncompressed layer tars, and its tags. */
async function dockerSaveTar(image: BuiltImage, repoTags: string[]): Promise<Buffer> {
  const manifest = parseImageManifest(Buffer.from(blob(image, image.manifest.digest)));
  const layers = manifest.layers.map((layer, i) => ({ name: `layer${String(i)}/layer.tar`, content: gunzipSync(blob(image, layer.digest)) }));
  const files = [
    { name: "config.json", content: blob(image, manifest.config.digest) },
    ...layers,
    { name: "manifest.json", content: Buffer.from(JSON.stringify([{ Config: "config.json", RepoTags: repoTags, Layers: layers.map((l) => l.name) }])) },
  ];
  return packDeterministicTar(files.map((f) => ({ type: "file" as const, name: f.name, mode: 0o644, content: f.content })));
}

describe("kubelab image load", () => {
  let dir = "";
  let root = "";
  let image: BuiltImage;
  let daemon: ManagedProcess | undefined;
  let client: CriClient | undefined;

  beforeAll(async () => {
    dir = testProcesses.tempDir("kubelab-image-load-", tmpdir());
    root = join(dir, "root");
    const layer = await buildLayer([{ type: "file", name: "hello.txt", mode: 0o644, content: Buffer.from("hello from a loaded image\n") }], "hello.txt");
    image = assembleImage([layer], { Cmd: ["/bin/cat", "/hello.txt"] }, ["example.com/lab/hello:1"]);
    writeFileSync(join(dir, "hello-oci.tar"), await ociArchive(image, "docker.io/library/hello:1"));
    writeFileSync(join(dir, "hello-save.tar"), await dockerSaveTar(image, ["saved/hello:2"]));
    if (withDaemon) {
      const socket = join(dir, "run", "runtime.sock");
      const component = containerRuntimeComponent({
        name: "container-runtime image-load",
        socketPath: socket,
        root,
        backend: "oci",
        runtimeRoot: join(dir, "runtime"),
        cniConfigDir: join(dir, "cni"),
        podCidr: "10.244.251.0/24",
      });
      daemon = (await testProcesses.startReady(component, { timeoutMs: 60_000 })).process;
      client = new CriClient(socket, { timeoutMs: 10_000 });
    }
  }, 90_000);

  afterAll(async () => {
    client?.close();
    await daemon?.stop("SIGTERM");
    if (dir !== "") removeDir(dir);
  });

  it("loads an OCI layout tarball and a docker save tarball, printing each reference like docker load", async () => {
    const oci = await kubelab("image", "load", join(dir, "hello-oci.tar"), "--root", root);
    expect(oci).toEqual({ code: 0, stdout: "Loaded image: docker.io/library/hello:1\n", stderr: "" });
    const saved = await kubelab("image", "load", join(dir, "hello-save.tar"), "--root", root);
    expect(saved).toEqual({ code: 0, stdout: "Loaded image: docker.io/saved/hello:2\n", stderr: "" });

    const listed = await runtime("image", "ls", "--root", root);
    expect(listed.code).toBe(0);
    const id = parseImageManifest(Buffer.from(blob(image, image.manifest.digest))).config.digest;
    const short = id.slice("sha256:".length, "sha256:".length + 13);
    expect(listed.stdout).toMatch(new RegExp(`^docker\\.io/library/hello +1 +${short} +\\d`, "m"));
    expect(listed.stdout).toMatch(new RegExp(`^docker\\.io/saved/hello +2 +${short} +\\d`, "m"));
    expect((await kubelab("image", "ls", "--root", root)).stdout).toBe(listed.stdout);
  }, 60_000);

  it.skipIf(!withDaemon)("is seen by the daemon already running on that root, without a restart", async () => {
    const id = parseImageManifest(Buffer.from(blob(image, image.manifest.digest))).config.digest;
    // Two manifests (the layout's, and the one made for the docker save archive's uncompressed layers) of one
    // image: the same config, so the same image id.
    const loaded = ((await client?.listImages()) ?? []).filter((i) => i.id === id);
    expect(loaded.flatMap((i) => i.repoTags).sort()).toEqual(["docker.io/library/hello:1", "docker.io/saved/hello:2"]);
  });

  it("refuses a file that is no image, and a layout whose layer is corrupt, with exit code 1 and nothing imported", async () => {
    const before = await runtime("image", "ls", "--root", root);
    const index = readFileSync(join(root, "images", "index.json"), "utf8");

    writeFileSync(join(dir, "junk.tar"), "this is not a tarball\n".repeat(100));
    const junk = await kubelab("image", "load", join(dir, "junk.tar"), "--root", root);
    expect(junk.code).toBe(1);
    expect(junk.stderr).toMatch(/^Error: loading .*junk\.tar: /);
    expect(junk.stdout).toBe("");

    // A layout with one byte of its (new) layer changed: the layer no longer matches the manifest's digest.
    const layer = await buildLayer([{ type: "file", name: "other.txt", mode: 0o644, content: Buffer.from("another layer\n") }], "other.txt");
    const other = assembleImage([layer], {}, ["docker.io/library/corrupt:1"]);
    const corruptLayer = Buffer.from(layer.blob);
    corruptLayer[corruptLayer.length - 1] = (corruptLayer[corruptLayer.length - 1] ?? 0) ^ 0xff;
    const corrupt: BuiltImage = { ...other, blobs: new Map([...other.blobs, [layer.descriptor.digest, corruptLayer]]) };
    writeFileSync(join(dir, "corrupt.tar"), await ociArchive(corrupt, "docker.io/library/corrupt:1"));
    const bad = await kubelab("image", "load", join(dir, "corrupt.tar"), "--root", root);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("does not match");

    expect(readFileSync(join(root, "images", "index.json"), "utf8")).toBe(index);
    expect(await runtime("image", "ls", "--root", root)).toEqual(before);
    expect((await client?.imageStatus({ image: "docker.io/library/corrupt:1", annotations: {}, userSpecifiedImage: "", runtimeHandler: "" })) ?? undefined).toBeUndefined();
  }, 60_000);
});
