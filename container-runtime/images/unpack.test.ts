import { mkdir, mkdtemp, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { packDeterministicTar, type TarWriteEntry } from "./layer-tar.js";
import { copyLayers } from "./rootfs.js";
import { safeRelativePath, unpackLayer, UnsafeLayerError, type WhiteoutWriter } from "./unpack.js";

/** Records whiteouts instead of making device nodes and xattrs, which need root. */
function recordingWriter(): WhiteoutWriter & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    whiteout: (p) => {
      calls.push(`whiteout ${p}`);
      return Promise.resolve();
    },
    opaque: (p) => {
      calls.push(`opaque ${p}`);
      return Promise.resolve();
    },
  };
}

const file = (name: string, content: string, mode = 0o644): TarWriteEntry => ({
  type: "file",
  name,
  mode,
  content: Buffer.from(content),
});
const dir = (name: string): TarWriteEntry => ({ type: "directory", name, mode: 0o755 });

let work: string;
beforeEach(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), "kubelab-unpack-"));
});
afterEach(async () => {
  await rm(work, { recursive: true, force: true });
});

async function layerBlob(name: string, entries: TarWriteEntry[], gzip = true): Promise<string> {
  const tar = await packDeterministicTar(entries);
  const blob = path.join(work, `${name}.blob`);
  await writeFile(blob, gzip ? gzipSync(tar) : tar);
  return blob;
}

describe("unpackLayer", () => {
  it("unpacks files, directories and symlinks with their modes and reports the diff_id", async () => {
    const entries = [dir("etc"), file("etc/app.conf", "a=1\n"), file("bin/run", "#!/bin/sh\n", 0o755)];
    entries.push({ type: "symlink", name: "bin/start", target: "run" });
    const blob = await layerBlob("l1", entries);
    const tar = await packDeterministicTar(entries);
    const dest = path.join(work, "l1");
    const result = await unpackLayer(blob, dest, recordingWriter());
    expect(result.diffId).toMatch(/^sha256:/);
    const { createHash } = await import("node:crypto");
    expect(result.diffId).toBe(`sha256:${createHash("sha256").update(tar).digest("hex")}`);
    expect(await readFile(path.join(dest, "etc/app.conf"), "utf8")).toBe("a=1\n");
    expect((await stat(path.join(dest, "bin/run"))).mode & 0o777).toBe(0o755);
    expect(await readlink(path.join(dest, "bin/start"))).toBe("run");
    expect(result).toMatchObject({ deleted: [], opaque: [], overlayFit: true });
  });

  it("turns .wh. files and opaque markers into recorded whiteouts, not files", async () => {
    const writer = recordingWriter();
    const blob = await layerBlob("wh", [file("etc/.wh.old.conf", ""), file("var/cache/.wh..wh..opq", ""), file("var/cache/new", "n")]);
    const dest = path.join(work, "wh");
    const result = await unpackLayer(blob, dest, writer);
    expect(result.deleted).toEqual(["etc/old.conf"]);
    expect(result.opaque).toEqual(["var/cache"]);
    expect(writer.calls).toEqual([`whiteout ${path.join(dest, "etc/old.conf")}`, `opaque ${path.join(dest, "var/cache")}`]);
    await expect(stat(path.join(dest, "etc/.wh.old.conf"))).rejects.toThrow();
    expect(await readFile(path.join(dest, "var/cache/new"), "utf8")).toBe("n");
  });

  it("marks a layer unfit for overlayfs when its whiteouts cannot be written, and says why", async () => {
    const failing: WhiteoutWriter = {
      whiteout: () => Promise.reject(new Error("mknod: Operation not permitted")),
      opaque: () => Promise.resolve(),
    };
    const blob = await layerBlob("fail", [file(".wh.gone", "")]);
    const result = await unpackLayer(blob, path.join(work, "fail"), failing);
    expect(result.overlayFit).toBe(false);
    expect(result.overlayUnfitReason).toContain("Operation not permitted");
  });

  it("keeps an entry that climbs with .. inside the layer", async () => {
    const blob = await layerBlob("evil", [file("../../escaped", "x")]);
    const dest = path.join(work, "evil");
    await unpackLayer(blob, dest, recordingWriter());
    await expect(stat(path.join(work, "escaped"))).rejects.toThrow();
    expect(await readFile(path.join(dest, "escaped"), "utf8")).toBe("x");
  });

  it("refuses to write through a symlinked directory", async () => {
    const outside = path.join(work, "outside");
    await mkdir(outside);
    const blob = await layerBlob("link", [{ type: "symlink", name: "a", target: outside }, file("a/b", "x")]);
    await expect(unpackLayer(blob, path.join(work, "link"), recordingWriter())).rejects.toThrow(UnsafeLayerError);
    await expect(stat(path.join(outside, "b"))).rejects.toThrow();
  });

  it("refuses a hard link whose original lies through a symlinked directory", async () => {
    const outside = path.join(work, "outside");
    await mkdir(outside);
    await writeFile(path.join(outside, "secret"), "s");
    const blob = await layerBlob("hardlink", [
      { type: "symlink", name: "a", target: outside },
      { type: "link", name: "z", target: "a/secret" },
    ]);
    await expect(unpackLayer(blob, path.join(work, "hardlink"), recordingWriter())).rejects.toThrow(UnsafeLayerError);
    await expect(stat(path.join(work, "hardlink", "z"))).rejects.toThrow();
  });

  it("unpacks a hard link to a file of the same layer", async () => {
    const blob = await layerBlob("samefile", [file("bin/a", "x"), { type: "link", name: "bin/b", target: "bin/a" }]);
    const dest = path.join(work, "samefile");
    await unpackLayer(blob, dest, recordingWriter());
    expect((await stat(path.join(dest, "bin/b"))).ino).toBe((await stat(path.join(dest, "bin/a"))).ino);
  });

  it("rejects a blob that is not a tar archive", async () => {
    const blob = path.join(work, "garbage.blob");
    await writeFile(blob, Buffer.alloc(2048, 7));
    await expect(unpackLayer(blob, path.join(work, "garbage"), recordingWriter())).rejects.toThrow();
  });

  it.each([
    ["./etc/passwd", "etc/passwd"],
    ["/usr/bin/", "usr/bin"],
    ["a/../b", "b"],
    ["../../etc/shadow", "etc/shadow"],
    ["./", ""],
  ])("normalizes the archive path %s to %s", (input, expected) => {
    expect(safeRelativePath(input)).toBe(expected);
  });
});

describe("copyLayers", () => {
  it("applies layers in order: upper files win, whiteouts delete, opaque directories hide what is below", async () => {
    const lower = path.join(work, "lower");
    const upper = path.join(work, "upper");
    await unpackLayer(
      await layerBlob("lower", [file("etc/keep", "lower"), file("etc/old", "old"), file("cache/a", "a"), file("x", "lower")]),
      lower,
      recordingWriter(),
    );
    const upperLayer = await unpackLayer(
      await layerBlob("upper", [file("etc/.wh.old", ""), file("cache/.wh..wh..opq", ""), file("cache/b", "b"), file("x", "upper")]),
      upper,
      recordingWriter(),
    );
    const rootfs = path.join(work, "rootfs");
    await copyLayers(
      [
        { dir: lower, deleted: [], opaque: [] },
        { dir: upper, deleted: upperLayer.deleted, opaque: upperLayer.opaque },
      ],
      rootfs,
    );
    expect(await readFile(path.join(rootfs, "etc/keep"), "utf8")).toBe("lower");
    expect(await readFile(path.join(rootfs, "x"), "utf8")).toBe("upper");
    await expect(stat(path.join(rootfs, "etc/old"))).rejects.toThrow();
    await expect(stat(path.join(rootfs, "cache/a"))).rejects.toThrow();
    expect(await readFile(path.join(rootfs, "cache/b"), "utf8")).toBe("b");
  });
});
