import { afterEach, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { CHANNEL_V4, CHANNEL_V5, decodeFrame, encodeCloseSignal, encodeFrame, exitCodeOf, STDIN } from "../../api/streaming/channel-protocol.js";
import type * as cri from "../../client/cri/types.js";
import { simulatedExecProcess } from "./exec-process.js";
import { StreamingServer } from "./server.js";

const request = (cmd: string[], stdin = false): cri.ExecRequest => ({ containerId: "c1", cmd, tty: false, stdin, stdout: true, stderr: true });

interface Session {
  channels: Map<number, string>;
  status: unknown;
  closeCode: number;
}

/** Connects to `url`, sends `frames` once open, and collects what the server sent until it closes. */
function session(url: string, frames: Buffer[] = [], protocol = CHANNEL_V5): Promise<Session> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, "ws"), [protocol]);
    const channels = new Map<number, string>();
    let status: unknown;
    ws.on("open", () => {
      for (const f of frames) ws.send(f);
    });
    ws.on("message", (data: Buffer) => {
      const { channel, payload } = decodeFrame(data);
      if (channel === 3) status = JSON.parse(payload.toString("utf8"));
      else channels.set(channel, (channels.get(channel) ?? "") + payload.toString("utf8"));
    });
    ws.on("close", (closeCode) => { resolve({ channels, status, closeCode }); });
    ws.on("error", reject);
  });
}

describe("StreamingServer", () => {
  let server: StreamingServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const start = async (): Promise<StreamingServer> => {
    server = new StreamingServer();
    await server.start();
    return server;
  };

  it("listens on loopback and runs an exec once: output on channels 1 and 2, the exit code as a Status on 3", async () => {
    const s = await start();
    const url = s.registerExec(request(["sh", "-c", "exit 3"]), (req) => simulatedExecProcess(req.cmd, { stdout: Buffer.from("out\n"), stderr: Buffer.from("err\n"), exitCode: 3 }));
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/exec\/[A-Za-z0-9_-]+$/);
    const got = await session(url);
    expect(got.channels.get(1)).toBe("out\n");
    expect(got.channels.get(2)).toBe("err\n");
    expect(got.status).toMatchObject({ status: "Failure", reason: "NonZeroExitCode", details: { causes: [{ reason: "ExitCode", message: "3" }] } });
    expect(exitCodeOf(Buffer.from(JSON.stringify(got.status)))).toBe(3);
    expect(got.closeCode).toBe(1000);
    // The token is spent: a second connection is refused with 404.
    expect((await fetch(url)).status).toBe(404);
  });

  it("relays stdin until the v5 close signal, then reports Success", async () => {
    const s = await start();
    const url = s.registerExec(request(["cat"], true), (req) => simulatedExecProcess(req.cmd, { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: 0 }));
    const got = await session(url, [encodeFrame(STDIN, "hello "), encodeFrame(STDIN, "world\n"), encodeCloseSignal(STDIN)]);
    expect(got.channels.get(1)).toBe("hello world\n");
    expect(got.status).toMatchObject({ status: "Success" });
  });

  it("speaks v4 too", async () => {
    const s = await start();
    const url = s.registerExec(request(["echo", "hi"]), (req) => simulatedExecProcess(req.cmd, { stdout: Buffer.from("hi\n"), stderr: Buffer.alloc(0), exitCode: 0 }));
    const got = await session(url, [], CHANNEL_V4);
    expect(got.channels.get(1)).toBe("hi\n");
    expect(got.status).toMatchObject({ status: "Success" });
  });

  it("answers a streamer that cannot start with a Failure Status", async () => {
    const s = await start();
    const url = s.registerExec(request(["nope"]), () => {
      throw new Error("no such container");
    });
    const got = await session(url);
    expect(got.status).toMatchObject({ status: "Failure", message: "no such container" });
  });

  it("kills the process when the client goes away before it ends", async () => {
    const s = await start();
    let killed = false;
    const url = s.registerExec(request(["cat"], true), (req) => {
      const proc = simulatedExecProcess(req.cmd, { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: 0 });
      return {
        ...proc,
        kill: () => {
          killed = true;
          proc.kill();
        },
      };
    });
    const ws = new WebSocket(url.replace(/^http/, "ws"), [CHANNEL_V5]);
    await new Promise((resolve) => ws.once("open", resolve));
    ws.terminate();
    await vi.waitFor(() => {
      expect(killed).toBe(true);
    });
  });

  it("refuses unknown tokens with 404, over plain HTTP and over WebSocket", async () => {
    const s = await start();
    expect((await fetch(`${s.url}/exec/unknown`)).status).toBe(404);
    expect((await fetch(`${s.url}/other`)).status).toBe(404);
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${s.url.replace(/^http/, "ws")}/exec/unknown`, [CHANNEL_V5]);
      ws.on("unexpected-response", (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on("error", () => undefined);
    });
    expect(refused).toBe(404);
  });
});
