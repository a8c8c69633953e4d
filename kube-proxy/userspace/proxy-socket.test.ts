// The relays against real local servers on loopback.
import { createSocket } from "node:dgram";
import { connect, createServer, type Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../component-base/logging.js";
import { openTcpProxy, openUdpProxy, type ProxySocket } from "./proxy-socket.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function namedServer(name: string): Promise<number> {
  const server: Server = createServer((s) => s.end(name));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => { r(); })));
  const a = server.address();
  return typeof a === "object" && a ? a.port : 0;
}

function fetchTcp(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    let data = "";
    s.on("data", (d: Buffer) => (data += d.toString()));
    s.on("end", () => { resolve(data); });
    s.on("error", (e: NodeJS.ErrnoException) => { resolve(`error ${e.code ?? ""}`); });
  });
}

function keep(p: ProxySocket): ProxySocket {
  cleanups.push(() => p.close());
  return p;
}

describe("TCP relay", () => {
  it("relays each connection to the endpoint picked, moving on when one refuses", async () => {
    const a = await namedServer("a");
    const b = await namedServer("b");
    const dead = await namedServer("dead");
    await cleanups.pop()?.();
    const order = [`127.0.0.1:${dead}`, `127.0.0.1:${a}`, `127.0.0.1:${b}`];
    let i = 0;
    const failed: string[] = [];
    const proxy = keep(await openTcpProxy({ pick: () => order[i++ % order.length], failed: (_c, e) => failed.push(e), logger: silentLogger(), host: "127.0.0.1" }));
    expect(await fetchTcp(proxy.port)).toBe("a");
    expect(failed).toEqual([`127.0.0.1:${dead}`]);
    expect(await fetchTcp(proxy.port)).toBe("b");
  });

  it("resets connections while the service port has no endpoint", async () => {
    const proxy = keep(await openTcpProxy({ pick: () => undefined, failed: () => undefined, logger: silentLogger(), host: "127.0.0.1" }));
    expect(await fetchTcp(proxy.port)).toMatch(/^(error ECONNRESET|)$/);
  });
});

describe("UDP relay", () => {
  it("relays a client's datagrams to one endpoint and the replies back", async () => {
    const echo = createSocket("udp4");
    echo.on("message", (m, from) => { echo.send(`echo ${m.toString()}`, from.port, from.address); });
    await new Promise<void>((r) => echo.bind(0, "127.0.0.1", r));
    cleanups.push(() => new Promise<void>((r) => echo.close(() => { r(); })));
    const proxy = keep(await openUdpProxy({ pick: () => `127.0.0.1:${echo.address().port}`, failed: () => undefined, logger: silentLogger(), host: "127.0.0.1", idleTimeoutMs: 1000 }));
    const client = createSocket("udp4");
    cleanups.push(() => new Promise<void>((r) => client.close(() => { r(); })));
    const replies: string[] = [];
    const got = new Promise<void>((resolve) => {
      client.on("message", (m) => {
        replies.push(m.toString());
        if (replies.length === 2) resolve();
      });
    });
    client.send("one", proxy.port, "127.0.0.1");
    client.send("two", proxy.port, "127.0.0.1");
    await got;
    expect(replies.sort()).toEqual(["echo one", "echo two"]);
  });
});
