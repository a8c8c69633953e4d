// HTTP clients for driving the apiserver over loopback: a keep-alive node:http client (the default, and the
// cheapest per request) and a fetch-based one for comparison. Both expose the same small interface. The node:http
// client also speaks HTTPS with a bearer token, as the real kube-apiserver must be driven (its serving certificate is
// self-signed, so it is not verified: loopback only).
import { Agent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";

export interface HttpResponse {
  status: number;
  /** The response body, decoded as UTF-8. */
  body: string;
  /** Size of the response body in bytes. */
  bytes: number;
}

export interface HttpClient {
  readonly kind: "http" | "fetch";
  request(method: string, path: string, body?: string, timeoutMs?: number): Promise<HttpResponse>;
  close(): void;
}

const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * node:http (or node:https for an https: URL) with a keep-alive Agent capped at `maxSockets` connections; `token`
 * is sent as `Authorization: Bearer`.
 */
export class NodeHttpClient implements HttpClient {
  readonly kind = "http";
  private readonly agent: Agent | HttpsAgent;
  private readonly send: typeof httpRequest;
  private readonly hostname: string;
  private readonly port: number;
  private readonly authorization: string | undefined;

  constructor(baseUrl: string, maxSockets: number, token?: string) {
    const url = new URL(baseUrl);
    const tls = url.protocol === "https:";
    this.hostname = url.hostname;
    this.port = Number(url.port || (tls ? 443 : 80));
    const agentOptions = { keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: "lifo" } as const;
    this.agent = tls ? new HttpsAgent({ ...agentOptions, rejectUnauthorized: false }) : new Agent(agentOptions);
    this.send = tls ? httpsRequest : httpRequest;
    this.authorization = token === undefined ? undefined : `Bearer ${token}`;
  }

  request(method: string, path: string, body?: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { accept: "application/json" };
      if (this.authorization !== undefined) headers.authorization = this.authorization;
      if (body !== undefined) {
        headers["content-type"] = "application/json";
        headers["content-length"] = Buffer.byteLength(body);
      }
      const req = this.send({ hostname: this.hostname, port: this.port, path, method, agent: this.agent, headers }, (res) => {
        collect(res).then(resolve, reject);
      });
      req.setTimeout(timeoutMs, () => {
        req.destroy(new Error(`${method} ${path}: no response within ${timeoutMs} ms`));
      });
      req.on("error", reject);
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function collect(res: IncomingMessage): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    res.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      bytes += chunk.length;
    });
    res.on("end", () => {
      const buffer = chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks, bytes);
      resolve({ status: res.statusCode ?? 0, body: buffer.toString("utf8"), bytes });
    });
    res.on("error", reject);
    res.on("aborted", () => { reject(new Error("response aborted")); });
  });
}

/** The global fetch (undici); it keeps connections alive by default. */
export class FetchClient implements HttpClient {
  readonly kind = "fetch";
  constructor(private readonly baseUrl: string) {}

  async request(method: string, path: string, body?: string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<HttpResponse> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    const init: RequestInit = { method, headers, signal: AbortSignal.timeout(timeoutMs) };
    if (body !== undefined) init.body = body;
    const res = await fetch(`${this.baseUrl}${path}`, init);
    const buffer = Buffer.from(await res.arrayBuffer());
    return { status: res.status, body: buffer.toString("utf8"), bytes: buffer.length };
  }

  close(): void {
    // undici's global dispatcher owns the connections; idle ones time out on their own.
  }
}

export function createClient(kind: "http" | "fetch", baseUrl: string, maxSockets: number): HttpClient {
  return kind === "fetch" ? new FetchClient(baseUrl) : new NodeHttpClient(baseUrl, maxSockets);
}

/** Extracts a Kubernetes Status message from an error body, for error reports. */
export function statusMessage(body: string): string {
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === "object" && "message" in parsed && typeof parsed.message === "string") return parsed.message;
  } catch {
    // not JSON
  }
  return body.slice(0, 200);
}

/** Runs `total` numbered tasks with at most `concurrency` in flight; tasks are taken in index order. */
export async function runPool(total: number, concurrency: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed) {
      const index = next++;
      if (index >= total) return;
      try {
        await task(index);
      } catch (err) {
        if (!failed) {
          failed = true;
          failure = err;
        }
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  if (failed) throw failure;
}
