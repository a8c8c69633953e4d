// metrics.k8s.io/v1beta1 as metrics-server serves it behind the aggregation layer: discovery (/apis, the group, the
// group version), NodeMetrics and PodMetrics (list, get, label selectors, one namespace or all), read from the
// storage and the node and pod listers; objects without metrics yet are left out of lists and NotFound on get.
// Errors are Status objects. Nothing here is stored: every object is made at request time (creationTimestamp now).
import type { IncomingMessage, ServerResponse } from "node:http";
import { parseLabelSelector } from "../api/labels.js";
import { formatTime } from "../api/time.js";
import type { Node, Pod } from "../api/types/index.js";
import type { MetricsStorage, Usage } from "./storage.js";

export const GROUP = "metrics.k8s.io";
export const VERSION = "v1beta1";
const GROUP_VERSION = `${GROUP}/${VERSION}`;

export interface MetricsApiSources {
  storage: MetricsStorage;
  nodes(): readonly Readonly<Node>[];
  pods(namespace: string | undefined): readonly Readonly<Pod>[];
  now?: () => number;
}

/** A Go time.Duration as metav1.Duration prints it ("15.002s", "1m0.5s"). */
export function goDuration(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  const seconds = Number(((ms % 60_000) / 1000).toFixed(3));
  return minutes > 0 ? `${minutes}m${seconds}s` : `${seconds}s`;
}

/** Usage as metrics-server gives it: cpu in nanocores ("152365817n"), memory in bytes with the largest exact binary suffix. */
export function usageQuantities(usage: Usage): { cpu: string; memory: string } {
  let memory = usage.memory;
  let suffix = "";
  for (const next of ["Ki", "Mi", "Gi", "Ti"]) {
    if (memory === 0 || memory % 1024 !== 0) break;
    memory /= 1024;
    suffix = next;
  }
  return { cpu: usage.cpu === 0 ? "0" : `${usage.cpu}n`, memory: `${memory}${suffix}` };
}

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

function selectorOf(query: URLSearchParams): (labels: Readonly<Record<string, string>> | undefined) => boolean {
  const text = query.get("labelSelector") ?? "";
  if (text === "") return () => true;
  try {
    const selector = parseLabelSelector(text);
    return (labels) => selector.matches(labels);
  } catch (err) {
    throw new ApiError(400, "BadRequest", `unable to parse requirement: ${err instanceof Error ? err.message : String(err)}`);
  }
}

const RESOURCE_LIST = {
  kind: "APIResourceList",
  apiVersion: "v1",
  groupVersion: GROUP_VERSION,
  resources: [
    { name: "nodes", singularName: "", namespaced: false, kind: "NodeMetrics", verbs: ["get", "list"] },
    { name: "pods", singularName: "", namespaced: true, kind: "PodMetrics", verbs: ["get", "list"] },
  ],
};
const GROUP_DOC = { kind: "APIGroup", apiVersion: "v1", name: GROUP, versions: [{ groupVersion: GROUP_VERSION, version: VERSION }], preferredVersion: { groupVersion: GROUP_VERSION, version: VERSION } };

export class MetricsApi {
  constructor(private readonly sources: MetricsApiSources) {}

  /** True when the path is the API's (the caller serves health and /metrics). */
  handles(path: string): boolean {
    return path === "/apis" || path.startsWith("/apis/");
  }

  serve(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? "/", "http://metrics-server");
    try {
      send(res, 200, this.route(req.method ?? "GET", url));
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(500, "InternalError", err instanceof Error ? err.message : String(err));
      send(res, e.code, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: e.message, reason: e.reason, ...(e.details ? { details: e.details } : {}), code: e.code });
    }
  }

  private route(method: string, url: URL): unknown {
    const parts = url.pathname.split("/").filter((p) => p !== "").map(decodeURIComponent);
    if (method !== "GET" && method !== "HEAD") throw new ApiError(405, "MethodNotAllowed", `the server does not allow this method on the requested resource`);
    if (parts.length === 1) return { kind: "APIGroupList", apiVersion: "v1", groups: [GROUP_DOC] };
    if (parts[1] !== GROUP) throw notFound();
    if (parts.length === 2) return GROUP_DOC;
    if (parts[2] !== VERSION) throw notFound();
    if (parts.length === 3) return RESOURCE_LIST;
    if (url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1") throw new ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource");
    const rest = parts.slice(3);
    if (rest[0] === "nodes" && rest.length <= 2) return rest.length === 1 ? this.nodeList(url.searchParams) : this.node(rest[1]!);
    if (rest[0] === "pods" && rest.length === 1) return this.podList(undefined, url.searchParams);
    if (rest[0] === "namespaces" && rest[2] === "pods" && rest.length <= 4) return rest.length === 3 ? this.podList(rest[1], url.searchParams) : this.pod(rest[1]!, rest[3]!);
    throw notFound();
  }

  private nodeObject(node: Readonly<Node>): Record<string, unknown> | undefined {
    const name = node.metadata.name ?? "";
    const value = this.sources.storage.node(name);
    if (value === undefined) return undefined;
    return {
      kind: "NodeMetrics",
      apiVersion: GROUP_VERSION,
      metadata: { name, creationTimestamp: this.now(), ...(node.metadata.labels ? { labels: node.metadata.labels } : {}) },
      timestamp: formatTime(value.timestampMs),
      window: goDuration(value.windowMs),
      usage: usageQuantities(value.usage),
    };
  }

  private podObject(pod: Readonly<Pod>): Record<string, unknown> | undefined {
    const namespace = pod.metadata.namespace ?? "";
    const name = pod.metadata.name ?? "";
    const value = this.sources.storage.pod(namespace, name);
    if (value === undefined) return undefined;
    return {
      kind: "PodMetrics",
      apiVersion: GROUP_VERSION,
      metadata: { name, namespace, creationTimestamp: this.now(), ...(pod.metadata.labels ? { labels: pod.metadata.labels } : {}) },
      timestamp: formatTime(value.timestampMs),
      window: goDuration(value.windowMs),
      containers: value.containers.map((c) => ({ name: c.name, usage: usageQuantities(c.usage) })),
    };
  }

  private nodeList(query: URLSearchParams): unknown {
    const matches = selectorOf(query);
    const named = this.sources.nodes().filter((n) => matches(n.metadata.labels)).sort((a, b) => (a.metadata.name ?? "").localeCompare(b.metadata.name ?? ""));
    const items = named.flatMap((n) => this.nodeObject(n) ?? []);
    return { kind: "NodeMetricsList", apiVersion: GROUP_VERSION, metadata: {}, items };
  }

  private node(name: string): unknown {
    const node = this.sources.nodes().find((n) => n.metadata.name === name);
    const object = node === undefined ? undefined : this.nodeObject(node);
    if (object === undefined) throw new ApiError(404, "NotFound", `nodemetrics.metrics.k8s.io "${name}" not found`, { name, group: GROUP, kind: "nodes" });
    return object;
  }

  private podList(namespace: string | undefined, query: URLSearchParams): unknown {
    const matches = selectorOf(query);
    const items = this.sources.pods(namespace).filter((p) => matches(p.metadata.labels)).flatMap((p) => this.podObject(p) ?? []);
    return { kind: "PodMetricsList", apiVersion: GROUP_VERSION, metadata: {}, items };
  }

  private pod(namespace: string, name: string): unknown {
    const pod = this.sources.pods(namespace).find((p) => p.metadata.name === name);
    const object = pod === undefined ? undefined : this.podObject(pod);
    if (object === undefined) throw new ApiError(404, "NotFound", `podmetrics.metrics.k8s.io "${namespace}/${name}" not found`, { name: `${namespace}/${name}`, group: GROUP, kind: "pods" });
    return object;
  }

  private now(): string {
    return formatTime((this.sources.now ?? Date.now)());
  }
}

function notFound(): ApiError {
  return new ApiError(404, "NotFound", "the server could not find the requested resource");
}
