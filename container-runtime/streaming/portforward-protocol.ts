// Kubernetes' port-forward protocol over WebSocket, as the kubelet's streaming server speaks it
// (k8s.io/kubelet/pkg/cri/streaming/portforward, websocket.go). Pure framing: no sockets here.
//
// The ports are fixed when the session opens (the `port` query parameters, else the CRI request's ports). For the
// i-th port the session has two channels: 2i carries the TCP bytes both ways, 2i+1 carries error text from the
// server. Every message is a binary frame whose first byte is the channel. The server's first message on each of
// a port's channels is the port number as a little-endian uint16, so the client can tell the pairs apart; the
// client sends data frames only. The session ends (WebSocket close 1000) once every port's connection has ended.
//
// Subprotocols: `v4.channel.k8s.io` (as the kubelet), and `portforward.k8s.io` taken as an alias of it for
// clients that name the port-forward protocol. kubectl ≥ 1.30 instead offers `SPDY/3.1+portforward.k8s.io`
// (SPDY frames tunnelled in WebSocket messages) and falls back to plain SPDY/3.1: neither is served here; the
// apiserver ends kubectl's SPDY connection (apiserver/portforward-tunnel.ts) and opens a session here per connection.

export const PORT_FORWARD_V4 = "v4.channel.k8s.io";
export const PORT_FORWARD_PROTOCOL = "portforward.k8s.io";

/** The subprotocol to answer with, or undefined (→ refuse) when the client offered none of ours. */
export function selectPortForwardProtocol(offered: Iterable<string>): typeof PORT_FORWARD_V4 | typeof PORT_FORWARD_PROTOCOL | undefined {
  const set = new Set([...offered].map((p) => p.trim()));
  if (set.has(PORT_FORWARD_V4)) return PORT_FORWARD_V4;
  if (set.has(PORT_FORWARD_PROTOCOL)) return PORT_FORWARD_PROTOCOL;
  return undefined;
}

export class PortForwardRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PortForwardRequestError";
  }
}

/**
 * The session's ports: the `port` query parameters (repeated, or comma-separated) when there are any, else the
 * CRI request's. A port the CRI request did not name is refused when it named some, as is a session without ports.
 */
export function sessionPorts(query: URLSearchParams, requested: readonly number[]): number[] {
  const raw = query.getAll("port").flatMap((v) => v.split(",")).map((v) => v.trim()).filter((v) => v !== "");
  const ports = raw.map((v) => {
    const port = /^\d+$/.test(v) ? Number(v) : NaN;
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new PortForwardRequestError(`invalid port ${JSON.stringify(v)}`);
    return port;
  });
  if (ports.length === 0) {
    if (requested.length === 0) throw new PortForwardRequestError("no port to forward: give ?port=N");
    for (const port of requested) if (!Number.isInteger(port) || port < 1 || port > 65535) throw new PortForwardRequestError(`invalid port ${port}`);
    return [...requested];
  }
  if (requested.length > 0) {
    const missing = ports.filter((p) => !requested.includes(p));
    if (missing.length > 0) throw new PortForwardRequestError(`port ${missing.join(", ")} was not in the port-forward request`);
  }
  return ports;
}

export const dataChannel = (portIndex: number): number => portIndex * 2;
export const errorChannel = (portIndex: number): number => portIndex * 2 + 1;

/** The first message on each of a port's channels: the channel byte, then the port as a little-endian uint16. */
export function encodePortPrefix(channel: number, port: number): Buffer {
  const frame = Buffer.alloc(3);
  frame[0] = channel;
  frame.writeUInt16LE(port, 1);
  return frame;
}

/** A frame from the client: data for the port at `portIndex`; a frame on an error channel or beyond the ports is "invalid". */
export type PortForwardClientFrame = { type: "data"; portIndex: number; data: Buffer } | { type: "invalid"; channel: number };

export function decodePortForwardClientFrame(frame: Buffer, portCount: number): PortForwardClientFrame {
  const channel = frame[0];
  if (channel === undefined) return { type: "invalid", channel: -1 };
  if (channel % 2 !== 0 || channel / 2 >= portCount) return { type: "invalid", channel };
  return { type: "data", portIndex: channel / 2, data: frame.subarray(1) };
}
