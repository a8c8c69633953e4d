// The Kubernetes channel protocol for exec and attach over WebSocket (`v4.channel.k8s.io`, `v5.channel.k8s.io`),
// as kubectl 1.32 speaks it, shared by the apiserver and the kubelet. Pure framing: no sockets here.
//
// Every message is a WebSocket binary frame whose first byte is the channel and whose rest is the payload:
//   0 stdin (client→server)   1 stdout   2 stderr   3 error: one JSON meta/v1 Status when the command ends
//   4 resize (client→server): {"Width":W,"Height":H}   255 (v5 only, client→server): [255, ch] closes stream ch.
// The session ends with a Status on channel 3 and a WebSocket close 1000.
import type { Status, StatusReason } from "../meta.js";

export const CHANNEL_V5 = "v5.channel.k8s.io";
export const CHANNEL_V4 = "v4.channel.k8s.io";

export const STDIN = 0;
export const STDOUT = 1;
export const STDERR = 2;
export const ERROR = 3;
export const RESIZE = 4;
export const CLOSE = 255;

export type StreamChannel = typeof STDIN | typeof STDOUT | typeof STDERR | typeof ERROR | typeof RESIZE;

/** The subprotocol to answer with, from those the client offered: v5 when offered, else v4, else none (→ refuse). */
export function selectChannelProtocol(offered: Iterable<string>): typeof CHANNEL_V5 | typeof CHANNEL_V4 | undefined {
  const set = new Set([...offered].map((p) => p.trim()));
  if (set.has(CHANNEL_V5)) return CHANNEL_V5;
  if (set.has(CHANNEL_V4)) return CHANNEL_V4;
  return undefined;
}

/** One frame: the channel byte followed by the payload (a string is sent as UTF-8). */
export function encodeFrame(channel: number, payload: Uint8Array | string = new Uint8Array(0)): Buffer {
  if (!Number.isInteger(channel) || channel < 0 || channel > 255) throw new RangeError(`channel ${channel} is not a byte`);
  const body = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  const frame = Buffer.allocUnsafe(1 + body.length);
  frame[0] = channel;
  frame.set(body, 1);
  return frame;
}

export interface TerminalSize {
  width: number;
  height: number;
}

/** What a client frame means. Unknown channels are reported, not thrown: a server may ignore them. */
export type ClientFrame =
  | { type: "stdin"; data: Buffer }
  | { type: "resize"; size: TerminalSize }
  | { type: "close"; channel: number }
  | { type: "unknown"; channel: number; data: Buffer };

export class ChannelProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChannelProtocolError";
  }
}

/** Splits a frame into its channel and payload; an empty frame carries no channel and is an error. */
export function decodeFrame(frame: Uint8Array): { channel: number; payload: Buffer } {
  if (frame.length === 0) throw new ChannelProtocolError("empty frame: no channel byte");
  const buf = Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  return { channel: buf[0]!, payload: buf.subarray(1) };
}

/**
 * Interprets a frame from the client (exec/attach server side). Resize payloads may carry several JSON documents
 * if frames were coalesced; the last one wins. A close signal is only valid in v5.
 */
export function decodeClientFrame(frame: Uint8Array, protocol: string = CHANNEL_V5): ClientFrame {
  const { channel, payload } = decodeFrame(frame);
  switch (channel) {
    case STDIN:
      return { type: "stdin", data: payload };
    case RESIZE:
      return { type: "resize", size: decodeResize(payload) };
    case CLOSE: {
      if (protocol !== CHANNEL_V5) throw new ChannelProtocolError(`close signal on ${protocol}, which has none`);
      const closed = payload[0];
      if (closed === undefined) throw new ChannelProtocolError("close signal without a channel");
      return { type: "close", channel: closed };
    }
    default:
      return { type: "unknown", channel, data: payload };
  }
}

/** The resize payload kubectl sends: `{"Width":W,"Height":H}` followed by a newline. */
export function encodeResize(size: TerminalSize): Buffer {
  return encodeFrame(RESIZE, `${JSON.stringify({ Width: size.width, Height: size.height })}\n`);
}

export function decodeResize(payload: Uint8Array): TerminalSize {
  const docs = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
    .toString("utf8")
    .split("\n")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const last = docs[docs.length - 1];
  if (last === undefined) throw new ChannelProtocolError("empty resize message");
  let parsed: unknown;
  try {
    parsed = JSON.parse(last);
  } catch {
    throw new ChannelProtocolError(`malformed resize message: ${last}`);
  }
  if (typeof parsed !== "object" || parsed === null) throw new ChannelProtocolError(`malformed resize message: ${last}`);
  const { Width: width, Height: height } = parsed as { Width?: unknown; Height?: unknown };
  if (!isDimension(width) || !isDimension(height)) throw new ChannelProtocolError(`malformed resize message: ${last}`);
  return { width, height };
}

function isDimension(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 0xffff;
}

/** The v5 signal that the sender will write no more on `channel` (kubectl sends [255, 0] at stdin EOF). */
export function encodeCloseSignal(channel: number): Buffer {
  return encodeFrame(CLOSE, Uint8Array.of(channel));
}

/**
 * The Status carried on channel 3. Its reason may also be NonZeroExitCode, a reason only this protocol uses
 * (k8s.io/apimachinery's remotecommand.NonZeroExitCodeReason).
 */
export type StreamStatus = Omit<Status, "reason"> & { reason?: StatusReason | "NonZeroExitCode" };

/**
 * The Status sent on channel 3 when the command ends: Success for exit code 0; otherwise NonZeroExitCode with the
 * code as an ExitCode cause, from which kubectl prints `command terminated with exit code N` and exits with N.
 */
export function exitStatus(exitCode: number, command: readonly string[] = []): StreamStatus {
  if (exitCode === 0) return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", code: 200 };
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: `command terminated with non-zero exit code: error executing command [${command.join(" ")}], exit code ${exitCode}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
    code: 500,
  };
}

/** A failure that is not an exit code (container not found, runtime error), as a Status for channel 3. */
export function errorStatus(message: string): StreamStatus {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason: "InternalError", code: 500 };
}

/** The channel 3 frame carrying `status`. */
export function encodeStatusFrame(status: StreamStatus): Buffer {
  return encodeFrame(ERROR, JSON.stringify(status));
}

/** Reads a channel 3 payload back into an exit code: 0 for Success, N for NonZeroExitCode, undefined otherwise. */
export function exitCodeOf(payload: Uint8Array): number | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const status = parsed as { status?: unknown; reason?: unknown; details?: { causes?: { reason?: unknown; message?: unknown }[] } };
  if (status.status === "Success") return 0;
  if (status.reason !== "NonZeroExitCode") return undefined;
  const cause = status.details?.causes?.find((c) => c.reason === "ExitCode");
  const code = typeof cause?.message === "string" ? Number(cause.message) : NaN;
  return Number.isInteger(code) ? code : undefined;
}
