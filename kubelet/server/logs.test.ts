import { appendFile, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LogLineAssembler, LogOptionsError, normalizeTimestamp, parseCriLogLine, parseLogOptions, writeContainerLogs, type LogOptions } from "./logs.js";

const T0 = "2026-01-02T03:04:05.100000000Z";
const T1 = "2026-01-02T03:04:06.200000000Z";
const T2 = "2026-01-02T03:04:07.000000000Z";

const FILE = [`${T0} stdout F one`, `${T1} stdout P tw`, `${T1} stderr F err`, `${T1} stdout F o`, `${T2} stdout F three`, ""].join("\n");

function opts(overrides: Partial<LogOptions> = {}): LogOptions {
  return { follow: false, previous: false, timestamps: false, ...overrides };
}

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "kserve-logs-"));
  path = join(dir, "0.log");
  await writeFile(path, FILE);
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function read(options: LogOptions): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on("data", (c: Buffer) => chunks.push(c));
  await writeContainerLogs(path, options, out);
  return Buffer.concat(chunks).toString();
}

describe("CRI log lines", () => {
  it("parses time, stream, tag and text, and refuses malformed lines", () => {
    expect(parseCriLogLine(Buffer.from(`${T0} stdout F hello world`))).toMatchObject({ timestamp: T0, stream: "stdout", partial: false, content: Buffer.from("hello world") });
    expect(parseCriLogLine(Buffer.from(`${T0} stderr P:x part`))).toMatchObject({ stream: "stderr", partial: true, content: Buffer.from("part") });
    expect(parseCriLogLine(Buffer.from(`${T0} stdout F`))?.content.length).toBe(0);
    expect(parseCriLogLine(Buffer.from("garbage"))).toBeUndefined();
    expect(parseCriLogLine(Buffer.from(`${T0} other F x`))).toBeUndefined();
    expect(parseCriLogLine(Buffer.from(`notatime stdout F x`))).toBeUndefined();
  });

  it("joins partial records per stream into the line the container wrote", () => {
    const assembler = new LogLineAssembler();
    const push = (line: string): string | undefined => {
      const record = parseCriLogLine(Buffer.from(line));
      if (!record) throw new Error("bad line");
      return assembler.push(record)?.content.toString();
    };
    expect(push(`${T0} stdout P ab`)).toBeUndefined();
    expect(push(`${T1} stderr F e`)).toBe("e\n");
    expect(push(`${T1} stdout P cd`)).toBeUndefined();
    expect(push(`${T2} stdout F ef`)).toBe("abcdef\n");
    expect(push(`${T2} stdout P tail`)).toBeUndefined();
    expect(assembler.flush().map((l) => l.content.toString())).toEqual(["tail"]);
  });

  it("writes timestamps in Go's RFC3339Nano form", () => {
    expect(normalizeTimestamp(T0)).toBe("2026-01-02T03:04:05.1Z");
    expect(normalizeTimestamp(T2)).toBe("2026-01-02T03:04:07Z");
    expect(normalizeTimestamp("2026-01-02T03:04:05.123456789+02:00")).toBe("2026-01-02T03:04:05.123456789+02:00");
    expect(normalizeTimestamp("2026-01-02T03:04:05.120000000+00:00")).toBe("2026-01-02T03:04:05.12Z");
  });
});

describe("PodLogOptions", () => {
  it("reads the query and refuses what Kubernetes' validation refuses", () => {
    const now = Date.parse(T2);
    expect(parseLogOptions(new URLSearchParams("follow=true&timestamps=1&tailLines=3&sinceSeconds=2&limitBytes=10"), now)).toEqual({
      follow: true, previous: false, timestamps: true, tailLines: 3, sinceMs: now - 2000, limitBytes: 10,
    });
    expect(parseLogOptions(new URLSearchParams(`sinceTime=${T1}`), now).sinceMs).toBe(Date.parse(T1));
    expect(() => parseLogOptions(new URLSearchParams("tailLines=-1"), now)).toThrow(LogOptionsError);
    expect(() => parseLogOptions(new URLSearchParams("limitBytes=0"), now)).toThrow("limitBytes: Invalid value: 0: must be greater than 0");
    expect(() => parseLogOptions(new URLSearchParams(`sinceSeconds=1&sinceTime=${T1}`), now)).toThrow("at most one of `sinceTime` or `sinceSeconds` may be specified");
    expect(() => parseLogOptions(new URLSearchParams("tailLines=x"), now)).toThrow(LogOptionsError);
  });
});

describe("writeContainerLogs", () => {
  it("writes every line, partial records joined", async () => {
    expect(await read(opts())).toBe("one\nerr\ntwo\nthree\n");
  });

  it("prefixes each line with its time when asked", async () => {
    expect(await read(opts({ timestamps: true }))).toBe(`2026-01-02T03:04:05.1Z one\n2026-01-02T03:04:06.2Z err\n2026-01-02T03:04:06.2Z two\n2026-01-02T03:04:07Z three\n`);
  });

  it("applies tailLines, then the since time, then limitBytes", async () => {
    expect(await read(opts({ tailLines: 2 }))).toBe("two\nthree\n");
    expect(await read(opts({ tailLines: 0 }))).toBe("");
    expect(await read(opts({ sinceMs: Date.parse(T1) }))).toBe("err\ntwo\nthree\n");
    expect(await read(opts({ tailLines: 3, sinceMs: Date.parse(T2) }))).toBe("three\n");
    expect(await read(opts({ limitBytes: 6 }))).toBe("one\ner");
  });

  it("reads a missing file as empty", async () => {
    await rm(path);
    expect(await read(opts())).toBe("");
  });

  it("follows appended lines and a rotated file, and ends once the container has stopped", async () => {
    const out = new PassThrough();
    let text = "";
    out.on("data", (c: Buffer) => (text += c.toString()));
    let running = true;
    const done = writeContainerLogs(path, opts({ follow: true, tailLines: 1 }), out, { isRunning: () => Promise.resolve(running), pollIntervalMs: 10, runningCheckIntervalMs: 10 });
    await expect.poll(() => text).toBe("three\n");
    await appendFile(path, `${T2} stdout P fo\n${T2} stdout F ur\n`);
    await expect.poll(() => text).toBe("three\nfour\n");
    // The runtime's rotation: the file is renamed and a new one opened in its place.
    await rename(path, `${path}.1`);
    await writeFile(path, `${T2} stdout F five\n`);
    await expect.poll(() => text).toBe("three\nfour\nfive\n");
    await appendFile(path, `${T2} stdout F six\n`);
    running = false;
    await done;
    expect(text).toBe("three\nfour\nfive\nsix\n");
  });

  it("stops following when the client goes away or limitBytes is reached", async () => {
    const out = new PassThrough();
    out.resume();
    const gone = new AbortController();
    const following = writeContainerLogs(path, opts({ follow: true }), out, { isRunning: () => Promise.resolve(true), signal: gone.signal, pollIntervalMs: 10 });
    gone.abort();
    await following;
    const limited = new PassThrough();
    let text = "";
    limited.on("data", (c: Buffer) => (text += c.toString()));
    const capped = writeContainerLogs(path, opts({ follow: true, limitBytes: 20 }), limited, { isRunning: () => Promise.resolve(true), pollIntervalMs: 10 });
    await appendFile(path, `${T2} stdout F 0123456789\n`);
    await capped;
    expect(text).toBe("one\nerr\ntwo\nthree\n01");
  });
});
