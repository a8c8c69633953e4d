// Scraping the kubelets, as metrics-server does every --metric-resolution: every node's /metrics/resource at the
// first of its addresses whose type comes first in --kubelet-preferred-address-types, on --kubelet-port (or the
// port the node reports, with --kubelet-use-node-status-port), all nodes at once, each within
// --kubelet-request-timeout. A node that fails is left out of this round and logged. Over https metrics-server
// presents its own identity from its kubeconfig (client certificate, or bearer token) to the kubelet, and
// verifies the kubelet's serving certificate against --kubelet-certificate-authority (else the kubeconfig's
// CA; not at all with --kubelet-insecure-tls). Credentials are never sent over plain http.
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest, type RequestOptions } from "node:https";
import type { Node } from "../api/types/index.js";
import { decodeResourceMetrics, type NodeScrape } from "./decode.js";

export interface ScraperOptions {
  preferredAddressTypes: readonly string[];
  kubeletPort: number;
  useNodeStatusPort: boolean;
  scheme: "http" | "https";
  insecureTls: boolean;
  timeoutMs: number;
  /** PEM CA bundle the kubelets' serving certificates are verified against (unused with insecureTls). */
  caPem?: string;
  /** metrics-server's identity, from its kubeconfig. */
  credentials?: { certPem?: string; keyPem?: string; token?: string };
}

export interface ScrapeResult {
  scrapes: Map<string, NodeScrape>;
  failures: Map<string, string>;
  /** Bytes and milliseconds per node, for the scrape cost metrics. */
  costs: Map<string, { bytes: number; ms: number }>;
}

/** The node's kubelet URL, or why there is none. */
export function kubeletUrl(node: Readonly<Node>, options: Pick<ScraperOptions, "preferredAddressTypes" | "kubeletPort" | "useNodeStatusPort" | "scheme">): URL {
  const addresses = node.status?.addresses ?? [];
  let host: string | undefined;
  for (const type of options.preferredAddressTypes) {
    host = addresses.find((a) => a.type === type)?.address;
    if (host !== undefined) break;
  }
  if (host === undefined) throw new Error(`node ${node.metadata.name ?? ""} has no address of the types ${options.preferredAddressTypes.join(",")}`);
  const statusPort = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  const port = options.useNodeStatusPort && statusPort !== undefined && statusPort > 0 ? statusPort : options.kubeletPort;
  return new URL(`${options.scheme}://${host.includes(":") ? `[${host}]` : host}:${port}/metrics/resource`);
}

function get(url: URL, options: ScraperOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const onResponse = (res: IncomingMessage): void => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => {
        if (res.statusCode === 200) resolve(text);
        else reject(new Error(`request failed, status: "${res.statusCode ?? 0}"`));
      });
      res.on("error", reject);
    };
    const init = { method: "GET", headers: { accept: "text/plain" }, timeout: options.timeoutMs };
    const req = url.protocol === "https:" ? httpsRequest(url, httpsOptions(init, options), onResponse) : httpRequest(url, init, onResponse);
    req.on("timeout", () => req.destroy(new Error(`request timed out after ${options.timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

function httpsOptions(init: { method: string; headers: Record<string, string>; timeout: number }, options: ScraperOptions): RequestOptions {
  const credentials = options.credentials ?? {};
  return {
    ...init,
    headers: { ...init.headers, ...(credentials.token !== undefined && credentials.token !== "" ? { authorization: `Bearer ${credentials.token}` } : {}) },
    rejectUnauthorized: !options.insecureTls,
    ...(!options.insecureTls && options.caPem !== undefined ? { ca: options.caPem } : {}),
    ...(credentials.certPem !== undefined && credentials.keyPem !== undefined ? { cert: credentials.certPem, key: credentials.keyPem } : {}),
  };
}

export async function scrapeNodes(nodes: readonly Readonly<Node>[], options: ScraperOptions, now: () => number = Date.now): Promise<ScrapeResult> {
  const result: ScrapeResult = { scrapes: new Map(), failures: new Map(), costs: new Map() };
  await Promise.all(
    nodes.map(async (node) => {
      const name = node.metadata.name ?? "";
      const started = performance.now();
      try {
        const url = kubeletUrl(node, options);
        const text = await get(url, options);
        result.costs.set(name, { bytes: Buffer.byteLength(text), ms: performance.now() - started });
        result.scrapes.set(name, decodeResourceMetrics(text, now()));
      } catch (err) {
        result.failures.set(name, err instanceof Error ? err.message : String(err));
      }
    }),
  );
  return result;
}
