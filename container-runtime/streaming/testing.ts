// A WebSocket client for tests of the streaming server's exec and attach sessions.
import WebSocket from "ws";
import { CHANNEL_V5, decodeFrame } from "../../api/streaming/channel-protocol.js";

export interface ChannelSessionResult {
  /** Text received per channel, except the Status channel (3). */
  channels: Map<number, string>;
  /** The Status from channel 3, parsed. */
  status: unknown;
  closeCode: number;
}

/** Connects to `url` (http or ws), sends `frames` once open, and collects what the server sent until it closes. */
export function channelSession(url: string, frames: Buffer[] = [], protocol = CHANNEL_V5): Promise<ChannelSessionResult> {
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
