/**
 * The one place that reads and writes tar archives, over npm's `tar` (node-tar, the tar implementation npm
 * itself uses): its Parser reads archives entry by entry, its Header encodes ustar/pax headers. Everything else
 * sees the two functions below, so another tar library is a change to this file alone.
 */
import { Header, type HeaderData, Parser, Pax, type ReadEntry } from "tar";

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

const BLOCK = 512;

function encodeHeader(data: HeaderData): Buffer {
  const header = new Header(data);
  const block = Buffer.alloc(BLOCK);
  const needPax = header.encode(block, 0);
  if (!needPax) return block;
  // Names or links too long for ustar go first in a pax extended header.
  const pax = new Pax({ path: data.path ?? "", linkpath: data.linkpath ?? "", mtime: FIXED_MTIME }).encode();
  return Buffer.concat([pax, block]);
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/**
 * Packs entries into one uncompressed tar with every header owned by root, stamped with FIXED_MTIME, and in
 * sorted path order, so the same entries always give the same bytes.
 */
export function packDeterministicTar(entries: readonly TarWriteEntry[]): Promise<Buffer> {
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const common = { uid: 0, gid: 0, uname: "root", gname: "root", mtime: FIXED_MTIME };
  const parts: Buffer[] = [];
  for (const entry of sorted) {
    switch (entry.type) {
      case "directory":
        parts.push(encodeHeader({ ...common, path: `${entry.name}/`, type: "Directory", mode: entry.mode, size: 0 }));
        break;
      case "file":
        parts.push(encodeHeader({ ...common, path: entry.name, type: "File", mode: entry.mode, size: entry.content.length }));
        parts.push(Buffer.from(entry.content), padding(entry.content.length));
        break;
      case "symlink":
        parts.push(
          encodeHeader({ ...common, path: entry.name, type: "SymbolicLink", linkpath: entry.target, mode: 0o777, size: 0 }),
        );
        break;
      case "link":
        parts.push(encodeHeader({ ...common, path: entry.name, type: "Link", linkpath: entry.target, mode: 0o644, size: 0 }));
        break;
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Promise.resolve(Buffer.concat(parts));
}

const ENTRY_TYPES: Readonly<Record<string, TarEntryType>> = {
  File: "file",
  OldFile: "file",
  ContiguousFile: "file",
  Directory: "directory",
  SymbolicLink: "symlink",
  Link: "link",
};

/**
 * Reads a tar stream, handing each entry to `onEntry` one at a time in archive order. `onEntry` may consume
 * the body; an unconsumed body is drained after it resolves. A malformed archive rejects.
 */
export async function readTar(
  input: AsyncIterable<Uint8Array>,
  onEntry: (header: TarEntryHeader, body: AsyncIterable<Uint8Array>) => Promise<void>,
): Promise<void> {
  const parser = new Parser({ strict: true });
  let chain: Promise<void> = Promise.resolve();
  let failure: Error | undefined;
  parser.on("entry", (entry: ReadEntry) => {
    chain = chain.then(async () => {
      if (failure !== undefined) {
        entry.resume();
        return;
      }
      try {
        await onEntry(
          {
            name: entry.path,
            type: ENTRY_TYPES[entry.type] ?? "other",
            mode: entry.mode ?? 0o644,
            uid: entry.uid ?? 0,
            gid: entry.gid ?? 0,
            mtime: entry.mtime ?? FIXED_MTIME,
            linkname: entry.linkpath ?? "",
            size: entry.size,
          },
          entry,
        );
      } catch (error: unknown) {
        failure ??= error instanceof Error ? error : new Error("tar entry handler failed", { cause: error });
      } finally {
        entry.resume();
      }
    });
  });
  // Plain listeners, not events.once: that rejects on 'error' too, leaving a second, unobserved rejection.
  const ended = new Promise<void>((resolve) => parser.once("end", () => { resolve(); }));
  let parseError: Error | undefined;
  const errored = new Promise<void>((resolve) =>
    parser.on("error", (error: Error) => {
      parseError ??= error;
      resolve();
    }),
  );
  for await (const chunk of input) {
    if (!parser.write(Buffer.from(chunk))) {
      await Promise.race([new Promise<void>((resolve) => parser.once("drain", () => { resolve(); })), errored]);
    }
    if (parseError !== undefined) break;
  }
  if (parseError === undefined) {
    parser.end();
    await Promise.race([ended, errored]);
  }
  if (parseError !== undefined) throw parseError;
  await chain;
  if (failure !== undefined) throw failure;
}
