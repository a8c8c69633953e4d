import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { assembleImage, buildLayer, type BuiltImage } from "./offline.js";
import { ImageStore, lockOwner, MemoryAndFileBlobSource, processStartTime, staleLockOwner } from "./store.js";

const noWhiteouts = { whiteout: () => Promise.resolve(), opaque: () => Promise.resolve() };

async function tinyImage(reference: string): Promise<BuiltImage> {
  const layer = await buildLayer([{ type: "file", name: "name.txt", mode: 0o644, content: Buffer.from(`${reference}\n`) }], reference);
  return assembleImage([layer], {}, [reference]);
}

const add = (store: ImageStore, image: BuiltImage) => store.addImage(new MemoryAndFileBlobSource(image.blobs), image.manifest, image.references);

describe("ImageStore across processes", () => {
  let work = "";
  let root = "";
  beforeEach(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), "kubelab-store-lock-"));
    root = path.join(work, "store");
  });
  afterEach(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it("waits while another live process holds the store's lock, then writes", async () => {
    await mkdir(root, { recursive: true });
    const lock = path.join(root, "store.lock");
    // Our parent runs: a holder that is alive.
    await writeFile(lock, String(process.ppid));
    const store = new ImageStore({ root, whiteoutWriter: noWhiteouts });
    let done = false;
    const adding = add(store, await tinyImage("example.com/a:1")).then(() => {
      done = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(done).toBe(false);
    expect(existsSync(path.join(root, "index.json"))).toBe(false);
    await rm(lock);
    await adding;
    expect((await store.list()).flatMap((r) => r.repoTags)).toEqual(["example.com/a:1"]);
    expect(existsSync(lock)).toBe(false);
  });

  it("takes over a lock whose holder no longer runs", async () => {
    await mkdir(root, { recursive: true });
    const gone = spawnSync(process.execPath, ["-e", ""]).pid;
    await writeFile(path.join(root, "store.lock"), String(gone));
    const store = new ImageStore({ root, whiteoutWriter: noWhiteouts });
    await add(store, await tinyImage("example.com/b:1"));
    expect((await store.list()).flatMap((r) => r.repoTags)).toEqual(["example.com/b:1"]);
  });

  it("takes over a lock whose pid now names another process, started at another time", async () => {
    await mkdir(root, { recursive: true });
    // Our parent runs, but the lock says it started at another time: the pid was reused.
    const started = processStartTime(process.ppid);
    expect(started).toMatch(/^\d+$/);
    await writeFile(path.join(root, "store.lock"), `${process.ppid} ${Number(started) + 1}`);
    const store = new ImageStore({ root, whiteoutWriter: noWhiteouts });
    await add(store, await tinyImage("example.com/f:1"));
    expect((await store.list()).flatMap((r) => r.repoTags)).toEqual(["example.com/f:1"]);
  });

  it("names its holder with pid and start time, and judges holders by both", () => {
    expect(lockOwner(process.pid)).toBe(`${process.pid} ${processStartTime(process.pid) ?? ""}`);
    expect(staleLockOwner(lockOwner(process.ppid))).toBe(false);
    expect(staleLockOwner(String(process.ppid))).toBe(false);
    expect(staleLockOwner("")).toBe(false);
    expect(staleLockOwner(`${spawnSync(process.execPath, ["-e", ""]).pid}`)).toBe(true);
  });

  it("loses no index entry when three stores on one root add images at once", async () => {
    const images = await Promise.all(["example.com/c:1", "example.com/d:1", "example.com/e:1"].map(tinyImage));
    const stores = images.map(() => new ImageStore({ root, whiteoutWriter: noWhiteouts }));
    await Promise.all(images.map((image, i) => add(stores[i] ?? new ImageStore({ root }), image)));
    expect((await new ImageStore({ root }).list()).flatMap((r) => r.repoTags)).toEqual(["example.com/c:1", "example.com/d:1", "example.com/e:1"]);
  });
});

describe("ImageStore.addImage failures", () => {
  it("leaves no blob or layer of an image whose load failed half-way, and keeps the images it had", async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), "kubelab-store-fail-"));
    try {
      const root = path.join(work, "store");
      const store = new ImageStore({ root, whiteoutWriter: noWhiteouts });
      await add(store, await tinyImage("example.com/kept:1"));
      const before = { blobs: await readdir(path.join(root, "blobs", "sha256")), layers: await readdir(path.join(root, "layers")) };
      // Two layers: the first stores and unpacks, the second's bytes do not match its digest.
      const good = await buildLayer([{ type: "file", name: "a.txt", mode: 0o644, content: Buffer.from("a\n") }], "a");
      const bad = await buildLayer([{ type: "file", name: "b.txt", mode: 0o644, content: Buffer.from("b\n") }], "b");
      const image = assembleImage([good, bad], {}, ["example.com/broken:1"]);
      const blobs = new Map(image.blobs);
      blobs.set(bad.descriptor.digest, Buffer.concat([Buffer.from(bad.blob), Buffer.from("tampered")]));
      await expect(store.addImage(new MemoryAndFileBlobSource(blobs), image.manifest, image.references)).rejects.toThrow();
      expect(await readdir(path.join(root, "blobs", "sha256"))).toEqual(before.blobs);
      expect(await readdir(path.join(root, "layers"))).toEqual(before.layers);
      expect((await store.list()).flatMap((r) => r.repoTags)).toEqual(["example.com/kept:1"]);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
