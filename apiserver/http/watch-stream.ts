// Encoders for watch responses: chunked JSON lines of {type, object}, chunked protobuf frames of the same, and
// WebSocket frames of the JSON.
//
// Over HTTP: one 200 response, `Content-Type: application/json`, chunked, carrying back-to-back
// `{"type":…,"object":…}` JSON documents, one per line, each flushed as soon as it is written: kubectl, client-go
// informers and @kubernetes/client-node read it with a streaming JSON decoder and must see each event immediately.
// In protobuf (`application/vnd.kubernetes.protobuf;stream=watch`, what client-go's informers of built-in kinds ask
// for first): the same events as length-prefixed metav1.WatchEvent frames (protobuf.ts).
// Over WebSocket (a `watch=true` GET that arrives as an Upgrade): each event is one text message, as Kubernetes'
// apiserver serves it.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { WebSocket, WebSocketServer } from "ws";
import type { WatchEventType } from "../../api/meta.js";
import { wsModule } from "../lazy-modules.js";
import { isRecord } from "../../api/meta.js";
import { encodeProtobufObject, encodeProtobufWatchFrame } from "./protobuf.js";

/** How a chunked watch's events are written. */
export type WatchEncoding = "json" | "protobuf";

/** The Content-Type of a chunked watch, as Kubernetes labels it. */
const WATCH_CONTENT_TYPES: Readonly<Record<WatchEncoding, string>> = {
  json: "application/json",
  protobuf: "application/vnd.kubernetes.protobuf;stream=watch",
};

/** One watch event. `object` is anything JSON-serializable: an object, a Table (kubectl get -w), or an ERROR Status. */
export interface WatchStreamEvent {
  type: WatchEventType;
  object: unknown;
}

/** One event's bytes, made once and written as they are to every watcher's socket. */
export interface SerializedWatchEvent {
  /** In JSON, `JSON.stringify(event)` followed by a newline; in protobuf, one length-prefixed frame. */
  readonly line: Buffer;
  /** In JSON, the same bytes without the newline (a view, not a copy): one WebSocket message. */
  readonly message: Buffer;
  /**
   * `line` framed as one HTTP/1.1 chunk (hex size, CRLF, the bytes, CRLF). `line` and `message` are views into it,
   * so the framing costs no second copy, and a chunked watch hands the socket one shared buffer per event instead
   * of four writes (size, CRLF, data, CRLF) per watcher.
   */
  readonly chunk: Buffer;
}

/** Serializes `JSON.stringify(event)` output (no trailing newline) for sendSerialized. */
export function serializeWatchEvent(json: string): SerializedWatchEvent {
  const size = Buffer.byteLength(json) + 1;
  const head = `${size.toString(16)}\r\n`;
  const chunk = Buffer.from(`${head}${json}\n\r\n`);
  const line = chunk.subarray(head.length, head.length + size);
  return { line, message: line.subarray(0, size - 1), chunk };
}

/** A binary frame (protobuf) with its HTTP/1.1 chunk framing, `line` and `message` being views of the frame. */
function serializeFrame(frame: Uint8Array): SerializedWatchEvent {
  const head = `${frame.length.toString(16)}\r\n`;
  const chunk = Buffer.allocUnsafeSlow(head.length + frame.length + 2);
  chunk.write(head, 0, "latin1");
  chunk.set(frame, head.length);
  chunk.write("\r\n", head.length + frame.length, "latin1");
  const line = chunk.subarray(head.length, head.length + frame.length);
  return { line, message: line, chunk };
}

/**
 * Every watcher of a resource receives the same cached object for an event, so its bytes are built once and shared:
 * fan-out to a thousand watchers costs one JSON.stringify and one buffer, not a thousand. Keyed by type too: watchers
 * with selectors may see one change as ADDED, MODIFIED or DELETED, each serialized once. Only for objects sent as
 * they are (not converted, not a Table or PartialObjectMetadata view), which must not change afterwards.
 */
export function sharedSerializedEvent(type: string, object: object, encoding: WatchEncoding = "json"): SerializedWatchEvent {
  let byType = serializedEvents.get(object);
  if (byType === undefined) {
    byType = {};
    serializedEvents.set(object, byType);
  }
  if (encoding === "protobuf") return (byType[`protobuf ${type}`] ??= protobufFrame(type, object));
  return (byType[type] ??= serializeWatchEvent(JSON.stringify({ type, object })));
}

/** A protobuf watch frame of an event, its object encoded once; JSON's shape if the object has no message. */
function protobufFrame(type: string, object: unknown): SerializedWatchEvent {
  const body = isRecord(object) ? encodeProtobufObject(object) : undefined;
  // Kinds without a message never get a protobuf watch (negotiation); an empty object is the last resort.
  return serializeFrame(encodeProtobufWatchFrame(type, body ?? new Uint8Array(0)));
}

const serializedEvents = new WeakMap<object, Partial<Record<string, SerializedWatchEvent>>>();

export interface WatchWriter {
  /**
   * Serializes and writes one event. Returns false when the event could not be written (the stream is closed) or
   * the client is not keeping up (more than WATCH_BACKLOG_BYTES wait in the transport's buffer); the caller then
   * holds further events until drained() settles, and drops the watcher if they pile up, as Kubernetes does with
   * watchers whose buffers fill up.
   */
  send(event: WatchStreamEvent): boolean;
  /**
   * Writes an event serialized once for every watcher (serializeWatchEvent): its bytes are shared, never copied per
   * watcher. Returns as send does.
   */
  sendSerialized(event: SerializedWatchEvent): boolean;
  /**
   * Settles once the transport's buffer has been written out, or the stream has ended: the moment a caller that was
   * told false may write again. Undefined when there is nothing to wait for (keeping up, or already closed).
   */
  drained(): Promise<void> | undefined;
  /** Ends the stream normally (timeoutSeconds reached, server shutting down). Idempotent. */
  close(): void;
  /** True once the stream has ended, whether closed here or by the client. */
  readonly closed: boolean;
  /** Runs `listener` once when the stream ends for any reason; at once if it already has. Stop the watch here. */
  onClose(listener: () => void): void;
}

/**
 * Starts a chunked watch response: writes the 200 head at once (client-go waits for the response headers before
 * reading events), disables Nagle so small events are not delayed, and returns the writer.
 */
export function chunkedWatchWriter(res: ServerResponse, encoding: WatchEncoding = "json"): WatchWriter {
  res.statusCode = 200;
  res.setHeader("Content-Type", WATCH_CONTENT_TYPES[encoding]);
  res.setHeader("Transfer-Encoding", "chunked");
  res.setHeader("Cache-Control", "no-cache, private");
  res.socket?.setNoDelay(true);
  res.flushHeaders();

  const closers = new Closers();
  res.once("close", () => {
    closers.fire();
  });
  // Where the last event went: the socket itself, or the response when it does not own the connection yet.
  let target: Socket | ServerResponse | undefined;
  const write = (event: SerializedWatchEvent): boolean => {
    if (closers.closed || res.writableEnded || res.destroyed) return false;
    const socket = res.socket;
    // The head is out (flushHeaders) and the response owns its connection: the chunk goes straight to the socket,
    // framed once per event for every watcher. Otherwise (a pipelined response still queued behind an earlier
    // one) the response frames and queues it itself.
    if (socket && res.headersSent && !socket.destroyed) {
      holdUntilFlush(res, socket);
      socket.write(event.chunk);
      target = socket;
    } else {
      res.write(event.line);
      target = res;
    }
    // write()'s own answer turns false at 16 KiB, which one corked burst to a healthy watcher passes; what matters
    // is a client that has stopped reading, whose backlog only grows.
    return target.writableLength <= WATCH_BACKLOG_BYTES;
  };
  return {
    send: (event) => write(encoding === "protobuf" ? protobufFrame(event.type, event.object) : serializeWatchEvent(JSON.stringify(event))),
    sendSerialized: write,
    drained: () => {
      const waitOn = target;
      if (closers.closed || res.writableEnded || waitOn === undefined || waitOn.writableLength <= WATCH_BACKLOG_BYTES) return undefined;
      // Over the backlog, a write has returned false, so the stream owes a 'drain'.
      return new Promise<void>((resolve) => {
        const done = (): void => {
          waitOn.off("drain", done);
          res.off("close", done);
          resolve();
        };
        waitOn.on("drain", done);
        res.on("close", done);
      });
    },
    close: () => {
      if (!res.writableEnded) res.end();
    },
    get closed() {
      return closers.closed || res.writableEnded;
    },
    onClose: (listener) => {
      closers.add(listener);
    },
  };
}

// Connections written to since the last flush. Events written in the same turn of the event loop (the etcd messages
// read in one poll, fanned out to every watcher) stay corked and leave together in one pass after it, from
// setImmediate: one writev per watcher per burst, not one per event per watcher, and no timer per watcher. Under
// load bursts grow by themselves (more etcd messages arrive per poll), so the syscalls per event fall as the rate rises.
let held = new Map<ServerResponse, Socket>();

function holdUntilFlush(res: ServerResponse, socket: Socket): void {
  if (held.has(res)) return;
  if (held.size === 0) setImmediate(flushHeld);
  held.set(res, socket);
  socket.cork();
}

function flushHeld(): void {
  const batch = held;
  held = new Map();
  for (const [res, socket] of batch) {
    // end() uncorks its connection fully by itself (which may serve another request by now); a destroyed one has
    // nothing left to write.
    if (!res.writableEnded && !socket.destroyed && socket.writableCorked > 0) socket.uncork();
  }
}

// One server for every upgrade: noServer mode only performs handshakes on sockets handed to it.
let wss: WebSocketServer | undefined;

function webSocketServer(): WebSocketServer {
  // Kubernetes' watch endpoint (golang.org/x/net/websocket) echoes a subprotocol the client offered without it
  // changing the framing: events are JSON text messages either way. Echoing the first offer keeps clients that
  // insist on a subprotocol (as ws and browsers do when they offer one) working. Pings are answered by ws itself.
  wss ??= new (wsModule().WebSocketServer)({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered: Set<string>) => offered.values().next().value ?? false,
  });
  return wss;
}

/**
 * Completes a WebSocket upgrade for a watch request (from the http server's 'upgrade' event, after the caller has
 * checked that it is a `watch=true` GET it will serve) and hands `onReady` a writer whose events go out as text
 * messages. Closing the writer sends a normal close (1000). Reading from the client is not part of the protocol;
 * anything it sends is ignored.
 */
export function acceptWatchWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer, onReady: (writer: WatchWriter) => void): void {
  webSocketServer().handleUpgrade(req, socket, head, (ws) => {
    onReady(webSocketWriter(ws));
  });
}

function webSocketWriter(ws: WebSocket): WatchWriter {
  const closers = new Closers();
  ws.once("close", () => {
    closers.fire();
  });
  ws.on("error", () => {
    ws.terminate();
  });
  // Settles once the last message sent over the backlog has been written out (ws calls a send's callback when
  // written, or with an error when the socket closed first): every message before it is out too.
  let lastWritten: Promise<void> | undefined;
  const write = (message: Buffer | string): boolean => {
    if (closers.closed || ws.readyState !== ws.OPEN) return false;
    const size = typeof message === "string" ? Buffer.byteLength(message) : message.length;
    if (ws.bufferedAmount + size <= WATCH_BACKLOG_BYTES) {
      ws.send(message, { binary: false });
      return true;
    }
    lastWritten = new Promise<void>((resolve) => {
      ws.send(message, { binary: false }, () => {
        resolve();
      });
    });
    return false;
  };
  return {
    send: (event) => write(JSON.stringify(event)),
    sendSerialized: (event) => write(event.message),
    // Over the backlog, the last send was the one that crossed it (bufferedAmount only grows by sends).
    drained: () => (closers.closed || ws.bufferedAmount <= WATCH_BACKLOG_BYTES ? undefined : lastWritten),
    close: () => {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1000);
    },
    get closed() {
      return closers.closed || ws.readyState === ws.CLOSING || ws.readyState === ws.CLOSED;
    },
    onClose: (listener) => {
      closers.add(listener);
    },
  };
}

/**
 * Bytes that may wait in a watcher's transport before it counts as not keeping up (1 MiB: many bursts of events to
 * a healthy client, a few seconds of a 1,000-pod rollout). Past it the watch cache queues the watcher's events, and
 * closes it ("overflow") when they pile up too.
 */
export const WATCH_BACKLOG_BYTES = 1024 * 1024;

/** Close listeners that run exactly once. */
class Closers {
  closed = false;
  private listeners: (() => void)[] = [];

  add(listener: () => void): void {
    if (this.closed) listener();
    else this.listeners.push(listener);
  }

  fire(): void {
    if (this.closed) return;
    this.closed = true;
    const listeners = this.listeners;
    this.listeners = [];
    for (const l of listeners) l();
  }
}
