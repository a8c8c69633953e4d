// The daemon's state on disk, so that a restarted runtime knows its sandboxes and containers (which keep running
// without it): one JSON file per record under <root>/<kind>/<id>.json, written atomically (a temporary file in
// the same directory, fsynced, then renamed over the old one), so a crash leaves the old record or the new one,
// never half of either. bigint values (CRI timestamps in nanoseconds) are stored exactly.
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";

const BIGINT_KEY = "$bigint";

function replacer(_key: string, value: unknown): unknown {
  return typeof value === "bigint" ? { [BIGINT_KEY]: value.toString() } : value;
}

function reviver(_key: string, value: unknown): unknown {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const keys = Object.keys(value);
    const inner: unknown = Reflect.get(value, BIGINT_KEY);
    if (keys.length === 1 && typeof inner === "string" && /^-?\d+$/.test(inner)) return BigInt(inner);
  }
  return value;
}

/** Serializes a value as JSON, keeping bigints (as {"$bigint":"…"}). */
export function encodeState(value: unknown): string {
  return JSON.stringify(value, replacer, 2);
}

export function decodeState(text: string): unknown {
  return JSON.parse(text, reviver) as unknown;
}

/** Writes a file atomically: temp file in the same directory, fsync, rename. */
export function writeFileAtomic(path: string, data: string): void {
  const temp = `${path}.tmp-${process.pid}`;
  const fd = openSync(temp, "w", 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

export interface LoadedRecords<T> {
  records: Map<string, T>;
  /** Files that could not be read or failed the guard, with the reason: reported, not fatal. */
  rejected: { file: string; reason: string }[];
}

/** One kind of record (sandboxes, containers, images) in its own directory. */
export class RecordStore<T> {
  private readonly dir: string;

  /** `guard` checks a decoded file; records failing it are left on disk and reported by load(). */
  constructor(
    root: string,
    kind: string,
    private readonly guard: (value: unknown) => value is T,
  ) {
    this.dir = join(root, kind);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  private path(id: string): string {
    if (!/^[A-Za-z0-9_.-]+$/.test(id) || id.startsWith(".")) throw new Error(`invalid record id ${JSON.stringify(id)}`);
    return join(this.dir, `${id}.json`);
  }

  save(id: string, record: T): void {
    writeFileAtomic(this.path(id), encodeState(record));
  }

  delete(id: string): void {
    rmSync(this.path(id), { force: true });
  }

  load(): LoadedRecords<T> {
    const records = new Map<string, T>();
    const rejected: { file: string; reason: string }[] = [];
    for (const file of readdirSync(this.dir)) {
      const full = join(this.dir, file);
      if (file.includes(".tmp-")) {
        // A write that crashed before its rename: the record it was replacing is still whole.
        rmSync(full, { force: true });
        continue;
      }
      if (!file.endsWith(".json")) continue;
      try {
        const value = decodeState(readFileSync(full, "utf8"));
        if (this.guard(value)) records.set(file.slice(0, -".json".length), value);
        else rejected.push({ file: full, reason: "unexpected content" });
      } catch (err) {
        rejected.push({ file: full, reason: err instanceof Error ? err.message : String(err) });
      }
    }
    return { records, rejected };
  }
}
