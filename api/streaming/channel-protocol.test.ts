import { describe, expect, it } from "vitest";
import {
  CHANNEL_V4,
  CHANNEL_V5,
  CLOSE,
  ChannelProtocolError,
  ERROR,
  RESIZE,
  STDERR,
  STDIN,
  STDOUT,
  decodeClientFrame,
  decodeFrame,
  decodeResize,
  encodeCloseSignal,
  encodeFrame,
  encodeResize,
  encodeStatusFrame,
  errorStatus,
  exitCodeOf,
  exitStatus,
  selectChannelProtocol,
} from "./channel-protocol.js";

describe("channel numbers", () => {
  it("are Kubernetes' stream ids", () => {
    expect([STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE]).toEqual([0, 1, 2, 3, 4, 255]);
  });
});

describe("selectChannelProtocol", () => {
  it.each([
    [[CHANNEL_V5], CHANNEL_V5],
    [[CHANNEL_V4, CHANNEL_V5], CHANNEL_V5],
    [[" v4.channel.k8s.io"], CHANNEL_V4],
    [["channel.k8s.io", "base64.channel.k8s.io"], undefined],
    [[], undefined],
  ])("%j → %s", (offered, expected) => {
    expect(selectChannelProtocol(offered)).toBe(expected);
  });
});

describe("encodeFrame and decodeFrame", () => {
  it("prefixes the payload with the channel byte", () => {
    expect([...encodeFrame(STDOUT, "hi\n")]).toEqual([1, 0x68, 0x69, 0x0a]);
    expect([...encodeFrame(STDERR, Uint8Array.of(0xff, 0x00))]).toEqual([2, 0xff, 0x00]);
    expect([...encodeFrame(STDIN)]).toEqual([0]);
  });

  it("round-trips", () => {
    const { channel, payload } = decodeFrame(encodeFrame(STDERR, "boom"));
    expect(channel).toBe(STDERR);
    expect(payload.toString("utf8")).toBe("boom");
  });

  it("decodes a Uint8Array view without copying the wrong bytes", () => {
    const backing = Uint8Array.of(9, 9, 1, 0x41, 0x42, 9);
    const view = backing.subarray(2, 5);
    const { channel, payload } = decodeFrame(view);
    expect(channel).toBe(1);
    expect(payload.toString("utf8")).toBe("AB");
  });

  it("rejects an empty frame and channels that are not bytes", () => {
    expect(() => decodeFrame(new Uint8Array(0))).toThrow(ChannelProtocolError);
    expect(() => encodeFrame(256)).toThrow(RangeError);
    expect(() => encodeFrame(-1)).toThrow(RangeError);
  });
});

describe("decodeClientFrame", () => {
  it("reads stdin bytes", () => {
    expect(decodeClientFrame(encodeFrame(STDIN, "ls\r"))).toEqual({ type: "stdin", data: Buffer.from("ls\r") });
  });

  it("reads kubectl's resize message", () => {
    const frame = Buffer.concat([Buffer.of(RESIZE), Buffer.from('{"Width":120,"Height":40}\n')]);
    expect(decodeClientFrame(frame)).toEqual({ type: "resize", size: { width: 120, height: 40 } });
  });

  it("reads the v5 close signal and refuses it under v4", () => {
    expect(decodeClientFrame(Buffer.of(255, 0))).toEqual({ type: "close", channel: 0 });
    expect(() => decodeClientFrame(Buffer.of(255, 0), CHANNEL_V4)).toThrow(ChannelProtocolError);
    expect(() => decodeClientFrame(Buffer.of(255))).toThrow(ChannelProtocolError);
  });

  it("reports other channels as unknown", () => {
    expect(decodeClientFrame(Buffer.of(7, 1, 2))).toEqual({ type: "unknown", channel: 7, data: Buffer.of(1, 2) });
  });
});

describe("resize messages", () => {
  it("round-trip in kubectl's format", () => {
    const frame = encodeResize({ width: 80, height: 24 });
    expect(frame.subarray(1).toString("utf8")).toBe('{"Width":80,"Height":24}\n');
    expect(decodeResize(frame.subarray(1))).toEqual({ width: 80, height: 24 });
  });

  it("take the last of coalesced messages", () => {
    expect(decodeResize(Buffer.from('{"Width":1,"Height":2}\n{"Width":3,"Height":4}\n'))).toEqual({ width: 3, height: 4 });
  });

  it.each(["", "not json", '{"Width":"80","Height":24}', '{"Width":-1,"Height":1}', "[1,2]", "null"])("reject %j", (text) => {
    expect(() => decodeResize(Buffer.from(text))).toThrow(ChannelProtocolError);
  });
});

describe("encodeCloseSignal", () => {
  it("is [255, channel]", () => {
    expect([...encodeCloseSignal(STDIN)]).toEqual([255, 0]);
  });
});

describe("exit statuses", () => {
  it("sends Success for exit code 0", () => {
    const frame = encodeStatusFrame(exitStatus(0));
    expect(frame[0]).toBe(ERROR);
    expect(JSON.parse(frame.subarray(1).toString("utf8"))).toMatchObject({ metadata: {}, status: "Success" });
    expect(exitCodeOf(frame.subarray(1))).toBe(0);
  });

  it("sends NonZeroExitCode with an ExitCode cause that kubectl turns into its exit code", () => {
    const status = exitStatus(3, ["sh", "-c", "exit 3"]);
    expect(status).toMatchObject({
      status: "Failure",
      reason: "NonZeroExitCode",
      message: "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3",
      details: { causes: [{ reason: "ExitCode", message: "3" }] },
    });
    expect(exitCodeOf(encodeStatusFrame(status).subarray(1))).toBe(3);
  });

  it("has no exit code for other failures or garbage", () => {
    expect(exitCodeOf(encodeStatusFrame(errorStatus("container not found")).subarray(1))).toBeUndefined();
    expect(exitCodeOf(Buffer.from("{"))).toBeUndefined();
    expect(exitCodeOf(Buffer.from("42"))).toBeUndefined();
  });
});
