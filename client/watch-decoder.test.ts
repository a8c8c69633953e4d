import { describe, expect, it } from "vitest";
import { StatusError } from "../api/errors.js";
import type { WatchEvent } from "../api/meta.js";
import { ExpiredError } from "./errors.js";
import { decodeWatchEvents, JsonObjectFramer, toWatchEvent, WatchDecodeError } from "./watch-decoder.js";

const pod = (name: string, rv: string, extra: Record<string, unknown> = {}) => ({ apiVersion: "v1", kind: "Pod", metadata: { name, namespace: "default", resourceVersion: rv }, ...extra });
const events = [
  { type: "ADDED", object: pod("a", "10") },
  { type: "MODIFIED", object: pod("a", "11", { spec: { note: 'braces } { and "quotes" \\ and ünïcödé ✓' } }) },
  { type: "BOOKMARK", object: { kind: "Pod", apiVersion: "v1", metadata: { resourceVersion: "12" } } },
  { type: "DELETED", object: pod("a", "13", { spec: { list: [[{}], []] } }) },
];

async function* chunks(parts: (string | Uint8Array)[]): AsyncGenerator<string | Uint8Array> {
  for (const p of parts) {
    await Promise.resolve();
    yield p;
  }
}

async function collect(parts: (string | Uint8Array)[]): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  for await (const ev of decodeWatchEvents(chunks(parts))) out.push(ev);
  return out;
}

describe("decodeWatchEvents", () => {
  const bytes = Buffer.from(events.map((e) => JSON.stringify(e)).join("\n") + "\n", "utf8");

  it("decodes newline-separated events delivered in one chunk", async () => {
    expect(await collect([bytes])).toEqual(events);
  });

  it("decodes events written back to back without separators", async () => {
    expect(await collect([events.map((e) => JSON.stringify(e)).join("")])).toEqual(events);
  });

  it.each([1, 2, 3, 7, 64])("decodes the stream split into %i-byte chunks, including inside multi-byte characters", async (size) => {
    const parts: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
    expect(await collect(parts)).toEqual(events);
  });

  it("decodes at every single split point", async () => {
    for (let cut = 1; cut < bytes.length; cut += 5) expect(await collect([bytes.subarray(0, cut), bytes.subarray(cut)])).toEqual(events);
  });

  it("tolerates blank lines and CRLF between events", async () => {
    expect(await collect([`\r\n\n${JSON.stringify(events[0])}\r\n\r\n  ${JSON.stringify(events[1])}\n`])).toEqual(events.slice(0, 2));
  });

  it("surfaces an ERROR event with 410 as ExpiredError (a StatusError with reason Expired)", async () => {
    const error = { type: "ERROR", object: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: "too old resource version: 5 (100)", reason: "Expired", code: 410 } };
    const decoded: WatchEvent[] = [];
    const run = async () => {
      for await (const ev of decodeWatchEvents(chunks([JSON.stringify(events[0]), JSON.stringify(error).slice(0, 20), JSON.stringify(error).slice(20)]))) decoded.push(ev);
    };
    const err: unknown = await run().catch((e: unknown) => e);
    expect(decoded).toEqual([events[0]]);
    expect(err).toBeInstanceOf(ExpiredError);
    expect(err).toBeInstanceOf(StatusError);
    expect(err).toMatchObject({ code: 410, reason: "Expired", message: "too old resource version: 5 (100)" });
  });

  it("surfaces other ERROR events as StatusErrors with their code and reason", () => {
    expect(() => toWatchEvent({ type: "ERROR", object: { kind: "Status", status: "Failure", code: 500, reason: "InternalError", message: "etcd down" } })).toThrow(
      expect.objectContaining({ code: 500, reason: "InternalError", message: "etcd down" }) as Error,
    );
  });

  it("rejects a stream that ends inside an event", async () => {
    await expect(collect([JSON.stringify(events[0]).slice(0, 30)])).rejects.toBeInstanceOf(WatchDecodeError);
  });

  it("rejects garbage between events and unknown event types", async () => {
    await expect(collect([`${JSON.stringify(events[0])} x`])).rejects.toBeInstanceOf(WatchDecodeError);
    expect(() => toWatchEvent({ type: "CHANGED", object: pod("a", "1") })).toThrow(WatchDecodeError);
    expect(() => toWatchEvent({ type: "ADDED" })).toThrow(WatchDecodeError);
  });
});

describe("JsonObjectFramer", () => {
  it("returns only completed objects and keeps partial state across pushes", () => {
    const framer = new JsonObjectFramer();
    expect(framer.push('{"a":"}')).toEqual([]);
    expect(framer.push('\\""}{"b":')).toEqual([{ a: '}"' }]);
    expect(framer.push("[1,{}]}")).toEqual([{ b: [1, {}] }]);
    expect(() => { framer.end(); }).not.toThrow();
  });

  it("guards against objects larger than the limit", () => {
    const framer = new JsonObjectFramer(10);
    expect(() => framer.push('{"a":"0123456789')).toThrow(/larger than/);
  });
});

/** The byte scanner alone (the framer before its line path), as the reference the framer must agree with. */
class ReferenceFramer {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private parts: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxObjectBytes = 256 * 1024 * 1024) {}

  push(chunk: Uint8Array | string): unknown[] {
    const buf = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const out: unknown[] = [];
    let start = this.depth > 0 ? 0 : -1;
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i]!;
      if (this.depth === 0) {
        if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
        if (c !== 0x7b) throw new WatchDecodeError(`unexpected byte ${JSON.stringify(String.fromCharCode(c))} between watch events`);
        start = i;
        this.depth = 1;
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === 0x5c) this.escaped = true;
        else if (c === 0x22) this.inString = false;
        continue;
      }
      if (c === 0x22) this.inString = true;
      else if (c === 0x7b || c === 0x5b) this.depth++;
      else if (c === 0x7d || c === 0x5d) {
        this.depth--;
        if (this.depth === 0) {
          const whole = Buffer.concat([...this.parts, buf.subarray(start, i + 1)]);
          this.parts = [];
          this.pendingBytes = 0;
          start = -1;
          try {
            out.push(JSON.parse(whole.toString("utf8")));
          } catch (err) {
            throw new WatchDecodeError(`invalid JSON in watch stream: ${(err as Error).message}`);
          }
        }
      }
    }
    if (this.depth > 0 && start >= 0) {
      const rest = buf.subarray(start);
      this.parts.push(rest);
      this.pendingBytes += rest.length;
      if (this.pendingBytes > this.maxObjectBytes) throw new WatchDecodeError(`watch event larger than ${this.maxObjectBytes} bytes`);
    }
    return out;
  }

  end(): void {
    if (this.depth > 0) throw new WatchDecodeError(`watch stream ended inside an event (${this.pendingBytes} bytes pending)`);
  }
}

/** What a framer returns for each push (or the message it throws, after which it is not fed further), then end(). */
function trace(framer: { push(chunk: Uint8Array): unknown[]; end(): void }, parts: readonly Uint8Array[]): unknown[] {
  const steps: unknown[] = [];
  try {
    for (const part of parts) steps.push(framer.push(part));
    framer.end();
    steps.push("end");
  } catch (err) {
    steps.push({ error: err instanceof WatchDecodeError ? err.message : String(err) });
  }
  return steps;
}

describe("JsonObjectFramer agrees with the byte scanner", () => {
  const compact = events.map((e) => JSON.stringify(e));
  const tricky = { type: "MODIFIED", object: pod("b", "20", { data: { a: "}\n{", b: '\\"}', c: "\\", d: "ünï ✓ 😀 {[", e: "line\r\nbreak\u2028" } }) };
  const streams: Record<string, string> = {
    "newline-framed": compact.join("\n") + "\n",
    "CRLF and blank lines": `\r\n\n${compact[0]}\r\n\r\n  ${compact[1]}\t\n${compact[2]}\n`,
    "no final newline": compact.join("\n"),
    "back to back": compact.join(""),
    "two per line, then one per line": `${compact[0]}${compact[1]}\n${compact[2]}\n${compact[3]}\n`,
    "pretty-printed": events.map((e) => JSON.stringify(e, null, 2)).join("\n") + "\n",
    "pretty-printed, then compact": `${JSON.stringify(events[0], null, 2)}\n${compact[1]}\n${compact[2]}\n`,
    "braces, quotes, escapes, multi-byte characters in strings": `${JSON.stringify(tricky)}\n${compact[0]}\n${JSON.stringify(tricky)}\n`,
    "garbage between events": `${compact[0]}\n${compact[1]} x\n${compact[2]}\n`,
    "garbage line": `${compact[0]}\nnot json\n${compact[1]}\n`,
    "a top-level array": `${compact[0]}\n[1,{}]\n`,
    "a top-level number": `${compact[0]}\n42\n`,
    "invalid JSON inside an object": `${compact[0]}\n{"type":"ADDED","object":{"a":tru}}\n${compact[1]}\n`,
    "unbalanced closing bracket": `${compact[0]}\n{"a":[1}}\n${compact[1]}\n`,
    "ends inside an event": `${compact[0]}\n${compact[1]!.slice(0, 40)}`,
    "only whitespace": " \n\r\n\t\n",
  };

  it.each(Object.entries(streams))("%s: split at every byte offset (and in three at many)", (_name, text) => {
    const bytes = Buffer.from(text, "utf8");
    expect(trace(new JsonObjectFramer(), [bytes])).toEqual(trace(new ReferenceFramer(), [bytes]));
    for (let cut = 0; cut <= bytes.length; cut++) {
      const parts = [bytes.subarray(0, cut), bytes.subarray(cut)];
      expect(trace(new JsonObjectFramer(), parts), `cut at ${cut}`).toEqual(trace(new ReferenceFramer(), parts));
    }
    for (let a = 1; a < bytes.length; a += 7) {
      for (let b = a; b <= bytes.length; b += 13) {
        const parts = [bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)];
        expect(trace(new JsonObjectFramer(), parts), `cuts at ${a}, ${b}`).toEqual(trace(new ReferenceFramer(), parts));
      }
    }
  });

  it("in 1-byte chunks, for every stream", () => {
    for (const text of Object.values(streams)) {
      const bytes = Buffer.from(text, "utf8");
      const parts = [...bytes].map((b) => Uint8Array.of(b));
      expect(trace(new JsonObjectFramer(), parts)).toEqual(trace(new ReferenceFramer(), parts));
    }
  });

  it("decodes a huge event in 64 KiB chunks, between small ones, and guards the size the same way", () => {
    const huge = { type: "ADDED", object: pod("big", "30", { data: Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, `{"v":"${"x".repeat(i % 50)}}"`])) }) };
    const bytes = Buffer.from(`${compact[0]}\n${JSON.stringify(huge)}\n${compact[1]}\n`, "utf8");
    const parts: Buffer[] = [];
    for (let i = 0; i < bytes.length; i += 65_536) parts.push(bytes.subarray(i, i + 65_536));
    const got = trace(new JsonObjectFramer(), parts);
    expect(got).toEqual(trace(new ReferenceFramer(), parts));
    expect(got.flat()).toEqual([events[0], huge, events[1], "end"]);
    const limit = 100_000;
    expect(trace(new JsonObjectFramer(limit), parts)).toEqual(trace(new ReferenceFramer(limit), parts));
    expect(trace(new JsonObjectFramer(limit), parts).at(-1)).toEqual({ error: `watch event larger than ${limit} bytes` });
  });

  it("random streams in random chunks", () => {
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const pieces = [...compact, JSON.stringify(tricky), JSON.stringify(events[1], null, 1), "\n", "\n", "\n", "\r\n", " ", "x", "[]", "{", "}", '"'];
    for (let round = 0; round < 400; round++) {
      const bytes = Buffer.from(Array.from({ length: 1 + random(8) }, () => pieces[random(pieces.length)]).join(""), "utf8");
      const parts: Buffer[] = [];
      for (let at = 0; at < bytes.length; ) {
        const size = 1 + random(90);
        parts.push(bytes.subarray(at, at + size));
        at += size;
      }
      expect(trace(new JsonObjectFramer(), parts), bytes.toString()).toEqual(trace(new ReferenceFramer(), parts));
    }
  });
});
