// Container logs as the kubelet serves them (/containerLogs): the runtime writes each container's output to a file in
// the CRI log format, one record per line, `<RFC3339Nano time> <stdout|stderr> <tag> <text>`, where the tag's first
// field is P for a partial record (a long line split by the runtime) and F for the record that ends a line. This
// module reads such a file with Kubernetes' PodLogOptions (tailLines, sinceTime/sinceSeconds, timestamps,
// limitBytes, follow); partial records are joined back into the line the container wrote. Following keeps reading
// as the file grows, reopens it when the runtime rotates or truncates it, and ends once the container has exited.
import { open, stat, type FileHandle } from "node:fs/promises";
import type { Writable } from "node:stream";

export interface LogOptions {
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  /** The last N lines only; undefined for all. */
  tailLines?: number;
  /** Lines written at or after this time (ms since the epoch) only. */
  sinceMs?: number;
  /** Stop after this many bytes of output. */
  limitBytes?: number;
}

/**
 * A query parameter that is not a valid PodLogOptions value, with Kubernetes' validation text: `decode` when it
 * does not even parse (not an integer, not a time), `invalid` when it is out of range.
 */
export class LogOptionsError extends Error {
  constructor(
    readonly field: string,
    message: string,
    readonly kind: "decode" | "invalid" = "invalid",
  ) {
    super(message);
    this.name = "LogOptionsError";
  }
}

function flag(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  return value === "true" || value === "1";
}

function integer(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new LogOptionsError(name, `${name}: Invalid value: "${raw}": must be an integer`, "decode");
  return n;
}

/** PodLogOptions from a /containerLogs or pods/log query, validated as Kubernetes' ValidatePodLogOptions does. */
export function parseLogOptions(query: URLSearchParams, nowMs: number): LogOptions {
  const options: LogOptions = { follow: flag(query, "follow"), previous: flag(query, "previous"), timestamps: flag(query, "timestamps") };
  const tailLines = integer(query, "tailLines");
  const sinceSeconds = integer(query, "sinceSeconds");
  const limitBytes = integer(query, "limitBytes");
  const sinceTime = query.get("sinceTime");
  if (tailLines !== undefined) {
    if (tailLines < 0) throw new LogOptionsError("tailLines", `tailLines: Invalid value: ${tailLines}: must be greater than or equal to 0`);
    options.tailLines = tailLines;
  }
  if (limitBytes !== undefined) {
    if (limitBytes < 1) throw new LogOptionsError("limitBytes", `limitBytes: Invalid value: ${limitBytes}: must be greater than 0`);
    options.limitBytes = limitBytes;
  }
  if (sinceSeconds !== undefined && sinceTime !== null && sinceTime !== "") {
    throw new LogOptionsError("sinceSeconds", "at most one of `sinceTime` or `sinceSeconds` may be specified");
  }
  if (sinceSeconds !== undefined) {
    if (sinceSeconds < 1) throw new LogOptionsError("sinceSeconds", `sinceSeconds: Invalid value: ${sinceSeconds}: must be greater than 0`);
    options.sinceMs = nowMs - sinceSeconds * 1000;
  } else if (sinceTime !== null && sinceTime !== "") {
    const ms = Date.parse(sinceTime);
    if (Number.isNaN(ms)) throw new LogOptionsError("sinceTime", `sinceTime: Invalid value: "${sinceTime}": must be an RFC3339 time`, "decode");
    options.sinceMs = ms;
  }
  return options;
}

/** One record of a CRI log file. */
export interface CriLogRecord {
  /** The record's time as written (RFC3339Nano). */
  timestamp: string;
  timeMs: number;
  stream: "stdout" | "stderr";
  partial: boolean;
  content: Buffer;
}

const SPACE = 0x20;

/** Parses one line of a CRI log file (without its newline); undefined for a malformed line. */
export function parseCriLogLine(line: Buffer): CriLogRecord | undefined {
  const first = line.indexOf(SPACE);
  if (first < 0) return undefined;
  const second = line.indexOf(SPACE, first + 1);
  if (second < 0) return undefined;
  const timestamp = line.subarray(0, first).toString();
  const stream = line.subarray(first + 1, second).toString();
  if (stream !== "stdout" && stream !== "stderr") return undefined;
  const timeMs = Date.parse(timestamp);
  if (Number.isNaN(timeMs)) return undefined;
  const third = line.indexOf(SPACE, second + 1);
  const tag = line.subarray(second + 1, third < 0 ? line.length : third).toString();
  const content = third < 0 ? Buffer.alloc(0) : line.subarray(third + 1);
  return { timestamp, timeMs, stream, partial: tag.split(":")[0] === "P", content };
}

/** A line as the container wrote it: partial records joined, the time of its first record, its newline kept. */
export interface LogLine {
  timestamp: string;
  timeMs: number;
  stream: "stdout" | "stderr";
  content: Buffer;
}

/**
 * Joins partial records into lines; keyed by stream, since a runtime may interleave stdout and stderr records.
 * `push` returns the completed line once a full record arrives; `flush` ends the lines still open.
 */
export class LogLineAssembler {
  private readonly open = new Map<string, { first: CriLogRecord; parts: Buffer[] }>();

  push(record: CriLogRecord): LogLine | undefined {
    const pending = this.open.get(record.stream);
    if (record.partial) {
      if (pending) pending.parts.push(record.content);
      else this.open.set(record.stream, { first: record, parts: [record.content] });
      return undefined;
    }
    this.open.delete(record.stream);
    const first = pending?.first ?? record;
    const parts = pending ? [...pending.parts, record.content] : [record.content];
    return { timestamp: first.timestamp, timeMs: first.timeMs, stream: record.stream, content: Buffer.concat([...parts, Buffer.from("\n")]) };
  }

  /** The unfinished lines, without a newline (the container wrote none yet). */
  flush(): LogLine[] {
    const lines = [...this.open.values()].map(({ first, parts }) => ({ timestamp: first.timestamp, timeMs: first.timeMs, stream: first.stream, content: Buffer.concat(parts) }));
    this.open.clear();
    return lines;
  }
}

/**
 * Go's RFC3339Nano form of a record time: the fraction without trailing zeros, the offset as written except that a
 * zero offset is "Z" (conmon writes "+00:00").
 */
export function normalizeTimestamp(timestamp: string): string {
  const trimmed = timestamp.replace(/\.(\d+)(?=Z|[+-]\d{2}:\d{2}$)/, (_m, fraction: string) => {
    const digits = fraction.replace(/0+$/, "");
    return digits === "" ? "" : `.${digits}`;
  });
  return trimmed.replace(/[+-]00:00$/, "Z");
}

/** A line as written to the client: with `timestamps`, prefixed by its time and a space, as kubectl shows it. */
export function formatLogLine(line: LogLine, timestamps: boolean): Buffer {
  return timestamps ? Buffer.concat([Buffer.from(`${normalizeTimestamp(line.timestamp)} `), line.content]) : line.content;
}

/** Splits bytes into complete lines, keeping an unterminated tail for the next chunk. */
class LineSplitter {
  private rest = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    const data = this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk;
    const lines: Buffer[] = [];
    let start = 0;
    for (let nl = data.indexOf(0x0a, start); nl >= 0; nl = data.indexOf(0x0a, start)) {
      lines.push(data.subarray(start, nl));
      start = nl + 1;
    }
    this.rest = Buffer.from(data.subarray(start));
    return lines;
  }

  /** Forgets a half-read line (the file was replaced under it). */
  reset(): void {
    this.rest = Buffer.alloc(0);
  }
}

/** Writes lines to the client with limitBytes applied; `full` once the limit is reached or the client is gone. */
class LogSink {
  private written = 0;
  full = false;

  constructor(
    private readonly out: Writable,
    private readonly options: LogOptions,
  ) {}

  async write(line: LogLine): Promise<void> {
    if (this.full) return;
    if (this.options.sinceMs !== undefined && line.timeMs < this.options.sinceMs) return;
    let bytes = formatLogLine(line, this.options.timestamps);
    const limit = this.options.limitBytes;
    if (limit !== undefined) {
      if (this.written + bytes.length >= limit) {
        bytes = bytes.subarray(0, limit - this.written);
        this.full = true;
      }
      this.written += bytes.length;
    }
    if (this.out.destroyed || this.out.writableEnded) {
      this.full = true;
      return;
    }
    if (!this.out.write(bytes)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.out.off("drain", done);
          this.out.off("close", done);
          resolve();
        };
        this.out.once("drain", done);
        this.out.once("close", done);
      });
    }
  }
}

export interface FollowOptions {
  /** Whether the container still runs; following ends (after a last read) once it does not. */
  isRunning(): Promise<boolean>;
  /** Aborted when the client goes away. */
  signal?: AbortSignal;
  /** How often to look for new lines; 100 ms by default. */
  pollIntervalMs?: number;
  /** How often to ask isRunning; 1 s by default. */
  runningCheckIntervalMs?: number;
}

function lineOf(record: CriLogRecord | undefined, assembler: LogLineAssembler): LogLine | undefined {
  return record === undefined ? undefined : assembler.push(record);
}

/**
 * Writes the log file at `path` to `out` with `options` applied. Without follow it returns at the end of the file;
 * with follow it returns once the container has stopped (see FollowOptions), the client is gone or limitBytes is
 * reached. A missing file reads as empty (a container that never wrote anything, or whose log was removed).
 */
export async function writeContainerLogs(path: string, options: LogOptions, out: Writable, follow?: FollowOptions): Promise<void> {
  const sink = new LogSink(out, options);
  const assembler = new LogLineAssembler();
  const splitter = new LineSplitter();
  const file = await openLog(path);
  let handle = file?.handle;
  let inode = file?.inode;
  let offset = 0;
  try {
    // The file as it is now: every complete line, the tail applied before the time filter (Kubernetes' order).
    const initial: LogLine[] = [];
    if (handle) {
      const { bytes, size } = await readFrom(handle, 0);
      offset = size;
      for (const raw of splitter.push(bytes)) {
        const line = lineOf(parseCriLogLine(raw), assembler);
        if (line) initial.push(line);
      }
    }
    const tail = options.tailLines;
    const shown = tail === undefined ? initial : tail === 0 ? [] : initial.slice(-tail);
    for (const line of shown) await sink.write(line);
    if (!options.follow || follow === undefined) {
      if (tail === undefined) for (const line of assembler.flush()) await sink.write(line);
      return;
    }
    const pollMs = follow.pollIntervalMs ?? 100;
    const checkMs = follow.runningCheckIntervalMs ?? 1000;
    let lastCheck = Date.now();
    let running = true;
    const emit = async (bytes: Buffer): Promise<void> => {
      for (const raw of splitter.push(bytes)) {
        const line = lineOf(parseCriLogLine(raw), assembler);
        if (line) await sink.write(line);
      }
    };
    while (!sink.full && follow.signal?.aborted !== true) {
      // Read what the current file gained; then, if the runtime rotated it, the rest of the old one and the new one.
      if (handle) {
        const { bytes, size } = await readFrom(handle, offset);
        if (size < offset) {
          // Truncated in place: start again from its beginning.
          splitter.reset();
          offset = 0;
          continue;
        }
        offset = size;
        await emit(bytes);
      }
      const current = await inodeOf(path);
      if (current !== undefined && current !== inode) {
        await handle?.close();
        const reopened = await openLog(path);
        handle = reopened?.handle;
        inode = reopened?.inode;
        offset = 0;
        splitter.reset();
        continue;
      }
      if (!running) break;
      if (Date.now() - lastCheck >= checkMs) {
        lastCheck = Date.now();
        // One more read happens after the container is seen stopped, for the lines it wrote last.
        running = await follow.isRunning().catch(() => false);
        if (!running) continue;
      }
      await sleep(pollMs, follow.signal);
    }
    for (const line of assembler.flush()) await sink.write(line);
  } finally {
    await handle?.close();
  }
}

async function openLog(path: string): Promise<{ handle: FileHandle; inode: number } | undefined> {
  try {
    const handle = await open(path, "r");
    return { handle, inode: (await handle.stat()).ino };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

async function inodeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).ino;
  } catch {
    return undefined;
  }
}

async function readFrom(handle: FileHandle, offset: number): Promise<{ bytes: Buffer; size: number }> {
  const { size } = await handle.stat();
  if (size <= offset) return { bytes: Buffer.alloc(0), size };
  const bytes = Buffer.alloc(size - offset);
  let read = 0;
  while (read < bytes.length) {
    const { bytesRead } = await handle.read(bytes, read, bytes.length - read, offset + read);
    if (bytesRead === 0) break;
    read += bytesRead;
  }
  return { bytes: bytes.subarray(0, read), size: offset + read };
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
