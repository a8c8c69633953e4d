// Encoders for watch responses: chunked JSON lines of {type, object}, and WebSocket frames of the same.
//
// Over HTTP: one 200 response, `Content-Type: application/json`, chunked, carrying back-to-back
// `{"type":…,"object":…}` JSON documents, one per line, each flushed as soon as it is written: kubectl, client-go
// informers and @kubernetes/client-node read it with a streaming JSON decoder and must see each event immediately.
// Over WebSocket (a `watch=true` GET that arrives as an Upgrade): each event is one text message, as Kubernetes'
// apiserver serves it.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import type { WebSocket } from "ws";
import type { WatchEventType } from "../../api/meta.js";

/** One watch event. `object` is anything JSON-serializable: an object, a Table (kubectl get -w), or an ERROR Status. */
export interface WatchStreamEvent {
  type: WatchEventType;
  object: unknown;
}

export interface WatchWriter {
  /**
   * Serializes and writes one event. Returns false when the event could not be written (the stream is closed) or
   * the client is not keeping up (the transport's buffer is over its high-water mark); a caller may then drop the
   * watcher, as Kubernetes does with watchers whose buffers fill up.
   */
  send(event: WatchStreamEvent): boolean;
  /**
   * Writes an event that is already serialized (`JSON.stringify(event)`, no trailing newline). The watch cache can
   * serialize each event once and fan it out to every watcher.
   */
  sendSerialized(json: string): boolean;
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
export function chunkedWatchWriter(res: ServerResponse): WatchWriter {
  res.statusCode = 200;
  res.setHeader("Content-Type", "application/json");
  res.setHeader("Transfer-Encoding", "chunked");
  res.setHeader("Cache-Control", "no-cache, private");
  res.socket?.setNoDelay(true);
  res.flushHeaders();

  const closers = new Closers();
  res.once("close", () => {
    closers.fire();
  });
  // Events written in the same tick leave in one write: a burst of etcd changes fanned out to many watchers costs
  // one syscall per watcher, not one per event per watcher.
  let corked = false;
  const uncork = (): void => {
    corked = false;
    if (!res.writableEnded && !res.destroyed) res.uncork();
  };
  const write = (json: string): boolean => {
    if (closers.closed || res.writableEnded || res.destroyed) return false;
    if (!corked) {
      corked = true;
      res.cork();
      process.nextTick(uncork);
    }
    return res.write(`${json}\n`);
  };
  return {
    send: (event) => write(JSON.stringify(event)),
    sendSerialized: write,
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

// One server for every upgrade: noServer mode only performs handshakes on sockets handed to it.
let wss: WebSocketServer | undefined;

function webSocketServer(): WebSocketServer {
  // Kubernetes' watch endpoint (golang.org/x/net/websocket) echoes a subprotocol the client offered without it
  // changing the framing: events are JSON text messages either way. Echoing the first offer keeps clients that
  // insist on a subprotocol (as ws and browsers do when they offer one) working. Pings are answered by ws itself.
  wss ??= new WebSocketServer({
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
  const write = (json: string): boolean => {
    if (closers.closed || ws.readyState !== ws.OPEN) return false;
    ws.send(json, { binary: false });
    return ws.bufferedAmount < HIGH_WATER_MARK;
  };
  return {
    send: (event) => write(JSON.stringify(event)),
    sendSerialized: write,
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

/** Matches Node's default writable high-water mark, the point where a chunked response's write() turns false. */
const HIGH_WATER_MARK = 16 * 1024;

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
