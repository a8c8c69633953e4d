// metrics-server's storage: the last two points of the node and of every container, from which it serves usage.
// CPU usage is a rate, (cumulative now − cumulative before) / (time between), so a node needs two scrapes; a
// container that started after the node's previous scrape is rated from its start (as metrics-server does), so a
// new pod shows up after one scrape. A restarted container, or a counter that went back, starts over. Memory is
// the latest working set. `window` is the time the rate covers.

import type { MetricsPoint, NodeScrape } from "./decode.js";

export interface Usage {
  /** Nanocores. */
  cpu: number;
  /** Bytes. */
  memory: number;
}

export interface MetricsValue {
  timestampMs: number;
  windowMs: number;
  usage: Usage;
}

export interface PodMetricsValue {
  timestampMs: number;
  windowMs: number;
  containers: { name: string; usage: Usage }[];
}

interface Pair {
  prev?: MetricsPoint | undefined;
  last: MetricsPoint;
}

function advance(pair: Pair | undefined, point: MetricsPoint): Pair {
  if (pair === undefined) return { last: point };
  if (point.timestampMs <= pair.last.timestampMs) return pair;
  const restarted = point.startTimeMs !== pair.last.startTimeMs || point.cumulativeCpuNanoSeconds < pair.last.cumulativeCpuNanoSeconds;
  return restarted ? { last: point } : { prev: pair.last, last: point };
}

function rate(pair: Pair, startedSinceMs: number | undefined): MetricsValue | undefined {
  let prev = pair.prev;
  // Started since the previous scrape: rated from zero at its start.
  if (prev === undefined && startedSinceMs !== undefined && pair.last.startTimeMs > startedSinceMs && pair.last.startTimeMs < pair.last.timestampMs) {
    prev = { startTimeMs: pair.last.startTimeMs, timestampMs: pair.last.startTimeMs, cumulativeCpuNanoSeconds: 0, memoryWorkingSetBytes: 0 };
  }
  if (prev === undefined) return undefined;
  const windowMs = pair.last.timestampMs - prev.timestampMs;
  if (windowMs <= 0) return undefined;
  const cpu = Math.round(((pair.last.cumulativeCpuNanoSeconds - prev.cumulativeCpuNanoSeconds) / windowMs) * 1000);
  return { timestampMs: pair.last.timestampMs, windowMs, usage: { cpu, memory: pair.last.memoryWorkingSetBytes } };
}

export class MetricsStorage {
  private readonly nodes = new Map<string, Pair>();
  /** "namespace/pod" → container → points. */
  private readonly pods = new Map<string, Map<string, Pair>>();
  /** When each node was scraped before the last time (for containers new since then). */
  private readonly previousScrapeMs = new Map<string, number>();
  private readonly lastScrapeMs = new Map<string, number>();
  private readonly podNode = new Map<string, string>();
  private stored = false;

  /** True once a scrape has been stored (metrics-server's readiness). */
  get ready(): boolean {
    return this.stored;
  }

  /** Stores one round of scrapes; nodes and pods absent from it are forgotten. */
  store(scrapes: ReadonlyMap<string, NodeScrape>, scrapeTimeMs: number): void {
    for (const name of this.nodes.keys()) if (!scrapes.has(name)) this.nodes.delete(name);
    const seenPods = new Set<string>();
    for (const [nodeName, scrape] of scrapes) {
      if (scrape.node) this.nodes.set(nodeName, advance(this.nodes.get(nodeName), scrape.node));
      else this.nodes.delete(nodeName);
      for (const [pod, containers] of scrape.pods) {
        seenPods.add(pod);
        this.podNode.set(pod, nodeName);
        const pairs = this.pods.get(pod) ?? new Map<string, Pair>();
        for (const name of pairs.keys()) if (!containers.has(name)) pairs.delete(name);
        for (const [name, point] of containers) pairs.set(name, advance(pairs.get(name), point));
        this.pods.set(pod, pairs);
      }
    }
    for (const pod of this.pods.keys()) {
      if (seenPods.has(pod)) continue;
      this.pods.delete(pod);
      this.podNode.delete(pod);
    }
    for (const nodeName of scrapes.keys()) {
      this.previousScrapeMs.set(nodeName, this.lastScrapeMs.get(nodeName) ?? 0);
      this.lastScrapeMs.set(nodeName, scrapeTimeMs);
    }
    this.stored = true;
  }

  node(name: string): MetricsValue | undefined {
    const pair = this.nodes.get(name);
    return pair === undefined ? undefined : rate(pair, undefined);
  }

  /** A pod's usage, only when every one of its containers has a rate (as metrics-server reports pods). */
  pod(namespace: string, name: string): PodMetricsValue | undefined {
    const key = `${namespace}/${name}`;
    const pairs = this.pods.get(key);
    if (pairs === undefined || pairs.size === 0) return undefined;
    const since = this.previousScrapeMs.get(this.podNode.get(key) ?? "");
    const containers: { name: string; usage: Usage }[] = [];
    let timestampMs = 0;
    let windowMs = 0;
    for (const [container, pair] of pairs) {
      const value = rate(pair, since);
      if (value === undefined) return undefined;
      containers.push({ name: container, usage: value.usage });
      if (value.timestampMs > timestampMs) {
        timestampMs = value.timestampMs;
        windowMs = value.windowMs;
      }
    }
    containers.sort((a, b) => a.name.localeCompare(b.name));
    return { timestampMs, windowMs, containers };
  }
}
