/**
 * The one place that reads and writes tar archives, over npm's tar-stream (a small, widely used streaming tar
 * parser and packer). Everything else sees the two functions below, so another tar library is a change to this
 * file alone.
 */
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tarStream from "tar-stream";

export type TarEntryType = "file" | "directory" | "symlink" | "link" | "other";

export interface TarEntryHeader {
  /** Path inside the archive as written, e.g. `./bin/sh` or `etc/`. */
  readonly name: string;
  readonly type: TarEntryType;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtime: Date;
  /** Target of a symlink, or the archive path of a hard link's original. */
  readonly linkname: string;
  readonly size: number;
}

/** An entry to write. Paths are relative, without a leading `./` or `/`. */
export type TarWriteEntry =
  | { readonly type: "directory"; readonly name: string; readonly mode: number }
  | { readonly type: "file"; readonly name: string; readonly mode: number; readonly content: Uint8Array }
  | { readonly type: "symlink"; readonly name: string; readonly target: string }
  /** A hard link; its target must sort before it, as entries are written in path order. */
  | { readonly type: "link"; readonly name: string; readonly target: string };

/** A fixed timestamp makes archives built from the same files byte-identical, hence the same digest. */
export const FIXED_MTIME = new Date(0);

/**
 * Packs entries into one uncompressed tar with every header owned by root, stamped with FIXED_MTIME, and in
 * sorted path order, so the same entries always give the same bytes.
 */
export async function packDeterministicTar(entries: readonly TarWriteEntry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of pack) chunks.push(Buffer.from(chunk as Uint8Array));
  })();
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const common = { uid: 0, gid: 0, uname: "root", gname: "root", mtime: FIXED_MTIME };
  for (const entry of sorted) {
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error | null): void => {
        if (error) reject(error);
        else resolve();
      };
      switch (entry.type) {
        case "directory":
          pack.entry({ ...common, name: `${entry.name}/`, type: "directory", mode: entry.mode }, done);
          break;
        case "file":
          pack.entry({ ...common, name: entry.name, type: "file", mode: entry.mode }, entry.content, done);
          break;
        case "symlink":
          pack.entry({ ...common, name: entry.name, type: "symlink", linkname: entry.target, mode: 0o777 }, done);
          break;
        case "link":
          pack.entry({ ...common, name: entry.name, type: "link", linkname: entry.target, mode: 0o644 }, done);
          break;
      }
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

/**
 * Reads a tar stream, handing each entry to `onEntry` in archive order. `onEntry` must consume or drop the
 * body before it resolves; an unconsumed body is drained.
 */
export async function readTar(
  input: Readable,
  onEntry: (header: TarEntryHeader, body: AsyncIterable<Uint8Array>) => Promise<void>,
): Promise<void> {
  const extract = tarStream.extract();
  const consumed = (async () => {
    for await (const entry of extract) {
      const h = entry.header;
      const type: TarEntryType =
        h.type === "file" || h.type === "contiguous-file"
          ? "file"
          : h.type === "directory" || h.type === "symlink" || h.type === "link"
            ? h.type
            : "other";
      await onEntry(
        {
          name: h.name,
          type,
          mode: h.mode,
          uid: h.uid,
          gid: h.gid,
          mtime: h.mtime,
          linkname: h.linkname,
          size: h.size,
        },
        entry as AsyncIterable<Uint8Array>,
      );
      entry.resume();
    }
  })();
  await Promise.all([pipeline(input, extract), consumed]);
}
