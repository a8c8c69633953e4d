// httpGet probes (Kubernetes' pkg/probe/http): one GET, no keep-alive, no proxy, no compression, certificates
// not verified; status 200–399 is success. Redirects are followed only while they stay on the first request's
// host name (at most 10 requests); a redirect elsewhere ends the probe with that 3xx, which Kubernetes reports as
// a success with a "ProbeWarning" event. Only the first 10 KiB of the body are read. The whole exchange,
// redirects included, must finish within the timeout.
import * as http from "node:http";
import * as https from "node:https";
import type { HTTPHeader } from "../../../api/types/index.js";
import type { Clock } from "../../../component-base/clock.js";
import {
  connectionErrorText,
  dialErrorText,
  goQuote,
  isDialError,
  joinHostPort,
  PROBE_USER_AGENT,
  ProbeError,
  type ProbeOutcome,
} from "./outcome.js";

export interface HttpProbeTarget {
  scheme: "HTTP" | "HTTPS";
  host: string;
  port: number;
  /** The request path, query included ("/healthz?verbose"). */
  path: string;
  headers: readonly HTTPHeader[];
}

/** Kubernetes reads at most this much of a probe's response body. */
export const MAX_RESPONSE_BODY_BYTES = 10 * 1024;
const MAX_REQUESTS = 10;
/** The statuses Go's client follows (with a Location header); other 3xx end the probe. */
const FOLLOWED_REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** The URL the probe requests first, as Kubernetes formats it. */
export function probeUrl(target: HttpProbeTarget): string {
  const path = target.path === "" || target.path.startsWith("/") ? target.path : `/${target.path}`;
  return `${target.scheme.toLowerCase()}://${joinHostPort(target.host, target.port)}${path}`;
}

/**
 * The request headers: the probe's httpHeaders (repeats kept), then User-Agent kube-probe/1.32 and an Accept of any
 * type unless the probe set them; an Accept set to "" removes the header. A Host header overrides the request's host.
 */
export function probeHeaders(headers: readonly HTTPHeader[]): Record<string, string | string[]> {
  const out: Record<string, string[]> = {};
  for (const h of headers) (out[h.name.toLowerCase()] ??= []).push(h.value);
  out["user-agent"] ??= [PROBE_USER_AGENT];
  if (out.accept === undefined) out.accept = ["*/*"];
  else if (out.accept[0] === "") delete out.accept;
  const result: Record<string, string | string[]> = { connection: "close" };
  for (const [name, values] of Object.entries(out)) result[name] = values.length === 1 ? (values[0] ?? "") : values;
  return result;
}

export async function httpProbe(target: HttpProbeTarget, timeoutMs: number, clock: Clock): Promise<ProbeOutcome> {
  const deadline = new AbortController();
  const timer = clock.setTimeout(() => {
    deadline.abort();
  }, timeoutMs);
  const headers = probeHeaders(target.headers);
  let display = probeUrl(target);
  let url: URL;
  try {
    url = new URL(display);
  } catch {
    throw new ProbeError(`parse ${goQuote(display)}: invalid URL`);
  }
  const firstHostname = url.hostname;
  try {
    for (let requests = 1; ; requests++) {
      let res: http.IncomingMessage;
      try {
        res = await send(url, headers, deadline.signal);
      } catch (err) {
        const reason = deadline.signal.aborted
          ? "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
          : isDialError(err)
            ? dialErrorText(err, url.hostname.replace(/^\[(.*)\]$/, "$1"), portOf(url))
            : connectionErrorText(err);
        return { result: "Failure", output: `Get ${goQuote(display)}: ${reason}` };
      }
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (FOLLOWED_REDIRECTS.has(status) && location !== undefined) {
        let next: URL | undefined;
        try {
          next = new URL(location, url);
        } catch {
          next = undefined;
        }
        if (next === undefined) {
          res.destroy();
          return { result: "Failure", output: `Get ${goQuote(display)}: failed to parse Location header ${goQuote(location)}` };
        }
        if (next.hostname === firstHostname) {
          res.destroy();
          // A Host header survives only a relative redirect, as in Go's client.
          if (isAbsolute(location)) delete headers.host;
          display = next.href;
          if (requests >= MAX_REQUESTS) return { result: "Failure", output: `Get ${goQuote(display)}: stopped after 10 redirects` };
          url = next;
          continue;
        }
      }
      const body = await readAtMost(res, MAX_RESPONSE_BODY_BYTES, deadline.signal);
      if (status >= 200 && status < 400) {
        if (status >= 300) return { result: "Warning", output: `Probe terminated redirects, Response body: ${body}` };
        return { result: "Success", output: body };
      }
      return { result: "Failure", output: `HTTP probe failed with statuscode: ${String(status)}` };
    }
  } finally {
    timer.cancel();
  }
}

function send(url: URL, headers: Record<string, string | string[]>, signal: AbortSignal): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const options: https.RequestOptions = { method: "GET", headers, agent: false, signal };
    let req: http.ClientRequest;
    if (url.protocol === "https:") req = https.request(url, { ...options, rejectUnauthorized: false }, resolve);
    else if (url.protocol === "http:") req = http.request(url, options, resolve);
    else {
      reject(new Error(`unsupported protocol scheme ${goQuote(url.protocol.replace(/:$/, ""))}`));
      return;
    }
    req.once("error", reject);
    req.end();
  });
}

/** The body's first `limit` bytes as text; the rest is not read (the connection is closed). */
function readAtMost(res: http.IncomingMessage, limit: number, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      res.removeAllListeners("data");
      if (err) {
        res.destroy();
        reject(err);
        return;
      }
      if (!res.complete) res.destroy();
      resolve(Buffer.concat(chunks).subarray(0, limit).toString("utf8"));
    };
    res.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= limit) finish();
    });
    res.once("end", () => {
      finish();
    });
    res.once("error", (err) => {
      finish(new ProbeError(signal.aborted ? "context deadline exceeded (Client.Timeout or context cancellation while reading body)" : connectionErrorText(err)));
    });
    res.once("aborted", () => {
      finish(new ProbeError(signal.aborted ? "context deadline exceeded (Client.Timeout or context cancellation while reading body)" : "unexpected EOF"));
    });
  });
}

function portOf(url: URL): number {
  if (url.port !== "") return Number(url.port);
  return url.protocol === "https:" ? 443 : 80;
}

function isAbsolute(location: string): boolean {
  return /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(location);
}
