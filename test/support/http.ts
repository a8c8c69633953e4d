// HTTP(S) helpers for integration tests that talk to a real apiserver without a client library: one request with
// the status, headers and decoded body; chunked watch streams read event by event; etcd read directly with etcdctl;
// Prometheus text parsed into numbers.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { request as requestPlain, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type RequestOptions as NodeRequestOptions } from "node:http";
import { request as requestTls } from "node:https";
import { connect, createServer, type Socket } from "node:net";
import { waitFor } from "./wait.js";
import type { EtcdPkiPaths } from "../../lab/pki/etcd.js";

export interface Reply<T = unknown> {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body decoded as JSON, or the text when it is not JSON. */
  body: T;
  text: string;
}

export interface RequestOptions {
  /** Content-Type of the body (default application/json for objects, none without a body). */
  contentType?: string;
  accept?: string;
  headers?: Record<string, string>;
}

/** A Kubernetes Status as the tests read it. */
export interface StatusBody {
  kind: string;
  apiVersion: string;
  status: string;
  message: string;
  reason: string;
  code: number;
  details?: { name?: string; kind?: string; group?: string; causes?: { reason?: string; message?: string; field?: string }[] };
}

/**
 * Where and as whom a test reaches a server: its URL, the CA that signed its serving certificate (https), and at most
 * one credential — a bearer token, or a client certificate and key. A plain string is a URL with no credential.
 */
export interface ApiTarget {
  url: string;
  caFile?: string;
  token?: string;
  certFile?: string;
  keyFile?: string;
}

function targetOf(base: string | ApiTarget): ApiTarget {
  return typeof base === "string" ? { url: base } : base;
}

/** node:http(s).request for `url` as `target`: the CA and client certificate on https, the bearer token as a header. */
export function requestAs(target: ApiTarget, url: URL, options: NodeRequestOptions, onResponse: (res: IncomingMessage) => void): ClientRequest {
  const headers = { ...(options.headers as Record<string, string> | undefined) };
  if (target.token !== undefined && headers.Authorization === undefined) headers.Authorization = `Bearer ${target.token}`;
  if (url.protocol !== "https:") return requestPlain(url, { ...options, headers }, onResponse);
  return requestTls(
    url,
    {
      ...options,
      headers,
      ...(target.caFile !== undefined ? { ca: readFileSync(target.caFile) } : {}),
      ...(target.certFile !== undefined && target.keyFile !== undefined ? { cert: readFileSync(target.certFile), key: readFileSync(target.keyFile) } : {}),
    },
    onResponse,
  );
}

/** A WebSocket client's (ws) options for `target`: the CA and client certificate, or the bearer token as a header. */
export function webSocketOptions(target: ApiTarget): { ca?: Buffer; cert?: Buffer; key?: Buffer; headers?: Record<string, string> } {
  return {
    ...(target.caFile !== undefined ? { ca: readFileSync(target.caFile) } : {}),
    ...(target.certFile !== undefined && target.keyFile !== undefined ? { cert: readFileSync(target.certFile), key: readFileSync(target.keyFile) } : {}),
    ...(target.token !== undefined ? { headers: { Authorization: `Bearer ${target.token}` } } : {}),
  };
}

/**
 * One HTTP(S) request on a fresh connection. `body` is sent as is when it is a string or Buffer, as JSON otherwise.
 * Never throws for an HTTP status; rejects only when there is no answer at all.
 */
export function call<T = unknown>(base: string | ApiTarget, method: string, path: string, body?: unknown, options: RequestOptions = {}): Promise<Reply<T>> {
  const target = targetOf(base);
  const url = new URL(path, target.url);
  const payload = body === undefined ? undefined : typeof body === "string" || Buffer.isBuffer(body) ? Buffer.from(body) : Buffer.from(JSON.stringify(body));
  const headers: Record<string, string> = { Accept: options.accept ?? "application/json", ...options.headers };
  if (payload !== undefined) {
    headers["Content-Type"] = options.contentType ?? "application/json";
    headers["Content-Length"] = String(payload.length);
  }
  return new Promise((resolve, reject) => {
    const req = requestAs(target, url, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parseMaybeJson(text) as T, text });
      });
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      // A server that refuses a large body answers before reading it and may reset the connection while we still
      // write; the answer has then usually arrived already and the 'response' callback runs instead.
      reject(err);
    });
    if (payload !== undefined) req.end(payload);
    else req.end();
  });
}

function parseMaybeJson(text: string): unknown {
  if (text === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Binds `call` to one apiserver. */
export function clientFor(base: string | ApiTarget): <T = unknown>(method: string, path: string, body?: unknown, options?: RequestOptions) => Promise<Reply<T>> {
  return (method, path, body, options) => call(base, method, path, body, options);
}

export interface RawWatchEvent {
  type: string;
  object: {
    kind?: string;
    apiVersion?: string;
    metadata: { name?: string; namespace?: string; resourceVersion?: string; labels?: Record<string, string> };
    code?: number;
    reason?: string;
    message?: string;
    [key: string]: unknown;
  };
}

export interface OpenWatch {
  status: number;
  headers: IncomingHttpHeaders;
  /** Every event received so far, in order. */
  readonly events: RawWatchEvent[];
  /** True once the server ended the response (normally or not). */
  readonly ended: boolean;
  /** Resolves when the response ends; `clean` is false when the connection broke instead of ending normally. */
  readonly done: Promise<{ clean: boolean }>;
  /** Waits until `predicate(events)` holds. */
  waitFor(what: string, predicate: (events: RawWatchEvent[]) => boolean, timeoutMs?: number): Promise<RawWatchEvent[]>;
  close(): void;
}

/**
 * Opens a watch (`path` should carry watch=true) and decodes the newline-delimited JSON events as they arrive.
 * Resolves once the response head is in.
 */
export function openWatch(base: string | ApiTarget, path: string, options: { accept?: string } = {}): Promise<OpenWatch> {
  const target = targetOf(base);
  const url = new URL(path, target.url);
  return new Promise((resolve, reject) => {
    const req = requestAs(target, url, { method: "GET", headers: { Accept: options.accept ?? "application/json" }, agent: false }, (res: IncomingMessage) => {
      const events: RawWatchEvent[] = [];
      let buffered = "";
      let ended = false;
      let settle: (value: { clean: boolean }) => void = () => undefined;
      const done = new Promise<{ clean: boolean }>((r) => {
        settle = r;
      });
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffered += chunk;
        let newline = buffered.indexOf("\n");
        while (newline >= 0) {
          const line = buffered.slice(0, newline).trim();
          buffered = buffered.slice(newline + 1);
          if (line !== "") events.push(JSON.parse(line) as RawWatchEvent);
          newline = buffered.indexOf("\n");
        }
      });
      res.on("end", () => {
        if (buffered.trim() !== "") events.push(JSON.parse(buffered) as RawWatchEvent);
        ended = true;
        settle({ clean: true });
      });
      res.on("error", () => {
        ended = true;
        settle({ clean: false });
      });
      res.on("close", () => {
        if (!ended) {
          ended = true;
          settle({ clean: false });
        }
      });
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        get ended() {
          return ended;
        },
        done,
        waitFor: (what, predicate, timeoutMs = 10_000) =>
          waitFor(what, () => {
            if (predicate(events)) return events;
            if (ended) throw new Error(`the watch ended after ${events.length} events: ${JSON.stringify(events.map((e) => e.type))}`);
            return undefined;
          }, timeoutMs, 10),
        close: () => {
          req.destroy();
        },
      });
    });
    req.on("error", reject);
    req.end();
  });
}

/** Runs etcdctl (API v3) against `endpoint` and returns its stdout; with `pki` as kubeadm's health-check client over TLS. */
export function etcdctl(endpoint: string, args: string[], pki?: EtcdPkiPaths): Promise<string> {
  const tls = pki ? ["--cacert", pki.ca.cert, "--cert", pki.healthcheckClient.cert, "--key", pki.healthcheckClient.key] : [];
  return new Promise((resolve, reject) => {
    execFile("etcdctl", ["--endpoints", endpoint, ...tls, ...args], { env: { ...process.env, ETCDCTL_API: "3" }, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`etcdctl ${args.join(" ")} failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

/** The keys under `prefix` in etcd, read directly (not through the apiserver). */
export async function etcdKeys(endpoint: string, prefix: string): Promise<string[]> {
  const out = await etcdctl(endpoint, ["get", "--prefix", "--keys-only", prefix]);
  return out.split("\n").map((l) => l.trim()).filter((l) => l !== "");
}

/** etcd's current revision, read directly. */
export async function etcdRevision(endpoint: string): Promise<number> {
  const out = await etcdctl(endpoint, ["endpoint", "status", "--write-out", "json"]);
  const parsed = JSON.parse(out) as { Status: { header: { revision: number } } }[];
  const revision = parsed[0]?.Status.header.revision;
  if (revision === undefined) throw new Error(`unexpected etcdctl endpoint status output: ${out}`);
  return revision;
}

/** One sample of a Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Fetches `<url>/metrics` and sums the samples of `name` whose labels include `labels`. */
export async function metricSum(base: string | ApiTarget, name: string, labels: Record<string, string> = {}): Promise<number> {
  const res = await call(base, "GET", "/metrics", undefined, { accept: "text/plain" });
  const samples = parseMetrics(res.text);
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((sum, s) => sum + s.value, 0);
}

export interface TcpProxy {
  /** The loopback port clients connect to. */
  port: number;
  /**
   * Stops forwarding anything from the server to clients, on open connections and new ones: a network partition in
   * one direction. Requests still reach the server; replies and watch events wait in the proxy.
   */
  freeze(): void;
  /** Forwards again (what waited is delivered, unless dropAll came first). */
  thaw(): void;
  /** Resets every open connection, discarding whatever was held back. */
  dropAll(): void;
  close(): Promise<void>;
}

/** A TCP proxy on a free loopback port in front of `127.0.0.1:targetPort`, for partitioning a client from a server. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<{ client: Socket; upstream: Socket }>();
  let frozen = false;
  const server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    const pair = { client, upstream };
    pairs.add(pair);
    client.pipe(upstream);
    if (frozen) upstream.pause();
    else upstream.pipe(client);
    const end = (): void => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end);
    upstream.on("error", end);
    client.on("close", end);
    upstream.on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const dropAll = (): void => {
    for (const { client, upstream } of [...pairs]) {
      upstream.unpipe(client);
      client.resetAndDestroy();
      upstream.destroy();
    }
    pairs.clear();
  };
  return {
    port,
    freeze() {
      frozen = true;
      for (const { client, upstream } of pairs) {
        upstream.unpipe(client);
        upstream.pause();
      }
    },
    thaw() {
      frozen = false;
      for (const { client, upstream } of pairs) upstream.pipe(client);
    },
    dropAll,
    close() {
      dropAll();
      return new Promise((resolve) => server.close(() => { resolve(); }));
    },
  };
}
