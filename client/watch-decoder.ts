// Decodes a watch response body: JSON watch events written back to back ({"type":..,"object":..}), newline
// separated by convention but not necessarily, arriving in arbitrary chunks (an event may span chunks, a chunk
// may hold several events). This is client-go's streaming JSON framer + watch decoder.
//
// Framing works on bytes, not characters: the structural bytes ({ } [ ] " \ and newline) are ASCII, and UTF-8
// never uses ASCII byte values inside multi-byte sequences, so a character split across chunks is harmless.
import { errorMessage, StatusError } from "../api/errors.js";
import { isKubeObject, isRecord, type KubeObject, type WatchEvent, type WatchEventType } from "../api/meta.js";
import { asStatus, statusErrorFrom } from "./errors.js";

/** The stream is not a sequence of watch events (bad JSON, a non-object, a bad event shape). */
export class WatchDecodeError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "WatchDecodeError";
  }
}

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * Splits a byte stream into top-level JSON objects. Feed chunks with push(); call end() at end of stream.
 *
 * Two paths, the same results (the same values from the same push() calls, the same errors):
 *   - lines: apiservers write one event per line, so a complete line inside a chunk is handed whole to JSON.parse
 *     without looking at its bytes in JS; a line that parses as a JSON object is exactly the object the scanner
 *     would have cut there.
 *   - scan: a byte-by-byte scanner (depth, strings, escapes) for everything else: the unfinished last line of a
 *     chunk (so an object that completes in a chunk is returned by that push even before its newline arrives),
 *     and a line that is not one JSON object (pretty-printed events, garbage: the scanner reports the error).
 *     The scanner hands back to the line path at the next newline between objects, unless it met two objects on
 *     one line: then the stream is not newline-framed and is scanned to the end.
 */
export class JsonObjectFramer {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private parts: Buffer[] = [];
  private pendingBytes = 0;
  /** Scanning (not at a line start, or the stream is not newline-framed). */
  private scanning = false;
  /** While scanning: an object ended on the current line (a second one there means no newline framing). */
  private objectOnLine = false;
  /** Once false, the stream is scanned to its end. */
  private newlineFramed = true;

  /** @param maxObjectBytes a guard against a runaway stream (default 256 MiB). */
  constructor(private readonly maxObjectBytes = 256 * 1024 * 1024) {}

  /** Returns the values completed by this chunk, parsed, in order. */
  push(chunk: Uint8Array | string): unknown[] {
    const buf = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: unknown[] = [];
    let at = 0;
    while (at < buf.length) at = this.scanning ? this.scan(buf, at, out) : this.lines(buf, at, out);
    return out;
  }

  /** Throws if the stream stopped in the middle of an object. */
  end(): void {
    if (this.depth > 0) throw new WatchDecodeError(`watch stream ended inside an event (${this.pendingBytes} bytes pending)`);
  }

  /**
   * At a line start at depth 0: parses the complete lines from `at` on, then hands the unfinished last line (or a
   * line that is not one JSON object) to the scanner. Returns where the scanner takes over (buf.length if nowhere).
   */
  private lines(buf: Buffer, at: number, out: unknown[]): number {
    for (;;) {
      const newline = buf.indexOf(NEWLINE, at);
      if (newline < 0) break;
      let first = at;
      while (first < newline && isSpace(buf[first]!)) first++;
      if (first < newline) {
        if (buf[first] !== OPEN_BRACE) break;
        const value = parseLine(buf, first, newline);
        if (value === undefined) break;
        out.push(value);
      }
      at = newline + 1;
    }
    if (at < buf.length) this.scanning = true;
    return at;
  }

  /** The byte scanner; returns where the line path takes over again (buf.length if nowhere). */
  private scan(buf: Buffer, at: number, out: unknown[]): number {
    let start = this.depth > 0 ? at : -1;
    for (let i = at; i < buf.length; i++) {
      const c = buf[i]!;
      if (this.depth === 0) {
        if (c === NEWLINE) {
          this.objectOnLine = false;
          if (this.newlineFramed) {
            this.scanning = false;
            return i + 1;
          }
          continue;
        }
        if (isSpace(c)) continue;
        if (c !== OPEN_BRACE) throw new WatchDecodeError(`unexpected byte ${JSON.stringify(String.fromCharCode(c))} between watch events`);
        if (this.objectOnLine) this.newlineFramed = false;
        start = i;
        this.depth = 1;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) this.inString = false;
        continue;
      }
      if (c === QUOTE) this.inString = true;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) this.depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        this.depth--;
        if (this.depth === 0) {
          const piece = buf.subarray(start, i + 1);
          const whole = this.parts.length > 0 ? Buffer.concat([...this.parts, piece]) : piece;
          this.parts = [];
          this.pendingBytes = 0;
          start = -1;
          this.objectOnLine = true;
          out.push(parseJson(whole));
        }
      }
    }
    if (this.depth > 0 && start >= 0) {
      const rest = buf.subarray(start);
      this.parts.push(rest);
      this.pendingBytes += rest.length;
      if (this.pendingBytes > this.maxObjectBytes) throw new WatchDecodeError(`watch event larger than ${this.maxObjectBytes} bytes`);
    }
    return buf.length;
  }
}

/** The line [start, end), which starts with "{", parsed; undefined if it is not exactly one JSON object. */
function parseLine(buf: Buffer, start: number, end: number): unknown {
  try {
    return JSON.parse(buf.toString("utf8", start, end));
  } catch {
    return undefined; // JSON.parse never returns undefined
  }
}

function parseJson(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString("utf8"));
  } catch (err) {
    throw new WatchDecodeError(`invalid JSON in watch stream: ${errorMessage(err)}`, { cause: err });
  }
}

const EVENT_TYPES: ReadonlySet<string> = new Set<WatchEventType>(["ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"]);

function isEventType(value: unknown): value is WatchEventType {
  return typeof value === "string" && EVENT_TYPES.has(value);
}

/**
 * Validates one decoded value as a watch event. An ERROR event is not returned but thrown: a StatusError built
 * from its Status (ExpiredError for 410 Expired/Gone), or an InternalError StatusError if it carries no Status.
 */
export function toWatchEvent<T extends KubeObject = KubeObject>(value: unknown): WatchEvent<T> {
  if (!isRecord(value) || !isEventType(value.type)) throw new WatchDecodeError(`not a watch event: ${JSON.stringify(value)?.slice(0, 200)}`);
  const object = value.object;
  if (value.type === "ERROR") {
    const status = asStatus(object);
    if (status) throw statusErrorFrom(status);
    throw new StatusError(500, "InternalError", `watch ERROR event without a Status: ${JSON.stringify(object)?.slice(0, 200)}`);
  }
  if (!isKubeObject(object)) throw new WatchDecodeError(`watch ${value.type} event without an object`);
  // The decoder checks the envelope and metadata only; the resource's own fields are the caller's contract (T).
  return { type: value.type, object: object as T };
}

/** Decodes a byte stream (e.g. an http.IncomingMessage) into watch events; ERROR events throw (see toWatchEvent). */
export async function* decodeWatchEvents<T extends KubeObject = KubeObject>(source: AsyncIterable<Uint8Array | string>): AsyncGenerator<WatchEvent<T>, void, undefined> {
  const framer = new JsonObjectFramer();
  for await (const chunk of source) {
    for (const value of framer.push(chunk)) yield toWatchEvent<T>(value);
  }
  framer.end();
}
