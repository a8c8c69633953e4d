import { describe, expect, it } from "vitest";
import { ResponseReader } from "./watch-fleet.js";

interface Read {
  status: number[];
  lines: string[];
  finished: number;
}

function reader(): { reader: ResponseReader; read: Read } {
  const read: Read = { status: [], lines: [], finished: 0 };
  const r = new ResponseReader(
    (status) => { read.status.push(status); },
    (line) => { read.lines.push(line.toString("utf8")); },
    () => { read.finished++; },
  );
  return { reader: r, read };
}

/** A chunked watch response whose events are split across chunks the way a buffered writer may split them. */
function chunkedResponse(events: string[], chunkSize: number): Buffer {
  const body = events.map((e) => `${e}\n`).join("");
  let out = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (let i = 0; i < body.length; i += chunkSize) {
    const piece = body.slice(i, i + chunkSize);
    out += `${Buffer.byteLength(piece).toString(16)}\r\n${piece}\r\n`;
  }
  return Buffer.from(`${out}0\r\n\r\n`);
}

describe("ResponseReader (the watch fleet's HTTP/1.1 reader)", () => {
  const events = [
    JSON.stringify({ type: "ADDED", object: { metadata: { name: "cm-0" }, data: { benchSentAtMs: "1796656574488.25" } } }),
    JSON.stringify({ type: "ADDED", object: { metadata: { name: "cm-é" }, data: { benchSentAtMs: "2" } } }),
    JSON.stringify({ type: "ERROR", object: { kind: "Status", code: 410 } }),
  ];

  it("gives the status, every line whole and the end, whatever the chunk sizes and socket reads", () => {
    for (const chunkSize of [1, 7, 64, 4096]) {
      const response = chunkedResponse(events, chunkSize);
      for (const readSize of [1, 3, 50, response.length]) {
        const { reader: r, read } = reader();
        for (let i = 0; i < response.length; i += readSize) r.feed(response.subarray(i, i + readSize));
        expect(read, `chunks of ${chunkSize}, reads of ${readSize}`).toEqual({ status: [200], lines: events, finished: 1 });
      }
    }
  });

  it("reads a body that is not chunked until the connection ends, and reports other statuses", () => {
    const { reader: r, read } = reader();
    r.feed(Buffer.from('HTTP/1.1 410 Gone\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"kind":"Status"'));
    r.finish();
    expect(read).toEqual({ status: [410], lines: ['{"kind":"Status"'], finished: 0 });
  });
});
