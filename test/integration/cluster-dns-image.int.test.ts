// The offline image kubelab/dns (container-runtime/images/program-image.ts) holds everything kubelab-dns needs:
// its layers unpacked into a bare root, the image's own entrypoint run under chroot (so nothing of the host's
// files is reachable: not its Node, libraries or node_modules) serves cluster names from a real apiserver.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { Resolver } from "node:dns/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { RESOURCES } from "../../api/resources.js";
import type { Service } from "../../api/types/index.js";
import { RestClient } from "../../client/rest.js";
import { parseImageConfig, parseImageManifest } from "../../container-runtime/images/oci.js";
import { DEFAULT_BUSYBOX_PATH } from "../../container-runtime/images/offline.js";
import { buildProgramImage, dnsImageDefinition } from "../../container-runtime/images/program-image.js";
import type { Component } from "../../lab/components/component.js";
import { REPO_ROOT, startTestCluster, waitFor, type TestCluster, clientConfigFor, writeKubeconfig } from "../support/apiserver.js";
import { testProcesses } from "../support/processes.js";

const execFileAsync = promisify(execFile);
const SERVICES = RESOURCES.find((r) => r.group === "" && r.resource === "services")!;
const SERVING_DNS = /"dnsPort":(\d+),[^\n]*"msg":"Serving DNS"/;

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return "chroot needs root";
  if (!existsSync(DEFAULT_BUSYBOX_PATH)) return `${DEFAULT_BUSYBOX_PATH} missing (apt-get install busybox-static)`;
  if (!existsSync(join(REPO_ROOT, "dist", "cluster-dns", "main.js"))) return "dist/cluster-dns/main.js missing (npm run build)";
  return undefined;
}
const skip = skipReason();
if (skip) console.log(`skipping the kubelab/dns image test: ${skip}`);

describe.skipIf(skip !== undefined)("the kubelab/dns image", () => {
  let cluster: TestCluster | undefined;
  let client: RestClient | undefined;
  // Removed here rather than left to the worker's exit: an unpacked image is ~130 MB.
  const workDirs: string[] = [];

  afterAll(async () => {
    client?.close();
    await cluster?.destroy();
    for (const dir of workDirs) await rm(dir, { recursive: true, force: true });
  });

  it("runs kubelab-dns from its own files only and answers a Service's A record", async () => {
    const image = await buildProgramImage(dnsImageDefinition("0.1.0"), { repoRoot: REPO_ROOT });
    expect(image.references).toEqual(["docker.io/kubelab/dns:0.1.0"]);
    const manifest = parseImageManifest(Buffer.from(image.blobs.get(image.manifest.digest)!));
    const config = parseImageConfig(Buffer.from(image.blobs.get(manifest.config.digest)!));
    const entrypoint = config.config?.Entrypoint ?? [];
    expect(entrypoint).toEqual(["/usr/bin/node", "/opt/kubelab/dist/cluster-dns/main.js"]);

    const work = testProcesses.tempDir("kdns-image-", tmpdir());
    workDirs.push(work);
    const rootfs = join(work, "rootfs");
    await execFileAsync("mkdir", [rootfs]);
    for (const [i, layer] of manifest.layers.entries()) {
      const file = join(work, `layer-${i}.tar.gz`);
      await writeFile(file, image.blobs.get(layer.digest)!);
      await execFileAsync("tar", ["-xzf", file, "-C", rootfs]);
    }

    cluster = await startTestCluster(["--advertise-address", "172.30.0.1"]);
    client = new RestClient(clientConfigFor(cluster.api), { qps: 0 });
    // The image's root is all the server sees: its kubeconfig (CA and credentials embedded) goes inside.
    writeKubeconfig(join(rootfs, "kubeconfig"), cluster.api);
    const dns: Component = {
      name: "kubelab-dns-image",
      kind: "cluster-dns",
      program: { kind: "binary", path: "chroot" },
      args: [
        rootfs,
        ...entrypoint,
        "--kubeconfig=/kubeconfig",
        "--dns-bind-address=127.0.0.1",
        "--dns-port=0",
        "--health-port=0",
        "--readiness-port=0",
        "--metrics-port=0",
        "--upstream=127.0.0.1:9",
      ],
      ports: {},
      readiness: { kind: "log", pattern: SERVING_DNS },
      links: [],
    };
    const { process: server } = await testProcesses.startReady(dns, { timeoutMs: 30_000 });
    const port = Number(SERVING_DNS.exec(server.logs())![1]);
    const resolver = new Resolver({ timeout: 2000, tries: 1 });
    resolver.setServers([`127.0.0.1:${port}`]);

    const created = await client.create<Service>(SERVICES, "default", { apiVersion: "v1", kind: "Service", metadata: { name: "imaged", namespace: "default" }, spec: { ports: [{ port: 80 }], selector: { app: "x" } } });
    expect(await waitFor("the A record", async () => (await resolver.resolve4("imaged.default.svc.cluster.local"))[0])).toBe(created.spec!.clusterIP);
    await server.stop("SIGKILL");
  }, 90_000);

  it("is what `kubelab-runtime image build dns` writes, and `image load` stores on a node", async () => {
    const work = testProcesses.tempDir("kdns-image-cli-", tmpdir());
    workDirs.push(work);
    const runtime = join(REPO_ROOT, "dist", "container-runtime", "main.js");
    const archive = join(work, "dns.tar");
    const built = await execFileAsync(process.execPath, [runtime, "image", "build", "dns", "--output", archive], { timeout: 120_000 });
    expect(built.stdout).toBe(`Wrote image: docker.io/kubelab/dns:0.1.0 to ${archive}\n`);
    const loaded = await execFileAsync(process.execPath, [runtime, "image", "load", archive, "--root", join(work, "node-1")], { timeout: 60_000 });
    expect(loaded.stdout).toBe("Loaded image: docker.io/kubelab/dns:0.1.0\n");
    const direct = await execFileAsync(process.execPath, [runtime, "image", "build", "dns", "--root", join(work, "node-2")], { timeout: 120_000 });
    expect(direct.stdout).toBe("Built image: docker.io/kubelab/dns:0.1.0\n");
    const listed = await execFileAsync(process.execPath, [runtime, "image", "ls", "--root", join(work, "node-2")]);
    expect(listed.stdout).toMatch(/^docker\.io\/kubelab\/dns\s+0\.1\.0\s+[0-9a-f]{13}\s+\d+(\.\d+)?MB$/m);
  }, 240_000);
});
