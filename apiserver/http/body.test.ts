import { createServer, request } from "node:http";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { MAX_REQUEST_BODY_BYTES, readBody } from "./body.js";
import { sendStatus } from "./status.js";

let server: Server | undefined;

afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => {
    if (server) server.close(() => { resolve(); });
    else resolve();
  });
  server = undefined;
});

/** A server that reads the body with `limit` and echoes its length, or answers the Status readBody threw. */
async function serve(limit?: number): Promise<number> {
  server = createServer((req, res) => {
    readBody(req, limit).then(
      (body) => {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.end(JSON.stringify({ length: body.length, sha: body.subarray(0, 8).toString("hex") }));
      },
      (err: unknown) => { sendStatus(res, err); },
    );
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** POSTs `chunks` one by one (chunked unless a Content-Length is given); tolerates the server closing early. */
function post(port: number, chunks: Buffer[], contentLength?: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { "Content-Type": "application/json" };
    if (contentLength !== undefined) headers["Content-Length"] = contentLength;
    const req = request({ host: "127.0.0.1", port, method: "POST", path: "/", headers }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (c: Buffer) => parts.push(c));
      res.on("end", () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString("utf8") }); });
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      // The server may close the socket after its 413 while we are still writing; the reply already arrived.
      if (err.code !== "EPIPE" && err.code !== "ECONNRESET") reject(err);
    });
    const writeNext = (i: number): void => {
      if (i === chunks.length) {
        req.end();
        return;
      }
      if (req.destroyed) return;
      req.write(chunks[i], () => { writeNext(i + 1); });
    };
    writeNext(0);
  });
}

describe("readBody", () => {
  it("uses Kubernetes' 3 MiB limit by default", () => {
    expect(MAX_REQUEST_BODY_BYTES).toBe(3 * 1024 * 1024);
  });

  it("reads a chunked body in full", async () => {
    const port = await serve(1024);
    const reply = await post(port, [Buffer.from('{"a":'), Buffer.from("1}")]);
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ length: 7 });
  });

  it("accepts a body of exactly the limit", async () => {
    const port = await serve(64);
    const reply = await post(port, [Buffer.alloc(64, 0x61)], 64);
    expect(JSON.parse(reply.body)).toMatchObject({ length: 64 });
  });

  it("answers 413 RequestEntityTooLarge from a Content-Length over the limit, and closes the connection", async () => {
    const port = await serve(64);
    const reply = await post(port, [Buffer.alloc(65, 0x61)], 65);
    expect(reply.status).toBe(413);
    expect(reply.headers.connection).toBe("close");
    expect(JSON.parse(reply.body)).toMatchObject({ kind: "Status", reason: "RequestEntityTooLarge", code: 413 });
  });

  it("answers 413 for a chunked body that grows past the limit, without trusting a missing Content-Length", async () => {
    const port = await serve(1000);
    const reply = await post(port, Array.from({ length: 20 }, () => Buffer.alloc(100, 0x62)));
    expect(reply.status).toBe(413);
    expect(JSON.parse(reply.body)).toMatchObject({ reason: "RequestEntityTooLarge" });
  });

  it("answers 413 for a body over 3 MiB with the default limit", async () => {
    const port = await serve();
    const chunk = Buffer.alloc(256 * 1024, 0x63);
    const reply = await post(port, Array.from({ length: 13 }, () => chunk));
    expect(reply.status).toBe(413);
  });

  it("keeps serving after a 413", async () => {
    const port = await serve(10);
    expect((await post(port, [Buffer.alloc(50)])).status).toBe(413);
    expect((await post(port, [Buffer.from("{}")])).status).toBe(200);
  });
});
