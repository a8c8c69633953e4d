import { afterEach, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { PassThrough } from "node:stream";
import { CHANNEL_V4, CHANNEL_V5, encodeCloseSignal, encodeFrame, encodeResize, exitCodeOf, STDIN } from "../../api/streaming/channel-protocol.js";
import type * as cri from "../../client/cri/types.js";
import { simulatedExecProcess } from "./exec-process.js";
import { PORT_FORWARD_V4 } from "./portforward-protocol.js";
import { StreamingServer } from "./server.js";
import { channelSession } from "./testing.js";

const request = (cmd: string[], stdin = false): cri.ExecRequest => ({ containerId: "c1", cmd, tty: false, stdin, stdout: true, stderr: true });

const session = channelSession;

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

  it("serves an attach like an exec and ends it with Success when the container's output ends", async () => {
    const s = await start();
    let resized: unknown;
    const url = s.registerAttach({ containerId: "c1", stdin: true, tty: true, stdout: true, stderr: false }, () => ({
      ...simulatedExecProcess(["cat"], { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: 0 }),
      resize: (size) => (resized = size),
    }));
    expect(url).toMatch(/\/attach\/[A-Za-z0-9_-]+$/);
    const got = await session(url, [encodeResize({ width: 80, height: 24 }), encodeFrame(STDIN, "typed\n"), encodeCloseSignal(STDIN)]);
    expect(got.channels.get(1)).toBe("typed\n");
    expect(got.status).toMatchObject({ status: "Success" });
    expect(resized).toEqual({ width: 80, height: 24 });
  });

  it("reports a broken attachment as a Failure Status", async () => {
    const s = await start();
    const url = s.registerAttach({ containerId: "c1", stdin: false, tty: false, stdout: true, stderr: true }, () => ({
      stdin: null,
      stdout: null,
      stderr: null,
      exited: Promise.reject(new Error("cannot connect to conmon's attach socket")),
      kill: () => undefined,
    }));
    expect((await session(url)).status).toMatchObject({ status: "Failure", message: "cannot connect to conmon's attach socket" });
  });

  it("does not serve a token on another kind's path", async () => {
    const s = await start();
    const url = s.registerAttach({ containerId: "c1", stdin: false, tty: false, stdout: true, stderr: true }, () => {
      throw new Error("not reached");
    });
    expect((await fetch(url.replace("/attach/", "/exec/"))).status).toBe(404);
    expect((await fetch(url)).status).toBe(400);
  });

  it("forwards each port over its data channel, reports failures on its error channel, and closes when all ended", async () => {
    const s = await start();
    const opened: number[] = [];
    const url = s.registerPortForward({ podSandboxId: "p1", port: [] }, (port) => {
      opened.push(port);
      if (port === 9) throw new Error("connection refused");
      // An upper-casing server that closes after its first answer.
      const input = new PassThrough();
      const output = new PassThrough();
      input.once("data", (chunk: Buffer) => output.end(chunk.toString().toUpperCase()));
      const done = new Promise<string | undefined>((resolve) => output.once("end", () => { resolve(port === 7 ? "reset by peer" : undefined); }));
      return { input, output, done, close: () => output.destroy() };
    });
    const frames = await new Promise<Buffer[]>((resolve, reject) => {
      const ws = new WebSocket(`${url.replace(/^http/, "ws")}?port=8080&port=7&port=9`, [PORT_FORWARD_V4]);
      const got: Buffer[] = [];
      ws.on("open", () => {
        ws.send(Buffer.concat([Buffer.of(0), Buffer.from("get")]));
        ws.send(Buffer.concat([Buffer.of(2), Buffer.from("put")]));
      });
      ws.on("message", (data: Buffer) => got.push(data));
      ws.on("close", () => { resolve(got); });
      ws.on("error", reject);
    });
    expect(opened).toEqual([8080, 7, 9]);
    const on = (channel: number): string[] => frames.filter((f) => f[0] === channel).map((f) => f.subarray(1).toString("latin1"));
    const prefix = (port: number): string => Buffer.from([port & 0xff, port >> 8]).toString("latin1");
    expect(on(0)).toEqual([prefix(8080), "GET"]);
    expect(on(1)).toEqual([prefix(8080)]);
    expect(on(2)).toEqual([prefix(7), "PUT"]);
    expect(on(3)).toEqual([prefix(7), "error forwarding port 7: reset by peer"]);
    expect(on(4)).toEqual([prefix(9)]);
    expect(on(5)).toEqual([prefix(9), "error forwarding port 9: connection refused"]);
  });

  it("refuses a port-forward without ports or without its subprotocol before spending the token", async () => {
    const s = await start();
    const url = s.registerPortForward({ podSandboxId: "p1", port: [] }, () => {
      throw new Error("not reached");
    });
    const attempt = (suffix: string, protocol: string): Promise<number> =>
      new Promise((resolve) => {
        const ws = new WebSocket(`${url.replace(/^http/, "ws")}${suffix}`, [protocol]);
        ws.on("unexpected-response", (_req, res) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.on("open", () => {
          resolve(101);
          ws.terminate();
        });
        ws.on("error", () => undefined);
      });
    expect(await attempt("", PORT_FORWARD_V4)).toBe(400);
    expect(await attempt("?port=80", "v4.base64.channel.k8s.io")).toBe(400);
    expect(await attempt("?port=80", CHANNEL_V5)).toBe(400);
    expect(await attempt("?port=80", PORT_FORWARD_V4)).toBe(101);
  });
});
