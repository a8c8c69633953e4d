// The gRPC client (over h2-connection.ts) against a small gRPC server on node:http2: framing, statuses, deadlines, streams.
import { constants, createServer, type Http2Server, type ServerHttp2Session, type ServerHttp2Stream } from "node:http2";
import { createServer as createNetServer, type AddressInfo, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EtcdCallError, EtcdClient, status } from "./etcd-client.js";

function frame(message: Buffer): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

/** Reads every request message of a stream (they may arrive split across chunks). */
function onMessages(stream: ServerHttp2Stream, each: (message: Buffer) => void): void {
  let buffered = Buffer.alloc(0);
  stream.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 5 && buffered.length >= 5 + buffered.readUInt32BE(1)) {
      const length = buffered.readUInt32BE(1);
      each(buffered.subarray(5, 5 + length));
      buffered = buffered.subarray(5 + length);
    }
  });
}

describe("EtcdClient (gRPC against a node:http2 server)", () => {
  let server: Http2Server;
  let endpoint: string;
  const timeouts: string[] = [];
  const silentResets: number[] = [];
  const sessions: ServerHttp2Session[] = [];

  beforeAll(async () => {
    server = createServer();
    server.on("session", (session) => sessions.push(session));
    server.on("stream", (stream, headers) => {
      const path = headers[":path"];
      timeouts.push(String(headers["grpc-timeout"] ?? ""));
      if (path === "/test/Echo") {
        // The answer in two pieces, split inside the length prefix, then the status in trailers.
        onMessages(stream, (message) => {
          const out = frame(Buffer.concat([Buffer.from("echo:"), message]));
          stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
          stream.on("wantTrailers", () => {
            stream.sendTrailers({ "grpc-status": "0" });
          });
          stream.write(out.subarray(0, 3));
          stream.end(out.subarray(3));
        });
      } else if (path === "/test/Fail") {
        // Trailers-only: the status in the response headers, with a percent-encoded message.
        stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "9", "grpc-message": "etcdserver%3A requested lease not found" }, { endStream: true });
      } else if (path === "/test/Silent") {
        stream.on("error", () => undefined);
        stream.on("close", () => silentResets.push(stream.rstCode));
      } else if (path === "/test/Watch") {
        onMessages(stream, (message) => {
          if (!stream.headersSent) {
            stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
            stream.on("wantTrailers", () => {
              stream.sendTrailers({ "grpc-status": "0" });
            });
          }
          if (message.toString() === "stop") {
            stream.end();
            return;
          }
          stream.write(Buffer.concat([frame(Buffer.from(`a:${message.toString()}`)), frame(Buffer.from(`b:${message.toString()}`))]));
        });
      } else {
        stream.respond({ ":status": 404 }, { endStream: true });
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    // node:http2 keeps a session that sent GOAWAY open after the client has gone.
    for (const session of sessions) session.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it("makes unary calls: one message each way, the outcome from grpc-status, a grpc-timeout from the deadline", async () => {
    const client = new EtcdClient([endpoint]);
    try {
      const replies = await Promise.all(["a", "b", "c"].map((text) => client.unary("/test/Echo", Buffer.from(text), (b) => b.toString(), Date.now() + 5000)));
      expect(replies).toEqual(["echo:a", "echo:b", "echo:c"]);
      expect(timeouts.at(-1)).toMatch(/^\d+m$/);
      const failure = await client.unary("/test/Fail", Buffer.alloc(0), (b) => b, Date.now() + 5000).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(EtcdCallError);
      expect(failure).toMatchObject({ code: 9, details: "etcdserver: requested lease not found" });
      const missing = await client.unary("/test/Nothing", Buffer.alloc(0), (b) => b, Date.now() + 5000).catch((err: unknown) => err);
      expect(missing).toMatchObject({ code: status.UNIMPLEMENTED });
    } finally {
      client.close();
    }
  });

  it("fails DEADLINE_EXCEEDED at the deadline, and UNAVAILABLE when nothing listens", async () => {
    const client = new EtcdClient([endpoint]);
    const closed = new EtcdClient(["http://127.0.0.1:1"]);
    try {
      const late = await client.unary("/test/Silent", Buffer.alloc(0), (b) => b, Date.now() + 200).catch((err: unknown) => err);
      expect(late).toMatchObject({ code: status.DEADLINE_EXCEEDED });
      // The abandoned call is reset (CANCEL), so etcd stops working on it.
      await expect.poll(() => silentResets).toEqual([constants.NGHTTP2_CANCEL]);
      const refused = await closed.unary("/test/Echo", Buffer.alloc(0), (b) => b, Date.now() + 5000).catch((err: unknown) => err);
      expect(refused).toMatchObject({ code: status.UNAVAILABLE });
      // The client still works after a call timed out on its connection.
      expect(await client.unary("/test/Echo", Buffer.from("x"), (b) => b.toString(), Date.now() + 5000)).toBe("echo:x");
    } finally {
      client.close();
      closed.close();
    }
  });

  it("connects again after etcd's GOAWAY, while the old connection finishes its calls", async () => {
    const client = new EtcdClient([endpoint]);
    try {
      const before = sessions.length;
      expect(await client.unary("/test/Echo", Buffer.from("1"), (b) => b.toString(), Date.now() + 5000)).toBe("echo:1");
      expect(sessions.length).toBe(before + 1);
      const first = sessions.at(-1);
      first?.goaway(constants.NGHTTP2_NO_ERROR);
      // Calls until the client has read the GOAWAY (one racing it may fail UNAVAILABLE) go to a new connection.
      await expect
        .poll(() =>
          client.unary("/test/Echo", Buffer.from("2"), (b) => b.toString(), Date.now() + 5000).then(
            (reply) => `${reply} on session ${sessions.length - before}`,
            (err: unknown) => String(err),
          ),
        )
        .toBe("echo:2 on session 2");
    } finally {
      client.close();
    }
  });

  it("streams: messages both ways, split and joined, then 'end' on status OK; nothing after cancel()", async () => {
    const client = new EtcdClient([endpoint], { keepaliveMs: 50, keepaliveTimeoutMs: 1000 });
    try {
      const got: string[] = [];
      const stream = client.stream("/test/Watch", (b) => b.toString());
      const ended = new Promise<string>((resolve) => {
        stream.on("end", () => {
          resolve("end");
        });
        stream.on("error", (err) => {
          resolve(err.message);
        });
      });
      stream.on("data", (message) => {
        got.push(message);
        if (got.length === 2) stream.write(Buffer.from("2"));
        if (got.length === 4) stream.write(Buffer.from("stop"));
      });
      stream.write(Buffer.from("1"));
      expect(await ended).toBe("end");
      expect(got).toEqual(["a:1", "b:1", "a:2", "b:2"]);

      const canceled = client.stream("/test/Watch", (b) => b.toString());
      const after: string[] = [];
      canceled.on("data", (m) => after.push(m));
      canceled.on("error", (err) => after.push(`error ${err.message}`));
      canceled.on("end", () => after.push("end"));
      canceled.cancel();
      canceled.write(Buffer.from("1"));
      // A unary call on the same connection round-trips after the cancel, so anything the canceled stream would emit has come.
      expect(await client.unary("/test/Echo", Buffer.from("y"), (b) => b.toString(), Date.now() + 5000)).toBe("echo:y");
      expect(after).toEqual([]);
    } finally {
      client.close();
    }
  });

  it("drops a connection whose keepalive ping goes unanswered, failing its watch UNAVAILABLE", async () => {
    // Speaks HTTP/2 (its SETTINGS) but answers nothing after: no ping ACK, no response.
    const sockets: Socket[] = [];
    const silent = createNetServer((socket) => {
      sockets.push(socket);
      socket.on("error", () => undefined);
      socket.write(Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]));
      socket.resume();
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const client = new EtcdClient([`http://127.0.0.1:${(silent.address() as AddressInfo).port}`], { keepaliveMs: 50, keepaliveTimeoutMs: 200 });
    try {
      const watch = client.stream("/test/Watch", (b) => b.toString());
      const error = await new Promise<EtcdCallError>((resolve) => watch.on("error", resolve));
      expect(error).toMatchObject({ code: status.UNAVAILABLE });
      expect(error.details).toContain("did not answer a keepalive ping within 200 ms");
    } finally {
      client.close();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
