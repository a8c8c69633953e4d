// A raw chunked HTTP watch stream (node:http, its own socket) delivering one callback per event line, with the
// receive time. The callers scan lines cheaply instead of parsing every event, so that the bench stays light
// next to the processes it measures.
import { request as httpRequest, type ClientRequest } from "node:http";
import { nowMs } from "./stats.js";

export interface WatchStream {
  /** Closes the stream; no more callbacks after this. */
  close(): void;
  readonly closed: boolean;
}

export interface WatchCallbacks {
  /** One event line (without the newline), received at `at` (performance.now()). */
  line(line: string, at: number): void;
  /** The stream ended or failed while not closed by the caller. */
  ended(reason: string): void;
}

/** Opens `GET <path>` (which must carry watch=true) on the apiserver at `baseUrl`. */
export function openWatch(baseUrl: string, path: string, callbacks: WatchCallbacks): WatchStream {
  const url = new URL(baseUrl);
  let closed = false;
  let endedOnce = false;
  const end = (reason: string): void => {
    if (closed || endedOnce) return;
    endedOnce = true;
    callbacks.ended(reason);
  };
  const req: ClientRequest = httpRequest({
    hostname: url.hostname,
    port: Number(url.port || 80),
    path,
    method: "GET",
    agent: false,
    headers: { accept: "application/json" },
  });
  req.on("response", (res) => {
    if (res.statusCode !== 200) {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => { if (body.length < 2_000) body += c; });
      res.on("end", () => { end(`watch ${path} → ${res.statusCode ?? 0}: ${body.slice(0, 300)}`); });
      return;
    }
    res.setEncoding("utf8");
    let remainder = "";
    res.on("data", (chunk: string) => {
      if (closed) return;
      const at = nowMs();
      const text = remainder + chunk;
      let start = 0;
      for (let nl = text.indexOf("\n", start); nl >= 0; nl = text.indexOf("\n", start)) {
        if (nl > start) callbacks.line(text.slice(start, nl), at);
        start = nl + 1;
      }
      remainder = text.slice(start);
    });
    res.on("end", () => {
      if (!closed && remainder.trim()) callbacks.line(remainder.trim(), nowMs());
      end(`watch ${path} ended`);
    });
    res.on("error", (err) => { end(`watch ${path}: ${err.message}`); });
  });
  req.on("error", (err) => { end(`watch ${path}: ${err.message}`); });
  req.end();
  return {
    close: () => {
      closed = true;
      req.destroy();
    },
    get closed() {
      return closed;
    },
  };
}

/** The type of a watch event line ("ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"), read from its start. */
export function eventType(line: string): string {
  const m = /^\{\s*"type"\s*:\s*"([A-Z]+)"/.exec(line);
  if (m?.[1]) return m[1];
  const parsed: unknown = JSON.parse(line);
  if (parsed && typeof parsed === "object" && "type" in parsed && typeof parsed.type === "string") return parsed.type;
  return "";
}
