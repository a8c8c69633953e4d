// `kubelab-runtime image load FILE` and `kubelab-runtime image ls`: the node's image store worked on directly, with
// no daemon, so images can be loaded before the runtime starts or while it runs. A running daemon sees a loaded
// image on its next ListImages/ImageStatus/PullImage: the store keeps no index in memory and reads index.json
// (replaced by an atomic rename) on every lookup; a load waits while the daemon writes the store (its lock file).
import { writeFile } from "node:fs/promises";
import path from "node:path";
import type { CommandIO } from "../component-base/command-io.js";
import { defineFlags, parseCommandLine, type ParseOptions } from "../component-base/flags.js";
import { ociArchive } from "./images/offline.js";
import { buildProgramImage, defaultRepoRoot, PROGRAM_IMAGES, repoVersion } from "./images/program-image.js";
import { ImageStore, MemoryAndFileBlobSource, type ImageRecord } from "./images/store.js";
import { parseImageReference, referenceName } from "../api/image-reference.js";
import { runtimeFlags } from "./options.js";

export const imageFlags = defineFlags({ root: runtimeFlags.root });

export const imageBuildFlags = defineFlags({
  root: runtimeFlags.root,
  output: { type: "string", help: "Write the image as an OCI archive (for `image load` on other nodes) instead of adding it to the store under --root." },
});

export const IMAGE_USAGE = `Usage:
  kubelab-runtime image load FILE [--root DIR]   import a \`docker save\` tar or an OCI image layout (tar or directory)
  kubelab-runtime image ls [--root DIR]          list the images in the store
  kubelab-runtime image build dns [--root DIR | --output FILE]
                                                 build kubelab/dns:<version> (this host's Node and the built
                                                 kubelab-dns) into the store, or as an OCI archive
`;

/** The image store of the runtime whose --root is `root` (the daemon keeps it in <root>/images). */
export function storeUnder(root: string): ImageStore {
  return new ImageStore({ root: path.join(root, "images") });
}

/** Runs `image <verb> …` (argv starts after "image"), then exits: 0 done, 1 failed, 2 a usage mistake. */
export async function runImageCommand(argv: readonly string[], io: CommandIO): Promise<never> {
  const [verb, ...rest] = argv;
  if (verb === "--help" || verb === "-h" || verb === "help") {
    io.stdout(IMAGE_USAGE);
    return io.exit(0);
  }
  if (verb === "build") return runImageBuild(rest, io);
  if (verb !== "load" && verb !== "ls") {
    io.stderr(`Error: ${verb === undefined ? "a subcommand is required" : `unknown subcommand "image ${verb}"`}\n${IMAGE_USAGE}`);
    return io.exit(2);
  }
  const parseOptions: ParseOptions = { command: `kubelab-runtime image ${verb}`, allowPositionals: verb === "load", stdout: io.stdout, stderr: io.stderr, exit: io.exit };
  const { flags, positionals } = parseCommandLine(imageFlags, rest, parseOptions);
  const store = storeUnder(flags.root);
  if (verb === "ls") {
    io.stdout(formatImageTable(await store.list()));
    return io.exit(0);
  }
  const [file, ...extra] = positionals;
  if (file === undefined || extra.length > 0) {
    io.stderr(`Error: image load takes exactly one FILE\n${IMAGE_USAGE}`);
    return io.exit(2);
  }
  let records: ImageRecord[];
  try {
    records = await store.importArchive(path.resolve(file));
  } catch (err) {
    // An archive that failed part-way has named nothing: index.json is written only after an image's blobs and
    // layers are all stored and verified (a multi-image archive keeps the images before the failing one).
    io.stderr(`Error: loading ${file}: ${err instanceof Error ? err.message : String(err)}\n(FILE is a \`docker save\` tar, or an OCI image layout as a tar or a directory)\n`);
    return io.exit(1);
  }
  io.stdout(loadedLines(records));
  return io.exit(0);
}

/** `image build NAME`: a kubelab program's offline image (images/program-image.ts), into the store or a file. */
async function runImageBuild(argv: readonly string[], io: CommandIO): Promise<never> {
  const parseOptions: ParseOptions = { command: "kubelab-runtime image build", allowPositionals: true, stdout: io.stdout, stderr: io.stderr, exit: io.exit };
  const { flags, positionals } = parseCommandLine(imageBuildFlags, argv, parseOptions);
  const [name, ...extra] = positionals;
  const definition = name === undefined ? undefined : PROGRAM_IMAGES[name];
  if (definition === undefined || extra.length > 0) {
    io.stderr(`Error: image build takes one of: ${Object.keys(PROGRAM_IMAGES).join(", ")}\n${IMAGE_USAGE}`);
    return io.exit(2);
  }
  try {
    const repoRoot = defaultRepoRoot();
    const image = await buildProgramImage(definition(await repoVersion(repoRoot)), { repoRoot });
    const reference = image.references[0]!;
    if (flags.output !== undefined) {
      await writeFile(flags.output, await ociArchive(image, reference));
      io.stdout(`Wrote image: ${reference} to ${flags.output}\n`);
    } else {
      await storeUnder(flags.root).addImage(new MemoryAndFileBlobSource(image.blobs), image.manifest, image.references);
      io.stdout(`Built image: ${reference}\n`);
    }
  } catch (err) {
    io.stderr(`Error: building the ${name} image: ${err instanceof Error ? err.message : String(err)}\n`);
    return io.exit(1);
  }
  return io.exit(0);
}

/** What `docker load` prints: one line per tag, or the image id of an image loaded without one. */
export function loadedLines(records: readonly ImageRecord[]): string {
  const lines = records.flatMap((r) => (r.repoTags.length > 0 ? r.repoTags.map((tag) => `Loaded image: ${tag}`) : [`Loaded image ID: ${r.id}`]));
  return lines.map((line) => `${line}\n`).join("");
}

/** crictl images' table: a row per tag (an untagged image is `<none>`), the id cut to 13 hex digits. */
export function formatImageTable(records: readonly ImageRecord[]): string {
  const rows: string[][] = [["REPOSITORY", "TAG", "IMAGE ID", "SIZE"]];
  for (const record of records) {
    const id = record.id.replace(/^sha256:/, "").slice(0, 13);
    const size = humanSize(record.size);
    if (record.repoTags.length === 0) rows.push(["<none>", "<none>", id, size]);
    for (const tag of record.repoTags) {
      const parsed = parseImageReference(tag);
      rows.push([referenceName(parsed), parsed.tag ?? "<none>", id, size]);
    }
  }
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  return rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd((widths[column] ?? 0) + 3))).join("")).join("\n") + "\n";
}

const SIZE_UNITS = ["B", "kB", "MB", "GB", "TB", "PB"];

/** Decimal units with four significant digits, as docker and crictl print sizes: 999B, 1.5kB, 4.271MB. */
export function humanSize(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < SIZE_UNITS.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${String(Number(value.toPrecision(4)))}${SIZE_UNITS[unit] ?? "B"}`;
}
