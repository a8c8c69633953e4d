import { createServer, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { BackendDialError, dialMessage, proxyRequest, proxyUpgrade } from "./http-proxy.js";

const servers: Server[] = [];

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => { resolve(); }));
  }
});

/** A backend that accepts any upgrade, echoes the negotiated protocol header, and echoes bytes uppercased. */
async function upgradeBackend(): Promise<{ url: string; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    res.writeHead(403, { "Content-Type": "text/plain" });
    res.end("no upgrade for you");
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    seen.push(req);
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${req.headers.upgrade ?? ""}\r\nX-Stream-Protocol-Version: ${String(req.headers["x-stream-protocol-version"] ?? "").split(",")[0]!.trim()}\r\n\r\n`);
    if (head.length > 0) socket.write(head.toString().toUpperCase());
    socket.on("data", (chunk: Buffer) => socket.write(chunk.toString().toUpperCase()));
    socket.on("end", () => socket.end());
    socket.on("error", () => socket.destroy());
  });
  return { url: await listen(server), seen };
}

/** A front server that forwards every upgrade to `target` (path and query kept). */
async function front(target: string): Promise<{ url: string; errors: unknown[] }> {
  const errors: unknown[] = [];
  const server = createServer((req, res) => {
    proxyRequest(req, res, new URL(req.url ?? "/", target)).catch((err: unknown) => {
      errors.push(err);
      res.writeHead(502);
      res.end(err instanceof Error ? err.message : "");
    });
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    proxyUpgrade(req, socket, head, new URL(req.url ?? "/", target)).catch((err: unknown) => {
      errors.push(err);
      socket.end("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    });
  });
  return { url: await listen(server), errors };
}

function upgrade(url: string, headers: Record<string, string>): Promise<{ res: IncomingMessage; socket: Socket } | { res: IncomingMessage; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", headers: { Connection: "Upgrade", ...headers } });
    req.on("upgrade", (res, socket) => { resolve({ res, socket }); });
    req.on("response", (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => { resolve({ res, body }); });
    });
    req.on("error", reject);
    req.end();
  });
}

describe("proxyUpgrade", () => {
  it("forwards any upgrade (here SPDY's) with its headers, and joins the sockets after the 101", async () => {
    const backend = await upgradeBackend();
    const proxy = await front(backend.url);
    const answer = await upgrade(`${proxy.url}/exec/ns/pod/c?command=ls`, { Upgrade: "SPDY/3.1", "X-Stream-Protocol-Version": "v5.channel.k8s.io, v4.channel.k8s.io" });
    if (!("socket" in answer)) throw new Error(`no upgrade: ${answer.res.statusCode ?? 0}`);
    expect(answer.res.statusCode).toBe(101);
    expect(answer.res.headers["x-stream-protocol-version"]).toBe("v5.channel.k8s.io");
    expect(backend.seen[0]?.url).toBe("/exec/ns/pod/c?command=ls");
    expect(backend.seen[0]?.headers.upgrade).toBe("SPDY/3.1");
    const echoed = new Promise<string>((resolve) => answer.socket.once("data", (c: Buffer) => { resolve(c.toString()); }));
    answer.socket.write("frames");
    expect(await echoed).toBe("FRAMES");
    answer.socket.destroy();
  });

  it("relays a refusal as it is, and reports an unreachable backend without writing", async () => {
    const backend = await upgradeBackend();
    const gone = createServer();
    const goneUrl = await listen(gone);
    servers.splice(servers.indexOf(gone), 1);
    await new Promise<void>((resolve) => gone.close(() => { resolve(); }));

    const refusing = await front(backend.url);
    // The backend refuses requests whose upgrade it does not get: a plain request through proxyRequest shows its answer.
    const plain = await fetch(`${refusing.url}/anything`);
    expect(plain.status).toBe(403);
    expect(await plain.text()).toBe("no upgrade for you");

    const unreachable = await front(goneUrl);
    const answer = await upgrade(`${unreachable.url}/exec/x`, { Upgrade: "websocket" });
    expect(answer.res.statusCode).toBe(502);
    expect(unreachable.errors[0]).toBeInstanceOf(BackendDialError);
    expect((unreachable.errors[0] as Error).message).toBe(`dial tcp ${new URL(goneUrl).host}: connect: connection refused`);
  });

  it("words dial failures as Go does", () => {
    const target = new URL("http://10.0.0.1:10250/x");
    const err = (code: string): Error => Object.assign(new Error(code), { code });
    expect(dialMessage(target, err("ECONNREFUSED"))).toBe("dial tcp 10.0.0.1:10250: connect: connection refused");
    expect(dialMessage(target, err("EHOSTUNREACH"))).toBe("dial tcp 10.0.0.1:10250: connect: no route to host");
  });
});
