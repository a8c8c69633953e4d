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
