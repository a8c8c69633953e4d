/**
 * The offline images as real containers: built into a temporary store, given an overlayfs rootfs, and run
 * by Debian's runc inside a network namespace this test makes (loopback only), then asked over HTTP.
 * Needs root, runc, busybox-static and overlayfs; says which is missing when it skips.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { TarWriteEntry } from "./layer-tar.js";
import { assembleImage, buildLayer, DEFAULT_BUSYBOX_PATH, ensureOfflineImages } from "./offline.js";
import { isMountPoint } from "./rootfs.js";
import { ImageStore, MemoryAndFileBlobSource } from "./store.js";

const execFileAsync = promisify(execFile);

function missingPrerequisite(): string | undefined {
  if (process.getuid?.() !== 0) return "not root";
  if (!existsSync(DEFAULT_BUSYBOX_PATH)) return `${DEFAULT_BUSYBOX_PATH} missing (busybox-static)`;
  if (!["/usr/sbin/runc", "/usr/bin/runc"].some((p) => existsSync(p))) return "runc missing";
  return undefined;
}
const skipReason = missingPrerequisite();
if (skipReason !== undefined) console.log(`skipping image integration tests: ${skipReason}`);

interface Fixture {
  readonly dir: string;
  readonly store: ImageStore;
  readonly netns: string;
  readonly runcRoot: string;
  readonly containers: string[];
}

let fixture: Fixture | undefined;

beforeEach(async () => {
  if (skipReason !== undefined) return;
  const dir = await mkdtemp(path.join(os.tmpdir(), "kubelab-images-int-"));
  const netns = `kubelab-img-${randomBytes(4).toString("hex")}`;
  fixture = { dir, store: new ImageStore({ root: path.join(dir, "store") }), netns, runcRoot: path.join(dir, "runc"), containers: [] };
  await execFileAsync("ip", ["netns", "add", netns]);
  await execFileAsync("ip", ["netns", "exec", netns, "ip", "link", "set", "lo", "up"]);
});

afterEach(async () => {
  const f = fixture;
  fixture = undefined;
  if (f === undefined) return;
  const errors: unknown[] = [];
  const attempt = async (what: () => Promise<unknown>): Promise<void> => {
    try {
      await what();
    } catch (error: unknown) {
      errors.push(error);
    }
  };
  for (const id of f.containers) {
    await attempt(() => execFileAsync("runc", ["--root", f.runcRoot, "delete", "--force", id]).catch(() => undefined));
    await attempt(() => f.store.releaseRootfs(id));
  }
  await attempt(() => execFileAsync("ip", ["netns", "delete", f.netns]));
  for (const id of await f.store.preparedContainers().catch(() => [])) {
    await attempt(() => f.store.releaseRootfs(id));
  }
  await attempt(() => rm(f.dir, { recursive: true, force: true }));
  if (errors.length > 0) throw new AggregateError(errors, "cleanup failed");
});

function current(): Fixture {
  if (fixture === undefined) throw new Error("no fixture");
  return fixture;
}

/** Starts `imageRef` detached under runc in the test's namespace; returns the id and the log file. */
async function runContainer(id: string, imageRef: string, args?: readonly string[], env: readonly string[] = []) {
  const f = current();
  const rootfs = await f.store.prepareRootfs(id, imageRef);
  f.containers.push(id);
  const image = await f.store.imageConfig(imageRef);
  const argv = [...(image.config?.Entrypoint ?? []), ...(args ?? image.config?.Cmd ?? [])];
  const bundle = path.join(f.dir, "bundles", id);
  await mkdir(bundle, { recursive: true });
  const caps = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETGID", "CAP_SETUID"];
  const spec = {
    ociVersion: "1.0.2",
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: argv,
      env: [...(image.config?.Env ?? []), `HOSTNAME=${id}`, ...env],
      cwd: image.config?.WorkingDir ?? "/",
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: true,
    },
    root: { path: rootfs, readonly: false },
    hostname: id,
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    ],
    linux: {
      namespaces: [
        { type: "pid" },
        { type: "ipc" },
        { type: "uts" },
        { type: "mount" },
        { type: "network", path: `/var/run/netns/${f.netns}` },
      ],
    },
  };
  await writeFile(path.join(bundle, "config.json"), JSON.stringify(spec));
  const logFile = path.join(bundle, "output.log");
  const log = await open(logFile, "w");
  try {
    const child = spawn("runc", ["--root", f.runcRoot, "run", "--detach", "--bundle", bundle, id], {
      stdio: ["ignore", log.fd, log.fd],
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on("error", reject);
      child.on("exit", resolve);
    });
    if (code !== 0) throw new Error(`runc run exited ${String(code)}: ${await readFile(logFile, "utf8")}`);
  } finally {
    await log.close();
  }
  return { id, rootfs, logFile };
}

/** GETs a URL from inside the namespace with busybox wget, retrying until it answers or 10 s pass. */
async function getInNamespace(url: string): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      // busybox 1.35's wget crashes on a refused connection when given -T, so the timeout is execFile's.
      const { stdout } = await execFileAsync("ip", ["netns", "exec", current().netns, DEFAULT_BUSYBOX_PATH, "wget", "-qO-", url], {
        timeout: 2000,
      });
      return stdout;
    } catch (error: unknown) {
      if (Date.now() > deadline) throw new Error(`${url} never answered; ${await diagnostics()}`, { cause: error });
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Each container's runc state and output, for a failure message. */
async function diagnostics(): Promise<string> {
  const f = current();
  const parts: string[] = [];
  for (const id of f.containers) {
    const state = await execFileAsync("runc", ["--root", f.runcRoot, "state", id]).then(
      (r) => r.stdout.replace(/\s+/g, " "),
      (e: unknown) => String(e),
    );
    const output = await readFile(path.join(f.dir, "bundles", id, "output.log"), "utf8").catch(() => "");
    parts.push(`${id}: ${state}\n${output}`);
  }
  return parts.join("\n");
}

async function waitForLog(file: string, pattern: RegExp): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const text = await readFile(file, "utf8");
    if (pattern.test(text) || Date.now() > deadline) return text;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(skipReason !== undefined)("offline images under runc", () => {
  it("runs the bootcamp app from an overlay rootfs and answers with the pod's name", async () => {
    const f = current();
    const started = Date.now();
    const ensured = await ensureOfflineImages(f.store);
    console.log(`offline images built and stored in ${String(Date.now() - started)} ms`);
    expect(ensured.added).toContain("docker.io/jocatalin/kubernetes-bootcamp:v1");
    const listed = await f.store.list();
    const bootcamp = listed.find((r) => r.repoTags.includes("docker.io/jocatalin/kubernetes-bootcamp:v1"));
    expect(bootcamp?.repoDigests[0]).toBe(`docker.io/jocatalin/kubernetes-bootcamp@${bootcamp?.manifestDigest ?? ""}`);

    const info = await f.store.fsInfo();
    if (!info.overlay) console.log(`overlay unavailable, containers get copies: ${info.overlayUnavailableReason ?? ""}`);
    const { rootfs, logFile } = await runContainer("bootcamp-pod", "jocatalin/kubernetes-bootcamp:v1");
    expect(await isMountPoint(rootfs)).toBe(info.overlay);
    for (const file of ["bin/busybox", "server.js", "etc/passwd", "usr/local/bin/bootcamp-server", "usr/bin/curl"]) {
      expect((await stat(path.join(rootfs, file))).isFile()).toBe(true);
    }

    expect(await getInNamespace("http://127.0.0.1:8080/")).toBe("Hello Kubernetes bootcamp! | Running on: bootcamp-pod | v=1\n");
    const log = await waitForLog(logFile, /Total Requests: 1/);
    expect(log).toMatch(/^Kubernetes Bootcamp App Started At: \S+ \| Running On: {2}bootcamp-pod/m);
    expect(log).toContain("Running On: bootcamp-pod | Total Requests: 1");

    const { stdout } = await execFileAsync("runc", ["--root", f.runcRoot, "exec", "bootcamp-pod", "curl", "localhost:8080"]);
    expect(stdout).toBe("Hello Kubernetes bootcamp! | Running on: bootcamp-pod | v=1\n");
    const bash = await execFileAsync("runc", ["--root", f.runcRoot, "exec", "bootcamp-pod", "bash", "-c", "echo $HOSTNAME"]);
    expect(bash.stdout).toBe("bootcamp-pod\n");
  });

  it("serves nginx's welcome page, agnhost's netexec, and petclinic reaching mysql", async () => {
    const f = current();
    await ensureOfflineImages(f.store);
    await runContainer("web", "nginx");
    expect(await getInNamespace("http://127.0.0.1:80/")).toContain("<title>Welcome to nginx!</title>");

    await runContainer("netexec", "registry.k8s.io/e2e-test-images/agnhost:2.53", ["netexec", "--http-port=8081"]);
    expect(await getInNamespace("http://127.0.0.1:8081/hostname")).toBe("netexec");
    expect(await getInNamespace("http://127.0.0.1:8081/echo?msg=hello%20there")).toBe("hello there");
    expect(await getInNamespace("http://127.0.0.1:8081/shell?cmd=echo%20%27a%22b%27")).toBe('{"output":"a\\"b\\n"}');

    await runContainer("hostnames", "registry.k8s.io/e2e-test-images/agnhost:2.53", ["serve-hostname"]);
    expect(await getInNamespace("http://127.0.0.1:9376/")).toBe("hostnames");

    const petclinic = "spring2go/spring-petclinic:1.0.1.RELEASE";
    await runContainer("petclinic", petclinic, undefined, ["DATASOURCE_URL=jdbc:mysql://127.0.0.1:3306/petclinic"]);
    expect(await getInNamespace("http://127.0.0.1:8080/")).toContain("Database: 127.0.0.1:3306 NOT reachable");
    const mysql = await runContainer("mysql", "mysql:5.7", undefined, ["MYSQL_ROOT_PASSWORD=root", "MYSQL_DATABASE=petclinic"]);
    expect(await waitForLog(mysql.logFile, /ready for connections/)).toContain("Creating database petclinic");
    const page = await getInNamespace("http://127.0.0.1:8080/");
    expect(page).toContain("Spring PetClinic version: 1.0.1.RELEASE");
    expect(page).toContain("Database: 127.0.0.1:3306 reachable");
  });

  it("serves fedora/apache's page on port 80", async () => {
    await ensureOfflineImages(current().store);
    await runContainer("apache", "fedora/apache");
    expect(await getInNamespace("http://127.0.0.1:80/")).toContain("<h1>Apache is working</h1>");
  });

  it("runs the pause image until SIGTERM, which ends it at once", async () => {
    const f = current();
    await ensureOfflineImages(f.store);
    await runContainer("sandbox", "registry.k8s.io/pause:3.10");
    const status = async (): Promise<string> => {
      const { stdout } = await execFileAsync("runc", ["--root", f.runcRoot, "state", "sandbox"]);
      const state: unknown = JSON.parse(stdout);
      return typeof state === "object" && state !== null && "status" in state ? String(state.status) : "unknown";
    };
    expect(await status()).toBe("running");
    await execFileAsync("runc", ["--root", f.runcRoot, "kill", "sandbox", "TERM"]);
    const deadline = Date.now() + 5_000;
    while ((await status()) === "running" && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await status()).toBe("stopped");
  });

  it("hides what whiteouts delete, the same through overlayfs and through the copy fallback", async () => {
    const f = current();
    const file = (name: string, content: string): TarWriteEntry => ({ type: "file", name, mode: 0o644, content: Buffer.from(content) });
    const lower = await buildLayer([file("etc/keep", "k"), file("etc/old", "o"), file("cache/a", "a")], "lower");
    const upper = await buildLayer([file("etc/.wh.old", ""), file("cache/.wh..wh..opq", ""), file("cache/b", "b")], "upper");
    const image = assembleImage([lower, upper], {}, ["example.com/whiteouts:v1"]);
    const copyStore = new ImageStore({ root: path.join(f.dir, "copy-store"), disableOverlay: true });
    for (const store of [f.store, copyStore]) {
      await store.addImage(new MemoryAndFileBlobSource(image.blobs), image.manifest, image.references);
      const rootfs = await store.prepareRootfs("whiteouts", "example.com/whiteouts:v1");
      try {
        expect(path.basename(rootfs)).toBe(store === copyStore ? "rootfs" : "merged");
        expect(await readFile(path.join(rootfs, "etc/keep"), "utf8")).toBe("k");
        expect(await readFile(path.join(rootfs, "cache/b"), "utf8")).toBe("b");
        expect(existsSync(path.join(rootfs, "etc/old"))).toBe(false);
        expect(existsSync(path.join(rootfs, "cache/a"))).toBe(false);
      } finally {
        await store.releaseRootfs("whiteouts");
      }
    }
    expect((await f.store.fsInfo()).overlay).toBe(true);
  });
});
