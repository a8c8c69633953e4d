/**
 * Offline images of kubelab's own programs (the cluster DNS server `kubelab/dns`), for the pods that run them:
 * the busybox layer of the tutorial images, a layer with this host's Node binary and the shared libraries it loads
 * (found with `ldd`, copied to the same paths), and a layer with the built program under /opt/kubelab
 * (package.json, the dist/ folders it imports, and the closure of the production dependencies in node_modules).
 * Layers are deterministic, so the same host and build give the same digests.
 *
 * Not built by ensureOfflineImages: the Node layer is ~100 MB (about 6 s to build), so whoever deploys the program
 * builds it once, `kubelab-runtime image build dns --output FILE`, and loads that into each node's store with
 * `kubelab-runtime image load FILE --root <node root>` (or builds straight into one store with --root).
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, realpath } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { packDeterministicTar, type TarWriteEntry } from "./layer-tar.js";
import { MEDIA_TYPE, sha256Digest, type ContainerConfig } from "./oci.js";
import { assembleImage, buildLayer, busyboxLayerEntries, DEFAULT_BUSYBOX_PATH, directoryLayerEntries, type BuiltImage, type BuiltLayer } from "./offline.js";

const execFileAsync = promisify(execFile);

/** Where a program's files live inside its image. */
export const PROGRAM_ROOT = "opt/kubelab";

export interface ProgramImageDefinition {
  readonly references: readonly string[];
  /** Folders of dist/ the program imports (its own and the shared ones). */
  readonly distFolders: readonly string[];
  /** The entry point under dist/, e.g. "cluster-dns/main.js". */
  readonly entry: string;
  readonly exposedPorts: readonly string[];
}

/** kubelab-dns, the cluster DNS server: what the kube-dns Deployment (addons/dns) runs. */
export function dnsImageDefinition(version: string): ProgramImageDefinition {
  return {
    references: [`kubelab/dns:${version}`],
    distFolders: ["api", "client", "component-base", "proto", "cluster-dns"],
    entry: "cluster-dns/main.js",
    exposedPorts: ["53/udp", "53/tcp", "8080/tcp", "8181/tcp", "9153/tcp"],
  };
}

/** The programs that have an image, by the name `kubelab-runtime image build NAME` takes. */
export const PROGRAM_IMAGES: Readonly<Record<string, (version: string) => ProgramImageDefinition>> = { dns: dnsImageDefinition };

/** The repository this module belongs to (holding package.json, dist/ and node_modules/), from source or dist/. */
export function defaultRepoRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, "../.."), path.resolve(here, "../../..")];
  return candidates.find((dir) => existsSync(path.join(dir, "package.json")) && path.basename(dir) !== "dist") ?? candidates[0]!;
}

/** The version in the repository's package.json: the tag of its program images. */
export async function repoVersion(repoRoot: string): Promise<string> {
  const manifest = JSON.parse(await readFile(path.join(repoRoot, "package.json"), "utf8")) as { version?: string };
  return manifest.version ?? "latest";
}

export interface ProgramImageOptions {
  /** The repository root holding package.json, the built dist/ and node_modules/. */
  readonly repoRoot: string;
  /** The Node binary to ship; default the one running this code. */
  readonly nodePath?: string;
  readonly busyboxPath?: string;
  /** gzip level of the layers (default 1: the Node layer is large and rebuilt often). */
  readonly gzipLevel?: number;
}

/** The shared libraries `binary` loads, as ldd lists them (absolute paths, the dynamic loader included). */
export async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await execFileAsync("ldd", [binary]);
  const libraries: string[] = [];
  for (const line of stdout.split("\n")) {
    const match = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (match?.[1]) libraries.push(match[1]);
  }
  return [...new Set(libraries)];
}

/** The packages the production dependencies of `repoRoot`'s package.json need, as paths under node_modules. */
export async function productionPackages(repoRoot: string): Promise<string[]> {
  const found = new Set<string>();
  const visit = async (name: string, from: string): Promise<void> => {
    // Node's lookup: the requiring package's own node_modules first, then each parent's.
    for (let dir = from; ; dir = path.dirname(dir)) {
      const candidate = path.join(dir, "node_modules", name);
      if (existsSync(path.join(candidate, "package.json"))) {
        const rel = path.relative(repoRoot, candidate);
        if (found.has(rel)) return;
        found.add(rel);
        const manifest = JSON.parse(await readFile(path.join(candidate, "package.json"), "utf8")) as { dependencies?: Record<string, string>; optionalDependencies?: Record<string, string> };
        for (const dep of Object.keys({ ...manifest.dependencies, ...manifest.optionalDependencies })) await visit(dep, candidate);
        return;
      }
      if (dir === repoRoot || dir === path.dirname(dir)) {
        return; // an optional dependency not installed
      }
    }
  };
  const root = JSON.parse(await readFile(path.join(repoRoot, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
  for (const dep of Object.keys(root.dependencies ?? {})) await visit(dep, repoRoot);
  return [...found].sort();
}

async function layer(entries: TarWriteEntry[], createdBy: string, level: number): Promise<BuiltLayer> {
  const tar = await packDeterministicTar(withParents(entries));
  const blob = gzipSync(tar, { level });
  return { descriptor: { mediaType: MEDIA_TYPE.layerGzip, digest: sha256Digest(blob), size: blob.length }, diffId: sha256Digest(tar), blob, createdBy };
}

function withParents(entries: TarWriteEntry[]): TarWriteEntry[] {
  const dirs = new Set(entries.filter((e) => e.type === "directory").map((e) => e.name));
  const parents: TarWriteEntry[] = [];
  for (const entry of entries) {
    for (let dir = path.posix.dirname(entry.name); dir !== "."; dir = path.posix.dirname(dir)) {
      if (dirs.has(dir)) continue;
      dirs.add(dir);
      parents.push({ type: "directory", name: dir, mode: 0o755 });
    }
  }
  return [...entries, ...parents];
}

/** A tree's entries placed under `prefix`, without tests and source maps. */
async function treeUnder(root: string, prefix: string): Promise<TarWriteEntry[]> {
  const entries = await directoryLayerEntries(root);
  return entries
    .filter((e) => !(e.type === "file" && (e.name.endsWith(".test.js") || e.name.endsWith(".map"))))
    .map((e): TarWriteEntry => ({ ...e, name: `${prefix}/${e.name}` }));
}

/** Builds the image of one kubelab program from this host's Node and the repository's build. */
export async function buildProgramImage(definition: ProgramImageDefinition, options: ProgramImageOptions): Promise<BuiltImage> {
  const level = options.gzipLevel ?? 1;
  const nodePath = options.nodePath ?? process.execPath;
  const { repoRoot } = options;
  const entry = path.join(repoRoot, "dist", definition.entry);
  if (!existsSync(entry)) throw new Error(`${entry} is missing: build first (npm run build)`);

  // The very layer the tutorial images start from, so the store keeps it once.
  const base = await buildLayer(await busyboxLayerEntries(options.busyboxPath ?? DEFAULT_BUSYBOX_PATH), "busybox (Debian busybox-static)");
  const runtimeEntries: TarWriteEntry[] = [{ type: "file", name: "usr/bin/node", mode: 0o755, content: await readFile(await realpath(nodePath)) }];
  for (const library of await sharedLibraries(nodePath)) {
    runtimeEntries.push({ type: "file", name: library.replace(/^\/+/, ""), mode: 0o755, content: await readFile(await realpath(library)) });
  }
  const runtime = await layer(runtimeEntries, `node ${process.version} and its shared libraries`, level);

  const appEntries: TarWriteEntry[] = [{ type: "file", name: `${PROGRAM_ROOT}/package.json`, mode: 0o644, content: await readFile(path.join(repoRoot, "package.json")) }];
  for (const folder of definition.distFolders) {
    const dir = path.join(repoRoot, "dist", folder);
    if (existsSync(dir)) appEntries.push(...(await treeUnder(dir, `${PROGRAM_ROOT}/dist/${folder}`)));
  }
  for (const pkg of await productionPackages(repoRoot)) {
    // A package's own nested node_modules are listed separately when needed.
    const entries = await treeUnder(await realpath(path.join(repoRoot, pkg)), `${PROGRAM_ROOT}/${pkg}`);
    appEntries.push(...entries.filter((e) => !e.name.slice(`${PROGRAM_ROOT}/${pkg}/`.length).includes("node_modules/")));
  }
  const app = await layer(appEntries, `kubelab ${definition.entry}`, level);

  const config: ContainerConfig = {
    Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "NODE_ENV=production"],
    Entrypoint: ["/usr/bin/node", `/${PROGRAM_ROOT}/dist/${definition.entry}`],
    WorkingDir: `/${PROGRAM_ROOT}`,
    ExposedPorts: Object.fromEntries(definition.exposedPorts.map((p) => [p, {}])),
    StopSignal: "SIGTERM",
  };
  return assembleImage([base, runtime, app], config, definition.references);
}
